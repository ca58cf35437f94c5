/* The paging geometry a blob case selects (SDM Vol. 3A §4.3 32-bit, §4.4 PAE,
 * §4.5 4-/5-level paging), shared by the image, its checks and the simulator:
 * which level the root is, how a GVA indexes each level, which entries map a
 * page, and where a leaf's page lies. */
#ifndef HW_CASE_MODE_H
#define HW_CASE_MODE_H

#include <stdbool.h>
#include <stdint.h>

#include <nestwalk/x86_pte.h>

#include "contract/blob.h"
#include "contract/layout.h"

static inline bool hw_case_is_legacy(const struct hw_blob_case *c)
{
	return c->flags & (HW_CASE_PAE | HW_CASE_LEGACY32);
}

/* Legacy modes exist in the image only as an SVM guest over nested paging. */
static inline bool hw_case_is_nested(const struct hw_blob_case *c)
{
	return (c->flags & HW_CASE_NPT) || hw_case_is_legacy(c);
}

static inline unsigned hw_case_top_level(const struct hw_blob_case *c)
{
	if (c->flags & HW_CASE_LEGACY32)
		return 2;
	if (c->flags & HW_CASE_PAE)
		return 3;
	return (c->flags & HW_CASE_LA57) ? 5 : 4;
}

static inline unsigned hw_case_entry_bytes(const struct hw_blob_case *c)
{
	return (c->flags & HW_CASE_LEGACY32) ? 4 : 8;
}

/* Top-level slots the image keeps in every root (layout.h). */
static inline unsigned hw_case_kernel_slots(const struct hw_blob_case *c)
{
	if (c->flags & HW_CASE_LEGACY32)
		return HW_KERNEL_SLOTS_32BIT;
	if (c->flags & HW_CASE_PAE)
		return HW_KERNEL_SLOTS_PAE;
	return (c->flags & HW_CASE_LA57) ? HW_KERNEL_SLOTS_5LEVEL : HW_KERNEL_SLOTS_4LEVEL;
}

/* Entries in a table at level: 1024 with 4-byte entries, 4 in the PAE PDPT (§4.4.1). */
static inline unsigned hw_case_table_slots(const struct hw_blob_case *c, unsigned level)
{
	if (c->flags & HW_CASE_LEGACY32)
		return 1024;
	if ((c->flags & HW_CASE_PAE) && level == 3)
		return 4;
	return 512;
}

static inline unsigned hw_case_level_shift(const struct hw_blob_case *c, unsigned level)
{
	if (c->flags & HW_CASE_LEGACY32)
		return 12 + 10 * (level - 1);
	return 12 + 9 * (level - 1);
}

static inline unsigned hw_case_index(const struct hw_blob_case *c, unsigned level, uint64_t gva)
{
	return (unsigned)(gva >> hw_case_level_shift(c, level)) & (hw_case_table_slots(c, level) - 1);
}

/* Whether a present entry at level maps a page: PS in a PDE (with CR4.PSE for
 * 32-bit paging, §4.3) or, in 4-/5-level paging, in a PDPTE (§4.5). */
static inline bool hw_case_is_leaf(const struct hw_blob_case *c, unsigned level, uint64_t value)
{
	if (level == 1)
		return true;
	if (!(value & NW_PTE_PS))
		return false;
	if (c->flags & HW_CASE_LEGACY32)
		return level == 2 && (c->flags & HW_CASE_PSE);
	if (c->flags & HW_CASE_PAE)
		return level == 2;
	return level <= 3;
}

static inline uint64_t hw_case_leaf_size(const struct hw_blob_case *c, unsigned level)
{
	return UINT64_C(1) << hw_case_level_shift(c, level);
}

/* The physical base of a leaf's page: for a 4 MiB PDE, bits 31:22 and, from
 * bits 20:13, physical bits 39:32 (PSE-36, §4.3 Table 4-4). */
static inline uint64_t hw_case_leaf_base(const struct hw_blob_case *c, unsigned level, uint64_t value)
{
	if ((c->flags & HW_CASE_LEGACY32) && level == 2)
		return (value & NW_PDE32_4M_ADDR_LOW_MASK) |
		       (((value & NW_PDE32_4M_ADDR_HIGH_MASK) >> NW_PDE32_4M_ADDR_HIGH_SHIFT) << 32);
	if (c->flags & HW_CASE_LEGACY32)
		return value & UINT64_C(0xfffff000);
	return value & NW_PTE_ADDR_MASK & ~(hw_case_leaf_size(c, level) - 1);
}

#endif
