/* Enumerating guest mappings (guest_mappings.h): the paging modes described
 * as data, one recursive loop over the levels. */
#include <stdio.h>

#include <nestwalk/addr.h>
#include <nestwalk/level.h>
#include <nestwalk/x86_pte.h>

#include "guest_mappings.h"

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
	bool too_many;
};

static bool read_entry(struct walk *w, uint64_t gpa, uint64_t *entry)
{
	uint64_t value;

	if (!w->read(w->read_ctx, gpa & ~UINT64_C(7), &value)) {
		w->stats->unreadable++;
		return false;
	}
	*entry = w->fmt->entry_bytes == 8 ? value : (value >> (8 * (gpa & 4))) & UINT32_MAX;
	return true;
}

static unsigned level_shift(const struct format *fmt, unsigned level)
{
	return NW_PAGE_SHIFT + fmt->index_bits * (level - 1);
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

static void walk_table(struct walk *w, uint64_t table, unsigned level, uint64_t va_base, unsigned entries,
		       struct nw_guest_mapping inherited)
{
	const struct format *fmt = w->fmt;
	unsigned shift = level_shift(fmt, level);

	w->stats->tables++;
	for (unsigned i = 0; i < entries && !w->too_many; i++) {
		struct nw_guest_mapping m = inherited;
		uint64_t entry;

		if (!read_entry(w, table + (uint64_t)i * fmt->entry_bytes, &entry) || !(entry & NW_PTE_P))
			continue;
		m.va = va_base | ((uint64_t)i << shift);
		/* PAE PDPTEs carry no R/W, U/S or XD (§4.4.1): only the levels below decide. */
		if (!(fmt->entry_bytes == 8 && fmt->levels == 3 && level == 3)) {
			m.user &= (entry & NW_PTE_US) != 0;
			m.write &= (entry & NW_PTE_RW) != 0;
			m.nx |= fmt->xd && (entry & NW_PTE_XD);
		}
		if (level == 1 || (fmt->large[level] && (entry & NW_PTE_PS))) {
			m.va = canonical(fmt, m.va);
			m.pa = level == 1 ? entry & fmt->addr_mask : large_page_address(fmt, entry, shift);
			m.size = UINT64_C(1) << shift;
			m.global = (entry & NW_PTE_G) != 0;
			m.accessed = (entry & NW_PTE_A) != 0;
			m.dirty = (entry & NW_PTE_D) != 0;
			if (++w->stats->leaves > NW_GUEST_MAPPINGS_MAX_LEAVES) {
				w->too_many = true;
				return;
			}
			w->visit(w->visit_ctx, &m);
			continue;
		}
		walk_table(w, entry & fmt->addr_mask, level - 1, m.va, 1u << fmt->index_bits, m);
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
	struct walk w = { &fmt, read, read_ctx, visit, visit_ctx, stats, false };

	*stats = (struct nw_guest_walk_stats){ 0 };
	switch (mode) {
	case NW_PAGING_32:
		fmt = (struct format){ 2, 4, 10, 32, UINT64_C(0xfffff000), { [2] = (cpu->cr4 & NW_CR4_PSE) != 0 },
				       false };
		walk_table(&w, cpu->cr3 & UINT64_C(0xfffff000), 2, 0, 1024, top);
		break;
	case NW_PAGING_PAE:
		fmt = (struct format){ 3, 8, 9, 32, maxphy_mask, { [2] = true }, nxe };
		walk_table(&w, cpu->cr3 & NW_CR3_PAE_PDPT_MASK, 3, 0, 4, top);
		break;
	case NW_PAGING_4LEVEL:
	case NW_PAGING_5LEVEL:
		fmt = (struct format){ mode == NW_PAGING_4LEVEL ? 4 : 5, 8, 9, mode == NW_PAGING_4LEVEL ? 48 : 57,
				       maxphy_mask, { [2] = true, [3] = !cpu->no_1g_pages }, nxe };
		walk_table(&w, cpu->cr3 & maxphy_mask, fmt.levels, 0, 512, top);
		break;
	case NW_PAGING_OFF:
		snprintf(err, errlen, "paging is off (CR0.PG=0): the guest has no mappings to list");
		return -1;
	}
	if (w.too_many) {
		snprintf(err, errlen, "more than %llu guest mappings: stopped (tables that map themselves repeatedly?)",
			 (unsigned long long)NW_GUEST_MAPPINGS_MAX_LEAVES);
		return -1;
	}
	return 0;
}
