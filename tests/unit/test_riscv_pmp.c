/* RISC-V physical memory protection (privileged spec, "Physical Memory
 * Protection"): each rule of the check on its own, derived by hand from the
 * spec, then PMP in the two-stage walk: the VS-stage PTE read, the G-stage
 * PTE read, the A/D updates of both stages and the final access, each an
 * access fault of the original access type (H extension: scause 1/5/7,
 * stval the guest virtual address, htval 0 as for every trap but a
 * guest-page fault, htinst 0: the pseudoinstructions are for guest-page
 * faults only). pmpaddr holds address bits 55:2: an address A is written A >> 2. */
#include <nestwalk/riscv_gstage.h>
#include <nestwalk/riscv_pmp.h>
#include <nestwalk/riscv_vs.h>
#include <string.h>

#include "fixture.h"
#include "riscv_layout.h"
#include "test_frames.h"

#define NAPOT (NW_RV_PMP_NAPOT << NW_RV_PMPCFG_A_SHIFT)
#define TOR (NW_RV_PMP_TOR << NW_RV_PMPCFG_A_SHIFT)
#define NA4 (NW_RV_PMP_NA4 << NW_RV_PMPCFG_A_SHIFT)
#define PR NW_RV_PMPCFG_R
#define PW NW_RV_PMPCFG_W
#define PX NW_RV_PMPCFG_X
#define PRWX (PR | PW | PX)
#define ALL_ONES NW_RV_PMPADDR_MASK /* NAPOT with 54 trailing ones: 2^57 bytes, every address */

static const enum nw_access_type LOAD = NW_ACCESS_READ, STORE = NW_ACCESS_WRITE, FETCH = NW_ACCESS_FETCH;

/* NAPOT pmpaddr of the size-byte region at base (size a power of two >= 8): base >> 2 with size/8 - 1 ones below. */
static uint64_t napot(uint64_t base, uint64_t size)
{
	return base >> 2 | (size / 8 - 1);
}

static struct nw_rv_pmp pmp1(uint8_t cfg, uint64_t addr)
{
	return (struct nw_rv_pmp){ .count = 1, .cfg = { cfg }, .addr = { addr } };
}

/* ---- the check alone ---- */

Test(riscv_pmp, without_entries_every_s_and_u_access_succeeds)
{
	struct nw_rv_pmp pmp = { 0 };

	/* "If no PMP entry matches ... but at least one PMP entry is implemented, the access fails": none is. */
	cr_assert(nw_rv_pmp_allows(&pmp, 0x80000000, 8, STORE));
	cr_assert(nw_rv_pmp_allows(&pmp, 0, 1, FETCH));
}

Test(riscv_pmp, an_implemented_entry_that_is_off_matches_nothing_so_the_access_fails)
{
	struct nw_rv_pmp pmp = pmp1(PRWX, ALL_ONES); /* A = OFF */

	cr_assert_not(nw_rv_pmp_allows(&pmp, 0x1000, 4, LOAD));
	cr_assert_eq(nw_rv_pmp_deciding_entry(&pmp, 0x1000, 4), -1);
}

Test(riscv_pmp, tor_entry_0_starts_at_address_0)
{
	/* Entry 0 TOR with pmpaddr0 0x400: pmpaddr(-1) is 0, so [0, 0x1000). */
	struct nw_rv_pmp pmp = pmp1(TOR | PR, 0x400);

	cr_assert(nw_rv_pmp_allows(&pmp, 0, 8, LOAD));
	cr_assert(nw_rv_pmp_allows(&pmp, 0xff8, 8, LOAD));   /* its last 8 bytes */
	cr_assert_not(nw_rv_pmp_allows(&pmp, 0xffc, 8, LOAD)); /* 0xffc..0x1003: 4 bytes in, 4 out: partial */
	cr_assert_eq(nw_rv_pmp_deciding_entry(&pmp, 0xffc, 8), 0);
	cr_assert_not(nw_rv_pmp_allows(&pmp, 0x1000, 1, LOAD)); /* above the top: no entry matches */
	cr_assert_not(nw_rv_pmp_allows(&pmp, 0x800, 4, STORE)); /* R only */
}

Test(riscv_pmp, tor_matches_from_the_previous_pmpaddr_and_nothing_when_that_is_not_below)
{
	/* Entry 0 OFF with pmpaddr0 0x800 (0x2000) bounds entry 1 TOR pmpaddr1 0xc00 (0x3000): [0x2000, 0x3000). */
	struct nw_rv_pmp pmp = { .count = 2, .cfg = { 0, TOR | PRWX }, .addr = { 0x800, 0xc00 } };

	cr_assert_not(nw_rv_pmp_allows(&pmp, 0x1ffc, 4, LOAD));
	cr_assert(nw_rv_pmp_allows(&pmp, 0x2000, 4, LOAD));
	cr_assert(nw_rv_pmp_allows(&pmp, 0x2ffc, 4, STORE));
	cr_assert_not(nw_rv_pmp_allows(&pmp, 0x3000, 4, LOAD));
	/* "If pmpaddr[i-1] >= pmpaddr[i] and pmpcfg[i].A=TOR, then PMP entry i matches no addresses." */
	pmp.addr[0] = 0xc00;
	cr_assert_not(nw_rv_pmp_allows(&pmp, 0x2800, 4, LOAD));
	cr_assert_eq(nw_rv_pmp_deciding_entry(&pmp, 0x2800, 4), -1);
}

Test(riscv_pmp, na4_is_the_four_bytes_at_pmpaddr)
{
	/* pmpaddr 0x800: bytes 0x2000..0x2003. */
	struct nw_rv_pmp pmp = pmp1(NA4 | PR | PW, 0x800);

	cr_assert(nw_rv_pmp_allows(&pmp, 0x2000, 4, STORE));
	cr_assert(nw_rv_pmp_allows(&pmp, 0x2003, 1, LOAD));
	cr_assert_not(nw_rv_pmp_allows(&pmp, 0x2000, 8, LOAD)); /* 8 bytes: 4 match, 4 do not */
	cr_assert_not(nw_rv_pmp_allows(&pmp, 0x2004, 1, LOAD));
	cr_assert_not(nw_rv_pmp_allows(&pmp, 0x2000, 4, FETCH)); /* no X */
}

Test(riscv_pmp, napot_size_comes_from_the_trailing_ones)
{
	/* yyyy...y0: 8 bytes; 0x2000_0000 (no trailing one) is 8 bytes at 0x8000_0000. */
	struct nw_rv_pmp pmp = pmp1(NAPOT | PR, 0x20000000);

	cr_assert(nw_rv_pmp_allows(&pmp, 0x80000000, 8, LOAD));
	cr_assert_not(nw_rv_pmp_allows(&pmp, 0x80000008, 1, LOAD));
	/* 0x2000_01ff: nine trailing ones, 2^(9+3) = 4 KiB at 0x8000_0000. */
	pmp.addr[0] = 0x200001ff;
	cr_assert_eq(pmp.addr[0], napot(0x80000000, 0x1000));
	cr_assert(nw_rv_pmp_allows(&pmp, 0x80000ff8, 8, LOAD));
	cr_assert_not(nw_rv_pmp_allows(&pmp, 0x80001000, 1, LOAD));
	cr_assert_not(nw_rv_pmp_allows(&pmp, 0x7ffffffc, 4, LOAD));
	/* The low ones select the size, the bits above them the base: 0x2000_05ff is 4 KiB at 0x8000_1000
	 * (0x2000_0400 << 2), whatever the bits below the ones were. */
	pmp.addr[0] = 0x200005ff;
	cr_assert(nw_rv_pmp_allows(&pmp, 0x80001000, 8, LOAD));
	cr_assert_not(nw_rv_pmp_allows(&pmp, 0x80000ff8, 8, LOAD));
	/* 54 ones (pmpaddr's every bit): 2^57 bytes from 0, the whole 56-bit physical space. */
	pmp.addr[0] = ALL_ONES;
	cr_assert(nw_rv_pmp_allows(&pmp, 0, 1, LOAD));
	cr_assert(nw_rv_pmp_allows(&pmp, (UINT64_C(1) << 56) - 8, 8, LOAD));
}

Test(riscv_pmp, the_lowest_numbered_matching_entry_decides)
{
	/* Entry 0 NAPOT 4 KiB at 0x8000_0000 with no rights, entry 1 NAPOT everything RWX (as OpenSBI ends). */
	struct nw_rv_pmp pmp = { .count = 2, .cfg = { NAPOT, NAPOT | PRWX },
				 .addr = { napot(0x80000000, 0x1000), ALL_ONES } };

	cr_assert_not(nw_rv_pmp_allows(&pmp, 0x80000800, 8, LOAD));
	cr_assert_eq(nw_rv_pmp_deciding_entry(&pmp, 0x80000800, 8), 0);
	cr_assert(nw_rv_pmp_allows(&pmp, 0x80001000, 8, LOAD)); /* only entry 1 matches */
	cr_assert_eq(nw_rv_pmp_deciding_entry(&pmp, 0x80001000, 8), 1);
}

Test(riscv_pmp, a_partial_match_fails_even_where_a_later_entry_covers_the_access)
{
	/* Entry 0 NA4 RWX at 0x2000, entry 1 everything RWX: 8 bytes at 0x2000 match entry 0 in part. */
	struct nw_rv_pmp pmp = { .count = 2, .cfg = { NA4 | PRWX, NAPOT | PRWX }, .addr = { 0x800, ALL_ONES } };

	cr_assert_not(nw_rv_pmp_allows(&pmp, 0x2000, 8, LOAD));
	cr_assert(nw_rv_pmp_allows(&pmp, 0x2000, 4, LOAD));
	cr_assert(nw_rv_pmp_allows(&pmp, 0x1ffc, 4, LOAD)); /* entry 0 not touched: entry 1 */
	/* The partial match fails "irrespective of the L, R, W, and X bits". */
	pmp.cfg[0] = NA4 | PRWX | NW_RV_PMPCFG_L;
	cr_assert_not(nw_rv_pmp_allows(&pmp, 0x1ffc, 8, LOAD));
}

Test(riscv_pmp, each_access_needs_its_own_bit_and_the_l_bit_changes_nothing_for_s_and_u)
{
	/* R for a load, W for a store or AMO, X for a fetch; L only makes the entry bind M-mode too. */
	for (unsigned l = 0; l < 2; l++) {
		uint8_t lock = l ? NW_RV_PMPCFG_L : 0;
		struct nw_rv_pmp r = pmp1(NAPOT | PR | lock, ALL_ONES), rw = pmp1(NAPOT | PR | PW | lock, ALL_ONES),
				 x = pmp1(NAPOT | PX | lock, ALL_ONES);

		cr_assert(nw_rv_pmp_allows(&r, 0x1000, 8, LOAD));
		cr_assert_not(nw_rv_pmp_allows(&r, 0x1000, 8, STORE));
		cr_assert_not(nw_rv_pmp_allows(&r, 0x1000, 4, FETCH));
		cr_assert(nw_rv_pmp_allows(&rw, 0x1000, 8, STORE));
		cr_assert(nw_rv_pmp_allows(&x, 0x1000, 4, FETCH));
		cr_assert_not(nw_rv_pmp_allows(&x, 0x1000, 4, LOAD));
	}
}

Test(riscv_pmp, smepmp_mml_gives_s_and_u_the_s_u_column_of_its_table)
{
	/* The privileged spec's Smepmp table "Bits on pmpcfg register" (L R W X -> S/U mode), row by row, as the
	 * rights an S/U load (R), store (W) and fetch (X) get from an entry over everything. */
	static const struct {
		uint8_t lrwx; /* L bit 3, R bit 2, W bit 1, X bit 0 as the table lists them */
		uint8_t su;   /* PR/PW/PX the S/U column grants */
	} rows[] = {
		{ 0x0, 0 },       /* inaccessible region */
		{ 0x1, PX },      /* execute-only region */
		{ 0x2, PR },      /* shared data region: read/write on M, read-only on S/U */
		{ 0x3, PR | PW }, /* shared data region: read/write for both */
		{ 0x4, PR },      /* read-only region */
		{ 0x5, PR | PX }, /* read/execute region */
		{ 0x6, PR | PW }, /* read/write region */
		{ 0x7, PRWX },    /* read/write/execute region */
		{ 0x8, 0 },       /* locked inaccessible region */
		{ 0x9, 0 },       /* locked execute-only region (M): access exception for S/U */
		{ 0xa, PX },      /* locked shared code region: execute only on both M and S/U */
		{ 0xb, PX },      /* locked shared code region: execute only on S/U, read/execute on M */
		{ 0xc, 0 },       /* locked read-only region (M) */
		{ 0xd, 0 },       /* locked read/execute region (M) */
		{ 0xe, 0 },       /* locked read/write region (M) */
		{ 0xf, PR },      /* locked shared data region: read only on both M and S/U */
	};

	for (unsigned i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		uint8_t l = rows[i].lrwx & 8, r = rows[i].lrwx & 4, w = rows[i].lrwx & 2, x = rows[i].lrwx & 1;
		struct nw_rv_pmp pmp = pmp1((uint8_t)(NAPOT | (l ? NW_RV_PMPCFG_L : 0) | (r ? PR : 0) | (w ? PW : 0) |
						      (x ? PX : 0)),
					    ALL_ONES);

		pmp.mml = true;
		cr_assert_eq(nw_rv_pmp_check(&pmp), NW_OK, "row %x", rows[i].lrwx);
		cr_assert_eq(nw_rv_pmp_allows(&pmp, 0x1000, 8, LOAD), (rows[i].su & PR) != 0, "row %x load", rows[i].lrwx);
		cr_assert_eq(nw_rv_pmp_allows(&pmp, 0x1000, 8, STORE), (rows[i].su & PW) != 0, "row %x store",
			     rows[i].lrwx);
		cr_assert_eq(nw_rv_pmp_allows(&pmp, 0x1000, 4, FETCH), (rows[i].su & PX) != 0, "row %x fetch",
			     rows[i].lrwx);
	}
	/* Without MML, R=0 W=1 is reserved again, and L=1 RWX grants S/U all three. */
	struct nw_rv_pmp pmp = pmp1(NAPOT | PW, ALL_ONES);

	cr_assert_eq(nw_rv_pmp_check(&pmp), NW_ERR_INVALID);
	pmp = pmp1(NAPOT | PRWX | NW_RV_PMPCFG_L, ALL_ONES);
	cr_assert(nw_rv_pmp_allows(&pmp, 0x1000, 8, STORE));
}

Test(riscv_pmp, granularity_makes_napot_low_bits_ones_and_tor_low_bits_zeros)
{
	/* G = 2: 16-byte regions. NAPOT pmpaddr 0x800 reads 0x801 (bit G-2 = 0 a one): 2^(1+3) = 16 bytes at
	 * 0x2000, where without G it names 8. */
	struct nw_rv_pmp pmp = pmp1(NAPOT | PR, 0x800);

	cr_assert_not(nw_rv_pmp_allows(&pmp, 0x2008, 8, LOAD));
	pmp.granularity = 2;
	cr_assert(nw_rv_pmp_allows(&pmp, 0x2008, 8, LOAD));
	cr_assert_not(nw_rv_pmp_allows(&pmp, 0x2010, 1, LOAD));
	/* TOR: bits 1:0 of pmpaddr do not count: 0x803 is 0x800, top 0x2000. */
	pmp = pmp1(TOR | PR, 0x803);
	cr_assert(nw_rv_pmp_allows(&pmp, 0x2008, 4, LOAD)); /* G = 0: top 0x200c */
	pmp.granularity = 2;
	cr_assert_not(nw_rv_pmp_allows(&pmp, 0x2008, 4, LOAD));
	cr_assert(nw_rv_pmp_allows(&pmp, 0x1ffc, 4, LOAD));
}

Test(riscv_pmp, configurations_no_hart_holds_are_refused)
{
	struct nw_rv_pmp pmp = pmp1(NAPOT | PRWX | NW_RV_PMPCFG_L, ALL_ONES);

	cr_assert_eq(nw_rv_pmp_check(&pmp), NW_OK);
	pmp.cfg[0] = NAPOT | PR | 0x20; /* bits 6:5 WARL zero */
	cr_assert_eq(nw_rv_pmp_check(&pmp), NW_ERR_INVALID);
	pmp.cfg[0] = NAPOT | PW; /* R=0, W=1: reserved */
	cr_assert_eq(nw_rv_pmp_check(&pmp), NW_ERR_INVALID);
	pmp.cfg[0] = NA4 | PR;
	pmp.granularity = 1; /* "When G >= 1, the NA4 mode is not selectable." */
	cr_assert_eq(nw_rv_pmp_check(&pmp), NW_ERR_INVALID);
	pmp.granularity = 0;
	cr_assert_eq(nw_rv_pmp_check(&pmp), NW_OK);
	pmp.addr[0] = UINT64_C(1) << 54; /* RV64 pmpaddr bits 63:54 are WARL zero */
	cr_assert_eq(nw_rv_pmp_check(&pmp), NW_ERR_INVALID);
	pmp.addr[0] = 0;
	pmp.count = 65;
	cr_assert_eq(nw_rv_pmp_check(&pmp), NW_ERR_INVALID);
	pmp.count = 1;
	pmp.granularity = 55;
	cr_assert_eq(nw_rv_pmp_check(&pmp), NW_ERR_INVALID);
}

/* ---- in the walk: riscv_layout.h's Sv39 VS-stage over an Sv39x4 G-stage ---- */

static struct {
	struct nw_walk_config config;
	struct nw_rv_vs_cpu cpu;
	struct nw_rv_gstage g;
	struct nw_rv_gstage_config gc;
	bool has_g;
	struct test_frames frames;
	uint64_t root, l1, l0, data; /* host addresses of the VS-stage tables and the data page */
} t;

static void setup(void)
{
	fixture_setup_host(true); /* a direct-map window: the fast walker's plain copies read tables through it */
	memset(&t, 0, sizeof(t));
	t.config.hal = hal;
	t.cpu.caps = nw_rv_vs_caps_all();
	t.gc = (struct nw_rv_gstage_config){ .mode = NW_RV_HGATP_SV39X4, .caps = nw_rv_gstage_caps_all() };
}

static void teardown(void)
{
	if (t.has_g)
		nw_rv_gstage_destroy(&t.g);
	test_frames_free(&t.frames);
	fixture_teardown();
}

TestSuite(riscv_pmp_walk, .init = setup, .fini = teardown);

static uint64_t gpage(uint64_t gpa, uint64_t gflags)
{
	uint64_t f = test_frames_take(&t.frames);

	cr_assert_eq(nw_rv_gstage_map(&t.g, nw_gpa(gpa), nw_hpa(f), NW_PAGE_SIZE, gflags, 0, 0), NW_OK);
	return f;
}

/* The Sv39 VS-stage over an Sv39x4 G-stage of t.gc (its pmp as the test set it), the data leaf's bits given. */
static void build(uint64_t leaf_bits, uint64_t data_gflags)
{
	cr_assert_eq(nw_rv_gstage_create(&t.g, hal, &t.gc), NW_OK);
	t.has_g = true;
	t.config.stage2 = (struct nw_stage2){ .kind = NW_STAGE2_RISCV, .riscv = &t.g };
	t.root = gpage(ROOT_GPA, GALL);
	t.l1 = gpage(L1_GPA, GALL);
	t.l0 = gpage(L0_GPA, GALL);
	t.data = gpage(DATA_GPA, data_gflags);
	*test_slot(t.root, 1) = ROOT_PTE;
	*test_slot(t.l1, 1) = L1_PTE;
	*test_slot(t.l0, 1) = LEAF(leaf_bits);
	cr_assert_eq(nw_rv_vsatp_decode(VSATP_SV39, &t.cpu.caps, &t.cpu.vsatp), NW_OK);
}

/* The hart's PMP: entry 0 as given, entry 1 everything RWX (the firmware's catch-all). */
static void pmp_first(uint8_t cfg, uint64_t addr)
{
	t.gc.pmp = (struct nw_rv_pmp){ .count = 2, .cfg = { cfg, NAPOT | PRWX }, .addr = { addr, ALL_ONES } };
}

/* Once the G-stage exists: its tables' frames are known only then. */
static void set_pmp_first(uint8_t cfg, uint64_t addr)
{
	pmp_first(cfg, addr);
	t.g.config.pmp = t.gc.pmp;
}

static struct nw_walk_result walk(enum nw_access_type type)
{
	struct nw_access access = { .gva = nw_gva(VA), .size = 8, .type = type };
	struct nw_walk_result res;

	nw_rv_vs_walk(&t.config, &t.cpu, &access, 0, &res);
	return res;
}

/* An access fault taken to HS-mode for the access type: scause 1/5/7, stval VA, GVA set, htval and htinst 0. */
static void assert_access_fault(const struct nw_walk_result *res, uint64_t scause)
{
	cr_assert_eq(res->outcome, NW_OUTCOME_ACCESS_FAULT, "outcome %s", nw_outcome_name(res->outcome));
	cr_assert_eq(res->rv_trap.scause, scause, "scause %llu", (unsigned long long)res->rv_trap.scause);
	cr_assert_eq(res->rv_trap.stval, VA);
	cr_assert(res->rv_trap.gva);
	cr_assert_eq(res->rv_trap.htval, 0);
	cr_assert_eq(res->rv_trap.htinst, 0);
}

Test(riscv_pmp_walk, without_pmp_the_walk_is_as_before)
{
	struct nw_walk_result res;

	build(R | W | A | D, GALL);
	res = walk(STORE);
	cr_assert_eq(res.outcome, NW_OUTCOME_OK, "outcome %s", nw_outcome_name(res.outcome));
	cr_assert_eq(res.hpa.val, t.data + 0x123);
}

Test(riscv_pmp_walk, a_vs_stage_pte_read_pmp_refuses_is_an_access_fault_of_the_original_type)
{
	/* Entry 0: the L0 table's 4 KiB frame, no rights. The walk's read of L0[1] (an S-mode read of 8 bytes at
	 * l0 + 8) matches it: refused, whatever the access. */
	build(R | W | X | A | D, GALL);
	set_pmp_first(NAPOT, napot(t.l0, NW_PAGE_SIZE));
	struct nw_walk_result load = walk(LOAD), store = walk(STORE), fetch = walk(FETCH);

	assert_access_fault(&load, NW_RV_CAUSE_LOAD_ACCESS);
	assert_access_fault(&store, NW_RV_CAUSE_STORE_ACCESS);
	assert_access_fault(&fetch, NW_RV_CAUSE_FETCH_ACCESS);
	cr_assert(load.s2_on_table);
	cr_assert_eq(load.fault_gpa.val, L0_GPA + 8);
	/* Read-only is enough for the read: the same entry with R gives the translation. */
	set_pmp_first(NAPOT | PR, napot(t.l0, NW_PAGE_SIZE));
	load = walk(LOAD);
	cr_assert_eq(load.outcome, NW_OUTCOME_OK, "outcome %s", nw_outcome_name(load.outcome));
}

Test(riscv_pmp_walk, a_g_stage_pte_read_pmp_refuses_is_an_access_fault_too)
{
	/* Entry 0: the G-stage root (16 KiB, hgatp's four frames), no rights: the first G-stage read (of the root
	 * entry for the VS root's GPA) is refused, before any VS-stage PTE. */
	build(R | W | A | D, GALL);
	set_pmp_first(NAPOT, napot(nw_rv_gstage_root(&t.g).val, 4 * NW_PAGE_SIZE));
	struct nw_walk_result load = walk(LOAD), store = walk(STORE);

	assert_access_fault(&load, NW_RV_CAUSE_LOAD_ACCESS);
	assert_access_fault(&store, NW_RV_CAUSE_STORE_ACCESS);
	cr_assert(load.s2_on_table);
	cr_assert_eq(load.fault_gpa.val, ROOT_GPA + 8);
}

Test(riscv_pmp_walk, the_final_access_needs_the_right_of_its_type)
{
	/* Entry 0: the data frame, R only. A load passes; a store and a fetch fail on the final address. */
	build(R | W | X | A | D, GALL);
	set_pmp_first(NAPOT | PR, napot(t.data, NW_PAGE_SIZE));
	struct nw_walk_result load = walk(LOAD), store = walk(STORE), fetch = walk(FETCH);

	cr_assert_eq(load.outcome, NW_OUTCOME_OK, "outcome %s", nw_outcome_name(load.outcome));
	cr_assert_eq(load.hpa.val, t.data + 0x123);
	assert_access_fault(&store, NW_RV_CAUSE_STORE_ACCESS);
	assert_access_fault(&fetch, NW_RV_CAUSE_FETCH_ACCESS);
	cr_assert_not(store.s2_on_table);
	cr_assert_eq(store.fault_gpa.val, DATA_GPA + 0x123);
}

Test(riscv_pmp_walk, an_access_straddling_an_entry_fails_on_the_final_address)
{
	/* Entry 0: NA4 RWX on the data bytes 0x120..0x123; the 8-byte load at offset 0x123 covers 0x123..0x12a: one
	 * byte matches, the others not: a partial match, refused. At offset 0x124 entry 0 is not touched. */
	build(R | W | A | D, GALL);
	set_pmp_first(NA4 | PRWX, (t.data + 0x120) >> 2);
	struct nw_walk_result res = walk(LOAD);

	assert_access_fault(&res, NW_RV_CAUSE_LOAD_ACCESS);
	struct nw_access later = { .gva = nw_gva(VA + 1), .size = 8, .type = LOAD };

	nw_rv_vs_walk(&t.config, &t.cpu, &later, 0, &res);
	cr_assert_eq(res.outcome, NW_OUTCOME_OK, "outcome %s", nw_outcome_name(res.outcome));
}

Test(riscv_pmp_walk, a_vs_stage_a_d_update_pmp_refuses_is_an_access_fault_and_writes_nothing)
{
	/* Svadu in the VS-stage (henvcfg.ADUE): the leaf without A must be written. Entry 0: the L0 frame read-only;
	 * the read passes, the update (a store of 8 bytes) does not: a load access fault, the leaf unchanged. */
	build(R | W, GALL);
	t.cpu.adue = true;
	set_pmp_first(NAPOT | PR, napot(t.l0, NW_PAGE_SIZE));
	struct nw_walk_result res = walk(LOAD);

	assert_access_fault(&res, NW_RV_CAUSE_LOAD_ACCESS);
	cr_assert(res.s2_on_table);
	cr_assert_eq(*test_slot(t.l0, 1), LEAF(R | W));
	/* Writable: the update is made. */
	set_pmp_first(NAPOT | PR | PW, napot(t.l0, NW_PAGE_SIZE));
	res = walk(LOAD);
	cr_assert_eq(res.outcome, NW_OUTCOME_OK, "outcome %s", nw_outcome_name(res.outcome));
	cr_assert_eq(*test_slot(t.l0, 1), LEAF(R | W | A));
}

Test(riscv_pmp_walk, a_g_stage_a_d_update_pmp_refuses_is_an_access_fault_and_writes_nothing)
{
	/* Svadu in the G-stage (menvcfg.ADUE): the data page's G-stage leaf without A and D. Its table's frame
	 * (found by a lookup, which writes nothing) read-only: the store's G-stage walk reads it, the update of
	 * the leaf is refused: a store access fault, the leaf unchanged. */
	struct nw_s2_request req = { .gpa = nw_gpa(DATA_GPA), .type = LOAD, .lookup_only = true };
	struct nw_s2_result s2;
	uint64_t leaf_table;

	t.gc.adue = true;
	build(R | W | A | D, R | W | U);
	nw_rv_gstage_translate(&t.g, &req, &s2);
	cr_assert_eq(s2.status, NW_S2_OK);
	leaf_table = s2.tables[NW_LEVEL_PT].val;
	set_pmp_first(NAPOT | PR, napot(leaf_table, NW_PAGE_SIZE));
	struct nw_walk_result res = walk(STORE);

	assert_access_fault(&res, NW_RV_CAUSE_STORE_ACCESS);
	cr_assert_not(res.s2_on_table);
	cr_assert_eq(*test_slot(leaf_table, (unsigned)((DATA_GPA >> 12) & 0x1ff)) & (A | D), 0);
}

Test(riscv_pmp_walk, the_fast_walker_gives_the_same_access_fault)
{
	/* The walker's plain copies read the G-stage as masks; with PMP it walks by the rules. */
	_Alignas(NW_WALKER_ALIGN) static unsigned char storage[1 << 14];
	struct nw_access access = { .gva = nw_gva(VA), .size = 8, .type = STORE };
	struct nw_walk_result res;
	struct nw_walker *walker;

	build(R | W | A | D, GALL);
	set_pmp_first(NAPOT | PR, napot(t.data, NW_PAGE_SIZE));
	walker = nw_walker_init_riscv(storage, &t.config, &t.cpu);
	cr_assert_not_null(walker);
	nw_walker_translate(walker, &access, 0, &res);
	assert_access_fault(&res, NW_RV_CAUSE_STORE_ACCESS);
	/* Without PMP the plain copy answers this walk (so the refusal above is not the plain copy declining). */
	struct nw_walk_hit hit;

	t.g.config.pmp.count = 0;
	nw_walker_set_riscv_cpu(walker, &t.cpu);
	cr_assert(nw_walker_probe(walker, &access, &hit));
}

Test(riscv_pmp_walk, a_g_stage_with_a_pmp_no_hart_holds_is_refused)
{
	struct nw_rv_gstage g;

	t.gc.pmp = pmp1(NAPOT | PW, ALL_ONES); /* R=0 W=1 */
	cr_assert_eq(nw_rv_gstage_create(&g, hal, &t.gc), NW_ERR_INVALID);
}
