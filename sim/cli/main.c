/* nestwalk: replay, translate and inspect two-stage address translation on
 * simulated memory. Subcommands are listed here once; each is its own file. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "io/file_out.h"

static const struct nw_command commands[] = {
	{ "about", "what this build models (the self-description)", nw_cmd_about },
	{ "bench", "time 1-D and 2-D walks against a pointer-chain floor; memory per VM", nw_cmd_bench },
	{ "hw", "run a scenario's accesses on the bare-metal image (QEMU, SVM, KVM) and replay what it did", nw_cmd_hw },
	{ "mappings", "list a scenario's second-stage mappings, merged into ranges", nw_cmd_mappings },
	{ "replay", "replay a trace on a scenario, check its expectations, print statistics", nw_cmd_replay },
	{ "translate", "translate one GPA (second stage) or GVA (2-D walk) on a scenario", nw_cmd_translate },
	{ "trace", "convert, print (cat) or count (stats) a trace", nw_cmd_trace },
};

static void usage(FILE *out)
{
	fprintf(out, "usage: nestwalk COMMAND [ARGS]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %-12s %s\n", commands[i].name, commands[i].summary);
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
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return finish_output(NW_EXIT_OK);
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name))
			return finish_output(commands[i].run(argc - 1, argv + 1));
	fprintf(stderr, "nestwalk: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return NW_EXIT_BAD_INPUT;
}
