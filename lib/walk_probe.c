/* The probe: the walk a TLB fill does when the access simply translates.
 * 4-/5-level paging only (8-byte entries, 9 index bits per level), so the
 * levels are masks indexed by SDM level and the index is a shift of the
 * linear address. The walk itself tests only where it ends: each entry is
 * AND-ed and OR-ed into two accumulators, and every rule (P, reserved bits,
 * A/D already set, rights) is one test on them after the leaf. A not-present
 * or reserved upper entry may lead the walk through a stray table first;
 * every address is bounded by the direct-map window, so that costs a few
 * reads and the answer is still no. Nothing is written:
 * whatever would need a write (an A/D flag) or a full outcome (a fault) is
 * left to nw_walker_translate(). */
#include <nestwalk/walk.h>
#include <nestwalk/x86_pte.h>

#include "stage2_fast.h"
#include "walk_internal.h"

#define ALL_BITS (~UINT64_C(0))

_Static_assert(NW_PTE_RW >> 1 == NW_WALK_RIGHT_W && NW_PTE_US >> 1 == NW_WALK_RIGHT_U,
	       "entry bits 2:1 shifted down are the rights' W and U");
_Static_assert(NW_WALK_RIGHT_X == 4 && NW_PTE_XD == UINT64_C(1) << 63, "X is XD flipped and moved to bit 2");

void nw_probe_derive(struct nw_walker *walker)
{
	struct nw_walk_probe_desc *p = &walker->probe;

	bool two_d = walker->s2.kind != NW_STAGE2_NONE, five = walker->mode == NW_PAGING_5LEVEL;

	*p = (struct nw_walk_probe_desc){ .copy = NW_PROBE_OFF };
	if ((walker->mode != NW_PAGING_4LEVEL && !five) || ((uintptr_t)walker->map & (NW_PAGE_SIZE - 1)))
		return;
	p->copy = two_d ? (five ? NW_PROBE_2D_5 : NW_PROBE_2D_4) : (five ? NW_PROBE_1D_5 : NW_PROBE_1D_4);
	p->top = walker->levels[0].level;
	p->canon_shift = 64 - walker->va_bits;
	p->root = walker->cpu.cr3 & walker->cr3_mask;
	p->table_limit = walker->map_size & ~(uint64_t)(NW_PAGE_SIZE - 1);
	p->table_rsvd = walker->levels[0].rsvd; /* the same at every 4-/5-level table level (Table 4-14..4-20) */
	p->addr_mask = walker->levels[0].addr_mask;
	p->x_keep = walker->xd_mask ? 0 : NW_PTE_XD;
	for (unsigned i = 0; i < walker->nlevels; i++) {
		const struct nw_walk_level_desc *desc = &walker->levels[i];

		p->leaf_rsvd[desc->level] = desc->level == NW_LEVEL_PT ? desc->rsvd : desc->rsvd_large;
		p->leaf_addr[desc->level] = desc->large_addr_mask;
	}
}

/* The lowest linear-address bit a 4-/5-level level indexes (Figure 4-8, 4-11). */
static unsigned level_shift(int level)
{
	return 9 * (unsigned)level + 3;
}

/* Bits 63:47 (63:56) all equal to bit 47 (56), or the access is #GP (§3.3.7.1). */
static bool is_canonical(const struct nw_walk_probe_desc *p, uint64_t linear)
{
	return (uint64_t)((int64_t)(linear << p->canon_shift) >> p->canon_shift) == linear;
}

/* all is the AND of every entry used. Each present (§4.7: P=0 faults) and
 * accessed (§4.8: the walk sets A on each entry it uses, so one without A
 * means a write). */
static bool has_every_entry_present_and_accessed(uint64_t all)
{
	return (all & (NW_PTE_P | NW_PTE_A)) == (NW_PTE_P | NW_PTE_A);
}

/* upper is the OR of the non-leaf entries: a reserved bit set in any entry
 * used faults with RSVD (§4.7); PS=1 where a level cannot map a page is one. */
static bool has_reserved_bit(const struct nw_walk_probe_desc *p, uint64_t upper, uint64_t leaf, int level)
{
	return ((upper & p->table_rsvd) | (leaf & p->leaf_rsvd[level])) != 0;
}

/* A write sets D in the leaf (§4.8): the leaf already dirty, or a write is due. */
static bool has_leaf_flags_for(uint64_t leaf, enum nw_access_type type)
{
	return type != NW_ACCESS_WRITE || (leaf & NW_PTE_D);
}

/* Effective rights (§4.6.1): R/W and U/S ANDed over the levels (all), XD ORed (any). */
static uint32_t rights_of(const struct nw_walk_probe_desc *p, uint64_t all, uint64_t any)
{
	return (uint32_t)((all >> 1) & (NW_WALK_RIGHT_W | NW_WALK_RIGHT_U)) |
	       (uint32_t)(((~any | p->x_keep) >> 63) << 2);
}

/* The protection key of the leaf forbids this access (§4.6.2): the key's
 * AD/WD bits in PKRU (user page) or PKRS (supervisor page), masked by what
 * perm.c derived for this kind of access. */
static bool is_key_forbidden(const struct nw_walker *walker, const struct nw_walk_access_kind *kind, uint32_t rights,
			     uint64_t leaf)
{
	bool user_page = rights & NW_WALK_RIGHT_U;
	uint32_t forbid = walker->pk_mask[kind->pk_index | (user_page ? NW_PK_PAGE_USER : 0)];
	uint32_t pkr;
	unsigned key;

	if (!forbid)
		return false;
	pkr = user_page ? walker->cpu.pkru : walker->cpu.pkrs;
	key = (unsigned)((leaf & NW_PTE_PK_MASK) >> NW_PTE_PK_SHIFT);
	return ((pkr >> (key * 2)) & forbid) != 0;
}

/* PAT:PCD:PWT of the leaf (§11.12.3): PAT is bit 7 of a PTE, bit 12 of a large leaf. */
static uint8_t pat_index_of(uint64_t leaf, int level)
{
	unsigned pat_shift = level == NW_LEVEL_PT ? 7 : 12;

	return (uint8_t)((((leaf >> pat_shift) & 1) << 2) | ((leaf >> 3) & 3));
}

/* The walk, instantiated per second stage and per number of levels so the
 * loop unrolls into straight code with constant shifts. */
static inline __attribute__((always_inline)) bool probe(const struct nw_walker *walker, const struct nw_access *access,
							struct nw_walk_hit *hit, bool two_d, int top)
{
	const struct nw_walk_probe_desc *p = &walker->probe;
	const struct nw_walk_access_kind *kind = &walker->kinds[(access->type & 3) | (access->implicit ? 4 : 0)];
	const uint8_t *map = walker->map;
	uint64_t map_size = walker->map_size, linear = access->gva.val, table = p->root;
	uint64_t entry = 0, all = ALL_BITS, upper = 0, gpa;
	int level;
	unsigned refs = 0;
	uint32_t rights;

	if (!is_canonical(p, linear))
		return false;
#pragma GCC unroll 5
	for (level = top; level >= NW_LEVEL_PT; level--) {
		unsigned index = (unsigned)(linear >> level_shift(level)) & 511;

		if (two_d) {
			struct nw_s2_hit s2;

			unsigned need = walker->table_access | NW_S2_NEED_SET_AD;

			if (!nw_s2_fast_translate(&walker->s2, table + index * 8, need, &s2) || s2.hpa >= map_size)
				return false;
			refs += s2.refs;
			entry = *(const volatile uint64_t *)(map + s2.hpa);
		} else {
			/* The window is page-aligned (nw_probe_derive), so OR-ing the
			 * entry's offset into its base gives the slot in any table: only
			 * the table address waits for the last entry's load. */
			uintptr_t slot = (uintptr_t)map | index * 8;

			if (table >= p->table_limit)
				return false;
			entry = *(const uint64_t *)(slot + table);
		}
		all &= entry;
		if (level == NW_LEVEL_PT || (entry & NW_PTE_PS))
			break;
		upper |= entry;
		table = entry & p->addr_mask;
	}
	if (!has_every_entry_present_and_accessed(all) || has_reserved_bit(p, upper, entry, level) ||
	    !has_leaf_flags_for(entry, access->type))
		return false;
	rights = rights_of(p, all, upper | entry);
	if (((kind->faults >> rights) & 1) || is_key_forbidden(walker, kind, rights, entry))
		return false;
	gpa = (entry & p->leaf_addr[level]) | (linear & ((UINT64_C(1) << level_shift(level)) - 1));
	refs += (unsigned)(top - level + 1);
	if (two_d) {
		struct nw_s2_hit s2;

		if (!nw_s2_fast_translate(&walker->s2, gpa, kind->s2_need | NW_S2_NEED_SET_AD, &s2))
			return false;
		hit->hpa = nw_hpa(s2.hpa);
		hit->s2_page_size = UINT64_C(1) << nw_s2_shift(s2.level);
		hit->memory_type = nw_s2_fast_memory_type(&walker->s2, &s2);
		hit->s2_rights = nw_s2_fast_rights(&walker->s2, &s2);
		refs += s2.refs;
	} else {
		/* GPA = HPA, every right, write-back (as nw_stage2_translate without a second stage). */
		hit->hpa = nw_hpa(gpa);
		hit->s2_page_size = NW_PAGE_SIZE;
		hit->memory_type = 6;
		hit->s2_rights = NW_S2_RIGHT_R | NW_S2_RIGHT_W | NW_S2_RIGHT_X | NW_S2_RIGHT_UX;
	}
	hit->gpa = nw_gpa(gpa);
	hit->leaf_entry = entry;
	hit->guest_page_size = UINT64_C(1) << level_shift(level);
	hit->rights = rights;
	hit->guest_pat_index = pat_index_of(entry, level);
	hit->leaf_level = (uint8_t)level;
	hit->refs = (uint8_t)refs;
	return true;
}

#define PROBE_COPY(name, two_d, top)                                                                           \
	static __attribute__((noinline)) bool name(const struct nw_walker *walker, const struct nw_access *access, \
						   struct nw_walk_hit *hit)                                      \
	{                                                                                                      \
		return probe(walker, access, hit, two_d, top);                                                 \
	}

PROBE_COPY(probe_1d_4, false, NW_LEVEL_PML4)
PROBE_COPY(probe_1d_5, false, NW_LEVEL_PML5)
PROBE_COPY(probe_2d_4, true, NW_LEVEL_PML4)
PROBE_COPY(probe_2d_5, true, NW_LEVEL_PML5)

bool nw_walker_probe(const struct nw_walker *walker, const struct nw_access *access, struct nw_walk_hit *hit)
{
	switch (walker->probe.copy) {
	case NW_PROBE_1D_4:
		return probe_1d_4(walker, access, hit);
	case NW_PROBE_1D_5:
		return probe_1d_5(walker, access, hit);
	case NW_PROBE_2D_4:
		return probe_2d_4(walker, access, hit);
	case NW_PROBE_2D_5:
		return probe_2d_5(walker, access, hit);
	case NW_PROBE_OFF:
		break;
	}
	return false;
}
