/* The trace reader (binary and text, plain or zstd; traces/FORMAT.md) on
 * arbitrary bytes: every record it returns must pass nw_trace_record_check and
 * nw_trace_arch_check, every error must carry a message, and what it read must
 * survive a round trip: written in the other form (binary <-> text), of the
 * same architecture, and read back, the records
 * are the same, field for field. Never a crash, an out-of-bounds read or a
 * leak (LeakSanitizer). Everything happens in memory: the input is read in
 * place, the round trip is written to one buffer, and one reader reads all,
 * each reused by every input, so an input costs no system call and no I/O
 * buffer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_target.h"
#include "trace/trace.h"

#define MAX_RECORDS 2048 /* bounds the work one input can cause (zstd expands) */
#define MAX_DATA (UINT64_C(64) << 10) /* and so do guest-physical write bytes: each is two hex digits in text */
#define ERR_LEN 256

struct saved {
	struct nw_trace_record rec;
	uint8_t data[NW_TRACE_MAX_DATA];
};

static struct saved saved[MAX_RECORDS];
static struct nw_trace_mem out; /* the round trip's trace */
static struct nw_trace_reader *reader;
static enum nw_trace_arch arch; /* the input's */
static unsigned version;         /* the input's */

/* The reader, started over on size bytes at data; NULL with the reason in err. */
static struct nw_trace_reader *read_mem(const char *name, const void *data, size_t size, char *err, size_t errlen)
{
	if (!reader)
		reader = nw_trace_reader_open_mem(name, data, size, err, errlen);
	else if (nw_trace_reader_reopen_mem(reader, name, data, size, err, errlen))
		return 0;
	return reader;
}

static _Noreturn void fail(const char *what, uint64_t index)
{
	fprintf(stderr, "fuzz_trace: %s (record %llu)\n", what, (unsigned long long)index);
	abort();
}

/* Reads up to MAX_RECORDS records into saved[]; returns how many, and whether
 * the stream ended cleanly in *complete. */
static size_t read_all(const uint8_t *data, size_t size, bool *complete)
{
	char err[ERR_LEN] = "";
	struct nw_trace_reader *r = read_mem("input", data, size, err, sizeof(err));
	struct nw_trace_record rec;
	size_t n = 0;
	uint64_t data_bytes = 0;
	int got = 1;

	*complete = false;
	if (!r) {
		if (!err[0])
			fail("open failed without a message", 0);
		return 0;
	}
	while (n < MAX_RECORDS && data_bytes <= MAX_DATA && (got = nw_trace_reader_next(r, &rec)) == 1) {
		const char *wrong = nw_trace_record_check(&rec);

		if (!wrong)
			wrong = nw_trace_arch_check(nw_trace_reader_arch(r), &rec);
		if (wrong) {
			fprintf(stderr, "fuzz_trace: the reader returned an invalid record: %s\n", wrong);
			fail("invalid record", n);
		}
		saved[n].rec = rec;
		if (rec.kind == NW_TRACE_GPWRITE) {
			memcpy(saved[n].data, rec.gpwrite.data, rec.gpwrite.len);
			saved[n].rec.gpwrite.data = saved[n].data;
			data_bytes += rec.gpwrite.len;
		}
		n++;
	}
	if (got < 0 && !nw_trace_reader_error(r)[0])
		fail("read failed without a message", n);
	*complete = got == 0;
	arch = nw_trace_reader_arch(r);
	version = nw_trace_reader_version(r);
	return n;
}

static void round_trip(size_t n, enum nw_trace_form form)
{
	char err[ERR_LEN] = "";
	struct nw_trace_writer *writer;
	struct nw_trace_reader *r;
	struct nw_trace_record rec;
	size_t i;

	out.len = 0;
	writer = nw_trace_writer_open_mem(&out, form, false, err, sizeof(err));
	if (!writer || nw_trace_writer_set_arch(writer, arch) || nw_trace_writer_set_version(writer, version))
		fail(writer ? "a fresh writer refused the architecture" : err, 0);
	for (i = 0; i < n; i++)
		if (nw_trace_writer_put(writer, &saved[i].rec) != 0) {
			fprintf(stderr, "fuzz_trace: the writer refused a record the reader accepted: %s\n",
				nw_trace_writer_error(writer));
			nw_trace_writer_abandon(writer);
			fail("writer refused a read record", i);
		}
	if (nw_trace_writer_close(writer, err, sizeof(err)) != 0)
		fail(err, n);
	r = read_mem("round trip", out.data, out.len, err, sizeof(err));
	if (!r)
		fail(err, 0);
	for (i = 0; i < n; i++) {
		if (nw_trace_reader_next(r, &rec) != 1) {
			fprintf(stderr, "fuzz_trace: %s\n", nw_trace_reader_error(r));
			fail("the round trip lost a record", i);
		}
		if (!nw_trace_record_same(&saved[i].rec, &rec))
			fail("the round trip changed a record", i);
	}
	if (nw_trace_reader_next(r, &rec) != 0)
		fail("the round trip added a record", n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	bool complete;
	size_t n = read_all(data, size, &complete);

	if (complete) {
		round_trip(n, NW_TRACE_FORM_TEXT);
		round_trip(n, NW_TRACE_FORM_BINARY);
	}
	return 0;
}
