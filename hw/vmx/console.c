#include "console.h"

#include "serial.h"
#include "x86.h"

void vmx_log(const char *s, bool serial)
{
	if (serial)
		hw_puts(s);
	while (*s)
		hw_outb(VMX_E9_PORT, (uint8_t)*s++);
}
