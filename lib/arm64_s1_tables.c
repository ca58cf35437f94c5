/* AArch64 stage-1 tables (Arm ARM D8.3) over the table engine: one VA range's
 * geometry from vmsa.h, its descriptors the stage-1 attribute fields. */
#include <nestwalk/arm64_s1_tables.h>

#include "stage2_rules.h"
#include "vmsa.h"

#define SH_RESERVED 1u /* SH 0b01 (D8.6) */

static bool granule_ok(unsigned granule_bits)
{
	return granule_bits == 12 || granule_bits == 14 || granule_bits == 16;
}

nw_status_t nw_arm64_s1_tables_create(struct nw_arm64_s1_tables *t, unsigned which, unsigned granule_bits,
				      unsigned va_bits, struct nw_pt_mem mem)
{
	const struct nw_pt_format *fmt = &t->format;

	t->pt.fmt = 0;
	if (which > 1 || !granule_ok(granule_bits) || !nw_vmsa_is_s1_va_size(va_bits))
		return NW_ERR_INVALID;
	t->which = which;
	t->va_bits = va_bits;
	nw_vmsa_format(&t->format, which ? "AArch64 stage 1 (TTBR1)" : "AArch64 stage 1 (TTBR0)", granule_bits,
		       va_bits, nw_vmsa_start_level(granule_bits, va_bits));
	/* A table of more than one page (16 and 64 KiB granules) is contiguous pages aligned to its size. */
	if (nw_pt_table_pages(fmt, NW_LEVEL_PT) > 1 && !mem.ops->alloc_span)
		return NW_ERR_UNSUPPORTED;
	return nw_pt_init(&t->pt, fmt, mem, 0);
}

void nw_arm64_s1_tables_destroy(struct nw_arm64_s1_tables *t)
{
	nw_pt_destroy(&t->pt);
}

nw_status_t nw_arm64_s1_tables_ttbr(const struct nw_arm64_s1_tables *t, unsigned asid, uint64_t *ttbr)
{
	if (asid >> 16)
		return NW_ERR_RANGE;
	*ttbr = t->pt.root | (uint64_t)asid << NW_TTBR_ASID_SHIFT;
	return NW_OK;
}

/* D8.2: the range's addresses have bits 63:va_bits all 0 (TTBR0) or all 1
 * (TTBR1); the engine indexes the low va_bits. */
static bool va_to_index_space(const struct nw_arm64_s1_tables *t, uint64_t va, uint64_t *index_va)
{
	uint64_t low = (UINT64_C(1) << t->va_bits) - 1, high = va & ~low;

	*index_va = va & low;
	return high == (t->which ? ~low : 0);
}

static bool leaf_flags_ok(uint64_t flags)
{
	return !(flags & ~NW_ARM64_S1_LEAF_FLAGS) &&
	       ((flags & NW_ARM64_S1_SH_MASK) >> NW_ARM64_S1_SH_SHIFT) != SH_RESERVED;
}

nw_status_t nw_arm64_s1_tables_map(struct nw_arm64_s1_tables *t, uint64_t va, nw_gpa_t ipa, uint64_t size,
				   uint64_t flags)
{
	int level = nw_s2_size_level(&t->format, size);
	uint64_t index_va;

	if (level == 0 || !leaf_flags_ok(flags))
		return NW_ERR_INVALID;
	if (!va_to_index_space(t, va, &index_va))
		return NW_ERR_RANGE;
	return nw_pt_map(&t->pt, index_va, ipa.val, level, flags | NW_ARM64_S1_VALID, 0, 0);
}

nw_status_t nw_arm64_s1_tables_unmap(struct nw_arm64_s1_tables *t, uint64_t va, uint64_t size)
{
	uint64_t index_va;

	if (!va_to_index_space(t, va, &index_va))
		return NW_ERR_RANGE;
	return nw_pt_unmap(&t->pt, index_va, size, 0);
}

nw_status_t nw_arm64_s1_tables_protect(struct nw_arm64_s1_tables *t, uint64_t va, uint64_t size, uint64_t rights)
{
	uint64_t index_va;

	if (rights & ~NW_ARM64_S1_RIGHTS)
		return NW_ERR_INVALID;
	if (!va_to_index_space(t, va, &index_va))
		return NW_ERR_RANGE;
	return nw_pt_update(&t->pt, index_va, size, NW_ARM64_S1_RIGHTS, rights, 0);
}

nw_status_t nw_arm64_s1_tables_restrict(struct nw_arm64_s1_tables *t, uint64_t va, int level, uint64_t controls)
{
	uint64_t index_va, entry;
	nw_status_t status;

	if ((controls & ~NW_ARM64_S1_TABLE_CONTROLS) || level <= NW_LEVEL_PT || level > t->format.top)
		return NW_ERR_INVALID;
	if (!va_to_index_space(t, va, &index_va))
		return NW_ERR_RANGE;
	/* Only a table descriptor has the controls (an edit that changes nothing reads the entry). */
	status = nw_pt_edit(&t->pt, index_va, level, 0, 0, &entry, 0);
	if (status != NW_OK)
		return status;
	if (!nw_pt_is_link(&t->format, level, entry))
		return NW_ERR_NOT_FOUND;
	return nw_pt_edit(&t->pt, index_va, level, NW_ARM64_S1_TABLE_CONTROLS, controls, 0, 0);
}

nw_status_t nw_arm64_s1_tables_query(const struct nw_arm64_s1_tables *t, uint64_t va, struct nw_pt_leaf *leaf)
{
	uint64_t index_va;

	if (!va_to_index_space(t, va, &index_va))
		return NW_ERR_RANGE;
	return nw_pt_lookup(&t->pt, index_va, leaf);
}

nw_status_t nw_arm64_s1_tables_edit(struct nw_arm64_s1_tables *t, uint64_t va, int level, uint64_t clear,
				    uint64_t set, uint64_t *old)
{
	uint64_t index_va;

	if (!va_to_index_space(t, va, &index_va))
		return NW_ERR_RANGE;
	return nw_pt_edit(&t->pt, index_va, level, clear, set, old, 0);
}
