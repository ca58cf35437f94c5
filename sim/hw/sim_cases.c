/* nestwalk-hw-sim: the simulator's answer for a case blob. Builds each case's
 * tables on simulated memory (and nested tables for a nested-paging case), walks
 * the access with both library walkers (each from the case's own entries; the
 * A/D flags printed are the fast walker's), a legacy-mode case after its CR3
 * load over the identity nested map the image gives it, and prints the lines the bare-metal runner prints (runner.h),
 * so the two can be compared line by line. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nestwalk/cpu.h>
#include <nestwalk/frame.h>
#include <nestwalk/npt.h>
#include <nestwalk/walk.h>
#include <nestwalk/x86_pte.h>

#include "contract/blob.h"
#include "contract/case_check.h"
#include "contract/case_mode.h"
#include "contract/code_path.h"
#include "contract/npt_case.h"
#include "hw/sim_s2.h"
#include "mem/simmem.h"

struct blob {
	uint8_t *data;
	size_t size;
};

static int read_blob(const char *path, struct blob *blob)
{
	FILE *f = fopen(path, "rb");
	long size;

	if (!f) {
		fprintf(stderr, "nestwalk-hw-sim: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
		fprintf(stderr, "nestwalk-hw-sim: %s: cannot size the file\n", path);
		fclose(f);
		return -1;
	}
	blob->size = (size_t)size;
	blob->data = malloc(blob->size ? blob->size : 1);
	if (!blob->data || fread(blob->data, 1, blob->size, f) != blob->size) {
		fprintf(stderr, "nestwalk-hw-sim: %s: read failed\n", path);
		free(blob->data);
		fclose(f);
		return -1;
	}
	fclose(f);
	return 0;
}

static struct nw_cpu case_cpu(const struct hw_blob_case *c, uint64_t root, unsigned maxphyaddr)
{
	struct nw_cpu cpu = { 0 };

	enum nw_paging_mode mode = (c->flags & HW_CASE_LA57) ? NW_PAGING_5LEVEL : NW_PAGING_4LEVEL;

	if (c->flags & HW_CASE_LEGACY32)
		mode = NW_PAGING_32;
	else if (c->flags & HW_CASE_PAE)
		mode = NW_PAGING_PAE;
	nw_cpu_set_mode(&cpu, mode);
	cpu.cr3 = root;
	cpu.cr0 |= (c->flags & HW_CASE_WP) ? NW_CR0_WP : 0;
	cpu.cr4 |= (c->flags & HW_CASE_PSE) ? NW_CR4_PSE : 0;
	cpu.cr4 |= (c->flags & HW_CASE_SMEP) ? NW_CR4_SMEP : 0;
	cpu.cr4 |= (c->flags & HW_CASE_SMAP) ? NW_CR4_SMAP : 0;
	cpu.cr4 |= (c->flags & HW_CASE_PKE) ? NW_CR4_PKE : 0;
	cpu.efer |= (c->flags & HW_CASE_NXE) ? NW_EFER_NXE : 0;
	cpu.rflags = 0x2 | ((c->flags & HW_CASE_AC) ? NW_RFLAGS_AC : 0);
	cpu.cpl = c->cpl;
	cpu.pkru = c->pkru;
	cpu.maxphyaddr = maxphyaddr;
	return cpu;
}

/* The runner's accesses: an 8-byte load, a 1-byte store, a jump (the two bytes
 * of int $0x80), an 8-byte LDT entry. */
static struct nw_access case_access(const struct hw_blob_case *c)
{
	static const uint32_t sizes[] = { 8, 1, 2, 8 };
	static const enum nw_access_type types[] = { NW_ACCESS_READ, NW_ACCESS_WRITE, NW_ACCESS_FETCH, NW_ACCESS_READ };

	return (struct nw_access){ .gva = nw_gva(c->gva), .size = sizes[c->access], .type = types[c->access],
				   .implicit = c->access == HW_ACCESS_IMPLICIT };
}

static bool same_outcome(const struct nw_walk_result *a, const struct nw_walk_result *b)
{
	return a->outcome == b->outcome && a->error_code == b->error_code && a->cr2 == b->cr2 &&
	       a->gpa.val == b->gpa.val && a->exitinfo1 == b->exitinfo1 && a->exitinfo2 == b->exitinfo2;
}

static void print_outcome(unsigned long long id, const struct nw_walk_result *res)
{
	printf("c %llu ", id);
	switch (res->outcome) {
	case NW_OUTCOME_OK:
		printf("ok 0x%llx", (unsigned long long)res->gpa.val);
		break;
	case NW_OUTCOME_PAGE_FAULT:
		printf("pf 0x%x 0x%llx", (unsigned)res->error_code, (unsigned long long)res->cr2);
		break;
	case NW_OUTCOME_GP:
		printf("gp");
		break;
	case NW_OUTCOME_NPF:
		printf("npf 0x%llx 0x%llx", (unsigned long long)res->exitinfo1, (unsigned long long)res->exitinfo2);
		break;
	default:
		printf("other %s", nw_outcome_name(res->outcome));
		break;
	}
}

/* 8-byte entries, or 4-byte ones (value bits 31:0) with 32-bit paging. */
static void write_entries(const struct hw_blob_case *c, const struct hw_blob_entry *entries, unsigned count,
			  struct nw_frame *tables)
{
	for (unsigned i = 0; i < count; i++) {
		const struct hw_blob_entry *e = &entries[i];
		uint64_t value = e->value | (e->link ? nw_frame_paddr(&tables[e->link - 1]).val : 0);

		if (hw_case_entry_bytes(c) == 4)
			((uint32_t *)nw_frame_ptr(&tables[e->table]))[e->index] = (uint32_t)value;
		else
			((uint64_t *)nw_frame_ptr(&tables[e->table]))[e->index] = value;
	}
}

static uint64_t read_entry(const struct hw_blob_case *c, const struct hw_blob_entry *e, struct nw_frame *tables)
{
	if (hw_case_entry_bytes(c) == 4)
		return ((const uint32_t *)nw_frame_ptr(&tables[e->table]))[e->index];
	return ((const uint64_t *)nw_frame_ptr(&tables[e->table]))[e->index];
}

/* The image's nested tables (npt_case.h); table_pa from the case's frames. */
static bool build_npt(struct nw_npt *npt, const struct nw_hal *hal, const struct hw_blob_entry *edits,
		      unsigned edit_count, const struct nw_frame *tables, unsigned table_count, unsigned maxphyaddr)
{
	struct nw_npt_config config = hw_npt_case_config(maxphyaddr, true);
	uint64_t table_pa[HW_MAX_TABLES];

	for (unsigned t = 0; t < table_count; t++)
		table_pa[t] = nw_frame_paddr(&tables[t]).val;
	if (nw_npt_create(npt, hal, &config) != NW_OK)
		return false;
	if (hw_npt_case_map(npt, edits, edit_count, table_pa) == NW_OK)
		return true;
	nw_npt_destroy(npt);
	return false;
}

/* Returns false when the walkers disagree (printed as such). */
static bool run_case(const struct nw_hal *hal, const struct hw_blob_case *c, const struct hw_blob_entry *entries,
		     unsigned maxphyaddr)
{
	unsigned table_entries = hw_case_table_entries(c, entries);
	struct nw_npt npt;
	struct nw_frame tables[HW_MAX_TABLES], kernel[HW_CODE_PATH_FRAMES];
	unsigned kernel_frames = 0;
	struct nw_walk_config config = { .hal = hal, .stage2 = { .kind = NW_STAGE2_NONE }, .ad_policy = NW_AD_AS_PASSED };
	struct nw_walk_result ref, fast;
	void *storage;
	struct nw_access access = case_access(c);
	struct nw_cpu cpu;
	bool agree;

	for (unsigned t = 0; t < c->table_count; t++) {
		if (nw_frame_alloc_zero(&tables[t], hal) != NW_OK) {
			fprintf(stderr, "nestwalk-hw-sim: out of simulated frames\n");
			exit(1);
		}
	}
	write_entries(c, entries, table_entries, tables);
	if (hw_case_is_nested(c)) {
		if (!build_npt(&npt, hal, entries + table_entries, c->entry_count - table_entries, tables, c->table_count,
			       maxphyaddr)) {
			fprintf(stderr, "nestwalk-hw-sim: case %u: the library refused its nested tables\n", c->id);
			exit(1);
		}
		config.stage2 = (struct nw_stage2){ .kind = NW_STAGE2_NPT, .npt = &npt };
		if (hw_case_code_path(c, hal, nw_frame_ptr(&tables[0]), kernel, &kernel_frames) != NW_OK) {
			fprintf(stderr, "nestwalk-hw-sim: out of simulated frames\n");
			exit(1);
		}
	}
	cpu = case_cpu(c, nw_frame_paddr(&tables[0]).val, maxphyaddr);
	/* PAE: the guest's CR3 load (VMRUN) reads the PDPTEs first (§4.4.1). */
	nw_cpu_load_cr3(&config, &cpu, cpu.cr3, &fast);
	if (fast.outcome == NW_OUTCOME_OK && kernel_frames) {
		struct nw_access fetch = hw_case_code_fetch(c);

		nw_walk_reference(&config, &cpu, &fetch, 0, &fast);
	}
	if (fast.outcome != NW_OUTCOME_OK) {
		ref = fast;
	} else {
		/* Both walkers set A/D as the CPU would (a guest-table write can itself
		 * fault in the nested tables), each on the case's own entries. */
		nw_walk_reference(&config, &cpu, &access, 0, &ref);
		write_entries(c, entries, table_entries, tables);
		storage = malloc(nw_walker_size());
		if (!storage) {
			fprintf(stderr, "nestwalk-hw-sim: cannot allocate a walker\n");
			exit(1);
		}
		nw_walker_translate(nw_walker_init(storage, &config, &cpu), &access, 0, &fast);
		free(storage);
	}
	agree = same_outcome(&ref, &fast);

	print_outcome(c->id, &fast);
	if (!agree) {
		printf(" walkers-disagree reference ");
		print_outcome(c->id, &ref);
	}
	putchar(' ');
	for (unsigned i = 0; i < table_entries; i++) {
		uint64_t val = read_entry(c, &entries[i], tables);

		putchar('0' + ((val & NW_PTE_A) ? 1 : 0) + ((val & NW_PTE_D) ? 2 : 0));
	}
	putchar('\n');
	if (hw_case_is_nested(c))
		nw_npt_destroy(&npt);
	for (unsigned t = 0; t < c->table_count; t++)
		nw_frame_free(&tables[t]);
	for (unsigned k = 0; k < kernel_frames; k++)
		nw_frame_free(&kernel[k]);
	return agree;
}

static int run_blob(const struct blob *blob, const struct hw_cpu_features *features)
{
	struct nw_simmem_config config = { .size = UINT64_C(1) << 32, .randomize = true, .seed = 6, .poison = true };
	struct hw_blob_header h;
	struct nw_simmem *sim;
	const struct nw_hal *hal;
	size_t off = sizeof(h);
	uint64_t leaked, disagreements = 0;

	if (blob->size < sizeof(h)) {
		fprintf(stderr, "nestwalk-hw-sim: offset 0x0: no blob header\n");
		return 2;
	}
	memcpy(&h, blob->data, sizeof(h));
	if (h.magic != HW_BLOB_MAGIC || h.version != HW_BLOB_VERSION || h.header_size != sizeof(h)) {
		fprintf(stderr, "nestwalk-hw-sim: offset 0x0: not a version-%d case blob\n", HW_BLOB_VERSION);
		return 2;
	}
	sim = nw_simmem_create(&config);
	hal = sim ? nw_simmem_owner(sim, "hw-sim") : NULL;
	if (!hal) {
		fprintf(stderr, "nestwalk-hw-sim: cannot create simulated memory\n");
		return 2;
	}
	if (h.arch == HW_BLOB_ARCH_AARCH64 || h.arch == HW_BLOB_ARCH_RISCV64) {
		int status = nw_hw_sim_s2_run(blob->data, blob->size, hal, h.case_count,
					      h.arch == HW_BLOB_ARCH_AARCH64 ? &nw_hw_sim_a64 : &nw_hw_sim_rv);

		leaked = nw_simmem_report_leaks(sim, stderr);
		nw_simmem_destroy(sim);
		return status ? status : leaked ? 1 : 0;
	}
	if (h.arch != HW_BLOB_ARCH_X86_64) {
		fprintf(stderr, "nestwalk-hw-sim: offset 0xc: unknown architecture %u\n", h.arch);
		nw_simmem_destroy(sim);
		return 2;
	}
	for (uint32_t n = 0; n < h.case_count; n++) {
		struct hw_blob_case c;
		struct hw_blob_entry entries[HW_MAX_ENTRIES];
		unsigned levels[HW_MAX_TABLES];
		const char *why = NULL;

		if (blob->size - off < sizeof(c)) {
			why = "truncated";
		} else {
			memcpy(&c, blob->data + off, sizeof(c));
			if (c.entry_count > HW_MAX_ENTRIES || (blob->size - off - sizeof(c)) / sizeof(entries[0]) < c.entry_count)
				why = "truncated";
		}
		if (!why) {
			memcpy(entries, blob->data + off + sizeof(c), c.entry_count * sizeof(entries[0]));
			why = hw_case_check(&c, entries, features, levels);
		}
		if (why) {
			fprintf(stderr, "nestwalk-hw-sim: case #%u at offset 0x%zx: %s\n", n, off, why);
			nw_simmem_destroy(sim);
			return 2;
		}
		disagreements += !run_case(hal, &c, entries, features->maxphyaddr);
		off += sizeof(c) + c.entry_count * sizeof(entries[0]);
	}
	leaked = nw_simmem_report_leaks(sim, stderr);
	nw_simmem_destroy(sim);
	printf("hw-sim: cases %u, walker disagreements %llu, frames live %llu\n", h.case_count,
	       (unsigned long long)disagreements, (unsigned long long)leaked);
	return disagreements || leaked ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct hw_cpu_features features = { .maxphyaddr = 40, .smep = 1, .smap = 1, .pku = 1, .la57 = 1, .nx = 1,
					    .gbpages = 1, .svm = 1 };
	struct blob blob;
	int status;

	if (argc == 4 && !strcmp(argv[2], "--maxphyaddr")) {
		features.maxphyaddr = (unsigned)strtoul(argv[3], NULL, 10);
		if (features.maxphyaddr < NW_MAXPHYADDR_MIN || features.maxphyaddr > NW_MAXPHYADDR_MAX) {
			fprintf(stderr, "nestwalk-hw-sim: --maxphyaddr must be %d..%d\n", NW_MAXPHYADDR_MIN,
				NW_MAXPHYADDR_MAX);
			return 2;
		}
	} else if (argc != 2) {
		fprintf(stderr, "usage: nestwalk-hw-sim BLOB [--maxphyaddr N]\n");
		return 2;
	}
	if (read_blob(argv[1], &blob) != 0)
		return 2;
	status = run_blob(&blob, &features);
	free(blob.data);
	return status;
}
