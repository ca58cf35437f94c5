/* Pass 1 of `nestwalk hw run` (cmd_hw.h): the scenario's trace applied in
 * order to its machine, each access compiled at the state it meets into a
 * case of the image, or a reason why it cannot run there. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cmd_hw.h"

#define MAX_CASES (1u << 20)

void nw_hw_cmd_free_records(struct nw_hw_cmd *run)
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

static int store(struct nw_hw_cmd *run, const struct nw_trace_record *rec, uint64_t number,
		 struct nw_hw_cmd_record **out)
{
	struct nw_hw_cmd_record *s;

	if (!grow((void **)&run->records, &run->record_cap, run->record_count, sizeof(*run->records)))
		return -1;
	s = &run->records[run->record_count++];
	*s = (struct nw_hw_cmd_record){ .rec = *rec, .record = number, .case_index = -1 };
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
static int find_trace(struct nw_hw_cmd *run, const struct nw_scenario *sc)
{
	char err[1024];

	if (nw_scenario_trace_path(sc, run->opt.trace, run->trace_path, sizeof(run->trace_path), err, sizeof(err)) == 0)
		return 0;
	fprintf(stderr, "nestwalk hw run: %s\n", err);
	return -1;
}

/* Whether the backend can show the scenario's second stage at all. */
static int check_stage2(const struct nw_hw_cmd *run, const struct nw_replay_machine *m)
{
	if (run->backend->nested && m->stage2.kind != NW_STAGE2_NPT) {
		fprintf(stderr, "nestwalk hw run: %s runs AMD nested paging; %s %s\n", run->backend->name,
			run->opt.scenario, m->stage2.kind == NW_STAGE2_EPT ? "uses EPT (stage2.format: ept)"
									   : "has no second stage");
		return -1;
	}
	if (run->backend->vmx && m->stage2.kind != NW_STAGE2_EPT) {
		fprintf(stderr, "nestwalk hw run: %s runs Intel EPT; %s %s\n", run->backend->name, run->opt.scenario,
			m->stage2.kind == NW_STAGE2_NPT ? "uses NPT (stage2.format: npt)" : "has no second stage");
		return -1;
	}
	return 0;
}

/* Bochs's VMX reports no advanced VM-exit information (exit-qualification bits 9-11, Vol. 3C §28.2.1). */
void nw_hw_cmd_model_backend(const struct nw_hw_cmd *run, struct nw_replay_target *t)
{
	if (run->backend->vmx && t->has_vm && t->vm.aspace.config.format == NW_STAGE2_EPT)
		t->vm.aspace.ept.config.caps.advanced_exit_info = false;
}

/* One access: its case, or why it does not run. */
static int compile_access(struct nw_hw_cmd *run, const struct nw_hw_target *target, struct nw_replay *replay,
			  struct nw_hw_cmd_record *s)
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

int nw_hw_cmd_compile(struct nw_hw_cmd *run, unsigned maxphyaddr)
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

	nw_hw_cmd_free_records(run);
	if (nw_replay_target_open(run->opt.scenario, &t, err, sizeof(err))) {
		fprintf(stderr, "nestwalk hw run: %s\n", err);
		return NW_EXIT_BAD_INPUT;
	}
	if (t.scenario.arch != NW_SCENARIO_X86_64) {
		fprintf(stderr, "nestwalk hw run: %s: %s\n", run->opt.scenario,
			t.scenario.arch == NW_SCENARIO_AARCH64
				? "an aarch64 scenario runs on --backend qemu-aarch64"
				: "a riscv64 scenario runs on --backend qemu-riscv64");
		nw_replay_target_close(&t);
		return NW_EXIT_BAD_INPUT;
	}
	if (check_stage2(run, &t.machine) || find_trace(run, &t.scenario)) {
		nw_replay_target_close(&t);
		return NW_EXIT_BAD_INPUT;
	}
	nw_hw_cmd_model_backend(run, &t);
	reader = nw_trace_reader_open_arch(run->trace_path, NW_TRACE_ARCH_X86_64, err, sizeof(err));
	if (!reader || nw_replay_init(&replay, &t.machine, &ropt, err, sizeof(err))) {
		fprintf(stderr, "nestwalk hw run: %s\n", err);
		if (reader)
			nw_trace_reader_close(reader);
		nw_replay_target_close(&t);
		return NW_EXIT_BAD_INPUT;
	}
	run->trace_version = nw_trace_reader_version(reader);
	while ((got = nw_trace_reader_next(reader, &rec)) > 0) {
		uint64_t number = nw_trace_reader_records(reader);
		struct nw_hw_cmd_record *s;

		if (rec.kind == NW_TRACE_EXPECT || rec.kind == NW_TRACE_END)
			continue; /* the observed trace carries the backend's expectations instead */
		if (store(run, &rec, number, &s) ||
		    (rec.kind == NW_TRACE_ACCESS && compile_access(run, &target, &replay, s))) {
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
