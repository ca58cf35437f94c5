#include "contract/case_tree.h"

const char *hw_case_tree_check(const struct hw_blob_case *c, const struct hw_blob_entry *entries, uint64_t addr_mask,
			       unsigned page_count)
{
	unsigned linked[HW_MAX_TABLES] = { 0 };

	if (c->table_count == 0 || c->table_count > HW_MAX_TABLES || c->entry_count > HW_MAX_ENTRIES)
		return "table or entry count out of range";
	for (unsigned i = 0; i < c->entry_count; i++) {
		const struct hw_blob_entry *e = &entries[i];

		if (hw_case_is_page_link(e)) {
			if (e->table >= c->table_count || (unsigned)(e->link - HW_CASE_PAGE_LINK) >= page_count ||
			    e->reserved || (e->value & addr_mask))
				return "a link to a page the case lacks, or with an address of its own";
			continue;
		}
		if (e->table >= c->table_count || e->link > c->table_count || e->reserved)
			return "an entry names a table out of range";
		if (e->link && (e->link - 1u <= e->table || (e->value & addr_mask)))
			return "a link to an earlier table, or with an address of its own";
		if (e->link)
			linked[e->link - 1]++;
	}
	for (unsigned t = 1; t < c->table_count; t++)
		if (linked[t] != 1)
			return "a table not linked exactly once";
	return 0;
}

unsigned hw_case_tree_depth(const struct hw_blob_case *c, const struct hw_blob_entry *entries, unsigned table)
{
	unsigned depth = 0;

	while (table != 0) {
		for (unsigned i = 0; i < c->entry_count; i++) {
			if (entries[i].link == table + 1) {
				table = entries[i].table;
				break;
			}
		}
		depth++;
	}
	return depth;
}

const char *hw_case_tree_check_places(const struct nw_pt_format *fmt, const struct hw_blob_case *c,
				      const struct hw_blob_entry *entries, uint64_t image_addr)
{
	unsigned image_slot = nw_pt_index(fmt, fmt->top, image_addr), shift = fmt->level[fmt->top].shift;

	if (c->gva >> shift == image_addr >> shift)
		return "the address shares the image's root entry";
	for (unsigned i = 0; i < c->entry_count; i++) {
		int level = fmt->top - (int)hw_case_tree_depth(c, entries, entries[i].table);

		if (level < NW_LEVEL_PT || entries[i].index >= fmt->level[level].entries)
			return "an entry outside its table";
		if (entries[i].link && !hw_case_is_page_link(&entries[i]) && level == NW_LEVEL_PT)
			return "a link from a last-level table";
		if (hw_case_is_page_link(&entries[i]) && level != NW_LEVEL_PT)
			return "a page linked from above the last level";
		if (entries[i].table == 0 && entries[i].index == image_slot)
			return "an entry in the image's slot of the root table";
	}
	return 0;
}

const struct hw_blob_entry *hw_case_tree_find(const struct hw_blob_case *c, const struct hw_blob_entry *entries,
					      unsigned table, unsigned index)
{
	for (unsigned i = 0; i < c->entry_count; i++)
		if (entries[i].table == table && entries[i].index == index)
			return &entries[i];
	return 0;
}

static uint64_t *entry_at(const struct hw_case_tables *t, unsigned table, unsigned index)
{
	return (uint64_t *)nw_hal_phys_to_virt(t->hal, t->tables[table]) + index;
}

bool hw_case_tables_write(struct hw_case_tables *t, const struct hw_blob_case *c, const struct hw_blob_entry *entries,
			  unsigned addr_shift, const nw_hpa_t *pages)
{
	unsigned frames = t->table_pages;

	for (; t->count < c->table_count; t->count++) {
		if (!(frames == 1 ? nw_hal_alloc_frame(t->hal, &t->tables[t->count])
				  : nw_hal_alloc_frames(t->hal, frames, &t->tables[t->count])))
			return false;
		for (unsigned i = 0; i < frames * NW_PAGE_SIZE / sizeof(uint64_t); i++)
			*entry_at(t, t->count, i) = 0;
	}
	for (unsigned i = 0; i < c->entry_count; i++) {
		const struct hw_blob_entry *e = &entries[i];
		nw_hpa_t link = hw_case_is_page_link(e) ? pages[e->link - HW_CASE_PAGE_LINK]
				: e->link               ? t->tables[e->link - 1]
							: nw_hpa(0);

		*entry_at(t, e->table, e->index) = e->value | link.val >> addr_shift;
		if (e->table == 0)
			t->root_index[t->root_count++] = e->index;
	}
	return true;
}

void hw_case_tables_undo(struct hw_case_tables *t)
{
	for (unsigned i = 0; i < t->root_count; i++)
		*entry_at(t, 0, t->root_index[i]) = 0;
	for (unsigned n = 1; n < t->count; n++)
		for (unsigned page = 0; page < t->table_pages; page++)
			nw_hal_dealloc_frame(t->hal, nw_hpa(t->tables[n].val + page * NW_PAGE_SIZE));
	t->root_count = 0;
	t->count = 0;
}

bool hw_case_pages_alloc(const struct nw_hal *hal, nw_hpa_t *pages, unsigned count, unsigned *have)
{
	for (; *have < count; (*have)++) {
		uint64_t *page;

		if (!nw_hal_alloc_frame(hal, &pages[*have]))
			return false;
		page = nw_hal_phys_to_virt(hal, pages[*have]);
		for (unsigned i = 0; i < NW_PAGE_SIZE / sizeof(*page); i++)
			page[i] = 0;
	}
	return true;
}

void hw_case_pages_free(const struct nw_hal *hal, const nw_hpa_t *pages, unsigned *have)
{
	for (unsigned i = 0; i < *have; i++)
		nw_hal_dealloc_frame(hal, pages[i]);
	*have = 0;
}
