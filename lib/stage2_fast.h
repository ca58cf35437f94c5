/* The fast walker's second stage: one tight loop over the direct-map window
 * driven by the masks of struct nw_s2_fast (stage2_fast.c). It answers only
 * when the translation plainly succeeds (every entry a plain table pointer or
 * a plain leaf, the rights granted, no A/D flag left to set); otherwise it
 * says no and the caller asks nw_stage2_translate(), which applies every rule
 * and sets the flags. Reads nothing but the tables, so asking again is safe. */
#ifndef NESTWALK_LIB_STAGE2_FAST_H
#define NESTWALK_LIB_STAGE2_FAST_H

#include <nestwalk/ept.h>
#include <nestwalk/stage2.h>
#include <nestwalk/x86_pte.h>

/* Every stage-2 table has 512 eight-byte entries (EPT Tables 29-1..29-7, long-mode Tables 4-14..4-20). */
#define NW_S2_INDEX_MASK UINT64_C(511)

/* The lowest address bit a level's index covers: 12, plus 9 per level below
 * (every stage-2 format; nw_s2_fast_derive checks the format agrees). */
static inline unsigned nw_s2_shift(int level)
{
	return 9 * (unsigned)level + 3;
}

/* A plain success. */
struct nw_s2_hit {
	uint64_t hpa;
	uint64_t leaf;      /* the leaf entry */
	uint64_t all, any;  /* AND and OR of every entry read */
	int level;          /* the leaf's level */
	unsigned refs;      /* entries read */
};

static inline bool nw_s2_fast_is_plain_table(const struct nw_s2_fast *fast, int level, uint64_t entry)
{
	return (entry & fast->table_mask[level]) == fast->table_want[level];
}

static inline bool nw_s2_fast_is_plain_leaf(const struct nw_s2_fast *fast, int level, uint64_t entry)
{
	unsigned memory_type = (unsigned)((entry & NW_EPT_MT_MASK) >> NW_EPT_MT_SHIFT);

	return (entry & fast->leaf_mask[level]) == fast->leaf_want[level] && ((fast->mt_allowed >> memory_type) & 1);
}

/* need: the access type, | NW_S2_NEED_USER for a user-mode access, |
 * NW_S2_NEED_SET_AD when the walk may write A/D flags (no NW_WALK_LOOKUP);
 * then an entry without A, or a write's leaf without D, is left to the full
 * translate, which sets them. */
static inline bool nw_s2_fast_translate(const struct nw_s2_fast *fast, uint64_t gpa, unsigned need,
					struct nw_s2_hit *hit)
{
	uint64_t table = fast->root, entry, all = ~UINT64_C(0), any = 0;
	int level = fast->top;

	if (gpa >= fast->va_limit)
		return false;
	for (;; level--) {
		if (table >= fast->map_size)
			return false;
		entry = *(const uint64_t *)(fast->map + table + ((gpa >> nw_s2_shift(level)) & NW_S2_INDEX_MASK) * 8);
		all &= entry;
		any |= entry;
		if (nw_s2_fast_is_plain_table(fast, level, entry)) {
			table = entry & fast->table_addr_mask;
			continue;
		}
		if (nw_s2_fast_is_plain_leaf(fast, level, entry))
			break;
		return false;
	}
	if ((all & fast->must_all[need]) != fast->must_all[need] || (any & fast->must_none[need]) ||
	    (entry & fast->must_leaf[need]) != fast->must_leaf[need])
		return false;
	hit->level = level;
	hit->leaf = entry;
	hit->all = all;
	hit->any = any;
	hit->refs = (unsigned)(fast->top - level + 1);
	hit->hpa = (entry & fast->leaf_addr_mask[level]) | (gpa & ((UINT64_C(1) << nw_s2_shift(level)) - 1));
	return true;
}

/* NW_S2_RIGHT_* of a hit, as the full translate counts them: EPT bits 2:0 and
 * bit 10 under mode-based execute control ANDed; NPT read (P and US in every
 * entry, which a hit has), write where every entry has RW, execute where none
 * has XD. */
static inline uint32_t nw_s2_fast_rights(const struct nw_s2_fast *fast, const struct nw_s2_hit *hit)
{
	if (fast->kind == NW_STAGE2_EPT)
		return (uint32_t)((hit->all & (NW_S2_RIGHT_R | NW_S2_RIGHT_W | NW_S2_RIGHT_X)) |
				  ((hit->all & fast->ux_mask) >> 7));
	return NW_S2_RIGHT_R | ((hit->all & NW_PTE_RW) ? NW_S2_RIGHT_W : 0) |
	       ((hit->any & NW_PTE_XD) ? 0 : NW_S2_RIGHT_X | NW_S2_RIGHT_UX);
}

/* The memory type of a leaf: EPT bits 5:3; NPT the power-on PAT's type. */
uint8_t nw_npt_leaf_memory_type(int level, uint64_t entry);

static inline uint8_t nw_s2_fast_memory_type(const struct nw_s2_fast *fast, const struct nw_s2_hit *hit)
{
	if (fast->kind == NW_STAGE2_EPT)
		return (uint8_t)((hit->leaf & NW_EPT_MT_MASK) >> NW_EPT_MT_SHIFT);
	return nw_npt_leaf_memory_type(hit->level, hit->leaf);
}

#endif
