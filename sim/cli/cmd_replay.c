/* `nestwalk replay SCENARIO [--trace FILE] [--json] [--max-mismatches N]
 * [--no-tlb] [--no-explain]`: applies a trace to the scenario's machine in order, checks
 * every expectation, explains the first mismatch and prints statistics.
 * Exit 0 when everything matched, 1 on a mismatch or a no_memory outcome
 * (the host, not the guest, failed), 2 on bad input. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "replay/replay.h"
#include "scenario/elf_image.h"

#define PRINTED_MISMATCHES 10 /* one line each after the first, explained one, without --max-mismatches */
#define PROGRESS_CHECK 65536  /* records between clock reads */

enum { OPT_TRACE, OPT_JSON, OPT_MAX_MISMATCHES, OPT_NO_TLB, OPT_NO_EXPLAIN };

static const struct nw_cli_option options[] = {
	[OPT_TRACE] = { "--trace", "FILE", "the trace to replay (default: the scenario's trace: key)" },
	[OPT_JSON] = { "--json", NULL, "the statistics as one JSON object (docs/json.md) instead of text" },
	[OPT_MAX_MISMATCHES] = { "--max-mismatches", "N", "stop after N mismatching expectations (N > 0), listing each" },
	[OPT_NO_TLB] = { "--no-tlb", NULL, "walk every access (no TLB or paging-structure caches)" },
	[OPT_NO_EXPLAIN] = { "--no-explain", NULL, "do not explain the first mismatch's walk" },
	{ NULL, NULL, NULL },
};

const struct nw_cli_usage nw_usage_replay = {
	.command = "replay",
	.synopsis = "SCENARIO [--trace FILE] [--json] [--max-mismatches N] [--no-tlb] [--no-explain]",
	.summary = "replay a trace on a scenario, check its expectations, print statistics",
	.operands = { "SCENARIO" },
	.required = 1,
	.options = options,
};

struct options {
	const char *scenario, *trace;
	bool json, no_tlb, no_explain;
	uint64_t max_mismatches; /* 0: no limit */
};

/* NW_CLI_RUN, or the parser's other answers (cli.h). */
static int parse_options(int argc, char **argv, struct options *opt)
{
	struct nw_cli_args a;
	int rc = nw_cli_parse(&nw_usage_replay, argc, argv, &a);

	if (rc)
		return rc;
	*opt = (struct options){ .scenario = a.operand[0], .trace = a.value[OPT_TRACE], .json = a.value[OPT_JSON],
				 .no_tlb = a.value[OPT_NO_TLB], .no_explain = a.value[OPT_NO_EXPLAIN] };
	if (a.value[OPT_MAX_MISMATCHES] &&
	    nw_cli_number(&nw_usage_replay, &a, OPT_MAX_MISMATCHES, 1, UINT64_MAX, &opt->max_mismatches))
		return -1;
	return NW_CLI_RUN;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct run {
	const struct options *opt;
	struct nw_replay replay;
	struct nw_replay_first *first;
	uint64_t mismatched;
	bool progress;
	double start, last_progress;
};

static void show_progress(struct run *run)
{
	double t = now();

	if (t - run->start < 1.0 || t - run->last_progress < 0.5)
		return;
	run->last_progress = t;
	fprintf(stderr, "\rreplay: %llu records, %llu accesses, %.0f accesses/s ",
		(unsigned long long)run->replay.stats.records, (unsigned long long)run->replay.stats.accesses,
		(double)run->replay.stats.accesses / (t - run->start));
}

/* 1: stop here (enough mismatches). */
static int note_mismatch(struct run *run, const struct nw_replay_mismatch *m, int count)
{
	unsigned shown = count < NW_EXPECT_FIELD_COUNT ? (unsigned)count : NW_EXPECT_FIELD_COUNT;

	if (!run->first) {
		run->first = malloc(sizeof(*run->first));
		if (run->first) {
			snprintf(run->first->mark, sizeof(run->first->mark), "%s", run->replay.mark);
			memcpy(run->first->fields, m, shown * sizeof(*m));
			run->first->count = shown;
			run->first->result = run->replay.result;
		}
		if (!run->opt->json)
			nw_replay_print_mismatch(stdout, &run->replay, m, shown, !run->opt->no_explain);
	} else if (!run->opt->json && (run->opt->max_mismatches || run->mismatched < PRINTED_MISMATCHES)) {
		nw_replay_print_mismatch(stdout, &run->replay, m, shown, false);
	}
	run->mismatched++;
	return run->opt->max_mismatches && run->mismatched >= run->opt->max_mismatches;
}

/* Replays a batch of accesses (trace.h, "Batches"); 1: stop here (enough mismatches), -1: bad input (reported). */
static int replay_batch(struct run *run, const struct nw_trace_batch *batch, const char *path)
{
	struct nw_replay_mismatch m[NW_EXPECT_FIELD_COUNT];
	char err[512];

	for (size_t done = 0; done < batch->count;) {
		int count;

		done += nw_replay_run(&run->replay, batch->items + done, batch->expects + done, batch->count - done, m,
				      NW_EXPECT_FIELD_COUNT, &count, err, sizeof(err));
		if (count < 0) {
			fprintf(stderr, "%snestwalk replay: %s: record %llu: %s\n", run->progress ? "\n" : "", path,
				(unsigned long long)run->replay.record, err);
			return -1;
		}
		if (count > 0 && note_mismatch(run, m, count))
			return 1;
	}
	return 0;
}

/* One record the batch reader left to the record reader; 1: stop here, -1: bad input (reported). */
static int replay_record(struct run *run, struct nw_trace_reader *reader, const char *path,
			 const struct nw_trace_record *rec)
{
	struct nw_replay_mismatch m[NW_EXPECT_FIELD_COUNT];
	char err[512];
	int n = nw_replay_apply(&run->replay, rec, m, NW_EXPECT_FIELD_COUNT, err, sizeof(err));

	if (n < 0) {
		fprintf(stderr, "%snestwalk replay: %s: record %llu: %s\n", run->progress ? "\n" : "", path,
			(unsigned long long)nw_trace_reader_records(reader), err);
		return -1;
	}
	return n > 0 && note_mismatch(run, m, n);
}

static int replay_trace(struct run *run, struct nw_trace_reader *reader, const char *path)
{
	struct nw_trace_batch *batch = malloc(sizeof(*batch));
	struct nw_trace_record rec;
	uint64_t next_progress = PROGRESS_CHECK;
	int got = 1, stop = 0;

	if (!batch) {
		fprintf(stderr, "nestwalk replay: out of memory\n");
		return NW_EXIT_BAD_INPUT;
	}
	while (!stop) {
		if (nw_trace_reader_batch(reader, batch))
			stop = replay_batch(run, batch, path);
		else if ((got = nw_trace_reader_next(reader, &rec)) > 0)
			stop = replay_record(run, reader, path, &rec);
		else
			break;
		if (run->progress && run->replay.record >= next_progress) {
			next_progress = run->replay.record + PROGRESS_CHECK;
			show_progress(run);
		}
	}
	free(batch);
	if (stop < 0)
		return NW_EXIT_BAD_INPUT;
	if (stop > 0 && !run->opt->json)
		printf("stopping after %llu mismatching expectation(s) (--max-mismatches)\n",
		       (unsigned long long)run->mismatched);
	if (run->progress && run->last_progress > 0)
		fprintf(stderr, "\r\033[K");
	if (got < 0) {
		fprintf(stderr, "nestwalk replay: %s\n", nw_trace_reader_error(reader));
		return NW_EXIT_BAD_INPUT;
	}
	return run->mismatched ? NW_EXIT_MISMATCH : NW_EXIT_OK;
}

/* no_memory is the host failing, not the guest: the replay did not answer
 * those accesses, so it cannot pass. */
static int warn_no_memory(const struct nw_replay *r, const struct nw_replay_target *target)
{
	const struct nw_replay_stats *s = &r->stats;
	uint64_t unbacked = s->outcomes[NW_REPLAY_OUT_NO_MEMORY] - s->host_exhausted;

	if (!s->outcomes[NW_REPLAY_OUT_NO_MEMORY])
		return NW_EXIT_OK;
	if (s->host_exhausted)
		fprintf(stderr, "nestwalk replay: warning: %llu access(es) got no_memory: the simulated host "
				"(host.memory 0x%llx) had no frame left for a lazy page; not guest faults, "
				"give the scenario more host.memory\n",
			(unsigned long long)s->host_exhausted,
			(unsigned long long)(target->has_vm ? nw_simmem_size(target->vm.sim) : 0));
	if (unbacked)
		fprintf(stderr, "nestwalk replay: warning: %llu access(es) got no_memory: a guest table lies in "
				"memory nothing backs\n", (unsigned long long)unbacked);
	return NW_EXIT_MISMATCH;
}

int nw_cmd_replay(int argc, char **argv)
{
	struct nw_replay_options ropt;
	struct nw_replay_target target;
	struct nw_trace_reader *reader;
	struct options opt;
	struct run run = { 0 };
	char err[1024], path[4096];
	double seconds;
	int rc;

	rc = parse_options(argc, argv, &opt);
	if (rc)
		return NW_CLI_EXIT(rc);
	if (nw_replay_target_open(opt.scenario, &target, err, sizeof(err))) {
		fprintf(stderr, "nestwalk replay: %s\n", err);
		return NW_EXIT_BAD_INPUT;
	}
	if (nw_scenario_trace_path(&target.scenario, opt.trace, path, sizeof(path), err, sizeof(err))) {
		fprintf(stderr, "nestwalk replay: %s\n", err);
		nw_replay_target_close(&target);
		return NW_EXIT_BAD_INPUT;
	}
	reader = nw_trace_reader_open_arch(path, target.machine.arch, err, sizeof(err));
	ropt = (struct nw_replay_options){ .tlb = !opt.no_tlb, .no_explain = opt.no_explain, .record_on_mismatch = true };
	if (!reader || nw_replay_init(&run.replay, &target.machine, &ropt, err, sizeof(err))) {
		fprintf(stderr, "nestwalk replay: %s\n", err);
		if (reader)
			nw_trace_reader_close(reader);
		nw_replay_target_close(&target);
		return NW_EXIT_BAD_INPUT;
	}
	run.opt = &opt;
	run.progress = isatty(STDERR_FILENO);
	if (!opt.json)
		printf("replay of %s on %s (TLB %s)\n", path, opt.scenario, opt.no_tlb ? "off" : "on");
	run.start = now();
	rc = replay_trace(&run, reader, path);
	seconds = now() - run.start;
	if (rc != NW_EXIT_BAD_INPUT) {
		if (opt.json)
			nw_replay_print_json(stdout, &run.replay, seconds, run.first);
		else
			nw_replay_print_stats(stdout, &run.replay, seconds);
	}
	if (rc == NW_EXIT_OK)
		rc = warn_no_memory(&run.replay, &target);
	free(run.first);
	nw_replay_fini(&run.replay);
	nw_trace_reader_close(reader);
	if (nw_replay_target_close(&target) && rc == NW_EXIT_OK)
		rc = NW_EXIT_MISMATCH;
	return rc;
}
