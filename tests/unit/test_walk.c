/* Guest walk, one SDM rule per test, expected values derived by hand from the
 * SDM (Vol. 3A §4.3-§4.8). Every walk runs through both walkers (test_walk_util.h).
 * A rule one walk shows (one path, one access, one outcome) is a case of
 * tests/cases/x86_paging.cases instead (test_cases.c); here are the rest. */
#include <nestwalk/walk.h>

#include "test_walk_util.h"

TestSuite(walk, .init = tw_setup, .fini = tw_teardown);

#define GVA UINT64_C(0x00007f1234567abc) /* PML4 254, PDPT 72, PD 418, PT 359, offset 0xabc */
#define PAGE UINT64_C(0x0000000123456000)
#define UPPER (NW_PTE_P | NW_PTE_RW | NW_PTE_US)
#define LEAF (NW_PTE_P | NW_PTE_RW | NW_PTE_US)

static uint64_t tables[NW_MAX_LEVELS + 1];

static struct nw_walk_result walk4(uint64_t upper, uint64_t leaf, unsigned cpl, enum nw_access_type type)
{
	struct nw_access access = tw_access(GVA, type);
	struct nw_walk_result res;

	tw_map_4k(4, GVA, PAGE, upper, leaf, tables);
	tw.cpu.cpl = cpl;
	tw_walk(&access, 0, &res);
	return res;
}

static uint64_t pte_at(unsigned level)
{
	unsigned index = (unsigned)((GVA >> (12 + 9 * (level - 1))) & 511);

	return tw_read(tables[level] + index * 8, 8);
}

Test(walk, user_read_of_user_page_translates)
{
	struct nw_walk_result res = walk4(UPPER, LEAF, 3, NW_ACCESS_READ);

	cr_assert_eq(res.outcome, NW_OUTCOME_OK);
	cr_assert_eq(res.gpa.val, PAGE | 0xabc);
	cr_assert_eq(res.hpa.val, PAGE | 0xabc, "no second stage: HPA = GPA");
	cr_assert_eq(res.guest_page_size, NW_PAGE_SIZE);
	cr_assert_eq(res.leaf_level, 1);
	cr_assert_eq(res.refs, 4, "4-level walk without a second stage reads 4 entries");
	cr_assert_eq(res.rights, NW_WALK_RIGHT_W | NW_WALK_RIGHT_U | NW_WALK_RIGHT_X);
	cr_assert_eq(res.steps[4].index, 254);
	cr_assert_eq(res.steps[3].index, 72);
	cr_assert_eq(res.steps[2].index, 418);
	cr_assert_eq(res.steps[1].index, 359);
}

Test(walk, maxphyaddr_52_makes_bit_51_an_address_bit)
{
	struct nw_walk_result res = walk4(UPPER, LEAF | (UINT64_C(1) << 51), 0, NW_ACCESS_READ);

	cr_assert_eq(res.error_code, 0x9, "MAXPHYADDR 46: bit 51 reserved");
	tw.cpu.maxphyaddr = 52;
	{
		struct nw_access access = tw_access(GVA, NW_ACCESS_READ);

		tw_walk(&access, 0, &res);
	}
	cr_assert_eq(res.outcome, NW_OUTCOME_OK);
	cr_assert_eq(res.gpa.val, (UINT64_C(1) << 51) | PAGE | 0xabc);
}

Test(walk, fetch_from_xd_page_with_nxe_is_0x11)
{
	struct nw_walk_result res;
	struct nw_access access = tw_access(GVA, NW_ACCESS_FETCH);

	tw_map_4k(4, GVA, PAGE, UPPER, LEAF | NW_PTE_XD, tables);
	tw.cpu.efer |= NW_EFER_NXE;
	tw_walk(&access, 0, &res);
	cr_assert_eq(res.error_code, 0x11, "P|I/D, got %#x", res.error_code);
	cr_assert_eq(res.rights & NW_WALK_RIGHT_X, 0);
	/* A read of the same page is fine: XD only forbids fetches. */
	access.type = NW_ACCESS_READ;
	tw_walk(&access, 0, &res);
	cr_assert_eq(res.outcome, NW_OUTCOME_OK);
}

Test(walk, supervisor_fetch_from_user_page_with_smep_is_0x11)
{
	struct nw_walk_result res;
	struct nw_access access = tw_access(GVA, NW_ACCESS_FETCH);

	tw_map_4k(4, GVA, PAGE, UPPER, LEAF, tables);
	tw_walk(&access, 0, &res);
	cr_assert_eq(res.outcome, NW_OUTCOME_OK, "SMEP off: allowed");
	tw.cpu.cr4 |= NW_CR4_SMEP;
	tw_walk(&access, 0, &res);
	cr_assert_eq(res.error_code, 0x11, "P|I/D, got %#x", res.error_code);
}

Test(walk, supervisor_write_to_read_only_page_follows_cr0_wp)
{
	struct nw_walk_result res;
	struct nw_access access = tw_access(GVA, NW_ACCESS_WRITE);

	tw_map_4k(4, GVA, PAGE, UPPER, NW_PTE_P, tables);
	tw_walk(&access, 0, &res);
	cr_assert_eq(res.outcome, NW_OUTCOME_OK, "WP=0: supervisor writes ignore R/W");
	tw.cpu.cr0 |= NW_CR0_WP;
	tw_walk(&access, 0, &res);
	cr_assert_eq(res.error_code, 0x3, "P|W, got %#x", res.error_code);
}

Test(walk, smap_blocks_explicit_supervisor_read_unless_ac)
{
	struct nw_walk_result res;
	struct nw_access access = tw_access(GVA, NW_ACCESS_READ);

	tw_map_4k(4, GVA, PAGE, UPPER, LEAF, tables);
	tw.cpu.cr4 |= NW_CR4_SMAP;
	tw_walk(&access, 0, &res);
	cr_assert_eq(res.error_code, 0x1, "P, got %#x", res.error_code);
	tw.cpu.rflags |= NW_RFLAGS_AC;
	tw_walk(&access, 0, &res);
	cr_assert_eq(res.outcome, NW_OUTCOME_OK, "explicit access at CPL 0 with AC=1");
	access.implicit = true;
	tw_walk(&access, 0, &res);
	cr_assert_eq(res.error_code, 0x1, "implicit accesses ignore AC");
}

Test(walk, smap_implicit_access_at_cpl3_with_ac_still_blocks)
{
	struct nw_walk_result res;
	struct nw_access access = tw_access(GVA, NW_ACCESS_READ);

	tw_map_4k(4, GVA, PAGE, UPPER, LEAF, tables);
	tw.cpu.cr4 |= NW_CR4_SMAP;
	tw.cpu.rflags |= NW_RFLAGS_AC;
	tw.cpu.cpl = 3;
	access.implicit = true;
	tw_walk(&access, 0, &res);
	cr_assert_eq(res.error_code, 0x1, "supervisor (U/S=0) even at CPL 3, got %#x", res.error_code);
	access.implicit = false;
	tw_walk(&access, 0, &res);
	cr_assert_eq(res.outcome, NW_OUTCOME_OK, "explicit CPL 3 read is a user access");
}

Test(walk, pkru_write_disable_spares_supervisor_writes_without_wp)
{
	struct nw_walk_result res;
	struct nw_access access = tw_access(GVA, NW_ACCESS_WRITE);

	tw_map_4k(4, GVA, PAGE, UPPER, LEAF | (UINT64_C(5) << NW_PTE_PK_SHIFT), tables);
	tw.cpu.cr4 |= NW_CR4_PKE;
	tw.cpu.pkru = NW_PKR_WD(5);
	tw_walk(&access, 0, &res);
	cr_assert_eq(res.outcome, NW_OUTCOME_OK, "WD with CR0.WP=0: supervisor write allowed");
	tw.cpu.cr0 |= NW_CR0_WP;
	tw_walk(&access, 0, &res);
	cr_assert_eq(res.error_code, 0x23, "P|W|PK, got %#x", res.error_code);
	tw.cpu.cpl = 3;
	tw.cpu.cr0 &= ~NW_CR0_WP;
	tw_walk(&access, 0, &res);
	cr_assert_eq(res.error_code, 0x27, "user write: WD applies whatever WP, got %#x", res.error_code);
	access.type = NW_ACCESS_READ;
	tw_walk(&access, 0, &res);
	cr_assert_eq(res.outcome, NW_OUTCOME_OK, "WD does not stop reads");
}

Test(walk, pkru_access_disable_blocks_data_not_fetches)
{
	struct nw_walk_result res;
	struct nw_access access = tw_access(GVA, NW_ACCESS_READ);

	tw_map_4k(4, GVA, PAGE, UPPER, LEAF | (UINT64_C(1) << NW_PTE_PK_SHIFT), tables);
	tw.cpu.cr4 |= NW_CR4_PKE;
	tw.cpu.pkru = NW_PKR_AD(1);
	tw.cpu.cpl = 3;
	tw_walk(&access, 0, &res);
	cr_assert_eq(res.error_code, 0x25, "P|U|PK, got %#x", res.error_code);
	access.type = NW_ACCESS_FETCH;
	tw_walk(&access, 0, &res);
	cr_assert_eq(res.outcome, NW_OUTCOME_OK, "protection keys do not apply to fetches");
	tw.cpu.pkru = NW_PKR_AD(0) | NW_PKR_WD(2);
	access.type = NW_ACCESS_WRITE;
	tw_walk(&access, 0, &res);
	cr_assert_eq(res.outcome, NW_OUTCOME_OK, "other keys do not matter");
}

Test(walk, pkrs_guards_supervisor_pages)
{
	struct nw_walk_result res;
	struct nw_access access = tw_access(GVA, NW_ACCESS_READ);

	tw_map_4k(4, GVA, PAGE, NW_PTE_P | NW_PTE_RW, NW_PTE_P | NW_PTE_RW | (UINT64_C(3) << NW_PTE_PK_SHIFT), tables);
	tw.cpu.pkrs = NW_PKR_AD(3);
	tw.cpu.pkru = 0;
	tw.cpu.cr4 |= NW_CR4_PKE;
	tw_walk(&access, 0, &res);
	cr_assert_eq(res.outcome, NW_OUTCOME_OK, "PKRU does not cover supervisor pages");
	tw.cpu.cr4 |= NW_CR4_PKS;
	tw_walk(&access, 0, &res);
	cr_assert_eq(res.error_code, 0x21, "P|PK, got %#x", res.error_code);
}

/* PDPT entry 72 of the GVA above maps a 1 GiB page; PD entry 418 a 2 MiB page. */
static void map_large(unsigned level, uint64_t leaf)
{
	tw_map_4k(4, GVA, PAGE, UPPER, LEAF, tables);
	if (level == 3)
		tw_set(tables[3], 72, leaf, 8);
	else
		tw_set(tables[2], 418, leaf, 8);
}

Test(walk, one_gib_page)
{
	struct nw_walk_result res;
	struct nw_access access = tw_access(GVA, NW_ACCESS_READ);

	map_large(3, UINT64_C(0x1c0000000) | LEAF | NW_PTE_PS);
	tw_walk(&access, 0, &res);
	cr_assert_eq(res.outcome, NW_OUTCOME_OK);
	cr_assert_eq(res.gpa.val, UINT64_C(0x1c0000000) | (GVA & (NW_SIZE_1G - 1)));
	cr_assert_eq(res.guest_page_size, NW_SIZE_1G);
	cr_assert_eq(res.refs, 2);
	tw_set(tables[3], 72, UINT64_C(0x1c0000000) | LEAF | NW_PTE_PS | (UINT64_C(1) << 13), 8);
	tw_walk(&access, 0, &res);
	cr_assert_eq(res.error_code, 0x9, "bit 13 of a 1 GiB page is reserved");
	tw_set(tables[3], 72, UINT64_C(0x1c0000000) | LEAF | NW_PTE_PS, 8);
	tw.cpu.no_1g_pages = true;
	tw_walk(&access, 0, &res);
	cr_assert_eq(res.error_code, 0x9, "PS in a PDPTE without 1 GiB page support");
}

Test(walk, two_mib_page_with_pat)
{
	struct nw_walk_result res;
	struct nw_access access = tw_access(GVA, NW_ACCESS_READ);

	map_large(2, UINT64_C(0x40200000) | LEAF | NW_PTE_PS | NW_PTE_PAT_LARGE | NW_PTE_PWT);
	tw_walk(&access, 0, &res);
	cr_assert_eq(res.outcome, NW_OUTCOME_OK);
	cr_assert_eq(res.gpa.val, UINT64_C(0x40200000) | (GVA & (NW_SIZE_2M - 1)));
	cr_assert_eq(res.guest_page_size, NW_SIZE_2M);
	cr_assert_eq(res.guest_pat_index, 5, "PAT=1 PCD=0 PWT=1");
	tw_set(tables[2], 418, UINT64_C(0x40200000) | LEAF | NW_PTE_PS | (UINT64_C(1) << 20), 8);
	tw_walk(&access, 0, &res);
	cr_assert_eq(res.error_code, 0x9, "bit 20 of a 2 MiB page is reserved");
}

Test(walk, canonical_checks_48_and_57_bits)
{
	struct nw_walk_result res;
	struct nw_access access = tw_access(UINT64_C(0x0000800000000000), NW_ACCESS_READ);

	tw_map_4k(4, GVA, PAGE, UPPER, LEAF, tables);
	tw_walk(&access, 0, &res);
	cr_assert_eq(res.outcome, NW_OUTCOME_GP);
	cr_assert_eq(res.gp_reason, NW_GP_NONCANONICAL);
	cr_assert_eq(res.refs, 0);
	access.gva = nw_gva(UINT64_C(0xffff800000000000));
	tw_walk(&access, 0, &res);
	cr_assert_eq(res.outcome, NW_OUTCOME_PAGE_FAULT, "canonical: walked, PML4 entry 256 not present");
	nw_cpu_set_mode(&tw.cpu, NW_PAGING_5LEVEL);
	access.gva = nw_gva(UINT64_C(0x0100000000000000));
	tw_walk(&access, 0, &res);
	cr_assert_eq(res.outcome, NW_OUTCOME_GP);
	access.gva = nw_gva(UINT64_C(0x0000800000000000));
	tw_walk(&access, 0, &res);
	cr_assert_neq(res.outcome, NW_OUTCOME_GP, "bit 47 is an ordinary bit with 57-bit addresses");
}

Test(walk, five_level_translation)
{
	struct nw_walk_result res;
	uint64_t gva = UINT64_C(0x00ab7f1234567abc);
	struct nw_access access = tw_access(gva, NW_ACCESS_READ);

	tw_map_4k(5, gva, PAGE, UPPER, LEAF, tables);
	tw_walk(&access, 0, &res);
	cr_assert_eq(res.outcome, NW_OUTCOME_OK);
	cr_assert_eq(res.gpa.val, PAGE | 0xabc);
	cr_assert_eq(res.refs, 5);
	cr_assert_eq(res.steps[5].index, 0xab, "PML5 index is bits 56:48");
	tw_set(tables[5], 0xab, tw_read(tables[5] + 0xab * 8, 8) | NW_PTE_PS, 8);
	tw_walk(&access, 0, &res);
	cr_assert_eq(res.error_code, 0x9, "PS in a PML5E is reserved");
}

Test(walk, read_sets_accessed_on_every_level_write_sets_dirty_on_leaf)
{
	struct nw_walk_result res = walk4(UPPER, LEAF, 0, NW_ACCESS_READ);

	cr_assert_eq(res.ad_writes, 4);
	for (unsigned level = 1; level <= 4; level++)
		cr_assert_eq(pte_at(level) & (NW_PTE_A | NW_PTE_D), NW_PTE_A, "level %u", level);
	{
		struct nw_access access = tw_access(GVA, NW_ACCESS_WRITE);

		tw_walk(&access, 0, &res);
	}
	cr_assert_eq(res.ad_writes, 1, "only the leaf's D was missing");
	cr_assert_eq(pte_at(1) & NW_PTE_D, NW_PTE_D);
	for (unsigned level = 2; level <= 4; level++)
		cr_assert_eq(pte_at(level) & NW_PTE_D, 0, "no D on upper level %u", level);
}

Test(walk, faulting_leaf_gets_no_accessed_flag)
{
	struct nw_walk_result res = walk4(UPPER, NW_PTE_P, 3, NW_ACCESS_READ);

	cr_assert_eq(res.error_code, 0x5);
	cr_assert_eq(pte_at(1) & NW_PTE_A, 0);
	cr_assert_eq(pte_at(2) & NW_PTE_A, NW_PTE_A, "policy as-passed: upper entries were used");
	cr_assert_eq(pte_at(4) & NW_PTE_A, NW_PTE_A);
}

Test(walk, policy_on_success_leaves_upper_levels_of_a_fault_alone)
{
	struct nw_walk_result res;

	tw.config.ad_policy = NW_AD_ON_SUCCESS;
	res = walk4(UPPER, LEAF & ~NW_PTE_P, 0, NW_ACCESS_READ);
	cr_assert_eq(res.error_code, 0x0);
	cr_assert_eq(res.ad_writes, 0);
	for (unsigned level = 2; level <= 4; level++)
		cr_assert_eq(pte_at(level) & NW_PTE_A, 0, "level %u", level);
	tw_set(tables[1], 359, PAGE | LEAF, 8);
	{
		struct nw_access access = tw_access(GVA, NW_ACCESS_WRITE);

		tw_walk(&access, 0, &res);
	}
	cr_assert_eq(res.ad_writes, 4);
	cr_assert_eq(pte_at(1) & (NW_PTE_A | NW_PTE_D), NW_PTE_A | NW_PTE_D);
	cr_assert_eq(pte_at(3) & (NW_PTE_A | NW_PTE_D), NW_PTE_A);
}

Test(walk, lookup_writes_nothing)
{
	struct nw_walk_result res;
	struct nw_access access = tw_access(GVA, NW_ACCESS_WRITE);

	tw_map_4k(4, GVA, PAGE, UPPER, LEAF, tables);
	tw_walk(&access, NW_WALK_LOOKUP, &res);
	cr_assert_eq(res.outcome, NW_OUTCOME_OK);
	cr_assert_eq(res.ad_writes, 0);
	for (unsigned level = 1; level <= 4; level++)
		cr_assert_eq(pte_at(level) & (NW_PTE_A | NW_PTE_D), 0, "level %u", level);
}

Test(walk, paging_off_is_identity)
{
	struct nw_walk_result res;
	struct nw_access access = tw_access(UINT64_C(0x1234567), NW_ACCESS_FETCH);

	tw_walk(&access, 0, &res);
	cr_assert_eq(res.outcome, NW_OUTCOME_OK);
	cr_assert_eq(res.mode, NW_PAGING_OFF);
	cr_assert_eq(res.gpa.val, 0x1234567);
	cr_assert_eq(res.refs, 0);
}

Test(walk, access_crossing_a_page_is_two_translations)
{
	struct nw_access access = { .gva = nw_gva(0x1ffe), .size = 4, .type = NW_ACCESS_READ }, parts[2];

	cr_assert_eq(nw_walk_split(&access, parts), 2);
	cr_assert_eq(parts[0].gva.val, 0x1ffe);
	cr_assert_eq(parts[0].size, 2);
	cr_assert_eq(parts[1].gva.val, 0x2000);
	cr_assert_eq(parts[1].size, 2);
	access.gva = nw_gva(0x1ffc);
	cr_assert_eq(nw_walk_split(&access, parts), 1);
	cr_assert_eq(parts[0].size, 4);
}

Test(walk, mode_follows_control_registers)
{
	struct nw_cpu cpu = { 0 };

	cr_assert_eq(nw_cpu_paging_mode(&cpu), NW_PAGING_OFF);
	cpu.cr0 = NW_CR0_PG;
	cr_assert_eq(nw_cpu_paging_mode(&cpu), NW_PAGING_32);
	cpu.cr4 = NW_CR4_PAE;
	cr_assert_eq(nw_cpu_paging_mode(&cpu), NW_PAGING_PAE);
	cpu.efer = NW_EFER_LME;
	cr_assert_eq(nw_cpu_paging_mode(&cpu), NW_PAGING_4LEVEL);
	cpu.cr4 |= NW_CR4_LA57;
	cr_assert_eq(nw_cpu_paging_mode(&cpu), NW_PAGING_5LEVEL);
	nw_cpu_set_mode(&cpu, NW_PAGING_PAE);
	cr_assert_eq(cpu.cr0 & NW_CR0_PG, NW_CR0_PG);
	cr_assert_eq(cpu.efer & (NW_EFER_LME | NW_EFER_LMA), 0);
	cr_assert_eq(nw_cpu_paging_mode(&cpu), NW_PAGING_PAE);
}

Test(walk, out_of_range_maxphyaddr_is_clamped)
{
	struct nw_walk_result res;
	struct nw_access access = tw_access(GVA, NW_ACCESS_READ);

	tw_map_4k(4, GVA, PAGE, UPPER, LEAF | (UINT64_C(1) << 51), tables);
	tw.cpu.maxphyaddr = 99;
	tw_walk(&access, 0, &res);
	cr_assert_eq(res.outcome, NW_OUTCOME_OK, "modelled as 52: bit 51 is an address bit");
	tw.cpu.maxphyaddr = 7;
	tw_walk(&access, 0, &res);
	cr_assert_eq(res.error_code, 0x9, "modelled as 36: bit 51 reserved");
}

Test(walk, fast_walker_follows_set_cpu)
{
	TW_WALKER walker = NULL;
	struct nw_walk_result res;
	struct nw_access access = tw_access(GVA, NW_ACCESS_WRITE);

	tw_map_4k(4, GVA, PAGE, UPPER, NW_PTE_P, tables);
	walker = tw_walker(&tw.config, &tw.cpu);
	tw_walk_with(walker, &access, 0, &res);
	cr_assert_eq(res.outcome, NW_OUTCOME_OK, "CR0.WP=0");
	tw.cpu.cr0 |= NW_CR0_WP;
	nw_walker_set_cpu(walker, &tw.cpu);
	tw_walk_with(walker, &access, 0, &res);
	cr_assert_eq(res.error_code, 0x3, "tables re-derived for CR0.WP=1");
}
