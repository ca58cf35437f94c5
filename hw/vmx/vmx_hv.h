/* A minimal VMX hypervisor from lib/'s structures: VMXON region, one VMCS,
 * I/O and MSR bitmaps (nestwalk/vmx.h), a 64-bit guest at CPL 0 or 3 whose
 * every exception exits, and one VM entry per call. */
#ifndef HW_VMX_HV_H
#define HW_VMX_HV_H

#include <stdbool.h>
#include <stdint.h>

#include <nestwalk/ept.h>
#include <nestwalk/vmx.h>

/* The guest's general registers, in the order vmx_entry.S saves them. */
struct vmx_gprs {
	uint64_t rax, rbx, rcx, rdx, rsi, rdi, rbp, r8, r9, r10, r11, r12, r13, r14, r15;
};

struct vmx_hv {
	struct nw_vmx_region vmxon, vmcs;
	struct nw_io_bitmap io;
	struct nw_msr_bitmap msr;
	struct nw_ept_caps caps; /* what IA32_VMX_EPT_VPID_CAP and CPUID report */
	uint64_t cr4_before;
	bool on, launched;
	struct vmx_gprs gprs;
};

/* The guest state one VM entry sets: RIP, RAX, RDI, the paging-related bits of
 * CR0, CR4, EFER and RFLAGS (the VMX fixed bits are added), the CPL (0 or 3:
 * CS, SS, DS and ES get that DPL and RPL) and the GDTR. */
struct vmx_entry {
	uint64_t eptp, cr3, rip, rax, rdi;
	uint64_t cr0, cr4, efer, rflags;
	unsigned cpl;
	uint64_t gdtr_base;
	uint16_t gdtr_limit;
};

/* What one VM entry ended with. */
struct vmx_exit {
	uint32_t reason;        /* VMCS exit reason, bit 31 set when the entry failed */
	uint32_t insn_error;    /* VM-instruction error after a VMfailValid */
	uint32_t intr_info, intr_error;
	uint64_t qualification, gpa, gla, rip;
};

/* NULL when VMX is on and the VMCS is ready for vmx_hv_run, else why not
 * (what was set up is undone). */
const char *vmx_hv_start(struct vmx_hv *hv, const struct nw_hal *hal);
/* VMXOFF and every frame back to the HAL. */
void vmx_hv_stop(struct vmx_hv *hv);
/* CR4 bits (of SMEP and SMAP) the CPU cannot give its guest (IA32_VMX_CR4_FIXED1). */
uint64_t vmx_hv_cr4_unsupported(uint64_t cr4);
/* Enters the guest in the state of entry, over entry->eptp (after an
 * all-context INVEPT). false when the entry failed (exit->reason/insn_error). */
bool vmx_hv_run(struct vmx_hv *hv, const struct vmx_entry *entry, struct vmx_exit *exit);

#endif
