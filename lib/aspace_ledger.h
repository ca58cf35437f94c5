/* The record of data frames an address space allocated: (GPA, HPA) pairs kept
 * in frames from the HAL, so removal and destroy free exactly what was
 * allocated even when the second-stage table was edited by hand, and HPA ->
 * GPA works without scanning the table. */
#ifndef NESTWALK_LIB_ASPACE_LEDGER_H
#define NESTWALK_LIB_ASPACE_LEDGER_H

#include <nestwalk/aspace.h>

/* Records one frame; NW_ERR_NOMEM (nothing recorded) when a new ledger page
 * cannot be had. */
NW_MUST_CHECK nw_status_t nw_ledger_add(struct nw_aspace *as, nw_gpa_t gpa, nw_hpa_t hpa);
/* Calls drop() for every frame recorded at a GPA in [base, base + size), then
 * forgets it. drop() owns the frame from then on. */
void nw_ledger_drop_range(struct nw_aspace *as, nw_gpa_t base, uint64_t size,
			  void (*drop)(struct nw_aspace *as, nw_gpa_t gpa, nw_hpa_t hpa));
/* The GPA recorded for the frame holding hpa. */
bool nw_ledger_find_hpa(const struct nw_aspace *as, nw_hpa_t hpa, nw_gpa_t *gpa);
/* The frame recorded for the page holding gpa: what backs it, whatever the
 * second-stage table now says. */
bool nw_ledger_find_gpa(const struct nw_aspace *as, nw_gpa_t gpa, nw_hpa_t *frame);

#endif
