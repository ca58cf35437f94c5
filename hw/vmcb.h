/* The VMCB fields the image uses (AMD APM Vol. 2 Appendix B, Tables B-1 and
 * B-2), as byte offsets into the 4 KiB block; no bitfields. */
#ifndef HW_VMCB_H
#define HW_VMCB_H

#include <stdint.h>

/* Control area (Table B-1). */
#define VMCB_INTERCEPT_EXCEPTIONS 0x008 /* bit n: exception vector n */
#define VMCB_INTERCEPT_MISC1 0x00c
#define VMCB_INTERCEPT_MISC2 0x010
#define VMCB_GUEST_ASID 0x058
#define VMCB_TLB_CONTROL 0x05c
#define VMCB_EXITCODE 0x070
#define VMCB_EXITINFO1 0x078
#define VMCB_EXITINFO2 0x080
#define VMCB_NP_ENABLE 0x090
#define VMCB_N_CR3 0x0b0

#define VMCB_MISC1_INTN (UINT32_C(1) << 21)      /* INTn instructions */
#define VMCB_MISC1_SHUTDOWN (UINT32_C(1) << 31)
#define VMCB_MISC2_VMRUN (UINT32_C(1) << 0)      /* must be set (VMRUN consistency check) */
#define VMCB_MISC2_VMMCALL (UINT32_C(1) << 1)
#define VMCB_TLB_FLUSH_ALL 1

/* Exit codes (Appendix C). */
#define SVM_EXIT_EXCP_BASE 0x040 /* + vector */
#define SVM_EXIT_SWINT 0x075
#define SVM_EXIT_SHUTDOWN 0x07f
#define SVM_EXIT_VMMCALL 0x081
#define SVM_EXIT_NPF 0x400
#define SVM_EXIT_INVALID UINT64_C(0xffffffffffffffff)

/* #NPF EXITINFO1 bits above the #PF-style error code (§15.25.6). */
#define SVM_NPF_FINAL (UINT64_C(1) << 32)
#define SVM_NPF_GUEST_TABLE (UINT64_C(1) << 33)

/* State-save area (Table B-2); segments are {selector u16, attrib u16, limit u32, base u64}. */
#define VMCB_ES 0x400
#define VMCB_CS 0x410
#define VMCB_SS 0x420
#define VMCB_DS 0x430
#define VMCB_GDTR 0x460
#define VMCB_IDTR 0x480
#define VMCB_TR 0x490
#define VMCB_CPL 0x4cb
#define VMCB_EFER 0x4d0
#define VMCB_CR4 0x548
#define VMCB_CR3 0x550
#define VMCB_CR0 0x558
#define VMCB_DR7 0x560
#define VMCB_DR6 0x568
#define VMCB_RFLAGS 0x570
#define VMCB_RIP 0x578
#define VMCB_RSP 0x5d8
#define VMCB_RAX 0x5f8
#define VMCB_G_PAT 0x668

/* Segment attributes: the descriptor's access byte in bits 7:0, AVL/L/DB/G in 11:8. */
#define VMCB_ATTR_CODE64 0xa9b /* present, DPL 0, code, readable, accessed; L, G */
#define VMCB_ATTR_DATA 0xc93   /* present, DPL 0, data, writable, accessed; DB, G */
#define VMCB_ATTR_CODE32 0xc9b /* present, DPL 0, code, readable, accessed; DB, G */
#define VMCB_ATTR_DPL3 0x060   /* ORed in: descriptor privilege level 3 */
#define VMCB_ATTR_TSS64 0x08b  /* present, busy 64-bit TSS */

#define HW_MSR_VM_HSAVE_PA 0xc0010117u
#define HW_EFER_SVME (UINT64_C(1) << 12)

#endif
