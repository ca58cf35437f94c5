/* Privileged x86 instructions the image needs, as inline functions. */
#ifndef HW_X86_H
#define HW_X86_H

#include <stdint.h>

#define HW_MSR_EFER 0xc0000080u

static inline void hw_outb(uint16_t port, uint8_t val) { __asm__ volatile("outb %0, %1" : : "a"(val), "Nd"(port)); }
static inline void hw_outl(uint16_t port, uint32_t val) { __asm__ volatile("outl %0, %1" : : "a"(val), "Nd"(port)); }

static inline uint8_t hw_inb(uint16_t port)
{
	uint8_t val;

	__asm__ volatile("inb %1, %0" : "=a"(val) : "Nd"(port));
	return val;
}

static inline uint64_t hw_read_cr0(void)
{
	uint64_t val;

	__asm__ volatile("mov %%cr0, %0" : "=r"(val));
	return val;
}

static inline uint64_t hw_read_cr2(void)
{
	uint64_t val;

	__asm__ volatile("mov %%cr2, %0" : "=r"(val));
	return val;
}

static inline uint64_t hw_read_cr3(void)
{
	uint64_t val;

	__asm__ volatile("mov %%cr3, %0" : "=r"(val));
	return val;
}

static inline uint64_t hw_read_cr4(void)
{
	uint64_t val;

	__asm__ volatile("mov %%cr4, %0" : "=r"(val));
	return val;
}

static inline void hw_write_cr0(uint64_t val) { __asm__ volatile("mov %0, %%cr0" : : "r"(val) : "memory"); }
static inline void hw_write_cr3(uint64_t val) { __asm__ volatile("mov %0, %%cr3" : : "r"(val) : "memory"); }
static inline void hw_write_cr4(uint64_t val) { __asm__ volatile("mov %0, %%cr4" : : "r"(val) : "memory"); }

static inline uint64_t hw_rdmsr(uint32_t msr)
{
	uint32_t lo, hi;

	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((uint64_t)hi << 32) | lo;
}

static inline void hw_wrmsr(uint32_t msr, uint64_t val)
{
	__asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)val), "d"((uint32_t)(val >> 32)) : "memory");
}

static inline void hw_cpuid(uint32_t leaf, uint32_t sub, uint32_t regs[4])
{
	__asm__ volatile("cpuid" : "=a"(regs[0]), "=b"(regs[1]), "=c"(regs[2]), "=d"(regs[3]) : "a"(leaf), "c"(sub));
}

/* WRPKRU needs CR4.PKE (else #UD); ECX and EDX must be zero. */
static inline void hw_wrpkru(uint32_t pkru) { __asm__ volatile("wrpkru" : : "a"(pkru), "c"(0), "d"(0) : "memory"); }

static inline uint64_t hw_rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

static inline void hw_lldt(uint16_t sel) { __asm__ volatile("lldt %0" : : "r"(sel) : "memory"); }
static inline void hw_ltr(uint16_t sel) { __asm__ volatile("ltr %0" : : "r"(sel) : "memory"); }
static inline void hw_clear_fs(void) { __asm__ volatile("mov %0, %%fs" : : "r"(0)); }

#endif
