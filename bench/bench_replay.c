/* Replay throughput: accesses decoded up front (decoding is not timed), then
 * replayed one by one as `nestwalk replay` does: TLB lookup, and on a miss the
 * two-dimensional walk and a TLB fill. */
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"
#include "replay.h"

static int replay_accesses(struct nw_replay_machine *machine, const struct nw_trace_access *accesses, uint64_t n,
			   bool tlb, struct bench_replay *out)
{
	struct nw_replay_options options = { .tlb = tlb };
	struct nw_replay_result res;
	struct nw_replay replay;
	char err[256];
	double start;

	if (nw_replay_init(&replay, machine, &options, err, sizeof(err))) {
		fprintf(stderr, "nestwalk bench: %s\n", err);
		return -1;
	}
	start = bench_now_ns();
	for (uint64_t i = 0; i < n; i++)
		nw_replay_access(&replay, &accesses[i], &res);
	out->per_second = (double)n / ((bench_now_ns() - start) / 1e9);
	out->accesses = n;
	out->tlb_hit_rate = replay.stats.tlb_lookups ? (double)replay.stats.tlb_hits / (double)replay.stats.tlb_lookups
						     : 0;
	nw_replay_fini(&replay);
	return 0;
}

int bench_replay_trace(const char *scenario, const char *trace, uint64_t max, bool tlb, struct bench_replay *out)
{
	struct nw_trace_access *accesses = malloc(max * sizeof(*accesses));
	struct nw_replay_target target;
	struct nw_trace_reader *reader;
	struct nw_trace_record rec;
	uint64_t n = 0;
	char err[512];
	int rc = -1;

	if (!accesses)
		return -1;
	if (nw_replay_target_open(scenario, &target, err, sizeof(err))) {
		fprintf(stderr, "nestwalk bench: %s\n", err);
		free(accesses);
		return -1;
	}
	reader = nw_trace_reader_open(trace, err, sizeof(err));
	if (!reader) {
		fprintf(stderr, "nestwalk bench: %s\n", err);
		goto out;
	}
	while (n < max && nw_trace_reader_next(reader, &rec) == 1)
		if (rec.kind == NW_TRACE_ACCESS)
			accesses[n++] = rec.access;
	nw_trace_reader_close(reader);
	rc = replay_accesses(&target.machine, accesses, n, tlb, out);
out:
	if (nw_replay_target_close(&target))
		rc = -1;
	free(accesses);
	return rc;
}

int bench_replay_random(struct bench_vm *vm, uint64_t n, bool tlb, struct bench_replay *out)
{
	struct nw_replay_machine machine = {
		.hal = vm->hal, .stage2 = vm->config.stage2, .cpu = vm->cpu,
		.eptp = vm->config.stage2.kind == NW_STAGE2_EPT ? nw_ept_eptp(&vm->ept) : 0,
	};
	struct nw_trace_access *accesses = malloc(n * sizeof(*accesses));
	uint64_t state = 0x243f6a8885a308d3u;
	int rc;

	if (!accesses)
		return -1;
	for (uint64_t i = 0; i < n; i++) {
		state = state * UINT64_C(6364136223846793005) + UINT64_C(1442695040888963407);
		accesses[i] = (struct nw_trace_access){ .gva = nw_gva(bench_vm_gva(vm, (state >> 24) % vm->layout.npages)),
							.size = 8, .type = NW_ACCESS_READ, .cpl = 3 };
	}
	rc = replay_accesses(&machine, accesses, n, tlb, out);
	free(accesses);
	return rc;
}
