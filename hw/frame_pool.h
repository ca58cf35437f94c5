/* The HAL of the AArch64 and RISC-V images over a pool of RAM (frame_pool.c): physical = virtual, the MMU off. */
#ifndef HW_FRAME_POOL_H
#define HW_FRAME_POOL_H

#include <stdint.h>

#include <nestwalk/hal.h>

struct hw_frame_pool {
	struct nw_hal hal;
	uint64_t base, size;  /* the whole pool */
	uint64_t bottom, top; /* the pool not yet handed out */
	uint64_t free_head;   /* single frames given back */
	uint64_t live;
};

/* Starts over with the whole pool [base, base + size); nothing may be live. */
void hw_frame_pool_reset(struct hw_frame_pool *f, uint64_t base, uint64_t size);

#endif
