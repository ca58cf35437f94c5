/* The memory-latency floor: a native radix tree of pointers shaped like a page
 * table (512 eight-byte slots per 4 KiB table, the same number of leaves),
 * walked with a given number of dependent loads per operation and no checks.
 * A depth beyond the tree's levels starts a new descent from the root with an
 * index that depends on the last leaf, as the next level of a 2-D walk depends
 * on the last. */
#include <stdlib.h>
#include <string.h>

#include "bench.h"

static uint64_t *chain_table(struct bench_chain *chain)
{
	uint64_t *table;

	if (chain->ntables == chain->cap) {
		size_t cap = chain->cap ? chain->cap * 2 : 64;
		void **grown = realloc(chain->tables, cap * sizeof(*grown));

		if (!grown)
			return NULL;
		chain->tables = grown;
		chain->cap = cap;
	}
	table = aligned_alloc(4096, 4096);
	if (!table)
		return NULL;
	memset(table, 0, 4096);
	chain->tables[chain->ntables++] = table;
	return table;
}

int bench_chain_build(struct bench_chain *chain, unsigned levels, uint64_t npages)
{
	memset(chain, 0, sizeof(*chain));
	chain->levels = levels;
	chain->npages = npages;
	chain->root = chain_table(chain);
	if (!chain->root)
		return -1;
	for (uint64_t i = 0; i < npages; i++) {
		uint64_t *table = chain->root;

		for (unsigned level = levels; level > 1; level--) {
			uint64_t *slot = &table[(i >> (9 * (level - 1))) & 511];

			if (!*slot) {
				uint64_t *next = chain_table(chain);

				if (!next)
					return -1;
				*slot = (uint64_t)(uintptr_t)next;
			}
			table = (uint64_t *)(uintptr_t)*slot;
		}
		table[i & 511] = i << 12;
	}
	return 0;
}

void bench_chain_destroy(struct bench_chain *chain)
{
	for (size_t i = 0; i < chain->ntables; i++)
		free(chain->tables[i]);
	free(chain->tables);
	memset(chain, 0, sizeof(*chain));
}

double bench_chain_time(const struct bench_chain *chain, unsigned depth, uint64_t iters)
{
	uint64_t mask = chain->npages - 1, index = 0, value = 0;
	double start = bench_now_ns();

	for (uint64_t i = 0; i < iters; i++) {
		const uint64_t *table = chain->root;
		unsigned level = chain->levels;

		for (unsigned k = 0; k < depth; k++) {
			value = table[(index >> (9 * (level - 1))) & 511];
			if (--level == 0) {
				index = (index * UINT64_C(0x9E3779B97F4A7C15) + 1 + ((value >> 12) & 1)) & mask;
				table = chain->root;
				level = chain->levels;
			} else {
				table = (const uint64_t *)(uintptr_t)value;
			}
		}
		if (level != chain->levels)
			index = (index * UINT64_C(0x9E3779B97F4A7C15) + 1 + (value & 1)) & mask;
	}
	/* Keep the loads: the compiler cannot see that value is unused. */
	__asm__ volatile("" : : "r"(value));
	return (bench_now_ns() - start) / (double)iters;
}
