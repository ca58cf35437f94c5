/* Walk outcomes as JSON and as an --explain listing (walk_print.h). */
#include "replay/walk_print.h"
#include "replay/arm64_attr_print.h"

#include <inttypes.h>
#include <string.h>

#include <nestwalk/arm64_s2.h>
#include <nestwalk/paging_rules.h>
#include <nestwalk/pt_build.h>

static const char *gp_reason_name(enum nw_gp_reason reason)
{
	switch (reason) {
	case NW_GP_NONE: return "none";
	case NW_GP_NONCANONICAL: return "noncanonical";
	case NW_GP_PDPTE_RSVD: return "pdpte_reserved";
	}
	return "unknown";
}

const char *nw_memory_type_name(unsigned type)
{
	static const char *const names[8] = { "UC", "WC", "reserved2", "reserved3", "WT", "WP", "WB", "UC-" };

	return names[type & 7];
}

const char *nw_arm64_memattr_name(unsigned memattr)
{
	static const char *const names[16] = {
		"Device-nGnRnE", "Device-nGnRE", "Device-nGRE", "Device-GRE",
		"reserved", "Normal-NC", "Normal-oNC-iWT", "Normal-oNC-iWB",
		"reserved", "Normal-oWT-iNC", "Normal-WT", "Normal-oWT-iWB",
		"reserved", "Normal-oWB-iNC", "Normal-oWB-iWT", "Normal-WB",
	};

	return names[memattr & 15];
}

const char *nw_arm64_s2ap_text(uint64_t entry)
{
	static const char *const names[4] = { "--", "r-", "-w", "rw" };

	return names[(entry >> 6) & 3];
}

const char *nw_guest_rights_text(uint32_t rights, char out[NW_RIGHTS_TEXT])
{
	out[0] = 'r'; /* a present translation reads (SDM Vol. 3A §4.6.1) */
	out[1] = (rights & NW_WALK_RIGHT_W) ? 'w' : '-';
	out[2] = (rights & NW_WALK_RIGHT_X) ? 'x' : '-';
	out[3] = (rights & NW_WALK_RIGHT_U) ? 'u' : '-';
	out[4] = 0;
	return out;
}

const char *nw_s2_rights_text(uint32_t rights, char out[NW_RIGHTS_TEXT])
{
	out[0] = (rights & NW_S2_RIGHT_R) ? 'r' : '-';
	out[1] = (rights & NW_S2_RIGHT_W) ? 'w' : '-';
	out[2] = (rights & NW_S2_RIGHT_X) ? 'x' : '-';
	out[3] = (rights & NW_S2_RIGHT_UX) ? 'u' : '-';
	out[4] = 0;
	return out;
}

/* Only the members an outcome has a value for (docs/json.md): a fault has no translation, a translation no
 * fault. */
void nw_walk_print_json(FILE *out, const struct nw_walk_result *res)
{
	nw_walk_print_json_as(out, res, nw_outcome_name(res->outcome));
}

void nw_walk_print_json_as(FILE *out, const struct nw_walk_result *res, const char *outcome)
{
	enum nw_outcome o = res->outcome;
	bool s2_fault = o == NW_OUTCOME_EPT_VIOLATION || o == NW_OUTCOME_EPT_MISCONFIG || o == NW_OUTCOME_NPF;
	char rights[NW_RIGHTS_TEXT];

	fprintf(out, "{\"outcome\": \"%s\", \"mode\": \"%s\", \"gva\": \"0x%" PRIx64 "\"", outcome,
		nw_paging_mode_name(res->mode), res->gva.val);
	if (o == NW_OUTCOME_OK)
		fprintf(out, ", \"gpa\": \"0x%" PRIx64 "\", \"hpa\": \"0x%" PRIx64 "\", \"guest_page_size\": \"0x%"
			     PRIx64 "\", \"s2_page_size\": \"0x%" PRIx64 "\", \"leaf_level\": %d, \"rights\": \"%s\", "
			     "\"memory_type\": \"%s\", \"guest_pat_index\": %u",
			res->gpa.val, res->hpa.val, res->guest_page_size, res->s2_page_size, res->leaf_level,
			nw_guest_rights_text(res->rights, rights), nw_memory_type_name(res->memory_type),
			res->guest_pat_index);
	if (o == NW_OUTCOME_PAGE_FAULT)
		fprintf(out, ", \"error_code\": \"0x%" PRIx32 "\", \"cr2\": \"0x%" PRIx64 "\"", res->error_code,
			res->cr2);
	if (o == NW_OUTCOME_EPT_VIOLATION)
		fprintf(out, ", \"exit_qualification\": \"0x%" PRIx64 "\", \"gla_valid\": %s", res->exit_qualification,
			res->gla_valid ? "true" : "false");
	if (o == NW_OUTCOME_NPF)
		fprintf(out, ", \"exitinfo1\": \"0x%" PRIx64 "\", \"exitinfo2\": \"0x%" PRIx64 "\"", res->exitinfo1,
			res->exitinfo2);
	if (s2_fault || o == NW_OUTCOME_NO_MEMORY)
		fprintf(out, ", \"fault_gpa\": \"0x%" PRIx64 "\"", res->fault_gpa.val);
	if (s2_fault)
		fprintf(out, ", \"s2_on_table\": %s", res->s2_on_table ? "true" : "false");
	if (o != NW_OUTCOME_OK && o != NW_OUTCOME_GP)
		fprintf(out, ", \"fault_level\": %d", res->fault_level);
	if (o == NW_OUTCOME_GP)
		fprintf(out, ", \"gp_reason\": \"%s\"", gp_reason_name(res->gp_reason));
	fprintf(out, ", \"refs\": %u, \"ad_writes\": %u}", res->refs, res->ad_writes);
}

const char *nw_walk_level_name(enum nw_paging_mode mode, int level)
{
	const struct nw_pt_format *fmt = nw_paging_format(mode);

	if (nw_paging_is_pdpte_register(mode, (unsigned)level))
		return "PDPTE register";
	return fmt && level >= 1 && level <= fmt->top ? fmt->level[level].name : "?";
}

/* The stage-2 entries read for one guest-physical address, top level first. */
static void print_s2(FILE *out, const struct nw_s2_result *s2, const char *indent)
{
	char rights[NW_RIGHTS_TEXT];

	for (int level = NW_MAX_LEVELS; level >= 1; level--) {
		if (s2->tables[level].val == 0 && s2->entries[level] == 0)
			continue;
		fprintf(out, "%sstage-2 L%d  table hpa 0x%" PRIx64 "  entry 0x%016" PRIx64 "\n", indent, level,
			s2->tables[level].val, s2->entries[level]);
	}
	nw_s2_rights_text(s2->rights, rights);
	if (s2->status == NW_S2_OK)
		fprintf(out, "%s-> hpa 0x%" PRIx64 " (%s, stage-2 page 0x%" PRIx64 ")\n", indent, s2->hpa.val, rights,
			s2->page_size);
	else
		fprintf(out, "%s-> stage-2 %s at L%d (rights %s)\n", indent,
			s2->status == NW_S2_MISCONFIG ? "misconfiguration" : "violation", s2->level, rights);
}

static void print_error_code(FILE *out, uint32_t code)
{
	static const char *const bits[] = { "P", "W", "U", "RSVD", "I/D", "PK" };

	fprintf(out, "0x%" PRIx32 " (", code);
	for (unsigned i = 0, first = 1; i < 6; i++)
		if (code & (1u << i)) {
			fprintf(out, "%s%s", first ? "" : " ", bits[i]);
			first = 0;
		}
	fprintf(out, ")");
}

static void print_qualification(FILE *out, uint64_t qual)
{
	char rights[NW_RIGHTS_TEXT];

	nw_s2_rights_text((uint32_t)(qual >> NW_EPTQ_RIGHTS_SHIFT) & 0xf, rights);
	fprintf(out, "0x%" PRIx64 " (access%s%s%s, entry rights %s, %s%s%s%s%s)", qual,
		(qual & NW_EPTQ_READ) ? " read" : "", (qual & NW_EPTQ_WRITE) ? " write" : "",
		(qual & NW_EPTQ_FETCH) ? " fetch" : "", rights,
		(qual & NW_EPTQ_GLA_VALID) ? "linear address valid" : "no linear address",
		(qual & NW_EPTQ_GLA_VALID) ? ((qual & NW_EPTQ_FINAL) ? ", final translation" : ", guest paging structure")
					   : "",
		(qual & NW_EPTQ_USER) ? ", user page" : "", (qual & NW_EPTQ_RW) ? ", writable page" : "",
		(qual & NW_EPTQ_XD) ? ", execute-disable page" : "");
}

void nw_walk_print_explain(FILE *out, const struct nw_walk_result *res)
{
	char rights[NW_RIGHTS_TEXT];

	fprintf(out, "walk of gva 0x%" PRIx64 ", %s paging\n", res->gva.val, nw_paging_mode_name(res->mode));
	if (res->start_level)
		fprintf(out, "from the %s cache: the levels above were not read\n",
			nw_walk_level_name(res->mode, res->start_level));
	for (int level = NW_MAX_LEVELS; level >= 1; level--) {
		const struct nw_walk_step *step = &res->steps[level];

		if (!step->read && step->table_gpa.val == 0 && step->s2.refs == 0)
			continue;
		fprintf(out, "guest L%d %s[%u]  table gpa 0x%" PRIx64, level, nw_walk_level_name(res->mode, level),
			step->index, step->table_gpa.val);
		if (step->s2.refs)
			fprintf(out, " hpa 0x%" PRIx64, step->table_hpa.val);
		fprintf(out, "\n");
		if (step->s2.refs)
			print_s2(out, &step->s2, "    ");
		if (step->read) {
			nw_guest_rights_text(step->rights, rights);
			fprintf(out, "    entry 0x%016" PRIx64 "  rights so far %s\n", step->entry, rights);
		}
	}
	if (res->final_s2.refs || res->outcome == NW_OUTCOME_OK) {
		fprintf(out, "final gpa 0x%" PRIx64 "\n", res->outcome == NW_OUTCOME_OK ? res->gpa.val : res->fault_gpa.val);
		if (res->final_s2.refs)
			print_s2(out, &res->final_s2, "    ");
	}
	nw_walk_print_summary(out, res);
}

void nw_walk_print_summary(FILE *out, const struct nw_walk_result *res)
{
	char rights[NW_RIGHTS_TEXT];

	fprintf(out, "outcome %s, %u memory references, %u A/D writes\n", nw_outcome_name(res->outcome), res->refs,
		res->ad_writes);
	switch (res->outcome) {
	case NW_OUTCOME_OK:
		nw_guest_rights_text(res->rights, rights);
		fprintf(out, "  gpa 0x%" PRIx64 " hpa 0x%" PRIx64 ", guest page 0x%" PRIx64 " at L%d, stage-2 page 0x%" PRIx64
			     ", rights %s, memory type %s\n",
			res->gpa.val, res->hpa.val, res->guest_page_size, res->leaf_level, res->s2_page_size, rights,
			nw_memory_type_name(res->memory_type));
		break;
	case NW_OUTCOME_PAGE_FAULT:
		if (res->rv_trap.scause) { /* a RISC-V VS-stage page fault */
			fprintf(out, "  page fault at guest L%d, scause %" PRIu64 ", stval 0x%" PRIx64 "\n", res->fault_level,
				res->rv_trap.scause, res->rv_trap.stval);
			break;
		}
		fprintf(out, "  #PF at guest L%d, cr2 0x%" PRIx64 ", error code ", res->fault_level, res->cr2);
		print_error_code(out, res->error_code);
		fprintf(out, "\n");
		break;
	case NW_OUTCOME_EPT_VIOLATION:
		fprintf(out, "  gpa 0x%" PRIx64 " (%s), qualification ", res->fault_gpa.val,
			res->s2_on_table ? "guest paging structure" : "final access");
		print_qualification(out, res->exit_qualification);
		fprintf(out, "\n");
		break;
	case NW_OUTCOME_EPT_MISCONFIG:
		fprintf(out, "  gpa 0x%" PRIx64 ", EPT entry at L%d\n", res->fault_gpa.val, res->fault_level);
		break;
	case NW_OUTCOME_NPF:
		fprintf(out, "  EXITINFO1 0x%" PRIx64 " (", res->exitinfo1);
		print_error_code(out, (uint32_t)(res->exitinfo1 & 0x3f));
		fprintf(out, "%s), EXITINFO2 0x%" PRIx64 "\n",
			(res->exitinfo1 & NW_NPF_GUEST_TABLE) ? " guest page table" : " final address", res->exitinfo2);
		break;
	case NW_OUTCOME_GP:
		fprintf(out, "  #GP: %s\n", gp_reason_name(res->gp_reason));
		break;
	case NW_OUTCOME_NO_MEMORY:
		fprintf(out, "  nothing backs gpa 0x%" PRIx64 " (guest L%d)\n", res->fault_gpa.val, res->fault_level);
		break;
	case NW_OUTCOME_STAGE1_ABORT:
		fprintf(out, "  stage-1 abort at guest L%d, ESR_EL1 0x%" PRIx64 ", FAR_EL1 0x%" PRIx64 "\n",
			res->fault_level, res->esr, res->far);
		break;
	case NW_OUTCOME_STAGE2_ABORT:
		fprintf(out, "  stage-2 abort, ipa 0x%" PRIx64 " (%s), ESR_EL2 0x%" PRIx64 ", FAR_EL2 0x%" PRIx64 "\n",
			res->fault_gpa.val, res->s2_on_table ? "stage-1 table walk" : "final access", res->esr, res->far);
		break;
	case NW_OUTCOME_GUEST_PAGE_FAULT:
		fprintf(out, "  guest-page fault, gpa 0x%" PRIx64 " (%s), scause %" PRIu64 ", stval 0x%" PRIx64
			", htval 0x%" PRIx64 ", htinst 0x%" PRIx64 "\n", res->fault_gpa.val,
			res->s2_on_table ? "VS-stage table access" : "final access", res->rv_trap.scause, res->rv_trap.stval,
			res->rv_trap.htval, res->rv_trap.htinst);
		break;
	case NW_OUTCOME_ACCESS_FAULT:
		fprintf(out, "  access fault, scause %" PRIu64 ", stval 0x%" PRIx64 "\n", res->rv_trap.scause,
			res->rv_trap.stval);
		break;
	}
}

const char *nw_arm64_fault_name(enum nw_s2_fault fault)
{
	static const char *const names[] = {
		[NW_S2_FAULT_TRANSLATION] = "translation",
		[NW_S2_FAULT_ACCESS_FLAG] = "access_flag",
		[NW_S2_FAULT_PERMISSION] = "permission",
		[NW_S2_FAULT_ADDRESS_SIZE] = "address_size",
	};

	return names[fault];
}

/* The stage-2 descriptors read for one IPA, top level first, with the Arm ARM's levels. */
static void print_arm64_s2(FILE *out, const struct nw_s2_result *s2)
{
	for (int level = NW_MAX_LEVELS; level >= 1; level--)
		if (s2->tables[level].val || s2->entries[level])
			fprintf(out, "    stage-2 level %d  table pa 0x%llx  descriptor 0x%016llx\n",
				nw_arm64_s2_level(level), (unsigned long long)s2->tables[level].val,
				(unsigned long long)s2->entries[level]);
	if (s2->status == NW_S2_OK)
		fprintf(out, "    -> pa 0x%llx (stage-2 level-%d leaf of 0x%llx bytes, S2AP %s)\n",
			(unsigned long long)s2->hpa.val, nw_arm64_s2_level(s2->level),
			(unsigned long long)s2->page_size, nw_arm64_s2ap_text(s2->entry));
	else
		fprintf(out, "    -> stage-2 %s fault at level %d\n", nw_arm64_fault_name(s2->fault),
			nw_arm64_s2_level(s2->level));
}

/* --explain: each stage-1 descriptor read and its table's stage-2 translation, then the final IPA's. */
void nw_walk_print_explain_arm64(FILE *out, const struct nw_walk_result *res)
{
	char rights[NW_RIGHTS_TEXT];

	for (int level = NW_MAX_LEVELS; level >= 1; level--) {
		const struct nw_walk_step *step = &res->steps[level];

		if (!step->read && !step->s2.refs)
			continue;
		fprintf(out, "stage-1 level %d [%u]  table ipa 0x%llx", 4 - level, step->index,
			(unsigned long long)step->table_gpa.val);
		if (step->s2.status == NW_S2_OK)
			fprintf(out, " pa 0x%llx", (unsigned long long)step->table_hpa.val);
		fputc('\n', out);
		if (step->s2.refs)
			print_arm64_s2(out, &step->s2);
		if (step->read)
			fprintf(out, "    descriptor 0x%016llx  rights so far %s%s\n", (unsigned long long)step->entry,
				nw_guest_rights_text(step->rights, rights),
				(step->rights & NW_WALK_RIGHT_UX) ? ", EL0 execute" : "");
	}
	if (res->final_s2.refs) {
		fprintf(out, "final ipa 0x%llx\n",
			(unsigned long long)(res->outcome == NW_OUTCOME_OK ? res->gpa.val : res->fault_gpa.val));
		print_arm64_s2(out, &res->final_s2);
	}
}

void nw_walk_print_json_translation(FILE *out, const struct nw_walk_result *res)
{
	char rights[NW_RIGHTS_TEXT];

	fprintf(out,
		", \"gpa\": \"0x%llx\", \"hpa\": \"0x%llx\", \"guest_page_size\": \"0x%llx\", \"s2_page_size\": "
		"\"0x%llx\", \"rights\": \"%s\"",
		(unsigned long long)res->gpa.val, (unsigned long long)res->hpa.val,
		(unsigned long long)res->guest_page_size, (unsigned long long)res->s2_page_size,
		nw_guest_rights_text(res->rights, rights));
}

void nw_walk_print_json_arm64(FILE *out, const char *prefix, const struct nw_walk_result *res, const char *outcome,
			      bool el0, bool unprivileged, const uint64_t *mair)
{
	unsigned level = (unsigned)res->esr & NW_ARM64_FSC_LEVEL_MASK;

	fprintf(out,
		"{%s\"outcome\": \"%s\", \"arch\": \"aarch64\", \"gva\": \"0x%llx\", \"el\": %d, \"unprivileged\": %s",
		prefix, outcome, (unsigned long long)res->gva.val, el0 ? 0 : 1, unprivileged ? "true" : "false");
	if (res->outcome == NW_OUTCOME_OK) {
		nw_walk_print_json_translation(out, res);
		fprintf(out, ", \"el0_execute\": %s, \"memattr\": \"0x%x\"",
			(res->rights & NW_WALK_RIGHT_UX) ? "true" : "false", res->memory_type);
		if (res->leaf_level)
			fprintf(out, ", \"level\": %d, \"attr_index\": %u", 4 - res->leaf_level, res->guest_pat_index);
		if (res->leaf_level && mair)
			fprintf(out, ", \"mair_attr\": \"0x%x\"",
				(unsigned)(*mair >> (8 * res->guest_pat_index)) & 0xff);
		fputs(", \"attributes\": ", out);
		nw_arm64_attr_print_json(out, &res->arm64_memattr, true);
	} else if (res->outcome == NW_OUTCOME_STAGE1_ABORT) {
		fprintf(out, ", \"esr_el1\": \"0x%llx\", \"far_el1\": \"0x%llx\", \"fault\": \"%s\", \"level\": %u",
			(unsigned long long)res->esr, (unsigned long long)res->far,
			nw_arm64_fault_name(res->abort_fault), level);
	} else if (res->outcome == NW_OUTCOME_STAGE2_ABORT && strcmp(outcome, "no_memory")) {
		fprintf(out, ", \"esr_el2\": \"0x%llx\", \"far_el2\": \"0x%llx\"", (unsigned long long)res->esr,
			(unsigned long long)res->far);
		if (res->hpfar_valid)
			fprintf(out, ", \"hpfar_el2\": \"0x%llx\"", (unsigned long long)res->hpfar);
		fprintf(out, ", \"fault\": \"%s\", \"level\": %u, \"s1ptw\": %s", nw_arm64_fault_name(res->abort_fault),
			level, res->s2_on_table ? "true" : "false");
	}
	if (res->outcome != NW_OUTCOME_OK && res->outcome != NW_OUTCOME_STAGE1_ABORT)
		fprintf(out, ", \"fault_gpa\": \"0x%llx\"", (unsigned long long)res->fault_gpa.val);
	fprintf(out, ", \"refs\": %u, \"ad_writes\": %u", res->refs, res->ad_writes);
}
