/* A fuzz input read as a stream of little-endian values. Reading past the end
 * yields zeroes, so every input, however short, decodes to some case. */
#ifndef NESTWALK_FUZZ_INPUT_H
#define NESTWALK_FUZZ_INPUT_H

#include <stddef.h>
#include <stdint.h>

struct fz {
	const uint8_t *data;
	size_t size, pos;
};

static inline struct fz fz_start(const uint8_t *data, size_t size)
{
	return (struct fz){ .data = data, .size = size, .pos = 0 };
}

static inline int fz_more(const struct fz *in)
{
	return in->pos < in->size;
}

static inline uint8_t fz_u8(struct fz *in)
{
	return in->pos < in->size ? in->data[in->pos++] : 0;
}

static inline uint64_t fz_bytes(struct fz *in, unsigned n)
{
	uint64_t value = 0;

	for (unsigned i = 0; i < n; i++)
		value |= (uint64_t)fz_u8(in) << (8 * i);
	return value;
}

static inline uint16_t fz_u16(struct fz *in) { return (uint16_t)fz_bytes(in, 2); }
static inline uint32_t fz_u32(struct fz *in) { return (uint32_t)fz_bytes(in, 4); }
static inline uint64_t fz_u64(struct fz *in) { return fz_bytes(in, 8); }

/* One bit of a flags byte. */
static inline int fz_bit(uint64_t flags, unsigned bit)
{
	return (int)((flags >> bit) & 1);
}

#endif
