/* Replay throughput: the trace decoded up front into items (decoding is not
 * timed), then replayed run by run as `nestwalk replay` does (nw_replay_run):
 * expectations checked, TLB hits on recent pages from their slots, a lookup
 * and on a miss the two-dimensional walk and a TLB fill otherwise. */
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"
#include "replay/replay.h"

#define TRACE_SAMPLES 3 /* the best of these replays of the trace (each from an empty TLB) */

struct decoded {
	struct nw_trace_item *items;
	struct nw_trace_expect *expects; /* beside items; touched only for full expectations */
	uint64_t n;
};

static int replay_items(struct nw_replay_machine *machine, const struct decoded *d, bool tlb, unsigned samples,
			struct bench_replay *out)
{
	struct nw_replay_options options = { .tlb = tlb, .record_on_mismatch = true }; /* as `nestwalk replay` */
	struct nw_replay_mismatch m[NW_EXPECT_FIELD_COUNT];
	double best = 0;

	for (unsigned s = 0; s < samples; s++) {
		struct nw_replay replay;
		char err[256];
		double start, seconds;
		int mismatched;

		if (nw_replay_init(&replay, machine, &options, err, sizeof(err))) {
			fprintf(stderr, "nestwalk bench: %s\n", err);
			return -1;
		}
		start = bench_now_ns();
		for (uint64_t done = 0; done < d->n;)
			done += nw_replay_run(&replay, d->items + done, d->expects + done, d->n - done, m,
					      NW_EXPECT_FIELD_COUNT, &mismatched, err, sizeof(err));
		seconds = (bench_now_ns() - start) / 1e9;
		if (s == 0 || seconds < best) {
			best = seconds;
			out->tlb_hit_rate = replay.stats.tlb_lookups ? (double)replay.stats.tlb_hits /
									(double)replay.stats.tlb_lookups : 0;
		}
		nw_replay_fini(&replay);
	}
	out->accesses = d->n;
	out->per_second = (double)d->n / best;
	return 0;
}

static int decoded_alloc(struct decoded *d, uint64_t max)
{
	d->items = malloc(max * sizeof(*d->items));
	d->expects = calloc(max, sizeof(*d->expects)); /* large: pages are touched only where written */
	d->n = 0;
	return d->items && d->expects ? 0 : -1;
}

static void decoded_free(struct decoded *d)
{
	free(d->items);
	free(d->expects);
}

/* The first max accesses with their expectations, by batches (other records are left out). */
static void decode(struct nw_trace_reader *reader, uint64_t max, struct decoded *d)
{
	static struct nw_trace_batch batch;
	struct nw_trace_record rec;

	while (d->n < max) {
		size_t n = nw_trace_reader_batch(reader, &batch);

		for (size_t i = 0; i < n && d->n < max; i++, d->n++) {
			d->items[d->n] = batch.items[i];
			if (nw_trace_item_has_full_expect(&batch.items[i]))
				d->expects[d->n] = batch.expects[i];
		}
		if (n)
			continue;
		if (nw_trace_reader_next(reader, &rec) <= 0)
			break;
		if (rec.kind == NW_TRACE_ACCESS)
			d->items[d->n++] = nw_trace_item_from_access(&rec.access);
		else if (rec.kind == NW_TRACE_EXPECT && d->n) {
			struct nw_trace_item *last = &d->items[d->n - 1];

			last->present = (uint16_t)rec.expect.present;
			last->outcome = NW_EXPECT_HAS(&rec.expect, NW_EXPECT_OUTCOME) ? (uint8_t)rec.expect.outcome : 0;
			d->expects[d->n - 1] = rec.expect;
		}
	}
}

int bench_replay_trace(const char *scenario, const char *trace, uint64_t max, bool tlb, struct bench_replay *out)
{
	struct nw_replay_target target;
	struct nw_trace_reader *reader;
	struct decoded d;
	char err[512];
	int rc = -1;

	if (decoded_alloc(&d, max)) {
		decoded_free(&d);
		return -1;
	}
	if (nw_replay_target_open(scenario, &target, err, sizeof(err))) {
		fprintf(stderr, "nestwalk bench: %s\n", err);
		decoded_free(&d);
		return -1;
	}
	reader = nw_trace_reader_open(trace, err, sizeof(err));
	if (!reader) {
		fprintf(stderr, "nestwalk bench: %s\n", err);
		goto out;
	}
	decode(reader, max, &d);
	nw_trace_reader_close(reader);
	rc = replay_items(&target.machine, &d, tlb, TRACE_SAMPLES, out);
out:
	if (nw_replay_target_close(&target))
		rc = -1;
	decoded_free(&d);
	return rc;
}

int bench_replay_random(struct bench_vm *vm, uint64_t n, bool tlb, struct bench_replay *out)
{
	struct nw_replay_machine machine = {
		.hal = vm->hal, .stage2 = vm->config.stage2, .cpu = vm->cpu,
		.eptp = vm->config.stage2.kind == NW_STAGE2_EPT ? nw_ept_eptp(&vm->ept) : 0,
	};
	uint64_t state = 0x243f6a8885a308d3u;
	struct decoded d;
	int rc = -1;

	if (decoded_alloc(&d, n) == 0) {
		for (d.n = 0; d.n < n; d.n++) {
			state = state * UINT64_C(6364136223846793005) + UINT64_C(1442695040888963407);
			d.items[d.n] = (struct nw_trace_item){
				.gva = nw_gva(bench_vm_gva(vm, (state >> 24) % vm->layout.npages)), .size = 8,
				.type = NW_ACCESS_READ, .mode = 3,
			};
		}
		rc = replay_items(&machine, &d, tlb, 1, out);
	}
	decoded_free(&d);
	return rc;
}
