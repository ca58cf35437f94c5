/* Runs an EPT case blob (ept_case.h) in the VMX guest, one line per case on
 * the console in the format of vmx_outcome_format():
 *   v ID ok HPA AD              the access completed (HPA "-" for a fetch or an implicit read)
 *   v ID pf ERR CR2 AD          the guest's #PF (intercepted: exception bitmap bit 14)
 *   v ID eptv QUAL GPA GLA AD   EPT violation (exit reason 48), GLA "-" when not valid
 *   v ID misconfig GPA AD       EPT misconfiguration (exit reason 49)
 *   v ID raw VALUE AD           completed, but the word read is not a scratch tag
 *   v ID exc VEC ERR RIP AD     any other guest exception
 *   v ID exit REASON QUAL AD    any other VM exit
 *   v ID bad WHY                the case was refused (nothing ran) */
#ifndef HW_VMX_RUN_H
#define HW_VMX_RUN_H

#include <stdbool.h>
#include <stdint.h>

#include <nestwalk/hal.h>

#include "vmx_hv.h"

struct vmx_run_stats {
	uint64_t cases, refused, violations, misconfigs, page_faults, tsc_ticks;
};

/* false (after a message with the offset) on a malformed blob or a failed VM entry. */
bool vmx_run_blob(struct vmx_hv *hv, const struct nw_hal *hal, const uint8_t *blob, uint64_t size,
		  struct vmx_run_stats *stats);

#endif
