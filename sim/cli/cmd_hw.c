/* `nestwalk hw run SCENARIO --backend qemu|qemu-svm|kvm|bochs-vmx [--trace FILE]
 * [--image PATH] [--observed FILE] [--json] [--timeout S] [--cases-per-boot N]`: compiles each
 * access of the scenario's trace into a case of the bare-metal image, boots the
 * image under the backend, turns what the CPU did into an observed trace (the
 * same records, each access followed by the backend's outcome as an
 * expectation) and replays that trace through the simulator without a TLB.
 * Exit 0 when every outcome matched or a listed deviation explains it, 1 on an
 * unexplained mismatch, 2 for unusable input or a backend that failed to boot,
 * 77 for kvm without /dev/kvm. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cmd_hw.h"
#include "hw_image_path.h"
#include "io/file_out.h"

static int usage(void)
{
	fprintf(stderr, "usage: nestwalk hw run SCENARIO --backend qemu|qemu-svm|kvm|bochs-vmx [--trace FILE] [--image PATH]\n"
			"                       [--observed FILE] [--json] [--timeout SECONDS] [--cases-per-boot N]\n");
	return NW_EXIT_BAD_INPUT;
}

static int parse_options(int argc, char **argv, struct nw_hw_cmd_options *opt)
{
	*opt = (struct nw_hw_cmd_options){ .timeout = 120 };
	if (argc < 2 || strcmp(argv[1], "run")) {
		fprintf(stderr, "nestwalk hw: the one subcommand is 'run'\n");
		return -1;
	}
	for (int i = 2; i < argc; i++) {
		const char *arg = argv[i], *next = i + 1 < argc ? argv[i + 1] : NULL;

		if (next && !strcmp(arg, "--backend")) {
			opt->backend = argv[++i];
		} else if (next && !strcmp(arg, "--trace")) {
			opt->trace = argv[++i];
		} else if (next && !strcmp(arg, "--image")) {
			opt->image = argv[++i];
		} else if (next && !strcmp(arg, "--observed")) {
			opt->observed = argv[++i];
		} else if (next && !strcmp(arg, "--timeout")) {
			char *end;

			opt->timeout = strtod(next, &end);
			if (*end || !(opt->timeout > 0)) {
				fprintf(stderr, "nestwalk hw run: --timeout needs a positive number of seconds, not '%s'\n",
					next);
				return -1;
			}
			i++;
		} else if (next && !strcmp(arg, "--cases-per-boot")) {
			char *end;
			unsigned long long n = strtoull(next, &end, 10);

			if (*end || n == 0 || next[0] == '-') {
				fprintf(stderr, "nestwalk hw run: --cases-per-boot needs a positive whole number, not '%s'\n",
					next);
				return -1;
			}
			opt->cases_per_boot = (size_t)n;
			i++;
		} else if (!strcmp(arg, "--json")) {
			opt->json = true;
		} else if (arg[0] == '-' || opt->scenario) {
			fprintf(stderr, "nestwalk hw run: unexpected argument '%s'\n", arg);
			return -1;
		} else {
			opt->scenario = arg;
		}
	}
	if (!opt->scenario || !opt->backend) {
		fprintf(stderr, "nestwalk hw run: need a SCENARIO and --backend\n");
		return -1;
	}
	return 0;
}

/* --observed naming a file of the command line is refused before the image boots (the writer checks
 * again, with the files the scenario names). */
static int refuse_observed_input(const struct nw_hw_cmd_options *opt)
{
	const char *const inputs[] = { opt->scenario, opt->image, opt->trace, NULL };
	char err[1024];

	if (!nw_file_out_check(opt->observed, inputs, err, sizeof(err)))
		return 0;
	fprintf(stderr, "nestwalk hw run: %s\n", err);
	return -1;
}

int nw_cmd_hw(int argc, char **argv)
{
	struct nw_hw_cmd run = { 0 };
	int rc;

	if (parse_options(argc, argv, &run.opt))
		return usage();
	run.backend = nw_hw_backend_find(run.opt.backend);
	if (!run.backend) {
		fprintf(stderr, "nestwalk hw run: unknown backend '%s' (qemu, qemu-svm, kvm or bochs-vmx)\n",
			run.opt.backend);
		return usage();
	}
	if (!run.opt.image)
		run.opt.image = run.backend->vmx ? NW_HW_VMX_IMAGE_DEFAULT : NW_HW_IMAGE_DEFAULT;
	if (run.opt.observed && refuse_observed_input(&run.opt))
		return NW_EXIT_BAD_INPUT;
	rc = nw_hw_cmd_check_tools(&run);
	if (rc)
		return rc;
	rc = nw_hw_cmd_boot(&run);
	if (rc == NW_EXIT_OK) {
		run.rep.scenario = run.opt.scenario;
		run.rep.backend = run.backend->name;
		run.rep.image = run.opt.image;
		rc = nw_hw_cmd_replay_observed(&run) ? NW_EXIT_BAD_INPUT : NW_EXIT_OK;
	}
	if (rc == NW_EXIT_OK) {
		if (run.opt.json)
			nw_hw_report_print_json(stdout, &run.rep);
		else
			nw_hw_report_print(stdout, &run.rep);
		if (run.rep.mismatch_count || run.rep.leaked_frames)
			rc = NW_EXIT_MISMATCH;
	}
	free(run.outcomes);
	nw_hw_report_free(&run.rep);
	nw_hw_cmd_free_records(&run);
	return rc;
}
