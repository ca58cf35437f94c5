/* VMX instructions (SDM Vol. 3C ch. 31) as inline functions; each returns
 * false on VMfailInvalid or VMfailValid (CF or ZF set, §31.2). */
#ifndef HW_VMX_INSN_H
#define HW_VMX_INSN_H

#include <stdbool.h>
#include <stdint.h>

static inline bool vmx_on(uint64_t pa)
{
	bool fail;

	__asm__ volatile("vmxon %1; setna %0" : "=q"(fail) : "m"(pa) : "cc", "memory");
	return !fail;
}

static inline void vmx_off(void) { __asm__ volatile("vmxoff" : : : "cc", "memory"); }

static inline bool vmx_clear(uint64_t pa)
{
	bool fail;

	__asm__ volatile("vmclear %1; setna %0" : "=q"(fail) : "m"(pa) : "cc", "memory");
	return !fail;
}

static inline bool vmx_ptrld(uint64_t pa)
{
	bool fail;

	__asm__ volatile("vmptrld %1; setna %0" : "=q"(fail) : "m"(pa) : "cc", "memory");
	return !fail;
}

static inline bool vmx_write(uint64_t field, uint64_t val)
{
	bool fail;

	__asm__ volatile("vmwrite %2, %1; setna %0" : "=q"(fail) : "r"(field), "rm"(val) : "cc", "memory");
	return !fail;
}

static inline uint64_t vmx_read(uint64_t field)
{
	uint64_t val = 0;

	__asm__ volatile("vmread %1, %0" : "=rm"(val) : "r"(field) : "cc");
	return val;
}

/* INVEPT type 2: every EPTP's guest-physical and combined mappings (§31.3). */
static inline bool vmx_invept_all(void)
{
	struct { uint64_t eptp, reserved; } desc = { 0, 0 };
	bool fail;

	__asm__ volatile("invept %1, %2; setna %0" : "=q"(fail) : "m"(desc), "r"((uint64_t)2) : "cc", "memory");
	return !fail;
}

#endif
