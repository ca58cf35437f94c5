/* AArch64 stage-2 tables (4, 16 and 64 KiB granules): VTCR_EL2 read as the
 * PE reads it, the configuration's geometry as an engine format, and the
 * table operations over it. */
#include <nestwalk/arm64_s2.h>

#include "stage2_query.h"
#include "stage2_rules.h"
#include "vmsa.h"

#define MAX_CONCAT_BITS 4 /* up to 16 concatenated tables at the start level */
#define MIN_IPA_BITS 25   /* T0SZ at most 39 whatever the granule (AArch64.MaxTxSZ, no FEAT_TTST) */
#define MAX_IPA_BITS 48   /* T0SZ at least 16 (no FEAT_LPA, FEAT_LPA2) */

struct nw_arm64_s2_caps nw_arm64_s2_caps_all(void)
{
	return (struct nw_arm64_s2_caps){
		.pa_bits = 48, .xnx = true, .haf = true, .hdbs = true, .vmid16 = true, .gran16 = true, .gran64 = true, .s2fwb = true
	};
}

int nw_arm64_s2_level(int level)
{
	return nw_s2_manual_level(&nw_arm64_s2_rules, level);
}

static bool granule_is_implemented(const struct nw_arm64_s2_caps *caps, unsigned granule_bits)
{
	return granule_bits == NW_VMSA_GRANULE_BITS || (granule_bits == 14 && caps->gran16) ||
	       (granule_bits == 16 && caps->gran64);
}

/* AArch64.S2InconsistentSL: the start level resolves at least one bit and at
 * most a full stride plus 16 concatenated tables' worth. */
static bool start_level_fits(unsigned granule_bits, unsigned ipa_bits, int start_level)
{
	unsigned min = nw_vmsa_level_shift(granule_bits, start_level) + 1;

	return ipa_bits >= min && ipa_bits <= min + (nw_vmsa_stride(granule_bits) - 1) + MAX_CONCAT_BITS;
}

/* AArch64.S2InvalidSL, for the start levels AArch64.S2StartLevel gives without FEAT_LPA2 and FEAT_TTST: a
 * level-0 start (4 KiB) needs PAMax 44 bits or more, a level-1 start 42 bits (16 KiB) or 44 (64 KiB); 16 KiB
 * level 0 (SL0 3) needs TCR.DS (FEAT_LPA2) and 64 KiB has no level 0 at all. */
static bool start_level_is_valid(unsigned granule_bits, int start_level, unsigned pa_bits)
{
	if (granule_bits == NW_VMSA_GRANULE_BITS)
		return start_level != 0 || pa_bits >= 44;
	if (start_level == 0)
		return false;
	return start_level != 1 || pa_bits >= (granule_bits == 14 ? 42u : 44u);
}

static nw_status_t check_config(const struct nw_arm64_s2_config *config)
{
	const struct nw_arm64_s2_caps *caps = &config->caps;
	unsigned granule = config->granule_bits;
	int lowest_start = granule == NW_VMSA_GRANULE_BITS ? 2 : 3;

	if (!nw_vmsa_is_pa_size(caps->pa_bits) || !nw_vmsa_is_pa_size(config->ps_bits) ||
	    config->ps_bits > caps->pa_bits)
		return NW_ERR_INVALID;
	if (granule != NW_VMSA_GRANULE_BITS && granule != 14 && granule != 16)
		return NW_ERR_INVALID;
	if (config->ipa_bits < MIN_IPA_BITS || config->ipa_bits > MAX_IPA_BITS || config->ipa_bits > caps->pa_bits)
		return NW_ERR_INVALID;
	if (config->start_level < 0 || config->start_level > lowest_start)
		return NW_ERR_INVALID;
	if (!start_level_fits(granule, config->ipa_bits, config->start_level) ||
	    !start_level_is_valid(granule, config->start_level, caps->pa_bits))
		return NW_ERR_INVALID;
	if ((config->hw_af && !caps->haf) || (config->hw_dirty && !(caps->hdbs && config->hw_af)) || (config->vmid16 && !caps->vmid16) || (config->fwb && !caps->s2fwb) ||
	    !granule_is_implemented(caps, granule))
		return NW_ERR_UNSUPPORTED;
	return NW_OK;
}

/* AArch64.S2StartLevel without FEAT_LPA2: 4 KiB SL0 0b00 level 2, 0b01 1, 0b10 0 (0b11 level 3 is FEAT_TTST's);
 * 16 and 64 KiB SL0 0b00 level 3, 0b01 2, 0b10 1, 0b11 0 (16 KiB with FEAT_LPA2; reserved with 64 KiB). */
static int start_level_of(unsigned granule_bits, unsigned sl0)
{
	return (granule_bits == NW_VMSA_GRANULE_BITS ? 2 : 3) - (int)sl0;
}

nw_status_t nw_arm64_vtcr_decode(uint64_t vtcr, const struct nw_arm64_s2_caps *caps, struct nw_arm64_s2_config *config)
{
	unsigned sl0 = (unsigned)(vtcr >> NW_VTCR_SL0_SHIFT) & 3;
	unsigned granule = nw_vmsa_tg0_granule_bits((unsigned)(vtcr >> NW_VTCR_TG0_SHIFT));
	unsigned ps = nw_vmsa_pa_size_bits((unsigned)(vtcr >> NW_VTCR_PS_SHIFT));

	if (!(vtcr & NW_VTCR_RES1) || ps == 0 || granule == 0)
		return NW_ERR_INVALID;
	if (vtcr & ~NW_VTCR_MODELLED)
		return NW_ERR_UNSUPPORTED;
	/* SL0 0b11 with the 4 KiB granule is level 3, FEAT_TTST's. */
	if (granule == NW_VMSA_GRANULE_BITS && sl0 == 3)
		return NW_ERR_UNSUPPORTED;
	*config = (struct nw_arm64_s2_config){
		.granule_bits = granule,
		.ipa_bits = 64 - (unsigned)(vtcr & NW_VTCR_T0SZ_MASK),
		.start_level = start_level_of(granule, sl0),
		/* A PS above the implemented PA size is treated as the PA size. */
		.ps_bits = ps > caps->pa_bits ? caps->pa_bits : ps,
		.hw_af = (vtcr & NW_VTCR_HA) != 0,
		/* AArch64.GetS2TTWParams: walkparams.hd = if walkparams.ha == '1' then VTCR_EL2.HD else '0'. */
		.hw_dirty = (vtcr & NW_VTCR_HA) && (vtcr & NW_VTCR_HD),
		.vmid16 = (vtcr & NW_VTCR_VS) != 0,
		.caps = *caps,
	};
	return check_config(config);
}

static bool pa_fits(const struct nw_arm64_s2 *s2, uint64_t pa, uint64_t size)
{
	uint64_t limit = UINT64_C(1) << s2->config.ps_bits;

	return pa < limit && size <= limit - pa;
}

nw_status_t nw_arm64_s2_create(struct nw_arm64_s2 *s2, const struct nw_hal *hal,
			       const struct nw_arm64_s2_config *config)
{
	nw_status_t status = check_config(config);

	s2->pt.fmt = 0;
	if (status != NW_OK)
		return status;
	s2->config = *config;
	nw_vmsa_format(&s2->format, "AArch64 stage 2", config->granule_bits, config->ipa_bits, config->start_level);
	/* Concatenated start tables, and every table of a 16 or 64 KiB granule: contiguous frames aligned to their
	 * size (VTTBR_EL2.BADDR, a table descriptor's next-level address). */
	if ((nw_pt_table_pages(&s2->format, s2->format.top) > 1 || nw_pt_table_pages(&s2->format, NW_LEVEL_PT) > 1) &&
	    !hal->ops->alloc_frames)
		return NW_ERR_UNSUPPORTED;
	status = nw_pt_init(&s2->pt, &s2->format, nw_pt_mem_hal(hal), 0);
	if (status != NW_OK)
		return status;
	nw_pt_set_maxphyaddr(&s2->pt, config->ps_bits < 36 ? 36 : config->ps_bits);
	/* AArch64.S2Walk: a VTTBR_EL2 base above the output size is an Address size fault on every walk. */
	if (!pa_fits(s2, s2->pt.root, nw_pt_table_pages(&s2->format, s2->format.top) * NW_PAGE_SIZE)) {
		nw_pt_destroy(&s2->pt);
		return NW_ERR_RANGE;
	}
	return NW_OK;
}

void nw_arm64_s2_destroy(struct nw_arm64_s2 *s2)
{
	nw_pt_destroy(&s2->pt);
}

nw_hpa_t nw_arm64_s2_root(const struct nw_arm64_s2 *s2)
{
	return nw_hpa(s2->pt.root);
}

nw_status_t nw_arm64_s2_vttbr(const struct nw_arm64_s2 *s2, unsigned vmid, uint64_t *vttbr)
{
	if (vmid >> (s2->config.vmid16 ? 16 : 8))
		return NW_ERR_RANGE;
	*vttbr = s2->pt.root | (uint64_t)vmid << 48;
	return NW_OK;
}

nw_status_t nw_arm64_s2_set_fwb(struct nw_arm64_s2 *s2, bool fwb)
{
	if (fwb && !s2->config.caps.s2fwb)
		return NW_ERR_UNSUPPORTED;
	s2->config.fwb = fwb;
	return NW_OK;
}

/* Arm ARM D8.5 (stage 2 MemAttr): with bits 3:2 Normal, bits 1:0 0b00 is
 * reserved (with FWB every value means something); SH 0b01 is reserved (D8.6); XN[0] is RES0 without
 * FEAT_XNX. */
static bool flags_ok(const struct nw_arm64_s2 *s2, uint64_t flags)
{
	unsigned memattr = (unsigned)((flags & NW_ARM64_S2_MEMATTR_MASK) >> NW_ARM64_S2_MEMATTR_SHIFT);

	if (flags & ~NW_ARM64_S2_LEAF_FLAGS)
		return false;
	if (!s2->config.fwb && (memattr >> 2) != 0 && (memattr & 3) == 0)
		return false;
	if (((flags & NW_ARM64_S2_SH_MASK) >> NW_ARM64_S2_SH_SHIFT) == 1)
		return false;
	return s2->config.caps.xnx || !(flags & NW_ARM64_S2_XN0);
}

nw_status_t nw_arm64_s2_map(struct nw_arm64_s2 *s2, nw_gpa_t ipa, nw_hpa_t pa, uint64_t size, uint64_t flags,
			    unsigned map_flags, bool *flush)
{
	int level = nw_s2_size_level(s2->pt.fmt, size);

	if (level == 0 || !flags_ok(s2, flags))
		return NW_ERR_INVALID;
	if (!pa_fits(s2, pa.val, size))
		return NW_ERR_RANGE;
	return nw_pt_map(&s2->pt, ipa.val, pa.val, level, flags | NW_ARM64_S2_VALID, map_flags, flush);
}

nw_status_t nw_arm64_s2_map_region(struct nw_arm64_s2 *s2, nw_gpa_t ipa, nw_hpa_t pa, uint64_t size, uint64_t flags,
				   bool *flush)
{
	int block_top = 4 - nw_vmsa_first_block_level(s2->config.granule_bits);
	int largest = s2->pt.fmt->top < block_top ? s2->pt.fmt->top : block_top;

	if (!flags_ok(s2, flags))
		return NW_ERR_INVALID;
	if (!pa_fits(s2, pa.val, size))
		return NW_ERR_RANGE;
	return nw_pt_map_region(&s2->pt, ipa.val, pa.val, size, largest, flags | NW_ARM64_S2_VALID, flush);
}

nw_status_t nw_arm64_s2_unmap(struct nw_arm64_s2 *s2, nw_gpa_t ipa, uint64_t size, bool *flush)
{
	return nw_pt_unmap(&s2->pt, ipa.val, size, flush);
}

nw_status_t nw_arm64_s2_protect(struct nw_arm64_s2 *s2, nw_gpa_t ipa, uint64_t size, uint64_t rights, bool *flush)
{
	if ((rights & ~NW_ARM64_S2_RIGHTS) || !flags_ok(s2, rights))
		return NW_ERR_INVALID;
	return nw_pt_update(&s2->pt, ipa.val, size, NW_ARM64_S2_RIGHTS, rights, flush);
}

nw_status_t nw_arm64_s2_query(const struct nw_arm64_s2 *s2, nw_gpa_t ipa, struct nw_s2_mapping *mapping)
{
	return nw_s2_query(&s2->pt, ipa, mapping);
}

nw_status_t nw_arm64_s2_edit(struct nw_arm64_s2 *s2, nw_gpa_t ipa, int level, uint64_t clear, uint64_t set,
			     uint64_t *old, bool *flush)
{
	return nw_pt_edit(&s2->pt, ipa.val, level, clear, set, old, flush);
}

uint64_t nw_arm64_s2_table_count(const struct nw_arm64_s2 *s2)
{
	return nw_pt_table_count(&s2->pt);
}
