/* x86 paging-structure entry bits (SDM Vol. 3A §4.3-4.5, Tables 4-4..4-20;
 * AMD APM Vol. 2 §5.3/§15.25 for nested page tables, which use this format).
 * uint64_t masks, no bitfields; 32-bit paging entries use the low 32 bits. */
#ifndef NESTWALK_X86_PTE_H
#define NESTWALK_X86_PTE_H

#include <stdint.h>

#include "cdefs.h"
#include "level.h"

NW_BEGIN_DECLS

#define NW_PTE_P (UINT64_C(1) << 0)      /* present */
#define NW_PTE_RW (UINT64_C(1) << 1)     /* writable */
#define NW_PTE_US (UINT64_C(1) << 2)     /* user-mode accessible */
#define NW_PTE_PWT (UINT64_C(1) << 3)
#define NW_PTE_PCD (UINT64_C(1) << 4)
#define NW_PTE_A (UINT64_C(1) << 5)      /* accessed */
#define NW_PTE_D (UINT64_C(1) << 6)      /* dirty (leaf only) */
#define NW_PTE_PS (UINT64_C(1) << 7)     /* page size (non-PT levels); PAT in a 4 KiB PTE */
#define NW_PTE_PAT_4K (UINT64_C(1) << 7)
#define NW_PTE_G (UINT64_C(1) << 8)      /* global (leaf only) */
#define NW_PTE_PAT_LARGE (UINT64_C(1) << 12) /* PAT in a 2 MiB/4 MiB/1 GiB leaf */
#define NW_PTE_PK_SHIFT 59               /* protection key, bits 62:59 (4-/5-level leaves) */
#define NW_PTE_PK_MASK (UINT64_C(0xf) << NW_PTE_PK_SHIFT)
#define NW_PTE_XD (UINT64_C(1) << 63)    /* execute-disable (PAE, 4-/5-level with EFER.NXE) */

/* Physical-address field of a 64-bit entry before MAXPHYADDR is applied:
 * bits 51:12. Large leaves use bits 51:21 (2 MiB) or 51:30 (1 GiB). */
#define NW_PTE_ADDR_MASK UINT64_C(0x000ffffffffff000)

/* 32-bit paging with PSE-36 (Table 4-4): a 4 MiB PDE carries physical
 * address bits 39:32 in its bits 20:13 and bits 31:22 in place. */
#define NW_PDE32_4M_ADDR_LOW_MASK UINT64_C(0xffc00000)
#define NW_PDE32_4M_ADDR_HIGH_SHIFT 13
#define NW_PDE32_4M_ADDR_HIGH_MASK (UINT64_C(0xff) << NW_PDE32_4M_ADDR_HIGH_SHIFT)

NW_STATIC_ASSERT((NW_PTE_ADDR_MASK & (NW_PTE_P | NW_PTE_RW | NW_PTE_US | NW_PTE_PWT | NW_PTE_PCD | NW_PTE_A | NW_PTE_D |
				    NW_PTE_PS | NW_PTE_G | NW_PTE_PK_MASK | NW_PTE_XD)) == 0,
	       "address field overlaps a flag");
NW_STATIC_ASSERT((NW_PTE_PK_MASK & NW_PTE_XD) == 0, "protection key overlaps XD");

/* The protection key of a 4-/5-level leaf, bits 62:59 (§4.6.2). */
static inline unsigned nw_pte_pk(uint64_t leaf)
{
	return (unsigned)((leaf & NW_PTE_PK_MASK) >> NW_PTE_PK_SHIFT);
}

/* PAT:PCD:PWT of a leaf, its PAT entry (§11.12.3): PAT is bit 7 of a PTE, bit 12 of a larger leaf. */
static inline unsigned nw_pte_pat_index(uint64_t leaf, int level)
{
	uint64_t pat = level == NW_LEVEL_PT ? NW_PTE_PAT_4K : NW_PTE_PAT_LARGE;

	return ((leaf & pat) ? 4u : 0u) | (unsigned)((leaf >> 3) & 3);
}
NW_STATIC_ASSERT(NW_PTE_PWT == UINT64_C(1) << 3 && NW_PTE_PCD == UINT64_C(1) << 4, "PCD:PWT are bits 4:3");

NW_END_DECLS

#endif
