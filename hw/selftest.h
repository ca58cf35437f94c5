/* Boot self-test of the bare-metal HAL: library frames and VMX structures
 * allocate, hold what is written to them, and free with nothing leaked. */
#ifndef HW_SELFTEST_H
#define HW_SELFTEST_H

#include <stdbool.h>

#include "frames.h"

bool hw_selftest(struct hw_frames *frames);

#endif
