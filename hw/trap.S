/* Exception entry stubs, the recovery context (a setjmp/longjmp pair for traps),
 * and the instruction sequences that perform one case's access at CPL 0 or 3. */
#include "contract/layout.h"

/* Vectors for which the CPU pushes an error code (SDM Vol. 3A Table 6-1). */
#define HAS_ERR(v) ((v) == 8 || ((v) >= 10 && (v) <= 14) || (v) == 17 || (v) == 21 || (v) == 29 || (v) == 30)

	.macro stub vec
	.balign 16
trap_\vec:
	.if !HAS_ERR(\vec)
	pushq $0
	.endif
	pushq $\vec
	jmp trap_common
	.endm

	.section .text
	.code64
	.irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,128
	stub \v
	.endr

/* Frame for hw_trap (struct hw_trap_frame): 15 registers, vector, error code,
 * then what the CPU pushed. 7 + 15 quadwords keep %rsp 16-byte aligned. */
trap_common:
	push %rax
	push %rbx
	push %rcx
	push %rdx
	push %rsi
	push %rdi
	push %rbp
	push %r8
	push %r9
	push %r10
	push %r11
	push %r12
	push %r13
	push %r14
	push %r15
	mov %rsp, %rdi
	call hw_trap
	pop %r15
	pop %r14
	pop %r13
	pop %r12
	pop %r11
	pop %r10
	pop %r9
	pop %r8
	pop %rbp
	pop %rdi
	pop %rsi
	pop %rdx
	pop %rcx
	pop %rbx
	pop %rax
	add $16, %rsp
	iretq

	.section .rodata
	.balign 8
	.globl hw_trap_stubs
hw_trap_stubs:
	.irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	.quad trap_\v
	.endr
	.globl hw_trap_stub_syscall
hw_trap_stub_syscall:
	.quad trap_128

/* struct hw_ctx: rbx rbp r12 r13 r14 r15 rsp rip rflags */
	.section .text
	.globl hw_ctx_save
hw_ctx_save:
	mov %rbx, 0(%rdi)
	mov %rbp, 8(%rdi)
	mov %r12, 16(%rdi)
	mov %r13, 24(%rdi)
	mov %r14, 32(%rdi)
	mov %r15, 40(%rdi)
	lea 8(%rsp), %rax
	mov %rax, 48(%rdi)
	mov (%rsp), %rax
	mov %rax, 56(%rdi)
	pushfq
	pop %rax
	mov %rax, 64(%rdi)
	xor %eax, %eax
	ret

	.globl hw_ctx_resume
hw_ctx_resume:
	mov 0(%rdi), %rbx
	mov 8(%rdi), %rbp
	mov 16(%rdi), %r12
	mov 24(%rdi), %r13
	mov 32(%rdi), %r14
	mov 40(%rdi), %r15
	mov 48(%rdi), %rsp
	pushq 64(%rdi)
	popfq
	mov %rsi, %rax
	jmp *56(%rdi)

/* void hw_enter_user(uint64_t rip, uint64_t gva, uint64_t rflags): iretq to CPL 3
 * at rip with %rdi = gva; the stub comes back through int $0x80 or a fault. */
	.globl hw_enter_user
hw_enter_user:
	pushq $HW_SEL_UDATA
	pushq $HW_USER_STACK
	push %rdx
	pushq $HW_SEL_UCODE
	push %rdi
	mov %rsi, %rdi
	iretq

/* Kernel-mode accesses: void hw_kernel_<kind>(uint64_t gva, uint64_t rflags).
 * RFLAGS (AC) is loaded first; each ends in int $0x80, so none returns. */
	.globl hw_kernel_read, hw_kernel_write, hw_kernel_fetch, hw_kernel_implicit
hw_kernel_read:
	push %rsi
	popfq
	mov (%rdi), %rax
	int $0x80
hw_kernel_write:
	push %rsi
	popfq
	movb $HW_WRITE_BYTE, (%rdi)
	int $0x80
hw_kernel_fetch:
	push %rsi
	popfq
	jmp *%rdi			/* the scratch word there is int $0x80 */
hw_kernel_implicit:
	push %rsi
	popfq
	mov $0x4, %eax			/* LDT entry 0, RPL 0: reading it is an implicit supervisor access */
	mov %ax, %fs
	int $0x80

/* The same accesses at CPL 3, alone in the user page. */
	.section .user, "ax"
	.globl hw_user_read, hw_user_write, hw_user_fetch, hw_user_implicit
hw_user_read:
	mov (%rdi), %rax
	int $0x80
hw_user_write:
	movb $HW_WRITE_BYTE, (%rdi)
	int $0x80
hw_user_fetch:
	jmp *%rdi
hw_user_implicit:
	mov $0x7, %eax			/* LDT entry 0, RPL 3 */
	mov %ax, %fs
	int $0x80

	.section .note.GNU-stack, "", @progbits
