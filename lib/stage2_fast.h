/* The fast walker's second stage: one tight loop over the direct-map window
 * driven by the masks of struct nw_s2_fast (stage2_fast.c). It answers only
 * when the translation plainly succeeds (every entry a plain table pointer or
 * a plain leaf, the rights granted, no A/D flag left to set); otherwise it
 * says no and the caller asks nw_stage2_translate(), which applies every rule
 * and sets the flags. Reads nothing but the tables, so asking again is safe. */
#ifndef NESTWALK_LIB_STAGE2_FAST_H
#define NESTWALK_LIB_STAGE2_FAST_H

#include <nestwalk/stage2.h>

#include "stage2_rules.h"

/* What the fast walker derives from its second stage once (nw_walker_init),
 * as KVM derives its MMU role: per level, the bits that prove an entry a
 * plain table pointer or a plain leaf (present, readable, no reserved bit, no
 * rule broken), and per access the rights every entry must grant. Its loop
 * then reads no configuration and calls nothing; whatever is not plain (a
 * fault, a rule to check, an A/D flag to set, a table outside the direct-map
 * window) goes to nw_stage2_translate(), which gives the exact answer. */
#define NW_S2_NEED_USER 4u   /* nw_s2_fast.must_* index: type | this for a user-mode access */
#define NW_S2_NEED_SET_AD 8u /* ... | this when the walk may set A/D flags (no NW_WALK_LOOKUP) */

struct nw_s2_fast {
	enum nw_stage2_kind kind;
	int top;                    /* root level; 0 without a second stage */
	uint64_t root;
	uint64_t va_limit;          /* GPAs at or above it have no entry */
	const uint8_t *map;         /* direct-map window over the tables (HPA 0 .. map_size) */
	uint64_t map_size;
	uint64_t table_addr_mask;
	unsigned addr_shift;        /* an entry's address is (entry & mask) << addr_shift (the format's) */
	uint8_t shift[NW_MAX_LEVELS + 1];       /* the lowest address bit each level's index covers */
	uint64_t index_mask[NW_MAX_LEVELS + 1]; /* entries per table, less one */
	uint64_t table_mask[NW_MAX_LEVELS + 1]; /* plain table pointer: (entry & mask) == want */
	uint64_t table_want[NW_MAX_LEVELS + 1];
	uint64_t leaf_mask[NW_MAX_LEVELS + 1];  /* plain leaf: (entry & mask) == want, memory type allowed */
	uint64_t leaf_want[NW_MAX_LEVELS + 1];
	uint64_t leaf_addr_mask[NW_MAX_LEVELS + 1];
	unsigned mt_shift;          /* a leaf's memory-type field (decode.mt_shift, mt_field) */
	uint64_t mt_field;
	uint16_t leaf_mt_allowed;   /* over the field alone: allowed whatever the PAT bit */
	bool leaf_attrs_only;       /* rights and flags are the leaf's (the rules' leaf_attrs_only) */
	bool mt_has_pat;            /* the format has a PAT bit (mt_pat) */
	/* Per access: the rights every entry must grant, and the A (and for a
	 * write D) flags already set where the walk would set them. */
	uint64_t must_all[16];      /* bits every entry must have */
	uint64_t must_none[16];     /* bits no entry may have */
	uint64_t must_leaf[16];     /* bits the leaf must have */
	/* The decode of a hit's rights and memory type. */
	uint32_t rights;            /* NW_S2_RIGHT_* the configuration grants at all */
	uint64_t rights_grant;      /* bits those rights need (decode.grant_base and grant[]) */
	uint64_t rights_deny;       /* bits that forbid one of them (decode.deny[]) */
	uint64_t mt_pat[NW_MAX_LEVELS + 1]; /* a leaf's PAT bit at each level, 0 where none */
	struct nw_s2_decode decode; /* the format's (stage2_rules.h) */
};

/* Derives fast from s2 (kind NONE gives top 0: GPA = HPA), reading the
 * tables through window when it has a base, else through their HAL's direct map. */
void nw_s2_fast_derive(const struct nw_stage2 *s2, const struct nw_hal_window *window, struct nw_s2_fast *fast);

/* A plain success. */
struct nw_s2_hit {
	uint64_t hpa;
	uint64_t page_size;
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
	unsigned field = (unsigned)((entry >> fast->mt_shift) & fast->mt_field);

	return (entry & fast->leaf_mask[level]) == fast->leaf_want[level] && ((fast->leaf_mt_allowed >> field) & 1);
}

/* need: the access type, | NW_S2_NEED_USER for a user-mode access, |
 * NW_S2_NEED_SET_AD when the walk may write A/D flags (no NW_WALK_LOOKUP);
 * then an entry without A, or a write's leaf without D, is left to the full
 * translate, which sets them. */
static inline __attribute__((always_inline)) bool nw_s2_fast_walk(const struct nw_s2_fast *fast, uint64_t gpa,
								 unsigned need, struct nw_s2_hit *hit,
								 unsigned addr_shift)
{
	uint64_t table = fast->root, entry, all = ~UINT64_C(0), any = 0;
	int level = fast->top;

	if (gpa >= fast->va_limit)
		return false;
	for (;; level--) {
		if (table >= fast->map_size)
			return false;
		entry = *(const uint64_t *)(fast->map + table + ((gpa >> fast->shift[level]) & fast->index_mask[level]) * 8);
		all &= entry;
		any |= entry;
		if (nw_s2_fast_is_plain_table(fast, level, entry)) {
			table = (entry & fast->table_addr_mask) << addr_shift;
			continue;
		}
		if (nw_s2_fast_is_plain_leaf(fast, level, entry))
			break;
		return false;
	}
	if (fast->leaf_attrs_only)
		all = any = entry;
	if ((all & fast->must_all[need]) != fast->must_all[need] || (any & fast->must_none[need]) ||
	    (entry & fast->must_leaf[need]) != fast->must_leaf[need])
		return false;
	hit->level = level;
	hit->leaf = entry;
	hit->all = all;
	hit->any = any;
	hit->refs = (unsigned)(fast->top - level + 1);
	hit->page_size = UINT64_C(1) << fast->shift[level];
	hit->hpa = ((entry & fast->leaf_addr_mask[level]) << addr_shift) | (gpa & (hit->page_size - 1));
	return true;
}

/* The loop instantiated per address shift: the formats whose entries hold
 * the address itself walk without a shift on the load chain (a shift by the
 * loaded count made 2-D EPT walks 10-20 % slower); a format holding a PPN
 * (RISC-V) takes the other copy. */
static inline bool nw_s2_fast_translate(const struct nw_s2_fast *fast, uint64_t gpa, unsigned need,
					struct nw_s2_hit *hit)
{
	if (fast->addr_shift)
		return nw_s2_fast_walk(fast, gpa, need, hit, fast->addr_shift);
	return nw_s2_fast_walk(fast, gpa, need, hit, 0);
}

/* NW_S2_RIGHT_* of a hit, as the full translate counts them (the AND over
 * its entries). Usually no bit any right needs is missing and none that
 * forbids one is set: then every right the configuration grants, without the
 * decode. */
static inline uint32_t nw_s2_fast_rights(const struct nw_s2_fast *fast, const struct nw_s2_hit *hit)
{
	if (!((~hit->all & fast->rights_grant) | (hit->any & fast->rights_deny)))
		return fast->rights;
	return nw_s2_path_rights(&fast->decode, hit->all, hit->any) & fast->rights;
}

static inline uint8_t nw_s2_fast_memory_type(const struct nw_s2_fast *fast, const struct nw_s2_hit *hit)
{
	unsigned index = (unsigned)((hit->leaf >> fast->mt_shift) & fast->mt_field);

	if (fast->mt_has_pat && (hit->leaf & fast->mt_pat[hit->level]))
		index |= 4;
	return fast->decode.mt_types[index];
}

#endif
