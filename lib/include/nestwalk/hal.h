/* The hardware abstraction layer: the library's only door to host memory.
 * Every call takes the HAL's context pointer, so several simulated machines
 * can live in one process. */
#ifndef NESTWALK_HAL_H
#define NESTWALK_HAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "cdefs.h"

NW_BEGIN_DECLS

struct nw_hal_ops {
	/* One 4 KiB host frame; false when none is left (*frame untouched). */
	bool (*alloc_frame)(void *ctx, nw_hpa_t *frame);
	void (*dealloc_frame)(void *ctx, nw_hpa_t frame);
	/* Host pointer for a physical address, NULL when nothing backs it. */
	void *(*phys_to_virt)(void *ctx, nw_hpa_t pa);
	/* Optional (NULL: none): count contiguous frames, count a power of two,
	 * the first aligned to count frames, at contiguous host addresses from
	 * phys_to_virt(first); each is given back with dealloc_frame. For
	 * tables the hardware reads as one (concatenated AArch64 stage-2 start
	 * tables); false when no such run is free (*first untouched). */
	bool (*alloc_frames)(void *ctx, uint64_t count, nw_hpa_t *first);
};

struct nw_hal {
	const struct nw_hal_ops *ops;
	void *ctx;
	/* Optional direct-map window: host memory of HPA 0 .. direct_map_size
	 * at direct_map, so the hot path turns phys_to_virt into an add. Every
	 * byte of it must be readable without side effects (RAM, not MMIO): the
	 * walkers read guest and second-stage tables through it without a call. */
	uint8_t *direct_map;
	uint64_t direct_map_size;
};

/* Host memory read without a call: HPA 0 .. size at base. Every byte must
 * be readable without side effects, and a frame nothing backs must read as
 * zeros, so that reading through it never finds a present entry where the
 * HAL would find no memory. */
struct nw_hal_window {
	const uint8_t *base; /* NULL: none */
	uint64_t size;
};

static inline bool nw_hal_alloc_frame(const struct nw_hal *hal, nw_hpa_t *frame)
{
	return hal->ops->alloc_frame(hal->ctx, frame);
}

static inline bool nw_hal_alloc_frames(const struct nw_hal *hal, uint64_t count, nw_hpa_t *first)
{
	return hal->ops->alloc_frames && hal->ops->alloc_frames(hal->ctx, count, first);
}

static inline void nw_hal_dealloc_frame(const struct nw_hal *hal, nw_hpa_t frame)
{
	hal->ops->dealloc_frame(hal->ctx, frame);
}

static inline void *nw_hal_phys_to_virt(const struct nw_hal *hal, nw_hpa_t pa)
{
	if (pa.val < hal->direct_map_size)
		return hal->direct_map + pa.val;
	return hal->ops->phys_to_virt(hal->ctx, pa);
}

NW_END_DECLS

#endif
