/* The remembered table (pt_engine.c) changes nothing but speed. Random map,
 * map_region, unmap, protect, edit, find and lookup sequences, mostly page
 * after page so that most changes fall in the table the one before reached,
 * run alike on two tables of one format in two simulated hosts built alike:
 * one remembers (its memory exclusive, as nw_pt_mem_hal gives it), the other
 * does not (exclusive cleared). Every status, stale report and answer, every
 * entry of every table and every count page byte, and the live frames agree
 * after every step, allocation failures injected alike into both; the
 * remembered table is checked after every step against a descent from the
 * root; and most changes did start in it. For each engine geometry: EPT 4-
 * and 5-level, NPT, 32-bit and PAE guest formats, AArch64 stage 2 with a
 * concatenated start level, the RISC-V Sv39x4 G-stage. */
#include <stdlib.h>
#include <string.h>

#include <nestwalk/arm64_s2.h>
#include <nestwalk/ept.h>
#include <nestwalk/npt.h>
#include <nestwalk/pt_build.h>
#include <nestwalk/riscv_gstage.h>
#include <nestwalk/x86_pte.h>

#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "mem/simmem.h"
#include "pt_dump.h"
#include "splitmix.h"

#define STEPS 2500
#define WINDOW (UINT64_C(2) << 30)

struct side {
	struct nw_simmem *sim;
	const struct nw_hal *hal;
	struct nw_ept ept;
	struct nw_npt npt;
	struct nw_arm64_s2 a64;
	struct nw_rv_gstage rv;
	struct nw_pt raw;
	struct nw_pt *pt;
};

/* One format under test: how its table is made and what its leaves may hold (engine-level attributes, as its
 * own map adds them). */
struct kind {
	const char *name;
	void (*create)(struct side *side);
	void (*destroy)(struct side *side);
	int max_level;
	uint64_t base;             /* the window's first address */
	uint64_t pa_limit;
	uint64_t (*attrs)(void);   /* leaf attributes */
	uint64_t (*rights)(void);  /* what protect may set, rights_mask being what it clears */
	uint64_t rights_mask;
	uint64_t spare_bit;        /* a bit no entry's shape depends on, for edits */
};

static uint64_t pick(const uint64_t *list)
{
	unsigned n = 0;

	while (list[n])
		n++;
	return list[below(n)];
}

static void ept_create(struct side *side, int levels)
{
	struct nw_ept_config config = { .levels = levels, .memory_type = NW_EPT_MT_WB, .caps = nw_ept_caps_all() };

	cr_assert_eq(nw_ept_create(&side->ept, side->hal, &config), NW_OK);
	side->pt = &side->ept.pt;
}

static void ept4_create(struct side *side)
{
	ept_create(side, 4);
}

static void ept5_create(struct side *side)
{
	ept_create(side, 5);
}

static void ept_destroy(struct side *side)
{
	nw_ept_destroy(&side->ept);
}

static void npt_create(struct side *side)
{
	struct nw_npt_config config = { .levels = 4, .caps = nw_npt_caps_all() };

	cr_assert_eq(nw_npt_create(&side->npt, side->hal, &config), NW_OK);
	side->pt = &side->npt.pt;
}

static void npt_destroy(struct side *side)
{
	nw_npt_destroy(&side->npt);
}

static void raw_create(struct side *side, enum nw_gpt_mode mode)
{
	cr_assert_eq(nw_pt_init(&side->raw, nw_gpt_format(mode), nw_pt_mem_hal(side->hal), NULL), NW_OK);
	side->pt = &side->raw;
}

static void x86_32_create(struct side *side)
{
	raw_create(side, NW_GPT_32BIT);
}

static void pae_create(struct side *side)
{
	raw_create(side, NW_GPT_PAE);
}

static void raw_destroy(struct side *side)
{
	nw_pt_destroy(&side->raw);
}

static void a64_create(struct side *side)
{
	struct nw_arm64_s2_caps caps = nw_arm64_s2_caps_all();
	struct nw_arm64_s2_config config;

	/* VTCR_EL2 0x80023558: T0SZ 24 (40-bit IPA), SL0 1 (start at level 1, two concatenated tables), PS 40 bits. */
	cr_assert_eq(nw_arm64_vtcr_decode(UINT64_C(0x80023558), &caps, &config), NW_OK);
	cr_assert_eq(nw_arm64_s2_create(&side->a64, side->hal, &config), NW_OK);
	side->pt = &side->a64.pt;
}

static void a64_destroy(struct side *side)
{
	nw_arm64_s2_destroy(&side->a64);
}

static void rv_create(struct side *side)
{
	struct nw_rv_gstage_config config = { .mode = NW_RV_HGATP_SV39X4, .caps = nw_rv_gstage_caps_all() };

	cr_assert_eq(nw_rv_gstage_create(&side->rv, side->hal, &config), NW_OK);
	side->pt = &side->rv.pt;
}

static void rv_destroy(struct side *side)
{
	nw_rv_gstage_destroy(&side->rv);
}

#define EPT_RWX (NW_EPT_R | NW_EPT_W | NW_EPT_X)
#define A64_NORMAL (nw_arm64_s2_memattr(NW_ARM64_S2_MEMATTR_NORMAL_WB) | (UINT64_C(3) << NW_ARM64_S2_SH_SHIFT) | \
		    NW_ARM64_S2_AF | NW_ARM64_S2_VALID)
#define RV_AD (NW_RV_PTE_V | NW_RV_PTE_A | NW_RV_PTE_D)

static uint64_t ept_attrs(void)
{
	const uint64_t list[] = { EPT_RWX | nw_ept_mt(NW_EPT_MT_WB), NW_EPT_R | nw_ept_mt(NW_EPT_MT_UC),
				  NW_EPT_R | NW_EPT_X | nw_ept_mt(NW_EPT_MT_WB) | NW_EPT_IPAT, 0 };

	return pick(list);
}

static uint64_t ept_rights(void)
{
	const uint64_t list[] = { NW_EPT_R, NW_EPT_R | NW_EPT_W, EPT_RWX, 0 };

	return pick(list);
}

static uint64_t x86_attrs(void)
{
	const uint64_t list[] = { NW_PTE_P | NW_PTE_US, NW_PTE_P | NW_PTE_US | NW_PTE_RW,
				  NW_PTE_P | NW_PTE_RW | NW_PTE_PCD, 0 };

	return pick(list);
}

static uint64_t x86_rights(void)
{
	const uint64_t list[] = { NW_PTE_RW, NW_PTE_US, NW_PTE_RW | NW_PTE_US, 0 };

	return pick(list);
}

static uint64_t a64_attrs(void)
{
	const uint64_t list[] = { A64_NORMAL | NW_ARM64_S2_S2AP_R, A64_NORMAL | NW_ARM64_S2_S2AP_R | NW_ARM64_S2_S2AP_W,
				  0 };

	return pick(list);
}

static uint64_t a64_rights(void)
{
	const uint64_t list[] = { NW_ARM64_S2_S2AP_R, NW_ARM64_S2_S2AP_R | NW_ARM64_S2_S2AP_W,
				  NW_ARM64_S2_S2AP_R | NW_ARM64_S2_XN1, 0 };

	return pick(list);
}

static uint64_t rv_attrs(void)
{
	const uint64_t list[] = { RV_AD | NW_RV_PTE_R, RV_AD | NW_RV_PTE_R | NW_RV_PTE_W | NW_RV_PTE_U,
				  RV_AD | NW_RV_PTE_X | NW_RV_PTE_U, 0 };

	return pick(list);
}

static uint64_t rv_rights(void)
{
	const uint64_t list[] = { NW_RV_PTE_R, NW_RV_PTE_R | NW_RV_PTE_W, NW_RV_PTE_X | NW_RV_PTE_U, 0 };

	return pick(list);
}

static const struct kind kinds[] = {
	{ "EPT 4-level", ept4_create, ept_destroy, NW_LEVEL_PDPT, 0, UINT64_C(1) << 39, ept_attrs, ept_rights,
	  NW_EPT_RIGHTS, UINT64_C(1) << 11 },
	{ "EPT 5-level", ept5_create, ept_destroy, NW_LEVEL_PDPT, UINT64_C(0x1230000000000), UINT64_C(1) << 39,
	  ept_attrs, ept_rights, NW_EPT_RIGHTS, UINT64_C(1) << 11 },
	{ "NPT", npt_create, npt_destroy, NW_LEVEL_PDPT, 0, UINT64_C(1) << 39, x86_attrs, x86_rights,
	  NW_PTE_RW | NW_PTE_US, UINT64_C(1) << 9 },
	{ "32-bit", x86_32_create, raw_destroy, NW_LEVEL_PD, 0, UINT64_C(1) << 32, x86_attrs, x86_rights,
	  NW_PTE_RW | NW_PTE_US, UINT64_C(1) << 9 },
	{ "PAE", pae_create, raw_destroy, NW_LEVEL_PD, 0, UINT64_C(1) << 36, x86_attrs, x86_rights,
	  NW_PTE_RW | NW_PTE_US, UINT64_C(1) << 9 },
	{ "AArch64 stage 2", a64_create, a64_destroy, NW_LEVEL_PDPT, 0, UINT64_C(1) << 40, a64_attrs, a64_rights,
	  NW_ARM64_S2_RIGHTS, UINT64_C(1) << 55 },
	{ "RISC-V Sv39x4", rv_create, rv_destroy, NW_LEVEL_PDPT, 0, UINT64_C(1) << 39, rv_attrs, rv_rights,
	  NW_RV_GSTAGE_RIGHTS, UINT64_C(1) << 8 },
};

static void side_open(struct side *side, const struct kind *kind, bool remember)
{
	struct nw_simmem_config config = { .size = UINT64_C(1) << 32, .randomize = true, .seed = 42, .strict = true,
					   .poison = true };

	side->sim = nw_simmem_create(&config);
	cr_assert_not_null(side->sim);
	side->hal = nw_simmem_owner(side->sim, "test");
	cr_assert_not_null(side->hal);
	kind->create(side);
	cr_assert(side->pt->mem.exclusive, "%s: the HAL's table memory is the engine's alone", kind->name);
	side->pt->mem.exclusive = remember;
}

static void side_close(struct side *side, const struct kind *kind)
{
	kind->destroy(side);
	cr_assert_eq(nw_simmem_destroy(side->sim), 0, "%s: frames leaked", kind->name);
}

/* The count pages below one table, byte for byte; their addresses are in the slots just compared. */
static void same_counts(const struct side *a, const struct side *b, uint64_t counts, int level)
{
	const struct nw_pt_format *fmt = a->pt->fmt;
	size_t bytes = (size_t)fmt->level[level].entries * fmt->entry_size;
	const void *pa = nw_hal_phys_to_virt(a->hal, nw_hpa(counts)), *pb = nw_hal_phys_to_virt(b->hal, nw_hpa(counts));

	cr_assert(memcmp(pa, pb, bytes) == 0, "count page 0x%llx of a level-%d table differs",
		  (unsigned long long)counts, level);
	if (level - 1 == NW_LEVEL_PT)
		return;
	for (unsigned i = 0; i < fmt->level[level].entries; i++) {
		uint64_t slot = nw_pt_entry_get(fmt, pa, i) & ~UINT64_C(0xfff);

		if (slot)
			same_counts(a, b, slot, level - 1);
	}
}

/* Both hosts hold the same tables: every entry at the same address, every count page alike, as many live frames. */
static void same_tables(const struct side *a, const struct side *b, const char *name, unsigned step)
{
	struct pt_dump da = pt_dump_take(a->pt), db = pt_dump_take(b->pt);

	cr_assert_eq(da.count, db.count, "%s step %u: %zu entries in use against %zu", name, step, da.count, db.count);
	for (size_t i = 0; i < da.count; i++)
		cr_assert(pt_row_same(&da.rows[i], &db.rows[i]),
			  "%s step %u: level-%d entry %u of table 0x%llx (va 0x%llx): 0x%llx against 0x%llx", name,
			  step, da.rows[i].level, da.rows[i].index, (unsigned long long)da.rows[i].table,
			  (unsigned long long)da.rows[i].va, (unsigned long long)da.rows[i].entry,
			  (unsigned long long)db.rows[i].entry);
	free(da.rows);
	free(db.rows);
	cr_assert_eq(a->pt->root, b->pt->root);
	cr_assert_eq(a->pt->root_counts, b->pt->root_counts);
	same_counts(a, b, a->pt->root_counts, a->pt->fmt->top);
	cr_assert_eq(nw_simmem_stats(a->sim).live, nw_simmem_stats(b->sim).live, "%s step %u: live frames", name,
		     step);
}

/* What the engine remembers is what a descent from the root finds: the table at its level on its path, and the
 * slot holding that table's count, which equals the table's entries in use. */
static void memo_is_true(const struct side *side, const char *name, unsigned step)
{
	const struct nw_pt_memo *memo = &side->pt->memo;
	const struct nw_pt_format *fmt = side->pt->fmt;
	struct nw_pt_leaf leaf;
	unsigned used = 0;
	nw_status_t found;

	if (memo->size == 0)
		return;
	cr_assert_eq(memo->size, (uint64_t)fmt->level[memo->level].entries << fmt->level[memo->level].shift);
	cr_assert_eq(memo->base & (memo->size - 1), 0);
	found = nw_pt_lookup(side->pt, memo->base, &leaf);
	cr_assert(found == NW_OK || found == NW_ERR_NOT_FOUND);
	cr_assert_neq(leaf.tables[memo->level], 0, "%s step %u: no level-%u table under 0x%llx", name, step,
		      memo->level, (unsigned long long)memo->base);
	cr_assert_eq(nw_hal_phys_to_virt(side->hal, nw_hpa(leaf.tables[memo->level])), memo->ptr,
		     "%s step %u: the remembered level-%u table is not the one on 0x%llx's path", name, step,
		     memo->level, (unsigned long long)memo->base);
	if (memo->level == fmt->top) {
		cr_assert_null(memo->up, "the root's count is not kept");
		return;
	}
	cr_assert_eq(memo->up_index, nw_pt_index(fmt, memo->level + 1, memo->base));
	for (unsigned i = 0; i < fmt->level[memo->level].entries; i++)
		used += nw_pt_entry_get(fmt, memo->ptr, i) != 0;
	cr_assert_eq(nw_pt_entry_get(fmt, memo->up, memo->up_index) & 0xfff, used,
		     "%s step %u: the remembered count slot does not hold the table's count", name, step);
}

struct op_result {
	nw_status_t status;
	bool stale;
	uint64_t old;
	int level;
	struct nw_pt_leaf leaf;
};

/* One step's arguments, drawn once and applied to both sides. */
struct op {
	unsigned what;
	uint64_t va, pa, size, attrs;
	int level;
	bool replace;
};

static struct op_result apply(const struct side *side, const struct kind *kind, const struct op *op)
{
	struct nw_pt *pt = side->pt;
	struct op_result r = { .status = NW_OK };
	uint64_t entry;

	switch (op->what) {
	case 0:
		r.status = nw_pt_map(pt, op->va, op->pa, op->level, op->attrs, op->replace ? NW_PT_MAP_REPLACE : 0,
				     &r.stale);
		break;
	case 1:
		r.status = nw_pt_unmap(pt, op->va, op->size, &r.stale);
		break;
	case 2:
		r.status = nw_pt_map_region(pt, op->va, op->pa, op->size, kind->max_level, op->attrs, &r.stale);
		break;
	case 3:
		r.status = nw_pt_update(pt, op->va, op->size, kind->rights_mask, op->attrs, &r.stale);
		break;
	case 4:
		r.status = nw_pt_edit(pt, op->va, op->level, op->replace ? kind->spare_bit : 0,
				      op->replace ? 0 : kind->spare_bit, &r.old, &r.stale);
		break;
	default:
		r.status = nw_pt_find(pt, op->va, &r.level, &entry);
		r.old = r.status == NW_OK ? entry : 0;
		if (nw_pt_lookup(pt, op->va, &r.leaf) != r.status)
			r.status = NW_ERR_INVALID; /* find and lookup disagree: the comparison names the step */
		break;
	}
	return r;
}

static void draw(const struct kind *kind, const struct nw_pt_format *fmt, uint64_t *cursor, struct op *op)
{
	static const uint64_t spans[] = { 1, 1, 1, 2, 7, 511, 512, 513, 262144 };
	uint64_t pages = WINDOW >> NW_PAGE_SHIFT, page, count;

	/* Mostly the next page, so that a change usually falls in the table the one before reached. */
	if (below(8)) {
		page = (*cursor + 1) % pages;
	} else {
		page = below(pages);
		if (below(2))
			page &= ~UINT64_C(511);
	}
	*cursor = page;
	count = below(3) ? 1 : spans[below(sizeof(spans) / sizeof(spans[0]))];
	if (page + count > pages)
		count = pages - page;
	*op = (struct op){ .what = (unsigned)below(12), .level = NW_LEVEL_PT, .replace = below(4) == 0,
			   .va = kind->base + (page << NW_PAGE_SHIFT), .size = count << NW_PAGE_SHIFT };
	op->what = op->what < 5 ? 0 : op->what < 8 ? 1 : op->what - 6; /* maps and unmaps most often */
	while (op->what == 0 && op->level < kind->max_level && below(6) == 0)
		op->level++;
	if (op->what == 0) {
		op->size = nw_pt_level_size(fmt, op->level);
		op->va &= ~(op->size - 1);
	}
	if (op->what == 4)
		op->level = NW_LEVEL_PT + (int)below((uint64_t)fmt->top);
	op->pa = (below(kind->pa_limit / 2) & ~(nw_pt_level_size(fmt, op->level) - 1)) + kind->pa_limit / 4;
	if (op->what == 2)
		op->pa = (op->pa & ~(NW_SIZE_1G - 1)) | (op->va & (NW_SIZE_1G - 1) & ~(UINT64_C(0xfff)));
	op->attrs = op->what == 3 ? kind->rights() : kind->attrs();
}

static void run(const struct kind *kind, uint64_t seed)
{
	struct side a, b;
	uint64_t cursor = 0, maps = 0, remembered = 0;

	side_open(&a, kind, true);
	side_open(&b, kind, false);
	rng_state = seed;
	for (unsigned step = 0; step < STEPS; step++) {
		struct op op;
		struct op_result ra, rb;
		bool inject = below(10) == 0;
		uint64_t fail_seed = rnd();

		draw(kind, a.pt->fmt, &cursor, &op);
		if (op.what == 0 && op.level == a.pt->memo.level && op.va - a.pt->memo.base < a.pt->memo.size)
			remembered++;
		maps += op.what == 0;
		if (inject) {
			nw_simmem_fail_random(a.sim, 0.3, fail_seed);
			nw_simmem_fail_random(b.sim, 0.3, fail_seed);
		}
		ra = apply(&a, kind, &op);
		rb = apply(&b, kind, &op);
		if (inject) {
			nw_simmem_fail_random(a.sim, 0.0, 0);
			nw_simmem_fail_random(b.sim, 0.0, 0);
		}
		cr_assert_eq(ra.status, rb.status, "%s step %u op %u va 0x%llx size 0x%llx: %s against %s", kind->name,
			     step, op.what, (unsigned long long)op.va, (unsigned long long)op.size,
			     nw_status_name(ra.status), nw_status_name(rb.status));
		cr_assert_eq(ra.stale, rb.stale, "%s step %u op %u: stale reports differ", kind->name, step, op.what);
		cr_assert_eq(ra.old, rb.old, "%s step %u op %u: entries read differ", kind->name, step, op.what);
		cr_assert_eq(ra.level, rb.level);
		cr_assert(memcmp(&ra.leaf, &rb.leaf, sizeof(ra.leaf)) == 0, "%s step %u: lookups differ", kind->name,
			  step);
		same_tables(&a, &b, kind->name, step);
		memo_is_true(&a, kind->name, step);
		cr_assert_eq(b.pt->memo.size, 0, "%s: a table in memory others may shape is never remembered",
			     kind->name);
	}
	/* Without starts in the remembered table the comparison would show nothing. */
	cr_assert_gt(remembered * 3, maps, "%s: only %llu of %llu maps started in the remembered table", kind->name,
		     (unsigned long long)remembered, (unsigned long long)maps);
	side_close(&a, kind);
	side_close(&b, kind);
}

/* Each format a test of its own, named by its index in kinds (the parameter holds no pointer: Criterion may run
 * a test in a fresh process). */
ParameterizedTestParameters(pt_memo, each_format)
{
	static unsigned index[sizeof(kinds) / sizeof(kinds[0])];

	for (unsigned i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		index[i] = i;
	return cr_make_param_array(unsigned, index, sizeof(kinds) / sizeof(kinds[0]));
}

ParameterizedTest(const unsigned *index, pt_memo, each_format, .timeout = 300)
{
	run(&kinds[*index], 1 + *index);
}
