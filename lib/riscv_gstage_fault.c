/* What a RISC-V G-stage fault writes on its trap into HS-mode (privileged
 * spec, H extension: "Guest-Page Faults", "Trap Entry", "Transformed
 * Instruction or Pseudoinstruction for mtinst or htinst"). */
#include <nestwalk/riscv_gstage.h>

/* "Any exception is always reported for the original access type", whichever access faulted. */
static uint64_t guest_page_fault_cause(enum nw_access_type type)
{
	switch (type) {
	case NW_ACCESS_FETCH:
		return NW_RV_CAUSE_FETCH_GUEST_PAGE_FAULT;
	case NW_ACCESS_WRITE:
		return NW_RV_CAUSE_STORE_GUEST_PAGE_FAULT;
	case NW_ACCESS_READ:
		break;
	}
	return NW_RV_CAUSE_LOAD_GUEST_PAGE_FAULT;
}

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
	*trap = (struct nw_rv_trap){ .scause = guest_page_fault_cause(access->type), .stval = access->gva,
				     .htval = access->gpa.val >> 2, .htinst = guest_page_fault_htinst(access),
				     .gva = true };
	return true;
}
