/* A RISC-V G-stage case (a blob with arch HW_BLOB_ARCH_RISCV64, blob.h): hgatp.MODE and the model's switches
 * in the case's word, its G-stage tables as numbered tables and raw entries (table 0 the 16 KiB root; an entry
 * with link = k gets table k-1's PPN ORed in at bit 10), and one access (enum hw_access: read, write or fetch)
 * in VS-mode with vsatp Bare, so the VA is the GPA (the case's gva); or, with HW_RV_VS, in VS-mode or VU-mode
 * through the VS-stage its part carries (rv_vs.h). Built the same way by the image (hw/riscv64/) and by
 * nestwalk-hw-sim: the root from nw_rv_gstage_create, the image's own superpage from nw_rv_gstage_map, the
 * case's entries written raw. */
#ifndef HW_RV_CASE_H
#define HW_RV_CASE_H

#include <stdbool.h>
#include <stdint.h>

#include <nestwalk/riscv_gstage.h>

#include "contract/blob.h"
#include "contract/case_tree.h"
#include "contract/rv_layout.h"

/* The case's word: hgatp.MODE in bits 3:0 (8 Sv39x4, 9 Sv48x4, 10 Sv57x4). */
#define HW_RV_MODE_MASK 0xfu
/* Case flags. */
#define HW_RV_ADUE (1u << 0) /* the model's menvcfg.ADUE (Svadu: the walk sets A and D); the image cannot set it */
#define HW_RV_MXR (1u << 1)  /* mstatus.MXR (the HS-level sstatus.MXR) during the access */
#define HW_RV_VS (1u << 2)   /* a VS-stage part follows the entries (rv_vs.h) */
#define HW_RV_PBMTE (1u << 3) /* menvcfg.PBMTE and henvcfg.PBMTE (Svpbmt: PBMT is a memory type) */
#define HW_RV_NAPOT (1u << 4) /* the model's Svnapot (no CSR enables it: the hart must have it, QEMU's svnapot=on) */
#define HW_RV_FLAGS_ALL 0x1fu

/* The model's hart: every hgatp mode, 14 VMID bits, Svadu and Svpbmt (the switches the case's), Svnapot as the
 * case says (QEMU 7.2's rv64 has it off: N is then reserved). */
struct nw_rv_gstage_config hw_rv_config(const struct hw_blob_case *c);

struct hw_rv_vm {
	struct nw_rv_gstage s2;
	struct hw_case_tables t; /* [0]: the root, the library's */
};

/* NULL with the case's G-stage built, or why the case cannot run (nothing left allocated): a malformed case,
 * a mode the library refuses, an entry in the image's slot of the root table, or (vsatp Bare) an access whose
 * path could reach memory outside the scratch region. pages: the frames of the case's VS-stage tables (page
 * links, case_tree.h), page_count of them. */
const char *hw_rv_vm_build(struct hw_rv_vm *vm, const struct nw_hal *hal, const struct hw_blob_case *c,
			   const struct hw_blob_entry *entries, const nw_hpa_t *pages, unsigned page_count);
void hw_rv_vm_destroy(struct hw_rv_vm *vm);
/* hgatp of the case: its mode, the root, VMID 1. */
uint64_t hw_rv_hgatp(const struct hw_rv_vm *vm);

#endif
