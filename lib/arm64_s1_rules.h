/* The AArch64 stage-1 rules of the EL1&0 regime, 4 KiB granule, each once as
 * a named predicate citing the Arm ARM (DDI 0487, D8 "The AArch64 Virtual
 * Memory System Architecture" and its pseudocode: AArch64.S1Walk,
 * AArch64.S1ComputePermissions, AArch64.S1CheckPermissions). The AArch64
 * description of the one guest walk (arm64_s1.c) applies them. Internal. */
#ifndef NESTWALK_LIB_ARM64_S1_RULES_H
#define NESTWALK_LIB_ARM64_S1_RULES_H

#include <nestwalk/arm64_s1.h>
#include <nestwalk/level.h>
#include <nestwalk/pt_build.h>
#include <nestwalk/walk.h>

/* D8.2 (AArch64.GetVARange): VA bit 55 selects the range, 0 the lower (TTBR0_EL1), 1 the upper (TTBR1_EL1). */
static inline unsigned nw_a64_va_range(uint64_t va)
{
	return (unsigned)(va >> 55) & 1;
}

/* D8.8 (AddrTop): with TBIn set for the range, bits 63:56 are a tag and the
 * top address bit is 55; else 63. */
static inline unsigned nw_a64_addr_top(const struct nw_arm64_s1_range *range)
{
	return range->tbi ? 55 : 63;
}

/* D8.2 (AArch64.VAIsOutOfRange): bits top:va_bits of a lower-range address
 * must be all 0, of an upper-range address all 1; else a Translation fault at
 * level 0. */
static inline bool nw_a64_va_is_out_of_range(const struct nw_arm64_s1_range *range, unsigned which, uint64_t va)
{
	unsigned width = nw_a64_addr_top(range) + 1 - range->va_bits; /* at most 39: va_bits is 25..48 */
	uint64_t ones = (UINT64_C(1) << width) - 1, field = (va >> range->va_bits) & ones;

	return field != (which ? ones : 0);
}

/* D8.3 (AArch64.S1Walk): bit 0 clear is a Fault descriptor; bits 1:0 0b01
 * at level 3 are reserved and read as invalid, and a block above the first
 * block level of the granule (the format's leaf_ok) is a Translation fault too. */
static inline bool nw_a64_is_valid_descriptor(const struct nw_pt_format *fmt, unsigned level, uint64_t entry)
{
	if (!(entry & NW_ARM64_S1_VALID))
		return false;
	return (entry & NW_ARM64_S1_TABLE) || (level != NW_LEVEL_PT && fmt->level[level].leaf_ok);
}

/* D8.3: bits 1:0 0b11 above level 3 point to the next table; a block or a page maps. */
static inline bool nw_a64_maps_page(unsigned level, uint64_t entry)
{
	return level == NW_LEVEL_PT || !(entry & NW_ARM64_S1_TABLE);
}

/* D8.3 (AArch64.S1Walk, AArch64.OAOutOfRange): a next-level table address
 * or an output address with a bit at or above the output size (TCR_EL1.IPS)
 * is an Address size fault at the level of the descriptor. */
static inline uint64_t nw_a64_bits_above_ps(unsigned ps_bits)
{
	return NW_ARM64_S1_ADDR_MASK & ~((UINT64_C(1) << ps_bits) - 1);
}

static inline bool nw_a64_has_addr_above_ps(unsigned ps_bits, uint64_t entry)
{
	return (entry & nw_a64_bits_above_ps(ps_bits)) != 0;
}

/* D8.4.1 (hierarchical permissions): a table descriptor's APTable[0] takes
 * EL0 access, APTable[1] write access, PXNTable EL1 and UXNTable EL0
 * execution away from every level below; with HPDn they are ignored. */
static inline uint32_t nw_a64_table_rights(const struct nw_arm64_s1_range *range, uint64_t entry)
{
	if (range->hpd)
		return NW_WALK_RIGHT_W | NW_WALK_RIGHT_U | NW_WALK_RIGHT_X | NW_WALK_RIGHT_UX;
	return ((entry & NW_ARM64_S1_APTABLE1) ? 0 : NW_WALK_RIGHT_W) |
	       ((entry & NW_ARM64_S1_APTABLE0) ? 0 : NW_WALK_RIGHT_U) |
	       ((entry & NW_ARM64_S1_PXNTABLE) ? 0 : NW_WALK_RIGHT_X) |
	       ((entry & NW_ARM64_S1_UXNTABLE) ? 0 : NW_WALK_RIGHT_UX);
}

/* D8.4.1 (stage 1 data access permissions, AP[2:1]): AP[2] clear writable,
 * AP[1] set accessible from EL0; PXN and UXN forbid execution at EL1 and EL0.
 * With TCR_EL1.HD a DBM leaf is writable: the write clears AP[2] (D8.4.6). */
static inline uint32_t nw_a64_leaf_rights(const struct nw_arm64_s1 *s1, uint64_t entry)
{
	bool writable = !(entry & NW_ARM64_S1_AP2) || (s1->hd && (entry & NW_ARM64_S1_DBM));

	return (writable ? NW_WALK_RIGHT_W : 0) | ((entry & NW_ARM64_S1_AP1) ? NW_WALK_RIGHT_U : 0) |
	       ((entry & NW_ARM64_S1_PXN) ? 0 : NW_WALK_RIGHT_X) | ((entry & NW_ARM64_S1_UXN) ? 0 : NW_WALK_RIGHT_UX);
}

/* D8.4 (AArch64.S1ComputePermissions): EL0 writes where AP[2:1] is 0b01. */
static inline bool nw_a64_is_el0_writable(uint32_t rights)
{
	return (rights & (NW_WALK_RIGHT_W | NW_WALK_RIGHT_U)) == (NW_WALK_RIGHT_W | NW_WALK_RIGHT_U);
}

/* D8.4.2: an access at EL0, or an unprivileged load/store (LDTR/STTR) at
 * EL1 unless PSTATE.UAO is set (FEAT_UAO), is checked with EL0's permissions. */
static inline bool nw_a64_is_el0_checked(const struct nw_arm64_cpu *cpu, const struct nw_access *access)
{
	return cpu->el0 || (access->unprivileged && !cpu->uao);
}

/* D8.4.2 (AArch64.S1ComputePermissions): EL1 may not execute from memory
 * EL0 may write. */
static inline bool nw_a64_el0_writable_blocks_el1_fetch(bool el0, enum nw_access_type type, uint32_t rights)
{
	return !el0 && type == NW_ACCESS_FETCH && nw_a64_is_el0_writable(rights);
}

/* D8.4.2: SCTLR_EL1.WXN makes memory writable at an Exception level execute-never at that level. */
static inline bool nw_a64_wxn_blocks(const struct nw_arm64_s1 *s1, bool el0, enum nw_access_type type,
				     uint32_t rights)
{
	bool writable = el0 ? nw_a64_is_el0_writable(rights) : (rights & NW_WALK_RIGHT_W) != 0;

	return s1->wxn && type == NW_ACCESS_FETCH && writable;
}

/* D8.4.2: PXN/PXNTable forbid EL1 execution, UXN/UXNTable EL0 execution. */
static inline bool nw_a64_xn_blocks(bool el0, enum nw_access_type type, uint32_t rights)
{
	return type == NW_ACCESS_FETCH && !(rights & (el0 ? NW_WALK_RIGHT_UX : NW_WALK_RIGHT_X));
}

/* D8.4.1: EL0 data accesses need AP[1]; writes at either level need AP[2]
 * clear (EL0: AP[2:1] 0b01). EL1 may always read. */
static inline bool nw_a64_ap_blocks(bool el0, enum nw_access_type type, uint32_t rights)
{
	if (type == NW_ACCESS_FETCH)
		return false;
	if (el0 && !(rights & NW_WALK_RIGHT_U))
		return true;
	return type == NW_ACCESS_WRITE && !(rights & NW_WALK_RIGHT_W);
}

/* D8.4.2 (FEAT_PAN): with PSTATE.PAN set, a privileged data access (not an
 * LDTR/STTR, not a fetch) to memory EL0 may access faults. */
static inline bool nw_a64_pan_blocks(const struct nw_arm64_cpu *cpu, const struct nw_access *access,
				     uint32_t rights)
{
	return cpu->pan && !nw_a64_is_el0_checked(cpu, access) && access->type != NW_ACCESS_FETCH &&
	       (rights & NW_WALK_RIGHT_U);
}

/* AArch64.S1CheckPermissions: the access to a translation with these rights is a Permission fault. */
static inline bool nw_a64_rights_block(const struct nw_arm64_cpu *cpu, const struct nw_access *access,
				       uint32_t rights)
{
	bool el0 = nw_a64_is_el0_checked(cpu, access);

	return nw_a64_ap_blocks(el0, access->type, rights) || nw_a64_pan_blocks(cpu, access, rights) ||
	       nw_a64_xn_blocks(el0, access->type, rights) || nw_a64_wxn_blocks(&cpu->s1, el0, access->type, rights) ||
	       nw_a64_el0_writable_blocks_el1_fetch(el0, access->type, rights);
}

/* D8.5.2: a leaf's AttrIndx[2:0] selects the attribute byte of MAIR_EL1. */
static inline unsigned nw_a64_attr_index(uint64_t leaf)
{
	return (unsigned)((leaf & NW_ARM64_S1_ATTRINDX_MASK) >> NW_ARM64_S1_ATTRINDX_SHIFT);
}

/* D8.4.5 (AArch64.S1Walk): a leaf with AF clear is an Access flag fault
 * unless the hardware manages the flag (TCR_EL1.HA). */
static inline bool nw_a64_af_faults(const struct nw_arm64_s1 *s1, uint64_t leaf)
{
	return !(leaf & NW_ARM64_S1_AF) && !s1->ha;
}

#endif
