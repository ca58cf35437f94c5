/* What nw_walker_probe() (walk_probe.h) derives from the walker's levels,
 * and its second-stage copies: the one walk of walk_probe.h with the masks
 * of stage2_fast.h proving each stage-2 translation. */
#include <nestwalk/walk_probe.h>
#include <nestwalk/x86_pte.h>

#include "stage2_fast.h"
#include "walk_internal.h"

void nw_probe_derive(struct nw_walker *walker)
{
	struct nw_walk_probe_desc *p = &walker->probe;
	bool two_d = walker->s2.kind != NW_STAGE2_NONE, five = walker->mode == NW_PAGING_5LEVEL;

	*p = (struct nw_walk_probe_desc){ .copy = NW_PROBE_OFF };
	if ((walker->mode != NW_PAGING_4LEVEL && !five) || ((uintptr_t)walker->map & (NW_PAGE_SIZE - 1)))
		return;
	p->copy = two_d ? (five ? NW_PROBE_2D_5 : NW_PROBE_2D_4) : (five ? NW_PROBE_1D_5 : NW_PROBE_1D_4);
	p->va_bits = walker->va_bits;
	p->root = walker->cpu.cr3 & walker->cr3_mask;
	p->table_limit = walker->map_size & ~(uint64_t)(NW_PAGE_SIZE - 1);
	p->table_rsvd = walker->levels[0].rsvd; /* the same at every 4-/5-level table level (Table 4-14..4-20) */
	p->addr_mask = walker->levels[0].addr_mask;
	p->xd_in_force = walker->xd_mask != 0;
	for (unsigned i = 0; i < walker->nlevels; i++) {
		const struct nw_walk_level_desc *desc = &walker->levels[i];

		p->leaf_rsvd[desc->level] = desc->level == NW_LEVEL_PT ? desc->rsvd : desc->rsvd_large;
		p->leaf_addr[desc->level] = desc->large_addr_mask;
	}
}

/* A stage-2 translation the masks prove plain; the final one with its page
 * size, rights and memory type. */
static inline __attribute__((always_inline)) bool s2_plain(const struct nw_walker *walker, uint64_t gpa, unsigned need,
							   bool final, struct nw_probe_s2 *s2)
{
	struct nw_s2_hit hit;

	if (!nw_s2_fast_translate(&walker->s2, gpa, need, &hit))
		return false;
	s2->hpa = hit.hpa;
	s2->refs = hit.refs;
	if (final) {
		s2->page_size = hit.page_size;
		s2->memory_type = nw_s2_fast_memory_type(&walker->s2, &hit);
		s2->rights = nw_s2_fast_rights(&walker->s2, &hit);
	}
	return true;
}

static __attribute__((noinline)) bool probe_2d_4(const struct nw_walker *walker, const struct nw_access *access,
						 struct nw_walk_hit *hit)
{
	return nw_probe_walk(walker, access, hit, NW_LEVEL_PML4, s2_plain);
}

static __attribute__((noinline)) bool probe_2d_5(const struct nw_walker *walker, const struct nw_access *access,
						 struct nw_walk_hit *hit)
{
	return nw_probe_walk(walker, access, hit, NW_LEVEL_PML5, s2_plain);
}

bool nw_walker_probe_2d(const struct nw_walker *walker, const struct nw_access *access, struct nw_walk_hit *hit)
{
	if (walker->probe.copy == NW_PROBE_2D_4)
		return probe_2d_4(walker, access, hit);
	if (walker->probe.copy == NW_PROBE_2D_5)
		return probe_2d_5(walker, access, hit);
	return false;
}
