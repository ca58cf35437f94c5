#include "case_tables.h"

#include <nestwalk/x86_pte.h>

#include "contract/case_mode.h"
#include "frames.h"
#include "libc.h"

static uint64_t slot_get(const void *slot, unsigned bytes)
{
	return bytes == 4 ? *(const uint32_t *)slot : *(const uint64_t *)slot;
}

/* 32-bit paging keeps value bits 31:0 (case_check.c refuses any above). */
static void slot_set(void *slot, unsigned bytes, uint64_t value)
{
	if (bytes == 4)
		*(uint32_t *)slot = (uint32_t)value;
	else
		*(uint64_t *)slot = value;
}

static void *slot_ptr(const struct hw_case_tables *ct, const struct hw_blob_entry *e)
{
	return (uint8_t *)hw_direct(ct->table_pa[e->table]) + (uint64_t)e->index * ct->entry_bytes;
}

static int find_entry(const struct hw_blob_case *c, const struct hw_blob_entry *entries, unsigned table,
		      unsigned index)
{
	for (unsigned i = 0; i < c->entry_count; i++)
		if (entries[i].table == table && entries[i].index == index)
			return (int)i;
	return -1;
}

/* Fills path[level] with the entry used at each level and returns the leaf's
 * level, or 0 unless the case is exactly one path (one entry and one table per
 * level) ending in a present leaf. */
static unsigned find_path(const struct hw_blob_case *c, const struct hw_blob_entry *entries, int path[6])
{
	unsigned table = 0, used = 0;

	for (unsigned level = hw_case_top_level(c); level >= 1; level--) {
		int i = find_entry(c, entries, table, hw_case_index(c, level, c->gva));
		uint64_t value;

		if (i < 0)
			return 0;
		path[level] = i;
		used++;
		value = entries[i].value;
		if (!(value & NW_PTE_P))
			return 0;
		if (hw_case_is_leaf(c, level, value))
			return used == c->entry_count && used == c->table_count ? level : 0;
		if (!entries[i].link)
			return 0;
		table = entries[i].link - 1u;
	}
	return 0;
}

static bool build_raw(struct hw_case_tables *ct, const struct nw_hal *hal, const struct hw_blob_case *c)
{
	for (unsigned t = 0; t < c->table_count; t++) {
		if (nw_frame_alloc(&ct->frames[t], hal) != NW_OK) {
			while (t--)
				nw_frame_free(&ct->frames[t]);
			return false;
		}
		memset(nw_frame_ptr(&ct->frames[t]), 0, NW_PAGE_SIZE);
		ct->table_pa[t] = nw_frame_paddr(&ct->frames[t]).val;
	}
	ct->table_count = c->table_count;
	return true;
}

/* The builder's form of the path: the leaf's page and attributes, and each
 * upper entry's flags; whatever it cannot express is left to the patch. */
static bool build_with_library(struct hw_case_tables *ct, const struct nw_hal *hal, const struct hw_blob_case *c,
			       const struct hw_blob_entry *entries, const int path[6], unsigned leaf_level)
{
	uint64_t table_flags[NW_MAX_LEVELS + 1] = { 0 };
	uint64_t leaf = entries[path[leaf_level]].value;
	uint64_t size = hw_case_leaf_size(c, leaf_level);
	uint64_t keep_out = NW_PTE_ADDR_MASK | NW_PTE_PS;
	struct nw_pt_leaf found;
	enum nw_gpt_mode mode = (c->flags & HW_CASE_LA57) ? NW_GPT_5LEVEL : NW_GPT_4LEVEL;

	if (c->flags & HW_CASE_LEGACY32) {
		mode = NW_GPT_32BIT;
		keep_out |= NW_PDE32_4M_ADDR_HIGH_MASK;
	} else if (c->flags & HW_CASE_PAE) {
		mode = NW_GPT_PAE;
	}
	for (unsigned level = hw_case_top_level(c); level > leaf_level; level--)
		table_flags[level] = entries[path[level]].value & ~keep_out;
	if (nw_gpt_create(&ct->gpt, mode, nw_pt_mem_hal(hal)) != NW_OK)
		return false;
	if (nw_gpt_map(&ct->gpt, nw_gva(c->gva & ~(size - 1)), nw_gpa(hw_case_leaf_base(c, leaf_level, leaf)), size,
		       leaf & ~keep_out, table_flags) != NW_OK ||
	    nw_gpt_query(&ct->gpt, nw_gva(c->gva), &found) != NW_OK || found.level != (int)leaf_level) {
		nw_gpt_destroy(&ct->gpt);
		return false;
	}
	for (unsigned level = hw_case_top_level(c); level >= leaf_level; level--)
		ct->table_pa[entries[path[level]].table] = found.tables[level];
	ct->table_count = c->table_count;
	ct->built = true;
	return true;
}

bool hw_case_tables_build(struct hw_case_tables *ct, const struct nw_hal *hal, const struct hw_blob_case *c,
			  const struct hw_blob_entry *entries)
{
	int path[6];
	unsigned leaf_level = find_path(c, entries, path);

	*ct = (struct hw_case_tables){ .entry_bytes = hw_case_entry_bytes(c) };
	if (!leaf_level || !build_with_library(ct, hal, c, entries, path, leaf_level)) {
		if (!build_raw(ct, hal, c))
			return false;
	}
	/* The blob's exact values; in built form, note what the builder had there. */
	for (unsigned i = 0; i < c->entry_count; i++) {
		const struct hw_blob_entry *e = &entries[i];
		void *slot = slot_ptr(ct, e);
		uint64_t want = e->value | (e->link ? ct->table_pa[e->link - 1] : 0);
		uint64_t had = slot_get(slot, ct->entry_bytes);

		if (ct->built && had != want) {
			ct->patches[ct->patch_count].entry = slot;
			ct->patches[ct->patch_count].built = had;
			ct->patch_count++;
		}
		slot_set(slot, ct->entry_bytes, want);
	}
	return true;
}

uint64_t hw_case_tables_get(const struct hw_case_tables *ct, const struct hw_blob_entry *e)
{
	return slot_get(slot_ptr(ct, e), ct->entry_bytes);
}

uint64_t hw_case_tables_root(const struct hw_case_tables *ct)
{
	return ct->table_pa[0];
}

void hw_case_tables_add_kernel(struct hw_case_tables *ct, const uint64_t *slots, unsigned count)
{
	uint8_t *root = hw_direct(ct->table_pa[0]);

	for (unsigned i = 0; i < count; i++)
		slot_set(root + i * ct->entry_bytes, ct->entry_bytes, slots[i]);
	ct->kernel_slots = count;
}

void hw_case_tables_free(struct hw_case_tables *ct)
{
	uint8_t *root = hw_direct(ct->table_pa[0]);

	for (unsigned i = 0; i < ct->kernel_slots; i++)
		slot_set(root + i * ct->entry_bytes, ct->entry_bytes, 0);
	if (!ct->built) {
		for (unsigned t = 0; t < ct->table_count; t++)
			nw_frame_free(&ct->frames[t]);
		return;
	}
	/* Hand the builder back its own entries (the CPU may have set A/D meanwhile). */
	for (unsigned i = ct->patch_count; i--;)
		slot_set(ct->patches[i].entry, ct->entry_bytes, ct->patches[i].built);
	nw_gpt_destroy(&ct->gpt);
}
