/* AMD nested page tables: the engine's long-mode formats with U=1 everywhere. */
#include <nestwalk/npt.h>

#include "stage2_query.h"
#include "stage2_rules.h"

struct nw_npt_caps nw_npt_caps_all(void)
{
	return (struct nw_npt_caps){ .maxphyaddr = 48, .pages_1g = true, .five_level = true, .nxe = true };
}

nw_status_t nw_npt_create(struct nw_npt *npt, const struct nw_hal *hal, const struct nw_npt_config *config)
{
	nw_status_t status;

	npt->pt.fmt = 0;
	if (config->caps.maxphyaddr < 36 || config->caps.maxphyaddr > 52)
		return NW_ERR_INVALID;
	if (config->levels != 4 && config->levels != 5)
		return NW_ERR_INVALID;
	if (config->levels == 5 && !config->caps.five_level)
		return NW_ERR_UNSUPPORTED;
	npt->config = *config;
	status = nw_pt_init(&npt->pt, nw_s2_format(&nw_npt_rules, config->levels), nw_pt_mem_hal(hal), 0);
	if (status == NW_OK)
		nw_pt_set_maxphyaddr(&npt->pt, config->caps.maxphyaddr);
	return status;
}

void nw_npt_destroy(struct nw_npt *npt)
{
	nw_pt_destroy(&npt->pt);
}

uint64_t nw_npt_ncr3(const struct nw_npt *npt)
{
	return npt->pt.root;
}

static nw_status_t check_flags(const struct nw_npt *npt, uint64_t flags)
{
	if (flags & ~NW_NPT_LEAF_FLAGS)
		return NW_ERR_INVALID;
	if (nw_npt_has_reserved_nx(&npt->config, flags))
		return NW_ERR_UNSUPPORTED;
	return NW_OK;
}

static bool hpa_fits(const struct nw_npt *npt, uint64_t hpa, uint64_t size)
{
	uint64_t limit = UINT64_C(1) << npt->config.caps.maxphyaddr;

	return hpa < limit && size <= limit - hpa;
}

nw_status_t nw_npt_map(struct nw_npt *npt, nw_gpa_t gpa, nw_hpa_t hpa, uint64_t size, uint64_t flags,
		       unsigned map_flags, bool *flush)
{
	int level = nw_s2_size_level(npt->pt.fmt, size);
	nw_status_t status = check_flags(npt, flags);

	if (status != NW_OK)
		return status;
	if (level == 0)
		return NW_ERR_INVALID;
	if (nw_npt_has_unsupported_1g(&npt->config, level, npt->pt.fmt->ps_bit))
		return NW_ERR_UNSUPPORTED;
	if (!hpa_fits(npt, hpa.val, size))
		return NW_ERR_RANGE;
	return nw_pt_map(&npt->pt, gpa.val, hpa.val, level, flags | NW_PTE_P | NW_PTE_US, map_flags, flush);
}

nw_status_t nw_npt_map_region(struct nw_npt *npt, nw_gpa_t gpa, nw_hpa_t hpa, uint64_t size, uint64_t flags,
			      bool *flush)
{
	int max_level = npt->config.caps.pages_1g ? NW_LEVEL_PDPT : NW_LEVEL_PD;
	nw_status_t status = check_flags(npt, flags);

	if (status != NW_OK)
		return status;
	if (!hpa_fits(npt, hpa.val, size))
		return NW_ERR_RANGE;
	return nw_pt_map_region(&npt->pt, gpa.val, hpa.val, size, max_level, flags | NW_PTE_P | NW_PTE_US, flush);
}

nw_status_t nw_npt_unmap(struct nw_npt *npt, nw_gpa_t gpa, uint64_t size, bool *flush)
{
	return nw_pt_unmap(&npt->pt, gpa.val, size, flush);
}

nw_status_t nw_npt_protect(struct nw_npt *npt, nw_gpa_t gpa, uint64_t size, uint64_t rights, bool *flush)
{
	nw_status_t status = check_flags(npt, rights);

	if (status != NW_OK)
		return status;
	if (rights & ~NW_NPT_RIGHTS)
		return NW_ERR_INVALID;
	return nw_pt_update(&npt->pt, gpa.val, size, NW_NPT_RIGHTS, rights, flush);
}

nw_status_t nw_npt_query(const struct nw_npt *npt, nw_gpa_t gpa, struct nw_s2_mapping *mapping)
{
	return nw_s2_query(&npt->pt, gpa, mapping);
}

nw_status_t nw_npt_edit(struct nw_npt *npt, nw_gpa_t gpa, int level, uint64_t clear, uint64_t set, uint64_t *old,
			bool *flush)
{
	return nw_pt_edit(&npt->pt, gpa.val, level, clear, set, old, flush);
}

uint64_t nw_npt_table_count(const struct nw_npt *npt)
{
	return nw_pt_table_count(&npt->pt);
}
