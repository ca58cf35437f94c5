/* AArch64 memory attributes: MAIR_EL1 bytes, stage-2 MemAttr, their
 * combination without FEAT_S2FWB, and what a walk reports. Every expected
 * value is derived by hand from the Arm ARM (D19 MAIR_EL1 "Attr<n>" encodings;
 * D8.5.3 the stage-2 MemAttr[3:0] encodings; D8.5.5 and the pseudocode
 * S2CombineS1MemAttrs / S2CombineS1Device / S2CombineS1AttrHints /
 * S2CombineS1Shareability; AArch64.S1DisabledOutput for SCTLR_EL1.M 0; B2.7
 * EffectiveShareability: Device and Normal Non-cacheable memory are Outer
 * Shareable), the derivation beside each. */
#include <nestwalk/arm64_memattr.h>

#include "arm64_world.h"

/* MAIR_EL1, Attr0 in bits 7:0 up to Attr7 in bits 63:56:
 * Attr0 0x00 0b0000_0000 Device-nGnRnE   Attr1 0x04 0b0000_0100 Device-nGnRE
 * Attr2 0x0c 0b0000_1100 Device-GRE      Attr3 0x44 Normal outer and inner 0b0100 Non-cacheable
 * Attr4 0xff Normal 0b1111: Write-Back non-transient, R and W allocate, both levels
 * Attr5 0xbb Normal 0b1011: Write-Through non-transient, R and W allocate
 * Attr6 0x08 0b0000_1000 Device-nGRE     Attr7 0x4f outer 0b0100 Non-cacheable, inner 0b1111 Write-Back RW */
#define MAIR UINT64_C(0x4f08bbff440c0400)
#define SH_NON 0u
#define SH_OUTER 2u
#define SH_INNER 3u

static void expect_device(struct nw_arm64_memattr a, enum nw_arm64_mem_type type)
{
	cr_assert_eq(a.type, type, "type %u, want %u", a.type, type);
	cr_assert_eq(a.shareability, NW_ARM64_SH_OUTER, "Device memory is Outer Shareable");
}

static void expect_normal(struct nw_arm64_memattr a, unsigned inner, unsigned outer, unsigned sh)
{
	cr_assert_eq(a.type, NW_ARM64_MEM_NORMAL, "type %u", a.type);
	cr_assert_eq(a.inner.cacheability, inner, "inner %u, want %u", a.inner.cacheability, inner);
	cr_assert_eq(a.outer.cacheability, outer, "outer %u, want %u", a.outer.cacheability, outer);
	cr_assert_eq(a.shareability, sh, "shareability %u, want %u", a.shareability, sh);
}

Test(arm64_memattr, mair_el1_attribute_bytes)
{
	struct nw_arm64_memattr a;

	expect_device(nw_arm64_mair_decode(MAIR, 0, SH_INNER), NW_ARM64_MEM_DEVICE_NGNRNE); /* dd 0b00; SH ignored */
	expect_device(nw_arm64_mair_decode(MAIR, 1, SH_NON), NW_ARM64_MEM_DEVICE_NGNRE);    /* dd 0b01 */
	expect_device(nw_arm64_mair_decode(MAIR, 6, SH_NON), NW_ARM64_MEM_DEVICE_NGRE);     /* dd 0b10 */
	expect_device(nw_arm64_mair_decode(MAIR, 2, SH_NON), NW_ARM64_MEM_DEVICE_GRE);      /* dd 0b11 */
	/* 0x44 with SH Inner: Non-cacheable at both levels is Outer Shareable whatever SH says. */
	expect_normal(nw_arm64_mair_decode(MAIR, 3, SH_INNER), NW_ARM64_CACHE_NC, NW_ARM64_CACHE_NC, SH_OUTER);
	/* 0xff: Write-Back at both, R and W allocate (RW 0b11), non-transient (bits 3:2 0b11); SH as the leaf says. */
	a = nw_arm64_mair_decode(MAIR, 4, SH_INNER);
	expect_normal(a, NW_ARM64_CACHE_WB, NW_ARM64_CACHE_WB, SH_INNER);
	cr_assert_eq(a.inner.alloc, NW_ARM64_ALLOC_R | NW_ARM64_ALLOC_W);
	cr_assert(!a.inner.transient && !a.outer.transient);
	/* 0xbb: 0b1011 Write-Through non-transient, RW 0b11. */
	a = nw_arm64_mair_decode(MAIR, 5, SH_NON);
	expect_normal(a, NW_ARM64_CACHE_WT, NW_ARM64_CACHE_WT, SH_NON);
	cr_assert_eq(a.outer.alloc, NW_ARM64_ALLOC_R | NW_ARM64_ALLOC_W);
	/* 0x4f: inner Write-Back, outer Non-cacheable: not NC at both levels, so SH Non-shareable stands. */
	expect_normal(nw_arm64_mair_decode(MAIR, 7, SH_NON), NW_ARM64_CACHE_WB, NW_ARM64_CACHE_NC, SH_NON);
	/* Transient: 0x72 = outer 0b0111 Write-Back transient RW, inner 0b0010 Write-Through transient, R only. */
	a = nw_arm64_mair_decode(UINT64_C(0x72), 0, SH_OUTER);
	expect_normal(a, NW_ARM64_CACHE_WT, NW_ARM64_CACHE_WB, SH_OUTER);
	cr_assert(a.outer.transient && a.inner.transient);
	cr_assert_eq(a.outer.alloc, NW_ARM64_ALLOC_R | NW_ARM64_ALLOC_W);
	cr_assert_eq(a.inner.alloc, NW_ARM64_ALLOC_R);
	/* UNPREDICTABLE: 0b0000_0001 (0b0000ddxx, xx not 0b00), 0x40 (0bxxxx_0000), and Normal with SH 0b01. */
	cr_assert_eq(nw_arm64_mair_decode(UINT64_C(0x01), 0, SH_NON).type, NW_ARM64_MEM_UNPREDICTABLE);
	cr_assert_eq(nw_arm64_mair_decode(UINT64_C(0x40), 0, SH_NON).type, NW_ARM64_MEM_UNPREDICTABLE);
	cr_assert_eq(nw_arm64_mair_decode(MAIR, 4, 1).type, NW_ARM64_MEM_UNPREDICTABLE);
}

Test(arm64_memattr, stage_2_memattr)
{
	/* MemAttr[3:2] 0b00: Device, [1:0] the type. */
	expect_device(nw_arm64_s2_attrs(0x0, SH_INNER), NW_ARM64_MEM_DEVICE_NGNRNE);
	expect_device(nw_arm64_s2_attrs(0x1, SH_NON), NW_ARM64_MEM_DEVICE_NGNRE);
	expect_device(nw_arm64_s2_attrs(0x3, SH_NON), NW_ARM64_MEM_DEVICE_GRE);
	/* 0b0101 outer and inner NC: Outer Shareable; 0b1111 WB/WB with its SH; 0b1101 outer WB, inner NC. */
	expect_normal(nw_arm64_s2_attrs(0x5, SH_NON), NW_ARM64_CACHE_NC, NW_ARM64_CACHE_NC, SH_OUTER);
	expect_normal(nw_arm64_s2_attrs(0xf, SH_INNER), NW_ARM64_CACHE_WB, NW_ARM64_CACHE_WB, SH_INNER);
	expect_normal(nw_arm64_s2_attrs(0xd, SH_NON), NW_ARM64_CACHE_NC, NW_ARM64_CACHE_WB, SH_NON);
	cr_assert_eq(nw_arm64_s2_attrs(0xf, SH_INNER).inner.alloc, 0, "stage 2 has no allocation hints");
	/* 0b0100: Normal with inner 0b00, reserved. */
	cr_assert_eq(nw_arm64_s2_attrs(0x4, SH_NON).type, NW_ARM64_MEM_UNPREDICTABLE);
}

static struct nw_arm64_memattr combine(uint64_t mair, unsigned index, unsigned s1_sh, unsigned memattr,
				       unsigned s2_sh)
{
	struct nw_arm64_memattr s1 = nw_arm64_mair_decode(mair, index, s1_sh), s2 = nw_arm64_s2_attrs(memattr, s2_sh);

	return nw_arm64_memattr_combine(&s1, &s2);
}

Test(arm64_memattr, combination_without_s2fwb)
{
	struct nw_arm64_memattr a;

	/* Both Device: the more restrictive type. nGRE (Attr6) with stage 2 nGnRE (0b0001): nGnRE; GRE (Attr2)
	 * with nGnRnE: nGnRnE. */
	expect_device(combine(MAIR, 6, SH_NON, 0x1, SH_NON), NW_ARM64_MEM_DEVICE_NGNRE);
	expect_device(combine(MAIR, 2, SH_NON, 0x0, SH_NON), NW_ARM64_MEM_DEVICE_NGNRNE);
	/* Device beats Normal from either stage: WB (Attr4) over stage-2 GRE (0b0011) is Device-GRE, and
	 * Device-nGnRE (Attr1) over stage-2 WB is Device-nGnRE; Outer Shareable. */
	expect_device(combine(MAIR, 4, SH_INNER, 0x3, SH_INNER), NW_ARM64_MEM_DEVICE_GRE);
	expect_device(combine(MAIR, 1, SH_NON, 0xf, SH_INNER), NW_ARM64_MEM_DEVICE_NGNRE);
	/* Both Normal: the lower cacheability at each level (NC < WT < WB), stage 1's hints. WB RW (Attr4, Inner
	 * Shareable) over stage-2 WT/WT (0b1010, Non-shareable): WT, RW allocate; Inner Shareable (the wider). */
	a = combine(MAIR, 4, SH_INNER, 0xa, SH_NON);
	expect_normal(a, NW_ARM64_CACHE_WT, NW_ARM64_CACHE_WT, SH_INNER);
	cr_assert_eq(a.inner.alloc, NW_ARM64_ALLOC_R | NW_ARM64_ALLOC_W, "stage 1's hints");
	/* WT (Attr5) over stage-2 WB/WB: WT stays (stage 2 does not raise it). */
	expect_normal(combine(MAIR, 5, SH_NON, 0xf, SH_NON), NW_ARM64_CACHE_WT, NW_ARM64_CACHE_WT, SH_NON);
	/* WB RW over stage-2 NC/NC (0b0101, Outer Shareable): NC at both levels, no hints, Outer Shareable. */
	a = combine(MAIR, 4, SH_NON, 0x5, SH_NON);
	expect_normal(a, NW_ARM64_CACHE_NC, NW_ARM64_CACHE_NC, SH_OUTER);
	cr_assert_eq(a.inner.alloc, 0);
	/* Per level: Attr7 (outer NC, inner WB) over stage-2 0b1110 (outer WB, inner WT): outer NC, inner WT; Non-
	 * shareable with Inner from stage 2: Inner. */
	expect_normal(combine(MAIR, 7, SH_NON, 0xe, SH_INNER), NW_ARM64_CACHE_WT, NW_ARM64_CACHE_NC, SH_INNER);
	/* Shareability: Outer wins over Inner; Non with Non stays Non. */
	expect_normal(combine(MAIR, 4, SH_OUTER, 0xf, SH_INNER), NW_ARM64_CACHE_WB, NW_ARM64_CACHE_WB, SH_OUTER);
	expect_normal(combine(MAIR, 4, SH_NON, 0xf, SH_NON), NW_ARM64_CACHE_WB, NW_ARM64_CACHE_WB, SH_NON);
	/* Either side UNPREDICTABLE: nothing claimed. */
	cr_assert_eq(combine(MAIR, 4, SH_NON, 0x4, SH_NON).type, NW_ARM64_MEM_UNPREDICTABLE);
}

static struct nw_arm64_memattr fwb(uint64_t mair, unsigned index, unsigned s1_sh, unsigned memattr, unsigned s2_sh)
{
	struct nw_arm64_memattr s1 = nw_arm64_mair_decode(mair, index, s1_sh);

	return nw_arm64_memattr_fwb(&s1, memattr, s2_sh);
}

/* HCR_EL2.FWB 1 (AArch64.S2ApplyFWBMemAttrs): MemAttr[2] 0 Device of type [1:0]; [1:0] 0b11 stage 1's
 * attributes; 0b10 forced Write-Back; 0b0x Non-cacheable unless stage 1 is Device. */
Test(arm64_memattr, combination_with_s2fwb)
{
	struct nw_arm64_memattr a;

	/* 0b0001 Device-nGnRE over stage-1 WB (Attr4): Device-nGnRE; over stage-1 nGnRnE (Attr0): the more
	 * restrictive, nGnRnE; 0b1011 is Device-GRE too ([3] chooses nothing): over nGRE (Attr6), nGRE. */
	expect_device(fwb(MAIR, 4, SH_INNER, 0x1, SH_INNER), NW_ARM64_MEM_DEVICE_NGNRE);
	expect_device(fwb(MAIR, 0, SH_NON, 0x1, SH_NON), NW_ARM64_MEM_DEVICE_NGNRNE);
	expect_device(fwb(MAIR, 6, SH_NON, 0xb, SH_NON), NW_ARM64_MEM_DEVICE_NGRE);
	/* 0b0111 (0b?111): stage 1's own. WT RW (Attr5) stays WT, where without FWB 0b0111 would be outer NC;
	 * Device-GRE (Attr2) stays Device-GRE; shareability the wider of the two (Non with Inner: Inner). */
	a = fwb(MAIR, 5, SH_NON, 0x7, SH_INNER);
	expect_normal(a, NW_ARM64_CACHE_WT, NW_ARM64_CACHE_WT, SH_INNER);
	cr_assert_eq(a.outer.alloc, NW_ARM64_ALLOC_R | NW_ARM64_ALLOC_W);
	expect_device(fwb(MAIR, 2, SH_NON, 0x7, SH_NON), NW_ARM64_MEM_DEVICE_GRE);
	/* 0b0110: forced Write-Back at both levels. Stage-1 NC/NC (Attr3) becomes WB with RWA hints; Attr7 (outer
	 * NC, inner WB RW) becomes WB/WB, its inner hints kept, the outer RWA; Device-nGnRE (Attr1) becomes
	 * Normal WB too, SH from the descriptors (Device's Outer with Non: Outer). */
	a = fwb(MAIR, 3, SH_NON, 0x6, SH_NON);
	expect_normal(a, NW_ARM64_CACHE_WB, NW_ARM64_CACHE_WB, SH_OUTER);
	cr_assert_eq(a.inner.alloc, NW_ARM64_ALLOC_R | NW_ARM64_ALLOC_W);
	a = fwb(UINT64_C(0x72), 0, SH_NON, 0x6, SH_NON);
	expect_normal(a, NW_ARM64_CACHE_WB, NW_ARM64_CACHE_WB, SH_NON);
	cr_assert(a.inner.transient && a.outer.transient, "stage 1's transience where it is cacheable");
	cr_assert_eq(a.inner.alloc, NW_ARM64_ALLOC_R, "0x72's inner hints: R only");
	expect_normal(fwb(MAIR, 1, SH_NON, 0x6, SH_NON), NW_ARM64_CACHE_WB, NW_ARM64_CACHE_WB, SH_OUTER);
	/* 0b0101 and 0b0100: Normal Non-cacheable (Outer Shareable) over WB; stage 1's Device stays Device. 0b0100
	 * is reserved without FWB, not with it. */
	expect_normal(fwb(MAIR, 4, SH_INNER, 0x5, SH_INNER), NW_ARM64_CACHE_NC, NW_ARM64_CACHE_NC, SH_OUTER);
	expect_normal(fwb(MAIR, 4, SH_INNER, 0x4, SH_INNER), NW_ARM64_CACHE_NC, NW_ARM64_CACHE_NC, SH_OUTER);
	expect_device(fwb(MAIR, 1, SH_NON, 0x5, SH_NON), NW_ARM64_MEM_DEVICE_NGNRE);
	/* A Normal result with stage-2 SH 0b01 (reserved) is UNPREDICTABLE, as without FWB. */
	cr_assert_eq(fwb(MAIR, 4, SH_NON, 0x7, 1).type, NW_ARM64_MEM_UNPREDICTABLE);
}

/* Walks through the one guest walk: tables built in HAL frames, and with a stage 2 each table's IPA mapped to
 * its own host address. TCR_EL1 0x2_8019_0019: 39-bit VAs from Arm level 1, 4 KiB granules, IPS 40 bits. */
#define TCR_39 UINT64_C(0x280190019)
/* VTCR_EL2 0x8002_3559: T0SZ 25, SL0 0b01 (level 1), IRGN/ORGN/SH0 (not modelled), TG0 4 KiB, PS 40 bits. */
#define VTCR_39 UINT64_C(0x80023559)
#define VA UINT64_C(0x40201000)
#define IPA UINT64_C(0x12345000)
#define S2_RW (NW_ARM64_S2_S2AP_R | NW_ARM64_S2_S2AP_W | NW_ARM64_S2_AF)

TestSuite(arm64_memattr_walk, .init = a64_world_setup, .fini = a64_world_teardown);

static void load(uint64_t sctlr)
{
	a64_world_load(sctlr, TCR_39, MAIR);
}

static void stage1_page(uint64_t flags)
{
	cr_assert_eq(nw_arm64_s1_tables_map(a64_world_tables(0, 12, 39), VA, nw_gpa(IPA), NW_PAGE_SIZE,
					    flags | NW_ARM64_S1_AF),
		     NW_OK);
}

/* A stage 2 mapping IPA with memattr and SH sh, and each stage-1 table's IPA to itself. */
static void stage2(unsigned memattr, unsigned sh)
{
	struct nw_arm64_s2_caps caps = nw_arm64_s2_caps_all();
	struct nw_arm64_s2_config config;
	struct nw_pt_leaf leaf;
	uint64_t flags = S2_RW | nw_arm64_s2_memattr(memattr) | (uint64_t)sh << NW_ARM64_S2_SH_SHIFT;

	cr_assert_eq(nw_arm64_vtcr_decode(VTCR_39, &caps, &config), NW_OK);
	cr_assert_eq(nw_arm64_s2_create(&aw.s2, hal, &config), NW_OK);
	aw.has_s2 = true;
	aw.config.stage2 = (struct nw_stage2){ .kind = NW_STAGE2_ARM64, .arm64 = &aw.s2 };
	cr_assert_eq(nw_arm64_s2_map(&aw.s2, nw_gpa(IPA), nw_hpa(0x7000000), NW_PAGE_SIZE, flags, 0, 0), NW_OK);
	if (!aw.has_range[0])
		return;
	cr_assert_eq(nw_arm64_s1_tables_query(&aw.range[0], VA, &leaf), NW_OK);
	for (int level = 1; level <= 3; level++)
		cr_assert_eq(nw_arm64_s2_map(&aw.s2, nw_gpa(leaf.tables[level]), nw_hpa(leaf.tables[level]),
					     NW_PAGE_SIZE, S2_RW | nw_arm64_s2_memattr(0xf), 0, 0),
			     NW_OK);
}

static struct nw_arm64_memattr walk_attrs(enum nw_access_type type)
{
	struct nw_walk_result res = a64_world_walk(VA, type, false);

	cr_assert_eq(res.outcome, NW_OUTCOME_OK, "outcome %s esr %#llx", nw_outcome_name(res.outcome),
		     (unsigned long long)res.esr);
	return res.arm64_memattr;
}

Test(arm64_memattr_walk, stage_1_alone_reports_mair_el1)
{
	struct nw_walk_result res;

	/* AttrIndx 4 (0xff, WB RW) with SH 0b11: Normal WB, Inner Shareable. */
	stage1_page(nw_arm64_s1_attr_index(4) | UINT64_C(3) << NW_ARM64_S1_SH_SHIFT);
	load(NW_SCTLR_M);
	expect_normal(walk_attrs(NW_ACCESS_READ), NW_ARM64_CACHE_WB, NW_ARM64_CACHE_WB, SH_INNER);
	/* AttrIndx 1 (0x04): Device-nGnRE. */
	cr_assert_eq(nw_arm64_s1_tables_edit(&aw.range[0], VA, 1, NW_ARM64_S1_ATTRINDX_MASK, nw_arm64_s1_attr_index(1),
					     0),
		     NW_OK);
	expect_device(walk_attrs(NW_ACCESS_WRITE), NW_ARM64_MEM_DEVICE_NGNRE);
	/* A fault reports no attributes: the next page is not mapped. */
	res = a64_world_walk(VA + NW_PAGE_SIZE, NW_ACCESS_READ, false);
	cr_assert_eq(res.outcome, NW_OUTCOME_STAGE1_ABORT);
	cr_assert_eq(res.arm64_memattr.type, NW_ARM64_MEM_NONE);
}

Test(arm64_memattr_walk, stage_1_off_defaults)
{
	/* SCTLR_EL1.M 0: data Device-nGnRnE; fetches with I (bit 12) Normal WT read-allocate, without I Normal NC;
	 * all Outer Shareable. The flat IPA is the VA. */
	load(0);
	expect_device(walk_attrs(NW_ACCESS_READ), NW_ARM64_MEM_DEVICE_NGNRNE);
	expect_normal(walk_attrs(NW_ACCESS_FETCH), NW_ARM64_CACHE_NC, NW_ARM64_CACHE_NC, SH_OUTER);
	load(NW_SCTLR_I);
	expect_normal(walk_attrs(NW_ACCESS_FETCH), NW_ARM64_CACHE_WT, NW_ARM64_CACHE_WT, SH_OUTER);
	cr_assert_eq(walk_attrs(NW_ACCESS_FETCH).inner.alloc, NW_ARM64_ALLOC_R);
}

Test(arm64_memattr_walk, combined_with_stage_2)
{
	/* AttrIndx 4 (WB RW), SH Non-shareable, over a stage-2 page WT/WT (0b1010) Inner Shareable: WT, stage 1's
	 * RW hints, Inner Shareable. */
	stage1_page(nw_arm64_s1_attr_index(4));
	stage2(0xa, SH_INNER);
	load(NW_SCTLR_M);
	expect_normal(walk_attrs(NW_ACCESS_READ), NW_ARM64_CACHE_WT, NW_ARM64_CACHE_WT, SH_INNER);
	cr_assert_eq(walk_attrs(NW_ACCESS_READ).inner.alloc, NW_ARM64_ALLOC_R | NW_ARM64_ALLOC_W);
}

Test(arm64_memattr_walk, stage_1_off_over_stage_2)
{
	/* M 0 with a stage-2 page WB/WB Inner Shareable at IPA = VA: a read is Device-nGnRnE (Device beats
	 * Normal); a fetch with I is WT/WT (the lower cacheability), Outer Shareable (stage 1's, the wider). */
	stage2(0xf, SH_INNER);
	cr_assert_eq(nw_arm64_s2_map(&aw.s2, nw_gpa(VA), nw_hpa(0x7001000), NW_PAGE_SIZE,
				     S2_RW | nw_arm64_s2_memattr(0xf) | UINT64_C(3) << NW_ARM64_S2_SH_SHIFT, 0, 0),
		     NW_OK);
	load(NW_SCTLR_I);
	expect_device(walk_attrs(NW_ACCESS_READ), NW_ARM64_MEM_DEVICE_NGNRNE);
	expect_normal(walk_attrs(NW_ACCESS_FETCH), NW_ARM64_CACHE_WT, NW_ARM64_CACHE_WT, SH_OUTER);
}

Test(arm64_memattr_walk, stage_2_fwb_forces_the_attributes)
{
	/* HCR_EL2.FWB 1 over the same stage-1 page (AttrIndx 3: Normal NC, Non-shareable): stage-2 MemAttr 0b0110
	 * forces Write-Back (RWA hints), Inner Shareable from stage 2 (NC's Outer from stage 1 wins: Outer); the
	 * builder takes 0b0100, reserved without FWB, as Non-cacheable. */
	stage1_page(nw_arm64_s1_attr_index(3));
	stage2(0x6, SH_INNER);
	cr_assert_eq(nw_arm64_s2_set_fwb(&aw.s2, true), NW_OK);
	load(NW_SCTLR_M);
	expect_normal(walk_attrs(NW_ACCESS_READ), NW_ARM64_CACHE_WB, NW_ARM64_CACHE_WB, SH_OUTER);
	cr_assert_eq(nw_arm64_s2_map(&aw.s2, nw_gpa(IPA + NW_PAGE_SIZE), nw_hpa(0x7001000), NW_PAGE_SIZE,
				     S2_RW | nw_arm64_s2_memattr(0x4), 0, 0),
		     NW_OK);
	/* Without FWB the same leaf combines as MemAttr 0b0110 (outer NC, inner WT): NC/NC stays NC/NC. */
	cr_assert_eq(nw_arm64_s2_set_fwb(&aw.s2, false), NW_OK);
	expect_normal(walk_attrs(NW_ACCESS_READ), NW_ARM64_CACHE_NC, NW_ARM64_CACHE_NC, SH_OUTER);
	cr_assert_eq(nw_arm64_s2_map(&aw.s2, nw_gpa(IPA + 2 * NW_PAGE_SIZE), nw_hpa(0x7002000), NW_PAGE_SIZE,
				     S2_RW | nw_arm64_s2_memattr(0x4), 0, 0),
		     NW_ERR_INVALID);
	aw.s2.config.caps.s2fwb = false;
	cr_assert_eq(nw_arm64_s2_set_fwb(&aw.s2, true), NW_ERR_UNSUPPORTED);
}
