/* The VMSAv8-64 stage-1 geometries the fast walker's plain copies are
 * instantiated for (walk_fast.c), as static data so a copy reads its shifts
 * and index widths as constants, as gpt_formats.h gives x86's: the 4 KiB
 * granule with 48-bit VAs (four levels, from Arm level 0) and 39-bit VAs
 * (three, from level 1). They are what nw_vmsa_format() builds for these
 * configurations (tests/unit/test_arm64_fast.c compares them). Internal. */
#ifndef NESTWALK_LIB_VMSA_FORMATS_H
#define NESTWALK_LIB_VMSA_FORMATS_H

#include <nestwalk/arm64_s1.h>
#include <nestwalk/pt_build.h>

#define VMSA_TABLE_BITS UINT64_C(3) /* bits 1:0 of a table descriptor */

#define VMSA_4K_LEVEL(sh, leaf, nm) \
	{ .shift = (sh), .entries = 512, .leaf_ok = (leaf), \
	  .leaf_addr_mask = (leaf) ? NW_ARM64_S1_ADDR_MASK & ~((UINT64_C(1) << (sh)) - 1) : 0, \
	  .table_bits = VMSA_TABLE_BITS, .name = (nm) }

#define VMSA_4K_LEVELS \
	[NW_LEVEL_PT] = VMSA_4K_LEVEL(12, true, "L3"), [NW_LEVEL_PD] = VMSA_4K_LEVEL(21, true, "L2"), \
	[NW_LEVEL_PDPT] = VMSA_4K_LEVEL(30, true, "L1")

static const struct nw_pt_format nw_vmsa_fmt_4k_48 = {
	.name = "AArch64 stage 1 (4 KiB, 48-bit)", .entry_size = 8, .top = NW_LEVEL_PML4,
	.table_addr_mask = NW_ARM64_S1_ADDR_MASK, .link_bit = NW_ARM64_S1_TABLE,
	.level = { VMSA_4K_LEVELS, [NW_LEVEL_PML4] = VMSA_4K_LEVEL(39, false, "L0") },
};

static const struct nw_pt_format nw_vmsa_fmt_4k_39 = {
	.name = "AArch64 stage 1 (4 KiB, 39-bit)", .entry_size = 8, .top = NW_LEVEL_PDPT,
	.table_addr_mask = NW_ARM64_S1_ADDR_MASK, .link_bit = NW_ARM64_S1_TABLE,
	.level = { VMSA_4K_LEVELS },
};

#endif
