/* AArch64 stage-2 tables (4 KiB granule): VTCR_EL2 read as the PE reads it,
 * the configuration's geometry as an engine format, and the table operations
 * over it. */
#include <nestwalk/arm64_s2.h>

#include "stage2_query.h"
#include "stage2_rules.h"

#define GRANULE_BITS 12
#define STRIDE 9          /* 4 KiB granule, 8-byte descriptors: 512 entries a table */
#define MAX_CONCAT_BITS 4 /* up to 16 concatenated tables at the start level */
#define MIN_IPA_BITS 25   /* T0SZ at most 39 with the 4 KiB granule (no FEAT_TTST) */
#define MAX_IPA_BITS 48   /* T0SZ at least 16 (no FEAT_LPA2) */

/* Descriptor bits 1:0 of a table pointer (Arm ARM D8.3). */
#define TABLE_BITS (NW_ARM64_S2_VALID | NW_ARM64_S2_TABLE)

struct nw_arm64_s2_caps nw_arm64_s2_caps_all(void)
{
	return (struct nw_arm64_s2_caps){ .pa_bits = 48, .xnx = true, .haf = true, .vmid16 = true };
}

int nw_arm64_s2_level(int level)
{
	return nw_s2_manual_level(&nw_arm64_s2_rules, level);
}

/* VTCR_EL2.PS and ID_AA64MMFR0_EL1.PARange share one encoding; 0 for a reserved value. */
static unsigned pa_size_bits(unsigned encoding)
{
	static const unsigned bits[8] = { 32, 36, 40, 42, 44, 48, 52, 0 };

	return bits[encoding & 7];
}

static bool is_pa_size(unsigned bits)
{
	for (unsigned encoding = 0; encoding < 6; encoding++)
		if (pa_size_bits(encoding) == bits)
			return true;
	return false;
}

/* The lowest address bit the index at Arm level arm_level covers. */
static unsigned level_shift(int arm_level)
{
	return GRANULE_BITS + STRIDE * (unsigned)(3 - arm_level);
}

/* AArch64.S2InconsistentSL: the start level resolves at least one bit and at
 * most a full stride plus 16 concatenated tables' worth. */
static bool start_level_fits(unsigned ipa_bits, int start_level)
{
	unsigned min = level_shift(start_level) + 1;

	return ipa_bits >= min && ipa_bits <= min + (STRIDE - 1) + MAX_CONCAT_BITS;
}

static nw_status_t check_config(const struct nw_arm64_s2_config *config)
{
	const struct nw_arm64_s2_caps *caps = &config->caps;

	if (!is_pa_size(caps->pa_bits) || !is_pa_size(config->ps_bits) || config->ps_bits > caps->pa_bits)
		return NW_ERR_INVALID;
	if (config->ipa_bits < MIN_IPA_BITS || config->ipa_bits > MAX_IPA_BITS || config->ipa_bits > caps->pa_bits)
		return NW_ERR_INVALID;
	if (config->start_level < 0 || config->start_level > 2)
		return NW_ERR_INVALID;
	if (!start_level_fits(config->ipa_bits, config->start_level))
		return NW_ERR_INVALID;
	/* AArch64.S2InvalidSL: a walk from level 0 needs a PA size of 44 bits or more. */
	if (config->start_level == 0 && caps->pa_bits < 44)
		return NW_ERR_INVALID;
	if ((config->hw_af && !caps->haf) || (config->vmid16 && !caps->vmid16))
		return NW_ERR_UNSUPPORTED;
	return NW_OK;
}

nw_status_t nw_arm64_vtcr_decode(uint64_t vtcr, const struct nw_arm64_s2_caps *caps, struct nw_arm64_s2_config *config)
{
	unsigned sl0 = (unsigned)(vtcr >> NW_VTCR_SL0_SHIFT) & 3, tg0 = (unsigned)(vtcr >> NW_VTCR_TG0_SHIFT) & 3;
	unsigned ps = pa_size_bits((unsigned)(vtcr >> NW_VTCR_PS_SHIFT));

	if (!(vtcr & NW_VTCR_RES1) || ps == 0)
		return NW_ERR_INVALID;
	/* TG0 0b00 is 4 KiB; SL0 0b11 is level 3 only with FEAT_TTST. */
	if (tg0 != 0 || sl0 == 3)
		return NW_ERR_UNSUPPORTED;
	*config = (struct nw_arm64_s2_config){
		.ipa_bits = 64 - (unsigned)(vtcr & NW_VTCR_T0SZ_MASK),
		.start_level = 2 - (int)sl0,
		/* A PS above the implemented PA size is treated as the PA size. */
		.ps_bits = ps > caps->pa_bits ? caps->pa_bits : ps,
		.hw_af = (vtcr & NW_VTCR_HA) != 0,
		.vmid16 = (vtcr & NW_VTCR_VS) != 0,
		.caps = *caps,
	};
	return check_config(config);
}

/* The configuration's geometry: library level 4 - n for Arm level n, 512
 * entries below the start level and as many as the IPA size leaves at it;
 * blocks at Arm levels 1 and 2, pages at 3. */
static void build_format(struct nw_pt_format *fmt, const struct nw_arm64_s2_config *config)
{
	static const char *const names[] = { [1] = "L3", [2] = "L2", [3] = "L1", [4] = "L0" };
	int top = nw_arm64_s2_level(config->start_level);

	*fmt = (struct nw_pt_format){ .name = "AArch64 stage 2", .entry_size = 8, .top = (uint8_t)top,
				      .table_addr_mask = NW_ARM64_S2_ADDR_MASK, .link_bit = NW_ARM64_S2_TABLE };
	for (int level = NW_LEVEL_PT; level <= top; level++) {
		unsigned shift = level_shift(nw_arm64_s2_level(level));
		unsigned bits = level == top ? config->ipa_bits - shift : STRIDE;
		uint64_t leaf_mask = NW_ARM64_S2_ADDR_MASK & ~((UINT64_C(1) << shift) - 1);

		fmt->level[level] = (struct nw_pt_level_desc){
			.shift = (uint8_t)shift, .entries = (uint16_t)(1u << bits),
			.leaf_ok = level <= NW_LEVEL_PDPT,
			.leaf_addr_mask = level <= NW_LEVEL_PDPT ? leaf_mask : 0,
			.table_bits = TABLE_BITS, .name = names[level] };
	}
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
	build_format(&s2->format, config);
	/* Concatenated start tables: a root of several contiguous frames, aligned to their size (VTTBR_EL2.BADDR). */
	if (s2->format.level[s2->format.top].entries > 1u << STRIDE && !hal->ops->alloc_frames)
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

/* Arm ARM D8.5 (stage 2 MemAttr): with bits 3:2 Normal, bits 1:0 0b00 is
 * reserved; SH 0b01 is reserved (D8.6); XN[0] is RES0 without FEAT_XNX. */
static bool flags_ok(const struct nw_arm64_s2 *s2, uint64_t flags)
{
	unsigned memattr = (unsigned)((flags & NW_ARM64_S2_MEMATTR_MASK) >> NW_ARM64_S2_MEMATTR_SHIFT);

	if (flags & ~NW_ARM64_S2_LEAF_FLAGS)
		return false;
	if ((memattr >> 2) != 0 && (memattr & 3) == 0)
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
