#include "runner.h"

#include <nestwalk/cpu.h>
#include <nestwalk/frame.h>
#include <nestwalk/npt.h>
#include <nestwalk/x86_pte.h>

#include "case_tables.h"
#include "contract/blob.h"
#include "contract/case_mode.h"
#include "contract/layout.h"
#include "contract/npt_case.h"
#include "serial.h"
#include "svm.h"
#include "trap.h"
#include "vmcb.h"
#include "x86.h"

#define RFLAGS_FIXED UINT64_C(0x2) /* bit 1 always reads as 1; IF stays clear */
#define KERNEL_ENTRY_FLAGS (NW_PTE_P | NW_PTE_RW | NW_PTE_US)

extern uint64_t hw_boot_pml4[512];
void hw_paging_switch(uint64_t cr3, uint64_t cr4);
void hw_enter_user(uint64_t rip, uint64_t gva, uint64_t rflags);
void hw_kernel_read(uint64_t gva, uint64_t rflags);
void hw_kernel_write(uint64_t gva, uint64_t rflags);
void hw_kernel_fetch(uint64_t gva, uint64_t rflags);
void hw_kernel_implicit(uint64_t gva, uint64_t rflags);
extern char hw_user_read[], hw_user_write[], hw_user_fetch[], hw_user_implicit[];
extern char hw_guest_read[], hw_guest_write[], hw_guest_fetch[];
extern char hw_guest32_read[], hw_guest32_write[], hw_guest32_fetch[];
extern char hw_user32_read[], hw_user32_write[], hw_user32_fetch[];

struct runner {
	struct hw_frames *frames;
	const struct hw_cpu_features *cpu;
	struct hw_run_stats *stats;
	struct nw_frame kernel_pml5; /* PML5[0] -> the boot PML4 */
	uint64_t cr0, cr4, efer;     /* as loaded now */
	struct hw_svm svm;           /* set up at the first nested-paging case */
	bool svm_on;
	/* The 32-bit guests' own page tables (layout.h), made at the first legacy-mode case. */
	struct nw_frame guest32_pt, pae_pd, pae_pt;
	bool guest32_on;
};

void hw_scratch_tag(void)
{
	uint64_t *words = hw_direct(HW_SCRATCH_BASE);

	for (uint64_t i = 0; i < HW_SCRATCH_SIZE / 8; i++)
		words[i] = HW_TAG(HW_SCRATCH_BASE + i * 8);
}

static uint64_t kernel_root(const struct runner *r)
{
	if (r->cr4 & NW_CR4_LA57)
		return nw_frame_paddr(&r->kernel_pml5).val;
	return (uint64_t)(uintptr_t)hw_boot_pml4;
}

/* Loads the case's control registers (only those that change: a CR0 write
 * flushes the whole TLB) and its root table. */
static void load_state(struct runner *r, const struct hw_blob_case *c, uint64_t root)
{
	uint64_t cr0 = (r->cr0 & ~NW_CR0_WP) | ((c->flags & HW_CASE_WP) ? NW_CR0_WP : 0);
	uint64_t cr4 = r->cr4 & ~(NW_CR4_SMEP | NW_CR4_SMAP | NW_CR4_PKE | NW_CR4_LA57);
	uint64_t efer = (r->efer & ~NW_EFER_NXE) | ((c->flags & HW_CASE_NXE) ? NW_EFER_NXE : 0);

	cr4 |= (c->flags & HW_CASE_SMEP) ? NW_CR4_SMEP : 0;
	cr4 |= (c->flags & HW_CASE_SMAP) ? NW_CR4_SMAP : 0;
	cr4 |= (c->flags & HW_CASE_PKE) ? NW_CR4_PKE : 0;
	cr4 |= (c->flags & HW_CASE_LA57) ? NW_CR4_LA57 : 0;
	if (cr0 != r->cr0) {
		hw_write_cr0(cr0);
		r->cr0 = cr0;
		r->stats->control_writes++;
	}
	if (efer != r->efer) {
		hw_wrmsr(HW_MSR_EFER, efer);
		r->efer = efer;
		r->stats->control_writes++;
	}
	if ((cr4 ^ r->cr4) & NW_CR4_LA57) {
		hw_paging_switch(root, cr4);
		r->cr4 = cr4;
		r->stats->mode_switches++;
		return;
	}
	if (cr4 != r->cr4) {
		hw_write_cr4(cr4);
		r->cr4 = cr4;
		r->stats->control_writes++;
	}
	hw_write_cr3(root); /* also flushes every non-global translation: the kernel sets no G bit */
}

static void perform(const struct hw_blob_case *c, uint64_t rflags)
{
	static void (*const kernel[])(uint64_t, uint64_t) = {
		hw_kernel_read, hw_kernel_write, hw_kernel_fetch, hw_kernel_implicit,
	};
	static char *const user[] = { hw_user_read, hw_user_write, hw_user_fetch, hw_user_implicit };

	if (c->cpl == 3)
		hw_enter_user((uint64_t)(uintptr_t)user[c->access], c->gva, rflags);
	else
		kernel[c->access](c->gva, rflags);
}

/* Runs the case's access under a recovery point; every path ends in a trap. */
static struct hw_trap_record run_trapped(const struct hw_blob_case *c, uint64_t rflags)
{
	struct hw_catch catch;

	if (hw_ctx_save(&catch.ctx) == 0) {
		hw_catch_arm(&catch);
		perform(c, rflags);
	}
	return catch.record;
}

static bool access_completed(const struct hw_blob_case *c, const struct hw_trap_record *rec)
{
	if (rec->vector == HW_VEC_SYSCALL)
		return true;
	/* The scratch tag is no usable descriptor: once read, loading it into FS fails. */
	return c->access == HW_ACCESS_IMPLICIT && (rec->vector == HW_VEC_GP || rec->vector == HW_VEC_NP);
}

/* Reads the word at the GVA at CPL 0 with AC=1 and PKRU=0, which paging allows
 * whenever the case's own access was allowed. */
static struct hw_trap_record read_back(struct runner *r, uint64_t gva)
{
	struct hw_blob_case probe = { .cpl = 0, .access = HW_ACCESS_READ, .gva = gva };

	if (r->cr4 & NW_CR4_PKE)
		hw_wrpkru(0);
	return run_trapped(&probe, RFLAGS_FIXED | NW_RFLAGS_AC);
}

static void put_ad(const struct hw_blob_case *c, const struct hw_blob_entry *entries,
		   const struct hw_case_tables *tables)
{
	hw_putc(' ');
	for (unsigned i = 0; i < c->entry_count; i++) {
		uint64_t val = hw_case_tables_get(tables, &entries[i]);

		hw_putc((char)('0' + ((val & NW_PTE_A) ? 1 : 0) + ((val & NW_PTE_D) ? 2 : 0)));
	}
	hw_putc('\n');
}

/* " ok PA" when word is the scratch tag the access leaves at its GVA (its
 * written byte, for a write), restoring the tag; else " raw WORD". */
static void report_word(const struct hw_blob_case *c, uint64_t word)
{
	uint16_t code = c->access == HW_ACCESS_WRITE ? ((HW_TAG_CODE & 0xff00) | HW_WRITE_BYTE) : HW_TAG_CODE;
	uint64_t pa = word >> 16;

	if ((word & 0xffff) == code && pa >= HW_SCRATCH_BASE && pa < HW_SCRATCH_BASE + HW_SCRATCH_SIZE) {
		*(uint64_t *)hw_direct(pa) = HW_TAG(pa);
		hw_puts(" ok ");
		hw_put_hex(pa);
	} else {
		hw_puts(" raw ");
		hw_put_hex(word);
	}
}

static void report(struct runner *r, const struct hw_blob_case *c, const struct hw_trap_record *rec)
{
	if (access_completed(c, rec)) {
		struct hw_trap_record back = read_back(r, c->gva);

		if (back.vector == HW_VEC_SYSCALL) {
			report_word(c, back.rax);
		} else {
			hw_puts(" raw ");
			hw_put_hex(back.vector);
		}
		return;
	}
	r->stats->faults++;
	if (rec->vector == HW_VEC_PF) {
		hw_puts(" pf ");
		hw_put_hex(rec->error);
		hw_putc(' ');
		hw_put_hex(rec->cr2);
	} else if (rec->vector == HW_VEC_GP) {
		hw_puts(" gp");
	} else {
		hw_puts(" exc ");
		hw_put_dec(rec->vector);
		hw_putc(' ');
		hw_put_hex(rec->error);
	}
}

static void run_case(struct runner *r, const struct hw_blob_case *c, const struct hw_blob_entry *entries)
{
	struct hw_case_tables tables;
	struct hw_trap_record rec;
	uint64_t kernel_pml5_entry = (uint64_t)(uintptr_t)hw_boot_pml4 | KERNEL_ENTRY_FLAGS;

	if (!hw_case_tables_build(&tables, &r->frames->hal, c, entries)) {
		hw_puts("hw: out of frames for the case tables\n");
		hw_exit(HW_EXIT_FAIL);
	}
	if (c->flags & HW_CASE_LA57)
		hw_case_tables_add_kernel(&tables, &kernel_pml5_entry, HW_KERNEL_SLOTS_5LEVEL);
	else
		hw_case_tables_add_kernel(&tables, hw_boot_pml4, HW_KERNEL_SLOTS_4LEVEL);
	r->stats->built += tables.built;
	r->stats->patched += tables.patch_count;

	load_state(r, c, hw_case_tables_root(&tables));
	if (c->access == HW_ACCESS_IMPLICIT)
		hw_ldt_load(c->gva);
	if (c->flags & HW_CASE_PKE)
		hw_wrpkru(c->pkru);
	rec = run_trapped(c, RFLAGS_FIXED | ((c->flags & HW_CASE_AC) ? NW_RFLAGS_AC : 0));
	if (c->access == HW_ACCESS_IMPLICIT)
		hw_ldt_clear();

	report(r, c, &rec);
	put_ad(c, entries, &tables);
	/* Leave the case's tables before they go back to the allocator, which links free frames through them. */
	hw_write_cr3(kernel_root(r));
	hw_case_tables_free(&tables);
	r->stats->cases++;
}

static void put_exit(const char *what, const struct hw_svm_exit *ex)
{
	hw_puts(what);
	hw_put_hex(ex->info1);
	hw_putc(' ');
	hw_put_hex(ex->info2);
}

/* Legacy paging modes run as an SVM guest rather than by leaving long mode in
 * the image: the VMCB loads the guest's CR0/CR4/EFER and segments in one step,
 * the image's IDT, stacks and 64-bit code stay untouched, the guest's #PF comes
 * back as an intercept (EXITINFO1 = error code, EXITINFO2 = CR2) whatever the
 * guest's own tables say, and the same path gives the nested-paging variants.
 * The guest reaches its two stub pages through these tables, in slots the
 * cases leave alone. */
static void guest32_init(struct runner *r)
{
	uint32_t *pt32;
	uint64_t *pt, *pd;

	if (nw_frame_alloc_zero(&r->guest32_pt, &r->frames->hal) != NW_OK ||
	    nw_frame_alloc_zero(&r->pae_pt, &r->frames->hal) != NW_OK ||
	    nw_frame_alloc_zero(&r->pae_pd, &r->frames->hal) != NW_OK) {
		hw_puts("hw: out of frames for the 32-bit guest tables\n");
		hw_exit(HW_EXIT_FAIL);
	}
	pt32 = nw_frame_ptr(&r->guest32_pt);
	pt = nw_frame_ptr(&r->pae_pt);
	pd = nw_frame_ptr(&r->pae_pd);
	pt32[0] = HW_GUEST32_USER_PAGE | NW_PTE_P | NW_PTE_US;
	pt32[1] = HW_GUEST32_PAGE | NW_PTE_P;
	pt[0] = HW_GUEST32_USER_PAGE | NW_PTE_P | NW_PTE_US;
	pt[1] = HW_GUEST32_PAGE | NW_PTE_P;
	pd[HW_GUEST32_USER_PAGE >> 21] = nw_frame_paddr(&r->pae_pt).val | KERNEL_ENTRY_FLAGS;
	r->guest32_on = true;
}

static void guest32_fini(struct runner *r)
{
	if (!r->guest32_on)
		return;
	nw_frame_free(&r->guest32_pt);
	nw_frame_free(&r->pae_pt);
	nw_frame_free(&r->pae_pd);
}

static void add_guest_kernel(struct runner *r, const struct hw_blob_case *c, struct hw_case_tables *tables)
{
	if (c->flags & HW_CASE_LEGACY32) {
		/* PDE 1 maps 4..8 MiB, where both stub pages lie. */
		uint64_t slots[HW_KERNEL_SLOTS_32BIT] = { 0, nw_frame_paddr(&r->guest32_pt).val | KERNEL_ENTRY_FLAGS };

		hw_case_tables_add_kernel(tables, slots, HW_KERNEL_SLOTS_32BIT);
	} else if (c->flags & HW_CASE_PAE) {
		/* A PDPTE has no R/W or U/S: those bits are reserved (§4.4.1). */
		uint64_t slot = nw_frame_paddr(&r->pae_pd).val | NW_PTE_P;

		hw_case_tables_add_kernel(tables, &slot, HW_KERNEL_SLOTS_PAE);
	} else {
		hw_case_tables_add_kernel(tables, hw_boot_pml4, HW_KERNEL_SLOTS_4LEVEL);
	}
}

static uint64_t guest_rip(const struct hw_blob_case *c, unsigned access)
{
	static char *const rips64[] = { hw_guest_read, hw_guest_write, hw_guest_fetch };
	static char *const rips32[] = { hw_guest32_read, hw_guest32_write, hw_guest32_fetch };
	static char *const user32[] = { hw_user32_read, hw_user32_write, hw_user32_fetch };

	if (!hw_case_is_legacy(c))
		return (uint64_t)(uintptr_t)rips64[access];
	return (uint64_t)(uintptr_t)(c->cpl == 3 ? user32 : rips32)[access];
}

static struct hw_svm_guest guest_state(const struct runner *r, const struct hw_blob_case *c, uint64_t cr3,
				       uint64_t ncr3)
{
	struct hw_svm_guest g = {
		.cr0 = (r->cr0 & ~NW_CR0_WP) | ((c->flags & HW_CASE_WP) ? NW_CR0_WP : 0),
		.cr3 = cr3,
		.cr4 = ((c->flags & HW_CASE_SMEP) ? NW_CR4_SMEP : 0) | ((c->flags & HW_CASE_SMAP) ? NW_CR4_SMAP : 0),
		.efer = (c->flags & HW_CASE_NXE) ? NW_EFER_NXE : 0,
		.rflags = RFLAGS_FIXED | ((c->flags & HW_CASE_AC) ? NW_RFLAGS_AC : 0),
		.code32 = hw_case_is_legacy(c),
		.cpl = c->cpl,
		.rip = guest_rip(c, c->access),
		.gva = c->gva,
		.ncr3 = ncr3,
	};

	if (c->flags & HW_CASE_LEGACY32) {
		g.cr4 |= (c->flags & HW_CASE_PSE) ? NW_CR4_PSE : 0;
	} else if (c->flags & HW_CASE_PAE) {
		g.cr4 |= NW_CR4_PAE;
	} else {
		g.cr4 |= NW_CR4_PAE;
		g.efer |= NW_EFER_LME | NW_EFER_LMA;
	}
	return g;
}

static void put_svm_outcome(struct runner *r, const struct hw_blob_case *c, const struct hw_svm_exit *ex)
{
	if (ex->code == SVM_EXIT_VMMCALL) {
		/* A 32-bit guest's word is EDX:EAX. */
		report_word(c, hw_case_is_legacy(c) ? (ex->rax & UINT32_MAX) | (ex->rdx << 32) : ex->rax);
		return;
	}
	r->stats->faults++;
	if (ex->code == SVM_EXIT_EXCP_BASE + HW_VEC_PF) {
		put_exit(" pf ", ex);
	} else if (ex->code == SVM_EXIT_NPF) {
		put_exit(" npf ", ex);
	} else if (ex->code == SVM_EXIT_EXCP_BASE + HW_VEC_GP) {
		hw_puts(" gp");
	} else {
		hw_puts(" exit ");
		hw_put_hex(ex->code);
		put_exit(" ", ex);
	}
}

/* The case as an SVM guest: guest tables as for a 1-D case, nested tables by
 * the library (npt_case.h). */
static void run_npt_case(struct runner *r, const struct hw_blob_case *c, const struct hw_blob_entry *entries,
			 const struct hw_blob_entry *edits, unsigned edit_count)
{
	struct nw_npt_config config = hw_npt_case_config(r->cpu->maxphyaddr, r->cpu->gbpages);
	struct hw_case_tables tables;
	struct hw_svm_guest guest;
	struct hw_svm_exit ex;
	struct nw_npt npt;

	if (!r->svm_on) {
		if (r->cr4 & NW_CR4_LA57) {
			hw_paging_switch((uint64_t)(uintptr_t)hw_boot_pml4, r->cr4 & ~NW_CR4_LA57);
			r->cr4 &= ~NW_CR4_LA57;
		}
		if (!hw_svm_init(&r->svm, &r->frames->hal)) {
			hw_puts("hw: out of frames for the VMCB\n");
			hw_exit(HW_EXIT_FAIL);
		}
		r->svm_on = true;
		/* Host NXE: without it bit 63 of a nested entry is reserved. */
		r->efer = hw_rdmsr(HW_MSR_EFER) | NW_EFER_NXE;
		hw_wrmsr(HW_MSR_EFER, r->efer);
	}
	if (hw_case_is_legacy(c) && !r->guest32_on)
		guest32_init(r);
	if (!hw_case_tables_build(&tables, &r->frames->hal, c, entries) || nw_npt_create(&npt, &r->frames->hal, &config)) {
		hw_puts("hw: out of frames for the case tables\n");
		hw_exit(HW_EXIT_FAIL);
	}
	add_guest_kernel(r, c, &tables);
	r->stats->built += tables.built;
	r->stats->patched += tables.patch_count;
	if (hw_npt_case_map(&npt, edits, edit_count, tables.table_pa) != NW_OK) {
		hw_puts("hw: the library refused the nested tables of case ");
		hw_put_dec(c->id);
		hw_exit(HW_EXIT_FAIL);
	}
	guest = guest_state(r, c, hw_case_tables_root(&tables), nw_npt_ncr3(&npt));
	ex = hw_svm_run(&r->svm, &guest);
	if (ex.code == SVM_EXIT_SWINT) {
		/* The fetch arrived; a read through the same GVA (AC=1: past SMAP) says where. */
		guest.rip = guest_rip(c, HW_ACCESS_READ);
		guest.rflags |= NW_RFLAGS_AC;
		ex = hw_svm_run(&r->svm, &guest);
	}
	put_svm_outcome(r, c, &ex);
	put_ad(c, entries, &tables);
	nw_npt_destroy(&npt);
	hw_case_tables_free(&tables);
	r->stats->cases++;
	r->stats->nested++;
	r->stats->legacy += hw_case_is_legacy(c);
}

static bool reject(uint64_t index, uint64_t offset, const char *why)
{
	hw_puts("hw: bad case blob: case #");
	hw_put_dec(index);
	hw_puts(" at offset ");
	hw_put_hex(offset);
	hw_puts(": ");
	hw_puts(why);
	hw_putc('\n');
	return false;
}

static bool run_cases(struct runner *r, const uint8_t *blob, uint64_t size, uint32_t count)
{
	uint64_t off = sizeof(struct hw_blob_header);

	for (uint32_t n = 0; n < count; n++) {
		const struct hw_blob_case *c = (const struct hw_blob_case *)(blob + off);
		const struct hw_blob_entry *entries = (const struct hw_blob_entry *)(c + 1);
		unsigned levels[HW_MAX_TABLES];
		struct hw_blob_case table_case;
		const char *why;

		if (size - off < sizeof(*c) || (size - off - sizeof(*c)) / sizeof(*entries) < c->entry_count)
			return reject(n, off, "truncated");
		why = hw_case_check(c, entries, r->cpu, levels);
		if (why)
			return reject(n, off, why);
		table_case = *c;
		table_case.entry_count = (uint8_t)hw_case_table_entries(c, entries);
		why = hw_case_missing_feature(c, r->cpu, entries, levels);
		/* The case's id goes out before it runs: should the CPU (or a host
		 * emulating it) stop inside the case, the output names it. */
		hw_puts("c ");
		hw_put_dec(c->id);
		if (why) {
			hw_puts(" unsupported ");
			hw_puts(why);
			hw_putc('\n');
			r->stats->unsupported++;
		} else if (hw_case_is_nested(c)) {
			run_npt_case(r, &table_case, entries, entries + table_case.entry_count,
				     c->entry_count - table_case.entry_count);
		} else {
			run_case(r, c, entries);
		}
		off += sizeof(*c) + c->entry_count * sizeof(*entries);
	}
	if (off != size)
		return reject(count, off, "bytes after the last case");
	return true;
}

bool hw_run_blob(const uint8_t *blob, uint64_t size, struct hw_frames *frames, const struct hw_cpu_features *cpu,
		 struct hw_run_stats *stats)
{
	const struct hw_blob_header *h = (const struct hw_blob_header *)blob;
	struct runner r = { .frames = frames, .cpu = cpu, .stats = stats };
	uint64_t start;
	bool ok;

	*stats = (struct hw_run_stats){ 0 };
	if (size < sizeof(*h) || h->magic != HW_BLOB_MAGIC)
		return reject(0, 0, "no blob magic");
	if (h->version != HW_BLOB_VERSION || h->header_size != sizeof(*h))
		return reject(0, 4, "unknown blob version or header size");
	if (h->arch != HW_BLOB_ARCH_X86_64)
		return reject(0, 12, "not an x86_64 blob");
	if (nw_frame_alloc_zero(&r.kernel_pml5, &frames->hal) != NW_OK)
		return reject(0, 0, "no frame for the kernel PML5");
	((uint64_t *)nw_frame_ptr(&r.kernel_pml5))[0] = (uint64_t)(uintptr_t)hw_boot_pml4 | KERNEL_ENTRY_FLAGS;
	r.cr0 = hw_read_cr0();
	r.cr4 = hw_read_cr4();
	r.efer = hw_rdmsr(HW_MSR_EFER);

	start = hw_rdtsc();
	ok = run_cases(&r, blob, size, h->case_count);
	stats->tsc_ticks = hw_rdtsc() - start;

	/* Back to the boot state: 4-level paging, no SMEP/SMAP/PKE. */
	if (r.cr4 & NW_CR4_LA57)
		hw_paging_switch((uint64_t)(uintptr_t)hw_boot_pml4, r.cr4 & ~NW_CR4_LA57);
	hw_write_cr4(r.cr4 & ~(NW_CR4_LA57 | NW_CR4_SMEP | NW_CR4_SMAP | NW_CR4_PKE));
	if (r.svm_on)
		hw_svm_fini(&r.svm);
	guest32_fini(&r);
	nw_frame_free(&r.kernel_pml5);
	return ok;
}
