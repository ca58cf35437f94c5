/* `translate --gva` on a riscv64 scenario (translate_print.h): the VS-stage walk (nw_rv_vs_walk) under the
 * scenario's vsatp, vsstatus, henvcfg and privilege, every VS-stage PTE access and the final guest-physical
 * address through the G-stage. A guest-page fault the address space explains is resolved as the hypervisor would:
 * a lazy page populated and the walk retried, an MMIO or ROM region's final access its exit. The answer: the
 * translation, a page fault taken to VS-mode (scause 12/13/15, stval), a guest-page fault taken to HS-mode
 * (scause 20/21/23, stval, htval, htinst) or an access fault (scause 1/5/7). */
#include <stdio.h>
#include <string.h>

#include <nestwalk/riscv_vs.h>

#include "cli/cli.h"
#include "cli/translate_print.h"
#include "io/json_out.h"
#include "replay/walk_print.h"

static const char *const accesses[] = { "read", "write", "fetch" };

static void vs_walk(const struct nw_walk_config *config, const void *cpu, const struct nw_access *access,
		    unsigned flags, struct nw_walk_result *res)
{
	nw_rv_vs_walk(config, cpu, access, flags, res);
}

/* A guest-page fault is what a lazy page, an MMIO region or a write to ROM gives. */
static bool vs_retry(const struct nw_walk_result *res)
{
	return res->outcome == NW_OUTCOME_GUEST_PAGE_FAULT;
}

static bool paged(const struct nw_gva_riscv_query *q)
{
	return q->scenario->riscv.vs.vsatp.mode != NW_RV_SATP_BARE;
}

static void print_text(FILE *out, const struct nw_gva_riscv_query *q, const struct nw_walk_result *res,
		       const char *outcome)
{
	const struct nw_rv_trap *trap = &res->rv_trap;
	char rights[NW_RIGHTS_TEXT];

	static const char *const modes[] = {
		[NW_RV_SATP_SV39] = "Sv39", [NW_RV_SATP_SV48] = "Sv48", [NW_RV_SATP_SV57] = "Sv57"
	};
	const struct nw_rv_vs_cpu *vs = &q->scenario->riscv.vs;

	fprintf(out, "gva 0x%llx: %s of %llu byte(s) in %s-mode, vsatp %s\n", (unsigned long long)q->gva,
		accesses[q->access], (unsigned long long)q->size, vs->vu ? "VU" : "VS",
		paged(q) ? modes[vs->vsatp.mode] : "Bare (the guest virtual address is the guest-physical one)");
	switch (res->outcome) {
	case NW_OUTCOME_OK:
		fprintf(out, "-> gpa 0x%llx -> hpa 0x%llx (", (unsigned long long)res->gpa.val,
			(unsigned long long)res->hpa.val);
		if (paged(q))
			fprintf(out, "VS-stage level-%d PTE 0x%llx of 0x%llx bytes, rights %s; ", res->leaf_level - 1,
				(unsigned long long)res->leaf_entry, (unsigned long long)res->guest_page_size,
				nw_guest_rights_text(res->rights, rights));
		fprintf(out, "G-stage leaf of 0x%llx bytes)\n", (unsigned long long)res->s2_page_size);
		break;
	case NW_OUTCOME_PAGE_FAULT:
		fprintf(out, "page fault taken to VS-mode: scause %llu, stval 0x%llx\n",
			(unsigned long long)trap->scause, (unsigned long long)trap->stval);
		break;
	default:
		fprintf(out,
			"%s taken to HS-mode on the %s: scause %llu, stval 0x%llx, htval 0x%llx, htinst 0x%llx "
			"(gpa 0x%llx)\n",
			res->outcome == NW_OUTCOME_ACCESS_FAULT ? "access fault" : "guest-page fault",
			res->s2_on_table ? "VS-stage PTE access" : "final access", (unsigned long long)trap->scause,
			(unsigned long long)trap->stval, (unsigned long long)trap->htval,
			(unsigned long long)trap->htinst, (unsigned long long)res->fault_gpa.val);
		if (strcmp(outcome, "guest_page_fault") && strcmp(outcome, "access_fault"))
			fprintf(out, "outcome %s: %s\n", outcome,
				!strcmp(outcome, "mmio")        ? "the hypervisor emulates the device"
				: !strcmp(outcome, "rom_write") ? "the hypervisor drops the write"
								: "the simulated host had no frame for a lazy page");
		break;
	}
}

static void print_json(FILE *out, const struct nw_gva_riscv_query *q, const struct nw_walk_result *res,
		       const char *outcome)
{
	const struct nw_rv_trap *trap = &res->rv_trap;

	fprintf(out, "{%s\"outcome\": \"%s\", \"arch\": \"riscv64\", \"gva\": \"0x%llx\", \"privilege\": \"%s\"",
		NW_JSON_SCHEMA_MEMBER, outcome, (unsigned long long)q->gva, q->scenario->riscv.vs.vu ? "vu" : "vs");
	if (res->outcome == NW_OUTCOME_OK) {
		nw_walk_print_json_translation(out, res);
		if (paged(q))
			fprintf(out, ", \"level\": %d, \"pte\": \"0x%llx\"", res->leaf_level - 1,
				(unsigned long long)res->leaf_entry);
	} else {
		fprintf(out, ", \"scause\": %llu, \"stval\": \"0x%llx\"", (unsigned long long)trap->scause,
			(unsigned long long)trap->stval);
	}
	if (res->outcome == NW_OUTCOME_GUEST_PAGE_FAULT || res->outcome == NW_OUTCOME_ACCESS_FAULT)
		fprintf(out,
			", \"htval\": \"0x%llx\", \"htinst\": \"0x%llx\", \"fault_gpa\": \"0x%llx\", "
			"\"vs_pte\": %s",
			(unsigned long long)trap->htval, (unsigned long long)trap->htinst,
			(unsigned long long)res->fault_gpa.val, res->s2_on_table ? "true" : "false");
	if (!strcmp(outcome, "mmio") || !strcmp(outcome, "rom_write"))
		fprintf(out, ", \"write\": %s", q->access == NW_ACCESS_WRITE ? "true" : "false");
	fprintf(out, ", \"refs\": %u, \"ad_writes\": %u, \"size\": %llu", res->refs, res->ad_writes,
		(unsigned long long)q->size);
	nw_gva_print_registers(out, q->scenario, true);
	fputs("}\n", out);
}

int nw_gva_translate_riscv(const struct nw_gva_riscv_query *q, const struct nw_replay_target *t)
{
	const struct nw_access access = { .gva = nw_gva(q->gva), .size = (uint32_t)q->size, .type = q->access };
	const struct nw_gva_walker walker = { .walk = vs_walk, .retry = vs_retry, .cpu = &q->scenario->riscv.vs };
	struct nw_aspace_exit exit;
	struct nw_walk_result res;
	const char *outcome;

	nw_gva_walk(t, &walker, &access, &res, &exit);
	outcome = nw_gva_outcome(&res, &exit, NW_OUTCOME_GUEST_PAGE_FAULT);
	if (q->json)
		print_json(q->out, q, &res, outcome);
	else
		print_text(q->out, q, &res, outcome);
	return nw_gva_exit_status(&exit);
}
