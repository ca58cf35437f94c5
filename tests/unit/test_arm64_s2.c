/* AArch64 stage 2, 4, 16 and 64 KiB granules: descriptors, outcomes, ESR_EL2 and
 * HPFAR_EL2 derived by hand from the Arm ARM (D8.3 descriptor formats, the
 * AArch64.S2Walk and AArch64.CheckS2Permission pseudocode, D19 ESR_EL2 ISS
 * for Data and Instruction Aborts, HPFAR_EL2). Levels in the results are the
 * library's (1 = the level-3 page); Arm level n is library level 4 - n. */
#include <nestwalk/arm64_s2.h>

#include "fixture.h"
#include "test_s2_util.h"

TestSuite(arm64_s2, .init = fixture_setup, .fini = fixture_teardown);

/* VTCR_EL2 0x80023559: T0SZ [5:0] 0x19 = 25 (39-bit IPA), SL0 [7:6] 1 (start
 * at level 1), IRGN0/ORGN0 1, SH0 3, TG0 [15:14] 0 (4 KiB), PS [18:16] 0b010
 * (40 bits), RES1 bit 31. Level 1 resolves IPA bits 38:30: one full table. */
#define VTCR_39 UINT64_C(0x80023559)
/* 0x80023558 as above with T0SZ 24 (40-bit IPA): level 1 then resolves bits
 * 39:30, 1024 entries, two concatenated level-1 tables. */
#define VTCR_40 UINT64_C(0x80023558)
/* T0SZ 16 (48-bit IPA), SL0 2 (start at level 0), PS 0b101 (48 bits). */
#define VTCR_48 UINT64_C(0x80053590)

/* 64 KiB granule: T0SZ 22 (42-bit IPA), SL0 0b01, IRGN0/ORGN0 1, SH0 3, TG0 0b01, PS 0b101 (48 bits), RES1:
 * 0x80000000 | 0x50000 | 0x4000 | 0x3500 | 0x40 | 0x16. AArch64.S2StartLevel for 64 KiB: SL0 0b01 is level 2,
 * whose index is IPA bits 41:29 (shift 16 + 13): 2^13 entries, one 64 KiB table. */
#define VTCR_64K_42 UINT64_C(0x80057556)
/* 16 KiB granule: T0SZ 24 (40 bits), SL0 0b01 (level 2, shift 14 + 11 = 25), TG0 0b10, PS 48 bits:
 * 0x80000000 | 0x50000 | 0x8000 | 0x3500 | 0x40 | 0x18. Level 2 resolves bits 39:25, 2^15 entries: 16
 * concatenated tables of 2048. */
#define VTCR_16K_40 UINT64_C(0x8005b558)
#define SZ_16K UINT64_C(0x4000)
#define SZ_64K UINT64_C(0x10000)
#define SZ_32M UINT64_C(0x2000000)
#define SZ_512M UINT64_C(0x20000000)

#define V NW_ARM64_S2_VALID
#define RW (NW_ARM64_S2_S2AP_R | NW_ARM64_S2_S2AP_W)
#define WB_ISH (nw_arm64_s2_memattr(NW_ARM64_S2_MEMATTR_NORMAL_WB) | (UINT64_C(3) << NW_ARM64_S2_SH_SHIFT))
#define AF NW_ARM64_S2_AF
#define NORMAL (RW | WB_ISH | AF) /* 0x7fc: S2AP 0b11, SH 0b11, MemAttr 0b1111, AF */

/* ESR_EL2 for a data abort from a lower EL: EC 0x24 << 26 = 0x90000000, IL
 * (bit 25) 0x02000000; an instruction abort: EC 0x20 << 26 = 0x80000000. */
#define DABT UINT64_C(0x92000000)
#define IABT UINT64_C(0x82000000)
#define WNR UINT64_C(0x40)
#define S1PTW UINT64_C(0x80)

static struct nw_arm64_s2_caps caps_all(bool xnx)
{
	struct nw_arm64_s2_caps caps = nw_arm64_s2_caps_all();

	caps.xnx = xnx;
	return caps;
}

static void make(struct nw_arm64_s2 *s2, uint64_t vtcr, bool xnx)
{
	struct nw_arm64_s2_caps caps = caps_all(xnx);
	struct nw_arm64_s2_config config;

	cr_assert_eq(nw_arm64_vtcr_decode(vtcr, &caps, &config), NW_OK);
	cr_assert_eq(nw_arm64_s2_create(s2, hal, &config), NW_OK);
}

static void map(struct nw_arm64_s2 *s2, uint64_t ipa, uint64_t pa, uint64_t size, uint64_t flags)
{
	cr_assert_eq(nw_arm64_s2_map(s2, nw_gpa(ipa), nw_hpa(pa), size, flags, 0, 0), NW_OK);
}

static void edit(struct nw_arm64_s2 *s2, uint64_t ipa, int level, uint64_t clear, uint64_t set)
{
	cr_assert_eq(nw_arm64_s2_edit(s2, nw_gpa(ipa), level, clear, set, 0, 0), NW_OK);
}

static struct nw_s2_result go(struct nw_arm64_s2 *s2, uint64_t ipa, enum nw_access_type type, bool el0)
{
	struct nw_s2_request req = { .gpa = nw_gpa(ipa), .type = type, .user = el0 };
	struct nw_s2_result res;

	nw_arm64_s2_translate(s2, &req, &res);
	return res;
}

static uint64_t esr(const struct nw_s2_result *res, enum nw_access_type type, bool s1ptw)
{
	struct nw_arm64_s2_access a = { .type = type, .s1ptw = s1ptw };

	return nw_arm64_s2_esr(res, &a);
}

/* A translation of ipa to hpa through a leaf of size bytes at Arm level arm_level, refs entries read. */
static void expect_translation(struct nw_arm64_s2 *s2, uint64_t ipa, enum nw_access_type type, uint64_t hpa,
			       uint64_t size, int arm_level, unsigned refs)
{
	struct nw_s2_result res = go(s2, ipa, type, false);

	cr_assert_eq(res.status, NW_S2_OK, "ipa %#llx", (unsigned long long)ipa);
	cr_assert_eq(res.hpa.val, hpa, "ipa %#llx: hpa %#llx", (unsigned long long)ipa,
		     (unsigned long long)res.hpa.val);
	cr_assert_eq(res.page_size, size);
	cr_assert_eq(nw_arm64_s2_level(res.level), arm_level);
	cr_assert_eq(res.refs, refs);
}

/* A fault of kind at library level, its ESR_EL2 for a read and a write, and HPFAR_EL2. */
static void expect_fault(struct nw_arm64_s2 *s2, uint64_t ipa, enum nw_s2_fault kind, int level, uint64_t esr_read,
			 uint64_t hpfar_want)
{
	struct nw_s2_result r = go(s2, ipa, NW_ACCESS_READ, false), w = go(s2, ipa, NW_ACCESS_WRITE, false);
	struct nw_arm64_s2_access a = { .type = NW_ACCESS_READ };
	uint64_t hpfar = 0;

	cr_assert_neq(r.status, NW_S2_OK, "ipa %#llx", (unsigned long long)ipa);
	cr_assert_eq(r.fault, kind, "ipa %#llx: fault %d", (unsigned long long)ipa, r.fault);
	cr_assert_eq(r.level, level, "ipa %#llx: level %d", (unsigned long long)ipa, r.level);
	cr_assert_eq(esr(&r, NW_ACCESS_READ, false), esr_read, "ipa %#llx: esr %#llx", (unsigned long long)ipa,
		     (unsigned long long)esr(&r, NW_ACCESS_READ, false));
	cr_assert_eq(w.fault, kind);
	cr_assert_eq(esr(&w, NW_ACCESS_WRITE, false), esr_read | WNR);
	cr_assert(nw_arm64_hpfar(&r, nw_gpa(ipa), &a, &hpfar));
	cr_assert_eq(hpfar, hpfar_want, "hpfar %#llx", (unsigned long long)hpfar);
}

Test(arm64_s2, vtcr_fields_as_the_arm_arm_lays_them_out)
{
	struct nw_arm64_s2_caps caps = caps_all(true);
	struct nw_arm64_s2_config config;

	cr_assert_eq(nw_arm64_vtcr_decode(VTCR_40, &caps, &config), NW_OK);
	cr_assert_eq(config.ipa_bits, 40);
	cr_assert_eq(config.start_level, 1);
	cr_assert_eq(config.ps_bits, 40);
	cr_assert_eq(nw_arm64_vtcr_decode(VTCR_48, &caps, &config), NW_OK);
	cr_assert_eq(config.ipa_bits, 48);
	cr_assert_eq(config.start_level, 0);
	cr_assert_eq(config.ps_bits, 48);
	/* RES1 bit 31 clear; PS 0b111 reserved. */
	cr_assert_eq(nw_arm64_vtcr_decode(VTCR_40 & ~NW_VTCR_RES1, &caps, &config), NW_ERR_INVALID);
	cr_assert_eq(nw_arm64_vtcr_decode(VTCR_40 | UINT64_C(7) << 16, &caps, &config), NW_ERR_INVALID);
	/* S2InconsistentSL: T0SZ 24 with SL0 0 (start at level 2) needs 2^(40-21) = 2^19 entries there: 1024 tables. */
	cr_assert_eq(nw_arm64_vtcr_decode(VTCR_40 & ~UINT64_C(0xc0), &caps, &config), NW_ERR_INVALID);
	/* Level 1 with T0SZ 20 (44 bits): 2^14 entries, 32 tables, more than 16. */
	cr_assert_eq(nw_arm64_vtcr_decode((VTCR_40 & ~NW_VTCR_T0SZ_MASK) | 20, &caps, &config), NW_ERR_INVALID);
	/* TG0 0b11 is reserved. */
	cr_assert_eq(nw_arm64_vtcr_decode(VTCR_40 | UINT64_C(3) << 14, &caps, &config), NW_ERR_INVALID);
	/* Controls outside T0SZ..VS, HA, HD and RES1 change what a walk does and are not modelled, so they are
	 * refused rather than ignored: DS (bit 32, FEAT_LPA2: 52-bit descriptors), SL2 (bit 33), and RES0 bit 20.
	 * IRGN0, ORGN0 and SH0 (bits 13:8, the walk's own cacheability) are read: VTCR_40 sets them. */
	cr_assert_eq(nw_arm64_vtcr_decode(VTCR_40 | UINT64_C(1) << 32, &caps, &config), NW_ERR_UNSUPPORTED);
	cr_assert_eq(nw_arm64_vtcr_decode(VTCR_40 | UINT64_C(1) << 33, &caps, &config), NW_ERR_UNSUPPORTED);
	cr_assert_eq(nw_arm64_vtcr_decode(VTCR_40 | UINT64_C(1) << 20, &caps, &config), NW_ERR_UNSUPPORTED);
	cr_assert_eq(VTCR_40 & UINT64_C(0x3f00), UINT64_C(0x3500));
	/* S2InvalidSL: level 0 start with a PA size of 40 bits. */
	caps.pa_bits = 40;
	cr_assert_eq(nw_arm64_vtcr_decode((VTCR_48 & ~NW_VTCR_T0SZ_MASK) | 24, &caps, &config), NW_ERR_INVALID);
	/* PS 48 above PARange 40 reads as 40. */
	cr_assert_eq(nw_arm64_vtcr_decode((VTCR_40 & ~(UINT64_C(7) << 16)) | UINT64_C(5) << 16, &caps, &config), NW_OK);
	cr_assert_eq(config.ps_bits, 40);
}

/* SL0 per granule (AArch64.S2StartLevel), AArch64.S2InconsistentSL (the start level resolves at least one bit
 * and at most a stride plus four, 16 concatenated tables) and AArch64.S2InvalidSL. */
Test(arm64_s2, vtcr_start_level_per_granule)
{
	struct nw_arm64_s2_caps caps = caps_all(true);
	struct nw_arm64_s2_config config;
	uint64_t t0sz_sl0 = NW_VTCR_T0SZ_MASK | UINT64_C(3) << NW_VTCR_SL0_SHIFT;
	uint64_t v64 = VTCR_64K_42 & ~t0sz_sl0, v16 = VTCR_16K_40 & ~t0sz_sl0;

	cr_assert_eq(nw_arm64_vtcr_decode(VTCR_64K_42, &caps, &config), NW_OK);
	cr_assert_eq(config.granule_bits, 16);
	cr_assert_eq(config.ipa_bits, 42);
	cr_assert_eq(config.start_level, 2);
	/* 64 KiB, T0SZ 22: SL0 0 (level 3, shift 16) resolves 17 to 16 + 13 + 4 = 33 bits; SL0 2 (level 1, shift
	 * 42) 43 to 59: 42 bits fit neither. SL0 3 is reserved with 64 KiB. */
	cr_assert_eq(nw_arm64_vtcr_decode(v64 | 22, &caps, &config), NW_ERR_INVALID);
	cr_assert_eq(nw_arm64_vtcr_decode(v64 | 22 | 2 << 6, &caps, &config), NW_ERR_INVALID);
	cr_assert_eq(nw_arm64_vtcr_decode(v64 | 17 | 3 << 6, &caps, &config), NW_ERR_INVALID);
	/* T0SZ 18 (46 bits) at level 2: 2^17 entries, 16 tables (30 + 12 + 4 = 46, the most); T0SZ 17 would be 32. */
	cr_assert_eq(nw_arm64_vtcr_decode(v64 | 18 | 1 << 6, &caps, &config), NW_OK);
	cr_assert_eq(nw_arm64_vtcr_decode(v64 | 17 | 1 << 6, &caps, &config), NW_ERR_INVALID);
	/* T0SZ 17 at level 1 (SL0 2): bits 46:42, 32 entries; SL0 0 with T0SZ 39 (25 bits): level 3, 512 entries. */
	cr_assert_eq(nw_arm64_vtcr_decode(v64 | 17 | 2 << 6, &caps, &config), NW_OK);
	cr_assert_eq(config.start_level, 1);
	cr_assert_eq(nw_arm64_vtcr_decode(v64 | 39, &caps, &config), NW_OK);
	cr_assert_eq(config.start_level, 3);

	cr_assert_eq(nw_arm64_vtcr_decode(VTCR_16K_40, &caps, &config), NW_OK);
	cr_assert_eq(config.granule_bits, 14);
	cr_assert_eq(config.start_level, 2);
	/* 16 KiB SL0 3 is level 0: valid only with VTCR_EL2.DS (FEAT_LPA2), even where T0SZ 16 is consistent. */
	cr_assert_eq(nw_arm64_vtcr_decode(v16 | 16 | 3 << 6, &caps, &config), NW_ERR_INVALID);
	/* T0SZ 16 at level 1 (shift 36): 37 to 37 + 10 + 4 = 51 bits: 48 fits, 2^12 entries in two tables. */
	cr_assert_eq(nw_arm64_vtcr_decode(v16 | 16 | 2 << 6, &caps, &config), NW_OK);
	cr_assert_eq(config.start_level, 1);
	/* S2InvalidSL: a 16 KiB level-1 start needs PAMax 42 bits (T0SZ 24, PS 40 bits: 0x8002b598). */
	caps.pa_bits = 40;
	cr_assert_eq(nw_arm64_vtcr_decode(UINT64_C(0x8002b598), &caps, &config), NW_ERR_INVALID);
	caps.pa_bits = 42;
	cr_assert_eq(nw_arm64_vtcr_decode(UINT64_C(0x8002b598), &caps, &config), NW_OK);
	cr_assert_eq(config.start_level, 1);
	/* A PE without the granule at stage 2 (ID_AA64MMFR0_EL1.TGran16_2 / TGran64_2). */
	caps = caps_all(true);
	caps.gran16 = false;
	cr_assert_eq(nw_arm64_vtcr_decode(VTCR_16K_40, &caps, &config), NW_ERR_UNSUPPORTED);
	caps.gran64 = false;
	cr_assert_eq(nw_arm64_vtcr_decode(VTCR_64K_42, &caps, &config), NW_ERR_UNSUPPORTED);
}

Test(arm64_s2, granule_64k_pages_and_512m_blocks)
{
	struct nw_arm64_s2 s2;
	struct nw_pt_leaf leaf;
	uint64_t old;

	make(&s2, VTCR_64K_42, false);
	/* The root: one 64 KiB level-2 table (16 frames) and its 16 count frames. */
	cr_assert_eq(s2.format.level[s2.format.top].entries, 8192);
	cr_assert_eq(nw_simmem_stats(sim).live, 16 + 16);
	cr_assert_eq(s2.pt.root & 0xffff, 0);
	map(&s2, 0x40010000, 0x80010000, SZ_64K, NORMAL);
	/* A level-3 table: 16 more frames (no count frames below level 2). */
	cr_assert_eq(nw_simmem_stats(sim).live, 16 + 16 + 16);
	/* Level-2 index 0x40010000 >> 29 = 2: the level-3 table | 0b11; level-3 index (0x40010000 >> 16) & 0x1fff
	 * = 1: 0x80010000 | 0x7fc | 0b11. */
	cr_assert_eq(nw_pt_lookup(&s2.pt, 0x40010000, &leaf), NW_OK);
	cr_assert_eq(leaf.entries[2] & 0xffff, 0x3);
	cr_assert_eq(leaf.entries[2] & ~UINT64_C(0xffff), leaf.tables[1]);
	cr_assert_eq(leaf.entries[1], 0x800107ff);
	expect_translation(&s2, 0x4001abcd, NW_ACCESS_READ, 0x8001abcd, SZ_64K, 3, 2);

	/* A 512 MiB block at level 2, index 3: 0xa0000000 | 0x7fc | 0b01. */
	map(&s2, 0x60000000, 0xa0000000, SZ_512M, NORMAL);
	cr_assert_eq(nw_pt_lookup(&s2.pt, 0x60000000, &leaf), NW_OK);
	cr_assert_eq(leaf.entries[2], 0xa00007fd);
	expect_translation(&s2, 0x61234567, NW_ACCESS_WRITE, 0xa1234567, SZ_512M, 2, 1);

	/* No 4 KiB page and no 2 MiB block with this granule; ranges are granule-aligned. */
	cr_assert_eq(nw_arm64_s2_map(&s2, nw_gpa(0x40020000), nw_hpa(0x80020000), NW_PAGE_SIZE, NORMAL, 0, 0),
		     NW_ERR_INVALID);
	cr_assert_eq(nw_arm64_s2_map(&s2, nw_gpa(0x40200000), nw_hpa(0x80200000), NW_SIZE_2M, NORMAL, 0, 0),
		     NW_ERR_INVALID);
	cr_assert_eq(nw_arm64_s2_map_region(&s2, nw_gpa(0x40020000), nw_hpa(0x80020000), NW_PAGE_SIZE, NORMAL, 0),
		     NW_ERR_ALIGN);
	cr_assert_eq(nw_arm64_s2_unmap(&s2, nw_gpa(0x40011000), NW_PAGE_SIZE, 0), NW_ERR_ALIGN);
	cr_assert_eq(nw_arm64_s2_protect(&s2, nw_gpa(0x40010000), NW_PAGE_SIZE, NW_ARM64_S2_S2AP_R, 0), NW_ERR_ALIGN);
	cr_assert_eq(go(&s2, 0x40011000, NW_ACCESS_READ, false).hpa.val, 0x80011000, "the page is whole");
	/* map_region takes the block where it fits: 512 MiB + 64 KiB at 0x80000000 is one block and one page. */
	cr_assert_eq(nw_arm64_s2_map_region(&s2, nw_gpa(0x80000000), nw_hpa(0xc0000000), SZ_512M + SZ_64K, NORMAL, 0),
		     NW_OK);
	cr_assert_eq(go(&s2, 0x9fffffff, NW_ACCESS_READ, false).page_size, SZ_512M);
	cr_assert_eq(go(&s2, 0xa000fff0, NW_ACCESS_READ, false).page_size, SZ_64K);
	cr_assert_eq(go(&s2, 0xa000fff0, NW_ACCESS_READ, false).hpa.val, 0xe000fff0);

	/* HPFAR_EL2 stays IPA[47:12] << 4 with the 64 KiB granule: level-3 entry 3 (IPA 0x4003a123) is a Fault
	 * descriptor, DFSC 0b000111, HPFAR 0x4003a << 4. */
	expect_fault(&s2, 0x4003a123, NW_S2_FAULT_TRANSLATION, 1, DABT | 0x07, 0x4003a0);
	/* Level-2 index 1 (IPA 0x20000000) is empty: DFSC 0b000110. */
	expect_fault(&s2, 0x20005000, NW_S2_FAULT_TRANSLATION, 2, DABT | 0x06, 0x200050);
	/* IPA 2^42 is beyond T0SZ 22: level 0 (AArch64.IPAIsOutOfRange), HPFAR 2^42 >> 12 << 4 = 2^34. */
	expect_fault(&s2, UINT64_C(1) << 42, NW_S2_FAULT_TRANSLATION, 4, DABT | 0x04, UINT64_C(0x400000000));

	/* Bits 15:12 of a 64 KiB-granule descriptor are OA[51:48], beyond PS 48: an Address size fault at the
	 * descriptor's level, DFSC 0b0000LL, in a page (level 3) and in a table descriptor (level 2). */
	edit(&s2, 0x40010000, 1, 0, UINT64_C(0x1000));
	expect_fault(&s2, 0x40011008, NW_S2_FAULT_ADDRESS_SIZE, 1, DABT | 0x03, 0x400110);
	edit(&s2, 0x40010000, 1, UINT64_C(0x1000), 0);
	cr_assert_eq(nw_arm64_s2_edit(&s2, nw_gpa(0x40010000), 2, 0, UINT64_C(0x8000), &old, 0), NW_OK);
	expect_fault(&s2, 0x40011008, NW_S2_FAULT_ADDRESS_SIZE, 2, DABT | 0x02, 0x400110);
	edit(&s2, 0x40010000, 2, UINT64_C(0x8000), 0);
	edit(&s2, 0x60000000, 2, 0, UINT64_C(0x4000));
	expect_fault(&s2, 0x60000000, NW_S2_FAULT_ADDRESS_SIZE, 2, DABT | 0x02, 0x600000);
	edit(&s2, 0x60000000, 2, UINT64_C(0x4000), 0);
	/* Bits 28:16 of the block are RES0 below its OA[47:29]: ignored (AArch64.LeafBase aligns them away). */
	edit(&s2, 0x60000000, 2, 0, UINT64_C(0x10000));
	cr_assert_eq(go(&s2, 0x60000008, NW_ACCESS_READ, false).hpa.val, 0xa0000008);
	nw_arm64_s2_destroy(&s2);
}

Test(arm64_s2, granule_64k_level_1_start_has_no_blocks)
{
	struct nw_arm64_s2 s2;

	/* T0SZ 17 (47 bits), SL0 2: level 1 resolves bits 46:42 (32 entries). A block descriptor there is a
	 * Translation fault at level 1 ("level < firstblocklevel": level-1 64 KiB blocks need 52-bit PAs). */
	make(&s2, (VTCR_64K_42 & ~(NW_VTCR_T0SZ_MASK | UINT64_C(3) << 6)) | 17 | 2 << 6, false);
	cr_assert_eq(s2.format.level[s2.format.top].entries, 32);
	map(&s2, 0x40010000, 0x80010000, SZ_64K, NORMAL);
	cr_assert_eq(go(&s2, 0x40010000, NW_ACCESS_READ, false).refs, 3);
	cr_assert_eq(nw_arm64_s2_map(&s2, nw_gpa(0), nw_hpa(0), UINT64_C(1) << 42, NORMAL, 0, 0), NW_ERR_INVALID);
	edit(&s2, 0x40010000, 3, NW_ARM64_S2_TABLE, 0);
	expect_fault(&s2, 0x40010000, NW_S2_FAULT_TRANSLATION, 3, DABT | 0x05, 0x400100);
	edit(&s2, 0x40010000, 3, 0, NW_ARM64_S2_TABLE);
	nw_arm64_s2_destroy(&s2);
}

Test(arm64_s2, granule_16k_concatenated_tables_and_32m_blocks)
{
	struct nw_arm64_s2 s2;
	struct nw_pt_leaf leaf;
	uint64_t *root;

	make(&s2, VTCR_16K_40, false);
	/* 16 concatenated 16 KiB tables: 64 frames, aligned to their 256 KiB (VTTBR_EL2.BADDR), and 64 count frames. */
	cr_assert_eq(s2.pt.root & 0x3ffff, 0);
	cr_assert_eq(nw_simmem_stats(sim).live, 64 + 64);
	/* IPA 0x10_0000_4000: level-2 index 0x1000004000 >> 25 = 0x800, entry 0 of the second table (0x4000 bytes
	 * in); level-3 index (0x1000004000 >> 14) & 0x7ff = 1: 0x40008000 | 0x7fc | 0b11. */
	map(&s2, UINT64_C(0x1000004000), 0x40008000, SZ_16K, NORMAL);
	cr_assert_eq(nw_simmem_stats(sim).live, 64 + 64 + 4);
	cr_assert_eq(nw_pt_lookup(&s2.pt, UINT64_C(0x1000004000), &leaf), NW_OK);
	cr_assert_eq(leaf.entries[1], 0x400087ff);
	root = nw_hal_phys_to_virt(hal, nw_hpa(s2.pt.root));
	cr_assert_eq(root[0x800], leaf.entries[2]);
	cr_assert_eq(root[0x800], leaf.tables[1] | 3);
	expect_translation(&s2, UINT64_C(0x1000007ffc), NW_ACCESS_READ, 0x4000bffc, SZ_16K, 3, 2);
	/* Bits 13:12 of a 16 KiB page descriptor are below its OA[47:14]: ignored. */
	edit(&s2, UINT64_C(0x1000004000), 1, 0, UINT64_C(0x3000));
	cr_assert_eq(go(&s2, UINT64_C(0x1000004010), NW_ACCESS_READ, false).hpa.val, 0x40008010);
	edit(&s2, UINT64_C(0x1000004000), 1, UINT64_C(0x3000), 0);
	/* A 32 MiB block at level 2 (index 0x803): 0x42000000 | 0x7fc | 0b01. */
	map(&s2, UINT64_C(0x1006000000), 0x42000000, SZ_32M, NORMAL);
	cr_assert_eq(root[0x803], 0x420007fd);
	expect_translation(&s2, UINT64_C(0x1006123456), NW_ACCESS_FETCH, 0x42123456, SZ_32M, 2, 1);
	/* No 2 MiB block; a 16 KiB-aligned range only. */
	cr_assert_eq(nw_arm64_s2_map(&s2, nw_gpa(0x200000), nw_hpa(0x200000), NW_SIZE_2M, NORMAL, 0, 0),
		     NW_ERR_INVALID);
	cr_assert_eq(nw_arm64_s2_map_region(&s2, nw_gpa(0x1000), nw_hpa(0x1000), SZ_16K, NORMAL, 0), NW_ERR_ALIGN);
	/* Level-3 entry 2 empty: DFSC 0b000111; HPFAR IPA[47:12] << 4 = 0x1000008 << 4. */
	expect_fault(&s2, UINT64_C(0x1000008000), NW_S2_FAULT_TRANSLATION, 1, DABT | 0x07, UINT64_C(0x10000080));
	/* Bits 15:12 carry no OA with 16 KiB: a table descriptor's bit 12 is ignored too. */
	cr_assert_eq(nw_arm64_s2_unmap(&s2, nw_gpa(0), UINT64_C(1) << 40, 0), NW_OK);
	cr_assert_eq(nw_arm64_s2_table_count(&s2), 1);
	nw_arm64_s2_destroy(&s2);
}

Test(arm64_s2, page_and_blocks_at_each_level)
{
	struct nw_arm64_s2 s2;
	struct nw_s2_result res;
	struct nw_pt_leaf leaf;
	uint64_t vttbr;

	make(&s2, VTCR_39, false);
	map(&s2, 0x41001000, 0x80001000, NW_PAGE_SIZE, NORMAL);
	/* Level-1 table (root), level-2 and level-3 tables, a count page for the first two (pt_engine.c). */
	cr_assert_eq(nw_simmem_stats(sim).live, 3 + 2);
	cr_assert_eq(nw_pt_lookup(&s2.pt, 0x41001000, &leaf), NW_OK);
	/* Table descriptors: next-level address | 0b11; the page: 0x80001000 | 0x7fc | 0b11. */
	cr_assert_eq(leaf.entries[3] & 0xfff, 0x3);
	cr_assert_eq(leaf.entries[2] & 0xfff, 0x3);
	cr_assert_eq(leaf.entries[1], 0x800017ff);
	res = go(&s2, 0x41001008, NW_ACCESS_READ, false);
	cr_assert_eq(res.status, NW_S2_OK);
	cr_assert_eq(res.fault, NW_S2_FAULT_NONE);
	cr_assert_eq(res.hpa.val, 0x80001008);
	cr_assert_eq(res.level, 1);
	cr_assert_eq(nw_arm64_s2_level(res.level), 3);
	cr_assert_eq(res.page_size, NW_PAGE_SIZE);
	cr_assert_eq(res.refs, 3);
	cr_assert_eq(res.memory_type, 0xf, "MemAttr 0b1111: Normal, outer and inner Write-Back");
	cr_assert_eq(res.rights, (NW_S2_RIGHT_R | NW_S2_RIGHT_W | NW_S2_RIGHT_X | NW_S2_RIGHT_UX));

	/* A 2 MiB block at level 2: 0x80200000 | 0x7fc | 0b01. */
	map(&s2, 0x40200000, 0x80200000, NW_SIZE_2M, NORMAL);
	cr_assert_eq(nw_pt_lookup(&s2.pt, 0x40200000, &leaf), NW_OK);
	cr_assert_eq(leaf.entries[2], 0x802007fd);
	res = go(&s2, 0x40212345, NW_ACCESS_WRITE, false);
	cr_assert_eq(res.status, NW_S2_OK);
	cr_assert_eq(res.hpa.val, 0x80212345);
	cr_assert_eq(res.level, 2);
	cr_assert_eq(res.refs, 2);
	cr_assert_eq(res.page_size, NW_SIZE_2M);

	/* A 1 GiB block at level 1: 0xc0000000 | 0x7fc | 0b01. */
	map(&s2, 0x80000000, 0xc0000000, NW_SIZE_1G, NORMAL);
	cr_assert_eq(nw_pt_lookup(&s2.pt, 0x80000000, &leaf), NW_OK);
	cr_assert_eq(leaf.entries[3], 0xc00007fd);
	res = go(&s2, 0xbfffffff, NW_ACCESS_FETCH, true);
	cr_assert_eq(res.status, NW_S2_OK);
	cr_assert_eq(res.hpa.val, 0xffffffff);
	cr_assert_eq(res.level, 3);
	cr_assert_eq(res.refs, 1);

	/* VTTBR_EL2: BADDR the root, VMID 5 in bits 63:48 (VS off: 8 bits, 55:48). */
	cr_assert_eq(nw_arm64_s2_vttbr(&s2, 5, &vttbr), NW_OK);
	cr_assert_eq(vttbr, s2.pt.root | UINT64_C(5) << 48);
	cr_assert_eq(nw_arm64_s2_vttbr(&s2, 256, &vttbr), NW_ERR_RANGE);

	/* A split keeps the descriptor types: unmapping one page of the block leaves pages 0b11. */
	cr_assert_eq(nw_arm64_s2_unmap(&s2, nw_gpa(0x40200000), NW_PAGE_SIZE, 0), NW_OK);
	cr_assert_eq(nw_pt_lookup(&s2.pt, 0x40201000, &leaf), NW_OK);
	cr_assert_eq(leaf.entries[1], 0x802017ff);
	cr_assert_eq(leaf.entries[2] & 0x3, 0x3);
	nw_arm64_s2_destroy(&s2);
}

Test(arm64_s2, two_concatenated_level_1_tables)
{
	struct nw_arm64_s2 s2;
	struct nw_s2_result res;
	struct nw_hal_ops no_runs = *hal->ops;
	struct nw_hal plain = *hal;
	uint64_t vttbr, *root;

	/* VTCR_EL2 0x80023558: IPA bits 39:30 index level 1, 1024 entries in two 4 KiB tables, contiguous and
	 * aligned to 8 KiB (VTTBR_EL2.BADDR bits 12:1 are RES0 for them). */
	make(&s2, VTCR_40, false);
	cr_assert_eq(s2.pt.root & 0x1fff, 0);
	cr_assert_eq(nw_simmem_stats(sim).live, 2 + 2, "two root pages and their two count pages");
	/* IPA 0x80_4100_1000: level-1 index 0x201 (bits 39:30), in the second table. */
	map(&s2, UINT64_C(0x8041001000), 0x80001000, NW_PAGE_SIZE, NORMAL);
	map(&s2, 0x41001000, 0x80002000, NW_PAGE_SIZE, NORMAL);
	res = go(&s2, UINT64_C(0x8041001008), NW_ACCESS_READ, false);
	cr_assert_eq(res.status, NW_S2_OK);
	cr_assert_eq(res.hpa.val, 0x80001008);
	cr_assert_eq(res.refs, 3);
	cr_assert_eq(res.tables[3].val, s2.pt.root);
	root = nw_hal_phys_to_virt(hal, nw_hpa(s2.pt.root));
	cr_assert_eq(root[0x201], res.entries[3], "the entry 0x201 * 8 = 0x1008 bytes into the concatenated table");
	cr_assert_eq(root[0x201] & 3, 3);
	cr_assert_eq(root[1] & 3, 3, "IPA 0x41001000: level-1 index 1 in the first table");
	cr_assert_eq(go(&s2, 0x41001000, NW_ACCESS_READ, false).hpa.val, 0x80002000);
	/* IPA 2^40 is outside T0SZ 24's range: Translation fault level 0, DFSC 0x04 (ESR_EL2 0x92000004), HPFAR
	 * 2^40 >> 12 << 4 = 0x100000000. */
	expect_fault(&s2, UINT64_C(1) << 40, NW_S2_FAULT_TRANSLATION, 4, DABT | 0x04, UINT64_C(0x100000000));
	/* Level-1 index 0x3ff (IPA 0xff_c000_0000) is empty: DFSC 0x05; HPFAR 0xffc0000000 >> 12 << 4. */
	expect_fault(&s2, UINT64_C(0xffc0000000), NW_S2_FAULT_TRANSLATION, 3, DABT | 0x05, UINT64_C(0xffc00000));
	cr_assert_eq(nw_arm64_s2_vttbr(&s2, 1, &vttbr), NW_OK);
	cr_assert_eq(vttbr, s2.pt.root | UINT64_C(1) << 48);
	cr_assert_eq(nw_arm64_s2_unmap(&s2, nw_gpa(0), UINT64_C(1) << 40, 0), NW_OK);
	cr_assert_eq(nw_arm64_s2_table_count(&s2), 1);
	nw_arm64_s2_destroy(&s2);

	/* A HAL that cannot give contiguous frames cannot hold them. */
	no_runs.alloc_frames = NULL;
	plain.ops = &no_runs;
	{
		struct nw_arm64_s2_caps caps = caps_all(false);
		struct nw_arm64_s2_config config;

		cr_assert_eq(nw_arm64_vtcr_decode(VTCR_40, &caps, &config), NW_OK);
		cr_assert_eq(nw_arm64_s2_create(&s2, &plain, &config), NW_ERR_UNSUPPORTED);
	}
}

Test(arm64_s2, start_table_above_the_output_size_is_refused)
{
	struct nw_simmem_config big = { .size = UINT64_C(1) << 33, .strict = true };
	struct nw_simmem *host = nw_simmem_create(&big);
	const struct nw_hal *h = nw_simmem_owner(host, "big");
	struct nw_arm64_s2_caps caps = caps_all(false);
	struct nw_arm64_s2_config config;
	struct nw_arm64_s2 s2;

	/* VTCR_EL2 0x80000020: T0SZ 32 (32-bit IPA), SL0 0 (level 2: 2^(32-21) entries, four concatenated
	 * tables), PS 0 (32 bits). simmem gives the run from the top of its 8 GiB, above 2^32: every walk
	 * would be a level-0 Address size fault on VTTBR_EL2.BADDR, so the builder refuses it. */
	cr_assert_eq(nw_arm64_vtcr_decode(UINT64_C(0x80000020), &caps, &config), NW_OK);
	cr_assert_eq(config.ps_bits, 32);
	cr_assert_eq(config.start_level, 2);
	cr_assert_eq(nw_arm64_s2_create(&s2, h, &config), NW_ERR_RANGE);
	cr_assert_eq(nw_simmem_stats(host).live, 0);
	nw_simmem_destroy(host);
}

Test(arm64_s2, translation_faults_at_each_level)
{
	struct nw_arm64_s2 s2;

	make(&s2, VTCR_39, false);
	map(&s2, 0x41001000, 0x80001000, NW_PAGE_SIZE, NORMAL);
	/* HPFAR_EL2 = IPA[47:12] << 4. */
	/* Level-3 entry 2 of the same table is a Fault descriptor: DFSC 0b000111. */
	expect_fault(&s2, 0x41002000, NW_S2_FAULT_TRANSLATION, 1, DABT | 0x07, 0x410020);
	/* Level-2 index 9 (IPA bits 29:21 of 0x41200000) is empty: DFSC 0b000110. */
	expect_fault(&s2, 0x41200000, NW_S2_FAULT_TRANSLATION, 2, DABT | 0x06, 0x412000);
	/* Level-1 index 0 is empty: DFSC 0b000101. */
	expect_fault(&s2, 0x1000, NW_S2_FAULT_TRANSLATION, 3, DABT | 0x05, 0x10);
	/* IPA 2^39 is outside T0SZ 25's range: AArch64.IPAIsOutOfRange, level 0, DFSC 0b000100. */
	expect_fault(&s2, UINT64_C(1) << 39, NW_S2_FAULT_TRANSLATION, 4, DABT | 0x04, UINT64_C(0x80000000));
	/* Bits 1:0 0b01 at level 3 are reserved: a Translation fault at level 3. */
	edit(&s2, 0x41001000, 1, NW_ARM64_S2_TABLE, 0);
	expect_fault(&s2, 0x41001000, NW_S2_FAULT_TRANSLATION, 1, DABT | 0x07, 0x410010);
	/* A table descriptor with bit 0 clear is a Fault descriptor: level 2, DFSC 0b000110. */
	edit(&s2, 0x41001000, 2, V, 0);
	expect_fault(&s2, 0x41001000, NW_S2_FAULT_TRANSLATION, 2, DABT | 0x06, 0x410010);
	nw_arm64_s2_destroy(&s2);
}

Test(arm64_s2, block_at_level_0_is_a_translation_fault)
{
	struct nw_arm64_s2 s2;

	make(&s2, VTCR_48, false);
	map(&s2, 0x41001000, 0x80001000, NW_PAGE_SIZE, NORMAL);
	cr_assert_eq(go(&s2, 0x41001000, NW_ACCESS_READ, false).refs, 4);
	/* Level 0 takes no block with the 4 KiB granule ("level < firstblocklevel"): DFSC 0b000100. */
	edit(&s2, 0x41001000, 4, NW_ARM64_S2_TABLE, 0);
	expect_fault(&s2, 0x41001000, NW_S2_FAULT_TRANSLATION, 4, DABT | 0x04, 0x410010);
	nw_arm64_s2_destroy(&s2);
}

Test(arm64_s2, address_size_faults_beyond_ps)
{
	struct nw_arm64_s2 s2;
	struct nw_arm64_s2_caps caps = caps_all(false);
	struct nw_arm64_s2_config config;
	uint64_t bit40 = UINT64_C(1) << 40;

	make(&s2, VTCR_39, false);
	map(&s2, 0x41001000, 0x80001000, NW_PAGE_SIZE, NORMAL);
	/* PS 40 bits: an output address with bit 40 set is an Address size fault at its level, DFSC 0b0000LL. */
	cr_assert_eq(nw_arm64_s2_map(&s2, nw_gpa(0x42000000), nw_hpa(bit40), NW_PAGE_SIZE, NORMAL, 0, 0), NW_ERR_RANGE);
	edit(&s2, 0x41001000, 1, 0, bit40);
	expect_fault(&s2, 0x41001000, NW_S2_FAULT_ADDRESS_SIZE, 1, DABT | 0x03, 0x410010);
	edit(&s2, 0x41001000, 1, bit40, 0);
	/* A next-level table address with bit 41 set: at the table descriptor's level. */
	edit(&s2, 0x41001000, 2, 0, bit40 << 1);
	expect_fault(&s2, 0x41001000, NW_S2_FAULT_ADDRESS_SIZE, 2, DABT | 0x02, 0x410010);
	edit(&s2, 0x41001000, 3, 0, bit40);
	expect_fault(&s2, 0x41001000, NW_S2_FAULT_ADDRESS_SIZE, 3, DABT | 0x01, 0x410010);
	nw_arm64_s2_destroy(&s2);

	/* Level 0: T0SZ 24, SL0 2, PS 40, a PA size of 48 (two level-0 entries). */
	cr_assert_eq(nw_arm64_vtcr_decode((VTCR_48 & ~(NW_VTCR_T0SZ_MASK | UINT64_C(7) << 16)) | 24 | UINT64_C(2) << 16,
					  &caps, &config),
		     NW_OK);
	cr_assert_eq(nw_arm64_s2_create(&s2, hal, &config), NW_OK);
	map(&s2, 0x41001000, 0x80001000, NW_PAGE_SIZE, NORMAL);
	edit(&s2, 0x41001000, 4, 0, bit40);
	expect_fault(&s2, 0x41001000, NW_S2_FAULT_ADDRESS_SIZE, 4, DABT | 0x00, 0x410010);
	nw_arm64_s2_destroy(&s2);
}

Test(arm64_s2, access_flag_faults_unless_hardware_sets_it)
{
	struct nw_arm64_s2 s2;
	struct nw_s2_mapping m;
	struct nw_s2_request lookup = { .gpa = nw_gpa(0x41001000), .type = NW_ACCESS_READ, .lookup_only = true };
	struct nw_s2_result res;

	make(&s2, VTCR_39, false);
	map(&s2, 0x41001000, 0x80001000, NW_PAGE_SIZE, RW | WB_ISH);
	map(&s2, 0x40200000, 0x80200000, NW_SIZE_2M, RW | WB_ISH);
	map(&s2, 0x80000000, 0xc0000000, NW_SIZE_1G, RW | WB_ISH);
	/* AF clear: Access flag fault at the leaf's level, DFSC 0b0010LL (0x0b, 0x0a, 0x09). */
	expect_fault(&s2, 0x41001000, NW_S2_FAULT_ACCESS_FLAG, 1, DABT | 0x0b, 0x410010);
	expect_fault(&s2, 0x40200000, NW_S2_FAULT_ACCESS_FLAG, 2, DABT | 0x0a, 0x402000);
	expect_fault(&s2, 0x80000000, NW_S2_FAULT_ACCESS_FLAG, 3, DABT | 0x09, 0x800000);
	nw_arm64_s2_destroy(&s2);

	/* VTCR_EL2.HA (bit 21): the walk sets AF in the leaf, and only there (table descriptors have none). */
	make(&s2, VTCR_39 | NW_VTCR_HA, false);
	map(&s2, 0x41001000, 0x80001000, NW_PAGE_SIZE, RW | WB_ISH);
	nw_arm64_s2_translate(&s2, &lookup, &res);
	cr_assert_eq(res.status, NW_S2_OK);
	cr_assert_eq(nw_arm64_s2_query(&s2, nw_gpa(0x41001000), &m), NW_OK);
	cr_assert_eq(m.entry & AF, 0, "a lookup sets nothing");
	cr_assert_eq(go(&s2, 0x41001000, NW_ACCESS_READ, false).status, NW_S2_OK);
	cr_assert_eq(nw_arm64_s2_query(&s2, nw_gpa(0x41001000), &m), NW_OK);
	cr_assert_eq(m.entry, 0x800017ff);
	cr_assert_eq(res.entries[2] & 0xfff, 0x3);
	res = go(&s2, 0x41001000, NW_ACCESS_READ, false);
	cr_assert_eq(res.entries[2] & 0xfff, 0x3, "the table keeps bit 10 clear");
	nw_arm64_s2_destroy(&s2);

	/* HA without FEAT_HAFDBS is refused. */
	{
		struct nw_arm64_s2_caps caps = caps_all(false);
		struct nw_arm64_s2_config config;

		caps.haf = false;
		cr_assert_eq(nw_arm64_vtcr_decode(VTCR_39 | NW_VTCR_HA, &caps, &config), NW_ERR_UNSUPPORTED);
	}
}

/* Arm ARM D8.4.6 "Hardware management of dirty state", AArch64.S2CheckPermissions: with VTCR_EL2.HA (bit 21)
 * and HD (bit 22) a leaf with DBM (bit 51) and S2AP[1] (bit 7) clear is writable-clean: a write sets S2AP[1]
 * (and AF, in the same descriptor write) instead of faulting; a read leaves it clean. */
Test(arm64_s2, dirty_bit_modifier_sets_s2ap_write_on_a_write)
{
	struct nw_arm64_s2 s2;
	struct nw_s2_mapping m;
	struct nw_s2_result res;
	struct nw_s2_request lookup = { .gpa = nw_gpa(0x41001000), .type = NW_ACCESS_WRITE, .lookup_only = true };
	struct nw_arm64_s2_access walk = { .type = NW_ACCESS_READ, .s1ptw = true };
	/* The clean leaf: OA 0x80001000 | DBM 1 << 51 | S2AP 0b01 (0x40) | SH 0b11 (0x300) | MemAttr 0b1111
	 * (0x3c) | page 0b11 = 0x000800008000137f, AF clear. */
	uint64_t clean = UINT64_C(0x000800008000137f);

	make(&s2, VTCR_39 | NW_VTCR_HA | NW_VTCR_HD, false);
	map(&s2, 0x41001000, 0x80001000, NW_PAGE_SIZE, NW_ARM64_S2_S2AP_R | WB_ISH | NW_ARM64_S2_DBM);
	cr_assert_eq(nw_arm64_s2_query(&s2, nw_gpa(0x41001000), &m), NW_OK);
	cr_assert_eq(m.entry, clean);
	/* A read: allowed, AF set (0x400), S2AP[1] left clear, the write right not reported. */
	res = go(&s2, 0x41001000, NW_ACCESS_READ, false);
	cr_assert_eq(res.status, NW_S2_OK);
	cr_assert_eq(res.rights & NW_S2_RIGHT_W, 0);
	cr_assert_eq(nw_arm64_s2_query(&s2, nw_gpa(0x41001000), &m), NW_OK);
	cr_assert_eq(m.entry, clean | 0x400);
	/* A lookup of a write is allowed and writes nothing. */
	nw_arm64_s2_translate(&s2, &lookup, &res);
	cr_assert_eq(res.status, NW_S2_OK);
	cr_assert_eq(nw_arm64_s2_query(&s2, nw_gpa(0x41001000), &m), NW_OK);
	cr_assert_eq(m.entry, clean | 0x400);
	/* A write: allowed, to 0x80001008; the leaf gains S2AP[1] 0x80: 0x0008000080001780 | 0x7f = ...17ff. */
	res = go(&s2, 0x41001008, NW_ACCESS_WRITE, false);
	cr_assert_eq(res.status, NW_S2_OK);
	cr_assert_eq(res.hpa.val, 0x80001008);
	cr_assert(res.rights & NW_S2_RIGHT_W);
	cr_assert_eq(nw_arm64_s2_query(&s2, nw_gpa(0x41001000), &m), NW_OK);
	cr_assert_eq(m.entry, UINT64_C(0x00080000800017ff));
	/* AF and S2AP[1] in one write: a fresh clean page written first gets both at once, 0x...2000 | 0x7ff. */
	map(&s2, 0x41002000, 0x80002000, NW_PAGE_SIZE, NW_ARM64_S2_S2AP_R | WB_ISH | NW_ARM64_S2_DBM);
	cr_assert_eq(go(&s2, 0x41002000, NW_ACCESS_WRITE, false).status, NW_S2_OK);
	cr_assert_eq(nw_arm64_s2_query(&s2, nw_gpa(0x41002000), &m), NW_OK);
	cr_assert_eq(m.entry, UINT64_C(0x00080000800027ff));
	/* A stage-1 table walk's hardware AF/dirty update is a write at stage 2 (S1PTW): it sets S2AP[1] too. */
	map(&s2, 0x41003000, 0x80003000, NW_PAGE_SIZE, NW_ARM64_S2_S2AP_R | WB_ISH | NW_ARM64_S2_DBM);
	walk.type = NW_ACCESS_WRITE;
	res = go(&s2, 0x41003000, walk.type, false);
	cr_assert_eq(res.status, NW_S2_OK);
	cr_assert_eq(nw_arm64_s2_query(&s2, nw_gpa(0x41003000), &m), NW_OK);
	cr_assert_eq(m.entry, UINT64_C(0x00080000800037ff));
	/* Without DBM, S2AP[1] clear is still a Permission fault: level 3, DFSC 0b001111, WnR: 0x9200004f. */
	map(&s2, 0x41004000, 0x80004000, NW_PAGE_SIZE, NW_ARM64_S2_S2AP_R | WB_ISH);
	res = go(&s2, 0x41004000, NW_ACCESS_WRITE, false);
	cr_assert_eq(res.fault, NW_S2_FAULT_PERMISSION);
	cr_assert_eq(esr(&res, NW_ACCESS_WRITE, false), DABT | WNR | 0x0f);
	/* DBM grants no read and no execution: S2AP 0b00 with DBM, a load faults (0x9200000f), a store is made
	 * S2AP 0b10 (0x80 | 0x400 AF): 0x000800008000533f | 0x80 | 0x400 = 0x00080000800057bf. */
	map(&s2, 0x41005000, 0x80005000, NW_PAGE_SIZE, WB_ISH | NW_ARM64_S2_DBM);
	res = go(&s2, 0x41005000, NW_ACCESS_READ, false);
	cr_assert_eq(res.fault, NW_S2_FAULT_PERMISSION);
	cr_assert_eq(esr(&res, NW_ACCESS_READ, false), DABT | 0x0f);
	cr_assert_eq(go(&s2, 0x41005000, NW_ACCESS_WRITE, false).status, NW_S2_OK);
	cr_assert_eq(nw_arm64_s2_query(&s2, nw_gpa(0x41005000), &m), NW_OK);
	cr_assert_eq(m.entry, UINT64_C(0x00080000800057bf));
	nw_arm64_s2_destroy(&s2);

	/* HD without HA (AArch64.GetS2TTWParams: hd = if ha == '1' then VTCR_EL2.HD else '0'): DBM means
	 * nothing; the AF-clear leaf takes an Access flag fault (level 3, DFSC 0b001011: 0x9200004b for the
	 * store), and with AF set the store is a Permission fault (0x9200004f). */
	make(&s2, VTCR_39 | NW_VTCR_HD, false);
	map(&s2, 0x41001000, 0x80001000, NW_PAGE_SIZE, NW_ARM64_S2_S2AP_R | WB_ISH | NW_ARM64_S2_DBM);
	res = go(&s2, 0x41001000, NW_ACCESS_WRITE, false);
	cr_assert_eq(esr(&res, NW_ACCESS_WRITE, false), DABT | WNR | 0x0b);
	edit(&s2, 0x41001000, 1, 0, AF);
	res = go(&s2, 0x41001000, NW_ACCESS_WRITE, false);
	cr_assert_eq(res.fault, NW_S2_FAULT_PERMISSION);
	cr_assert_eq(esr(&res, NW_ACCESS_WRITE, false), DABT | WNR | 0x0f);
	cr_assert_eq(nw_arm64_s2_query(&s2, nw_gpa(0x41001000), &m), NW_OK);
	cr_assert_eq(m.entry, clean | 0x400, "nothing written");
	nw_arm64_s2_destroy(&s2);

	/* HA without HD: the same Permission fault; on a stage-1 walk's write, S1PTW and WnR: 0x920000cf. */
	make(&s2, VTCR_39 | NW_VTCR_HA, false);
	map(&s2, 0x41001000, 0x80001000, NW_PAGE_SIZE, NW_ARM64_S2_S2AP_R | WB_ISH | NW_ARM64_S2_DBM | AF);
	res = go(&s2, 0x41001000, NW_ACCESS_WRITE, false);
	cr_assert_eq(res.fault, NW_S2_FAULT_PERMISSION);
	cr_assert_eq(nw_arm64_s2_esr(&res, &walk), 0x920000cf);
	nw_arm64_s2_destroy(&s2);

	/* HD without the dirty state of FEAT_HAFDBS is refused. */
	{
		struct nw_arm64_s2_caps caps = caps_all(false);
		struct nw_arm64_s2_config config;

		caps.hdbs = false;
		cr_assert_eq(nw_arm64_vtcr_decode(VTCR_39 | NW_VTCR_HA | NW_VTCR_HD, &caps, &config),
			     NW_ERR_UNSUPPORTED);
		cr_assert_eq(nw_arm64_vtcr_decode(VTCR_39 | NW_VTCR_HA, &caps, &config), NW_OK);
	}
}

Test(arm64_s2, s2ap_permission_faults)
{
	struct nw_arm64_s2 s2;
	struct nw_s2_result res;
	struct nw_arm64_s2_access final = { .type = NW_ACCESS_WRITE }, walk = { .type = NW_ACCESS_READ, .s1ptw = true };
	uint64_t hpfar = 0;

	make(&s2, VTCR_39, false);
	map(&s2, 0x41001000, 0x80001000, NW_PAGE_SIZE, NW_ARM64_S2_S2AP_R | WB_ISH | AF);
	map(&s2, 0x40200000, 0x80200000, NW_SIZE_2M, NW_ARM64_S2_S2AP_R | WB_ISH | AF);
	map(&s2, 0x80000000, 0xc0000000, NW_SIZE_1G, NW_ARM64_S2_S2AP_R | WB_ISH | AF);
	cr_assert_eq(go(&s2, 0x41001008, NW_ACCESS_READ, false).status, NW_S2_OK);
	/* A store to an S2AP 0b01 page: Permission fault level 3, DFSC 0b001111, WnR: 0x9200004f (ISV 0). */
	res = go(&s2, 0x41001008, NW_ACCESS_WRITE, false);
	cr_assert_eq(res.fault, NW_S2_FAULT_PERMISSION);
	cr_assert_eq(res.rights, NW_S2_RIGHT_R | NW_S2_RIGHT_X | NW_S2_RIGHT_UX);
	cr_assert_eq(nw_arm64_s2_esr(&res, &final), 0x9200004f);
	/* HPFAR_EL2 is UNKNOWN for a permission fault on the final access, valid on a stage-1 walk. */
	cr_assert_not(nw_arm64_hpfar(&res, nw_gpa(0x41001008), &final, &hpfar));
	res = go(&s2, 0x41001008, NW_ACCESS_READ, false);
	cr_assert_eq(res.status, NW_S2_OK);
	cr_assert_eq(go(&s2, 0x40200000, NW_ACCESS_WRITE, false).level, 2);
	res = go(&s2, 0x40200000, NW_ACCESS_WRITE, false);
	cr_assert_eq(nw_arm64_s2_esr(&res, &final), 0x9200004e, "level 2: DFSC 0b001110");
	res = go(&s2, 0x80000000, NW_ACCESS_WRITE, false);
	cr_assert_eq(nw_arm64_s2_esr(&res, &final), 0x9200004d, "level 1: DFSC 0b001101");
	/* The same fault on a stage-1 table walk for a load (even one whose walk writes, a hardware AF update):
	 * S1PTW set, WnR the instruction's (D24.2.46 ESR_EL2, WnR): 0x92000000 | 0x80 | 0x0d = 0x9200008d; HPFAR
	 * the IPA. For a store: | WnR 0x40 = 0x920000cd. */
	cr_assert_eq(nw_arm64_s2_esr(&res, &walk), 0x9200008d);
	cr_assert(nw_arm64_hpfar(&res, nw_gpa(0x80000000), &walk, &hpfar));
	cr_assert_eq(hpfar, 0x800000);
	walk.type = NW_ACCESS_WRITE;
	cr_assert_eq(nw_arm64_s2_esr(&res, &walk), 0x920000cd);

	/* S2AP 0b00: nothing; 0b10: write-only (a load faults, a store does not). */
	cr_assert_eq(nw_arm64_s2_protect(&s2, nw_gpa(0x41001000), NW_PAGE_SIZE, 0, 0), NW_OK);
	cr_assert_eq(go(&s2, 0x41001000, NW_ACCESS_READ, false).fault, NW_S2_FAULT_PERMISSION);
	cr_assert_eq(nw_arm64_s2_protect(&s2, nw_gpa(0x41001000), NW_PAGE_SIZE, NW_ARM64_S2_S2AP_W, 0), NW_OK);
	res = go(&s2, 0x41001000, NW_ACCESS_READ, false);
	cr_assert_eq(res.fault, NW_S2_FAULT_PERMISSION);
	cr_assert_eq(esr(&res, NW_ACCESS_READ, false), 0x9200000f);
	cr_assert_eq(go(&s2, 0x41001000, NW_ACCESS_WRITE, false).status, NW_S2_OK);
	nw_arm64_s2_destroy(&s2);
}

/* Which of EL1 and EL0 may fetch from a page with XN[1:0] = xn. */
static void expect_exec(struct nw_arm64_s2 *s2, unsigned xn, bool el1, bool el0)
{
	struct nw_s2_result r1, r0;

	edit(s2, 0x41001000, 1, NW_ARM64_S2_XN0 | NW_ARM64_S2_XN1, (uint64_t)xn << NW_ARM64_S2_XN_SHIFT);
	r1 = go(s2, 0x41001000, NW_ACCESS_FETCH, false);
	r0 = go(s2, 0x41001000, NW_ACCESS_FETCH, true);
	cr_assert_eq(r1.status == NW_S2_OK, el1, "XN %u, EL1", xn);
	cr_assert_eq(r0.status == NW_S2_OK, el0, "XN %u, EL0", xn);
	cr_assert_eq(r1.rights, NW_S2_RIGHT_R | NW_S2_RIGHT_W | (el1 ? NW_S2_RIGHT_X : 0) | (el0 ? NW_S2_RIGHT_UX : 0));
	/* A fetch that faults: an Instruction Abort, EC 0x20, IFSC 0b001111: 0x8200000f. */
	if (!el1)
		cr_assert_eq(esr(&r1, NW_ACCESS_FETCH, false), IABT | 0x0f);
}

Test(arm64_s2, xn_for_el1_and_el0_with_and_without_xnx)
{
	struct nw_arm64_s2 s2;

	/* Without FEAT_XNX only XN[1] counts (XN[0] is RES0, ignored). */
	make(&s2, VTCR_39, false);
	map(&s2, 0x41001000, 0x80001000, NW_PAGE_SIZE, NORMAL);
	cr_assert_eq(nw_arm64_s2_map(&s2, nw_gpa(0x41002000), nw_hpa(0x80002000), NW_PAGE_SIZE,
				     NORMAL | NW_ARM64_S2_XN0, 0, 0),
		     NW_ERR_INVALID);
	expect_exec(&s2, 0, true, true);
	expect_exec(&s2, 1, true, true);
	expect_exec(&s2, 2, false, false);
	expect_exec(&s2, 3, false, false);
	nw_arm64_s2_destroy(&s2);

	/* FEAT_XNX: 0b00 both, 0b01 EL0 only, 0b10 neither, 0b11 EL1 only. */
	make(&s2, VTCR_39, true);
	map(&s2, 0x41001000, 0x80001000, NW_PAGE_SIZE, NORMAL);
	expect_exec(&s2, 0, true, true);
	expect_exec(&s2, 1, false, true);
	expect_exec(&s2, 2, false, false);
	expect_exec(&s2, 3, true, false);
	nw_arm64_s2_destroy(&s2);
}

Test(arm64_s2, builder_refuses_reserved_attributes)
{
	struct nw_arm64_s2 s2;

	make(&s2, VTCR_39, false);
	/* MemAttr 0b0100: Normal outer Non-cacheable with inner 0b00, reserved; SH 0b01 reserved. */
	cr_assert_eq(nw_arm64_s2_map(&s2, nw_gpa(0x1000), nw_hpa(0x1000), NW_PAGE_SIZE,
				     RW | AF | nw_arm64_s2_memattr(0x4), 0, 0),
		     NW_ERR_INVALID);
	cr_assert_eq(nw_arm64_s2_map(&s2, nw_gpa(0x1000), nw_hpa(0x1000), NW_PAGE_SIZE,
				     RW | AF | UINT64_C(1) << NW_ARM64_S2_SH_SHIFT, 0, 0),
		     NW_ERR_INVALID);
	/* The descriptor type bits and the address are the engine's. */
	cr_assert_eq(nw_arm64_s2_map(&s2, nw_gpa(0x1000), nw_hpa(0x1000), NW_PAGE_SIZE, NORMAL | NW_ARM64_S2_TABLE, 0,
				     0),
		     NW_ERR_INVALID);
	/* Device-nGnRnE (MemAttr 0) is a valid stage-2 type. */
	map(&s2, 0x1000, 0x9000000, NW_PAGE_SIZE, RW | AF);
	cr_assert_eq(go(&s2, 0x1000, NW_ACCESS_READ, false).memory_type, 0);
	/* A block's type bit may not be edited: it would turn it into a table pointer. */
	map(&s2, 0x40200000, 0x80200000, NW_SIZE_2M, NORMAL);
	cr_assert_eq(nw_arm64_s2_edit(&s2, nw_gpa(0x40200000), 2, 0, NW_ARM64_S2_TABLE, 0, 0), NW_ERR_INVALID);
	nw_arm64_s2_destroy(&s2);
}

static const uint64_t touch[] = { V,
				  NW_ARM64_S2_TABLE,
				  NW_ARM64_S2_S2AP_R,
				  NW_ARM64_S2_S2AP_W,
				  AF,
				  NW_ARM64_S2_XN0,
				  NW_ARM64_S2_XN1,
				  UINT64_C(1) << 40,
				  UINT64_C(1) << 13,
				  UINT64_C(1) << 12,
				  UINT64_C(1) << 15,
				  UINT64_C(1) << 20 };

/* Reads of random IPAs of ipas by the fast path and the translate, with one bit of one entry on the path flipped
 * in half the rounds (undone after the round; the engine refuses the edits that would reshape the tree, a type
 * bit above level 1, a table address, and those below where the path ends): every answer the fast path gives
 * is the translate's. */
static void fast_rounds(struct nw_arm64_s2 *s2, const uint64_t *ipas, unsigned n, uint64_t *state, unsigned *answered,
			unsigned *declined)
{
	struct nw_stage2 st = { .kind = NW_STAGE2_ARM64, .arm64 = s2 };
	struct nw_hal_window window = nw_simmem_window(sim);
	struct nw_s2_fast fast;

	nw_s2_fast_derive(&st, &window, &fast);
	cr_assert_eq(fast.top, s2->format.top);
	for (int round = 0; round < 4000; round++) {
		uint64_t ipa = ipas[s2_next(state) % n];
		unsigned type = (unsigned)(s2_next(state) % 3), user = (unsigned)(s2_next(state) & 1);
		struct nw_s2_request req = {
			.gpa = nw_gpa(ipa), .type = (enum nw_access_type)type, .user = user, .lookup_only = true
		};
		struct nw_s2_result res;
		struct nw_s2_hit hit;
		int level = 1 + (int)(s2_next(state) % (unsigned)s2->format.top);
		uint64_t bit = touch[s2_next(state) % (sizeof(touch) / sizeof(touch[0]))];
		bool flipped = (s2_next(state) & 1) && s2_flip(&s2->pt, ipa, level, bit);

		nw_arm64_s2_translate(s2, &req, &res);
		if (nw_s2_fast_translate(&fast, ipa, type | (user ? NW_S2_NEED_USER : 0), &hit)) {
			(*answered)++;
			s2_expect_same(&fast, &hit, &res, ipa);
		} else {
			(*declined)++;
		}
		if (flipped)
			cr_assert(s2_flip(&s2->pt, ipa, level, bit));
	}
}

Test(arm64_s2, fast_path_agrees_with_the_translate)
{
	static const uint64_t ipas[] = { 0x41001000, 0x41002008, 0x40212345,
					 0x80000010, 0x7fe00000, UINT64_C(0x8041001234) };
	uint64_t state = 0x9e3779b97f4a7c15;
	unsigned answered = 0, declined = 0;

	for (int xnx = 0; xnx < 2; xnx++) {
		struct nw_arm64_s2 s2;

		/* One with two concatenated level-1 tables. */
		make(&s2, xnx ? VTCR_40 : VTCR_39, xnx);
		if (xnx)
			map(&s2, UINT64_C(0x8041001000), 0x80003000, NW_PAGE_SIZE, NORMAL);
		map(&s2, 0x41001000, 0x80001000, NW_PAGE_SIZE, NORMAL);
		map(&s2, 0x41002000, 0x80002000, NW_PAGE_SIZE, NW_ARM64_S2_S2AP_R | AF);
		map(&s2, 0x40200000, 0x80200000, NW_SIZE_2M, NORMAL);
		map(&s2, 0x80000000, 0xc0000000, NW_SIZE_1G, RW);
		fast_rounds(&s2, ipas, 6, &state, &answered, &declined);
		nw_arm64_s2_destroy(&s2);
	}
	/* Both sides seen: the sample is not one that the fast path always declines. */
	cr_assert_gt(answered, 100);
	cr_assert_gt(declined, 100);
}

/* The fast path reads the 16 and 64 KiB geometries as data: pages, blocks, concatenated tables, and with 64 KiB
 * bits 15:12 (OA[51:48], an Address size fault the translate gives) flipped among the others. */
Test(arm64_s2, fast_path_agrees_with_16k_and_64k_granules)
{
	static const uint64_t ipas16[] = { UINT64_C(0x1000004000), UINT64_C(0x1000008008), UINT64_C(0x1006123456),
					   0x4000, UINT64_C(0x100000c010) };
	static const uint64_t ipas64[] = { 0x4001abcd, 0x40020008, 0x61234567, 0x20000000, 0x40031000 };
	uint64_t state = 0x2545f4914f6cdd1d;

	for (int granule = 0; granule < 2; granule++) {
		struct nw_arm64_s2 s2;
		unsigned answered = 0, declined = 0;

		make(&s2, granule ? VTCR_64K_42 : VTCR_16K_40, granule);
		if (granule) {
			map(&s2, 0x40010000, 0x80010000, SZ_64K, NORMAL);
			map(&s2, 0x40020000, 0x80020000, SZ_64K, NW_ARM64_S2_S2AP_R | AF);
			map(&s2, 0x40030000, 0x80030000, SZ_64K, RW | NW_ARM64_S2_XN1);
			map(&s2, 0x60000000, 0xa0000000, SZ_512M, NORMAL);
		} else {
			map(&s2, UINT64_C(0x1000004000), 0x40008000, SZ_16K, NORMAL);
			map(&s2, UINT64_C(0x1000008000), 0x4000c000, SZ_16K, NW_ARM64_S2_S2AP_R | AF);
			map(&s2, UINT64_C(0x100000c000), 0x40010000, SZ_16K, RW | NW_ARM64_S2_XN1);
			map(&s2, UINT64_C(0x1006000000), 0x42000000, SZ_32M, NORMAL);
		}
		fast_rounds(&s2, granule ? ipas64 : ipas16, 5, &state, &answered, &declined);
		cr_assert_gt(answered, 100);
		cr_assert_gt(declined, 100);
		nw_arm64_s2_destroy(&s2);
	}
}

Test(arm64_s2, granule_64k_table_holds_more_than_4095_live_entries)
{
	struct nw_arm64_s2 s2;
	uint64_t blocks = 5000 * SZ_512M, page = 5001 * SZ_512M;

	/* A table of the 64 KiB granule has 8192 entries: its live count needs 14 bits of its count slot (count
	 * frames are 64 KiB-aligned, so bits 15:0 are free of the address). T0SZ 17, SL0 2: a level-1 root of 32
	 * entries; 5000 512 MiB blocks fill one level-2 table past 4095, then a page below entry 5001 needs that
	 * table's count frames, and unmapping everything frees every table. */
	make(&s2, (VTCR_64K_42 & ~(NW_VTCR_T0SZ_MASK | UINT64_C(3) << 6)) | 17 | 2 << 6, false);
	cr_assert_eq(nw_arm64_s2_map_region(&s2, nw_gpa(0), nw_hpa(0), blocks, NORMAL, 0), NW_OK);
	map(&s2, page, 0x80010000, SZ_64K, NORMAL);
	cr_assert_eq(nw_arm64_s2_table_count(&s2), 3);
	cr_assert_eq(go(&s2, 4999 * SZ_512M + 8, NW_ACCESS_READ, false).hpa.val, 4999 * SZ_512M + 8);
	cr_assert_eq(go(&s2, page + 8, NW_ACCESS_READ, false).hpa.val, 0x80010008);
	cr_assert_eq(nw_arm64_s2_unmap(&s2, nw_gpa(0), blocks - SZ_512M, 0), NW_OK);
	cr_assert_eq(nw_arm64_s2_unmap(&s2, nw_gpa(page), SZ_64K, 0), NW_OK);
	cr_assert_eq(nw_arm64_s2_table_count(&s2), 2);
	cr_assert_eq(nw_arm64_s2_unmap(&s2, nw_gpa(blocks - SZ_512M), SZ_512M, 0), NW_OK);
	cr_assert_eq(nw_arm64_s2_table_count(&s2), 1, "the emptied level-2 table is freed");
	cr_assert_eq(nw_simmem_stats(sim).live, 1 + 1, "the root's frame and its count frame");
	nw_arm64_s2_destroy(&s2);
}
