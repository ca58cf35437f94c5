/* The VS-stage part of a RISC-V case (case flag HW_RV_VS, rv_case.h): vsatp as written, vsstatus's SUM and MXR,
 * the privilege (VS or VU) and guest virtual address of the access, and the VS-stage tables as numbered tables
 * of raw PTEs whose PPNs are guest-physical, as the guest writes them. It follows the case's G-stage entries in
 * the blob. The image and nestwalk-hw-sim place VS-stage table k in a frame of their own, and the case's
 * G-stage maps its GPA there: a level-0 G-stage entry with link HW_CASE_PAGE_LINK + k gets table k's PPN ORed
 * in. The case's VS-stage maps the image's code at VA = GPA = HW_RV_CODE_GPA (a superpage the guest may fetch
 * at its privilege); the case's gva is the GPA its access is meant to reach (it keeps off the image's root
 * slot). Before the case runs, the library's walk checks the code is fetched there, and that the access's
 * VS-stage walk reads its PTEs from the case's frames only and lands, if it completes, in the scratch region:
 * a hostile table cannot make the guest touch the image. */
#ifndef HW_RV_VS_H
#define HW_RV_VS_H

#include <stdint.h>

#include <nestwalk/riscv_vs.h>

#include "contract/rv_case.h"

struct hw_rv_vs_part {
	uint64_t vsatp;    /* MODE, ASID and the root's PPN (a GPA >> 12) */
	uint64_t va;       /* the access's guest virtual address */
	uint64_t vsstatus; /* SUM and MXR (NW_RV_SSTATUS_*) only */
	uint8_t vu;        /* 1: the access runs in VU-mode, 0: VS-mode */
	uint8_t table_count;
	uint8_t entry_count; /* entries (struct hw_blob_entry, link 0) after this part */
	uint8_t reserved[5];
} __attribute__((packed));

_Static_assert(sizeof(struct hw_rv_vs_part) == 32, "VS-stage part layout");

/* The case's tail: its VS-stage part's length with HW_RV_VS, else 0. */
hw_case_tail_fn hw_rv_vs_tail;

/* A case's VS-stage: its tables' frames and the hart state of the access as the library decodes it. */
struct hw_rv_vs {
	const struct nw_hal *hal;
	nw_hpa_t tables[HW_MAX_TABLES];
	unsigned table_count;
	struct nw_rv_vs_cpu cpu;
};

/* Builds the case: with a VS-stage part p (its entries vs_entries) the VS-stage checked, allocated, linked by
 * the G-stage and written, then checked by the library's walk as above; without one (p NULL) the G-stage
 * alone. NULL, or why the case cannot run (nothing left allocated). What the image and nestwalk-hw-sim run. */
const char *hw_rv_case_build(struct hw_rv_vm *vm, struct hw_rv_vs *vs, const struct nw_hal *hal,
			     const struct hw_blob_case *c, const struct hw_blob_entry *entries,
			     const struct hw_rv_vs_part *p, const struct hw_blob_entry *vs_entries);
/* Frees what hw_rv_case_build built. */
void hw_rv_case_destroy(struct hw_rv_vm *vm, struct hw_rv_vs *vs);
/* The walk configuration over the case's G-stage. */
struct nw_walk_config hw_rv_vs_walk_config(struct hw_rv_vm *vm);

/* The library's answer for a built case, as the image prints it: the access completes (at hpa), or a trap
 * reaches M-mode, nothing being delegated. A VS-stage page fault, which the library gives as taken to VS-mode,
 * has the same cause and tval there, mtval2 and mtinst 0 (written for guest-page faults only) and mstatus.GVA
 * 1, mtval holding a guest virtual address (privileged spec, "Machine Status Registers (mstatus)": GVA). */
struct hw_rv_answer {
	bool ok;
	uint64_t hpa;
	struct nw_rv_trap trap;
};

/* With vsatp Bare (p NULL) the case's GPA through the G-stage alone (nw_rv_gstage_fault), else the VS-stage
 * walk (nw_rv_vs_walk). False for an outcome no RISC-V trap describes. */
bool hw_rv_case_answer(struct hw_rv_vm *vm, const struct hw_rv_vs *vs, const struct hw_blob_case *c,
		       const struct hw_rv_vs_part *p, struct hw_rv_answer *out);

#endif
