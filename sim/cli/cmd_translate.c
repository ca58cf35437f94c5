/* `nestwalk translate SCENARIO --gpa ADDR|--gva ADDR --access read|write|fetch
 * [--cpl N] [--ac] [--implicit] [--size N] [--json] [--explain]`: one
 * translation on the scenario's VM. --gpa goes through the second stage only;
 * --gva is the full two-dimensional walk. A stage-2 fault is first offered to
 * the address space: a lazy page is populated and the access retried, an MMIO
 * or ROM region turns it into that exit. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nestwalk/walk.h>
#include <nestwalk/x86_pte.h>

#include "cli/cli.h"
#include "replay/replay.h"
#include "replay/walk_print.h"

/* A walk touches at most 5 guest tables and the final page, each of which a
 * lazy region may populate once. */
#define MAX_RETRIES 8

struct options {
	const char *scenario;
	bool has_gpa, has_gva, has_access;
	uint64_t addr;
	uint64_t size;
	enum nw_access_type access;
	unsigned cpl;
	bool ac, implicit, json, explain;
};

static int usage(void)
{
	fprintf(stderr, "usage: nestwalk translate SCENARIO --gpa ADDR --access read|write|fetch [--size N] [--json]\n"
			"       nestwalk translate SCENARIO --gva ADDR --access read|write|fetch --cpl N [--ac]\n"
			"                          [--implicit] [--size N] [--json] [--explain]\n");
	return NW_EXIT_BAD_INPUT;
}

static int parse_number(const char *flag, const char *text, uint64_t *out)
{
	if (!text || nw_scenario_parse_u64(text, strlen(text), out)) {
		fprintf(stderr, "nestwalk translate: %s needs a number (decimal or 0x hex), not '%s'\n", flag,
			text ? text : "");
		return -1;
	}
	return 0;
}

static int parse_options(int argc, char **argv, struct options *opt)
{
	static const char *const accesses[] = { "read", "write", "fetch" };
	uint64_t value;

	*opt = (struct options){ .size = 1 };
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		const char *next = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(arg, "--gpa") || !strcmp(arg, "--gva")) {
			if (parse_number(arg, next, &opt->addr))
				return -1;
			opt->has_gpa |= arg[3] == 'p';
			opt->has_gva |= arg[3] == 'v';
			i++;
		} else if (!strcmp(arg, "--access")) {
			opt->has_access = false;
			for (unsigned a = 0; a < 3 && next; a++)
				if (!strcmp(next, accesses[a])) {
					opt->access = (enum nw_access_type)a;
					opt->has_access = true;
				}
			if (!opt->has_access) {
				fprintf(stderr, "nestwalk translate: --access is read, write or fetch\n");
				return -1;
			}
			i++;
		} else if (!strcmp(arg, "--cpl")) {
			if (parse_number(arg, next, &value))
				return -1;
			if (value > 3) {
				fprintf(stderr, "nestwalk translate: --cpl is 0 to 3\n");
				return -1;
			}
			opt->cpl = (unsigned)value;
			i++;
		} else if (!strcmp(arg, "--size")) {
			if (parse_number(arg, next, &value))
				return -1;
			if (value < 1 || value > NW_PAGE_SIZE) {
				fprintf(stderr, "nestwalk translate: --size is 1 to 4096 bytes\n");
				return -1;
			}
			opt->size = value;
			i++;
		} else if (!strcmp(arg, "--ac")) {
			opt->ac = true;
		} else if (!strcmp(arg, "--implicit")) {
			opt->implicit = true;
		} else if (!strcmp(arg, "--json")) {
			opt->json = true;
		} else if (!strcmp(arg, "--explain")) {
			opt->explain = true;
		} else if (arg[0] == '-' || opt->scenario) {
			fprintf(stderr, "nestwalk translate: unexpected argument '%s'\n", arg);
			return -1;
		} else {
			opt->scenario = arg;
		}
	}
	if (!opt->scenario || opt->has_gpa == opt->has_gva || !opt->has_access) {
		fprintf(stderr, "nestwalk translate: need SCENARIO, one of --gpa/--gva, and --access\n");
		return -1;
	}
	if (opt->has_gpa && (opt->ac || opt->implicit || opt->explain)) {
		fprintf(stderr, "nestwalk translate: --ac, --implicit and --explain apply to --gva only\n");
		return -1;
	}
	return 0;
}

static const char *rights_text(uint32_t rights, char buf[5])
{
	buf[0] = rights & NW_S2_RIGHT_R ? 'r' : '-';
	buf[1] = rights & NW_S2_RIGHT_W ? 'w' : '-';
	buf[2] = rights & NW_S2_RIGHT_X ? 'x' : '-';
	buf[3] = rights & NW_S2_RIGHT_UX ? 'u' : '-';
	buf[4] = '\0';
	return buf;
}

/* Memory-type encodings (SDM Vol. 3A Table 11-10); 2, 3 and 7 are reserved in EPT. */
static const char *memory_type_name(unsigned type)
{
	static const char *const names[8] = { "UC", "WC", "reserved2", "reserved3", "WT", "WP", "WB", "UC-" };

	return names[type & 7];
}

static void print_gpa_exit(const struct options *opt, const struct nw_aspace_exit *exit, bool populated)
{
	const char *kind = exit->kind == NW_ASPACE_FAULT_MMIO ? "mmio_exit" : "rom_write_exit";

	if (opt->json)
		printf("{\"outcome\": \"%s\", \"gpa\": \"0x%llx\", \"fault_gpa\": \"0x%llx\", \"size\": %llu, "
		       "\"write\": %s, \"populated\": %s}\n",
		       kind, (unsigned long long)opt->addr, (unsigned long long)exit->gpa.val,
		       (unsigned long long)exit->size, exit->is_write ? "true" : "false", populated ? "true" : "false");
	else
		printf("gpa 0x%llx: %s (%s of %llu byte(s)): the hypervisor %s\n", (unsigned long long)opt->addr,
		       exit->kind == NW_ASPACE_FAULT_MMIO ? "MMIO exit" : "ROM-write exit",
		       exit->is_write ? "write" : "read", (unsigned long long)exit->size,
		       exit->kind == NW_ASPACE_FAULT_MMIO ? "emulates the device" : "drops the write");
}

static void print_gpa_result(const struct options *opt, const struct nw_aspace *aspace, const struct nw_s2_result *res,
			     bool populated)
{
	bool npt = aspace->config.format == NW_STAGE2_NPT;
	/* A guest-physical access has no guest-linear address (bit 7 of the qualification clear). */
	const struct nw_s2_fault_access access = { .type = opt->access };
	char rights[5];

	if (res->status == NW_S2_OK) {
		if (opt->json)
			printf("{\"outcome\": \"ok\", \"gpa\": \"0x%llx\", \"hpa\": \"0x%llx\", \"s2_page_size\": "
			       "\"0x%llx\", \"level\": %d, \"rights\": \"%s\", \"memory_type\": \"%s\", \"refs\": %u, "
			       "\"populated\": %s}\n",
			       (unsigned long long)opt->addr, (unsigned long long)res->hpa.val,
			       (unsigned long long)res->page_size, res->level, rights_text(res->rights, rights),
			       memory_type_name(res->memory_type), res->refs, populated ? "true" : "false");
		else
			printf("gpa 0x%llx -> hpa 0x%llx (level-%d leaf, 0x%llx-byte page, %s, %s%s)\n",
			       (unsigned long long)opt->addr, (unsigned long long)res->hpa.val, res->level,
			       (unsigned long long)res->page_size, rights_text(res->rights, rights),
			       memory_type_name(res->memory_type),
			       populated ? ", populated on first touch" : "");
		return;
	}
	if (npt) {
		uint64_t info = nw_npf_exitinfo1(&aspace->npt, res, &access);

		if (opt->json)
			printf("{\"outcome\": \"npf\", \"gpa\": \"0x%llx\", \"fault_gpa\": \"0x%llx\", \"exitinfo1\": "
			       "\"0x%llx\", \"exitinfo2\": \"0x%llx\", \"fault_level\": %d, \"entry\": \"0x%llx\", "
			       "\"refs\": %u}\n",
			       (unsigned long long)opt->addr, (unsigned long long)opt->addr, (unsigned long long)info,
			       (unsigned long long)opt->addr, res->level, (unsigned long long)res->entry, res->refs);
		else
			printf("gpa 0x%llx: #NPF exitinfo1 0x%llx exitinfo2 0x%llx (level-%d entry 0x%llx)\n",
			       (unsigned long long)opt->addr, (unsigned long long)info, (unsigned long long)opt->addr,
			       res->level, (unsigned long long)res->entry);
		return;
	}
	if (res->status == NW_S2_MISCONFIG) {
		if (opt->json)
			printf("{\"outcome\": \"ept_misconfig\", \"gpa\": \"0x%llx\", \"fault_gpa\": \"0x%llx\", "
			       "\"fault_level\": %d, \"entry\": \"0x%llx\", \"refs\": %u}\n",
			       (unsigned long long)opt->addr, (unsigned long long)opt->addr, res->level,
			       (unsigned long long)res->entry, res->refs);
		else
			printf("gpa 0x%llx: EPT misconfiguration at the level-%d entry 0x%llx\n",
			       (unsigned long long)opt->addr, res->level, (unsigned long long)res->entry);
		return;
	}
	if (opt->json)
		printf("{\"outcome\": \"ept_violation\", \"gpa\": \"0x%llx\", \"fault_gpa\": \"0x%llx\", "
		       "\"exit_qualification\": \"0x%llx\", \"fault_level\": %d, \"entry\": \"0x%llx\", "
		       "\"refs\": %u}\n",
		       (unsigned long long)opt->addr, (unsigned long long)opt->addr,
		       (unsigned long long)nw_ept_violation_qualification(&aspace->ept, res, &access), res->level,
		       (unsigned long long)res->entry, res->refs);
	else
		printf("gpa 0x%llx: EPT violation, exit qualification 0x%llx (level-%d entry 0x%llx, rights %s)\n",
		       (unsigned long long)opt->addr,
		       (unsigned long long)nw_ept_violation_qualification(&aspace->ept, res, &access), res->level,
		       (unsigned long long)res->entry, rights_text(res->rights, rights));
}

static int translate_gpa(const struct options *opt, struct nw_aspace *aspace)
{
	struct nw_s2_request req = { .gpa = nw_gpa(opt->addr), .type = opt->access };
	struct nw_aspace_exit exit;
	struct nw_s2_result res;
	bool populated = false;

	for (unsigned tries = 0;; tries++) {
		nw_status_t status;

		nw_stage2_translate(nw_aspace_stage2(aspace), &req, &res);
		if (res.status != NW_S2_VIOLATION || tries == MAX_RETRIES)
			break;
		status = nw_aspace_resolve_fault(aspace, req.gpa, opt->access, opt->size, &exit);
		if (status != NW_OK) {
			fprintf(stderr, "nestwalk translate: populating gpa 0x%llx: %s\n",
				(unsigned long long)opt->addr, nw_status_name(status));
			return NW_EXIT_BAD_INPUT;
		}
		if (exit.kind == NW_ASPACE_FAULT_MMIO || exit.kind == NW_ASPACE_FAULT_ROM_WRITE) {
			print_gpa_exit(opt, &exit, populated);
			return NW_EXIT_OK;
		}
		if (exit.kind != NW_ASPACE_FAULT_RETRY)
			break;
		populated = true;
	}
	print_gpa_result(opt, aspace, &res, populated);
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

/* The walker's JSON object for res with extra and more (", \"key\": value" pairs) added before its closing
 * brace. */
static void print_walk_object(FILE *out, const struct nw_walk_result *res, const char *extra, const char *more)
{
	char *text = NULL;
	size_t len = 0;
	FILE *mem = open_text(&text, &len);

	nw_walk_print_json(mem, res);
	fclose(mem);
	while (len && text[len - 1] != '}')
		len--;
	if (len)
		len--;
	fprintf(out, "%.*s%s%s}", (int)len, text, extra, more);
	free(text);
}

/* The JSON object of one piece or of the whole access: the walk, the bytes it covers, and for a final access
 * the address space turned into an MMIO or ROM-write exit, that exit (its size and direction: the access's). */
static void print_result(FILE *out, const struct nw_replay_result *res, uint64_t size, const char *more)
{
	bool is_exit = res->kind == NW_TRACE_OUT_MMIO || res->kind == NW_TRACE_OUT_ROM_WRITE;
	struct nw_walk_result walk = res->walk;
	char extra[160];

	walk.refs = res->refs; /* the whole access's references when it has two pieces */
	if (res->kind == NW_REPLAY_OUT_NO_MEMORY)
		walk.outcome = NW_OUTCOME_NO_MEMORY; /* the host had no frame for a lazy page: not a guest fault */
	if (is_exit)
		snprintf(extra, sizeof(extra), ", \"exit\": \"%s\", \"size\": %llu, \"write\": %s",
			 res->kind == NW_TRACE_OUT_MMIO ? "mmio" : "rom_write", (unsigned long long)size,
			 res->access.type == NW_ACCESS_WRITE ? "true" : "false");
	else
		snprintf(extra, sizeof(extra), ", \"size\": %llu", (unsigned long long)size);
	print_walk_object(out, &walk, extra, more);
}

/* An access crossing a 4 KiB boundary: each piece, then the object replay reports for the access (the deciding
 * piece, the references of both) with the pieces listed. */
static void print_pieces_json(const struct nw_replay_result *res, const struct nw_access parts[2],
			      const struct nw_replay_result pieces[2], unsigned done, uint64_t size, const char *registers)
{
	char *list = NULL;
	size_t len = 0;
	FILE *mem = open_text(&list, &len);

	fprintf(mem, "%s, \"pieces\": [", registers);
	for (unsigned i = 0; i < 2; i++) {
		fputs(i ? ", " : "", mem);
		if (i < done)
			print_result(mem, &pieces[i], parts[i].size, ", \"translated\": true");
		else /* the first piece faulted: the access stops there, as on hardware */
			fprintf(mem, "{\"gva\": \"0x%llx\", \"size\": %u, \"translated\": false}",
				(unsigned long long)parts[i].gva.val, parts[i].size);
	}
	fputc(']', mem);
	fclose(mem);
	print_result(stdout, res, size, list);
	putchar('\n');
	free(list);
}

static void explain_pieces(const struct nw_replay_result *res, const struct nw_access parts[2],
			   const struct nw_replay_result pieces[2], unsigned done, uint64_t size)
{
	for (unsigned i = 0; i < 2; i++) {
		printf("piece %u of 2: gva 0x%llx, %u byte(s)", i + 1, (unsigned long long)parts[i].gva.val,
		       parts[i].size);
		if (i >= done) {
			printf(": not translated (the first piece faulted)\n");
			continue;
		}
		printf("\n");
		nw_walk_print_explain(stdout, &pieces[i].walk);
	}
	printf("access of %llu byte(s) at gva 0x%llx crosses a page boundary: %s", (unsigned long long)size,
	       (unsigned long long)parts[0].gva.val, nw_replay_outcome_name(res->kind));
	if (res->kind != NW_TRACE_OUT_OK)
		printf(" at piece %u", done == 2 && pieces[1].kind != NW_TRACE_OUT_OK ? 2u : 1u);
	printf(", %u memory references in all\n", res->refs);
}

/* Each control register's value and where it came from (machine_cpu.h): as JSON members, or one text line. */
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
	fputs(json ? "}" : "\n", out);
}

/* The access as replay translates an access record (one path: nw_replay_access_pieces), with the TLB off. */
static int translate_gva(const struct options *opt, struct nw_replay_target *t)
{
	struct nw_replay_options ropt = { .tlb = false, .no_explain = !opt->explain };
	struct nw_trace_access ta = { .gva = nw_gva(opt->addr), .size = (uint32_t)opt->size, .type = opt->access,
				      .cpl = (uint8_t)opt->cpl, .implicit = opt->implicit, .ac = opt->ac };
	struct nw_access whole = { .gva = ta.gva, .size = ta.size, .type = ta.type, .implicit = ta.implicit };
	struct nw_replay_machine *m = &t->machine;
	struct nw_replay_result res, pieces[2];
	struct nw_access parts[2];
	struct nw_replay replay;
	struct nw_cpu cpu = m->cpu;
	char err[256], *registers = NULL;
	unsigned split, done;
	size_t len = 0;
	FILE *mem;
	int rc;

	if (nw_replay_check_access(&m->cpu, &ta, err, sizeof(err))) {
		fprintf(stderr, "nestwalk translate: %s: %s\n", opt->scenario, err);
		return NW_EXIT_BAD_INPUT;
	}
	if (nw_replay_init(&replay, m, &ropt, err, sizeof(err))) {
		fprintf(stderr, "nestwalk translate: %s\n", err);
		return NW_EXIT_BAD_INPUT;
	}
	mem = open_text(&registers, &len);
	print_registers(mem, t, true);
	fclose(mem);
	if (opt->explain)
		print_registers(stdout, t, false);
	/* MOV CR3 loads the PAE PDPTE registers: a reserved bit in one is the #GP the walk never gets to. */
	nw_cpu_load_cr3(&replay.config, &cpu, m->cpu.cr3, &res.walk);
	if (res.walk.outcome != NW_OUTCOME_OK) {
		print_walk_object(stdout, &res.walk, "", registers);
		putchar('\n');
		free(registers);
		nw_replay_fini(&replay);
		return NW_EXIT_OK;
	}
	split = nw_walk_split(&whole, parts);
	done = nw_replay_access_pieces(&replay, &ta, &res, pieces);
	if (opt->explain && split == 1)
		nw_walk_print_explain(stdout, &res.walk);
	else if (opt->explain)
		explain_pieces(&res, parts, pieces, done, opt->size);
	if ((opt->json || !opt->explain) && split == 1) {
		print_result(stdout, &res, opt->size, registers);
		putchar('\n');
	} else if (opt->json || !opt->explain) {
		print_pieces_json(&res, parts, pieces, done, opt->size, registers);
	}
	free(registers);
	/* As replay: no_memory is the host failing, so the question went unanswered. */
	if (replay.stats.host_exhausted)
		fprintf(stderr, "nestwalk translate: warning: the simulated host had no frame left for a lazy page: "
				"no_memory, not a guest fault; give the scenario more host.memory\n");
	rc = replay.stats.host_exhausted ? NW_EXIT_MISMATCH : NW_EXIT_OK;
	nw_replay_fini(&replay);
	return rc;
}

int nw_cmd_translate(int argc, char **argv)
{
	struct nw_replay_target target;
	struct options opt;
	char err[1024];
	int rc;

	if (parse_options(argc, argv, &opt))
		return usage();
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
	rc = opt.has_gpa ? translate_gpa(&opt, target.machine.aspace) : translate_gva(&opt, &target);
	if (nw_replay_target_close(&target) && rc == NW_EXIT_OK)
		rc = NW_EXIT_MISMATCH;
	return rc;
}
