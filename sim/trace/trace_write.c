/* The trace writers: binary or text, optionally through zstd, one record at a
 * time; close() appends the end record. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "trace/trace_codec.h"
#include "trace/trace_io.h"

struct nw_trace_writer {
	struct nw_trace_sink sink;
	enum nw_trace_form form;
	enum nw_trace_arch arch;
	unsigned version;        /* 0: nw_trace_arch_version(arch) */
	enum nw_trace_kind prev; /* the last record's kind (nw_trace_expect_order_check) */
	bool started;            /* the header is written (with the first record, once the architecture is known) */
	bool failed;
	char error[NW_TRACE_ERR_LEN];
	union {
		uint8_t bytes[NW_TRACE_RECORD_MAX];
		char text[NW_TRACE_TEXT_MAX];
	} scratch;
};

static unsigned writer_version(const struct nw_trace_writer *w)
{
	return w->version ? w->version : nw_trace_arch_version(w->arch);
}

static int sink_write(struct nw_trace_writer *w, const void *data, size_t len)
{
	if (nw_trace_sink_write(&w->sink, data, len)) {
		w->failed = true;
		snprintf(w->error, sizeof(w->error), "%s", w->sink.err);
		return -1;
	}
	return 0;
}

/* The header of the writer's version: version 1 is x86_64 and names no architecture, later ones always do. */
static int write_header(struct nw_trace_writer *w)
{
	uint8_t header[NW_TRACE_HEADER_LEN];
	char text[64];
	unsigned version = writer_version(w);

	w->started = true;
	if (version < nw_trace_arch_version(w->arch)) {
		w->failed = true;
		snprintf(w->error, sizeof(w->error), "%s: a trace of %s needs version %u",
			 w->sink.dest.name ? w->sink.dest.name : "memory", nw_trace_arch_name(w->arch),
			 nw_trace_arch_version(w->arch));
		return -1;
	}
	if (w->form == NW_TRACE_FORM_BINARY) {
		nw_trace_binary_header(header, version, w->arch);
		return sink_write(w, header, sizeof(header));
	}
	if (version == 1)
		snprintf(text, sizeof(text), "%s 1\n", NW_TRACE_TEXT_MAGIC);
	else
		snprintf(text, sizeof(text), "%s %u arch=%s\n", NW_TRACE_TEXT_MAGIC, version, nw_trace_arch_name(w->arch));
	return sink_write(w, text, strlen(text));
}

static int emit(struct nw_trace_writer *w, const struct nw_trace_record *rec)
{
	size_t len;

	if (!w->started && write_header(w))
		return -1;
	if (w->form == NW_TRACE_FORM_BINARY)
		len = nw_trace_binary_encode(rec, writer_version(w), w->scratch.bytes);
	else
		len = nw_trace_text_format(rec, w->arch, w->scratch.text);
	return sink_write(w, w->scratch.bytes, len);
}

/* A writer into the file at path (refused when it is one of inputs), or into out when path is NULL. */
static struct nw_trace_writer *writer_open(const char *path, const char *const *inputs, struct nw_trace_mem *out,
					   enum nw_trace_form form, bool zstd, char *err, size_t errlen)
{
	struct nw_trace_writer *w = malloc(sizeof(*w));

	if (!path)
		path = "memory";
	if (!w) {
		snprintf(err, errlen, "%s: out of memory", path);
		return 0;
	}
	/* Everything but the scratch space, which each record overwrites before use. */
	memset(w, 0, offsetof(struct nw_trace_writer, scratch));
	w->form = form;
	if (out ? nw_trace_sink_open_mem(&w->sink, out, zstd, err, errlen) :
		  nw_trace_sink_open(&w->sink, path, inputs, zstd, err, errlen)) {
		free(w);
		return 0;
	}
	return w;
}

struct nw_trace_writer *nw_trace_writer_open(const char *path, const char *const *inputs, enum nw_trace_form form,
					     bool zstd, char *err, size_t errlen)
{
	return writer_open(path, inputs, 0, form, zstd, err, errlen);
}

struct nw_trace_writer *nw_trace_writer_open_mem(struct nw_trace_mem *out, enum nw_trace_form form, bool zstd,
						 char *err, size_t errlen)
{
	return writer_open(0, 0, out, form, zstd, err, errlen);
}

int nw_trace_writer_put(struct nw_trace_writer *w, const struct nw_trace_record *rec)
{
	const char *problem;

	if (w->failed)
		return -1;
	problem = rec->kind == NW_TRACE_END ? "the end record is written by close" : nw_trace_record_check(rec);
	if (!problem)
		problem = nw_trace_arch_check(w->arch, rec);
	if (!problem)
		problem = nw_trace_version_check(writer_version(w), rec);
	if (!problem && rec->kind == NW_TRACE_EXPECT)
		problem = nw_trace_expect_order_check(w->prev, &rec->expect);
	if (problem) {
		w->failed = true;
		snprintf(w->error, sizeof(w->error), "%s: record not written: %s",
			 w->sink.dest.name ? w->sink.dest.name : "memory", problem);
		return -1;
	}
	w->prev = rec->kind;
	return emit(w, rec);
}

int nw_trace_writer_set_arch(struct nw_trace_writer *w, enum nw_trace_arch arch)
{
	if (w->started || (unsigned)arch >= NW_TRACE_ARCH_COUNT)
		return -1;
	w->arch = arch;
	return 0;
}

int nw_trace_writer_set_version(struct nw_trace_writer *w, unsigned version)
{
	if (w->started || version == 0 || version > NW_TRACE_VERSION)
		return -1;
	w->version = version;
	return 0;
}

const char *nw_trace_writer_error(const struct nw_trace_writer *w)
{
	return w->error;
}

int nw_trace_writer_close(struct nw_trace_writer *w, char *err, size_t errlen)
{
	struct nw_trace_record end = { .kind = NW_TRACE_END };
	int rc = w->failed ? -1 : emit(w, &end);

	if (rc == 0 && nw_trace_sink_finish(&w->sink)) {
		snprintf(w->error, sizeof(w->error), "%s", w->sink.err);
		rc = -1;
	}
	if (rc)
		nw_trace_sink_abandon(&w->sink);
	if (rc && err)
		snprintf(err, errlen, "%s", w->error);
	free(w);
	return rc;
}

void nw_trace_writer_abandon(struct nw_trace_writer *w)
{
	nw_trace_sink_abandon(&w->sink);
	free(w);
}
