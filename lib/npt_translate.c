/* GPA -> HPA through nested page tables for one access (APM Vol. 2
 * §15.25.5): find the leaf, check the rights as a user access, then set A/D. */
#include <nestwalk/npt.h>

#include "stage2_fast.h"
#include "stage2_walk.h"

/* Memory types of the power-on PAT (SDM §11.12.4), indexed by PAT:PCD:PWT. */
static const uint8_t default_pat[8] = { 6, 4, 7, 0, 6, 4, 7, 0 };

/* Rights one entry grants: nested accesses are user accesses (§15.25.5), so
 * without US nothing is allowed; RW allows writes; XD forbids fetches. */
static uint32_t entry_rights(uint64_t entry)
{
	uint32_t rights;

	if (!(entry & NW_PTE_P) || !(entry & NW_PTE_US))
		return 0;
	rights = NW_S2_RIGHT_R;
	if (entry & NW_PTE_RW)
		rights |= NW_S2_RIGHT_W;
	if (!(entry & NW_PTE_XD))
		rights |= NW_S2_RIGHT_X | NW_S2_RIGHT_UX;
	return rights;
}

static bool rights_allow(enum nw_access_type type, uint32_t rights)
{
	switch (type) {
	case NW_ACCESS_READ:
		return rights & NW_S2_RIGHT_R;
	case NW_ACCESS_WRITE:
		return rights & NW_S2_RIGHT_W;
	case NW_ACCESS_FETCH:
		return rights & NW_S2_RIGHT_X;
	}
	return false;
}

uint8_t nw_npt_leaf_memory_type(int level, uint64_t entry)
{
	uint64_t pat = level == NW_LEVEL_PT ? NW_PTE_PAT_4K : NW_PTE_PAT_LARGE;
	unsigned index = ((entry & pat) ? 4u : 0u) | ((entry & NW_PTE_PCD) ? 2u : 0u) |
			 ((entry & NW_PTE_PWT) ? 1u : 0u);

	return default_pat[index];
}

void nw_npt_translate(struct nw_npt *npt, const struct nw_s2_request *req, struct nw_s2_result *res)
{
	const struct nw_pt_format *fmt = npt->pt.fmt;
	struct nw_s2_path path;
	unsigned refs = 0;
	uint64_t table = npt->pt.root, gpa = req->gpa.val, entry;
	uint32_t rights = NW_S2_RIGHT_R | NW_S2_RIGHT_W | NW_S2_RIGHT_X | NW_S2_RIGHT_UX;
	int level = fmt->top, leaf_level;

	nw_s2_result_clear(res);
	/* A GPA wider than the walk has no entry to map it. */
	if (gpa >= nw_pt_va_limit(fmt)) {
		nw_s2_record_stop(res, NW_S2_VIOLATION, level, 0, 0, 0);
		return;
	}
	for (;; level--) {
		entry = nw_s2_read_entry(&npt->pt, fmt, &path, res, level, table, gpa);
		refs++;
		rights &= entry_rights(entry);
		if (!nw_npt_is_present(entry)) {
			nw_s2_record_stop(res, NW_S2_VIOLATION, level, entry, rights, refs);
			return;
		}
		if (nw_npt_rsvd(&npt->config, level, entry) != NW_NPT_RSVD_NONE) {
			nw_s2_record_stop(res, NW_S2_MISCONFIG, level, entry, rights, refs);
			return;
		}
		if (nw_npt_is_leaf(level, entry))
			break;
		table = entry & NW_PTE_ADDR_MASK;
	}

	leaf_level = level;
	nw_s2_record_stop(res, NW_S2_OK, level, entry, rights, refs);
	res->page_size = nw_pt_level_size(fmt, leaf_level);
	res->memory_type = nw_npt_leaf_memory_type(leaf_level, entry);
	if (!rights_allow(req->type, rights)) {
		res->status = NW_S2_VIOLATION;
		return;
	}
	res->hpa = nw_hpa(nw_pt_leaf_addr(fmt, leaf_level, entry) + (gpa & (res->page_size - 1)));

	/* The nested walk sets A in every entry it used and D in the leaf of a write. */
	if (req->lookup_only)
		return;
	nw_s2_set_accessed_dirty(fmt, &path, res, leaf_level, req->type == NW_ACCESS_WRITE, NW_PTE_A, NW_PTE_D);
}
