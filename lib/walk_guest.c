/* The one guest walk loop (walk_guest.h): "present? malformed? rights; leaf?
 * next table", then the leaf's accessed flag and rights, then the flags, each
 * question put to the guest-stage description. */
#include "walk_guest.h"

/* Phase 1: the leaf's level, the outcome set and 0 when the walk stops on the way. */
static unsigned find_leaf(const struct nw_guest_stage *stage, struct nw_gs_walk *w, uint64_t *leaf)
{
	struct nw_walk_result *res = w->ctx.res;
	uint64_t entry;

	for (unsigned level = w->top;; level--) {
		if (!stage->read(w, level, &entry))
			return 0;
		if (!stage->is_present(w, level, entry)) {
			stage->fault(w, NW_GS_FAULT_MISSING, level);
			return 0;
		}
		if (stage->is_malformed(w, level, entry)) {
			stage->fault(w, NW_GS_FAULT_MALFORMED, level);
			return 0;
		}
		w->rights = stage->rights(w, level, entry);
		res->steps[level].rights = w->rights;
		if (stage->maps_page(w, level, entry)) {
			*leaf = entry;
			return level;
		}
		if (!stage->pass(w, level, entry))
			return 0;
		w->table = stage->address(w, level, entry);
	}
}

void nw_walk_guest(const struct nw_guest_stage *stage, struct nw_gs_walk *w)
{
	struct nw_walk_result *res = w->ctx.res;
	uint64_t entry = 0, page_size;
	unsigned level;

	if (!stage->start(w))
		return;
	level = find_leaf(stage, w, &entry);
	if (!level)
		return;
	page_size = stage->page_size ? stage->page_size(w, level, entry) : nw_pt_level_size(w->fmt, (int)level);
	res->leaf_level = (int)level;
	res->leaf_entry = entry;
	res->rights = w->rights;
	res->guest_page_size = page_size;
	res->guest_pat_index = stage->attr_index(level, entry);

	/* Phase 2: the leaf's accessed flag where a clear one faults, then the rights. */
	if (stage->is_unaccessed(w, entry)) {
		stage->fault(w, NW_GS_FAULT_UNACCESSED, level);
		return;
	}
	if (stage->blocks(w, entry)) {
		stage->fault(w, NW_GS_FAULT_PERMISSION, level);
		return;
	}

	/* Phase 3: accessed and dirty flags, never under NW_WALK_LOOKUP. */
	if (!(w->ctx.flags & NW_WALK_LOOKUP) && !stage->set_flags(w, level))
		return;
	nw_walk_finish(&w->ctx,
		       nw_gpa((stage->address(w, level, entry) & ~(page_size - 1)) | (w->va & (page_size - 1))));
}
