/* The RISC-V VS-stage walk (privileged spec, "Virtual Address Translation
 * Process" for Sv39/Sv48/Sv57 as "Two-Stage Address Translation" runs it
 * with V=1): the RISC-V description of the one guest walk (walk_guest.h),
 * its geometry the vsatp mode's format, its rules the predicates of
 * riscv_pte_rules.h and riscv_vs_rules.h. A VS-stage fault is a page fault
 * taken to VS-mode; a G-stage fault on a PTE access or on the final
 * guest-physical address is a guest-page fault taken to HS-mode by the
 * shared second-stage path (walk_s2.c). */
#include <nestwalk/assert.h>
#include <nestwalk/riscv_vs.h>

#include "riscv_pte_rules.h"
#include "riscv_vs_rules.h"
#include "stage2_rules.h"
#include "walk_guest.h"

#define RIGHTS_ALL (NW_WALK_RIGHT_R | NW_WALK_RIGHT_W | NW_WALK_RIGHT_X | NW_WALK_RIGHT_U)

/* The VS-stage walk's own state beside the shared one. */
struct rv_walk {
	struct nw_gs_walk w; /* first: the description's callbacks get &r->w */
	const struct nw_rv_vs_cpu *cpu;
};

static const struct nw_rv_vs_cpu *cpu_of(const struct nw_gs_walk *w)
{
	return ((const struct rv_walk *)w)->cpu;
}

/* A VS-stage page fault: scause 12/13/15 by the access, stval the guest virtual address. */
static void page_fault(struct nw_gs_walk *w, int level)
{
	struct nw_walk_result *res = w->ctx.res;

	res->outcome = NW_OUTCOME_PAGE_FAULT;
	res->fault_level = level;
	res->rv_trap = (struct nw_rv_trap){
		.scause = nw_rv_cause_of(w->ctx.access->type, NW_RV_CAUSE_FETCH_PAGE_FAULT, NW_RV_CAUSE_LOAD_PAGE_FAULT,
					 NW_RV_CAUSE_STORE_PAGE_FAULT),
		.stval = w->ctx.access->gva.val,
	};
}

/* Step 2: a PTE access that fails its PMA check (no memory behind it) is an
 * access fault of the original access type, taken to HS-mode; the shared
 * read and write report it as no memory. Returns false: the walk stops. */
static bool pte_access_failed(struct nw_gs_walk *w)
{
	struct nw_walk_result *res = w->ctx.res;

	if (res->outcome != NW_OUTCOME_NO_MEMORY)
		return false;
	res->outcome = NW_OUTCOME_ACCESS_FAULT;
	res->rv_trap = (struct nw_rv_trap){
		.scause = nw_rv_cause_of(w->ctx.access->type, NW_RV_CAUSE_FETCH_ACCESS, NW_RV_CAUSE_LOAD_ACCESS,
					 NW_RV_CAUSE_STORE_ACCESS),
		.stval = w->ctx.access->gva.val,
		.gva = true,
	};
	return false;
}

/* vsatp Bare: the guest virtual address is the guest-physical one, no
 * protection; else step 1 from the root, a non-canonical address faulting first. */
static bool rv_start(struct nw_gs_walk *w)
{
	const struct nw_rv_vs_cpu *cpu = cpu_of(w);
	uint64_t va = w->ctx.access->gva.val;

	nw_walk_result_init(w->ctx.res, NW_PAGING_OFF, w->ctx.access->gva);
	w->va = va;
	w->rights = RIGHTS_ALL;
	if (cpu->vsatp.mode == NW_RV_SATP_BARE) {
		w->ctx.res->rights = RIGHTS_ALL;
		w->ctx.res->guest_page_size = NW_PAGE_SIZE;
		nw_walk_finish(&w->ctx, nw_gpa(va));
		return false;
	}
	w->fmt = nw_rv_vs_format(cpu->vsatp.mode);
	NW_ASSERT(w->fmt); /* a vsatp from nw_rv_vsatp_decode */
	if (!nw_rv_vs_is_canonical(w->fmt->top, va)) {
		page_fault(w, 0);
		return false;
	}
	w->top = w->fmt->top;
	w->table = cpu->vsatp.root;
	return true;
}

/* Step 2: the PTE at a + va.vpn[i] x 8, its guest-physical address through the G-stage. */
static bool rv_read(struct nw_gs_walk *w, unsigned level, uint64_t *entry)
{
	return nw_walk_read_entry(&w->ctx, nw_gpa(w->table), nw_pt_index(w->fmt, (int)level, w->va), 8, (int)level,
				  entry) ||
	       pte_access_failed(w);
}

static bool rv_is_present(const struct nw_gs_walk *w, unsigned level, uint64_t entry)
{
	(void)w;
	return nw_rv_pte_is_present((int)level, entry);
}

/* Step 3 (reserved bits and encodings), step 6 (a misaligned superpage):
 * each a page fault like an invalid PTE, so checking them together before
 * the rights (step 5) gives the same trap. */
static bool rv_is_malformed(const struct nw_gs_walk *w, unsigned level, uint64_t entry)
{
	const struct nw_rv_vs_cpu *cpu = cpu_of(w);

	return (entry & nw_rv_pte_rsvd_bits(cpu->pbmte, cpu->caps.svnapot)) || nw_rv_pte_has_w_without_r(entry) ||
	       nw_rv_pte_has_pointer_rsvd(entry) || nw_rv_pte_has_reserved_pbmt(entry) ||
	       nw_rv_pte_has_bad_napot((int)level, entry) || nw_s2_has_misaligned_large_page(w->fmt, (int)level, entry);
}

static bool rv_maps_page(const struct nw_gs_walk *w, unsigned level, uint64_t entry)
{
	(void)w;
	(void)level;
	return !nw_rv_pte_is_pointer(entry);
}

/* Only the leaf's R/W/X/U count: non-leaf PTEs carry no rights. */
static uint32_t rv_rights(const struct nw_gs_walk *w, unsigned level, uint64_t entry)
{
	if (!rv_maps_page(w, level, entry))
		return w->rights;
	return ((entry & NW_RV_PTE_R) ? NW_WALK_RIGHT_R : 0) | ((entry & NW_RV_PTE_W) ? NW_WALK_RIGHT_W : 0) |
	       ((entry & NW_RV_PTE_X) ? NW_WALK_RIGHT_X : 0) | ((entry & NW_RV_PTE_U) ? NW_WALK_RIGHT_U : 0);
}

/* Non-leaf PTEs have no A bit to set on the way down. */
static bool rv_pass(struct nw_gs_walk *w, unsigned level, uint64_t entry)
{
	(void)w;
	(void)level;
	(void)entry;
	return true;
}

/* Step 4: a = pte.ppn x PAGESIZE; a leaf's frame, the loop masks it to the page. */
static uint64_t rv_address(const struct nw_gs_walk *w, unsigned level, uint64_t entry)
{
	(void)level;
	return nw_pt_table_addr(w->fmt, entry);
}

/* Svnapot: a NAPOT leaf maps 64 KiB, its ppn[0][3:0] replaced by va.vpn[0][3:0]. */
static uint64_t rv_page_size(const struct nw_gs_walk *w, unsigned level, uint64_t leaf)
{
	return (leaf & NW_RV_PTE_N) ? UINT64_C(1) << NW_RV_NAPOT_SHIFT : nw_pt_level_size(w->fmt, (int)level);
}

static uint8_t rv_attr_index(unsigned level, uint64_t leaf)
{
	(void)level;
	return (uint8_t)((leaf & NW_RV_PTE_PBMT_MASK) >> NW_RV_PTE_PBMT_SHIFT);
}

static bool rv_is_unaccessed(const struct nw_gs_walk *w, uint64_t leaf)
{
	return nw_rv_vs_ad_faults(cpu_of(w), w->ctx.access->type, leaf);
}

static bool rv_blocks(const struct nw_gs_walk *w, uint64_t leaf)
{
	(void)leaf;
	return nw_rv_vs_rights_block(cpu_of(w), w->ctx.access->type, w->rights);
}

/* Every VS-stage stop is the one page fault of the original access type. */
static void rv_fault(struct nw_gs_walk *w, enum nw_gs_fault kind, unsigned level)
{
	(void)kind;
	page_fault(w, (int)level);
}

/* Step 7 under Svadu: A, and D for a store, set in the leaf once the access
 * is allowed; the write is a G-stage store of the PTE (htinst 0x3020 if it faults). */
static bool rv_set_flags(struct nw_gs_walk *w, unsigned leaf_level)
{
	const struct nw_walk_step *step = &w->ctx.res->steps[leaf_level];
	uint64_t set = nw_rv_vs_ad_needed(w->ctx.access->type) & ~w->ctx.res->leaf_entry;

	if (!cpu_of(w)->adue || !set)
		return true;
	return nw_walk_update_at(&w->ctx, nw_gpa(step->table_gpa.val + (uint64_t)step->index * 8), (int)leaf_level, 8,
				 0, set) ||
	       pte_access_failed(w);
}

static const struct nw_guest_stage rv_stage = {
	.start = rv_start,
	.read = rv_read,
	.is_present = rv_is_present,
	.is_malformed = rv_is_malformed,
	.rights = rv_rights,
	.maps_page = rv_maps_page,
	.pass = rv_pass,
	.address = rv_address,
	.page_size = rv_page_size,
	.attr_index = rv_attr_index,
	.is_unaccessed = rv_is_unaccessed,
	.blocks = rv_blocks,
	.fault = rv_fault,
	.set_flags = rv_set_flags,
};

void nw_rv_vs_walk(const struct nw_walk_config *config, const struct nw_rv_vs_cpu *cpu,
		   const struct nw_access *access, unsigned flags, struct nw_walk_result *res)
{
	struct rv_walk r = {
		.w.ctx = { .config = config, .access = access, .flags = flags, .user = cpu->vu, .linear = true,
			   .res = res },
		.cpu = cpu,
	};

	/* Another architecture's second stage, a henvcfg bit the hart lacks, or an
	 * HS-level MXR the G-stage does not share are the caller's mistakes, not guest data. */
	NW_ASSERT(config->stage2.kind == NW_STAGE2_RISCV || config->stage2.kind == NW_STAGE2_NONE);
	NW_ASSERT((!cpu->adue || cpu->caps.svadu) && (!cpu->pbmte || cpu->caps.svpbmt));
	NW_ASSERT(config->stage2.kind != NW_STAGE2_RISCV || config->stage2.riscv->config.mxr == cpu->hs_mxr);
	nw_walk_guest(&rv_stage, &r.w);
}
