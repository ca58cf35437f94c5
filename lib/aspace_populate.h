/* Backing one page of a MAP_ALLOC or ROM region: a fresh zeroed frame, mapped
 * with the region's rights and recorded in the ledger, or nothing at all;
 * *frame is the frame. */
#ifndef NESTWALK_LIB_ASPACE_POPULATE_H
#define NESTWALK_LIB_ASPACE_POPULATE_H

#include <nestwalk/aspace.h>

NW_MUST_CHECK nw_status_t nw_aspace_populate_page(struct nw_aspace *as, const struct nw_region *region, nw_gpa_t gpa,
						  nw_hpa_t *frame);

#endif
