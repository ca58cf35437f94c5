/* The query EPT and NPT share: the engine's leaf, seen as a GPA-to-HPA mapping. */
#ifndef NESTWALK_LIB_STAGE2_QUERY_H
#define NESTWALK_LIB_STAGE2_QUERY_H

#include <nestwalk/pt_build.h>
#include <nestwalk/stage2.h>

static inline nw_status_t nw_s2_query(const struct nw_pt *pt, nw_gpa_t gpa, struct nw_s2_mapping *mapping)
{
	struct nw_pt_leaf leaf;
	nw_status_t status = nw_pt_lookup(pt, gpa.val, &leaf);

	if (status != NW_OK)
		return status;
	*mapping = (struct nw_s2_mapping){ .gpa = nw_gpa(leaf.va_base),
					   .hpa = nw_hpa(leaf.pa_base + (gpa.val - leaf.va_base)),
					   .size = leaf.size,
					   .level = leaf.level,
					   .entry = leaf.entry };
	return NW_OK;
}

#endif
