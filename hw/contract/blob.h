/* The case blob: what the host tool (tools/hw-run) passes to an image (x86: a multiboot module; aarch64: a
 * file QEMU's loader device places at HW_A64_BLOB_BASE, a64_case.h; riscv64: likewise at HW_RV_BLOB_BASE,
 * rv_case.h).
 * Little-endian, packed; version 1:
 *   header (16 bytes), then case_count cases, each a case header (24 bytes)
 *   followed by entry_count entries (16 bytes each).
 * A case describes guest page tables as numbered tables (0 is the root) and raw
 * entries; an entry with link = k gets table k-1's physical address ORed into
 * its value. Leaves carry raw physical addresses, which must lie in the scratch
 * region (layout.h) unless they cannot be used (beyond MAXPHYADDR), or be a
 * 1 GiB page at 0 whose offset (from the GVA) lands in the scratch region.
 * The header names the architecture the cases are for (x86_64: 0, what every
 * blob before the field held); an AArch64 case (a64_case.h) and a RISC-V case
 * (rv_case.h) read some case fields their own way. */
#ifndef HW_BLOB_H
#define HW_BLOB_H

#include <stdint.h>

#define HW_BLOB_MAGIC 0x4248574eu /* "NWHB" */
#define HW_BLOB_VERSION 1

#define HW_CASE_WP (1u << 0)   /* CR0.WP */
#define HW_CASE_SMEP (1u << 1) /* CR4.SMEP */
#define HW_CASE_SMAP (1u << 2) /* CR4.SMAP */
#define HW_CASE_PKE (1u << 3)  /* CR4.PKE, PKRU from the case */
#define HW_CASE_NXE (1u << 4)  /* EFER.NXE */
#define HW_CASE_AC (1u << 5)   /* RFLAGS.AC during the access */
#define HW_CASE_LA57 (1u << 6) /* 5-level paging (CR4.LA57) */
#define HW_CASE_NPT (1u << 7)  /* run as an SVM guest with nested paging (CPL 0, 4-level, no PKE) */
/* Legacy paging modes (version 1, added later: older blobs never set them).
 * Such a case always runs as a 32-bit SVM guest (runner.c says why) over the
 * identity nested map; HW_CASE_NPT on top allows nested-paging edits. CPL 0 or
 * 3, no implicit access, no PKE or LA57; GVA below 4 GiB. */
#define HW_CASE_PAE (1u << 8)      /* PAE paging (CR4.PAE, EFER.LME=0): table 0 is the 4-entry PDPT */
#define HW_CASE_LEGACY32 (1u << 9) /* 32-bit paging: 4-byte entries, value bits 31:0 */
#define HW_CASE_PSE (1u << 10)     /* CR4.PSE (4 MiB pages, PSE-36); only with HW_CASE_LEGACY32 */
#define HW_CASE_FLAGS_ALL 0x7ffu

/* Nested-paging edits: entries with table HW_NPT_EDIT_TABLE, after all table
 * entries. They change the 4 KiB nested page of a guest-physical address — the
 * one in value bits 51:12, or with link = k that of table k-1 — starting from an
 * identity map of 0..4 GiB (writable, executable). index says how. */
#define HW_NPT_EDIT_TABLE 0xff
#define HW_NPT_EDIT_UNMAP 0 /* not present */
#define HW_NPT_EDIT_FLAGS 1 /* leaf flags from value bits 11:0 and 63 (P and U are always set) */
/* Added later, same version: */
#define HW_NPT_EDIT_FLAGS_2M 2 /* the whole 2 MiB nested page as one leaf, flags as above; no link: scratch only */
/* Set bit (value bits 5:0) in the nested leaf mapping the page, e.g. an address
 * bit: a guest table's page gets a 4 KiB leaf first; a scratch page (no link)
 * keeps a 2 MiB leaf (the bit then covers the whole 2 MiB). */
#define HW_NPT_EDIT_RSVD 3

enum hw_access {
	HW_ACCESS_READ = 0,     /* 8-byte load */
	HW_ACCESS_WRITE = 1,    /* 1-byte store of HW_WRITE_BYTE */
	HW_ACCESS_FETCH = 2,    /* jump to the GVA */
	HW_ACCESS_IMPLICIT = 3, /* descriptor-table read: an LDT based at the GVA, entry 0 loaded into FS */
};

#define HW_MAX_TABLES 16
#define HW_MAX_ENTRIES 64

struct hw_blob_header {
	uint32_t magic;
	uint16_t version;
	uint16_t header_size;
	uint32_t case_count;
	uint32_t arch; /* enum hw_blob_arch */
} __attribute__((packed));

enum hw_blob_arch {
	HW_BLOB_ARCH_X86_64 = 0,
	HW_BLOB_ARCH_AARCH64 = 1,
	HW_BLOB_ARCH_RISCV64 = 2,
};

struct hw_blob_case {
	uint32_t id;
	uint32_t flags;
	union {
		uint32_t pkru;
		uint32_t vtcr; /* aarch64: VTCR_EL2 (bits 63:32 are RES0) */
		uint32_t mode; /* riscv64: hgatp.MODE (rv_case.h) */
	};
	uint8_t cpl;    /* 0 or 3; aarch64: the Exception level of the access, 1; riscv64: 1, VS-mode */
	uint8_t access; /* enum hw_access */
	uint8_t table_count;
	uint8_t entry_count;
	uint64_t gva;   /* aarch64: the IPA (stage 1 off: VA = IPA); riscv64: the GPA (vsatp Bare) */
} __attribute__((packed));

struct hw_blob_entry {
	uint8_t table;
	uint8_t link; /* 0: none; k: table k-1; aarch64, riscv64: HW_CASE_PAGE_LINK + k a page (case_tree.h) */
	uint16_t index;
	uint32_t reserved;
	uint64_t value;
} __attribute__((packed));

_Static_assert(sizeof(struct hw_blob_header) == 16, "blob header layout");
_Static_assert(sizeof(struct hw_blob_case) == 24, "case header layout");
_Static_assert(sizeof(struct hw_blob_entry) == 16, "entry layout");

#endif
