/* Entry in M-mode at 0x80000000 (QEMU virt with -bios none jumps to the ELF there), the M-mode trap vector, the
 * way into a case in VS-mode and back, and the guest's code: its three accesses. The image runs in M-mode
 * without translation, so every address here is physical; the guest reaches this code through the G-stage
 * superpage every case maps at HW_RV_CODE_GPA (contract/rv_layout.h), with the VS-stage Bare. */
#include "contract/rv_layout.h"

#define MSTATUS_MPP_M (3 << 11)
#define MSTATUS_MPV_SHIFT 39 /* RV64: mstatus.MPV (H extension) */
#define PMPCFG_NAPOT_RWX 0x1f /* R, W, X, A = NAPOT */

	.section .text.boot, "ax"
	.global _start
_start:
	la	sp, hw_rv_stack_top
	la	t0, m_trap
	csrw	mtvec, t0
	/* Lower modes reach nothing without a PMP entry: entry 0, NAPOT over the whole address space. */
	li	t0, -1
	csrw	pmpaddr0, t0
	li	t0, PMPCFG_NAPOT_RWX
	csrw	pmpcfg0, t0
	la	t0, hw_rv_bss_start
	la	t1, hw_rv_bss_end
1:	bgeu	t0, t1, 2f
	sd	zero, 0(t0)
	addi	t0, t0, 8
	j	1b
2:	call	hw_rv_main
3:	wfi
	j	3b

	.text
/* uint64_t hw_rv_enter(uint64_t va, uint64_t pc, uint64_t mpp): runs the guest at pc in VS-mode (mpp
 * MSTATUS_MPP_S) or VU-mode (mpp 0) by MRET with mstatus.MPV 1, with a0 = va and a1 = HW_RV_WRITE_WORD;
 * returns mcause of the trap that brought it back to M-mode, its a1 in hw_rv_guest_a1. */
	.global hw_rv_enter
hw_rv_enter:
	la	t0, saved
	sd	ra, 0(t0)
	sd	sp, 8(t0)
	sd	s0, 16(t0)
	sd	s1, 24(t0)
	sd	s2, 32(t0)
	sd	s3, 40(t0)
	sd	s4, 48(t0)
	sd	s5, 56(t0)
	sd	s6, 64(t0)
	sd	s7, 72(t0)
	sd	s8, 80(t0)
	sd	s9, 88(t0)
	sd	s10, 96(t0)
	sd	s11, 104(t0)
	csrw	mepc, a1
	li	t0, MSTATUS_MPP_M
	csrc	mstatus, t0
	mv	t0, a2
	li	t1, 1
	slli	t1, t1, MSTATUS_MPV_SHIFT
	or	t0, t0, t1
	csrs	mstatus, t0
	li	a1, HW_RV_WRITE_WORD
	mret

/* Every trap comes here. From the guest (mstatus.MPV set): its a1 kept, the context hw_rv_enter saved
 * restored, mcause returned. From M-mode itself: the image faulted; reported on a stack of its own. */
	.balign 4
m_trap:
	csrr	t0, mstatus
	srli	t0, t0, MSTATUS_MPV_SHIFT
	andi	t0, t0, 1
	bnez	t0, 1f
	la	sp, hw_rv_stack_top
	j	hw_rv_m_fault
1:	la	t0, hw_rv_guest_a1
	sd	a1, 0(t0)
	la	t0, saved
	ld	ra, 0(t0)
	ld	sp, 8(t0)
	ld	s0, 16(t0)
	ld	s1, 24(t0)
	ld	s2, 32(t0)
	ld	s3, 40(t0)
	ld	s4, 48(t0)
	ld	s5, 56(t0)
	ld	s6, 64(t0)
	ld	s7, 72(t0)
	ld	s8, 80(t0)
	ld	s9, 88(t0)
	ld	s10, 96(t0)
	ld	s11, 104(t0)
	csrr	a0, mcause
	ret

/* The guest: one access at a0, then back to M-mode with "ecall". A fetch jumps to a0, where the scratch
 * word's "ecall" brings it back. */
	.global hw_rv_guest_read, hw_rv_guest_write, hw_rv_guest_fetch
hw_rv_guest_read:
	ld	a1, 0(a0)
	ecall
hw_rv_guest_write:
	sd	a1, 0(a0)
	ecall
hw_rv_guest_fetch:
	jr	a0

	.bss
	.balign 16
saved:
	.space 112
	.global hw_rv_guest_a1
hw_rv_guest_a1:
	.space 8
