/* The one walker/builder behind every table format (see pt_build.h). */
#include <nestwalk/assert.h>
#include <nestwalk/mem.h>
#include <nestwalk/pt_build.h>

#include "gpt_formats.h"

#define PSE36_LOW_MASK UINT64_C(0xffc00000)
#define PSE36_HIGH_SHIFT 13
#define PSE36_HIGH_BITS UINT64_C(0xff)
#define PSE36_LIMIT (UINT64_C(1) << 40)

/* Live counts. Emptiness must be O(1), so each table's count of non-zero
 * entries is kept, in host memory beside the tables rather than in the
 * entries: an entry's software-available bits are read by the hardware
 * (ignored, but part of what a walk records and prints), and 32-bit and PAE
 * entries have only bits 11:9 of them, too few for a count up to 1024.
 *
 * Every table above level 1 has a count page, one slot per entry, as wide as
 * an entry: the slot of a table-pointing entry holds the child's count in the
 * bits below the child's count page's alignment (11:0; 13:0 and 15:0 with the
 * 16 and 64 KiB AArch64 granules, whose tables and count pages are 4 and 16
 * pages) and that count page above them (0 for a level-1 child);
 * the slot of any other entry is 0. The root's count page is pt->root_counts;
 * the root's own count is not kept (it is never freed). Count pages come from
 * mem.host; without it counts are not kept and emptiness is found by a scan.
 *
 * Guest tables live in memory the guest can write, so a count is a hint that
 * never frees a table in use: a table is freed only when its count is 0 and a
 * scan confirms it (once per table freed, as cheap as the zeroing that made
 * it); a count found wrong is recounted. A table the guest emptied behind the
 * engine may keep a stale non-zero count and stays until destroyed. */
static inline uint64_t count_mask(const struct nw_pt_format *fmt)
{
	return nw_pt_table_pages(fmt, NW_LEVEL_PT) * NW_PAGE_SIZE - 1;
}

/* Tables (and their count pages) reserved before a change starts, so the change itself cannot fail. */
#define POOL_MAX (2 * NW_MAX_LEVELS)

struct pool {
	struct {
		uint64_t table, counts; /* counts: 0 for a level-1 table or without host memory */
		int level;
	} item[POOL_MAX];
	int count;
};

/* A table as a descent reaches it: where it is, its count page (the counts
 * of its children) and the slot of its parent's count page holding its own
 * count (up is NULL for the root and without host memory). */
struct table_at {
	int level;
	uint64_t addr;
	void *ptr;
	uint64_t counts;
	void *counts_ptr;
	void *up;
	unsigned up_index;
};

/* Where a descent stopped: the table and the entry there. */
struct spot {
	struct table_at t;
	unsigned index;
	uint64_t entry;
};

/* The descents every call starts with are instantiated, as walk_fast.c's
 * copies are, for the geometry of x86 4- and 5-level paging: a format with
 * its entry size, top, shifts, widths and leaf levels (EPT, NPT, the guest's
 * 4- and 5-level formats) is descended with those as constants, read from the
 * guest formats' data. Its own bits (page-size or link bit, address masks)
 * stay the format's. Any other format takes the general copy. */
enum geometry { GEOMETRY_ANY, GEOMETRY_4LEVEL, GEOMETRY_5LEVEL };

static bool same_geometry(const struct nw_pt_format *a, const struct nw_pt_format *b)
{
	if (a->entry_size != b->entry_size || a->top != b->top)
		return false;
	for (int level = NW_LEVEL_PT; level <= a->top; level++)
		if (a->level[level].shift != b->level[level].shift || a->level[level].entries != b->level[level].entries ||
		    a->level[level].leaf_ok != b->level[level].leaf_ok)
			return false;
	return true;
}

static enum geometry geometry_of(const struct nw_pt_format *fmt)
{
	if (same_geometry(fmt, &nw_gpt_fmt_4level))
		return GEOMETRY_4LEVEL;
	if (same_geometry(fmt, &nw_gpt_fmt_5level))
		return GEOMETRY_5LEVEL;
	return GEOMETRY_ANY;
}

/* nw_pt_is_link with the level's geometry from geo and the type bits from fmt. */
static inline bool is_link_in(const struct nw_pt_format *geo, const struct nw_pt_format *fmt, int level,
			      uint64_t entry)
{
	if (entry == 0 || level == NW_LEVEL_PT)
		return false;
	return !(geo->level[level].leaf_ok && ((entry & fmt->ps_bit) | (~entry & fmt->link_bit)) != 0);
}

static uint64_t size_of(const struct nw_pt_format *fmt, int level)
{
	return nw_pt_level_size(fmt, level);
}

static bool is_aligned(uint64_t val, uint64_t size)
{
	return (val & (size - 1)) == 0;
}

uint64_t nw_pt_leaf_addr(const struct nw_pt_format *fmt, int level, uint64_t entry)
{
	if (fmt->pse36 && level == NW_LEVEL_PD)
		return (entry & PSE36_LOW_MASK) | (((entry >> PSE36_HIGH_SHIFT) & PSE36_HIGH_BITS) << 32);
	return (entry & fmt->level[level].leaf_addr_mask) << fmt->addr_shift;
}

uint64_t nw_pt_leaf_attrs(const struct nw_pt_format *fmt, int level, uint64_t entry)
{
	uint64_t attrs = entry & ~fmt->table_addr_mask;

	if (level == NW_LEVEL_PT || fmt->ps_in_attrs)
		return attrs;
	attrs &= ~fmt->ps_bit;
	if (fmt->pat_large_bit && (entry & fmt->pat_large_bit))
		attrs |= fmt->pat_small_bit;
	return attrs;
}

static inline uint64_t leaf_make(const struct nw_pt_format *fmt, int level, uint64_t pa, uint64_t attrs)
{
	uint64_t addr = pa >> fmt->addr_shift;

	if (level == NW_LEVEL_PT)
		return addr | attrs | fmt->link_bit;
	attrs &= ~fmt->link_bit;
	if (fmt->pse36 && level == NW_LEVEL_PD)
		addr = (pa & PSE36_LOW_MASK) | (((pa >> 32) & PSE36_HIGH_BITS) << PSE36_HIGH_SHIFT);
	if (fmt->pat_small_bit && (attrs & fmt->pat_small_bit)) {
		attrs &= ~fmt->pat_small_bit;
		attrs |= fmt->pat_large_bit;
	}
	return addr | attrs | (fmt->ps_in_attrs ? 0 : fmt->ps_bit);
}

static inline bool leaf_addr_ok(const struct nw_pt_format *fmt, int level, uint64_t pa)
{
	if (!is_aligned(pa, size_of(fmt, level)))
		return false;
	if (fmt->pse36 && level == NW_LEVEL_PD)
		return pa < PSE36_LIMIT;
	return ((pa >> fmt->addr_shift) & ~fmt->level[level].leaf_addr_mask) == 0;
}

uint64_t nw_pt_leaf_make(const struct nw_pt_format *fmt, int level, uint64_t pa, uint64_t attrs)
{
	return leaf_make(fmt, level, pa, attrs);
}

bool nw_pt_leaf_addr_ok(const struct nw_pt_format *fmt, int level, uint64_t pa)
{
	return leaf_addr_ok(fmt, level, pa);
}

static bool attrs_ok(const struct nw_pt_format *fmt, uint64_t attrs)
{
	if (attrs & fmt->table_addr_mask)
		return false;
	/* Where the leaf bits are rights, a leaf needs one (else it would read as a table pointer). */
	if (fmt->ps_in_attrs ? !(attrs & fmt->ps_bit) : fmt->ps_bit != fmt->pat_small_bit && (attrs & fmt->ps_bit))
		return false;
	if (attrs & fmt->link_bit)
		return false;
	return fmt->entry_size == 8 || (attrs >> 32) == 0;
}

static void *table_ptr(const struct nw_pt *pt, uint64_t addr)
{
	void *ptr = nw_pt_table_ptr(pt, addr);

	/* Tables only come from the memory interface; a hole is a broken interface. */
	NW_ASSERT(ptr != 0);
	return ptr;
}

static uint64_t link_make(const struct nw_pt *pt, int level, uint64_t child)
{
	uint64_t field = child >> pt->fmt->addr_shift;

	if (pt->table_bits && pt->table_bits[level])
		return field | pt->table_bits[level];
	return field | pt->fmt->level[level].table_bits;
}

static inline void *counts_ptr(const struct nw_pt *pt, uint64_t addr)
{
	void *ptr = addr ? nw_hal_phys_to_virt(pt->mem.host, nw_hpa(addr)) : 0;

	/* Count pages are the library's own host memory: a hole is a HAL bug. */
	NW_ASSERT(ptr != 0 || addr == 0);
	return ptr;
}

static unsigned entries_of(const struct nw_pt_format *fmt, int level)
{
	return fmt->level[level].entries;
}

/* Out of line: the rare recount stays out of the hot paths count_step is inlined into. */
static __attribute__((noinline)) unsigned count_entries(const struct nw_pt_format *fmt, int level, const void *ptr)
{
	unsigned live = 0;

	for (unsigned i = 0; i < entries_of(fmt, level); i++)
		live += nw_pt_entry_get(fmt, ptr, i) != 0;
	return live;
}

static inline unsigned count_get(const struct nw_pt_format *fmt, const struct table_at *t)
{
	return (unsigned)(nw_pt_entry_get(fmt, t->up, t->up_index) & count_mask(fmt));
}

static inline void count_put(const struct nw_pt_format *fmt, const struct table_at *t, unsigned count)
{
	uint64_t slot = nw_pt_entry_get(fmt, t->up, t->up_index);

	nw_pt_entry_put(fmt, t->up, t->up_index, (slot & ~count_mask(fmt)) | count);
}

/* One entry of t went from zero to non-zero (added) or back. A count that
 * cannot take the step was changed behind the engine: it is recounted. */
static inline __attribute__((always_inline)) void count_step(const struct nw_pt_format *fmt,
								const struct table_at *t, bool added)
{
	unsigned count = count_get(fmt, t);

	if (added && count < entries_of(fmt, t->level))
		count_put(fmt, t, count + 1);
	else if (!added && count > 0)
		count_put(fmt, t, count - 1);
	else
		count_put(fmt, t, count_entries(fmt, t->level, t->ptr));
}

/* Writes an entry, noting when it replaces one in use (a cached translation
 * may be stale) and keeping the table's live count; geo: pt's format or one
 * of the same geometry (see descend_in). */
static inline __attribute__((always_inline)) void entry_set_in(const struct nw_pt_format *geo,
								  const struct table_at *t, unsigned index,
								  uint64_t entry, bool *stale)
{
	uint64_t old = nw_pt_entry_get(geo, t->ptr, index);

	if (old != 0 && old != entry)
		*stale = true;
	nw_pt_entry_put(geo, t->ptr, index, entry);
	if (t->up && (old == 0) != (entry == 0))
		count_step(geo, t, entry != 0);
}

static void entry_set(const struct nw_pt *pt, const struct table_at *t, unsigned index, uint64_t entry, bool *stale)
{
	entry_set_in(pt->fmt, t, index, entry, stale);
}

/* Whether t holds no entry: its count says so and a scan agrees (see Live counts). */
static bool table_is_empty(const struct nw_pt *pt, const struct table_at *t)
{
	unsigned live;

	if (t->up && count_get(pt->fmt, t) != 0)
		return false;
	live = count_entries(pt->fmt, t->level, t->ptr);
	if (t->up && live != 0)
		count_put(pt->fmt, t, live);
	return live == 0;
}

/* The count page of the level-level child whose count is at up's index (0 for a page table). */
static inline uint64_t child_counts(const struct nw_pt *pt, const void *up, unsigned index, int level)
{
	return up && level > NW_LEVEL_PT ? nw_pt_entry_get(pt->fmt, up, index) & ~count_mask(pt->fmt) : 0;
}

/* t becomes the child table its link entry at index points to. */
static void table_enter(const struct nw_pt *pt, struct table_at *t, unsigned index, uint64_t entry)
{
	void *up = t->counts_ptr;

	t->level--;
	t->addr = nw_pt_link_addr(pt, entry);
	t->ptr = table_ptr(pt, t->addr);
	t->up = up;
	t->up_index = index;
	t->counts = child_counts(pt, up, index, t->level);
	t->counts_ptr = counts_ptr(pt, t->counts);
}

static struct table_at table_child(const struct nw_pt *pt, const struct table_at *t, unsigned index, uint64_t entry)
{
	struct table_at child = *t;

	table_enter(pt, &child, index, entry);
	return child;
}

static struct table_at table_root(const struct nw_pt *pt)
{
	return (struct table_at){ .level = pt->fmt->top, .addr = pt->root, .ptr = table_ptr(pt, pt->root),
				  .counts = pt->root_counts, .counts_ptr = counts_ptr(pt, pt->root_counts) };
}

/* pages contiguous pages (more than one only for a large root). */
static bool page_alloc(const struct nw_pt *pt, bool host, uint64_t pages, uint64_t *addr)
{
	if (host) {
		nw_hpa_t frame;

		if (!(pages == 1 ? nw_hal_alloc_frame(pt->mem.host, &frame)
				 : nw_hal_alloc_frames(pt->mem.host, pages, &frame)))
			return false;
		*addr = frame.val;
	} else if (!(pages == 1 ? pt->mem.ops->alloc(pt->mem.ctx, addr)
				: pt->mem.ops->alloc_span && pt->mem.ops->alloc_span(pt->mem.ctx, pages, addr))) {
		return false;
	}
	/* A count page's address 0 means none (the HAL never hands out frame 0, as the frame ledger relies on). */
	NW_ASSERT(is_aligned(*addr, pages * NW_PAGE_SIZE) && (*addr != 0 || !host));
	nw_mem_fill(host ? counts_ptr(pt, *addr) : table_ptr(pt, *addr), 0, pages * NW_PAGE_SIZE);
	return true;
}

static void page_free(const struct nw_pt *pt, bool host, uint64_t pages, uint64_t addr)
{
	for (uint64_t i = 0; i < pages; i++) {
		if (host && addr)
			nw_hal_dealloc_frame(pt->mem.host, nw_hpa(addr + i * NW_PAGE_SIZE));
		else if (!host)
			pt->mem.ops->free(pt->mem.ctx, addr + i * NW_PAGE_SIZE);
	}
}

/* A table at level and, above level 1 with host memory, its count page(s): one slot per entry. */
static bool table_alloc(const struct nw_pt *pt, int level, uint64_t *table, uint64_t *counts)
{
	uint64_t pages = nw_pt_table_pages(pt->fmt, level);

	*counts = 0;
	if (!page_alloc(pt, false, pages, table))
		return false;
	if (level > NW_LEVEL_PT && pt->mem.host && !page_alloc(pt, true, pages, counts)) {
		page_free(pt, false, pages, *table);
		return false;
	}
	return true;
}

static void table_free(const struct nw_pt *pt, int level, uint64_t table, uint64_t counts)
{
	uint64_t pages = nw_pt_table_pages(pt->fmt, level);

	page_free(pt, false, pages, table);
	page_free(pt, true, pages, counts);
}

static void pool_release(const struct nw_pt *pt, struct pool *pool)
{
	while (pool->count > 0) {
		pool->count--;
		table_free(pt, pool->item[pool->count].level, pool->item[pool->count].table,
			   pool->item[pool->count].counts);
	}
}

/* count tables at levels top, top - 1, ... */
static nw_status_t pool_fill(const struct nw_pt *pt, struct pool *pool, int top, int count)
{
	NW_ASSERT(pool->count + count <= POOL_MAX);
	for (int i = 0; i < count; i++) {
		int level = top - i;

		if (!table_alloc(pt, level, &pool->item[pool->count].table, &pool->item[pool->count].counts)) {
			pool_release(pt, pool);
			return NW_ERR_NOMEM;
		}
		pool->item[pool->count++].level = level;
	}
	return NW_OK;
}

/* A reserved table at level, become the child at parent's index. */
static struct table_at pool_take(const struct nw_pt *pt, struct pool *pool, int level, const struct table_at *parent,
				 unsigned index)
{
	struct table_at t = { .level = level };

	for (int i = pool->count - 1; i >= 0; i--) {
		if (pool->item[i].level != level)
			continue;
		t.addr = pool->item[i].table;
		t.counts = pool->item[i].counts;
		pool->item[i] = pool->item[--pool->count];
		t.ptr = table_ptr(pt, t.addr);
		t.counts_ptr = counts_ptr(pt, t.counts);
		if (parent->counts_ptr) {
			t.up = parent->counts_ptr;
			t.up_index = index;
			nw_pt_entry_put(pt->fmt, t.up, index, t.counts);
		}
		return t;
	}
	/* The reservation counted every table the change needs. */
	NW_ASSERT(false);
	return t;
}

static void subtree_free(const struct nw_pt *pt, const struct table_at *t)
{
	const struct nw_pt_format *fmt = pt->fmt;

	/* A page table points to no table: freeing one needs no look inside. */
	for (unsigned i = 0; t->level > NW_LEVEL_PT && i < entries_of(fmt, t->level); i++) {
		uint64_t entry = nw_pt_entry_get(fmt, t->ptr, i);

		if (nw_pt_is_link(fmt, t->level, entry)) {
			struct table_at child = table_child(pt, t, i, entry);

			subtree_free(pt, &child);
		}
	}
	table_free(pt, t->level, t->addr, t->counts);
}

/* Frees the tables below the link entry that was at t's index, now rewritten. */
static void child_drop(const struct nw_pt *pt, const struct table_at *t, unsigned index, uint64_t link)
{
	struct table_at child = table_child(pt, t, index, link);

	subtree_free(pt, &child);
	if (t->counts_ptr)
		nw_pt_entry_put(pt->fmt, t->counts_ptr, index, 0);
}

static void spot_read(const struct nw_pt *pt, struct spot *spot, uint64_t va)
{
	spot->index = nw_pt_index(pt->fmt, spot->t.level, va);
	spot->entry = nw_pt_entry_get(pt->fmt, spot->t.ptr, spot->index);
}

/* One level down va's path through the link entry at spot. */
static void spot_enter(const struct nw_pt *pt, struct spot *spot, uint64_t va)
{
	table_enter(pt, &spot->t, spot->index, spot->entry);
	spot_read(pt, spot, va);
}

/* The level where va's path ends (its leaf, or the zero entry that stops it)
 * and the entry there, without the bookkeeping a change needs. */
static inline __attribute__((always_inline)) int probe_in(const struct nw_pt *pt, const struct nw_pt_format *geo,
							  uint64_t va, uint64_t *entry)
{
	const void *ptr = table_ptr(pt, pt->root);
	uint64_t e;

	/* A bounded loop, so a constant geometry unrolls it. */
#pragma GCC unroll 8
	for (int level = geo->top; level > NW_LEVEL_PT; level--) {
		e = nw_pt_entry_get(geo, ptr, nw_pt_index(geo, level, va));
		if (!is_link_in(geo, pt->fmt, level, e)) {
			*entry = e;
			return level;
		}
		ptr = table_ptr(pt, nw_pt_link_addr(pt, e));
	}
	*entry = nw_pt_entry_get(geo, ptr, nw_pt_index(geo, NW_LEVEL_PT, va));
	return NW_LEVEL_PT;
}

static int probe(const struct nw_pt *pt, uint64_t va, uint64_t *entry)
{
	switch (pt->geometry) {
	case GEOMETRY_4LEVEL:
		return probe_in(pt, &nw_gpt_fmt_4level, va, entry);
	case GEOMETRY_5LEVEL:
		return probe_in(pt, &nw_gpt_fmt_5level, va, entry);
	}
	return probe_in(pt, pt->fmt, va, entry);
}

/* Follows va's path down to stop_level or to the first entry that is not a
 * table pointer, whichever comes first. */
static inline __attribute__((always_inline)) struct spot descend_in(const struct nw_pt *pt,
								    const struct nw_pt_format *geo, uint64_t va,
								    int stop_level)
{
	int level = geo->top;
	uint64_t addr = pt->root, counts = pt->root_counts, entry;
	void *ptr = table_ptr(pt, addr), *counts_at = counts_ptr(pt, counts), *up = 0;
	unsigned index, up_index = 0;

	/* table_enter on locals the compiler keeps in registers, the record built once at the end: the hot
	 * path of every change (a struct walked in place is spilled at each level). A bounded loop, so a
	 * constant geometry unrolls it. */
#pragma GCC unroll 8
	for (; level > NW_LEVEL_PT; level--) {
		index = nw_pt_index(geo, level, va);
		entry = nw_pt_entry_get(geo, ptr, index);
		if (level == stop_level || !is_link_in(geo, pt->fmt, level, entry))
			goto stop;
		addr = nw_pt_link_addr(pt, entry);
		ptr = table_ptr(pt, addr);
		up = counts_at;
		up_index = index;
		counts = up && level - 1 > NW_LEVEL_PT ? nw_pt_entry_get(geo, up, index) & ~count_mask(geo) : 0;
		counts_at = counts_ptr(pt, counts);
	}
	index = nw_pt_index(geo, NW_LEVEL_PT, va);
	entry = nw_pt_entry_get(geo, ptr, index);
stop:
	return (struct spot){ .t = { .level = level, .addr = addr, .ptr = ptr, .counts = counts, .counts_ptr = counts_at,
				     .up = up, .up_index = up_index },
			      .index = index, .entry = entry };
}

static struct spot descend(const struct nw_pt *pt, uint64_t va, int stop_level)
{
	switch (pt->geometry) {
	case GEOMETRY_4LEVEL:
		return descend_in(pt, &nw_gpt_fmt_4level, va, stop_level);
	case GEOMETRY_5LEVEL:
		return descend_in(pt, &nw_gpt_fmt_5level, va, stop_level);
	}
	return descend_in(pt, pt->fmt, va, stop_level);
}

/* The remembered table. A change that ends in a table (where a map wrote its
 * leaf, where an unmap cleared 4 KiB leaves) remembers it, and the next change
 * that writes a leaf into a zero entry or clears 4 KiB leaves there starts in
 * it instead of at the root, as the processor's paging-structure caches start
 * a walk part-way (SDM Vol. 3A §4.10.3). Unlike those it is never stale: a
 * table leaves its path only when it or a table above it is unlinked, which
 * frees it, and every path that may free a table (or read a link otherwise)
 * forgets it first. Only for memory the engine alone shapes (mem.exclusive):
 * a guest may relink its own tables behind the engine, which only a descent
 * from the root would see. */
static void memo_forget(struct nw_pt *pt)
{
	pt->memo.size = 0;
}

static inline void memo_keep(struct nw_pt *pt, const struct table_at *t, uint64_t va)
{
	if (!pt->mem.exclusive)
		return;
	pt->memo.size = (uint64_t)entries_of(pt->fmt, t->level) << pt->fmt->level[t->level].shift;
	pt->memo.base = va & ~(pt->memo.size - 1);
	pt->memo.level = (uint8_t)t->level;
	pt->memo.ptr = t->ptr;
	pt->memo.up = t->up;
	pt->memo.up_index = t->up_index;
}

/* Whether the remembered table is the level-level table on va's path; *t is
 * then as a descent would find it, as far as a leaf's write needs (its place
 * and its count's). */
static inline bool memo_at(const struct nw_pt *pt, uint64_t va, int level, struct table_at *t)
{
	if (pt->memo.level != level || va - pt->memo.base >= pt->memo.size)
		return false;
	t->level = level;
	t->ptr = pt->memo.ptr;
	t->up = pt->memo.up;
	t->up_index = pt->memo.up_index;
	return true;
}

/* Replaces the leaf at spot with a table of leaves one level down that map
 * the same range with the same attributes. */
static void split(const struct nw_pt *pt, struct spot *spot, struct pool *pool, bool *stale)
{
	const struct nw_pt_format *fmt = pt->fmt;
	int child_level = spot->t.level - 1;
	uint64_t base = nw_pt_leaf_addr(fmt, spot->t.level, spot->entry);
	uint64_t attrs = nw_pt_leaf_attrs(fmt, spot->t.level, spot->entry);
	struct table_at child = pool_take(pt, pool, child_level, &spot->t, spot->index);

	for (unsigned i = 0; i < entries_of(fmt, child_level); i++)
		nw_pt_entry_put(fmt, child.ptr, i,
				nw_pt_leaf_make(fmt, child_level, base + i * size_of(fmt, child_level), attrs));
	if (child.up)
		count_put(fmt, &child, entries_of(fmt, child_level));
	spot->entry = link_make(pt, spot->t.level, child.addr);
	entry_set(pt, &spot->t, spot->index, spot->entry, stale);
}

/* A new, empty table under the zero entry at spot. */
static void link_new(const struct nw_pt *pt, struct spot *spot, struct pool *pool, bool *stale)
{
	struct table_at child = pool_take(pt, pool, spot->t.level - 1, &spot->t, spot->index);

	spot->entry = link_make(pt, spot->t.level, child.addr);
	entry_set(pt, &spot->t, spot->index, spot->entry, stale);
}

/* Whether the leaf block [base, base + size(level)) can be written as leaves
 * one level down: a 32-bit PTE cannot hold a PSE-36 address above 4 GiB. */
static bool split_fits(const struct nw_pt_format *fmt, int level, uint64_t base)
{
	uint64_t last = base + size_of(fmt, level) - size_of(fmt, level - 1);

	return nw_pt_leaf_addr_ok(fmt, level - 1, base) && nw_pt_leaf_addr_ok(fmt, level - 1, last);
}

/* Whether the leaf at spot can be split, level by level, down to a leaf at
 * target containing va. */
static bool splits_fit_down_to(const struct nw_pt_format *fmt, const struct spot *spot, uint64_t va, int target)
{
	uint64_t base = nw_pt_leaf_addr(fmt, spot->t.level, spot->entry);
	uint64_t va_base = va & ~(size_of(fmt, spot->t.level) - 1);

	for (int level = spot->t.level; level > target; level--) {
		uint64_t block = (va - va_base) & ~(size_of(fmt, level) - 1);

		if (!split_fits(fmt, level, base + block))
			return false;
	}
	return true;
}

/* Tables needed so that no leaf straddles addr, the first at *top and each
 * next one level down; -1 when a split cannot be expressed. *ended: the level
 * where addr's path ends. */
static int split_need(const struct nw_pt *pt, uint64_t addr, int *top, int *ended)
{
	const struct nw_pt_format *fmt = pt->fmt;
	uint64_t base, va_base, entry;
	int need = 0, leaf;

	*ended = 0;
	if (addr >= nw_pt_va_limit(fmt))
		return 0;
	leaf = *ended = probe(pt, addr, &entry);
	if (entry == 0)
		return 0;
	*top = leaf - 1;
	base = nw_pt_leaf_addr(fmt, leaf, entry);
	va_base = addr & ~(size_of(fmt, leaf) - 1);
	for (int level = leaf; level > NW_LEVEL_PT && !is_aligned(addr, size_of(fmt, level)); level--) {
		uint64_t block = (addr - va_base) & ~(size_of(fmt, level) - 1);

		if (!split_fits(fmt, level, base + block))
			return -1;
		need++;
	}
	return need;
}

/* Splits down to where no leaf straddles addr; need 0: split_need found none, no walk. An earlier split
 * at the other end of the range may have done part of it. */
static void split_at(const struct nw_pt *pt, uint64_t addr, int need, struct pool *pool, bool *stale)
{
	for (; need > 0; need--) {
		struct spot spot = descend(pt, addr, NW_LEVEL_PT);

		if (spot.entry == 0 || spot.t.level == NW_LEVEL_PT || is_aligned(addr, size_of(pt->fmt, spot.t.level)))
			return;
		split(pt, &spot, pool, stale);
	}
}

/* The leaves straddling va and end, split (their tables reserved first): a
 * change of [va, end) then meets only leaves wholly inside. */
static nw_status_t split_edges(const struct nw_pt *pt, uint64_t va, uint64_t end, struct pool *pool, bool *stale)
{
	int top_start = 0, top_end = 0, ended, need_end = 0;
	int need_start = split_need(pt, va, &top_start, &ended);
	nw_status_t status;

	/* An end in the same page table as va meets only 4 KiB leaves: no walk. */
	if (ended != NW_LEVEL_PT || end >> pt->fmt->level[NW_LEVEL_PD].shift != va >> pt->fmt->level[NW_LEVEL_PD].shift)
		need_end = split_need(pt, end, &top_end, &ended);
	if (need_start < 0 || need_end < 0)
		return NW_ERR_RANGE;
	if (need_start + need_end == 0)
		return NW_OK; /* the common case: nothing straddles */
	status = pool_fill(pt, pool, top_start, need_start);
	if (status == NW_OK)
		status = pool_fill(pt, pool, top_end, need_end);
	if (status != NW_OK)
		return status;
	split_at(pt, va, need_start, pool, stale);
	split_at(pt, end, need_end, pool, stale);
	return NW_OK;
}

static bool range_ok(const struct nw_pt_format *fmt, uint64_t va, uint64_t size)
{
	uint64_t limit = nw_pt_va_limit(fmt);

	return size != 0 && va < limit && size <= limit - va;
}

nw_status_t nw_pt_init(struct nw_pt *pt, const struct nw_pt_format *fmt, struct nw_pt_mem mem,
		       const uint64_t *table_bits)
{
	NW_ASSERT(fmt->top >= NW_LEVEL_PD && fmt->top <= NW_MAX_LEVELS);
	NW_ASSERT(fmt->entry_size == 4 || fmt->entry_size == 8);
	*pt = (struct nw_pt){ .fmt = fmt, .mem = mem, .table_bits = table_bits,
			      .link_addr_mask = fmt->table_addr_mask, .geometry = (uint8_t)geometry_of(fmt) };
	if (!table_alloc(pt, fmt->top, &pt->root, &pt->root_counts)) {
		pt->fmt = 0; /* destroy of a table that never was does nothing */
		return NW_ERR_NOMEM;
	}
	return NW_OK;
}

void nw_pt_set_maxphyaddr(struct nw_pt *pt, unsigned maxphyaddr)
{
	NW_ASSERT(maxphyaddr >= 36 && maxphyaddr <= 52);
	pt->link_addr_mask = pt->fmt->table_addr_mask & (((UINT64_C(1) << maxphyaddr) - 1) >> pt->fmt->addr_shift);
	memo_forget(pt); /* a link may now read as another table */
}

void nw_pt_destroy(struct nw_pt *pt)
{
	struct table_at root;

	if (pt->fmt == 0)
		return;
	memo_forget(pt);
	root = table_root(pt);
	subtree_free(pt, &root);
	pt->fmt = 0;
	pt->root = 0;
}

/* The map of a checked leaf: va's path from the root, tables added or larger
 * leaves split down to level, the leaf written over what was there. */
static nw_status_t map_general(struct nw_pt *pt, uint64_t va, int level, uint64_t leaf, unsigned flags,
			       bool *stale)
{
	const struct nw_pt_format *fmt = pt->fmt;
	struct pool pool;
	bool changed = false;
	struct spot spot;
	uint64_t old;
	nw_status_t status;

	pool.count = 0; /* only the count: the items are written as they are reserved */
	spot = descend(pt, va, level);
	if (spot.entry != 0 && !(flags & NW_PT_MAP_REPLACE))
		return NW_ERR_EXISTS;
	if (spot.entry != 0 && !splits_fit_down_to(fmt, &spot, va, level))
		return NW_ERR_RANGE;
	if (spot.t.level > level) {
		status = pool_fill(pt, &pool, spot.t.level - 1, spot.t.level - level);
		if (status != NW_OK)
			return status;
		/* Memory the allocations went through may have moved under the pointers. */
		spot = descend(pt, va, level);
	}
	/* Down from where the path ends, without starting again from the root. */
	while (spot.t.level > level) {
		if (spot.entry == 0)
			link_new(pt, &spot, &pool, &changed);
		else
			split(pt, &spot, &pool, &changed);
		spot_enter(pt, &spot, va);
	}
	old = spot.entry;
	entry_set(pt, &spot.t, spot.index, leaf, &changed);
	if (nw_pt_is_link(fmt, level, old))
		child_drop(pt, &spot.t, spot.index, old);
	pool_release(pt, &pool);
	memo_keep(pt, &spot.t, va); /* in place of whatever it held, which child_drop may have freed */
	if (stale && changed)
		*stale = true;
	return NW_OK;
}

/* nw_pt_map with geo for pt's format or one of the same geometry (see
 * descend_in). A leaf into a zero entry of the remembered table is what
 * map_general does there (no table to add, nothing replaced, so nothing
 * stale), without its descent. */
static inline __attribute__((always_inline)) nw_status_t map_in(struct nw_pt *pt, const struct nw_pt_format *geo,
								uint64_t va, uint64_t pa, int level, uint64_t attrs,
								unsigned flags, bool *stale)
{
	const struct nw_pt_format *fmt = pt->fmt;
	struct table_at t;
	uint64_t leaf;
	unsigned index;
	bool ignored = false;

	if (level < NW_LEVEL_PT || level > fmt->top)
		return NW_ERR_INVALID;
	if (level != pt->accepted_level || attrs != pt->accepted_attrs) {
		if (!fmt->level[level].leaf_ok || !attrs_ok(fmt, attrs))
			return NW_ERR_INVALID;
		pt->accepted_level = (uint8_t)level;
		pt->accepted_attrs = attrs;
	}
	if (!is_aligned(va | pa, size_of(geo, level)))
		return NW_ERR_ALIGN;
	if (!range_ok(geo, va, size_of(geo, level)) || !leaf_addr_ok(fmt, level, pa))
		return NW_ERR_RANGE;
	leaf = leaf_make(fmt, level, pa, attrs);
	index = nw_pt_index(geo, level, va);
	if (!memo_at(pt, va, level, &t) || nw_pt_entry_get(geo, t.ptr, index) != 0)
		return map_general(pt, va, level, leaf, flags, stale);
	entry_set_in(geo, &t, index, leaf, &ignored);
	return NW_OK;
}

nw_status_t nw_pt_map(struct nw_pt *pt, uint64_t va, uint64_t pa, int level, uint64_t attrs, unsigned flags,
		      bool *stale)
{
	/* 4 KiB pages, the common case, with the level a constant too. */
	switch (pt->geometry) {
	case GEOMETRY_4LEVEL:
		if (level == NW_LEVEL_PT)
			return map_in(pt, &nw_gpt_fmt_4level, va, pa, NW_LEVEL_PT, attrs, flags, stale);
		return map_in(pt, &nw_gpt_fmt_4level, va, pa, level, attrs, flags, stale);
	case GEOMETRY_5LEVEL:
		if (level == NW_LEVEL_PT)
			return map_in(pt, &nw_gpt_fmt_5level, va, pa, NW_LEVEL_PT, attrs, flags, stale);
		return map_in(pt, &nw_gpt_fmt_5level, va, pa, level, attrs, flags, stale);
	}
	return map_in(pt, pt->fmt, va, pa, level, attrs, flags, stale);
}

static bool range_has_any(const struct nw_pt *pt, uint64_t va, uint64_t end)
{
	while (va < end) {
		uint64_t entry, size = size_of(pt->fmt, probe(pt, va, &entry));

		if (entry != 0)
			return true;
		va = (va & ~(size - 1)) + size;
		if (va == 0)
			break;
	}
	return false;
}

/* Clears [s, e) below one table whose first address is base; edges are
 * already split, so a leaf met here lies wholly inside. */
static void clear_range(const struct nw_pt *pt, const struct table_at *t, uint64_t base, uint64_t s, uint64_t e,
			bool *stale)
{
	const struct nw_pt_format *fmt = pt->fmt;
	int level = t->level;
	uint64_t size = size_of(fmt, level);
	unsigned first = nw_pt_index(fmt, level, s), last = nw_pt_index(fmt, level, e - 1);

	for (unsigned i = first; i <= last; i++) {
		uint64_t entry = nw_pt_entry_get(fmt, t->ptr, i);
		uint64_t lo = base + (uint64_t)i * size, hi = lo + size;
		struct table_at child;

		if (entry == 0)
			continue;
		if (!nw_pt_is_link(fmt, level, entry) || (s <= lo && hi - 1 <= e - 1)) {
			entry_set(pt, t, i, 0, stale);
			if (nw_pt_is_link(fmt, level, entry))
				child_drop(pt, t, i, entry);
			continue;
		}
		child = table_child(pt, t, i, entry);
		clear_range(pt, &child, lo, s > lo ? s : lo, e - 1 < hi - 1 ? e : hi, stale);
		if (table_is_empty(pt, &child)) {
			entry_set(pt, t, i, 0, stale);
			child_drop(pt, t, i, entry);
		}
	}
}

static void clear(const struct nw_pt *pt, uint64_t va, uint64_t size, bool *stale)
{
	struct table_at root = table_root(pt);

	clear_range(pt, &root, 0, va, va + size, stale);
}

nw_status_t nw_pt_map_region(struct nw_pt *pt, uint64_t va, uint64_t pa, uint64_t size, int max_level,
			     uint64_t attrs, bool *stale)
{
	const struct nw_pt_format *fmt = pt->fmt;
	uint64_t done = 0;

	if (max_level < NW_LEVEL_PT || max_level > fmt->top || !attrs_ok(fmt, attrs))
		return NW_ERR_INVALID;
	if (!is_aligned(va | pa | size, size_of(fmt, NW_LEVEL_PT)))
		return NW_ERR_ALIGN;
	if (!range_ok(fmt, va, size) || pa + size < pa)
		return NW_ERR_RANGE;
	if (range_has_any(pt, va, va + size))
		return NW_ERR_EXISTS;

	while (done < size) {
		int level = max_level;
		nw_status_t status;

		while (level > NW_LEVEL_PT &&
		       (!fmt->level[level].leaf_ok || !is_aligned(va + done, size_of(fmt, level)) ||
			!is_aligned(pa + done, size_of(fmt, level)) || size - done < size_of(fmt, level)))
			level--;
		status = nw_pt_map(pt, va + done, pa + done, level, attrs, 0, stale);
		if (status != NW_OK) {
			bool ignored = false;

			/* Undo: the range held nothing before, so clearing it needs no split. */
			memo_forget(pt);
			if (done)
				clear(pt, va, done, &ignored);
			return status;
		}
		done += size_of(fmt, level);
	}
	return NW_OK;
}

/* The common unmap, O(levels): [va, end) inside one page table that va's
 * path reaches, or inside a hole, and not the table's whole span (that frees
 * the table whatever its count, as clear_range does). Clears its 4 KiB leaves
 * in place; false (nothing changed yet, or the leaves cleared and the table
 * now empty) when the general path must go on: a large leaf to split, or a
 * table to free. geo: as for map_in. */
static inline __attribute__((always_inline)) bool unmap_in_page_table(struct nw_pt *pt,
								       const struct nw_pt_format *geo, uint64_t va,
								       uint64_t end, bool *stale)
{
	unsigned pd_shift = geo->level[NW_LEVEL_PD].shift;
	bool remembered;
	struct table_at t;

	if (va >> pd_shift != (end - 1) >> pd_shift || end - va == size_of(geo, NW_LEVEL_PD))
		return false;
	remembered = memo_at(pt, va, NW_LEVEL_PT, &t);
	if (!remembered) {
		struct spot spot = descend(pt, va, NW_LEVEL_PT);

		if (spot.t.level > NW_LEVEL_PT)
			return spot.entry == 0; /* nothing mapped there */
		/* What a leaf's write needs, field by field: a copy of the whole record is slower to read back. */
		t.level = NW_LEVEL_PT;
		t.ptr = spot.t.ptr;
		t.up = spot.t.up;
		t.up_index = spot.t.up_index;
	}
	if (!t.up)
		return false; /* no counts: emptiness needs the general path's scan */
	for (unsigned i = nw_pt_index(geo, NW_LEVEL_PT, va), last = nw_pt_index(geo, NW_LEVEL_PT, end - 1); i <= last;
	     i++)
		entry_set_in(geo, &t, i, 0, stale);
	if (count_get(geo, &t) == 0)
		return false;
	if (!remembered)
		memo_keep(pt, &t, va);
	return true;
}

/* The unmap of a checked range: the leaves straddling its ends split, then
 * everything inside cleared and the tables it empties freed. changed: what
 * unmap_in_page_table already did. */
static nw_status_t unmap_general(struct nw_pt *pt, uint64_t va, uint64_t size, bool changed, bool *stale)
{
	struct pool pool;
	nw_status_t status;

	pool.count = 0;
	memo_forget(pt);
	status = split_edges(pt, va, va + size, &pool, &changed);
	if (status != NW_OK)
		return status;
	clear(pt, va, size, &changed);
	pool_release(pt, &pool);
	if (stale && changed)
		*stale = true;
	return NW_OK;
}

static inline __attribute__((always_inline)) nw_status_t unmap_in(struct nw_pt *pt, const struct nw_pt_format *geo,
								  uint64_t va, uint64_t size, bool *stale)
{
	bool changed = false;

	if (!is_aligned(va | size, size_of(geo, NW_LEVEL_PT)))
		return NW_ERR_ALIGN;
	if (!range_ok(geo, va, size))
		return NW_ERR_RANGE;
	if (!unmap_in_page_table(pt, geo, va, va + size, &changed))
		return unmap_general(pt, va, size, changed, stale);
	if (stale && changed)
		*stale = true;
	return NW_OK;
}

nw_status_t nw_pt_unmap(struct nw_pt *pt, uint64_t va, uint64_t size, bool *stale)
{
	switch (pt->geometry) {
	case GEOMETRY_4LEVEL:
		return unmap_in(pt, &nw_gpt_fmt_4level, va, size, stale);
	case GEOMETRY_5LEVEL:
		return unmap_in(pt, &nw_gpt_fmt_5level, va, size, stale);
	}
	return unmap_in(pt, pt->fmt, va, size, stale);
}

static bool range_is_mapped(const struct nw_pt *pt, uint64_t va, uint64_t end)
{
	while (va < end) {
		uint64_t entry, size = size_of(pt->fmt, probe(pt, va, &entry));

		if (entry == 0)
			return false;
		va = (va & ~(size - 1)) + size;
		if (va == 0)
			break;
	}
	return true;
}

/* An update of [va, end) inside the remembered page table: what the general
 * path does there (every page must be mapped, by a non-zero entry of this
 * table; no leaf straddles an end, since a page table's range holds no larger
 * leaf), without its probes and descents. False, nothing changed, when the
 * general path must answer. */
static inline __attribute__((always_inline)) bool update_in_memo(struct nw_pt *pt, const struct nw_pt_format *geo,
								   uint64_t va, uint64_t end, uint64_t clear_bits,
								   uint64_t set_bits, bool *stale)
{
	unsigned first = nw_pt_index(geo, NW_LEVEL_PT, va), last = nw_pt_index(geo, NW_LEVEL_PT, end - 1);
	struct table_at t;

	if (!memo_at(pt, va, NW_LEVEL_PT, &t) || end - 1 - pt->memo.base >= pt->memo.size)
		return false;
	for (unsigned i = first; i <= last; i++)
		if (nw_pt_entry_get(geo, t.ptr, i) == 0)
			return false;
	for (unsigned i = first; i <= last; i++)
		entry_set_in(geo, &t, i, (nw_pt_entry_get(geo, t.ptr, i) & ~clear_bits) | set_bits, stale);
	return true;
}

/* The update of a checked range: every page mapped, the leaves straddling its
 * ends split, then every leaf inside rewritten. */
static nw_status_t update_general(struct nw_pt *pt, uint64_t va, uint64_t end, uint64_t clear_bits,
				  uint64_t set_bits, bool *stale)
{
	const struct nw_pt_format *fmt = pt->fmt;
	struct pool pool;
	bool changed = false;
	nw_status_t status;

	if (!range_is_mapped(pt, va, end))
		return NW_ERR_NOT_FOUND;
	pool.count = 0;
	status = split_edges(pt, va, end, &pool, &changed);
	if (status != NW_OK)
		return status;
	/* Every leaf now lies wholly inside (end <= the format's limit, so at never wraps); the leaves after one
	 * in the same table take no descent of their own. */
	for (uint64_t at = va; at < end;) {
		struct spot spot = descend(pt, at, NW_LEVEL_PT);
		uint64_t leaf_size = size_of(fmt, spot.t.level), entry = spot.entry;
		unsigned i = spot.index;

		do {
			entry_set(pt, &spot.t, i, (entry & ~clear_bits) | set_bits, &changed);
			at += leaf_size;
		} while (at < end && ++i < entries_of(fmt, spot.t.level) &&
			 !nw_pt_is_link(fmt, spot.t.level, entry = nw_pt_entry_get(fmt, spot.t.ptr, i)));
		if (at >= end && spot.t.level == NW_LEVEL_PT)
			memo_keep(pt, &spot.t, end - 1);
	}
	pool_release(pt, &pool);
	if (stale && changed)
		*stale = true;
	return NW_OK;
}


/* nw_pt_update with geo as for map_in. */
static inline __attribute__((always_inline)) nw_status_t update_in(struct nw_pt *pt, const struct nw_pt_format *geo,
								   uint64_t va, uint64_t size, uint64_t clear_bits,
								   uint64_t set_bits, bool *stale)
{
	const struct nw_pt_format *fmt = pt->fmt;
	bool changed = false;

	if ((clear_bits | set_bits) & (fmt->table_addr_mask | (fmt->ps_in_attrs ? 0 : nw_pt_type_bits(fmt))))
		return NW_ERR_INVALID;
	/* Rights that are the leaf bits: a leaf keeps one (set_bits has one whenever clear_bits takes them). */
	if (fmt->ps_in_attrs && (clear_bits & fmt->ps_bit) && !(set_bits & fmt->ps_bit))
		return NW_ERR_INVALID;
	if (fmt->entry_size == 4 && ((clear_bits | set_bits) >> 32))
		return NW_ERR_INVALID;
	if (!is_aligned(va | size, size_of(geo, NW_LEVEL_PT)))
		return NW_ERR_ALIGN;
	if (!range_ok(geo, va, size))
		return NW_ERR_RANGE;
	if (!update_in_memo(pt, geo, va, va + size, clear_bits, set_bits, &changed))
		return update_general(pt, va, va + size, clear_bits, set_bits, stale);
	if (stale && changed)
		*stale = true;
	return NW_OK;
}

nw_status_t nw_pt_update(struct nw_pt *pt, uint64_t va, uint64_t size, uint64_t clear_bits, uint64_t set_bits,
			 bool *stale)
{
	switch (pt->geometry) {
	case GEOMETRY_4LEVEL:
		return update_in(pt, &nw_gpt_fmt_4level, va, size, clear_bits, set_bits, stale);
	case GEOMETRY_5LEVEL:
		return update_in(pt, &nw_gpt_fmt_5level, va, size, clear_bits, set_bits, stale);
	}
	return update_in(pt, pt->fmt, va, size, clear_bits, set_bits, stale);
}

nw_status_t nw_pt_find(const struct nw_pt *pt, uint64_t va, int *level, uint64_t *entry)
{
	if (va >= nw_pt_va_limit(pt->fmt))
		return NW_ERR_RANGE;
	*level = probe(pt, va, entry);
	return *entry ? NW_OK : NW_ERR_NOT_FOUND;
}

nw_status_t nw_pt_lookup(const struct nw_pt *pt, uint64_t va, struct nw_pt_leaf *leaf)
{
	const struct nw_pt_format *fmt = pt->fmt;
	int level = fmt->top;
	uint64_t table = pt->root;

	if (va >= nw_pt_va_limit(fmt))
		return NW_ERR_RANGE;
	*leaf = (struct nw_pt_leaf){ .level = 0 };
	for (;; level--) {
		uint64_t entry = nw_pt_entry_get(fmt, table_ptr(pt, table), nw_pt_index(fmt, level, va));

		leaf->entries[level] = entry;
		leaf->tables[level] = table;
		if (entry == 0)
			return NW_ERR_NOT_FOUND;
		if (!nw_pt_is_link(fmt, level, entry)) {
			uint64_t size = size_of(fmt, level);

			leaf->level = level;
			leaf->entry = entry;
			leaf->size = size;
			leaf->va_base = va & ~(size - 1);
			leaf->pa_base = nw_pt_leaf_addr(fmt, level, entry);
			return NW_OK;
		}
		table = nw_pt_link_addr(pt, entry);
	}
}

nw_status_t nw_pt_edit(struct nw_pt *pt, uint64_t va, int level, uint64_t clear_bits, uint64_t set_bits,
		       uint64_t *old, bool *stale)
{
	const struct nw_pt_format *fmt = pt->fmt;
	bool changed = false;
	struct spot spot;
	uint64_t entry;

	if (level < NW_LEVEL_PT || level > fmt->top)
		return NW_ERR_INVALID;
	if (fmt->entry_size == 4 && ((clear_bits | set_bits) >> 32))
		return NW_ERR_INVALID;
	if (va >= nw_pt_va_limit(fmt))
		return NW_ERR_RANGE;
	spot = descend(pt, va, level);
	if (spot.t.level != level || (level > NW_LEVEL_PT && spot.entry == 0))
		return NW_ERR_NOT_FOUND;
	entry = (spot.entry & ~clear_bits) | set_bits;
	/* The engine owns the tree's shape: which entries point to tables, and where. */
	if (level > NW_LEVEL_PT && fmt->level[level].leaf_ok && entry != 0 &&
	    nw_pt_is_link(fmt, level, entry) != nw_pt_is_link(fmt, level, spot.entry))
		return NW_ERR_INVALID;
	if (nw_pt_is_link(fmt, level, spot.entry) && ((entry ^ spot.entry) & pt->link_addr_mask))
		return NW_ERR_INVALID;
	/* Emptying an entry is an unmap: it must free tables that become empty. */
	if (entry == 0 && spot.entry != 0)
		return NW_ERR_INVALID;
	if (old)
		*old = spot.entry;
	entry_set(pt, &spot.t, spot.index, entry, &changed);
	if (stale && changed)
		*stale = true;
	return NW_OK;
}

nw_status_t nw_pt_live_count(const struct nw_pt *pt, uint64_t va, int level, unsigned *count)
{
	struct spot spot;

	if (level < NW_LEVEL_PT || level > pt->fmt->top)
		return NW_ERR_INVALID;
	if (va >= nw_pt_va_limit(pt->fmt))
		return NW_ERR_RANGE;
	spot = descend(pt, va, level);
	if (spot.t.level != level)
		return NW_ERR_NOT_FOUND;
	if (!spot.t.up)
		return NW_ERR_UNSUPPORTED;
	*count = count_get(pt->fmt, &spot.t);
	return NW_OK;
}

static void visit_table(const struct nw_pt *pt, int level, uint64_t table, uint64_t base, nw_pt_visit_fn visit,
			void *ctx)
{
	const struct nw_pt_format *fmt = pt->fmt;
	const void *ptr = table_ptr(pt, table);
	uint64_t size = size_of(fmt, level);

	for (unsigned i = 0; i < fmt->level[level].entries; i++) {
		uint64_t entry = nw_pt_entry_get(fmt, ptr, i);
		uint64_t va = base + (uint64_t)i * size;

		if (entry == 0)
			continue;
		visit(ctx, level, table, i, va, entry);
		if (nw_pt_is_link(fmt, level, entry))
			visit_table(pt, level - 1, nw_pt_link_addr(pt, entry), va, visit, ctx);
	}
}

void nw_pt_visit(const struct nw_pt *pt, nw_pt_visit_fn visit, void *ctx)
{
	visit_table(pt, pt->fmt->top, pt->root, 0, visit, ctx);
}

struct count_ctx {
	const struct nw_pt_format *fmt;
	uint64_t tables;
};

static void count_table(void *ctx, int level, uint64_t table, unsigned index, uint64_t va, uint64_t entry)
{
	struct count_ctx *count = ctx;

	(void)table;
	(void)index;
	(void)va;
	if (nw_pt_is_link(count->fmt, level, entry))
		count->tables++;
}

uint64_t nw_pt_table_count(const struct nw_pt *pt)
{
	struct count_ctx count = { .fmt = pt->fmt, .tables = 1 };

	nw_pt_visit(pt, count_table, &count);
	return count.tables;
}
