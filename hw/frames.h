/* The bare-metal HAL: 4 KiB frames from the multiboot memory map (below 4 GiB,
 * above the image, its modules and the boot information, outside the scratch
 * region), reached through the boot map's direct-map window. */
#ifndef HW_FRAMES_H
#define HW_FRAMES_H

#include <stdbool.h>
#include <stdint.h>

#include <nestwalk/hal.h>

#include "contract/layout.h"
#include "multiboot.h"

#define HW_FRAMES_MAX_RANGES 16

struct hw_frames {
	struct { uint64_t start, end; } ranges[HW_FRAMES_MAX_RANGES];
	unsigned range_count;
	unsigned cursor_range; /* bump allocation: next untouched frame */
	uint64_t cursor;
	uint64_t free_head;    /* returned frames, linked through their first word; 0 = none */
	uint64_t live, high_water, total;
	struct nw_hal hal;
};

/* Lowest address the allocator may use: everything the loader placed (image,
 * modules, boot information) lies below it. */
uint64_t hw_boot_floor(const struct mb_info *mbi);
/* false when the memory map is missing or leaves no frame. */
bool hw_frames_init(struct hw_frames *frames, const struct mb_info *mbi);
uint64_t hw_frames_live(const struct hw_frames *frames);
static inline void *hw_direct(uint64_t pa) { return (void *)(uintptr_t)(HW_DIRECT_MAP_BASE + pa); }

#endif
