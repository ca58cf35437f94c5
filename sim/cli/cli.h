/* The nestwalk program's subcommands: each lives in its own file and is
 * listed once in main.c. Exit codes, options, --help and the way bad
 * arguments are refused follow one rule for all of them (cli.c). */
#ifndef NESTWALK_SIM_CLI_H
#define NESTWALK_SIM_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "io/json_out.h"

enum {
	NW_EXIT_OK = 0,
	NW_EXIT_MISMATCH = 1, /* ran, but an expectation or check failed */
	NW_EXIT_BAD_INPUT = 2, /* unusable input or arguments: nothing ran */
};


/* One option of a command: its name ("--gva"), the name of its value ("ADDR"; NULL for a flag) and one line
 * of help. --help is every command's and is not listed in a command's table. */
struct nw_cli_option {
	const char *name, *arg, *help;
};
extern const struct nw_cli_option nw_cli_help_option;

#define NW_CLI_MAX_OPTIONS 16
#define NW_CLI_MAX_OPERANDS 2

/* A command's usage table: what --help prints, what the parser accepts and what `nestwalk help --json`
 * lists. A command with subcommands (trace, hw) has a table of its own naming them. */
struct nw_cli_usage {
	const char *command;  /* "translate", "trace stats" */
	const char *synopsis; /* after "nestwalk COMMAND ": operands and options */
	const char *summary;  /* one line */
	const char *operands[NW_CLI_MAX_OPERANDS]; /* names of the operands, the required ones first */
	unsigned required;                         /* operands that must be given */
	const struct nw_cli_option *options;       /* ends at { NULL }; NULL: none */
	const struct nw_cli_usage *const *subcommands; /* ends at NULL; NULL: none */
};

/* What the parser found: value[i] for options[i] ("" for a flag given, NULL when absent), the operands. */
struct nw_cli_args {
	const char *value[NW_CLI_MAX_OPTIONS];
	const char *operand[NW_CLI_MAX_OPERANDS];
	unsigned operands;
};

enum { NW_CLI_RUN = 0, NW_CLI_DONE = 1 }; /* a parser's answer besides a refusal (-1) */
/* The exit code of a parser's answer other than NW_CLI_RUN: 0 after --help, 2 when refused. */
#define NW_CLI_EXIT(rc) ((rc) < 0 ? NW_EXIT_BAD_INPUT : NW_EXIT_OK)

/* Parses argv[1..] (argv[0] is the command's name) against u: NW_CLI_RUN, NW_CLI_DONE when --help was
 * printed on stdout, or -1 when refused (nw_cli_fail's message on stderr). Each option at most once; an
 * argument starting with '-' (but "-" alone, standard input or output) is an option; "--" ends them. */
int nw_cli_parse(const struct nw_cli_usage *u, int argc, char **argv, struct nw_cli_args *a);

/* The one shape of a refusal: "nestwalk COMMAND: WHAT: message", the usage line and where the options are
 * listed, on stderr. Returns NW_EXIT_BAD_INPUT. */
int nw_cli_fail(const struct nw_cli_usage *u, const char *what, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* --help: the usage line, the summary, each subcommand and each option with its one line. */
void nw_cli_print_help(FILE *out, const struct nw_cli_usage *u);

/* Option i's value as a number (decimal or 0x hex) in [min, max]; -1 refused with nw_cli_fail. */
int nw_cli_number(const struct nw_cli_usage *u, const struct nw_cli_args *a, unsigned i, uint64_t min, uint64_t max,
		  uint64_t *out);
/* Option i's value as the index of one of names (count of them); -1 refused. */
int nw_cli_choice(const struct nw_cli_usage *u, const struct nw_cli_args *a, unsigned i, const char *const *names,
		  unsigned count, unsigned *out);
/* Refuses options i and j given together; -1 refused. */
int nw_cli_conflict(const struct nw_cli_usage *u, const struct nw_cli_args *a, unsigned i, unsigned j);

/* A command with subcommands: argv[1] names one (its index in u->subcommands); NW_CLI_DONE after --help, -1
 * refused. */
int nw_cli_subcommand(const struct nw_cli_usage *u, int argc, char **argv, unsigned *index);

int nw_cmd_about(int argc, char **argv);
int nw_cmd_bench(int argc, char **argv);
int nw_cmd_hw(int argc, char **argv);
int nw_cmd_mappings(int argc, char **argv);
int nw_cmd_read(int argc, char **argv);
int nw_cmd_replay(int argc, char **argv);
int nw_cmd_translate(int argc, char **argv);
int nw_cmd_trace(int argc, char **argv);

extern const struct nw_cli_usage nw_usage_about, nw_usage_bench, nw_usage_hw, nw_usage_hw_run, nw_usage_mappings,
	nw_usage_read, nw_usage_replay, nw_usage_translate, nw_usage_trace, nw_usage_trace_convert, nw_usage_trace_cat,
	nw_usage_trace_stats;

/* `nestwalk mappings SCENARIO --stage guest [--json] [--limit N]` (cmd_mappings.c
 * dispatches here): returns the exit code. */
int nw_guest_mappings_command(const char *scenario_path, bool json, uint64_t limit);
/* `nestwalk mappings SCENARIO --roots [--json]` (cmd_mappings_roots.c): returns the exit code. */
int nw_mappings_roots_command(const char *scenario_path, bool json);

#endif
