/* The memory-latency floor: a native radix tree of pointers shaped like a page
 * table (512 eight-byte slots per 4 KiB table, the same number of leaves),
 * walked with a given number of dependent loads per operation and no checks.
 * A depth beyond the tree's levels starts a new descent from the root with an
 * index that depends on the last leaf, as the next level of a 2-D walk depends
 * on the last.
 *
 * The tree is not a paging format: its slots hold host pointers and its leaves
 * page numbers, indexed by page number, not by an address through an
 * nw_pt_format. Its own layout below only copies the size of a 4-level
 * table, so the floor has the guest tables' footprint. */
#include <stdlib.h>
#include <string.h>

#include "bench.h"

#define CHAIN_TABLE_BYTES 4096
#define CHAIN_INDEX_BITS 9 /* 512 eight-byte slots per table */
#define CHAIN_INDEX_MASK ((UINT64_C(1) << CHAIN_INDEX_BITS) - 1)

/* The slot of page number i in a table at level (1 = the leaves). */
static inline unsigned chain_index(uint64_t i, unsigned level)
{
	return (unsigned)((i >> (CHAIN_INDEX_BITS * (level - 1))) & CHAIN_INDEX_MASK);
}

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
	table = aligned_alloc(CHAIN_TABLE_BYTES, CHAIN_TABLE_BYTES);
	if (!table)
		return NULL;
	memset(table, 0, CHAIN_TABLE_BYTES);
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
			uint64_t *slot = &table[chain_index(i, level)];

			if (!*slot) {
				uint64_t *next = chain_table(chain);

				if (!next)
					return -1;
				*slot = (uint64_t)(uintptr_t)next;
			}
			table = (uint64_t *)(uintptr_t)*slot;
		}
		table[chain_index(i, 1)] = i << 12;
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
			value = table[chain_index(index, level)];
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
