/* The RISC-V VS-stage (privileged spec: the H extension's "Two-Stage Address
 * Translation" over the supervisor spec's Sv39, Sv48 and Sv57): vsatp
 * decoded once, and the guest walk of a guest virtual address under it,
 * every VS-stage PTE read (and A/D write) and the final guest-physical
 * address translated through the G-stage (riscv_gstage.h) or none. It is the
 * RISC-V description of the one guest walk the x86 and AArch64 walks run
 * too; its fast walker is nw_walker_init_riscv.
 *
 * Levels: the spec numbers them i = 0 (the 4 KiB page) up to LEVELS - 1, the
 * library 1 = leaf up; spec level i is library level i + 1. */
#ifndef NESTWALK_RISCV_VS_H
#define NESTWALK_RISCV_VS_H

#include <stdbool.h>
#include <stdint.h>

#include "cdefs.h"
#include "pt_build.h"
#include "riscv_gstage.h"
#include "status.h"
#include "walk.h"

NW_BEGIN_DECLS

/* vsatp for VSXLEN=64 (satp's layout): MODE bits 63:60, ASID 59:44, PPN 43:0. */
#define NW_RV_SATP_MODE_SHIFT 60
#define NW_RV_SATP_ASID_SHIFT 44
#define NW_RV_SATP_ASID_MASK UINT64_C(0xffff)
#define NW_RV_SATP_PPN_MASK ((UINT64_C(1) << 44) - 1)
#define NW_RV_SATP_BARE 0u
#define NW_RV_SATP_SV39 8u
#define NW_RV_SATP_SV48 9u
#define NW_RV_SATP_SV57 10u

/* vsstatus (sstatus's layout) and the HS-level sstatus: SUM bit 18, MXR bit 19. */
#define NW_RV_SSTATUS_SUM (UINT64_C(1) << 18)
#define NW_RV_SSTATUS_MXR (UINT64_C(1) << 19)

/* henvcfg (Svpbmt, Svadu): PBMTE bit 62, ADUE bit 61, for the VS-stage. */
#define NW_RV_ENVCFG_PBMTE (UINT64_C(1) << 62)
#define NW_RV_ENVCFG_ADUE (UINT64_C(1) << 61)

/* What the modelled hart implements for the VS-stage. */
struct nw_rv_vs_caps {
	bool sv39, sv48, sv57;
	unsigned asid_bits; /* ASIDLEN, 0..16 */
	bool svadu;         /* henvcfg.ADUE writable */
	bool svpbmt;        /* henvcfg.PBMTE writable */
	bool svnapot;       /* N: 64 KiB NAPOT pages */
};

/* Every mode and extension, 16 ASID bits. */
struct nw_rv_vs_caps nw_rv_vs_caps_all(void);

/* vsatp's fields as the hart holds them. */
struct nw_rv_vsatp {
	unsigned mode;
	unsigned asid;
	uint64_t root; /* the root table's guest-physical address, PPN << 12 */
};

/* vsatp as written: NW_ERR_INVALID for a reserved MODE (1-7, 11-15) or Bare
 * with another field non-zero (the spec leaves its effect UNSPECIFIED);
 * NW_ERR_UNSUPPORTED for a mode the caps lack; NW_ERR_RANGE for an ASID
 * wider than ASIDLEN. */
NW_MUST_CHECK nw_status_t nw_rv_vsatp_decode(uint64_t value, const struct nw_rv_vs_caps *caps,
					     struct nw_rv_vsatp *vsatp);

/* The VS-stage geometry of a paged vsatp mode (512-entry tables at every level); NULL for another value. */
const struct nw_pt_format *nw_rv_vs_format(unsigned mode);

/* The hart state one VS-stage walk runs under (V=1). */
struct nw_rv_vs_cpu {
	struct nw_rv_vsatp vsatp;
	bool vu;     /* the access comes from VU-mode (else VS-mode) */
	bool sum;    /* vsstatus.SUM: VS-mode loads and stores may reach U pages */
	bool mxr;    /* vsstatus.MXR: loads may read execute-only pages (VS-stage only) */
	/* HS-level sstatus.MXR: the same for the VS-stage and (its config.mxr, which must agree) the G-stage */
	bool hs_mxr;
	/* henvcfg.ADUE (Svadu): the walk sets A, and D for a store; clear (Svade):
	 * a leaf without them is a page fault. The spec allows both. */
	bool adue;
	bool pbmte;  /* henvcfg.PBMTE: PBMT is a memory type; clear, bits 62:61 are reserved */
	struct nw_rv_vs_caps caps;
};

/* The walk of access under cpu. The outcome is OK (gpa, hpa; rights
 * NW_WALK_RIGHT_R/W/X/U of the leaf; guest_pat_index its PBMT; 64 KiB pages
 * for a NAPOT leaf), or one trap with its CSRs in res->rv_trap:
 * - NW_OUTCOME_PAGE_FAULT: a VS-stage page fault, taken to VS-mode (as
 *   hedeleg delegates it): scause 12/13/15 by the access, stval the guest
 *   virtual address; a non-canonical address (fault_level 0), an invalid or
 *   reserved PTE, a misaligned superpage, the U/SUM/MXR rules, A or D clear
 *   under Svade (fault_level the PTE's library level);
 * - NW_OUTCOME_GUEST_PAGE_FAULT: the G-stage refused a VS-stage PTE read
 *   (htinst 0x3000), its A/D write (0x3020) or the final guest-physical
 *   address (htinst 0): scause 20/21/23 by the original access, stval the
 *   guest virtual address, htval the faulting guest-physical address >> 2,
 *   hstatus.GVA set; fault_gpa that address, s2_on_table for a PTE access;
 * - NW_OUTCOME_ACCESS_FAULT: a table read of either stage found no memory,
 *   or the G-stage's PMP (riscv_pmp.h) refused a G-stage PTE read or A/D
 *   write, a VS-stage PTE read or A/D write, or the final access (checked on
 *   its supervisor-physical address, its size and type): scause 1/5/7 by the
 *   original access, stval the guest virtual address, htval and htinst 0.
 *   Without a G-stage (NW_STAGE2_NONE) there is no PMP.
 * A/D are set (Svadu) only once the access is allowed, never with
 * NW_WALK_LOOKUP; non-leaf PTEs have none. The second stage is a RISC-V
 * G-stage or none (another is a caller's mistake: asserted). */
void nw_rv_vs_walk(const struct nw_walk_config *config, const struct nw_rv_vs_cpu *cpu,
		   const struct nw_access *access, unsigned flags, struct nw_walk_result *res);

/* The fast walker (walk.h) for the VS-stage: nw_walker_translate() and
 * nw_walker_probe() answer a plain Sv39 or Sv48 walk (every PTE valid with no
 * reserved bit or encoding, a leaf that is no NAPOT page and is aligned, its
 * A set and for a store D, the access allowed, and over the G-stage what its
 * masks prove plain) from the one fast walk body, and give everything else,
 * and every walk that records, to nw_rv_vs_walk. The second stage is a RISC-V
 * G-stage or none (else NULL), the storage as for nw_walker_init. The
 * x86-only calls (nw_walker_set_cpu, nw_walker_translate_from,
 * nw_walker_tlb_allows and their kin) do not apply to it. */
struct nw_walker *nw_walker_init_riscv(void *storage, const struct nw_walk_config *config,
				       const struct nw_rv_vs_cpu *cpu);
/* Call after any change of vsatp, vsstatus, the HS-level sstatus, henvcfg, the privilege or the G-stage's PMP
 * (with PMP the walker walks by the rules: its plain copies read the G-stage as masks). */
void nw_walker_set_riscv_cpu(struct nw_walker *walker, const struct nw_rv_vs_cpu *cpu);

NW_END_DECLS

#endif
