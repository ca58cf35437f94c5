#include <nestwalk/vmx.h>

#include "fixture.h"

TestSuite(io_bitmap, .init = fixture_setup, .fini = fixture_teardown);

/* The SDM layout, computed independently of the library: bit (port mod
 * 0x8000) of bitmap A below 0x8000, of bitmap B from 0x8000. */
static bool raw_bit(const struct nw_io_bitmap *bm, uint32_t port)
{
	const uint8_t *frame = nw_frame_ptr(port < 0x8000 ? &bm->a : &bm->b);
	uint32_t bit = port & 0x7fff;

	return (frame[bit / 8] >> (bit % 8)) & 1;
}

Test(io_bitmap, every_port_set_and_cleared_alone)
{
	struct nw_io_bitmap bm;

	cr_assert_eq(nw_io_bitmap_init(&bm, hal, false), NW_OK);
	for (uint32_t port = 0; port < NW_IO_PORT_COUNT; port++) {
		nw_io_bitmap_set_intercept(&bm, (uint16_t)port, true);
		cr_assert(raw_bit(&bm, port), "port 0x%x", port);
		cr_assert(nw_io_bitmap_is_intercepted(&bm, (uint16_t)port));
		/* its neighbours are untouched */
		if (port > 0)
			cr_assert_not(raw_bit(&bm, port - 1), "port 0x%x leaked to 0x%x", port, port - 1);
		if (port + 1 < NW_IO_PORT_COUNT)
			cr_assert_not(raw_bit(&bm, port + 1), "port 0x%x leaked to 0x%x", port, port + 1);
		nw_io_bitmap_set_intercept(&bm, (uint16_t)port, false);
		cr_assert_not(nw_io_bitmap_is_intercepted(&bm, (uint16_t)port));
	}
	nw_io_bitmap_free(&bm);
}

Test(io_bitmap, intercept_all_and_passthrough_all)
{
	struct nw_io_bitmap bm;

	cr_assert_eq(nw_io_bitmap_init(&bm, hal, true), NW_OK);
	for (uint32_t port = 0; port < NW_IO_PORT_COUNT; port++)
		cr_assert(raw_bit(&bm, port));
	nw_io_bitmap_set_all(&bm, false);
	for (uint32_t port = 0; port < NW_IO_PORT_COUNT; port++)
		cr_assert_not(nw_io_bitmap_is_intercepted(&bm, (uint16_t)port));
	nw_io_bitmap_free(&bm);
}

Test(io_bitmap, range_crossing_a_to_b)
{
	struct nw_io_bitmap bm;

	cr_assert_eq(nw_io_bitmap_init(&bm, hal, false), NW_OK);
	cr_assert_eq(nw_io_bitmap_set_range(&bm, 0x7ff0, 0x20, true), NW_OK);
	for (uint32_t port = 0; port < NW_IO_PORT_COUNT; port++)
		cr_assert_eq(raw_bit(&bm, port), port >= 0x7ff0 && port < 0x8010, "port 0x%x", port);
	cr_assert_eq(nw_io_bitmap_set_range(&bm, 0x7ff8, 8, false), NW_OK);
	cr_assert_not(nw_io_bitmap_is_intercepted(&bm, 0x7fff));
	cr_assert(nw_io_bitmap_is_intercepted(&bm, 0x8000));
	nw_io_bitmap_free(&bm);
}

Test(io_bitmap, range_past_last_port_is_rejected_unchanged)
{
	struct nw_io_bitmap bm;

	cr_assert_eq(nw_io_bitmap_init(&bm, hal, false), NW_OK);
	cr_assert_eq(nw_io_bitmap_set_range(&bm, 0xfff0, 0x11, true), NW_ERR_RANGE);
	cr_assert_eq(nw_io_bitmap_set_range(&bm, 0x10000, 1, true), NW_ERR_RANGE);
	cr_assert_eq(nw_io_bitmap_set_range(&bm, 1, UINT32_MAX, true), NW_ERR_RANGE);
	for (uint32_t port = 0; port < NW_IO_PORT_COUNT; port++)
		cr_assert_not(raw_bit(&bm, port));
	cr_assert_eq(nw_io_bitmap_set_range(&bm, 0xfff0, 0x10, true), NW_OK);
	cr_assert(nw_io_bitmap_is_intercepted(&bm, 0xffff));
	nw_io_bitmap_free(&bm);
}

Test(io_bitmap, multi_byte_access_exits_if_any_port_does_or_it_wraps)
{
	struct nw_io_bitmap bm;

	cr_assert_eq(nw_io_bitmap_init(&bm, hal, false), NW_OK);
	nw_io_bitmap_set_intercept(&bm, 0x3fb, true);
	cr_assert_not(nw_io_bitmap_access_exits(&bm, 0x3f8, 2));
	cr_assert(nw_io_bitmap_access_exits(&bm, 0x3f8, 4));
	cr_assert(nw_io_bitmap_access_exits(&bm, 0x3fa, 2));
	cr_assert_not(nw_io_bitmap_access_exits(&bm, 0xfffe, 2));
	cr_assert(nw_io_bitmap_access_exits(&bm, 0xfffe, 4), "wrapping past 0xFFFF always exits");
	nw_io_bitmap_free(&bm);
}

Test(io_bitmap, second_frame_failure_frees_the_first)
{
	struct nw_io_bitmap bm;

	nw_simmem_fail_nth(sim, 2);
	cr_assert_eq(nw_io_bitmap_init(&bm, hal, true), NW_ERR_NOMEM);
	cr_assert_eq(nw_simmem_stats(sim).live, 0);
	nw_io_bitmap_free(&bm);
}
