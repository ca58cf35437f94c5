/* `nestwalk hw run SCENARIO --backend qemu|qemu-svm|kvm|bochs-vmx [--trace FILE]
 * [--image PATH] [--observed FILE] [--json] [--timeout S] [--cases-per-boot N]`: compiles each
 * access of the scenario's trace into a case of the bare-metal image, boots the
 * image under the backend, turns what the CPU did into an observed trace (the
 * same records, each access followed by the backend's outcome as an
 * expectation) and replays that trace through the simulator without a TLB.
 * Exit 0 when every outcome matched or a listed deviation explains it, 1 on an
 * unexplained mismatch, 2 for unusable input or a backend that failed to boot,
 * 77 for kvm without /dev/kvm. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "hw/hw_run.h"
#include "hw_image_path.h"
#include "io/file_out.h"
#include "scenario/elf_image.h"

#define EXIT_SKIPPED 77
#define QEMU "qemu-system-x86_64"
#define QEMU_MAXPHYADDR 40      /* QEMU 7.2's -cpu max (the image prints what it finds; a difference recompiles) */
#define MAX_CASES (1u << 20)

static const struct nw_hw_backend backends[] = {
	{ NW_HW_QEMU, "qemu", "tcg", "max", false, false },
	{ NW_HW_QEMU_SVM, "qemu-svm", "tcg", "max", true, false },
	{ NW_HW_KVM, "kvm", "kvm", "host", false, false },
	{ NW_HW_BOCHS_VMX, "bochs-vmx", NULL, NULL, false, true },
};

/* What the Bochs run needs (tools/setup installs them). */
static const char *const bochs_programs[] = { "bochs", "grub-mkrescue", "xorriso", "mformat" };
#define BOCHS_BIOS "/usr/share/bochs/BIOS-bochs-latest"

const struct nw_hw_backend *nw_hw_backend_find(const char *name)
{
	for (size_t i = 0; i < sizeof(backends) / sizeof(backends[0]); i++)
		if (!strcmp(backends[i].name, name))
			return &backends[i];
	return NULL;
}

struct options {
	const char *scenario, *trace, *image, *observed, *backend;
	bool json;
	double timeout;
	size_t cases_per_boot; /* 0: as many as fit (NW_HW_BOOT_BLOB_MAX) */
};

/* A record of the scenario's trace, kept for the observed trace; an access
 * names its case or why it does not run. */
struct stored {
	struct nw_trace_record rec;
	uint8_t *data;    /* a guest-physical write's bytes */
	uint64_t record;  /* 1-based, in the scenario's trace */
	long case_index;  /* -1: not run */
	char reason[256];
};

struct run {
	struct options opt;
	const struct nw_hw_backend *backend;
	char trace_path[4096];
	struct stored *records;
	size_t record_count, record_cap;
	struct nw_hw_case *cases;
	size_t case_count, case_cap;
	struct nw_hw_outcome *outcomes;
	struct nw_hw_report rep;
};

static int usage(void)
{
	fprintf(stderr, "usage: nestwalk hw run SCENARIO --backend qemu|qemu-svm|kvm|bochs-vmx [--trace FILE] [--image PATH]\n"
			"                       [--observed FILE] [--json] [--timeout SECONDS] [--cases-per-boot N]\n");
	return NW_EXIT_BAD_INPUT;
}

static int parse_options(int argc, char **argv, struct options *opt)
{
	*opt = (struct options){ .timeout = 120 };
	if (argc < 2 || strcmp(argv[1], "run")) {
		fprintf(stderr, "nestwalk hw: the one subcommand is 'run'\n");
		return -1;
	}
	for (int i = 2; i < argc; i++) {
		const char *arg = argv[i], *next = i + 1 < argc ? argv[i + 1] : NULL;

		if (next && !strcmp(arg, "--backend")) {
			opt->backend = argv[++i];
		} else if (next && !strcmp(arg, "--trace")) {
			opt->trace = argv[++i];
		} else if (next && !strcmp(arg, "--image")) {
			opt->image = argv[++i];
		} else if (next && !strcmp(arg, "--observed")) {
			opt->observed = argv[++i];
		} else if (next && !strcmp(arg, "--timeout")) {
			char *end;

			opt->timeout = strtod(next, &end);
			if (*end || !(opt->timeout > 0)) {
				fprintf(stderr, "nestwalk hw run: --timeout needs a positive number of seconds, not '%s'\n",
					next);
				return -1;
			}
			i++;
		} else if (next && !strcmp(arg, "--cases-per-boot")) {
			char *end;
			unsigned long long n = strtoull(next, &end, 10);

			if (*end || n == 0 || next[0] == '-') {
				fprintf(stderr, "nestwalk hw run: --cases-per-boot needs a positive whole number, not '%s'\n",
					next);
				return -1;
			}
			opt->cases_per_boot = (size_t)n;
			i++;
		} else if (!strcmp(arg, "--json")) {
			opt->json = true;
		} else if (arg[0] == '-' || opt->scenario) {
			fprintf(stderr, "nestwalk hw run: unexpected argument '%s'\n", arg);
			return -1;
		} else {
			opt->scenario = arg;
		}
	}
	if (!opt->scenario || !opt->backend) {
		fprintf(stderr, "nestwalk hw run: need a SCENARIO and --backend\n");
		return -1;
	}
	return 0;
}

static void free_records(struct run *run)
{
	for (size_t i = 0; i < run->record_count; i++)
		free(run->records[i].data);
	free(run->records);
	free(run->cases);
	run->records = NULL;
	run->cases = NULL;
	run->record_count = run->record_cap = run->case_count = run->case_cap = 0;
}

static bool grow(void **array, size_t *cap, size_t count, size_t size)
{
	void *grown;

	if (count < *cap)
		return true;
	grown = realloc(*array, (*cap ? *cap * 2 : 256) * size);
	if (!grown)
		return false;
	*array = grown;
	*cap = *cap ? *cap * 2 : 256;
	return true;
}

static int store(struct run *run, const struct nw_trace_record *rec, uint64_t number, struct stored **out)
{
	struct stored *s;

	if (!grow((void **)&run->records, &run->record_cap, run->record_count, sizeof(*run->records)))
		return -1;
	s = &run->records[run->record_count++];
	*s = (struct stored){ .rec = *rec, .record = number, .case_index = -1 };
	if (rec->kind == NW_TRACE_GPWRITE) {
		s->data = malloc(rec->gpwrite.len);
		if (!s->data)
			return -1;
		memcpy(s->data, rec->gpwrite.data, rec->gpwrite.len);
		s->rec.gpwrite.data = s->data;
	}
	*out = s;
	return 0;
}

/* --trace when given, else the scenario's own trace: the trace `replay` would replay. */
static int find_trace(struct run *run, const struct nw_scenario *sc)
{
	char err[1024];

	if (nw_scenario_trace_path(sc, run->opt.trace, run->trace_path, sizeof(run->trace_path), err, sizeof(err)) == 0)
		return 0;
	fprintf(stderr, "nestwalk hw run: %s\n", err);
	return -1;
}

/* Whether the backend can show the scenario's second stage at all. */
static int check_stage2(const struct run *run, const struct nw_replay_machine *m)
{
	if (run->backend->nested && m->stage2.kind != NW_STAGE2_NPT) {
		fprintf(stderr, "nestwalk hw run: %s runs AMD nested paging; %s %s\n", run->backend->name,
			run->opt.scenario, m->stage2.kind == NW_STAGE2_EPT ? "uses EPT (ept.format: ept)"
									   : "has no second stage");
		return -1;
	}
	if (run->backend->vmx && m->stage2.kind != NW_STAGE2_EPT) {
		fprintf(stderr, "nestwalk hw run: %s runs Intel EPT; %s %s\n", run->backend->name, run->opt.scenario,
			m->stage2.kind == NW_STAGE2_NPT ? "uses NPT (ept.format: npt)" : "has no second stage");
		return -1;
	}
	return 0;
}

/* The simulator models the backend's CPU where the scenario's has more: Bochs's
 * VMX reports no advanced VM-exit information (exit-qualification bits 9-11, Vol. 3C §28.2.1). */
static void model_backend(const struct run *run, struct nw_replay_target *t)
{
	if (run->backend->vmx && t->has_vm && t->vm.aspace.config.format == NW_STAGE2_EPT)
		t->vm.aspace.ept.config.caps.advanced_exit_info = false;
}

/* One access: its case, or why it does not run. */
static int compile_access(struct run *run, const struct nw_hw_target *target, struct nw_replay *replay,
			  struct stored *s)
{
	const char *why;

	if (!grow((void **)&run->cases, &run->case_cap, run->case_count, sizeof(*run->cases)))
		return -1;
	if (run->backend->vmx)
		why = nw_hw_vmx_compile(target, replay, &s->rec.access, s->record, &run->cases[run->case_count]);
	else
		why = nw_hw_case_compile(target, replay, &s->rec.access, s->record, &run->cases[run->case_count],
					 s->reason, sizeof(s->reason));
	if (why) {
		if (why != s->reason)
			snprintf(s->reason, sizeof(s->reason), "%s", why);
		return 0;
	}
	if (run->case_count >= MAX_CASES) {
		snprintf(s->reason, sizeof(s->reason), "more than %u accesses in one run", MAX_CASES);
		return 0;
	}
	run->cases[run->case_count].head.id = (uint32_t)run->case_count;
	run->cases[run->case_count].vmx.head.id = (uint32_t)run->case_count;
	s->case_index = (long)run->case_count++;
	return 0;
}

/* Pass 1: the scenario's trace applied in order to its machine, each access
 * compiled at the state it meets. */
static int compile(struct run *run, unsigned maxphyaddr)
{
	struct nw_hw_target target = { .backend = run->backend, .maxphyaddr = maxphyaddr };
	struct nw_replay_options ropt = { .tlb = false };
	struct nw_replay_mismatch m[NW_EXPECT_FIELD_COUNT];
	struct nw_replay_target t;
	struct nw_trace_reader *reader = NULL;
	struct nw_trace_record rec;
	struct nw_replay replay;
	int got, rc = NW_EXIT_BAD_INPUT;
	char err[1024];

	free_records(run);
	if (nw_replay_target_open(run->opt.scenario, &t, err, sizeof(err))) {
		fprintf(stderr, "nestwalk hw run: %s\n", err);
		return NW_EXIT_BAD_INPUT;
	}
	if (check_stage2(run, &t.machine) || find_trace(run, &t.scenario)) {
		nw_replay_target_close(&t);
		return NW_EXIT_BAD_INPUT;
	}
	model_backend(run, &t);
	reader = nw_trace_reader_open(run->trace_path, err, sizeof(err));
	if (!reader || nw_replay_init(&replay, &t.machine, &ropt, err, sizeof(err))) {
		fprintf(stderr, "nestwalk hw run: %s\n", err);
		if (reader)
			nw_trace_reader_close(reader);
		nw_replay_target_close(&t);
		return NW_EXIT_BAD_INPUT;
	}
	while ((got = nw_trace_reader_next(reader, &rec)) > 0) {
		uint64_t number = nw_trace_reader_records(reader);
		struct stored *s;

		if (rec.kind == NW_TRACE_EXPECT || rec.kind == NW_TRACE_END)
			continue; /* the observed trace carries the backend's expectations instead */
		if (store(run, &rec, number, &s) || (rec.kind == NW_TRACE_ACCESS && compile_access(run, &target, &replay, s))) {
			fprintf(stderr, "nestwalk hw run: out of memory\n");
			got = -2;
			break;
		}
		if (nw_replay_apply(&replay, &s->rec, m, NW_EXPECT_FIELD_COUNT, err, sizeof(err)) < 0) {
			fprintf(stderr, "nestwalk hw run: %s: record %llu: %s\n", run->trace_path,
				(unsigned long long)number, err);
			got = -2;
			break;
		}
	}
	if (got == -1)
		fprintf(stderr, "nestwalk hw run: %s\n", nw_trace_reader_error(reader));
	else if (got == 0)
		rc = NW_EXIT_OK;
	nw_replay_fini(&replay);
	nw_trace_reader_close(reader);
	nw_replay_target_close(&t);
	return rc;
}

/* The host's MAXPHYADDR, which KVM's -cpu host passes on; 0 when unknown. */
static unsigned host_maxphyaddr(void)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[512];
	unsigned bits = 0;

	while (f && fgets(line, sizeof(line), f)) {
		const char *colon = strchr(line, ':');

		if (!strncmp(line, "address sizes", 13) && colon && sscanf(colon + 1, "%u", &bits) == 1)
			break;
	}
	if (f)
		fclose(f);
	return bits;
}

static const char *ran_case_problem(const struct run *run, const struct stored *s, struct nw_trace_expect *e,
				    char *problem, size_t len)
{
	const struct nw_hw_case *c = &run->cases[s->case_index];
	const struct nw_hw_outcome *o = &run->outcomes[s->case_index];
	bool ok = run->backend->vmx ? nw_hw_vmx_observe(c, o, e, problem, len) : nw_hw_observe(c, o, e, problem, len);

	return ok ? NULL : problem;
}

static void compare(struct run *run, struct nw_replay *replay, const struct stored *s, const struct nw_trace_expect *e,
		    int n, const struct nw_replay_mismatch *m)
{
	const struct nw_hw_deviation *d;
	struct nw_hw_mismatch mm = { .record = s->record, .access = s->rec.access };

	if (n == 0) {
		run->rep.matched++;
		return;
	}
	d = nw_hw_deviation_find(&(struct nw_hw_deviation_ctx){
		.backend = run->backend, .cpu = &replay->machine->cpu, .stage2 = &replay->config.stage2,
		.access = &s->rec.access, .sim = &replay->result, .observed = e });
	if (d) {
		nw_hw_report_explained(&run->rep, d, s->record);
		return;
	}
	mm.count = (unsigned)n < NW_EXPECT_FIELD_COUNT ? (unsigned)n : NW_EXPECT_FIELD_COUNT;
	memcpy(mm.fields, m, mm.count * sizeof(*m));
	nw_hw_report_mismatch(&run->rep, &mm);
}

/* Under KVM the image returns from CPL 3 by "int $0x80" (hw/runner.c); a host
 * whose KVM refuses that (a paravirtual KVM such as kvm_pvm raises #UD) leaves
 * the access's outcome unknown: the case does not count as run. No access of a
 * case raises #UD itself (its instructions are fixed loads, stores and jumps),
 * so the image's "exc 6" is that return (hw/DEVIATIONS.md, host limitations). */
static bool is_kvm_ring3_return_refused(const struct run *run, const struct stored *s,
					const struct nw_hw_outcome *o)
{
	return run->backend->id == NW_HW_KVM && s->rec.access.cpl == 3 && o->kind == NW_HW_OTHER &&
	       !strncmp(o->text, "exc 6 ", 6);
}

/* Why a case the image was given did not run: a feature the backend lacks, or a host limitation; NULL when it ran. */
static const char *not_run_reason(const struct run *run, const struct stored *s, char *reason, size_t len)
{
	const struct nw_hw_outcome *o = &run->outcomes[s->case_index];

	if (o->kind == NW_HW_UNSUPPORTED) {
		snprintf(reason, len, "the backend lacks %s", o->text);
		return reason;
	}
	if (o->kind == NW_HW_HOST_LIMIT)
		return o->text;
	if (is_kvm_ring3_return_refused(run, s, o))
		return "host KVM raised #UD at the image's return from CPL 3 (int $0x80), after the access";
	return NULL;
}

/* One access of pass 2: the access, then the backend's outcome as its expectation. */
static int replay_access(struct run *run, struct nw_replay *replay, struct nw_trace_writer *w, const struct stored *s,
			 char *err, size_t errlen)
{
	struct nw_trace_record expect = { .kind = NW_TRACE_EXPECT };
	struct nw_replay_mismatch m[NW_EXPECT_FIELD_COUNT];
	struct nw_hw_mismatch mm = { .record = s->record, .access = s->rec.access };
	const char *problem, *why;
	char reason[300];
	int n;

	run->rep.accesses++;
	if (s->case_index < 0)
		return nw_hw_report_not_run(&run->rep, s->record, s->reason) ? 0 : -1;
	why = not_run_reason(run, s, reason, sizeof(reason));
	if (why)
		return nw_hw_report_not_run(&run->rep, s->record, why) ? 0 : -1;
	run->rep.run++;
	problem = ran_case_problem(run, s, &expect.expect, mm.problem, sizeof(mm.problem));
	if (problem)
		return nw_hw_report_mismatch(&run->rep, &mm) ? 0 : -1;
	if (w && nw_trace_writer_put(w, &expect)) {
		snprintf(err, errlen, "%s", nw_trace_writer_error(w));
		return -1;
	}
	n = nw_replay_apply(replay, &expect, m, NW_EXPECT_FIELD_COUNT, err, errlen);
	if (n < 0)
		return -1;
	compare(run, replay, s, &expect.expect, n, m);
	return 0;
}

/* Pass 2: the observed trace, written and replayed by the simulator. */
static int replay_observed(struct run *run)
{
	struct nw_replay_options ropt = { .tlb = false };
	struct nw_trace_writer *w = NULL;
	struct nw_replay_target t;
	struct nw_replay replay;
	char err[1024];
	int rc = 0;

	if (nw_replay_target_open(run->opt.scenario, &t, err, sizeof(err))) {
		fprintf(stderr, "nestwalk hw run: %s\n", err);
		return -1;
	}
	model_backend(run, &t);
	if (nw_replay_init(&replay, &t.machine, &ropt, err, sizeof(err))) {
		fprintf(stderr, "nestwalk hw run: %s\n", err);
		nw_replay_target_close(&t);
		return -1;
	}
	if (run->opt.observed) {
		char elf[4096] = "", dump[4096] = "";
		const char *const inputs[] = { run->opt.scenario, run->trace_path, run->opt.image, elf, dump, NULL };

		if (t.scenario.elf_image)
			nw_scenario_file_path(&t.scenario, t.scenario.elf_image, elf, sizeof(elf));
		if (t.scenario.memory_dump)
			nw_scenario_file_path(&t.scenario, t.scenario.memory_dump, dump, sizeof(dump));
		w = nw_trace_writer_open(run->opt.observed, inputs, NW_TRACE_FORM_TEXT, false, err, sizeof(err));
		if (!w) {
			fprintf(stderr, "nestwalk hw run: %s\n", err);
			rc = -1;
		}
	}
	for (size_t i = 0; !rc && i < run->record_count; i++) {
		const struct stored *s = &run->records[i];
		struct nw_replay_mismatch m[NW_EXPECT_FIELD_COUNT];

		if (w && nw_trace_writer_put(w, &s->rec)) {
			snprintf(err, sizeof(err), "%s", nw_trace_writer_error(w));
			rc = -1;
		} else if (nw_replay_apply(&replay, &s->rec, m, NW_EXPECT_FIELD_COUNT, err, sizeof(err)) < 0) {
			rc = -1;
		} else if (s->rec.kind == NW_TRACE_ACCESS) {
			rc = replay_access(run, &replay, w, s, err, sizeof(err));
		}
		if (rc)
			fprintf(stderr, "nestwalk hw run: record %llu: %s\n", (unsigned long long)s->record, err);
	}
	if (w && !rc && nw_trace_writer_close(w, err, sizeof(err))) {
		fprintf(stderr, "nestwalk hw run: %s\n", err);
		rc = -1;
	} else if (w && rc) {
		nw_trace_writer_abandon(w);
	}
	nw_replay_fini(&replay);
	run->rep.leaked_frames = nw_replay_target_close(&t);
	return rc;
}

static int check_bochs(void)
{
	for (size_t i = 0; i < sizeof(bochs_programs) / sizeof(bochs_programs[0]); i++) {
		if (!nw_hw_program_exists(bochs_programs[i])) {
			fprintf(stderr, "nestwalk hw run: %s is not installed (tools/setup installs it)\n",
				bochs_programs[i]);
			return NW_EXIT_BAD_INPUT;
		}
	}
	if (access(BOCHS_BIOS, R_OK)) {
		fprintf(stderr, "nestwalk hw run: no Bochs BIOS at %s (tools/setup installs bochsbios)\n", BOCHS_BIOS);
		return NW_EXIT_BAD_INPUT;
	}
	return 0;
}

static int check_tools(const struct run *run)
{
	if (run->backend->id == NW_HW_KVM && access("/dev/kvm", R_OK | W_OK)) {
		fprintf(stderr, "kvm: /dev/kvm is missing\n");
		return EXIT_SKIPPED;
	}
	if (access(run->opt.image, R_OK)) {
		fprintf(stderr, "nestwalk hw run: no image at %s (build it with ninja, or give --image PATH)\n",
			run->opt.image);
		return NW_EXIT_BAD_INPUT;
	}
	if (run->backend->vmx)
		return check_bochs();
	if (!nw_hw_program_exists(QEMU)) {
		fprintf(stderr, "nestwalk hw run: %s is not installed (tools/setup installs it)\n", QEMU);
		return NW_EXIT_BAD_INPUT;
	}
	return 0;
}

static int nothing_runs(const struct run *run)
{
	fprintf(stderr, "nestwalk hw run: nothing of %s can run on %s:\n", run->opt.scenario, run->backend->name);
	for (size_t i = 0; i < run->record_count; i++)
		if (run->records[i].rec.kind == NW_TRACE_ACCESS)
			fprintf(stderr, "  record %llu: %s\n", (unsigned long long)run->records[i].record,
				run->records[i].reason);
	return NW_EXIT_BAD_INPUT;
}

/* Compiles and runs the cases; compiles again once when the image reports another MAXPHYADDR. */
static int compile_and_boot(struct run *run)
{
	unsigned maxphy = run->backend->id == NW_HW_KVM && host_maxphyaddr() ? host_maxphyaddr() : QEMU_MAXPHYADDR;

	if (run->backend->vmx)
		maxphy = VMX_MAXPHYADDR;
	for (int attempt = 0;; attempt++) {
		struct nw_hw_boots boots = { .backend = run->backend, .image = run->opt.image,
					     .timeout = run->opt.timeout, .cases_per_boot = run->opt.cases_per_boot };
		int rc = compile(run, maxphy);

		if (rc)
			return rc;
		if (!run->case_count)
			return nothing_runs(run);
		free(run->outcomes);
		run->outcomes = calloc(run->case_count, sizeof(*run->outcomes));
		if (!run->outcomes) {
			fprintf(stderr, "nestwalk hw run: out of memory\n");
			return NW_EXIT_BAD_INPUT;
		}
		boots.cases = run->cases;
		boots.count = run->case_count;
		boots.outcomes = run->outcomes;
		boots.expect_maxphyaddr = run->backend->vmx ? 0 : maxphy;
		rc = nw_hw_boots_run(&boots);
		if (rc < 0)
			return NW_EXIT_BAD_INPUT;
		if (rc == 0) {
			run->rep.maxphyaddr = maxphy;
			run->rep.boot_seconds = boots.seconds;
			run->rep.boots = boots.boots;
			return 0;
		}
		if (attempt) {
			fprintf(stderr, "nestwalk hw run: the image reports MAXPHYADDR %u, then %u\n", maxphy,
				boots.maxphyaddr);
			return NW_EXIT_BAD_INPUT;
		}
		maxphy = boots.maxphyaddr;
	}
}

/* --observed naming a file of the command line is refused before the image boots (the writer checks
 * again, with the files the scenario names). */
static int refuse_observed_input(const struct options *opt)
{
	const char *const inputs[] = { opt->scenario, opt->image, opt->trace, NULL };
	char err[1024];

	if (!nw_file_out_check(opt->observed, inputs, err, sizeof(err)))
		return 0;
	fprintf(stderr, "nestwalk hw run: %s\n", err);
	return -1;
}

int nw_cmd_hw(int argc, char **argv)
{
	struct run run = { 0 };
	int rc;

	if (parse_options(argc, argv, &run.opt))
		return usage();
	run.backend = nw_hw_backend_find(run.opt.backend);
	if (!run.backend) {
		fprintf(stderr, "nestwalk hw run: unknown backend '%s' (qemu, qemu-svm, kvm or bochs-vmx)\n",
			run.opt.backend);
		return usage();
	}
	if (!run.opt.image)
		run.opt.image = run.backend->vmx ? NW_HW_VMX_IMAGE_DEFAULT : NW_HW_IMAGE_DEFAULT;
	if (run.opt.observed && refuse_observed_input(&run.opt))
		return NW_EXIT_BAD_INPUT;
	rc = check_tools(&run);
	if (rc)
		return rc;
	rc = compile_and_boot(&run);
	if (rc == NW_EXIT_OK) {
		run.rep.scenario = run.opt.scenario;
		run.rep.backend = run.backend->name;
		run.rep.image = run.opt.image;
		rc = replay_observed(&run) ? NW_EXIT_BAD_INPUT : NW_EXIT_OK;
	}
	if (rc == NW_EXIT_OK) {
		if (run.opt.json)
			nw_hw_report_print_json(stdout, &run.rep);
		else
			nw_hw_report_print(stdout, &run.rep);
		if (run.rep.mismatch_count || run.rep.leaked_frames)
			rc = NW_EXIT_MISMATCH;
	}
	free(run.outcomes);
	nw_hw_report_free(&run.rep);
	free_records(&run);
	return rc;
}
