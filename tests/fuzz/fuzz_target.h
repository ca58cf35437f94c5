/* The libFuzzer entry point every target defines (also what AFL++'s
 * libFuzzer-compatible driver and the regression replayer call). Returns 0;
 * a finding aborts. */
#ifndef NESTWALK_FUZZ_TARGET_H
#define NESTWALK_FUZZ_TARGET_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
