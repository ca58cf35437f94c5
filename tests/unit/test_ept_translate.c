/* nw_ept_translate and the EPTP: outcomes derived by hand from the SDM
 * (Vol. 3C §29.3.2 rights as the AND over the path, §29.3.3 violations,
 * §29.3.5 accessed/dirty flags, Table 25-9 EPTP). */
#include <nestwalk/ept.h>
#include <nestwalk/npt.h>
#include <nestwalk/walk.h>

#include "fixture.h"

TestSuite(ept_translate, .init = fixture_setup, .fini = fixture_teardown);

#define RWX (NW_EPT_R | NW_EPT_W | NW_EPT_X)
#define WB (UINT64_C(6) << 3)
#define ALL_RIGHTS (NW_S2_RIGHT_R | NW_S2_RIGHT_W | NW_S2_RIGHT_X | NW_S2_RIGHT_UX)

static void make(struct nw_ept *ept, bool ad, bool mbec)
{
	struct nw_ept_config config = { .levels = 4, .ad = ad, .mbec = mbec, .memory_type = NW_EPT_MT_WB,
					.caps = nw_ept_caps_all() };

	cr_assert_eq(nw_ept_create(ept, hal, &config), NW_OK);
}

static struct nw_s2_result translate(struct nw_ept *ept, uint64_t gpa, enum nw_access_type type, bool user)
{
	struct nw_s2_request req = { .gpa = nw_gpa(gpa), .type = type, .user = user };
	struct nw_s2_result res;

	nw_ept_translate(ept, &req, &res);
	return res;
}

static uint64_t leaf_entry(const struct nw_ept *ept, uint64_t gpa)
{
	struct nw_pt_leaf leaf;

	cr_assert_eq(nw_pt_lookup(&ept->pt, gpa, &leaf), NW_OK);
	return leaf.entry;
}

static uint64_t path_entry(const struct nw_ept *ept, uint64_t gpa, int level)
{
	struct nw_pt_leaf leaf;

	cr_assert_eq(nw_pt_lookup(&ept->pt, gpa, &leaf), NW_OK);
	return leaf.entries[level];
}

Test(ept_translate, success_fills_every_field)
{
	struct nw_ept ept;
	struct nw_s2_result res;
	struct nw_pt_leaf leaf;

	make(&ept, false, false);
	cr_assert_eq(nw_ept_map(&ept, nw_gpa(0x40201000), nw_hpa(0x7000), NW_PAGE_SIZE, RWX | WB | NW_EPT_IPAT, 0, 0),
		     NW_OK);
	res = translate(&ept, 0x40201abc, NW_ACCESS_WRITE, false);
	cr_assert_eq(res.status, NW_S2_OK);
	cr_assert_eq(res.hpa.val, 0x7abc);
	cr_assert_eq(res.page_size, NW_PAGE_SIZE);
	cr_assert_eq(res.level, 1);
	cr_assert_eq(res.entry, 0x7077);
	cr_assert_eq(res.rights, NW_S2_RIGHT_R | NW_S2_RIGHT_W | NW_S2_RIGHT_X, "no UX without mode-based execute");
	cr_assert_eq(res.memory_type, 6);
	cr_assert(res.ignore_pat);
	cr_assert_eq(res.refs, 4);
	cr_assert_eq(nw_pt_lookup(&ept.pt, 0x40201abc, &leaf), NW_OK);
	cr_assert_eq(res.tables[4].val, nw_ept_root(&ept).val);
	for (int level = 1; level <= 4; level++) {
		cr_assert_eq(res.entries[level], leaf.entries[level], "level %d", level);
		cr_assert_eq(res.tables[level].val, leaf.tables[level], "level %d", level);
	}
	nw_ept_destroy(&ept);
}

Test(ept_translate, large_pages_translate_with_their_offset)
{
	struct nw_ept ept;
	struct nw_s2_result res;

	make(&ept, false, false);
	cr_assert_eq(nw_ept_map(&ept, nw_gpa(0x200000), nw_hpa(0x40000000), NW_SIZE_2M, RWX | (UINT64_C(4) << 3), 0, 0),
		     NW_OK);
	cr_assert_eq(nw_ept_map(&ept, nw_gpa(0x80000000), nw_hpa(0x40000000), NW_SIZE_1G, NW_EPT_R | WB, 0, 0), NW_OK);
	res = translate(&ept, 0x3fffff, NW_ACCESS_FETCH, false);
	cr_assert_eq(res.status, NW_S2_OK);
	cr_assert_eq(res.hpa.val, 0x401fffff);
	cr_assert_eq(res.page_size, NW_SIZE_2M);
	cr_assert_eq(res.level, 2);
	cr_assert_eq(res.memory_type, 4);
	cr_assert_eq(res.refs, 3);
	res = translate(&ept, 0x8abcdef0, NW_ACCESS_READ, false);
	cr_assert_eq(res.status, NW_S2_OK);
	cr_assert_eq(res.hpa.val, 0x4abcdef0);
	cr_assert_eq(res.page_size, NW_SIZE_1G);
	cr_assert_eq(res.refs, 2);
	nw_ept_destroy(&ept);
}

Test(ept_translate, each_access_needs_its_right)
{
	struct nw_ept ept;
	static const struct {
		uint64_t flags;
		enum nw_access_type type;
		enum nw_s2_status status;
	} cases[] = {
		{ NW_EPT_R, NW_ACCESS_READ, NW_S2_OK },
		{ NW_EPT_R, NW_ACCESS_WRITE, NW_S2_VIOLATION },
		{ NW_EPT_R, NW_ACCESS_FETCH, NW_S2_VIOLATION },
		{ NW_EPT_R | NW_EPT_W, NW_ACCESS_WRITE, NW_S2_OK },
		{ NW_EPT_R | NW_EPT_W, NW_ACCESS_FETCH, NW_S2_VIOLATION },
		{ NW_EPT_R | NW_EPT_X, NW_ACCESS_FETCH, NW_S2_OK },
		{ NW_EPT_R | NW_EPT_X, NW_ACCESS_WRITE, NW_S2_VIOLATION },
		{ NW_EPT_X, NW_ACCESS_FETCH, NW_S2_OK },
		{ NW_EPT_X, NW_ACCESS_READ, NW_S2_VIOLATION },
	};

	make(&ept, false, false);
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t gpa = 0x100000 + i * NW_PAGE_SIZE;
		struct nw_s2_result res;

		cr_assert_eq(nw_ept_map(&ept, nw_gpa(gpa), nw_hpa(gpa), NW_PAGE_SIZE, cases[i].flags | WB, 0, 0),
			     NW_OK);
		res = translate(&ept, gpa, cases[i].type, false);
		cr_assert_eq(res.status, cases[i].status, "case %u", i);
		cr_assert_eq(res.rights, (uint32_t)(cases[i].flags & 7), "case %u: rights are the leaf's", i);
		cr_assert_eq(res.level, 1, "case %u", i);
	}
	nw_ept_destroy(&ept);
}

Test(ept_translate, rights_are_the_and_over_every_level)
{
	struct nw_ept ept;
	struct nw_s2_result res;

	make(&ept, false, false);
	cr_assert_eq(nw_ept_map(&ept, nw_gpa(0x1000), nw_hpa(0x5000), NW_PAGE_SIZE, RWX | WB, 0, 0), NW_OK);
	cr_assert_eq(nw_ept_edit(&ept, nw_gpa(0x1000), 3, NW_EPT_W, 0, 0, 0), NW_OK);
	res = translate(&ept, 0x1000, NW_ACCESS_WRITE, false);
	cr_assert_eq(res.status, NW_S2_VIOLATION);
	cr_assert_eq(res.level, 1, "the rights are checked at the leaf");
	cr_assert_eq(res.rights, NW_S2_RIGHT_R | NW_S2_RIGHT_X);
	cr_assert_eq(res.refs, 4);
	res = translate(&ept, 0x1000, NW_ACCESS_READ, false);
	cr_assert_eq(res.status, NW_S2_OK);
	cr_assert_eq(res.rights, NW_S2_RIGHT_R | NW_S2_RIGHT_X);
	nw_ept_destroy(&ept);
}

Test(ept_translate, not_present_entries_stop_the_walk_with_a_violation)
{
	struct nw_ept ept;
	struct nw_s2_result res;

	make(&ept, false, false);
	cr_assert_eq(nw_ept_map(&ept, nw_gpa(0x1000), nw_hpa(0x5000), NW_PAGE_SIZE, RWX | WB, 0, 0), NW_OK);
	res = translate(&ept, 0x40000000, NW_ACCESS_READ, false);
	cr_assert_eq(res.status, NW_S2_VIOLATION);
	cr_assert_eq(res.level, 3);
	cr_assert_eq(res.entry, 0);
	cr_assert_eq(res.rights, 0);
	cr_assert_eq(res.refs, 2);
	res = translate(&ept, 0x2000, NW_ACCESS_READ, false);
	cr_assert_eq(res.level, 1);
	cr_assert_eq(res.refs, 4);
	res = translate(&ept, UINT64_C(1) << 39, NW_ACCESS_READ, false);
	cr_assert_eq(res.level, 4);
	cr_assert_eq(res.refs, 1);
	/* A not-present PDE whose other bits are garbage is still a violation, never a misconfiguration. */
	cr_assert_eq(nw_ept_edit(&ept, nw_gpa(0x1000), 2, RWX, UINT64_C(0x78), 0, 0), NW_OK);
	res = translate(&ept, 0x1000, NW_ACCESS_READ, false);
	cr_assert_eq(res.status, NW_S2_VIOLATION);
	cr_assert_eq(res.level, 2);
	cr_assert_eq(res.rights, 0);
	cr_assert_eq(nw_ept_edit(&ept, nw_gpa(0x1000), 2, UINT64_C(0x78), RWX, 0, 0), NW_OK);
	res = translate(&ept, UINT64_C(1) << 48, NW_ACCESS_READ, false);
	cr_assert_eq(res.status, NW_S2_VIOLATION, "a GPA beyond the 4-level walk has no entry");
	nw_ept_destroy(&ept);
}

Test(ept_translate, mode_based_execute_control_splits_fetch_rights)
{
	struct nw_ept ept;
	struct nw_s2_result res;

	make(&ept, false, true);
	cr_assert_eq(nw_ept_map(&ept, nw_gpa(0x1000), nw_hpa(0x5000), NW_PAGE_SIZE, NW_EPT_R | NW_EPT_X | WB, 0, 0),
		     NW_OK);
	cr_assert_eq(nw_ept_map(&ept, nw_gpa(0x2000), nw_hpa(0x6000), NW_PAGE_SIZE, NW_EPT_R | NW_EPT_UX | WB, 0, 0),
		     NW_OK);
	cr_assert_eq(translate(&ept, 0x1000, NW_ACCESS_FETCH, false).status, NW_S2_OK);
	res = translate(&ept, 0x1000, NW_ACCESS_FETCH, true);
	cr_assert_eq(res.status, NW_S2_VIOLATION);
	cr_assert_eq(res.rights, NW_S2_RIGHT_R | NW_S2_RIGHT_X);
	cr_assert_eq(translate(&ept, 0x2000, NW_ACCESS_FETCH, true).status, NW_S2_OK);
	res = translate(&ept, 0x2000, NW_ACCESS_FETCH, false);
	cr_assert_eq(res.status, NW_S2_VIOLATION);
	cr_assert_eq(res.rights, NW_S2_RIGHT_R | NW_S2_RIGHT_UX);
	nw_ept_destroy(&ept);
}

Test(ept_translate, without_mode_based_execute_bit_10_is_ignored)
{
	struct nw_ept ept;
	struct nw_s2_result res;

	make(&ept, false, false);
	cr_assert_eq(nw_ept_map(&ept, nw_gpa(0x1000), nw_hpa(0x5000), NW_PAGE_SIZE, NW_EPT_R | NW_EPT_X | WB, 0, 0),
		     NW_OK);
	cr_assert_eq(nw_ept_map(&ept, nw_gpa(0x2000), nw_hpa(0x6000), NW_PAGE_SIZE, NW_EPT_R | NW_EPT_UX | WB, 0, 0),
		     NW_OK);
	cr_assert_eq(translate(&ept, 0x1000, NW_ACCESS_FETCH, true).status, NW_S2_OK);
	res = translate(&ept, 0x2000, NW_ACCESS_FETCH, true);
	cr_assert_eq(res.status, NW_S2_VIOLATION);
	cr_assert_eq(res.rights, NW_S2_RIGHT_R);
	nw_ept_destroy(&ept);
}

Test(ept_translate, ad_flags_are_set_only_after_success)
{
	struct nw_ept ept;
	struct nw_s2_result res;

	make(&ept, true, false);
	cr_assert_eq(nw_ept_map(&ept, nw_gpa(0x1000), nw_hpa(0x5000), NW_PAGE_SIZE, NW_EPT_R | WB, 0, 0), NW_OK);
	res = translate(&ept, 0x1000, NW_ACCESS_WRITE, false);
	cr_assert_eq(res.status, NW_S2_VIOLATION);
	for (int level = 1; level <= 4; level++)
		cr_assert_eq(path_entry(&ept, 0x1000, level) & (NW_EPT_A | NW_EPT_D), 0, "level %d after a violation",
			     level);
	res = translate(&ept, 0x1000, NW_ACCESS_READ, false);
	cr_assert_eq(res.status, NW_S2_OK);
	cr_assert_eq(res.entry & NW_EPT_A, 0, "the result holds the entry as read");
	for (int level = 1; level <= 4; level++)
		cr_assert_eq(path_entry(&ept, 0x1000, level) & (NW_EPT_A | NW_EPT_D), NW_EPT_A, "level %d after a read",
			     level);
	nw_ept_destroy(&ept);
}

Test(ept_translate, dirty_is_set_on_the_leaf_of_a_write_only)
{
	struct nw_ept ept;

	make(&ept, true, false);
	cr_assert_eq(nw_ept_map(&ept, nw_gpa(0x200000), nw_hpa(0x400000), NW_SIZE_2M, RWX | WB, 0, 0), NW_OK);
	cr_assert_eq(translate(&ept, 0x200000, NW_ACCESS_FETCH, false).status, NW_S2_OK);
	cr_assert_eq(leaf_entry(&ept, 0x200000), 0x4000b7 | NW_EPT_A);
	cr_assert_eq(translate(&ept, 0x200008, NW_ACCESS_WRITE, false).status, NW_S2_OK);
	cr_assert_eq(leaf_entry(&ept, 0x200000), 0x4000b7 | NW_EPT_A | NW_EPT_D);
	cr_assert_eq(path_entry(&ept, 0x200000, 3) & NW_EPT_D, 0, "D only on the leaf");
	cr_assert_eq(path_entry(&ept, 0x200000, 4) & (NW_EPT_A | NW_EPT_D), NW_EPT_A);
	nw_ept_destroy(&ept);
}

Test(ept_translate, lookup_only_and_disabled_ad_write_nothing)
{
	struct nw_ept ept;
	struct nw_s2_request req = { .gpa = nw_gpa(0x1000), .type = NW_ACCESS_WRITE, .lookup_only = true };
	struct nw_s2_result res;

	make(&ept, true, false);
	cr_assert_eq(nw_ept_map(&ept, nw_gpa(0x1000), nw_hpa(0x5000), NW_PAGE_SIZE, RWX | WB, 0, 0), NW_OK);
	nw_ept_translate(&ept, &req, &res);
	cr_assert_eq(res.status, NW_S2_OK);
	cr_assert_eq(leaf_entry(&ept, 0x1000), 0x5037);
	cr_assert_eq(path_entry(&ept, 0x1000, 4) & NW_EPT_A, 0);
	nw_ept_destroy(&ept);

	make(&ept, false, false);
	cr_assert_eq(nw_ept_map(&ept, nw_gpa(0x1000), nw_hpa(0x5000), NW_PAGE_SIZE, RWX | WB, 0, 0), NW_OK);
	cr_assert_eq(translate(&ept, 0x1000, NW_ACCESS_WRITE, false).status, NW_S2_OK);
	cr_assert_eq(leaf_entry(&ept, 0x1000), 0x5037, "A/D disabled in the EPTP");
	nw_ept_destroy(&ept);
}

Test(ept_translate, ad_on_five_levels_marks_all_five)
{
	struct nw_ept ept;
	struct nw_ept_config config = { .levels = 5, .ad = true, .memory_type = NW_EPT_MT_WB,
					.caps = nw_ept_caps_all() };
	struct nw_s2_result res;

	cr_assert_eq(nw_ept_create(&ept, hal, &config), NW_OK);
	cr_assert_eq(nw_ept_map(&ept, nw_gpa(UINT64_C(0x1000000001000)), nw_hpa(0x5000), NW_PAGE_SIZE, RWX | WB, 0, 0),
		     NW_OK);
	res = translate(&ept, UINT64_C(0x1000000001000), NW_ACCESS_WRITE, false);
	cr_assert_eq(res.status, NW_S2_OK);
	cr_assert_eq(res.refs, 5);
	for (int level = 1; level <= 5; level++)
		cr_assert(path_entry(&ept, UINT64_C(0x1000000001000), level) & NW_EPT_A, "level %d", level);
	nw_ept_destroy(&ept);
}

Test(ept_translate, eptp_encodes_as_table_25_9_says)
{
	struct nw_eptp eptp = { .memory_type = NW_EPT_MT_WB, .levels = 4, .ad = true, .root = nw_hpa(0x12345000) };
	struct nw_ept_caps caps = nw_ept_caps_all();
	struct nw_eptp back;
	struct nw_ept ept;

	cr_assert_eq(nw_eptp_encode(&eptp), UINT64_C(0x1234505e));
	eptp = (struct nw_eptp){ .memory_type = NW_EPT_MT_UC, .levels = 5, .ad = false, .root = nw_hpa(0x1000) };
	cr_assert_eq(nw_eptp_encode(&eptp), UINT64_C(0x1020));
	cr_assert_eq(nw_eptp_decode(0x1234505e, &caps, &back), NW_OK);
	cr_assert_eq(back.memory_type, 6);
	cr_assert_eq(back.levels, 4);
	cr_assert(back.ad);
	cr_assert_eq(back.root.val, 0x12345000);
	cr_assert_eq(nw_eptp_decode(0x1020, &caps, &back), NW_OK);
	cr_assert_eq(back.levels, 5);
	cr_assert_not(back.ad);
	cr_assert_eq(nw_eptp_decode(0x1019, &caps, &back), NW_ERR_INVALID, "memory type 1 (WC) is not allowed");
	cr_assert_eq(nw_eptp_decode(0x1016, &caps, &back), NW_ERR_INVALID, "walk length 3");
	cr_assert_eq(nw_eptp_decode(0x111e, &caps, &back), NW_ERR_INVALID, "bit 8 reserved");
	cr_assert_eq(nw_eptp_decode(UINT64_C(0x40000000101e), &caps, &back), NW_ERR_INVALID, "bit 46 >= MAXPHYADDR");
	caps.five_level = false;
	caps.ad = false;
	cr_assert_eq(nw_eptp_decode(0x1026, &caps, &back), NW_ERR_UNSUPPORTED, "5 levels");
	cr_assert_eq(nw_eptp_decode(0x105e, &caps, &back), NW_ERR_UNSUPPORTED, "A/D");
	cr_assert_eq(nw_eptp_decode(0x101e, &caps, &back), NW_OK);

	make(&ept, true, false);
	cr_assert_eq(nw_ept_eptp(&ept), nw_ept_root(&ept).val | 0x5e);
	nw_ept_destroy(&ept);
}

Test(ept_translate, a_table_address_nothing_backs_reads_as_all_ones)
{
	struct nw_simmem_config lax = { .size = UINT64_C(1) << 32, .strict = false };
	struct nw_simmem *other = nw_simmem_create(&lax);
	const struct nw_hal *owner = nw_simmem_owner(other, "t");
	struct nw_ept_config config = { .levels = 4, .ad = true, .memory_type = NW_EPT_MT_WB,
					.caps = nw_ept_caps_all() };
	struct nw_ept ept;
	struct nw_pt_leaf leaf;
	struct nw_s2_result res;
	struct nw_s2_request req = { .gpa = nw_gpa(0x1000), .type = NW_ACCESS_WRITE };
	uint64_t *pdpte, saved;

	cr_assert_not_null(other);
	cr_assert_eq(nw_ept_create(&ept, owner, &config), NW_OK);
	cr_assert_eq(nw_ept_map(&ept, nw_gpa(0x1000), nw_hpa(0x5000), NW_PAGE_SIZE, RWX | WB, 0, 0), NW_OK);
	cr_assert_eq(nw_pt_lookup(&ept.pt, 0x1000, &leaf), NW_OK);
	/* Point the PDPTE at a frame never allocated, as a stray write from outside could. */
	pdpte = (uint64_t *)nw_hal_phys_to_virt(owner, nw_hpa(leaf.tables[3]));
	saved = pdpte[0];
	pdpte[0] = UINT64_C(0xfff00000) | 0x407;
	cr_assert_null(nw_hal_phys_to_virt(owner, nw_hpa(0xfff00000)));
	nw_ept_translate(&ept, &req, &res);
	cr_assert_eq(res.status, NW_S2_MISCONFIG, "all ones: address bits above MAXPHYADDR, among others");
	cr_assert_eq(res.level, 2);
	cr_assert_eq(res.entry, UINT64_MAX);
	pdpte[0] = saved;
	nw_ept_destroy(&ept);
	cr_assert_eq(nw_simmem_destroy(other), 0);
}

/* The fault reports of a guest-physical access with no guest-linear address (translate --gpa):
 * Table 28-7 (Vol. 3C §28.2.1): bits 2:0 the access (fetch: bit 2), bits 6:3 the AND of the
 * entries' R, W, X and, with mode-based execute, user-execute; bit 7 clear (no linear address),
 * so bit 8 is reserved and clear, and bits 11:9 (advanced information) are 0 without a linear
 * address. An entry with R and user-execute only: 0x4 | (R 0x1 | UX 0x8) << 3 = 0x4c. */
Test(ept_translate, violation_qualification_without_a_linear_address)
{
	struct nw_ept ept = { .config = { .mbec = true, .caps = nw_ept_caps_all() } };
	struct nw_s2_result s2 = { .status = NW_S2_VIOLATION, .rights = NW_S2_RIGHT_R | NW_S2_RIGHT_UX };
	struct nw_s2_fault_access access = { .type = NW_ACCESS_FETCH,
					    .guest_rights = NW_WALK_RIGHT_U | NW_WALK_RIGHT_X };

	cr_assert_eq(nw_ept_violation_qualification(&ept, &s2, &access), 0x4c);
	/* The same fault as the final translation of a linear address: bit 7 and bit 8 (0x180), and
	 * the advanced information of the guest translation: user (bit 9), not writable (bit 10 clear),
	 * executable (bit 11 clear): 0x4c | 0x180 | 0x200 = 0x3cc. */
	access.linear = true;
	cr_assert_eq(nw_ept_violation_qualification(&ept, &s2, &access), 0x3cc);
	/* A guest paging-structure access made a write by EPT A/D: bits 1:0 set, bit 8 clear, no
	 * advanced information: 0x3 | 0x48 | 0x80 = 0xcb. */
	access.table = true;
	access.table_write = true;
	cr_assert_eq(nw_ept_violation_qualification(&ept, &s2, &access), 0xcb);
}

/* #NPF EXITINFO1 (APM Vol. 2 §15.25.6): U (bit 2) always, P (bit 0) for a present entry, I/D
 * (bit 4) for a fetch only when the host has EFER.NXE (the #PF rule, §8.4.2), bit 32 for the
 * final address: a fetch at a present, non-executable entry is 0x1_0000_0015 with NXE and
 * 0x1_0000_0005 without it. */
Test(ept_translate, npf_exitinfo1_reports_a_fetch_only_with_host_nxe)
{
	struct nw_npt npt = { .config = { .caps = { .nxe = true } } };
	struct nw_s2_result s2 = { .status = NW_S2_VIOLATION, .entry = NW_PTE_P };
	struct nw_s2_fault_access access = { .type = NW_ACCESS_FETCH };

	cr_assert_eq(nw_npf_exitinfo1(&npt, &s2, &access), UINT64_C(0x100000015));
	npt.config.caps.nxe = false;
	cr_assert_eq(nw_npf_exitinfo1(&npt, &s2, &access), UINT64_C(0x100000005));
}
