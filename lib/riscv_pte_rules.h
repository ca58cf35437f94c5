/* The Sv39/Sv48/Sv57 PTE rules both RISC-V stages share (privileged spec,
 * "Virtual Address Translation Process"; G-stage PTEs have the same format,
 * "Guest Physical Address Translation"), each once as a named predicate,
 * and the level geometry both stages' formats are written with. The G-stage
 * table (riscv_gstage_rules.c) and the VS-stage walk (riscv_vs_walk.c)
 * apply them. Internal. */
#ifndef NESTWALK_LIB_RISCV_PTE_RULES_H
#define NESTWALK_LIB_RISCV_PTE_RULES_H

#include <nestwalk/level.h>
#include <nestwalk/pt_build.h>
#include <nestwalk/riscv_gstage.h>

#define NW_RV_ADDR_SHIFT (12 - NW_RV_PTE_PPN_SHIFT) /* the PPN at bit 10 holds address bits from 12 */

/* Spec step 6: a superpage's PPN bits below its size (ppn[i-1:0]) are zero; in entry bits. */
#define NW_RV_LEAF_PPN(shift) (NW_RV_PTE_PPN_MASK & ~((UINT64_C(1) << ((shift) - NW_RV_ADDR_SHIFT)) - 1))
/* Spec step 4: R or X makes an entry a leaf at any level. */
#define NW_RV_LEVEL(sh, n, nm) \
	{ .shift = (sh), .entries = (n), .leaf_ok = true, .leaf_addr_mask = NW_RV_LEAF_PPN(sh), \
	  .table_bits = NW_RV_PTE_V, .name = (nm) }
#define NW_RV_FORMAT(nm, topl) \
	.name = (nm), .entry_size = 8, .top = (topl), .table_addr_mask = NW_RV_PTE_PPN_MASK, \
	.addr_shift = NW_RV_ADDR_SHIFT, .ps_bit = NW_RV_PTE_R | NW_RV_PTE_X, .ps_in_attrs = true
/* The levels below the root, 512 entries each (the spec's i = 0 .. 3). */
#define NW_RV_L0 [NW_LEVEL_PT] = NW_RV_LEVEL(12, 512, "L0")
#define NW_RV_L1 [NW_LEVEL_PD] = NW_RV_LEVEL(21, 512, "L1")
#define NW_RV_L2 [NW_LEVEL_PDPT] = NW_RV_LEVEL(30, 512, "L2")
#define NW_RV_L3 [NW_LEVEL_PML4] = NW_RV_LEVEL(39, 512, "L3")

/* Bits 60:54 are reserved; PBMT without the PBMTE of its stage (Svpbmt)
 * and N without Svnapot too. */
static inline uint64_t nw_rv_pte_rsvd_bits(bool pbmte, bool svnapot)
{
	return NW_RV_PTE_RSVD | (pbmte ? 0 : NW_RV_PTE_PBMT_MASK) | (svnapot ? 0 : NW_RV_PTE_N);
}

/* Spec step 4: an entry with neither R nor X points to the next table. */
static inline bool nw_rv_pte_is_pointer(uint64_t entry)
{
	return !(entry & (NW_RV_PTE_R | NW_RV_PTE_X));
}

/* Spec step 2: V=0 is invalid; step 4: a pointer at level 0 has no table
 * below it (i < 0). W without R is valid but reserved (nw_rv_pte_has_w_without_r). */
static inline bool nw_rv_pte_is_present(int level, uint64_t entry)
{
	if (!(entry & NW_RV_PTE_V))
		return false;
	return level != NW_LEVEL_PT || (entry & NW_RV_PTE_RWX);
}

/* Spec step 2: R=0 with W=1 is a reserved encoding. */
static inline bool nw_rv_pte_has_w_without_r(uint64_t entry)
{
	return (entry & (NW_RV_PTE_R | NW_RV_PTE_W)) == NW_RV_PTE_W;
}

/* Spec "Sv32" PTE text, Svpbmt, Svnapot: in a non-leaf PTE the D, A and U
 * bits, PBMT and N are reserved. */
static inline bool nw_rv_pte_has_pointer_rsvd(uint64_t entry)
{
	return nw_rv_pte_is_pointer(entry) &&
	       (entry & (NW_RV_PTE_A | NW_RV_PTE_D | NW_RV_PTE_U | NW_RV_PTE_PBMT_MASK | NW_RV_PTE_N));
}

/* Svnapot: N is defined only in a level-0 leaf whose ppn[0][3:0] is 0b1000 (a 64 KiB page). */
static inline bool nw_rv_pte_has_bad_napot(int level, uint64_t entry)
{
	return (entry & NW_RV_PTE_N) && (level != NW_LEVEL_PT || ((entry >> NW_RV_PTE_PPN_SHIFT) & 0xf) != 0x8);
}

/* Svpbmt: PBMT 3 is reserved for future standard use. */
static inline bool nw_rv_pte_has_reserved_pbmt(uint64_t entry)
{
	return (entry & NW_RV_PTE_PBMT_MASK) == NW_RV_PTE_PBMT_MASK;
}

/* The cause for an instruction fetch, a load or a store/AMO: "any exception
 * is always reported for the original access type", whichever access
 * faulted (a PTE read or A/D write of either stage included). */
static inline uint64_t nw_rv_cause_of(enum nw_access_type type, uint64_t fetch, uint64_t load, uint64_t store)
{
	switch (type) {
	case NW_ACCESS_FETCH:
		return fetch;
	case NW_ACCESS_WRITE:
		return store;
	case NW_ACCESS_READ:
		break;
	}
	return load;
}

/* Svnapot: a NAPOT leaf maps 64 KiB. */
#define NW_RV_NAPOT_SHIFT 16

#endif
