/* One nested-paging edit of a blob case (blob.h, HW_NPT_EDIT_*) applied to the
 * library's NPT, the same way in the image and in nestwalk-hw-sim. */
#ifndef HW_NPT_EDIT_H
#define HW_NPT_EDIT_H

#include <stdint.h>

#include <nestwalk/npt.h>

#include "contract/blob.h"

/* gpa: the page the edit names (a guest table's address, or value bits 51:12). */
NW_MUST_CHECK nw_status_t hw_npt_edit_apply(struct nw_npt *npt, uint64_t gpa, const struct hw_blob_entry *e);

#endif
