/* One option parser, one --help and one refusal for every command (cli.h). */
#include <stdarg.h>
#include <string.h>

#include "cli/cli.h"
#include "scenario/scenario.h"

const struct nw_cli_option nw_cli_help_option = { "--help", NULL, "print this help and exit" };

int nw_cli_fail(const struct nw_cli_usage *u, const char *what, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "nestwalk %s: %s: ", u->command, what);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nusage: nestwalk %s %s\n('nestwalk %s --help' lists the options)\n", u->command, u->synopsis,
		u->command);
	return NW_EXIT_BAD_INPUT;
}

static void print_option(FILE *out, const struct nw_cli_option *o)
{
	char head[40];

	snprintf(head, sizeof(head), "%s%s%s", o->name, o->arg ? " " : "", o->arg ? o->arg : "");
	fprintf(out, "  %-26s %s\n", head, o->help);
}

void nw_cli_print_help(FILE *out, const struct nw_cli_usage *u)
{
	fprintf(out, "usage: nestwalk %s %s\n\n%s\n", u->command, u->synopsis, u->summary);
	if (u->subcommands) {
		fprintf(out, "\nsubcommands:\n");
		for (const struct nw_cli_usage *const *s = u->subcommands; *s; s++)
			fprintf(out, "  %-26s %s\n", (*s)->command + strlen(u->command) + 1, (*s)->summary);
	}
	fprintf(out, "\noptions:\n");
	for (const struct nw_cli_option *o = u->options; o && o->name; o++)
		print_option(out, o);
	print_option(out, &nw_cli_help_option);
}

static int find_option(const struct nw_cli_usage *u, const char *name)
{
	for (int i = 0; u->options && u->options[i].name; i++)
		if (!strcmp(u->options[i].name, name))
			return i;
	return -1;
}

static int take_operand(const struct nw_cli_usage *u, struct nw_cli_args *a, const char *arg)
{
	if (a->operands == NW_CLI_MAX_OPERANDS || !u->operands[a->operands]) {
		nw_cli_fail(u, arg, "unexpected argument");
		return -1;
	}
	a->operand[a->operands++] = arg;
	return 0;
}

int nw_cli_parse(const struct nw_cli_usage *u, int argc, char **argv, struct nw_cli_args *a)
{
	bool options_end = false;

	*a = (struct nw_cli_args){ 0 };
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		int k;

		if (options_end || arg[0] != '-' || !arg[1]) {
			if (take_operand(u, a, arg))
				return -1;
			continue;
		}
		if (!strcmp(arg, "--")) {
			options_end = true;
			continue;
		}
		if (!strcmp(arg, nw_cli_help_option.name)) {
			nw_cli_print_help(stdout, u);
			return NW_CLI_DONE;
		}
		k = find_option(u, arg);
		if (k < 0) {
			nw_cli_fail(u, arg, "unknown option");
			return -1;
		}
		if (a->value[k]) {
			nw_cli_fail(u, arg, "given twice");
			return -1;
		}
		if (u->options[k].arg && i + 1 >= argc) {
			nw_cli_fail(u, arg, "missing its value (%s)", u->options[k].arg);
			return -1;
		}
		a->value[k] = u->options[k].arg ? argv[++i] : "";
	}
	if (a->operands < u->required) {
		nw_cli_fail(u, u->operands[a->operands], "missing");
		return -1;
	}
	return NW_CLI_RUN;
}

int nw_cli_number(const struct nw_cli_usage *u, const struct nw_cli_args *a, unsigned i, uint64_t min, uint64_t max,
		  uint64_t *out)
{
	const char *text = a->value[i];

	if (nw_scenario_parse_u64(text, strlen(text), out) || *out < min || *out > max) {
		nw_cli_fail(u, u->options[i].name, "'%s' is not a number from %llu to %llu (decimal or 0x hex)", text,
			    (unsigned long long)min, (unsigned long long)max);
		return -1;
	}
	return 0;
}

int nw_cli_choice(const struct nw_cli_usage *u, const struct nw_cli_args *a, unsigned i, const char *const *names,
		  unsigned count, unsigned *out)
{
	for (unsigned n = 0; n < count; n++)
		if (!strcmp(a->value[i], names[n])) {
			*out = n;
			return 0;
		}
	nw_cli_fail(u, u->options[i].name, "'%s' is not one of %s", a->value[i], u->options[i].arg);
	return -1;
}

int nw_cli_conflict(const struct nw_cli_usage *u, const struct nw_cli_args *a, unsigned i, unsigned j)
{
	if (!a->value[i] || !a->value[j])
		return 0;
	nw_cli_fail(u, u->options[i].name, "cannot be given with %s", u->options[j].name);
	return -1;
}

int nw_cli_subcommand(const struct nw_cli_usage *u, int argc, char **argv, unsigned *index)
{
	const char *name = argc > 1 ? argv[1] : NULL;

	if (name && !strcmp(name, nw_cli_help_option.name)) {
		nw_cli_print_help(stdout, u);
		return NW_CLI_DONE;
	}
	for (unsigned i = 0; name && u->subcommands[i]; i++)
		if (!strcmp(u->subcommands[i]->command + strlen(u->command) + 1, name)) {
			*index = i;
			return NW_CLI_RUN;
		}
	if (!name)
		nw_cli_fail(u, "SUBCOMMAND", "missing");
	else
		nw_cli_fail(u, name, name[0] == '-' ? "unknown option" : "unknown subcommand");
	return -1;
}
