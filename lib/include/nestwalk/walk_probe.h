/* The probe: the walk a TLB fill does when the access simply translates
 * (walk.h, struct nw_walk_hit). Inline, so a caller's loop keeps the linear
 * address and the result in registers; the 2-D copies are out of line
 * (walk_probe.c, nw_walker_probe_2d).
 *
 * 4-/5-level paging only (8-byte entries, 9 index bits per level): the levels
 * are masks indexed by SDM level (nw_walker_set_cpu derives them) and the
 * index is a shift of the linear address. The walk tests only where it ends:
 * each entry is AND-ed and OR-ed into two accumulators, and every rule (P,
 * reserved bits, A/D already set, rights) is one test on them after the leaf.
 * A not-present or reserved upper entry may lead the walk through a stray
 * table first; every address is bounded by the direct-map window, so that
 * costs a few reads and the answer is still no. Nothing is written: whatever
 * would need a write (an A/D flag) or a full outcome (a fault) is left to
 * nw_walker_translate(). */
#ifndef NESTWALK_WALK_PROBE_H
#define NESTWALK_WALK_PROBE_H

#include <stdbool.h>
#include <stdint.h>

#include "walk.h"
#include "x86_pte.h"

/* A second-stage translation as the probe needs it. */
struct nw_probe_s2 {
	uint64_t hpa;
	uint64_t page_size;  /* final only */
	uint32_t rights;     /* final only: NW_S2_RIGHT_* */
	uint8_t memory_type; /* final only */
	unsigned refs;
};

/* Translates gpa through the walker's second stage when its masks prove it
 * plain (need: as nw_s2_fast_translate); false otherwise. */
typedef bool nw_probe_s2_fn(const struct nw_walker *walker, uint64_t gpa, unsigned need, bool final,
			    struct nw_probe_s2 *s2);

/* An entry, read once: every check and the result see the same value. */
static inline uint64_t nw_probe_read_entry(const uint8_t *at)
{
	return __atomic_load_n((const uint64_t *)at, __ATOMIC_RELAXED);
}

/* The lowest linear-address bit a 4-/5-level level indexes (Figure 4-8, 4-11). */
static inline unsigned nw_probe_level_shift(int level)
{
	return 9 * (unsigned)level + 3;
}

/* all is the AND of every entry used. Each present (§4.7: P=0 faults) and
 * accessed (§4.8: the walk sets A on each entry it uses, so one without A
 * means a write). */
static inline bool nw_probe_has_every_entry_present_and_accessed(uint64_t all)
{
	return (all & (NW_PTE_P | NW_PTE_A)) == (NW_PTE_P | NW_PTE_A);
}

/* upper is the OR of the non-leaf entries: a reserved bit set in any entry
 * used faults with RSVD (§4.7); PS=1 where a level cannot map a page is one. */
static inline bool nw_probe_has_reserved_bit(const struct nw_walk_probe_desc *p, uint64_t upper, uint64_t leaf,
					     int level)
{
	return ((upper & p->table_rsvd) | (leaf & p->leaf_rsvd[level])) != 0;
}

/* A write sets D in the leaf (§4.8): the leaf already dirty, or a write is due. */
static inline bool nw_probe_has_leaf_flags_for(uint64_t leaf, enum nw_access_type type)
{
	return type != NW_ACCESS_WRITE || (leaf & NW_PTE_D);
}

/* Effective rights (§4.6.1): R/W and U/S ANDed over the levels (all), XD ORed (any). */
static inline uint32_t nw_probe_rights_of(const struct nw_walk_probe_desc *p, uint64_t all, uint64_t any)
{
	return nw_walk_entry_rights((all & ~NW_PTE_XD) | (any & NW_PTE_XD), p->xd_in_force);
}

/* The protection key of the leaf forbids this access (§4.6.2): one bit of
 * the keys the walker derived for this kind of access and the page's U/S
 * (perm.c, from the rules of walk_rules.h). */
static inline bool nw_probe_is_key_forbidden(const struct nw_walk_access_kind *kind, uint32_t rights, uint64_t leaf)
{
	return (kind->pk_keys[(rights & NW_WALK_RIGHT_U) ? 1 : 0] >> nw_pte_pk(leaf)) & 1;
}

/* The walk, for top levels and with s2 (NULL: no second stage) constant
 * where it is inlined, so the loop unrolls into straight code. */
static inline __attribute__((always_inline)) bool nw_probe_walk(const struct nw_walker *walker,
								const struct nw_access *access,
								struct nw_walk_hit *hit, int top, nw_probe_s2_fn *s2)
{
	const struct nw_walk_probe_desc *p = &walker->probe;
	const struct nw_walk_access_kind *kind = nw_walker_kind(walker, access->type, access->implicit);
	const uint8_t *map = walker->map;
	uint64_t linear = access->gva.val, table = p->root, entry = 0, all = ~UINT64_C(0), upper = 0, gpa;
	struct nw_probe_s2 s2_hit = { .hpa = 0 };
	unsigned refs = 0;
	uint32_t rights;
	int level;

	if (!nw_walk_is_canonical(linear, p->va_bits))
		return false;
#pragma GCC unroll 5
	for (level = top; level >= NW_LEVEL_PT; level--) {
		unsigned index = (unsigned)(linear >> nw_probe_level_shift(level)) & 511;

		if (s2) {
			if (!s2(walker, table + index * 8, walker->table_access | NW_S2_NEED_SET_AD, false, &s2_hit) ||
			    s2_hit.hpa >= walker->map_size)
				return false;
			refs += s2_hit.refs;
			entry = nw_probe_read_entry(map + s2_hit.hpa);
		} else {
			/* The window is page-aligned (nw_walker_set_cpu), so OR-ing the
			 * entry's offset into its base gives the slot in any table: only
			 * the table address waits for the last entry's load. */
			uintptr_t slot = (uintptr_t)map | index * 8;

			if (table >= p->table_limit)
				return false;
			entry = nw_probe_read_entry((const uint8_t *)(slot + table));
		}
		all &= entry;
		if (level == NW_LEVEL_PT || (entry & NW_PTE_PS))
			break;
		upper |= entry;
		table = entry & p->addr_mask;
	}
	if (!nw_probe_has_every_entry_present_and_accessed(all) || nw_probe_has_reserved_bit(p, upper, entry, level) ||
	    !nw_probe_has_leaf_flags_for(entry, access->type))
		return false;
	rights = nw_probe_rights_of(p, all, upper | entry);
	if (((kind->faults >> rights) & 1) || nw_probe_is_key_forbidden(kind, rights, entry))
		return false;
	gpa = (entry & p->leaf_addr[level]) | (linear & ((UINT64_C(1) << nw_probe_level_shift(level)) - 1));
	refs += (unsigned)(top - level + 1);
	if (s2) {
		if (!s2(walker, gpa, kind->s2_need | NW_S2_NEED_SET_AD, true, &s2_hit))
			return false;
		hit->hpa = nw_hpa(s2_hit.hpa);
		hit->s2_page_size = s2_hit.page_size;
		hit->memory_type = s2_hit.memory_type;
		hit->s2_rights = s2_hit.rights;
		refs += s2_hit.refs;
	} else {
		hit->hpa = nw_hpa_from_identical_gpa(nw_gpa(gpa));
		hit->s2_page_size = NW_S2_NONE_PAGE_SIZE;
		hit->memory_type = NW_S2_NONE_MEMORY_TYPE;
		hit->s2_rights = NW_S2_NONE_RIGHTS;
	}
	hit->gpa = nw_gpa(gpa);
	hit->leaf_entry = entry;
	hit->guest_page_size = UINT64_C(1) << nw_probe_level_shift(level);
	hit->rights = rights;
	hit->guest_pat_index = (uint8_t)nw_pte_pat_index(entry, level);
	hit->leaf_level = (uint8_t)level;
	hit->refs = (uint8_t)refs;
	return true;
}

/* The walk a TLB fill does, with every check nw_walker_translate() makes
 * (canonical address, P and reserved bits per level, U/S, R/W with CR0.WP,
 * XD, SMEP, SMAP with AC, protection keys, the second stage's rules), but
 * writing nothing: it returns true with hit filled only when the access
 * translates with every guest and stage-2 A (and for a write D) flag it needs
 * already set. Then nw_walker_translate() with flags 0 would give the same
 * fields and write nothing. False for anything else: a fault, a flag to set,
 * paging other than 4- or 5-level, a second-stage entry its masks do not
 * prove plain (stage2_fast.h), a table outside the direct-map window; the
 * caller then takes nw_walker_translate(). */
static inline bool nw_walker_probe(const struct nw_walker *walker, const struct nw_access *access,
				   struct nw_walk_hit *hit)
{
	if (walker->probe.copy == NW_PROBE_1D_4)
		return nw_probe_walk(walker, access, hit, NW_LEVEL_PML4, NULL);
	if (walker->probe.copy == NW_PROBE_1D_5)
		return nw_probe_walk(walker, access, hit, NW_LEVEL_PML5, NULL);
	return nw_walker_probe_2d(walker, access, hit);
}

#endif
