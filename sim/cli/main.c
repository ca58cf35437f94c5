/* nestwalk: replay, translate and inspect two-stage address translation on
 * simulated memory. Subcommands are listed here once; each is its own file. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "io/file_out.h"
#include "nw_version.h"

static int cmd_help(int argc, char **argv);
static int cmd_version(int argc, char **argv);

static const struct nw_cli_option help_options[] = {
	{ "--json", NULL, "every command's usage table as JSON (docs/json.md)" },
	{ NULL, NULL, NULL },
};
static const struct nw_cli_usage usage_help = {
	.command = "help", .synopsis = "[--json]", .summary = "list the commands, or every command's options as JSON",
	.options = help_options,
};
static const struct nw_cli_option version_options[] = {
	{ "--json", NULL, "the version as JSON (docs/json.md)" },
	{ NULL, NULL, NULL },
};
static const struct nw_cli_usage usage_version = {
	.command = "version", .synopsis = "[--json]", .summary = "print the version of this build",
	.options = version_options,
};

static const struct {
	const struct nw_cli_usage *usage;
	int (*run)(int argc, char **argv);
} commands[] = {
	{ &nw_usage_about, nw_cmd_about },
	{ &nw_usage_bench, nw_cmd_bench },
	{ &usage_help, cmd_help },
	{ &nw_usage_hw, nw_cmd_hw },
	{ &nw_usage_mappings, nw_cmd_mappings },
	{ &nw_usage_read, nw_cmd_read },
	{ &nw_usage_replay, nw_cmd_replay },
	{ &nw_usage_translate, nw_cmd_translate },
	{ &nw_usage_trace, nw_cmd_trace },
	{ &usage_version, cmd_version },
};
#define COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *out)
{
	fprintf(out, "usage: nestwalk COMMAND [ARGS]   (nestwalk COMMAND --help for its options)\n"
		     "       nestwalk --version | --help\n\ncommands:\n");
	for (size_t i = 0; i < COMMANDS; i++)
		fprintf(out, "  %-12s %s\n", commands[i].usage->command, commands[i].usage->summary);
}

static void print_usage_json(const struct nw_cli_usage *u, bool *first)
{
	fprintf(stdout, "%s\n  {\"command\": ", *first ? "" : ",");
	*first = false;
	nw_json_string(stdout, u->command);
	fputs(", \"synopsis\": ", stdout);
	nw_json_string(stdout, u->synopsis);
	fputs(", \"summary\": ", stdout);
	nw_json_string(stdout, u->summary);
	fputs(", \"options\": [", stdout);
	for (const struct nw_cli_option *o = u->options; o && o->name; o++) {
		fputs("{\"name\": ", stdout);
		nw_json_string(stdout, o->name);
		if (o->arg) {
			fputs(", \"arg\": ", stdout);
			nw_json_string(stdout, o->arg);
		}
		fputs("}, ", stdout);
	}
	printf("{\"name\": \"%s\"}], \"subcommands\": [", nw_cli_help_option.name);
	for (const struct nw_cli_usage *const *s = u->subcommands; s && *s; s++) {
		fputs(s == u->subcommands ? "" : ", ", stdout);
		nw_json_string(stdout, (*s)->command);
	}
	fputs("]}", stdout);
	for (const struct nw_cli_usage *const *s = u->subcommands; s && *s; s++)
		print_usage_json(*s, first);
}

static int cmd_help(int argc, char **argv)
{
	struct nw_cli_args a;
	bool first = true;
	int rc = nw_cli_parse(&usage_help, argc, argv, &a);

	if (rc)
		return NW_CLI_EXIT(rc);
	if (!a.value[0]) {
		usage(stdout);
		return NW_EXIT_OK;
	}
	printf("{\"schema\": %d, \"version\": \"%s\", \"commands\": [", NW_JSON_SCHEMA, NW_VERSION);
	for (size_t i = 0; i < COMMANDS; i++)
		print_usage_json(commands[i].usage, &first);
	printf("\n]}\n");
	return NW_EXIT_OK;
}

static int cmd_version(int argc, char **argv)
{
	struct nw_cli_args a;
	int rc = nw_cli_parse(&usage_version, argc, argv, &a);

	if (rc)
		return NW_CLI_EXIT(rc);
	if (a.value[0])
		printf("{\"schema\": %d, \"version\": \"%s\"}\n", NW_JSON_SCHEMA, NW_VERSION);
	else
		printf("nestwalk %s\n", NW_VERSION);
	return NW_EXIT_OK;
}

/* Every command's answer is on standard output: one that could not all be written
 * (a full device) is no answer, whatever the command found. */
static int finish_output(int rc)
{
	char err[256];

	if (!nw_file_stream_check(stdout, "standard output", err, sizeof(err)))
		return rc;
	fprintf(stderr, "nestwalk: %s\n", err);
	return NW_EXIT_BAD_INPUT;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return NW_EXIT_BAD_INPUT;
	}
	if (!strcmp(argv[1], "--help")) {
		usage(stdout);
		return finish_output(NW_EXIT_OK);
	}
	if (!strcmp(argv[1], "--version"))
		return finish_output(cmd_version(1, argv + 1));
	for (size_t i = 0; i < COMMANDS; i++)
		if (!strcmp(argv[1], commands[i].usage->command))
			return finish_output(commands[i].run(argc - 1, argv + 1));
	fprintf(stderr, "nestwalk: %s: unknown %s\n", argv[1], argv[1][0] == '-' ? "option" : "command");
	usage(stderr);
	return NW_EXIT_BAD_INPUT;
}
