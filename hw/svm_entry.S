/* VMRUN and the guest's access sequences for nested-paging cases. */
#include "layout.h"

	.section .text
	.code64
/* void hw_svm_enter(uint64_t vmcb_pa, uint64_t gva): runs the guest (with %rdi =
 * gva) until its next #VMEXIT. VMRUN saves and restores only RAX, RSP and RIP
 * of the host, so the callee-saved registers are kept here. */
	.globl hw_svm_enter
hw_svm_enter:
	push %rbx
	push %rbp
	push %r12
	push %r13
	push %r14
	push %r15
	mov %rdi, %rax
	mov %rsi, %rdi
	clgi
	vmrun %rax
	stgi
	pop %r15
	pop %r14
	pop %r13
	pop %r12
	pop %rbp
	pop %rbx
	ret

/* Guest code (CPL 0, reached through the identity nested map). A completed
 * read or write ends in VMMCALL with the word at the GVA in RAX; a fetch lands
 * on the scratch word's int $0x80, which the VMCB intercepts. */
	.globl hw_guest_read, hw_guest_write, hw_guest_fetch
hw_guest_read:
	mov (%rdi), %rax
	vmmcall
hw_guest_write:
	movb $HW_WRITE_BYTE, (%rdi)
	mov (%rdi), %rax
	vmmcall
hw_guest_fetch:
	jmp *%rdi

	.section .note.GNU-stack, "", @progbits
