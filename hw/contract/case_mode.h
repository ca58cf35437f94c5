/* The paging geometry a blob case selects (SDM Vol. 3A §4.3 32-bit, §4.4 PAE,
 * §4.5 4-/5-level paging), shared by the image, its checks and the simulator:
 * which level the root is, how a GVA indexes each level, which entries map a
 * page, and where a leaf's page lies, all read from the mode's format
 * (nw_paging_format) and the library's rules (paging_rules.h). */
#ifndef HW_CASE_MODE_H
#define HW_CASE_MODE_H

#include <stdbool.h>
#include <stdint.h>

#include <nestwalk/cpu.h>
#include <nestwalk/paging_rules.h>
#include <nestwalk/pt_build.h>
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

/* The paging mode the case runs, and so its format (levels, shifts, entries, address fields). */
static inline enum nw_paging_mode hw_case_paging_mode(const struct hw_blob_case *c)
{
	if (c->flags & HW_CASE_LEGACY32)
		return NW_PAGING_32;
	if (c->flags & HW_CASE_PAE)
		return NW_PAGING_PAE;
	return (c->flags & HW_CASE_LA57) ? NW_PAGING_5LEVEL : NW_PAGING_4LEVEL;
}

static inline const struct nw_pt_format *hw_case_format(const struct hw_blob_case *c)
{
	return nw_paging_format(hw_case_paging_mode(c));
}

static inline unsigned hw_case_top_level(const struct hw_blob_case *c)
{
	return hw_case_format(c)->top;
}

static inline unsigned hw_case_entry_bytes(const struct hw_blob_case *c)
{
	return hw_case_format(c)->entry_size;
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
	return hw_case_format(c)->level[level].entries;
}

static inline unsigned hw_case_index(const struct hw_blob_case *c, unsigned level, uint64_t gva)
{
	return nw_pt_index(hw_case_format(c), (int)level, gva);
}

/* Whether a present entry at level maps a page: PS where it maps one
 * (nw_paging_ps_maps_page: a PDE, with CR4.PSE for 32-bit paging; in
 * 4-/5-level paging a PDPTE too). */
static inline bool hw_case_is_leaf(const struct hw_blob_case *c, unsigned level, uint64_t value)
{
	struct nw_cpu cpu = { .cr4 = (c->flags & HW_CASE_PSE) ? NW_CR4_PSE : 0 };

	return level == NW_LEVEL_PT ||
	       ((value & NW_PTE_PS) && nw_paging_ps_maps_page(&cpu, hw_case_paging_mode(c), level));
}

static inline uint64_t hw_case_leaf_size(const struct hw_blob_case *c, unsigned level)
{
	return nw_pt_level_size(hw_case_format(c), (int)level);
}

/* The physical base of a leaf's page (for a 4 MiB PDE, PSE-36 aware: §4.3 Table 4-4). */
static inline uint64_t hw_case_leaf_base(const struct hw_blob_case *c, unsigned level, uint64_t value)
{
	return nw_pt_leaf_addr(hw_case_format(c), (int)level, value);
}

#endif
