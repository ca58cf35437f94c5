/* Fixed addresses of the RISC-V image (hw/riscv64/), shared by its assembly, its C side, the host's simulator
 * of it and tools/hw-run (which mirrors them). QEMU's virt machine with -bios none: RAM from 0x80000000 (-m 256M:
 * to 0x90000000), where the image is linked and entered in M-mode; the ns16550 UART at 0x10000000, the SiFive
 * test device (the exit) at 0x100000. */
#ifndef HW_RV_LAYOUT_H
#define HW_RV_LAYOUT_H

#define HW_RV_RAM_BASE 0x80000000
#define HW_RV_UART 0x10000000
#define HW_RV_TEST_DEVICE 0x100000

/* The image's own 2 MiB, mapped by a G-stage superpage in every case at HW_RV_CODE_GPA, so the guest runs
 * its code in VS-mode with the VS-stage Bare (VA = GPA). Not at its own address: the hand cases' GPAs near
 * 0x80000000 keep Sv39x4 root slot 2 for themselves (the image's is slot 3). */
#define HW_RV_IMAGE_BASE 0x80000000
#define HW_RV_IMAGE_SIZE 0x200000
#define HW_RV_CODE_GPA 0xc0000000
/* Frames the HAL hands out for G-stage tables (hw/frame_pool.c). */
#define HW_RV_POOL_BASE 0x81000000
#define HW_RV_POOL_SIZE 0x1000000
/* Scratch region: the only memory a case's access may reach. Every 8-byte word holds HW_RV_TAG(pa): bits
 * 31:0 "ecall" (so a fetch there comes back to M-mode), bits 63:32 the word's own physical address (so a
 * load tells where it went). */
#define HW_RV_SCRATCH_BASE 0x82000000
#define HW_RV_SCRATCH_SIZE 0x200000
#define HW_RV_ECALL 0x00000073u
#define HW_RV_TAG(pa) (((pa) << 32) | HW_RV_ECALL)
#define HW_RV_WRITE_WORD 0x5a5a5a5a5a5a5a5a /* what a write case stores (8 bytes) at its GPA */
/* A table address at or above this has no memory behind it on the virt machine (RAM ends at 0x90000000, the
 * high PCIe window below 2^36): a pointer there may stay unlinked, its read finding nothing. */
#define HW_RV_NO_MEMORY (1ull << 40)
/* Where the host has QEMU's loader device put the case blob (-device loader,file=BLOB,addr=...). */
#define HW_RV_BLOB_BASE 0x84000000
#define HW_RV_BLOB_MAX 0x1000000

#endif
