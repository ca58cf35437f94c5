/* What the compiler may call in freestanding code, and the library's assertion
 * hook reporting on the console. */
#include <stddef.h>
#include <stdint.h>

#include <nestwalk/assert.h>

#include "layout.h"
#include "serial.h"

void *memset(void *dst, int c, size_t n);
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
int memcmp(const void *a, const void *b, size_t n);

/* volatile: stop the compiler turning these loops back into calls to themselves */
void *memset(void *dst, int c, size_t n)
{
	volatile uint8_t *d = dst;

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
