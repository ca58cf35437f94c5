#include <nestwalk/vmx.h>

nw_status_t nw_vmx_region_init(struct nw_vmx_region *region, const struct nw_hal *hal, uint32_t revision_id,
			       bool shadow)
{
	nw_status_t status;

	region->frame = nw_frame_uninit();
	if (revision_id & ~NW_VMX_REVISION_MASK)
		return NW_ERR_INVALID;
	status = nw_frame_alloc_zero(&region->frame, hal);
	if (status != NW_OK)
		return status;
	*(uint32_t *)nw_frame_ptr(&region->frame) = revision_id | (shadow ? NW_VMX_SHADOW_INDICATOR : 0);
	return NW_OK;
}

static uint32_t first_dword(const struct nw_vmx_region *region)
{
	return *(const uint32_t *)nw_frame_ptr(&region->frame);
}

uint32_t nw_vmx_region_revision(const struct nw_vmx_region *region)
{
	return first_dword(region) & NW_VMX_REVISION_MASK;
}

bool nw_vmx_region_is_shadow(const struct nw_vmx_region *region)
{
	return (first_dword(region) & NW_VMX_SHADOW_INDICATOR) != 0;
}

nw_hpa_t nw_vmx_region_paddr(const struct nw_vmx_region *region)
{
	return nw_frame_paddr(&region->frame);
}

void nw_vmx_region_free(struct nw_vmx_region *region)
{
	nw_frame_free(&region->frame);
}
