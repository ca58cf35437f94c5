/* Status values returned by every fallible library call. Guest-controlled data
 * never asserts; it yields one of these (or a walk outcome). */
#ifndef NESTWALK_STATUS_H
#define NESTWALK_STATUS_H

typedef enum nw_status {
	NW_OK = 0,
	NW_ERR_NOMEM,       /* the HAL had no frame to give */
	NW_ERR_INVALID,     /* an argument outside its domain */
	NW_ERR_RANGE,       /* an address or index the structure does not cover */
	NW_ERR_ALIGN,       /* an address or size not aligned as required */
	NW_ERR_EXISTS,      /* the range overlaps something already there */
	NW_ERR_NOT_FOUND,   /* nothing is mapped or registered there */
	NW_ERR_UNSUPPORTED, /* the modelled CPU lacks the feature */
} nw_status_t;

#define NW_MUST_CHECK __attribute__((warn_unused_result))

const char *nw_status_name(nw_status_t status);

#endif
