/* The nestwalk program's subcommands: each lives in its own file and is
 * listed once in main.c. Exit codes follow one rule for all of them. */
#ifndef NESTWALK_SIM_CLI_H
#define NESTWALK_SIM_CLI_H

#include <stdbool.h>
#include <stdint.h>

enum {
	NW_EXIT_OK = 0,
	NW_EXIT_MISMATCH = 1, /* ran, but an expectation or check failed */
	NW_EXIT_BAD_INPUT = 2, /* unusable input or arguments: nothing ran */
};

struct nw_command {
	const char *name;
	const char *summary;
	int (*run)(int argc, char **argv);
};

int nw_cmd_about(int argc, char **argv);
int nw_cmd_bench(int argc, char **argv);
int nw_cmd_hw(int argc, char **argv);
int nw_cmd_mappings(int argc, char **argv);
int nw_cmd_replay(int argc, char **argv);
int nw_cmd_translate(int argc, char **argv);
int nw_cmd_trace(int argc, char **argv);

/* `nestwalk mappings SCENARIO --stage guest [--json] [--limit N]` (cmd_mappings.c
 * dispatches here): returns the exit code. */
int nw_guest_mappings_command(const char *scenario_path, bool json, uint64_t limit);

#endif
