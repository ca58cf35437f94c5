/* `nestwalk trace`: convert, print and count trace records (traces/FORMAT.md). */
#include <stdio.h>
#include <string.h>

#include <nestwalk/assert.h>

#include "cli/cli.h"
#include "trace/trace.h"

#define ERR_LEN 512

static const struct nw_cli_option convert_options[] = {
	{ "--to", "text|binary", "the output's form (default: the other form than IN's)" },
	{ "--zstd", NULL, "compress the output with zstd" },
	{ NULL, NULL, NULL },
};
static const struct nw_cli_option stats_options[] = {
	{ "--json", NULL, "the counts as one JSON object (docs/json.md) instead of text" },
	{ NULL, NULL, NULL },
};

const struct nw_cli_usage nw_usage_trace_convert = {
	.command = "trace convert", .synopsis = "IN OUT [--to text|binary] [--zstd]",
	.summary = "convert a trace between its text and binary forms (IN or OUT may be '-': standard input or output)",
	.operands = { "IN", "OUT" }, .required = 2, .options = convert_options,
};
const struct nw_cli_usage nw_usage_trace_cat = {
	.command = "trace cat", .synopsis = "IN",
	.summary = "print a trace in its text form (IN may be '-': standard input)",
	.operands = { "IN" }, .required = 1,
};
const struct nw_cli_usage nw_usage_trace_stats = {
	.command = "trace stats", .synopsis = "IN [--json]",
	.summary = "count a trace's records by kind and its accesses by type",
	.operands = { "IN" }, .required = 1, .options = stats_options,
};
static const struct nw_cli_usage *const trace_subcommands[] = {
	&nw_usage_trace_convert, &nw_usage_trace_cat, &nw_usage_trace_stats, NULL,
};
const struct nw_cli_usage nw_usage_trace = {
	.command = "trace", .synopsis = "convert|cat|stats ARGS",
	.summary = "convert, print (cat) or count (stats) a trace (traces/FORMAT.md)",
	.subcommands = trace_subcommands,
};

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
	/* A fresh writer takes any: the conversion keeps the trace's architecture and version (lossless). */
	rc = nw_trace_writer_set_arch(writer, nw_trace_reader_arch(reader));
	NW_ASSERT(rc == 0);
	rc = nw_trace_writer_set_version(writer, nw_trace_reader_version(reader));
	NW_ASSERT(rc == 0);
	while ((rc = nw_trace_reader_next(reader, &rec)) > 0)
		if (nw_trace_writer_put(writer, &rec))
			break;
	if (rc < 0 || nw_trace_writer_error(writer)[0]) {
		fprintf(stderr, "nestwalk: %s\n",
			rc < 0 ? nw_trace_reader_error(reader) : nw_trace_writer_error(writer));
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
	static const char *const forms[] = { [NW_TRACE_FORM_TEXT] = "text", [NW_TRACE_FORM_BINARY] = "binary" };
	struct nw_cli_args a;
	unsigned to;
	int rc = nw_cli_parse(&nw_usage_trace_convert, argc, argv, &a);

	if (rc)
		return NW_CLI_EXIT(rc);
	if (a.value[0] && nw_cli_choice(&nw_usage_trace_convert, &a, 0, forms, 2, &to))
		return NW_EXIT_BAD_INPUT;
	return copy(a.operand[0], a.operand[1], a.value[0] ? (int)to : -1, a.value[1]);
}

static int cmd_cat(int argc, char **argv)
{
	struct nw_cli_args a;
	int rc = nw_cli_parse(&nw_usage_trace_cat, argc, argv, &a);

	return rc ? NW_CLI_EXIT(rc) : copy(a.operand[0], "-", NW_TRACE_FORM_TEXT, false);
}

static void print_stats(const char *path, struct nw_trace_reader *reader, const uint64_t *kinds, const uint64_t *types,
			uint64_t bytes, bool json)
{
	static const char *const type_names[3] = { "read", "write", "fetch" };
	const char *form = nw_trace_reader_form(reader) == NW_TRACE_FORM_BINARY ? "binary" : "text";

	if (!json) {
		printf("trace: %s (%s%s)\n", path, form, nw_trace_reader_is_compressed(reader) ? ", zstd" : "");
		printf("arch: %s\n", nw_trace_arch_name(nw_trace_reader_arch(reader)));
		printf("records: %llu\n", (unsigned long long)nw_trace_reader_records(reader));
		for (unsigned k = NW_TRACE_ACCESS; k <= NW_TRACE_KIND_COUNT; k++)
			printf("  %-8s %llu\n", nw_trace_kind_name(k), (unsigned long long)kinds[k]);
		printf("accesses by type: read %llu, write %llu, fetch %llu; bytes accessed %llu\n",
		       (unsigned long long)types[0], (unsigned long long)types[1], (unsigned long long)types[2],
		       (unsigned long long)bytes);
		printf("optional records skipped: %llu\n", (unsigned long long)nw_trace_reader_skipped(reader));
		return;
	}
	printf("{\"schema\": %d, \"trace\": ", NW_JSON_SCHEMA);
	nw_json_string(stdout, path);
	printf(", \"form\": \"%s\", \"arch\": \"%s\", \"zstd\": %s, \"records\": %llu, \"kinds\": {", form,
	       nw_trace_arch_name(nw_trace_reader_arch(reader)),
	       nw_trace_reader_is_compressed(reader) ? "true" : "false",
	       (unsigned long long)nw_trace_reader_records(reader));
	for (unsigned k = NW_TRACE_ACCESS; k <= NW_TRACE_KIND_COUNT; k++)
		printf("%s\"%s\": %llu", k == NW_TRACE_ACCESS ? "" : ", ", nw_trace_kind_name(k),
		       (unsigned long long)kinds[k]);
	printf("}, \"accesses_by_type\": {");
	for (unsigned t = 0; t < 3; t++)
		printf("%s\"%s\": %llu", t ? ", " : "", type_names[t], (unsigned long long)types[t]);
	printf("}, \"bytes_accessed\": %llu, \"optional_skipped\": %llu}\n", (unsigned long long)bytes,
	       (unsigned long long)nw_trace_reader_skipped(reader));
}

static int cmd_stats(int argc, char **argv)
{
	uint64_t kinds[NW_TRACE_KIND_COUNT + 1] = { 0 }, types[3] = { 0 }, bytes = 0;
	struct nw_trace_record rec;
	struct nw_trace_reader *reader;
	struct nw_cli_args a;
	char err[ERR_LEN];
	int rc = nw_cli_parse(&nw_usage_trace_stats, argc, argv, &a);

	if (rc)
		return NW_CLI_EXIT(rc);
	reader = nw_trace_reader_open(a.operand[0], err, sizeof(err));
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
	print_stats(a.operand[0], reader, kinds, types, bytes, a.value[0]);
	nw_trace_reader_close(reader);
	return NW_EXIT_OK;
}

int nw_cmd_trace(int argc, char **argv)
{
	static int (*const run[])(int, char **) = { cmd_convert, cmd_cat, cmd_stats };
	unsigned sub;
	int rc = nw_cli_subcommand(&nw_usage_trace, argc, argv, &sub);

	return rc ? NW_CLI_EXIT(rc) : run[sub](argc - 1, argv + 1);
}
