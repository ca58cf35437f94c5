/* The trace read ahead on a thread (sim/trace/trace_pipe.h): what a caller
 * takes from the pipe is, unit by unit, what reading the trace itself gives
 * (nw_trace_reader_batch, then nw_trace_reader_next), with the same record
 * counts and the same end or error; stopping early neither hangs nor leaks. */
#include <criterion/criterion.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trace/trace.h"
#include "trace/trace_pipe.h"

#define ACCESSES 5000

/* A binary trace (zstd or not): ACCESSES reads, an expectation after every third, a
 * mark every 700 records (so batches and single records alternate), the end. */
static struct nw_trace_mem make_trace(bool zstd)
{
	struct nw_trace_mem mem = { 0 };
	char err[256];
	struct nw_trace_writer *w = nw_trace_writer_open_mem(&mem, NW_TRACE_FORM_BINARY, zstd, err, sizeof(err));

	cr_assert_not_null(w, "%s", err);
	for (unsigned i = 0; i < ACCESSES; i++) {
		struct nw_trace_record rec = { .kind = NW_TRACE_ACCESS };

		rec.access = (struct nw_trace_access){ .gva = nw_gva(0x400000 + 8u * i), .size = 8,
						       .type = NW_ACCESS_READ, .cpl = 3 };
		cr_assert_eq(nw_trace_writer_put(w, &rec), 0, "%s", nw_trace_writer_error(w));
		if (i % 3 == 0) {
			rec = (struct nw_trace_record){ .kind = NW_TRACE_EXPECT };
			rec.expect.present = 1u << NW_EXPECT_OUTCOME;
			rec.expect.outcome = NW_TRACE_OUT_OK;
			cr_assert_eq(nw_trace_writer_put(w, &rec), 0, "%s", nw_trace_writer_error(w));
		}
		if (i % 700 == 699) {
			rec = (struct nw_trace_record){ .kind = NW_TRACE_MARK };
			snprintf(rec.label, sizeof(rec.label), "m%u", i);
			cr_assert_eq(nw_trace_writer_put(w, &rec), 0, "%s", nw_trace_writer_error(w));
		}
	}
	cr_assert_eq(nw_trace_writer_close(w, err, sizeof(err)), 0, "%s", err);
	return mem;
}

/* The units the caller's own loop reads, one by one, into out (at most max); returns how many. */
static size_t read_direct(const struct nw_trace_mem *mem, size_t size, struct nw_trace_unit *out,
			  struct nw_trace_batch *batches, size_t max, char *error, size_t errlen)
{
	char err[256];
	struct nw_trace_reader *r = nw_trace_reader_open_mem("trace", mem->data, size, err, sizeof(err));
	size_t n = 0;

	cr_assert_not_null(r, "%s", err);
	for (; n < max; n++) {
		struct nw_trace_unit *u = &out[n];
		int got;

		memset(u, 0, sizeof(*u));
		if (nw_trace_reader_batch(r, &batches[n])) {
			u->kind = NW_TRACE_UNIT_BATCH;
			u->batch = &batches[n];
		} else if ((got = nw_trace_reader_next(r, &u->record)) > 0) {
			u->kind = NW_TRACE_UNIT_RECORD;
		} else {
			u->kind = NW_TRACE_UNIT_END;
			u->error = got < 0;
		}
		u->records = nw_trace_reader_records(r);
		if (u->kind == NW_TRACE_UNIT_END)
			break;
	}
	snprintf(error, errlen, "%s", nw_trace_reader_error(r) ? nw_trace_reader_error(r) : "");
	nw_trace_reader_close(r);
	return n + 1;
}

static void check_same_as_direct(const struct nw_trace_mem *mem, size_t size, bool error)
{
	enum { MAX = 200 };
	static struct nw_trace_unit want[MAX];
	static struct nw_trace_batch batches[MAX];
	char want_error[256], err[256];
	size_t n = read_direct(mem, size, want, batches, MAX, want_error, sizeof(want_error));
	struct nw_trace_reader *r = nw_trace_reader_open_mem("trace", mem->data, size, err, sizeof(err));
	struct nw_trace_pipe *pipe;
	size_t batches_seen = 0, records_seen = 0;

	cr_assert_lt(n, (size_t)MAX, "the trace ends within the units read");
	cr_assert_eq(want[n - 1].error, error, "%s", want_error);
	cr_assert_not_null(r, "%s", err);
	pipe = nw_trace_pipe_start(r);
	cr_assert_not_null(pipe);
	for (size_t i = 0; i < n; i++) {
		struct nw_trace_unit got;

		nw_trace_pipe_next(pipe, &got);
		cr_assert_eq(got.kind, want[i].kind, "unit %zu", i);
		cr_assert_eq(got.records, want[i].records, "unit %zu: records", i);
		if (got.kind == NW_TRACE_UNIT_BATCH) {
			batches_seen++;
			cr_assert_eq(got.batch->count, want[i].batch->count, "unit %zu", i);
			cr_assert(!memcmp(got.batch->items, want[i].batch->items, got.batch->count * sizeof(got.batch->items[0])),
				  "unit %zu: the batch's items", i);
		} else if (got.kind == NW_TRACE_UNIT_RECORD) {
			records_seen++;
			cr_assert_eq(got.record.kind, want[i].record.kind, "unit %zu", i);
		} else {
			cr_assert_eq(got.error, want[i].error);
		}
	}
	nw_trace_pipe_stop(pipe);
	cr_assert_str_eq(nw_trace_reader_error(r) ? nw_trace_reader_error(r) : "", want_error);
	nw_trace_reader_close(r);
	cr_assert_gt(batches_seen, 0);
	cr_assert_gt(records_seen, 0, "marks come as records between batches");
}

Test(trace_pipe, gives_what_the_reader_gives)
{
	struct nw_trace_mem mem = make_trace(true);

	check_same_as_direct(&mem, mem.len, false);
	free(mem.data);
}

/* Cut in the middle of a record: the reader's error ("truncated ...") at the record it reached. */
Test(trace_pipe, a_cut_trace_ends_with_the_same_error_at_the_same_record)
{
	struct nw_trace_mem mem = make_trace(false);

	check_same_as_direct(&mem, mem.len / 2, true);
	free(mem.data);
}

Test(trace_pipe, stopping_early_ends_the_thread)
{
	struct nw_trace_mem mem = make_trace(true);
	char err[256];
	struct nw_trace_reader *r = nw_trace_reader_open_mem("trace", mem.data, mem.len, err, sizeof(err));
	struct nw_trace_pipe *pipe = nw_trace_pipe_start(r);
	struct nw_trace_unit unit;

	cr_assert_not_null(pipe);
	nw_trace_pipe_next(pipe, &unit);
	cr_assert_eq(unit.kind, NW_TRACE_UNIT_BATCH);
	nw_trace_pipe_stop(pipe);
	nw_trace_reader_close(r);
	free(mem.data);
}
