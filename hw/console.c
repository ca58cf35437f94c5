/* Text on the console, whatever the port behind hw_putc (serial.c on x86, aarch64/pl011.c on AArch64). */
#include "serial.h"

void hw_puts(const char *s)
{
	while (*s)
		hw_putc(*s++);
}

void hw_put_hex(uint64_t val)
{
	char buf[17];
	int n = 0;

	do {
		buf[n++] = "0123456789abcdef"[val & 0xf];
		val >>= 4;
	} while (val);
	hw_puts("0x");
	while (n)
		hw_putc(buf[--n]);
}

void hw_put_dec(uint64_t val)
{
	char buf[21];
	int n = 0;

	do {
		buf[n++] = (char)('0' + val % 10);
		val /= 10;
	} while (val);
	while (n)
		hw_putc(buf[--n]);
}
