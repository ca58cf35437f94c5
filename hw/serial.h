/* COM1 console (115200 8N1) and the exit path through isa-debug-exit. */
#ifndef HW_SERIAL_H
#define HW_SERIAL_H

#include <stdint.h>

void hw_serial_init(void);
void hw_putc(char c);
void hw_puts(const char *s);
void hw_put_hex(uint64_t val);
void hw_put_dec(uint64_t val);
/* Leaves the emulator with status (code << 1) | 1; halts where no such device exists. */
_Noreturn void hw_exit(uint32_t code);

#endif
