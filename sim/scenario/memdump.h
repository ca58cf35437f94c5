/* QEMU `dump-guest-memory` ELF cores as guest memory: the file is mapped
 * (private, copy-on-write: a walk may set A/D flags, the file never changes),
 * each PT_LOAD is a guest-physical range at p_paddr, and the "QEMU" note of
 * the first CPU gives CR0-CR4 and the CS descriptor's flags (QEMUCPUState,
 * QEMU target/i386/arch_dump.c). EFER is not in a dump.
 * Nothing is copied: a 285 MB dump costs the pages a walk touches. */
#ifndef NESTWALK_SIM_MEMDUMP_H
#define NESTWALK_SIM_MEMDUMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <nestwalk/hal.h>

/* CS.L in cs_flags (QEMU's DESC_L_MASK): a 64-bit code segment, which exists only
 * in IA-32e mode (SDM Vol. 3A §3.4.5, §5.2.1). */
#define NW_MEMDUMP_CS_L (UINT32_C(1) << 21)

/* One guest-physical range of the dump. */
struct nw_memdump_range {
	uint64_t gpa;
	uint64_t size;    /* bytes the file holds (p_filesz) */
	uint8_t *data;    /* inside the mapping, or a copy (see copied) */
	uint64_t offset;  /* p_offset, for messages */
	bool copied;      /* data is an aligned private copy: the file's bytes sat at another address modulo 8 */
};

struct nw_memdump {
	uint8_t *map;
	size_t map_size;
	struct nw_memdump_range *ranges; /* sorted by gpa, never overlapping */
	size_t range_count, range_cap;   /* range_cap: room for ranges (grow.h) */
	bool has_cpu;        /* a QEMU note with control registers was found */
	uint64_t cr[5];      /* CR0..CR4 of the first CPU */
	uint32_t cs_flags;   /* its CS attributes as QEMU keeps them: the descriptor's high dword (type at bit 8) */
	char warning[256];   /* a tolerated oddity (e.g. QEMU 7.2's e_ehsize = 8), "" when none */
	struct nw_hal hal;   /* host memory = the dump: GPA = HPA, no frames to allocate */
	bool borrowed;       /* map is the caller's buffer (nw_memdump_open_buffer): close leaves it */
};

/* 0 on success; -1 with "PATH: offset 0x..: what" in err and nothing left
 * open. */
int nw_memdump_open(const char *path, struct nw_memdump *dump, char *err, size_t errlen);
/* The same for a dump already in memory: size bytes at data, called name in
 * messages. The dump uses data in place (walks may write A/D flags into it):
 * it must stay valid and writable until nw_memdump_close, which leaves it. */
int nw_memdump_open_buffer(const char *name, void *data, size_t size, struct nw_memdump *dump, char *err,
			   size_t errlen);
void nw_memdump_close(struct nw_memdump *dump);

/* The bytes at gpa .. gpa+len when one range holds them all, else NULL. */
void *nw_memdump_ptr(const struct nw_memdump *dump, uint64_t gpa, uint64_t len);

#endif
