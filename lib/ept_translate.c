/* GPA -> HPA through EPT for one access (SDM Vol. 3C §29.3.2-§29.3.5): find
 * the leaf, check the rights, then set the accessed/dirty flags. */
#include <nestwalk/ept.h>

#include "stage2_walk.h"

/* Rights one entry grants, as nw_s2_result counts them (exit qualification
 * bits 3..6 shifted down): R, W, X are entry bits 2:0 in the same order; user
 * execute (bit 10) only exists under mode-based execute control. */
_Static_assert(NW_S2_RIGHT_R == NW_EPT_R && NW_S2_RIGHT_W == NW_EPT_W && NW_S2_RIGHT_X == NW_EPT_X &&
		       NW_S2_RIGHT_UX == NW_EPT_UX >> 7,
	       "stage-2 rights are the EPT permission bits");

static uint32_t entry_rights(uint64_t ux_mask, uint64_t entry)
{
	return (uint32_t)((entry & (NW_EPT_R | NW_EPT_W | NW_EPT_X)) | ((entry & ux_mask) >> 7));
}

/* §29.3.3.2: reads need R, writes W, fetches X; under mode-based execute
 * control a user-mode fetch needs bit 10 instead. */
static bool rights_allow(const struct nw_ept_config *config, const struct nw_s2_request *req, uint32_t rights)
{
	switch (req->type) {
	case NW_ACCESS_READ:
		return rights & NW_S2_RIGHT_R;
	case NW_ACCESS_WRITE:
		return rights & NW_S2_RIGHT_W;
	case NW_ACCESS_FETCH:
		if (config->mbec && req->user)
			return rights & NW_S2_RIGHT_UX;
		return rights & NW_S2_RIGHT_X;
	}
	return false;
}

/* A readable entry with bits 7:3 and the address bits at or above MAXPHYADDR
 * clear points to a table and breaks no §29.3.3.1 rule: R rules out the
 * write-only and execute-only cases, a clear bit 7 makes it a non-leaf with no
 * reserved PS, and no other rule looks at a non-leaf. The walk takes such an
 * entry without asking nw_ept_misconfig(); any other entry gets every check. */
static bool is_plain_table_entry(int level, uint64_t entry, uint64_t above_maxphy)
{
	return level > NW_LEVEL_PT && (entry & NW_EPT_R) && !(entry & (NW_EPT_NONLEAF_RSVD | above_maxphy));
}

/* Likewise a readable 4 KiB leaf with no address bit at or above MAXPHYADDR
 * can break only the memory-type rule (PS and alignment rules do not apply at
 * level 1). */
static bool is_plain_4k_leaf(int level, uint64_t entry, uint64_t above_maxphy)
{
	return level == NW_LEVEL_PT && (entry & NW_EPT_R) && !(entry & above_maxphy) &&
	       !nw_ept_has_reserved_memory_type(level, entry);
}

void nw_ept_translate(struct nw_ept *ept, const struct nw_s2_request *req, struct nw_s2_result *res)
{
	const struct nw_pt_format *fmt = ept->pt.fmt;
	const struct nw_ept_config *config = &ept->config;
	uint64_t above_maxphy = NW_EPT_ADDR_MASK & ~((UINT64_C(1) << config->caps.maxphyaddr) - 1);
	uint64_t ux_mask = config->mbec ? NW_EPT_UX : 0;
	struct nw_s2_path path;
	unsigned refs = 0;
	uint64_t table = ept->pt.root, gpa = req->gpa.val, entry;
	uint32_t rights = NW_S2_RIGHT_R | NW_S2_RIGHT_W | NW_S2_RIGHT_X | (config->mbec ? NW_S2_RIGHT_UX : 0);
	int level = fmt->top, leaf_level;

	nw_s2_result_clear(res);
	/* A GPA wider than the walk (48 bits, 57 with 5 levels) has no entry to map it. */
	if (gpa >= nw_pt_va_limit(fmt)) {
		nw_s2_record_stop(res, NW_S2_VIOLATION, level, 0, 0, 0);
		return;
	}
	for (;; level--) {
		entry = nw_s2_read_entry(&ept->pt, fmt, &path, res, level, table, gpa);
		refs++;
		rights &= entry_rights(ux_mask, entry);
		if (is_plain_table_entry(level, entry, above_maxphy)) {
			table = entry & NW_EPT_ADDR_MASK;
			continue;
		}
		if (is_plain_4k_leaf(level, entry, above_maxphy))
			break;
		if (!nw_ept_is_present(config, entry)) {
			nw_s2_record_stop(res, NW_S2_VIOLATION, level, entry, rights, refs);
			return;
		}
		if (nw_ept_misconfig(config, level, entry) != NW_EPT_MISCONFIG_NONE) {
			nw_s2_record_stop(res, NW_S2_MISCONFIG, level, entry, rights, refs);
			return;
		}
		if (nw_ept_is_leaf(level, entry))
			break;
		table = entry & NW_EPT_ADDR_MASK;
	}

	leaf_level = level;
	nw_s2_record_stop(res, NW_S2_OK, level, entry, rights, refs);
	res->page_size = nw_pt_level_size(fmt, leaf_level);
	res->memory_type = (uint8_t)((entry & NW_EPT_MT_MASK) >> NW_EPT_MT_SHIFT);
	res->ignore_pat = (entry & NW_EPT_IPAT) != 0;
	if (!rights_allow(config, req, rights)) {
		res->status = NW_S2_VIOLATION;
		return;
	}
	res->hpa = nw_hpa(nw_pt_leaf_addr(fmt, leaf_level, entry) + (gpa & (res->page_size - 1)));

	/* §29.3.5: with A/D enabled, every entry used gets A and the leaf of a write gets D. */
	if (!config->ad || req->lookup_only)
		return;
	nw_s2_set_accessed_dirty(fmt, &path, res, leaf_level, req->type == NW_ACCESS_WRITE, NW_EPT_A, NW_EPT_D);
}
