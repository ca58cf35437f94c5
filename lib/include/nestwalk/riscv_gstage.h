/* The RISC-V G-stage (privileged spec, H extension, "Two-Stage Address
 * Translation"): guest-physical to supervisor-physical translation under
 * hgatp modes Sv39x4, Sv48x4 and Sv57x4. Its tables live in HAL frames and are
 * built by the table engine (pt_build.h); its translate is the one
 * second-stage loop over the rules of riscv_gstage_rules.c.
 *
 * Levels: the spec numbers them i = 0 (the 4 KiB page) up to LEVELS - 1, the
 * library 1 = leaf up; spec level i is library level i + 1. Results and edits
 * take library levels; nw_rv_gstage_level() gives the spec's. */
#ifndef NESTWALK_RISCV_GSTAGE_H
#define NESTWALK_RISCV_GSTAGE_H

#include <stdbool.h>
#include <stdint.h>

#include "addr.h"
#include "cdefs.h"
#include "hal.h"
#include "pt_build.h"
#include "riscv_pmp.h"
#include "riscv_trap.h"
#include "stage2.h"
#include "status.h"

NW_BEGIN_DECLS

/* Sv39/Sv48/Sv57 page-table entry (privileged spec, "Sv39 page table entry"
 * figure; G-stage PTEs have the same format). */
#define NW_RV_PTE_V (UINT64_C(1) << 0)
#define NW_RV_PTE_R (UINT64_C(1) << 1)
#define NW_RV_PTE_W (UINT64_C(1) << 2)
#define NW_RV_PTE_X (UINT64_C(1) << 3)
#define NW_RV_PTE_U (UINT64_C(1) << 4)
#define NW_RV_PTE_G (UINT64_C(1) << 5)       /* reserved in G-stage PTEs, ignored by the hardware */
#define NW_RV_PTE_A (UINT64_C(1) << 6)
#define NW_RV_PTE_D (UINT64_C(1) << 7)
#define NW_RV_PTE_RSW UINT64_C(0x300)        /* bits 9:8, for software */
#define NW_RV_PTE_PPN_SHIFT 10
#define NW_RV_PTE_PPN_MASK UINT64_C(0x003ffffffffffc00) /* PPN, bits 53:10: physical address bits 55:12 */
#define NW_RV_PTE_RSVD UINT64_C(0x1fc0000000000000)     /* bits 60:54, reserved */
#define NW_RV_PTE_PBMT_SHIFT 61                         /* Svpbmt PBMT, bits 62:61 */
#define NW_RV_PTE_PBMT_MASK (UINT64_C(3) << NW_RV_PTE_PBMT_SHIFT)
#define NW_RV_PTE_N (UINT64_C(1) << 63)      /* Svnapot */
#define NW_RV_PTE_RWX (NW_RV_PTE_R | NW_RV_PTE_W | NW_RV_PTE_X)

NW_STATIC_ASSERT((NW_RV_PTE_PPN_MASK & (NW_RV_PTE_RSVD | NW_RV_PTE_PBMT_MASK | NW_RV_PTE_N | UINT64_C(0x3ff))) == 0,
		 "PTE fields overlap");
NW_STATIC_ASSERT((NW_RV_PTE_RSVD & (NW_RV_PTE_PBMT_MASK | NW_RV_PTE_N)) == 0, "PTE fields overlap");

/* Svpbmt memory types (PBMT 3 is reserved). */
#define NW_RV_PBMT_PMA 0u
#define NW_RV_PBMT_NC 1u
#define NW_RV_PBMT_IO 2u

/* The bits nw_rv_gstage_map takes: R, W, X, U, G, A, D, RSW, PBMT (V is the engine's). */
#define NW_RV_GSTAGE_LEAF_FLAGS (NW_RV_PTE_RWX | NW_RV_PTE_U | NW_RV_PTE_G | NW_RV_PTE_A | NW_RV_PTE_D | \
				 NW_RV_PTE_RSW | NW_RV_PTE_PBMT_MASK)
#define NW_RV_GSTAGE_RIGHTS (NW_RV_PTE_RWX | NW_RV_PTE_U)

/* hgatp for HSXLEN=64: MODE bits 63:60, bits 59:58 zero, VMID 57:44, PPN 43:0. */
#define NW_RV_HGATP_MODE_SHIFT 60
#define NW_RV_HGATP_VMID_SHIFT 44
#define NW_RV_HGATP_VMID_MASK UINT64_C(0x3fff)
#define NW_RV_HGATP_ZERO_MASK (UINT64_C(3) << 58)
#define NW_RV_HGATP_PPN_MASK ((UINT64_C(1) << 44) - 1)
#define NW_RV_HGATP_BARE 0u
#define NW_RV_HGATP_SV39X4 8u
#define NW_RV_HGATP_SV48X4 9u
#define NW_RV_HGATP_SV57X4 10u

/* What the modelled hart implements. */
struct nw_rv_gstage_caps {
	bool sv39x4, sv48x4, sv57x4;
	unsigned vmid_bits; /* VMIDLEN, 0..14 */
	bool svadu;         /* the walk may set A and D (menvcfg.ADUE writable) */
	bool svpbmt;        /* PBMT (menvcfg.PBMTE writable) */
	bool svnapot;       /* N: 64 KiB NAPOT pages */
};

/* Every mode and extension, 14 VMID bits. */
struct nw_rv_gstage_caps nw_rv_gstage_caps_all(void);

struct nw_rv_gstage_config {
	unsigned mode; /* hgatp.MODE: NW_RV_HGATP_SV39X4, SV48X4 or SV57X4 */
	/* menvcfg.ADUE (Svadu): the walk sets A, and D for a store; clear (Svade):
	 * a leaf without them raises a guest-page fault. The spec allows both. */
	bool adue;
	bool pbmte; /* menvcfg.PBMTE: PBMT is a memory type; clear, bits 62:61 are reserved */
	bool mxr;   /* HS-level sstatus.MXR: an explicit load may read an execute-only page */
	struct nw_rv_gstage_caps caps;
	/* M-mode's PMP over the supervisor-physical addresses: every G-stage PTE read and A/D write, and every
	 * address the G-stage gives (a VS-stage PTE's, the final access's) is checked as an S-mode access;
	 * count 0 (no PMP) allows all. */
	struct nw_rv_pmp pmp;
};

/* hgatp's fields as the hart holds them. */
struct nw_rv_hgatp {
	unsigned mode;
	unsigned vmid;
	uint64_t root; /* the root table's address, PPN << 12 */
};

/* hgatp as written: NW_ERR_INVALID for a reserved MODE, bits 59:58 set, or
 * Bare with another field non-zero (the spec: they must be zero);
 * NW_ERR_UNSUPPORTED for a mode the caps lack; NW_ERR_RANGE for a VMID
 * wider than VMIDLEN; NW_ERR_ALIGN for PPN[1:0] set in a paged mode (they
 * read as zero: the root is 16 KiB-aligned). */
NW_MUST_CHECK nw_status_t nw_rv_hgatp_decode(uint64_t value, const struct nw_rv_gstage_caps *caps,
					     struct nw_rv_hgatp *hgatp);

struct nw_rv_gstage {
	struct nw_pt pt;
	struct nw_rv_gstage_config config;
};

/* NW_ERR_INVALID for a mode that is not a paged one or a PMP nw_rv_pmp_check refuses; NW_ERR_UNSUPPORTED for
 * a mode, ADUE or PBMTE the caps lack, or a HAL without runs of frames (the
 * 16 KiB root is four contiguous frames). */
NW_MUST_CHECK nw_status_t nw_rv_gstage_create(struct nw_rv_gstage *s2, const struct nw_hal *hal,
					      const struct nw_rv_gstage_config *config);
void nw_rv_gstage_destroy(struct nw_rv_gstage *s2);
nw_hpa_t nw_rv_gstage_root(const struct nw_rv_gstage *s2);
/* hgatp for this table and vmid; NW_ERR_RANGE for a VMID wider than VMIDLEN. */
NW_MUST_CHECK nw_status_t nw_rv_gstage_hgatp(const struct nw_rv_gstage *s2, unsigned vmid, uint64_t *hgatp);

/* The spec's level i of a library level. */
int nw_rv_gstage_level(int level);

/* One page of size 4 KiB, 2 MiB, 1 GiB, 512 GiB (Sv48x4, Sv57x4) or 256 TiB
 * (Sv57x4); flags: NW_RV_GSTAGE_LEAF_FLAGS with R or X (a leaf), never W
 * without R, PBMT only with PBMTE and not 3 (NW_ERR_INVALID otherwise); an
 * address beyond 56 bits: NW_ERR_RANGE. *flush (when not NULL) is set when
 * an HFENCE.GVMA for the range is due. */
NW_MUST_CHECK nw_status_t nw_rv_gstage_map(struct nw_rv_gstage *s2, nw_gpa_t gpa, nw_hpa_t hpa, uint64_t size,
					   uint64_t flags, unsigned map_flags, bool *flush);
/* [gpa, gpa + size) to [hpa, hpa + size) in the largest pages both
 * addresses' alignment allows (4 KiB, 2 MiB, 1 GiB), flags as above;
 * nothing may be mapped there yet (nw_pt_map_region). */
NW_MUST_CHECK nw_status_t nw_rv_gstage_map_region(struct nw_rv_gstage *s2, nw_gpa_t gpa, nw_hpa_t hpa, uint64_t size,
						  uint64_t flags, bool *flush);
NW_MUST_CHECK nw_status_t nw_rv_gstage_unmap(struct nw_rv_gstage *s2, nw_gpa_t gpa, uint64_t size, bool *flush);
/* Sets R, W, X and U (rights: a subset of NW_RV_GSTAGE_RIGHTS with R or X,
 * never W without R) of every page in the range; the range must be mapped. */
NW_MUST_CHECK nw_status_t nw_rv_gstage_protect(struct nw_rv_gstage *s2, nw_gpa_t gpa, uint64_t size,
					       uint64_t rights, bool *flush);
NW_MUST_CHECK nw_status_t nw_rv_gstage_query(const struct nw_rv_gstage *s2, nw_gpa_t gpa,
					     struct nw_s2_mapping *mapping);
/* Raw edit of the entry at (library) level on gpa's path (see nw_pt_edit). */
NW_MUST_CHECK nw_status_t nw_rv_gstage_edit(struct nw_rv_gstage *s2, nw_gpa_t gpa, int level, uint64_t clear,
					    uint64_t set, uint64_t *old, bool *flush);
uint64_t nw_rv_gstage_table_count(const struct nw_rv_gstage *s2);

/* The access a G-stage translation served. */
struct nw_rv_gstage_access {
	enum nw_access_type type; /* the original access: instruction fetch, load, or store/AMO */
	uint64_t gva;             /* its guest virtual address (the GPA when the VS-stage is Bare) */
	nw_gpa_t gpa;             /* the address the G-stage translated: the access's, or the VS-stage PTE's */
	bool vs_pte;              /* the G-stage access was the VS-stage walk reading (or writing) a PTE */
	bool vs_pte_write;        /* ... writing its A/D bits */
};

/* The trap a G-stage result raises into HS-mode (false, trap untouched, for
 * a translation); the cause by the original access's type, whichever access
 * faulted (the spec: any exception is reported for the original access
 * type); stval the guest virtual address, hstatus.GVA set.
 * - A guest-page fault: scause 20/21/23; htval the faulting GPA >> 2 (the
 *   spec allows zero; the GPA is what this model writes); htinst 0 for the
 *   access itself (a transformed instruction is allowed, 0 is what this model
 *   writes), the read or write pseudoinstruction for a VS-stage PTE access
 *   (required there with a non-zero htval).
 * - An access fault (a table read found no memory, or PMP refused a G-stage
 *   PTE access or the translated address): scause 1/5/7, htval 0 (zero for
 *   every trap but a guest-page fault), htinst 0 (zero is always allowed, and
 *   the pseudoinstructions are for guest-page faults only). */
bool nw_rv_gstage_fault(const struct nw_s2_result *s2, const struct nw_rv_gstage_access *access,
			struct nw_rv_trap *trap);

NW_END_DECLS

#endif
