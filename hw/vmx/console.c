#include "console.h"

#include "serial.h"
#include "x86.h"

/* Control register bits: strobe (bit 0) latches the data byte; nINIT (bit 2)
 * high keeps the printer out of reset; SELECT IN (bit 3) selects it. */
#define LPT_STROBE 0x01
#define LPT_IDLE 0x0c

void vmx_log(const char *s, bool serial)
{
	if (serial)
		hw_puts(s);
	for (; *s; s++) {
		hw_outb(VMX_LPT1_DATA, (uint8_t)*s);
		hw_outb(VMX_LPT1_CONTROL, LPT_IDLE | LPT_STROBE);
		hw_outb(VMX_LPT1_CONTROL, LPT_IDLE);
	}
}
