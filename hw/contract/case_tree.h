/* The tables of a second-stage case (AArch64 and RISC-V blobs): numbered tables linked into a tree below
 * table 0, each other table linked once from a table numbered before it, entries raw. What the images and
 * nestwalk-hw-sim check and follow alike. */
#ifndef HW_CASE_TREE_H
#define HW_CASE_TREE_H

#include <stdbool.h>
#include <stdint.h>

#include <nestwalk/hal.h>
#include <nestwalk/pt_build.h>

#include "contract/blob.h"

/* A link at or above HW_CASE_PAGE_LINK names page link - HW_CASE_PAGE_LINK of the case's own, a frame beside
 * its tables (AArch64: a stage-1 table, a64_s1.h) that a last-level entry maps; it is no edge of the tree. */
#define HW_CASE_PAGE_LINK 0x80
_Static_assert(HW_MAX_TABLES < HW_CASE_PAGE_LINK, "a table's link is below every page's");

static inline bool hw_case_is_page_link(const struct hw_blob_entry *e)
{
	return e->link >= HW_CASE_PAGE_LINK;
}

/* NULL, or why the entries do not form such a tree: a table or entry count out of range, an entry naming a
 * table out of range, a link to an earlier table or with an address of its own (value & addr_mask), a table
 * not linked exactly once, a link to a page beyond the case's page_count. */
const char *hw_case_tree_check(const struct hw_blob_case *c, const struct hw_blob_entry *entries, uint64_t addr_mask,
			       unsigned page_count);
/* NULL, or why the entries do not sit where the format's geometry has them: each inside its table, no link out
 * of a last-level table but to a page, no page linked from above it, nothing in the root entry that maps the
 * image's own block at image_addr, whose root entry the access's address (all its bits) must not share either. */
const char *hw_case_tree_check_places(const struct nw_pt_format *fmt, const struct hw_blob_case *c,
				      const struct hw_blob_entry *entries, uint64_t image_addr);
/* How many links lead from table 0 to table (0 for table 0). */
unsigned hw_case_tree_depth(const struct hw_blob_case *c, const struct hw_blob_entry *entries, unsigned table);
/* The entry at index of table, or NULL. */
const struct hw_blob_entry *hw_case_tree_find(const struct hw_blob_case *c, const struct hw_blob_entry *entries,
					      unsigned table, unsigned index);

/* Sets *len to the length of what a case carries after its entries (AArch64: a stage-1 part, a64_s1.h), read
 * from the room bytes at tail; false when they do not hold it. */
typedef bool hw_case_tail_fn(const struct hw_blob_case *c, const uint8_t *tail, uint64_t room, uint64_t *len);

/* The frames of a case's own pages (a guest stage's tables: AArch64 stage 1, RISC-V VS-stage): frames zeroed
 * into pages until *have reaches count; false without a frame (those given so far stay, for hw_case_pages_free). */
bool hw_case_pages_alloc(const struct nw_hal *hal, nw_hpa_t *pages, unsigned count, unsigned *have);
/* Frees the *have frames of pages; *have becomes 0. */
void hw_case_pages_free(const struct nw_hal *hal, const nw_hpa_t *pages, unsigned *have);

/* The case's tables in memory: table 0 the library's root, the others the case's own frames. */
struct hw_case_tables {
	const struct nw_hal *hal;
	unsigned table_pages; /* frames a table takes: 1, or 4 and 16 with the AArch64 16 and 64 KiB granules */
	unsigned count;       /* 0: nothing built */
	nw_hpa_t tables[HW_MAX_TABLES];
	uint16_t root_index[HW_MAX_ENTRIES]; /* root entries the case wrote, cleared before the library frees */
	unsigned root_count;
};

/* Allocates and zeroes tables 1.. of the case (t->table_pages contiguous frames each, aligned to their size)
 * and writes its entries raw (a link ORs in its table's address,
 * or its page's from pages, in the entry's bits as addr_shift says: 0 on AArch64, 2 for a RISC-V PPN at bit
 * 10); false without frames (the tables given so far stay in t, for hw_case_tables_undo). */
bool hw_case_tables_write(struct hw_case_tables *t, const struct hw_blob_case *c, const struct hw_blob_entry *entries,
			  unsigned addr_shift, const nw_hpa_t *pages);
/* Clears the case's root entries and frees its own tables; the root stays the library's to free. */
void hw_case_tables_undo(struct hw_case_tables *t);

#endif
