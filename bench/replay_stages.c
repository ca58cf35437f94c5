/* replay_stages SCENARIO TRACE [SAMPLES]: where replay's time goes, stage by
 * stage, each the best of SAMPLES runs in thread CPU time (the machine is
 * shared; CPU time leaves out the waiting). The stages add up: the trace's
 * bytes alone (file reading and, for .zst, zstd), then decoding them into
 * records and batches, then everything `nestwalk replay` does but printing,
 * then the replay engine alone on accesses decoded beforehand (the figure
 * `nestwalk bench` reports). */
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"
#include "replay/replay.h"
#include "trace/trace_io.h"

/* Bytes of the (decompressed) stream, read a buffer at a time. */
static double read_bytes(const char *path, uint64_t *bytes)
{
	struct nw_trace_src src;
	char err[512];
	double start = bench_now_ns();
	size_t avail;

	if (nw_trace_src_open(&src, path, err, sizeof(err))) {
		fprintf(stderr, "replay_stages: %s\n", err);
		exit(2);
	}
	*bytes = 0;
	while ((avail = nw_trace_src_fill(&src, 1)) > 0) {
		src.pos += avail;
		src.offset += avail;
		*bytes += avail;
	}
	nw_trace_src_close(&src);
	return bench_now_ns() - start;
}

static struct nw_trace_reader *open_reader(const char *path)
{
	char err[512];
	struct nw_trace_reader *reader = nw_trace_reader_open(path, err, sizeof(err));

	if (!reader) {
		fprintf(stderr, "replay_stages: %s\n", err);
		exit(2);
	}
	return reader;
}

/* Every record decoded (batches where they apply), nothing replayed. */
static double decode(const char *path, struct nw_trace_batch *batch, uint64_t *accesses)
{
	double start = bench_now_ns();
	struct nw_trace_reader *reader = open_reader(path);
	struct nw_trace_record rec;

	*accesses = 0;
	for (;;) {
		size_t n = nw_trace_reader_batch(reader, batch);

		*accesses += n;
		if (n)
			continue;
		if (nw_trace_reader_next(reader, &rec) <= 0)
			break;
		*accesses += rec.kind == NW_TRACE_ACCESS;
	}
	nw_trace_reader_close(reader);
	return bench_now_ns() - start;
}

/* The scenario's machine and a replay on it; exits on bad input. */
static void replay_open(const char *scenario, const struct nw_replay_options *options,
			struct nw_replay_target *target, struct nw_replay *replay)
{
	char err[512];

	if (nw_replay_target_open(scenario, target, err, sizeof(err)) ||
	    nw_replay_init(replay, &target->machine, options, err, sizeof(err))) {
		fprintf(stderr, "replay_stages: %s\n", err);
		exit(2);
	}
}

static void replay_close(struct nw_replay *replay, struct nw_replay_target *target, uint64_t *mismatches)
{
	*mismatches = replay->stats.mismatches;
	nw_replay_fini(replay);
	nw_replay_target_close(target);
}

static void replay_batch(struct nw_replay *replay, const struct nw_trace_batch *batch)
{
	struct nw_replay_mismatch m[NW_EXPECT_FIELD_COUNT];
	char err[512];
	int count;

	for (size_t done = 0; done < batch->count;)
		done += nw_replay_run(replay, batch->items + done, batch->expects + done, batch->count - done, m,
				      NW_EXPECT_FIELD_COUNT, &count, err, sizeof(err));
}

/* 0 after a record replay could not apply. */
static int replay_record(struct nw_replay *replay, const struct nw_trace_record *rec)
{
	struct nw_replay_mismatch m[NW_EXPECT_FIELD_COUNT];
	char err[512];

	return nw_replay_apply(replay, rec, m, NW_EXPECT_FIELD_COUNT, err, sizeof(err)) >= 0;
}

/* What `nestwalk replay` does after loading the scenario, without its report. */
static double end_to_end(const char *scenario, const char *path, const struct nw_replay_options *options,
			 struct nw_trace_batch *batch, uint64_t *mismatches)
{
	struct nw_replay_target target;
	struct nw_replay replay;
	struct nw_trace_reader *reader;
	struct nw_trace_record rec;
	double start, ns;

	replay_open(scenario, options, &target, &replay);
	start = bench_now_ns();
	reader = open_reader(path);
	for (;;) {
		batch->count = nw_trace_reader_batch(reader, batch);
		if (batch->count)
			replay_batch(&replay, batch);
		else if (nw_trace_reader_next(reader, &rec) <= 0 || !replay_record(&replay, &rec))
			break;
	}
	nw_trace_reader_close(reader);
	ns = bench_now_ns() - start;
	replay_close(&replay, &target, mismatches);
	return ns;
}

static void row(const char *stage, double ns, uint64_t accesses)
{
	printf("  %-40s %9.1f %12.2f %10.2f\n", stage, ns / 1e6, (double)accesses / (ns / 1e9) / 1e6,
	       ns / (double)accesses);
}

#define BEST(best, expr)                                  \
	do {                                              \
		for (unsigned s_ = 0; s_ < samples; s_++) { \
			double t_ = (expr);               \
			if (s_ == 0 || t_ < (best))       \
				(best) = t_;              \
		}                                         \
	} while (0)

int main(int argc, char **argv)
{
	static struct nw_trace_batch batch;
	unsigned samples = argc > 3 ? (unsigned)atoi(argv[3]) : 3;
	/* As the replay command runs: --no-tlb records a walk only for a mismatch's explanation. */
	static const struct nw_replay_options with_tlb = { .tlb = true, .record_on_mismatch = true },
					      no_tlb = { .tlb = false, .record_on_mismatch = true },
					      no_tlb_lean = { .tlb = false, .no_explain = true };
	double read_ns = 0, decode_ns = 0, run_ns = 0, no_tlb_ns = 0, no_tlb_lean_ns = 0;
	uint64_t bytes, accesses, mismatches = 0, ignored;
	struct bench_replay engine;

	if (argc < 3 || samples == 0) {
		fprintf(stderr, "usage: replay_stages SCENARIO TRACE [SAMPLES]\n");
		return 2;
	}
	BEST(read_ns, read_bytes(argv[2], &bytes));
	BEST(decode_ns, decode(argv[2], &batch, &accesses));
	BEST(run_ns, end_to_end(argv[1], argv[2], &with_tlb, &batch, &mismatches));
	BEST(no_tlb_ns, end_to_end(argv[1], argv[2], &no_tlb, &batch, &ignored));
	BEST(no_tlb_lean_ns, end_to_end(argv[1], argv[2], &no_tlb_lean, &batch, &ignored));
	if (!accesses || bench_replay_trace(argv[1], argv[2], accesses, true, &engine))
		return 2;
	printf("replay stages of %s (%llu accesses, %llu bytes; TLB on unless said; best of %u, thread CPU time)\n", argv[2],
	       (unsigned long long)accesses, (unsigned long long)bytes, samples);
	printf("  %-40s %9s %12s %10s\n", "stage", "ms", "M acc/s", "ns/acc");
	row("read the bytes (file, zstd if compressed)", read_ns, accesses);
	row("+ decode (records and batches)", decode_ns, accesses);
	row("+ replay: end to end", run_ns, accesses);
	row("replay engine alone (decoded items)", (double)accesses / engine.per_second * 1e9, accesses);
	row("end to end, --no-tlb (every access walks)", no_tlb_ns, accesses);
	row("end to end, --no-tlb --no-explain", no_tlb_lean_ns, accesses);
	if (mismatches)
		printf("  (%llu expectations did not match)\n", (unsigned long long)mismatches);
	return 0;
}
