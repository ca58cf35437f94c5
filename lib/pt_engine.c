/* The one walker/builder behind every table format (see pt_build.h). */
#include <nestwalk/assert.h>
#include <nestwalk/mem.h>
#include <nestwalk/pt_build.h>

#define PSE36_LOW_MASK UINT64_C(0xffc00000)
#define PSE36_HIGH_SHIFT 13
#define PSE36_HIGH_BITS UINT64_C(0xff)
#define PSE36_LIMIT (UINT64_C(1) << 40)

/* Tables reserved before a change starts, so the change itself cannot fail. */
#define POOL_MAX (2 * NW_MAX_LEVELS)

struct pool {
	uint64_t addr[POOL_MAX];
	int count;
};

/* Where a descent stopped: the level, its table and the entry there. */
struct spot {
	int level;
	uint64_t table;
	void *ptr;
	unsigned index;
	uint64_t entry;
};

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
	return entry & fmt->level[level].leaf_addr_mask;
}

uint64_t nw_pt_leaf_attrs(const struct nw_pt_format *fmt, int level, uint64_t entry)
{
	uint64_t attrs = entry & ~fmt->table_addr_mask;

	if (level == NW_LEVEL_PT)
		return attrs;
	attrs &= ~fmt->ps_bit;
	if (fmt->pat_large_bit && (entry & fmt->pat_large_bit))
		attrs |= fmt->pat_small_bit;
	return attrs;
}

uint64_t nw_pt_leaf_make(const struct nw_pt_format *fmt, int level, uint64_t pa, uint64_t attrs)
{
	uint64_t addr = pa;

	if (level == NW_LEVEL_PT)
		return addr | attrs;
	if (fmt->pse36 && level == NW_LEVEL_PD)
		addr = (pa & PSE36_LOW_MASK) | (((pa >> 32) & PSE36_HIGH_BITS) << PSE36_HIGH_SHIFT);
	if (fmt->pat_small_bit && (attrs & fmt->pat_small_bit)) {
		attrs &= ~fmt->pat_small_bit;
		attrs |= fmt->pat_large_bit;
	}
	return addr | attrs | fmt->ps_bit;
}

bool nw_pt_leaf_addr_ok(const struct nw_pt_format *fmt, int level, uint64_t pa)
{
	if (!is_aligned(pa, size_of(fmt, level)))
		return false;
	if (fmt->pse36 && level == NW_LEVEL_PD)
		return pa < PSE36_LIMIT;
	return (pa & ~fmt->level[level].leaf_addr_mask) == 0;
}

static bool attrs_ok(const struct nw_pt_format *fmt, uint64_t attrs)
{
	if (attrs & fmt->table_addr_mask)
		return false;
	if (fmt->ps_bit != fmt->pat_small_bit && (attrs & fmt->ps_bit))
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
	if (pt->table_bits && pt->table_bits[level])
		return child | pt->table_bits[level];
	return child | pt->fmt->level[level].table_bits;
}

/* Writes an entry, noting when it replaces one in use (a cached translation may be stale). */
static void entry_set(const struct nw_pt *pt, void *table, unsigned index, uint64_t entry, bool *stale)
{
	uint64_t old = nw_pt_entry_get(pt->fmt, table, index);

	if (old != 0 && old != entry)
		*stale = true;
	nw_pt_entry_put(pt->fmt, table, index, entry);
}

static bool table_alloc(const struct nw_pt *pt, uint64_t *addr)
{
	if (!pt->mem.ops->alloc(pt->mem.ctx, addr))
		return false;
	NW_ASSERT(is_aligned(*addr, NW_PAGE_SIZE));
	nw_mem_fill(table_ptr(pt, *addr), 0, NW_PAGE_SIZE);
	return true;
}

static void pool_release(const struct nw_pt *pt, struct pool *pool)
{
	while (pool->count > 0)
		pt->mem.ops->free(pt->mem.ctx, pool->addr[--pool->count]);
}

static nw_status_t pool_fill(const struct nw_pt *pt, struct pool *pool, int count)
{
	NW_ASSERT(pool->count + count <= POOL_MAX);
	for (int i = 0; i < count; i++) {
		if (!table_alloc(pt, &pool->addr[pool->count])) {
			pool_release(pt, pool);
			return NW_ERR_NOMEM;
		}
		pool->count++;
	}
	return NW_OK;
}

static uint64_t pool_take(struct pool *pool)
{
	/* The reservation counted every table the change needs. */
	NW_ASSERT(pool->count > 0);
	return pool->addr[--pool->count];
}

static void subtree_free(const struct nw_pt *pt, int level, uint64_t table)
{
	const struct nw_pt_format *fmt = pt->fmt;
	void *ptr = table_ptr(pt, table);

	for (unsigned i = 0; i < fmt->level[level].entries; i++) {
		uint64_t entry = nw_pt_entry_get(fmt, ptr, i);

		if (nw_pt_is_link(fmt, level, entry))
			subtree_free(pt, level - 1, nw_pt_link_addr(pt, entry));
	}
	pt->mem.ops->free(pt->mem.ctx, table);
}

static bool table_is_empty(const struct nw_pt_format *fmt, int level, const void *ptr)
{
	for (unsigned i = 0; i < fmt->level[level].entries; i++)
		if (nw_pt_entry_get(fmt, ptr, i) != 0)
			return false;
	return true;
}

/* Follows va's path down to stop_level or to the first entry that is not a
 * table pointer, whichever comes first. */
static struct spot descend(const struct nw_pt *pt, uint64_t va, int stop_level)
{
	const struct nw_pt_format *fmt = pt->fmt;
	struct spot spot = { .level = fmt->top, .table = pt->root };

	for (;;) {
		spot.ptr = table_ptr(pt, spot.table);
		spot.index = nw_pt_index(fmt, spot.level, va);
		spot.entry = nw_pt_entry_get(fmt, spot.ptr, spot.index);
		if (spot.level == stop_level || !nw_pt_is_link(fmt, spot.level, spot.entry))
			return spot;
		spot.table = nw_pt_link_addr(pt, spot.entry);
		spot.level--;
	}
}

/* Replaces the leaf at spot with a table of leaves one level down that map
 * the same range with the same attributes. */
static void split(const struct nw_pt *pt, const struct spot *spot, struct pool *pool, bool *stale)
{
	const struct nw_pt_format *fmt = pt->fmt;
	int child_level = spot->level - 1;
	uint64_t base = nw_pt_leaf_addr(fmt, spot->level, spot->entry);
	uint64_t attrs = nw_pt_leaf_attrs(fmt, spot->level, spot->entry);
	uint64_t child = pool_take(pool);
	void *ptr = table_ptr(pt, child);

	for (unsigned i = 0; i < fmt->level[child_level].entries; i++)
		nw_pt_entry_put(fmt, ptr, i,
				nw_pt_leaf_make(fmt, child_level, base + i * size_of(fmt, child_level), attrs));
	entry_set(pt, spot->ptr, spot->index, link_make(pt, spot->level, child), stale);
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
	uint64_t base = nw_pt_leaf_addr(fmt, spot->level, spot->entry);
	uint64_t va_base = va & ~(size_of(fmt, spot->level) - 1);

	for (int level = spot->level; level > target; level--) {
		uint64_t block = (va - va_base) & ~(size_of(fmt, level) - 1);

		if (!split_fits(fmt, level, base + block))
			return false;
	}
	return true;
}

/* Tables needed so that no leaf straddles addr; -1 when a split cannot be expressed. */
static int split_need(const struct nw_pt *pt, uint64_t addr)
{
	const struct nw_pt_format *fmt = pt->fmt;
	struct spot spot;
	uint64_t base, va_base;
	int need = 0;

	if (addr >= nw_pt_va_limit(fmt))
		return 0;
	spot = descend(pt, addr, NW_LEVEL_PT);
	if (spot.entry == 0)
		return 0;
	base = nw_pt_leaf_addr(fmt, spot.level, spot.entry);
	va_base = addr & ~(size_of(fmt, spot.level) - 1);
	for (int level = spot.level; level > NW_LEVEL_PT && !is_aligned(addr, size_of(fmt, level)); level--) {
		uint64_t block = (addr - va_base) & ~(size_of(fmt, level) - 1);

		if (!split_fits(fmt, level, base + block))
			return -1;
		need++;
	}
	return need;
}

static void split_at(const struct nw_pt *pt, uint64_t addr, struct pool *pool, bool *stale)
{
	if (addr >= nw_pt_va_limit(pt->fmt))
		return;
	for (;;) {
		struct spot spot = descend(pt, addr, NW_LEVEL_PT);

		if (spot.entry == 0 || spot.level == NW_LEVEL_PT || is_aligned(addr, size_of(pt->fmt, spot.level)))
			return;
		split(pt, &spot, pool, stale);
	}
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
			      .link_addr_mask = fmt->table_addr_mask };
	if (!table_alloc(pt, &pt->root)) {
		pt->fmt = 0; /* destroy of a table that never was does nothing */
		return NW_ERR_NOMEM;
	}
	return NW_OK;
}

void nw_pt_set_maxphyaddr(struct nw_pt *pt, unsigned maxphyaddr)
{
	NW_ASSERT(maxphyaddr >= 36 && maxphyaddr <= 52);
	pt->link_addr_mask = pt->fmt->table_addr_mask & ((UINT64_C(1) << maxphyaddr) - 1);
}

void nw_pt_destroy(struct nw_pt *pt)
{
	if (pt->fmt == 0)
		return;
	subtree_free(pt, pt->fmt->top, pt->root);
	pt->fmt = 0;
	pt->root = 0;
}

nw_status_t nw_pt_map(struct nw_pt *pt, uint64_t va, uint64_t pa, int level, uint64_t attrs, unsigned flags,
		      bool *stale)
{
	const struct nw_pt_format *fmt = pt->fmt;
	struct pool pool = { .count = 0 };
	bool changed = false;
	struct spot spot;
	nw_status_t status;

	if (level < NW_LEVEL_PT || level > fmt->top || !fmt->level[level].leaf_ok || !attrs_ok(fmt, attrs))
		return NW_ERR_INVALID;
	if (!is_aligned(va, size_of(fmt, level)) || !is_aligned(pa, size_of(fmt, level)))
		return NW_ERR_ALIGN;
	if (!range_ok(fmt, va, size_of(fmt, level)) || !nw_pt_leaf_addr_ok(fmt, level, pa))
		return NW_ERR_RANGE;

	spot = descend(pt, va, level);
	if (spot.entry != 0 && !(flags & NW_PT_MAP_REPLACE))
		return NW_ERR_EXISTS;
	if (spot.entry != 0 && !splits_fit_down_to(fmt, &spot, va, level))
		return NW_ERR_RANGE;
	status = pool_fill(pt, &pool, spot.level - level);
	if (status != NW_OK)
		return status;

	for (;;) {
		spot = descend(pt, va, level);
		if (spot.level == level)
			break;
		if (spot.entry == 0)
			entry_set(pt, spot.ptr, spot.index, link_make(pt, spot.level, pool_take(&pool)), &changed);
		else
			split(pt, &spot, &pool, &changed);
	}
	entry_set(pt, spot.ptr, spot.index, nw_pt_leaf_make(fmt, level, pa, attrs), &changed);
	if (nw_pt_is_link(fmt, level, spot.entry))
		subtree_free(pt, level - 1, nw_pt_link_addr(pt, spot.entry));
	pool_release(pt, &pool);
	if (stale && changed)
		*stale = true;
	return NW_OK;
}

static bool range_has_any(const struct nw_pt *pt, uint64_t va, uint64_t end)
{
	while (va < end) {
		struct spot spot = descend(pt, va, NW_LEVEL_PT);
		uint64_t size = size_of(pt->fmt, spot.level);

		if (spot.entry != 0)
			return true;
		va = (va & ~(size - 1)) + size;
		if (va == 0)
			break;
	}
	return false;
}

/* Clears [s, e) below one table whose first address is base; edges are
 * already split, so a leaf met here lies wholly inside. */
static void clear_range(const struct nw_pt *pt, int level, uint64_t table, uint64_t base, uint64_t s, uint64_t e,
			bool *stale)
{
	const struct nw_pt_format *fmt = pt->fmt;
	uint64_t size = size_of(fmt, level);
	void *ptr = table_ptr(pt, table);
	unsigned first = nw_pt_index(fmt, level, s), last = nw_pt_index(fmt, level, e - 1);

	for (unsigned i = first; i <= last; i++) {
		uint64_t entry = nw_pt_entry_get(fmt, ptr, i);
		uint64_t lo = base + (uint64_t)i * size, hi = lo + size;
		uint64_t child;

		if (entry == 0)
			continue;
		if (!nw_pt_is_link(fmt, level, entry) || (s <= lo && hi - 1 <= e - 1)) {
			entry_set(pt, ptr, i, 0, stale);
			if (nw_pt_is_link(fmt, level, entry))
				subtree_free(pt, level - 1, nw_pt_link_addr(pt, entry));
			continue;
		}
		child = nw_pt_link_addr(pt, entry);
		clear_range(pt, level - 1, child, lo, s > lo ? s : lo, e - 1 < hi - 1 ? e : hi, stale);
		if (table_is_empty(fmt, level - 1, table_ptr(pt, child))) {
			entry_set(pt, ptr, i, 0, stale);
			pt->mem.ops->free(pt->mem.ctx, child);
		}
	}
}

static void clear(const struct nw_pt *pt, uint64_t va, uint64_t size, bool *stale)
{
	clear_range(pt, pt->fmt->top, pt->root, 0, va, va + size, stale);
}

nw_status_t nw_pt_map_region(struct nw_pt *pt, uint64_t va, uint64_t pa, uint64_t size, int max_level,
			     uint64_t attrs, bool *stale)
{
	const struct nw_pt_format *fmt = pt->fmt;
	uint64_t done = 0;

	if (max_level < NW_LEVEL_PT || max_level > fmt->top || !attrs_ok(fmt, attrs))
		return NW_ERR_INVALID;
	if (!is_aligned(va | pa | size, NW_PAGE_SIZE))
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
			if (done)
				clear(pt, va, done, &ignored);
			return status;
		}
		done += size_of(fmt, level);
	}
	return NW_OK;
}

nw_status_t nw_pt_unmap(struct nw_pt *pt, uint64_t va, uint64_t size, bool *stale)
{
	struct pool pool = { .count = 0 };
	bool changed = false;
	int need_start, need_end;
	nw_status_t status;

	if (!is_aligned(va | size, NW_PAGE_SIZE))
		return NW_ERR_ALIGN;
	if (!range_ok(pt->fmt, va, size))
		return NW_ERR_RANGE;
	need_start = split_need(pt, va);
	need_end = split_need(pt, va + size);
	if (need_start < 0 || need_end < 0)
		return NW_ERR_RANGE;
	status = pool_fill(pt, &pool, need_start + need_end);
	if (status != NW_OK)
		return status;
	split_at(pt, va, &pool, &changed);
	split_at(pt, va + size, &pool, &changed);
	clear(pt, va, size, &changed);
	pool_release(pt, &pool);
	if (stale && changed)
		*stale = true;
	return NW_OK;
}

static bool range_is_mapped(const struct nw_pt *pt, uint64_t va, uint64_t end)
{
	while (va < end) {
		struct spot spot = descend(pt, va, NW_LEVEL_PT);
		uint64_t size = size_of(pt->fmt, spot.level);

		if (spot.entry == 0)
			return false;
		va = (va & ~(size - 1)) + size;
		if (va == 0)
			break;
	}
	return true;
}

nw_status_t nw_pt_update(struct nw_pt *pt, uint64_t va, uint64_t size, uint64_t clear_bits, uint64_t set_bits,
			 bool *stale)
{
	const struct nw_pt_format *fmt = pt->fmt;
	struct pool pool = { .count = 0 };
	bool changed = false;
	int need_start, need_end;
	nw_status_t status;
	uint64_t end = va + size;

	if ((clear_bits | set_bits) & (fmt->table_addr_mask | fmt->ps_bit))
		return NW_ERR_INVALID;
	if (fmt->entry_size == 4 && ((clear_bits | set_bits) >> 32))
		return NW_ERR_INVALID;
	if (!is_aligned(va | size, NW_PAGE_SIZE))
		return NW_ERR_ALIGN;
	if (!range_ok(fmt, va, size))
		return NW_ERR_RANGE;
	if (!range_is_mapped(pt, va, end))
		return NW_ERR_NOT_FOUND;
	need_start = split_need(pt, va);
	need_end = split_need(pt, end);
	if (need_start < 0 || need_end < 0)
		return NW_ERR_RANGE;
	status = pool_fill(pt, &pool, need_start + need_end);
	if (status != NW_OK)
		return status;
	split_at(pt, va, &pool, &changed);
	split_at(pt, end, &pool, &changed);
	for (uint64_t at = va; at < end;) {
		struct spot spot = descend(pt, at, NW_LEVEL_PT);

		entry_set(pt, spot.ptr, spot.index, (spot.entry & ~clear_bits) | set_bits, &changed);
		at += size_of(fmt, spot.level);
		if (at == 0)
			break;
	}
	pool_release(pt, &pool);
	if (stale && changed)
		*stale = true;
	return NW_OK;
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
	if (spot.level != level || (level > NW_LEVEL_PT && spot.entry == 0))
		return NW_ERR_NOT_FOUND;
	entry = (spot.entry & ~clear_bits) | set_bits;
	/* The engine owns the tree's shape: which entries point to tables, and where. */
	if (level > NW_LEVEL_PT && fmt->level[level].leaf_ok && ((entry ^ spot.entry) & fmt->ps_bit))
		return NW_ERR_INVALID;
	if (nw_pt_is_link(fmt, level, spot.entry) && ((entry ^ spot.entry) & pt->link_addr_mask))
		return NW_ERR_INVALID;
	/* Emptying an entry is an unmap: it must free tables that become empty. */
	if (entry == 0 && spot.entry != 0)
		return NW_ERR_INVALID;
	if (old)
		*old = spot.entry;
	entry_set(pt, spot.ptr, spot.index, entry, &changed);
	if (stale && changed)
		*stale = true;
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
