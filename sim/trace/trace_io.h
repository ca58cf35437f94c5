/* Buffered byte streams under the trace codecs: a source that reads a file
 * (or standard input) through a fixed buffer, inflating zstd when the stream
 * starts with its magic, and a sink that writes through a fixed buffer,
 * optionally deflating with zstd. Neither ever holds more than its buffers.
 * Either may instead work on memory: a source over the caller's bytes (plain
 * ones read in place), a sink appending to a growable buffer. */
#ifndef NESTWALK_SIM_TRACE_IO_H
#define NESTWALK_SIM_TRACE_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "io/file_out.h"

#define NW_TRACE_IO_BUF (64 * 1024)
#define NW_TRACE_ERR_LEN 256

struct nw_trace_mem;

struct nw_trace_src {
	FILE *file;                    /* NULL for a source in memory */
	bool own_file;
	const uint8_t *mem;            /* a source in memory: the caller's bytes */
	size_t mem_len;
	struct ZSTD_DCtx_s *zstd;      /* NULL for a plain stream */
	struct ZSTD_DCtx_s *zstd_idle; /* a plain stream's decompressor kept for the next reopen */
	size_t zstd_pending;           /* last ZSTD_decompressStream hint: 0 at a frame boundary */
	uint64_t raw_offset;           /* bytes consumed from the file (or the memory) */
	const uint8_t *in;             /* compressed input (zstd only): in_space, or in place in memory */
	size_t in_pos, in_len;
	const uint8_t *buf;            /* plain bytes: space, or in place in memory */
	size_t pos, len;
	uint64_t offset;               /* stream offset of buf[pos] */
	bool eof;
	uint8_t *space, *in_space;     /* the buffers this source owns (NW_TRACE_IO_BUF each, or none) */
	char err[NW_TRACE_ERR_LEN];    /* an I/O or decompression error, "" if none */
};

/* 0, or -1 with the reason in err. */
int nw_trace_src_open(struct nw_trace_src *src, const char *path, char *err, size_t errlen);
/* A source over size bytes at data, which must outlive it; NAME stands for the
 * path in err. zstd input is fed to the decompressor in the chunks a file
 * read gives, so what is read, and every error, is the same as from a file. */
int nw_trace_src_open_mem(struct nw_trace_src *src, const void *data, size_t size, const char *name, char *err,
			  size_t errlen);
/* Starts an open source over on other bytes as open_mem does, keeping its
 * buffer and decompressor for them; on -1 it has nothing in view and must
 * still be closed. */
int nw_trace_src_reopen_mem(struct nw_trace_src *src, const void *data, size_t size, const char *name, char *err,
			    size_t errlen);
/* Copies up to n bytes; fewer only at the end of the stream or on an error (src->err). */
size_t nw_trace_src_read(struct nw_trace_src *src, void *dst, size_t n);
/* The next byte without consuming it, or -1 at the end (or an error). */
int nw_trace_src_peek(struct nw_trace_src *src);
/* Makes at least n (<= NW_TRACE_IO_BUF) bytes visible at buf+pos when the stream has them; returns how many are. */
size_t nw_trace_src_fill(struct nw_trace_src *src, size_t n);
void nw_trace_src_close(struct nw_trace_src *src);

struct nw_trace_sink {
	struct nw_file_out dest;  /* a file or standard output, written whole or not at all */
	struct nw_trace_mem *mem; /* a sink in memory: appends here instead of to a file */
	struct ZSTD_CCtx_s *zstd;
	uint8_t *buf;
	size_t len;
	uint8_t *out;
	char err[NW_TRACE_ERR_LEN]; /* names the output */
};

/* A sink writing path ("-": standard output) through nw_file_out_open, which refuses a path that is
 * one of inputs (NULL-terminated, or NULL). */
int nw_trace_sink_open(struct nw_trace_sink *sink, const char *path, const char *const *inputs, bool zstd, char *err,
		       size_t errlen);
/* A sink appending to mem (trace.h); plain bytes go there without a buffer. */
int nw_trace_sink_open_mem(struct nw_trace_sink *sink, struct nw_trace_mem *mem, bool zstd, char *err,
			   size_t errlen);
/* 0, or -1 with the reason in sink->err. */
int nw_trace_sink_write(struct nw_trace_sink *sink, const void *data, size_t n);
/* Flushes (ends the zstd frame), closes and moves the file into place; 0 or -1 with the reason in sink->err. */
int nw_trace_sink_finish(struct nw_trace_sink *sink);
/* Releases everything without flushing (after an error); a file being written is removed. */
void nw_trace_sink_abandon(struct nw_trace_sink *sink);

#endif
