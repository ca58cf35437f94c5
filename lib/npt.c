/* AMD nested page tables: the engine's long-mode formats with U=1 everywhere. */
#include <nestwalk/npt.h>

#include "stage2_query.h"

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

static int size_level(uint64_t size)
{
	switch (size) {
	case NW_PAGE_SIZE: return NW_LEVEL_PT;
	case NW_SIZE_2M: return NW_LEVEL_PD;
	case NW_SIZE_1G: return NW_LEVEL_PDPT;
	}
	return 0;
}

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
	status = nw_pt_init(&npt->pt, config->levels == 5 ? &npt5_format : &npt4_format, nw_pt_mem_hal(hal), 0);
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
	if ((flags & NW_PTE_XD) && !npt->config.caps.nxe)
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
	int level = size_level(size);
	nw_status_t status = check_flags(npt, flags);

	if (status != NW_OK)
		return status;
	if (level == 0)
		return NW_ERR_INVALID;
	if (level == NW_LEVEL_PDPT && !npt->config.caps.pages_1g)
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
