/* The second dimension of the walk: guest paging-structure entries and the
 * final guest-physical address go through the second stage before host memory
 * is touched, and a refusal there becomes the VM exit the CPU would report. */
#include <nestwalk/arm64_s2.h>
#include <nestwalk/assert.h>
#include <nestwalk/ept.h>
#include <nestwalk/npt.h>
#include <nestwalk/riscv_gstage.h>
#include <nestwalk/walk.h>
#include <nestwalk/x86_pte.h>

#include "walk_internal.h"

void nw_walk_record_init(struct nw_walk_result *res)
{
	for (unsigned level = 0; level <= NW_MAX_LEVELS; level++) {
		res->steps[level].entry = 0;
		res->steps[level].table_gpa = nw_gpa(0);
		res->steps[level].table_hpa = nw_hpa(0);
		res->steps[level].index = 0;
		res->steps[level].rights = 0;
		res->steps[level].read = false;
		res->steps[level].s2.refs = 0;
	}
	res->final_s2.refs = 0;
	res->recorded = true;
}

void nw_walk_result_init(struct nw_walk_result *res, enum nw_paging_mode mode, nw_gva_t gva)
{
	nw_walk_result_start(res, mode, gva);
	nw_walk_record_init(res);
}

/* EPT-violation bits 2:0 (Vol. 3C Table 28-7): the kind of access that faulted.
 * A guest paging-structure access is a read; it is also a write when it sets a
 * guest A/D flag or when EPT A/D makes it one (nw_walk_is_ept_table_write), and
 * then both bit 0 and bit 1 are set (Vol. 3C §28.2.1; Bochs sets bit 1 only: hw/DEVIATIONS.md). */
static uint64_t ept_access_bits(const struct nw_s2_fault_access *a)
{
	if (a->table)
		return NW_EPTQ_READ | (a->table_write ? NW_EPTQ_WRITE : 0);
	switch (a->type) {
	case NW_ACCESS_WRITE:
		return NW_EPTQ_WRITE;
	case NW_ACCESS_FETCH:
		return NW_EPTQ_FETCH;
	case NW_ACCESS_READ:
		break;
	}
	return NW_EPTQ_READ;
}

/* Advanced VM-exit information, bits 11:9 (Table 28-7): the guest translation's
 * U/S, R/W and XD, reported only for the final translation of a linear address. */
static uint64_t ept_advanced_bits(const struct nw_ept *ept, const struct nw_s2_fault_access *a)
{
	uint64_t bits = 0;

	if (!ept->config.caps.advanced_exit_info || a->table || !a->linear)
		return 0;
	if (a->guest_rights & NW_WALK_RIGHT_U)
		bits |= NW_EPTQ_USER;
	if (a->guest_rights & NW_WALK_RIGHT_W)
		bits |= NW_EPTQ_RW;
	if (!(a->guest_rights & NW_WALK_RIGHT_X))
		bits |= NW_EPTQ_XD;
	return bits;
}

/* Bits 6:3 are the R, W, X and (with mode-based execute control) user-execute rights
 * of the entries used, ANDed; bit 7 says a guest-linear address exists, and only then
 * does bit 8 tell the final translation from a paging-structure access (Table 28-7). */
uint64_t nw_ept_violation_qualification(const struct nw_ept *ept, const struct nw_s2_result *s2,
					const struct nw_s2_fault_access *a)
{
	return ept_access_bits(a) | (uint64_t)(s2->rights & 0xf) << NW_EPTQ_RIGHTS_SHIFT |
	       (a->linear ? NW_EPTQ_GLA_VALID | (a->table ? 0 : NW_EPTQ_FINAL) : 0) | ept_advanced_bits(ept, a);
}

/* #NPF EXITINFO1 (APM Vol. 2 §15.25.6): a #PF error code for the nested access
 * (P when the NPT entry was present or reserved bits were set, W for a write
 * or any guest page-table access, U always: nested accesses are user accesses, RSVD, I/D for a fetch when the
 * host has EFER.NXE) plus bit 32 for the final address or bit 33 for a guest
 * page-table access. */
uint64_t nw_npf_exitinfo1(const struct nw_npt *npt, const struct nw_s2_result *s2, const struct nw_s2_fault_access *a)
{
	uint64_t info = NW_PFEC_U;

	if (s2->status == NW_S2_MISCONFIG)
		info |= NW_PFEC_RSVD | NW_PFEC_P;
	else if (s2->entry & NW_PTE_P)
		info |= NW_PFEC_P;
	if (a->table || a->type == NW_ACCESS_WRITE)
		info |= NW_PFEC_W; /* a guest page-table access is a write (nw_walk_is_table_access_a_write) */
	if (!a->table && a->type == NW_ACCESS_FETCH && npt->config.caps.nxe)
		info |= NW_PFEC_ID;
	return info | (a->table ? NW_NPF_GUEST_TABLE : NW_NPF_FINAL);
}

/* An AArch64 stage-2 fault is taken to EL2 (Arm ARM D8, "Stage 2 fault"):
 * ESR_EL2 with S1PTW for a stage-1 table walk (WnR still the instruction's,
 * even for a descriptor update: nw_arm64_s2_esr), FAR_EL2 the virtual address,
 * HPFAR_EL2 the IPA where the architecture fills it. */
static void arm64_s2_abort(struct nw_walk_ctx *ctx, const struct nw_s2_result *s2, nw_gpa_t gpa, bool table)
{
	struct nw_walk_result *res = ctx->res;
	const struct nw_arm64_s2_access access = { .type = ctx->access->type, .s1ptw = table };

	res->outcome = NW_OUTCOME_STAGE2_ABORT;
	res->abort_fault = s2->fault;
	res->esr = nw_arm64_s2_esr(s2, &access);
	res->far = ctx->access->gva.val;
	res->hpfar_valid = nw_arm64_hpfar(s2, gpa, &access, &res->hpfar);
}

/* A RISC-V G-stage fault is taken to HS-mode (riscv_gstage_fault.c): a
 * guest-page fault, or an access fault where a G-stage table read found no
 * memory or PMP refused an access; a VS-stage PTE access reports its
 * pseudoinstruction in htinst (guest-page faults only). */
static void riscv_gstage_trap(struct nw_walk_ctx *ctx, const struct nw_s2_result *s2, nw_gpa_t gpa, bool table,
			      bool ad_write)
{
	const struct nw_rv_gstage_access access = { .type = ctx->access->type, .gva = ctx->access->gva.val,
						    .gpa = gpa, .vs_pte = table, .vs_pte_write = ad_write };

	nw_rv_gstage_fault(s2, &access, &ctx->res->rv_trap);
	ctx->res->outcome = s2->fault == NW_S2_FAULT_ACCESS ? NW_OUTCOME_ACCESS_FAULT : NW_OUTCOME_GUEST_PAGE_FAULT;
}

void nw_walk_s2_fault(struct nw_walk_ctx *ctx, const struct nw_s2_result *s2, nw_gpa_t gpa, bool table, bool ad_write,
		      int level)
{
	struct nw_walk_result *res = ctx->res;
	const struct nw_s2_fault_access access = {
		.type = ctx->access->type, .table = table, .linear = ctx->linear, .guest_rights = res->rights,
		.table_write = ad_write || nw_walk_is_ept_table_write(ctx->config, ctx->linear),
	};

	res->fault_gpa = gpa;
	res->s2_on_table = table;
	res->fault_level = level;
	if (ctx->config->stage2.kind == NW_STAGE2_NPT) {
		res->outcome = NW_OUTCOME_NPF;
		res->exitinfo1 = nw_npf_exitinfo1(ctx->config->stage2.npt, s2, &access);
		res->exitinfo2 = gpa.val;
		return;
	}
	if (ctx->config->stage2.kind == NW_STAGE2_ARM64) {
		arm64_s2_abort(ctx, s2, gpa, table);
		return;
	}
	if (ctx->config->stage2.kind == NW_STAGE2_RISCV) {
		riscv_gstage_trap(ctx, s2, gpa, table, ad_write);
		return;
	}
	NW_ASSERT(ctx->config->stage2.kind == NW_STAGE2_EPT);
	if (s2->status == NW_S2_MISCONFIG) {
		res->outcome = NW_OUTCOME_EPT_MISCONFIG;
		res->fault_level = s2->level;
		return;
	}
	res->outcome = NW_OUTCOME_EPT_VIOLATION;
	res->gla_valid = ctx->linear;
	res->exit_qualification = nw_ept_violation_qualification(ctx->config->stage2.ept, s2, &access);
}

void nw_walk_no_memory(struct nw_walk_ctx *ctx, nw_gpa_t gpa, int level)
{
	ctx->res->outcome = NW_OUTCOME_NO_MEMORY;
	ctx->res->fault_gpa = gpa;
	ctx->res->fault_level = level;
}

bool nw_walk_set_flags(struct nw_walk_ctx *ctx, int level, unsigned bytes, uint64_t set)
{
	const struct nw_walk_step *step = &ctx->res->steps[level];

	nw_gpa_t gpa = nw_gpa(step->table_gpa.val + (uint64_t)step->index * bytes);

	return nw_walk_set_flags_at(ctx, gpa, level, bytes, set);
}

bool nw_walk_set_flags_at(struct nw_walk_ctx *ctx, nw_gpa_t gpa, int level, unsigned bytes, uint64_t set)
{
	return nw_walk_update_at(ctx, gpa, level, bytes, 0, set);
}

bool nw_walk_update_at(struct nw_walk_ctx *ctx, nw_gpa_t gpa, int level, unsigned bytes, uint64_t clear,
		       uint64_t set)
{
	struct nw_s2_result s2;
	void *ptr;

	nw_walk_s2_translate(ctx, gpa, NW_ACCESS_WRITE, true, bytes, &s2);
	if (s2.status != NW_S2_OK) {
		nw_walk_s2_fault(ctx, &s2, gpa, true, true, level);
		return false;
	}
	ptr = nw_hal_phys_to_virt(ctx->config->hal, s2.hpa);
	if (!ptr) {
		nw_walk_no_memory(ctx, gpa, level);
		return false;
	}
	if (bytes == 4)
		*(volatile uint32_t *)ptr = (uint32_t)((*(volatile uint32_t *)ptr & ~clear) | set);
	else
		*(volatile uint64_t *)ptr = (*(volatile uint64_t *)ptr & ~clear) | set;
	ctx->res->ad_writes++;
	return true;
}

void nw_walk_page_fault(struct nw_walk_ctx *ctx, uint32_t error_code, int level)
{
	ctx->res->outcome = NW_OUTCOME_PAGE_FAULT;
	ctx->res->error_code = error_code;
	ctx->res->cr2 = ctx->access->gva.val;
	ctx->res->fault_level = level;
}

void nw_walk_general_protection(struct nw_walk_result *res, enum nw_gp_reason reason)
{
	res->outcome = NW_OUTCOME_GP;
	res->gp_reason = reason;
}
