/* Buffered trace byte streams, plain or zstd (see trace_io.h). */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <unistd.h>
#include <zstd.h>

#include "io/file_map.h"
#include "trace/trace.h"
#include "trace/trace_io.h"

static const uint8_t zstd_magic[4] = { 0x28, 0xb5, 0x2f, 0xfd };

static void set_err(char *err, size_t errlen, const char *what, const char *path)
{
	snprintf(err, errlen, "%s: %s", path, what);
}

/* Reads raw file bytes; sets src->err on an I/O error. */
static size_t raw_read(struct nw_trace_src *src, uint8_t *dst, size_t n)
{
	size_t got = fread(dst, 1, n, src->file);

	if (got < n && ferror(src->file))
		snprintf(src->err, sizeof(src->err), "read error: %s", strerror(errno));
	src->raw_offset += got;
	return got;
}

/* Points src->in at up to n next raw bytes (the compressor's input) and
 * returns how many: read into in_space from a file, in place from memory. */
static size_t raw_next(struct nw_trace_src *src, size_t n)
{
	size_t left;

	if (src->file) {
		src->in = src->in_space;
		return raw_read(src, src->in_space, n);
	}
	left = src->mem_len - (size_t)src->raw_offset;
	n = n < left ? n : left;
	src->in = src->mem + src->raw_offset;
	src->raw_offset += n;
	return n;
}

static bool is_zstd(const uint8_t *bytes, size_t len)
{
	return len == sizeof(zstd_magic) && !memcmp(bytes, zstd_magic, sizeof(zstd_magic));
}

int nw_trace_src_open(struct nw_trace_src *src, const char *path, char *err, size_t errlen)
{
	memset(src, 0, sizeof(*src));
	if (!strcmp(path, "-")) {
		src->file = stdin;
	} else {
		int fd = nw_file_open_input(path, err, errlen);

		if (fd < 0)
			return -1;
		src->file = fdopen(fd, "rb");
		if (!src->file) {
			set_err(err, errlen, strerror(errno), path);
			close(fd);
			return -1;
		}
		src->own_file = true;
	}
	src->buf = src->space = malloc(NW_TRACE_IO_BUF);
	src->in = src->in_space = malloc(NW_TRACE_IO_BUF);
	if (!src->space || !src->in_space) {
		set_err(err, errlen, "out of memory", path);
		nw_trace_src_close(src);
		return -1;
	}
	/* Sniff the first bytes: zstd's frame magic selects the decompressor. */
	src->in_len = raw_next(src, sizeof(zstd_magic));
	if (src->err[0]) {
		set_err(err, errlen, src->err, path);
		nw_trace_src_close(src);
		return -1;
	}
	if (is_zstd(src->in, src->in_len)) {
		src->zstd = ZSTD_createDCtx();
		if (!src->zstd) {
			set_err(err, errlen, "cannot create a zstd decompressor", path);
			nw_trace_src_close(src);
			return -1;
		}
	} else {
		memcpy(src->space, src->in, src->in_len);
		src->len = src->in_len;
		src->in_len = 0;
	}
	return 0;
}

int nw_trace_src_open_mem(struct nw_trace_src *src, const void *data, size_t size, const char *name, char *err,
			  size_t errlen)
{
	memset(src, 0, sizeof(*src));
	if (nw_trace_src_reopen_mem(src, data, size, name, err, errlen)) {
		nw_trace_src_close(src);
		return -1;
	}
	return 0;
}

int nw_trace_src_reopen_mem(struct nw_trace_src *src, const void *data, size_t size, const char *name, char *err,
			    size_t errlen)
{
	static const uint8_t none[1];
	uint8_t *space = src->space;
	struct ZSTD_DCtx_s *zstd = src->zstd ? src->zstd : src->zstd_idle;

	if (src->own_file)
		fclose(src->file);
	free(src->in_space);
	memset(src, 0, sizeof(*src));
	src->space = space;
	src->zstd_idle = zstd;
	src->mem = data ? data : none; /* no arithmetic on a null pointer */
	src->mem_len = size;
	/* The same sniff as from a file, so zstd sees its input in the same chunks. */
	src->in_len = raw_next(src, sizeof(zstd_magic));
	if (!is_zstd(src->in, src->in_len)) {
		/* Plain bytes are read where they are: all of them are in view at once. */
		src->buf = src->mem;
		src->len = size;
		src->in_len = 0;
		src->raw_offset = size;
		src->eof = true;
		return 0;
	}
	if (!src->space)
		src->space = malloc(NW_TRACE_IO_BUF);
	if (!src->zstd_idle)
		src->zstd_idle = ZSTD_createDCtx();
	else
		ZSTD_DCtx_reset(src->zstd_idle, ZSTD_reset_session_only);
	if (!src->space || !src->zstd_idle) {
		set_err(err, errlen, src->space ? "cannot create a zstd decompressor" : "out of memory", name);
		src->buf = src->mem; /* nothing in view */
		src->eof = true;
		return -1;
	}
	src->zstd = src->zstd_idle;
	src->zstd_idle = 0;
	src->buf = src->space;
	return 0;
}

/* Appends decompressed bytes after buf[len]; returns how many. */
static size_t inflate_more(struct nw_trace_src *src)
{
	ZSTD_outBuffer out = { src->space, NW_TRACE_IO_BUF, src->len };

	while (out.pos == src->len && !src->err[0]) {
		ZSTD_inBuffer in;
		size_t hint;

		if (src->in_pos == src->in_len) {
			src->in_pos = 0;
			src->in_len = raw_next(src, NW_TRACE_IO_BUF);
			if (src->in_len == 0) {
				if (src->zstd_pending && !src->err[0])
					snprintf(src->err, sizeof(src->err),
						 "compressed stream truncated at compressed byte offset %llu",
						 (unsigned long long)src->raw_offset);
				break;
			}
		}
		in = (ZSTD_inBuffer){ src->in, src->in_len, src->in_pos };
		hint = ZSTD_decompressStream(src->zstd, &out, &in);
		if (ZSTD_isError(hint)) {
			snprintf(src->err, sizeof(src->err), "zstd: %s near compressed byte offset %llu",
				 ZSTD_getErrorName(hint),
				 (unsigned long long)(src->raw_offset - (src->in_len - in.pos)));
			break;
		}
		src->in_pos = in.pos;
		src->zstd_pending = hint;
	}
	{
		size_t added = out.pos - src->len;

		src->len = out.pos;
		return added;
	}
}

size_t nw_trace_src_fill(struct nw_trace_src *src, size_t n)
{
	if (src->len - src->pos >= n || src->eof)
		return src->len - src->pos;
	/* Slide the unread tail to the front, then refill behind it (a source in
	 * memory has everything in view, or inflates into space). */
	memmove(src->space, src->buf + src->pos, src->len - src->pos);
	src->len -= src->pos;
	src->pos = 0;
	while (src->len < n && !src->err[0]) {
		size_t added;

		if (src->zstd)
			added = inflate_more(src);
		else
			added = raw_read(src, src->space + src->len, NW_TRACE_IO_BUF - src->len);
		if (!src->zstd)
			src->len += added;
		if (added == 0) {
			src->eof = true;
			break;
		}
	}
	return src->len - src->pos;
}

size_t nw_trace_src_read(struct nw_trace_src *src, void *dst, size_t n)
{
	uint8_t *out = dst;
	size_t done = 0;

	while (done < n) {
		size_t avail = nw_trace_src_fill(src, 1);
		size_t take = n - done < avail ? n - done : avail;

		if (take == 0)
			break;
		memcpy(out + done, src->buf + src->pos, take);
		src->pos += take;
		src->offset += take;
		done += take;
	}
	return done;
}

int nw_trace_src_peek(struct nw_trace_src *src)
{
	if (nw_trace_src_fill(src, 1) == 0)
		return -1;
	return src->buf[src->pos];
}

void nw_trace_src_close(struct nw_trace_src *src)
{
	if (src->own_file && src->file)
		fclose(src->file);
	ZSTD_freeDCtx(src->zstd);
	ZSTD_freeDCtx(src->zstd_idle);
	free(src->space);
	free(src->in_space);
	memset(src, 0, sizeof(*src));
}

int nw_trace_sink_open(struct nw_trace_sink *sink, const char *path, const char *const *inputs, bool zstd, char *err,
		       size_t errlen)
{
	memset(sink, 0, sizeof(*sink));
	if (nw_file_out_open(&sink->dest, path, inputs, err, errlen))
		return -1;
	sink->buf = malloc(NW_TRACE_IO_BUF);
	if (zstd) {
		sink->out = malloc(ZSTD_CStreamOutSize());
		sink->zstd = ZSTD_createCCtx();
	}
	if (!sink->buf || (zstd && (!sink->out || !sink->zstd))) {
		set_err(err, errlen, "out of memory", path);
		nw_trace_sink_abandon(sink);
		return -1;
	}
	return 0;
}

int nw_trace_sink_open_mem(struct nw_trace_sink *sink, struct nw_trace_mem *mem, bool zstd, char *err,
			   size_t errlen)
{
	memset(sink, 0, sizeof(*sink));
	sink->mem = mem;
	if (!zstd)
		return 0;
	sink->buf = malloc(NW_TRACE_IO_BUF);
	sink->out = malloc(ZSTD_CStreamOutSize());
	sink->zstd = ZSTD_createCCtx();
	if (!sink->buf || !sink->out || !sink->zstd) {
		snprintf(err, errlen, "out of memory");
		nw_trace_sink_abandon(sink);
		return -1;
	}
	return 0;
}

/* Appends to the sink's memory, growing it by doubling. */
static int mem_append(struct nw_trace_sink *sink, const void *data, size_t n)
{
	struct nw_trace_mem *mem = sink->mem;

	if (n > mem->cap - mem->len) {
		size_t cap = mem->cap ? mem->cap : 4096;
		uint8_t *grown;

		while (cap - mem->len < n && cap <= SIZE_MAX / 2)
			cap *= 2;
		grown = cap - mem->len >= n ? realloc(mem->data, cap) : 0;
		if (!grown) {
			snprintf(sink->err, sizeof(sink->err), "out of memory");
			return -1;
		}
		mem->data = grown;
		mem->cap = cap;
	}
	if (n)
		memcpy(mem->data + mem->len, data, n);
	mem->len += n;
	return 0;
}

static int raw_write(struct nw_trace_sink *sink, const void *data, size_t n)
{
	if (sink->mem)
		return mem_append(sink, data, n);
	if (fwrite(data, 1, n, sink->dest.file) != n) {
		snprintf(sink->err, sizeof(sink->err), "%s: write error: %s", sink->dest.name, strerror(errno));
		clearerr(sink->dest.file); /* the sink carries the error now: it is reported once */
		return -1;
	}
	return 0;
}

/* Pushes buf through the compressor (or straight out); end finishes the frame. */
static int drain(struct nw_trace_sink *sink, bool end)
{
	ZSTD_inBuffer in = { sink->buf, sink->len, 0 };

	if (!sink->zstd) {
		int rc = raw_write(sink, sink->buf, sink->len);

		sink->len = 0;
		return rc;
	}
	for (;;) {
		ZSTD_outBuffer out = { sink->out, ZSTD_CStreamOutSize(), 0 };
		size_t left = ZSTD_compressStream2(sink->zstd, &out, &in, end ? ZSTD_e_end : ZSTD_e_continue);

		if (ZSTD_isError(left)) {
			snprintf(sink->err, sizeof(sink->err), "zstd: %s", ZSTD_getErrorName(left));
			return -1;
		}
		if (out.pos && raw_write(sink, sink->out, out.pos))
			return -1;
		if (end ? left == 0 : in.pos == in.size)
			break;
	}
	sink->len = 0;
	return 0;
}

int nw_trace_sink_write(struct nw_trace_sink *sink, const void *data, size_t n)
{
	const uint8_t *bytes = data;

	if (sink->mem && !sink->zstd)
		return mem_append(sink, data, n);
	while (n) {
		size_t room = NW_TRACE_IO_BUF - sink->len;
		size_t take = n < room ? n : room;

		memcpy(sink->buf + sink->len, bytes, take);
		sink->len += take;
		bytes += take;
		n -= take;
		if (sink->len == NW_TRACE_IO_BUF && drain(sink, false))
			return -1;
	}
	return 0;
}

int nw_trace_sink_finish(struct nw_trace_sink *sink)
{
	int rc = drain(sink, true);

	if (rc == 0 && !sink->mem && nw_file_out_commit(&sink->dest, sink->err, sizeof(sink->err)))
		rc = -1;
	nw_trace_sink_abandon(sink);
	return rc;
}

void nw_trace_sink_abandon(struct nw_trace_sink *sink)
{
	char err[NW_TRACE_ERR_LEN];

	nw_file_out_abandon(&sink->dest);
	ZSTD_freeCCtx(sink->zstd);
	free(sink->buf);
	free(sink->out);
	memcpy(err, sink->err, sizeof(err));
	memset(sink, 0, sizeof(*sink));
	memcpy(sink->err, err, sizeof(err));
}
