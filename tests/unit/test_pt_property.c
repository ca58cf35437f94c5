/* Random map/map_region/unmap/protect sequences on EPT against a page-by-page
 * model of a 4 GiB window: every status, every queried page and, at
 * checkpoints, every leaf agree with the model; tables are never left empty;
 * the live frames are exactly the tables; injected allocation failures change
 * nothing. Seeded; NESTWALK_FULL_MATRIX=1 runs the long form. */
#include <stdlib.h>
#include <string.h>

#include <nestwalk/ept.h>

#include "fixture.h"

TestSuite(pt_property, .init = fixture_setup, .fini = fixture_teardown);

#define WINDOW (UINT64_C(4) << 30)
#define PAGES (WINDOW >> NW_PAGE_SHIFT)
#define HPA_LIMIT (UINT64_C(1) << 39)

/* Per 4 KiB page: its HPA and the leaf's attributes (0 = unmapped). */
struct model {
	uint64_t *hpa;
	uint64_t *attrs;
};

static uint64_t rng_state;

static uint64_t rnd(void)
{
	uint64_t z = (rng_state += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static uint64_t below(uint64_t n)
{
	return rnd() % n;
}

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

static void check_page(const struct nw_ept *ept, const struct model *m, uint64_t page)
{
	struct nw_pt_leaf leaf;
	nw_status_t status;
	uint64_t va = page << NW_PAGE_SHIFT;

	if (page >= PAGES)
		return;
	status = nw_pt_lookup(&ept->pt, va, &leaf);
	if (!m->attrs[page]) {
		cr_assert_eq(status, NW_ERR_NOT_FOUND, "page 0x%llx should be unmapped", (unsigned long long)va);
		return;
	}
	cr_assert_eq(status, NW_OK, "page 0x%llx should be mapped", (unsigned long long)va);
	cr_assert_eq(leaf.pa_base + (va - leaf.va_base), m->hpa[page], "page 0x%llx", (unsigned long long)va);
	cr_assert_eq(nw_pt_leaf_attrs(ept->pt.fmt, leaf.level, leaf.entry), m->attrs[page], "page 0x%llx attrs",
		     (unsigned long long)va);
}

struct full_check {
	const struct nw_ept *ept;
	const struct model *m;
	uint64_t mapped;
	uint64_t tables;
};

static void check_entry(void *ctx, int level, uint64_t table, unsigned index, uint64_t va, uint64_t entry)
{
	struct full_check *c = ctx;
	const struct nw_pt_format *fmt = c->ept->pt.fmt;
	uint64_t size = nw_pt_level_size(fmt, level);

	(void)table;
	(void)index;
	if (nw_pt_is_link(fmt, level, entry)) {
		const uint64_t *child = nw_hal_phys_to_virt(hal, nw_hpa(nw_pt_link_addr(fmt, entry)));
		unsigned used = 0;

		for (unsigned i = 0; i < 512; i++)
			used += child[i] != 0;
		cr_assert_gt(used, 0, "an empty level-%d table was left under va 0x%llx", level - 1,
			     (unsigned long long)va);
		c->tables++;
		return;
	}
	for (uint64_t off = 0; off < size; off += NW_PAGE_SIZE) {
		uint64_t page = (va + off) >> NW_PAGE_SHIFT;

		cr_assert_lt(page, PAGES);
		cr_assert_eq(c->m->attrs[page], nw_pt_leaf_attrs(fmt, level, entry), "page 0x%llx", (unsigned long long)(page << 12));
		cr_assert_eq(c->m->hpa[page], nw_pt_leaf_addr(fmt, level, entry) + off);
	}
	c->mapped += size >> NW_PAGE_SHIFT;
}

static void full_check(const struct nw_ept *ept, const struct model *m)
{
	struct full_check c = { .ept = ept, .m = m, .tables = 1 };
	uint64_t mapped = 0;

	nw_pt_visit(&ept->pt, check_entry, &c);
	for (uint64_t p = 0; p < PAGES; p++)
		mapped += m->attrs[p] != 0;
	cr_assert_eq(c.mapped, mapped, "leaves cover %llu pages, the model %llu", (unsigned long long)c.mapped,
		     (unsigned long long)mapped);
	cr_assert_eq(nw_simmem_stats(sim).live, c.tables, "live frames are exactly the tables");
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

static uint64_t random_hpa_for(uint64_t va, uint64_t size)
{
	uint64_t hpa = below(HPA_LIMIT - (UINT64_C(8) << 30)) & ~(size - 1);

	/* Half the time keep the GPA's offset within 1 GiB so map_region can use large pages. */
	if (below(2))
		hpa = (hpa & ~(NW_SIZE_1G - 1)) | (va & (NW_SIZE_1G - 1));
	return hpa;
}

static void one_op(struct nw_ept *ept, struct model *m, unsigned step)
{
	uint64_t first, count, va, size, attrs, hpa;
	bool invept = false, changed = false, inject = below(10) == 0;
	nw_status_t status, expect;
	unsigned op = (unsigned)below(4);

	if (inject)
		nw_simmem_fail_random(sim, 0.3, rnd());
	if (op == 0) {
		static const uint64_t sizes[] = { NW_PAGE_SIZE, NW_PAGE_SIZE, NW_PAGE_SIZE, NW_SIZE_2M, NW_SIZE_2M,
						  NW_SIZE_1G };
		bool replace = below(2);

		size = sizes[below(6)];
		va = below(WINDOW) & ~(size - 1);
		hpa = random_hpa_for(va, size);
		attrs = random_attrs();
		first = va >> NW_PAGE_SHIFT;
		count = size >> NW_PAGE_SHIFT;
		expect = !replace && model_any(m, first, count) ? NW_ERR_EXISTS : NW_OK;
		status = nw_ept_map(ept, nw_gpa(va), nw_hpa(hpa), size, attrs, replace ? NW_PT_MAP_REPLACE : 0, &invept);
	} else if (op == 1) {
		random_range(&first, &count);
		va = first << NW_PAGE_SHIFT;
		size = count << NW_PAGE_SHIFT;
		hpa = random_hpa_for(va, NW_PAGE_SIZE);
		attrs = random_attrs();
		expect = model_any(m, first, count) ? NW_ERR_EXISTS : NW_OK;
		status = nw_ept_map_region(ept, nw_gpa(va), nw_hpa(hpa), size, attrs, &invept);
	} else if (op == 2) {
		random_range(&first, &count);
		va = first << NW_PAGE_SHIFT;
		expect = NW_OK;
		hpa = attrs = 0;
		status = nw_ept_unmap(ept, nw_gpa(va), count << NW_PAGE_SHIFT, &invept);
	} else {
		random_range(&first, &count);
		va = first << NW_PAGE_SHIFT;
		attrs = random_rights();
		hpa = 0;
		expect = model_all(m, first, count) ? NW_OK : NW_ERR_NOT_FOUND;
		status = nw_ept_protect(ept, nw_gpa(va), count << NW_PAGE_SHIFT, attrs, &invept);
	}
	if (inject)
		nw_simmem_fail_random(sim, 0.0, 0);
	if (inject && status == NW_ERR_NOMEM)
		expect = NW_ERR_NOMEM;
	cr_assert_eq(status, expect, "step %u op %u va 0x%llx pages %llu: %s, want %s", step, op,
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
				new_attrs = (m->attrs[p] & ~NW_EPT_RIGHTS) | attrs;
			}
			if (m->attrs[p] && (m->hpa[p] != new_hpa || m->attrs[p] != new_attrs))
				changed = true;
			m->hpa[p] = new_hpa;
			m->attrs[p] = new_attrs;
		}
		if (changed)
			cr_assert(invept, "step %u: a mapping changed without an INVEPT report", step);
		if (!was_mapped)
			cr_assert_not(invept, "step %u: a pure addition reported INVEPT", step);
	}
	for (int i = 0; i < 8; i++)
		check_page(ept, m, below(PAGES));
	check_page(ept, m, first ? first - 1 : 0);
	check_page(ept, m, first);
	check_page(ept, m, first + count - 1);
	check_page(ept, m, first + count);
}

static void run(uint64_t seed, unsigned steps)
{
	struct nw_ept_config config = { .levels = 4, .memory_type = NW_EPT_MT_WB, .caps = nw_ept_caps_all() };
	struct model m = { calloc(PAGES, sizeof(uint64_t)), calloc(PAGES, sizeof(uint64_t)) };
	struct nw_ept ept;

	cr_assert(m.hpa && m.attrs);
	config.caps.maxphyaddr = 39;
	rng_state = seed;
	cr_assert_eq(nw_ept_create(&ept, hal, &config), NW_OK);
	for (unsigned step = 0; step < steps; step++) {
		one_op(&ept, &m, step);
		if (step % 250 == 249)
			full_check(&ept, &m);
	}
	full_check(&ept, &m);
	nw_ept_destroy(&ept);
	cr_assert_eq(nw_simmem_stats(sim).live, 0);
	free(m.hpa);
	free(m.attrs);
}

static unsigned steps(void)
{
	const char *full = getenv("NESTWALK_FULL_MATRIX");

	return full && strcmp(full, "1") == 0 ? 40000 : 1500;
}

Test(pt_property, random_sequences_seed_1, .timeout = 300)
{
	run(1, steps());
}

Test(pt_property, random_sequences_seed_2, .timeout = 300)
{
	run(0x5eed, steps());
}
