/* `translate --gva` on an aarch64 scenario (translate_print.h): the stage-1 walk of the EL1&0 regime under the
 * scenario's EL1 registers and PSTATE, every stage-1 table read and the final IPA through its stage 2
 * (nw_arm64_walk). A stage-2 translation fault the address space explains is resolved as the hypervisor would:
 * a lazy page populated and the walk retried, an MMIO or ROM region's final access its exit. The answer: the
 * translation, a stage-1 abort taken to EL1 (ESR_EL1, FAR_EL1) or a stage-2 abort taken to EL2 (ESR_EL2 with
 * S1PTW, FAR_EL2, HPFAR_EL2 where the library fills it). */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nestwalk/arm64_memattr.h>
#include <nestwalk/arm64_s1.h>
#include <nestwalk/arm64_s2.h>

#include "cli/cli.h"
#include "cli/translate_print.h"
#include "io/json_out.h"
#include "replay/arm64_attr_print.h"
#include "replay/walk_print.h"
#include "scenario/scenario_keys.h"

static const char *const accesses[] = { "read", "write", "fetch" };

static void arm64_walk(const struct nw_walk_config *config, const void *cpu, const struct nw_access *access,
		       unsigned flags, struct nw_walk_result *res)
{
	nw_arm64_walk(config, cpu, access, flags, res);
}

/* A stage-2 translation fault is what a lazy page or an MMIO region gives. */
static bool arm64_retry(const struct nw_walk_result *res)
{
	return res->outcome == NW_OUTCOME_STAGE2_ABORT && res->abort_fault == NW_S2_FAULT_TRANSLATION;
}

void nw_gva_print_registers(FILE *out, const struct nw_scenario *sc, bool json)
{
	bool first = true;

	fputs(json ? ", \"registers\": {" : "registers:", out);
	for (size_t i = 0; i < NW_SCENARIO_CPU_KEYS; i++) {
		const struct nw_scenario_key *key = &nw_scenario_cpu_keys[i];
		unsigned long long value = *(const uint64_t *)(const void *)((const char *)sc + key->value);
		const char *from = ((const struct nw_scenario_pos *)(const void *)((const char *)sc + key->pos))->line
					   ? "scenario"
					   : "default";

		if (!(key->arches & NW_SCENARIO_ARCH_BIT(sc->arch)) || key->choices)
			continue; /* the other architectures' cpu keys, and what is not a register */
		if (json)
			fprintf(out, "%s\"%s\": {\"value\": \"0x%llx\", \"from\": \"%s\"}", first ? "" : ", ",
				key->name, value, from);
		else
			fprintf(out, "%s %s 0x%llx (%s)", first ? "" : ",", key->name, value, from);
		first = false;
	}
	fputs(json ? "}" : "\n", out);
}

static bool is_fwb(const struct nw_gva_arm64_query *q)
{
	return q->scenario->stage2.arm64.fwb;
}

/* --explain's steps to a translation's attributes (Arm ARM D8.5): stage 1's from the leaf's AttrIndx through
 * MAIR_EL1 (or AArch64.S1DisabledOutput's with stage 1 off), stage 2's MemAttr, and what the library made of the
 * two: S2CombineS1MemAttrs, or with HCR_EL2.FWB AArch64.S2ApplyFWBMemAttrs. */
static void print_attr_steps(FILE *out, const struct nw_gva_arm64_query *q, const struct nw_walk_result *res)
{
	const struct nw_scenario_arm64 *a = &q->scenario->arm64;
	unsigned s1_sh = (unsigned)(res->leaf_entry >> NW_ARM64_S1_SH_SHIFT) & 3;
	unsigned s2_sh = (unsigned)(res->final_s2.entry >> NW_ARM64_S2_SH_SHIFT) & 3, memattr = res->memory_type;
	struct nw_arm64_memattr s1, s2 = nw_arm64_s2_attrs(memattr, s2_sh);

	if (a->s1.enabled) {
		s1 = nw_arm64_mair_decode(a->mair_el1, res->guest_pat_index, s1_sh);
		fprintf(out, "attributes, stage 1: AttrIndx %u -> MAIR_EL1.Attr%u 0x%02x, SH 0b%u%u -> ",
			res->guest_pat_index, res->guest_pat_index,
			(unsigned)(a->mair_el1 >> (8 * res->guest_pat_index)) & 0xff, s1_sh >> 1, s1_sh & 1);
	} else {
		s1 = nw_arm64_s1_off_attrs(a->sctlr_el1, q->access == NW_ACCESS_FETCH);
		fputs("attributes, stage 1 off (AArch64.S1DisabledOutput) -> ", out);
	}
	nw_arm64_attr_print_text(out, &s1, true);
	fprintf(out, "\nattributes, stage 2: MemAttr 0x%x, SH 0b%u%u -> ", memattr, s2_sh >> 1, s2_sh & 1);
	if (is_fwb(q))
		fprintf(out, "%s under HCR_EL2.FWB\n", nw_arm64_memattr_fwb_name(memattr));
	else {
		nw_arm64_attr_print_text(out, &s2, false);
		fputc('\n', out);
	}
}

/* The translation's attributes and how they came to be (FEAT_S2FWB or not). */
static void print_attrs(FILE *out, const struct nw_gva_arm64_query *q, const struct nw_walk_result *res)
{
	if (q->explain)
		print_attr_steps(out, q, res);
	fputs(is_fwb(q) ? "attributes (HCR_EL2.FWB: stage 2's MemAttr applied to stage 1's, AArch64.S2ApplyFWBMemAttrs): "
			: "attributes (stage 1's and stage 2's combined, S2CombineS1MemAttrs): ",
	      out);
	nw_arm64_attr_print_text(out, &res->arm64_memattr, true);
	fputc('\n', out);
}

static void print_text(FILE *out, const struct nw_gva_arm64_query *q, const struct nw_walk_result *res,
		       const char *outcome)
{
	const struct nw_scenario_arm64 *a = &q->scenario->arm64;
	char rights[NW_RIGHTS_TEXT];
	unsigned level = (unsigned)res->esr & NW_ARM64_FSC_LEVEL_MASK;

	fprintf(out, "gva 0x%llx: %s of %llu byte(s) at EL%d%s", (unsigned long long)q->gva, accesses[q->access],
		(unsigned long long)q->size, q->el0 ? 0 : 1, q->unprivileged ? " (unprivileged, LDTR/STTR)" : "");
	fprintf(out, ", PSTATE.PAN %d, UAO %d, stage 1 %s\n", a->pan, a->uao, a->s1.enabled ? "on" : "off");
	if (q->explain) {
		nw_gva_print_registers(out, q->scenario, false);
		nw_walk_print_explain_arm64(out, res);
	}
	switch (res->outcome) {
	case NW_OUTCOME_OK:
		fprintf(out, "-> ipa 0x%llx -> pa 0x%llx (", (unsigned long long)res->gpa.val,
			(unsigned long long)res->hpa.val);
		if (res->leaf_level)
			fprintf(out, "stage-1 level-%d %s of 0x%llx bytes, AttrIndx %u = MAIR_EL1 byte 0x%02x, ",
				4 - res->leaf_level, res->leaf_level == 1 ? "page" : "block",
				(unsigned long long)res->guest_page_size, res->guest_pat_index,
				(unsigned)(a->mair_el1 >> (8 * res->guest_pat_index)) & 0xff);
		fprintf(out, "rights %s%s; stage-2 leaf of 0x%llx bytes, MemAttr 0x%x %s)\n",
			nw_guest_rights_text(res->rights, rights),
			(res->rights & NW_WALK_RIGHT_UX) ? ", EL0 execute" : "", (unsigned long long)res->s2_page_size,
			res->memory_type,
			is_fwb(q) ? nw_arm64_memattr_fwb_name(res->memory_type) : nw_arm64_memattr_name(res->memory_type));
		print_attrs(out, q, res);
		break;
	case NW_OUTCOME_STAGE1_ABORT:
		fprintf(out, "stage-1 abort taken to EL1: ESR_EL1 0x%llx, FAR_EL1 0x%llx (%s fault at level %u)\n",
			(unsigned long long)res->esr, (unsigned long long)res->far,
			nw_arm64_fault_name(res->abort_fault), level);
		break;
	case NW_OUTCOME_STAGE2_ABORT:
		fprintf(out,
			"stage-2 abort taken to EL2 on the %s: ESR_EL2 0x%llx (S1PTW %d), FAR_EL2 0x%llx, "
			"HPFAR_EL2 ",
			res->s2_on_table ? "stage-1 table walk" : "final access", (unsigned long long)res->esr,
			(res->esr & NW_ESR_S1PTW) != 0, (unsigned long long)res->far);
		if (res->hpfar_valid)
			fprintf(out, "0x%llx", (unsigned long long)res->hpfar);
		else
			fputs("UNKNOWN", out);
		fprintf(out, " (%s fault at level %u, ipa 0x%llx)\n", nw_arm64_fault_name(res->abort_fault), level,
			(unsigned long long)res->fault_gpa.val);
		if (strcmp(outcome, "stage2_abort"))
			fprintf(out, "outcome %s: %s\n", outcome,
				!strcmp(outcome, "mmio")        ? "the hypervisor emulates the device"
				: !strcmp(outcome, "rom_write") ? "the hypervisor drops the write"
								: "the simulated host had no frame for a lazy page");
		break;
	default: /* no memory backs a table */
		fprintf(out, "outcome %s: nothing backs ipa 0x%llx\n", outcome, (unsigned long long)res->fault_gpa.val);
		break;
	}
}

static void print_json(FILE *out, const struct nw_gva_arm64_query *q, const struct nw_walk_result *res,
		       const char *outcome, const char *explain)
{
	const struct nw_scenario_arm64 *a = &q->scenario->arm64;
	bool exit = !strcmp(outcome, "mmio") || !strcmp(outcome, "rom_write");

	nw_walk_print_json_arm64(out, NW_JSON_SCHEMA_MEMBER, res, outcome, q->el0, q->unprivileged, &a->mair_el1);
	fprintf(out, ", \"size\": %llu, \"fwb\": %s", (unsigned long long)q->size, is_fwb(q) ? "true" : "false");
	if (exit)
		fprintf(out, ", \"write\": %s", q->access == NW_ACCESS_WRITE ? "true" : "false");
	nw_gva_print_registers(out, q->scenario, true);
	if (explain) {
		fputs(", \"explain\": ", out);
		nw_json_string(out, explain);
	}
	fputs("}\n", out);
}

int nw_gva_translate_arm64(const struct nw_gva_arm64_query *q, const struct nw_replay_target *t)
{
	const struct nw_scenario_arm64 *a = &q->scenario->arm64;
	const struct nw_arm64_cpu cpu = { .s1 = a->s1, .el0 = q->el0, .pan = a->pan, .uao = a->uao };
	const struct nw_access access = {
		.gva = nw_gva(q->gva), .size = (uint32_t)q->size, .type = q->access, .unprivileged = q->unprivileged
	};
	struct nw_aspace_exit exit;
	struct nw_walk_result res;
	const char *outcome;
	char *explain = NULL;
	size_t len = 0;
	const struct nw_gva_walker walker = { .walk = arm64_walk, .retry = arm64_retry, .cpu = &cpu };

	nw_gva_walk(t, &walker, &access, &res, &exit);
	outcome = nw_gva_outcome(&res, &exit, NW_OUTCOME_STAGE2_ABORT);
	if (!q->json) {
		print_text(q->out, q, &res, outcome);
	} else {
		if (q->explain) {
			FILE *mem = open_memstream(&explain, &len);

			if (!mem) {
				fprintf(stderr, "nestwalk translate: out of memory\n");
				return NW_EXIT_BAD_INPUT;
			}
			print_text(mem, q, &res, outcome);
			fclose(mem);
		}
		print_json(q->out, q, &res, outcome, explain);
		free(explain);
	}
	return nw_gva_exit_status(&exit);
}
