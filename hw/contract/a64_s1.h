/* The stage-1 part of an AArch64 case (case flag HW_A64_S1, a64_case.h): the guest's EL1 registers, the
 * PSTATE and virtual address of its access, and its stage-1 tables as numbered tables of raw descriptors (their
 * table addresses IPAs, as the guest writes them). It follows the case's stage-2 entries in the blob. The image
 * and nestwalk-hw-sim place stage-1 table k in a frame of their own and the case's stage 2 maps its IPA there:
 * a level-3 stage-2 entry with link HW_A64_S1_LINK + k gets table k's address ORed in. The case's stage 1 maps
 * the image's own 2 MiB (VA = IPA = HW_A64_IMAGE_BLOCK, read-only, executable at EL1 and EL0) so the guest's
 * code and EL1 vectors run: the library's walk of it is checked before the case runs. */
#ifndef HW_A64_S1_H
#define HW_A64_S1_H

#include <stdint.h>

#include <nestwalk/arm64_s1.h>

#include "contract/a64_case.h"

/* SPSR_EL2 bits of the access's PSTATE the part may set (Arm ARM C5.2): M[3:0] EL0t 0b0000 or EL1h 0b0101,
 * PAN (bit 22), UAO (bit 23). */
#define HW_A64_PSTATE_EL1H 0x5u
#define HW_A64_PSTATE_PAN (1u << 22)
#define HW_A64_PSTATE_UAO (1u << 23)

struct hw_a64_s1_part {
	uint64_t sctlr, tcr, ttbr0, ttbr1, mair; /* SCTLR_EL1 (M, WXN, SPAN and the RES1 bits), TCR_EL1, ... */
	uint64_t va;          /* the access's virtual address; the case's gva is the IPA it is expected to reach */
	uint32_t pstate;      /* HW_A64_PSTATE_* */
	uint8_t unprivileged; /* 1: LDTR/STTR (a load or store) */
	uint8_t table_count;
	uint8_t entry_count; /* entries (struct hw_blob_entry, link 0) after this part */
	uint8_t reserved;
} __attribute__((packed));

_Static_assert(sizeof(struct hw_a64_s1_part) == 56, "stage-1 part layout");

/* SCTLR_EL1 bits a case may set: M, WXN, SPAN and ARMv8.0's RES1 bits 29, 28, 22, 20, 11 (no translation
 * control among them). */
#define HW_A64_SCTLR_ALLOWED (UINT64_C(0x30d00800) | NW_SCTLR_M | NW_SCTLR_WXN | NW_SCTLR_SPAN)

/* A case's stage 1 built: its tables' frames and the registers as the library decodes them. */
struct hw_a64_s1 {
	const struct nw_hal *hal;
	nw_hpa_t tables[HW_MAX_TABLES];
	unsigned table_count;
	struct nw_arm64_cpu cpu; /* the PE state of the access */
};

/* The part's length in the blob: the part and its entries. */
uint64_t hw_a64_s1_size(const struct hw_a64_s1_part *p);
/* The case's tail: its stage-1 part's length with HW_A64_S1, else 0. */
hw_case_tail_fn hw_a64_s1_tail;
/* NULL when the part is sound, or why not: registers the library refuses or that ask for hardware updates,
 * SCTLR_EL1 bits besides HW_A64_SCTLR_ALLOWED, a PSTATE besides EL0t/EL1h with PAN and UAO, a fetch marked
 * unprivileged, entries out of their tables, and any descriptor (or TTBR) whose address lies in the GiB of
 * the image's IPAs but is not a read-only block (bits 1:0 0b01, AP[2]): the one way into the image, which its
 * stores must never reach. */
const char *hw_a64_s1_check(const struct hw_a64_s1_part *p, const struct hw_blob_entry *entries, uint8_t access);
/* NULL with the stage-1 tables allocated and zeroed (before the stage 2 that links them is written), or why
 * not (nothing left allocated). */
const char *hw_a64_s1_alloc(struct hw_a64_s1 *s1, const struct nw_hal *hal, const struct hw_a64_s1_part *p);
/* Writes the part's descriptors, then checks with the library's walk over the built stage 2 that the image's
 * 2 MiB is fetched at VA = IPA from EL1 and EL0 and refuses a store: NULL, or why the case cannot run. */
const char *hw_a64_s1_fill(struct hw_a64_s1 *s1, struct hw_a64_vm *vm, const struct hw_a64_s1_part *p,
			   const struct hw_blob_entry *entries);
void hw_a64_s1_destroy(struct hw_a64_s1 *s1);
/* Builds the case: with a stage-1 part p (its entries s1_entries) its stage 1 checked, allocated and written
 * around the stage 2 hw_a64_vm_build gives; without one (p NULL) the stage 2 alone. NULL, or why the case
 * cannot run (nothing left allocated). What the image and nestwalk-hw-sim both run. */
const char *hw_a64_case_build(struct hw_a64_vm *vm, struct hw_a64_s1 *s1, const struct nw_hal *hal,
			      const struct hw_blob_case *c, const struct hw_blob_entry *entries,
			      const struct hw_a64_s1_part *p, const struct hw_blob_entry *s1_entries);
/* Frees what hw_a64_case_build built. */
void hw_a64_case_destroy(struct hw_a64_vm *vm, struct hw_a64_s1 *s1);
/* SPSR_EL2 for the access: the part's PSTATE with D, A, I and F masked. */
uint64_t hw_a64_s1_spsr(const struct hw_a64_s1_part *p);
/* The walk configuration over the case's stage 2. */
struct nw_walk_config hw_a64_s1_walk_config(struct hw_a64_vm *vm);

#endif
