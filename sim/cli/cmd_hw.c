/* `nestwalk hw run SCENARIO --backend qemu|qemu-svm|kvm|bochs-vmx|qemu-aarch64|qemu-riscv64 [--trace FILE]
 * [--image PATH] [--observed FILE] [--json] [--timeout S] [--cases-per-boot N]`: compiles each
 * access of the scenario's trace into a case of the bare-metal image, boots the
 * image under the backend, turns what the CPU did into an observed trace (the
 * same records, each access followed by the backend's outcome as an
 * expectation) and replays that trace through the simulator without a TLB.
 * Exit 0 when every outcome matched or a listed deviation explains it, 1 on an
 * unexplained mismatch, 2 for unusable input or a backend that failed to boot,
 * 77 for kvm without /dev/kvm. qemu-aarch64 probes an aarch64 scenario's stage 2 instead (cmd_hw_a64.c), and
 * qemu-riscv64 a riscv64 scenario's G-stage and VS-stage (cmd_hw_rv.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cmd_hw.h"
#include "hw_image_path.h"
#include "io/file_out.h"

enum { OPT_BACKEND, OPT_TRACE, OPT_IMAGE, OPT_OBSERVED, OPT_JSON, OPT_TIMEOUT, OPT_CASES_PER_BOOT };

static const struct nw_cli_option options[] = {
	[OPT_BACKEND] = { "--backend", "NAME",
			  "what runs the image (required): qemu, qemu-svm, kvm, bochs-vmx, qemu-aarch64 (aarch64) or "
			  "qemu-riscv64 (riscv64)" },
	[OPT_TRACE] = { "--trace", "FILE", "the trace whose accesses run (default: the scenario's trace: key)" },
	[OPT_IMAGE] = { "--image", "PATH", "the bare-metal image (default: the one this build made)" },
	[OPT_OBSERVED] = { "--observed", "FILE", "also write the observed trace (written whole or not at all)" },
	[OPT_JSON] = { "--json", NULL, "the report as one JSON object (docs/json.md) instead of text" },
	[OPT_TIMEOUT] = { "--timeout", "SECONDS", "longest boot before it counts as hung (default 120)" },
	[OPT_CASES_PER_BOOT] = { "--cases-per-boot", "N", "at most N cases per boot (default: as many as fit)" },
	{ NULL, NULL, NULL },
};

const struct nw_cli_usage nw_usage_hw_run = {
	.command = "hw run",
	.synopsis = "SCENARIO --backend qemu|qemu-svm|kvm|bochs-vmx|qemu-aarch64|qemu-riscv64 [--trace FILE] "
		    "[--image PATH] [--observed FILE] [--json] [--timeout SECONDS] [--cases-per-boot N]",
	.summary = "run a scenario's accesses on the bare-metal image and replay what the CPU did",
	.operands = { "SCENARIO" },
	.required = 1,
	.options = options,
};
static const struct nw_cli_usage *const hw_subcommands[] = { &nw_usage_hw_run, NULL };
const struct nw_cli_usage nw_usage_hw = {
	.command = "hw",
	.synopsis = "run ARGS",
	.summary = "run a scenario's accesses on the bare-metal image (QEMU, SVM, KVM, Bochs) and replay what it did",
	.subcommands = hw_subcommands,
};

/* NW_CLI_RUN, or the parser's other answers (cli.h). */
static int parse_options(int argc, char **argv, struct nw_hw_cmd_options *opt)
{
	const struct nw_cli_usage *u = &nw_usage_hw_run;
	struct nw_cli_args a;
	unsigned sub;
	uint64_t n = 0;
	char *end;
	int rc = nw_cli_subcommand(&nw_usage_hw, argc, argv, &sub);

	if (!rc)
		rc = nw_cli_parse(u, argc - 1, argv + 1, &a);
	if (rc)
		return rc;
	*opt = (struct nw_hw_cmd_options){ .scenario = a.operand[0], .backend = a.value[OPT_BACKEND],
					   .trace = a.value[OPT_TRACE], .image = a.value[OPT_IMAGE],
					   .observed = a.value[OPT_OBSERVED], .json = a.value[OPT_JSON],
					   .timeout = 120 };
	if (!opt->backend) {
		nw_cli_fail(u, "--backend", "missing");
		return -1;
	}
	if (a.value[OPT_TIMEOUT]) {
		opt->timeout = strtod(a.value[OPT_TIMEOUT], &end);
		if (*end || !(opt->timeout > 0)) {
			nw_cli_fail(u, "--timeout", "'%s' is not a positive number of seconds", a.value[OPT_TIMEOUT]);
			return -1;
		}
	}
	if (a.value[OPT_CASES_PER_BOOT] && nw_cli_number(u, &a, OPT_CASES_PER_BOOT, 1, SIZE_MAX, &n))
		return -1;
	opt->cases_per_boot = (size_t)n;
	return NW_CLI_RUN;
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
	bool probes;
	int rc;

	rc = parse_options(argc, argv, &run.opt);
	if (rc)
		return NW_CLI_EXIT(rc);
	run.backend = nw_hw_backend_find(run.opt.backend);
	if (!run.backend)
		return nw_cli_fail(&nw_usage_hw_run, "--backend",
				   "'%s' is not one of qemu, qemu-svm, kvm, bochs-vmx, qemu-aarch64 or qemu-riscv64",
				   run.opt.backend);
	probes = run.backend->aarch64 || run.backend->riscv64;
	if (probes && (run.opt.trace || run.opt.observed))
		return nw_cli_fail(&nw_usage_hw_run, run.opt.trace ? "--trace" : "--observed",
				   "not with %s: it probes the scenario's translation regime, it does not run a trace",
				   run.backend->name);
	if (!run.opt.image)
		run.opt.image = run.backend->vmx       ? NW_HW_VMX_IMAGE_DEFAULT
				: run.backend->aarch64 ? NW_HW_A64_IMAGE_DEFAULT
				: run.backend->riscv64 ? NW_HW_RV_IMAGE_DEFAULT
						       : NW_HW_IMAGE_DEFAULT;
	if (run.opt.observed && refuse_observed_input(&run.opt))
		return NW_EXIT_BAD_INPUT;
	rc = nw_hw_cmd_check_tools(&run);
	if (rc)
		return rc;
	rc = run.backend->aarch64 ? nw_hw_cmd_a64(&run) : run.backend->riscv64 ? nw_hw_cmd_rv(&run) : nw_hw_cmd_boot(&run);
	if (rc == NW_EXIT_OK && !probes) {
		run.rep.scenario = run.opt.scenario;
		run.rep.backend = run.backend->name;
		run.rep.image = run.opt.image;
		rc = nw_hw_cmd_replay_observed(&run) ? NW_EXIT_BAD_INPUT : NW_EXIT_OK;
	}
	if (rc == NW_EXIT_OK && probes) {
		run.rep.scenario = run.opt.scenario;
		run.rep.backend = run.backend->name;
		run.rep.image = run.opt.image;
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
