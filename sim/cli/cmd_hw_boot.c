/* Booting the image with the compiled cases for `nestwalk hw run` (cmd_hw.h):
 * the MAXPHYADDR the backend's CPU is expected to have, and one recompile when
 * the image reports another. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cmd_hw.h"

#define QEMU_MAXPHYADDR 40      /* QEMU 7.2's -cpu max (the image prints what it finds; a difference recompiles) */

/* The host's MAXPHYADDR, which KVM's -cpu host passes on; 0 when unknown. */
static unsigned host_maxphyaddr(void)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[512];
	unsigned bits = 0;

	while (f && fgets(line, sizeof(line), f)) {
		const char *colon = strchr(line, ':');

		if (!strncmp(line, "address sizes", 13) && colon && sscanf(colon + 1, "%u", &bits) == 1)
			break;
	}
	if (f)
		fclose(f);
	return bits;
}

static int nothing_runs(const struct nw_hw_cmd *run)
{
	fprintf(stderr, "nestwalk hw run: nothing of %s can run on %s:\n", run->opt.scenario, run->backend->name);
	for (size_t i = 0; i < run->record_count; i++)
		if (run->records[i].rec.kind == NW_TRACE_ACCESS)
			fprintf(stderr, "  record %llu: %s\n", (unsigned long long)run->records[i].record,
				run->records[i].reason);
	return NW_EXIT_BAD_INPUT;
}

int nw_hw_cmd_boot(struct nw_hw_cmd *run)
{
	unsigned maxphy = run->backend->id == NW_HW_KVM && host_maxphyaddr() ? host_maxphyaddr() : QEMU_MAXPHYADDR;

	if (run->backend->vmx)
		maxphy = VMX_MAXPHYADDR;
	for (int attempt = 0;; attempt++) {
		struct nw_hw_boots boots = { .backend = run->backend, .image = run->opt.image,
					     .timeout = run->opt.timeout, .cases_per_boot = run->opt.cases_per_boot };
		int rc = nw_hw_cmd_compile(run, maxphy);

		if (rc)
			return rc;
		if (!run->case_count)
			return nothing_runs(run);
		free(run->outcomes);
		run->outcomes = calloc(run->case_count, sizeof(*run->outcomes));
		if (!run->outcomes) {
			fprintf(stderr, "nestwalk hw run: out of memory\n");
			return NW_EXIT_BAD_INPUT;
		}
		boots.cases = run->cases;
		boots.count = run->case_count;
		boots.outcomes = run->outcomes;
		boots.expect_maxphyaddr = run->backend->vmx ? 0 : maxphy;
		rc = nw_hw_boots_run(&boots);
		if (rc < 0)
			return NW_EXIT_BAD_INPUT;
		if (rc == 0) {
			run->rep.maxphyaddr = maxphy;
			run->rep.boot_seconds = boots.seconds;
			run->rep.boots = boots.boots;
			return 0;
		}
		if (attempt) {
			fprintf(stderr, "nestwalk hw run: the image reports MAXPHYADDR %u, then %u\n", maxphy,
				boots.maxphyaddr);
			return NW_EXIT_BAD_INPUT;
		}
		maxphy = boots.maxphyaddr;
	}
}
