/* VMCS field encodings (SDM Vol. 3D Appendix B), VMX capability MSRs (Appendix A),
 * the control bits the image uses (Vol. 3C ch. 25) and basic exit reasons
 * (Appendix C). Only what the image touches; each group sorted by encoding. */
#ifndef HW_VMX_VMCS_H
#define HW_VMX_VMCS_H

#include <stdint.h>

/* Capability MSRs (Appendix A) and IA32_FEATURE_CONTROL (Vol. 4 Table 2-2). */
#define VMX_MSR_FEATURE_CONTROL 0x3au
#define VMX_MSR_BASIC 0x480u
#define VMX_MSR_PINBASED_CTLS 0x481u
#define VMX_MSR_PROCBASED_CTLS 0x482u
#define VMX_MSR_EXIT_CTLS 0x483u
#define VMX_MSR_ENTRY_CTLS 0x484u
#define VMX_MSR_CR0_FIXED0 0x486u
#define VMX_MSR_CR0_FIXED1 0x487u
#define VMX_MSR_CR4_FIXED0 0x488u
#define VMX_MSR_CR4_FIXED1 0x489u
#define VMX_MSR_PROCBASED_CTLS2 0x48bu
#define VMX_MSR_EPT_VPID_CAP 0x48cu
#define VMX_MSR_TRUE_PINBASED_CTLS 0x48du
#define VMX_MSR_TRUE_PROCBASED_CTLS 0x48eu
#define VMX_MSR_TRUE_EXIT_CTLS 0x48fu
#define VMX_MSR_TRUE_ENTRY_CTLS 0x490u

#define VMX_FEATURE_LOCK (UINT64_C(1) << 0)
#define VMX_FEATURE_VMXON_OUTSIDE_SMX (UINT64_C(1) << 2)

/* IA32_VMX_BASIC (A.1): bit 55 says the TRUE_*_CTLS MSRs exist. */
#define VMX_BASIC_TRUE_CTLS (UINT64_C(1) << 55)

/* IA32_VMX_EPT_VPID_CAP (A.10). */
#define VMX_EPT_CAP_EXEC_ONLY (UINT64_C(1) << 0)
#define VMX_EPT_CAP_WALK4 (UINT64_C(1) << 6)
#define VMX_EPT_CAP_WALK5 (UINT64_C(1) << 7)
#define VMX_EPT_CAP_WB (UINT64_C(1) << 14)
#define VMX_EPT_CAP_2M (UINT64_C(1) << 16)
#define VMX_EPT_CAP_1G (UINT64_C(1) << 17)
#define VMX_EPT_CAP_INVEPT (UINT64_C(1) << 20)
#define VMX_EPT_CAP_AD (UINT64_C(1) << 21)
#define VMX_EPT_CAP_ADV_EXIT_INFO (UINT64_C(1) << 22)
#define VMX_EPT_CAP_INVEPT_ALL (UINT64_C(1) << 26)

/* CPUID.1:ECX.VMX (Vol. 3C §24.6). */
#define VMX_CPUID1_ECX_VMX (UINT32_C(1) << 5)
#define VMX_CR4_VMXE (UINT64_C(1) << 13)

/* Primary processor-based controls (Table 25-6). */
#define VMX_PROC_HLT (UINT32_C(1) << 7)
#define VMX_PROC_IO_BITMAPS (UINT32_C(1) << 25)
#define VMX_PROC_MSR_BITMAPS (UINT32_C(1) << 28)
#define VMX_PROC_SECONDARY (UINT32_C(1) << 31)
/* Secondary processor-based controls (Table 25-7). */
#define VMX_PROC2_EPT (UINT32_C(1) << 1)
#define VMX_PROC2_MBEC (UINT32_C(1) << 22)
/* VM-exit controls (Table 25-13). */
#define VMX_EXIT_HOST_64 (UINT32_C(1) << 9)
#define VMX_EXIT_LOAD_EFER (UINT32_C(1) << 21)
/* VM-entry controls (Table 25-15). */
#define VMX_ENTRY_GUEST_64 (UINT32_C(1) << 9)
#define VMX_ENTRY_LOAD_EFER (UINT32_C(1) << 15)

/* 16-bit fields (B.1). */
#define VMCS_GUEST_ES_SEL 0x0800u
#define VMCS_GUEST_CS_SEL 0x0802u
#define VMCS_GUEST_SS_SEL 0x0804u
#define VMCS_GUEST_DS_SEL 0x0806u
#define VMCS_GUEST_FS_SEL 0x0808u
#define VMCS_GUEST_GS_SEL 0x080au
#define VMCS_GUEST_LDTR_SEL 0x080cu
#define VMCS_GUEST_TR_SEL 0x080eu
#define VMCS_HOST_ES_SEL 0x0c00u
#define VMCS_HOST_CS_SEL 0x0c02u
#define VMCS_HOST_SS_SEL 0x0c04u
#define VMCS_HOST_DS_SEL 0x0c06u
#define VMCS_HOST_FS_SEL 0x0c08u
#define VMCS_HOST_GS_SEL 0x0c0au
#define VMCS_HOST_TR_SEL 0x0c0cu

/* 64-bit fields (B.2). */
#define VMCS_IO_BITMAP_A 0x2000u
#define VMCS_IO_BITMAP_B 0x2002u
#define VMCS_MSR_BITMAP 0x2004u
#define VMCS_EPTP 0x201au
#define VMCS_GUEST_PHYSICAL_ADDRESS 0x2400u
#define VMCS_LINK_POINTER 0x2800u
#define VMCS_GUEST_DEBUGCTL 0x2802u
#define VMCS_GUEST_EFER 0x2806u
#define VMCS_HOST_EFER 0x2c02u

/* 32-bit fields (B.3). */
#define VMCS_PIN_CTLS 0x4000u
#define VMCS_PROC_CTLS 0x4002u
#define VMCS_EXCEPTION_BITMAP 0x4004u
#define VMCS_PF_ERROR_MASK 0x4006u
#define VMCS_PF_ERROR_MATCH 0x4008u
#define VMCS_CR3_TARGET_COUNT 0x400au
#define VMCS_EXIT_CTLS 0x400cu
#define VMCS_EXIT_MSR_STORE_COUNT 0x400eu
#define VMCS_EXIT_MSR_LOAD_COUNT 0x4010u
#define VMCS_ENTRY_CTLS 0x4012u
#define VMCS_ENTRY_MSR_LOAD_COUNT 0x4014u
#define VMCS_ENTRY_INTR_INFO 0x4016u
#define VMCS_PROC2_CTLS 0x401eu
#define VMCS_INSTRUCTION_ERROR 0x4400u
#define VMCS_EXIT_REASON 0x4402u
#define VMCS_EXIT_INTR_INFO 0x4404u
#define VMCS_EXIT_INTR_ERROR 0x4406u
#define VMCS_GUEST_ES_LIMIT 0x4800u
#define VMCS_GUEST_CS_LIMIT 0x4802u
#define VMCS_GUEST_SS_LIMIT 0x4804u
#define VMCS_GUEST_DS_LIMIT 0x4806u
#define VMCS_GUEST_FS_LIMIT 0x4808u
#define VMCS_GUEST_GS_LIMIT 0x480au
#define VMCS_GUEST_LDTR_LIMIT 0x480cu
#define VMCS_GUEST_TR_LIMIT 0x480eu
#define VMCS_GUEST_GDTR_LIMIT 0x4810u
#define VMCS_GUEST_IDTR_LIMIT 0x4812u
#define VMCS_GUEST_ES_AR 0x4814u
#define VMCS_GUEST_CS_AR 0x4816u
#define VMCS_GUEST_SS_AR 0x4818u
#define VMCS_GUEST_DS_AR 0x481au
#define VMCS_GUEST_FS_AR 0x481cu
#define VMCS_GUEST_GS_AR 0x481eu
#define VMCS_GUEST_LDTR_AR 0x4820u
#define VMCS_GUEST_TR_AR 0x4822u
#define VMCS_GUEST_INTERRUPTIBILITY 0x4824u
#define VMCS_GUEST_ACTIVITY 0x4826u
#define VMCS_GUEST_SYSENTER_CS 0x482au
#define VMCS_HOST_SYSENTER_CS 0x4c00u

/* Natural-width fields (B.4). */
#define VMCS_CR0_MASK 0x6000u
#define VMCS_CR4_MASK 0x6002u
#define VMCS_CR0_SHADOW 0x6004u
#define VMCS_CR4_SHADOW 0x6006u
#define VMCS_EXIT_QUALIFICATION 0x6400u
#define VMCS_GUEST_LINEAR_ADDRESS 0x640au
#define VMCS_GUEST_CR0 0x6800u
#define VMCS_GUEST_CR3 0x6802u
#define VMCS_GUEST_CR4 0x6804u
#define VMCS_GUEST_ES_BASE 0x6806u
#define VMCS_GUEST_CS_BASE 0x6808u
#define VMCS_GUEST_SS_BASE 0x680au
#define VMCS_GUEST_DS_BASE 0x680cu
#define VMCS_GUEST_FS_BASE 0x680eu
#define VMCS_GUEST_GS_BASE 0x6810u
#define VMCS_GUEST_LDTR_BASE 0x6812u
#define VMCS_GUEST_TR_BASE 0x6814u
#define VMCS_GUEST_GDTR_BASE 0x6816u
#define VMCS_GUEST_IDTR_BASE 0x6818u
#define VMCS_GUEST_DR7 0x681au
#define VMCS_GUEST_RSP 0x681cu
#define VMCS_GUEST_RIP 0x681eu
#define VMCS_GUEST_RFLAGS 0x6820u
#define VMCS_GUEST_PENDING_DEBUG 0x6822u
#define VMCS_GUEST_SYSENTER_ESP 0x6824u
#define VMCS_GUEST_SYSENTER_EIP 0x6826u
#define VMCS_HOST_CR0 0x6c00u
#define VMCS_HOST_CR3 0x6c02u
#define VMCS_HOST_CR4 0x6c04u
#define VMCS_HOST_FS_BASE 0x6c06u
#define VMCS_HOST_GS_BASE 0x6c08u
#define VMCS_HOST_TR_BASE 0x6c0au
#define VMCS_HOST_GDTR_BASE 0x6c0cu
#define VMCS_HOST_IDTR_BASE 0x6c0eu
#define VMCS_HOST_SYSENTER_ESP 0x6c10u
#define VMCS_HOST_SYSENTER_EIP 0x6c12u
#define VMCS_HOST_RSP 0x6c14u
#define VMCS_HOST_RIP 0x6c16u

/* Basic exit reasons (Appendix C); bit 31 of the exit-reason field marks a failed VM entry. */
#define VMX_EXIT_EXCEPTION 0u
#define VMX_EXIT_VMCALL 18u
#define VMX_EXIT_EPT_VIOLATION 48u
#define VMX_EXIT_EPT_MISCONFIG 49u
#define VMX_EXIT_ENTRY_FAILED (UINT32_C(1) << 31)

/* VM-exit interruption information (Table 25-19): vector in bits 7:0, valid in bit 31. */
#define VMX_INTR_VECTOR_MASK 0xffu
#define VMX_INTR_VALID (UINT32_C(1) << 31)

/* Guest segment access rights (Table 25-2, the descriptor's type/S/DPL/P/AVL/L/D/G bits). */
#define VMX_AR_CODE64 0xa09bu  /* execute/read accessed, S, P, L, G */
#define VMX_AR_DATA 0xc093u    /* read/write accessed, S, P, D/B, G */
#define VMX_AR_TSS64_BUSY 0x8bu
#define VMX_AR_UNUSABLE (UINT32_C(1) << 16)

#endif
