/* AMD nested page tables as a second-stage table of rules (APM Vol. 2
 * §15.25: the long-mode entry format, SDM Vol. 3A Tables 4-14..4-20), and
 * its translate: the one loop of stage2_walk.h over this table. */
#include <nestwalk/cpu.h>
#include <nestwalk/npt.h>

#include "stage2_walk.h"

/* APM §15.25.5: nested accesses are user accesses, so tables carry US. */
#define NPT_TABLE_BITS (NW_PTE_P | NW_PTE_RW | NW_PTE_US)

#define NPT_LEVEL(sh, leaf, mask, nm) \
	{ .shift = (sh), .entries = 512, .leaf_ok = (leaf), .leaf_addr_mask = (mask), .table_bits = NPT_TABLE_BITS, \
	  .name = (nm) }

#define NPT_LEVELS \
	[NW_LEVEL_PT] = NPT_LEVEL(12, true, NW_PTE_ADDR_MASK, "PTE"), \
	[NW_LEVEL_PD] = NPT_LEVEL(21, true, NW_PTE_ADDR_MASK & ~(NW_SIZE_2M - 1), "PDE"), \
	[NW_LEVEL_PDPT] = NPT_LEVEL(30, true, NW_PTE_ADDR_MASK & ~(NW_SIZE_1G - 1), "PDPE"), \
	[NW_LEVEL_PML4] = NPT_LEVEL(39, false, 0, "PML4E"), \
	[NW_LEVEL_PML5] = NPT_LEVEL(48, false, 0, "PML5E")

static const struct nw_pt_format npt4_format = {
	.name = "NPT 4-level", .entry_size = 8, .top = NW_LEVEL_PML4, .table_addr_mask = NW_PTE_ADDR_MASK,
	.ps_bit = NW_PTE_PS, .pat_small_bit = NW_PTE_PAT_4K, .pat_large_bit = NW_PTE_PAT_LARGE, .level = { NPT_LEVELS },
};

static const struct nw_pt_format npt5_format = {
	.name = "NPT 5-level", .entry_size = 8, .top = NW_LEVEL_PML5, .table_addr_mask = NW_PTE_ADDR_MASK,
	.ps_bit = NW_PTE_PS, .pat_small_bit = NW_PTE_PAT_4K, .pat_large_bit = NW_PTE_PAT_LARGE, .level = { NPT_LEVELS },
};

/* §15.25.5: no user-execute right of its own (a user fetch is a fetch), and the nested walk always sets A/D. */
static struct nw_s2_caps npt_caps(const void *opaque)
{
	const struct nw_npt_config *config = opaque;

	return (struct nw_s2_caps){ .maxphyaddr = config->caps.maxphyaddr, .pages_1g = config->caps.pages_1g,
				    .user_exec = false, .sets_ad = true, .rights = NW_S2_RIGHTS_ALL,
				    .entry_rsvd = nw_s2_bits_above_maxphy(&npt4_format, config->caps.maxphyaddr) |
						  (nw_npt_has_reserved_nx(config, NW_PTE_XD) ? NW_PTE_XD : 0) };
}

static bool npt_is_present(const void *config, int level, uint64_t entry)
{
	(void)config;
	(void)level;
	return nw_npt_is_present(entry);
}

static bool npt_is_misconfigured(const void *config, int level, uint64_t entry)
{
	return nw_npt_rsvd(config, level, entry) != NW_NPT_RSVD_NONE;
}

const struct nw_s2_rules nw_npt_rules = {
	.format4 = &npt4_format,
	.format5 = &npt5_format,
	.plain = NW_PTE_P,
	/* PS makes a PDE or PDPE a leaf and is reserved above (Tables 4-14, 4-15). */
	.table_clear = NW_PTE_PS,
	.accessed = NW_PTE_A,
	.dirty = NW_PTE_D,
	.decode = {
		/* §15.25.5: nested accesses are user accesses, so without US nothing
		 * is allowed; RW allows writes; XD forbids fetches. */
		.grant_base = NW_PTE_P | NW_PTE_US,
		.grant = { 0, NW_PTE_RW, 0, 0 },
		.deny = { 0, 0, NW_PTE_XD, NW_PTE_XD },
		/* The power-on PAT (SDM Vol. 3A §11.12.4), indexed by PAT:PCD:PWT (PWT bit 3, PCD bit 4). */
		.mt_shift = 3,
		.mt_field = 3,
		.mt_types = { NW_PAT_TYPE(NW_PAT_POWER_ON, 0), NW_PAT_TYPE(NW_PAT_POWER_ON, 1),
			      NW_PAT_TYPE(NW_PAT_POWER_ON, 2), NW_PAT_TYPE(NW_PAT_POWER_ON, 3),
			      NW_PAT_TYPE(NW_PAT_POWER_ON, 4), NW_PAT_TYPE(NW_PAT_POWER_ON, 5),
			      NW_PAT_TYPE(NW_PAT_POWER_ON, 6), NW_PAT_TYPE(NW_PAT_POWER_ON, 7) },
		.mt_allowed = 0xff,
	},
	.misconfig_fault = NW_S2_FAULT_MISCONFIG,
	.caps = npt_caps,
	.is_present = npt_is_present,
	.is_misconfigured = npt_is_misconfigured,
};

_Static_assert(NW_PTE_PWT == UINT64_C(1) << 3 && NW_PTE_PCD == UINT64_C(1) << 4, "PCD:PWT are bits 4:3");

void nw_npt_translate(struct nw_npt *npt, const struct nw_s2_request *req, struct nw_s2_result *res)
{
	nw_s2_walk(&nw_npt_rules, &npt->config, &npt->pt, req, res);
}
