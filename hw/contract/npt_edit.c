#include "contract/npt_edit.h"

#include <nestwalk/x86_pte.h>

static uint64_t edit_flags(const struct hw_blob_entry *e)
{
	return e->value & (UINT64_C(0xfff) | NW_PTE_XD) & NW_NPT_LEAF_FLAGS;
}

/* A reserved bit goes into the leaf that maps the page. A guest table's page
 * gets a 4 KiB leaf of its own first (a larger one also maps the guest's code);
 * a page of the scratch region (case_check.c) keeps a 2 MiB leaf, which maps
 * nothing else, and only a 1 GiB leaf is split for it. */
static nw_status_t set_leaf_bit(struct nw_npt *npt, uint64_t gpa, unsigned bit, uint64_t largest)
{
	struct nw_s2_mapping leaf;
	nw_status_t st = nw_npt_query(npt, nw_gpa(gpa), &leaf);

	if (st == NW_OK && leaf.size > largest) {
		st = nw_npt_map(npt, nw_gpa(gpa), nw_hpa(gpa), NW_PAGE_SIZE, NW_PTE_RW, NW_PT_MAP_REPLACE, 0);
		if (st == NW_OK)
			st = nw_npt_query(npt, nw_gpa(gpa), &leaf);
	}
	if (st != NW_OK)
		return st;
	return nw_npt_edit(npt, nw_gpa(gpa), leaf.level, 0, UINT64_C(1) << bit, 0, 0);
}

nw_status_t hw_npt_edit_apply(struct nw_npt *npt, uint64_t gpa, const struct hw_blob_entry *e)
{
	gpa &= ~(NW_PAGE_SIZE - 1);
	switch (e->index) {
	case HW_NPT_EDIT_UNMAP:
		return nw_npt_unmap(npt, nw_gpa(gpa), NW_PAGE_SIZE, 0);
	case HW_NPT_EDIT_FLAGS:
		return nw_npt_map(npt, nw_gpa(gpa), nw_hpa(gpa), NW_PAGE_SIZE, edit_flags(e), NW_PT_MAP_REPLACE, 0);
	case HW_NPT_EDIT_FLAGS_2M:
		gpa &= ~(NW_SIZE_2M - 1);
		return nw_npt_map(npt, nw_gpa(gpa), nw_hpa(gpa), NW_SIZE_2M, edit_flags(e), NW_PT_MAP_REPLACE, 0);
	case HW_NPT_EDIT_RSVD:
		return set_leaf_bit(npt, gpa, (unsigned)(e->value & 63), e->link ? NW_PAGE_SIZE : NW_SIZE_2M);
	}
	return NW_ERR_INVALID;
}
