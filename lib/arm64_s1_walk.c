/* The AArch64 stage-1 walk of the EL1&0 regime (Arm ARM D8, AArch64.S1Walk,
 * AArch64.S1CheckPermissions): the AArch64 description of the one guest walk
 * (walk_guest.h), its geometry the range's format (vmsa.h), its rules the
 * predicates of arm64_s1_rules.h. A stage-1 fault is taken to EL1 (ESR_EL1,
 * FAR_EL1); a stage-2 fault on a table read or on the final IPA is taken to
 * EL2 by the shared second-stage path (walk_s2.c). */
#include <nestwalk/arm64_s1.h>
#include <nestwalk/arm64_s2.h>
#include <nestwalk/assert.h>

#include "arm64_s1_rules.h"
#include "vmsa.h"
#include "walk_guest.h"

#define RIGHTS_ALL (NW_WALK_RIGHT_W | NW_WALK_RIGHT_U | NW_WALK_RIGHT_X | NW_WALK_RIGHT_UX)

/* The AArch64 walk's own state beside the shared one. */
struct a64_walk {
	struct nw_gs_walk w; /* first: the description's callbacks get &a->w */
	const struct nw_arm64_cpu *cpu;
	const struct nw_arm64_s1_range *range;
};

static const struct a64_walk *a64_of(const struct nw_gs_walk *w)
{
	return (const struct a64_walk *)w;
}

/* ESR_EL1 (D19, ISS encoding for an exception from a Data or Instruction
 * Abort): EC by the kind of access and the Exception level it came from, IL
 * 1, WnR for a data write, the fault status code with its Arm level. ISV 0:
 * the access carries no instruction syndrome. */
static uint64_t esr_el1(const struct nw_arm64_cpu *cpu, enum nw_access_type type, enum nw_s2_fault fault,
			int arm_level)
{
	unsigned ec = type == NW_ACCESS_FETCH ? (cpu->el0 ? NW_ESR_EC_IABT_LOW : NW_ESR_EC_IABT_CUR)
					      : (cpu->el0 ? NW_ESR_EC_DABT_LOW : NW_ESR_EC_DABT_CUR);

	return (uint64_t)ec << NW_ESR_EC_SHIFT | NW_ESR_IL | (type == NW_ACCESS_WRITE ? NW_ESR_WNR : 0) |
	       (nw_arm64_fsc(fault, arm_level) & NW_ESR_FSC_MASK);
}

/* A stage-1 abort of kind at library level (Arm level 4 - level), FAR_EL1 the virtual address. */
static void stage1_abort(struct nw_gs_walk *w, enum nw_s2_fault fault, unsigned level)
{
	struct nw_walk_result *res = w->ctx.res;

	res->outcome = NW_OUTCOME_STAGE1_ABORT;
	res->abort_fault = fault;
	res->fault_level = (int)level;
	res->esr = esr_el1(a64_of(w)->cpu, w->ctx.access->type, fault, 4 - (int)level);
	res->far = w->ctx.access->gva.val;
}

/* Stage 1 disabled (SCTLR_EL1.M 0, AArch64.S1DisabledOutput): the IPA is the
 * VA, every right granted; VA bits from the PA size up to the top bit
 * (AddrTop) must be 0, else an Address size fault at level 0. */
static void translate_flat(struct nw_gs_walk *w)
{
	const struct nw_arm64_s1 *s1 = &a64_of(w)->cpu->s1;
	uint64_t va = w->ctx.access->gva.val;
	const struct nw_arm64_s1_range *range = &s1->range[nw_a64_va_range(va)];
	unsigned top = nw_a64_addr_top(range), pa_bits = s1->caps.pa_bits;
	uint64_t high = (va >> pa_bits) & ((UINT64_C(1) << (top - pa_bits) << 1) - 1);

	if (high) {
		stage1_abort(w, NW_S2_FAULT_ADDRESS_SIZE, NW_LEVEL_PML4);
		return;
	}
	w->ctx.res->rights = RIGHTS_ALL;
	w->ctx.res->guest_page_size = NW_PAGE_SIZE;
	nw_walk_finish(&w->ctx, nw_gpa(va & ((UINT64_C(1) << pa_bits) - 1)));
}

/* D8.2: the range bit 55 selects; its walk disabled (EPDn), an address
 * outside it, or (DFSC 0b000000) a TTBR above the output size fault at level 0. */
static bool a64_start(struct nw_gs_walk *w)
{
	struct a64_walk *a = (struct a64_walk *)w;
	const struct nw_arm64_s1 *s1 = &a->cpu->s1;
	uint64_t va = w->ctx.access->gva.val;
	unsigned which = nw_a64_va_range(va);

	nw_walk_result_init(w->ctx.res, NW_PAGING_OFF, w->ctx.access->gva);
	w->va = va;
	w->rights = RIGHTS_ALL;
	if (!s1->enabled) {
		translate_flat(w);
		return false;
	}
	a->range = &s1->range[which];
	if (!a->range->walks || nw_a64_va_is_out_of_range(a->range, which, va)) {
		stage1_abort(w, NW_S2_FAULT_TRANSLATION, NW_LEVEL_PML4);
		return false;
	}
	if (nw_a64_has_addr_above_ps(s1->ps_bits, a->range->table)) {
		stage1_abort(w, NW_S2_FAULT_ADDRESS_SIZE, NW_LEVEL_PML4);
		return false;
	}
	w->fmt = &a->range->format;
	w->top = w->fmt->top;
	w->table = a->range->table;
	return true;
}

static bool a64_read(struct nw_gs_walk *w, unsigned level, uint64_t *entry)
{
	return nw_walk_read_entry(&w->ctx, nw_gpa(w->table), nw_pt_index(w->fmt, (int)level, w->va), 8, (int)level,
				  entry);
}

static bool a64_is_present(const struct nw_gs_walk *w, unsigned level, uint64_t entry)
{
	return nw_a64_is_valid_descriptor(w->fmt, level, entry);
}

/* An address at or above the output size: OA[47:PS], or a 64 KiB-granule descriptor's OA[51:48] (vmsa.h). */
static bool a64_is_malformed(const struct nw_gs_walk *w, unsigned level, uint64_t entry)
{
	(void)level;
	return nw_a64_has_addr_above_ps(a64_of(w)->cpu->s1.ps_bits, entry) ||
	       (entry & nw_vmsa_oa_high_bits(a64_of(w)->range->granule_bits)) != 0;
}

static bool a64_maps_page(const struct nw_gs_walk *w, unsigned level, uint64_t entry)
{
	(void)w;
	return nw_a64_maps_page(level, entry);
}

static uint32_t a64_rights(const struct nw_gs_walk *w, unsigned level, uint64_t entry)
{
	const struct a64_walk *a = a64_of(w);

	if (nw_a64_maps_page(level, entry))
		return w->rights & nw_a64_leaf_rights(&a->cpu->s1, entry);
	return w->rights & nw_a64_table_rights(a->range, entry);
}

/* Table descriptors have no Access flag: nothing to set on the way down. */
static bool a64_pass(struct nw_gs_walk *w, unsigned level, uint64_t entry)
{
	(void)w;
	(void)level;
	(void)entry;
	return true;
}

/* The next table is granule-aligned (its address bits below the granule are
 * RES0, ignored); the loop masks a leaf's to its page or block size. */
static uint64_t a64_address(const struct nw_gs_walk *w, unsigned level, uint64_t entry)
{
	(void)level;
	return entry & w->fmt->table_addr_mask;
}

static uint8_t a64_attr_index(unsigned level, uint64_t leaf)
{
	(void)level;
	return (uint8_t)nw_a64_attr_index(leaf);
}

static bool a64_is_unaccessed(const struct nw_gs_walk *w, uint64_t leaf)
{
	return nw_a64_af_faults(&a64_of(w)->cpu->s1, leaf);
}

static bool a64_blocks(const struct nw_gs_walk *w, uint64_t leaf)
{
	(void)leaf;
	return nw_a64_rights_block(a64_of(w)->cpu, w->ctx.access, w->rights);
}

/* DFSC/IFSC: translation for an invalid descriptor, address size for an
 * address above the output size, access flag, permission. */
static void a64_fault(struct nw_gs_walk *w, enum nw_gs_fault kind, unsigned level)
{
	static const enum nw_s2_fault faults[] = {
		[NW_GS_FAULT_MISSING] = NW_S2_FAULT_TRANSLATION,
		[NW_GS_FAULT_MALFORMED] = NW_S2_FAULT_ADDRESS_SIZE,
		[NW_GS_FAULT_UNACCESSED] = NW_S2_FAULT_ACCESS_FLAG,
		[NW_GS_FAULT_PERMISSION] = NW_S2_FAULT_PERMISSION,
	};

	stage1_abort(w, faults[kind], level);
}

/* D8.4.5, D8.4.6: once the access is allowed, the hardware sets AF (HA) and,
 * for a write to a DBM leaf with AP[2] set (HD), clears AP[2]: one write of
 * the leaf, itself checked by stage 2 as a write on the stage-1 walk. */
static bool a64_set_flags(struct nw_gs_walk *w, unsigned leaf_level)
{
	const struct nw_arm64_s1 *s1 = &a64_of(w)->cpu->s1;
	uint64_t leaf = w->ctx.res->leaf_entry, set = 0, clear = 0;
	const struct nw_walk_step *step = &w->ctx.res->steps[leaf_level];

	if (s1->ha && !(leaf & NW_ARM64_S1_AF))
		set = NW_ARM64_S1_AF;
	if (s1->hd && w->ctx.access->type == NW_ACCESS_WRITE && (leaf & NW_ARM64_S1_DBM) && (leaf & NW_ARM64_S1_AP2))
		clear = NW_ARM64_S1_AP2;
	if (!set && !clear)
		return true;
	return nw_walk_update_at(&w->ctx, nw_gpa(step->table_gpa.val + (uint64_t)step->index * 8), (int)leaf_level, 8,
				 clear, set);
}

static const struct nw_guest_stage a64_stage = {
	.start = a64_start,
	.read = a64_read,
	.is_present = a64_is_present,
	.is_malformed = a64_is_malformed,
	.rights = a64_rights,
	.maps_page = a64_maps_page,
	.pass = a64_pass,
	.address = a64_address,
	.attr_index = a64_attr_index,
	.is_unaccessed = a64_is_unaccessed,
	.blocks = a64_blocks,
	.fault = a64_fault,
	.set_flags = a64_set_flags,
};

/* D8.5: the attributes of a translation that succeeded: stage 1's (the
 * leaf's AttrIndx and SH through MAIR_EL1, or the defaults with stage 1
 * off), combined with the final stage-2 leaf's MemAttr and SH, or with
 * HCR_EL2.FWB changed by them as FEAT_S2FWB says. */
static struct nw_arm64_memattr translation_attrs(const struct nw_walk_config *config, const struct nw_arm64_cpu *cpu,
						 const struct nw_access *access, const struct nw_walk_result *res)
{
	uint64_t leaf = res->leaf_entry, s2_leaf = res->final_s2.entry;
	struct nw_arm64_memattr s1, s2;

	if (cpu->s1.enabled)
		s1 = nw_arm64_mair_decode(cpu->s1.mair, nw_a64_attr_index(leaf),
					  (unsigned)(leaf >> NW_ARM64_S1_SH_SHIFT) & 3);
	else
		s1 = nw_arm64_s1_off_attrs(cpu->s1.sctlr, access->type == NW_ACCESS_FETCH);
	if (config->stage2.kind != NW_STAGE2_ARM64)
		return s1;
	if (config->stage2.arm64->config.fwb)
		return nw_arm64_memattr_fwb(&s1, res->final_s2.memory_type,
					    (unsigned)(s2_leaf >> NW_ARM64_S2_SH_SHIFT) & 3);
	s2 = nw_arm64_s2_attrs(res->final_s2.memory_type, (unsigned)(s2_leaf >> NW_ARM64_S2_SH_SHIFT) & 3);
	return nw_arm64_memattr_combine(&s1, &s2);
}

void nw_arm64_walk(const struct nw_walk_config *config, const struct nw_arm64_cpu *cpu,
		   const struct nw_access *access, unsigned flags, struct nw_walk_result *res)
{
	struct a64_walk a = {
		.w.ctx = { .config = config, .access = access, .flags = flags,
			   .user = nw_a64_is_el0_checked(cpu, access), .linear = true, .res = res },
		.cpu = cpu,
	};

	/* An x86 second stage under an AArch64 guest is a caller's mistake, not guest data. */
	NW_ASSERT(config->stage2.kind == NW_STAGE2_ARM64 || config->stage2.kind == NW_STAGE2_NONE);
	nw_walk_guest(&a64_stage, &a.w);
	res->arm64_memattr = res->outcome == NW_OUTCOME_OK ? translation_attrs(config, cpu, access, res)
							  : (struct nw_arm64_memattr){ .type = NW_ARM64_MEM_NONE };
}
