#include <nestwalk/mem.h>

/* Table pages are filled whole on every allocation: do it a word at a time
 * when alignment allows, a byte at a time otherwise. A compiler may turn
 * these loops into memset/memcpy calls, which every environment provides
 * (the C library hosted, hw/libc.c on bare metal). */
void nw_mem_fill(void *dst, uint8_t byte, size_t len)
{
	uint8_t *d = dst;

	if (((uintptr_t)d & 7) == 0) {
		uint64_t word = UINT64_C(0x0101010101010101) * byte;

		for (; len >= 8; len -= 8, d += 8)
			*(uint64_t *)(void *)d = word;
	}
	while (len--)
		*d++ = byte;
}

void nw_mem_copy(void *dst, const void *src, size_t len)
{
	uint8_t *d = dst;
	const uint8_t *s = src;

	while (len--)
		*d++ = *s++;
}

int nw_mem_equal(const void *a, const void *b, size_t len)
{
	const uint8_t *x = a, *y = b;

	for (size_t i = 0; i < len; i++)
		if (x[i] != y[i])
			return 0;
	return 1;
}
