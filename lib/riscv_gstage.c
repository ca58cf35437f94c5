/* RISC-V G-stage tables: hgatp read as the hart holds it, and the table
 * operations over the mode's geometry (riscv_gstage_rules.c). */
#include <nestwalk/riscv_gstage.h>

#include "stage2_query.h"
#include "stage2_rules.h"

#define PA_BITS 56        /* a PPN of 44 bits: physical addresses 55:0 */
#define ROOT_PPN_ALIGN 3u /* PPN[1:0]: the 16 KiB root's alignment */
#define VMID_MAX_BITS 14  /* VMIDMAX for Sv39x4, Sv48x4 and Sv57x4 */

struct nw_rv_gstage_caps nw_rv_gstage_caps_all(void)
{
	return (struct nw_rv_gstage_caps){ .sv39x4 = true, .sv48x4 = true, .sv57x4 = true, .vmid_bits = 14,
					   .svadu = true, .svpbmt = true, .svnapot = true };
}

int nw_rv_gstage_level(int level)
{
	return nw_s2_manual_level(&nw_rv_gstage_rules, level);
}

static bool mode_supported(const struct nw_rv_gstage_caps *caps, unsigned mode)
{
	return (mode == NW_RV_HGATP_SV39X4 && caps->sv39x4) || (mode == NW_RV_HGATP_SV48X4 && caps->sv48x4) ||
	       (mode == NW_RV_HGATP_SV57X4 && caps->sv57x4);
}

nw_status_t nw_rv_hgatp_decode(uint64_t value, const struct nw_rv_gstage_caps *caps, struct nw_rv_hgatp *hgatp)
{
	unsigned mode = (unsigned)(value >> NW_RV_HGATP_MODE_SHIFT);
	uint64_t ppn = value & NW_RV_HGATP_PPN_MASK;

	*hgatp = (struct nw_rv_hgatp){ .mode = mode,
				       .vmid = (unsigned)((value >> NW_RV_HGATP_VMID_SHIFT) & NW_RV_HGATP_VMID_MASK),
				       .root = ppn << 12 };
	/* Bare: "the remaining fields in hgatp must be set to zeros". */
	if (mode == NW_RV_HGATP_BARE)
		return value == 0 ? NW_OK : NW_ERR_INVALID;
	if (!nw_rv_gstage_format(mode) || (value & NW_RV_HGATP_ZERO_MASK))
		return NW_ERR_INVALID;
	if (!mode_supported(caps, mode))
		return NW_ERR_UNSUPPORTED;
	if (hgatp->vmid >> caps->vmid_bits)
		return NW_ERR_RANGE;
	return (ppn & ROOT_PPN_ALIGN) ? NW_ERR_ALIGN : NW_OK;
}

static nw_status_t check_config(const struct nw_rv_gstage_config *config)
{
	if (!nw_rv_gstage_format(config->mode) || config->caps.vmid_bits > VMID_MAX_BITS ||
	    nw_rv_pmp_check(&config->pmp) != NW_OK)
		return NW_ERR_INVALID;
	if (!mode_supported(&config->caps, config->mode))
		return NW_ERR_UNSUPPORTED;
	if ((config->adue && !config->caps.svadu) || (config->pbmte && !config->caps.svpbmt))
		return NW_ERR_UNSUPPORTED;
	return NW_OK;
}

nw_status_t nw_rv_gstage_create(struct nw_rv_gstage *s2, const struct nw_hal *hal,
				const struct nw_rv_gstage_config *config)
{
	nw_status_t status = check_config(config);

	s2->pt.fmt = 0;
	if (status != NW_OK)
		return status;
	/* The 16 KiB root: four contiguous frames aligned to their size. */
	if (!hal->ops->alloc_frames)
		return NW_ERR_UNSUPPORTED;
	s2->config = *config;
	return nw_pt_init(&s2->pt, nw_rv_gstage_format(config->mode), nw_pt_mem_hal(hal), 0);
}

void nw_rv_gstage_destroy(struct nw_rv_gstage *s2)
{
	nw_pt_destroy(&s2->pt);
}

nw_hpa_t nw_rv_gstage_root(const struct nw_rv_gstage *s2)
{
	return nw_hpa(s2->pt.root);
}

nw_status_t nw_rv_gstage_hgatp(const struct nw_rv_gstage *s2, unsigned vmid, uint64_t *hgatp)
{
	if (vmid >> s2->config.caps.vmid_bits)
		return NW_ERR_RANGE;
	*hgatp = (uint64_t)s2->config.mode << NW_RV_HGATP_MODE_SHIFT | (uint64_t)vmid << NW_RV_HGATP_VMID_SHIFT |
		 s2->pt.root >> 12;
	return NW_OK;
}

/* Rights a leaf may have: R or X (else it is a pointer), never W without R (reserved). */
static bool rights_ok(uint64_t flags)
{
	return (flags & (NW_RV_PTE_R | NW_RV_PTE_X)) && (flags & (NW_RV_PTE_R | NW_RV_PTE_W)) != NW_RV_PTE_W;
}

/* PBMT only with menvcfg.PBMTE, and not the reserved value 3. */
static bool pbmt_ok(const struct nw_rv_gstage *s2, uint64_t flags)
{
	uint64_t pbmt = (flags & NW_RV_PTE_PBMT_MASK) >> NW_RV_PTE_PBMT_SHIFT;

	return pbmt == 0 || (s2->config.pbmte && pbmt != 3);
}

static bool leaf_flags_ok(const struct nw_rv_gstage *s2, uint64_t flags)
{
	return !(flags & ~NW_RV_GSTAGE_LEAF_FLAGS) && rights_ok(flags) && pbmt_ok(s2, flags);
}

/* Physical addresses are 56 bits (a 44-bit PPN). */
static bool pa_fits(nw_hpa_t hpa, uint64_t size)
{
	return !(hpa.val >> PA_BITS) && size <= (UINT64_C(1) << PA_BITS) - hpa.val;
}

nw_status_t nw_rv_gstage_map(struct nw_rv_gstage *s2, nw_gpa_t gpa, nw_hpa_t hpa, uint64_t size, uint64_t flags,
			     unsigned map_flags, bool *flush)
{
	int level = nw_s2_size_level(s2->pt.fmt, size);

	if (level == 0 || !leaf_flags_ok(s2, flags))
		return NW_ERR_INVALID;
	if (!pa_fits(hpa, size))
		return NW_ERR_RANGE;
	return nw_pt_map(&s2->pt, gpa.val, hpa.val, level, flags | NW_RV_PTE_V, map_flags, flush);
}

nw_status_t nw_rv_gstage_map_region(struct nw_rv_gstage *s2, nw_gpa_t gpa, nw_hpa_t hpa, uint64_t size,
				    uint64_t flags, bool *flush)
{
	if (!leaf_flags_ok(s2, flags))
		return NW_ERR_INVALID;
	if (!pa_fits(hpa, size))
		return NW_ERR_RANGE;
	return nw_pt_map_region(&s2->pt, gpa.val, hpa.val, size, NW_LEVEL_PDPT, flags | NW_RV_PTE_V, flush);
}

nw_status_t nw_rv_gstage_unmap(struct nw_rv_gstage *s2, nw_gpa_t gpa, uint64_t size, bool *flush)
{
	return nw_pt_unmap(&s2->pt, gpa.val, size, flush);
}

nw_status_t nw_rv_gstage_protect(struct nw_rv_gstage *s2, nw_gpa_t gpa, uint64_t size, uint64_t rights,
				 bool *flush)
{
	if ((rights & ~NW_RV_GSTAGE_RIGHTS) || !rights_ok(rights))
		return NW_ERR_INVALID;
	return nw_pt_update(&s2->pt, gpa.val, size, NW_RV_GSTAGE_RIGHTS, rights, flush);
}

nw_status_t nw_rv_gstage_query(const struct nw_rv_gstage *s2, nw_gpa_t gpa, struct nw_s2_mapping *mapping)
{
	return nw_s2_query(&s2->pt, gpa, mapping);
}

nw_status_t nw_rv_gstage_edit(struct nw_rv_gstage *s2, nw_gpa_t gpa, int level, uint64_t clear, uint64_t set,
			      uint64_t *old, bool *flush)
{
	return nw_pt_edit(&s2->pt, gpa.val, level, clear, set, old, flush);
}

uint64_t nw_rv_gstage_table_count(const struct nw_rv_gstage *s2)
{
	return nw_pt_table_count(&s2->pt);
}
