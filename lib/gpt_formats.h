/* The guest paging formats (SDM Vol. 3A §4.3-§4.5) as data: what the table
 * engine builds (pt_guest.c) and the geometry the walkers read. Static, so a
 * walk copy instantiated for one format reads its shifts and index widths as
 * constants (walk_fast.c). */
#ifndef NESTWALK_LIB_GPT_FORMATS_H
#define NESTWALK_LIB_GPT_FORMATS_H

#include <nestwalk/addr.h>
#include <nestwalk/pt_build.h>
#include <nestwalk/x86_pte.h>

/* Table-pointing entries: present, writable, user (the leaf decides). */
#define GUEST_TABLE_BITS (NW_PTE_P | NW_PTE_RW | NW_PTE_US)
/* Table 4-8: a PAE PDPTE has no RW/US (bits 2:1 are reserved). */
#define PAE_PDPTE_BITS NW_PTE_P

#define ADDR32_MASK UINT64_C(0xfffff000)

/* Table 4-4..4-6: 32-bit paging, 1024 4-byte entries per table. */
static const struct nw_pt_format nw_gpt_fmt_32bit = {
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
static const struct nw_pt_format nw_gpt_fmt_pae = {
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
static const struct nw_pt_format nw_gpt_fmt_4level = {
	.name = "4-level", .entry_size = 8, .top = NW_LEVEL_PML4, .table_addr_mask = NW_PTE_ADDR_MASK,
	.ps_bit = NW_PTE_PS, .pat_small_bit = NW_PTE_PAT_4K, .pat_large_bit = NW_PTE_PAT_LARGE,
	.level = { X86_HIGH_LEVELS },
};

static const struct nw_pt_format nw_gpt_fmt_5level = {
	.name = "5-level", .entry_size = 8, .top = NW_LEVEL_PML5, .table_addr_mask = NW_PTE_ADDR_MASK,
	.ps_bit = NW_PTE_PS, .pat_small_bit = NW_PTE_PAT_4K, .pat_large_bit = NW_PTE_PAT_LARGE,
	.level = { X86_HIGH_LEVELS },
};

#endif
