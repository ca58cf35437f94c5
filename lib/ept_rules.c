/* Intel EPT as a second-stage table of rules (SDM Vol. 3C §29.3; entry
 * formats Tables 29-1..29-7), and its translate: the one loop of
 * stage2_walk.h over this table. */
#include <nestwalk/ept.h>

#include "stage2_walk.h"

/* Table entries grant everything; the leaf decides (§29.3.2: rights are the AND over the path). */
#define EPT_TABLE_BITS (NW_EPT_R | NW_EPT_W | NW_EPT_X | NW_EPT_UX)

#define EPT_LEVEL(sh, leaf, mask, nm) \
	{ .shift = (sh), .entries = 512, .leaf_ok = (leaf), .leaf_addr_mask = (mask), .table_bits = EPT_TABLE_BITS, \
	  .name = (nm) }

#define EPT_LEVELS \
	[NW_LEVEL_PT] = EPT_LEVEL(12, true, NW_EPT_ADDR_MASK, "PTE"), \
	[NW_LEVEL_PD] = EPT_LEVEL(21, true, NW_EPT_ADDR_MASK & ~(NW_SIZE_2M - 1), "PDE"), \
	[NW_LEVEL_PDPT] = EPT_LEVEL(30, true, NW_EPT_ADDR_MASK & ~(NW_SIZE_1G - 1), "PDPTE"), \
	[NW_LEVEL_PML4] = EPT_LEVEL(39, false, 0, "PML4E"), \
	[NW_LEVEL_PML5] = EPT_LEVEL(48, false, 0, "PML5E")

static const struct nw_pt_format ept4_format = {
	.name = "EPT 4-level", .entry_size = 8, .top = NW_LEVEL_PML4, .table_addr_mask = NW_EPT_ADDR_MASK,
	.ps_bit = NW_EPT_PS, .level = { EPT_LEVELS },
};

static const struct nw_pt_format ept5_format = {
	.name = "EPT 5-level", .entry_size = 8, .top = NW_LEVEL_PML5, .table_addr_mask = NW_EPT_ADDR_MASK,
	.ps_bit = NW_EPT_PS, .level = { EPT_LEVELS },
};

/* Rights as nw_s2_result counts them (exit qualification bits 3..6 shifted
 * down): R, W, X are entry bits 2:0 in the same order, user execute bit 10. */
_Static_assert(NW_S2_RIGHT_R == NW_EPT_R && NW_S2_RIGHT_W == NW_EPT_W && NW_S2_RIGHT_X == NW_EPT_X &&
		       NW_S2_RIGHT_UX == NW_EPT_UX >> 7,
	       "stage-2 rights are the EPT permission bits");

/* §29.3.3.2: bit 10 grants user-mode execute only under mode-based execute
 * control; §29.3.5: A/D only with EPTP bit 6. */
static struct nw_s2_caps ept_caps(const void *opaque)
{
	const struct nw_ept_config *config = opaque;

	return (struct nw_s2_caps){ .maxphyaddr = config->caps.maxphyaddr, .pages_1g = config->caps.pages_1g,
				    .user_exec = config->mbec, .sets_ad = config->ad,
				    .rights = NW_S2_RIGHT_R | NW_S2_RIGHT_W | NW_S2_RIGHT_X |
					      (config->mbec ? NW_S2_RIGHT_UX : 0),
				    .entry_rsvd = nw_s2_bits_above_maxphy(&ept4_format, config->caps.maxphyaddr) };
}

static bool ept_is_present(const void *config, int level, uint64_t entry)
{
	(void)level;
	return nw_ept_is_present(config, entry);
}

static bool ept_is_misconfigured(const void *config, int level, uint64_t entry)
{
	return nw_ept_misconfig(config, level, entry) != NW_EPT_MISCONFIG_NONE;
}

const struct nw_s2_rules nw_ept_rules = {
	.format4 = &ept4_format,
	.format5 = &ept5_format,
	/* R rules out the write-only and execute-only misconfigurations (§29.3.3.1). */
	.plain = NW_EPT_R,
	/* Tables 29-1, 29-2, 29-4, 29-6: bits 7:3 of a table pointer are reserved (bit 7 is PS). */
	.table_clear = NW_EPT_NONLEAF_RSVD,
	.accessed = NW_EPT_A,
	.dirty = NW_EPT_D,
	.ignore_pat = NW_EPT_IPAT,
	.decode = {
		.grant = { NW_EPT_R, NW_EPT_W, NW_EPT_X, NW_EPT_UX },
		/* Bits 5:3 are the memory type itself; 2, 3 and 7 are reserved (§29.3.3.1). */
		.mt_shift = NW_EPT_MT_SHIFT,
		.mt_field = NW_EPT_MT_MASK >> NW_EPT_MT_SHIFT,
		.mt_types = { 0, 1, 2, 3, 4, 5, 6, 7 },
		.mt_allowed = (1u << NW_EPT_MT_UC) | (1u << NW_EPT_MT_WC) | (1u << NW_EPT_MT_WT) | (1u << NW_EPT_MT_WP) |
			      (1u << NW_EPT_MT_WB),
	},
	.misconfig_fault = NW_S2_FAULT_MISCONFIG,
	.caps = ept_caps,
	.is_present = ept_is_present,
	.is_misconfigured = ept_is_misconfigured,
};

void nw_ept_translate(struct nw_ept *ept, const struct nw_s2_request *req, struct nw_s2_result *res)
{
	nw_s2_walk(&nw_ept_rules, &ept->config, &ept->pt, req, res);
}
