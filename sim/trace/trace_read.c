/* The streaming trace reader: detects the form by magic, then yields one
 * record at a time through fixed buffers (traces/FORMAT.md, "Readers"). */
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "trace/trace_codec.h"
#include "trace/trace_reader.h"

/* Records the first error, prefixed with the path and where it is. */
__attribute__((format(printf, 2, 3))) static int reader_fail(struct nw_trace_reader *r, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (r->failed)
		return -1;
	r->failed = true;
	n = snprintf(r->error, sizeof(r->error), "%s: ", r->path);
	va_start(ap, fmt);
	vsnprintf(r->error + n, sizeof(r->error) - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

/* An I/O or decompression error takes precedence over what it caused. */
static int src_failed(struct nw_trace_reader *r)
{
	return r->src.err[0] ? reader_fail(r, "%s", r->src.err) : 0;
}

static const char *decompressed(const struct nw_trace_reader *r)
{
	return r->src.zstd ? " (decompressed)" : "";
}

/* The trace is of arch from here on: what its records may hold, and what the batch decoder takes as it stands. */
static void reader_set_arch(struct nw_trace_reader *r, enum nw_trace_arch arch)
{
	r->arch = arch;
	r->access_reject = nw_trace_batch_access_reject(arch);
}

static int read_binary_header(struct nw_trace_reader *r)
{
	uint8_t head[NW_TRACE_HEADER_LEN];
	size_t got = nw_trace_src_read(&r->src, head, sizeof(head));
	unsigned version, word;

	if (src_failed(r))
		return -1;
	if (got < sizeof(head))
		return reader_fail(r, "byte offset %zu: truncated header (%zu of %d bytes)", got, got,
				   NW_TRACE_HEADER_LEN);
	version = (unsigned)nw_le_get(head + 8, 2);
	word = (unsigned)nw_le_get(head + 10, 2);
	if (version == 0 || version > NW_TRACE_VERSION)
		return reader_fail(r, "byte offset 8: unsupported version %u (this reader knows 1 to %d)", version,
				   NW_TRACE_VERSION);
	if (version == 1 && word)
		return reader_fail(r, "byte offset 10: unsupported header flags 0x%x", word);
	if (word >= NW_TRACE_ARCH_COUNT)
		return reader_fail(r, "byte offset 10: unknown architecture %u (0 x86_64, 1 aarch64, 2 riscv64)", word);
	r->version = version;
	reader_set_arch(r, (enum nw_trace_arch)word);
	return 0;
}

static int read_text_header(struct nw_trace_reader *r);

/* A reader named path, its source not yet open. */
static struct nw_trace_reader *reader_new(const char *path, char *err, size_t errlen)
{
	struct nw_trace_reader *r = malloc(sizeof(*r));

	if (!r) {
		snprintf(err, errlen, "%s: out of memory", path);
		return 0;
	}
	/* The record, line and data buffers are written before they are read. */
	memset(r, 0, offsetof(struct nw_trace_reader, payload));
	r->error[0] = 0;
	snprintf(r->path, sizeof(r->path), "%s", path);
	return r;
}

/* Detects the form of r's open source and reads its header: 0, or -1 with
 * the reason in err. */
static int reader_start(struct nw_trace_reader *r, char *err, size_t errlen)
{
	/* Enough for either magic, so a stream that delivers its first bytes in
	 * pieces (zstd frames) is still recognised. */
	size_t have = nw_trace_src_fill(&r->src, strlen(NW_TRACE_TEXT_MAGIC));

	if (have >= NW_TRACE_BINARY_MAGIC_LEN &&
	    !memcmp(r->src.buf + r->src.pos, NW_TRACE_BINARY_MAGIC, NW_TRACE_BINARY_MAGIC_LEN)) {
		r->form = NW_TRACE_FORM_BINARY;
		read_binary_header(r);
	} else if (have >= strlen(NW_TRACE_TEXT_MAGIC) &&
		   !memcmp(r->src.buf + r->src.pos, NW_TRACE_TEXT_MAGIC, strlen(NW_TRACE_TEXT_MAGIC))) {
		r->form = NW_TRACE_FORM_TEXT;
		read_text_header(r);
	} else if (!src_failed(r)) {
		reader_fail(r, "byte offset 0%s: bad magic: neither a binary nor a text nestwalk trace (nor zstd)",
			    decompressed(r));
	}
	if (r->failed) {
		snprintf(err, errlen, "%s", r->error);
		return -1;
	}
	return 0;
}

/* Completes an open whose source was just opened (src_rc 0) or refused. */
static struct nw_trace_reader *reader_opened(struct nw_trace_reader *r, int src_rc, char *err, size_t errlen)
{
	if (src_rc) {
		free(r);
		return 0;
	}
	if (reader_start(r, err, errlen)) {
		nw_trace_reader_close(r);
		return 0;
	}
	return r;
}

struct nw_trace_reader *nw_trace_reader_open(const char *path, char *err, size_t errlen)
{
	struct nw_trace_reader *r = reader_new(path, err, errlen);

	return r ? reader_opened(r, nw_trace_src_open(&r->src, path, err, errlen), err, errlen) : 0;
}

struct nw_trace_reader *nw_trace_reader_open_arch(const char *path, enum nw_trace_arch arch, char *err, size_t errlen)
{
	struct nw_trace_reader *r = nw_trace_reader_open(path, err, errlen);

	if (r && r->arch != arch) {
		snprintf(err, errlen, "%s: a trace of %s, and this needs %s", path, nw_trace_arch_name(r->arch),
			 nw_trace_arch_name(arch));
		nw_trace_reader_close(r);
		return 0;
	}
	return r;
}

struct nw_trace_reader *nw_trace_reader_open_mem(const char *name, const void *data, size_t size, char *err,
						 size_t errlen)
{
	struct nw_trace_reader *r = reader_new(name, err, errlen);

	return r ? reader_opened(r, nw_trace_src_open_mem(&r->src, data, size, name, err, errlen), err, errlen) : 0;
}

int nw_trace_reader_reopen_mem(struct nw_trace_reader *r, const char *name, const void *data, size_t size,
			       char *err, size_t errlen)
{
	struct nw_trace_src src = r->src;

	/* A fresh reader's state around the source it keeps. */
	memset(r, 0, offsetof(struct nw_trace_reader, payload));
	r->src = src;
	r->error[0] = 0;
	snprintf(r->path, sizeof(r->path), "%s", name);
	if (nw_trace_src_reopen_mem(&r->src, data, size, name, err, errlen)) {
		r->failed = true;
		snprintf(r->error, sizeof(r->error), "%s", err);
		return -1;
	}
	return reader_start(r, err, errlen);
}

/* A record belongs to the trace's architecture and version, and an expectation directly follows an access or a
 * register write (FORMAT.md, "Ordering"). */
static const char *check_context(struct nw_trace_reader *r, const struct nw_trace_record *rec)
{
	const char *problem = nw_trace_arch_check(r->arch, rec);

	if (!problem)
		problem = nw_trace_version_check(r->version, rec);
	if (!problem && rec->kind == NW_TRACE_EXPECT)
		problem = nw_trace_expect_order_check(r->prev, &rec->expect);
	r->prev = rec->kind;
	return problem;
}

/* The next record when it lies whole in the source's buffer, as nearly every
 * one does: its payload where it is, the record consumed. NULL otherwise (a
 * record across the end of the stream, an absurd length, an unknown tag, a
 * source error), for read_record() to read or report. */
static const uint8_t *buffered_record(struct nw_trace_reader *r, uint8_t *tag, uint32_t *len)
{
	size_t avail = nw_trace_src_fill(&r->src, NW_TRACE_RECORD_HEAD_LEN);
	const uint8_t *p = r->src.buf + r->src.pos;
	uint32_t n;

	if (avail < NW_TRACE_RECORD_HEAD_LEN || r->src.err[0])
		return 0;
	n = (uint32_t)nw_le_get(p + 1, 4);
	if (n > NW_TRACE_MAX_PAYLOAD || (!(p[0] & NW_TRACE_TAG_OPTIONAL) && !nw_trace_binary_is_known(p[0])))
		return 0;
	if (avail < NW_TRACE_RECORD_HEAD_LEN + n) {
		avail = nw_trace_src_fill(&r->src, NW_TRACE_RECORD_HEAD_LEN + n);
		p = r->src.buf + r->src.pos;
		if (avail < NW_TRACE_RECORD_HEAD_LEN + n)
			return 0;
	}
	*tag = p[0];
	*len = n;
	r->src.pos += NW_TRACE_RECORD_HEAD_LEN + n;
	r->src.offset += NW_TRACE_RECORD_HEAD_LEN + n;
	return p + NW_TRACE_RECORD_HEAD_LEN;
}

/* The next record through r->payload, reporting a truncated or bad header. */
static const uint8_t *read_record(struct nw_trace_reader *r, uint64_t at, uint8_t *tag, uint32_t *len)
{
	uint8_t head[NW_TRACE_RECORD_HEAD_LEN];
	size_t got = nw_trace_src_read(&r->src, head, sizeof(head));

	if (src_failed(r))
		return 0;
	if (got == 0) {
		reader_fail(r, "byte offset %llu%s: trace ends without an end record (truncated)",
			    (unsigned long long)at, decompressed(r));
		return 0;
	}
	if (got < sizeof(head)) {
		reader_fail(r, "byte offset %llu%s: truncated record header (%zu of %d bytes)", (unsigned long long)at,
			    decompressed(r), got, NW_TRACE_RECORD_HEAD_LEN);
		return 0;
	}
	*len = (uint32_t)nw_le_get(head + 1, 4);
	*tag = head[0];
	if (*len > NW_TRACE_MAX_PAYLOAD) {
		reader_fail(r, "byte offset %llu%s: absurd record length %u (limit %d)", (unsigned long long)at,
			    decompressed(r), *len, NW_TRACE_MAX_PAYLOAD);
		return 0;
	}
	if (!(head[0] & NW_TRACE_TAG_OPTIONAL) && !nw_trace_binary_is_known(head[0])) {
		reader_fail(r, "byte offset %llu%s: unknown tag 0x%02x", (unsigned long long)at, decompressed(r),
			    head[0]);
		return 0;
	}
	got = nw_trace_src_read(&r->src, r->payload, *len);
	if (src_failed(r))
		return 0;
	if (got < *len) {
		reader_fail(r, "byte offset %llu%s: truncated record (%zu of %u payload bytes)", (unsigned long long)at,
			    decompressed(r), got, *len);
		return 0;
	}
	return r->payload;
}

static int next_binary(struct nw_trace_reader *r, struct nw_trace_record *rec)
{
	for (;;) {
		uint64_t at = r->src.offset;
		uint8_t tag;
		uint32_t len;
		const uint8_t *payload = buffered_record(r, &tag, &len);
		const char *problem;

		if (!payload && !(payload = read_record(r, at, &tag, &len)))
			return -1;
		if (tag & NW_TRACE_TAG_OPTIONAL) {
			r->skipped++;
			continue;
		}
		problem = nw_trace_binary_decode(tag, payload, len, r->version, rec);
		if (!problem)
			problem = check_context(r, rec);
		if (problem)
			return reader_fail(r, "byte offset %llu%s: bad %s record: %s", (unsigned long long)at,
					   decompressed(r), nw_trace_kind_name(rec->kind), problem);
		if (rec->kind != NW_TRACE_END)
			return 1;
		at = r->src.offset;
		if (nw_trace_src_peek(&r->src) >= 0)
			return reader_fail(r, "byte offset %llu%s: trailing garbage after the end record",
					   (unsigned long long)at, decompressed(r));
		return src_failed(r) ? -1 : 0;
	}
}

/* Reads one line into r->text, a buffer-full at a time; 1, 0 at the end of
 * the stream, -1 on an error. */
static int read_line(struct nw_trace_reader *r)
{
	size_t len = 0;

	if (nw_trace_src_peek(&r->src) < 0)
		return src_failed(r);
	r->line++;
	for (;;) {
		size_t avail = nw_trace_src_fill(&r->src, 1);
		const char *start = (const char *)r->src.buf + r->src.pos;
		const char *nl = memchr(start, '\n', avail);
		size_t take = nl ? (size_t)(nl - start) : avail;
		/* Only a NUL within the longest line counts, wherever the buffer ends. */
		size_t room = NW_TRACE_MAX_LINE - len;
		const char *nul = memchr(start, 0, take < room ? take : room);

		if (avail == 0)
			break;
		if (nul)
			return reader_fail(r, "line %llu, column %zu: NUL byte", (unsigned long long)r->line,
					   len + (size_t)(nul - start) + 1);
		if (len + take > NW_TRACE_MAX_LINE)
			return reader_fail(r, "line %llu, column %d: line longer than %d bytes",
					   (unsigned long long)r->line, NW_TRACE_MAX_LINE + 1, NW_TRACE_MAX_LINE);
		memcpy(r->text + len, start, take);
		len += take;
		take += nl != 0; /* consume the newline too */
		r->src.pos += take;
		r->src.offset += take;
		if (nl)
			break;
	}
	if (src_failed(r))
		return -1;
	if (len && r->text[len - 1] == '\r')
		len--;
	r->text[len] = 0;
	return 1;
}

/* After a text header's version from 2 on: " arch=NAME", then nothing but blanks or a comment. */
static int read_text_arch(struct nw_trace_reader *r, char *p)
{
	static const char key[] = "arch=";
	size_t len;

	while (*p == ' ' || *p == '\t')
		p++;
	if (strncmp(p, key, strlen(key)))
		return reader_fail(r,
				   "line 1, column %zu: version %u names its architecture (arch=x86_64, aarch64 or "
				   "riscv64)",
				   (size_t)(p - r->text) + 1, r->version);
	p += strlen(key);
	len = strcspn(p, " \t#");
	for (unsigned a = 0; a < NW_TRACE_ARCH_COUNT; a++) {
		const char *name = nw_trace_arch_name((enum nw_trace_arch)a);

		if (len == strlen(name) && !strncmp(p, name, len)) {
			reader_set_arch(r, (enum nw_trace_arch)a);
			p += len;
			p += strspn(p, " \t");
			if (*p && *p != '#')
				return reader_fail(r, "line 1, column %zu: text after the architecture",
						   (size_t)(p - r->text) + 1);
			return 0;
		}
	}
	return reader_fail(r, "line 1, column %zu: unknown architecture (x86_64, aarch64 or riscv64)",
			   (size_t)(p - r->text) + 1);
}

static int read_text_header(struct nw_trace_reader *r)
{
	char *p;
	char *end;
	unsigned long version;

	if (read_line(r) <= 0)
		return -1;
	p = r->text + strlen(NW_TRACE_TEXT_MAGIC);
	if (*p != ' ' || p[1] < '0' || p[1] > '9')
		return reader_fail(r, "line 1, column %zu: bad magic: expected '%s VERSION'",
				   strlen(NW_TRACE_TEXT_MAGIC) + 1, NW_TRACE_TEXT_MAGIC);
	version = strtoul(p + 1, &end, 10);
	if (*end && *end != ' ' && *end != '\t' && *end != '#')
		return reader_fail(r, "line 1, column %zu: bad version number", (size_t)(end - r->text) + 1);
	if (version == 0 || version > NW_TRACE_VERSION)
		return reader_fail(r, "line 1, column %zu: unsupported version %lu (this reader knows 1 to %d)",
				   (size_t)(p - r->text) + 2, version, NW_TRACE_VERSION);
	r->version = (unsigned)version;
	if (version >= 2)
		return read_text_arch(r, end);
	/* Version 1 ignores what follows its number, but an architecture there would be read as x86_64: refused. */
	end += strspn(end, " \t");
	if (!strncmp(end, "arch=", 5))
		return reader_fail(r, "line 1, column %zu: version 1 is x86_64: an architecture needs version 2",
				   (size_t)(end - r->text) + 1);
	reader_set_arch(r, NW_TRACE_ARCH_X86_64);
	return 0;
}

static int next_text(struct nw_trace_reader *r, struct nw_trace_record *rec)
{
	char problem[NW_TRACE_ERR_LEN];
	size_t column = 0;
	int rc;

	for (;;) {
		rc = read_line(r);
		if (rc < 0)
			return -1;
		if (rc == 0)
			return reader_fail(r, "line %llu: trace ends without an 'end' line (truncated)",
					   (unsigned long long)r->line + 1);
		rc = nw_trace_text_parse(r->text, r->arch, rec, r->data, &column, problem, sizeof(problem));
		if (rc == 0)
			continue;
		if (rc > 0) {
			const char *order = check_context(r, rec);

			if (order) {
				snprintf(problem, sizeof(problem), "%s", order);
				column = 1;
				rc = -1;
			}
		}
		if (rc < 0)
			return reader_fail(r, "line %llu, column %zu: %s", (unsigned long long)r->line, column,
					   problem);
		if (rec->kind != NW_TRACE_END)
			return 1;
		break;
	}
	/* After the end line only blank lines and comments may follow. */
	while ((rc = read_line(r)) > 0) {
		if (nw_trace_text_parse(r->text, r->arch, rec, r->data, &column, problem, sizeof(problem)) != 0)
			return reader_fail(r, "line %llu: trailing garbage after the 'end' line",
					   (unsigned long long)r->line);
	}
	return rc;
}

int nw_trace_reader_next(struct nw_trace_reader *r, struct nw_trace_record *rec)
{
	int rc;

	if (r->failed)
		return -1;
	if (r->done)
		return 0;
	rc = r->form == NW_TRACE_FORM_BINARY ? next_binary(r, rec) : next_text(r, rec);
	if (rc == 1)
		r->records++;
	if (rc == 0)
		r->done = true;
	return rc;
}

const char *nw_trace_reader_error(const struct nw_trace_reader *r)
{
	return r->error;
}

enum nw_trace_form nw_trace_reader_form(const struct nw_trace_reader *r)
{
	return r->form;
}

enum nw_trace_arch nw_trace_reader_arch(const struct nw_trace_reader *r)
{
	return r->arch;
}

unsigned nw_trace_reader_version(const struct nw_trace_reader *r)
{
	return r->version;
}

bool nw_trace_reader_is_compressed(const struct nw_trace_reader *r)
{
	return r->src.zstd != 0;
}

uint64_t nw_trace_reader_records(const struct nw_trace_reader *r)
{
	return r->records;
}

uint64_t nw_trace_reader_skipped(const struct nw_trace_reader *r)
{
	return r->skipped;
}

void nw_trace_reader_close(struct nw_trace_reader *r)
{
	if (!r)
		return;
	nw_trace_src_close(&r->src);
	free(r);
}
