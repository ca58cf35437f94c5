/* What the RISC-V unit tests share: short names for the Sv39 PTE bits (privileged spec, "Sv39 page table entry"
 * figure; G-stage PTEs alike) and the two-dimensional layout test_riscv_vs.c and test_riscv_pmp.c walk: an Sv39
 * VS-stage whose tables and data page lie at fixed guest-physical addresses, each behind its own G-stage leaf. A
 * PTE holds PPN = address >> 12 in bits 53:10, so an address A appears in an entry as A >> 2. */
#ifndef NESTWALK_TESTS_RISCV_LAYOUT_H
#define NESTWALK_TESTS_RISCV_LAYOUT_H

#include <nestwalk/riscv_gstage.h>

#define V NW_RV_PTE_V
#define R NW_RV_PTE_R
#define W NW_RV_PTE_W
#define X NW_RV_PTE_X
#define U NW_RV_PTE_U
#define A NW_RV_PTE_A
#define D NW_RV_PTE_D

#define GALL (R | W | X | U | A | D) /* a G-stage leaf every access passes (G-stage accesses are U-mode) */

/* vsatp 0x8000_0000_0008_0000: MODE 8 (Sv39), ASID 0, PPN 0x80000: root GPA 0x8000_0000. */
#define VSATP_SV39 UINT64_C(0x8000000000080000)
/* GVA 0x4020_1123: vpn[2] (bits 38:30) 1, vpn[1] (29:21) 0x201 & 0x1ff = 1, vpn[0] (20:12) 0x40201 & 0x1ff = 1,
 * offset 0x123. */
#define VA UINT64_C(0x40201123)
/* The VS-stage tables and the data page in guest-physical memory. */
#define ROOT_GPA UINT64_C(0x80000000)
#define L1_GPA UINT64_C(0x80001000)
#define L0_GPA UINT64_C(0x80002000)
#define DATA_GPA UINT64_C(0x80100000)
/* The PTEs: root[1] -> L1 (0x8000_1000 >> 2 = 0x2000_0400, | V), L1[1] -> L0 (0x2000_0800 | V), and the leaf
 * L0[1] -> the data page (0x8010_0000 >> 2 = 0x2004_0000) with the bits of each test. */
#define ROOT_PTE UINT64_C(0x20000401)
#define L1_PTE UINT64_C(0x20000801)
#define LEAF(bits) (UINT64_C(0x20040000) | V | (bits))

#endif
