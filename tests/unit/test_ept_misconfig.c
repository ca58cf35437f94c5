/* Every EPT misconfiguration rule (SDM Vol. 3C §29.3.3.1 and the reserved
 * bits of Tables 29-1..29-7) at every level it applies to, through
 * nw_ept_translate: the walk stops at that level with NW_S2_MISCONFIG. Entries
 * are broken with nw_ept_edit. */
#include <nestwalk/ept.h>

#include "fixture.h"

TestSuite(ept_misconfig, .init = fixture_setup, .fini = fixture_teardown);

#define RWX (NW_EPT_R | NW_EPT_W | NW_EPT_X)
#define WB (UINT64_C(6) << 3)
#define GPA_4K UINT64_C(0x40201000)
#define GPA_2M UINT64_C(0x80200000)
#define GPA_1G UINT64_C(0xc0000000)

static void make(struct nw_ept *ept, int levels, struct nw_ept_caps caps, bool mbec)
{
	struct nw_ept_config config = { .levels = levels, .memory_type = NW_EPT_MT_WB, .mbec = mbec, .caps = caps };

	cr_assert_eq(nw_ept_create(ept, hal, &config), NW_OK);
	cr_assert_eq(nw_ept_map(ept, nw_gpa(GPA_4K), nw_hpa(0x7000), NW_PAGE_SIZE, RWX | WB, 0, 0), NW_OK);
	cr_assert_eq(nw_ept_map(ept, nw_gpa(GPA_2M), nw_hpa(0x400000), NW_SIZE_2M, RWX | WB, 0, 0), NW_OK);
	if (caps.pages_1g)
		cr_assert_eq(nw_ept_map(ept, nw_gpa(GPA_1G), nw_hpa(0x40000000), NW_SIZE_1G, RWX | WB, 0, 0), NW_OK);
}

static struct nw_s2_result translate(struct nw_ept *ept, uint64_t gpa, enum nw_access_type type)
{
	struct nw_s2_request req = { .gpa = nw_gpa(gpa), .type = type };
	struct nw_s2_result res;

	nw_ept_translate(ept, &req, &res);
	return res;
}

static void expect_misconfig(struct nw_ept *ept, uint64_t gpa, int level, enum nw_ept_misconfig why,
			     const char *what)
{
	struct nw_s2_result res = translate(ept, gpa, NW_ACCESS_READ);

	cr_assert_eq(res.status, NW_S2_MISCONFIG, "%s at level %d: status %d", what, level, res.status);
	cr_assert_eq(res.level, level, "%s: reported at level %d, want %d", what, res.level, level);
	cr_assert_eq(res.refs, (unsigned)(ept->config.levels - level + 1), "%s at level %d", what, level);
	cr_assert_eq(nw_ept_misconfig(&ept->config, level, res.entry), why, "%s at level %d: reason %s", what, level,
		     nw_ept_misconfig_name(nw_ept_misconfig(&ept->config, level, res.entry)));
	cr_assert_eq(res.entries[level], res.entry);
}

static void expect_ok(struct nw_ept *ept, uint64_t gpa, const char *what)
{
	struct nw_s2_result res = translate(ept, gpa, NW_ACCESS_READ);

	cr_assert_eq(res.status, NW_S2_OK, "%s: status %d at level %d", what, res.status, res.level);
}

static void edit(struct nw_ept *ept, uint64_t gpa, int level, uint64_t clear, uint64_t set)
{
	cr_assert_eq(nw_ept_edit(ept, nw_gpa(gpa), level, clear, set, 0, 0), NW_OK, "edit level %d", level);
}

Test(ept_misconfig, write_without_read_at_every_level)
{
	struct nw_ept ept;

	make(&ept, 5, nw_ept_caps_all(), false);
	for (int level = 5; level >= 1; level--) {
		edit(&ept, GPA_4K, level, NW_EPT_R, 0);
		expect_misconfig(&ept, GPA_4K, level, NW_EPT_MISCONFIG_WRITE_NO_READ, "W without R");
		edit(&ept, GPA_4K, level, 0, NW_EPT_R);
	}
	edit(&ept, GPA_2M, 2, NW_EPT_R, 0);
	expect_misconfig(&ept, GPA_2M, 2, NW_EPT_MISCONFIG_WRITE_NO_READ, "W without R, 2 MiB leaf");
	edit(&ept, GPA_1G, 3, NW_EPT_R, 0);
	expect_misconfig(&ept, GPA_1G, 3, NW_EPT_MISCONFIG_WRITE_NO_READ, "W without R, 1 GiB leaf");
	nw_ept_destroy(&ept);
}

Test(ept_misconfig, execute_only_without_cpu_support_at_every_level)
{
	struct nw_ept ept;
	struct nw_ept_caps caps = nw_ept_caps_all();

	caps.exec_only = false;
	make(&ept, 4, caps, false);
	for (int level = 4; level >= 1; level--) {
		edit(&ept, GPA_4K, level, NW_EPT_R | NW_EPT_W, 0);
		expect_misconfig(&ept, GPA_4K, level, NW_EPT_MISCONFIG_EXEC_ONLY, "execute-only");
		edit(&ept, GPA_4K, level, 0, NW_EPT_R | NW_EPT_W);
	}
	edit(&ept, GPA_2M, 2, NW_EPT_R | NW_EPT_W, 0);
	expect_misconfig(&ept, GPA_2M, 2, NW_EPT_MISCONFIG_EXEC_ONLY, "execute-only 2 MiB leaf");
	nw_ept_destroy(&ept);
}

Test(ept_misconfig, execute_only_with_cpu_support_is_a_translation)
{
	struct nw_ept ept;
	struct nw_s2_result res;

	make(&ept, 4, nw_ept_caps_all(), false);
	edit(&ept, GPA_4K, 1, NW_EPT_R | NW_EPT_W, 0);
	edit(&ept, GPA_4K, 3, NW_EPT_R | NW_EPT_W, 0);
	res = translate(&ept, GPA_4K, NW_ACCESS_FETCH);
	cr_assert_eq(res.status, NW_S2_OK);
	res = translate(&ept, GPA_4K, NW_ACCESS_READ);
	cr_assert_eq(res.status, NW_S2_VIOLATION);
	cr_assert_eq(res.rights, NW_S2_RIGHT_X);
	nw_ept_destroy(&ept);
}

Test(ept_misconfig, user_execute_only_under_mode_based_execute_control)
{
	struct nw_ept ept;
	struct nw_ept_caps caps = nw_ept_caps_all();

	caps.exec_only = false;
	make(&ept, 4, caps, true);
	/* Bits 2:0 clear but bit 10 set: present under MBEC, and execute-only. */
	edit(&ept, GPA_4K, 2, RWX, 0);
	expect_misconfig(&ept, GPA_4K, 2, NW_EPT_MISCONFIG_EXEC_ONLY, "user-execute-only PDE");
	nw_ept_destroy(&ept);

	make(&ept, 4, nw_ept_caps_all(), true);
	edit(&ept, GPA_4K, 2, RWX, 0);
	cr_assert_eq(translate(&ept, GPA_4K, NW_ACCESS_READ).status, NW_S2_VIOLATION);
	cr_assert_eq(translate(&ept, GPA_4K, NW_ACCESS_READ).level, 1, "the PDE is present; the leaf check fails");
	nw_ept_destroy(&ept);
}

Test(ept_misconfig, reserved_memory_types_in_every_leaf)
{
	static const uint64_t gpas[] = { GPA_4K, GPA_2M, GPA_1G };
	struct nw_ept ept;

	make(&ept, 4, nw_ept_caps_all(), false);
	for (int leaf = 0; leaf < 3; leaf++) {
		int level = leaf + 1;

		for (unsigned type = 0; type < 8; type++) {
			edit(&ept, gpas[leaf], level, NW_EPT_MT_MASK, (uint64_t)type << 3);
			if (type == 2 || type == 3 || type == 7) {
				expect_misconfig(&ept, gpas[leaf], level, NW_EPT_MISCONFIG_MEMORY_TYPE, "memory type");
			} else {
				struct nw_s2_result res = translate(&ept, gpas[leaf], NW_ACCESS_READ);

				cr_assert_eq(res.status, NW_S2_OK, "type %u level %d", type, level);
				cr_assert_eq(res.memory_type, type);
			}
		}
		edit(&ept, gpas[leaf], level, NW_EPT_MT_MASK, WB);
	}
	nw_ept_destroy(&ept);
}

Test(ept_misconfig, bits_7_3_of_every_non_leaf_entry)
{
	struct nw_ept ept;

	make(&ept, 5, nw_ept_caps_all(), false);
	for (int level = 5; level >= 2; level--) {
		for (int bit = 3; bit <= 7; bit++) {
			uint64_t mask = UINT64_C(1) << bit;

			/* Bit 7 of a PDPTE or PDE makes it a leaf: that is a page, not a reserved bit. */
			if (bit == 7 && level <= 3)
				continue;
			edit(&ept, GPA_4K, level, 0, mask);
			expect_misconfig(&ept, GPA_4K, level,
					 bit == 7 ? NW_EPT_MISCONFIG_PS_ABOVE_PDPT : NW_EPT_MISCONFIG_NONLEAF_RSVD,
					 "non-leaf bit 7:3");
			edit(&ept, GPA_4K, level, mask, 0);
		}
	}
	expect_ok(&ept, GPA_4K, "restored");
	nw_ept_destroy(&ept);
}

Test(ept_misconfig, ps_in_pml4e_and_pml5e)
{
	struct nw_ept ept;

	make(&ept, 4, nw_ept_caps_all(), false);
	edit(&ept, GPA_4K, 4, 0, NW_EPT_PS);
	expect_misconfig(&ept, GPA_4K, 4, NW_EPT_MISCONFIG_PS_ABOVE_PDPT, "PS in PML4E");
	edit(&ept, GPA_4K, 4, NW_EPT_PS, 0);
	nw_ept_destroy(&ept);

	make(&ept, 5, nw_ept_caps_all(), false);
	edit(&ept, GPA_4K, 5, 0, NW_EPT_PS);
	expect_misconfig(&ept, GPA_4K, 5, NW_EPT_MISCONFIG_PS_ABOVE_PDPT, "PS in PML5E");
	edit(&ept, GPA_4K, 5, NW_EPT_PS, 0);
	edit(&ept, GPA_4K, 4, 0, NW_EPT_PS);
	expect_misconfig(&ept, GPA_4K, 4, NW_EPT_MISCONFIG_PS_ABOVE_PDPT, "PS in PML4E under a PML5");
	edit(&ept, GPA_4K, 4, NW_EPT_PS, 0);
	nw_ept_destroy(&ept);
}

Test(ept_misconfig, one_gib_leaf_without_cpu_support)
{
	struct nw_ept ept;

	make(&ept, 4, nw_ept_caps_all(), false);
	expect_ok(&ept, GPA_1G, "with 1 GiB pages");
	ept.config.caps.pages_1g = false;
	expect_misconfig(&ept, GPA_1G, 3, NW_EPT_MISCONFIG_PAGE_1G, "1 GiB page unsupported");
	expect_ok(&ept, GPA_2M, "2 MiB pages are always supported");
	nw_ept_destroy(&ept);
}

/* Address bits 51:MAXPHYADDR of any entry are reserved (SDM Vol. 3C §29.3.2,
 * Tables 29-1..29-7): a misconfiguration at the entry's level. In a table
 * pointer they are not part of the table's address, so an edit may set them
 * (bits 38:12 below MAXPHYADDR 39 are the address, and stay protected). */
Test(ept_misconfig, address_bits_at_or_above_maxphyaddr_at_every_level)
{
	struct nw_ept ept;
	struct nw_ept_caps caps = nw_ept_caps_all();

	caps.maxphyaddr = 39;
	make(&ept, 5, caps, false);
	for (int level = 5; level >= 2; level--)
		cr_assert_eq(nw_ept_edit(&ept, nw_gpa(GPA_4K), level, 0, UINT64_C(1) << 38, 0, 0), NW_ERR_INVALID,
			     "bit 38 of a level-%d table pointer is its address", level);
	for (int bit = 39; bit <= 51; bit += 6) {
		uint64_t mask = UINT64_C(1) << bit;

		for (int level = 5; level >= 1; level--) {
			edit(&ept, GPA_4K, level, 0, mask);
			expect_misconfig(&ept, GPA_4K, level, NW_EPT_MISCONFIG_ADDR_ABOVE_MAXPHY, "address bit");
			edit(&ept, GPA_4K, level, mask, 0);
			expect_ok(&ept, GPA_4K, "the bit cleared again");
		}
		edit(&ept, GPA_2M, 2, 0, mask);
		expect_misconfig(&ept, GPA_2M, 2, NW_EPT_MISCONFIG_ADDR_ABOVE_MAXPHY, "2 MiB leaf address bit");
		edit(&ept, GPA_2M, 2, mask, 0);
		edit(&ept, GPA_1G, 3, 0, mask);
		expect_misconfig(&ept, GPA_1G, 3, NW_EPT_MISCONFIG_ADDR_ABOVE_MAXPHY, "1 GiB leaf address bit");
		edit(&ept, GPA_1G, 3, mask, 0);
	}
	/* Bit 38 is below MAXPHYADDR: a valid (if unbacked) address, not a misconfiguration. */
	edit(&ept, GPA_4K, 1, 0, UINT64_C(1) << 38);
	expect_ok(&ept, GPA_4K, "bit 38");
	nw_ept_destroy(&ept);
}

Test(ept_misconfig, large_leaf_address_bits_below_the_page_size)
{
	struct nw_ept ept;

	make(&ept, 4, nw_ept_caps_all(), false);
	for (int bit = 12; bit <= 20; bit++) {
		edit(&ept, GPA_2M, 2, 0, UINT64_C(1) << bit);
		expect_misconfig(&ept, GPA_2M, 2, NW_EPT_MISCONFIG_LARGE_MISALIGNED, "2 MiB leaf bits 20:12");
		edit(&ept, GPA_2M, 2, UINT64_C(1) << bit, 0);
	}
	for (int bit = 12; bit <= 29; bit++) {
		edit(&ept, GPA_1G, 3, 0, UINT64_C(1) << bit);
		expect_misconfig(&ept, GPA_1G, 3, NW_EPT_MISCONFIG_LARGE_MISALIGNED, "1 GiB leaf bits 29:12");
		edit(&ept, GPA_1G, 3, UINT64_C(1) << bit, 0);
	}
	expect_ok(&ept, GPA_2M, "restored");
	expect_ok(&ept, GPA_1G, "restored");
	nw_ept_destroy(&ept);
}

Test(ept_misconfig, predicates_on_hand_built_entries)
{
	struct nw_ept_config config = { .levels = 4, .caps = nw_ept_caps_all() };

	config.caps.maxphyaddr = 40;
	cr_assert(nw_ept_is_present(&config, NW_EPT_X));
	cr_assert_not(nw_ept_is_present(&config, NW_EPT_UX | NW_EPT_MT_MASK | NW_EPT_PS));
	config.mbec = true;
	cr_assert(nw_ept_is_present(&config, NW_EPT_UX));
	cr_assert(nw_ept_has_write_without_read(NW_EPT_W | NW_EPT_X));
	cr_assert_not(nw_ept_has_write_without_read(NW_EPT_W | NW_EPT_R));
	cr_assert(nw_ept_has_addr_above_maxphy(&config, UINT64_C(1) << 40));
	cr_assert_not(nw_ept_has_addr_above_maxphy(&config, UINT64_C(1) << 39));
	cr_assert_not(nw_ept_has_addr_above_maxphy(&config, UINT64_C(1) << 52), "bit 52 is not an address bit");
	cr_assert(nw_ept_has_misaligned_large_page(2, NW_EPT_PS | (UINT64_C(1) << 12)), "bit 12 of a 2 MiB leaf");
	cr_assert_not(nw_ept_has_misaligned_large_page(2, NW_EPT_PS | (UINT64_C(1) << 21)));
	cr_assert(nw_ept_has_misaligned_large_page(3, NW_EPT_PS | (UINT64_C(1) << 29)));
	cr_assert_not(nw_ept_has_misaligned_large_page(1, UINT64_C(1) << 12));
	cr_assert(nw_ept_has_reserved_memory_type(1, UINT64_C(7) << 3));
	cr_assert_not(nw_ept_has_reserved_memory_type(2, UINT64_C(7) << 3), "a non-leaf PDE has no memory type");
	cr_assert(nw_ept_has_nonleaf_rsvd_bits(2, UINT64_C(7) << 3));
	cr_assert_str_eq(nw_ept_level_name(4), "PML4E");
	cr_assert_str_eq(nw_ept_misconfig_name(NW_EPT_MISCONFIG_MEMORY_TYPE), "reserved memory type");
}
