/* VMRUN and the guest's access sequences for nested-paging cases. */
#include "contract/layout.h"

	.section .text
	.code64
/* uint64_t hw_svm_enter(uint64_t vmcb_pa, uint64_t gva): runs the guest (with
 * %rdi = gva) until its next #VMEXIT and returns the guest's RDX. VMRUN saves
 * and restores only RAX, RSP and RIP of the host, so the callee-saved
 * registers are kept here. */
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
	mov %rdx, %rax
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

/* The same for a 32-bit guest (legacy paging): EDX:EAX takes the 8-byte word
 * in two loads from the same translation. One set runs at CPL 0 from the
 * supervisor page, one at CPL 3 from the user page (layout.h); VMMCALL and
 * INT n exit to the host at CPL 3 too (APM Vol. 2 §15.9: intercepts are checked
 * before the instruction's own privilege checks), as the CPL-3 cases show. */
	.macro guest32 prefix
	.globl \prefix\()_read, \prefix\()_write, \prefix\()_fetch
\prefix\()_read:
	mov (%edi), %eax
	mov 4(%edi), %edx
	vmmcall
\prefix\()_write:
	movb $HW_WRITE_BYTE, (%edi)
	mov (%edi), %eax
	mov 4(%edi), %edx
	vmmcall
\prefix\()_fetch:
	jmp *%edi
	.endm

	.section .guest32, "ax"
	.code32
	guest32 hw_guest32
	.section .user32, "ax"
	guest32 hw_user32
	.code64

	.section .note.GNU-stack, "", @progbits
