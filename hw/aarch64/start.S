/* Entry at EL2 (QEMU virt with virtualization=on starts an ELF there), the EL2 vectors, the way into a
 * case at EL1 and back, and the guest's code: its three accesses and its EL1 vectors. With the MMU off at
 * EL2 and stage 1 off at EL1, every address here is physical, and the guest reaches this code through the
 * stage-2 block every case maps over the image (contract/a64_layout.h). */
#include "contract/a64_layout.h"

	.section .text.boot, "ax"
	.global _start
_start:
	ldr	x0, =hw_a64_stack_top
	mov	sp, x0
	adr	x0, el2_vectors
	msr	vbar_el2, x0
	isb
	ldr	x0, =hw_a64_bss_start
	ldr	x1, =hw_a64_bss_end
1:	cmp	x0, x1
	b.hs	2f
	str	xzr, [x0], #8
	b	1b
2:	bl	hw_a64_main
3:	wfi
	b	3b

	.text
/* unsigned hw_a64_enter(uint64_t va, uint64_t pc, uint64_t spsr): runs the guest at pc in the PSTATE spsr gives
 * (EL1h or EL0t, interrupts masked), with x0 = va and x1 = HW_A64_WRITE_WORD; returns the kind of the exception
 * that brought it back (0 synchronous, 1 IRQ, 2 FIQ, 3 SError), its x1 in hw_a64_guest_x1. */
	.global hw_a64_enter
hw_a64_enter:
	ldr	x9, =saved
	stp	x19, x20, [x9, #0]
	stp	x21, x22, [x9, #16]
	stp	x23, x24, [x9, #32]
	stp	x25, x26, [x9, #48]
	stp	x27, x28, [x9, #64]
	stp	x29, x30, [x9, #80]
	mov	x10, sp
	str	x10, [x9, #96]
	msr	elr_el2, x1
	msr	spsr_el2, x2
	ldr	x1, =HW_A64_WRITE_WORD
	isb
	eret

/* From a lower EL: the guest's x1 kept, the EL2 context the enter saved restored, the kind returned. */
back:
	ldr	x9, =saved
	ldp	x19, x20, [x9, #0]
	ldp	x21, x22, [x9, #16]
	ldp	x23, x24, [x9, #32]
	ldp	x25, x26, [x9, #48]
	ldp	x27, x28, [x9, #64]
	ldp	x29, x30, [x9, #80]
	ldr	x10, [x9, #96]
	mov	sp, x10
	ret

.macro lower kind
	.balign 0x80
	ldr	x2, =hw_a64_guest_x1
	str	x1, [x2]
	mov	x0, #\kind
	b	back
.endm

.macro fault
	.balign 0x80
	b	hw_a64_el2_fault
.endm

	.balign 0x800
el2_vectors:
	fault			/* current EL, SP0 */
	fault
	fault
	fault
	fault			/* current EL, SPx: the image itself faulted */
	fault
	fault
	fault
	lower 0			/* lower EL, AArch64 */
	lower 1
	lower 2
	lower 3
	fault			/* lower EL, AArch32 */
	fault
	fault
	fault

/* The guest: one access at x0, then back to EL2 with "hvc #0" (at EL0, where hvc is UNDEFINED, "svc #0" to its
 * EL1 vectors). LDTR/STTR for an unprivileged access. A fetch jumps to x0, where the scratch word's "hvc #0"
 * brings it back (at EL0: its UNDEFINED exception, to the EL1 vectors). */
	.global hw_a64_guest_read, hw_a64_guest_write, hw_a64_guest_fetch, hw_a64_el1_vectors
	.global hw_a64_guest_ldtr, hw_a64_guest_sttr, hw_a64_guest_read0, hw_a64_guest_write0
	.global hw_a64_guest_ldtr0, hw_a64_guest_sttr0
hw_a64_guest_read:
	ldr	x1, [x0]
	hvc	#0
hw_a64_guest_write:
	str	x1, [x0]
	hvc	#0
hw_a64_guest_ldtr:
	ldtr	x1, [x0]
	hvc	#0
hw_a64_guest_sttr:
	sttr	x1, [x0]
	hvc	#0
hw_a64_guest_read0:
	ldr	x1, [x0]
	svc	#0
hw_a64_guest_write0:
	str	x1, [x0]
	svc	#0
hw_a64_guest_ldtr0:
	ldtr	x1, [x0]
	svc	#0
hw_a64_guest_sttr0:
	sttr	x1, [x0]
	svc	#0
hw_a64_guest_fetch:
	br	x0

/* Any exception the guest takes at EL1 goes to EL2 as "hvc #1" (ESR_EL1 and FAR_EL1 tell which). */
.macro el1_trap
	.balign 0x80
	hvc	#1
.endm
	.balign 0x800
hw_a64_el1_vectors:
	.rept 16
	el1_trap
	.endr

	.bss
	.balign 16
saved:
	.space 112
	.global hw_a64_guest_x1
hw_a64_guest_x1:
	.space 8
