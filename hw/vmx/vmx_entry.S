/* VM entry and exit (SDM Vol. 3C ch. 27-28) and the guest's access stubs.
 *
 * int hw_vmx_enter(struct vmx_gprs *gprs, int launched): loads the guest's
 * general registers from gprs, VMLAUNCH (launched = 0) or VMRESUME; after the
 * VM exit the guest's registers are back in gprs and it returns 0. A failed
 * instruction returns 1 (VMfailInvalid) or 2 (VMfailValid). HOST_RSP is
 * written here, so the exit lands on this very frame. */
#include "contract/guest_stubs.h"

#define VMCS_HOST_RSP 0x6c14

	.section .text
	.code64
	.globl hw_vmx_enter, hw_vmx_exit
hw_vmx_enter:
	push %rbx
	push %rbp
	push %r12
	push %r13
	push %r14
	push %r15
	push %rdi
	mov $VMCS_HOST_RSP, %eax
	vmwrite %rsp, %rax
	jbe 3f
	test %esi, %esi
	mov 0(%rdi), %rax
	mov 8(%rdi), %rbx
	mov 16(%rdi), %rcx
	mov 24(%rdi), %rdx
	mov 32(%rdi), %rsi
	mov 48(%rdi), %rbp
	mov 56(%rdi), %r8
	mov 64(%rdi), %r9
	mov 72(%rdi), %r10
	mov 80(%rdi), %r11
	mov 88(%rdi), %r12
	mov 96(%rdi), %r13
	mov 104(%rdi), %r14
	mov 112(%rdi), %r15
	mov 40(%rdi), %rdi
	jnz 1f
	vmlaunch
	jmp 3f
1:	vmresume
3:	mov $1, %eax			/* CF: VMfailInvalid */
	jc 4f
	mov $2, %eax			/* ZF: VMfailValid */
4:	pop %rdi
	pop %r15
	pop %r14
	pop %r13
	pop %r12
	pop %rbp
	pop %rbx
	ret

hw_vmx_exit:
	push %rdi
	mov 8(%rsp), %rdi
	mov %rax, 0(%rdi)
	mov %rbx, 8(%rdi)
	mov %rcx, 16(%rdi)
	mov %rdx, 24(%rdi)
	mov %rsi, 32(%rdi)
	mov %rbp, 48(%rdi)
	mov %r8, 56(%rdi)
	mov %r9, 64(%rdi)
	mov %r10, 72(%rdi)
	mov %r11, 80(%rdi)
	mov %r12, 88(%rdi)
	mov %r13, 96(%rdi)
	mov %r14, 104(%rdi)
	mov %r15, 112(%rdi)
	pop %rax
	mov %rax, 40(%rdi)
	xor %eax, %eax
	jmp 4b

/* The guest's code page: one stub per access kind at the offsets ept_case.h
 * names, each ending in VMCALL (a fetch ends at the target's "int $0x80",
 * which faults on the guest's empty IDT; the implicit read loads DS with
 * VMX_IMPLICIT_SEL, held in RAX, from a GDT whose entry 1 is the target, and
 * the scratch tag there is a system descriptor, so the load ends in #GP with
 * the selector). Mapped into every case's guest. */
	.section .text.vmx_guest, "ax"
	.balign 4096
	.globl hw_vmx_guest_page
hw_vmx_guest_page:
	.org hw_vmx_guest_page + VMX_STUB_READ
	mov (%rdi), %rax
	vmcall
	.org hw_vmx_guest_page + VMX_STUB_WRITE
	movb $VMX_WRITE_BYTE, (%rdi)
	mov (%rdi), %rax
	vmcall
	.org hw_vmx_guest_page + VMX_STUB_FETCH
	jmp *%rdi
	.org hw_vmx_guest_page + VMX_STUB_IMPLICIT
	mov %eax, %ds
	vmcall
	.balign 4096, 0xcc

	.section .note.GNU-stack, "", @progbits
