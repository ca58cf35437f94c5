/* The address space's view of its second-stage table, whatever the format:
 * create, map a range with region rights, unmap, destroy. */
#ifndef NESTWALK_LIB_ASPACE_STAGE2_H
#define NESTWALK_LIB_ASPACE_STAGE2_H

#include <nestwalk/aspace.h>

NW_MUST_CHECK nw_status_t nw_aspace_s2_create(struct nw_aspace *as);
void nw_aspace_s2_destroy(struct nw_aspace *as);
/* Maps [gpa, gpa + size) to [hpa, hpa + size) with the region flags' rights
 * and memory type, largest pages first; on failure nothing changes. */
NW_MUST_CHECK nw_status_t nw_aspace_s2_map(struct nw_aspace *as, nw_gpa_t gpa, nw_hpa_t hpa, uint64_t size,
					   uint32_t flags);
/* Without a second stage: hpa = gpa inside a region, NW_ERR_NOT_FOUND outside every region. */
NW_MUST_CHECK nw_status_t nw_aspace_s2_none_translate(const struct nw_aspace *as, nw_gpa_t gpa, nw_hpa_t *hpa);
NW_MUST_CHECK nw_status_t nw_aspace_s2_unmap(struct nw_aspace *as, nw_gpa_t gpa, uint64_t size);

#endif
