/* Guest page tables for the four x86 paging modes (SDM Vol. 3A §4.3-§4.5),
 * described as data for the table engine. */
#include <nestwalk/addr.h>
#include <nestwalk/pt_build.h>
#include <nestwalk/x86_pte.h>

#include "gpt_formats.h"

const struct nw_pt_format *nw_gpt_format(enum nw_gpt_mode mode)
{
	switch (mode) {
	case NW_GPT_32BIT: return &nw_gpt_fmt_32bit;
	case NW_GPT_PAE: return &nw_gpt_fmt_pae;
	case NW_GPT_4LEVEL: return &nw_gpt_fmt_4level;
	case NW_GPT_5LEVEL: return &nw_gpt_fmt_5level;
	}
	return 0;
}

const struct nw_pt_format *nw_paging_format(enum nw_paging_mode mode)
{
	switch (mode) {
	case NW_PAGING_32: return &nw_gpt_fmt_32bit;
	case NW_PAGING_PAE: return &nw_gpt_fmt_pae;
	case NW_PAGING_4LEVEL: return &nw_gpt_fmt_4level;
	case NW_PAGING_5LEVEL: return &nw_gpt_fmt_5level;
	case NW_PAGING_OFF: break;
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
