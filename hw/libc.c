/* What the compiler may call in freestanding code, and the library's assertion
 * hook reporting on the console. */
#include <stddef.h>
#include <stdint.h>

#include <nestwalk/assert.h>

#include "contract/layout.h"
#include "libc.h"
#include "serial.h"

/* volatile: stop the compiler turning these loops back into calls to themselves */
void *memset(void *dst, int c, size_t n)
{
	volatile uint8_t *d = dst;

	if (((uintptr_t)d & 7) == 0) {
		/* Whole words first: zeroing page tables is on every case's path. */
		volatile uint64_t *w = (volatile uint64_t *)dst;
		uint64_t word = (uint8_t)c * UINT64_C(0x0101010101010101);

		for (; n >= 8; n -= 8)
			*w++ = word;
		d = (volatile uint8_t *)w;
	}
	while (n--)
		*d++ = (uint8_t)c;
	return dst;
}

void *memcpy(void *dst, const void *src, size_t n)
{
	volatile uint8_t *d = dst;
	const uint8_t *s = src;

	while (n--)
		*d++ = *s++;
	return dst;
}

void *memmove(void *dst, const void *src, size_t n)
{
	volatile uint8_t *d = dst;
	const uint8_t *s = src;

	if (d < s) {
		while (n--)
			*d++ = *s++;
	} else {
		while (n--)
			d[n] = s[n];
	}
	return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const uint8_t *x = a, *y = b;

	for (size_t i = 0; i < n; i++)
		if (x[i] != y[i])
			return x[i] < y[i] ? -1 : 1;
	return 0;
}

_Noreturn void nw_assert_fail(const char *expr, const char *file, int line)
{
	hw_puts("hw: assertion failed: ");
	hw_puts(expr);
	hw_puts(" (");
	hw_puts(file);
	hw_putc(':');
	hw_put_dec((uint64_t)line);
	hw_puts(")\n");
	hw_exit(HW_EXIT_FAIL);
}
