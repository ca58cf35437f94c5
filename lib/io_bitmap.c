#include <nestwalk/vmx.h>

#include "bitmap.h"

#define PORTS_PER_FRAME 0x8000u

/* Port p lives in bitmap A below 0x8000 and in B above, bit p mod 0x8000. */
static uint8_t *frame_for_port(const struct nw_io_bitmap *bitmap, uint32_t port)
{
	return nw_frame_ptr(port < PORTS_PER_FRAME ? &bitmap->a : &bitmap->b);
}

nw_status_t nw_io_bitmap_init(struct nw_io_bitmap *bitmap, const struct nw_hal *hal, bool intercept_all)
{
	nw_status_t status;

	bitmap->b = nw_frame_uninit();
	status = nw_frame_alloc(&bitmap->a, hal);
	if (status == NW_OK)
		status = nw_frame_alloc(&bitmap->b, hal);
	if (status != NW_OK) {
		nw_io_bitmap_free(bitmap);
		return status;
	}
	nw_io_bitmap_set_all(bitmap, intercept_all);
	return NW_OK;
}

void nw_io_bitmap_set_all(struct nw_io_bitmap *bitmap, bool intercept)
{
	uint8_t byte = intercept ? 0xff : 0x00;

	nw_frame_fill(&bitmap->a, byte);
	nw_frame_fill(&bitmap->b, byte);
}

void nw_io_bitmap_set_intercept(struct nw_io_bitmap *bitmap, uint16_t port, bool intercept)
{
	nw_bit_assign(frame_for_port(bitmap, port), port % PORTS_PER_FRAME, intercept);
}

nw_status_t nw_io_bitmap_set_range(struct nw_io_bitmap *bitmap, uint32_t first, uint32_t count, bool intercept)
{
	if (first >= NW_IO_PORT_COUNT || count > NW_IO_PORT_COUNT - first)
		return NW_ERR_RANGE;
	for (uint32_t port = first; port < first + count; port++)
		nw_io_bitmap_set_intercept(bitmap, (uint16_t)port, intercept);
	return NW_OK;
}

bool nw_io_bitmap_is_intercepted(const struct nw_io_bitmap *bitmap, uint16_t port)
{
	return nw_bit_test(frame_for_port(bitmap, port), port % PORTS_PER_FRAME);
}

bool nw_io_bitmap_access_exits(const struct nw_io_bitmap *bitmap, uint16_t port, unsigned size)
{
	if ((uint32_t)port + size > NW_IO_PORT_COUNT)
		return true;
	for (unsigned i = 0; i < size; i++)
		if (nw_io_bitmap_is_intercepted(bitmap, (uint16_t)(port + i)))
			return true;
	return false;
}

nw_hpa_t nw_io_bitmap_a_paddr(const struct nw_io_bitmap *bitmap)
{
	return nw_frame_paddr(&bitmap->a);
}

nw_hpa_t nw_io_bitmap_b_paddr(const struct nw_io_bitmap *bitmap)
{
	return nw_frame_paddr(&bitmap->b);
}

void nw_io_bitmap_free(struct nw_io_bitmap *bitmap)
{
	nw_frame_free(&bitmap->a);
	nw_frame_free(&bitmap->b);
}
