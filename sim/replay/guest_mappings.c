/* Enumerating guest mappings (guest_mappings.h): each paging mode's geometry
 * is its radix format (nw_paging_format) and its rules the library's
 * (paging_rules.h); the tables counted once per table and level, then walked
 * in address order by one recursive loop over the levels. */
#include <stdio.h>

#include <nestwalk/addr.h>
#include <nestwalk/level.h>
#include <nestwalk/paging_rules.h>
#include <nestwalk/pt_build.h>
#include <nestwalk/walk.h>
#include <nestwalk/x86_pte.h>

#include "replay/guest_mappings.h"
#include "replay/table_memo.h"

struct walk {
	const struct nw_cpu *cpu;
	enum nw_paging_mode mode;
	const struct nw_pt_format *fmt; /* the mode's levels, shifts and entries (pt_build.h) */
	uint64_t phys_mask;        /* physical-address bits below MAXPHYADDR */
	bool xd;                   /* XD in force (PAE and IA-32e paging with EFER.NXE) */
	bool maps_page[NW_MAX_LEVELS + 1]; /* PS=1 maps a page at this level */
	uint64_t rsvd[NW_MAX_LEVELS + 1][2]; /* an entry's reserved bits at this level with PS=0 and 1 */
	nw_guest_read_fn read;
	void *read_ctx;
	nw_guest_visit_fn visit;
	void *visit_ctx;
	struct nw_guest_walk_stats *stats;
	struct nw_table_memo memo; /* every table below the root, counted */
	bool stopped;              /* visit asked for no more leaves */
	bool out_of_memory;
};

enum entry_kind { ENTRY_ABSENT, ENTRY_UNREADABLE, ENTRY_RESERVED_XD, ENTRY_RESERVED, ENTRY_LEAF, ENTRY_TABLE };

static unsigned level_shift(const struct walk *w, unsigned level)
{
	return w->fmt->level[level].shift;
}

static unsigned level_entries(const struct walk *w, unsigned level)
{
	return w->fmt->level[level].entries;
}

/* The next table an entry points to: the format's address field below MAXPHYADDR. */
static uint64_t table_address(const struct walk *w, uint64_t entry)
{
	return entry & w->fmt->table_addr_mask & w->phys_mask;
}

/* Without EFER.NXE bit 63 of a 64-bit entry is reserved (nw_paging_rsvd_xd): every access through the entry is a
 * reserved-bit #PF, so it maps nothing, as the walk says. The PDPTE registers are checked at MOV CR3 instead. */
static bool has_reserved_xd(const struct walk *w, unsigned level, uint64_t entry)
{
	return !nw_paging_is_pdpte_register(w->mode, level) && (entry & nw_paging_rsvd_xd(w->cpu));
}

/* Any other reserved bit (nw_paging_rsvd_bits: above MAXPHYADDR, PS where it
 * is reserved, a large page's alignment bits, PSE-36's) makes the entry map
 * nothing either: every access through it faults with RSVD=1 (§4.7). */
static bool has_reserved_bits(const struct walk *w, unsigned level, uint64_t entry)
{
	return entry & w->rsvd[level][(entry & w->fmt->ps_bit) != 0];
}

/* Entry i of the table at level: absent (P=0), unreadable (no memory backs
 * it), XD set where it is a reserved bit, another reserved bit set, a leaf
 * (level 1, or PS=1 where it maps a page) or a pointer to the next table. */
static enum entry_kind read_entry(const struct walk *w, uint64_t table, unsigned i, unsigned level, uint64_t *entry)
{
	unsigned bytes = w->fmt->entry_size;
	uint64_t gpa = table + (uint64_t)i * bytes, value;

	if (!w->read(w->read_ctx, gpa & ~UINT64_C(7), &value))
		return ENTRY_UNREADABLE;
	*entry = bytes == 8 ? value : (value >> (8 * (gpa & 4))) & UINT32_MAX;
	if (!(*entry & NW_PTE_P))
		return ENTRY_ABSENT;
	if (has_reserved_xd(w, level, *entry))
		return ENTRY_RESERVED_XD;
	if (has_reserved_bits(w, level, *entry))
		return ENTRY_RESERVED;
	return level == NW_LEVEL_PT || (w->maps_page[level] && (*entry & w->fmt->ps_bit)) ? ENTRY_LEAF : ENTRY_TABLE;
}

static struct nw_subtree subtree(struct walk *w, uint64_t table, unsigned level);

/* Every present leaf below a table, each alias counted, reading each table once per level. */
static struct nw_subtree count_table(struct walk *w, uint64_t table, unsigned level)
{
	struct nw_subtree sum = { 0 }, below;
	uint64_t entry;

	w->stats->tables++;
	for (unsigned i = 0; i < level_entries(w, level) && !w->out_of_memory; i++) {
		switch (read_entry(w, table, i, level, &entry)) {
		case ENTRY_ABSENT:
			break;
		case ENTRY_UNREADABLE:
			w->stats->unreadable++;
			break;
		case ENTRY_RESERVED_XD:
			w->stats->reserved_xd++;
			break;
		case ENTRY_RESERVED:
			w->stats->reserved++;
			break;
		case ENTRY_LEAF:
			sum.pages++;
			sum.bytes += nw_pt_level_size(w->fmt, (int)level);
			break;
		case ENTRY_TABLE:
			below = subtree(w, table_address(w, entry), level - 1);
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
	counted = count_table(w, table, level);
	if (!nw_table_memo_add(&w->memo, table, level, counted))
		w->out_of_memory = true;
	return counted;
}

/* §3.3.7.1: IA-32e linear addresses are sign-extended above the format's
 * width (48 or 57 bits); 32-bit and PAE paging translate 32-bit ones. */
static uint64_t canonical(const struct walk *w, uint64_t va)
{
	unsigned va_bits = (unsigned)__builtin_ctzll(nw_pt_va_limit(w->fmt)), unused = 64 - va_bits;

	return va_bits == 32 ? va : (uint64_t)((int64_t)(va << unused) >> unused);
}

/* Visits the leaves below a table in address order until visit says stop. A
 * table with no present leaf below it is not entered: aliases of empty
 * tables would otherwise cost up to 512^4 reads without a leaf to show. */
static void walk_table(struct walk *w, uint64_t table, unsigned level, uint64_t va_base,
		       struct nw_guest_mapping inherited)
{
	unsigned shift = level_shift(w, level);

	for (unsigned i = 0; i < level_entries(w, level) && !w->stopped; i++) {
		struct nw_guest_mapping m = inherited;
		enum entry_kind kind;
		uint64_t entry;

		kind = read_entry(w, table, i, level, &entry);
		if (kind != ENTRY_LEAF && kind != ENTRY_TABLE)
			continue;
		m.va = va_base | ((uint64_t)i << shift);
		if (!nw_paging_is_pdpte_register(w->mode, level)) {
			uint32_t rights = nw_walk_entry_rights(entry, w->xd);

			m.user &= (rights & NW_WALK_RIGHT_U) != 0;
			m.write &= (rights & NW_WALK_RIGHT_W) != 0;
			m.nx |= !(rights & NW_WALK_RIGHT_X);
		}
		if (kind == ENTRY_LEAF) {
			m.va = canonical(w, m.va);
			m.pa = nw_pt_leaf_addr(w->fmt, (int)level, entry) & w->phys_mask;
			m.size = nw_pt_level_size(w->fmt, (int)level);
			m.global = (entry & NW_PTE_G) != 0;
			m.accessed = (entry & NW_PTE_A) != 0;
			m.dirty = (entry & NW_PTE_D) != 0;
			w->stopped = !w->visit(w->visit_ctx, &m);
		} else if (subtree(w, table_address(w, entry), level - 1).pages) {
			walk_table(w, table_address(w, entry), level - 1, m.va, m);
		}
	}
}

/* The root table: CR3's address field, or for PAE the PDPT at CR3 bits 31:5 (§4.4.1). */
static uint64_t root_table(const struct walk *w)
{
	if (nw_paging_is_pdpte_register(w->mode, w->fmt->top))
		return w->cpu->cr3 & NW_CR3_PAE_PDPT_MASK;
	return table_address(w, w->cpu->cr3);
}

int nw_guest_mappings_visit(const struct nw_cpu *cpu, nw_guest_read_fn read, void *read_ctx, nw_guest_visit_fn visit,
			    void *visit_ctx, struct nw_guest_walk_stats *stats, char *err, size_t errlen)
{
	enum nw_paging_mode mode = nw_cpu_paging_mode(cpu);
	struct nw_guest_mapping top = { .user = true, .write = true };
	struct walk w = {
		.cpu = cpu, .mode = mode, .fmt = nw_paging_format(mode),
		.phys_mask = (UINT64_C(1) << nw_cpu_maxphyaddr(cpu)) - 1, .xd = nw_paging_is_xd_in_force(cpu, mode),
		.read = read, .read_ctx = read_ctx, .visit = visit, .visit_ctx = visit_ctx, .stats = stats,
	};
	struct nw_subtree all;
	uint64_t root;

	*stats = (struct nw_guest_walk_stats){ 0 };
	if (!w.fmt) {
		snprintf(err, errlen, "paging is off (CR0.PG=0): the guest has no mappings to list");
		return -1;
	}
	for (unsigned level = NW_LEVEL_PT; level <= w.fmt->top; level++) {
		bool registers = nw_paging_is_pdpte_register(mode, level); /* checked at MOV CR3 instead */

		w.maps_page[level] = level > NW_LEVEL_PT && nw_paging_ps_maps_page(cpu, mode, level);
		w.rsvd[level][0] = registers ? 0 : nw_paging_rsvd_bits(cpu, mode, level, false);
		w.rsvd[level][1] = registers ? 0 : nw_paging_rsvd_bits(cpu, mode, level, true);
	}
	root = root_table(&w);
	all = count_table(&w, root, w.fmt->top);
	if (!w.out_of_memory) {
		stats->leaves = all.pages;
		stats->bytes = all.bytes;
		walk_table(&w, root, w.fmt->top, 0, top);
	}
	nw_table_memo_free(&w.memo);
	if (w.out_of_memory) {
		snprintf(err, errlen, "out of host memory counting the guest's page tables");
		return -1;
	}
	return 0;
}
