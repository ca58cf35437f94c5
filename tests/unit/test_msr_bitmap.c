#include <nestwalk/vmx.h>

#include "fixture.h"

TestSuite(msr_bitmap, .init = fixture_setup, .fini = fixture_teardown);

/* SDM §25.6.9 layout, computed here independently: quarter offset + bit. */
static bool raw_bit(const struct nw_msr_bitmap *bm, uint32_t msr, bool write)
{
	const uint8_t *frame = nw_frame_ptr(&bm->frame);
	unsigned quarter = (write ? 2048 : 0) + (msr >= 0xc0000000u ? 1024 : 0);
	uint32_t bit = msr & 0x1fff;

	return (frame[quarter + bit / 8] >> (bit % 8)) & 1;
}

static void check_range(struct nw_msr_bitmap *bm, uint32_t first)
{
	for (uint32_t msr = first; msr <= first + 0x1fff; msr++) {
		cr_assert_eq(nw_msr_bitmap_set_intercept(bm, msr, NW_MSR_READ, true), NW_OK);
		cr_assert(raw_bit(bm, msr, false), "read 0x%x", msr);
		cr_assert_not(raw_bit(bm, msr, true), "write bit of 0x%x must stay clear", msr);
		cr_assert(nw_msr_bitmap_exits(bm, msr, NW_MSR_READ));
		cr_assert_not(nw_msr_bitmap_exits(bm, msr, NW_MSR_WRITE));
		cr_assert_eq(nw_msr_bitmap_set_intercept(bm, msr, NW_MSR_READ_WRITE, false), NW_OK);
		cr_assert_eq(nw_msr_bitmap_set_intercept(bm, msr, NW_MSR_WRITE, true), NW_OK);
		cr_assert(raw_bit(bm, msr, true), "write 0x%x", msr);
		cr_assert_not(raw_bit(bm, msr, false));
		cr_assert_not(nw_msr_bitmap_exits(bm, msr, NW_MSR_READ));
		cr_assert(nw_msr_bitmap_exits(bm, msr, NW_MSR_WRITE));
		cr_assert_eq(nw_msr_bitmap_set_intercept(bm, msr, NW_MSR_WRITE, false), NW_OK);
	}
	for (size_t i = 0; i < NW_PAGE_SIZE; i++)
		cr_assert_eq(((uint8_t *)nw_frame_ptr(&bm->frame))[i], 0, "byte %zu left set", i);
}

Test(msr_bitmap, every_low_msr_read_and_write_separately)
{
	struct nw_msr_bitmap bm;

	cr_assert_eq(nw_msr_bitmap_init(&bm, hal, false), NW_OK);
	check_range(&bm, 0);
	nw_msr_bitmap_free(&bm);
}

Test(msr_bitmap, every_high_msr_read_and_write_separately)
{
	struct nw_msr_bitmap bm;

	cr_assert_eq(nw_msr_bitmap_init(&bm, hal, false), NW_OK);
	check_range(&bm, 0xc0000000u);
	nw_msr_bitmap_free(&bm);
}

Test(msr_bitmap, known_msrs_land_where_the_sdm_says)
{
	struct nw_msr_bitmap bm;
	const uint8_t *frame;

	cr_assert_eq(nw_msr_bitmap_init(&bm, hal, false), NW_OK);
	frame = nw_frame_ptr(&bm.frame);
	cr_assert_eq(nw_msr_bitmap_set_intercept(&bm, 0xc0000080u /* EFER */, NW_MSR_WRITE, true), NW_OK);
	cr_assert_eq(frame[3072 + 0x80 / 8], 1u << 0);
	cr_assert_eq(nw_msr_bitmap_set_intercept(&bm, 0x1b /* APIC_BASE */, NW_MSR_READ, true), NW_OK);
	cr_assert_eq(frame[0x1b / 8], 1u << 3);
	nw_msr_bitmap_free(&bm);
}

Test(msr_bitmap, msrs_outside_both_ranges_are_errors_and_always_exit)
{
	static const uint32_t outside[] = { 0x2000, 0x4b564d00, 0xbfffffff, 0xc0002000, 0xc0010000, 0xffffffff };
	struct nw_msr_bitmap bm;

	cr_assert_eq(nw_msr_bitmap_init(&bm, hal, false), NW_OK);
	for (size_t i = 0; i < sizeof(outside) / sizeof(outside[0]); i++) {
		cr_assert_not(nw_msr_is_covered(outside[i]));
		cr_assert_eq(nw_msr_bitmap_set_intercept(&bm, outside[i], NW_MSR_READ, false), NW_ERR_RANGE);
		cr_assert(nw_msr_bitmap_exits(&bm, outside[i], NW_MSR_READ), "0x%x", outside[i]);
		cr_assert(nw_msr_bitmap_exits(&bm, outside[i], NW_MSR_WRITE), "0x%x", outside[i]);
	}
	cr_assert(nw_msr_is_covered(0x1fff));
	cr_assert(nw_msr_is_covered(0xc0001fffu));
	nw_msr_bitmap_free(&bm);
}

Test(msr_bitmap, intercept_all_and_bad_access_mask)
{
	struct nw_msr_bitmap bm;

	cr_assert_eq(nw_msr_bitmap_init(&bm, hal, true), NW_OK);
	cr_assert(nw_msr_bitmap_exits(&bm, 0x10, NW_MSR_READ));
	cr_assert(nw_msr_bitmap_exits(&bm, 0xc0000100u, NW_MSR_WRITE));
	cr_assert_eq(nw_msr_bitmap_set_intercept(&bm, 0x10, 0, true), NW_ERR_INVALID);
	cr_assert_eq(nw_msr_bitmap_set_intercept(&bm, 0x10, 4, true), NW_ERR_INVALID);
	nw_msr_bitmap_free(&bm);
}
