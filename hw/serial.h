/* The console and the exit path: COM1 (115200 8N1) and isa-debug-exit on x86 (serial.c), the PL011 and
 * semihosting on AArch64 (aarch64/pl011.c); the text functions over hw_putc are console.c's. */
#ifndef HW_SERIAL_H
#define HW_SERIAL_H

#include <stdint.h>

void hw_serial_init(void);
void hw_putc(char c);
void hw_puts(const char *s);
void hw_put_hex(uint64_t val);
void hw_put_dec(uint64_t val);
/* Leaves the emulator with status (code << 1) | 1 (both images: the host reads one set of statuses);
 * halts where no such device exists. */
_Noreturn void hw_exit(uint32_t code);

#endif
