/* AArch64 stage 1 of the EL1&0 regime, 4 KiB granule, through the one guest
 * walk: TCR_EL1 decoding, range selection, permissions, the Access flag,
 * address size, blocks, and stage-2 faults on stage-1 table reads. Every
 * expected value is derived by hand from the Arm ARM (D8 VMSAv8-64 and its
 * pseudocode AArch64.S1Walk, AArch64.S1ComputePermissions; D19 TCR_EL1,
 * ESR_EL1/ESR_EL2 with the ISS encodings for Data and Instruction Aborts,
 * HPFAR_EL2), the derivation beside it. Tables are written entry by entry;
 * levels in results are the library's (1 = the level-3 page, Arm level n is
 * library level 4 - n). */
#include <nestwalk/arm64_s1.h>
#include <nestwalk/arm64_s2.h>
#include <string.h>

#include "fixture.h"
#include "test_frames.h"

/* TCR_EL1 0x2_8019_0019: T0SZ [5:0] 0x19 = 25 (39-bit VAs from TTBR0), TG0
 * [15:14] 0b00 4 KiB, T1SZ [21:16] 0x19 = 25, TG1 [31:30] 0b10 4 KiB, IPS
 * [34:32] 0b010 40 bits. 39 - 12 = 27 bits = 3 levels of 9: the walk starts
 * at level 1, VA bits 38:30, 29:21, 20:12 index levels 1, 2, 3. */
#define TCR_39 UINT64_C(0x280190019)
/* T0SZ 16, T1SZ 16 (48-bit VAs: 4 levels, start at level 0), TG1 0b10, IPS 0b101 (48 bits). */
#define TCR_48 UINT64_C(0x580100010)
#define SCTLR_M UINT64_C(1)

#define TABLE UINT64_C(3)          /* bits 1:0 0b11: a table at levels 0-2 */
#define PAGE UINT64_C(0x403)       /* AF (bit 10) | 0b11: a page at level 3; AP[2:1] 0b00, UXN and PXN clear */
#define BLOCK UINT64_C(0x401)      /* AF | 0b01: a block at level 1 or 2 */
#define AP_EL0 NW_ARM64_S1_AP1     /* AP[2:1] 0b01: EL0 and EL1 read/write */
#define AP_RO NW_ARM64_S1_AP2      /* AP[2:1] 0b10: EL1 read-only */
#define AP_RO_EL0 (NW_ARM64_S1_AP1 | NW_ARM64_S1_AP2) /* 0b11: read-only at both */

/* ESR_EL1/ESR_EL2 EC << 26 | IL (bit 25, 0x02000000): data abort from EL1 0x25, from EL0 (or to EL2 from
 * below) 0x24; instruction abort 0x21 / 0x20. */
#define DABT_EL1 UINT64_C(0x96000000) /* 0x25 << 26 = 0x94000000 | IL */
#define DABT_EL0 UINT64_C(0x92000000) /* 0x24 << 26 = 0x90000000 | IL */
#define IABT_EL1 UINT64_C(0x86000000) /* 0x21 << 26 = 0x84000000 | IL */
#define IABT_EL0 UINT64_C(0x82000000) /* 0x20 << 26 = 0x80000000 | IL */
#define WNR UINT64_C(0x40)            /* ISS bit 6 */
#define S1PTW UINT64_C(0x80)          /* ISS bit 7 */
/* DFSC/IFSC 0b00ttLL: address size 0x00, translation 0x04, access flag 0x08, permission 0x0c, plus the level. */
#define FSC_ADDR(l) (0x00u + (l))
#define FSC_TRANS(l) (0x04u + (l))
#define FSC_AF(l) (0x08u + (l))
#define FSC_PERM(l) (0x0cu + (l))

/* VA 0x4020_1123: level-1 index bits 38:30 = 1, level-2 index bits 29:21 =
 * 0x201 & 0x1ff = 1, level-3 index bits 20:12 = 0x40201 & 0x1ff = 1, offset 0x123. */
#define VA UINT64_C(0x40201123)
#define PA UINT64_C(0x12345000)

static struct {
	struct nw_walk_config config;
	struct nw_arm64_el1_regs regs;
	struct nw_arm64_cpu cpu;
	struct test_frames frames;
	uint64_t root, l2, l3; /* TTBR0's tables (host addresses) */
	struct nw_arm64_s2 s2;
	bool has_s2;
} t;

static void setup(void)
{
	fixture_setup();
	memset(&t, 0, sizeof(t));
	t.config.hal = hal;
	t.config.stage2.kind = NW_STAGE2_NONE;
}

static void teardown(void)
{
	if (t.has_s2)
		nw_arm64_s2_destroy(&t.s2);
	test_frames_free(&t.frames);
	fixture_teardown();
}

TestSuite(arm64_s1, .init = setup, .fini = teardown);

static uint64_t frame(void)
{
	return test_frames_take(&t.frames);
}

static uint64_t run(unsigned count)
{
	return test_frames_take_run(&t.frames, count);
}

static void load(uint64_t sctlr, uint64_t tcr)
{
	struct nw_arm64_s1_caps caps = nw_arm64_s1_caps_all();

	t.regs.sctlr = sctlr;
	t.regs.tcr = tcr;
	cr_assert_eq(nw_arm64_s1_decode(&t.regs, &caps, &t.cpu.s1), NW_OK);
}

/* TTBR0's three levels for VA with the page descriptor leaf at level 3 (no stage 2: GPA = HPA). */
static void three_levels(uint64_t leaf)
{
	t.root = frame();
	t.l2 = frame();
	t.l3 = frame();
	*test_slot(t.root, 1) = t.l2 | TABLE;
	*test_slot(t.l2, 1) = t.l3 | TABLE;
	*test_slot(t.l3, 1) = leaf;
	t.regs.ttbr0 = t.root;
	load(SCTLR_M, TCR_39);
}

static struct nw_walk_result walk_as(uint64_t va, enum nw_access_type type, bool el0, bool unprivileged,
				     unsigned flags)
{
	struct nw_access access = { .gva = nw_gva(va), .size = 1, .type = type, .unprivileged = unprivileged };
	struct nw_walk_result res;

	t.cpu.el0 = el0;
	nw_arm64_walk(&t.config, &t.cpu, &access, flags, &res);
	return res;
}

static struct nw_walk_result walk(uint64_t va, enum nw_access_type type, bool el0)
{
	return walk_as(va, type, el0, false, 0);
}

static void expect_ok(const struct nw_walk_result *res, uint64_t gpa)
{
	cr_assert_eq(res->outcome, NW_OUTCOME_OK, "outcome %s, esr %#llx", nw_outcome_name(res->outcome),
		     (unsigned long long)res->esr);
	cr_assert_eq(res->gpa.val, gpa, "gpa %#llx", (unsigned long long)res->gpa.val);
}

static void expect_walk_ok(uint64_t va, enum nw_access_type type, bool el0, uint64_t gpa)
{
	struct nw_walk_result res = walk(va, type, el0);

	expect_ok(&res, gpa);
}

/* A stage-1 abort with this ESR_EL1 at library level; FAR_EL1 the virtual address. */
static void expect_s1(const struct nw_walk_result *res, uint64_t esr, enum nw_s2_fault fault, int level, uint64_t va)
{
	cr_assert_eq(res->outcome, NW_OUTCOME_STAGE1_ABORT, "outcome %s", nw_outcome_name(res->outcome));
	cr_assert_eq(res->esr, esr, "esr %#llx, want %#llx", (unsigned long long)res->esr, (unsigned long long)esr);
	cr_assert_eq(res->abort_fault, fault);
	cr_assert_eq(res->fault_level, level);
	cr_assert_eq(res->far, va);
}

Test(arm64_s1, tcr_el1_fields_as_the_arm_arm_lays_them_out)
{
	struct nw_arm64_s1_caps caps = nw_arm64_s1_caps_all();
	struct nw_arm64_s1 s1;

	/* TTBR0_EL1 ASID [63:48] 0x1234, TTBR1_EL1 ASID 0x0002. */
	t.regs.ttbr0 = UINT64_C(0x1234) << 48 | 0x40000000;
	t.regs.ttbr1 = UINT64_C(2) << 48 | 0x50000000;
	t.regs.tcr = TCR_39;
	cr_assert_eq(nw_arm64_s1_decode(&t.regs, &caps, &s1), NW_OK);
	cr_assert_eq(s1.range[0].va_bits, 39);
	cr_assert_eq(s1.range[0].start_level, 1);
	cr_assert_eq(s1.range[1].va_bits, 39);
	cr_assert_eq(s1.range[1].start_level, 1);
	cr_assert_eq(s1.range[0].table, 0x40000000);
	cr_assert_eq(s1.range[1].table, 0x50000000);
	cr_assert_eq(s1.ps_bits, 40);
	cr_assert(!s1.enabled && !s1.ha && !s1.hd);
	cr_assert_eq(s1.asid, 0x34, "AS 0: 8-bit ASIDs, TTBR0_EL1's (A1 0)");
	t.regs.tcr = TCR_39 | NW_TCR_AS;
	cr_assert_eq(nw_arm64_s1_decode(&t.regs, &caps, &s1), NW_OK);
	cr_assert_eq(s1.asid, 0x1234, "AS (bit 36): 16 bits");
	t.regs.tcr = TCR_39 | NW_TCR_A1;
	cr_assert_eq(nw_arm64_s1_decode(&t.regs, &caps, &s1), NW_OK);
	cr_assert_eq(s1.asid, 2, "A1 (bit 22): TTBR1_EL1's ASID");

	/* TCR_48: 48 - 12 = 36 bits = 4 levels, start at level 0; IPS 48. */
	t.regs.tcr = TCR_48;
	cr_assert_eq(nw_arm64_s1_decode(&t.regs, &caps, &s1), NW_OK);
	cr_assert_eq(s1.range[0].start_level, 0);
	cr_assert_eq(s1.ps_bits, 48);
	/* IPS 48 on a PE with PARange 40 reads as 40. */
	caps.pa_bits = 40;
	cr_assert_eq(nw_arm64_s1_decode(&t.regs, &caps, &s1), NW_OK);
	cr_assert_eq(s1.ps_bits, 40);
	caps = nw_arm64_s1_caps_all();

	/* T0SZ 39 (0x27): 25 bits, 13 above the page = 2 levels, start at level 2 with 2^(25-21) = 16 entries, 128
	 * bytes: TTBR0_EL1 BADDR bits 6:1 are below the table's alignment and read as 0; bit 7 is address. */
	t.regs.tcr = (TCR_39 & ~UINT64_C(0x3f)) | 39;
	t.regs.ttbr0 = 0x40000040;
	cr_assert_eq(nw_arm64_s1_decode(&t.regs, &caps, &s1), NW_OK);
	cr_assert_eq(s1.range[0].start_level, 2);
	cr_assert_eq(s1.range[0].format.level[2].entries, 16);
	cr_assert_eq(s1.range[0].table, 0x40000000);
	t.regs.ttbr0 = 0x40000080;
	cr_assert_eq(nw_arm64_s1_decode(&t.regs, &caps, &s1), NW_OK);
	cr_assert_eq(s1.range[0].table, 0x40000080);

	/* Refused: TG0 0b10 (bit 15, 16 KiB) on a PE without it (TGran16); TG0 0b11 reserved; TG1 0b00 reserved
	 * while TTBR1 walks (ignored with EPD1, bit 23); T0SZ 12 below 16 (FEAT_LVA); IPS 0b111 reserved; HD
	 * (bit 40) without HA; HA (bit 39) on a PE without FEAT_HAFDBS; E0PD0 (bit 55); SCTLR_EL1.EPAN (bit 57).
	 * The ranges' refusals with stage 1 on (SCTLR_EL1.M): with M 0 they are not walked (below). */
	t.regs.sctlr = SCTLR_M;
	t.regs.tcr = TCR_39 | UINT64_C(2) << 14;
	cr_assert_eq(nw_arm64_s1_decode(&t.regs, &caps, &s1), NW_OK);
	cr_assert_eq(s1.range[0].granule_bits, 14);
	caps.gran16 = false;
	cr_assert_eq(nw_arm64_s1_decode(&t.regs, &caps, &s1), NW_ERR_UNSUPPORTED);
	caps = nw_arm64_s1_caps_all();
	t.regs.tcr = TCR_39 | UINT64_C(3) << 14;
	cr_assert_eq(nw_arm64_s1_decode(&t.regs, &caps, &s1), NW_ERR_INVALID);
	t.regs.tcr = TCR_39 & ~(UINT64_C(3) << 30);
	cr_assert_eq(nw_arm64_s1_decode(&t.regs, &caps, &s1), NW_ERR_INVALID);
	t.regs.tcr = (TCR_39 & ~(UINT64_C(3) << 30)) | NW_TCR_EPD1;
	cr_assert_eq(nw_arm64_s1_decode(&t.regs, &caps, &s1), NW_OK);
	cr_assert(!s1.range[1].walks);
	t.regs.tcr = (TCR_39 & ~UINT64_C(0x3f)) | 12;
	cr_assert_eq(nw_arm64_s1_decode(&t.regs, &caps, &s1), NW_ERR_UNSUPPORTED);
	t.regs.sctlr = 0;
	cr_assert_eq(nw_arm64_s1_decode(&t.regs, &caps, &s1), NW_OK, "M 0: T0SZ 12 is never read");
	cr_assert(!s1.range[0].walks && s1.range[1].walks);
	t.regs.sctlr = SCTLR_M;
	t.regs.tcr = TCR_39 | UINT64_C(7) << 32;
	cr_assert_eq(nw_arm64_s1_decode(&t.regs, &caps, &s1), NW_ERR_INVALID);
	t.regs.tcr = TCR_39 | NW_TCR_HD;
	cr_assert_eq(nw_arm64_s1_decode(&t.regs, &caps, &s1), NW_ERR_UNSUPPORTED);
	caps.haf = false;
	t.regs.tcr = TCR_39 | NW_TCR_HA;
	cr_assert_eq(nw_arm64_s1_decode(&t.regs, &caps, &s1), NW_ERR_UNSUPPORTED);
	caps = nw_arm64_s1_caps_all();
	t.regs.tcr = TCR_39 | UINT64_C(1) << 55;
	cr_assert_eq(nw_arm64_s1_decode(&t.regs, &caps, &s1), NW_ERR_UNSUPPORTED);
	t.regs.tcr = TCR_39;
	t.regs.sctlr = SCTLR_M | NW_SCTLR_EPAN;
	cr_assert_eq(nw_arm64_s1_decode(&t.regs, &caps, &s1), NW_ERR_UNSUPPORTED);
	/* SCTLR_EL1.A (bit 1): a misaligned load is an Alignment fault (Arm ARM B2.5.2), with stage 1 on or off;
	 * SCTLR_EL1.EE (bit 25): stage-1 descriptors are read big-endian. Neither is modelled: refused, with M 0
	 * too (A applies to every data access, and a refusal must not depend on whether a walk happens). */
	t.regs.sctlr = SCTLR_M | UINT64_C(1) << 1;
	cr_assert_eq(nw_arm64_s1_decode(&t.regs, &caps, &s1), NW_ERR_UNSUPPORTED);
	t.regs.sctlr = UINT64_C(1) << 1;
	cr_assert_eq(nw_arm64_s1_decode(&t.regs, &caps, &s1), NW_ERR_UNSUPPORTED);
	t.regs.sctlr = SCTLR_M | UINT64_C(1) << 25;
	cr_assert_eq(nw_arm64_s1_decode(&t.regs, &caps, &s1), NW_ERR_UNSUPPORTED);
}

Test(arm64_s1, a_page_through_three_levels)
{
	struct nw_walk_result res;

	/* AttrIndx 2 (bits 4:2 = 0x8): the MAIR_EL1 byte the leaf names. */
	three_levels(PA | PAGE | UINT64_C(2) << 2);
	res = walk(VA, NW_ACCESS_READ, false);
	expect_ok(&res, PA | 0x123);
	cr_assert_eq(res.hpa.val, PA | 0x123, "no stage 2: HPA = IPA");
	cr_assert_eq(res.leaf_level, 1);
	cr_assert_eq(res.guest_page_size, NW_PAGE_SIZE);
	cr_assert_eq(res.guest_pat_index, 2);
	cr_assert_eq(res.refs, 3, "three descriptors read");
	cr_assert_eq(res.steps[3].table_gpa.val, t.root);
	cr_assert_eq(res.steps[3].index, 1);
	cr_assert_eq(res.steps[1].entry, PA | PAGE | 8);
	/* The contiguous bit (52) is a TLB hint: the translation is the same. */
	*test_slot(t.l3, 1) |= NW_ARM64_S1_CONTIGUOUS;
	res = walk(VA, NW_ACCESS_WRITE, false);
	expect_ok(&res, PA | 0x123);
}

Test(arm64_s1, ttbr1_for_bit_55_and_the_hole_between_the_ranges)
{
	struct nw_walk_result res;
	uint64_t root1;

	three_levels(PA | PAGE);
	/* TTBR1_EL1's level-1 table: entry 1 a 1 GiB block at 0x8000_0000 (0x8000_0000 | 0x401). */
	root1 = frame();
	*test_slot(root1, 1) = UINT64_C(0x80000000) | BLOCK;
	t.regs.ttbr1 = root1;
	load(SCTLR_M, TCR_39);
	/* 0xffff_ff80_4020_1123: bit 55 set, the upper range; bits 63:39 all ones (T1SZ 25), bits 38:0
	 * 0x40201123: level-1 index 1, the block; offset within 1 GiB 0x201123. */
	res = walk(UINT64_C(0xffffff8040201123), NW_ACCESS_READ, false);
	expect_ok(&res, UINT64_C(0x80201123));
	cr_assert_eq(res.leaf_level, 3);
	cr_assert_eq(res.guest_page_size, NW_SIZE_1G);
	cr_assert_eq(res.refs, 1);
	/* 0x0000_0080_0000_0000: bit 55 clear, lower range, but bit 39 set: outside T0SZ 25's 39 bits. A
	 * Translation fault, level 0: ESR_EL1 0x96000000 | DFSC 0x04. */
	res = walk(UINT64_C(0x8000000000), NW_ACCESS_READ, false);
	expect_s1(&res, DABT_EL1 | FSC_TRANS(0), NW_S2_FAULT_TRANSLATION, 4, UINT64_C(0x8000000000));
	cr_assert_eq(res.refs, 0, "no table read");
	/* 0xff80_0000_4020_1123: bit 55 set, upper range, bits 54:39 zero, not all ones: the same fault; from
	 * EL0 a write: EC 0x24, WnR: 0x92000000 | 0x40 | 0x04. */
	res = walk(UINT64_C(0xff80000040201123), NW_ACCESS_WRITE, true);
	expect_s1(&res, DABT_EL0 | WNR | FSC_TRANS(0), NW_S2_FAULT_TRANSLATION, 4, UINT64_C(0xff80000040201123));
}

Test(arm64_s1, epd_disables_a_range_walk)
{
	struct nw_walk_result res;

	three_levels(PA | PAGE);
	/* EPD0 (bit 7): a TTBR0 miss is a Translation fault at level 0 without a walk; an instruction fetch at
	 * EL1: EC 0x21, IFSC 0x04: 0x86000004. */
	load(SCTLR_M, TCR_39 | NW_TCR_EPD0);
	res = walk(VA, NW_ACCESS_FETCH, false);
	expect_s1(&res, IABT_EL1 | FSC_TRANS(0), NW_S2_FAULT_TRANSLATION, 4, VA);
	cr_assert_eq(res.refs, 0);
	load(SCTLR_M, TCR_39 | NW_TCR_EPD1);
	expect_walk_ok(VA, NW_ACCESS_FETCH, false, PA | 0x123);
}

Test(arm64_s1, top_byte_ignored_only_with_tbi)
{
	struct nw_walk_result res;
	uint64_t tagged = UINT64_C(0x5a00000040201123); /* tag 0x5a in bits 63:56; bit 55 clear: lower range */

	three_levels(PA | PAGE);
	/* TBI0 0: bits 63:39 must be zero: Translation fault level 0, FAR_EL1 the tagged address. */
	res = walk(tagged, NW_ACCESS_READ, false);
	expect_s1(&res, DABT_EL1 | FSC_TRANS(0), NW_S2_FAULT_TRANSLATION, 4, tagged);
	/* TBI0 (bit 37): the top address bit is 55, bits 55:39 are zero: the page. */
	load(SCTLR_M, TCR_39 | NW_TCR_TBI0);
	expect_walk_ok(tagged, NW_ACCESS_READ, false, PA | 0x123);
	/* TBI1 does not apply to the lower range. */
	load(SCTLR_M, TCR_39 | NW_TCR_TBI1);
	res = walk(tagged, NW_ACCESS_READ, false);
	expect_s1(&res, DABT_EL1 | FSC_TRANS(0), NW_S2_FAULT_TRANSLATION, 4, tagged);
}

/* One access kind under the current tables: EL0 or EL1, a type, and the ESR_EL1 expected (0: it translates). */
struct probe {
	bool el0;
	enum nw_access_type type;
	uint64_t esr;
};

static void expect_probes(const char *what, const struct probe *probes, unsigned count)
{
	for (unsigned i = 0; i < count; i++) {
		struct nw_walk_result res = walk(VA, probes[i].type, probes[i].el0);

		if (!probes[i].esr) {
			cr_assert_eq(res.outcome, NW_OUTCOME_OK, "%s, probe %u: outcome %s esr %#llx", what, i,
				     nw_outcome_name(res.outcome), (unsigned long long)res.esr);
			continue;
		}
		cr_assert_eq(res.outcome, NW_OUTCOME_STAGE1_ABORT, "%s, probe %u: outcome %s", what, i,
			     nw_outcome_name(res.outcome));
		cr_assert_eq(res.esr, probes[i].esr, "%s, probe %u: esr %#llx want %#llx", what, i,
			     (unsigned long long)res.esr, (unsigned long long)probes[i].esr);
		cr_assert_eq(res.abort_fault, NW_S2_FAULT_PERMISSION, "%s, probe %u", what, i);
	}
}

#define R NW_ACCESS_READ
#define W NW_ACCESS_WRITE
#define X NW_ACCESS_FETCH
/* Permission faults at level 3: DFSC/IFSC 0x0f. */
#define P1R (DABT_EL1 | FSC_PERM(3))
#define P1W (DABT_EL1 | WNR | FSC_PERM(3))
#define P1X (IABT_EL1 | FSC_PERM(3))
#define P0R (DABT_EL0 | FSC_PERM(3))
#define P0W (DABT_EL0 | WNR | FSC_PERM(3))
#define P0X (IABT_EL0 | FSC_PERM(3))

Test(arm64_s1, ap_uxn_pxn_as_the_arm_arm_tabulates_them)
{
	three_levels(PA | PAGE);
	/* AP[2:1] 0b00: EL1 read/write, EL0 none; both may execute (UXN, PXN clear; EL0 fetch needs no read). */
	expect_probes("AP 00", (const struct probe[]){ { false, R, 0 }, { false, W, 0 }, { false, X, 0 },
						       { true, R, P0R }, { true, W, P0W }, { true, X, 0 } }, 6);
	/* 0b01: read/write at both; EL1 may not execute memory EL0 may write. */
	*test_slot(t.l3, 1) = PA | PAGE | AP_EL0;
	expect_probes("AP 01", (const struct probe[]){ { false, R, 0 }, { false, W, 0 }, { false, X, P1X },
						       { true, R, 0 }, { true, W, 0 }, { true, X, 0 } }, 6);
	/* 0b10: EL1 read-only, EL0 none. */
	*test_slot(t.l3, 1) = PA | PAGE | AP_RO;
	expect_probes("AP 10", (const struct probe[]){ { false, R, 0 }, { false, W, P1W }, { false, X, 0 },
						       { true, R, P0R }, { true, W, P0W }, { true, X, 0 } }, 6);
	/* 0b11: read-only at both; not EL0-writable, so EL1 may execute. */
	*test_slot(t.l3, 1) = PA | PAGE | AP_RO_EL0;
	expect_probes("AP 11", (const struct probe[]){ { false, R, 0 }, { false, W, P1W }, { false, X, 0 },
						       { true, R, 0 }, { true, W, P0W }, { true, X, 0 } }, 6);
	/* PXN (bit 53): no EL1 execution; UXN (bit 54): no EL0 execution; data unaffected. */
	*test_slot(t.l3, 1) = PA | PAGE | AP_RO_EL0 | NW_ARM64_S1_PXN;
	expect_probes("PXN", (const struct probe[]){ { false, X, P1X }, { true, X, 0 }, { true, R, 0 } }, 3);
	*test_slot(t.l3, 1) = PA | PAGE | AP_RO_EL0 | NW_ARM64_S1_UXN;
	expect_probes("UXN", (const struct probe[]){ { false, X, 0 }, { true, X, P0X }, { true, R, 0 } }, 3);
}

Test(arm64_s1, wxn_makes_writable_memory_execute_never_at_its_level)
{
	three_levels(PA | PAGE);
	load(SCTLR_M | NW_SCTLR_WXN, TCR_39);
	/* AP 00: EL1-writable, so no EL1 fetch; EL0 may not write it, so EL0 may execute. */
	expect_probes("WXN AP 00", (const struct probe[]){ { false, X, P1X }, { true, X, 0 }, { false, W, 0 } }, 3);
	/* AP 01: EL0-writable: neither level executes. */
	*test_slot(t.l3, 1) = PA | PAGE | AP_EL0;
	expect_probes("WXN AP 01", (const struct probe[]){ { false, X, P1X }, { true, X, P0X } }, 2);
	/* AP 11: read-only at both: both execute. */
	*test_slot(t.l3, 1) = PA | PAGE | AP_RO_EL0;
	expect_probes("WXN AP 11", (const struct probe[]){ { false, X, 0 }, { true, X, 0 } }, 2);
}

Test(arm64_s1, pan_blocks_el1_data_access_to_el0_memory_but_not_ldtr)
{
	struct nw_walk_result res;

	three_levels(PA | PAGE | AP_RO_EL0);
	t.cpu.pan = true;
	/* PSTATE.PAN: an EL1 read of EL0-readable memory is a Permission fault, 0x96000000 | 0x0f; a fetch is
	 * not a data access. */
	expect_probes("PAN AP 11", (const struct probe[]){ { false, R, P1R }, { false, X, 0 }, { true, R, 0 } }, 3);
	/* LDTR at EL1 is checked as EL0 and PAN does not apply: it reads. */
	res = walk_as(VA, R, false, true, 0);
	expect_ok(&res, PA | 0x123);
	/* STTR to read-only-at-EL0 memory: Permission fault with EL1's EC (taken from EL1): 0x96000000 | WnR | 0x0f. */
	res = walk_as(VA, W, false, true, 0);
	expect_s1(&res, P1W, NW_S2_FAULT_PERMISSION, 1, VA);
	/* AP 00: not EL0-accessible, PAN does not apply; LDTR faults (EL0 has no access). */
	*test_slot(t.l3, 1) = PA | PAGE;
	expect_probes("PAN AP 00", (const struct probe[]){ { false, R, 0 }, { false, W, 0 } }, 2);
	res = walk_as(VA, R, false, true, 0);
	expect_s1(&res, P1R, NW_S2_FAULT_PERMISSION, 1, VA);
	/* PSTATE.UAO: LDTR at EL1 is checked as an EL1 access: it reads AP 00 memory, and PAN blocks it on AP 11. */
	t.cpu.uao = true;
	res = walk_as(VA, R, false, true, 0);
	expect_ok(&res, PA | 0x123);
	*test_slot(t.l3, 1) = PA | PAGE | AP_RO_EL0;
	res = walk_as(VA, R, false, true, 0);
	expect_s1(&res, P1R, NW_S2_FAULT_PERMISSION, 1, VA);
	/* SCTLR_EL1.SPAN 0: an exception taken to EL1 sets PSTATE.PAN; SPAN 1 keeps it. */
	cr_assert(nw_arm64_pan_on_el1_entry(0, false));
	cr_assert(!nw_arm64_pan_on_el1_entry(NW_SCTLR_SPAN, false));
	cr_assert(nw_arm64_pan_on_el1_entry(NW_SCTLR_SPAN, true));
}

/* The matrix's oracle: AArch64.S1ComputePermissions for the EL1&0 regime
 * (no FEAT_S1PIE, no EPAN) and AArch64.S1CheckPermissions, transliterated
 * with the pseudocode's own variables: AP[2:1] gives (pr, pw, ur, uw),
 * APTable takes some away, px and ux from the XN bits, PAN clears pr and pw
 * of a privileged data access to EL0-accessible memory, the access's EL
 * picks (r, w, x), WXN clears x of writable memory. */
struct matrix_case {
	unsigned ap, ap_table;
	bool uxn, pxn, uxn_table, pxn_table, hpd, pan, wxn, el0, unpriv, uao;
	enum nw_access_type type;
};

static bool pseudocode_allows(const struct matrix_case *c)
{
	static const bool perms[4][4] = { { 1, 1, 0, 0 }, { 1, 1, 1, 1 }, { 1, 0, 0, 0 }, { 1, 0, 1, 0 } };
	bool pr = perms[c->ap][0], pw = perms[c->ap][1], ur = perms[c->ap][2], uw = perms[c->ap][3];
	bool hier = !c->hpd, ispriv = !c->el0 && !(c->unpriv && !c->uao), px, ux, r, w, x;

	if (hier && (c->ap_table & 1))
		ur = uw = false;
	if (hier && (c->ap_table & 2))
		pw = uw = false;
	px = !(c->pxn || (hier && c->pxn_table) || uw);
	ux = !(c->uxn || (hier && c->uxn_table));
	if (c->pan && ispriv && c->type != NW_ACCESS_FETCH && (ur || uw))
		pr = pw = false;
	r = ispriv ? pr : ur;
	w = ispriv ? pw : uw;
	x = ispriv ? px : ux;
	if (c->wxn && w && x)
		x = false;
	return c->type == NW_ACCESS_READ ? r : c->type == NW_ACCESS_WRITE ? w : x;
}

static void matrix_check(const struct matrix_case *c)
{
	uint64_t leaf = PA | PAGE | (uint64_t)c->ap << 6 | (c->uxn ? NW_ARM64_S1_UXN : 0) |
			(c->pxn ? NW_ARM64_S1_PXN : 0);
	uint64_t table = t.l3 | TABLE | (uint64_t)c->ap_table << 61 | (c->uxn_table ? NW_ARM64_S1_UXNTABLE : 0) |
			 (c->pxn_table ? NW_ARM64_S1_PXNTABLE : 0);
	uint64_t esr = (c->type == NW_ACCESS_FETCH ? (c->el0 ? IABT_EL0 : IABT_EL1) : (c->el0 ? DABT_EL0 : DABT_EL1)) |
		       (c->type == NW_ACCESS_WRITE ? WNR : 0) | FSC_PERM(3);
	struct nw_walk_result res;

	*test_slot(t.l3, 1) = leaf;
	*test_slot(t.l2, 1) = table;
	t.cpu.pan = c->pan;
	t.cpu.uao = c->uao;
	res = walk_as(VA, c->type, c->el0, c->unpriv, 0);
	if (pseudocode_allows(c)) {
		cr_assert_eq(res.outcome, NW_OUTCOME_OK, "leaf %#llx table %#llx pan %d wxn %d hpd %d el0 %d unpriv %d "
			     "uao %d type %d: esr %#llx", (unsigned long long)leaf, (unsigned long long)table, c->pan,
			     c->wxn, c->hpd, c->el0, c->unpriv, c->uao, c->type, (unsigned long long)res.esr);
		return;
	}
	cr_assert_eq(res.outcome, NW_OUTCOME_STAGE1_ABORT, "leaf %#llx table %#llx pan %d wxn %d hpd %d el0 %d "
		     "unpriv %d uao %d type %d", (unsigned long long)leaf, (unsigned long long)table, c->pan, c->wxn,
		     c->hpd, c->el0, c->unpriv, c->uao, c->type);
	cr_assert_eq(res.esr, esr, "esr %#llx want %#llx", (unsigned long long)res.esr, (unsigned long long)esr);
}

Test(arm64_s1, rights_matrix_against_the_pseudocode)
{
	struct matrix_case c;
	unsigned count = 0;

	/* Every AP[2:1], UXN, PXN of the leaf, APTable, UXNTable, PXNTable of the level-2 table descriptor,
	 * HPD0, PSTATE.PAN, SCTLR_EL1.WXN, EL0 or EL1, LDTR/STTR or not (loads and stores only), PSTATE.UAO, and
	 * each kind of access: 2^14 configurations * 3 kinds - 2^13 unprivileged fetches = 40960 walks. */
	three_levels(PA | PAGE);
	for (unsigned bits = 0; bits < (1u << 14); bits++) {
		c = (struct matrix_case){ .ap = bits & 3, .ap_table = (bits >> 2) & 3, .uxn = (bits >> 4) & 1,
					  .pxn = (bits >> 5) & 1, .uxn_table = (bits >> 6) & 1,
					  .pxn_table = (bits >> 7) & 1, .hpd = (bits >> 8) & 1, .pan = (bits >> 9) & 1,
					  .wxn = (bits >> 10) & 1, .el0 = (bits >> 11) & 1, .unpriv = (bits >> 12) & 1,
					  .uao = (bits >> 13) & 1 };
		if ((bits & 0xff) == 0) /* HPD0 or WXN may have changed */
			load(SCTLR_M | (c.wxn ? NW_SCTLR_WXN : 0), TCR_39 | (c.hpd ? NW_TCR_HPD0 : 0));
		for (unsigned type = 0; type < 3; type++) {
			c.type = (enum nw_access_type)type;
			if (c.unpriv && c.type == NW_ACCESS_FETCH)
				continue;
			matrix_check(&c);
			count++;
		}
	}
	cr_assert_eq(count, 40960);
}

Test(arm64_s1, hierarchical_controls_of_a_table_descriptor)
{
	three_levels(PA | PAGE | AP_EL0);
	/* APTable[0] (bit 61) in the level-2 table descriptor: no EL0 access below; EL1 reads and writes. With
	 * EL0 access gone the page is not EL0-writable: EL1 may execute it, and PAN does not block EL1. */
	*test_slot(t.l2, 1) = t.l3 | TABLE | NW_ARM64_S1_APTABLE0;
	t.cpu.pan = true;
	expect_probes("APTable 01", (const struct probe[]){ { true, R, P0R }, { true, W, P0W }, { false, R, 0 },
							    { false, W, 0 }, { false, X, 0 } }, 5);
	t.cpu.pan = false;
	/* APTable[1] (bit 62): no write at any level below. */
	*test_slot(t.l2, 1) = t.l3 | TABLE | NW_ARM64_S1_APTABLE1;
	expect_probes("APTable 10", (const struct probe[]){ { true, R, 0 }, { true, W, P0W }, { false, W, P1W } }, 3);
	/* PXNTable (bit 59), UXNTable (bit 60) in the level-1 descriptor: no execution at that level below. */
	*test_slot(t.l2, 1) = t.l3 | TABLE;
	*test_slot(t.l3, 1) = PA | PAGE | AP_RO_EL0;
	*test_slot(t.root, 1) = t.l2 | TABLE | NW_ARM64_S1_PXNTABLE;
	expect_probes("PXNTable", (const struct probe[]){ { false, X, P1X }, { true, X, 0 } }, 2);
	*test_slot(t.root, 1) = t.l2 | TABLE | NW_ARM64_S1_UXNTABLE;
	expect_probes("UXNTable", (const struct probe[]){ { false, X, 0 }, { true, X, P0X } }, 2);
	/* TCR_EL1.HPD0 (bit 41): the controls of TTBR0's table descriptors are ignored. */
	*test_slot(t.root, 1) = t.l2 | TABLE | NW_ARM64_S1_UXNTABLE | NW_ARM64_S1_APTABLE1 | NW_ARM64_S1_APTABLE0;
	load(SCTLR_M, TCR_39 | NW_TCR_HPD0);
	expect_probes("HPD0", (const struct probe[]){ { true, X, 0 }, { true, R, 0 } }, 2);
}

Test(arm64_s1, access_flag_fault_and_its_hardware_update)
{
	struct nw_walk_result res;

	/* AF clear (0x3 without 0x400): Access flag fault at level 3, 0x96000000 | 0x0b, checked before the
	 * permissions: an EL0 read of AP 00 memory reports the Access flag. */
	three_levels(PA | 0x3);
	res = walk(VA, R, false);
	expect_s1(&res, DABT_EL1 | FSC_AF(3), NW_S2_FAULT_ACCESS_FLAG, 1, VA);
	res = walk(VA, R, true);
	expect_s1(&res, DABT_EL0 | FSC_AF(3), NW_S2_FAULT_ACCESS_FLAG, 1, VA);
	/* TCR_EL1.HA (bit 39): no fault, and the walk sets AF once the access is allowed: not under
	 * NW_WALK_LOOKUP, not for a faulting access. */
	load(SCTLR_M, TCR_39 | NW_TCR_HA);
	res = walk(VA, R, true);
	expect_s1(&res, P0R, NW_S2_FAULT_PERMISSION, 1, VA);
	cr_assert_eq(*test_slot(t.l3, 1), PA | 0x3);
	res = walk_as(VA, R, false, false, NW_WALK_LOOKUP);
	expect_ok(&res, PA | 0x123);
	cr_assert_eq(*test_slot(t.l3, 1), PA | 0x3);
	res = walk(VA, R, false);
	expect_ok(&res, PA | 0x123);
	cr_assert_eq(*test_slot(t.l3, 1), PA | PAGE);
	cr_assert_eq(res.ad_writes, 1);
}

Test(arm64_s1, dirty_state_clears_ap2_of_a_dbm_page_on_write)
{
	struct nw_walk_result res;
	uint64_t leaf = PA | PAGE | AP_RO | NW_ARM64_S1_DBM;

	three_levels(leaf);
	/* Without HD, AP[2] is read-only whatever DBM (bit 51) says. */
	res = walk(VA, W, false);
	expect_s1(&res, P1W, NW_S2_FAULT_PERMISSION, 1, VA);
	/* HA | HD (bits 39, 40): the write is allowed and clears AP[2]; a read leaves it. */
	load(SCTLR_M, TCR_39 | NW_TCR_HA | NW_TCR_HD);
	expect_walk_ok(VA, R, false, PA | 0x123);
	cr_assert_eq(*test_slot(t.l3, 1), leaf);
	expect_walk_ok(VA, W, false, PA | 0x123);
	cr_assert_eq(*test_slot(t.l3, 1), leaf & ~NW_ARM64_S1_AP2);
	/* APTable[1] still forbids the write: the hierarchical control is not the leaf's AP[2]. */
	*test_slot(t.l3, 1) = leaf;
	*test_slot(t.l2, 1) = t.l3 | TABLE | NW_ARM64_S1_APTABLE1;
	res = walk(VA, W, false);
	expect_s1(&res, P1W, NW_S2_FAULT_PERMISSION, 1, VA);
	cr_assert_eq(*test_slot(t.l3, 1), leaf);
}

Test(arm64_s1, blocks_at_levels_1_and_2_and_misplaced_descriptors)
{
	struct nw_walk_result res;

	three_levels(PA | PAGE);
	/* Level-2 entry 1 a 2 MiB block at 0x4060_0000 (| 0x401): VA offset within 2 MiB 0x1123. */
	*test_slot(t.l2, 1) = UINT64_C(0x40600000) | BLOCK;
	res = walk(VA, R, false);
	expect_ok(&res, UINT64_C(0x40601123));
	cr_assert_eq(res.leaf_level, 2);
	cr_assert_eq(res.guest_page_size, NW_SIZE_2M);
	/* Level-1 entry 1 a 1 GiB block at 0x8000_0000: offset 0x201123. */
	*test_slot(t.root, 1) = UINT64_C(0x80000000) | BLOCK;
	res = walk(VA, R, false);
	expect_ok(&res, UINT64_C(0x80201123));
	cr_assert_eq(res.leaf_level, 3);
	/* Bits 1:0 0b01 at level 3 are reserved: a Translation fault at level 3, 0x96000007. */
	*test_slot(t.root, 1) = t.l2 | TABLE;
	*test_slot(t.l2, 1) = t.l3 | TABLE;
	*test_slot(t.l3, 1) = PA | BLOCK;
	res = walk(VA, R, false);
	expect_s1(&res, DABT_EL1 | FSC_TRANS(3), NW_S2_FAULT_TRANSLATION, 1, VA);
	/* An invalid level-2 descriptor (bit 0 clear): Translation fault level 2, 0x96000006. */
	*test_slot(t.l2, 1) = t.l3 | 2;
	res = walk(VA, R, false);
	expect_s1(&res, DABT_EL1 | FSC_TRANS(2), NW_S2_FAULT_TRANSLATION, 2, VA);
}

Test(arm64_s1, no_block_at_level_0)
{
	struct nw_walk_result res;
	uint64_t root = frame();

	/* TCR_48: the walk starts at level 0 (VA bits 47:39); a block there (0b01) is a Translation fault at
	 * level 0 with the 4 KiB granule: 0x96000004. VA 0x80_4020_1123: level-0 index 1. */
	*test_slot(root, 1) = UINT64_C(0x8000000000) | BLOCK;
	t.regs.ttbr0 = root;
	load(SCTLR_M, TCR_48);
	res = walk(UINT64_C(0x8040201123), R, false);
	expect_s1(&res, DABT_EL1 | FSC_TRANS(0), NW_S2_FAULT_TRANSLATION, 4, UINT64_C(0x8040201123));
	cr_assert_eq(res.refs, 1);
}

Test(arm64_s1, address_size_faults_against_ips)
{
	struct nw_walk_result res;

	three_levels(PA | PAGE);
	/* IPS 40 bits: a level-1 table descriptor naming 2^40: Address size fault at level 1, 0x96000001. */
	*test_slot(t.root, 1) = UINT64_C(0x10000000000) | TABLE;
	res = walk(VA, R, false);
	expect_s1(&res, DABT_EL1 | FSC_ADDR(1), NW_S2_FAULT_ADDRESS_SIZE, 3, VA);
	/* A page at 2^40 + PA: at level 3, 0x96000003. */
	*test_slot(t.root, 1) = t.l2 | TABLE;
	*test_slot(t.l3, 1) = UINT64_C(0x10000000000) | PA | PAGE;
	res = walk(VA, W, false);
	expect_s1(&res, DABT_EL1 | WNR | FSC_ADDR(3), NW_S2_FAULT_ADDRESS_SIZE, 1, VA);
	/* TTBR0_EL1 above it: DFSC 0b000000, "level 0 or translation table base register": 0x96000000. */
	t.regs.ttbr0 = UINT64_C(0x10000000000) | t.root;
	load(SCTLR_M, TCR_39);
	res = walk(VA, R, false);
	expect_s1(&res, DABT_EL1 | FSC_ADDR(0), NW_S2_FAULT_ADDRESS_SIZE, 4, VA);
	cr_assert_eq(res.refs, 0);
}

Test(arm64_s1, stage_1_off_is_flat_up_to_the_pa_size)
{
	struct nw_walk_result res;

	/* SCTLR_EL1.M 0: IPA = VA, no table read. */
	load(0, TCR_39);
	res = walk(VA, X, true);
	expect_ok(&res, VA);
	cr_assert_eq(res.refs, 0);
	/* PA size 48 (the caps): VA bit 48 set is an Address size fault at level 0: 0x96000000. */
	res = walk(UINT64_C(1) << 48, R, false);
	expect_s1(&res, DABT_EL1 | FSC_ADDR(0), NW_S2_FAULT_ADDRESS_SIZE, 4, UINT64_C(1) << 48);
	/* With TBI0 the tag bits 63:56 are not address. */
	load(0, TCR_39 | NW_TCR_TBI0);
	expect_walk_ok(UINT64_C(0x7700000000001000), R, false, 0x1000);
	/* With M 0 no table is walked (AArch64.S1DisabledOutput reads only TBIn and the PA size), so a TCR_EL1 whose
	 * T0SZ/T1SZ 0 (64-bit VAs, FEAT_LVA territory) would be refused for a walk decodes: a reset TCR_EL1 of 0
	 * (IPS 0b000, 32 bits), stage 1 off, VA 0x4000_1000 (below 2^48) is its own IPA. */
	load(0, 0);
	cr_assert(!t.cpu.s1.range[0].walks && !t.cpu.s1.range[1].walks, "T0SZ 0, TG1 0b00: neither range walks");
	expect_walk_ok(UINT64_C(0x40001000), R, false, 0x40001000);
}

/* A walk from level 2 under tcr: l2[i2] names the table l3, l3[i3] is leaf. */
static void two_levels(uint64_t tcr, uint64_t l2, unsigned i2, uint64_t l3, unsigned i3, uint64_t leaf)
{
	*test_slot(l2, i2) = l3 | TABLE;
	*test_slot(l3, i3) = leaf;
	t.regs.ttbr0 = l2;
	load(SCTLR_M, tcr);
	cr_assert_eq(t.cpu.s1.range[0].start_level, 2);
}

/* An EL1 read of va translates to gpa through a leaf of size bytes. */
static void expect_page(uint64_t va, uint64_t gpa, uint64_t size)
{
	struct nw_walk_result res = walk(va, R, false);

	expect_ok(&res, gpa);
	cr_assert_eq(res.guest_page_size, size);
}

Test(arm64_s1, the_16k_granule)
{
	struct nw_walk_result res;
	uint64_t l2 = run(4), l3 = run(4), l1;

	/* TCR_EL1 0x2_8019_801c: T0SZ 0x1c = 28 (36-bit VAs), TG0 [15:14] 0b10 16 KiB, T1SZ 25 and TG1 0b10 4 KiB,
	 * IPS 40 bits. 2048 descriptors a table, 11 bits a level: 36 - 14 = 22 bits, two levels, the walk starts
	 * at level 2 (VA bits 35:25), level 3 takes bits 24:14. VA 0x200_8123: level-2 index 1, level-3 index
	 * 2 (0x8000 >> 14), offset 0x123. */
	two_levels(UINT64_C(0x28019801c), l2, 1, l3, 2, UINT64_C(0x12344000) | PAGE);
	expect_page(0x2008123, UINT64_C(0x12344123), 0x4000);
	cr_assert_eq(walk(0x2008123, R, false).refs, 2);
	/* A table address's bits 13:12 are below the granule: ignored. */
	*test_slot(l2, 1) = (l3 | 0x1000) | TABLE;
	expect_page(0x2008123, UINT64_C(0x12344123), 0x4000);
	/* A 32 MiB block at level 2: 0x4200_0000 | 0x401; offset within it 0x8123. */
	*test_slot(l2, 1) = UINT64_C(0x42000000) | BLOCK;
	expect_page(0x2008123, UINT64_C(0x42008123), UINT64_C(1) << 25);
	/* T0SZ 17 (47 bits): 33 bits above the page, three levels from level 1 (bits 46:36). No block at level 1
	 * with the 16 KiB granule: Translation fault level 1, 0x96000005. VA 2^36: level-1 index 1. */
	l1 = run(4);
	*test_slot(l1, 1) = UINT64_C(0x1000000000) | BLOCK;
	t.regs.ttbr0 = l1;
	load(SCTLR_M, UINT64_C(0x280198011));
	res = walk(UINT64_C(0x1000000000), R, false);
	expect_s1(&res, DABT_EL1 | FSC_TRANS(1), NW_S2_FAULT_TRANSLATION, 3, UINT64_C(0x1000000000));
}

Test(arm64_s1, the_64k_granule)
{
	uint64_t l2 = run(2), l3 = run(16);
	struct nw_walk_result res;

	/* TCR_EL1 0x2_8019_4019: T0SZ 25 (39-bit VAs), TG0 0b01 64 KiB. 8192 descriptors a table, 13 bits a level:
	 * 39 - 16 = 23 bits, two levels, the walk starts at level 2 with 2^(39-29) = 1024 descriptors (8 KiB).
	 * VA 0x2003_4567: level-2 index 1 (bits 38:29), level-3 index 3 (bits 28:16), offset 0x4567. */
	two_levels(UINT64_C(0x280194019), l2, 1, l3, 3, UINT64_C(0x12340000) | PAGE);
	expect_page(0x20034567, UINT64_C(0x12344567), 0x10000);
	cr_assert_eq(walk(0x20034567, R, false).leaf_level, 1);
	/* A 512 MiB block at level 2: 0x4000_0000 | 0x401; offset 0x34567. */
	*test_slot(l2, 1) = UINT64_C(0x40000000) | BLOCK;
	expect_page(0x20034567, UINT64_C(0x40034567), UINT64_C(1) << 29);
	/* Bits 15:12 of a 64 KiB-granule descriptor are OA[51:48] (AArch64.LeafBase, NextTableBase), beyond any IPS
	 * up to 48 bits: an Address size fault at the descriptor's level, the block's (2: 0x96000002) or, in the
	 * table descriptor, level 2's too. */
	*test_slot(l2, 1) = UINT64_C(0x40001000) | BLOCK;
	res = walk(0x20034567, R, false);
	expect_s1(&res, DABT_EL1 | FSC_ADDR(2), NW_S2_FAULT_ADDRESS_SIZE, 2, 0x20034567);
	*test_slot(l2, 1) = l3 | UINT64_C(0x8000) | TABLE;
	res = walk(0x20034567, R, false);
	expect_s1(&res, DABT_EL1 | FSC_ADDR(2), NW_S2_FAULT_ADDRESS_SIZE, 2, 0x20034567);
	/* And in the page: level 3, 0x96000003. */
	*test_slot(l2, 1) = l3 | TABLE;
	*test_slot(l3, 3) = UINT64_C(0x12341000) | PAGE;
	res = walk(0x20034567, R, false);
	expect_s1(&res, DABT_EL1 | FSC_ADDR(3), NW_S2_FAULT_ADDRESS_SIZE, 1, 0x20034567);
}

/* Stage 2: VTCR_EL2 0x80023559 (T0SZ 25: 39-bit IPA, SL0 1: start at level 1, TG0 4 KiB, PS 40 bits). The
 * stage-1 tables at IPAs 0x4100_0000 (level 1), 0x4100_1000 (level 2), 0x4100_2000 (level 3), each mapped
 * read/write to a host frame; the page at IPA PA. */
#define VTCR_39 UINT64_C(0x80023559)
#define S2_NORMAL (NW_ARM64_S2_S2AP_R | NW_ARM64_S2_S2AP_W | NW_ARM64_S2_AF | \
		   nw_arm64_s2_memattr(NW_ARM64_S2_MEMATTR_NORMAL_WB) | UINT64_C(3) << NW_ARM64_S2_SH_SHIFT)
#define IPA_L1 UINT64_C(0x41000000)
#define IPA_L2 UINT64_C(0x41001000)
#define IPA_L3 UINT64_C(0x41002000)

static void stage2_world_with(bool map_l3, uint64_t vtcr)
{
	struct nw_arm64_s2_caps caps = nw_arm64_s2_caps_all();
	struct nw_arm64_s2_config config;

	cr_assert_eq(nw_arm64_vtcr_decode(vtcr, &caps, &config), NW_OK);
	cr_assert_eq(nw_arm64_s2_create(&t.s2, hal, &config), NW_OK);
	t.has_s2 = true;
	t.config.stage2 = (struct nw_stage2){ .kind = NW_STAGE2_ARM64, .arm64 = &t.s2 };
	t.root = frame();
	t.l2 = frame();
	t.l3 = frame();
	cr_assert_eq(nw_arm64_s2_map(&t.s2, nw_gpa(IPA_L1), nw_hpa(t.root), NW_PAGE_SIZE, S2_NORMAL, 0, 0), NW_OK);
	cr_assert_eq(nw_arm64_s2_map(&t.s2, nw_gpa(IPA_L2), nw_hpa(t.l2), NW_PAGE_SIZE, S2_NORMAL, 0, 0), NW_OK);
	if (map_l3)
		cr_assert_eq(nw_arm64_s2_map(&t.s2, nw_gpa(IPA_L3), nw_hpa(t.l3), NW_PAGE_SIZE, S2_NORMAL, 0, 0),
			     NW_OK);
	cr_assert_eq(nw_arm64_s2_map(&t.s2, nw_gpa(PA), nw_hpa(UINT64_C(0x7000000)), NW_PAGE_SIZE,
				     S2_NORMAL & ~NW_ARM64_S2_S2AP_W, 0, 0), NW_OK);
	*test_slot(t.root, 1) = IPA_L2 | TABLE;
	*test_slot(t.l2, 1) = IPA_L3 | TABLE;
	*test_slot(t.l3, 1) = PA | PAGE;
	t.regs.ttbr0 = IPA_L1;
	load(SCTLR_M, TCR_39);
}

static void stage2_world(bool map_l3)
{
	stage2_world_with(map_l3, VTCR_39);
}

Test(arm64_s1, every_stage_1_table_read_goes_through_stage_2)
{
	struct nw_walk_result res;

	stage2_world(true);
	res = walk(VA, R, false);
	expect_ok(&res, PA | 0x123);
	cr_assert_eq(res.hpa.val, UINT64_C(0x7000123));
	/* Three stage-1 descriptors, each behind a three-level stage-2 walk, and the final IPA's: 3 * (3 + 1) + 3. */
	cr_assert_eq(res.refs, 15);
	cr_assert_eq(res.steps[2].table_hpa.val, t.l2);
	/* The page is read-only at stage 2: a write is a stage-2 Permission fault at level 3 on the final access:
	 * ESR_EL2 0x92000000 | WnR | DFSC 0x0f; FAR_EL2 the VA; HPFAR_EL2 is not filled for a permission fault on
	 * the final access. */
	res = walk(VA, W, false);
	cr_assert_eq(res.outcome, NW_OUTCOME_STAGE2_ABORT, "outcome %s", nw_outcome_name(res.outcome));
	cr_assert_eq(res.esr, DABT_EL0 | WNR | FSC_PERM(3), "esr %#llx", (unsigned long long)res.esr);
	cr_assert_eq(res.far, VA);
	cr_assert(!res.s2_on_table);
	cr_assert(!res.hpfar_valid);
	cr_assert_eq(res.fault_gpa.val, PA | 0x123);
	cr_assert_eq(res.abort_fault, NW_S2_FAULT_PERMISSION);
}

Test(arm64_s1, stage_2_fault_on_a_stage_1_table_read_sets_s1ptw)
{
	struct nw_walk_result res;

	/* The level-3 table's IPA 0x4100_2000 is not mapped at stage 2: its level-3 (stage-2) entry, index
	 * (0x41002000 >> 12) & 0x1ff = 2, is empty: Translation fault at stage-2 level 3 on the stage-1 walk.
	 * ESR_EL2 0x92000000 | S1PTW 0x80 | DFSC 0x07 = 0x92000087 (WnR 0: a load); HPFAR_EL2 the table's
	 * IPA: 0x41002000 >> 12 << 4 = 0x410020; FAR_EL2 the VA. */
	stage2_world(false);
	res = walk(VA, R, false);
	cr_assert_eq(res.outcome, NW_OUTCOME_STAGE2_ABORT, "outcome %s", nw_outcome_name(res.outcome));
	cr_assert_eq(res.esr, DABT_EL0 | S1PTW | FSC_TRANS(3), "esr %#llx", (unsigned long long)res.esr);
	cr_assert(res.s2_on_table);
	cr_assert(res.hpfar_valid);
	cr_assert_eq(res.hpfar, 0x410020);
	cr_assert_eq(res.far, VA);
	cr_assert_eq(res.fault_gpa.val, IPA_L3 + 8, "the descriptor's IPA: index 1");
	cr_assert_eq(res.fault_level, 1, "the stage-1 level whose table faulted");
	/* A store: WnR is the instruction's direction, not the walk's read (D24.2.46 ESR_EL2, WnR: "Abort caused
	 * by an instruction writing to a memory location"; J1.1 AArch64.S2Translate keeps the instruction's
	 * FaultRecord.write): 0x92000087 | WnR 0x40 = 0x920000c7. A fetch: EC 0x20, 0x82000087. */
	cr_assert_eq(walk(VA, W, false).esr, DABT_EL0 | S1PTW | WNR | FSC_TRANS(3));
	cr_assert_eq(walk(VA, X, false).esr, IABT_EL0 | S1PTW | FSC_TRANS(3));
}

Test(arm64_s1, hardware_access_flag_update_is_a_stage_2_write)
{
	struct nw_walk_result res;

	/* The level-3 table's page read-only at stage 2, the leaf without AF, TCR_EL1.HA: setting AF writes the
	 * descriptor, which stage 2 refuses (D8.5: the stage-1 update needs stage-2 write permission): Permission
	 * fault at stage-2 level 3 on the stage-1 walk. WnR is the load's, 0, not the update's write (J1.1
	 * AArch64.S1Walk passes the instruction's FaultRecord to AArch64.S2Translate with the update's access,
	 * and AArch64.S2CheckPermissions leaves FaultRecord.write for a walk's access, AccessType_TTW):
	 * 0x92000000 | S1PTW | 0x0f = 0x9200008f; HPFAR_EL2 filled (a stage-1 walk): 0x410020. */
	stage2_world(true);
	cr_assert_eq(nw_arm64_s2_protect(&t.s2, nw_gpa(IPA_L3), NW_PAGE_SIZE, NW_ARM64_S2_S2AP_R, 0), NW_OK);
	*test_slot(t.l3, 1) = PA | 0x3;
	load(SCTLR_M, TCR_39 | NW_TCR_HA);
	res = walk(VA, R, false);
	cr_assert_eq(res.outcome, NW_OUTCOME_STAGE2_ABORT, "outcome %s", nw_outcome_name(res.outcome));
	cr_assert_eq(res.esr, DABT_EL0 | S1PTW | FSC_PERM(3), "esr %#llx", (unsigned long long)res.esr);
	cr_assert(res.hpfar_valid);
	cr_assert_eq(res.hpfar, 0x410020);
	cr_assert_eq(*test_slot(t.l3, 1), PA | 0x3, "nothing written");
	/* A store through the same descriptor: the same fault, WnR 1: 0x9200008f | 0x40 = 0x920000cf. */
	cr_assert_eq(walk(VA, W, false).esr, DABT_EL0 | S1PTW | WNR | FSC_PERM(3));
	cr_assert_eq(*test_slot(t.l3, 1), PA | 0x3, "nothing written");
}

Test(arm64_s1, hardware_access_flag_update_through_a_clean_dbm_stage_2_page)
{
	struct nw_walk_result res;
	struct nw_s2_mapping m;

	/* As above, but with VTCR_EL2.HA and HD (bits 21, 22) and DBM (bit 51) in the stage-2 leaf of the level-3
	 * table's page: writable-clean (Arm ARM D8.4.6). The stage-1 AF update is a write at stage 2, allowed: the
	 * stage-1 leaf gains AF (0x400) and the stage-2 leaf S2AP[1] (0x80). */
	stage2_world_with(true, VTCR_39 | NW_VTCR_HA | NW_VTCR_HD);
	cr_assert_eq(nw_arm64_s2_protect(&t.s2, nw_gpa(IPA_L3), NW_PAGE_SIZE, NW_ARM64_S2_S2AP_R, 0), NW_OK);
	cr_assert_eq(nw_arm64_s2_edit(&t.s2, nw_gpa(IPA_L3), 1, 0, NW_ARM64_S2_DBM, 0, 0), NW_OK);
	cr_assert_eq(nw_arm64_s2_query(&t.s2, nw_gpa(IPA_L3), &m), NW_OK);
	cr_assert_eq(m.entry & (NW_ARM64_S2_S2AP_W | NW_ARM64_S2_DBM), NW_ARM64_S2_DBM, "clean before");
	*test_slot(t.l3, 1) = PA | 0x3;
	load(SCTLR_M, TCR_39 | NW_TCR_HA);
	res = walk(VA, R, false);
	expect_ok(&res, PA | 0x123);
	cr_assert_eq(*test_slot(t.l3, 1), PA | 0x403, "AF set in the stage-1 leaf");
	cr_assert_eq(nw_arm64_s2_query(&t.s2, nw_gpa(IPA_L3), &m), NW_OK);
	cr_assert_eq(m.entry & (NW_ARM64_S2_S2AP_W | NW_ARM64_S2_DBM), NW_ARM64_S2_S2AP_W | NW_ARM64_S2_DBM,
		     "S2AP[1] set by the stage-1 update's write");
}
