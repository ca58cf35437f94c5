/* A trace reader on a thread of its own: the trace is read, decompressed and
 * decoded ahead of the caller, in batches and records, and handed over in
 * order, so a replay on one core and the decoding on the other can overlap.
 * The caller sees exactly what nw_trace_reader_batch() and
 * nw_trace_reader_next() would give it, in the same order, with each unit's
 * record count, and the same end or error. bench/replay_stages measures it
 * against the one-thread replay `nestwalk replay` runs: on this project's
 * 2-core machine, handing each batch to the other core costs more than the
 * decoding it moves off the replay's (43 ms wall against 29 ms for the
 * lackey trace), so the replay command does not use it. */
#ifndef NESTWALK_SIM_TRACE_PIPE_H
#define NESTWALK_SIM_TRACE_PIPE_H

#include <stdint.h>

#include "trace/trace.h"

enum nw_trace_unit_kind {
	NW_TRACE_UNIT_BATCH = 1, /* batch holds the accesses that came next */
	NW_TRACE_UNIT_RECORD,    /* record holds the record that came next */
	NW_TRACE_UNIT_END,       /* the trace ended (error: it could not be read; nw_trace_reader_error) */
};

struct nw_trace_unit {
	enum nw_trace_unit_kind kind;
	const struct nw_trace_batch *batch;
	struct nw_trace_record record;
	uint64_t records; /* nw_trace_reader_records() after the unit */
	int error;        /* END: the reader's last answer was an error */
};

struct nw_trace_pipe;

/* Starts reading reader on a new thread; NULL when no thread or memory is to
 * be had (the caller then reads reader itself). The reader is the pipe's
 * until nw_trace_pipe_stop(). */
struct nw_trace_pipe *nw_trace_pipe_start(struct nw_trace_reader *reader);
/* The next unit, in order. The batch it points to stays valid until the next
 * call. After an END unit the pipe gives END again. */
void nw_trace_pipe_next(struct nw_trace_pipe *pipe, struct nw_trace_unit *unit);
/* Stops the thread (at once, whatever it had read ahead) and frees the pipe;
 * the reader is the caller's again, where the thread left it. */
void nw_trace_pipe_stop(struct nw_trace_pipe *pipe);

#endif
