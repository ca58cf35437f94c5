/* Every entry in use of a table engine's tables, in nw_pt_visit's order, for
 * tests that compare two states of the tables entry by entry. */
#ifndef NESTWALK_TESTS_PT_DUMP_H
#define NESTWALK_TESTS_PT_DUMP_H

#include <criterion/criterion.h>
#include <stdlib.h>

#include <nestwalk/pt_build.h>

struct pt_row {
	int level;
	uint64_t table, va, entry;
	unsigned index;
};

struct pt_dump {
	struct pt_row *rows;
	size_t count, cap;
};

static void pt_dump_row(void *ctx, int level, uint64_t table, unsigned index, uint64_t va, uint64_t entry)
{
	struct pt_dump *dump = ctx;

	if (dump->count == dump->cap) {
		dump->cap = dump->cap ? 2 * dump->cap : 1024;
		dump->rows = realloc(dump->rows, dump->cap * sizeof(*dump->rows));
		cr_assert_not_null(dump->rows);
	}
	dump->rows[dump->count++] = (struct pt_row){ .level = level, .table = table, .va = va, .entry = entry,
						     .index = index };
}

/* The caller frees rows. */
static inline struct pt_dump pt_dump_take(const struct nw_pt *pt)
{
	struct pt_dump dump = { 0 };

	nw_pt_visit(pt, pt_dump_row, &dump);
	return dump;
}

static inline bool pt_row_same(const struct pt_row *a, const struct pt_row *b)
{
	return a->level == b->level && a->table == b->table && a->va == b->va && a->entry == b->entry &&
	       a->index == b->index;
}

#endif
