/* The case log: the first parallel port (LPT1), which Bochs writes to a file
 * (parport1: file=...) byte by byte as the strobe rises: no UART timing, so
 * thousands of lines cost little, and nothing shares the channel (Bochs's
 * port 0xE9 goes to its standard output, among its terminal display's). */
#ifndef HW_VMX_CONSOLE_H
#define HW_VMX_CONSOLE_H

#include <stdbool.h>

#define VMX_LPT1_DATA 0x378
#define VMX_LPT1_CONTROL 0x37a

/* Writes s to LPT1, and to COM1 as well when serial is true. */
void vmx_log(const char *s, bool serial);

#endif
