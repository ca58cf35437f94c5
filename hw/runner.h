/* Runs a case blob on the CPU's own MMU, one line of observed outcome per case
 * on the console:
 *   c ID ok PA AD         the access completed; PA is where a read through the GVA landed
 *   c ID pf ERR CR2 AD    #PF with its error code and CR2
 *   c ID gp AD            #GP (a non-canonical GVA)
 *   c ID exc VEC ERR AD   any other exception
 *   c ID npf INFO1 INFO2 AD   nested-paging case: #NPF exit with EXITINFO1 and EXITINFO2
 *   c ID exit CODE INFO1 INFO2 AD   nested-paging case: any other exit
 * (a nested-paging case's "pf" carries the intercepted #PF's EXITINFO1 and EXITINFO2,
 * that is its error code and CR2, and its "gp" an intercepted #GP; legacy-mode
 * cases (HW_CASE_PAE, HW_CASE_LEGACY32) run as SVM guests and print these lines too)
 *   c ID raw VALUE AD     completed, but the word read back is not a scratch tag
 *   c ID unsupported FEATURE
 * AD has one digit per case entry, in blob order: A + 2*D read back after the access.
 * "c ID" goes out before the case runs and the rest of the line after it, so
 * output that ends in "c ID" without an outcome names the case the CPU stopped in. */
#ifndef HW_RUNNER_H
#define HW_RUNNER_H

#include <stdbool.h>
#include <stdint.h>

#include "contract/case_check.h"
#include "frames.h"

struct hw_run_stats {
	uint64_t cases, faults, unsupported, control_writes, mode_switches, tsc_ticks;
	uint64_t built;   /* cases whose tables the library's guest page-table builder made */
	uint64_t patched; /* entries of built tables set to the blob's value afterwards */
	uint64_t nested;  /* cases run as an SVM guest with nested paging */
	uint64_t legacy;  /* of those, 32-bit guests with PAE or 32-bit paging */
};

/* Writes HW_TAG(pa) into every word of the scratch region. */
void hw_scratch_tag(void);
/* false (after a message naming the case and its offset) on a malformed blob. */
bool hw_run_blob(const uint8_t *blob, uint64_t size, struct hw_frames *frames, const struct hw_cpu_features *cpu,
		 struct hw_run_stats *stats);

#endif
