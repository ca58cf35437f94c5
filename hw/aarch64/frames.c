/* The image's HAL: frames from the pool (contract/a64_layout.h), physical = virtual with the MMU off. Single
 * frames come from a free list, then from the bottom of the pool; runs (concatenated start tables) from the
 * top, aligned to their size. Each case gives back everything; hw_a64_frames_reset then starts over. */
#include "frames.h"

#include <nestwalk/assert.h>

#include "contract/a64_layout.h"

static bool frames_alloc(void *ctx, nw_hpa_t *frame)
{
	struct hw_a64_frames *f = ctx;
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
	struct hw_a64_frames *f = ctx;
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
	struct hw_a64_frames *f = ctx;

	/* Returning a frame the pool never gave out is a caller bug. */
	NW_ASSERT(nw_is_page_aligned(frame.val) && frame.val >= HW_A64_POOL_BASE &&
		  frame.val < HW_A64_POOL_BASE + HW_A64_POOL_SIZE && f->live > 0);
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

void hw_a64_frames_reset(struct hw_a64_frames *f)
{
	NW_ASSERT(f->live == 0);
	*f = (struct hw_a64_frames){
		.hal = { .ops = &frames_ops, .ctx = f },
		.bottom = HW_A64_POOL_BASE,
		.top = HW_A64_POOL_BASE + HW_A64_POOL_SIZE,
	};
}
