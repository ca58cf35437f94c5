/* What a RISC-V G-stage fault writes on its trap into HS-mode (privileged
 * spec, H extension: "Guest-Page Faults", "Trap Entry", "Transformed
 * Instruction or Pseudoinstruction for mtinst or htinst"). */
#include <nestwalk/riscv_gstage.h>

#include "riscv_pte_rules.h"

/* A pseudoinstruction is required for a fault of an implicit VS-stage
 * access when htval is non-zero; the write one for an A/D update. */
static uint64_t guest_page_fault_htinst(const struct nw_rv_gstage_access *a)
{
	if (!a->vs_pte)
		return 0;
	return a->vs_pte_write ? NW_RV_HTINST_VS_PTE_WRITE : NW_RV_HTINST_VS_PTE_READ;
}

bool nw_rv_gstage_fault(const struct nw_s2_result *s2, const struct nw_rv_gstage_access *access,
			struct nw_rv_trap *trap)
{
	if (s2->status == NW_S2_OK)
		return false;
	/* An access fault: htval is zero for any trap but a guest-page fault, htinst holds no pseudoinstruction. */
	if (s2->fault == NW_S2_FAULT_ACCESS) {
		*trap = (struct nw_rv_trap){ .scause = nw_rv_cause_of(access->type, NW_RV_CAUSE_FETCH_ACCESS,
								NW_RV_CAUSE_LOAD_ACCESS, NW_RV_CAUSE_STORE_ACCESS),
					     .stval = access->gva, .gva = true };
		return true;
	}
	*trap = (struct nw_rv_trap){ .scause = nw_rv_cause_of(access->type, NW_RV_CAUSE_FETCH_GUEST_PAGE_FAULT,
							NW_RV_CAUSE_LOAD_GUEST_PAGE_FAULT,
							NW_RV_CAUSE_STORE_GUEST_PAGE_FAULT),
				     .stval = access->gva, .htval = access->gpa.val >> 2,
				     .htinst = guest_page_fault_htinst(access), .gva = true };
	return true;
}
