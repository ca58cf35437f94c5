/* AArch64 stage 2 (4, 16 and 64 KiB granules) as a second-stage table of rules
 * (Arm ARM D8: AArch64.S2Walk, AArch64.CheckS2Permission), and its
 * translate: the one loop of stage2_walk.h over this table. The geometry
 * (granule, start level, entries at the start level) is the configuration's and lives
 * in struct nw_arm64_s2 (arm64_s2.c); the rules here are the same for all. */
#include <nestwalk/arm64_s2.h>

#include "stage2_walk.h"
#include "vmsa.h"

/* The address bits of a descriptor at or above the output size: OA[47:PS] and, with the 64 KiB granule,
 * OA[51:48] in bits 15:12 (vmsa.h), above any PS the library models. */
static uint64_t bits_above_ps(const struct nw_arm64_s2_config *config)
{
	return (NW_ARM64_S2_ADDR_MASK & ~((UINT64_C(1) << config->ps_bits) - 1)) |
	       nw_vmsa_oa_high_bits(config->granule_bits);
}

/* Stage 2 has no privileged/unprivileged split of S2AP; an EL0 fetch needs
 * the EL0 execute right (user_exec), which XN decides. With VTCR_EL2.HA the
 * walk sets AF instead of faulting; with HD too a write to a DBM leaf sets S2AP[1]
 * (Arm ARM D8.4.6, "Hardware management of dirty state"). Address bits above the output size make
 * an entry leave the plain path (entry_rsvd) for is_misconfigured. */
static struct nw_s2_caps arm64_caps(const void *opaque)
{
	const struct nw_arm64_s2_config *config = opaque;

	return (struct nw_s2_caps){ .maxphyaddr = config->ps_bits, .pages_1g = true, .user_exec = true,
				    .sets_ad = config->hw_af, .rights = NW_S2_RIGHTS_ALL,
				    .entry_rsvd = bits_above_ps(config),
				    .dirty_grants = config->hw_dirty ? NW_ARM64_S2_DBM : 0 };
}

/* AArch64.S2Walk: bit 0 clear is a Fault descriptor; bits 1:0 0b01 at level 3
 * are reserved and read as one; a block descriptor where no block may be
 * ("level < firstblocklevel": level 0 with the 4 KiB granule, levels 0 and 1
 * with 16 and 64 KiB, AArch64.BlocknTFaults aside) is a Translation fault
 * too. */
static bool arm64_is_present(const void *opaque, int level, uint64_t entry)
{
	const struct nw_arm64_s2_config *config = opaque;

	if (!(entry & NW_ARM64_S2_VALID))
		return false;
	if (entry & NW_ARM64_S2_TABLE)
		return true;
	return level != NW_LEVEL_PT && level <= 4 - nw_vmsa_first_block_level(config->granule_bits);
}

/* AArch64.S2Walk: a next-level table address or an output address with a bit
 * at or above the output size (VTCR_EL2.PS) is an Address size fault at the
 * level of the descriptor. */
static bool arm64_is_misconfigured(const void *config, int level, uint64_t entry)
{
	(void)level;
	return (entry & bits_above_ps(config)) != 0;
}

#define ARM64_RULES(xn) \
	{ \
		.plain = NW_ARM64_S2_VALID, \
		.accessed = NW_ARM64_S2_AF, \
		.leaf_attrs_only = true, \
		.accessed_faults = true, \
		.flags_before_rights = true, \
		.misconfig_fault = NW_S2_FAULT_ADDRESS_SIZE, \
		/* AArch64.IPAIsOutOfRange: a Translation fault at level 0 whatever the start level. */ \
		.out_of_range_level = NW_LEVEL_PML4, \
		.level_base = 4, \
		.level_step = -1, \
		.decode = { \
			.grant = { NW_ARM64_S2_S2AP_R, NW_ARM64_S2_S2AP_W, 0, 0 }, \
			.field_shift = NW_ARM64_S2_XN_SHIFT, \
			.field_mask = 3, \
			.field_deny = xn, \
			.mt_shift = NW_ARM64_S2_MEMATTR_SHIFT, \
			.mt_field = 0xf, \
			.mt_types = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 }, \
			.mt_allowed = 0xffff, \
		}, \
		.caps = arm64_caps, \
		.is_present = arm64_is_present, \
		.is_misconfigured = arm64_is_misconfigured, \
	}

/* Without FEAT_XNX only XN[1] (bit 54) counts: set, no execution at any level. */
#define XN_PLAIN { 0, 0, NW_S2_RIGHT_X | NW_S2_RIGHT_UX, NW_S2_RIGHT_X | NW_S2_RIGHT_UX }
/* FEAT_XNX, XN[1:0]: 0b00 both, 0b01 EL0 only, 0b10 neither, 0b11 EL1 only. */
#define XN_SPLIT { 0, NW_S2_RIGHT_X, NW_S2_RIGHT_X | NW_S2_RIGHT_UX, NW_S2_RIGHT_UX }

const struct nw_s2_rules nw_arm64_s2_rules = ARM64_RULES(XN_PLAIN);
const struct nw_s2_rules nw_arm64_s2_xnx_rules = ARM64_RULES(XN_SPLIT);

const struct nw_s2_rules *nw_arm64_s2_rules_of(const struct nw_arm64_s2_config *config)
{
	return config->caps.xnx ? &nw_arm64_s2_xnx_rules : &nw_arm64_s2_rules;
}

void nw_arm64_s2_translate(struct nw_arm64_s2 *s2, const struct nw_s2_request *req, struct nw_s2_result *res)
{
	if (s2->config.caps.xnx)
		nw_s2_walk(&nw_arm64_s2_xnx_rules, &s2->config, &s2->pt, req, res);
	else
		nw_s2_walk(&nw_arm64_s2_rules, &s2->config, &s2->pt, req, res);
}
