/* Enumerating guest mappings (guest_mappings.h): the paging modes described
 * as data; the tables counted once per table and level, then walked in
 * address order by one recursive loop over the levels. */
#include <stdio.h>

#include <nestwalk/addr.h>
#include <nestwalk/level.h>
#include <nestwalk/x86_pte.h>

#include "replay/guest_mappings.h"
#include "replay/table_memo.h"

struct format {
	unsigned levels;      /* of the root table */
	unsigned entry_bytes; /* 4 or 8 */
	unsigned index_bits;  /* 10 or 9 */
	unsigned va_bits;     /* 32, 48 or 57 (sign-extended above) */
	uint64_t addr_mask;   /* next-table / 4 KiB page address bits */
	bool large[NW_MAX_LEVELS + 1]; /* PS=1 maps a page at this level */
	bool xd;              /* XD in force (PAE and IA-32e paging with EFER.NXE) */
};

struct walk {
	const struct format *fmt;
	nw_guest_read_fn read;
	void *read_ctx;
	nw_guest_visit_fn visit;
	void *visit_ctx;
	struct nw_guest_walk_stats *stats;
	struct nw_table_memo memo; /* every table below the root, counted */
	bool stopped;              /* visit asked for no more leaves */
	bool out_of_memory;
};

enum entry_kind { ENTRY_ABSENT, ENTRY_UNREADABLE, ENTRY_RESERVED_XD, ENTRY_LEAF, ENTRY_TABLE };

static unsigned level_shift(const struct format *fmt, unsigned level)
{
	return NW_PAGE_SHIFT + fmt->index_bits * (level - 1);
}

/* PAE PDPTEs carry no R/W, U/S or XD (§4.4.1): only the levels below decide. */
static bool is_pae_pdpte(const struct format *fmt, unsigned level)
{
	return fmt->entry_bytes == 8 && fmt->levels == 3 && level == 3;
}

/* Without EFER.NXE bit 63 of a 64-bit entry is reserved (§4.4.2, §4.5.4): every access through the entry is a
 * reserved-bit #PF, so it maps nothing, as the walk says. */
static bool has_reserved_xd(const struct format *fmt, unsigned level, uint64_t entry)
{
	return fmt->entry_bytes == 8 && !fmt->xd && !is_pae_pdpte(fmt, level) && (entry & NW_PTE_XD);
}

/* Entry i of the table at level: absent (P=0), unreadable (no memory backs
 * it), XD set where it is a reserved bit, a leaf (level 1, or PS=1 where a
 * large page is allowed) or a pointer to the next table. */
static enum entry_kind read_entry(const struct walk *w, uint64_t table, unsigned i, unsigned level, uint64_t *entry)
{
	const struct format *fmt = w->fmt;
	uint64_t gpa = table + (uint64_t)i * fmt->entry_bytes, value;

	if (!w->read(w->read_ctx, gpa & ~UINT64_C(7), &value))
		return ENTRY_UNREADABLE;
	*entry = fmt->entry_bytes == 8 ? value : (value >> (8 * (gpa & 4))) & UINT32_MAX;
	if (!(*entry & NW_PTE_P))
		return ENTRY_ABSENT;
	if (has_reserved_xd(fmt, level, *entry))
		return ENTRY_RESERVED_XD;
	return level == 1 || (fmt->large[level] && (*entry & NW_PTE_PS)) ? ENTRY_LEAF : ENTRY_TABLE;
}

static struct nw_subtree subtree(struct walk *w, uint64_t table, unsigned level);

/* Every present leaf below a table, each alias counted, reading each table once per level. */
static struct nw_subtree count_table(struct walk *w, uint64_t table, unsigned level, unsigned entries)
{
	struct nw_subtree sum = { 0 }, below;
	uint64_t entry;

	w->stats->tables++;
	for (unsigned i = 0; i < entries && !w->out_of_memory; i++) {
		switch (read_entry(w, table, i, level, &entry)) {
		case ENTRY_ABSENT:
			break;
		case ENTRY_UNREADABLE:
			w->stats->unreadable++;
			break;
		case ENTRY_RESERVED_XD:
			w->stats->reserved_xd++;
			break;
		case ENTRY_LEAF:
			sum.pages++;
			sum.bytes += UINT64_C(1) << level_shift(w->fmt, level);
			break;
		case ENTRY_TABLE:
			below = subtree(w, entry & w->fmt->addr_mask, level - 1);
			sum.pages += below.pages;
			sum.bytes += below.bytes;
			break;
		}
	}
	return sum;
}

/* A table below the root: its count, taken once. Levels only go down, so a
 * table that points to itself is counted at the next level, never recursing
 * into its own count. */
static struct nw_subtree subtree(struct walk *w, uint64_t table, unsigned level)
{
	const struct nw_subtree *known = nw_table_memo_find(&w->memo, table, level);
	struct nw_subtree counted;

	if (known)
		return *known;
	counted = count_table(w, table, level, 1u << w->fmt->index_bits);
	if (!nw_table_memo_add(&w->memo, table, level, counted))
		w->out_of_memory = true;
	return counted;
}

static uint64_t canonical(const struct format *fmt, uint64_t va)
{
	unsigned unused = 64 - fmt->va_bits;

	return fmt->va_bits == 32 ? va : (uint64_t)((int64_t)(va << unused) >> unused);
}

/* 32-bit paging 4 MiB page (Table 4-4): bits 31:22 in place, bits 39:32 from bits 20:13 (PSE-36). */
static uint64_t large_page_address(const struct format *fmt, uint64_t entry, unsigned shift)
{
	if (fmt->entry_bytes == 4)
		return (entry & NW_PDE32_4M_ADDR_LOW_MASK) |
		       (((entry & NW_PDE32_4M_ADDR_HIGH_MASK) >> NW_PDE32_4M_ADDR_HIGH_SHIFT) << 32);
	return entry & fmt->addr_mask & ~((UINT64_C(1) << shift) - 1);
}

/* Visits the leaves below a table in address order until visit says stop. A
 * table with no present leaf below it is not entered: aliases of empty
 * tables would otherwise cost up to 512^4 reads without a leaf to show. */
static void walk_table(struct walk *w, uint64_t table, unsigned level, uint64_t va_base, unsigned entries,
		       struct nw_guest_mapping inherited)
{
	const struct format *fmt = w->fmt;
	unsigned shift = level_shift(fmt, level);

	for (unsigned i = 0; i < entries && !w->stopped; i++) {
		struct nw_guest_mapping m = inherited;
		enum entry_kind kind;
		uint64_t entry;

		kind = read_entry(w, table, i, level, &entry);
		if (kind != ENTRY_LEAF && kind != ENTRY_TABLE)
			continue;
		m.va = va_base | ((uint64_t)i << shift);
		if (!is_pae_pdpte(fmt, level)) {
			m.user &= (entry & NW_PTE_US) != 0;
			m.write &= (entry & NW_PTE_RW) != 0;
			m.nx |= fmt->xd && (entry & NW_PTE_XD);
		}
		if (kind == ENTRY_LEAF) {
			m.va = canonical(fmt, m.va);
			m.pa = level == 1 ? entry & fmt->addr_mask : large_page_address(fmt, entry, shift);
			m.size = UINT64_C(1) << shift;
			m.global = (entry & NW_PTE_G) != 0;
			m.accessed = (entry & NW_PTE_A) != 0;
			m.dirty = (entry & NW_PTE_D) != 0;
			w->stopped = !w->visit(w->visit_ctx, &m);
		} else if (subtree(w, entry & fmt->addr_mask, level - 1).pages) {
			walk_table(w, entry & fmt->addr_mask, level - 1, m.va, 1u << fmt->index_bits, m);
		}
	}
}

int nw_guest_mappings_visit(const struct nw_cpu *cpu, nw_guest_read_fn read, void *read_ctx, nw_guest_visit_fn visit,
			    void *visit_ctx, struct nw_guest_walk_stats *stats, char *err, size_t errlen)
{
	enum nw_paging_mode mode = nw_cpu_paging_mode(cpu);
	uint64_t maxphy_mask = ((UINT64_C(1) << nw_cpu_maxphyaddr(cpu)) - 1) & NW_PTE_ADDR_MASK;
	bool nxe = (cpu->efer & NW_EFER_NXE) != 0;
	struct nw_guest_mapping top = { .user = true, .write = true };
	struct format fmt;
	struct walk w = { &fmt, read, read_ctx, visit, visit_ctx, stats, { 0 }, false, false };
	struct nw_subtree all;
	uint64_t root;
	unsigned root_entries;

	*stats = (struct nw_guest_walk_stats){ 0 };
	switch (mode) {
	case NW_PAGING_32:
		fmt = (struct format){ 2, 4, 10, 32, UINT64_C(0xfffff000), { [2] = (cpu->cr4 & NW_CR4_PSE) != 0 },
				       false };
		root = cpu->cr3 & UINT64_C(0xfffff000);
		root_entries = 1024;
		break;
	case NW_PAGING_PAE:
		fmt = (struct format){ 3, 8, 9, 32, maxphy_mask, { [2] = true }, nxe };
		root = cpu->cr3 & NW_CR3_PAE_PDPT_MASK;
		root_entries = 4;
		break;
	case NW_PAGING_4LEVEL:
	case NW_PAGING_5LEVEL:
		fmt = (struct format){ mode == NW_PAGING_4LEVEL ? 4 : 5, 8, 9, mode == NW_PAGING_4LEVEL ? 48 : 57,
				       maxphy_mask, { [2] = true, [3] = !cpu->no_1g_pages }, nxe };
		root = cpu->cr3 & maxphy_mask;
		root_entries = 512;
		break;
	case NW_PAGING_OFF:
	default:
		snprintf(err, errlen, "paging is off (CR0.PG=0): the guest has no mappings to list");
		return -1;
	}
	all = count_table(&w, root, fmt.levels, root_entries);
	if (!w.out_of_memory) {
		stats->leaves = all.pages;
		stats->bytes = all.bytes;
		walk_table(&w, root, fmt.levels, 0, root_entries, top);
	}
	nw_table_memo_free(&w.memo);
	if (w.out_of_memory) {
		snprintf(err, errlen, "out of host memory counting the guest's page tables");
		return -1;
	}
	return 0;
}
