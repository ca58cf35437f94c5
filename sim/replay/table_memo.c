/* An open-addressing hash table of counted guest tables (table_memo.h). */
#include <stdlib.h>

#include "replay/table_memo.h"

static size_t slot_of(uint64_t key, size_t cap)
{
	return (size_t)((key * UINT64_C(0x9e3779b97f4a7c15)) >> 32) & (cap - 1); /* Fibonacci hashing */
}

static struct nw_table_memo_slot *lookup(const struct nw_table_memo *memo, uint64_t key)
{
	size_t i = slot_of(key, memo->cap);

	while (memo->slots[i].key && memo->slots[i].key != key)
		i = (i + 1) & (memo->cap - 1);
	return &memo->slots[i];
}

const struct nw_subtree *nw_table_memo_find(const struct nw_table_memo *memo, uint64_t table, unsigned level)
{
	const struct nw_table_memo_slot *slot;

	if (!memo->cap)
		return NULL;
	slot = lookup(memo, table | level);
	return slot->key ? &slot->subtree : NULL;
}

/* Kept at most half full, so a probe ends soon at an empty slot. */
static bool make_room(struct nw_table_memo *memo)
{
	struct nw_table_memo old = *memo;

	if (2 * (memo->used + 1) <= memo->cap)
		return true;
	memo->cap = old.cap ? 2 * old.cap : 1024;
	memo->slots = calloc(memo->cap, sizeof(*memo->slots));
	if (!memo->slots) {
		*memo = old;
		return false;
	}
	for (size_t i = 0; i < old.cap; i++)
		if (old.slots[i].key)
			*lookup(memo, old.slots[i].key) = old.slots[i];
	free(old.slots);
	return true;
}

bool nw_table_memo_add(struct nw_table_memo *memo, uint64_t table, unsigned level, struct nw_subtree subtree)
{
	struct nw_table_memo_slot *slot;

	if (!make_room(memo))
		return false;
	slot = lookup(memo, table | level);
	if (!slot->key)
		memo->used++;
	*slot = (struct nw_table_memo_slot){ table | level, subtree };
	return true;
}

void nw_table_memo_free(struct nw_table_memo *memo)
{
	free(memo->slots);
	*memo = (struct nw_table_memo){ 0 };
}
