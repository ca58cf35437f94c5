/* Fixed addresses of the bare-metal image, shared by the boot code (assembly),
 * the C side and the host tool (tools/hw-run mirrors the scratch constants). */
#ifndef HW_LAYOUT_H
#define HW_LAYOUT_H

/* Selectors of the GDT in boot.S. */
#define HW_SEL_KCODE 0x08
#define HW_SEL_KDATA 0x10
#define HW_SEL_UDATA 0x1b /* 0x18 | RPL 3 */
#define HW_SEL_UCODE 0x23 /* 0x20 | RPL 3 */
#define HW_SEL_TSS 0x28
#define HW_SEL_LDT 0x38
#define HW_SEL_CODE32 0x48

/* The boot map: PML4[0] identity-maps 0..4 GiB with 2 MiB pages (the 2 MiB page
 * at 4 MiB, holding the ring-3 stubs, is the only user page); PML4[1] maps the
 * same 4 GiB again, supervisor-only, as the HAL's direct-map window. */
#define HW_DIRECT_MAP_BASE 0x8000000000
#define HW_DIRECT_MAP_SIZE 0x100000000
#define HW_USER_PAGE 0x400000
#define HW_USER_STACK 0x5ff000

/* Top-level slots the kernel keeps in every case's root table: 4-level roots
 * copy PML4[0] and PML4[1]; 5-level roots point PML5[0] at the kernel PML4. */
#define HW_KERNEL_SLOTS_4LEVEL 2
#define HW_KERNEL_SLOTS_5LEVEL 1
/* Legacy-mode guests (32-bit and PAE paging, run under SVM): the root keeps
 * PDE 0-1 (32-bit) or PDPTE 0 (PAE) for the image's own page table, which maps
 * only the two pages of 32-bit guest stubs: HW_GUEST32_USER_PAGE (user) and
 * HW_GUEST32_PAGE (supervisor), each at its own physical address. */
#define HW_KERNEL_SLOTS_32BIT 2
#define HW_KERNEL_SLOTS_PAE 1
#define HW_GUEST32_USER_PAGE 0x400000
#define HW_GUEST32_PAGE 0x401000

/* Scratch region: the only memory a case's leaves may map. Every 8-byte word
 * holds HW_TAG(pa): bytes 1:0 are "int $0x80" (so a fetch there comes back),
 * bits 63:16 the word's own physical address (so a read tells where it went). */
#define HW_SCRATCH_BASE 0x2000000
#define HW_SCRATCH_SIZE 0x200000
#define HW_TAG_CODE 0x80cd
#define HW_TAG(pa) (((pa) << 16) | HW_TAG_CODE)
#define HW_WRITE_BYTE 0x5a /* what a write case stores at its GVA */

/* isa-debug-exit (QEMU: -device isa-debug-exit,iobase=0xf4,iosize=0x04):
 * the emulator exits with status (value << 1) | 1. */
#define HW_DEBUG_EXIT_PORT 0xf4
#define HW_EXIT_PASS 0x10 /* status 33 */
#define HW_EXIT_FAIL 0x11 /* status 35: a self-test or an unexpected trap */
#define HW_EXIT_BAD_BLOB 0x12 /* status 37: the case blob was rejected */

#endif
