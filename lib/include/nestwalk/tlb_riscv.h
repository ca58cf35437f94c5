/* A model of a RISC-V hart's address-translation caches under the hypervisor extension (privileged spec,
 * "Hypervisor Memory-Management Fence Instructions" and "Supervisor Memory-Management Fence Instruction"),
 * on the tagged TLB of tlb_tagged.h: every entry carries the VMID (hgatp.VMID) current when it was made, and a
 * VS-stage one the ASID (vsatp.ASID) unless its leaf PTE has G set.
 *
 * Three kinds, the spec's two conceptual caches and the one most harts build instead: VS-stage-only entries
 * (guest virtual -> guest physical), G-stage-only entries (guest physical -> supervisor physical) and combined
 * entries (guest virtual -> supervisor physical, keeping the guest-physical address they went through).
 * Cached non-leaf PTEs are not modelled.
 *
 * A fence drops what the spec says it must and nothing it merely may, so a trace that omits one sees the stale
 * translation a hart may use. An operand the model cannot give a meaning (a reserved bit set, x0 holding a
 * value, a guest physical address beyond 64 bits, a VS-stage address while vsatp is Bare) is refused with
 * NW_ERR_UNSUPPORTED and nw_rvfence_refusal() says why; nothing is invalidated then. */
#ifndef NESTWALK_TLB_RISCV_H
#define NESTWALK_TLB_RISCV_H

#include "tlb_tagged.h"

NW_BEGIN_DECLS

enum nw_rvtlb_kind {
	NW_RVTLB_VS = 0, /* guest virtual -> guest physical, VS-stage only */
	NW_RVTLB_G,      /* guest physical -> supervisor physical, G-stage only */
	NW_RVTLB_VSG,    /* guest virtual -> supervisor physical through both stages */
	NW_RVTLB_KIND_COUNT,
};

/* The fences; these numbers are also the trace format's (traces/FORMAT.md, "fence"). SFENCE.VMA is the one
 * executed with V=1 (in VS-mode), which acts on the current virtual machine's VS-stage translations. */
enum nw_rvfence_op {
	NW_RVFENCE_SFENCE_VMA = 0,
	NW_RVFENCE_HFENCE_VVMA,
	NW_RVFENCE_HFENCE_GVMA,
	NW_RVFENCE_OP_COUNT,
};

/* A fence as the instruction encodes it: rs1 and rs2 are either x0 (all addresses, all ASIDs or VMIDs) or a
 * register and its value. SFENCE.VMA and HFENCE.VVMA: rs1 a guest virtual address, rs2 an ASID. HFENCE.GVMA:
 * rs1 a guest physical address shifted right by 2, rs2 a VMID. */
struct nw_rvfence {
	enum nw_rvfence_op op;
	bool rs1_x0, rs2_x0;
	uint64_t rs1, rs2; /* 0 when the register is x0 */
};

#define NW_RV_ASIDMAX 16 /* RV64 vsatp.ASID width, the most an implementation has */
#define NW_RV_VMIDMAX 14 /* RV64 hgatp.VMID width */

struct nw_rvtlb {
	struct nw_ttlb core;
	uint8_t asid_bits, vmid_bits; /* ASIDLEN and VMIDLEN the hart implements */
	uint8_t va_bits;              /* the current vsatp mode's virtual address width: 39, 48, 57, or 0 (Bare) */
};

/* asid_bits 0..16 and vmid_bits 0..14, as the hart implements them; NW_ERR_RANGE otherwise or when storage holds
 * no entry, NW_ERR_ALIGN when it is not aligned for one. */
NW_MUST_CHECK nw_status_t nw_rvtlb_init(struct nw_rvtlb *tlb, void *storage, size_t size, unsigned asid_bits,
					unsigned vmid_bits);
/* The current hgatp.VMID, vsatp.ASID and vsatp mode's address width (39, 48, 57, or 0 for Bare): a CSR write
 * invalidates nothing, as on the hart (a fence orders it). A tag wider than its length is the caller's bug. */
void nw_rvtlb_load(struct nw_rvtlb *tlb, uint16_t vmid, uint16_t asid, unsigned va_bits);

/* A completed translation: addr the GVA (VS, VSG) or GPA (G); gpa the GPA a combined entry went through; global
 * when the VS-stage leaf has G set (VS and VSG only). */
struct nw_rvtlb_fill {
	enum nw_rvtlb_kind kind;
	uint64_t addr, out, size, gpa;
	uint8_t level;
	bool global;
	uint32_t attrs;
};

void nw_rvtlb_insert(struct nw_rvtlb *tlb, const struct nw_rvtlb_fill *fill);
/* Lookups, probes and counts are the tagged TLB's on tlb->core with an enum nw_rvtlb_kind: nw_ttlb_lookup(),
 * nw_ttlb_probe(), nw_ttlb_count(). */

/* The fences' names in enum order: data in the header with its reader inline, so the trace codec names them
 * without a call into the library (the recorder plugin links the codec alone). */
static const char *const nw_rvfence_names[NW_RVFENCE_OP_COUNT] = { "sfence.vma", "hfence.vvma", "hfence.gvma" };

/* "sfence.vma", "hfence.vvma", "hfence.gvma"; NULL outside the enum. */
static inline const char *nw_rvfence_name(enum nw_rvfence_op op)
{
	return (unsigned)op < NW_RVFENCE_OP_COUNT ? nw_rvfence_names[op] : NULL;
}
/* Why the model cannot perform the fence in the current state, NULL when it can: exactly where nw_rvtlb_fence()
 * refuses. */
const char *nw_rvfence_refusal(const struct nw_rvtlb *tlb, const struct nw_rvfence *f);
/* Drops exactly the fence's scope (tlb_riscv_fence.c cites each); NW_ERR_UNSUPPORTED with nothing dropped where
 * nw_rvfence_refusal() names a reason. */
NW_MUST_CHECK nw_status_t nw_rvtlb_fence(struct nw_rvtlb *tlb, const struct nw_rvfence *f);

NW_END_DECLS

#endif
