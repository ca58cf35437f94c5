#include <nestwalk/mem.h>

void nw_mem_fill(void *dst, uint8_t byte, size_t len)
{
	volatile uint8_t *d = dst; /* volatile: keep the compiler from emitting a memset call */

	while (len--)
		*d++ = byte;
}

void nw_mem_copy(void *dst, const void *src, size_t len)
{
	volatile uint8_t *d = dst;
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
