/* The host's model of the image's own map that an SVM guest fetches its code
 * through (layout.h; runner.c keeps the kernel's real slots in every case's
 * root): nestwalk-hw-sim and the case file's unit test walk it before the
 * case's access, as the guest's first fetch does. */
#ifndef HW_CODE_PATH_H
#define HW_CODE_PATH_H

#include <nestwalk/frame.h>
#include <nestwalk/walk.h>

#include "contract/blob.h"

#define HW_CODE_PATH_FRAMES 3

/* Adds the path to the case's root table (root: its host pointer) with frames from hal, down to the two stub
 * pages (HW_GUEST32_USER_PAGE, user; HW_GUEST32_PAGE, supervisor): PML4E 0, a PDPT, a PD and a PT (4-level);
 * PDPTE 0, a PD and a PT (PAE); PDE 1 and a PT (32-bit). frames[0..*count) get the frames; on failure none
 * stays allocated. */
NW_MUST_CHECK nw_status_t hw_case_code_path(const struct hw_blob_case *c, const struct nw_hal *hal, void *root,
					    struct nw_frame frames[HW_CODE_PATH_FRAMES], unsigned *count);

/* The guest's fetch of its first instruction (CPL 3 code lies in the user page). */
struct nw_access hw_case_code_fetch(const struct hw_blob_case *c);

#endif
