/* EPT tables: the engine's EPT formats and the table operations over them. */
#include <nestwalk/assert.h>
#include <nestwalk/ept.h>

#include "stage2_query.h"
#include "stage2_rules.h"

struct nw_ept_caps nw_ept_caps_all(void)
{
	return (struct nw_ept_caps){ .maxphyaddr = 46, .exec_only = true, .pages_1g = true, .five_level = true,
				     .mbec = true, .ad = true, .advanced_exit_info = true };
}

nw_status_t nw_ept_create(struct nw_ept *ept, const struct nw_hal *hal, const struct nw_ept_config *config)
{
	const struct nw_ept_caps *caps = &config->caps;
	nw_status_t status;

	ept->pt.fmt = 0;
	if (caps->maxphyaddr < 36 || caps->maxphyaddr > 52)
		return NW_ERR_INVALID;
	if (config->levels != 4 && config->levels != 5)
		return NW_ERR_INVALID;
	if (config->memory_type != NW_EPT_MT_UC && config->memory_type != NW_EPT_MT_WB)
		return NW_ERR_INVALID;
	if ((config->levels == 5 && !caps->five_level) || (config->ad && !caps->ad) || (config->mbec && !caps->mbec))
		return NW_ERR_UNSUPPORTED;
	ept->config = *config;
	ept->accepted_level = 0;
	ept->accepted_rights = 0;
	status = nw_pt_init(&ept->pt, nw_s2_format(&nw_ept_rules, config->levels), nw_pt_mem_hal(hal), 0);
	if (status == NW_OK)
		nw_pt_set_maxphyaddr(&ept->pt, caps->maxphyaddr);
	return status;
}

void nw_ept_destroy(struct nw_ept *ept)
{
	nw_pt_destroy(&ept->pt);
}

nw_hpa_t nw_ept_root(const struct nw_ept *ept)
{
	return nw_hpa(ept->pt.root);
}

uint64_t nw_ept_eptp(const struct nw_ept *ept)
{
	struct nw_eptp eptp = { .memory_type = ept->config.memory_type, .levels = ept->config.levels,
				.ad = ept->config.ad, .root = nw_ept_root(ept) };

	return nw_eptp_encode(&eptp);
}

static uint64_t maxphy_limit(const struct nw_ept *ept)
{
	return UINT64_C(1) << ept->config.caps.maxphyaddr;
}

/* A leaf the modelled CPU would take: present and not misconfigured. */
static nw_status_t check_leaf(const struct nw_ept *ept, int level, uint64_t leaf)
{
	if (!nw_ept_is_present(&ept->config, leaf))
		return NW_ERR_INVALID;
	if (nw_ept_has_unsupported_1g(&ept->config, level, leaf))
		return NW_ERR_UNSUPPORTED;
	if (nw_ept_misconfig(&ept->config, level, leaf) != NW_EPT_MISCONFIG_NONE)
		return NW_ERR_INVALID;
	return NW_OK;
}

nw_status_t nw_ept_map(struct nw_ept *ept, nw_gpa_t gpa, nw_hpa_t hpa, uint64_t size, uint64_t flags,
		       unsigned map_flags, bool *invept)
{
	int level = nw_s2_size_level(ept->pt.fmt, size);
	nw_status_t status;

	if (level == 0 || (flags & (NW_EPT_ADDR_MASK | NW_EPT_PS)))
		return NW_ERR_INVALID;
	if (level != ept->accepted_level || flags != ept->accepted_flags) {
		status = check_leaf(ept, level, nw_pt_leaf_make(ept->pt.fmt, level, 0, flags));
		if (status != NW_OK)
			return status;
		ept->accepted_flags = flags;
		ept->accepted_level = level;
	}
	if (hpa.val >= maxphy_limit(ept))
		return NW_ERR_RANGE;
	return nw_pt_map(&ept->pt, gpa.val, hpa.val, level, flags, map_flags, invept);
}

nw_status_t nw_ept_map_region(struct nw_ept *ept, nw_gpa_t gpa, nw_hpa_t hpa, uint64_t size, uint64_t flags,
			      bool *invept)
{
	nw_status_t status;

	if (flags & (NW_EPT_ADDR_MASK | NW_EPT_PS))
		return NW_ERR_INVALID;
	status = check_leaf(ept, NW_LEVEL_PT, flags);
	if (status != NW_OK)
		return status;
	if (hpa.val >= maxphy_limit(ept) || size > maxphy_limit(ept) - hpa.val)
		return NW_ERR_RANGE;
	return nw_pt_map_region(&ept->pt, gpa.val, hpa.val, size,
				ept->config.caps.pages_1g ? NW_LEVEL_PDPT : NW_LEVEL_PD, flags, invept);
}

nw_status_t nw_ept_unmap(struct nw_ept *ept, nw_gpa_t gpa, uint64_t size, bool *invept)
{
	return nw_pt_unmap(&ept->pt, gpa.val, size, invept);
}

nw_status_t nw_ept_protect(struct nw_ept *ept, nw_gpa_t gpa, uint64_t size, uint64_t rights, bool *invept)
{
	nw_status_t status;

	if (rights == 0 || (rights & ~NW_EPT_RIGHTS))
		return NW_ERR_INVALID;
	if (rights != ept->accepted_rights) {
		status = check_leaf(ept, NW_LEVEL_PT, rights);
		if (status != NW_OK)
			return status;
		ept->accepted_rights = rights;
	}
	return nw_pt_update(&ept->pt, gpa.val, size, NW_EPT_RIGHTS, rights, invept);
}

nw_status_t nw_ept_query(const struct nw_ept *ept, nw_gpa_t gpa, struct nw_s2_mapping *mapping)
{
	return nw_s2_query(&ept->pt, gpa, mapping);
}

nw_status_t nw_ept_edit(struct nw_ept *ept, nw_gpa_t gpa, int level, uint64_t clear, uint64_t set, uint64_t *old,
			bool *invept)
{
	return nw_pt_edit(&ept->pt, gpa.val, level, clear, set, old, invept);
}

uint64_t nw_ept_table_count(const struct nw_ept *ept)
{
	return nw_pt_table_count(&ept->pt);
}
