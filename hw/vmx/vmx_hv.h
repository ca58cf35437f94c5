/* A minimal VMX hypervisor from lib/'s structures: VMXON region, one VMCS,
 * I/O and MSR bitmaps (nestwalk/vmx.h), a 64-bit guest at CPL 0 whose every
 * exception exits, and one VM entry per call. */
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
/* Enters the guest at rip with CR3 = cr3 and RDI = rdi over eptp (after an
 * all-context INVEPT). false when the entry failed (exit->reason/insn_error). */
bool vmx_hv_run(struct vmx_hv *hv, uint64_t eptp, uint64_t cr3, uint64_t rip, uint64_t rdi, struct vmx_exit *exit);

#endif
