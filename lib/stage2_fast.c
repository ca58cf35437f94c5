/* The fast walker's view of its second stage (stage2.h, struct nw_s2_fast):
 * the EPT rules of SDM Vol. 3C §29.3.2-§29.3.3 and the nested-paging rules of
 * APM Vol. 2 §15.25.5 restated as masks, once per EPTP or nCR3. A mask proves
 * only the plain cases; every other entry goes to the rule-by-rule translate. */
#include <nestwalk/assert.h>
#include <nestwalk/ept.h>
#include <nestwalk/npt.h>
#include <nestwalk/x86_pte.h>

#include "stage2_fast.h"

#define LARGE_2M_EPT_RSVD UINT64_C(0x1ff000)   /* bits 20:12 of a 2 MiB EPT leaf (Table 29-5) */
#define LARGE_1G_EPT_RSVD UINT64_C(0x3ffff000) /* bits 29:12 of a 1 GiB EPT leaf (Table 29-3) */
#define LARGE_2M_NPT_RSVD UINT64_C(0x1fe000)   /* bits 20:13 of a 2 MiB leaf (Table 4-18) */
#define LARGE_1G_NPT_RSVD UINT64_C(0x3fffe000) /* bits 29:13 of a 1 GiB leaf (Table 4-16) */
/* EPT memory types 0, 1, 4, 5, 6 (2, 3 and 7 are reserved, §29.3.3.1). */
#define EPT_MT_ALLOWED UINT8_C(0x73)
/* A mask no entry matches: (entry & 0) is never 1. */
#define NEVER_MASK 0
#define NEVER_WANT 1

static uint64_t bits_above(unsigned maxphyaddr)
{
	return NW_PTE_ADDR_MASK & ~((UINT64_C(1) << maxphyaddr) - 1);
}

static void set_never(struct nw_s2_fast *fast, int level)
{
	fast->table_mask[level] = NEVER_MASK;
	fast->table_want[level] = NEVER_WANT;
	fast->leaf_mask[level] = NEVER_MASK;
	fast->leaf_want[level] = NEVER_WANT;
}

/* The access index (type | user) needs rights in every entry and forbids
 * bits in any; when it may set A/D, every entry must already have accessed
 * and a write's leaf dirty, or the full translate sets them. */
static void set_needs(struct nw_s2_fast *fast, unsigned index, uint64_t rights, uint64_t forbidden, uint64_t accessed,
		      uint64_t dirty)
{
	bool write = (index & 3) == NW_ACCESS_WRITE;

	fast->must_all[index] = rights;
	fast->must_none[index] = forbidden;
	fast->must_leaf[index] = 0;
	fast->must_all[index | NW_S2_NEED_SET_AD] = rights | accessed;
	fast->must_none[index | NW_S2_NEED_SET_AD] = forbidden;
	fast->must_leaf[index | NW_S2_NEED_SET_AD] = write ? dirty : 0;
}

static void derive_format(struct nw_s2_fast *fast, const struct nw_pt *pt)
{
	const struct nw_pt_format *fmt = pt->fmt;

	fast->top = fmt->top;
	fast->root = pt->root;
	fast->va_limit = nw_pt_va_limit(fmt);
	fast->map = pt->mem.direct_map;
	fast->map_size = pt->mem.direct_map ? pt->mem.direct_map_size : 0;
	fast->table_addr_mask = fmt->table_addr_mask;
	for (int level = 0; level <= NW_MAX_LEVELS; level++) {
		bool used = level >= NW_LEVEL_PT && level <= fmt->top;

		/* The fast loop computes the index shift; the format must agree. */
		NW_ASSERT(!used || fmt->level[level].shift == nw_s2_shift(level));
		fast->leaf_addr_mask[level] = used ? fmt->level[level].leaf_addr_mask : 0;
		set_never(fast, level);
	}
}

/* What proves an entry plain, for either format: the present bit(s) set and
 * no reserved bit; a table pointer below the root, or a leaf with PS where
 * large pages exist (bits between the PAT bit and the page's alignment are
 * reserved there). */
struct entry_rules {
	uint64_t present, ps, table_rsvd, leaf_rsvd, rsvd_2m, rsvd_1g;
	bool pages_1g;
};

static void set_entry_masks(struct nw_s2_fast *fast, const struct entry_rules *r)
{
	for (int level = NW_LEVEL_PD; level <= fast->top; level++) {
		fast->table_mask[level] = r->present | r->table_rsvd;
		fast->table_want[level] = r->present;
	}
	fast->leaf_mask[NW_LEVEL_PT] = r->present | r->leaf_rsvd;
	fast->leaf_want[NW_LEVEL_PT] = r->present;
	fast->leaf_mask[NW_LEVEL_PD] = r->present | r->ps | r->leaf_rsvd | r->rsvd_2m;
	fast->leaf_want[NW_LEVEL_PD] = r->present | r->ps;
	if (r->pages_1g) {
		fast->leaf_mask[NW_LEVEL_PDPT] = r->present | r->ps | r->leaf_rsvd | r->rsvd_1g;
		fast->leaf_want[NW_LEVEL_PDPT] = r->present | r->ps;
	}
}

/* §29.3.3.1: a readable entry breaks neither the write-without-read nor the
 * execute-only rule; a table pointer must have bits 7:3 and the address bits
 * from MAXPHYADDR up clear; a leaf those address bits, its alignment bits
 * (Tables 29-3, 29-5) and a reserved memory type; PS is reserved above the
 * PDPT and in a PDPTE without 1 GiB pages. */
static void derive_ept(struct nw_s2_fast *fast, const struct nw_ept *ept)
{
	const struct nw_ept_config *config = &ept->config;
	uint64_t above = bits_above(config->caps.maxphyaddr);

	derive_format(fast, &ept->pt);
	set_entry_masks(fast, &(const struct entry_rules){ .present = NW_EPT_R, .ps = NW_EPT_PS,
		.table_rsvd = NW_EPT_NONLEAF_RSVD | above, .leaf_rsvd = above, .rsvd_2m = LARGE_2M_EPT_RSVD,
		.rsvd_1g = LARGE_1G_EPT_RSVD, .pages_1g = config->caps.pages_1g });
	fast->mt_allowed = EPT_MT_ALLOWED;
	/* §29.3.3.2: reads need R, writes W, fetches X, user-mode fetches under
	 * mode-based execute control bit 10, in every entry. */
	for (unsigned index = 0; index < 8; index++) {
		enum nw_access_type type = (enum nw_access_type)(index & 3);
		bool user = index & NW_S2_NEED_USER;

		uint64_t need = type == NW_ACCESS_READ    ? NW_EPT_R
				: type == NW_ACCESS_WRITE ? NW_EPT_W
				: config->mbec && user    ? NW_EPT_UX
							  : NW_EPT_X;

		/* §29.3.5: A/D only with EPTP bit 6. */
		set_needs(fast, index, need, 0, config->ad ? NW_EPT_A : 0, config->ad ? NW_EPT_D : 0);
	}
	fast->ux_mask = config->mbec ? NW_EPT_UX : 0;
}

/* APM §15.25.5: nested accesses are user accesses, so every entry needs P and
 * US, writes RW, fetches no XD; a table pointer has PS clear (reserved above
 * the PDPT, a leaf below) and no reserved bit (address bits from MAXPHYADDR
 * up, XD without the host's EFER.NXE); a leaf neither, nor alignment bits
 * (Tables 4-16, 4-18), PS in a PDPE only with 1 GiB pages. */
static void derive_npt(struct nw_s2_fast *fast, const struct nw_npt *npt)
{
	const struct nw_npt_config *config = &npt->config;
	uint64_t rsvd = bits_above(config->caps.maxphyaddr) | (config->caps.nxe ? 0 : NW_PTE_XD);

	derive_format(fast, &npt->pt);
	set_entry_masks(fast, &(const struct entry_rules){ .present = NW_PTE_P, .ps = NW_PTE_PS,
		.table_rsvd = NW_PTE_PS | rsvd, .leaf_rsvd = rsvd, .rsvd_2m = LARGE_2M_NPT_RSVD,
		.rsvd_1g = LARGE_1G_NPT_RSVD, .pages_1g = config->caps.pages_1g });
	fast->mt_allowed = UINT8_C(0xff);
	for (unsigned index = 0; index < 8; index++) {
		enum nw_access_type type = (enum nw_access_type)(index & 3);

		/* The nested walk always sets A, and D in the leaf of a write. */
		set_needs(fast, index, NW_PTE_US | (type == NW_ACCESS_WRITE ? NW_PTE_RW : 0),
			  type == NW_ACCESS_FETCH ? NW_PTE_XD : 0, NW_PTE_A, NW_PTE_D);
	}
	fast->ux_mask = 0;
}

void nw_s2_fast_derive(const struct nw_stage2 *s2, struct nw_s2_fast *fast)
{
	*fast = (struct nw_s2_fast){ .kind = s2->kind };
	switch (s2->kind) {
	case NW_STAGE2_EPT:
		derive_ept(fast, s2->ept);
		return;
	case NW_STAGE2_NPT:
		derive_npt(fast, s2->npt);
		return;
	case NW_STAGE2_NONE:
		break;
	}
}
