/* Bit access within a host frame, shared by the VMX bitmaps. */
#ifndef NESTWALK_LIB_BITMAP_H
#define NESTWALK_LIB_BITMAP_H

#include <stdbool.h>
#include <stdint.h>

static inline void nw_bit_assign(uint8_t *base, uint32_t bit, bool value)
{
	uint8_t mask = (uint8_t)(1u << (bit & 7));

	if (value)
		base[bit >> 3] |= mask;
	else
		base[bit >> 3] &= (uint8_t)~mask;
}

static inline bool nw_bit_test(const uint8_t *base, uint32_t bit)
{
	return (base[bit >> 3] >> (bit & 7)) & 1;
}

#endif
