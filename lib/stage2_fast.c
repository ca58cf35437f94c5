/* The fast walker's view of its second stage (stage2.h, struct nw_s2_fast):
 * the format's rules (stage2_rules.h) restated as masks, once per EPTP or
 * nCR3. A mask proves only the plain cases; every other entry goes to the
 * rule-by-rule translate. */
#include <nestwalk/assert.h>

#include "stage2_fast.h"
#include "stage2_rules.h"

/* A mask no entry matches: (entry & 0) is never 1. */
#define NEVER_MASK 0
#define NEVER_WANT 1

static void derive_geometry(struct nw_s2_fast *fast, const struct nw_pt *pt, const struct nw_hal_window *window)
{
	const struct nw_pt_format *fmt = pt->fmt;

	fast->top = fmt->top;
	fast->root = pt->root;
	fast->va_limit = nw_pt_va_limit(fmt);
	fast->map = window->base ? window->base : pt->mem.direct_map;
	fast->map_size = fast->map ? (window->base ? window->size : pt->mem.direct_map_size) : 0;
	fast->table_addr_mask = fmt->table_addr_mask;
	fast->addr_shift = fmt->addr_shift;
	/* The fast loop reads 8-byte entries from the window. */
	NW_ASSERT(fmt->entry_size == 8);
	for (int level = 0; level <= NW_MAX_LEVELS; level++) {
		bool used = level >= NW_LEVEL_PT && level <= fmt->top;

		fast->shift[level] = used ? fmt->level[level].shift : 0;
		fast->index_mask[level] = used ? (uint64_t)fmt->level[level].entries - 1 : 0;
		fast->leaf_addr_mask[level] = used ? fmt->level[level].leaf_addr_mask : 0;
		fast->mt_pat[level] = used ? nw_s2_pat_bit(fmt, level) : 0;
		fast->table_mask[level] = NEVER_MASK;
		fast->table_want[level] = NEVER_WANT;
		fast->leaf_mask[level] = NEVER_MASK;
		fast->leaf_want[level] = NEVER_WANT;
	}
}

/* What proves an entry plain: the plain bit set and no reserved bit; a table
 * pointer (link bit set, where the format has one) where a table may be, or a
 * leaf (PS set or link bit clear above level 1, link bit set at level 1)
 * where the rules allow one, its alignment bits clear. An AArch64 block with
 * bits below its alignment set (res0, ignored by the walk) is left to the
 * full translate. */
static void derive_entries(struct nw_s2_fast *fast, const struct nw_s2_rules *rules, const struct nw_pt_format *fmt,
			   const struct nw_s2_caps *caps)
{
	uint64_t plain = rules->plain, rsvd = caps->entry_rsvd, link = fmt->link_bit;

	for (int level = NW_LEVEL_PD; level <= fmt->top; level++) {
		fast->table_mask[level] = plain | link | rules->table_clear | rsvd;
		fast->table_want[level] = plain | link;
	}
	/* A leaf's type: where its bits are rights (RISC-V R, X), the plain-leaf bit proves it one. */
	uint64_t type = fmt->ps_in_attrs ? 0 : nw_pt_type_bits(fmt), type_want = fmt->ps_in_attrs ? 0 : fmt->ps_bit;
	uint64_t leaf = plain | rules->plain_leaf;

	fast->leaf_mask[NW_LEVEL_PT] = leaf | link | rsvd | rules->napot_bit;
	fast->leaf_want[NW_LEVEL_PT] = leaf | link;
	for (int level = NW_LEVEL_PD; level <= fmt->top; level++) {
		if (!fmt->level[level].leaf_ok || nw_s2_has_unsupported_1g(fmt, caps->pages_1g, level, fmt->ps_bit))
			continue;
		fast->leaf_mask[level] = leaf | type | rsvd | nw_s2_large_rsvd(fmt, level) | rules->napot_bit;
		fast->leaf_want[level] = leaf | type_want;
	}
	fast->mt_shift = rules->decode.mt_shift;
	fast->mt_field = rules->decode.mt_field;
	fast->mt_has_pat = fmt->pat_small_bit || fmt->pat_large_bit;
	/* A field value is plainly allowed when it is with the PAT bit clear and, where there is one, set. */
	for (unsigned field = 0; field <= rules->decode.mt_field; field++) {
		unsigned with_pat = fast->mt_has_pat ? field | 4u : field;

		if ((rules->decode.mt_allowed >> field) & (rules->decode.mt_allowed >> with_pat) & 1)
			fast->leaf_mt_allowed |= (uint16_t)(1u << field);
	}
}

/* The access index (type | user) needs its right in every entry (in the leaf
 * alone when the rules say so: the fast loop then takes the leaf for "every
 * entry"); when it may set A/D, every entry must already have accessed and a
 * write's leaf dirty, or the full translate sets them; where a clear accessed
 * faults, it must be set. A value of the execute field that denies the right
 * is no mask: any bit of that field makes the fast loop decline (an AArch64
 * leaf with XN bits set, for a fetch). */
static void derive_needs(struct nw_s2_fast *fast, const struct nw_s2_rules *rules, const struct nw_s2_caps *caps)
{
	fast->leaf_attrs_only = rules->leaf_attrs_only;
	for (unsigned index = 0; index < 8; index++) {
		enum nw_access_type type = (enum nw_access_type)(index & 3);
		uint32_t needed = nw_s2_right_needed(caps, type, index & NW_S2_NEED_USER);
		unsigned right = nw_s2_right_index(needed);
		uint64_t all = rules->decode.grant_base | rules->decode.grant[right] |
			       (rules->accessed_faults ? rules->accessed : 0);
		uint64_t none = rules->decode.deny[right] | nw_s2_field_bits_denying(&rules->decode, needed);
		bool write = type == NW_ACCESS_WRITE;

		fast->must_all[index] = all;
		fast->must_none[index] = none;
		fast->must_leaf[index] = rules->dirty_faults && write ? rules->dirty : 0;
		fast->must_all[index | NW_S2_NEED_SET_AD] = all | (caps->sets_ad ? rules->accessed : 0);
		fast->must_none[index | NW_S2_NEED_SET_AD] = none;
		fast->must_leaf[index | NW_S2_NEED_SET_AD] =
			(caps->sets_ad || rules->dirty_faults) && write ? rules->dirty : 0;
	}
	fast->rights = caps->rights;
	fast->rights_grant = rules->decode.grant_base;
	fast->rights_deny = 0;
	for (unsigned i = 0; i < NW_S2_RIGHTS; i++) {
		if (!(caps->rights & (1u << i)))
			continue;
		fast->rights_grant |= rules->decode.grant[i];
		fast->rights_deny |= rules->decode.deny[i] | nw_s2_field_bits_denying(&rules->decode, 1u << i);
	}
}

void nw_s2_fast_derive(const struct nw_stage2 *s2, const struct nw_hal_window *window, struct nw_s2_fast *fast)
{
	struct nw_s2_view view;
	struct nw_s2_caps caps;

	*fast = (struct nw_s2_fast){ .kind = s2->kind };
	if (!nw_s2_view_of(s2, &view))
		return;
	caps = view.rules->caps(view.config);
	fast->decode = view.rules->decode;
	derive_geometry(fast, view.pt, window);
	derive_entries(fast, view.rules, view.pt->fmt, &caps);
	derive_needs(fast, view.rules, &caps);
}
