#include <nestwalk/frame.h>
#include <signal.h>

#include "fixture.h"

TestSuite(frame, .init = fixture_setup, .fini = fixture_teardown);

Test(frame, alloc_gives_nonzero_aligned_backed_frame)
{
	struct nw_frame frame;

	cr_assert_eq(nw_frame_alloc(&frame, hal), NW_OK);
	cr_assert_neq(nw_frame_paddr(&frame).val, 0);
	cr_assert_eq(nw_frame_paddr(&frame).val & NW_PAGE_MASK, 0);
	cr_assert(nw_simmem_is_backed(sim, nw_frame_paddr(&frame)));
	cr_assert_eq(nw_simmem_stats(sim).live, 1);
	nw_frame_free(&frame);
	cr_assert_eq(nw_simmem_stats(sim).live, 0);
	cr_assert_not(nw_frame_is_init(&frame));
}

Test(frame, alloc_zero_clears_a_poisoned_frame)
{
	struct nw_frame frame;
	const uint8_t *bytes;

	cr_assert_eq(nw_frame_alloc(&frame, hal), NW_OK);
	cr_assert_eq(((uint8_t *)nw_frame_ptr(&frame))[100], 0xa5, "simulated memory poisons fresh frames");
	nw_frame_free(&frame);
	cr_assert_eq(nw_frame_alloc_zero(&frame, hal), NW_OK);
	bytes = nw_frame_ptr(&frame);
	for (size_t i = 0; i < NW_PAGE_SIZE; i++)
		cr_assert_eq(bytes[i], 0, "byte %zu", i);
	nw_frame_free(&frame);
}

Test(frame, fill_writes_every_byte)
{
	struct nw_frame frame;
	const uint8_t *bytes;

	cr_assert_eq(nw_frame_alloc(&frame, hal), NW_OK);
	nw_frame_fill(&frame, 0x3c);
	bytes = nw_frame_ptr(&frame);
	for (size_t i = 0; i < NW_PAGE_SIZE; i++)
		cr_assert_eq(bytes[i], 0x3c);
	nw_frame_free(&frame);
}

Test(frame, free_of_uninit_is_harmless)
{
	struct nw_frame frame = nw_frame_uninit();

	nw_frame_free(&frame);
	cr_assert_not(nw_frame_is_init(&frame));
}

Test(frame, paddr_of_uninit_frame_asserts, .signal = SIGABRT)
{
	struct nw_frame frame = nw_frame_uninit();

	(void)nw_frame_paddr(&frame);
}

Test(frame, failed_alloc_is_an_error_value)
{
	struct nw_frame frame;

	nw_simmem_fail_nth(sim, 1);
	cr_assert_eq(nw_frame_alloc(&frame, hal), NW_ERR_NOMEM);
	cr_assert_not(nw_frame_is_init(&frame));
	cr_assert_eq(nw_frame_alloc_zero(&frame, hal), NW_OK, "only the injected allocation fails");
	nw_frame_free(&frame);
}

static nw_hpa_t scoped_allocation(bool keep, struct nw_frame *kept)
{
	NW_SCOPED_FRAME frame;

	cr_assert_eq(nw_frame_alloc(&frame, hal), NW_OK);
	if (keep)
		*kept = nw_frame_take(&frame);
	return kept->start;
}

Test(frame, scoped_frame_is_freed_on_scope_exit_unless_taken)
{
	struct nw_frame kept = nw_frame_uninit();

	scoped_allocation(false, &kept);
	cr_assert_eq(nw_simmem_stats(sim).live, 0, "scope exit freed the frame");
	scoped_allocation(true, &kept);
	cr_assert_eq(nw_simmem_stats(sim).live, 1, "a taken frame outlives the scope");
	nw_frame_free(&kept);
}
