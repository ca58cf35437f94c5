/* The images' HAL: frames from a pool of RAM (each image's layout names it), physical = virtual with the MMU
 * off. Single frames come from a free list, then from the bottom of the pool; runs (concatenated start tables,
 * 16 KiB roots) from the top, aligned to their size. Each case gives back everything; hw_frame_pool_reset then
 * starts over. */
#include "frame_pool.h"

#include <nestwalk/assert.h>

static bool frames_alloc(void *ctx, nw_hpa_t *frame)
{
	struct hw_frame_pool *f = ctx;
	uint64_t pa;

	if (f->free_head) {
		pa = f->free_head;
		f->free_head = *(uint64_t *)(uintptr_t)pa;
	} else {
		if (f->bottom >= f->top)
			return false;
		pa = f->bottom;
		f->bottom += NW_PAGE_SIZE;
	}
	f->live++;
	*frame = nw_hpa(pa);
	return true;
}

static bool frames_alloc_run(void *ctx, uint64_t count, nw_hpa_t *first)
{
	struct hw_frame_pool *f = ctx;
	uint64_t bytes = count * NW_PAGE_SIZE, pa = (f->top - bytes) & ~(bytes - 1);

	if (count == 0 || (count & (count - 1)) || f->top < bytes || pa < f->bottom)
		return false;
	f->top = pa;
	f->live += count;
	*first = nw_hpa(pa);
	return true;
}

static void frames_dealloc(void *ctx, nw_hpa_t frame)
{
	struct hw_frame_pool *f = ctx;

	/* Returning a frame the pool never gave out is a caller bug. */
	NW_ASSERT(nw_is_page_aligned(frame.val) && frame.val >= f->base &&
		  frame.val < f->base + f->size && f->live > 0);
	*(uint64_t *)(uintptr_t)frame.val = f->free_head;
	f->free_head = frame.val;
	f->live--;
}

static void *frames_phys_to_virt(void *ctx, nw_hpa_t pa)
{
	(void)ctx;
	return (void *)(uintptr_t)pa.val;
}

static const struct nw_hal_ops frames_ops = {
	.alloc_frame = frames_alloc,
	.dealloc_frame = frames_dealloc,
	.phys_to_virt = frames_phys_to_virt,
	.alloc_frames = frames_alloc_run,
};

void hw_frame_pool_reset(struct hw_frame_pool *f, uint64_t base, uint64_t size)
{
	NW_ASSERT(f->live == 0);
	*f = (struct hw_frame_pool){
		.hal = { .ops = &frames_ops, .ctx = f },
		.base = base,
		.size = size,
		.bottom = base,
		.top = base + size,
	};
}
