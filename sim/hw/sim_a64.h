/* nestwalk-hw-sim's AArch64 half (sim_a64_cases.c). */
#ifndef NESTWALK_SIM_HW_SIM_A64_H
#define NESTWALK_SIM_HW_SIM_A64_H

#include <stddef.h>
#include <stdint.h>

#include <nestwalk/hal.h>

/* Prints each case's line as the AArch64 image would from the library's answer; 0, or 2 after a message
 * naming the malformed case and its offset. */
int nw_hw_sim_a64_run(const uint8_t *data, size_t size, const struct nw_hal *hal, uint32_t case_count);

#endif
