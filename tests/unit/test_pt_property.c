/* Random map/map_region/unmap/protect sequences against a page-by-page model
 * of a 4 GiB window, for EPT (through nw_ept_*) and, through the engine, for
 * the NPT, 32-bit (4 MiB pages, 1024-entry tables) and PAE formats: every
 * status, every queried page and, at checkpoints, every leaf agree with the
 * model; tables are never left empty; each table's live count (the engine's
 * bookkeeping) equals its non-zero entries counted here, after every
 * operation; the live frames are exactly the tables and one count page per
 * table above level 1; injected allocation failures change nothing. Seeded; NESTWALK_FULL_MATRIX=1
 * runs the long form. */
#include <stdlib.h>
#include <string.h>

#include <nestwalk/ept.h>
#include <nestwalk/npt.h>
#include <nestwalk/pt_build.h>

#include "fixture.h"
#include "splitmix.h"

TestSuite(pt_property, .init = fixture_setup, .fini = fixture_teardown);

#define WINDOW (UINT64_C(4) << 30)
#define PAGES (WINDOW >> NW_PAGE_SHIFT)

/* Per 4 KiB page: its HPA and the leaf's attributes (0 = unmapped). */
struct model {
	uint64_t *hpa;
	uint64_t *attrs;
};

/* What is under test: EPT through its own calls, or any format through the engine. */
struct target {
	struct nw_ept *ept;        /* NULL: use the engine on pt */
	struct nw_pt *pt;
	int max_level;             /* largest leaf */
	uint64_t hpa_limit;
	uint64_t rights_mask;      /* what protect replaces */
	uint64_t (*attrs)(void);
	uint64_t (*rights)(void);
};

static uint64_t random_rights(void)
{
	static const uint64_t choices[] = { NW_EPT_R, NW_EPT_R | NW_EPT_W, NW_EPT_R | NW_EPT_X,
					    NW_EPT_R | NW_EPT_W | NW_EPT_X, NW_EPT_X };

	return choices[below(5)];
}

static uint64_t random_attrs(void)
{
	static const unsigned types[] = { 0, 1, 4, 5, 6 };

	return random_rights() | ((uint64_t)types[below(5)] << 3) | (below(2) ? NW_EPT_IPAT : 0) |
	       (below(4) == 0 ? UINT64_C(1) << 55 : 0);
}

static uint64_t x86_rights(void)
{
	return (below(2) ? NW_PTE_RW : 0) | (below(2) ? NW_PTE_XD : 0);
}

static uint64_t npt_attrs(void)
{
	return NW_PTE_P | NW_PTE_US | x86_rights() | (below(2) ? NW_PTE_PWT : 0) | (below(2) ? NW_PTE_PCD : 0) |
	       (below(2) ? NW_PTE_PAT_4K : 0) | (below(4) == 0 ? UINT64_C(1) << 9 : 0);
}

static uint64_t x86_32_rights(void)
{
	return below(2) ? NW_PTE_RW : 0;
}

static uint64_t x86_32_attrs(void)
{
	return NW_PTE_P | x86_32_rights() | (below(2) ? NW_PTE_US : 0) | (below(2) ? NW_PTE_PCD : 0) |
	       (below(2) ? NW_PTE_PAT_4K : 0) | (below(2) ? NW_PTE_G : 0);
}

static bool model_any(const struct model *m, uint64_t first, uint64_t count)
{
	for (uint64_t p = first; p < first + count; p++)
		if (m->attrs[p])
			return true;
	return false;
}

static bool model_all(const struct model *m, uint64_t first, uint64_t count)
{
	for (uint64_t p = first; p < first + count; p++)
		if (!m->attrs[p])
			return false;
	return true;
}

static void check_page(const struct target *t, const struct model *m, uint64_t page)
{
	struct nw_pt_leaf leaf;
	nw_status_t status;
	uint64_t va = page << NW_PAGE_SHIFT, entry;
	int level;

	if (page >= PAGES)
		return;
	status = nw_pt_lookup(t->pt, va, &leaf);
	if (!m->attrs[page]) {
		cr_assert_eq(status, NW_ERR_NOT_FOUND, "page 0x%llx should be unmapped", (unsigned long long)va);
		cr_assert_eq(nw_pt_find(t->pt, va, &level, &entry), NW_ERR_NOT_FOUND);
		return;
	}
	/* The check-free lookup (no path recorded) finds the model's page too. */
	cr_assert_eq(nw_pt_find(t->pt, va, &level, &entry), NW_OK, "page 0x%llx", (unsigned long long)va);
	cr_assert_eq(nw_pt_leaf_addr(t->pt->fmt, level, entry) + (va & (nw_pt_level_size(t->pt->fmt, level) - 1)),
		     m->hpa[page], "page 0x%llx", (unsigned long long)va);
	cr_assert_eq(nw_pt_leaf_attrs(t->pt->fmt, level, entry), m->attrs[page], "page 0x%llx attrs",
		     (unsigned long long)va);
	cr_assert_eq(status, NW_OK, "page 0x%llx should be mapped", (unsigned long long)va);
	cr_assert_eq(leaf.pa_base + (va - leaf.va_base), m->hpa[page], "page 0x%llx", (unsigned long long)va);
	cr_assert_eq(nw_pt_leaf_attrs(t->pt->fmt, leaf.level, leaf.entry), m->attrs[page], "page 0x%llx attrs",
		     (unsigned long long)va);
}

struct full_check {
	const struct nw_pt *pt;
	const struct model *m;
	uint64_t mapped;
	uint64_t tables;
	uint64_t count_pages; /* one per table above level 1 (pt_engine.c, Live counts) */
	bool entries_only;    /* count only: no model to compare the leaves with */
};

static void check_entry(void *ctx, int level, uint64_t table, unsigned index, uint64_t va, uint64_t entry)
{
	struct full_check *c = ctx;
	const struct nw_pt_format *fmt = c->pt->fmt;
	uint64_t size = nw_pt_level_size(fmt, level);

	(void)table;
	(void)index;
	if (nw_pt_is_link(fmt, level, entry)) {
		const void *child = nw_hal_phys_to_virt(hal, nw_hpa(nw_pt_link_addr(c->pt, entry)));
		unsigned used = 0, live = 0;

		for (unsigned i = 0; i < fmt->level[level - 1].entries; i++)
			used += nw_pt_entry_get(fmt, child, i) != 0;
		cr_assert_gt(used, 0, "an empty level-%d table was left under va 0x%llx", level - 1,
			     (unsigned long long)va);
		cr_assert_eq(nw_pt_live_count(c->pt, va, level - 1, &live), NW_OK);
		cr_assert_eq(live, used, "level-%d table under va 0x%llx: live count %u, %u entries in use", level - 1,
			     (unsigned long long)va, live, used);
		c->tables++;
		c->count_pages += level - 1 > NW_LEVEL_PT;
		return;
	}
	if (c->entries_only)
		return;
	for (uint64_t off = 0; off < size; off += NW_PAGE_SIZE) {
		uint64_t page = (va + off) >> NW_PAGE_SHIFT;

		cr_assert_lt(page, PAGES);
		cr_assert_eq(c->m->attrs[page], nw_pt_leaf_attrs(fmt, level, entry), "page 0x%llx",
			     (unsigned long long)(page << NW_PAGE_SHIFT));
		cr_assert_eq(c->m->hpa[page], nw_pt_leaf_addr(fmt, level, entry) + off);
	}
	c->mapped += size >> NW_PAGE_SHIFT;
}

static void full_check(const struct target *t, const struct model *m)
{
	struct full_check c = { .pt = t->pt, .m = m, .tables = 1, .count_pages = 1 };
	uint64_t mapped = 0;

	nw_pt_visit(t->pt, check_entry, &c);
	for (uint64_t p = 0; p < PAGES; p++)
		mapped += m->attrs[p] != 0;
	cr_assert_eq(c.mapped, mapped, "leaves cover %llu pages, the model %llu", (unsigned long long)c.mapped,
		     (unsigned long long)mapped);
	cr_assert_eq(nw_simmem_stats(sim).live, c.tables + c.count_pages,
		     "live frames are exactly the tables and their count pages");
}

/* After every operation: each table's live count against its entries (the walk over every table is the
 * cost of the full check without the model's 1 M pages). */
static void counts_check(const struct target *t)
{
	struct full_check c = { .pt = t->pt, .tables = 1, .count_pages = 1, .entries_only = true };

	nw_pt_visit(t->pt, check_entry, &c);
	cr_assert_eq(nw_simmem_stats(sim).live, c.tables + c.count_pages,
		     "live frames are exactly the tables and their count pages");
}

/* A random page-aligned range in the window, biased towards large-page
 * boundaries so splits and large leaves are common. */
static void random_range(uint64_t *first, uint64_t *count)
{
	static const uint64_t spans[] = { 1, 2, 7, 511, 512, 513, 1024, 262144, 300000 };
	uint64_t start = below(PAGES);

	if (below(3) == 0)
		start &= ~UINT64_C(511);
	if (below(8) == 0)
		start &= ~UINT64_C(262143);
	*count = spans[below(sizeof(spans) / sizeof(spans[0]))];
	if (below(2))
		*count = 1 + below(*count);
	if (start + *count > PAGES)
		*count = PAGES - start;
	*first = start;
}

static uint64_t random_hpa_for(const struct target *t, uint64_t va, uint64_t size)
{
	uint64_t hpa = below(t->hpa_limit / 4) & ~(size - 1);

	/* Half the time keep the GPA's offset within 1 GiB so map_region can use large pages. */
	if (below(2))
		hpa = (hpa & ~(NW_SIZE_1G - 1)) | (va & (NW_SIZE_1G - 1));
	return hpa;
}

static nw_status_t do_map(const struct target *t, uint64_t va, uint64_t hpa, int level, uint64_t attrs, bool replace,
			  bool *stale)
{
	unsigned flags = replace ? NW_PT_MAP_REPLACE : 0;

	if (t->ept)
		return nw_ept_map(t->ept, nw_gpa(va), nw_hpa(hpa), nw_pt_level_size(t->pt->fmt, level), attrs, flags,
				  stale);
	return nw_pt_map(t->pt, va, hpa, level, attrs, flags, stale);
}

static nw_status_t do_map_region(const struct target *t, uint64_t va, uint64_t hpa, uint64_t size, uint64_t attrs,
				 bool *stale)
{
	if (t->ept)
		return nw_ept_map_region(t->ept, nw_gpa(va), nw_hpa(hpa), size, attrs, stale);
	return nw_pt_map_region(t->pt, va, hpa, size, t->max_level, attrs, stale);
}

static nw_status_t do_unmap(const struct target *t, uint64_t va, uint64_t size, bool *stale)
{
	if (t->ept)
		return nw_ept_unmap(t->ept, nw_gpa(va), size, stale);
	return nw_pt_unmap(t->pt, va, size, stale);
}

static nw_status_t do_protect(const struct target *t, uint64_t va, uint64_t size, uint64_t rights, bool *stale)
{
	if (t->ept)
		return nw_ept_protect(t->ept, nw_gpa(va), size, rights, stale);
	return nw_pt_update(t->pt, va, size, t->rights_mask, rights, stale);
}

static void one_op(const struct target *t, struct model *m, unsigned step)
{
	const struct nw_pt_format *fmt = t->pt->fmt;
	uint64_t first, count, va, size, attrs, hpa;
	bool stale = false, changed = false, inject = below(10) == 0;
	nw_status_t status, expect;
	unsigned op = (unsigned)below(4);

	if (inject)
		nw_simmem_fail_random(sim, 0.3, rnd());
	if (op == 0) {
		/* Mostly 4 KiB pages, then each larger leaf size less often. */
		int level = NW_LEVEL_PT;
		bool replace = below(2);

		while (level < t->max_level && below(3) == 0)
			level++;
		size = nw_pt_level_size(fmt, level);
		va = below(WINDOW) & ~(size - 1);
		hpa = random_hpa_for(t, va, size);
		attrs = t->attrs();
		first = va >> NW_PAGE_SHIFT;
		count = size >> NW_PAGE_SHIFT;
		expect = !replace && model_any(m, first, count) ? NW_ERR_EXISTS : NW_OK;
		status = do_map(t, va, hpa, level, attrs, replace, &stale);
	} else if (op == 1) {
		random_range(&first, &count);
		va = first << NW_PAGE_SHIFT;
		size = count << NW_PAGE_SHIFT;
		hpa = random_hpa_for(t, va, NW_PAGE_SIZE);
		attrs = t->attrs();
		expect = model_any(m, first, count) ? NW_ERR_EXISTS : NW_OK;
		status = do_map_region(t, va, hpa, size, attrs, &stale);
	} else if (op == 2) {
		random_range(&first, &count);
		va = first << NW_PAGE_SHIFT;
		expect = NW_OK;
		hpa = attrs = 0;
		status = do_unmap(t, va, count << NW_PAGE_SHIFT, &stale);
	} else {
		random_range(&first, &count);
		va = first << NW_PAGE_SHIFT;
		attrs = t->rights();
		hpa = 0;
		expect = model_all(m, first, count) ? NW_OK : NW_ERR_NOT_FOUND;
		status = do_protect(t, va, count << NW_PAGE_SHIFT, attrs, &stale);
	}
	if (inject)
		nw_simmem_fail_random(sim, 0.0, 0);
	if (inject && status == NW_ERR_NOMEM)
		expect = NW_ERR_NOMEM;
	cr_assert_eq(status, expect, "%s step %u op %u va 0x%llx pages %llu: %s, want %s", fmt->name, step, op,
		     (unsigned long long)va, (unsigned long long)count, nw_status_name(status), nw_status_name(expect));
	if (status == NW_OK) {
		bool was_mapped = model_any(m, first, count);

		for (uint64_t i = 0; i < count; i++) {
			uint64_t p = first + i, new_hpa = 0, new_attrs = 0;

			if (op == 0 || op == 1) {
				new_hpa = hpa + (i << NW_PAGE_SHIFT);
				new_attrs = attrs;
			} else if (op == 3) {
				new_hpa = m->hpa[p];
				new_attrs = (m->attrs[p] & ~t->rights_mask) | attrs;
			}
			if (m->attrs[p] && (m->hpa[p] != new_hpa || m->attrs[p] != new_attrs))
				changed = true;
			m->hpa[p] = new_hpa;
			m->attrs[p] = new_attrs;
		}
		if (changed)
			cr_assert(stale, "%s step %u: a mapping changed without a stale report", fmt->name, step);
		if (!was_mapped)
			cr_assert_not(stale, "%s step %u: a pure addition reported stale", fmt->name, step);
	}
	for (int i = 0; i < 8; i++)
		check_page(t, m, below(PAGES));
	check_page(t, m, first ? first - 1 : 0);
	check_page(t, m, first);
	check_page(t, m, first + count - 1);
	check_page(t, m, first + count);
}

static void run(const struct target *t, uint64_t seed, unsigned steps)
{
	struct model m = { calloc(PAGES, sizeof(uint64_t)), calloc(PAGES, sizeof(uint64_t)) };

	cr_assert(m.hpa && m.attrs);
	rng_state = seed;
	for (unsigned step = 0; step < steps; step++) {
		one_op(t, &m, step);
		counts_check(t);
		if (step % 250 == 249)
			full_check(t, &m);
	}
	full_check(t, &m);
	free(m.hpa);
	free(m.attrs);
}

static unsigned steps(void)
{
	const char *full = getenv("NESTWALK_FULL_MATRIX");

	return full && strcmp(full, "1") == 0 ? 40000 : 1500;
}

static void run_ept(uint64_t seed)
{
	struct nw_ept_config config = { .levels = 4, .memory_type = NW_EPT_MT_WB, .caps = nw_ept_caps_all() };
	struct nw_ept ept;
	struct target t = { .ept = &ept, .pt = &ept.pt, .max_level = NW_LEVEL_PDPT, .hpa_limit = UINT64_C(1) << 39,
			    .rights_mask = NW_EPT_RIGHTS, .attrs = random_attrs, .rights = random_rights };

	config.caps.maxphyaddr = 39;
	cr_assert_eq(nw_ept_create(&ept, hal, &config), NW_OK);
	run(&t, seed, steps());
	nw_ept_destroy(&ept);
	cr_assert_eq(nw_simmem_stats(sim).live, 0);
}

Test(pt_property, ept_seed_1, .timeout = 300)
{
	run_ept(1);
}

Test(pt_property, ept_seed_2, .timeout = 300)
{
	run_ept(0x5eed);
}

Test(pt_property, npt_engine, .timeout = 300)
{
	struct nw_npt_config config = { .levels = 4, .caps = nw_npt_caps_all() };
	struct nw_npt npt;
	struct target t = { .pt = &npt.pt, .max_level = NW_LEVEL_PDPT, .hpa_limit = UINT64_C(1) << 39,
			    .rights_mask = NW_NPT_RIGHTS, .attrs = npt_attrs, .rights = x86_rights };

	cr_assert_eq(nw_npt_create(&npt, hal, &config), NW_OK);
	run(&t, 3, steps());
	nw_npt_destroy(&npt);
}

static void run_guest_format(enum nw_gpt_mode mode, uint64_t hpa_limit, uint64_t (*attrs)(void),
			     uint64_t (*rights)(void), uint64_t rights_mask)
{
	struct nw_pt pt;
	struct target t = { .pt = &pt, .max_level = NW_LEVEL_PD, .hpa_limit = hpa_limit, .rights_mask = rights_mask,
			    .attrs = attrs, .rights = rights };

	cr_assert_eq(nw_pt_init(&pt, nw_gpt_format(mode), nw_pt_mem_hal(hal), NULL), NW_OK);
	run(&t, 4 + (uint64_t)mode, steps());
	nw_pt_destroy(&pt);
}

Test(pt_property, thirty_two_bit_engine, .timeout = 300)
{
	run_guest_format(NW_GPT_32BIT, UINT64_C(1) << 32, x86_32_attrs, x86_32_rights, NW_PTE_RW);
}

Test(pt_property, pae_engine, .timeout = 300)
{
	run_guest_format(NW_GPT_PAE, UINT64_C(1) << 39, npt_attrs, x86_rights, NW_NPT_RIGHTS);
}
