/* EPT table operations: expected entries and table counts are derived by hand
 * from the SDM's entry formats (Vol. 3C Tables 29-1..29-7): a GPA's PML4
 * index is bits 47:39, PDPT 38:30, PD 29:21, PT 20:12. */
#include <nestwalk/ept.h>

#include "fixture.h"

TestSuite(ept_map, .init = fixture_setup, .fini = fixture_teardown);

#define RWX (NW_EPT_R | NW_EPT_W | NW_EPT_X)
#define WB (UINT64_C(6) << 3)
#define WT (UINT64_C(4) << 3)
#define USER_BIT52 (UINT64_C(1) << 52)
#define TABLE_BITS UINT64_C(0x407) /* R|W|X|UX in every table-pointing entry */

static struct nw_ept_config config4(void)
{
	return (struct nw_ept_config){ .levels = 4, .memory_type = NW_EPT_MT_WB, .caps = nw_ept_caps_all() };
}

static uint64_t live(void)
{
	return nw_simmem_stats(sim).live;
}

/* The frames an EPT of this many tables, pts of them at level 1, holds: the
 * tables, and a count page for each table above level 1 (pt_engine.c, Live
 * counts). */
static uint64_t frames(uint64_t tables, uint64_t pts)
{
	return tables + (tables - pts);
}

static uint64_t entry_at(uint64_t table, unsigned index)
{
	const uint64_t *ptr = nw_hal_phys_to_virt(hal, nw_hpa(table));

	return ptr[index];
}

static void make(struct nw_ept *ept, int levels)
{
	struct nw_ept_config config = config4();

	config.levels = levels;
	cr_assert_eq(nw_ept_create(ept, hal, &config), NW_OK);
}

static void expect_leaf(const struct nw_ept *ept, uint64_t gpa, uint64_t hpa, int level, uint64_t entry)
{
	struct nw_s2_mapping m;

	cr_assert_eq(nw_ept_query(ept, nw_gpa(gpa), &m), NW_OK, "gpa 0x%llx not mapped", (unsigned long long)gpa);
	cr_assert_eq(m.hpa.val, hpa, "gpa 0x%llx -> 0x%llx, want 0x%llx", (unsigned long long)gpa,
		     (unsigned long long)m.hpa.val, (unsigned long long)hpa);
	cr_assert_eq(m.level, level, "gpa 0x%llx level %d, want %d", (unsigned long long)gpa, m.level, level);
	cr_assert_eq(m.entry, entry, "gpa 0x%llx entry 0x%llx, want 0x%llx", (unsigned long long)gpa,
		     (unsigned long long)m.entry, (unsigned long long)entry);
}

static void expect_unmapped(const struct nw_ept *ept, uint64_t gpa)
{
	struct nw_s2_mapping m;

	cr_assert_eq(nw_ept_query(ept, nw_gpa(gpa), &m), NW_ERR_NOT_FOUND, "gpa 0x%llx still mapped",
		     (unsigned long long)gpa);
}

Test(ept_map, create_allocates_only_the_pml4_and_destroy_frees_it)
{
	struct nw_ept ept;

	make(&ept, 4);
	cr_assert_eq(live(), frames(1, 0));
	cr_assert_eq(nw_ept_table_count(&ept), 1);
	nw_ept_destroy(&ept);
	cr_assert_eq(live(), 0);
}

Test(ept_map, map_4k_builds_the_path_with_hand_computed_entries)
{
	struct nw_ept ept;
	bool invept = false;
	uint64_t pml4 , pdpt, pd, pt;

	make(&ept, 4);
	pml4 = nw_ept_root(&ept).val;
	cr_assert_eq(nw_ept_map(&ept, nw_gpa(0x40201000), nw_hpa(0x7000), NW_PAGE_SIZE, RWX | WB, 0, &invept), NW_OK);
	cr_assert_not(invept, "a pure addition needs no INVEPT");
	cr_assert_eq(live(), frames(4, 1), "PML4, PDPT, PD, PT");
	/* 0x40201000: PML4 index 0, PDPT index 1, PD index 1, PT index 1. */
	cr_assert_eq(entry_at(pml4, 0) & 0xfff, TABLE_BITS);
	pdpt = entry_at(pml4, 0) & NW_EPT_ADDR_MASK;
	cr_assert_eq(entry_at(pdpt, 0), 0);
	cr_assert_eq(entry_at(pdpt, 1) & 0xfff, TABLE_BITS);
	pd = entry_at(pdpt, 1) & NW_EPT_ADDR_MASK;
	cr_assert_eq(entry_at(pd, 1) & 0xfff, TABLE_BITS);
	pt = entry_at(pd, 1) & NW_EPT_ADDR_MASK;
	cr_assert_eq(entry_at(pt, 1), UINT64_C(0x7037));
	cr_assert_eq(entry_at(pt, 0), 0);
	expect_leaf(&ept, 0x40201abc, 0x7abc, 1, 0x7037);
	expect_unmapped(&ept, 0x40200000);
	nw_ept_destroy(&ept);
}

Test(ept_map, map_2m_and_1g_set_ps_and_use_fewer_tables)
{
	struct nw_ept ept;

	make(&ept, 4);
	cr_assert_eq(nw_ept_map(&ept, nw_gpa(0x200000), nw_hpa(0x40000000), NW_SIZE_2M, RWX | WB, 0, 0), NW_OK);
	cr_assert_eq(live(), frames(3, 0), "PML4, PDPT, PD");
	expect_leaf(&ept, 0x212345, 0x40012345, 2, 0x400000b7);
	cr_assert_eq(nw_ept_map(&ept, nw_gpa(0x80000000), nw_hpa(0xc0000000), NW_SIZE_1G, NW_EPT_R | WB, 0, 0), NW_OK);
	cr_assert_eq(live(), frames(3, 0), "a 1 GiB leaf lives in the existing PDPT");
	expect_leaf(&ept, 0xbfffffff, 0xffffffff, 3, 0xc00000b1);
	nw_ept_destroy(&ept);
}

Test(ept_map, map_region_picks_the_largest_page_alignment_and_size_allow)
{
	struct nw_ept ept;
	uint64_t start = 0x3fdff000, end = 0x80201000;

	make(&ept, 4);
	cr_assert_eq(nw_ept_map_region(&ept, nw_gpa(start), nw_hpa(start), end - start, RWX | WB, 0), NW_OK);
	expect_leaf(&ept, 0x3fdff000, 0x3fdff000, 1, 0x3fdff037);
	expect_leaf(&ept, 0x3fe00000, 0x3fe00000, 2, 0x3fe000b7);
	expect_leaf(&ept, 0x40000000, 0x40000000, 3, 0x400000b7);
	expect_leaf(&ept, 0x80000000, 0x80000000, 2, 0x800000b7);
	expect_leaf(&ept, 0x80200000, 0x80200000, 1, 0x80200037);
	expect_unmapped(&ept, 0x3fdfe000);
	expect_unmapped(&ept, 0x80201000);
	/* PML4, PDPT, PD[0] + PT under it, PD[2] + PT under it. */
	cr_assert_eq(nw_ept_table_count(&ept), 6);
	cr_assert_eq(live(), frames(6, 2));
	nw_ept_destroy(&ept);
}

Test(ept_map, map_region_with_mismatched_alignment_uses_4k_pages)
{
	struct nw_ept ept;

	make(&ept, 4);
	/* GPA 2 MiB-aligned but HPA only 4 KiB-aligned: every page is 4 KiB. */
	cr_assert_eq(nw_ept_map_region(&ept, nw_gpa(0x200000), nw_hpa(0x1001000), NW_SIZE_2M, RWX | WB, 0), NW_OK);
	expect_leaf(&ept, 0x200000, 0x1001000, 1, 0x1001037);
	expect_leaf(&ept, 0x3ff000, 0x1200000, 1, 0x1200037);
	cr_assert_eq(live(), frames(4, 1));
	nw_ept_destroy(&ept);
}

Test(ept_map, map_region_without_1g_support_uses_2m_pages)
{
	struct nw_ept ept;
	struct nw_ept_config config = config4();

	config.caps.pages_1g = false;
	cr_assert_eq(nw_ept_create(&ept, hal, &config), NW_OK);
	cr_assert_eq(nw_ept_map_region(&ept, nw_gpa(0x40000000), nw_hpa(0x40000000), NW_SIZE_1G, RWX | WB, 0), NW_OK);
	expect_leaf(&ept, 0x40000000, 0x40000000, 2, 0x400000b7);
	expect_leaf(&ept, 0x7fe00000, 0x7fe00000, 2, 0x7fe000b7);
	cr_assert_eq(live(), frames(3, 0));
	cr_assert_eq(nw_ept_map(&ept, nw_gpa(0x80000000), nw_hpa(0), NW_SIZE_1G, RWX | WB, 0, 0), NW_ERR_UNSUPPORTED);
	nw_ept_destroy(&ept);
}

/* A large page's attributes, including bits the user set that EPT ignores. */
#define ATTRS (NW_EPT_R | NW_EPT_W | NW_EPT_X | WT | NW_EPT_IPAT | NW_EPT_SVE | USER_BIT52 | NW_EPT_UX)

Test(ept_map, map_4k_inside_2m_splits_keeping_every_attribute)
{
	struct nw_ept ept;
	bool invept = false;

	make(&ept, 4);
	cr_assert_eq(nw_ept_map(&ept, nw_gpa(0x200000), nw_hpa(0x40000000), NW_SIZE_2M, ATTRS, 0, 0), NW_OK);
	cr_assert_eq(nw_ept_map(&ept, nw_gpa(0x203000), nw_hpa(0x9000), NW_PAGE_SIZE, NW_EPT_R | WB, 0, &invept),
		     NW_ERR_EXISTS, "without REPLACE a mapped range is an overlap");
	cr_assert_not(invept);
	cr_assert_eq(nw_ept_map(&ept, nw_gpa(0x203000), nw_hpa(0x9000), NW_PAGE_SIZE, NW_EPT_R | WB,
				NW_PT_MAP_REPLACE, &invept),
		     NW_OK);
	cr_assert(invept, "the 2 MiB translation is stale");
	cr_assert_eq(live(), frames(4, 1));
	expect_leaf(&ept, 0x200000, 0x40000000, 1, 0x40000000 | ATTRS);
	expect_leaf(&ept, 0x202000, 0x40002000, 1, 0x40002000 | ATTRS);
	expect_leaf(&ept, 0x203000, 0x9000, 1, 0x9031);
	expect_leaf(&ept, 0x3ff000, 0x401ff000, 1, 0x401ff000 | ATTRS);
	nw_ept_destroy(&ept);
}

Test(ept_map, map_4k_inside_1g_splits_twice)
{
	struct nw_ept ept;

	make(&ept, 4);
	cr_assert_eq(nw_ept_map(&ept, nw_gpa(0x40000000), nw_hpa(0x80000000), NW_SIZE_1G, ATTRS, 0, 0), NW_OK);
	cr_assert_eq(live(), frames(2, 0));
	cr_assert_eq(nw_ept_map(&ept, nw_gpa(0x40201000), nw_hpa(0x5000), NW_PAGE_SIZE, RWX | WB, NW_PT_MAP_REPLACE, 0),
		     NW_OK);
	cr_assert_eq(live(), frames(4, 1), "a PD and one PT");
	expect_leaf(&ept, 0x40000000, 0x80000000, 2, 0x80000000 | ATTRS | NW_EPT_PS);
	expect_leaf(&ept, 0x40200000, 0x80200000, 1, 0x80200000 | ATTRS);
	expect_leaf(&ept, 0x40201000, 0x5000, 1, 0x5037);
	expect_leaf(&ept, 0x40202000, 0x80202000, 1, 0x80202000 | ATTRS);
	expect_leaf(&ept, 0x7fe00000, 0xbfe00000, 2, 0xbfe00000 | ATTRS | NW_EPT_PS);
	nw_ept_destroy(&ept);
}

Test(ept_map, map_2m_inside_1g_splits_once)
{
	struct nw_ept ept;

	make(&ept, 4);
	cr_assert_eq(nw_ept_map(&ept, nw_gpa(0x40000000), nw_hpa(0x80000000), NW_SIZE_1G, ATTRS, 0, 0), NW_OK);
	cr_assert_eq(nw_ept_map(&ept, nw_gpa(0x40200000), nw_hpa(0x200000), NW_SIZE_2M, NW_EPT_R | WB,
				NW_PT_MAP_REPLACE, 0),
		     NW_OK);
	cr_assert_eq(live(), frames(3, 0));
	expect_leaf(&ept, 0x40000000, 0x80000000, 2, 0x80000000 | ATTRS | NW_EPT_PS);
	expect_leaf(&ept, 0x40300000, 0x300000, 2, 0x2000b1);
	expect_leaf(&ept, 0x40400000, 0x80400000, 2, 0x80400000 | ATTRS | NW_EPT_PS);
	nw_ept_destroy(&ept);
}

Test(ept_map, replace_a_large_page_over_smaller_ones_frees_their_table)
{
	struct nw_ept ept;

	make(&ept, 4);
	cr_assert_eq(nw_ept_map(&ept, nw_gpa(0x201000), nw_hpa(0x5000), NW_PAGE_SIZE, RWX | WB, 0, 0), NW_OK);
	cr_assert_eq(live(), frames(4, 1));
	cr_assert_eq(nw_ept_map(&ept, nw_gpa(0x200000), nw_hpa(0x400000), NW_SIZE_2M, RWX | WB, 0, 0), NW_ERR_EXISTS);
	cr_assert_eq(nw_ept_map(&ept, nw_gpa(0x200000), nw_hpa(0x400000), NW_SIZE_2M, RWX | WB, NW_PT_MAP_REPLACE, 0),
		     NW_OK);
	cr_assert_eq(live(), frames(3, 0), "the PT went with the 4 KiB page");
	expect_leaf(&ept, 0x201000, 0x401000, 2, 0x4000b7);
	nw_ept_destroy(&ept);
}

Test(ept_map, partial_unmap_of_2m_splits_and_keeps_the_rest)
{
	struct nw_ept ept;
	bool invept = false;

	make(&ept, 4);
	cr_assert_eq(nw_ept_map(&ept, nw_gpa(0x200000), nw_hpa(0x40000000), NW_SIZE_2M, ATTRS, 0, 0), NW_OK);
	cr_assert_eq(nw_ept_unmap(&ept, nw_gpa(0x205000), 0x2000, &invept), NW_OK);
	cr_assert(invept);
	expect_leaf(&ept, 0x204000, 0x40004000, 1, 0x40004000 | ATTRS);
	expect_unmapped(&ept, 0x205000);
	expect_unmapped(&ept, 0x206000);
	expect_leaf(&ept, 0x207000, 0x40007000, 1, 0x40007000 | ATTRS);
	cr_assert_eq(live(), frames(4, 1));
	nw_ept_destroy(&ept);
}

Test(ept_map, partial_unmap_of_1g_splits_down_to_4k_only_where_needed)
{
	struct nw_ept ept;

	make(&ept, 4);
	cr_assert_eq(nw_ept_map(&ept, nw_gpa(0x40000000), nw_hpa(0x80000000), NW_SIZE_1G, ATTRS, 0, 0), NW_OK);
	cr_assert_eq(nw_ept_unmap(&ept, nw_gpa(0x40001000), NW_PAGE_SIZE, 0), NW_OK);
	cr_assert_eq(live(), frames(4, 1));
	expect_leaf(&ept, 0x40000000, 0x80000000, 1, 0x80000000 | ATTRS);
	expect_unmapped(&ept, 0x40001000);
	expect_leaf(&ept, 0x40002000, 0x80002000, 1, 0x80002000 | ATTRS);
	expect_leaf(&ept, 0x40200000, 0x80200000, 2, 0x80200000 | ATTRS | NW_EPT_PS);
	nw_ept_destroy(&ept);
}

Test(ept_map, unmap_of_a_whole_range_of_mixed_pages)
{
	struct nw_ept ept;
	uint64_t start = 0x3fdff000, end = 0x80201000;

	make(&ept, 4);
	cr_assert_eq(nw_ept_map_region(&ept, nw_gpa(start), nw_hpa(start), end - start, RWX | WB, 0), NW_OK);
	/* Cut the 1 GiB page's middle 2 MiB and the head 4 KiB. */
	cr_assert_eq(nw_ept_unmap(&ept, nw_gpa(0x3fdff000), NW_PAGE_SIZE, 0), NW_OK);
	cr_assert_eq(nw_ept_unmap(&ept, nw_gpa(0x40200000), NW_SIZE_2M, 0), NW_OK);
	expect_unmapped(&ept, 0x3fdff000);
	expect_leaf(&ept, 0x40000000, 0x40000000, 2, 0x400000b7);
	expect_unmapped(&ept, 0x40200000);
	expect_leaf(&ept, 0x40400000, 0x40400000, 2, 0x404000b7);
	/* PML4, PDPT, PD[0] (its PT emptied and freed), PD[1] from the split, PD[2] + PT. */
	cr_assert_eq(live(), frames(6, 1));
	cr_assert_eq(nw_ept_unmap(&ept, nw_gpa(start), end - start, 0), NW_OK);
	cr_assert_eq(live(), frames(1, 0), "only the PML4 is left");
	nw_ept_destroy(&ept);
}

/* The live counts follow every change: a map adds to its table's, an edit
 * that fills an empty PTE too, an unmap takes away; the last page's unmap
 * frees the tables (pt_engine.c, Live counts). 0x1000 and 0x2000 share the
 * PT of PML4[0], PDPT[0], PD[0] (SDM Vol. 3C Figure 29-1: bits 20:12 index
 * the PT). */
Test(ept_map, live_counts_follow_map_edit_and_unmap)
{
	struct nw_ept ept;
	unsigned count = 0;

	make(&ept, 4);
	cr_assert_eq(nw_pt_live_count(&ept.pt, 0x1000, NW_LEVEL_PML4, &count), NW_ERR_UNSUPPORTED, "the root's");
	cr_assert_eq(nw_pt_live_count(&ept.pt, 0x1000, NW_LEVEL_PT, &count), NW_ERR_NOT_FOUND, "no PT yet");
	cr_assert_eq(nw_ept_map(&ept, nw_gpa(0x1000), nw_hpa(0x5000), NW_PAGE_SIZE, RWX | WB, 0, 0), NW_OK);
	for (int level = NW_LEVEL_PT; level < NW_LEVEL_PML4; level++) {
		cr_assert_eq(nw_pt_live_count(&ept.pt, 0x1000, level, &count), NW_OK);
		cr_assert_eq(count, 1, "level %d: one entry on the path", level);
	}
	cr_assert_eq(nw_ept_edit(&ept, nw_gpa(0x2000), NW_LEVEL_PT, 0, 0x6000 | NW_EPT_R | WB, 0, 0), NW_OK);
	cr_assert_eq(nw_pt_live_count(&ept.pt, 0x1000, NW_LEVEL_PT, &count), NW_OK);
	cr_assert_eq(count, 2, "the edited PTE counts");
	cr_assert_eq(nw_ept_unmap(&ept, nw_gpa(0x1000), NW_PAGE_SIZE, 0), NW_OK);
	cr_assert_eq(nw_pt_live_count(&ept.pt, 0x2000, NW_LEVEL_PT, &count), NW_OK);
	cr_assert_eq(count, 1);
	cr_assert_eq(live(), frames(4, 1), "the PT still holds the edited page");
	cr_assert_eq(nw_ept_unmap(&ept, nw_gpa(0x2000), NW_PAGE_SIZE, 0), NW_OK);
	cr_assert_eq(live(), frames(1, 0), "the last page gone, PT, PD and PDPT are freed");
	nw_ept_destroy(&ept);
}

Test(ept_map, empty_tables_are_freed_level_by_level)
{
	struct nw_ept ept;
	bool invept = false;

	make(&ept, 4);
	cr_assert_eq(nw_ept_map(&ept, nw_gpa(0x1000), nw_hpa(0x5000), NW_PAGE_SIZE, RWX | WB, 0, 0), NW_OK);
	cr_assert_eq(nw_ept_map(&ept, nw_gpa(0x40000000), nw_hpa(0x6000), NW_PAGE_SIZE, RWX | WB, 0, 0), NW_OK);
	cr_assert_eq(live(), frames(6, 2), "PML4, PDPT, two PDs, two PTs");
	cr_assert_eq(nw_ept_unmap(&ept, nw_gpa(0x40000000), NW_PAGE_SIZE, &invept), NW_OK);
	cr_assert(invept);
	cr_assert_eq(live(), frames(4, 1));
	cr_assert_eq(nw_ept_unmap(&ept, nw_gpa(0x1000), NW_PAGE_SIZE, 0), NW_OK);
	cr_assert_eq(live(), frames(1, 0));
	cr_assert_eq(entry_at(nw_ept_root(&ept).val, 0), 0);
	invept = false;
	cr_assert_eq(nw_ept_unmap(&ept, nw_gpa(0x1000), NW_PAGE_SIZE, &invept), NW_OK, "unmapping a hole is fine");
	cr_assert_not(invept, "nothing changed");
	nw_ept_destroy(&ept);
}

Test(ept_map, protect_part_of_2m_and_1g_splits_and_keeps_attributes)
{
	struct nw_ept ept;
	bool invept = false;
	uint64_t other = ATTRS & ~NW_EPT_RIGHTS;

	make(&ept, 4);
	cr_assert_eq(nw_ept_map(&ept, nw_gpa(0x200000), nw_hpa(0x40000000), NW_SIZE_2M, ATTRS, 0, 0), NW_OK);
	cr_assert_eq(nw_ept_map(&ept, nw_gpa(0x40000000), nw_hpa(0x80000000), NW_SIZE_1G, ATTRS, 0, 0), NW_OK);
	cr_assert_eq(nw_ept_protect(&ept, nw_gpa(0x201000), NW_PAGE_SIZE, NW_EPT_R, &invept), NW_OK);
	cr_assert(invept);
	expect_leaf(&ept, 0x200000, 0x40000000, 1, 0x40000000 | ATTRS);
	expect_leaf(&ept, 0x201000, 0x40001000, 1, 0x40001000 | other | NW_EPT_R);
	cr_assert_eq(nw_ept_protect(&ept, nw_gpa(0x40400000), NW_SIZE_2M, NW_EPT_R | NW_EPT_X, 0), NW_OK);
	expect_leaf(&ept, 0x40200000, 0x80200000, 2, 0x80200000 | ATTRS | NW_EPT_PS);
	expect_leaf(&ept, 0x40400000, 0x80400000, 2, 0x80400000 | other | NW_EPT_R | NW_EPT_X | NW_EPT_PS);
	cr_assert_eq(live(), frames(5, 1), "PML4, PDPT, PD + PT for the 2 MiB split, PD for the 1 GiB split");
	nw_ept_destroy(&ept);
}

Test(ept_map, protect_a_whole_large_page_does_not_split)
{
	struct nw_ept ept;

	make(&ept, 4);
	cr_assert_eq(nw_ept_map(&ept, nw_gpa(0x200000), nw_hpa(0x40000000), NW_SIZE_2M, RWX | WB, 0, 0), NW_OK);
	cr_assert_eq(nw_ept_protect(&ept, nw_gpa(0x200000), NW_SIZE_2M, NW_EPT_R, 0), NW_OK);
	expect_leaf(&ept, 0x200000, 0x40000000, 2, 0x400000b1);
	cr_assert_eq(live(), frames(3, 0));
	nw_ept_destroy(&ept);
}

Test(ept_map, protect_needs_the_whole_range_mapped_and_valid_rights)
{
	struct nw_ept ept;
	bool invept = false;

	make(&ept, 4);
	cr_assert_eq(nw_ept_map(&ept, nw_gpa(0x200000), nw_hpa(0x40000000), NW_SIZE_2M, RWX | WB, 0, 0), NW_OK);
	cr_assert_eq(nw_ept_protect(&ept, nw_gpa(0x3ff000), 0x2000, NW_EPT_R, &invept), NW_ERR_NOT_FOUND);
	cr_assert_eq(nw_ept_protect(&ept, nw_gpa(0x200000), NW_PAGE_SIZE, 0, &invept), NW_ERR_INVALID);
	cr_assert_eq(nw_ept_protect(&ept, nw_gpa(0x200000), NW_PAGE_SIZE, NW_EPT_W, &invept), NW_ERR_INVALID,
		     "write without read");
	cr_assert_eq(nw_ept_protect(&ept, nw_gpa(0x200000), NW_PAGE_SIZE, NW_EPT_IPAT, &invept), NW_ERR_INVALID);
	cr_assert_not(invept);
	expect_leaf(&ept, 0x200000, 0x40000000, 2, 0x400000b7);
	cr_assert_eq(live(), frames(3, 0), "nothing was split");
	nw_ept_destroy(&ept);
}

Test(ept_map, overlap_misalignment_and_range_errors_change_nothing)
{
	struct nw_ept ept;
	struct nw_ept_config config = config4();

	config.caps.maxphyaddr = 39;
	cr_assert_eq(nw_ept_create(&ept, hal, &config), NW_OK);
	cr_assert_eq(nw_ept_map(&ept, nw_gpa(0x200000), nw_hpa(0x400000), NW_SIZE_2M, RWX | WB, 0, 0), NW_OK);
	cr_assert_eq(nw_ept_map(&ept, nw_gpa(0x3ff000), nw_hpa(0x1000), NW_PAGE_SIZE, RWX | WB, 0, 0), NW_ERR_EXISTS);
	cr_assert_eq(nw_ept_map(&ept, nw_gpa(0), nw_hpa(0), NW_SIZE_1G, RWX | WB, 0, 0), NW_ERR_EXISTS);
	cr_assert_eq(nw_ept_map_region(&ept, nw_gpa(0x1ff000), nw_hpa(0x1000), 0x2000, RWX | WB, 0), NW_ERR_EXISTS);
	cr_assert_eq(nw_ept_map(&ept, nw_gpa(0x1001), nw_hpa(0x1000), NW_PAGE_SIZE, RWX | WB, 0, 0), NW_ERR_ALIGN);
	cr_assert_eq(nw_ept_map(&ept, nw_gpa(0x1000), nw_hpa(0x1800), NW_PAGE_SIZE, RWX | WB, 0, 0), NW_ERR_ALIGN);
	cr_assert_eq(nw_ept_map(&ept, nw_gpa(0x601000), nw_hpa(0x600000), NW_SIZE_2M, RWX | WB, 0, 0), NW_ERR_ALIGN);
	cr_assert_eq(nw_ept_map(&ept, nw_gpa(0x600000), nw_hpa(0x601000), NW_SIZE_2M, RWX | WB, 0, 0), NW_ERR_ALIGN);
	cr_assert_eq(nw_ept_map_region(&ept, nw_gpa(0x1000), nw_hpa(0x1000), 0x1800, RWX | WB, 0), NW_ERR_ALIGN);
	cr_assert_eq(nw_ept_unmap(&ept, nw_gpa(0x200800), NW_PAGE_SIZE, 0), NW_ERR_ALIGN);
	cr_assert_eq(nw_ept_map(&ept, nw_gpa(UINT64_C(1) << 48), nw_hpa(0x1000), NW_PAGE_SIZE, RWX | WB, 0, 0),
		     NW_ERR_RANGE, "4-level EPT covers 48 bits of GPA");
	cr_assert_eq(nw_ept_map(&ept, nw_gpa(0x1000), nw_hpa(UINT64_C(1) << 39), NW_PAGE_SIZE, RWX | WB, 0, 0),
		     NW_ERR_RANGE, "HPA at MAXPHYADDR");
	cr_assert_eq(nw_ept_map_region(&ept, nw_gpa(0x1000), nw_hpa((UINT64_C(1) << 39) - 0x1000), 0x2000, RWX | WB, 0),
		     NW_ERR_RANGE);
	cr_assert_eq(nw_ept_unmap(&ept, nw_gpa((UINT64_C(1) << 48) - 0x1000), 0x2000, 0), NW_ERR_RANGE);
	cr_assert_eq(nw_ept_map(&ept, nw_gpa(0x1000), nw_hpa(0x1000), 0x2000, RWX | WB, 0, 0), NW_ERR_INVALID);
	cr_assert_eq(nw_ept_map(&ept, nw_gpa(0x1000), nw_hpa(0x1000), NW_PAGE_SIZE, NW_EPT_W | WB, 0, 0),
		     NW_ERR_INVALID, "write without read would be a misconfiguration");
	cr_assert_eq(nw_ept_map(&ept, nw_gpa(0x1000), nw_hpa(0x1000), NW_PAGE_SIZE, RWX | (UINT64_C(2) << 3), 0, 0),
		     NW_ERR_INVALID, "memory type 2 is reserved");
	cr_assert_eq(nw_ept_map(&ept, nw_gpa(0x1000), nw_hpa(0x1000), NW_PAGE_SIZE, RWX | WB | NW_EPT_PS, 0, 0),
		     NW_ERR_INVALID, "PS is the engine's");
	cr_assert_eq(nw_ept_map(&ept, nw_gpa(0x1000), nw_hpa(0x1000), NW_PAGE_SIZE, RWX | WB | 0x5000, 0, 0),
		     NW_ERR_INVALID, "address bits are not flags");
	cr_assert_eq(nw_ept_map(&ept, nw_gpa(0x1000), nw_hpa(0x1000), NW_PAGE_SIZE, WB, 0, 0), NW_ERR_INVALID,
		     "no rights: not present");
	cr_assert_eq(live(), frames(3, 0));
	expect_leaf(&ept, 0x200000, 0x400000, 2, 0x4000b7);
	expect_unmapped(&ept, 0x1000);
	nw_ept_destroy(&ept);
}

Test(ept_map, five_level_ept_covers_57_bits)
{
	struct nw_ept ept;
	uint64_t gpa = (UINT64_C(1) << 48) | 0x1000;

	make(&ept, 5);
	cr_assert_eq(nw_ept_map(&ept, nw_gpa(gpa), nw_hpa(0x2000), NW_PAGE_SIZE, RWX | WB, 0, 0), NW_OK);
	cr_assert_eq(live(), frames(5, 1));
	cr_assert_eq(entry_at(nw_ept_root(&ept).val, 1) & 0xfff, TABLE_BITS, "PML5 index 1 = GPA bit 48");
	expect_leaf(&ept, gpa, 0x2000, 1, 0x2037);
	cr_assert_eq(nw_ept_map(&ept, nw_gpa(UINT64_C(1) << 57), nw_hpa(0x2000), NW_PAGE_SIZE, RWX | WB, 0, 0),
		     NW_ERR_RANGE);
	nw_ept_destroy(&ept);
}

Test(ept_map, create_checks_the_configuration_against_the_cpu)
{
	struct nw_ept ept;
	struct nw_ept_config config = config4();

	config.levels = 3;
	cr_assert_eq(nw_ept_create(&ept, hal, &config), NW_ERR_INVALID);
	config = config4();
	config.memory_type = NW_EPT_MT_WT;
	cr_assert_eq(nw_ept_create(&ept, hal, &config), NW_ERR_INVALID, "the EPTP takes UC or WB only");
	config = config4();
	config.caps.maxphyaddr = 35;
	cr_assert_eq(nw_ept_create(&ept, hal, &config), NW_ERR_INVALID);
	config = config4();
	config.levels = 5;
	config.caps.five_level = false;
	cr_assert_eq(nw_ept_create(&ept, hal, &config), NW_ERR_UNSUPPORTED);
	config = config4();
	config.ad = true;
	config.caps.ad = false;
	cr_assert_eq(nw_ept_create(&ept, hal, &config), NW_ERR_UNSUPPORTED);
	config = config4();
	config.mbec = true;
	config.caps.mbec = false;
	cr_assert_eq(nw_ept_create(&ept, hal, &config), NW_ERR_UNSUPPORTED);
	cr_assert_eq(live(), 0);
}

Test(ept_map, edit_guards_the_table_structure)
{
	struct nw_ept ept;
	uint64_t old = 0;
	bool invept = false;

	make(&ept, 4);
	cr_assert_eq(nw_ept_map(&ept, nw_gpa(0x200000), nw_hpa(0x400000), NW_SIZE_2M, RWX | WB, 0, 0), NW_OK);
	cr_assert_eq(nw_ept_edit(&ept, nw_gpa(0x200000), 2, NW_EPT_PS, 0, &old, 0), NW_ERR_INVALID,
		     "a leaf may not become a table pointer");
	cr_assert_eq(nw_ept_edit(&ept, nw_gpa(0x200000), 3, NW_EPT_ADDR_MASK, 0, &old, 0), NW_ERR_INVALID,
		     "a table pointer keeps its table");
	cr_assert_eq(nw_ept_edit(&ept, nw_gpa(0x200000), 1, 0, NW_EPT_R, &old, 0), NW_ERR_NOT_FOUND,
		     "the path ends at the 2 MiB leaf");
	cr_assert_eq(nw_ept_edit(&ept, nw_gpa(0x40000000), 3, 0, NW_EPT_R, &old, 0), NW_ERR_NOT_FOUND);
	cr_assert_eq(nw_ept_edit(&ept, nw_gpa(0x200000), 2, ~NW_EPT_PS, 0, &old, 0) == NW_OK, true,
		     "clearing all but PS leaves a non-zero entry");
	cr_assert_eq(nw_ept_edit(&ept, nw_gpa(0x200000), 2, 0, 0x4000b7, &old, 0), NW_OK);
	cr_assert_eq(nw_ept_edit(&ept, nw_gpa(0x200000), 2, NW_EPT_ADDR_MASK | 0xfff, 0, &old, 0), NW_ERR_INVALID,
		     "PS would change");
	cr_assert_eq(nw_ept_map(&ept, nw_gpa(0x1000), nw_hpa(0x1000), NW_PAGE_SIZE, RWX | WB, 0, 0), NW_OK);
	cr_assert_eq(nw_ept_edit(&ept, nw_gpa(0x1000), 1, ~UINT64_C(0), 0, &old, 0), NW_ERR_INVALID,
		     "emptying an entry is an unmap");
	cr_assert_eq(nw_ept_edit(&ept, nw_gpa(0x200000), 2, NW_EPT_W, UINT64_C(1) << 12, &old, &invept), NW_OK);
	cr_assert(invept);
	cr_assert_eq(old, 0x4000b7);
	expect_leaf(&ept, 0x200000, 0x400000, 2, 0x4010b5);
	cr_assert_eq(nw_ept_edit(&ept, nw_gpa(0x200000), 4, 0, NW_EPT_PS, &old, 0), NW_OK,
		     "PS in a PML4E is a reserved bit, not structure");
	nw_ept_destroy(&ept);
}
