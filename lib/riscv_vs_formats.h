/* The VS-stage geometries (vsatp Sv39, Sv48, Sv57: 512-entry tables at every
 * level, riscv_pte_rules.h) as static data, so nw_rv_vs_format() gives them to
 * the reference walk and the fast walker's plain copies (walk_fast.c) read
 * their shifts and index widths as constants, as gpt_formats.h gives x86's.
 * Internal. */
#ifndef NESTWALK_LIB_RISCV_VS_FORMATS_H
#define NESTWALK_LIB_RISCV_VS_FORMATS_H

#include "riscv_pte_rules.h"

static const struct nw_pt_format nw_rv_vs_fmt_sv39 = {
	NW_RV_FORMAT("Sv39", NW_LEVEL_PDPT),
	.level = { NW_RV_L0, NW_RV_L1, NW_RV_L2 },
};

static const struct nw_pt_format nw_rv_vs_fmt_sv48 = {
	NW_RV_FORMAT("Sv48", NW_LEVEL_PML4),
	.level = { NW_RV_L0, NW_RV_L1, NW_RV_L2, NW_RV_L3 },
};

static const struct nw_pt_format nw_rv_vs_fmt_sv57 = {
	NW_RV_FORMAT("Sv57", NW_LEVEL_PML5),
	.level = { NW_RV_L0, NW_RV_L1, NW_RV_L2, NW_RV_L3, [NW_LEVEL_PML5] = NW_RV_LEVEL(48, 512, "L4") },
};

#endif
