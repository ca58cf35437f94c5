/* Guest page tables for the four x86 paging modes (SDM Vol. 3A §4.3-§4.5),
 * described as data for the table engine. */
#include <nestwalk/addr.h>
#include <nestwalk/pt_build.h>
#include <nestwalk/x86_pte.h>

/* Table-pointing entries: present, writable, user (the leaf decides). */
#define GUEST_TABLE_BITS (NW_PTE_P | NW_PTE_RW | NW_PTE_US)
/* Table 4-8: a PAE PDPTE has no RW/US (bits 2:1 are reserved). */
#define PAE_PDPTE_BITS NW_PTE_P

#define ADDR32_MASK UINT64_C(0xfffff000)

/* Table 4-4..4-6: 32-bit paging, 1024 4-byte entries per table. */
static const struct nw_pt_format fmt_32bit = {
	.name = "32-bit", .entry_size = 4, .top = NW_LEVEL_PD, .table_addr_mask = ADDR32_MASK, .ps_bit = NW_PTE_PS,
	.pat_small_bit = NW_PTE_PAT_4K, .pat_large_bit = NW_PTE_PAT_LARGE, .pse36 = true,
	.level = {
		[NW_LEVEL_PT] = { .shift = 12, .entries = 1024, .leaf_ok = true, .leaf_addr_mask = ADDR32_MASK,
				  .table_bits = GUEST_TABLE_BITS, .name = "PTE" },
		[NW_LEVEL_PD] = { .shift = 22, .entries = 1024, .leaf_ok = true,
				  .leaf_addr_mask = NW_PDE32_4M_ADDR_LOW_MASK, .table_bits = GUEST_TABLE_BITS,
				  .name = "PDE" },
	},
};

#define X86_LEVEL(sh, n, leaf, mask, bits, nm) \
	{ .shift = (sh), .entries = (n), .leaf_ok = (leaf), .leaf_addr_mask = (mask), .table_bits = (bits), \
	  .name = (nm) }

#define X86_LOW_LEVELS \
	[NW_LEVEL_PT] = X86_LEVEL(12, 512, true, NW_PTE_ADDR_MASK, GUEST_TABLE_BITS, "PTE"), \
	[NW_LEVEL_PD] = X86_LEVEL(21, 512, true, NW_PTE_ADDR_MASK & ~(NW_SIZE_2M - 1), GUEST_TABLE_BITS, "PDE")

/* Tables 4-8..4-11: PAE, a 4-entry PDPT (32-byte aligned) on top. */
static const struct nw_pt_format fmt_pae = {
	.name = "PAE", .entry_size = 8, .top = NW_LEVEL_PDPT, .table_addr_mask = NW_PTE_ADDR_MASK,
	.ps_bit = NW_PTE_PS, .pat_small_bit = NW_PTE_PAT_4K, .pat_large_bit = NW_PTE_PAT_LARGE,
	.level = {
		X86_LOW_LEVELS,
		[NW_LEVEL_PDPT] = X86_LEVEL(30, 4, false, 0, PAE_PDPTE_BITS, "PDPTE"),
	},
};

#define X86_HIGH_LEVELS \
	X86_LOW_LEVELS, \
	[NW_LEVEL_PDPT] = X86_LEVEL(30, 512, true, NW_PTE_ADDR_MASK & ~(NW_SIZE_1G - 1), GUEST_TABLE_BITS, "PDPTE"), \
	[NW_LEVEL_PML4] = X86_LEVEL(39, 512, false, 0, GUEST_TABLE_BITS, "PML4E"), \
	[NW_LEVEL_PML5] = X86_LEVEL(48, 512, false, 0, GUEST_TABLE_BITS, "PML5E")

/* Tables 4-14..4-20: 4-level and 5-level paging. */
static const struct nw_pt_format fmt_4level = {
	.name = "4-level", .entry_size = 8, .top = NW_LEVEL_PML4, .table_addr_mask = NW_PTE_ADDR_MASK,
	.ps_bit = NW_PTE_PS, .pat_small_bit = NW_PTE_PAT_4K, .pat_large_bit = NW_PTE_PAT_LARGE,
	.level = { X86_HIGH_LEVELS },
};

static const struct nw_pt_format fmt_5level = {
	.name = "5-level", .entry_size = 8, .top = NW_LEVEL_PML5, .table_addr_mask = NW_PTE_ADDR_MASK,
	.ps_bit = NW_PTE_PS, .pat_small_bit = NW_PTE_PAT_4K, .pat_large_bit = NW_PTE_PAT_LARGE,
	.level = { X86_HIGH_LEVELS },
};

const struct nw_pt_format *nw_gpt_format(enum nw_gpt_mode mode)
{
	switch (mode) {
	case NW_GPT_32BIT: return &fmt_32bit;
	case NW_GPT_PAE: return &fmt_pae;
	case NW_GPT_4LEVEL: return &fmt_4level;
	case NW_GPT_5LEVEL: return &fmt_5level;
	}
	return 0;
}

nw_status_t nw_gpt_create(struct nw_gpt *gpt, enum nw_gpt_mode mode, struct nw_pt_mem mem)
{
	const struct nw_pt_format *fmt = nw_gpt_format(mode);

	gpt->pt.fmt = 0;
	if (!fmt)
		return NW_ERR_INVALID;
	gpt->mode = mode;
	return nw_pt_init(&gpt->pt, fmt, mem, 0);
}

void nw_gpt_destroy(struct nw_gpt *gpt)
{
	nw_pt_destroy(&gpt->pt);
}

uint64_t nw_gpt_root(const struct nw_gpt *gpt)
{
	return gpt->pt.root;
}

/* §4.5: a linear address is canonical when bits 63:(width-1) are all equal;
 * the engine indexes the low width bits. */
static bool gva_to_index_space(const struct nw_gpt *gpt, uint64_t gva, uint64_t *va)
{
	uint64_t limit = nw_pt_va_limit(gpt->pt.fmt), high = gva & ~((limit >> 1) - 1);

	if (gpt->mode == NW_GPT_32BIT || gpt->mode == NW_GPT_PAE) {
		*va = gva;
		return gva < limit;
	}
	if (high != 0 && high != ~((limit >> 1) - 1))
		return false;
	*va = gva & (limit - 1);
	return true;
}

static int size_level(const struct nw_gpt *gpt, uint64_t size)
{
	const struct nw_pt_format *fmt = gpt->pt.fmt;

	for (int level = NW_LEVEL_PT; level <= fmt->top; level++)
		if (fmt->level[level].leaf_ok && nw_pt_level_size(fmt, level) == size)
			return level;
	return 0;
}

nw_status_t nw_gpt_map(struct nw_gpt *gpt, nw_gva_t gva, nw_gpa_t gpa, uint64_t size, uint64_t flags,
		       const uint64_t *table_flags)
{
	const struct nw_pt_format *fmt = gpt->pt.fmt;
	int level = size_level(gpt, size);
	uint64_t va;
	nw_status_t status;

	if (level == 0 || (flags & (fmt->table_addr_mask | NW_PTE_ADDR_MASK)))
		return NW_ERR_INVALID;
	for (int l = level + 1; table_flags && l <= fmt->top; l++)
		if (table_flags[l] & (NW_PTE_ADDR_MASK | fmt->table_addr_mask | NW_PTE_PS))
			return NW_ERR_INVALID;
	if (!gva_to_index_space(gpt, gva.val, &va))
		return NW_ERR_RANGE;
	status = nw_pt_map(&gpt->pt, va, gpa.val, level, flags | NW_PTE_P, 0, 0);
	for (int l = level + 1; status == NW_OK && table_flags && l <= fmt->top; l++) {
		uint64_t keep = fmt->table_addr_mask | fmt->ps_bit;

		if (table_flags[l])
			status = nw_pt_edit(&gpt->pt, va, l, ~keep, table_flags[l], 0, 0);
	}
	return status;
}

nw_status_t nw_gpt_unmap(struct nw_gpt *gpt, nw_gva_t gva, uint64_t size)
{
	uint64_t va;

	if (!gva_to_index_space(gpt, gva.val, &va))
		return NW_ERR_RANGE;
	return nw_pt_unmap(&gpt->pt, va, size, 0);
}

nw_status_t nw_gpt_query(const struct nw_gpt *gpt, nw_gva_t gva, struct nw_pt_leaf *leaf)
{
	uint64_t va;

	if (!gva_to_index_space(gpt, gva.val, &va))
		return NW_ERR_RANGE;
	return nw_pt_lookup(&gpt->pt, va, leaf);
}

nw_status_t nw_gpt_edit(struct nw_gpt *gpt, nw_gva_t gva, int level, uint64_t clear, uint64_t set, uint64_t *old)
{
	uint64_t va;

	if (!gva_to_index_space(gpt, gva.val, &va))
		return NW_ERR_RANGE;
	return nw_pt_edit(&gpt->pt, va, level, clear, set, old, 0);
}
