/* Failure atomicity: an allocation failure injected at every allocation point
 * of map, map_region, split, unmap and protect leaves every entry of every
 * table exactly as before the call, and leaks no frame. */
#include <stdlib.h>

#include <nestwalk/ept.h>
#include <nestwalk/npt.h>

#include "fixture.h"
#include "pt_dump.h"

TestSuite(ept_fault, .init = fixture_setup, .fini = fixture_teardown);

#define RWX (NW_EPT_R | NW_EPT_W | NW_EPT_X)
#define WB (UINT64_C(6) << 3)

static void expect_same(const struct pt_dump *a, const struct pt_dump *b, const char *op, unsigned nth)
{
	cr_assert_eq(a->count, b->count, "%s, failure at allocation %u: %zu entries before, %zu after", op, nth,
		     a->count, b->count);
	for (size_t i = 0; i < a->count; i++)
		cr_assert(pt_row_same(&a->rows[i], &b->rows[i]),
			  "%s, failure at allocation %u: level %d index %u was 0x%llx, now 0x%llx", op, nth,
			  a->rows[i].level, a->rows[i].index, (unsigned long long)a->rows[i].entry,
			  (unsigned long long)b->rows[i].entry);
}

typedef void (*setup_fn)(struct nw_ept *ept);
typedef nw_status_t (*op_fn)(struct nw_ept *ept);

/* Runs op with the nth allocation failing for n = 1, 2, ... until op no longer
 * fails; returns how many allocation points op has. */
static unsigned every_allocation_point(setup_fn setup, op_fn op, const char *name)
{
	for (unsigned nth = 1;; nth++) {
		struct nw_ept_config config = { .levels = 4, .memory_type = NW_EPT_MT_WB, .caps = nw_ept_caps_all() };
		struct nw_ept ept;
		struct pt_dump before, after;
		uint64_t live_before;
		nw_status_t status;

		cr_assert_eq(nw_ept_create(&ept, hal, &config), NW_OK);
		setup(&ept);
		before = pt_dump_take(&ept.pt);
		live_before = nw_simmem_stats(sim).live;
		nw_simmem_fail_nth(sim, nth);
		status = op(&ept);
		nw_simmem_fail_nth(sim, 0);
		if (status == NW_OK) {
			free(before.rows);
			nw_ept_destroy(&ept);
			return nth - 1;
		}
		cr_assert_eq(status, NW_ERR_NOMEM, "%s: allocation %u: %s", name, nth, nw_status_name(status));
		after = pt_dump_take(&ept.pt);
		expect_same(&before, &after, name, nth);
		cr_assert_eq(nw_simmem_stats(sim).live, live_before, "%s, failure at allocation %u leaked", name, nth);
		free(before.rows);
		free(after.rows);
		nw_ept_destroy(&ept);
	}
}

static void setup_empty(struct nw_ept *ept)
{
	(void)ept;
}

static void setup_mixed(struct nw_ept *ept)
{
	cr_assert_eq(nw_ept_map(ept, nw_gpa(0x40000000), nw_hpa(0x80000000), NW_SIZE_1G, RWX | WB, 0, 0), NW_OK);
	cr_assert_eq(nw_ept_map(ept, nw_gpa(0x200000), nw_hpa(0x400000), NW_SIZE_2M, RWX | WB | NW_EPT_IPAT, 0, 0),
		     NW_OK);
	cr_assert_eq(nw_ept_map(ept, nw_gpa(0x1000), nw_hpa(0x1000), NW_PAGE_SIZE, NW_EPT_R | WB, 0, 0), NW_OK);
}

static nw_status_t op_map_fresh(struct nw_ept *ept)
{
	return nw_ept_map(ept, nw_gpa(UINT64_C(0x8040201000)), nw_hpa(0x5000), NW_PAGE_SIZE, RWX | WB, 0, 0);
}

static nw_status_t op_map_into_1g(struct nw_ept *ept)
{
	return nw_ept_map(ept, nw_gpa(0x40201000), nw_hpa(0x5000), NW_PAGE_SIZE, NW_EPT_R | WB, NW_PT_MAP_REPLACE, 0);
}

static nw_status_t op_map_into_2m(struct nw_ept *ept)
{
	return nw_ept_map(ept, nw_gpa(0x3ff000), nw_hpa(0x5000), NW_PAGE_SIZE, NW_EPT_R | WB, NW_PT_MAP_REPLACE, 0);
}

static nw_status_t op_map_region(struct nw_ept *ept)
{
	/* 4 KiB head, 2 MiB pages, a 1 GiB page, across fresh PML4 and PDPT entries. */
	return nw_ept_map_region(ept, nw_gpa(UINT64_C(0x7fffe00000) - 0x3000), nw_hpa(UINT64_C(0x1fffe00000) - 0x3000),
				 0x3000 + NW_SIZE_2M + NW_SIZE_1G + 0x5000, RWX | WB, 0);
}

static nw_status_t op_unmap_inside_1g(struct nw_ept *ept)
{
	return nw_ept_unmap(ept, nw_gpa(0x40001000), 0x3fffe000, 0);
}

static nw_status_t op_unmap_across(struct nw_ept *ept)
{
	return nw_ept_unmap(ept, nw_gpa(0x201000), 0x40000000, 0);
}

static nw_status_t op_protect_inside_1g(struct nw_ept *ept)
{
	return nw_ept_protect(ept, nw_gpa(0x40201000), 0x3000, NW_EPT_R, 0);
}

static nw_status_t op_protect_in_2m(struct nw_ept *ept)
{
	return nw_ept_protect(ept, nw_gpa(0x201000), NW_PAGE_SIZE, NW_EPT_R | NW_EPT_X, 0);
}

/* A new table above level 1 is two allocations: the table and its count page
 * (pt_engine.c, Live counts); a new page table is one. */
Test(ept_fault, map_into_fresh_tables)
{
	/* PDPT and PD (two each) and the PT. */
	cr_assert_eq(every_allocation_point(setup_mixed, op_map_fresh, "map 4 KiB in new PML4 slot"), 5);
}

Test(ept_fault, map_that_splits_a_1g_page_twice)
{
	/* The PD (two) and the PT. */
	cr_assert_eq(every_allocation_point(setup_mixed, op_map_into_1g, "map 4 KiB inside 1 GiB"), 3);
}

Test(ept_fault, map_that_splits_a_2m_page)
{
	cr_assert_eq(every_allocation_point(setup_mixed, op_map_into_2m, "map 4 KiB inside 2 MiB"), 1);
}

Test(ept_fault, map_region_rolls_back_earlier_pages)
{
	cr_assert_geq(every_allocation_point(setup_mixed, op_map_region, "map_region"), 5);
	cr_assert_geq(every_allocation_point(setup_empty, op_map_region, "map_region on empty"), 5);
}

Test(ept_fault, unmap_that_splits_both_ends)
{
	/* Each end: 1 GiB -> PD (two) -> PT. */
	cr_assert_eq(every_allocation_point(setup_mixed, op_unmap_inside_1g, "unmap inside 1 GiB"), 6);
	/* The start: 2 MiB -> PT; the end: 1 GiB -> PD (two) -> PT. */
	cr_assert_eq(every_allocation_point(setup_mixed, op_unmap_across, "unmap across 2 MiB and 1 GiB"), 4);
}

Test(ept_fault, protect_that_splits)
{
	/* Each end: 1 GiB -> PD (two) -> PT. */
	cr_assert_eq(every_allocation_point(setup_mixed, op_protect_inside_1g, "protect inside 1 GiB"), 6);
	cr_assert_eq(every_allocation_point(setup_mixed, op_protect_in_2m, "protect inside 2 MiB"), 2);
}

Test(ept_fault, create_fails_cleanly)
{
	struct nw_ept_config config = { .levels = 4, .memory_type = NW_EPT_MT_WB, .caps = nw_ept_caps_all() };
	struct nw_ept ept;

	nw_simmem_fail_nth(sim, 1);
	cr_assert_eq(nw_ept_create(&ept, hal, &config), NW_ERR_NOMEM);
	cr_assert_eq(nw_simmem_stats(sim).live, 0);
	nw_ept_destroy(&ept);
}

Test(ept_fault, npt_map_and_split)
{
	struct nw_npt_config config = { .levels = 4, .caps = nw_npt_caps_all() };
	unsigned failures = 0;

	for (unsigned nth = 1;; nth++) {
		struct nw_npt npt;
		struct pt_dump before, after;
		nw_status_t status;

		cr_assert_eq(nw_npt_create(&npt, hal, &config), NW_OK);
		cr_assert_eq(nw_npt_map(&npt, nw_gpa(0x40000000), nw_hpa(0x40000000), NW_SIZE_1G, NW_PTE_RW, 0, 0),
			     NW_OK);
		before = pt_dump_take(&npt.pt);
		nw_simmem_fail_nth(sim, nth);
		status = nw_npt_protect(&npt, nw_gpa(0x40001000), NW_PAGE_SIZE, NW_PTE_XD, 0);
		nw_simmem_fail_nth(sim, 0);
		after = pt_dump_take(&npt.pt);
		if (status == NW_ERR_NOMEM) {
			failures++;
			expect_same(&before, &after, "npt protect", nth);
		}
		free(before.rows);
		free(after.rows);
		nw_npt_destroy(&npt);
		if (status == NW_OK)
			break;
	}
	/* Both ends of [0x40001000, 0x40002000) are counted: 1 GiB -> 2 MiB -> 4 KiB each, the PD with its
	 * count page (pt_engine.c, Live counts). */
	cr_assert_eq(failures, 6);
}
