/* `nestwalk trace`: convert, print and count trace records (traces/FORMAT.md). */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "trace/trace.h"

#define ERR_LEN 512

static int usage(void)
{
	fprintf(stderr, "usage: nestwalk trace convert IN OUT [--to text|binary] [--zstd]\n"
			"       nestwalk trace cat IN\n"
			"       nestwalk trace stats IN\n"
			"IN or OUT may be '-' for standard input or output.\n");
	return NW_EXIT_BAD_INPUT;
}

/* Copies every record of IN to OUT, which is written whole or not at all (an OUT
 * that is IN is refused); the reader's error wins over the writer's. */
static int copy(const char *in, const char *out, int to, bool zstd)
{
	const char *const inputs[] = { in, NULL };
	struct nw_trace_record rec;
	struct nw_trace_reader *reader;
	struct nw_trace_writer *writer;
	char err[ERR_LEN];
	int rc;

	reader = nw_trace_reader_open(in, err, sizeof(err));
	if (!reader) {
		fprintf(stderr, "nestwalk: %s\n", err);
		return NW_EXIT_BAD_INPUT;
	}
	if (to < 0)
		to = nw_trace_reader_form(reader) == NW_TRACE_FORM_BINARY ? NW_TRACE_FORM_TEXT : NW_TRACE_FORM_BINARY;
	writer = nw_trace_writer_open(out, inputs, (enum nw_trace_form)to, zstd, err, sizeof(err));
	if (!writer) {
		fprintf(stderr, "nestwalk: %s\n", err);
		nw_trace_reader_close(reader);
		return NW_EXIT_BAD_INPUT;
	}
	while ((rc = nw_trace_reader_next(reader, &rec)) > 0)
		if (nw_trace_writer_put(writer, &rec))
			break;
	if (rc < 0 || nw_trace_writer_error(writer)[0]) {
		fprintf(stderr, "nestwalk: %s\n", rc < 0 ? nw_trace_reader_error(reader) : nw_trace_writer_error(writer));
		nw_trace_writer_abandon(writer);
		nw_trace_reader_close(reader);
		return NW_EXIT_BAD_INPUT;
	}
	nw_trace_reader_close(reader);
	if (nw_trace_writer_close(writer, err, sizeof(err))) {
		fprintf(stderr, "nestwalk: %s\n", err);
		return NW_EXIT_BAD_INPUT;
	}
	return NW_EXIT_OK;
}

static int cmd_convert(int argc, char **argv)
{
	const char *paths[2];
	unsigned npaths = 0;
	bool zstd = false;
	int to = -1;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--zstd")) {
			zstd = true;
		} else if (!strcmp(argv[i], "--to") && i + 1 < argc) {
			i++;
			if (!strcmp(argv[i], "text"))
				to = NW_TRACE_FORM_TEXT;
			else if (!strcmp(argv[i], "binary"))
				to = NW_TRACE_FORM_BINARY;
			else
				return usage();
		} else if (argv[i][0] == '-' && argv[i][1]) {
			return usage();
		} else if (npaths < 2) {
			paths[npaths++] = argv[i];
		} else {
			return usage();
		}
	}
	if (npaths != 2)
		return usage();
	return copy(paths[0], paths[1], to, zstd);
}

static int cmd_stats(const char *path)
{
	uint64_t kinds[NW_TRACE_KIND_COUNT + 1] = { 0 }, types[3] = { 0 }, bytes = 0;
	struct nw_trace_record rec;
	struct nw_trace_reader *reader;
	char err[ERR_LEN];
	int rc;

	reader = nw_trace_reader_open(path, err, sizeof(err));
	if (!reader) {
		fprintf(stderr, "nestwalk: %s\n", err);
		return NW_EXIT_BAD_INPUT;
	}
	while ((rc = nw_trace_reader_next(reader, &rec)) > 0) {
		kinds[rec.kind]++;
		if (rec.kind == NW_TRACE_ACCESS) {
			types[rec.access.type]++;
			bytes += rec.access.size;
		}
	}
	if (rc < 0) {
		fprintf(stderr, "nestwalk: %s\n", nw_trace_reader_error(reader));
		nw_trace_reader_close(reader);
		return NW_EXIT_BAD_INPUT;
	}
	printf("trace: %s (%s%s)\n", path, nw_trace_reader_form(reader) == NW_TRACE_FORM_BINARY ? "binary" : "text",
	       nw_trace_reader_is_compressed(reader) ? ", zstd" : "");
	printf("records: %llu\n", (unsigned long long)nw_trace_reader_records(reader));
	for (unsigned k = NW_TRACE_ACCESS; k <= NW_TRACE_KIND_COUNT; k++)
		printf("  %-8s %llu\n", nw_trace_kind_name(k), (unsigned long long)kinds[k]);
	printf("accesses by type: read %llu, write %llu, fetch %llu; bytes accessed %llu\n",
	       (unsigned long long)types[0], (unsigned long long)types[1], (unsigned long long)types[2],
	       (unsigned long long)bytes);
	printf("optional records skipped: %llu\n", (unsigned long long)nw_trace_reader_skipped(reader));
	nw_trace_reader_close(reader);
	return NW_EXIT_OK;
}

int nw_cmd_trace(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "convert"))
		return cmd_convert(argc - 1, argv + 1);
	if (argc == 3 && !strcmp(argv[1], "cat"))
		return copy(argv[2], "-", NW_TRACE_FORM_TEXT, false);
	if (argc == 3 && !strcmp(argv[1], "stats"))
		return cmd_stats(argv[2]);
	return usage();
}
