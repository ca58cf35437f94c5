/* EPT cases: the blob the host tool passes to the VMX image (a multiboot
 * module), how one case becomes a guest (its own 4-level page tables, its
 * control registers and CPL, and an EPT from lib/), and the one-line outcome
 * both the image and the simulator print for it. Freestanding, so the image and
 * the host program share it.
 *
 * Blob, little-endian and packed, version 2: a header (16 bytes: magic,
 * version, header_size, case_count, case_size, edit_size; a reader refuses
 * sizes it does not know), then case_count cases, each a case header
 * (case_size = 72 bytes) followed by edit_count edits (edit_size = 24 bytes
 * each). Version 1 had 64-byte cases (no guest_level, cpl, guest_flags) and a
 * reserved word where the two sizes are.
 *
 * Guest-physical layout of every case: the guest code page at
 * VMX_GUEST_CODE_GPA (mapped at the same linear address, user-mode accessible
 * when the case runs at CPL 3), the seven guest tables right after it, all
 * 4 KiB EPT pages in EPT PML4 slot 0; the case's target in EPT PML4 slot 1
 * (GPA 512 GiB..1 TiB) and at linear addresses in guest PML4 slot 1, so
 * nothing else shares the target's entries.
 *
 * The guest leaf is at guest_level: 1 a 4 KiB PTE, 2 a 2 MiB PDE, 3 a 1 GiB
 * PDPTE (PS is added). It maps gpa rounded down to its size, so gpa and gva
 * must agree in the bits between 12 and the guest page size; the final access
 * reaches gpa + (gva & 0xfff). The target's guest tables below the leaf stay
 * allocated and EPT-mapped but unused. */
#ifndef HW_VMX_EPT_CASE_H
#define HW_VMX_EPT_CASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <nestwalk/cpu.h>
#include <nestwalk/ept.h>
#include <nestwalk/frame.h>
#include <nestwalk/walk.h>

#include "contract/guest_stubs.h"

#define VMX_BLOB_MAGIC 0x5856574eu /* "NWVX" */
#define VMX_BLOB_VERSION 2

enum vmx_access {
	VMX_ACCESS_READ = 0,  /* 8-byte load */
	VMX_ACCESS_WRITE = 1, /* 1-byte store of VMX_WRITE_BYTE, then an 8-byte load of the same address */
	VMX_ACCESS_FETCH = 2, /* jump to the linear address */
	/* Implicit supervisor read (§4.6): a DS load reads the 8-byte descriptor at the linear address
	 * (GDTR base = gva - 8, selector VMX_IMPLICIT_SEL); supervisor at any CPL, SMAP ignores RFLAGS.AC. */
	VMX_ACCESS_IMPLICIT = 3,
};

#define VMX_CASE_EPT_AD (1u << 0) /* EPTP bit 6: EPT accessed/dirty flags */
#define VMX_CASE_FLAGS_ALL 0x1u
#define VMX_ACCESS_LAST VMX_ACCESS_IMPLICIT

/* The guest's control bits for the access (guest_flags); the rest of its state is fixed:
 * CR0.PE/PG, CR4.PAE, EFER.LME/LMA, and the bits the VMX fixed MSRs require. */
#define VMX_GUEST_WP (1u << 0)   /* CR0.WP: supervisor writes honour R/W */
#define VMX_GUEST_NXE (1u << 1)  /* EFER.NXE: XD is a rule, else a reserved bit */
#define VMX_GUEST_SMEP (1u << 2) /* CR4.SMEP */
#define VMX_GUEST_SMAP (1u << 3) /* CR4.SMAP */
#define VMX_GUEST_AC (1u << 4)   /* RFLAGS.AC: lifts SMAP for explicit supervisor accesses */
#define VMX_GUEST_FLAGS_ALL 0x1fu

/* Where an edit applies: the target's EPT path, or the EPT leaf of one of the target's guest tables. */
enum vmx_edit_where {
	VMX_EDIT_TARGET = 0,
	VMX_EDIT_GUEST_PDPT = 1,
	VMX_EDIT_GUEST_PD = 2,
	VMX_EDIT_GUEST_PT = 3,
};

struct vmx_blob_header {
	uint32_t magic;
	uint16_t version;
	uint16_t header_size;
	uint32_t case_count;
	uint16_t case_size; /* sizeof(struct vmx_blob_case) */
	uint16_t edit_size; /* sizeof(struct vmx_blob_edit) */
} __attribute__((packed));

struct vmx_blob_case {
	uint32_t id;
	uint8_t access;    /* enum vmx_access */
	uint8_t flags;     /* VMX_CASE_* */
	uint8_t ept_level; /* level of the target's EPT leaf: 1 (4 KiB), 2 (2 MiB) or 3 (1 GiB) */
	uint8_t edit_count;
	uint64_t gva;      /* the access's linear address (8-byte aligned, guest PML4 slot 1) */
	uint64_t gpa;      /* the 4 KiB guest-physical page the access reaches (EPT PML4 slot 1) */
	uint64_t guest[4]; /* non-address bits of the target's guest entries, index = level - 1; below the
			    * guest leaf 0; a large leaf may set its PAT bit 12 and reserved bits 20:13 / 29:13 */
	uint64_t ept_leaf; /* non-address bits of the target's EPT leaf (PS is added at levels 2 and 3) */
	uint8_t guest_level;  /* level of the target's guest leaf: 1 (4 KiB), 2 (2 MiB) or 3 (1 GiB) */
	uint8_t cpl;          /* 0, or 3: the guest runs the access in ring 3 (a user-mode access) */
	uint16_t guest_flags; /* VMX_GUEST_* */
	uint32_t reserved;    /* 0 */
} __attribute__((packed));

/* The EPT entry at level on the path becomes (entry & ~clear) | set (nw_ept_edit). */
struct vmx_blob_edit {
	uint8_t where; /* enum vmx_edit_where */
	uint8_t level;
	uint16_t reserved0;
	uint32_t reserved1;
	uint64_t clear;
	uint64_t set;
} __attribute__((packed));

_Static_assert(sizeof(struct vmx_blob_header) == 16, "blob header layout");
_Static_assert(sizeof(struct vmx_blob_case) == 72, "case header layout");
_Static_assert(sizeof(struct vmx_blob_edit) == 24, "edit layout");

#define VMX_MAX_EDITS 16

#define VMX_GUEST_CODE_GPA UINT64_C(0x200000)
#define VMX_GUEST_TABLE_COUNT 7 /* PML4, then PDPT/PD/PT of the code, then PDPT/PD/PT of the target */
#define VMX_TARGET_BASE UINT64_C(0x8000000000) /* PML4 slot 1, both linear and guest-physical */
#define VMX_TARGET_END UINT64_C(0x10000000000)
#define VMX_MAXPHYADDR 40

struct vmx_case {
	struct vmx_blob_case head;
	struct vmx_blob_edit edits[VMX_MAX_EDITS];
};

struct vmx_blob_cursor {
	const uint8_t *data;
	uint64_t size, offset;
	uint32_t count, next;
};

/* NULL when the blob header is sound, else why not. */
const char *vmx_blob_open(struct vmx_blob_cursor *cur, const uint8_t *data, uint64_t size);
/* 1 with the next case in *c, 0 at the end, -1 with *why on a malformed blob
 * (cur->offset is where the bad record starts). */
int vmx_blob_next(struct vmx_blob_cursor *cur, struct vmx_case *c, const char **why);
/* NULL when the case may run: addresses in their slots, leaves that can only
 * reach the scratch region, edits that name a path entry. */
const char *vmx_case_check(const struct vmx_case *c);

/* The paging-related guest state of a case: CR0.WP|PG, CR4.PAE|SMEP|SMAP,
 * EFER.LME|LMA|NXE, RFLAGS.AC and the CPL. The image adds the bits VMX fixes. */
struct vmx_guest_ctl {
	uint64_t cr0, cr4, efer, rflags;
	unsigned cpl;
	uint64_t gdtr_base; /* an implicit case's GDT (its entry 1 at gva); else 0 */
	uint16_t gdtr_limit;
};

struct vmx_guest_ctl vmx_case_guest_ctl(const struct vmx_case *c);
/* The same guest as the library's walkers take it: 4-level paging, that state, VMX_MAXPHYADDR and the
 * guest's CR3 (vmx_guest_cr3). */
struct nw_cpu vmx_case_cpu(const struct vmx_case *c);
/* The case's access as the library walks it (enum vmx_access): an 8-byte read, a 1-byte write (the load after
 * it reads what the store wrote), a fetch of the 1 byte jumped to, or the implicit 8-byte descriptor read. */
struct nw_access vmx_case_access(const struct vmx_case *c);

/* What the image's CPU offers (Bochs corei7_skylake_x): the simulator models the same. */
struct nw_ept_caps vmx_case_caps(void);

/* One case's guest: its page tables in HAL frames and its EPT. */
struct vmx_vm {
	struct nw_ept ept;
	struct nw_frame tables[VMX_GUEST_TABLE_COUNT];
};

/* Builds the case's guest; code_hpa is the host page holding the stubs. On
 * failure *why says what and nothing stays allocated. */
NW_MUST_CHECK nw_status_t vmx_vm_build(struct vmx_vm *vm, const struct nw_hal *hal, const struct vmx_case *c,
				       nw_hpa_t code_hpa, const char **why);
void vmx_vm_free(struct vmx_vm *vm);
uint64_t vmx_guest_cr3(void);
uint64_t vmx_guest_rip(enum vmx_access access);
/* Host-physical address the target's GPA reaches through an unedited EPT leaf. */
uint64_t vmx_case_hpa(const struct vmx_case *c);

#define VMX_AD_LEN 16
/* Accessed/dirty flags read back after the access, one digit (A + 2*D) per
 * entry: guest levels 4..1 (0 below a large guest leaf), '/', the target's EPT path from level 4 to its
 * leaf, '/', the EPT leaves of the target's guest PDPT, PD and PT. */
void vmx_vm_read_ad(const struct vmx_vm *vm, const struct vmx_case *c, char ad[VMX_AD_LEN]);

/* An outcome: a kind and up to three values, each printed in hex or as "-". */
struct vmx_outcome {
	const char *kind;
	unsigned count;
	uint64_t val[3];
	unsigned unknown; /* bit i: val[i] prints as "-" */
};

#define VMX_LINE_LEN 128
/* "v ID KIND V0 V1 V2 AD": the line both the image and the simulator print. */
void vmx_outcome_format(uint32_t id, const struct vmx_outcome *o, const char *ad, char line[VMX_LINE_LEN]);

#endif
