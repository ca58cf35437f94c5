/* The image's nested map of a case (an SVM guest: HW_CASE_NPT or a legacy
 * mode, case_mode.h), built by the library the same way in the image, in
 * nestwalk-hw-sim and in the unit test of the case file: the identity over the
 * direct map with R/W, then the case's nested edits (npt_edit.h). */
#ifndef HW_NPT_CASE_H
#define HW_NPT_CASE_H

#include <stdbool.h>
#include <stdint.h>

#include <nestwalk/npt.h>

#include "contract/blob.h"

/* 4 levels, NXE on the host (else bit 63 of a nested entry is reserved), 1 GiB pages when the CPU has them. */
struct nw_npt_config hw_npt_case_config(unsigned maxphyaddr, bool pages_1g);

/* On a created NPT: the identity map of [0, HW_DIRECT_MAP_SIZE), then each edit, an edit naming guest table n
 * (link n + 1) at table_pa[n], any other at its value's address. */
NW_MUST_CHECK nw_status_t hw_npt_case_map(struct nw_npt *npt, const struct hw_blob_entry *edits, unsigned count,
					  const uint64_t *table_pa);

#endif
