#include <nestwalk/vmx.h>

#include "fixture.h"

TestSuite(vmx_region, .init = fixture_setup, .fini = fixture_teardown);

Test(vmx_region, revision_in_bits_30_0_and_rest_zero)
{
	struct nw_vmx_region region;
	const uint32_t *dwords;

	cr_assert_eq(nw_vmx_region_init(&region, hal, 0x12345678, false), NW_OK);
	dwords = nw_frame_ptr(&region.frame);
	cr_assert_eq(dwords[0], 0x12345678);
	for (size_t i = 1; i < NW_PAGE_SIZE / 4; i++)
		cr_assert_eq(dwords[i], 0, "dword %zu", i);
	cr_assert_eq(nw_vmx_region_revision(&region), 0x12345678);
	cr_assert_not(nw_vmx_region_is_shadow(&region));
	cr_assert_eq(nw_vmx_region_paddr(&region).val & NW_PAGE_MASK, 0);
	nw_vmx_region_free(&region);
}

Test(vmx_region, shadow_indicator_is_bit_31)
{
	struct nw_vmx_region region;

	cr_assert_eq(nw_vmx_region_init(&region, hal, 0x7fffffff, true), NW_OK);
	cr_assert_eq(*(uint32_t *)nw_frame_ptr(&region.frame), 0xffffffffu);
	cr_assert_eq(nw_vmx_region_revision(&region), 0x7fffffff);
	cr_assert(nw_vmx_region_is_shadow(&region));
	nw_vmx_region_free(&region);
}

Test(vmx_region, revision_with_bit_31_is_rejected_without_allocating)
{
	struct nw_vmx_region region;

	cr_assert_eq(nw_vmx_region_init(&region, hal, 0x80000001u, false), NW_ERR_INVALID);
	cr_assert_eq(nw_simmem_stats(sim).allocs, 0);
	nw_vmx_region_free(&region);
}

Test(vmx_region, allocation_failure_is_reported)
{
	struct nw_vmx_region region;

	nw_simmem_fail_nth(sim, 1);
	cr_assert_eq(nw_vmx_region_init(&region, hal, 1, false), NW_ERR_NOMEM);
	nw_vmx_region_free(&region);
}
