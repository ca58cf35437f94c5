/* `nestwalk hw run --backend qemu-riscv64` (hw_rv.c, hw_rv_vs.c): a probe of a riscv64 scenario compiled into a
 * case of the RISC-V image (hw/contract/rv_case.h, rv_vs.h), and the image's line compared with the library's
 * answer for the same access on the scenario. */
#ifndef NESTWALK_SIM_HW_RV_H
#define NESTWALK_SIM_HW_RV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <nestwalk/riscv_trap.h>
#include <nestwalk/riscv_vs.h>

#include "hw/hw_run.h"

/* What the image must print for a case: the library's answer on the scenario, in the case's addresses. */
struct nw_hw_rv_expect {
	bool ok;
	uint64_t pa;          /* ok, a load or store: where it lands in the image's scratch region */
	struct nw_rv_trap trap; /* else: the trap as it reaches M-mode (mtval the case's address, mtval2 its GPA >> 2) */
	bool leaf_high_bits;    /* the fault is a leaf's bits QEMU leaves unchecked with Svpbmt or Svnapot (DEVIATIONS.md) */
	/* A VS-stage probe's final access in the case: where it lands, and its GPA (rv-vs-ad-write-unchecked: QEMU
	 * goes on past a refused A/D write) */
	uint64_t final_pa, final_gpa;
	/* Where QEMU 7.2 reads MXR otherwise (rv-gstage-mxr-hs, rv-vs-mxr-hs): its outcome, and the row */
	const struct nw_hw_deviation *mxr_row;
	bool mxr_ok;
	struct nw_rv_trap mxr_trap;
};

extern const struct nw_hw_deviation nw_hw_rv_gstage_mxr_hs, nw_hw_rv_vs_mxr_hs;

/* The scenario as a probe sees it: its G-stage, the hart state the library answers under (the scenario's, with
 * A/D set by the walk in both stages: the backend's hart), and the case flags that carry it. */
struct nw_hw_rv_scenario {
	struct nw_rv_gstage *gstage; /* translated with lookup_only: never written */
	struct nw_walk_config config; /* over gstage */
	struct nw_rv_vs_cpu cpu;
	uint32_t flags; /* HW_RV_* */
};

/* A G-stage probe: the access of type at gpa with vsatp Bare, as a case (id, in out->head) whose tables are the
 * scenario's path for gpa, its leaf moved into the scratch region. NULL, or why it cannot run. */
const char *nw_hw_rv_compile_gpa(const struct nw_hw_rv_scenario *s, uint64_t gpa, enum nw_access_type type,
				 uint32_t id, struct nw_hw_case *out, struct nw_hw_rv_expect *expect);
/* A VS-stage probe: the access of type at gva through the scenario's VS-stage (hw_rv_vs.c). */
const char *nw_hw_rv_compile_gva(const struct nw_hw_rv_scenario *s, uint64_t gva, enum nw_access_type type,
				 uint32_t id, struct nw_hw_case *out, struct nw_hw_rv_expect *expect);

/* The case built on hal as the image builds it (hw_rv_case_build) and answered by the library there: NULL when
 * that answer is expect, else why the case cannot stand for the scenario's access (nothing left allocated). */
const char *nw_hw_rv_rehearse(const struct nw_hal *hal, const struct nw_hw_case *c, const struct nw_hw_rv_expect *e);

/* QEMU 7.2's trap where it reads MXR otherwise than the library (row): cause, mtval, mtval2, mtinst 0. */
void nw_hw_rv_expect_mxr(struct nw_hw_rv_expect *e, const struct nw_hw_deviation *row, uint64_t cause,
			 uint64_t tval, uint64_t htval);
/* A leaf the library refuses for bits QEMU 7.2 leaves unchecked on the hart the case flags (HW_RV_*) ask for:
 * bits 60:54 with Svpbmt or Svnapot; with Svpbmt also PBMT 3 and N without Svnapot. */
bool nw_hw_rv_is_leaf_high_bits_fault(uint32_t flags, uint64_t pte);
/* The size a leaf of level_size maps on the hart the case flags ask for: 64 KiB for a NAPOT 4 KiB leaf. */
uint64_t nw_hw_rv_leaf_size(uint64_t level_size, uint64_t leaf, uint32_t flags);

enum nw_hw_verdict nw_hw_rv_compare(const struct nw_hw_case *c, const struct nw_hw_rv_expect *e,
				    const struct nw_hw_outcome *o, const struct nw_hw_deviation **deviation,
				    char *problem, size_t len);

/* The relocation both compilers share: a leaf of size moved into the image's scratch region. Returns the leaf's
 * new output address; *addr (the address the access uses, 8-byte aligned) keeps its bits but, for a leaf larger
 * than the scratch region, those below the leaf's size, which select a word of scratch page id. */
uint64_t nw_hw_rv_relocate(uint64_t size, uint32_t id, uint64_t *addr);
/* A PTE with its output address (the PPN bits at and above size) replaced by pa. */
uint64_t nw_hw_rv_pte_at(uint64_t pte, uint64_t size, uint64_t pa);

#endif
