/* What both guest walkers share: reading and updating guest paging-structure
 * entries through the second stage, and turning a stage-2 fault into the
 * outcome the CPU reports (EPT violation, misconfiguration, #NPF, AArch64
 * stage-2 abort, RISC-V guest-page fault). The guest rules are walk_rules.h
 * (x86), arm64_s1_rules.h and riscv_vs_rules.h. */
#ifndef NESTWALK_WALK_INTERNAL_H
#define NESTWALK_WALK_INTERNAL_H

#include <nestwalk/ept.h>
#include <nestwalk/npt.h>
#include <nestwalk/walk.h>

/* One walk in progress. */
struct nw_walk_ctx {
	const struct nw_walk_config *config;
	const struct nw_access *access;
	unsigned flags;
	bool user;       /* the access is user-mode (§4.6) */
	bool linear;     /* translating a linear address (false for the PDPTE load at MOV CR3) */
	struct nw_walk_result *res;
};

/* Starts a result: outcome OK, no references, every scalar field zero; the
 * per-level record is left alone (nw_walk_record_init). */
static inline void nw_walk_result_start(struct nw_walk_result *res, enum nw_paging_mode mode, nw_gva_t gva)
{
	res->outcome = NW_OUTCOME_OK;
	res->mode = mode;
	res->gva = gva;
	res->gpa = nw_gpa(0);
	res->hpa = nw_hpa(0);
	res->guest_page_size = 0;
	res->s2_page_size = 0;
	res->rights = 0;
	res->s2_rights = 0;
	res->leaf_entry = 0;
	res->memory_type = 0;
	res->guest_pat_index = 0;
	res->leaf_level = 0;
	res->fault_level = 0;
	res->error_code = 0;
	res->cr2 = 0;
	res->exit_qualification = 0;
	res->fault_gpa = nw_gpa(0);
	res->gla_valid = false;
	res->exitinfo1 = 0;
	res->exitinfo2 = 0;
	res->gp_reason = NW_GP_NONE;
	res->s2_on_table = false;
	res->rv_trap = (struct nw_rv_trap){ 0 };
	res->abort_fault = NW_S2_FAULT_NONE;
	res->esr = 0;
	res->far = 0;
	res->hpfar = 0;
	res->hpfar_valid = false;
	res->arm64_memattr = (struct nw_arm64_memattr){ .type = NW_ARM64_MEM_NONE };
	res->refs = 0;
	res->ad_writes = 0;
	res->recorded = false;
	res->start_level = 0;
}

/* Starts the per-level record: each step's own fields zero and the stage-2
 * records marked unused (refs 0). The stage-2 records themselves are not
 * cleared: a walk fills the ones it uses. */
void nw_walk_record_init(struct nw_walk_result *res);

/* Both: what the reference walker and the PDPTE load use (they always record). */
void nw_walk_result_init(struct nw_walk_result *res, enum nw_paging_mode mode, nw_gva_t gva);

/* Records a stage-2 refusal of gpa (a guest-table access when table, ad_write
 * when it was the write of a guest A/D flag) as the outcome. */
void nw_walk_s2_fault(struct nw_walk_ctx *ctx, const struct nw_s2_result *s2, nw_gpa_t gpa, bool table, bool ad_write,
		      int level);

/* Records that nothing backs the host address of gpa. */
void nw_walk_no_memory(struct nw_walk_ctx *ctx, nw_gpa_t gpa, int level);

/* EPTP bit 6: with EPT A/D on, every guest paging-structure access is an EPT
 * write (Vol. 3C §29.3.5) but the loads of the PAE PDPTE registers by MOV to
 * CR3, which "are treated as reads" (§29.3.3.2): linear is false only for them. */
static inline bool nw_walk_is_ept_table_write(const struct nw_walk_config *config, bool linear)
{
	return config->stage2.kind == NW_STAGE2_EPT && config->stage2.ept->config.ad && linear;
}

/* Nested paging always has A/D, so the nested walk checks every guest
 * page-table access as a user-mode write (APM Vol. 2 §15.25.5; KVM walks it
 * with PFERR_WRITE_MASK | PFERR_USER_MASK, QEMU reports W in EXITINFO1). */
static inline bool nw_walk_is_table_access_a_write(const struct nw_walk_config *config, bool linear)
{
	return config->stage2.kind == NW_STAGE2_NPT || nw_walk_is_ept_table_write(config, linear);
}

/* Translates the size bytes at gpa through the second stage for this walk. Inline (as are the
 * two below): the 2-D walk does this up to 35 times per access. */
static inline void nw_walk_s2_translate(const struct nw_walk_ctx *ctx, nw_gpa_t gpa, enum nw_access_type type,
					bool table, uint32_t size, struct nw_s2_result *s2)
{
	struct nw_s2_request req = {
		.gpa = gpa,
		.type = table && nw_walk_is_table_access_a_write(ctx->config, ctx->linear) ? NW_ACCESS_WRITE : type,
		.user = ctx->user,
		.paging_structure = table,
		.lookup_only = (ctx->flags & NW_WALK_LOOKUP) != 0,
		.size = size,
	};

	nw_stage2_translate(&ctx->config->stage2, &req, s2);
}

/* Reads the guest paging-structure entry of bytes (4 or 8) at gpa for level:
 * translates gpa through the second stage as a paging-structure read, counts
 * the references, records everything in res->steps[level], and reads the
 * entry through the HAL. On a stage-2 fault or unbacked memory sets the outcome
 * and returns false. */
static inline bool nw_walk_read_entry(struct nw_walk_ctx *ctx, nw_gpa_t table, unsigned index, unsigned bytes,
				      int level, uint64_t *entry)
{
	struct nw_walk_step *step = &ctx->res->steps[level];
	nw_gpa_t gpa = nw_gpa(table.val + (uint64_t)index * bytes);
	const void *ptr;

	step->table_gpa = table;
	step->index = index;
	nw_walk_s2_translate(ctx, gpa, NW_ACCESS_READ, true, bytes, &step->s2);
	ctx->res->refs += step->s2.refs;
	if (step->s2.status != NW_S2_OK) {
		nw_walk_s2_fault(ctx, &step->s2, gpa, true, false, level);
		return false;
	}
	step->table_hpa = nw_hpa(step->s2.hpa.val - (uint64_t)index * bytes);
	ptr = nw_hal_phys_to_virt(ctx->config->hal, step->s2.hpa);
	if (!ptr) {
		nw_walk_no_memory(ctx, gpa, level);
		return false;
	}
	*entry = bytes == 4 ? *(const volatile uint32_t *)ptr : *(const volatile uint64_t *)ptr;
	step->entry = *entry;
	step->read = true;
	ctx->res->refs++;
	return true;
}

/* ORs set (A, or A|D) into the guest entry at gpa, read at level. Setting a
 * guest A/D flag is a write to the entry's guest-physical address, so the
 * second stage checks it as a write (Vol. 3C §29.3.3.2). Returns false with
 * the outcome set when the second stage refuses it or nothing backs the entry. */
bool nw_walk_set_flags_at(struct nw_walk_ctx *ctx, nw_gpa_t gpa, int level, unsigned bytes, uint64_t set);

/* The same, clearing clear and setting set (a hardware dirty-state update
 * clears AArch64 AP[2]): one write of the entry. */
bool nw_walk_update_at(struct nw_walk_ctx *ctx, nw_gpa_t gpa, int level, unsigned bytes, uint64_t clear,
		       uint64_t set);

/* nw_walk_set_flags_at for the entry recorded in res->steps[level]. */
bool nw_walk_set_flags(struct nw_walk_ctx *ctx, int level, unsigned bytes, uint64_t set);

/* Translates the final guest-physical address with the access's own type
 * into s2 and completes an OK result (HPA, stage-2 page size, memory type and
 * rights), or sets the stage-2 outcome. */
static inline void nw_walk_finish_into(struct nw_walk_ctx *ctx, nw_gpa_t gpa, struct nw_s2_result *s2)
{
	struct nw_walk_result *res = ctx->res;

	nw_walk_s2_translate(ctx, gpa, ctx->access->type, false, ctx->access->size, s2);
	res->refs += s2->refs;
	if (s2->status != NW_S2_OK) {
		nw_walk_s2_fault(ctx, s2, gpa, false, false, 0);
		return;
	}
	res->outcome = NW_OUTCOME_OK;
	res->gpa = gpa;
	res->hpa = s2->hpa;
	res->s2_page_size = s2->page_size;
	res->memory_type = s2->memory_type;
	res->s2_rights = s2->rights;
}

/* The same, recorded in res->final_s2. */
static inline void nw_walk_finish(struct nw_walk_ctx *ctx, nw_gpa_t gpa)
{
	nw_walk_finish_into(ctx, gpa, &ctx->res->final_s2);
}

/* A #PF outcome with its error code and CR2. */
void nw_walk_page_fault(struct nw_walk_ctx *ctx, uint32_t error_code, int level);

/* A #GP outcome. */
void nw_walk_general_protection(struct nw_walk_result *res, enum nw_gp_reason reason);

#endif
