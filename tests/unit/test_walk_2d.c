/* The two-dimensional walk: every guest paging-structure reference and the
 * final address translated through EPT or NPT. Expected values derived by hand
 * from SDM Vol. 3C §28.2.1 (EPT-violation exit qualification), §29.3 (EPT) and
 * APM Vol. 2 §15.25 (nested paging, #NPF EXITINFO1/2). */
#include <nestwalk/ept.h>
#include <nestwalk/npt.h>
#include <nestwalk/walk.h>

#include "test_walk_util.h"

#define GVA UINT64_C(0x00007f1234567abc) /* PML4 254, PDPT 72, PD 418, PT 359 */
#define GVA5 UINT64_C(0x00ab7f1234567abc) /* PML5 0xab */
#define G_PML5 UINT64_C(0x10000)
#define G_PML4 UINT64_C(0x11000)
#define G_PDPT UINT64_C(0x12000)
#define G_PD UINT64_C(0x13000)
#define G_PT UINT64_C(0x14000)
#define G_PAGE UINT64_C(0x200000)
#define RWU (NW_PTE_P | NW_PTE_RW | NW_PTE_US)
#define EPT_RWX (NW_EPT_R | NW_EPT_W | NW_EPT_X)

static struct nw_ept ept;
static struct nw_npt npt;
static bool have_ept, have_npt;
static uint64_t page_hpa;

static void setup(void)
{
	tw_setup();
	have_ept = have_npt = false;
}

static void teardown(void)
{
	if (have_ept)
		nw_ept_destroy(&ept);
	if (have_npt)
		nw_npt_destroy(&npt);
	tw_teardown();
}

TestSuite(walk_2d, .init = setup, .fini = teardown);

static void use_ept(int levels, bool ad, bool advanced)
{
	struct nw_ept_config config = { .levels = levels, .ad = ad, .memory_type = NW_EPT_MT_WB,
					.caps = nw_ept_caps_all() };

	config.caps.advanced_exit_info = advanced;
	cr_assert_eq(nw_ept_create(&ept, hal, &config), NW_OK);
	have_ept = true;
	tw.config.stage2 = (struct nw_stage2){ .kind = NW_STAGE2_EPT, .ept = &ept };
}

static void use_npt(void)
{
	struct nw_npt_config config = { .levels = 4, .caps = nw_npt_caps_all() };

	cr_assert_eq(nw_npt_create(&npt, hal, &config), NW_OK);
	have_npt = true;
	tw.config.stage2 = (struct nw_stage2){ .kind = NW_STAGE2_NPT, .npt = &npt };
}

/* A guest-physical page backed by a fresh host frame; returns the host address. */
static uint64_t guest_page(uint64_t gpa)
{
	uint64_t hpa = tw_frame();

	if (have_ept)
		cr_assert_eq(nw_ept_map(&ept, nw_gpa(gpa), nw_hpa(hpa), NW_PAGE_SIZE, EPT_RWX | nw_ept_mt(NW_EPT_MT_WB),
					0, NULL), NW_OK);
	else
		cr_assert_eq(nw_npt_map(&npt, nw_gpa(gpa), nw_hpa(hpa), NW_PAGE_SIZE, NW_PTE_RW, 0, NULL), NW_OK);
	return hpa;
}

/* Guest tables in guest-physical pages G_PML4.. (G_PML5.. with 5 levels), the
 * leaf mapping GVA to G_PAGE; upper entries carry upper, the PTE leaf. */
static void guest_tables(unsigned levels, uint64_t gva, uint64_t upper, uint64_t leaf)
{
	static const uint64_t gpas[] = { 0, G_PT, G_PD, G_PDPT, G_PML4, G_PML5 };
	uint64_t hpa[NW_MAX_LEVELS + 1];

	for (unsigned level = levels; level >= 1; level--)
		hpa[level] = guest_page(gpas[level]);
	page_hpa = guest_page(G_PAGE);
	nw_cpu_set_mode(&tw.cpu, levels == 5 ? NW_PAGING_5LEVEL : NW_PAGING_4LEVEL);
	tw.cpu.cr3 = gpas[levels];
	for (unsigned level = levels; level >= 1; level--) {
		unsigned index = (unsigned)((gva >> (12 + 9 * (level - 1))) & 511);

		tw_set(hpa[level], index, level == 1 ? G_PAGE | leaf : gpas[level - 1] | upper, 8);
	}
}

static struct nw_walk_result run(uint64_t gva, enum nw_access_type type, unsigned cpl, unsigned flags)
{
	struct nw_access access = tw_access(gva, type);
	struct nw_walk_result res;

	tw.cpu.cpl = cpl;
	tw_walk(&access, flags, &res);
	return res;
}

Test(walk_2d, four_over_four_costs_24_references)
{
	struct nw_walk_result res;

	use_ept(4, false, true);
	guest_tables(4, GVA, RWU, RWU);
	res = run(GVA, NW_ACCESS_READ, 3, 0);
	cr_assert_eq(res.outcome, NW_OUTCOME_OK);
	cr_assert_eq(res.gpa.val, G_PAGE | 0xabc);
	cr_assert_eq(res.hpa.val, page_hpa | 0xabc);
	cr_assert_eq(res.refs, 24, "4 guest entries x (4 EPT + 1) + 4 EPT for the final GPA, got %u", res.refs);
	cr_assert_eq(res.s2_page_size, NW_PAGE_SIZE);
	cr_assert_eq(res.memory_type, NW_EPT_MT_WB);
	cr_assert_eq(res.steps[4].s2.refs, 4);
	cr_assert_eq(res.steps[4].table_gpa.val, G_PML4);
}

Test(walk_2d, five_over_five_costs_35_references)
{
	struct nw_walk_result res;

	use_ept(5, false, true);
	guest_tables(5, GVA5, RWU, RWU);
	res = run(GVA5, NW_ACCESS_WRITE, 0, 0);
	cr_assert_eq(res.outcome, NW_OUTCOME_OK);
	cr_assert_eq(res.hpa.val, page_hpa | 0xabc);
	cr_assert_eq(res.refs, 35, "5 x (5 + 1) + 5, got %u", res.refs);
}

Test(walk_2d, ept_violation_on_final_write_with_advanced_information)
{
	struct nw_walk_result res;

	use_ept(4, false, true);
	guest_tables(4, GVA, RWU, RWU);
	cr_assert_eq(nw_ept_protect(&ept, nw_gpa(G_PAGE), NW_PAGE_SIZE, NW_EPT_R | NW_EPT_X, NULL), NW_OK);
	res = run(GVA, NW_ACCESS_WRITE, 3, 0);
	cr_assert_eq(res.outcome, NW_OUTCOME_EPT_VIOLATION);
	/* write (bit 1), EPT rights R and X (bits 3, 5), linear address valid (7), final (8),
	 * user (9) and writable (10) guest page, not XD (11 clear). */
	cr_assert_eq(res.exit_qualification, 0x7aa, "got %#llx", (unsigned long long)res.exit_qualification);
	cr_assert_eq(res.fault_gpa.val, G_PAGE | 0xabc);
	cr_assert(res.gla_valid);
	cr_assert_not(res.s2_on_table);
	cr_assert_eq(tw_read(tw.slots[3].hpa, 8) & (NW_PTE_A | NW_PTE_D), NW_PTE_A | NW_PTE_D,
		     "the guest leaf passed its own check: A/D set before the final translation");
}

Test(walk_2d, ept_violation_without_advanced_information)
{
	struct nw_walk_result res;

	use_ept(4, false, false);
	guest_tables(4, GVA, RWU, RWU | NW_PTE_XD);
	tw.cpu.efer |= NW_EFER_NXE;
	cr_assert_eq(nw_ept_protect(&ept, nw_gpa(G_PAGE), NW_PAGE_SIZE, NW_EPT_X, NULL), NW_OK);
	res = run(GVA, NW_ACCESS_READ, 0, 0);
	cr_assert_eq(res.exit_qualification, 0x1a1, "read, X right, GLA valid, final; got %#llx",
		     (unsigned long long)res.exit_qualification);
}

Test(walk_2d, ept_violation_on_guest_table_read)
{
	struct nw_walk_result res;

	use_ept(4, false, true);
	guest_tables(4, GVA, RWU, RWU);
	cr_assert_eq(nw_ept_unmap(&ept, nw_gpa(G_PDPT), NW_PAGE_SIZE, NULL), NW_OK);
	res = run(GVA, NW_ACCESS_WRITE, 3, NW_WALK_LOOKUP);
	cr_assert_eq(res.outcome, NW_OUTCOME_EPT_VIOLATION);
	cr_assert_eq(res.exit_qualification, 0x81, "read of a paging structure, GLA valid, bit 8 clear; got %#llx",
		     (unsigned long long)res.exit_qualification);
	cr_assert_eq(res.fault_gpa.val, G_PDPT + 72 * 8);
	cr_assert(res.s2_on_table);
	cr_assert_eq(res.fault_level, 3);
	cr_assert_eq(res.refs, 5 + res.steps[3].s2.refs);
}

Test(walk_2d, setting_guest_accessed_flag_is_an_ept_write)
{
	struct nw_walk_result res;

	use_ept(4, false, true);
	guest_tables(4, GVA, RWU, RWU);
	cr_assert_eq(nw_ept_protect(&ept, nw_gpa(G_PD), NW_PAGE_SIZE, NW_EPT_R, NULL), NW_OK);
	res = run(GVA, NW_ACCESS_READ, 3, NW_WALK_LOOKUP);
	cr_assert_eq(res.outcome, NW_OUTCOME_OK, "reading a read-only guest table is fine");
	res = run(GVA, NW_ACCESS_READ, 3, 0);
	cr_assert_eq(res.outcome, NW_OUTCOME_EPT_VIOLATION);
	cr_assert_eq(res.exit_qualification, 0x8b, "read+write (bits 0, 1), R right, GLA valid; got %#llx",
		     (unsigned long long)res.exit_qualification);
	cr_assert_eq(res.fault_gpa.val, G_PD + 418 * 8);
	cr_assert_eq(res.fault_level, 2);
}

Test(walk_2d, ept_ad_makes_every_guest_table_access_a_write)
{
	struct nw_walk_result res;
	struct nw_s2_mapping map;

	use_ept(4, true, true);
	guest_tables(4, GVA, RWU | NW_PTE_A, RWU | NW_PTE_A);
	res = run(GVA, NW_ACCESS_READ, 3, 0);
	cr_assert_eq(res.outcome, NW_OUTCOME_OK);
	cr_assert_eq(nw_ept_query(&ept, nw_gpa(G_PD), &map), NW_OK);
	cr_assert_eq(map.entry & (NW_EPT_A | NW_EPT_D), NW_EPT_A | NW_EPT_D, "guest table pages become dirty");
	cr_assert_eq(nw_ept_query(&ept, nw_gpa(G_PAGE), &map), NW_OK);
	cr_assert_eq(map.entry & (NW_EPT_A | NW_EPT_D), NW_EPT_A, "a read of the page itself only sets A");
	cr_assert_eq(nw_ept_protect(&ept, nw_gpa(G_PD), NW_PAGE_SIZE, NW_EPT_R, NULL), NW_OK);
	res = run(GVA, NW_ACCESS_READ, 3, 0);
	cr_assert_eq(res.outcome, NW_OUTCOME_EPT_VIOLATION, "no guest A/D to set, still a write");
	cr_assert_eq(res.exit_qualification, 0x8b, "got %#llx", (unsigned long long)res.exit_qualification);
}

Test(walk_2d, ept_misconfiguration_reports_gpa_and_level)
{
	struct nw_walk_result res;
	uint64_t old;

	use_ept(4, false, true);
	guest_tables(4, GVA, RWU, RWU);
	cr_assert_eq(nw_ept_edit(&ept, nw_gpa(G_PAGE), 1, NW_EPT_R, NW_EPT_W, &old, NULL), NW_OK);
	res = run(GVA, NW_ACCESS_READ, 3, 0);
	cr_assert_eq(res.outcome, NW_OUTCOME_EPT_MISCONFIG, "write without read");
	cr_assert_eq(res.fault_gpa.val, G_PAGE | 0xabc);
	cr_assert_eq(res.fault_level, 1);
}

Test(walk_2d, guest_page_fault_comes_before_the_final_translation)
{
	struct nw_walk_result res;

	use_ept(4, false, true);
	guest_tables(4, GVA, RWU, NW_PTE_P | NW_PTE_US);
	cr_assert_eq(nw_ept_unmap(&ept, nw_gpa(G_PAGE), NW_PAGE_SIZE, NULL), NW_OK);
	res = run(GVA, NW_ACCESS_WRITE, 3, 0);
	cr_assert_eq(res.outcome, NW_OUTCOME_PAGE_FAULT);
	cr_assert_eq(res.error_code, 0x7);
	cr_assert_eq(res.refs, 20, "4 x (4 + 1), no final translation");
}

Test(walk_2d, npt_four_over_four)
{
	struct nw_walk_result res;

	use_npt();
	guest_tables(4, GVA, RWU, RWU);
	res = run(GVA, NW_ACCESS_WRITE, 3, 0);
	cr_assert_eq(res.outcome, NW_OUTCOME_OK);
	cr_assert_eq(res.hpa.val, page_hpa | 0xabc);
	cr_assert_eq(res.refs, 24);
}

Test(walk_2d, npf_on_final_address)
{
	struct nw_walk_result res;

	use_npt();
	guest_tables(4, GVA, RWU, RWU);
	cr_assert_eq(nw_npt_protect(&npt, nw_gpa(G_PAGE), NW_PAGE_SIZE, 0, NULL), NW_OK);
	res = run(GVA, NW_ACCESS_WRITE, 3, 0);
	cr_assert_eq(res.outcome, NW_OUTCOME_NPF);
	cr_assert_eq(res.exitinfo1, UINT64_C(0x100000007), "final | U | W | P, got %#llx",
		     (unsigned long long)res.exitinfo1);
	cr_assert_eq(res.exitinfo2, G_PAGE | 0xabc);
	cr_assert_eq(nw_npt_unmap(&npt, nw_gpa(G_PAGE), NW_PAGE_SIZE, NULL), NW_OK);
	res = run(GVA, NW_ACCESS_READ, 3, 0);
	cr_assert_eq(res.exitinfo1, UINT64_C(0x100000004), "not present: final | U, got %#llx",
		     (unsigned long long)res.exitinfo1);
}

Test(walk_2d, npf_on_fetch_reports_id)
{
	struct nw_walk_result res;

	use_npt();
	guest_tables(4, GVA, RWU, RWU);
	cr_assert_eq(nw_npt_protect(&npt, nw_gpa(G_PAGE), NW_PAGE_SIZE, NW_PTE_XD, NULL), NW_OK);
	res = run(GVA, NW_ACCESS_FETCH, 3, 0);
	cr_assert_eq(res.exitinfo1, UINT64_C(0x100000015), "final | I/D | U | P, got %#llx",
		     (unsigned long long)res.exitinfo1);
}

Test(walk_2d, npf_on_guest_table_access)
{
	struct nw_walk_result res;

	use_npt();
	guest_tables(4, GVA, RWU, RWU);
	cr_assert_eq(nw_npt_unmap(&npt, nw_gpa(G_PT), NW_PAGE_SIZE, NULL), NW_OK);
	res = run(GVA, NW_ACCESS_WRITE, 3, 0);
	cr_assert_eq(res.outcome, NW_OUTCOME_NPF);
	cr_assert_eq(res.exitinfo1, UINT64_C(0x200000006), "guest table | U | W, got %#llx",
		     (unsigned long long)res.exitinfo1);
	cr_assert_eq(res.exitinfo2, G_PT + 359 * 8);
}

/* APM §15.25.5: NPT always has A/D, so the nested walk checks a guest
 * page-table access as a user write even when the guest only reads and no
 * guest A/D flag needs setting (QEMU: EXITINFO1 0x200000006). */
Test(walk_2d, npf_on_guest_table_read_is_a_write)
{
	struct nw_walk_result res;

	use_npt();
	guest_tables(4, GVA, RWU, RWU);
	cr_assert_eq(nw_npt_unmap(&npt, nw_gpa(G_PT), NW_PAGE_SIZE, NULL), NW_OK);
	res = run(GVA, NW_ACCESS_READ, 3, NW_WALK_LOOKUP);
	cr_assert_eq(res.outcome, NW_OUTCOME_NPF);
	cr_assert_eq(res.exitinfo1, UINT64_C(0x200000006), "guest table | U | W, got %#llx",
		     (unsigned long long)res.exitinfo1);
	cr_assert_eq(res.exitinfo2, G_PT + 359 * 8);
}

/* A read-only nested page holding a guest page table faults the walk with
 * P | W | U, since the table access is a write (APM §15.25.5). */
Test(walk_2d, npf_on_read_only_guest_table)
{
	struct nw_walk_result res;

	use_npt();
	guest_tables(4, GVA, RWU, RWU);
	cr_assert_eq(nw_npt_protect(&npt, nw_gpa(G_PD), NW_PAGE_SIZE, 0, NULL), NW_OK);
	res = run(GVA, NW_ACCESS_READ, 0, NW_WALK_LOOKUP);
	cr_assert_eq(res.outcome, NW_OUTCOME_NPF);
	cr_assert_eq(res.exitinfo1, UINT64_C(0x200000007), "guest table | U | W | P, got %#llx",
		     (unsigned long long)res.exitinfo1);
	cr_assert_eq(res.exitinfo2, G_PD + 418 * 8);
	cr_assert_eq(res.fault_level, NW_LEVEL_PD);
}

Test(walk_2d, npf_reserved_bit_sets_rsvd_and_p)
{
	struct nw_walk_result res;
	uint64_t old;

	use_npt();
	guest_tables(4, GVA, RWU, RWU);
	cr_assert_eq(nw_npt_edit(&npt, nw_gpa(G_PAGE), 1, 0, UINT64_C(1) << 51, &old, NULL), NW_OK);
	res = run(GVA, NW_ACCESS_READ, 3, 0);
	cr_assert_eq(res.outcome, NW_OUTCOME_NPF);
	cr_assert_eq(res.exitinfo1, UINT64_C(0x10000000d), "final | RSVD | U | P, got %#llx",
		     (unsigned long long)res.exitinfo1);
}

Test(walk_2d_nomem, unbacked_table_is_a_clean_outcome)
{
	struct nw_simmem_config config = { .size = UINT64_C(1) << 32, .seed = 1 };
	struct nw_simmem *loose = nw_simmem_create(&config);
	struct nw_walk_config walk = { .hal = nw_simmem_owner(loose, "walk") };
	struct nw_cpu cpu = { .cr3 = UINT64_C(0x700000000) };
	struct nw_access access = { .gva = nw_gva(0x1000), .type = NW_ACCESS_READ };
	struct nw_walk_result ref, fast;
	TW_WALKER walker = NULL;

	nw_cpu_set_mode(&cpu, NW_PAGING_4LEVEL);
	nw_walk_reference(&walk, &cpu, &access, 0, &ref);
	walker = tw_walker(&walk, &cpu);
	nw_walker_translate(walker, &access, 0, &fast);
	cr_assert_eq(ref.outcome, NW_OUTCOME_NO_MEMORY);
	cr_assert_eq(fast.outcome, NW_OUTCOME_NO_MEMORY);
	cr_assert_eq(fast.fault_gpa.val, UINT64_C(0x700000000));
	cr_assert_eq(fast.fault_level, 4);
	cr_assert_eq(nw_simmem_destroy(loose), 0);
}

/* The per-level record is opt-in (walk.h): without NW_WALK_RECORD the steps and
 * the stage-2 records keep whatever they held, and the hot fields still give
 * the guest leaf as read and the EPT rights of the final page (R, W, X in
 * every entry; no user-execute without mode-based execute control). */
Test(walk_2d, per_level_record_is_opt_in)
{
	struct nw_access access = tw_access(GVA, NW_ACCESS_READ);
	struct nw_walk_result res;
	TW_WALKER walker = NULL;

	use_ept(4, false, true);
	guest_tables(4, GVA, RWU | NW_PTE_A, RWU | NW_PTE_A);
	tw.cpu.cpl = 3;
	walker = tw_walker(&tw.config, &tw.cpu);
	memset(&res, 0xa5, sizeof(res));
	nw_walker_translate(walker, &access, 0, &res);
	cr_assert_eq(res.outcome, NW_OUTCOME_OK);
	cr_assert_eq(res.hpa.val, page_hpa | 0xabc);
	cr_assert_eq(res.refs, 24);
	cr_assert_eq(res.leaf_entry, G_PAGE | RWU | NW_PTE_A);
	cr_assert_eq(res.s2_rights, NW_S2_RIGHT_R | NW_S2_RIGHT_W | NW_S2_RIGHT_X);
	cr_assert_eq(res.steps[4].entry, UINT64_C(0xa5a5a5a5a5a5a5a5), "no record asked for, none written");
	cr_assert_eq(res.final_s2.refs, 0xa5a5a5a5u);
	nw_walker_translate(walker, &access, NW_WALK_RECORD, &res);
	cr_assert_eq(res.steps[4].table_gpa.val, G_PML4);
	cr_assert_eq(res.steps[4].entry, G_PDPT | RWU | NW_PTE_A);
	cr_assert_eq(res.steps[4].s2.refs, 4);
	cr_assert_eq(res.final_s2.refs, 4);
	cr_assert_eq(res.leaf_entry, G_PAGE | RWU | NW_PTE_A);
}
