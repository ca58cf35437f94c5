/* Shared between the AArch64 TLB model's lookup/insert half and its TLBI half. */
#ifndef NESTWALK_TLB_ARM64_INTERNAL_H
#define NESTWALK_TLB_ARM64_INTERNAL_H

#include <nestwalk/tlb_arm64.h>

static inline bool nw_a64tlb_is_valid(const struct nw_a64tlb_entry *e)
{
	return e->stamp != 0;
}

/* Stage-1 entries belong to an ASID (TTBRn_EL1.ASID); stage-2 ones only to a VMID (D8.13). */
static inline bool nw_a64tlb_is_asid_tagged(unsigned kind)
{
	return kind == NW_A64TLB_S1 || kind == NW_A64TLB_S12 || kind == NW_A64TLB_S1_WALK;
}

#endif
