/* Multiboot (v1) entry: 32-bit protected mode to 64-bit long mode with an
 * identity map and a direct map (layout.h), then hw_main(multiboot info). */
#include "contract/layout.h"

#define MB_MAGIC 0x1badb002
#define MB_FLAGS 0x3 /* bit 0: page-align modules; bit 1: memory map wanted */
#define MB_BOOT_MAGIC 0x2badb002

#define PTE_P 0x1
#define PTE_RW 0x2
#define PTE_US 0x4
#define PTE_PS 0x80

	.section .multiboot, "a"
	.balign 4
	.long MB_MAGIC, MB_FLAGS, -(MB_MAGIC + MB_FLAGS)

	.section .bss
	.balign 4096
	.globl hw_boot_pml4, hw_boot_pdpt
hw_boot_pml4:	.skip 4096
hw_boot_pdpt:	.skip 4096
hw_boot_pd:	.skip 4 * 4096
	.globl hw_boot_stack_top
hw_boot_stack:	.skip 32768
hw_boot_stack_top:

	.section .data
	.balign 16
	.globl hw_gdt
hw_gdt:
	.quad 0
	.quad 0x00af9a000000ffff	/* 0x08 kernel code, 64-bit */
	.quad 0x00cf92000000ffff	/* 0x10 kernel data */
	.quad 0x00cff2000000ffff	/* 0x18 user data, DPL 3 */
	.quad 0x00affa000000ffff	/* 0x20 user code, 64-bit, DPL 3 */
	.quad 0, 0			/* 0x28 TSS, filled in by gdt.c */
	.quad 0, 0			/* 0x38 LDT, filled in per case */
	.quad 0x00cf9a000000ffff	/* 0x48 kernel code, 32-bit (paging-mode switch) */
hw_gdt_end:
gdt_ptr:
	.word hw_gdt_end - hw_gdt - 1
	.quad hw_gdt

	.section .text
	.code32
	.globl hw_start
hw_start:
	cli
	cld
	mov $hw_boot_stack_top, %esp
	cmp $MB_BOOT_MAGIC, %eax
	jne hang32
	mov %ebx, %esi			/* multiboot info, kept until hw_main */

	/* .bss is not part of the loaded file: clear it. */
	mov $hw_bss_start, %edi
	mov $hw_bss_end, %ecx
	sub %edi, %ecx
	shr $2, %ecx
	xor %eax, %eax
	rep stosl

	/* 2048 PDEs of 2 MiB: 0..4 GiB; only the page at HW_USER_PAGE is user-accessible. */
	mov $hw_boot_pd, %edi
	xor %ecx, %ecx
1:	mov %ecx, %eax
	shl $21, %eax
	or $(PTE_P | PTE_RW | PTE_PS), %eax
	cmp $(HW_USER_PAGE >> 21), %ecx
	jne 2f
	or $PTE_US, %eax
2:	mov %eax, (%edi, %ecx, 8)
	inc %ecx
	cmp $2048, %ecx
	jb 1b

	/* Four PDPTEs, user-accessible so the user page's path allows CPL 3. */
	mov $hw_boot_pdpt, %edi
	mov $(hw_boot_pd + PTE_P + PTE_RW + PTE_US), %eax
	xor %ecx, %ecx
3:	mov %eax, (%edi, %ecx, 8)
	add $4096, %eax
	inc %ecx
	cmp $4, %ecx
	jb 3b

	mov $hw_boot_pml4, %edi
	movl $(hw_boot_pdpt + PTE_P + PTE_RW + PTE_US), (%edi)
	movl $(hw_boot_pdpt + PTE_P + PTE_RW), 8(%edi)	/* the direct map, supervisor only */

	mov %cr4, %eax
	or $0x20, %eax			/* PAE */
	mov %eax, %cr4
	mov $hw_boot_pml4, %eax
	mov %eax, %cr3
	mov $0xc0000080, %ecx		/* IA32_EFER */
	rdmsr
	or $0x100, %eax			/* LME */
	wrmsr
	mov %cr0, %eax
	or $0x80000001, %eax		/* PG | PE */
	mov %eax, %cr0
	lgdt gdt_ptr
	ljmp $HW_SEL_KCODE, $long_entry

hang32:
	hlt
	jmp hang32

	.code64
long_entry:
	mov $HW_SEL_KDATA, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %ss
	xor %eax, %eax
	mov %ax, %fs
	mov %ax, %gs
	lgdt gdt_ptr			/* again, now with the 64-bit base */
	mov $hw_boot_stack_top, %rsp
	mov %esi, %edi
	call hw_main
4:	hlt
	jmp 4b

/* void hw_paging_switch(uint64_t cr3, uint64_t cr4): CR4.LA57 may only change
 * with paging off (SDM Vol. 3A §4.1.1), so drop to compatibility mode, turn
 * paging off (leaving IA-32e mode), load CR4 and CR3, and turn it on again.
 * Runs from the identity map; the stack and both roots lie below 4 GiB. */
	.globl hw_paging_switch
hw_paging_switch:
	lea 5f(%rip), %rax
	pushq $HW_SEL_CODE32
	push %rax
	lretq
	.code32
5:	mov %cr0, %eax
	and $0x7fffffff, %eax
	mov %eax, %cr0
	mov %esi, %cr4
	mov %edi, %cr3
	or $0x80000000, %eax
	mov %eax, %cr0
	ljmp $HW_SEL_KCODE, $6f
	.code64
6:	mov $HW_SEL_KDATA, %ax
	mov %ax, %ss
	ret

	.section .note.GNU-stack, "", @progbits
