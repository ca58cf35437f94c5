/* The AArch64 image's HAL over its frame pool (frames.c). */
#ifndef HW_A64_FRAMES_H
#define HW_A64_FRAMES_H

#include <stdint.h>

#include <nestwalk/hal.h>

struct hw_a64_frames {
	struct nw_hal hal;
	uint64_t bottom, top; /* the pool not yet handed out */
	uint64_t free_head;   /* single frames given back */
	uint64_t live;
};

/* Starts over with the whole pool; nothing may be live. */
void hw_a64_frames_reset(struct hw_a64_frames *f);

#endif
