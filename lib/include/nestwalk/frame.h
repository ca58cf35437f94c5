/* One 4 KiB host-physical frame owned by its holder (x86_vcpu's PhysFrame):
 * allocated from a HAL, freed exactly once. An uninitialised frame owns
 * nothing; asking for its address is a caller bug. */
#ifndef NESTWALK_FRAME_H
#define NESTWALK_FRAME_H

#include <stdbool.h>
#include <stdint.h>

#include "addr.h"
#include "cdefs.h"
#include "hal.h"
#include "status.h"

NW_BEGIN_DECLS

struct nw_frame {
	nw_hpa_t start;
	const struct nw_hal *hal; /* NULL while uninitialised */
};

static inline struct nw_frame nw_frame_uninit(void)
{
	struct nw_frame frame = { { 0 }, 0 };

	return frame;
}

static inline bool nw_frame_is_init(const struct nw_frame *frame) { return frame->hal != 0; }

NW_MUST_CHECK nw_status_t nw_frame_alloc(struct nw_frame *frame, const struct nw_hal *hal);
NW_MUST_CHECK nw_status_t nw_frame_alloc_zero(struct nw_frame *frame, const struct nw_hal *hal);
nw_hpa_t nw_frame_paddr(const struct nw_frame *frame);
void *nw_frame_ptr(const struct nw_frame *frame);
void nw_frame_fill(struct nw_frame *frame, uint8_t byte);
/* Returns the frame to its HAL and leaves it uninitialised; freeing an
 * uninitialised frame does nothing, so cleanup paths need no checks. */
void nw_frame_free(struct nw_frame *frame);

/* Scope-bound frame: freed when the variable leaves scope, unless ownership
 * was moved out with nw_frame_take(). */
#define NW_SCOPED_FRAME __attribute__((cleanup(nw_frame_free))) struct nw_frame

static inline struct nw_frame nw_frame_take(struct nw_frame *frame)
{
	struct nw_frame taken = *frame;
	*frame = nw_frame_uninit();
	return taken;
}

NW_END_DECLS

#endif
