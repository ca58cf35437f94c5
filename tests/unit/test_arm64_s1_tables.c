/* AArch64 stage-1 tables built by the table engine (arm64_s1_tables.h), read
 * back descriptor by descriptor against values derived by hand from the Arm
 * ARM (D8.2 the index bits of each granule, D8.3 the descriptor formats and
 * the stage-1 attribute fields), then walked by the one guest walk. Levels in
 * the library's numbering (1 = the Arm level-3 page, Arm level n is library
 * level 4 - n). The tables live in HAL frames; without a stage 2 an IPA is
 * its host address, and with one the test maps each table's IPA. */
#include "arm64_world.h"

/* TCR_EL1 0x2_8019_0019: T0SZ = T1SZ = 25 (39-bit VAs, 3 levels of 9 bits from
 * Arm level 1), TG0 0b00 and TG1 0b10 4 KiB, IPS 0b010 40 bits. */
#define TCR_39 UINT64_C(0x280190019)
#define SCTLR_M UINT64_C(1)
#define DABT_EL1 UINT64_C(0x96000000) /* EC 0x25 << 26 | IL */
#define DABT_EL0 UINT64_C(0x92000000) /* EC 0x24 << 26 | IL */
#define WNR UINT64_C(0x40)
/* A normal leaf: AttrIndx 1, SH 0b11 Inner Shareable, AF. */
#define LEAF (nw_arm64_s1_attr_index(1) | UINT64_C(3) << NW_ARM64_S1_SH_SHIFT | NW_ARM64_S1_AF)

TestSuite(arm64_s1_tables, .init = a64_world_setup, .fini = a64_world_teardown);

/* The descriptor at index of the table at host address table. */
static uint64_t desc(uint64_t table, unsigned index)
{
	return ((const uint64_t *)nw_hal_phys_to_virt(hal, nw_hpa(table)))[index];
}

static void load(uint64_t tcr)
{
	a64_world_load(SCTLR_M, tcr, 0);
}

static struct nw_walk_result walk(uint64_t va, enum nw_access_type type, bool el0)
{
	return a64_world_walk(va, type, el0);
}

static void expect_ok(uint64_t va, enum nw_access_type type, bool el0, uint64_t ipa)
{
	struct nw_walk_result res = walk(va, type, el0);

	cr_assert_eq(res.outcome, NW_OUTCOME_OK, "outcome %s esr %#llx", nw_outcome_name(res.outcome),
		     (unsigned long long)res.esr);
	cr_assert_eq(res.gpa.val, ipa, "ipa %#llx", (unsigned long long)res.gpa.val);
}

static void expect_abort(uint64_t va, enum nw_access_type type, bool el0, uint64_t esr)
{
	struct nw_walk_result res = walk(va, type, el0);

	cr_assert_eq(res.outcome, NW_OUTCOME_STAGE1_ABORT, "outcome %s", nw_outcome_name(res.outcome));
	cr_assert_eq(res.esr, esr, "esr %#llx, want %#llx", (unsigned long long)res.esr, (unsigned long long)esr);
}

Test(arm64_s1_tables, a_page_descriptor_by_descriptor)
{
	struct nw_pt_leaf leaf;
	uint64_t l1, l2, l3;

	/* VA 0x4020_1000 in a 39-bit TTBR0 range: Arm level 1 index bits 38:30 = 1, level 2 bits 29:21 = 1, level 3
	 * bits 20:12 = 1. */
	a64_world_tables(0, 12, 39);
	cr_assert_eq(nw_arm64_s1_tables_map(&aw.range[0], UINT64_C(0x40201000), nw_gpa(0x12345000), NW_PAGE_SIZE,
					    LEAF | NW_ARM64_S1_NG | NW_ARM64_S1_UXN),
		     NW_OK);
	/* Table descriptors: next table's address | 0b11 (D8.3), no hierarchical controls. */
	l1 = aw.range[0].pt.root;
	l2 = desc(l1, 1);
	cr_assert_eq(l2 & 3, 3);
	cr_assert_eq(l2 & ~UINT64_C(0x0000fffffffff000), 3, "only the address and the type bits");
	l3 = desc(l2 & ~UINT64_C(3), 1);
	cr_assert_eq(l3 & 3, 3);
	/* The page descriptor: 0x12345000 | UXN (bit 54) | nG (bit 11) | AF (bit 10) | SH 0b11 (bits 9:8) | AttrIndx 1
	 * (bits 4:2 = 0x4) | 0b11 (a page at level 3) = 0x0040_0000_1234_5f07. */
	cr_assert_eq(desc(l3 & ~UINT64_C(3), 1), UINT64_C(0x0040000012345f07), "leaf %#llx",
		     (unsigned long long)desc(l3 & ~UINT64_C(3), 1));
	cr_assert_eq(nw_arm64_s1_tables_query(&aw.range[0], UINT64_C(0x40201000), &leaf), NW_OK);
	cr_assert_eq(leaf.level, 1);
	cr_assert_eq(leaf.pa_base, 0x12345000);
	cr_assert_eq(nw_pt_table_count(&aw.range[0].pt), 3);

	load(TCR_39);
	expect_ok(UINT64_C(0x40201abc), NW_ACCESS_WRITE, false, UINT64_C(0x12345abc));
	cr_assert_eq(walk(UINT64_C(0x40201abc), NW_ACCESS_READ, false).guest_pat_index, 1);
	/* AP[2:1] 0b00: no EL0 access: Permission fault at Arm level 3, EC 0x24, DFSC 0x0f. */
	expect_abort(UINT64_C(0x40201abc), NW_ACCESS_READ, true, DABT_EL0 | 0x0f);
}

Test(arm64_s1_tables, blocks_at_levels_1_and_2_in_the_ttbr1_half)
{
	uint64_t root;

	/* TTBR1 range of 39 bits: 0xffff_ff80_0000_0000 up; index bits are VA bits 38:0. */
	a64_world_tables(1, 12, 39);
	/* A 1 GiB block at VA 0xffff_ffc0_0000_0000 (bits 38:30 = 0x100) and a 2 MiB block at 0xffff_ff80_0020_0000
	 * (level-1 index 0, level-2 index 1). Block descriptors: address | attributes | 0b01. */
	cr_assert_eq(nw_arm64_s1_tables_map(&aw.range[1], UINT64_C(0xffffffc000000000), nw_gpa(0x80000000), NW_SIZE_1G,
					    LEAF),
		     NW_OK);
	cr_assert_eq(nw_arm64_s1_tables_map(&aw.range[1], UINT64_C(0xffffff8000200000), nw_gpa(0x40000000), NW_SIZE_2M,
					    LEAF | NW_ARM64_S1_AP2),
		     NW_OK);
	root = aw.range[1].pt.root;
	/* 0x8000_0000 | AF 0x400 | SH 0x300 | AttrIndx 1 0x4 | 0b01 = 0x8000_0705. */
	cr_assert_eq(desc(root, 0x100), UINT64_C(0x80000705));
	/* 0x4000_0000 | AP[2] 0x80 | 0x705 = 0x4000_0785, entry 1 of the level-2 table. */
	cr_assert_eq(desc(desc(root, 0) & ~UINT64_C(3), 1), UINT64_C(0x40000785));

	load(TCR_39);
	expect_ok(UINT64_C(0xffffffc012345678), NW_ACCESS_READ, false, UINT64_C(0x92345678));
	cr_assert_eq(walk(UINT64_C(0xffffffc012345678), NW_ACCESS_READ, false).leaf_level, 3);
	expect_ok(UINT64_C(0xffffff8000212345), NW_ACCESS_READ, false, UINT64_C(0x40012345));
	/* AP[2] set: an EL1 write is a Permission fault at Arm level 2: 0x96000000 | WnR | 0x0e. */
	expect_abort(UINT64_C(0xffffff8000212345), NW_ACCESS_WRITE, false, DABT_EL1 | WNR | 0x0e);
	/* Addresses outside the range are refused: bits 63:39 of a TTBR1 address must be all ones. */
	cr_assert_eq(nw_arm64_s1_tables_map(&aw.range[1], UINT64_C(0x40000000), nw_gpa(0), NW_PAGE_SIZE, LEAF),
		     NW_ERR_RANGE);
	cr_assert_eq(nw_arm64_s1_tables_map(&aw.range[1], UINT64_C(0xfffeff8000000000), nw_gpa(0), NW_PAGE_SIZE, LEAF),
		     NW_ERR_RANGE);
}

Test(arm64_s1_tables, protect_unmap_and_the_hierarchical_controls)
{
	uint64_t va = UINT64_C(0x40201000);

	a64_world_tables(0, 12, 39);
	cr_assert_eq(nw_arm64_s1_tables_map(&aw.range[0], va, nw_gpa(0x12345000), NW_PAGE_SIZE, LEAF | NW_ARM64_S1_AP1),
		     NW_OK);
	load(TCR_39);
	expect_ok(va, NW_ACCESS_WRITE, true, 0x12345000);
	/* Read-only at both levels (AP[2:1] 0b11): an EL0 write faults, Permission at Arm level 3: 0x92000000 | WnR |
	 * 0x0f. */
	cr_assert_eq(nw_arm64_s1_tables_protect(&aw.range[0], va, NW_PAGE_SIZE, NW_ARM64_S1_AP1 | NW_ARM64_S1_AP2), NW_OK);
	expect_abort(va, NW_ACCESS_WRITE, true, DABT_EL0 | WNR | 0x0f);
	expect_ok(va, NW_ACCESS_READ, true, 0x12345000);
	cr_assert_eq(nw_arm64_s1_tables_protect(&aw.range[0], va, NW_PAGE_SIZE, NW_ARM64_S1_AP1), NW_OK);
	/* APTable[0] (bit 61) on the Arm level-1 table descriptor (library level 3): no EL0 access below it; the
	 * fault is a Permission fault at the leaf's level (AArch64.S1CheckPermissions): 0x92000000 | 0x0f. */
	cr_assert_eq(nw_arm64_s1_tables_restrict(&aw.range[0], va, 3, NW_ARM64_S1_APTABLE0), NW_OK);
	cr_assert_eq(desc(aw.range[0].pt.root, 1) >> 61, 1);
	expect_abort(va, NW_ACCESS_READ, true, DABT_EL0 | 0x0f);
	expect_ok(va, NW_ACCESS_WRITE, false, 0x12345000);
	/* Replacing the controls: APTable[1] (bit 62) alone, writes refused at EL1 too: 0x96000000 | WnR | 0x0f. */
	cr_assert_eq(nw_arm64_s1_tables_restrict(&aw.range[0], va, 3, NW_ARM64_S1_APTABLE1), NW_OK);
	expect_abort(va, NW_ACCESS_WRITE, false, DABT_EL1 | WNR | 0x0f);
	expect_ok(va, NW_ACCESS_READ, true, 0x12345000);
	/* The leaf level has no table descriptor; a leaf flag is no control. */
	cr_assert_eq(nw_arm64_s1_tables_restrict(&aw.range[0], va, 1, NW_ARM64_S1_APTABLE1), NW_ERR_INVALID);
	cr_assert_eq(nw_arm64_s1_tables_restrict(&aw.range[0], va, 3, NW_ARM64_S1_AP2), NW_ERR_INVALID);
	/* Unmapped: the empty level-2 and level-3 tables go, the level-1 descriptor is invalid again: a Translation
	 * fault at Arm level 1, DFSC 0x05. */
	cr_assert_eq(nw_arm64_s1_tables_unmap(&aw.range[0], va, NW_PAGE_SIZE), NW_OK);
	cr_assert_eq(nw_pt_table_count(&aw.range[0].pt), 1);
	expect_abort(va, NW_ACCESS_READ, false, DABT_EL1 | 0x05);
	cr_assert_eq(nw_arm64_s1_tables_protect(&aw.range[0], va, NW_PAGE_SIZE, 0), NW_ERR_NOT_FOUND);
	cr_assert_eq(nw_arm64_s1_tables_restrict(&aw.range[0], va, 2, 0), NW_ERR_NOT_FOUND);
}

Test(arm64_s1_tables, refused_arguments)
{
	struct nw_arm64_s1_tables spare;

	/* TnSZ 16..39 only: 49 and 24 VA bits, a 8 KiB granule, a third range. */
	cr_assert_eq(nw_arm64_s1_tables_create(&spare, 0, 12, 49, nw_pt_mem_hal(hal)), NW_ERR_INVALID);
	cr_assert_eq(nw_arm64_s1_tables_create(&spare, 0, 12, 24, nw_pt_mem_hal(hal)), NW_ERR_INVALID);
	cr_assert_eq(nw_arm64_s1_tables_create(&spare, 0, 13, 39, nw_pt_mem_hal(hal)), NW_ERR_INVALID);
	cr_assert_eq(nw_arm64_s1_tables_create(&spare, 2, 12, 39, nw_pt_mem_hal(hal)), NW_ERR_INVALID);
	a64_world_tables(0, 12, 39);
	/* SH 0b01 is reserved (D8.6); bit 1 is the engine's; 8 KiB is no leaf size; 512 GiB is past Arm level 1's
	 * 1 GiB (no level-0 blocks). */
	cr_assert_eq(nw_arm64_s1_tables_map(&aw.range[0], 0, nw_gpa(0), NW_PAGE_SIZE, UINT64_C(1) << NW_ARM64_S1_SH_SHIFT),
		     NW_ERR_INVALID);
	cr_assert_eq(nw_arm64_s1_tables_map(&aw.range[0], 0, nw_gpa(0), NW_PAGE_SIZE, NW_ARM64_S1_TABLE), NW_ERR_INVALID);
	cr_assert_eq(nw_arm64_s1_tables_map(&aw.range[0], 0, nw_gpa(0), 2 * NW_PAGE_SIZE, LEAF), NW_ERR_INVALID);
	cr_assert_eq(nw_arm64_s1_tables_map(&aw.range[0], 0, nw_gpa(0), UINT64_C(1) << 39, LEAF), NW_ERR_INVALID);
	/* Bit 39 set: outside the 39-bit TTBR0 range. */
	cr_assert_eq(nw_arm64_s1_tables_map(&aw.range[0], UINT64_C(1) << 39, nw_gpa(0), NW_PAGE_SIZE, LEAF), NW_ERR_RANGE);
	cr_assert_eq(nw_arm64_s1_tables_protect(&aw.range[0], 0, NW_PAGE_SIZE, NW_ARM64_S1_AF), NW_ERR_INVALID);
	cr_assert_eq(nw_arm64_s1_tables_ttbr(&aw.range[0], 0x10000, &aw.regs.ttbr0), NW_ERR_RANGE);
	cr_assert_eq(nw_arm64_s1_tables_ttbr(&aw.range[0], 0xbeef, &aw.regs.ttbr0), NW_OK);
	cr_assert_eq(aw.regs.ttbr0, UINT64_C(0xbeef) << 48 | aw.range[0].pt.root);
}

Test(arm64_s1_tables, the_16k_and_64k_granules)
{
	/* 16 KiB granule, 36-bit TTBR0 range: stride 11, Arm level 3 bits 24:14, level 2 bits 35:25 (2048 entries,
	 * 32 MiB blocks); 36 - 14 = 22 = two levels, start at level 2. TCR_EL1: T0SZ 28 (0x1c), TG0 0b10
	 * (bits 15:14 = 0x8000), EPD1 (bit 23), IPS 0b010: 0x2_0080_801c. */
	a64_world_tables(0, 14, 36);
	cr_assert_eq(nw_pt_table_pages(&aw.range[0].format, NW_LEVEL_PT), 4, "a 16 KiB table is four pages");
	cr_assert_eq(nw_arm64_s1_tables_map(&aw.range[0], UINT64_C(0x2004000), nw_gpa(0x7654000), UINT64_C(1) << 14, LEAF),
		     NW_OK);
	cr_assert_eq(nw_arm64_s1_tables_map(&aw.range[0], UINT64_C(0x4000000), nw_gpa(0x8000000), UINT64_C(1) << 25, LEAF),
		     NW_OK);
	load(UINT64_C(0x20080801c));
	/* 0x200_4123: level-2 index 1 (bit 25), level-3 index 1 (bits 24:14 = 0x801 & 0x7ff), offset 0x123. */
	expect_ok(UINT64_C(0x2004123), NW_ACCESS_READ, false, UINT64_C(0x7654123));
	/* 0x500_1234 in the 32 MiB block at 0x400_0000 (level-2 index 2): 0x800_0000 + 0x100_1234. */
	expect_ok(UINT64_C(0x5001234), NW_ACCESS_READ, false, UINT64_C(0x9001234));
	nw_arm64_s1_tables_destroy(&aw.range[0]);
	aw.has_range[0] = false;

	/* 64 KiB granule, 42-bit range: stride 13, Arm level 3 bits 28:16, level 2 bits 41:29 (8192 entries, 512 MiB
	 * blocks). TCR_EL1: T0SZ 22 (0x16), TG0 0b01 (0x4000), EPD1, IPS 0b010: 0x2_0080_4016. */
	a64_world_tables(0, 16, 42);
	cr_assert_eq(nw_arm64_s1_tables_map(&aw.range[0], UINT64_C(0x20010000), nw_gpa(0x7650000), UINT64_C(1) << 16, LEAF),
		     NW_OK);
	load(UINT64_C(0x200804016));
	/* 0x2001_0123: level-2 index 1 (bit 29), level-3 index 1 (bits 28:16 = 0x2001 & 0x1fff), offset 0x123. */
	expect_ok(UINT64_C(0x20010123), NW_ACCESS_READ, false, UINT64_C(0x7650123));
	cr_assert_eq(walk(UINT64_C(0x20010123), NW_ACCESS_READ, false).guest_page_size, UINT64_C(1) << 16);
}
