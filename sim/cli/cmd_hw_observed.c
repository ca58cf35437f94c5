/* Pass 2 of `nestwalk hw run` (cmd_hw.h): the scenario's records with the
 * backend's outcome after each access as its expectation, written as the
 * observed trace and replayed by the simulator without a TLB; each mismatch
 * explained by a listed deviation or reported. */
#include <stdio.h>
#include <string.h>

#include <nestwalk/assert.h>

#include "cli/cmd_hw.h"

static const char *ran_case_problem(const struct nw_hw_cmd *run, const struct nw_hw_cmd_record *s,
				    struct nw_trace_expect *e, char *problem, size_t len)
{
	const struct nw_hw_case *c = &run->cases[s->case_index];
	const struct nw_hw_outcome *o = &run->outcomes[s->case_index];
	bool ok = run->backend->vmx ? nw_hw_vmx_observe(c, o, e, problem, len) : nw_hw_observe(c, o, e, problem, len);

	return ok ? NULL : problem;
}

static void compare(struct nw_hw_cmd *run, struct nw_replay *replay, const struct nw_hw_cmd_record *s,
		    const struct nw_trace_expect *e, int n, const struct nw_replay_mismatch *m)
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
static bool is_kvm_ring3_return_refused(const struct nw_hw_cmd *run, const struct nw_hw_cmd_record *s,
					const struct nw_hw_outcome *o)
{
	return run->backend->id == NW_HW_KVM && s->rec.access.cpl == 3 && o->kind == NW_HW_OTHER &&
	       !strncmp(o->text, "exc 6 ", 6);
}

/* Why a case the image was given did not run: a feature the backend lacks, or a host limitation; NULL when it ran. */
static const char *not_run_reason(const struct nw_hw_cmd *run, const struct nw_hw_cmd_record *s, char *reason,
				  size_t len)
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
static int replay_access(struct nw_hw_cmd *run, struct nw_replay *replay, struct nw_trace_writer *w,
			 const struct nw_hw_cmd_record *s, char *err, size_t errlen)
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

int nw_hw_cmd_replay_observed(struct nw_hw_cmd *run)
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
	nw_hw_cmd_model_backend(run, &t);
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
		if (w) { /* in the trace's version, so an s2edit (version 3) is written as it came */
			int set = nw_trace_writer_set_version(w, run->trace_version);

			NW_ASSERT(set == 0); /* a fresh writer takes any version a reader gave */
		}
		if (!w) {
			fprintf(stderr, "nestwalk hw run: %s\n", err);
			rc = -1;
		}
	}
	for (size_t i = 0; !rc && i < run->record_count; i++) {
		const struct nw_hw_cmd_record *s = &run->records[i];
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
