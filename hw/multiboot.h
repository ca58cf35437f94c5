/* The Multiboot (v1) information structure, as far as the image reads it
 * (Multiboot Specification 0.6.96, §3.3). */
#ifndef HW_MULTIBOOT_H
#define HW_MULTIBOOT_H

#include <stdint.h>

#define MB_INFO_MODS (1u << 3)
#define MB_INFO_MMAP (1u << 6)
#define MB_MMAP_AVAILABLE 1u

struct mb_info {
	uint32_t flags;
	uint32_t mem_lower, mem_upper;
	uint32_t boot_device;
	uint32_t cmdline;
	uint32_t mods_count, mods_addr;
	uint32_t syms[4];
	uint32_t mmap_length, mmap_addr;
} __attribute__((packed));

struct mb_module {
	uint32_t start, end;
	uint32_t cmdline;
	uint32_t reserved;
} __attribute__((packed));

/* size counts the bytes after itself, so entries may be longer than this. */
struct mb_mmap_entry {
	uint32_t size;
	uint64_t base, length;
	uint32_t type;
} __attribute__((packed));

#endif
