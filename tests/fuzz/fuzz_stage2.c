/* Second-stage operation sequences against an interval model. The input is a
 * format (EPT or NPT, 4 or 5 levels) and a sequence of map, map-region,
 * replace (which splits larger pages), unmap, protect and query calls, with
 * allocation failures injected (the Nth allocation, or at random). After
 * every call the status must be the one the model predicts, a refused call
 * (NW_ERR_NOMEM included) must leave the tables exactly as they were, every
 * leaf must lie inside the model with the model's address and rights, the
 * leaves must cover the model exactly, and the tables must own exactly the
 * frames the HAL handed out. At the end everything is unmapped (one root
 * table left) and no frame leaks. Any difference aborts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nestwalk/ept.h>
#include <nestwalk/npt.h>

#include "fuzz_input.h"
#include "fuzz_target.h"
#include "mem/simmem.h"

#define SPACE (UINT64_C(8) << 30)   /* guest-physical addresses the operations use */
#define HOT (UINT64_C(4) << 20)     /* half of them land here, so they overlap */
#define HPA_SPACE (UINT64_C(64) << 30)
#define MAX_OPS 48
#define MAX_IV 512

struct iv {
	uint64_t start, end; /* [start, end) */
	uint64_t hpa;        /* for start */
	uint64_t flags;      /* the leaf bits the model tracks */
};

struct model {
	struct iv iv[MAX_IV];
	unsigned n;
};

struct s2 {
	bool is_ept;
	struct nw_ept ept;
	struct nw_npt npt;
	struct nw_pt *pt;
	uint64_t tracked; /* leaf bits compared with the model */
};

static struct model model, saved;

static _Noreturn void fail(const char *what, unsigned long long a, unsigned long long b)
{
	fprintf(stderr, "fuzz_stage2: %s (%#llx, %#llx)\n", what, a, b);
	abort();
}

/* Removes [start, end) from the model, splitting intervals at the ends. */
static void model_cut(uint64_t start, uint64_t end)
{
	struct model out = { .n = 0 };

	for (unsigned i = 0; i < model.n; i++) {
		struct iv v = model.iv[i];

		if (v.end <= start || v.start >= end) {
			out.iv[out.n++] = v;
			continue;
		}
		if (v.start < start)
			out.iv[out.n++] = (struct iv){ v.start, start, v.hpa, v.flags };
		if (v.end > end)
			out.iv[out.n++] = (struct iv){ end, v.end, v.hpa + (end - v.start), v.flags };
	}
	if (out.n > MAX_IV - 2)
		fail("model too fragmented", out.n, MAX_IV);
	model = out;
}

static void model_add(uint64_t start, uint64_t end, uint64_t hpa, uint64_t flags)
{
	unsigned at = 0;

	model_cut(start, end);
	while (at < model.n && model.iv[at].start < start)
		at++;
	memmove(&model.iv[at + 1], &model.iv[at], (model.n - at) * sizeof(model.iv[0]));
	model.iv[at] = (struct iv){ start, end, hpa, flags };
	model.n++;
}

static bool model_overlaps(uint64_t start, uint64_t end)
{
	for (unsigned i = 0; i < model.n; i++)
		if (model.iv[i].start < end && model.iv[i].end > start)
			return true;
	return false;
}

static bool model_covers(uint64_t start, uint64_t end)
{
	uint64_t at = start;

	for (unsigned i = 0; i < model.n && at < end; i++)
		if (model.iv[i].start <= at && model.iv[i].end > at)
			at = model.iv[i].end;
	return at >= end;
}

/* The intervals are sorted and disjoint: a binary search (the table check asks once per leaf). */
static const struct iv *model_find(const struct model *m, uint64_t gpa)
{
	unsigned lo = 0, hi = m->n;

	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;

		if (m->iv[mid].end <= gpa)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < m->n && m->iv[lo].start <= gpa ? &m->iv[lo] : NULL;
}

/* Whether the mapping of any byte in [start, end) that before mapped differs now. */
static bool model_changed(const struct model *before, uint64_t start, uint64_t end)
{
	for (unsigned i = 0; i < before->n; i++) {
		const struct iv *v = &before->iv[i];
		uint64_t lo = v->start > start ? v->start : start, hi = v->end < end ? v->end : end;

		for (uint64_t at = lo; at < hi;) {
			const struct iv *w = model_find(&model, at);

			if (!w || w->flags != v->flags || w->hpa + (at - w->start) != v->hpa + (at - v->start))
				return true;
			at = w->end < hi ? w->end : hi;
		}
	}
	return false;
}

struct check {
	const struct s2 *s2;
	uint64_t covered;
	uint64_t tables; /* the root and every table a link reaches */
	uint64_t count_pages; /* one per table above level 1 (pt_engine.c, Live counts) */
};

static void model_check_leaf(void *ctx, int level, uint64_t table, unsigned index, uint64_t va, uint64_t entry)
{
	struct check *c = ctx;
	const struct nw_pt_format *fmt = c->s2->pt->fmt;
	uint64_t size = nw_pt_level_size(fmt, level);
	const struct iv *v;

	(void)table;
	(void)index;
	if (nw_pt_is_link(fmt, level, entry)) {
		c->tables++;
		c->count_pages += level - 1 > NW_LEVEL_PT;
		return;
	}
	v = model_find(&model, va);
	if (!v || va + size > v->end)
		fail("a leaf maps what the model does not", va, size);
	if (nw_pt_leaf_addr(fmt, level, entry) != v->hpa + (va - v->start))
		fail("a leaf maps the wrong host address", va, nw_pt_leaf_addr(fmt, level, entry));
	if ((entry & c->s2->tracked) != v->flags)
		fail("a leaf has the wrong rights or type", va, entry);
	c->covered += size;
}

/* One visit of every table per operation (a second, for the table count, cost
 * as much again): returns the tables it reached. */
static uint64_t model_check_tables(const struct s2 *s2, struct nw_simmem *sim, const struct nw_hal *hal)
{
	struct check c = { .s2 = s2, .tables = 1, .count_pages = 1 };
	uint64_t expected = 0;

	nw_pt_visit(s2->pt, model_check_leaf, &c);
	for (unsigned i = 0; i < model.n; i++)
		expected += model.iv[i].end - model.iv[i].start;
	if (c.covered != expected)
		fail("the leaves do not cover the model", c.covered, expected);
	if (c.tables + c.count_pages != nw_simmem_owner_stats(sim, hal).live)
		fail("tables reached and their count pages differ from the frames held", c.tables + c.count_pages,
		     nw_simmem_owner_stats(sim, hal).live);
	return c.tables;
}

static void check_query(const struct s2 *s2, uint64_t gpa)
{
	const struct iv *v = model_find(&model, gpa);
	uint64_t hpa = 0;
	nw_status_t status;

	if (s2->is_ept) {
		struct nw_s2_mapping m = { .size = 0 };

		status = nw_ept_query(&s2->ept, nw_gpa(gpa), &m);
		hpa = m.hpa.val;
	} else {
		struct nw_s2_mapping m = { .size = 0 };

		status = nw_npt_query(&s2->npt, nw_gpa(gpa), &m);
		hpa = m.hpa.val;
	}
	if (!v && status != NW_ERR_NOT_FOUND)
		fail("query found a mapping the model lacks", gpa, status);
	if (v && (status != NW_OK || hpa != v->hpa + (gpa - v->start)))
		fail("query disagrees with the model", gpa, status == NW_OK ? hpa : status);
}

static uint64_t pick_gpa(struct fz *in, uint64_t align)
{
	uint8_t where = fz_u8(in);
	uint64_t span = (where & 1) ? SPACE : HOT;
	uint64_t slots = span / align ? span / align : 1;

	return (fz_u32(in) % slots) * align;
}

static uint64_t pick_size(struct fz *in)
{
	static const uint64_t sizes[8] = { NW_PAGE_SIZE, 2 * NW_PAGE_SIZE, NW_SIZE_2M, NW_SIZE_2M + NW_PAGE_SIZE,
					   NW_SIZE_2M - NW_PAGE_SIZE, NW_SIZE_1G, 2 * NW_SIZE_2M, 17 * NW_PAGE_SIZE };

	return sizes[fz_u8(in) % 8];
}

/* EPT leaf bits: rights, memory type, ignore-PAT. Misconfigured ones (§29.3.3.1:
 * write without read; memory types 2, 3, 7) and not-present ones are refused. */
static uint64_t ept_flags(uint8_t b, bool *valid)
{
	static const unsigned types[8] = { 0, 1, 4, 5, 6, 2, 3, 7 };
	uint64_t rights = b & 7;
	unsigned type = types[(b >> 3) & 7];

	*valid = rights != 0 && !((rights & NW_EPT_W) && !(rights & NW_EPT_R)) && type != 2 && type != 3 && type != 7;
	return rights | nw_ept_mt(type) | ((b & 0x40) ? NW_EPT_IPAT : 0);
}

static uint64_t npt_flags(uint8_t b)
{
	return ((b & 1) ? NW_PTE_RW : 0) | ((b & 2) ? NW_PTE_XD : 0) | ((b & 4) ? NW_PTE_PWT : 0) |
	       ((b & 8) ? NW_PTE_PCD : 0);
}

static void expect(nw_status_t got, nw_status_t want, const char *op)
{
	if (got == want || (want == NW_OK && got == NW_ERR_NOMEM))
		return;
	fprintf(stderr, "fuzz_stage2: %s returned %s, the model says %s\n", op, nw_status_name(got),
		nw_status_name(want));
	abort();
}

static void run_ops(struct fz *in, struct s2 *s2, struct nw_simmem *sim, const struct nw_hal *hal)
{
	for (unsigned n = 0; n < MAX_OPS && fz_more(in); n++) {
		uint8_t op = fz_u8(in), fb = fz_u8(in);
		uint64_t size = pick_size(in), gpa, hpa, flags, track;
		bool valid = true, stale = false, replace = (op & 0x80) != 0, mapped_before;
		nw_status_t status = NW_OK, want = NW_OK;
		const char *name = "";

		if (s2->is_ept) {
			flags = ept_flags(fb, &valid);
		} else {
			flags = npt_flags(fb);
		}
		track = s2->is_ept ? flags : flags | NW_PTE_P | NW_PTE_US;
		saved = model;
		switch (op & 7) {
		case 0: /* one page, or a replacement that may split a larger page */
			if (size != NW_PAGE_SIZE && size != NW_SIZE_2M && size != NW_SIZE_1G)
				size = NW_SIZE_2M;
			gpa = pick_gpa(in, size);
			hpa = (fz_u32(in) % (HPA_SPACE / size)) * size;
			name = replace ? "map (replace)" : "map";
			mapped_before = model_overlaps(gpa, gpa + size);
			want = !valid ? NW_ERR_INVALID : mapped_before && !replace ? NW_ERR_EXISTS : NW_OK;
			if (s2->is_ept)
				status = nw_ept_map(&s2->ept, nw_gpa(gpa), nw_hpa(hpa), size, flags,
						    replace ? NW_PT_MAP_REPLACE : 0, &stale);
			else
				status = nw_npt_map(&s2->npt, nw_gpa(gpa), nw_hpa(hpa), size, flags,
						    replace ? NW_PT_MAP_REPLACE : 0, &stale);
			if (status == NW_OK)
				model_add(gpa, gpa + size, hpa, track);
			if (status == NW_OK && !mapped_before && stale)
				fail("a pure addition asked for an invalidation", gpa, size);
			break;
		case 1: /* a region with the largest pages alignment allows */
			if (size == NW_SIZE_1G)
				size = NW_SIZE_2M * 3;
			gpa = pick_gpa(in, NW_PAGE_SIZE);
			hpa = (fz_u32(in) % (HPA_SPACE / NW_PAGE_SIZE)) * NW_PAGE_SIZE;
			if (fz_bit(fb, 7))
				hpa = (hpa & ~(NW_SIZE_2M - 1)) | (gpa & (NW_SIZE_2M - 1)); /* co-aligned: large pages */
			name = "map region";
			mapped_before = model_overlaps(gpa, gpa + size);
			want = !valid ? NW_ERR_INVALID : mapped_before ? NW_ERR_EXISTS : NW_OK;
			if (s2->is_ept)
				status = nw_ept_map_region(&s2->ept, nw_gpa(gpa), nw_hpa(hpa), size, flags, &stale);
			else
				status = nw_npt_map_region(&s2->npt, nw_gpa(gpa), nw_hpa(hpa), size, flags, &stale);
			if (status == NW_OK)
				model_add(gpa, gpa + size, hpa, track);
			if (status == NW_OK && stale)
				fail("a pure addition asked for an invalidation", gpa, size);
			break;
		case 2:
		case 3: /* unmap, holes allowed */
			gpa = pick_gpa(in, NW_PAGE_SIZE);
			name = "unmap";
			status = s2->is_ept ? nw_ept_unmap(&s2->ept, nw_gpa(gpa), size, &stale)
					    : nw_npt_unmap(&s2->npt, nw_gpa(gpa), size, &stale);
			if (status == NW_OK)
				model_cut(gpa, gpa + size);
			break;
		case 4: { /* protect: the whole range must be mapped */
			uint64_t rights = s2->is_ept ? (fb & 7) : (flags & NW_NPT_RIGHTS);
			bool rights_ok = !s2->is_ept || (rights != 0 && !((rights & NW_EPT_W) && !(rights & NW_EPT_R)));
			uint64_t mask = s2->is_ept ? NW_EPT_RIGHTS : NW_NPT_RIGHTS;

			gpa = pick_gpa(in, NW_PAGE_SIZE);
			name = "protect";
			want = !rights_ok ? NW_ERR_INVALID : !model_covers(gpa, gpa + size) ? NW_ERR_NOT_FOUND : NW_OK;
			status = s2->is_ept ? nw_ept_protect(&s2->ept, nw_gpa(gpa), size, rights, &stale)
					    : nw_npt_protect(&s2->npt, nw_gpa(gpa), size, rights, &stale);
			if (status == NW_OK) {
				struct model old = model;

				model_cut(gpa, gpa + size);
				for (unsigned i = 0; i < old.n; i++) {
					struct iv v = old.iv[i];
					uint64_t lo = v.start > gpa ? v.start : gpa;
					uint64_t hi = v.end < gpa + size ? v.end : gpa + size;

					if (lo < hi)
						model_add(lo, hi, v.hpa + (lo - v.start), (v.flags & ~mask) | rights);
				}
			}
			break;
		}
		case 5: /* allocation failures from now on */
			if (fz_bit(fb, 0))
				nw_simmem_fail_nth(sim, 1 + (fb >> 1) % 8);
			else
				nw_simmem_fail_random(sim, (double)(fb >> 1) / 256.0, fz_u32(in));
			continue;
		default:
			check_query(s2, pick_gpa(in, NW_PAGE_SIZE) + (fz_u16(in) & NW_PAGE_MASK));
			continue;
		}
		expect(status, want, name);
		if (status == NW_OK && model_changed(&saved, gpa, gpa + size) && !stale)
			fail("a change to a mapping in use did not ask for an invalidation", gpa, size);
		model_check_tables(s2, sim, hal);
	}
}

/* One host for every input, created on the first and reset after each: a new one per input costs more in
 * mmap/munmap than the operations. */
static struct nw_simmem *shared_host(void)
{
	static struct nw_simmem *sim;
	struct nw_simmem_config host_config = { .size = UINT64_C(1) << 32, .strict = true, .poison = true,
						.keep_freed = true };

	if (!sim)
		sim = nw_simmem_create(&host_config);
	return sim;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz in = fz_start(data, size);
	struct nw_simmem *sim = shared_host();
	const struct nw_hal *hal = sim ? nw_simmem_owner(sim, "fuzz") : NULL;
	uint8_t opts = fz_u8(&in);
	struct s2 s2 = { .is_ept = !fz_bit(opts, 0) };
	uint64_t leaked, tables;
	bool stale;

	if (!hal)
		fail("cannot set up the simulated host", 0, 0);
	model.n = 0;
	if (s2.is_ept) {
		struct nw_ept_config config = { .levels = fz_bit(opts, 1) ? 5 : 4, .memory_type = NW_EPT_MT_WB,
						.caps = nw_ept_caps_all() };

		if (nw_ept_create(&s2.ept, hal, &config) != NW_OK)
			fail("cannot create an EPT", 0, 0);
		s2.pt = &s2.ept.pt;
		s2.tracked = NW_EPT_RIGHTS | NW_EPT_MT_MASK | NW_EPT_IPAT;
	} else {
		struct nw_npt_config config = { .levels = fz_bit(opts, 1) ? 5 : 4, .caps = nw_npt_caps_all() };

		if (nw_npt_create(&s2.npt, hal, &config) != NW_OK)
			fail("cannot create an NPT", 0, 0);
		s2.pt = &s2.npt.pt;
		s2.tracked = NW_PTE_P | NW_PTE_US | NW_PTE_RW | NW_PTE_XD | NW_PTE_PWT | NW_PTE_PCD;
	}

	run_ops(&in, &s2, sim, hal);
	tables = model_check_tables(&s2, sim, hal);
	if (tables != (s2.is_ept ? nw_ept_table_count(&s2.ept) : nw_npt_table_count(&s2.npt)))
		fail("the table count differs from the tables reached", tables, 0);

	nw_simmem_fail_nth(sim, 0);
	nw_simmem_fail_random(sim, 0, 0);
	expect(s2.is_ept ? nw_ept_unmap(&s2.ept, nw_gpa(0), SPACE + NW_SIZE_1G, &stale)
			 : nw_npt_unmap(&s2.npt, nw_gpa(0), SPACE + NW_SIZE_1G, &stale),
	       NW_OK, "final unmap");
	model.n = 0;
	model_check_tables(&s2, sim, hal);
	/* The root and its count page. */
	if (nw_simmem_owner_stats(sim, hal).live != 2)
		fail("tables left after unmapping everything", nw_simmem_owner_stats(sim, hal).live, 2);
	if (s2.is_ept)
		nw_ept_destroy(&s2.ept);
	else
		nw_npt_destroy(&s2.npt);
	leaked = nw_simmem_reset(sim);
	if (leaked)
		fail("frames leaked", leaked, 0);
	return 0;
}
