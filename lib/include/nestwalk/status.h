/* Status values returned by every fallible library call. Guest-controlled data
 * never asserts; it yields one of these (or a walk outcome). */
#ifndef NESTWALK_STATUS_H
#define NESTWALK_STATUS_H

#include "cdefs.h"

NW_BEGIN_DECLS

typedef enum nw_status {
	NW_OK = 0,
	NW_ERR_NOMEM,       /* the HAL had no frame to give */
	NW_ERR_INVALID,     /* an argument outside its domain */
	NW_ERR_RANGE,       /* an address or index the structure does not cover */
	NW_ERR_ALIGN,       /* an address or size not aligned as required */
	NW_ERR_EXISTS,      /* the range overlaps something already there */
	NW_ERR_NOT_FOUND,   /* nothing is mapped or registered there */
	NW_ERR_UNSUPPORTED, /* the modelled CPU lacks the feature */
	/* The address-space region rules (aspace.h), one status each. */
	NW_ERR_REGION_SLOTS,        /* every one of the NW_ASPACE_MAX_REGIONS slots is in use */
	NW_ERR_REGION_FLAGS,        /* flag bits outside NW_REGION_FLAGS_ALL */
	NW_ERR_WRITE_WITHOUT_READ,  /* write without read: an EPT misconfiguration */
	NW_ERR_ROM_WRITABLE,        /* a ROM region with the write flag */
	NW_ERR_LAZY_NOT_ALLOC,      /* lazy population asked of a region that is not MAP_ALLOC */
	NW_ERR_ABOVE_MAXPHYADDR,    /* a pass-through range that ends above 2^MAXPHYADDR */
	NW_ERR_NEEDS_STAGE2,        /* alloc, MMIO or ROM in an address space without a second stage */
	NW_ERR_NO_LEAF_RIGHTS,      /* a backed region without read or execute over a RISC-V G-stage */
} nw_status_t;

#define NW_MUST_CHECK __attribute__((warn_unused_result))

const char *nw_status_name(nw_status_t status);

NW_END_DECLS

#endif
