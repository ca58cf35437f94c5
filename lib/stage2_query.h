/* The query EPT and NPT share: the engine's leaf, seen as a GPA-to-HPA mapping. */
#ifndef NESTWALK_LIB_STAGE2_QUERY_H
#define NESTWALK_LIB_STAGE2_QUERY_H

#include <nestwalk/pt_build.h>
#include <nestwalk/stage2.h>

static inline nw_status_t nw_s2_query(const struct nw_pt *pt, nw_gpa_t gpa, struct nw_s2_mapping *mapping)
{
	uint64_t entry, size, base;
	int level;
	nw_status_t status = nw_pt_find(pt, gpa.val, &level, &entry);

	if (status != NW_OK)
		return status;
	size = nw_pt_level_size(pt->fmt, level);
	base = gpa.val & ~(size - 1);
	*mapping = (struct nw_s2_mapping){ .gpa = nw_gpa(base),
					   .hpa = nw_hpa(nw_pt_leaf_addr(pt->fmt, level, entry) + (gpa.val - base)),
					   .size = size,
					   .level = level,
					   .entry = entry };
	return NW_OK;
}

#endif
