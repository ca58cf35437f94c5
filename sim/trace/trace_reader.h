/* The trace reader's state, shared by its record-at-a-time half
 * (trace_read.c) and its batch decoder (trace_batch.c). */
#ifndef NESTWALK_SIM_TRACE_READER_H
#define NESTWALK_SIM_TRACE_READER_H

#include "trace/trace.h"
#include "trace/trace_io.h"

struct nw_trace_reader {
	struct nw_trace_src src;
	enum nw_trace_form form;
	enum nw_trace_arch arch; /* from the header */
	unsigned version;        /* from the header */
	uint64_t access_reject;  /* the batch decoder's mask of access bytes arch does not allow (trace_batch.c) */
	char path[128];
	bool done;          /* the end record was read */
	bool failed;
	enum nw_trace_kind prev; /* the previous record's kind: an expectation may follow an access or a reg */
	uint64_t records, skipped;
	uint64_t line;      /* text: number of the last line read */
	uint8_t payload[NW_TRACE_MAX_PAYLOAD];
	char text[NW_TRACE_MAX_LINE + 2];
	uint8_t data[NW_TRACE_MAX_DATA];
	char error[2 * NW_TRACE_ERR_LEN];
};

/* The access-record bits (of the word after the gva: size, type, level, flags) that rule an access of a trace of
 * arch out of a batch (trace_batch.c), so nw_trace_reader_next() reports it. */
uint64_t nw_trace_batch_access_reject(enum nw_trace_arch arch);

#endif
