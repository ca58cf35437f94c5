/* The RISC-V VS-stage (privileged spec: supervisor "Virtual Address
 * Translation Process" for Sv39/Sv48/Sv57 and "satp"; H extension
 * "Two-Stage Address Translation", "Guest-Page Faults", the htinst
 * pseudoinstruction table) through the one guest walk, alone and over an
 * Sv39x4 G-stage. Every expected value is derived by hand from the spec,
 * the derivation beside it. Levels in results are the library's (1 = the
 * 4 KiB page, the spec's level 0). A PTE holds PPN = address >> 12 in bits
 * 53:10, so an address A appears in an entry as A >> 2. */
#include <nestwalk/riscv_gstage.h>
#include <nestwalk/riscv_vs.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "riscv_layout.h"
#include "test_frames.h"

#define GPA (DATA_GPA | 0x123) /* the leaf's page and VA's offset */

static struct {
	struct nw_walk_config config;
	struct nw_rv_vs_cpu cpu;
	struct nw_rv_gstage g;
	bool has_g;
	struct test_frames frames;
	uint64_t root, l1, l0; /* the VS-stage tables' host addresses */
} t;

static void setup(void)
{
	fixture_setup();
	memset(&t, 0, sizeof(t));
	t.config.hal = hal;
	t.config.stage2.kind = NW_STAGE2_NONE;
	t.cpu.caps = nw_rv_vs_caps_all();
}

static void teardown(void)
{
	if (t.has_g)
		nw_rv_gstage_destroy(&t.g);
	test_frames_free(&t.frames);
	fixture_teardown();
}

TestSuite(riscv_vs, .init = setup, .fini = teardown);

static uint64_t frame(void)
{
	return test_frames_take(&t.frames);
}

static void load_vsatp(uint64_t value)
{
	cr_assert_eq(nw_rv_vsatp_decode(value, &t.cpu.caps, &t.cpu.vsatp), NW_OK);
}

/* Without a second stage (GPA = HPA): root[1] -> L1, L1[1] -> L0, L0[1] = leaf, the root in vsatp. */
static void one_d(uint64_t leaf)
{
	t.root = frame();
	t.l1 = frame();
	t.l0 = frame();
	*test_slot(t.root, 1) = t.l1 >> 2 | V;
	*test_slot(t.l1, 1) = t.l0 >> 2 | V;
	*test_slot(t.l0, 1) = leaf;
	load_vsatp((uint64_t)NW_RV_SATP_SV39 << NW_RV_SATP_MODE_SHIFT | t.root >> 12);
}

/* An Sv39x4 G-stage (Svade unless adue; HS-level sstatus.MXR mxr, shared with the VS-stage). */
static void gstage(bool adue, bool mxr)
{
	struct nw_rv_gstage_config c = { .mode = NW_RV_HGATP_SV39X4, .adue = adue, .mxr = mxr,
					 .caps = nw_rv_gstage_caps_all() };

	cr_assert_eq(nw_rv_gstage_create(&t.g, hal, &c), NW_OK);
	t.has_g = true;
	t.config.stage2 = (struct nw_stage2){ .kind = NW_STAGE2_RISCV, .riscv = &t.g };
	t.cpu.hs_mxr = mxr;
}

/* A guest-physical page: a fresh frame the G-stage maps at gpa with a 4 KiB leaf of gflags. */
static uint64_t gpage(uint64_t gpa, uint64_t gflags)
{
	uint64_t f = frame();

	cr_assert_eq(nw_rv_gstage_map(&t.g, nw_gpa(gpa), nw_hpa(f), NW_PAGE_SIZE, gflags, 0, 0), NW_OK);
	return f;
}

/* The two-dimensional set-up: the VS-stage tables at ROOT_GPA, L1_GPA, L0_GPA and the data page at DATA_GPA,
 * each its own frame behind an Sv39x4 G-stage leaf of GALL (a Svade G-stage without MXR unless gstage() made
 * one); vsatp VSATP_SV39. Returns the data frame. */
static uint64_t two_d(uint64_t leaf)
{
	uint64_t data;

	if (!t.has_g)
		gstage(false, false);
	t.root = gpage(ROOT_GPA, GALL);
	t.l1 = gpage(L1_GPA, GALL);
	t.l0 = gpage(L0_GPA, GALL);
	data = gpage(DATA_GPA, GALL);
	*test_slot(t.root, 1) = ROOT_PTE;
	*test_slot(t.l1, 1) = L1_PTE;
	*test_slot(t.l0, 1) = leaf;
	load_vsatp(VSATP_SV39);
	return data;
}

static struct nw_walk_result walk_flags(uint64_t va, enum nw_access_type type, unsigned flags)
{
	struct nw_access access = { .gva = nw_gva(va), .size = 1, .type = type };
	struct nw_walk_result res;

	nw_rv_vs_walk(&t.config, &t.cpu, &access, flags, &res);
	return res;
}

static struct nw_walk_result walk(uint64_t va, enum nw_access_type type)
{
	return walk_flags(va, type, 0);
}

static void expect_ok(uint64_t va, enum nw_access_type type, uint64_t gpa)
{
	struct nw_walk_result res = walk(va, type);

	cr_assert_eq(res.outcome, NW_OUTCOME_OK, "GVA %#llx type %d: outcome %s scause %llu", (unsigned long long)va,
		     type, nw_outcome_name(res.outcome), (unsigned long long)res.rv_trap.scause);
	cr_assert_eq(res.gpa.val, gpa, "gpa %#llx", (unsigned long long)res.gpa.val);
}

/* A VS-stage page fault at (library) level, taken to VS-mode: scause, stval the GVA, no HS-mode CSRs. */
static void expect_pf(uint64_t va, enum nw_access_type type, uint64_t scause, int level)
{
	struct nw_walk_result res = walk(va, type);

	cr_assert_eq(res.outcome, NW_OUTCOME_PAGE_FAULT, "GVA %#llx type %d: outcome %s", (unsigned long long)va,
		     type, nw_outcome_name(res.outcome));
	cr_assert_eq(res.rv_trap.scause, scause, "scause %llu, want %llu", (unsigned long long)res.rv_trap.scause,
		     (unsigned long long)scause);
	cr_assert_eq(res.rv_trap.stval, va);
	cr_assert_eq(res.rv_trap.htval, 0);
	cr_assert_eq(res.rv_trap.htinst, 0);
	cr_assert_not(res.rv_trap.gva);
	cr_assert_eq(res.fault_level, level, "level %d, want %d", res.fault_level, level);
}

/* A guest-page fault taken to HS-mode: scause, stval VA, htval, htinst, hstatus.GVA; the GPA it hit. */
static struct nw_walk_result expect_gpf(enum nw_access_type type, uint64_t scause, uint64_t htval, uint64_t htinst,
					uint64_t fault_gpa, bool on_table)
{
	struct nw_walk_result res = walk(VA, type);

	cr_assert_eq(res.outcome, NW_OUTCOME_GUEST_PAGE_FAULT, "outcome %s", nw_outcome_name(res.outcome));
	cr_assert_eq(res.rv_trap.scause, scause, "scause %llu, want %llu", (unsigned long long)res.rv_trap.scause,
		     (unsigned long long)scause);
	cr_assert_eq(res.rv_trap.stval, VA);
	cr_assert_eq(res.rv_trap.htval, htval, "htval %#llx", (unsigned long long)res.rv_trap.htval);
	cr_assert_eq(res.rv_trap.htinst, htinst, "htinst %#llx", (unsigned long long)res.rv_trap.htinst);
	cr_assert(res.rv_trap.gva);
	cr_assert_eq(res.fault_gpa.val, fault_gpa);
	cr_assert_eq(res.s2_on_table, on_table);
	return res;
}

Test(riscv_vs, vsatp_fields_as_the_spec_lays_them_out)
{
	struct nw_rv_vs_caps caps = nw_rv_vs_caps_all();
	struct nw_rv_vsatp s;

	/* MODE (63:60) 8 = Sv39, ASID (59:44) 0, PPN (43:0) 0x80000: root 0x8000_0000. */
	cr_assert_eq(nw_rv_vsatp_decode(VSATP_SV39, &caps, &s), NW_OK);
	cr_assert_eq(s.mode, NW_RV_SATP_SV39);
	cr_assert_eq(s.asid, 0);
	cr_assert_eq(s.root, 0x80000000);
	/* MODE 9 = Sv48, ASID 0x123 (0x123 << 44 = 0x0012_3000_0000_0000), PPN 0x80001: root 0x8000_1000 (a VS
	 * root is one 4 KiB page: no alignment beyond the PPN's). */
	cr_assert_eq(nw_rv_vsatp_decode(UINT64_C(0x9012300000080001), &caps, &s), NW_OK);
	cr_assert_eq(s.mode, NW_RV_SATP_SV48);
	cr_assert_eq(s.asid, 0x123);
	cr_assert_eq(s.root, 0x80001000);
	/* MODE 10 = Sv57, ASID 0xffff (16 bits: 0x0fff_f000_0000_0000). */
	cr_assert_eq(nw_rv_vsatp_decode(UINT64_C(0xaffff00000080000), &caps, &s), NW_OK);
	cr_assert_eq(s.mode, NW_RV_SATP_SV57);
	cr_assert_eq(s.asid, 0xffff);
	/* Bare is all zeros; Bare with a PPN has an UNSPECIFIED effect: refused. */
	cr_assert_eq(nw_rv_vsatp_decode(0, &caps, &s), NW_OK);
	cr_assert_eq(s.mode, NW_RV_SATP_BARE);
	cr_assert_eq(nw_rv_vsatp_decode(0x80000, &caps, &s), NW_ERR_INVALID);
	/* MODE 1-7 and 12-15 are reserved, 11 (Sv64) too: refused. */
	cr_assert_eq(nw_rv_vsatp_decode(UINT64_C(0x1000000000080000), &caps, &s), NW_ERR_INVALID);
	cr_assert_eq(nw_rv_vsatp_decode(UINT64_C(0xb000000000080000), &caps, &s), NW_ERR_INVALID);
	cr_assert_eq(nw_rv_vsatp_decode(UINT64_C(0xf000000000080000), &caps, &s), NW_ERR_INVALID);
	/* ASIDLEN 9: ASID 0x1ff fits, 0x200 (0x200 << 44 = 0x0020_0000_0000_0000) does not. */
	caps.asid_bits = 9;
	cr_assert_eq(nw_rv_vsatp_decode(UINT64_C(0x801ff00000080000), &caps, &s), NW_OK);
	cr_assert_eq(nw_rv_vsatp_decode(UINT64_C(0x8020000000080000), &caps, &s), NW_ERR_RANGE);
	caps.sv57 = false;
	cr_assert_eq(nw_rv_vsatp_decode(UINT64_C(0xa000000000080000), &caps, &s), NW_ERR_UNSUPPORTED);
}

Test(riscv_vs, sv39_over_sv39x4_reads_each_pte_through_the_g_stage)
{
	uint64_t data = two_d(LEAF(R | W | X | A | D));
	struct nw_walk_result res = walk(VA, NW_ACCESS_READ);

	cr_assert_eq(res.outcome, NW_OUTCOME_OK, "outcome %s", nw_outcome_name(res.outcome));
	cr_assert_eq(res.gpa.val, GPA);
	cr_assert_eq(res.hpa.val, data | 0x123);
	cr_assert_eq(res.leaf_level, 1);
	cr_assert_eq(res.guest_page_size, NW_PAGE_SIZE);
	cr_assert_eq(res.s2_page_size, NW_PAGE_SIZE);
	cr_assert_eq(res.rights, NW_WALK_RIGHT_R | NW_WALK_RIGHT_W | NW_WALK_RIGHT_X);
	/* Each VS-stage PTE at its table's GPA + vpn[i] x 8 (index 1 at every level), read at the frame the
	 * G-stage maps it to. */
	cr_assert_eq(res.steps[3].table_gpa.val, ROOT_GPA);
	cr_assert_eq(res.steps[3].table_hpa.val, t.root);
	cr_assert_eq(res.steps[3].entry, ROOT_PTE);
	cr_assert_eq(res.steps[2].table_gpa.val, L1_GPA);
	cr_assert_eq(res.steps[2].table_hpa.val, t.l1);
	cr_assert_eq(res.steps[2].entry, L1_PTE);
	cr_assert_eq(res.steps[1].table_gpa.val, L0_GPA);
	cr_assert_eq(res.steps[1].table_hpa.val, t.l0);
	for (int level = 1; level <= 3; level++) {
		cr_assert_eq(res.steps[level].index, 1);
		/* Sv39x4 has three levels (root, L1, L0 of 4 KiB leaves): three G-stage reads per PTE. */
		cr_assert_eq(res.steps[level].s2.refs, 3);
	}
	/* Three VS-stage PTEs of 3 + 1 references each, and 3 for the final GPA: 15. */
	cr_assert_eq(res.refs, 15);
	cr_assert_eq(res.final_s2.refs, 3);
	cr_assert_eq(res.ad_writes, 0);
}

/* levels tables, each table's entry 1 pointing to the next (a pointer: PPN | V), the last's to leaf; vsatp
 * mode with the first as its root. */
static void chain(unsigned mode, unsigned levels, uint64_t leaf)
{
	uint64_t table = frame(), root = table;

	for (unsigned level = levels; level > 1; level--) {
		uint64_t next = frame();

		*test_slot(table, 1) = next >> 2 | V;
		table = next;
	}
	*test_slot(table, 1) = leaf;
	load_vsatp((uint64_t)mode << NW_RV_SATP_MODE_SHIFT | root >> 12);
}

/* Sv48 indexes VA bits 47:39, 38:30, 29:21, 20:12: 0x80_4020_1123 has 1 in each (0x80_4020_1123 >> 39 = 1,
 * >> 30 = 0x201, >> 21 = 0x40201, >> 12 = 0x8040201, each & 0x1ff = 1). Sv57 adds bits 56:48: 0x1_0080_4020_1123.
 * Without a G-stage one reference a level. */
Test(riscv_vs, sv48_and_sv57_walk_four_and_five_levels)
{
	struct nw_walk_result res;

	chain(NW_RV_SATP_SV48, 4, LEAF(R | A));
	res = walk(UINT64_C(0x8040201123), NW_ACCESS_READ);
	cr_assert_eq(res.outcome, NW_OUTCOME_OK, "outcome %s", nw_outcome_name(res.outcome));
	cr_assert_eq(res.gpa.val, GPA);
	cr_assert_eq(res.refs, 4);
	for (int level = 1; level <= 4; level++)
		cr_assert_eq(res.steps[level].index, 1);
	chain(NW_RV_SATP_SV57, 5, LEAF(R | A));
	res = walk(UINT64_C(0x1008040201123), NW_ACCESS_READ);
	cr_assert_eq(res.outcome, NW_OUTCOME_OK, "outcome %s", nw_outcome_name(res.outcome));
	cr_assert_eq(res.gpa.val, GPA);
	cr_assert_eq(res.refs, 5);
	cr_assert_eq(res.steps[5].index, 1);
	/* A 512 GiB leaf at Sv48's root: PPN 0x80_0000_0000 >> 12 (aligned: ppn[2:0] zero), entry 0x20_0000_0000 |
	 * V R A; GPA 0x80_0000_0000 + (VA & 0x7f_ffff_ffff = 0x40201123). */
	chain(NW_RV_SATP_SV48, 1, UINT64_C(0x2000000000) | V | R | A);
	res = walk(UINT64_C(0x8040201123), NW_ACCESS_READ);
	cr_assert_eq(res.outcome, NW_OUTCOME_OK, "outcome %s", nw_outcome_name(res.outcome));
	cr_assert_eq(res.gpa.val, UINT64_C(0x8040201123));
	cr_assert_eq(res.guest_page_size, UINT64_C(1) << 39);
	cr_assert_eq(res.leaf_level, 4);
}

Test(riscv_vs, a_g_stage_fault_on_a_vs_pte_read_is_a_guest_page_fault_with_the_read_pseudoinstruction)
{
	struct nw_walk_result res;

	two_d(LEAF(R | W | X | A | D));
	/* L1's page taken out of the G-stage: the read of L1[1] at GPA 0x8000_1008 finds an invalid G-stage leaf.
	 * The cause follows the original access: 21 load, 23 store, 20 fetch; htval 0x8000_1008 >> 2 =
	 * 0x2000_0402; htinst 0x3000 (the 64-bit implicit read). */
	cr_assert_eq(nw_rv_gstage_unmap(&t.g, nw_gpa(L1_GPA), NW_PAGE_SIZE, 0), NW_OK);
	res = expect_gpf(NW_ACCESS_READ, 21, 0x20000402, 0x3000, 0x80001008, true);
	/* At the VS-stage's L1 (library level 2), after the root PTE (3 + 1) and three G-stage reads. */
	cr_assert_eq(res.fault_level, 2);
	cr_assert_eq(res.refs, 7);
	expect_gpf(NW_ACCESS_WRITE, 23, 0x20000402, 0x3000, 0x80001008, true);
	expect_gpf(NW_ACCESS_FETCH, 20, 0x20000402, 0x3000, 0x80001008, true);
}

Test(riscv_vs, a_g_stage_fault_on_the_final_gpa_has_htinst_zero)
{
	two_d(LEAF(R | W | X | A | D));
	/* The data page taken out of the G-stage: the VS-stage translates, the final GPA 0x8010_0123 faults;
	 * htval 0x8010_0123 >> 2 = 0x2004_0048, htinst 0 (an explicit access). */
	cr_assert_eq(nw_rv_gstage_unmap(&t.g, nw_gpa(DATA_GPA), NW_PAGE_SIZE, 0), NW_OK);
	expect_gpf(NW_ACCESS_READ, 21, 0x20040048, 0, GPA, false);
	expect_gpf(NW_ACCESS_WRITE, 23, 0x20040048, 0, GPA, false);
	expect_gpf(NW_ACCESS_FETCH, 20, 0x20040048, 0, GPA, false);
}

Test(riscv_vs, svade_faults_on_a_or_d_clear)
{
	one_d(LEAF(R | W));
	/* Step 7, Svade: A clear is a page fault for any access (13 load, 15 store). */
	expect_pf(VA, NW_ACCESS_READ, 13, 1);
	expect_pf(VA, NW_ACCESS_WRITE, 15, 1);
	/* A set, D clear: loads translate, a store faults. */
	*test_slot(t.l0, 1) = LEAF(R | W | A);
	expect_ok(VA, NW_ACCESS_READ, GPA);
	expect_pf(VA, NW_ACCESS_WRITE, 15, 1);
	cr_assert_eq(*test_slot(t.l0, 1), LEAF(R | W | A), "Svade writes nothing");
}

Test(riscv_vs, svadu_sets_a_and_d_through_a_g_stage_store)
{
	struct nw_walk_result res;

	two_d(LEAF(R | W));
	t.cpu.adue = true;
	/* NW_WALK_LOOKUP: translated, nothing written. */
	res = walk_flags(VA, NW_ACCESS_READ, NW_WALK_LOOKUP);
	cr_assert_eq(res.outcome, NW_OUTCOME_OK);
	cr_assert_eq(*test_slot(t.l0, 1), LEAF(R | W));
	/* A load sets A (0x40) only: one write. */
	res = walk(VA, NW_ACCESS_READ);
	cr_assert_eq(res.outcome, NW_OUTCOME_OK);
	cr_assert_eq(res.ad_writes, 1);
	cr_assert_eq(*test_slot(t.l0, 1), LEAF(R | W | A));
	/* A store sets D (0x80) too. */
	res = walk(VA, NW_ACCESS_WRITE);
	cr_assert_eq(res.outcome, NW_OUTCOME_OK);
	cr_assert_eq(*test_slot(t.l0, 1), LEAF(R | W | A | D));
	/* Nothing left to set: no write. */
	res = walk(VA, NW_ACCESS_WRITE);
	cr_assert_eq(res.ad_writes, 0);
}

Test(riscv_vs, an_svadu_write_the_g_stage_refuses_is_a_guest_page_fault_with_the_write_pseudoinstruction)
{
	two_d(LEAF(R | W));
	t.cpu.adue = true;
	/* L0's page read-only in the G-stage (R, U, A, D: no W): the PTE read passes, setting A in L0[1] at
	 * GPA 0x8000_2008 is a G-stage store and faults. The cause follows the original access (21 for a
	 * load); htval 0x8000_2008 >> 2 = 0x2000_0802; htinst 0x3020 (the 64-bit implicit write). */
	cr_assert_eq(nw_rv_gstage_protect(&t.g, nw_gpa(L0_GPA), NW_PAGE_SIZE, R | U, 0), NW_OK);
	expect_gpf(NW_ACCESS_READ, 21, 0x20000802, 0x3020, 0x80002008, true);
	expect_gpf(NW_ACCESS_WRITE, 23, 0x20000802, 0x3020, 0x80002008, true);
	cr_assert_eq(*test_slot(t.l0, 1), LEAF(R | W), "nothing written");
	/* Under Svade the walk writes nothing: the VS-stage page fault (13) comes first. */
	t.cpu.adue = false;
	expect_pf(VA, NW_ACCESS_READ, 13, 1);
}

Test(riscv_vs, canonical_addresses)
{
	one_d(LEAF(R | W | X | A | D));
	/* Sv39: bits 63:39 must equal bit 38. 0x40_0000_0000 has bit 38 set and 63:39 clear; 0xffff_ff80_0000_0000
	 * bits 63:39 set and bit 38 clear: page faults before any table (level 0, no reference). */
	expect_pf(UINT64_C(0x4000000000), NW_ACCESS_READ, 13, 0);
	expect_pf(UINT64_C(0xffffff8000000000), NW_ACCESS_WRITE, 15, 0);
	expect_pf(UINT64_C(0x4000000000), NW_ACCESS_FETCH, 12, 0);
	cr_assert_eq(walk(UINT64_C(0x4000000000), NW_ACCESS_READ).refs, 0);
	/* 0xffff_ffc0_0000_0000 is canonical (63:38 all set): the walk reads root[(va >> 30) & 0x1ff = 0x100],
	 * which is empty: a page fault at the root (library level 3) after one read. */
	expect_pf(UINT64_C(0xffffffc000000000), NW_ACCESS_READ, 13, 3);
	cr_assert_eq(walk(UINT64_C(0xffffffc000000000), NW_ACCESS_READ).refs, 1);
	/* Sv48 (bits 63:48 equal bit 47): 0x8000_0000_0000 has bit 47 alone. Sv57: 0x0100_0000_0000_0000 bit 56. */
	load_vsatp((uint64_t)NW_RV_SATP_SV48 << NW_RV_SATP_MODE_SHIFT | t.root >> 12);
	expect_pf(UINT64_C(0x800000000000), NW_ACCESS_READ, 13, 0);
	expect_pf(UINT64_C(0xffff800000000000), NW_ACCESS_READ, 13, 4);
	load_vsatp((uint64_t)NW_RV_SATP_SV57 << NW_RV_SATP_MODE_SHIFT | t.root >> 12);
	expect_pf(UINT64_C(0x0100000000000000), NW_ACCESS_READ, 13, 0);
	expect_pf(UINT64_C(0xff00000000000000), NW_ACCESS_READ, 13, 5);
	/* Bare: no translation, no canonical rule in the VS-stage: GPA = GVA. */
	load_vsatp(0);
	expect_ok(UINT64_C(0x4000000000), NW_ACCESS_READ, UINT64_C(0x4000000000));
}

Test(riscv_vs, superpages_and_their_alignment)
{
	struct nw_walk_result res;

	one_d(0);
	/* A 2 MiB leaf at L1[1]: 0x8020_0000 >> 2 = 0x2008_0000 | V R W A D (0xc7): GPA 0x8020_0000 + (VA &
	 * 0x1f_ffff = 0x1123). */
	*test_slot(t.l1, 1) = 0x200800c7;
	res = walk(VA, NW_ACCESS_READ);
	cr_assert_eq(res.outcome, NW_OUTCOME_OK);
	cr_assert_eq(res.gpa.val, 0x80201123);
	cr_assert_eq(res.leaf_level, 2);
	cr_assert_eq(res.guest_page_size, UINT64_C(1) << 21);
	/* Step 6: ppn[0] of a 2 MiB leaf must be 0; 0x8020_1000 (ppn[0] = 1) is misaligned: a page fault at L1. */
	*test_slot(t.l1, 1) = UINT64_C(0x20080400) | 0xc7;
	expect_pf(VA, NW_ACCESS_READ, 13, 2);
	/* A 1 GiB leaf at root[1]: 0x4000_0000 >> 2 = 0x1000_0000 | 0xc7: GPA 0x4000_0000 + (VA & 0x3fff_ffff). */
	*test_slot(t.root, 1) = 0x100000c7;
	expect_ok(VA, NW_ACCESS_READ, 0x40201123);
	cr_assert_eq(walk(VA, NW_ACCESS_READ).guest_page_size, UINT64_C(1) << 30);
	/* 0x4020_0000: ppn[1] = 1, misaligned for 1 GiB. */
	*test_slot(t.root, 1) = 0x100800c7;
	expect_pf(VA, NW_ACCESS_WRITE, 15, 3);
}

Test(riscv_vs, reserved_bits_and_encodings_are_page_faults)
{
	struct nw_walk_result res;

	one_d(LEAF(R | W | X | A | D));
	expect_ok(VA, NW_ACCESS_READ, GPA);
	/* Bit 54 (60:54 reserved) in the leaf. */
	*test_slot(t.l0, 1) = LEAF(R | W | X | A | D) | UINT64_C(1) << 54;
	expect_pf(VA, NW_ACCESS_READ, 13, 1);
	/* W without R: reserved. */
	*test_slot(t.l0, 1) = LEAF(W | A | D);
	expect_pf(VA, NW_ACCESS_WRITE, 15, 1);
	/* A pointer at level 0 (V alone): i < 0, a page fault at L0. */
	*test_slot(t.l0, 1) = LEAF(0);
	expect_pf(VA, NW_ACCESS_READ, 13, 1);
	/* V clear. */
	*test_slot(t.l0, 1) = LEAF(R | A) & ~V;
	expect_pf(VA, NW_ACCESS_READ, 13, 1);
	/* A non-leaf PTE with A, D or U set: reserved, a page fault at the root. */
	*test_slot(t.l0, 1) = LEAF(R | W | X | A | D);
	for (uint64_t bit = U; bit <= D; bit <<= 1) {
		if (bit == NW_RV_PTE_G)
			continue; /* G in a non-leaf PTE is defined (global mappings below) */
		*test_slot(t.root, 1) = t.l1 >> 2 | V | bit;
		expect_pf(VA, NW_ACCESS_READ, 13, 3);
	}
	*test_slot(t.root, 1) = t.l1 >> 2 | V | NW_RV_PTE_G;
	expect_ok(VA, NW_ACCESS_READ, GPA);
	/* PBMT (bits 62:61) 1 = NC: reserved while henvcfg.PBMTE is clear; a memory type with it, 3 reserved. */
	*test_slot(t.l0, 1) = LEAF(R | A) | UINT64_C(1) << 61;
	expect_pf(VA, NW_ACCESS_READ, 13, 1);
	t.cpu.pbmte = true;
	res = walk(VA, NW_ACCESS_READ);
	cr_assert_eq(res.outcome, NW_OUTCOME_OK);
	cr_assert_eq(res.guest_pat_index, NW_RV_PBMT_NC);
	*test_slot(t.l0, 1) = LEAF(R | A) | UINT64_C(3) << 61;
	expect_pf(VA, NW_ACCESS_READ, 13, 1);
	/* Svnapot: N (bit 63) with ppn[0][3:0] = 0b1000 is a 64 KiB page: PPN 0x80108 (0x8010_8000 >> 2 =
	 * 0x2004_2000); the GPA takes vpn[0][3:0] = 1 from VA: 0x8010_1123. */
	*test_slot(t.l0, 1) = NW_RV_PTE_N | UINT64_C(0x20042000) | V | R | A;
	res = walk(VA, NW_ACCESS_READ);
	cr_assert_eq(res.outcome, NW_OUTCOME_OK);
	cr_assert_eq(res.gpa.val, 0x80101123);
	cr_assert_eq(res.guest_page_size, UINT64_C(1) << 16);
	/* ppn[0][3:0] 0 with N: a reserved encoding. Without Svnapot, N is a reserved bit. */
	*test_slot(t.l0, 1) = NW_RV_PTE_N | LEAF(R | A);
	expect_pf(VA, NW_ACCESS_READ, 13, 1);
	*test_slot(t.l0, 1) = NW_RV_PTE_N | UINT64_C(0x20042000) | V | R | A;
	t.cpu.caps.svnapot = false;
	expect_pf(VA, NW_ACCESS_READ, 13, 1);
}

Test(riscv_vs, u_sum_and_mxr_rules_one_by_one)
{
	one_d(LEAF(R | W | A | D | U));
	/* VS-mode load or store to a U page: a page fault without vsstatus.SUM, allowed with it. */
	expect_pf(VA, NW_ACCESS_READ, 13, 1);
	expect_pf(VA, NW_ACCESS_WRITE, 15, 1);
	t.cpu.sum = true;
	expect_ok(VA, NW_ACCESS_READ, GPA);
	expect_ok(VA, NW_ACCESS_WRITE, GPA);
	/* A VS-mode fetch from a U page faults whatever SUM. */
	*test_slot(t.l0, 1) = LEAF(R | X | A | U);
	expect_pf(VA, NW_ACCESS_FETCH, 12, 1);
	/* VU-mode: a U page is reachable, a non-U one not (SUM does not matter). */
	t.cpu.vu = true;
	expect_ok(VA, NW_ACCESS_FETCH, GPA);
	*test_slot(t.l0, 1) = LEAF(R | X | A);
	expect_pf(VA, NW_ACCESS_READ, 13, 1);
	expect_pf(VA, NW_ACCESS_FETCH, 12, 1);
	/* An execute-only page: a load faults unless vsstatus.MXR or the HS-level sstatus.MXR. */
	t.cpu.vu = false;
	*test_slot(t.l0, 1) = LEAF(X | A);
	expect_pf(VA, NW_ACCESS_READ, 13, 1);
	expect_ok(VA, NW_ACCESS_FETCH, GPA);
	t.cpu.mxr = true;
	expect_ok(VA, NW_ACCESS_READ, GPA);
	expect_pf(VA, NW_ACCESS_WRITE, 15, 1);
	t.cpu.mxr = false;
	t.cpu.hs_mxr = true;
	expect_ok(VA, NW_ACCESS_READ, GPA);
}

Test(riscv_vs, vsstatus_mxr_is_the_vs_stage_s_alone_the_hs_level_one_both_stages)
{
	/* The data page execute-only in both stages (G-stage X U A D). vsstatus.MXR alone: the VS-stage lets
	 * the load read, the G-stage does not: a load guest-page fault (21) on the final GPA, htval 0x2004_0048. */
	gstage(false, false);
	two_d(LEAF(X | A));
	cr_assert_eq(nw_rv_gstage_protect(&t.g, nw_gpa(DATA_GPA), NW_PAGE_SIZE, X | U, 0), NW_OK);
	t.cpu.mxr = true;
	expect_gpf(NW_ACCESS_READ, 21, 0x20040048, 0, GPA, false);
}

Test(riscv_vs, hs_level_mxr_makes_both_stages_readable)
{
	gstage(false, true);
	two_d(LEAF(X | A));
	cr_assert_eq(nw_rv_gstage_protect(&t.g, nw_gpa(DATA_GPA), NW_PAGE_SIZE, X | U, 0), NW_OK);
	expect_ok(VA, NW_ACCESS_READ, GPA);
}

Test(riscv_vs, a_table_read_that_finds_no_memory_is_an_access_fault)
{
	/* Not strict: a phys_to_virt of nothing returns NULL instead of stopping the test. */
	struct nw_simmem_config config = { .size = UINT64_C(1) << 32, .seed = 1 };
	struct nw_simmem *loose = nw_simmem_create(&config);
	struct nw_walk_config c = { .hal = nw_simmem_owner(loose, "vs"), .stage2.kind = NW_STAGE2_NONE };
	struct nw_access access = { .gva = nw_gva(VA), .size = 1, .type = NW_ACCESS_READ };
	struct nw_walk_result res;

	/* vsatp's root at 0x2_0000_0000 (PPN 0x200000), above the 4 GiB host: step 2's PTE access fails its PMA
	 * check, an access fault of the original access type (5 load, 1 fetch), stval the GVA. */
	load_vsatp((uint64_t)NW_RV_SATP_SV39 << NW_RV_SATP_MODE_SHIFT | 0x200000);
	nw_rv_vs_walk(&c, &t.cpu, &access, 0, &res);
	cr_assert_eq(res.outcome, NW_OUTCOME_ACCESS_FAULT, "outcome %s", nw_outcome_name(res.outcome));
	cr_assert_eq(res.rv_trap.scause, 5);
	cr_assert_eq(res.rv_trap.stval, VA);
	cr_assert_eq(res.rv_trap.htval, 0);
	access.type = NW_ACCESS_FETCH;
	nw_rv_vs_walk(&c, &t.cpu, &access, 0, &res);
	cr_assert_eq(res.rv_trap.scause, 1);
	nw_simmem_destroy(loose);
}

Test(riscv_vs, a_g_stage_table_read_that_finds_no_memory_is_an_access_fault_too)
{
	struct nw_simmem_config config = { .size = UINT64_C(1) << 32, .seed = 1 };
	struct nw_simmem *loose = nw_simmem_create(&config);
	const struct nw_hal *h = nw_simmem_owner(loose, "vs");
	struct nw_rv_gstage_config gc = { .mode = NW_RV_HGATP_SV39X4, .caps = nw_rv_gstage_caps_all() };
	struct nw_access access = { .gva = nw_gva(VA), .size = 1, .type = NW_ACCESS_WRITE };
	struct nw_walk_config c = { .hal = h, .stage2.kind = NW_STAGE2_RISCV };
	struct nw_walk_result res;
	struct nw_rv_gstage g;
	uint64_t *root;

	/* The VS root PTE's GPA 0x8000_0008 indexes G-stage root entry (GPA bits 40:30) 2, made to point at
	 * 0x2_0000_0000 above the 4 GiB host (PPN 0x200000 << 10 = 0x8000_0000, | V): the G-stage's own table read
	 * fails its PMA check. An access fault of the original access (7 for a store), stval the GVA, htval and
	 * htinst 0 (not a guest-page fault), taken to HS-mode. */
	cr_assert_eq(nw_rv_gstage_create(&g, h, &gc), NW_OK);
	c.stage2.riscv = &g;
	root = nw_hal_phys_to_virt(h, nw_hpa(g.pt.root));
	root[2] = 0x80000001;
	load_vsatp(VSATP_SV39);
	nw_rv_vs_walk(&c, &t.cpu, &access, 0, &res);
	cr_assert_eq(res.outcome, NW_OUTCOME_ACCESS_FAULT, "outcome %s", nw_outcome_name(res.outcome));
	cr_assert_eq(res.rv_trap.scause, 7);
	cr_assert_eq(res.rv_trap.stval, VA);
	cr_assert_eq(res.rv_trap.htval, 0);
	cr_assert_eq(res.rv_trap.htinst, 0);
	cr_assert(res.rv_trap.gva);
	cr_assert(res.s2_on_table);
	root[2] = 0;
	nw_rv_gstage_destroy(&g);
	cr_assert_eq(nw_simmem_report_leaks(loose, stderr), 0);
	nw_simmem_destroy(loose);
}

/* The spec's step 5 with V=1, written out on its own: whether a leaf of r/w/x/u allows the access. */
struct spec_case {
	bool r, w, x, u, sum, mxr, hs_mxr, vu;
	enum nw_access_type type;
};

static bool spec_allows(const struct spec_case *c)
{
	if (!c->r && !c->x)
		return false; /* step 4: a pointer at i = 0 */
	if (c->w && !c->r)
		return false; /* step 3: reserved encoding */
	/* "Memory Privilege in sstatus": U-mode only U pages; S-mode loads and stores to U pages need SUM,
	 * S-mode never executes U pages. */
	if (c->vu && !c->u)
		return false;
	if (!c->vu && c->u && (c->type == NW_ACCESS_FETCH || !c->sum))
		return false;
	if (c->type == NW_ACCESS_WRITE)
		return c->w;
	if (c->type == NW_ACCESS_FETCH)
		return c->x;
	/* MXR (vsstatus's or, for the VS-stage too, the HS-level sstatus's): X pages readable. */
	return c->r || (c->x && (c->mxr || c->hs_mxr));
}

/* Case i of the matrix: bits 3:0 the leaf's R, W, X, U; bits 7:4 SUM, vsstatus.MXR, HS-level MXR, VU; the
 * access i / 256 (read, write, fetch). */
static struct spec_case case_of(unsigned i)
{
	return (struct spec_case){ .r = i & 1, .w = i & 2, .x = i & 4, .u = i & 8, .sum = i & 16, .mxr = i & 32,
				   .hs_mxr = i & 64, .vu = i & 128, .type = (enum nw_access_type)(i / 256) };
}

Test(riscv_vs, exhaustive_rights_matrix_against_the_spec)
{
	static const uint64_t scause[] = { [NW_ACCESS_READ] = 13, [NW_ACCESS_WRITE] = 15, [NW_ACCESS_FETCH] = 12 };
	unsigned allowed = 0;

	one_d(0);
	/* 16 R/W/X/U x 2 SUM x 2 MXR x 2 HS MXR x 2 VS/VU x 3 accesses = 768 walks. */
	for (unsigned i = 0; i < 768; i++) {
		struct spec_case c = case_of(i);
		struct nw_walk_result res;

		*test_slot(t.l0, 1) = LEAF((c.r ? R : 0) | (c.w ? W : 0) | (c.x ? X : 0) | (c.u ? U : 0) | A | D);
		t.cpu.sum = c.sum;
		t.cpu.mxr = c.mxr;
		t.cpu.hs_mxr = c.hs_mxr;
		t.cpu.vu = c.vu;
		res = walk(VA, c.type);
		if (spec_allows(&c)) {
			allowed++;
			cr_assert_eq(res.outcome, NW_OUTCOME_OK, "case %#x: %s", i, nw_outcome_name(res.outcome));
			cr_assert_eq(res.gpa.val, GPA);
			continue;
		}
		cr_assert_eq(res.outcome, NW_OUTCOME_PAGE_FAULT, "case %#x: %s", i, nw_outcome_name(res.outcome));
		cr_assert_eq(res.rv_trap.scause, scause[c.type], "case %#x", i);
		cr_assert_eq(res.rv_trap.stval, VA);
	}
	/* Both answers occur: a matrix of one answer would check nothing. */
	cr_assert_gt(allowed, 0);
	cr_assert_lt(allowed, 768);
}

/* The G-stage's side of the same walks ("Two-Stage Address Translation"): every G-stage access is checked as a
 * U-mode one, so each needs U; the VS-stage walk's implicit PTE read is a load that needs R (the HS-level
 * sstatus.MXR reaches explicit loads only); the final address needs what the original access needs, R for a
 * load or X with the HS-level sstatus.MXR (vsstatus.MXR is the VS-stage's alone), W for a store, X for a fetch.
 * Rights are those a G-stage leaf may hold: R or X, never W without R. */
static bool g_rights_valid(unsigned rights)
{
	return (rights & (R | X)) && !((rights & W) && !(rights & R));
}

static bool g_table_read_allowed(unsigned rights)
{
	return (rights & U) && (rights & R);
}

static bool g_final_allowed(unsigned rights, enum nw_access_type type, bool hs_mxr)
{
	if (!(rights & U))
		return false;
	if (type == NW_ACCESS_WRITE)
		return rights & W;
	if (type == NW_ACCESS_FETCH)
		return rights & X;
	return (rights & R) || ((rights & X) && hs_mxr);
}

/* The 16 R/W/X/U combinations a G-stage leaf may hold (10) in index order. */
static unsigned g_rights_of(unsigned n)
{
	for (unsigned rights = 0;; rights++) {
		unsigned bits = (rights & 1 ? R : 0) | (rights & 2 ? W : 0) | (rights & 4 ? X : 0) | (rights & 8 ? U : 0);

		if (g_rights_valid(bits) && n-- == 0)
			return bits;
	}
}

#define G_RIGHTS 10
#define G_MATRIX (768 * G_RIGHTS * G_RIGHTS)

/* One case of the two-dimensional matrix: the VS-stage case (case_of), then the G-stage rights of the last
 * table's page (L0_GPA) and of the data page. Expected, in the walk's order: the G-stage refusing the L0 PTE
 * read (a guest-page fault: scause 21/23/20 by the original access, htval its GPA 0x8000_2008 >> 2 =
 * 0x2000_0802, htinst 0x3000), the VS-stage leaf refusing the access (a page fault, spec_allows), the G-stage
 * refusing the final GPA 0x8010_0123 (htval 0x2004_0048, htinst 0), else the translation. Returns which of the
 * four it was, in that order. */
static unsigned run_2d_case(unsigned index)
{
	static const uint64_t gpf[] = { [NW_ACCESS_READ] = 21, [NW_ACCESS_WRITE] = 23, [NW_ACCESS_FETCH] = 20 };
	static const uint64_t pf[] = { [NW_ACCESS_READ] = 13, [NW_ACCESS_WRITE] = 15, [NW_ACCESS_FETCH] = 12 };
	struct spec_case c = case_of(index % 768);
	unsigned table_rights = g_rights_of(index / 768 % G_RIGHTS), data_rights = g_rights_of(index / 768 / G_RIGHTS);

	*test_slot(t.l0, 1) = LEAF((c.r ? R : 0) | (c.w ? W : 0) | (c.x ? X : 0) | (c.u ? U : 0) | A | D);
	t.cpu.sum = c.sum;
	t.cpu.mxr = c.mxr;
	t.cpu.hs_mxr = c.hs_mxr;
	t.cpu.vu = c.vu;
	t.g.config.mxr = c.hs_mxr; /* the one HS-level sstatus.MXR both stages read */
	cr_assert_eq(nw_rv_gstage_protect(&t.g, nw_gpa(L0_GPA), NW_PAGE_SIZE, table_rights, 0), NW_OK);
	cr_assert_eq(nw_rv_gstage_protect(&t.g, nw_gpa(DATA_GPA), NW_PAGE_SIZE, data_rights, 0), NW_OK);
	if (!g_table_read_allowed(table_rights)) {
		expect_gpf(c.type, gpf[c.type], UINT64_C(0x20000802), NW_RV_HTINST_VS_PTE_READ, L0_GPA + 8, true);
		return 0;
	}
	if (!spec_allows(&c)) {
		expect_pf(VA, c.type, pf[c.type], NW_LEVEL_PT);
		return 1;
	}
	if (!g_final_allowed(data_rights, c.type, c.hs_mxr)) {
		expect_gpf(c.type, gpf[c.type], UINT64_C(0x20040048), 0, GPA, false);
		return 2;
	}
	expect_ok(VA, c.type, GPA);
	return 3;
}

/* CI runs a seeded sample of the 76,800 cases (768 VS-stage cases x 10 x 10 G-stage rights); with
 * NESTWALK_FULL_MATRIX=1 (meson -Dfull_matrix=true) every case. */
Test(riscv_vs, exhaustive_two_stage_rights_matrix_against_the_spec)
{
	const char *full = getenv("NESTWALK_FULL_MATRIX");
	bool all = full && full[0] == '1';
	uint64_t state = UINT64_C(0x2545f4914f6cdd1d);
	unsigned cases = all ? G_MATRIX : 6000, seen[4] = { 0 };

	two_d(0);
	for (unsigned i = 0; i < cases; i++) {
		state ^= state << 13;
		state ^= state >> 7;
		state ^= state << 17;
		seen[run_2d_case(all ? i : (unsigned)(state % G_MATRIX))]++;
	}
	cr_log_info("two-stage rights matrix: %u cases (%s): %u guest-page faults on the PTE read, %u page faults, "
		    "%u on the final address, %u translated",
		    cases, all ? "full" : "seeded sample", seen[0], seen[1], seen[2], seen[3]);
	/* Every answer occurs: a matrix without one would not check it. */
	for (unsigned kind = 0; kind < 4; kind++)
		cr_assert_gt(seen[kind], 0, "answer %u never occurs", kind);
}
