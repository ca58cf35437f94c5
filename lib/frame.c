#include <nestwalk/assert.h>
#include <nestwalk/frame.h>
#include <nestwalk/mem.h>

nw_status_t nw_frame_alloc(struct nw_frame *frame, const struct nw_hal *hal)
{
	nw_hpa_t start;

	*frame = nw_frame_uninit();
	if (!nw_hal_alloc_frame(hal, &start))
		return NW_ERR_NOMEM;
	/* A HAL that hands out frame 0 or an unaligned frame is broken. */
	NW_ASSERT(start.val != 0);
	NW_ASSERT(nw_is_page_aligned(start.val));
	frame->start = start;
	frame->hal = hal;
	return NW_OK;
}

nw_status_t nw_frame_alloc_zero(struct nw_frame *frame, const struct nw_hal *hal)
{
	nw_status_t status = nw_frame_alloc(frame, hal);

	if (status == NW_OK)
		nw_frame_fill(frame, 0);
	return status;
}

nw_hpa_t nw_frame_paddr(const struct nw_frame *frame)
{
	NW_ASSERT(nw_frame_is_init(frame));
	return frame->start;
}

void *nw_frame_ptr(const struct nw_frame *frame)
{
	return nw_hal_phys_to_virt(frame->hal, nw_frame_paddr(frame));
}

void nw_frame_fill(struct nw_frame *frame, uint8_t byte)
{
	uint8_t *ptr = nw_frame_ptr(frame);

	NW_ASSERT(ptr != 0);
	nw_mem_fill(ptr, byte, NW_PAGE_SIZE);
}

void nw_frame_free(struct nw_frame *frame)
{
	if (!nw_frame_is_init(frame))
		return;
	nw_hal_dealloc_frame(frame->hal, frame->start);
	*frame = nw_frame_uninit();
}
