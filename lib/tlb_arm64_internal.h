/* Shared between the AArch64 TLB model's lookup/insert half and its TLBI half. */
#ifndef NESTWALK_TLB_ARM64_INTERNAL_H
#define NESTWALK_TLB_ARM64_INTERNAL_H

#include <nestwalk/tlb_arm64.h>

#define A64TLB_KIND(kind) (1u << (kind))
#define A64TLB_S1_LEAVES (A64TLB_KIND(NW_A64TLB_S1) | A64TLB_KIND(NW_A64TLB_S12))
/* Stage-1 entries belong to an ASID (TTBRn_EL1.ASID); stage-2 ones only to a VMID (D8.13). */
#define A64TLB_S1_ALL_LEVELS (A64TLB_S1_LEAVES | A64TLB_KIND(NW_A64TLB_S1_WALK))
#define A64TLB_S2_ALL_LEVELS (A64TLB_KIND(NW_A64TLB_S2) | A64TLB_KIND(NW_A64TLB_S2_WALK))
#define A64TLB_WALKS (A64TLB_KIND(NW_A64TLB_S1_WALK) | A64TLB_KIND(NW_A64TLB_S2_WALK))

#endif
