/* What a RISC-V trap of an address translation writes (privileged spec,
 * "Trap Cause Codes" with the H extension, "Transformed Instruction or
 * Pseudoinstruction for mtinst or htinst"): the cause codes, the htinst
 * pseudoinstructions of the VS-stage walk, and the CSRs of one trap. The
 * G-stage (riscv_gstage.h) and the VS-stage walk (riscv_vs.h) report with
 * them, and a walk result carries one (walk.h). */
#ifndef NESTWALK_RISCV_TRAP_H
#define NESTWALK_RISCV_TRAP_H

#include <stdbool.h>
#include <stdint.h>

/* Exception codes (scause with the interrupt bit clear). */
#define NW_RV_CAUSE_FETCH_ACCESS 1u
#define NW_RV_CAUSE_LOAD_ACCESS 5u
#define NW_RV_CAUSE_STORE_ACCESS 7u
#define NW_RV_CAUSE_FETCH_PAGE_FAULT 12u
#define NW_RV_CAUSE_LOAD_PAGE_FAULT 13u
#define NW_RV_CAUSE_STORE_PAGE_FAULT 15u
#define NW_RV_CAUSE_FETCH_GUEST_PAGE_FAULT 20u
#define NW_RV_CAUSE_LOAD_GUEST_PAGE_FAULT 21u
#define NW_RV_CAUSE_STORE_GUEST_PAGE_FAULT 23u

/* htinst pseudoinstructions for an implicit access of the VS-stage walk
 * (VSXLEN=64: 64-bit PTEs), "Special pseudoinstruction values for guest-page faults". */
#define NW_RV_HTINST_VS_PTE_READ 0x00003000u
#define NW_RV_HTINST_VS_PTE_WRITE 0x00003020u

/* What a trap writes: scause and stval where it is taken (vscause/vstval
 * for a trap taken to VS-mode), htval, htinst and hstatus.GVA for a trap
 * into HS-mode (zero for one taken to VS-mode). */
struct nw_rv_trap {
	uint64_t scause;
	uint64_t stval;
	uint64_t htval;
	uint64_t htinst;
	bool gva; /* hstatus.GVA: stval holds a guest virtual address */
};

#endif
