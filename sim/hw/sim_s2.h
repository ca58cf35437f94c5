/* nestwalk-hw-sim's second-stage halves: AArch64 (sim_a64_cases.c), RISC-V (sim_rv_cases.c), over one case
 * loop (sim_s2_cases.c). */
#ifndef NESTWALK_SIM_HW_SIM_S2_H
#define NESTWALK_SIM_HW_SIM_S2_H

#include <stddef.h>
#include <stdint.h>

#include <nestwalk/hal.h>

#include "contract/case_tree.h"

/* An architecture's half: the length of what its case carries after the entries, and the case itself. */
struct nw_hw_sim_s2 {
	hw_case_tail_fn *tail; /* NULL: nothing after the entries */
	/* Builds one case as its image does and prints the image's line from the library's answer; NULL, or why
	 * the case is malformed (nothing printed, nothing left allocated). tail: the bytes tail measured. */
	const char *(*run_case)(const struct nw_hal *hal, const struct hw_blob_case *c,
				const struct hw_blob_entry *entries, const uint8_t *tail);
};

extern const struct nw_hw_sim_s2 nw_hw_sim_a64, nw_hw_sim_rv;

/* Each case's line; 0, or 2 after a message naming the malformed case and its offset. */
int nw_hw_sim_s2_run(const uint8_t *data, size_t size, const struct nw_hal *hal, uint32_t case_count,
		     const struct nw_hw_sim_s2 *arch);

#endif
