/* Fixed addresses of the AArch64 image (hw/aarch64/), shared by its assembly, its C side, the host's simulator
 * of it and tools/hw-run (which mirrors them). QEMU's virt machine: RAM from 0x40000000 (-m 256M: to
 * 0x50000000), the PL011 at 0x09000000; the image is linked at 0x40080000, where QEMU loads an ELF. */
#ifndef HW_A64_LAYOUT_H
#define HW_A64_LAYOUT_H

#define HW_A64_RAM_BASE 0x40000000
#define HW_A64_LINK_BASE 0x40080000
#define HW_A64_UART 0x09000000

/* The image's own 2 MiB, mapped at its own address (a stage-2 block) in every case, so the guest's code
 * and vectors run at EL1 with stage 1 off (VA = IPA = PA). */
#define HW_A64_IMAGE_BLOCK 0x40000000u
#define HW_A64_IMAGE_BLOCK_SIZE 0x200000
/* Frames the HAL hands out for stage-2 tables (hw/aarch64/frames.c). */
#define HW_A64_POOL_BASE 0x41000000
#define HW_A64_POOL_SIZE 0x1000000
/* Scratch region: the only memory a case's access may reach. Every 8-byte word holds HW_A64_TAG(pa):
 * bits 31:0 "hvc #0" (so a fetch there comes back to EL2), bits 63:32 the word's own physical address
 * (so a load tells where it went). */
#define HW_A64_SCRATCH_BASE 0x42000000
#define HW_A64_SCRATCH_SIZE 0x200000
#define HW_A64_HVC0 0xd4000002u
#define HW_A64_TAG(pa) (((pa) << 32) | HW_A64_HVC0)
#define HW_A64_WRITE_WORD 0x5a5a5a5a5a5a5a5a /* what a write case stores (8 bytes) at its IPA */
/* Where the host has QEMU's loader device put the case blob (-device loader,file=BLOB,addr=...). */
#define HW_A64_BLOB_BASE 0x44000000
#define HW_A64_BLOB_MAX 0x1000000

#endif
