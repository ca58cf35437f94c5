/* The fast walker for AArch64 (nw_walker_init_arm64) against the reference
 * walk (nw_arm64_walk) on random worlds: stage-1 tables built with the table
 * engine and then edited raw (invalid descriptors, reserved level-3 blocks,
 * hierarchical controls, AF clear, addresses above the output size), random
 * stage-2 pages and blocks of the 4, 16 or 64 KiB granule (S2AP, XN, AF,
 * MemAttr with HCR_EL2.FWB clear or set, stage-1 tables left unmapped),
 * random EL1 registers and PSTATE. Every access must give the same
 * answer field by field, and the plain copy must answer a good share of them
 * (else the test would compare the reference with itself). */
#include <nestwalk/arm64_s1.h>
#include <nestwalk/arm64_s1_tables.h>
#include <nestwalk/arm64_s2.h>
#include <stdlib.h>
#include <string.h>

#include "fast_agree.h"
#include "fixture.h"
#include "vmsa.h"
#include "vmsa_formats.h"

/* The fixture's host with a direct-map window: the plain copies read tables through it. */
static void setup(void)
{
	fixture_setup_host(true);
}

TestSuite(arm64_fast, .init = setup, .fini = fixture_teardown);

/* T0SZ = T1SZ = 25 (39 bits, from Arm level 1) or 16 (48 bits, from level 0); TG0 4 KiB, TG1 0b10 4 KiB; IPS
 * 0b010 40 bits. */
#define TCR_39 UINT64_C(0x280190019)
#define TCR_48 UINT64_C(0x280100010)
/* VTCR_EL2: T0SZ 25, SL0 0b01, PS 40 bits; TG0 4 KiB (start at level 1), 64 KiB (0b01: level 2, 1024
 * entries) or 16 KiB (0b10: level 2, 2^14 entries in 8 concatenated tables). */
#define VTCR_39 UINT64_C(0x80023559)
#define VTCR_39_64K UINT64_C(0x80027559)
#define VTCR_39_16K UINT64_C(0x8002b559)
#define IPA_POOL UINT64_C(0x80000000)

struct world {
	struct nw_arm64_s1_tables range[2];
	struct nw_arm64_s2 s2;
	bool two_d;
	struct nw_walk_config config;
	struct nw_arm64_cpu cpu;
	unsigned va_bits;
};

/* A VA of range which near the few regions the world maps: level-1 (or 0) index 0..2, level-2 0..2, level-3 0..3. */
static uint64_t random_va(const struct world *w, unsigned which)
{
	uint64_t va = (rnd() % 3) << 30 | (rnd() % 3) << 21 | (rnd() % 4) << 12 | (rnd() & 0xfff);

	if (w->va_bits == 48 && chance(30))
		va |= (rnd() % 2) << 39;
	return which ? va | ~((UINT64_C(1) << w->va_bits) - 1) : va;
}

/* A random edit or map may meet what is there: only these answers are expected. */
static void tolerate(nw_status_t status, nw_status_t other)
{
	cr_assert(status == NW_OK || status == other || status == NW_ERR_INVALID, "status %d", status);
}

static uint64_t random_leaf_flags(void)
{
	static const uint64_t bits[] = { NW_ARM64_S1_AP1, NW_ARM64_S1_AP2, NW_ARM64_S1_PXN, NW_ARM64_S1_UXN,
					 NW_ARM64_S1_NG, NW_ARM64_S1_DBM };
	uint64_t flags = nw_arm64_s1_attr_index((unsigned)(rnd() % 8)) |
			 (uint64_t)(rnd() % 2 ? 3 : rnd() % 3 * 2) << NW_ARM64_S1_SH_SHIFT;

	for (unsigned i = 0; i < sizeof(bits) / sizeof(bits[0]); i++)
		if (chance(30))
			flags |= bits[i];
	return chance(90) ? flags | NW_ARM64_S1_AF : flags;
}

static void map_stage1(struct world *w, unsigned which)
{
	struct nw_arm64_s1_tables *t = &w->range[which];

	for (unsigned i = 0; i < 12; i++) {
		uint64_t va = random_va(w, which) & ~UINT64_C(0xfff), size = NW_PAGE_SIZE, ipa;
		unsigned pick = (unsigned)(rnd() % 20);
		nw_status_t status;

		if (pick == 0)
			size = NW_SIZE_1G;
		else if (pick < 4)
			size = NW_SIZE_2M;
		va &= ~(size - 1);
		ipa = size == NW_SIZE_1G ? (rnd() % 4) << 30 : IPA_POOL + (size == NW_SIZE_2M ? (rnd() % 4) << 21
												: (rnd() % 64) << 12);
		status = nw_arm64_s1_tables_map(t, va, nw_gpa(ipa), size, random_leaf_flags());
		cr_assert(status == NW_OK || status == NW_ERR_EXISTS, "map %d", status);
	}
}

/* Raw edits on random paths: what the builder would not write. */
static void edit_stage1(struct world *w, unsigned which)
{
	static const uint64_t table_bits[] = { NW_ARM64_S1_APTABLE0, NW_ARM64_S1_APTABLE1, NW_ARM64_S1_PXNTABLE,
					       NW_ARM64_S1_UXNTABLE, NW_ARM64_S1_VALID };
	static const uint64_t leaf_bits[] = { NW_ARM64_S1_VALID, NW_ARM64_S1_AF, NW_ARM64_S1_AP2, NW_ARM64_S1_TABLE,
					      UINT64_C(1) << 45, UINT64_C(1) << 40, NW_ARM64_S1_CONTIGUOUS };

	for (unsigned i = 0; i < 4; i++) {
		uint64_t va = random_va(w, which);
		struct nw_pt_leaf leaf;

		if (nw_arm64_s1_tables_query(&w->range[which], va, &leaf) != NW_OK)
			continue;
		if (leaf.level < w->range[which].format.top && chance(50)) {
			int level = leaf.level + 1 + (int)(rnd() % (unsigned)(w->range[which].format.top - leaf.level));
			uint64_t bit = table_bits[rnd() % 5];

			tolerate(nw_arm64_s1_tables_edit(&w->range[which], va, level, bit, chance(50) ? bit : 0, 0),
				 NW_ERR_NOT_FOUND);
		} else {
			uint64_t bit = leaf_bits[rnd() % 7];

			tolerate(nw_arm64_s1_tables_edit(&w->range[which], va, leaf.level, bit, chance(50) ? bit : 0, 0),
				 NW_ERR_NOT_FOUND);
		}
	}
}

/* The stage-2 page of the granule holding a 4 KiB stage-1 table, at its own address. */
static nw_status_t map_stage2_page(struct world *w, uint64_t table, uint64_t flags)
{
	uint64_t page = UINT64_C(1) << w->s2.config.granule_bits, at = table & ~(page - 1);

	return nw_arm64_s2_map(&w->s2, nw_gpa(at), nw_hpa(at), page, flags, 0, 0);
}

static void map_stage2_table(void *ctx, int level, uint64_t table, unsigned index, uint64_t va, uint64_t entry)
{
	struct world *w = ctx;
	uint64_t flags = NW_ARM64_S2_S2AP_R | NW_ARM64_S2_AF | nw_arm64_s2_memattr(NW_ARM64_S2_MEMATTR_NORMAL_WB);
	nw_status_t status;

	(void)level;
	(void)index;
	(void)va;
	(void)entry;
	if (chance(3))
		return; /* a table left unmapped now and then (seen again with its next entry: EXISTS then) */
	if (chance(5))
		flags &= ~NW_ARM64_S2_S2AP_R;
	status = map_stage2_page(w, table, flags);
	cr_assert(status == NW_OK || status == NW_ERR_EXISTS);
}

/* Every stage-1 table at its own address, most of the IPA pool as pages and blocks. */
static void build_stage2(struct world *w)
{
	struct nw_arm64_s2_caps caps = nw_arm64_s2_caps_all();
	struct nw_arm64_s2_config config;
	static const unsigned memattrs[] = { 0x0, 0x1, 0x3, 0x5, 0xa, 0xf, 0xd, 0x6, 0x7 };
	static const uint64_t vtcrs[] = { VTCR_39, VTCR_39_16K, VTCR_39_64K };
	uint64_t page, block;

	/* VTCR_EL2.HA and HD (0x0060_0000) on some worlds: a write to a DBM leaf with S2AP[1] clear sets it. */
	cr_assert_eq(nw_arm64_vtcr_decode(vtcrs[rnd() % 3] | (chance(40) ? NW_VTCR_HA | NW_VTCR_HD : 0), &caps, &config),
		     NW_OK);
	config.fwb = chance(30);
	cr_assert_eq(nw_arm64_s2_create(&w->s2, hal, &config), NW_OK);
	page = UINT64_C(1) << config.granule_bits;
	block = nw_pt_level_size(&w->s2.format, NW_LEVEL_PD);
	w->config.stage2 = (struct nw_stage2){ .kind = NW_STAGE2_ARM64, .arm64 = &w->s2 };
	for (unsigned which = 0; which < 2; which++) {
		/* The roots first (visit sees a root's entries, not the root). */
		uint64_t root = w->range[which].pt.root;

		if (chance(95))
			tolerate(map_stage2_page(w, root, NW_ARM64_S2_S2AP_R | NW_ARM64_S2_AF), NW_ERR_EXISTS);
		nw_pt_visit(&w->range[which].pt, map_stage2_table, w);
	}
	/* The pool: 64 pages at its start, then three level-2 blocks (2 MiB, 32 MiB or 512 MiB), most mapped. */
	for (unsigned i = 0; i < 64 + 3; i++) {
		uint64_t size = i >= 64 ? block : page;
		uint64_t ipa = IPA_POOL + (i >= 64 ? (uint64_t)(i - 63) * block : (uint64_t)i * page);
		uint64_t flags = nw_arm64_s2_memattr(memattrs[rnd() % 9]) | (uint64_t)(rnd() % 2 ? 3 : 0) << 8;

		if (chance(15))
			continue;
		flags |= (chance(90) ? NW_ARM64_S2_S2AP_R : 0) | (chance(70) ? NW_ARM64_S2_S2AP_W : 0) |
			 (chance(90) ? NW_ARM64_S2_AF : 0) | (chance(20) ? NW_ARM64_S2_XN0 : 0) |
			 (chance(20) ? NW_ARM64_S2_XN1 : 0) | (chance(40) ? NW_ARM64_S2_DBM : 0);
		tolerate(nw_arm64_s2_map(&w->s2, nw_gpa(ipa), nw_hpa(UINT64_C(0x100000000) + ipa), size, flags, 0, 0),
			 NW_ERR_EXISTS); /* a stage-1 table may be there */
	}
	/* A reserved MemAttr without FWB (Normal, inner 0b00) the map call refuses, by a raw edit. */
	tolerate(nw_arm64_s2_edit(&w->s2, nw_gpa(IPA_POOL), 1, NW_ARM64_S2_MEMATTR_MASK, nw_arm64_s2_memattr(0x4), 0, 0),
		 NW_ERR_NOT_FOUND);
}

static void random_cpu(struct world *w)
{
	struct nw_arm64_s1_caps caps = nw_arm64_s1_caps_all();
	struct nw_arm64_el1_regs regs = { .sctlr = chance(95) ? NW_SCTLR_M : 0, .mair = rnd() };
	uint64_t tcr = w->va_bits == 48 ? TCR_48 : TCR_39;

	if (chance(20))
		regs.sctlr |= NW_SCTLR_WXN;
	tcr |= (chance(5) ? NW_TCR_EPD0 : 0) | (chance(5) ? NW_TCR_EPD1 : 0) | (chance(20) ? NW_TCR_TBI0 : 0) |
	       (chance(20) ? NW_TCR_TBI1 : 0) | (chance(10) ? NW_TCR_HPD0 : 0);
	if (chance(20))
		tcr |= NW_TCR_HA | (chance(50) ? NW_TCR_HD : 0);
	cr_assert_eq(nw_arm64_s1_tables_ttbr(&w->range[0], (unsigned)(rnd() & 0xff), &regs.ttbr0), NW_OK);
	cr_assert_eq(nw_arm64_s1_tables_ttbr(&w->range[1], 0, &regs.ttbr1), NW_OK);
	regs.tcr = tcr;
	cr_assert_eq(nw_arm64_s1_decode(&regs, &caps, &w->cpu.s1), NW_OK);
	w->cpu.el0 = chance(50);
	w->cpu.pan = chance(30);
	w->cpu.uao = chance(20);
}

static void expect_same(const struct nw_walk_result *fast, const struct nw_walk_result *ref, uint64_t va)
{
	fast_agree_result(fast, ref, va);
	cr_assert_eq(fast->esr, ref->esr, "va %#llx esr", (unsigned long long)va);
	cr_assert_eq(fast->far, ref->far);
	if (ref->outcome != NW_OUTCOME_OK)
		return;
	cr_assert_eq(memcmp(&fast->arm64_memattr, &ref->arm64_memattr, sizeof(fast->arm64_memattr)), 0,
		     "va %#llx: attributes type %u, reference %u", (unsigned long long)va, fast->arm64_memattr.type,
		     ref->arm64_memattr.type);
}

static unsigned run_world(bool two_d, unsigned *walks, unsigned *ok)
{
	struct world w;
	void *storage = fast_agree_storage();
	struct nw_walker *walker;
	unsigned plain = 0;

	memset(&w, 0, sizeof(w));
	w.config.hal = hal;
	w.config.stage2.kind = NW_STAGE2_NONE;
	w.va_bits = chance(50) ? 48 : 39;
	for (unsigned which = 0; which < 2; which++) {
		cr_assert_eq(nw_arm64_s1_tables_create(&w.range[which], which, 12, w.va_bits, nw_pt_mem_hal(hal)),
			     NW_OK);
		map_stage1(&w, which);
		edit_stage1(&w, which);
	}
	if (two_d)
		build_stage2(&w);
	for (unsigned cpu = 0; cpu < 8; cpu++) {
		random_cpu(&w);
		walker = nw_walker_init_arm64(storage, &w.config, &w.cpu);
		cr_assert_not_null(walker);
		for (unsigned i = 0; i < 64; i++) {
			struct nw_access access = { .gva = nw_gva(random_va(&w, chance(70) ? 0 : 1)), .size = 1,
						    .type = (enum nw_access_type)(rnd() % 3), .unprivileged = chance(15) };
			struct nw_walk_result fast, ref;

			if (access.type == NW_ACCESS_FETCH)
				access.unprivileged = false;
			/* NW_WALK_LOOKUP: the reference sets no flag the fast walk would then find set. */
			nw_walker_translate(walker, &access, NW_WALK_LOOKUP, &fast);
			nw_arm64_walk(&w.config, &w.cpu, &access, NW_WALK_LOOKUP, &ref);
			expect_same(&fast, &ref, access.gva.val);
			*ok += ref.outcome == NW_OUTCOME_OK;
			plain += fast_agree_probe(walker, &access, &ref);
			(*walks)++;
		}
	}
	for (unsigned which = 0; which < 2; which++)
		nw_arm64_s1_tables_destroy(&w.range[which]);
	if (two_d)
		nw_arm64_s2_destroy(&w.s2);
	free(storage);
	return plain;
}

Test(arm64_fast, agrees_with_the_reference_on_random_worlds)
{
	/* 60 worlds x 8 CPU states x 64 accesses each way. */
	fast_agree_run(run_world);
}

Test(arm64_fast, init_refuses_an_x86_second_stage_and_the_x86_init_an_arm64_one)
{
	struct nw_walk_config config = { .hal = hal, .stage2 = { .kind = NW_STAGE2_EPT } };
	struct nw_arm64_cpu cpu;
	struct nw_cpu x86;
	_Alignas(NW_WALKER_ALIGN) static unsigned char storage[1 << 14];

	memset(&cpu, 0, sizeof(cpu));
	memset(&x86, 0, sizeof(x86));
	cr_assert_geq(sizeof(storage), nw_walker_size());
	cr_assert_null(nw_walker_init_arm64(storage, &config, &cpu));
	config.stage2.kind = NW_STAGE2_ARM64;
	cr_assert_null(nw_walker_init(storage, &config, &x86));
	config.stage2.kind = NW_STAGE2_NONE;
	cr_assert_null(nw_walker_init_arm64(storage + 1, &config, &cpu), "unaligned storage");
	cr_assert_not_null(nw_walker_init_arm64(storage, &config, &cpu));
}

/* The plain copies' constant geometries (vmsa_formats.h) are what nw_vmsa_format builds for the same ranges. */
static void expect_same_format(const struct nw_pt_format *constant, unsigned va_bits, int start_level)
{
	struct nw_pt_format built;

	nw_vmsa_format(&built, "built", 12, va_bits, start_level);
	cr_assert_eq(constant->entry_size, built.entry_size);
	cr_assert_eq(constant->top, built.top, "%u-bit: top", va_bits);
	cr_assert_eq(constant->table_addr_mask, built.table_addr_mask);
	cr_assert_eq(constant->ps_bit, built.ps_bit);
	cr_assert_eq(constant->link_bit, built.link_bit);
	for (int level = 1; level <= built.top; level++) {
		const struct nw_pt_level_desc *a = &constant->level[level], *b = &built.level[level];

		cr_assert(a->shift == b->shift && a->entries == b->entries && a->leaf_ok == b->leaf_ok &&
				  a->leaf_addr_mask == b->leaf_addr_mask && a->table_bits == b->table_bits,
			  "%u-bit: level %d", va_bits, level);
	}
}

Test(arm64_fast, constant_geometries_are_the_built_ones)
{
	/* 48-bit VAs start at Arm level 0 (48 - 12 = 36 bits, four levels of 9), 39-bit ones at level 1. */
	expect_same_format(&nw_vmsa_fmt_4k_48, 48, 0);
	expect_same_format(&nw_vmsa_fmt_4k_39, 39, 1);
}
