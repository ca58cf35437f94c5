#include "frames.h"

#include <nestwalk/assert.h>

extern char hw_image_end[];

static uint64_t align_up(uint64_t val) { return (val + 0xfffu) & ~UINT64_C(0xfff); }
static uint64_t max_u64(uint64_t a, uint64_t b) { return a > b ? a : b; }

uint64_t hw_boot_floor(const struct mb_info *mbi)
{
	uint64_t floor = max_u64((uint64_t)(uintptr_t)hw_image_end, (uint64_t)(uintptr_t)mbi + sizeof(*mbi));

	if (mbi->flags & MB_INFO_MODS) {
		const struct mb_module *mods = (const struct mb_module *)(uintptr_t)mbi->mods_addr;

		floor = max_u64(floor, (uint64_t)mbi->mods_addr + mbi->mods_count * sizeof(*mods));
		for (uint32_t i = 0; i < mbi->mods_count; i++)
			floor = max_u64(floor, mods[i].end);
	}
	if (mbi->flags & MB_INFO_MMAP)
		floor = max_u64(floor, (uint64_t)mbi->mmap_addr + mbi->mmap_length);
	return align_up(floor);
}

static void add_range(struct hw_frames *frames, uint64_t start, uint64_t end)
{
	if (start >= end || frames->range_count == HW_FRAMES_MAX_RANGES)
		return;
	frames->ranges[frames->range_count].start = start;
	frames->ranges[frames->range_count].end = end;
	frames->range_count++;
}

/* Adds [start, end) clipped to the direct map, minus the scratch region. */
static void add_usable(struct hw_frames *frames, uint64_t start, uint64_t end)
{
	start = align_up(start);
	end &= ~UINT64_C(0xfff);
	if (end > HW_DIRECT_MAP_SIZE)
		end = HW_DIRECT_MAP_SIZE;
	if (start >= end)
		return;
	if (end <= HW_SCRATCH_BASE || start >= HW_SCRATCH_BASE + HW_SCRATCH_SIZE) {
		add_range(frames, start, end);
		return;
	}
	add_range(frames, start, HW_SCRATCH_BASE);
	add_range(frames, HW_SCRATCH_BASE + HW_SCRATCH_SIZE, end);
}

static bool frames_alloc(void *ctx, nw_hpa_t *frame)
{
	struct hw_frames *frames = ctx;
	uint64_t pa;

	if (frames->free_head) {
		pa = frames->free_head;
		frames->free_head = *(uint64_t *)hw_direct(pa);
	} else {
		while (frames->cursor_range < frames->range_count &&
		       frames->cursor >= frames->ranges[frames->cursor_range].end) {
			frames->cursor_range++;
			if (frames->cursor_range < frames->range_count)
				frames->cursor = frames->ranges[frames->cursor_range].start;
		}
		if (frames->cursor_range == frames->range_count)
			return false;
		pa = frames->cursor;
		frames->cursor += NW_PAGE_SIZE;
	}
	frames->live++;
	frames->total++;
	if (frames->live > frames->high_water)
		frames->high_water = frames->live;
	*frame = nw_hpa(pa);
	return true;
}

static bool is_managed(const struct hw_frames *frames, uint64_t pa)
{
	for (unsigned i = 0; i < frames->range_count; i++)
		if (pa >= frames->ranges[i].start && pa < frames->ranges[i].end)
			return true;
	return false;
}

static void frames_dealloc(void *ctx, nw_hpa_t frame)
{
	struct hw_frames *frames = ctx;

	/* Returning a frame this allocator never gave out is a caller bug. */
	NW_ASSERT(nw_is_page_aligned(frame.val) && is_managed(frames, frame.val));
	NW_ASSERT(frames->live > 0);
	*(uint64_t *)hw_direct(frame.val) = frames->free_head;
	frames->free_head = frame.val;
	frames->live--;
}

/* Only reached past the direct map, where nothing is managed. */
static void *frames_phys_to_virt(void *ctx, nw_hpa_t pa)
{
	(void)ctx;
	(void)pa;
	return 0;
}

static const struct nw_hal_ops frames_ops = {
	.alloc_frame = frames_alloc,
	.dealloc_frame = frames_dealloc,
	.phys_to_virt = frames_phys_to_virt,
};

bool hw_frames_init(struct hw_frames *frames, const struct mb_info *mbi)
{
	uint64_t floor = hw_boot_floor(mbi);

	*frames = (struct hw_frames){ 0 };
	frames->hal = (struct nw_hal){
		.ops = &frames_ops, .ctx = frames,
		.direct_map = (uint8_t *)(uintptr_t)HW_DIRECT_MAP_BASE, .direct_map_size = HW_DIRECT_MAP_SIZE,
	};
	if (!(mbi->flags & MB_INFO_MMAP))
		return false;
	for (uint64_t off = 0; off + sizeof(struct mb_mmap_entry) <= mbi->mmap_length;) {
		const struct mb_mmap_entry *e = (const struct mb_mmap_entry *)(uintptr_t)(mbi->mmap_addr + off);

		if (e->type == MB_MMAP_AVAILABLE)
			add_usable(frames, max_u64(e->base, floor), e->base + e->length);
		off += e->size + sizeof(e->size);
	}
	if (frames->range_count == 0)
		return false;
	frames->cursor = frames->ranges[0].start;
	return true;
}

uint64_t hw_frames_live(const struct hw_frames *frames)
{
	return frames->live;
}
