/* The console on QEMU virt's PL011 and the exit through Arm semihosting (QEMU's -semihosting): SYS_EXIT with
 * ADP_Stopped_ApplicationExit passes the status through, (code << 1) | 1 as the x86 image's isa-debug-exit
 * gives, so the host reads one set of statuses (contract/layout.h). */
#include <stdint.h>

#include "contract/a64_layout.h"
#include "serial.h"

#define UART_DR 0x00
#define UART_FR 0x18
#define UART_FR_TXFF (1u << 5)

#define SYS_EXIT 0x18
#define ADP_STOPPED_APPLICATION_EXIT 0x20026

static volatile uint32_t *uart(unsigned off)
{
	return (volatile uint32_t *)(uintptr_t)(HW_A64_UART + off);
}

void hw_serial_init(void)
{
}

void hw_putc(char c)
{
	while (*uart(UART_FR) & UART_FR_TXFF)
		;
	*uart(UART_DR) = (uint8_t)c;
}

_Noreturn void hw_exit(uint32_t code)
{
	uint64_t block[2] = { ADP_STOPPED_APPLICATION_EXIT, ((uint64_t)code << 1) | 1 };
	register uint64_t op __asm__("x0") = SYS_EXIT;
	register uint64_t arg __asm__("x1") = (uint64_t)(uintptr_t)block;

	__asm__ volatile("hlt #0xf000" : : "r"(op), "r"(arg) : "memory");
	for (;;)
		__asm__ volatile("wfi");
}
