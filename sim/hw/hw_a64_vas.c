/* The virtual addresses `hw run --backend qemu-aarch64` probes on an aarch64 scenario with stage 1 on (hw_a64.h):
 * the guest's stage-1 tables read as the scenario wrote them (at their stage-2 leaves, without populating lazy pages),
 * each run of leaves alike (contiguous VAs and output addresses, one level, the same attribute bits) giving its
 * first VA, its last 8-byte word and the VA just past it, and each leaf the VA of each given IPA it maps (the
 * regions' first and last words and the IPAs past them); then the first VA past TTBR0_EL1's range (T0SZ) and,
 * when TTBR1_EL1 walks (EPD1 0), the first VA of its range. */
#include <stdlib.h>

#include <nestwalk/arm64_s1.h>
#include <nestwalk/hal.h>
#include <nestwalk/pt_build.h>

#include "hw/hw_a64.h"
#include "io/grow.h"

struct run {
	uint64_t va_end, oa_end, attrs;
	int level;
	bool open;
};

struct collect {
	const struct nw_replay_machine *m;
	const uint64_t *edges; /* IPAs each leaf that maps one adds the VA of */
	size_t edge_count;
	struct nw_hw_a64_vas *vas;
	struct run run;
	bool full; /* out of room: the list stops growing */
};

static void add(struct collect *c, uint64_t va)
{
	struct nw_hw_a64_vas *v = c->vas;

	va &= ~UINT64_C(7);
	for (size_t i = 0; i < v->count; i++)
		if (v->va[i] == va)
			return;
	if (v->count == NW_HW_A64_MAX_VAS || c->full)
		return;
	v->va = nw_grow(v->va, &v->cap, v->count, sizeof(*v->va));
	if (!v->va) {
		c->full = true;
		return;
	}
	v->va[v->count++] = va;
}

static void end_run(struct collect *c)
{
	if (!c->run.open)
		return;
	add(c, c->run.va_end - 8);
	add(c, c->run.va_end);
	c->run.open = false;
}

static void leaf(struct collect *c, uint64_t va, uint64_t size, uint64_t desc, int level)
{
	uint64_t attrs = desc & ~NW_ARM64_S1_ADDR_MASK, oa = desc & NW_ARM64_S1_ADDR_MASK & ~(size - 1);
	struct run *r = &c->run;

	if (!r->open || r->va_end != va || r->level != level || r->attrs != attrs || r->oa_end != oa) {
		end_run(c);
		add(c, va);
	}
	*r = (struct run){ .va_end = va + size, .oa_end = oa + size, .attrs = attrs, .level = level, .open = true };
	for (size_t i = 0; i < c->edge_count; i++)
		if (c->edges[i] - oa < size)
			add(c, va + (c->edges[i] - oa));
}

/* The table at ipa as the scenario wrote it, through its stage-2 leaf whatever that leaf's rights and Access flag
 * (the walk's read of it may fault: the VAs below it are probes of that fault); NULL where no leaf maps it or its
 * output address is at or above the output size. */
static const uint64_t *table_at(const struct nw_replay_machine *m, uint64_t ipa)
{
	const struct nw_arm64_s2 *s2 = &m->aspace->arm64;
	struct nw_pt_leaf leaf;
	uint64_t pa;

	if (nw_pt_lookup(&s2->pt, ipa, &leaf) != NW_OK)
		return NULL;
	pa = leaf.pa_base + (ipa - leaf.va_base);
	return pa >> s2->config.ps_bits ? NULL : nw_hal_phys_to_virt(m->hal, nw_hpa(pa));
}

static void visit(struct collect *c, const struct nw_pt_format *fmt, int level, uint64_t table_ipa, uint64_t va_base)
{
	const uint64_t *t = table_at(c->m, table_ipa);

	if (!t) {
		end_run(c);
		return;
	}
	for (unsigned i = 0; i < fmt->level[level].entries && !c->full; i++) {
		uint64_t desc = t[i], va = va_base | (uint64_t)i << fmt->level[level].shift;
		bool table_bit = desc & NW_ARM64_S1_TABLE;

		if (!(desc & NW_ARM64_S1_VALID))
			end_run(c);
		else if (level > NW_LEVEL_PT && table_bit)
			visit(c, fmt, level - 1, desc & NW_ARM64_S1_ADDR_MASK, va);
		else if (level == NW_LEVEL_PT ? table_bit : fmt->level[level].leaf_ok)
			leaf(c, va, nw_pt_level_size(fmt, level), desc, level);
		else
			end_run(c); /* reserved: a Translation fault */
	}
}

void nw_hw_a64_collect_vas(const struct nw_replay_machine *m, const struct nw_arm64_s1 *s1, const uint64_t *edges,
			   size_t edge_count, struct nw_hw_a64_vas *v)
{
	struct collect c = { .m = m, .edges = edges, .edge_count = edge_count, .vas = v };

	for (unsigned which = 0; which < 2; which++) {
		const struct nw_arm64_s1_range *r = &s1->range[which];
		uint64_t base = which == 0 || r->va_bits == 64 ? 0 : ~UINT64_C(0) << r->va_bits;

		if (r->walks)
			visit(&c, &r->format, r->format.top, r->table, base);
		end_run(&c);
	}
	if (s1->range[0].va_bits < 64)
		add(&c, UINT64_C(1) << s1->range[0].va_bits);
	if (s1->range[1].walks && s1->range[1].va_bits < 64)
		add(&c, ~UINT64_C(0) << s1->range[1].va_bits);
}
