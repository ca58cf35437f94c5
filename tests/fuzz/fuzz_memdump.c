/* The guest-memory dump loader (sim/scenario/memdump.c: QEMU dump-guest-memory ELF
 * cores, libelf plus hand checks) on arbitrary bytes. It must either open the
 * dump or refuse it with "NAME: offset 0x...: what", never crash or read out of
 * bounds. An opened dump must index only bytes inside the input, sorted and
 * without overlap, and nw_memdump_ptr must find exactly those bytes; then the
 * dump serves as the guest memory of a few lookup walks (paging mode from the
 * input, CR3 from the dump's QEMU note when it has one) on which the reference
 * and the fast walker must agree. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nestwalk/walk.h>

#include "fuzz_target.h"
#include "scenario/memdump.h"

#define NAME "fuzz-dump.elf"
#define WALKS 4
#define WALK_BYTES (2 + WALKS * 8) /* the input's last bytes: mode, CR bits, then the linear addresses */

static _Noreturn void fail(const char *what, uint64_t a, uint64_t b)
{
	fprintf(stderr, "fuzz_memdump: %s (%#llx, %#llx)\n", what, (unsigned long long)a, (unsigned long long)b);
	abort();
}

static uint64_t le(const uint8_t *p, unsigned bytes)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < bytes; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static void check_ranges(const struct nw_memdump *dump, const uint8_t *buf, size_t size)
{
	if (!dump->range_count)
		fail("an opened dump has no range", 0, 0);
	for (size_t i = 0; i < dump->range_count; i++) {
		const struct nw_memdump_range *r = &dump->ranges[i];
		uint64_t last = r->gpa + r->size - 1;

		if (!r->size || r->offset > size || r->size > size - r->offset)
			fail("a range lies outside the input", r->gpa, r->size);
		if (((uintptr_t)r->data ^ r->gpa) & 7)
			fail("a range's bytes are not aligned as their guest-physical addresses", r->gpa, r->offset);
		if (r->copied ? memcmp(r->data, buf + r->offset, r->size) != 0 : r->data != buf + r->offset)
			fail("a range's data is not its file bytes", r->offset, r->size);
		if (i && dump->ranges[i - 1].gpa + dump->ranges[i - 1].size > r->gpa)
			fail("ranges unsorted or overlapping", dump->ranges[i - 1].gpa, r->gpa);
		if (last < r->gpa)
			fail("a range wraps", r->gpa, r->size);
		if (nw_memdump_ptr(dump, r->gpa, 1) != r->data || nw_memdump_ptr(dump, last, 1) != r->data + r->size - 1)
			fail("nw_memdump_ptr misses a range's ends", r->gpa, last);
		if (nw_memdump_ptr(dump, r->gpa, r->size) != r->data)
			fail("nw_memdump_ptr refuses a whole range", r->gpa, r->size);
		/* A run one byte longer never fits: one range must hold the whole run. */
		if (nw_memdump_ptr(dump, r->gpa, r->size + 1))
			fail("nw_memdump_ptr crosses the end of a range", r->gpa, r->size);
		if (r->gpa && !(i && dump->ranges[i - 1].gpa + dump->ranges[i - 1].size == r->gpa) &&
		    nw_memdump_ptr(dump, r->gpa - 1, 1))
			fail("nw_memdump_ptr finds a byte before a range", r->gpa - 1, 0);
	}
}

#define SAME(field)                                                                                        \
	do {                                                                                               \
		if ((uint64_t)ref.field != (uint64_t)fast.field)                                           \
			fail("walkers disagree on " #field, (uint64_t)ref.field, (uint64_t)fast.field);     \
	} while (0)

static void walk_dump(const struct nw_memdump *dump, const uint8_t *tail)
{
	static const enum nw_paging_mode modes[4] = { NW_PAGING_32, NW_PAGING_PAE, NW_PAGING_4LEVEL,
						      NW_PAGING_5LEVEL };
	struct nw_walk_config config = { .hal = &dump->hal, .stage2 = { .kind = NW_STAGE2_NONE } };
	uint8_t bits = tail[1];
	struct nw_cpu cpu = { .maxphyaddr = 40 + (bits >> 6) * 4 };
	struct nw_walker *walker;
	uint64_t cr3 = dump->has_cpu ? dump->cr[3] : le(tail + 2, 4) & ~UINT64_C(0xfff);

	cpu.cr0 = (bits & 1) ? NW_CR0_WP : 0;
	cpu.cr4 = ((bits & 2) ? NW_CR4_PSE : 0) | ((bits & 4) ? NW_CR4_SMEP : 0) | ((bits & 8) ? NW_CR4_SMAP : 0);
	cpu.efer = (bits & 16) ? NW_EFER_NXE : 0;
	cpu.cpl = (bits & 32) ? 3 : 0;
	nw_cpu_set_mode(&cpu, modes[tail[0] % 4]);
	if (nw_cpu_paging_mode(&cpu) == NW_PAGING_PAE) {
		struct nw_walk_result load;

		nw_cpu_load_cr3(&config, &cpu, cr3 & UINT64_C(0xffffffe0), &load);
		if (load.outcome != NW_OUTCOME_OK)
			return;
	} else {
		cpu.cr3 = cr3 & UINT64_C(0xffffffffff000);
	}
	walker = nw_walker_init(fz_walker_storage(0), &config, &cpu);
	for (unsigned i = 0; i < WALKS; i++) {
		uint64_t gva = le(tail + 2 + 8 * i, 8);
		struct nw_access access = { .gva = nw_gva(gva), .size = 1, .type = (enum nw_access_type)(gva % 3) };
		struct nw_walk_result ref, fast;

		nw_walk_reference(&config, &cpu, &access, NW_WALK_LOOKUP, &ref);
		nw_walker_translate(walker, &access, NW_WALK_LOOKUP, &fast);
		SAME(outcome);
		SAME(gpa.val);
		SAME(hpa.val);
		SAME(guest_page_size);
		SAME(rights);
		SAME(leaf_level);
		SAME(fault_level);
		SAME(error_code);
		SAME(cr2);
		SAME(refs);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *buf = malloc(size ? size : 1); /* the dump is used in place and may be written (A/D) */
	struct nw_memdump dump;
	char err[512] = "";

	if (!buf)
		fail("out of memory", size, 0);
	memcpy(buf, data, size);
	if (nw_memdump_open_buffer(NAME, buf, size, &dump, err, sizeof(err)) != 0) {
		if (strncmp(err, NAME ": offset 0x", strlen(NAME ": offset 0x")) != 0) {
			fprintf(stderr, "fuzz_memdump: refused without a located message: '%s'\n", err);
			abort();
		}
		if (dump.map || dump.ranges)
			fail("a refused dump left state behind", 0, 0);
	} else {
		check_ranges(&dump, buf, size);
		if (size >= WALK_BYTES)
			walk_dump(&dump, data + size - WALK_BYTES);
		nw_memdump_close(&dump);
	}
	free(buf);
	return 0;
}
