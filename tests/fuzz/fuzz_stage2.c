/* Second-stage operation sequences against an interval model. The input is a
 * format (EPT or NPT, 4 or 5 levels; the RISC-V G-stage, Sv39x4 or Sv48x4,
 * which has no map-region) and a sequence of map, map-region,
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
#include <nestwalk/riscv_gstage.h>

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

enum s2_kind { S2_EPT, S2_NPT, S2_RISCV };

struct s2 {
	enum s2_kind kind;
	struct nw_ept ept;
	struct nw_npt npt;
	struct nw_rv_gstage rv;
	struct nw_pt *pt;
	uint64_t tracked; /* leaf bits compared with the model */
};

static nw_status_t s2_map(struct s2 *s2, uint64_t gpa, uint64_t hpa, uint64_t size, uint64_t flags, unsigned map_flags,
			  bool *stale)
{
	switch (s2->kind) {
	case S2_EPT:
		return nw_ept_map(&s2->ept, nw_gpa(gpa), nw_hpa(hpa), size, flags, map_flags, stale);
	case S2_NPT:
		return nw_npt_map(&s2->npt, nw_gpa(gpa), nw_hpa(hpa), size, flags, map_flags, stale);
	case S2_RISCV:
		break;
	}
	return nw_rv_gstage_map(&s2->rv, nw_gpa(gpa), nw_hpa(hpa), size, flags, map_flags, stale);
}

static nw_status_t s2_unmap(struct s2 *s2, uint64_t gpa, uint64_t size, bool *stale)
{
	switch (s2->kind) {
	case S2_EPT:
		return nw_ept_unmap(&s2->ept, nw_gpa(gpa), size, stale);
	case S2_NPT:
		return nw_npt_unmap(&s2->npt, nw_gpa(gpa), size, stale);
	case S2_RISCV:
		break;
	}
	return nw_rv_gstage_unmap(&s2->rv, nw_gpa(gpa), size, stale);
}

static nw_status_t s2_protect(struct s2 *s2, uint64_t gpa, uint64_t size, uint64_t rights, bool *stale)
{
	switch (s2->kind) {
	case S2_EPT:
		return nw_ept_protect(&s2->ept, nw_gpa(gpa), size, rights, stale);
	case S2_NPT:
		return nw_npt_protect(&s2->npt, nw_gpa(gpa), size, rights, stale);
	case S2_RISCV:
		break;
	}
	return nw_rv_gstage_protect(&s2->rv, nw_gpa(gpa), size, rights, stale);
}

static nw_status_t s2_query(const struct s2 *s2, uint64_t gpa, struct nw_s2_mapping *m)
{
	switch (s2->kind) {
	case S2_EPT:
		return nw_ept_query(&s2->ept, nw_gpa(gpa), m);
	case S2_NPT:
		return nw_npt_query(&s2->npt, nw_gpa(gpa), m);
	case S2_RISCV:
		break;
	}
	return nw_rv_gstage_query(&s2->rv, nw_gpa(gpa), m);
}

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

/* Frames the root takes, and as many for its counts (a RISC-V root is four). */
static uint64_t root_pages(const struct s2 *s2)
{
	return nw_pt_table_pages(s2->pt->fmt, s2->pt->fmt->top);
}

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
	struct check c = { .s2 = s2, .tables = 1, .count_pages = root_pages(s2) };
	uint64_t expected = 0;

	nw_pt_visit(s2->pt, model_check_leaf, &c);
	for (unsigned i = 0; i < model.n; i++)
		expected += model.iv[i].end - model.iv[i].start;
	if (c.covered != expected)
		fail("the leaves do not cover the model", c.covered, expected);
	if (c.tables - 1 + root_pages(s2) + c.count_pages != nw_simmem_owner_stats(sim, hal).live)
		fail("tables reached and their count pages differ from the frames held", c.tables + c.count_pages,
		     nw_simmem_owner_stats(sim, hal).live);
	return c.tables;
}

static void check_query(const struct s2 *s2, uint64_t gpa)
{
	const struct iv *v = model_find(&model, gpa);
	struct nw_s2_mapping m = { .size = 0 };
	nw_status_t status = s2_query(s2, gpa, &m);
	uint64_t hpa = m.hpa.val;

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

/* G-stage leaf bits: R, W, X, U, A, D, G. A leaf needs R or X and never W without R. */
static uint64_t rv_flags(uint8_t b, bool *valid)
{
	static const uint64_t bits[7] = { NW_RV_PTE_R, NW_RV_PTE_W, NW_RV_PTE_X, NW_RV_PTE_U,
					  NW_RV_PTE_A, NW_RV_PTE_D, NW_RV_PTE_G };
	uint64_t flags = 0;

	for (unsigned i = 0; i < 7; i++)
		flags |= fz_bit(b, i) ? bits[i] : 0;
	*valid = (flags & (NW_RV_PTE_R | NW_RV_PTE_X)) && (flags & (NW_RV_PTE_R | NW_RV_PTE_W)) != NW_RV_PTE_W;
	return flags;
}

static uint64_t npt_flags(uint8_t b)
{
	return ((b & 1) ? NW_PTE_RW : 0) | ((b & 2) ? NW_PTE_XD : 0) | ((b & 4) ? NW_PTE_PWT : 0) |
	       ((b & 8) ? NW_PTE_PCD : 0);
}

/* The rights a protect sets, the bits it replaces, and whether the format takes them (EPT: not
 * write without read, not none; the G-stage: a leaf's R or X, not W without R). */
static uint64_t protect_rights(const struct s2 *s2, uint8_t fb, uint64_t flags, bool valid, uint64_t *mask, bool *ok)
{
	switch (s2->kind) {
	case S2_EPT:
		*mask = NW_EPT_RIGHTS;
		*ok = (fb & 7) != 0 && !((fb & NW_EPT_W) && !(fb & NW_EPT_R));
		return fb & 7;
	case S2_NPT:
		*mask = NW_NPT_RIGHTS;
		*ok = true;
		return flags & NW_NPT_RIGHTS;
	case S2_RISCV:
		break;
	}
	*mask = NW_RV_GSTAGE_RIGHTS;
	*ok = valid;
	return flags & NW_RV_GSTAGE_RIGHTS;
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

		switch (s2->kind) {
		case S2_EPT:
			flags = ept_flags(fb, &valid);
			track = flags;
			break;
		case S2_NPT:
			flags = npt_flags(fb);
			track = flags | NW_PTE_P | NW_PTE_US;
			break;
		case S2_RISCV:
		default:
			flags = rv_flags(fb, &valid);
			track = flags | NW_RV_PTE_V;
			break;
		}
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
			status = s2_map(s2, gpa, hpa, size, flags, replace ? NW_PT_MAP_REPLACE : 0, &stale);
			if (status == NW_OK)
				model_add(gpa, gpa + size, hpa, track);
			if (status == NW_OK && !mapped_before && stale)
				fail("a pure addition asked for an invalidation", gpa, size);
			break;
		case 1: /* a region with the largest pages alignment allows (EPT and NPT) */
			if (s2->kind == S2_RISCV)
				continue;
			if (size == NW_SIZE_1G)
				size = NW_SIZE_2M * 3;
			gpa = pick_gpa(in, NW_PAGE_SIZE);
			hpa = (fz_u32(in) % (HPA_SPACE / NW_PAGE_SIZE)) * NW_PAGE_SIZE;
			if (fz_bit(fb, 7))
				hpa = (hpa & ~(NW_SIZE_2M - 1)) | (gpa & (NW_SIZE_2M - 1)); /* co-aligned: large pages */
			name = "map region";
			mapped_before = model_overlaps(gpa, gpa + size);
			want = !valid ? NW_ERR_INVALID : mapped_before ? NW_ERR_EXISTS : NW_OK;
			if (s2->kind == S2_EPT)
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
			status = s2_unmap(s2, gpa, size, &stale);
			if (status == NW_OK)
				model_cut(gpa, gpa + size);
			break;
		case 4: { /* protect: the whole range must be mapped */
			uint64_t mask;
			bool rights_ok;
			uint64_t rights = protect_rights(s2, fb, flags, valid, &mask, &rights_ok);

			gpa = pick_gpa(in, NW_PAGE_SIZE);
			name = "protect";
			want = !rights_ok ? NW_ERR_INVALID : !model_covers(gpa, gpa + size) ? NW_ERR_NOT_FOUND : NW_OK;
			status = s2_protect(s2, gpa, size, rights, &stale);
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

/* The format opts names: bit 2 the RISC-V G-stage (bit 1 Sv48x4, else Sv39x4), else bit 0 NPT or EPT (bit 1
 * 5 levels, else 4). */
static void s2_create(struct s2 *s2, const struct nw_hal *hal, uint8_t opts)
{
	bool wide = fz_bit(opts, 1);

	s2->kind = fz_bit(opts, 2) ? S2_RISCV : fz_bit(opts, 0) ? S2_NPT : S2_EPT;
	if (s2->kind == S2_EPT) {
		struct nw_ept_config config = { .levels = wide ? 5 : 4, .memory_type = NW_EPT_MT_WB,
						.caps = nw_ept_caps_all() };

		if (nw_ept_create(&s2->ept, hal, &config) != NW_OK)
			fail("cannot create an EPT", 0, 0);
		s2->pt = &s2->ept.pt;
		s2->tracked = NW_EPT_RIGHTS | NW_EPT_MT_MASK | NW_EPT_IPAT;
	} else if (s2->kind == S2_NPT) {
		struct nw_npt_config config = { .levels = wide ? 5 : 4, .caps = nw_npt_caps_all() };

		if (nw_npt_create(&s2->npt, hal, &config) != NW_OK)
			fail("cannot create an NPT", 0, 0);
		s2->pt = &s2->npt.pt;
		s2->tracked = NW_PTE_P | NW_PTE_US | NW_PTE_RW | NW_PTE_XD | NW_PTE_PWT | NW_PTE_PCD;
	} else {
		struct nw_rv_gstage_config config = { .mode = wide ? NW_RV_HGATP_SV48X4 : NW_RV_HGATP_SV39X4,
						      .caps = nw_rv_gstage_caps_all() };

		if (nw_rv_gstage_create(&s2->rv, hal, &config) != NW_OK)
			fail("cannot create a G-stage", 0, 0);
		s2->pt = &s2->rv.pt;
		s2->tracked = NW_RV_PTE_V | NW_RV_PTE_RWX | NW_RV_PTE_U | NW_RV_PTE_A | NW_RV_PTE_D | NW_RV_PTE_G;
	}
}

static void s2_destroy(struct s2 *s2)
{
	switch (s2->kind) {
	case S2_EPT:
		nw_ept_destroy(&s2->ept);
		return;
	case S2_NPT:
		nw_npt_destroy(&s2->npt);
		return;
	case S2_RISCV:
		break;
	}
	nw_rv_gstage_destroy(&s2->rv);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz in = fz_start(data, size);
	struct nw_simmem *sim = fz_shared_host(UINT64_C(1) << 32);
	const struct nw_hal *hal = sim ? nw_simmem_owner(sim, "fuzz") : NULL;
	uint8_t opts = fz_u8(&in);
	struct s2 s2;
	uint64_t leaked, tables;
	bool stale;

	if (!hal)
		fail("cannot set up the simulated host", 0, 0);
	model.n = 0;
	s2_create(&s2, hal, opts);
	run_ops(&in, &s2, sim, hal);
	tables = model_check_tables(&s2, sim, hal);
	if (tables != nw_pt_table_count(s2.pt))
		fail("the table count differs from the tables reached", tables, 0);

	nw_simmem_fail_nth(sim, 0);
	nw_simmem_fail_random(sim, 0, 0);
	expect(s2_unmap(&s2, 0, SPACE + NW_SIZE_1G, &stale), NW_OK, "final unmap");
	model.n = 0;
	model_check_tables(&s2, sim, hal);
	/* The root and its count pages. */
	if (nw_simmem_owner_stats(sim, hal).live != 2 * root_pages(&s2))
		fail("tables left after unmapping everything", nw_simmem_owner_stats(sim, hal).live,
		     2 * root_pages(&s2));
	s2_destroy(&s2);
	leaked = nw_simmem_reset(sim);
	if (leaked)
		fail("frames leaked", leaked, 0);
	return 0;
}
