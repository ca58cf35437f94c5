/* `nestwalk translate SCENARIO --gpa ADDR|--gva ADDR --access read|write|fetch
 * [--cpl N] [--ac] [--implicit] [--size N] [--json] [--explain [--svg FILE]]`: one
 * translation on the scenario's VM. --gpa goes through the second stage only;
 * --gva is the full two-dimensional walk. A stage-2 fault is first offered to
 * the address space: a lazy page is populated and the access retried, an MMIO
 * or ROM region turns it into that exit. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nestwalk/arm64_s2.h>
#include <nestwalk/riscv_gstage.h>
#include <nestwalk/walk.h>
#include <nestwalk/x86_pte.h>

#include "cli/cli.h"
#include "cli/translate_print.h"
#include "io/file_out.h"
#include "replay/replay.h"
#include "replay/walk_print.h"
#include "replay/walk_svg.h"
#include "scenario/scenario_keys.h"

/* A walk touches at most 5 guest tables and the final page, each of which a
 * lazy region may populate once. */
#define MAX_RETRIES 8

enum {
	OPT_GPA,
	OPT_GVA,
	OPT_ACCESS,
	OPT_CPL,
	OPT_AC,
	OPT_IMPLICIT,
	OPT_EL,
	OPT_UNPRIVILEGED,
	OPT_SIZE,
	OPT_JSON,
	OPT_EXPLAIN,
	OPT_SVG
};

static const struct nw_cli_option options[] = {
	[OPT_GPA] = { "--gpa", "ADDR", "a guest-physical address: the second stage alone" },
	[OPT_GVA] = { "--gva", "ADDR", "a guest-virtual address: the two-dimensional walk" },
	[OPT_ACCESS] = { "--access", "read|write|fetch", "the kind of access (required)" },
	[OPT_CPL] = { "--cpl", "N", "x86: the privilege level of a --gva access, 0 to 3 (default 0)" },
	[OPT_AC] = { "--ac", NULL, "x86: RFLAGS.AC set for the --gva access (SMAP)" },
	[OPT_IMPLICIT] = { "--implicit", NULL, "x86: an implicit supervisor-mode --gva access (GDT, IDT, TSS)" },
	[OPT_EL] = { "--el", "N", "aarch64: the Exception level of a --gva access, 0 or 1 (default PSTATE's)" },
	[OPT_UNPRIVILEGED] = { "--unprivileged", NULL, "aarch64: an LDTR/STTR-class --gva load or store" },
	[OPT_SIZE] = { "--size", "N", "bytes accessed, 1 to 4096 (default 1); may cross a page" },
	[OPT_JSON] = { "--json", NULL, "one JSON object (docs/json.md) instead of text" },
	[OPT_EXPLAIN] = { "--explain", NULL, "every memory reference of the --gva walk (with --json: a member)" },
	[OPT_SVG] = { "--svg", "FILE", "with --explain: the walk drawn as a grid, one numbered cell per reference" },
	{ NULL, NULL, NULL },
};

const struct nw_cli_usage nw_usage_translate = {
	.command = "translate",
	.synopsis = "SCENARIO (--gpa ADDR | --gva ADDR [--cpl N] [--ac] [--implicit] [--el N] [--unprivileged] "
		    "[--explain [--svg FILE]]) --access read|write|fetch [--size N] [--json]",
	.summary = "translate one GPA (second stage) or GVA (2-D walk) on a scenario",
	.operands = { "SCENARIO" },
	.required = 1,
	.options = options,
};

struct options {
	const char *scenario;
	bool has_gpa;
	uint64_t addr;
	uint64_t size;
	enum nw_access_type access;
	unsigned cpl;
	int el; /* aarch64: --el, or -1 for PSTATE's */
	bool ac, implicit, unprivileged, json, explain;
	const char *svg; /* where to draw the walk; NULL: not drawn */
};

static const char *const accesses[] = { "read", "write", "fetch" };

/* 0, or -1 refused (cli.h's one shape). */
static int parse_options(const struct nw_cli_args *a, struct options *opt)
{
	/* A guest-physical access has no privilege level, RFLAGS.AC or walk to explain. */
	static const unsigned gva_only[] = { OPT_CPL, OPT_AC, OPT_IMPLICIT, OPT_EL,
					     OPT_UNPRIVILEGED, OPT_EXPLAIN, OPT_SVG };
	const struct nw_cli_usage *u = &nw_usage_translate;
	unsigned access;
	uint64_t cpl = 0, el = 0;

	*opt = (struct options){ .scenario = a->operand[0], .size = 1, .has_gpa = a->value[OPT_GPA] != NULL,
				 .ac = a->value[OPT_AC], .implicit = a->value[OPT_IMPLICIT], .json = a->value[OPT_JSON],
				 .unprivileged = a->value[OPT_UNPRIVILEGED], .el = a->value[OPT_EL] ? 0 : -1,
				 .explain = a->value[OPT_EXPLAIN], .svg = a->value[OPT_SVG] };
	if (nw_cli_conflict(u, a, OPT_GPA, OPT_GVA))
		return -1;
	if (!a->value[OPT_GPA] && !a->value[OPT_GVA]) {
		nw_cli_fail(u, "--gpa or --gva", "missing");
		return -1;
	}
	if (!a->value[OPT_ACCESS]) {
		nw_cli_fail(u, "--access", "missing");
		return -1;
	}
	for (unsigned i = 0; i < sizeof(gva_only) / sizeof(gva_only[0]); i++)
		if (nw_cli_conflict(u, a, gva_only[i], OPT_GPA))
			return -1;
	/* The picture is of the walk --explain lists, and standard output carries the answer. */
	if (opt->svg && !opt->explain) {
		nw_cli_fail(u, "--svg", "draws the walk --explain lists: give --explain too");
		return -1;
	}
	if (opt->svg && !strcmp(opt->svg, "-")) {
		nw_cli_fail(u, "--svg", "standard output carries the answer: name a file");
		return -1;
	}
	if (nw_cli_number(u, a, opt->has_gpa ? OPT_GPA : OPT_GVA, 0, UINT64_MAX, &opt->addr) ||
	    nw_cli_choice(u, a, OPT_ACCESS, accesses, 3, &access) ||
	    (a->value[OPT_CPL] && nw_cli_number(u, a, OPT_CPL, 0, 3, &cpl)) ||
	    (a->value[OPT_EL] && nw_cli_number(u, a, OPT_EL, 0, 1, &el)) ||
	    (a->value[OPT_SIZE] && nw_cli_number(u, a, OPT_SIZE, 1, NW_PAGE_SIZE, &opt->size)))
		return -1;
	opt->access = (enum nw_access_type)access;
	opt->cpl = (unsigned)cpl;
	if (opt->el >= 0)
		opt->el = (int)el;
	if (opt->unprivileged && opt->access == NW_ACCESS_FETCH) {
		nw_cli_fail(u, "--unprivileged", "LDTR/STTR are loads and stores: not with --access fetch");
		return -1;
	}
	return 0;
}

void nw_gpa_print_exit(const struct nw_gpa_query *q, const struct nw_aspace_exit *exit, bool populated)
{
	bool mmio = exit->kind == NW_ASPACE_FAULT_MMIO;

	if (q->json)
		fprintf(q->out, "{%s\"outcome\": \"%s\", \"gpa\": \"0x%llx\", \"fault_gpa\": \"0x%llx\", "
			"\"size\": %llu, \"write\": %s, \"populated\": %s}", q->top ? NW_JSON_SCHEMA_MEMBER : "",
			nw_trace_outcome_name(mmio ? NW_TRACE_OUT_MMIO : NW_TRACE_OUT_ROM_WRITE),
			(unsigned long long)q->gpa, (unsigned long long)exit->gpa.val, (unsigned long long)exit->size,
			exit->is_write ? "true" : "false", populated ? "true" : "false");
	else
		fprintf(q->out, "gpa 0x%llx: %s (%s of %llu byte(s)): the hypervisor %s", (unsigned long long)q->gpa,
			mmio ? "MMIO exit" : "ROM-write exit", exit->is_write ? "write" : "read",
			(unsigned long long)exit->size, mmio ? "emulates the device" : "drops the write");
	fputc('\n', q->out);
}

/* A second-stage fault's JSON object: the members every fault has, then those of its kind. */
static void print_gpa_fault_json(const struct nw_gpa_query *q, const struct nw_s2_result *res, const char *outcome,
				 const char *members)
{
	fprintf(q->out, "{%s\"outcome\": \"%s\", \"gpa\": \"0x%llx\", \"fault_gpa\": \"0x%llx\"%s, "
		"\"fault_level\": %d, \"entry\": \"0x%llx\", \"refs\": %u}\n",
		q->top ? NW_JSON_SCHEMA_MEMBER : "", outcome, (unsigned long long)q->gpa, (unsigned long long)q->gpa,
		members, res->level, (unsigned long long)res->entry, res->refs);
}

const char *nw_gpa_fault_outcome(enum nw_stage2_kind format, const struct nw_s2_result *res)
{
	if (format == NW_STAGE2_ARM64)
		return "stage2_abort";
	if (format == NW_STAGE2_RISCV)
		return res->fault == NW_S2_FAULT_ACCESS ? "access_fault" : "guest_page_fault";
	if (res->status == NW_S2_MISCONFIG)
		return "ept_misconfig";
	return format == NW_STAGE2_NPT ? "npf" : "ept_violation";
}

void nw_gpa_print_result(const struct nw_gpa_query *q, const struct nw_aspace *aspace, const struct nw_s2_result *res,
			 bool populated)
{
	bool npt = aspace->config.format == NW_STAGE2_NPT;
	/* A guest-physical access has no guest-linear address (bit 7 of the qualification clear). */
	const struct nw_s2_fault_access access = { .type = q->access };
	unsigned long long gpa = (unsigned long long)q->gpa;
	char rights[NW_RIGHTS_TEXT], members[128];

	if (aspace->config.format == NW_STAGE2_ARM64) {
		nw_gpa_print_arm64(q, res, populated, aspace->arm64.config.fwb);
		return;
	}
	if (aspace->config.format == NW_STAGE2_RISCV) {
		nw_gpa_print_riscv(q, res, populated);
		return;
	}
	if (res->status == NW_S2_OK) {
		nw_s2_rights_text(res->rights, rights);
		if (q->json)
			fprintf(q->out, "{%s\"outcome\": \"ok\", \"gpa\": \"0x%llx\", \"hpa\": \"0x%llx\", "
				"\"s2_page_size\": \"0x%llx\", \"leaf_level\": %d, \"rights\": \"%s\", "
				"\"memory_type\": \"%s\", \"refs\": %u, \"populated\": %s}\n",
				q->top ? NW_JSON_SCHEMA_MEMBER : "", gpa, (unsigned long long)res->hpa.val,
				(unsigned long long)res->page_size, res->level, rights,
				nw_memory_type_name(res->memory_type), res->refs, populated ? "true" : "false");
		else if (aspace->config.format == NW_STAGE2_NONE)
			fprintf(q->out, "gpa 0x%llx -> hpa 0x%llx (no second stage: the same address, %s, %s)\n", gpa,
				(unsigned long long)res->hpa.val, rights, nw_memory_type_name(res->memory_type));
		else
			fprintf(q->out, "gpa 0x%llx -> hpa 0x%llx (level-%d leaf, 0x%llx-byte page, %s, %s%s)\n", gpa,
				(unsigned long long)res->hpa.val, res->level, (unsigned long long)res->page_size, rights,
				nw_memory_type_name(res->memory_type), populated ? ", populated on first touch" : "");
		return;
	}
	if (npt) {
		uint64_t info = nw_npf_exitinfo1(&aspace->npt, res, &access);

		snprintf(members, sizeof(members), ", \"exitinfo1\": \"0x%llx\", \"exitinfo2\": \"0x%llx\"",
			 (unsigned long long)info, gpa);
		if (q->json)
			print_gpa_fault_json(q, res, "npf", members);
		else
			fprintf(q->out, "gpa 0x%llx: #NPF exitinfo1 0x%llx exitinfo2 0x%llx (level-%d entry 0x%llx)\n",
				gpa, (unsigned long long)info, gpa, res->level, (unsigned long long)res->entry);
		return;
	}
	if (res->status == NW_S2_MISCONFIG) {
		if (q->json)
			print_gpa_fault_json(q, res, "ept_misconfig", "");
		else
			fprintf(q->out, "gpa 0x%llx: EPT misconfiguration at the level-%d entry 0x%llx\n", gpa,
				res->level, (unsigned long long)res->entry);
		return;
	}
	snprintf(members, sizeof(members), ", \"exit_qualification\": \"0x%llx\"",
		 (unsigned long long)nw_ept_violation_qualification(&aspace->ept, res, &access));
	if (q->json)
		print_gpa_fault_json(q, res, "ept_violation", members);
	else
		fprintf(q->out, "gpa 0x%llx: EPT violation, exit qualification 0x%llx (level-%d entry 0x%llx, "
			"rights %s)\n", gpa, (unsigned long long)nw_ept_violation_qualification(&aspace->ept, res, &access),
			res->level, (unsigned long long)res->entry, nw_s2_rights_text(res->rights, rights));
}

const char *nw_gva_outcome(const struct nw_walk_result *res, const struct nw_aspace_exit *exit,
			   enum nw_outcome s2_fault)
{
	if (res->outcome != s2_fault)
		return nw_outcome_name(res->outcome);
	if (exit->kind == NW_ASPACE_FAULT_NO_MEMORY)
		return "no_memory";
	/* Exits are for the final access: a guest table in device memory stays the fault the CPU takes. */
	if (!res->s2_on_table && exit->kind == NW_ASPACE_FAULT_MMIO)
		return "mmio";
	if (!res->s2_on_table && exit->kind == NW_ASPACE_FAULT_ROM_WRITE)
		return "rom_write";
	return nw_outcome_name(s2_fault);
}

int nw_gva_exit_status(const struct nw_aspace_exit *exit)
{
	if (exit->kind != NW_ASPACE_FAULT_NO_MEMORY)
		return NW_EXIT_OK;
	fprintf(stderr, "nestwalk translate: warning: the simulated host had no frame left for a lazy page: "
			"no_memory, not a guest fault; give the scenario more host.memory\n");
	return NW_EXIT_MISMATCH;
}

void nw_gva_walk(const struct nw_replay_target *t, const struct nw_gva_walker *w, const struct nw_access *access,
		 struct nw_walk_result *res, struct nw_aspace_exit *exit)
{
	const struct nw_walk_config config = { .hal = t->machine.hal,
					       .stage2 = t->machine.stage2,
					       .window = t->machine.window };

	exit->kind = NW_ASPACE_FAULT_VIOLATION;
	for (unsigned tries = 0;; tries++) {
		w->walk(&config, w->cpu, access, NW_WALK_RECORD, res);
		if (!w->retry(res) || tries == MAX_RETRIES)
			return;
		if (nw_aspace_resolve_fault(t->machine.aspace, res->fault_gpa,
					    res->s2_on_table ? NW_ACCESS_READ : access->type,
					    res->s2_on_table ? 8 : access->size, exit) != NW_OK ||
		    exit->kind != NW_ASPACE_FAULT_RETRY)
			return;
	}
}

int nw_gpa_translate(struct nw_aspace *aspace, uint64_t gpa, enum nw_access_type type, uint64_t size,
		     struct nw_s2_result *res, struct nw_aspace_exit *exit, bool *populated, char *err, size_t errlen)
{
	struct nw_s2_request req = { .gpa = nw_gpa(gpa), .type = type, .size = (uint32_t)size };

	*populated = false;
	for (unsigned tries = 0;; tries++) {
		nw_status_t status;

		nw_stage2_translate(nw_aspace_stage2(aspace), &req, res);
		if (res->status != NW_S2_VIOLATION || tries == MAX_RETRIES)
			return 0;
		status = nw_aspace_resolve_fault(aspace, req.gpa, type, size, exit);
		if (status != NW_OK) {
			snprintf(err, errlen, "populating gpa 0x%llx: %s", (unsigned long long)gpa, nw_status_name(status));
			return -1;
		}
		if (exit->kind == NW_ASPACE_FAULT_MMIO || exit->kind == NW_ASPACE_FAULT_ROM_WRITE)
			return 1;
		if (exit->kind != NW_ASPACE_FAULT_RETRY)
			return 0;
		*populated = true;
	}
}

static int translate_gpa(const struct options *opt, struct nw_aspace *aspace)
{
	const struct nw_gpa_query q = { .out = stdout, .gpa = opt->addr, .access = opt->access, .json = opt->json,
					.top = true };
	struct nw_aspace_exit exit;
	struct nw_s2_result res;
	bool populated;
	char err[128];
	int rc = nw_gpa_translate(aspace, opt->addr, opt->access, opt->size, &res, &exit, &populated, err, sizeof(err));

	if (rc < 0) {
		fprintf(stderr, "nestwalk translate: %s\n", err);
		return NW_EXIT_BAD_INPUT;
	}
	if (rc > 0)
		nw_gpa_print_exit(&q, &exit, populated);
	else
		nw_gpa_print_result(&q, aspace, &res, populated);
	return NW_EXIT_OK;
}

/* A stream writing into *text (freed by the caller after fclose); out of memory ends the program. */
static FILE *open_text(char **text, size_t *len)
{
	FILE *mem = open_memstream(text, len);

	if (!mem) {
		fprintf(stderr, "nestwalk translate: out of memory\n");
		exit(NW_EXIT_BAD_INPUT);
	}
	return mem;
}

/* The walk's JSON object named outcome, with extra and more (", \"key\": value" members) added before its
 * closing brace; a top-level object starts with its schema. */
static void print_walk_object(FILE *out, const struct nw_walk_result *res, const char *outcome, bool top,
			      const char *extra, const char *more)
{
	char *text = NULL;
	size_t len = 0;
	FILE *mem = open_text(&text, &len);

	nw_walk_print_json_as(mem, res, outcome);
	fclose(mem);
	while (len && text[len - 1] != '}')
		len--;
	if (len)
		len--;
	if (top)
		fprintf(out, "{\"schema\": %d, %.*s%s%s}", NW_JSON_SCHEMA, (int)len - 1, text + 1, extra, more);
	else
		fprintf(out, "%.*s%s%s}", (int)len, text, extra, more);
	free(text);
}

/* The outcome replay reports for the access (replay.h): the walk's, or the exit or host failure it became. */
static struct nw_walk_result access_walk(const struct nw_replay_result *res)
{
	struct nw_walk_result walk = res->walk;

	walk.refs = res->refs; /* the whole access's references when it has two pieces */
	if (res->kind == NW_REPLAY_OUT_NO_MEMORY)
		walk.outcome = NW_OUTCOME_NO_MEMORY; /* the host had no frame for a lazy page: not a guest fault */
	return walk;
}

static bool is_exit(const struct nw_replay_result *res)
{
	return res->kind == NW_TRACE_OUT_MMIO || res->kind == NW_TRACE_OUT_ROM_WRITE;
}

/* The JSON object of one piece or of the whole access: the walk, the bytes it covers, and for a final access
 * the address space turned into an MMIO or ROM-write exit, that exit's size and direction (the access's). */
void nw_access_print_json(FILE *out, const struct nw_replay_result *res, uint64_t size, bool top, const char *more)
{
	struct nw_walk_result walk = access_walk(res);
	char extra[160];

	if (is_exit(res))
		snprintf(extra, sizeof(extra), ", \"size\": %llu, \"write\": %s", (unsigned long long)size,
			 res->access.type == NW_ACCESS_WRITE ? "true" : "false");
	else
		snprintf(extra, sizeof(extra), ", \"size\": %llu", (unsigned long long)size);
	print_walk_object(out, &walk, nw_replay_outcome_name(res->kind), top, extra, more);
}

/* Text: the exit the address space turned the access's EPT violation into. */
static void print_exit(FILE *out, const struct nw_replay_result *res)
{
	if (is_exit(res))
		fprintf(out, "outcome %s: the second-stage fault exits to the hypervisor, which %s\n",
			nw_replay_outcome_name(res->kind),
			res->kind == NW_TRACE_OUT_MMIO ? "emulates the device" : "drops the write");
}

/* Text: each piece's walk (explain) or outcome, and the exit it became. */
void nw_access_print_text(FILE *out, const struct nw_replay_result *res, bool explain)
{
	struct nw_walk_result walk = access_walk(res);

	if (explain)
		nw_walk_print_explain(out, &res->walk);
	else
		nw_walk_print_summary(out, &walk);
	print_exit(out, res);
}

/* An access crossing a 4 KiB boundary: the pieces' objects listed in the object replay reports for the access
 * (the deciding piece, the references of both). */
static void print_pieces_json(const struct nw_replay_result *res, const struct nw_access parts[2],
			      const struct nw_replay_result pieces[2], unsigned done, uint64_t size,
			      const char *members)
{
	char *list = NULL;
	size_t len = 0;
	FILE *mem = open_text(&list, &len);

	fprintf(mem, "%s, \"pieces\": [", members);
	for (unsigned i = 0; i < 2; i++) {
		fputs(i ? ", " : "", mem);
		if (i < done)
			nw_access_print_json(mem, &pieces[i], parts[i].size, false, ", \"translated\": true");
		else /* the first piece faulted: the access stops there, as on hardware */
			fprintf(mem, "{\"gva\": \"0x%llx\", \"size\": %u, \"translated\": false}",
				(unsigned long long)parts[i].gva.val, parts[i].size);
	}
	fputc(']', mem);
	fclose(mem);
	nw_access_print_json(stdout, res, size, true, list);
	putchar('\n');
	free(list);
}

/* The line naming piece i of an access crossing a 4 KiB boundary. */
static const char *piece_heading(char out[64], const struct nw_access parts[2], unsigned i)
{
	snprintf(out, 64, "piece %u of 2: gva 0x%llx, %u byte(s)", i + 1, (unsigned long long)parts[i].gva.val,
		 parts[i].size);
	return out;
}

static const char not_translated[] = "not translated (the first piece faulted)";

/* The line closing an access crossing a 4 KiB boundary: its outcome, the piece that decided it, its references. */
static void print_access_line(FILE *out, const struct nw_replay_result *res, const struct nw_access parts[2],
			      const struct nw_replay_result pieces[2], unsigned done, uint64_t size)
{
	fprintf(out, "access of %llu byte(s) at gva 0x%llx crosses a page boundary: %s", (unsigned long long)size,
		(unsigned long long)parts[0].gva.val, nw_replay_outcome_name(res->kind));
	if (res->kind != NW_TRACE_OUT_OK)
		fprintf(out, " at piece %u", done == 2 && pieces[1].kind != NW_TRACE_OUT_OK ? 2u : 1u);
	fprintf(out, ", %u memory references in all\n", res->refs);
}

/* Text of an access crossing a 4 KiB boundary: each piece's walk (explain) or outcome, then the access's. */
static void print_pieces_text(FILE *out, const struct nw_replay_result *res, const struct nw_access parts[2],
			      const struct nw_replay_result pieces[2], unsigned done, uint64_t size, bool explain)
{
	char heading[64];

	for (unsigned i = 0; i < 2; i++) {
		fputs(piece_heading(heading, parts, i), out);
		if (i >= done) {
			fprintf(out, ": %s\n", not_translated);
			continue;
		}
		fprintf(out, "\n");
		nw_access_print_text(out, &pieces[i], explain);
	}
	print_access_line(out, res, parts, pieces, done, size);
}

/* Each control register's value and where it came from (machine_cpu.h), then the CPU model: as JSON members, or
 * one text line. */
static void print_registers(FILE *out, const struct nw_replay_target *t, bool json)
{
	fputs(json ? ", \"registers\": {" : "registers:", out);
	for (unsigned r = 0; r < NW_REG_COUNT; r++) {
		const char *name = nw_reg_name((enum nw_reg)r), *from = nw_reg_source_name(t->regs.from[r]);
		unsigned long long value = (unsigned long long)nw_reg_value(&t->machine.cpu, (enum nw_reg)r);

		if (json)
			fprintf(out, "%s\"%s\": {\"value\": \"0x%llx\", \"from\": \"%s\"}", r ? ", " : "", name, value,
				from);
		else
			fprintf(out, "%s %s 0x%llx (%s)", r ? "," : "", name, value, from);
	}
	fputs(json ? "}" : "", out);
	/* The CPU model in force (cpu.features, or every feature), so a default is never silent. */
	if (json)
		fprintf(out, ", \"cpu_model\": {\"features\": \"%s\", \"overridden\": %s, \"maxphyaddr\": %u}",
			t->scenario.features.preset, t->scenario.features.overridden ? "true" : "false",
			t->scenario.features.maxphyaddr);
	else
		fprintf(out, "; cpu model: %s%s, MAXPHYADDR %u\n", t->scenario.features.preset,
			t->scenario.features.overridden ? " with overrides" : "", t->scenario.features.maxphyaddr);
}

/* What the access gives, found: its text (--explain: every reference, else the outcome) on out, or its JSON
 * object on stdout with the text as its "explain" member. */
struct gva_answer {
	const struct options *opt;
	const struct nw_replay_target *target;
	const struct nw_replay_result *res, *pieces;
	const struct nw_access *parts;
	unsigned split, done;
};

static void print_gva_text(FILE *out, const struct gva_answer *ans)
{
	const struct options *opt = ans->opt;

	if (opt->explain)
		print_registers(out, ans->target, false);
	else
		fprintf(out, "gva 0x%llx: %s of %llu byte(s) at cpl %u\n", (unsigned long long)opt->addr,
			accesses[opt->access], (unsigned long long)opt->size, opt->cpl);
	if (ans->split == 2)
		print_pieces_text(out, ans->res, ans->parts, ans->pieces, ans->done, opt->size, opt->explain);
	else
		nw_access_print_text(out, ans->res, opt->explain);
}

static void print_gva_answer(const struct gva_answer *ans)
{
	char *members = NULL, *text = NULL;
	size_t len = 0, text_len = 0;
	FILE *mem;

	if (!ans->opt->json) {
		print_gva_text(stdout, ans);
		return;
	}
	mem = open_text(&members, &len);
	print_registers(mem, ans->target, true);
	if (ans->opt->explain) {
		FILE *explain = open_text(&text, &text_len);

		print_gva_text(explain, ans);
		fclose(explain);
		fputs(", \"explain\": ", mem);
		nw_json_string(mem, text);
		free(text);
	}
	fclose(mem);
	if (ans->split == 2) {
		print_pieces_json(ans->res, ans->parts, ans->pieces, ans->done, ans->opt->size, members);
	} else {
		nw_access_print_json(stdout, ans->res, ans->opt->size, true, members);
		putchar('\n');
	}
	free(members);
}

/* The second stage the walks went through, as the picture names its levels. */
static struct nw_walk_svg_stage2 svg_stage2(const struct nw_stage2 *st)
{
	switch (st->kind) {
	case NW_STAGE2_EPT: return (struct nw_walk_svg_stage2){ .format = st->ept->pt.fmt, .name = "EPT" };
	case NW_STAGE2_NPT: return (struct nw_walk_svg_stage2){ .format = st->npt->pt.fmt, .name = "NPT" };
	case NW_STAGE2_ARM64: return (struct nw_walk_svg_stage2){ .format = st->arm64->pt.fmt, .name = "stage 2" };
	case NW_STAGE2_RISCV: return (struct nw_walk_svg_stage2){ .format = st->riscv->pt.fmt, .name = "G-stage" };
	case NW_STAGE2_NONE: break;
	}
	return (struct nw_walk_svg_stage2){ .format = NULL, .name = NULL };
}

/* Under grid i: its piece's outcome as the text gives it (or that it was not translated); the second piece's
 * ends with the access's line. A string the caller frees. */
static char *svg_caption(const struct gva_answer *ans, unsigned i)
{
	char *text = NULL;
	size_t len = 0;
	FILE *mem = open_text(&text, &len);

	if (ans->split == 2 && i >= ans->done)
		fprintf(mem, "%s\n", not_translated);
	else
		nw_access_print_text(mem, ans->split == 2 ? &ans->pieces[i] : ans->res, false);
	if (i == 1)
		print_access_line(mem, ans->res, ans->parts, ans->pieces, ans->done, ans->opt->size);
	fclose(mem);
	return text;
}

/* --svg: the walk drawn (walk_svg.h) into opt->svg, whole or not at all: one grid, or one per piece of an access
 * crossing a page (the second a heading and a line when the first faulted), each captioned with its outcome as
 * the text gives it. 0, or NW_EXIT_BAD_INPUT with the reason on stderr and no file left. */
static int draw_svg(const struct gva_answer *ans, const struct nw_replay *replay)
{
	const struct options *opt = ans->opt;
	const char *const inputs[] = { opt->scenario, NULL };
	struct nw_walk_svg_stage2 s2 = svg_stage2(&replay->config.stage2);
	struct nw_walk_svg_grid grids[2] = { { 0 } };
	char *captions[2] = { NULL, NULL }, headings[2][64], *title = NULL;
	struct nw_file_out out;
	char err[1024];
	int rc = NW_EXIT_OK;

	if (asprintf(&title, "%s: gva 0x%llx, %s of %llu byte(s) at cpl %u", opt->scenario,
		     (unsigned long long)opt->addr, accesses[opt->access], (unsigned long long)opt->size,
		     opt->cpl) < 0) {
		fprintf(stderr, "nestwalk translate: out of memory\n");
		return NW_EXIT_BAD_INPUT;
	}
	for (unsigned i = 0; i < ans->split; i++) {
		bool pieces = ans->split == 2;
		const struct nw_replay_result *piece = pieces ? &ans->pieces[i] : ans->res;

		captions[i] = svg_caption(ans, i);
		grids[i] = (struct nw_walk_svg_grid){ .walk = pieces && i >= ans->done ? NULL : &piece->walk,
						      .heading = pieces ? piece_heading(headings[i], ans->parts, i)
									: NULL,
						      .caption = captions[i] };
	}
	if (nw_file_out_open(&out, opt->svg, inputs, err, sizeof(err))) {
		rc = NW_EXIT_BAD_INPUT;
	} else if (nw_walk_svg_write(out.file, &s2, title, grids, ans->split, err, sizeof(err))) {
		nw_file_out_abandon(&out);
		rc = NW_EXIT_BAD_INPUT;
	} else if (nw_file_out_commit(&out, err, sizeof(err))) {
		rc = NW_EXIT_BAD_INPUT;
	}
	if (rc)
		fprintf(stderr, "nestwalk translate: --svg: %s\n", err);
	free(captions[0]);
	free(captions[1]);
	free(title);
	return rc;
}

/* The access as replay translates an access record (one path: nw_replay_access_pieces), with the TLB off. */
static int translate_gva(const struct options *opt, struct nw_replay_target *t)
{
	struct nw_replay_options ropt = { .tlb = false, .no_explain = !opt->explain };
	struct nw_trace_access ta = { .gva = nw_gva(opt->addr), .size = (uint32_t)opt->size, .type = opt->access,
				      .cpl = (uint8_t)opt->cpl, .implicit = opt->implicit, .ac = opt->ac };
	struct nw_access whole = { .gva = ta.gva, .size = ta.size, .type = ta.type, .implicit = ta.implicit };
	struct nw_replay_machine *m = &t->machine;
	struct nw_replay_result res = { .kind = NW_TRACE_OUT_OK }, pieces[2];
	struct nw_access parts[2];
	struct gva_answer ans = { .opt = opt, .target = t, .res = &res, .pieces = pieces, .parts = parts, .split = 1 };
	struct nw_replay replay;
	struct nw_cpu cpu = m->cpu;
	char err[256];
	int rc;

	if (nw_replay_check_access(&m->cpu, &ta, err, sizeof(err))) {
		fprintf(stderr, "nestwalk translate: %s: %s\n", opt->scenario, err);
		return NW_EXIT_BAD_INPUT;
	}
	if (nw_replay_init(&replay, m, &ropt, err, sizeof(err))) {
		fprintf(stderr, "nestwalk translate: %s\n", err);
		return NW_EXIT_BAD_INPUT;
	}
	/* MOV CR3 loads the PAE PDPTE registers: a reserved bit in one is the #GP the walk never gets to. */
	nw_cpu_load_cr3(&replay.config, &cpu, m->cpu.cr3, &res.walk);
	if (res.walk.outcome == NW_OUTCOME_OK) {
		ans.split = nw_walk_split(&whole, parts);
		ans.done = nw_replay_access_pieces(&replay, &ta, &res, pieces);
	} else { /* no exit: the trace outcome of the same name (their numbering agrees up to #GP) */
		_Static_assert((int)NW_TRACE_OUT_GENERAL_PROTECTION == (int)NW_OUTCOME_GP, "outcome numbering");
		res.kind = res.walk.outcome == NW_OUTCOME_NO_MEMORY ? NW_REPLAY_OUT_NO_MEMORY
								     : (unsigned)res.walk.outcome;
		res.refs = res.walk.refs;
	}
	/* The picture first: when it cannot be written the command answers nothing. */
	if (opt->svg && draw_svg(&ans, &replay)) {
		nw_replay_fini(&replay);
		return NW_EXIT_BAD_INPUT;
	}
	print_gva_answer(&ans);
	/* As replay: no_memory is the host failing, so the question went unanswered. */
	if (replay.stats.host_exhausted)
		fprintf(stderr, "nestwalk translate: warning: the simulated host had no frame left for a lazy page: "
				"no_memory, not a guest fault; give the scenario more host.memory\n");
	rc = replay.stats.host_exhausted ? NW_EXIT_MISMATCH : NW_EXIT_OK;
	nw_replay_fini(&replay);
	return rc;
}

/* The options of the other architectures' --gva accesses refused, naming the scenario's; an aarch64 or riscv64
 * access crossing a 4 KiB boundary refused too (its two translations are not modelled yet). 0, or -1 with the
 * reason on stderr. */
static int check_arch(const struct nw_cli_args *a, const struct options *opt, const struct nw_scenario *sc)
{
	static const unsigned x86_only[] = { OPT_CPL, OPT_AC, OPT_IMPLICIT, OPT_SVG },
			      arm64_only[] = { OPT_EL, OPT_UNPRIVILEGED },
			      riscv_refused[] = { OPT_CPL, OPT_AC,           OPT_IMPLICIT, OPT_SVG,
						  OPT_EL,  OPT_UNPRIVILEGED, OPT_EXPLAIN };
	static const char *const takes[] = { [NW_SCENARIO_X86_64] = "--cpl, --ac, --implicit and --explain",
					     [NW_SCENARIO_AARCH64] = "--el, --unprivileged and --explain",
					     [NW_SCENARIO_RISCV64] = "no option beyond --access and --size yet" };
	const unsigned *other = sc->arch == NW_SCENARIO_AARCH64   ? x86_only
				: sc->arch == NW_SCENARIO_RISCV64 ? riscv_refused
								  : arm64_only;
	size_t n = sc->arch == NW_SCENARIO_AARCH64   ? sizeof(x86_only) / sizeof(x86_only[0])
		   : sc->arch == NW_SCENARIO_RISCV64 ? sizeof(riscv_refused) / sizeof(riscv_refused[0])
						     : sizeof(arm64_only) / sizeof(arm64_only[0]);

	for (size_t i = 0; i < n; i++)
		if (a->value[other[i]]) {
			fprintf(stderr,
				"nestwalk translate: %s: %s does not apply to %s scenario (its --gva takes %s)\n",
				opt->scenario, options[other[i]].name,
				sc->arch == NW_SCENARIO_X86_64    ? "an x86_64"
				: sc->arch == NW_SCENARIO_AARCH64 ? "an aarch64"
								  : "a riscv64",
				takes[sc->arch]);
			return -1;
		}
	if (sc->arch != NW_SCENARIO_X86_64 && !opt->has_gpa &&
	    (opt->addr & (NW_PAGE_SIZE - 1)) + opt->size > NW_PAGE_SIZE) {
		fprintf(stderr,
			"nestwalk translate: %s: %llu byte(s) at gva 0x%llx cross a 4 KiB boundary: two "
			"translations, not modelled on %s yet\n",
			opt->scenario, (unsigned long long)opt->size, (unsigned long long)opt->addr,
			nw_scenario_arch_name(sc->arch));
		return -1;
	}
	return 0;
}

/* translate --gva on an aarch64 scenario: the access at --el's Exception level, or PSTATE's. */
static int translate_gva_arm64(const struct options *opt, const struct nw_replay_target *t)
{
	const struct nw_scenario_arm64 *a = &t->scenario.arm64;
	const struct nw_gva_arm64_query q = { .out = stdout,
					      .scenario = &t->scenario,
					      .gva = opt->addr,
					      .size = opt->size,
					      .access = opt->access,
					      .el0 = opt->el >= 0 ? opt->el == 0 : a->el0,
					      .unprivileged = opt->unprivileged,
					      .json = opt->json,
					      .explain = opt->explain };

	return nw_gva_translate_arm64(&q, t);
}

int nw_cmd_translate(int argc, char **argv)
{
	struct nw_replay_target target;
	struct nw_cli_args args;
	struct options opt;
	char err[1024];
	int rc = nw_cli_parse(&nw_usage_translate, argc, argv, &args);

	if (rc)
		return NW_CLI_EXIT(rc);
	if (parse_options(&args, &opt))
		return NW_EXIT_BAD_INPUT;
	/* The machine every command builds from a scenario (replay.h): its VM, or its memory dump. */
	if (nw_replay_target_open(opt.scenario, &target, err, sizeof(err))) {
		fprintf(stderr, "nestwalk translate: %s\n", err);
		return NW_EXIT_BAD_INPUT;
	}
	if (opt.has_gpa && !target.machine.aspace) {
		fprintf(stderr, "nestwalk translate: %s: --gpa asks the second stage, and a memory dump has none "
				"(guest-physical = host-physical)\n", opt.scenario);
		nw_replay_target_close(&target);
		return NW_EXIT_BAD_INPUT;
	}
	if (check_arch(&args, &opt, &target.scenario)) {
		nw_replay_target_close(&target);
		return NW_EXIT_BAD_INPUT;
	}
	if (opt.has_gpa)
		rc = translate_gpa(&opt, target.machine.aspace);
	else if (target.scenario.arch == NW_SCENARIO_AARCH64)
		rc = translate_gva_arm64(&opt, &target);
	else if (target.scenario.arch == NW_SCENARIO_RISCV64)
		rc = nw_gva_translate_riscv(&(const struct nw_gva_riscv_query){ .out = stdout,
										.scenario = &target.scenario,
										.gva = opt.addr,
										.size = opt.size,
										.access = opt.access,
										.json = opt.json },
					    &target);
	else
		rc = translate_gva(&opt, &target);
	if (nw_replay_target_close(&target) && rc == NW_EXIT_OK)
		rc = NW_EXIT_MISMATCH;
	return rc;
}
