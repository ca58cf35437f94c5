/* AMD nested page tables: entries and outcomes derived by hand from the
 * long-mode entry format (SDM Vol. 3A Tables 4-15..4-20, APM Vol. 2 §5.3)
 * and the nested-paging rules of APM §15.25.5 (every nested access is a user
 * access; A/D are set in nested entries). */
#include <nestwalk/npt.h>

#include "fixture.h"

TestSuite(npt, .init = fixture_setup, .fini = fixture_teardown);

#define TABLE_BITS UINT64_C(0x7) /* P | RW | US */

static void make(struct nw_npt *npt, struct nw_npt_caps caps)
{
	struct nw_npt_config config = { .levels = 4, .caps = caps };

	cr_assert_eq(nw_npt_create(npt, hal, &config), NW_OK);
}

static struct nw_s2_result translate(struct nw_npt *npt, uint64_t gpa, enum nw_access_type type, bool lookup_only)
{
	struct nw_s2_request req = { .gpa = nw_gpa(gpa), .type = type, .user = false, .lookup_only = lookup_only };
	struct nw_s2_result res;

	nw_npt_translate(npt, &req, &res);
	return res;
}

static uint64_t path_entry(const struct nw_npt *npt, uint64_t gpa, int level)
{
	struct nw_pt_leaf leaf;

	cr_assert_eq(nw_pt_lookup(&npt->pt, gpa, &leaf), NW_OK);
	return leaf.entries[level];
}

static void edit(struct nw_npt *npt, uint64_t gpa, int level, uint64_t clear, uint64_t set)
{
	cr_assert_eq(nw_npt_edit(npt, nw_gpa(gpa), level, clear, set, 0, 0), NW_OK);
}

Test(npt, every_level_carries_user_and_the_leaf_too)
{
	struct nw_npt npt;
	struct nw_s2_mapping m;

	make(&npt, nw_npt_caps_all());
	cr_assert_eq(nw_npt_map(&npt, nw_gpa(0x40201000), nw_hpa(0x7000), NW_PAGE_SIZE, 0, 0, 0), NW_OK);
	/* PML4, PDPT, PD, PT, and a count page for each table above level 1 (pt_engine.c, Live counts). */
	cr_assert_eq(nw_simmem_stats(sim).live, 4 + 3);
	for (int level = 4; level >= 2; level--)
		cr_assert_eq(path_entry(&npt, 0x40201000, level) & 0xfff, TABLE_BITS, "level %d", level);
	cr_assert_eq(nw_npt_query(&npt, nw_gpa(0x40201000), &m), NW_OK);
	cr_assert_eq(m.entry, 0x7005, "a read-only leaf: P | US");
	cr_assert_eq(nw_npt_ncr3(&npt), npt.pt.root);
	nw_npt_destroy(&npt);
}

Test(npt, large_pages_move_the_pat_bit)
{
	struct nw_npt npt;
	struct nw_s2_mapping m;

	make(&npt, nw_npt_caps_all());
	cr_assert_eq(nw_npt_map(&npt, nw_gpa(0x200000), nw_hpa(0x400000), NW_SIZE_2M, NW_PTE_RW | NW_PTE_PAT_4K, 0, 0),
		     NW_OK);
	cr_assert_eq(nw_npt_query(&npt, nw_gpa(0x200000), &m), NW_OK);
	cr_assert_eq(m.entry, 0x400000 | 0x1000 | 0x80 | 0x7, "PAT at bit 12, PS at bit 7");
	cr_assert_eq(nw_npt_protect(&npt, nw_gpa(0x201000), NW_PAGE_SIZE, NW_PTE_RW | NW_PTE_XD, 0), NW_OK);
	cr_assert_eq(nw_npt_query(&npt, nw_gpa(0x200000), &m), NW_OK);
	cr_assert_eq(m.entry, 0x400000 | 0x80 | 0x7, "split to 4 KiB: PAT moves to bit 7, no PS");
	cr_assert_eq(nw_npt_query(&npt, nw_gpa(0x201000), &m), NW_OK);
	cr_assert_eq(m.entry, NW_PTE_XD | 0x401000 | 0x80 | 0x7);
	nw_npt_destroy(&npt);
}

Test(npt, flags_and_sizes_are_checked)
{
	struct nw_npt npt;
	struct nw_npt_caps caps = nw_npt_caps_all();

	caps.nxe = false;
	caps.pages_1g = false;
	make(&npt, caps);
	cr_assert_eq(nw_npt_map(&npt, nw_gpa(0x1000), nw_hpa(0x1000), NW_PAGE_SIZE, NW_PTE_XD, 0, 0),
		     NW_ERR_UNSUPPORTED, "NX needs host EFER.NXE");
	cr_assert_eq(nw_npt_map(&npt, nw_gpa(0), nw_hpa(0), NW_SIZE_1G, 0, 0, 0), NW_ERR_UNSUPPORTED);
	cr_assert_eq(nw_npt_map(&npt, nw_gpa(0x1000), nw_hpa(0x1000), NW_PAGE_SIZE, NW_PTE_PS, 0, 0) == NW_OK, true,
		     "bit 7 of a 4 KiB leaf is PAT");
	cr_assert_eq(nw_npt_map(&npt, nw_gpa(0x2000), nw_hpa(0x1000), NW_PAGE_SIZE, UINT64_C(1) << 20, 0, 0),
		     NW_ERR_INVALID);
	cr_assert_eq(nw_npt_map(&npt, nw_gpa(0x2000), nw_hpa(UINT64_C(1) << 48), NW_PAGE_SIZE, 0, 0, 0), NW_ERR_RANGE);
	cr_assert_eq(nw_npt_protect(&npt, nw_gpa(0x1000), NW_PAGE_SIZE, NW_PTE_PWT, 0), NW_ERR_INVALID);
	nw_npt_destroy(&npt);
}

Test(npt, nested_accesses_are_user_accesses)
{
	struct nw_npt npt;
	struct nw_s2_result res;

	make(&npt, nw_npt_caps_all());
	cr_assert_eq(nw_npt_map(&npt, nw_gpa(0x1000), nw_hpa(0x5000), NW_PAGE_SIZE, NW_PTE_RW, 0, 0), NW_OK);
	res = translate(&npt, 0x1234, NW_ACCESS_WRITE, false);
	cr_assert_eq(res.status, NW_S2_OK);
	cr_assert_eq(res.hpa.val, 0x5234);
	cr_assert_eq(res.rights, NW_S2_RIGHT_R | NW_S2_RIGHT_W | NW_S2_RIGHT_X | NW_S2_RIGHT_UX);
	cr_assert_eq(res.refs, 4);
	cr_assert_eq(res.memory_type, 6, "PAT index 0 of the power-on PAT is WB");
	/* US clear in the PDPE: a user access fails, even a read, at the leaf check. */
	edit(&npt, 0x1000, 3, NW_PTE_US, 0);
	res = translate(&npt, 0x1000, NW_ACCESS_READ, false);
	cr_assert_eq(res.status, NW_S2_VIOLATION);
	cr_assert_eq(res.rights, 0);
	cr_assert_eq(res.level, 1);
	nw_npt_destroy(&npt);
}

Test(npt, write_needs_rw_and_fetch_needs_no_nx_on_every_level)
{
	struct nw_npt npt;
	struct nw_s2_result res;

	make(&npt, nw_npt_caps_all());
	cr_assert_eq(nw_npt_map(&npt, nw_gpa(0x1000), nw_hpa(0x5000), NW_PAGE_SIZE, NW_PTE_RW, 0, 0), NW_OK);
	edit(&npt, 0x1000, 2, NW_PTE_RW, 0);
	res = translate(&npt, 0x1000, NW_ACCESS_WRITE, false);
	cr_assert_eq(res.status, NW_S2_VIOLATION);
	cr_assert_eq(res.rights, NW_S2_RIGHT_R | NW_S2_RIGHT_X | NW_S2_RIGHT_UX);
	cr_assert_eq(translate(&npt, 0x1000, NW_ACCESS_FETCH, false).status, NW_S2_OK);
	edit(&npt, 0x1000, 4, 0, NW_PTE_XD);
	res = translate(&npt, 0x1000, NW_ACCESS_FETCH, false);
	cr_assert_eq(res.status, NW_S2_VIOLATION);
	cr_assert_eq(res.rights, NW_S2_RIGHT_R);
	cr_assert_eq(translate(&npt, 0x1000, NW_ACCESS_READ, false).status, NW_S2_OK);
	res = translate(&npt, 0x2000, NW_ACCESS_READ, false);
	cr_assert_eq(res.status, NW_S2_VIOLATION, "not present");
	cr_assert_eq(res.level, 1);
	cr_assert_eq(res.entry, 0);
	nw_npt_destroy(&npt);
}

Test(npt, reserved_bits_are_reported_as_misconfig)
{
	struct nw_npt npt;
	struct nw_npt_caps caps = nw_npt_caps_all();
	struct nw_s2_result res;

	caps.maxphyaddr = 40;
	make(&npt, caps);
	cr_assert_eq(nw_npt_map(&npt, nw_gpa(0x1000), nw_hpa(0x5000), NW_PAGE_SIZE, NW_PTE_RW, 0, 0), NW_OK);
	cr_assert_eq(nw_npt_map(&npt, nw_gpa(0x200000), nw_hpa(0x400000), NW_SIZE_2M, NW_PTE_RW, 0, 0), NW_OK);
	cr_assert_eq(nw_npt_map(&npt, nw_gpa(0x40000000), nw_hpa(0x40000000), NW_SIZE_1G, NW_PTE_RW, 0, 0), NW_OK);
	edit(&npt, 0x1000, 1, 0, UINT64_C(1) << 40);
	res = translate(&npt, 0x1000, NW_ACCESS_READ, false);
	cr_assert_eq(res.status, NW_S2_MISCONFIG);
	cr_assert_eq(res.level, 1);
	cr_assert_eq(nw_npt_rsvd(&npt.config, 1, res.entry), NW_NPT_RSVD_ADDR_ABOVE_MAXPHY);
	edit(&npt, 0x1000, 1, UINT64_C(1) << 40, 0);
	edit(&npt, 0x1000, 4, 0, NW_PTE_PS);
	res = translate(&npt, 0x1000, NW_ACCESS_READ, false);
	cr_assert_eq(res.status, NW_S2_MISCONFIG);
	cr_assert_eq(res.level, 4);
	cr_assert_eq(nw_npt_rsvd(&npt.config, 4, res.entry), NW_NPT_RSVD_PS_ABOVE_PDPT);
	edit(&npt, 0x1000, 4, NW_PTE_PS, 0);
	/* Bit 12 of a large leaf is PAT; bits 20:13 / 29:13 are reserved. */
	edit(&npt, 0x200000, 2, 0, NW_PTE_PAT_LARGE);
	res = translate(&npt, 0x200000, NW_ACCESS_READ, false);
	cr_assert_eq(res.status, NW_S2_OK);
	cr_assert_eq(res.memory_type, 6, "PAT index 4 of the power-on PAT is WB");
	for (int bit = 13; bit <= 20; bit++) {
		edit(&npt, 0x200000, 2, 0, UINT64_C(1) << bit);
		res = translate(&npt, 0x200000, NW_ACCESS_READ, false);
		cr_assert_eq(res.status, NW_S2_MISCONFIG, "2 MiB bit %d", bit);
		cr_assert_eq(nw_npt_rsvd(&npt.config, 2, res.entry), NW_NPT_RSVD_LARGE_MISALIGNED);
		edit(&npt, 0x200000, 2, UINT64_C(1) << bit, 0);
	}
	for (int bit = 13; bit <= 29; bit++) {
		edit(&npt, 0x40000000, 3, 0, UINT64_C(1) << bit);
		res = translate(&npt, 0x40000000, NW_ACCESS_READ, false);
		cr_assert_eq(res.status, NW_S2_MISCONFIG, "1 GiB bit %d", bit);
		cr_assert_eq(res.level, 3);
		edit(&npt, 0x40000000, 3, UINT64_C(1) << bit, 0);
	}
	npt.config.caps.pages_1g = false;
	res = translate(&npt, 0x40000000, NW_ACCESS_READ, false);
	cr_assert_eq(res.status, NW_S2_MISCONFIG);
	cr_assert_eq(nw_npt_rsvd(&npt.config, 3, res.entry), NW_NPT_RSVD_PAGE_1G);
	npt.config.caps.pages_1g = true;
	edit(&npt, 0x1000, 2, 0, NW_PTE_XD);
	npt.config.caps.nxe = false;
	res = translate(&npt, 0x1000, NW_ACCESS_READ, false);
	cr_assert_eq(res.status, NW_S2_MISCONFIG, "NX with EFER.NXE clear");
	cr_assert_eq(res.level, 2);
	cr_assert_eq(nw_npt_rsvd(&npt.config, 2, res.entry), NW_NPT_RSVD_NX);
	nw_npt_destroy(&npt);
}

Test(npt, accessed_and_dirty_after_success_only)
{
	struct nw_npt npt;

	make(&npt, nw_npt_caps_all());
	cr_assert_eq(nw_npt_map(&npt, nw_gpa(0x1000), nw_hpa(0x5000), NW_PAGE_SIZE, 0, 0, 0), NW_OK);
	cr_assert_eq(translate(&npt, 0x1000, NW_ACCESS_WRITE, false).status, NW_S2_VIOLATION);
	for (int level = 1; level <= 4; level++)
		cr_assert_eq(path_entry(&npt, 0x1000, level) & (NW_PTE_A | NW_PTE_D), 0);
	cr_assert_eq(translate(&npt, 0x1000, NW_ACCESS_READ, true).status, NW_S2_OK);
	cr_assert_eq(path_entry(&npt, 0x1000, 1) & NW_PTE_A, 0, "lookup only");
	cr_assert_eq(translate(&npt, 0x1000, NW_ACCESS_READ, false).status, NW_S2_OK);
	for (int level = 1; level <= 4; level++)
		cr_assert_eq(path_entry(&npt, 0x1000, level) & (NW_PTE_A | NW_PTE_D), NW_PTE_A, "level %d", level);
	cr_assert_eq(nw_npt_protect(&npt, nw_gpa(0x1000), NW_PAGE_SIZE, NW_PTE_RW, 0), NW_OK);
	cr_assert_eq(translate(&npt, 0x1000, NW_ACCESS_WRITE, false).status, NW_S2_OK);
	cr_assert_eq(path_entry(&npt, 0x1000, 1) & (NW_PTE_A | NW_PTE_D), NW_PTE_A | NW_PTE_D);
	cr_assert_eq(path_entry(&npt, 0x1000, 2) & NW_PTE_D, 0, "D only on the leaf");
	nw_npt_destroy(&npt);
}

Test(npt, memory_type_from_the_power_on_pat)
{
	struct nw_npt npt;

	make(&npt, nw_npt_caps_all());
	cr_assert_eq(nw_npt_map(&npt, nw_gpa(0x1000), nw_hpa(0x5000), NW_PAGE_SIZE, NW_PTE_PWT, 0, 0), NW_OK);
	cr_assert_eq(nw_npt_map(&npt, nw_gpa(0x2000), nw_hpa(0x5000), NW_PAGE_SIZE, NW_PTE_PCD, 0, 0), NW_OK);
	cr_assert_eq(nw_npt_map(&npt, nw_gpa(0x3000), nw_hpa(0x5000), NW_PAGE_SIZE, NW_PTE_PCD | NW_PTE_PWT, 0, 0),
		     NW_OK);
	cr_assert_eq(translate(&npt, 0x1000, NW_ACCESS_READ, true).memory_type, 4, "WT");
	cr_assert_eq(translate(&npt, 0x2000, NW_ACCESS_READ, true).memory_type, 7, "UC-");
	cr_assert_eq(translate(&npt, 0x3000, NW_ACCESS_READ, true).memory_type, 0, "UC");
	nw_npt_destroy(&npt);
}

Test(npt, five_levels_and_flush_reports)
{
	struct nw_npt npt;
	struct nw_npt_config config = { .levels = 5, .caps = nw_npt_caps_all() };
	bool flush = false;

	cr_assert_eq(nw_npt_create(&npt, hal, &config), NW_OK);
	cr_assert_eq(nw_npt_map_region(&npt, nw_gpa(UINT64_C(1) << 48), nw_hpa(0x200000), NW_SIZE_2M + NW_PAGE_SIZE,
				       NW_PTE_RW, &flush),
		     NW_OK);
	cr_assert_not(flush);
	cr_assert_eq(nw_simmem_stats(sim).live, 5 + 4, "PML5, PML4, PDPT, PD, PT, and the four count pages above the PT");
	cr_assert_eq(path_entry(&npt, UINT64_C(1) << 48, 5) & 0xfff, TABLE_BITS);
	cr_assert_eq(translate(&npt, (UINT64_C(1) << 48) + NW_SIZE_2M, NW_ACCESS_READ, true).hpa.val, 0x400000);
	cr_assert_eq(nw_npt_unmap(&npt, nw_gpa(UINT64_C(1) << 48), NW_SIZE_2M + NW_PAGE_SIZE, &flush), NW_OK);
	cr_assert(flush);
	cr_assert_eq(nw_simmem_stats(sim).live, 2, "the PML5 and its count page");
	nw_npt_destroy(&npt);
	config.caps.five_level = false;
	cr_assert_eq(nw_npt_create(&npt, hal, &config), NW_ERR_UNSUPPORTED);
}

Test(npt, reserved_bits_at_every_level_of_five)
{
	struct nw_npt npt;
	struct nw_npt_config config = { .levels = 5, .caps = nw_npt_caps_all() };
	struct nw_s2_result res;

	config.caps.maxphyaddr = 40;
	cr_assert_eq(nw_npt_create(&npt, hal, &config), NW_OK);
	cr_assert_eq(nw_npt_map(&npt, nw_gpa(0x1000), nw_hpa(0x5000), NW_PAGE_SIZE, NW_PTE_RW, 0, 0), NW_OK);
	for (int level = 5; level >= 1; level--) {
		/* Address bit 40 (MAXPHYADDR 40) is reserved (SDM Vol. 3A Tables 4-15..4-20), in a table
		 * pointer too: not its address, so an edit may set it. Bit 39 is the address. */
		if (level > 1)
			cr_assert_eq(nw_npt_edit(&npt, nw_gpa(0x1000), level, 0, UINT64_C(1) << 39, 0, 0),
				     NW_ERR_INVALID);
		edit(&npt, 0x1000, level, 0, UINT64_C(1) << 40);
		res = translate(&npt, 0x1000, NW_ACCESS_READ, true);
		cr_assert_eq(res.status, NW_S2_MISCONFIG, "bit 40 at level %d", level);
		cr_assert_eq(res.level, level);
		cr_assert_eq(res.refs, (unsigned)(6 - level));
		cr_assert_eq(nw_npt_rsvd(&npt.config, level, res.entry), NW_NPT_RSVD_ADDR_ABOVE_MAXPHY);
		edit(&npt, 0x1000, level, UINT64_C(1) << 40, 0);
		edit(&npt, 0x1000, level, 0, NW_PTE_XD);
		npt.config.caps.nxe = false;
		res = translate(&npt, 0x1000, NW_ACCESS_READ, true);
		cr_assert_eq(res.status, NW_S2_MISCONFIG, "NX at level %d without NXE", level);
		cr_assert_eq(res.level, level);
		npt.config.caps.nxe = true;
		res = translate(&npt, 0x1000, NW_ACCESS_FETCH, true);
		cr_assert_eq(res.status, NW_S2_VIOLATION, "NX at level %d forbids the fetch", level);
		cr_assert_eq(res.level, 1);
		edit(&npt, 0x1000, level, NW_PTE_XD, 0);
	}
	for (int level = 5; level >= 4; level--) {
		edit(&npt, 0x1000, level, 0, NW_PTE_PS);
		res = translate(&npt, 0x1000, NW_ACCESS_READ, true);
		cr_assert_eq(res.status, NW_S2_MISCONFIG, "PS at level %d", level);
		cr_assert_eq(nw_npt_rsvd(&npt.config, level, res.entry), NW_NPT_RSVD_PS_ABOVE_PDPT);
		edit(&npt, 0x1000, level, NW_PTE_PS, 0);
	}
	cr_assert_eq(translate(&npt, 0x1000, NW_ACCESS_WRITE, false).status, NW_S2_OK);
	nw_npt_destroy(&npt);
}
