/* Table memory in HAL frames: the home of EPT and NPT tables. */
#include <nestwalk/assert.h>
#include <nestwalk/frame.h>
#include <nestwalk/pt_build.h>

static bool hal_alloc(void *ctx, uint64_t *addr)
{
	struct nw_frame frame;

	if (nw_frame_alloc(&frame, ctx) != NW_OK)
		return false;
	*addr = nw_frame_take(&frame).start.val;
	return true;
}

static bool hal_alloc_span(void *ctx, uint64_t pages, uint64_t *addr)
{
	nw_hpa_t first;

	if (!nw_hal_alloc_frames(ctx, pages, &first))
		return false;
	/* A HAL that hands out frame 0 or a misaligned run is broken (as nw_frame_alloc asserts for one frame). */
	NW_ASSERT(first.val != 0 && (first.val & (pages * NW_PAGE_SIZE - 1)) == 0);
	*addr = first.val;
	return true;
}

static void hal_free(void *ctx, uint64_t addr)
{
	nw_hal_dealloc_frame(ctx, nw_hpa(addr));
}

static void *hal_ptr(void *ctx, uint64_t addr)
{
	return nw_hal_phys_to_virt(ctx, nw_hpa(addr));
}

static const struct nw_pt_mem_ops hal_mem_ops = {
	.alloc = hal_alloc,
	.free = hal_free,
	.ptr = hal_ptr,
	.alloc_span = hal_alloc_span,
};

struct nw_pt_mem nw_pt_mem_hal(const struct nw_hal *hal)
{
	/* The engine never writes through ctx; the HAL calls take it as their own context. */
	return (struct nw_pt_mem){ .ops = &hal_mem_ops,
				   .ctx = (void *)(uintptr_t)hal,
				   .direct_map = hal->direct_map,
				   .direct_map_size = hal->direct_map_size,
				   .host = hal,
				   .exclusive = true };
}
