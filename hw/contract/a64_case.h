/* An AArch64 stage-2 case (a blob with arch HW_BLOB_ARCH_AARCH64, blob.h): the case's VTCR_EL2 (in the
 * case's vtcr word), its stage-2 tables as numbered tables and raw entries (table 0 the start table,
 * concatenated as VTCR_EL2 says; an entry with link = k gets table k-1's address ORed in), and one access
 * (enum hw_access: read, write or fetch) at EL1 with stage 1 off, so the VA is the IPA (the case's gva).
 * Built the same way by the image (hw/aarch64/) and by nestwalk-hw-sim: the start table from
 * nw_arm64_vtcr_decode and nw_arm64_s2_create, the image's own 2 MiB from nw_arm64_s2_map_region, the case's
 * entries written raw (each table of the granule's size: 4, 16 or 64 KiB). */
#ifndef HW_A64_CASE_H
#define HW_A64_CASE_H

#include <stdbool.h>
#include <stdint.h>

#include <nestwalk/arm64_s2.h>

#include "contract/a64_layout.h"
#include "contract/blob.h"
#include "contract/case_tree.h"

/* Case flags: the features of the PE the case's model has; the image refuses a case whose features are not
 * the CPU's (ID_AA64MMFR1_EL1), the model and the CPU must read the same descriptors alike. */
#define HW_A64_XNX (1u << 0) /* FEAT_XNX: XN[0] tells EL1 from EL0 execution */
/* The case has a stage-1 part (a64_s1.h) after its entries: the access is the guest's at the part's VA. */
#define HW_A64_S1 (1u << 1)
#define HW_A64_FLAGS_ALL 0x3u
#define HW_A64_S1_LINK HW_CASE_PAGE_LINK /* a stage-2 entry's link HW_A64_S1_LINK + k maps stage-1 table k */

/* The model's PE: 48-bit PAs, 16-bit VMIDs, the 16 and 64 KiB granules at stage 2, no hardware Access flag
 * update; FEAT_XNX as the case says. */
struct nw_arm64_s2_caps hw_a64_caps(const struct hw_blob_case *c);

struct hw_a64_vm {
	struct nw_arm64_s2 s2;
	struct hw_case_tables t; /* [0]: the start table, the library's */
};

/* NULL with the case's stage 2 built, or why the case cannot run (nothing left allocated): a malformed
 * case, a VTCR_EL2 the library refuses, an entry in the image's slot, or an access whose path could reach
 * memory outside the scratch region. s1_tables: the frames of the case's stage-1 tables (a64_s1.h), which
 * a level-3 entry with link HW_A64_S1_LINK + k maps; s1_count 0 without a stage-1 part, and then no such
 * link is allowed. With one, every leaf of the case must map scratch memory, a stage-1 table or nothing (an
 * output address above PS): the guest's own stage 1 decides which IPA the access reaches. */
const char *hw_a64_vm_build(struct hw_a64_vm *vm, const struct nw_hal *hal, const struct hw_blob_case *c,
			    const struct hw_blob_entry *entries, const nw_hpa_t *s1_tables, unsigned s1_count);
void hw_a64_vm_destroy(struct hw_a64_vm *vm);
/* VTTBR_EL2 of the case: the start table, VMID 1. */
uint64_t hw_a64_vttbr(const struct hw_a64_vm *vm);

/* The ISS bits the image's guest instructions give a data abort on their final access (Arm ARM D19,
 * ESR_EL2, ISS encoding for a Data Abort: ISV 1; SAS 0b11, a doubleword; SRT 1, register x1; SF 1, a 64-bit
 * register), as its "ldr x1, [x0]" and "str x1, [x0]" (aarch64/guest.S); 0 for a fetch. */
#define HW_A64_STUB_ISS ((UINT64_C(1) << 24) | (UINT64_C(3) << 22) | (UINT64_C(1) << 16) | (UINT64_C(1) << 15))
uint64_t hw_a64_stub_iss(const struct hw_blob_case *c);

#endif
