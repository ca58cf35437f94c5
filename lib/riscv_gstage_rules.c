/* The RISC-V G-stage as a second-stage table of rules (privileged spec:
 * "Virtual Address Translation Process" for Sv39/Sv48/Sv57, as "Guest
 * Physical Address Translation" adapts it), and its translate: the one loop
 * of stage2_walk.h over this table. The three modes differ only in their
 * geometry; the rules here are the same for all. */
#include <nestwalk/riscv_gstage.h>

#include "riscv_pte_rules.h"
#include "stage2_walk.h"

#define ROOT_ENTRIES 2048 /* the root only: 16 KiB, the GPA 2 bits wider than the VA */

static const struct nw_pt_format sv39x4_format = {
	NW_RV_FORMAT("Sv39x4", NW_LEVEL_PDPT),
	.level = { NW_RV_L0, NW_RV_L1, [NW_LEVEL_PDPT] = NW_RV_LEVEL(30, ROOT_ENTRIES, "L2") },
};

static const struct nw_pt_format sv48x4_format = {
	NW_RV_FORMAT("Sv48x4", NW_LEVEL_PML4),
	.level = { NW_RV_L0, NW_RV_L1, NW_RV_L2, [NW_LEVEL_PML4] = NW_RV_LEVEL(39, ROOT_ENTRIES, "L3") },
};

static const struct nw_pt_format sv57x4_format = {
	NW_RV_FORMAT("Sv57x4", NW_LEVEL_PML5),
	.level = { NW_RV_L0, NW_RV_L1, NW_RV_L2, NW_RV_L3, [NW_LEVEL_PML5] = NW_RV_LEVEL(48, ROOT_ENTRIES, "L4") },
};

const struct nw_pt_format *nw_rv_gstage_format(unsigned mode)
{
	switch (mode) {
	case NW_RV_HGATP_SV39X4:
		return &sv39x4_format;
	case NW_RV_HGATP_SV48X4:
		return &sv48x4_format;
	case NW_RV_HGATP_SV57X4:
		return &sv57x4_format;
	default:
		return 0;
	}
}

static uint64_t rsvd_bits(const struct nw_rv_gstage_config *config)
{
	return nw_rv_pte_rsvd_bits(config->pbmte, config->caps.svnapot);
}

/* G-stage accesses are U-mode ones (user_exec: no separate right); with
 * ADUE the walk sets A and D (Svadu), else their absence faults (Svade). */
static struct nw_s2_caps rv_caps(const void *opaque)
{
	const struct nw_rv_gstage_config *config = opaque;

	return (struct nw_s2_caps){ .maxphyaddr = 56, .pages_1g = true, .sets_ad = config->adue,
				    .rights = NW_S2_RIGHTS_ALL, .entry_rsvd = rsvd_bits(config) };
}

static bool rv_is_present(const void *config, int level, uint64_t entry)
{
	(void)config;
	return nw_rv_pte_is_present(level, entry);
}

/* Spec step 2 (reserved bits and encodings, PBMT 3 included) and step 6 (a misaligned superpage). */
static bool rv_is_misconfigured(const void *opaque, int level, uint64_t entry)
{
	const struct nw_rv_gstage_config *config = opaque;
	const struct nw_pt_format *fmt = nw_rv_gstage_format(config->mode);

	return (entry & rsvd_bits(config)) || nw_rv_pte_has_w_without_r(entry) || nw_rv_pte_has_pointer_rsvd(entry) ||
	       nw_s2_has_reserved_memory_type(&nw_rv_gstage_rules, fmt, level, entry) ||
	       nw_rv_pte_has_bad_napot(level, entry) || nw_s2_has_misaligned_large_page(fmt, level, entry);
}

/* Spec step 2 ("if accessing pte violates a PMA or PMP check, raise an
 * access-fault exception") and step 7 for the A/D update: PMP checks the
 * 8-byte PTE access as an S-mode one. Without PMP (count 0) no call: this
 * runs for every G-stage PTE read. */
static bool rv_table_access_denied(const void *opaque, uint64_t hpa, bool write)
{
	const struct nw_rv_gstage_config *config = opaque;

	return config->pmp.count && !nw_rv_pmp_allows(&config->pmp, hpa, 8, write ? NW_ACCESS_WRITE : NW_ACCESS_READ);
}

/* Spec step 5: reads need R, writes W, fetches X, and (G-stage accesses
 * being U-mode ones) every access U; with MXR a read needs R or X, a rule
 * over the R/W/X field (bits 3:1; value bit 0 R, bit 2 X). */
#define FIELD_SHIFT 1
#define MXR_DENY { NW_S2_RIGHT_R, 0, NW_S2_RIGHT_R, 0, 0, 0, 0, 0 }
#define NO_DENY { 0 }

#define RV_RULES(read, mask, deny) \
	{ \
		.plain = NW_RV_PTE_V, \
		.plain_leaf = NW_RV_PTE_R, \
		.table_clear = NW_RV_PTE_RWX | NW_RV_PTE_A | NW_RV_PTE_D | NW_RV_PTE_U | NW_RV_PTE_PBMT_MASK | \
			       NW_RV_PTE_N, \
		.accessed = NW_RV_PTE_A, \
		.dirty = NW_RV_PTE_D, \
		.leaf_attrs_only = true, \
		.unbacked_faults = true, \
		.table_access_denied = rv_table_access_denied, \
		.accessed_faults = true, \
		.dirty_faults = true, \
		.napot_bit = NW_RV_PTE_N, \
		.napot_shift = NW_RV_NAPOT_SHIFT, \
		.misconfig_fault = NW_S2_FAULT_MISCONFIG, \
		.level_base = -1, \
		.level_step = 1, \
		.decode = { \
			.grant_base = NW_RV_PTE_U, \
			.grant = { read, NW_RV_PTE_W, NW_RV_PTE_X, NW_RV_PTE_X }, \
			.field_shift = FIELD_SHIFT, \
			.field_mask = mask, \
			.field_deny = deny, \
			.mt_shift = NW_RV_PTE_PBMT_SHIFT, \
			.mt_field = 3, \
			.mt_types = { NW_RV_PBMT_PMA, NW_RV_PBMT_NC, NW_RV_PBMT_IO, 3 }, \
			.mt_allowed = 0x7, \
		}, \
		.caps = rv_caps, \
		.is_present = rv_is_present, \
		.is_misconfigured = rv_is_misconfigured, \
	}

const struct nw_s2_rules nw_rv_gstage_rules = RV_RULES(NW_RV_PTE_R, 0, NO_DENY);
const struct nw_s2_rules nw_rv_gstage_mxr_rules = RV_RULES(0, 7, MXR_DENY);

/* HS-level sstatus.MXR makes execute-only pages readable by explicit loads
 * in both stages; an implicit VS-stage PTE read still needs R. */
const struct nw_s2_rules *nw_rv_gstage_rules_of(const struct nw_rv_gstage_config *config, bool implicit)
{
	return config->mxr && !implicit ? &nw_rv_gstage_mxr_rules : &nw_rv_gstage_rules;
}

/* The translated address's access: a VS-stage PTE's or the final one
 * ("If this access violates a PMA or PMP check, raise an access-fault
 * exception"), its own size and type; MXR does not reach PMP: a load needs R. */
static bool rv_target_denied(const struct nw_rv_gstage *s2, const struct nw_s2_request *req,
			     const struct nw_s2_result *res)
{
	return res->status == NW_S2_OK && s2->config.pmp.count && !req->host_lookup &&
	       !nw_rv_pmp_allows(&s2->config.pmp, res->hpa.val, req->size, req->type);
}

void nw_rv_gstage_translate(struct nw_rv_gstage *s2, const struct nw_s2_request *req, struct nw_s2_result *res)
{
	if (s2->config.mxr && !req->paging_structure)
		nw_s2_walk(&nw_rv_gstage_mxr_rules, &s2->config, &s2->pt, req, res);
	else
		nw_s2_walk(&nw_rv_gstage_rules, &s2->config, &s2->pt, req, res);
	if (rv_target_denied(s2, req, res)) {
		res->hpa = nw_hpa(0);
		nw_s2_deny(res, NW_S2_FAULT_ACCESS);
	}
}
