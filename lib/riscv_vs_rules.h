/* The VS-stage rules of the RISC-V privileged spec (supervisor "Virtual
 * Address Translation Process" steps 5 and 7 and "Addressing and Memory
 * Protection" of Sv39/Sv48/Sv57, as "Two-Stage Address Translation" runs them
 * with V=1), each once as a named predicate. The PTE format rules both stages
 * share are riscv_pte_rules.h. The VS-stage description of the one guest walk
 * (riscv_vs_walk.c) applies them. Internal. */
#ifndef NESTWALK_LIB_RISCV_VS_RULES_H
#define NESTWALK_LIB_RISCV_VS_RULES_H

#include <nestwalk/riscv_vs.h>
#include <nestwalk/walk.h>

/* Sv39/Sv48/Sv57: bits 63:VA of a virtual address must all equal bit VA-1
 * (VA = 12 + 9 x levels: 39, 48, 57), else the access is a page fault. The
 * same sign extension as an x86 canonical address, so the same arithmetic. */
static inline bool nw_rv_vs_is_canonical(unsigned levels, uint64_t va)
{
	return nw_walk_is_canonical(va, 12 + 9 * levels);
}

/* Step 5, with V=1 the privilege VU or VS: VU-mode may access a page only
 * with U=1. */
static inline bool nw_rv_vu_blocks(const struct nw_rv_vs_cpu *cpu, uint32_t rights)
{
	return cpu->vu && !(rights & NW_WALK_RIGHT_U);
}

/* "Memory Privilege in sstatus" (SUM, as vsstatus holds it): a VS-mode load
 * or store to a U page faults unless vsstatus.SUM is set. */
static inline bool nw_rv_sum_blocks(const struct nw_rv_vs_cpu *cpu, enum nw_access_type type, uint32_t rights)
{
	return !cpu->vu && (rights & NW_WALK_RIGHT_U) && type != NW_ACCESS_FETCH && !cpu->sum;
}

/* Same section: supervisor mode never executes code from a U page, whatever SUM. */
static inline bool nw_rv_u_fetch_blocks(const struct nw_rv_vs_cpu *cpu, enum nw_access_type type, uint32_t rights)
{
	return !cpu->vu && (rights & NW_WALK_RIGHT_U) && type == NW_ACCESS_FETCH;
}

/* MXR: a load reads a page with R, or with X when vsstatus.MXR or (for the
 * VS-stage too, "Two-Stage Address Translation") the HS-level sstatus.MXR is set. */
static inline bool nw_rv_mxr_is_on(const struct nw_rv_vs_cpu *cpu)
{
	return cpu->mxr || cpu->hs_mxr;
}

/* Step 5: a load needs R (or X under MXR), a store W, a fetch X. */
static inline bool nw_rv_rwx_blocks(const struct nw_rv_vs_cpu *cpu, enum nw_access_type type, uint32_t rights)
{
	switch (type) {
	case NW_ACCESS_WRITE:
		return !(rights & NW_WALK_RIGHT_W);
	case NW_ACCESS_FETCH:
		return !(rights & NW_WALK_RIGHT_X);
	case NW_ACCESS_READ:
		break;
	}
	return !(rights & NW_WALK_RIGHT_R) && !(nw_rv_mxr_is_on(cpu) && (rights & NW_WALK_RIGHT_X));
}

/* Step 5: the leaf's R/W/X/U refuse the access at the current privilege. */
static inline bool nw_rv_vs_rights_block(const struct nw_rv_vs_cpu *cpu, enum nw_access_type type, uint32_t rights)
{
	return nw_rv_vu_blocks(cpu, rights) || nw_rv_sum_blocks(cpu, type, rights) ||
	       nw_rv_u_fetch_blocks(cpu, type, rights) || nw_rv_rwx_blocks(cpu, type, rights);
}

/* Step 7 (Svade, henvcfg.ADUE clear): a leaf with A=0, or D=0 for a store,
 * is a page fault; with ADUE (Svadu) the walk sets them instead. */
static inline bool nw_rv_vs_ad_faults(const struct nw_rv_vs_cpu *cpu, enum nw_access_type type, uint64_t leaf)
{
	return !cpu->adue && (!(leaf & NW_RV_PTE_A) || (type == NW_ACCESS_WRITE && !(leaf & NW_RV_PTE_D)));
}

/* The A/D bits step 7 sets under Svadu for an access of type: A, and D for a store. */
static inline uint64_t nw_rv_vs_ad_needed(enum nw_access_type type)
{
	return NW_RV_PTE_A | (type == NW_ACCESS_WRITE ? NW_RV_PTE_D : 0);
}

#endif
