/* The case log: Bochs's port 0xE9 (an OUT per byte, no UART timing, so
 * thousands of lines cost nothing), mirrored to COM1 only when asked. */
#ifndef HW_VMX_CONSOLE_H
#define HW_VMX_CONSOLE_H

#include <stdbool.h>

#define VMX_E9_PORT 0xe9

/* Writes s to port 0xE9, and to COM1 as well when serial is true. */
void vmx_log(const char *s, bool serial);

#endif
