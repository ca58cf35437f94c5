/* What a guest table holds below it, remembered per table address and level,
 * so that a table referenced from many entries (or from its own) is counted
 * once: counting every present leaf of a guest's tables then reads each
 * table once per level, however the tables alias each other. */
#ifndef NESTWALK_SIM_TABLE_MEMO_H
#define NESTWALK_SIM_TABLE_MEMO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct nw_subtree {
	uint64_t pages, bytes; /* present leaves below a table (each alias counted) and the bytes they map */
};

struct nw_table_memo {
	struct nw_table_memo_slot {
		uint64_t key; /* table | level; 0: empty (a table is page-aligned, levels count from 1) */
		struct nw_subtree subtree;
	} *slots;
	size_t cap, used; /* cap: 0 or a power of two */
};

/* The subtree remembered for the page-aligned table at level, or NULL. */
const struct nw_subtree *nw_table_memo_find(const struct nw_table_memo *memo, uint64_t table, unsigned level);

/* Remembers it; false when the host is out of memory. */
bool nw_table_memo_add(struct nw_table_memo *memo, uint64_t table, unsigned level, struct nw_subtree subtree);

void nw_table_memo_free(struct nw_table_memo *memo);

#endif
