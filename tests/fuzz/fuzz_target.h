/* The libFuzzer entry point every target defines (also what AFL++'s
 * libFuzzer-compatible driver and the regression replayer call). Returns 0;
 * a finding aborts. */
#ifndef NESTWALK_FUZZ_TARGET_H
#define NESTWALK_FUZZ_TARGET_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <nestwalk/walk.h>

#include "mem/simmem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Storage for a walker (walk.h), slot 0 or 1, kept for the process: inputs
 * build their walkers in it again and again. */
static inline void *fz_walker_storage(unsigned slot)
{
	static void *storage[2];

	if (!storage[slot] && !(storage[slot] = malloc(nw_walker_size())))
		abort();
	return storage[slot];
}

/* One strict, poisoned host of size bytes for every input of a target, created on the first and reset after
 * each (nw_simmem_reset): a new one per input costs more in mmap/munmap than the work itself. NULL when it
 * cannot be created. */
static inline struct nw_simmem *fz_shared_host(uint64_t size)
{
	static struct nw_simmem *sim;
	struct nw_simmem_config config = { .size = size, .strict = true, .poison = true, .keep_freed = true };

	if (!sim)
		sim = nw_simmem_create(&config);
	return sim;
}

#endif
