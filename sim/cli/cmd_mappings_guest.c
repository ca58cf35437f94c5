/* `nestwalk mappings SCENARIO --stage guest [--json] [--limit N]` on a scenario's
 * VM or memory dump: the guest stage's mappings merged into ranges
 * (guest_mappings.h). cmd_mappings.c dispatches here. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "replay/guest_mappings.h"
#include "replay/replay.h"

static bool read_machine(void *ctx, uint64_t gpa, uint64_t *value)
{
	const struct nw_replay_machine *m = ctx;
	const uint8_t *bytes;

	if (m->aspace)
		return nw_aspace_read(m->aspace, nw_gpa(gpa), value, sizeof(*value)) == NW_OK;
	bytes = nw_memdump_ptr(m->dump, gpa, sizeof(*value));
	if (!bytes)
		return false;
	memcpy(value, bytes, sizeof(*value)); /* x86 guest memory is little-endian, as this host */
	return true;
}

int nw_guest_mappings_command(const char *scenario_path, bool json, uint64_t limit)
{
	struct nw_guest_range_printer printer;
	struct nw_replay_target target;
	struct nw_guest_walk_stats stats;
	char err[1024];
	int rc;

	if (nw_replay_target_open(scenario_path, &target, err, sizeof(err))) {
		fprintf(stderr, "nestwalk mappings: %s\n", err);
		return NW_EXIT_BAD_INPUT;
	}
	if (target.scenario.arch != NW_SCENARIO_X86_64) {
		fprintf(stderr, "nestwalk mappings: %s: --stage guest lists x86 guest page tables; %s\n", scenario_path,
			target.scenario.arch == NW_SCENARIO_AARCH64
				? "an aarch64 guest's stage 1 is not listed yet (translate --gva walks it)"
				: "a riscv64 guest's VS-stage is not listed yet (translate --gva walks it; "
				  "--stage gstage lists its G-stage)");
		nw_replay_target_close(&target);
		return NW_EXIT_BAD_INPUT;
	}
	nw_guest_range_begin(&printer, stdout, json, limit);
	rc = nw_guest_mappings_visit(&target.machine.cpu, read_machine, &target.machine, nw_guest_range_add, &printer,
				     &stats, err, sizeof(err));
	nw_guest_range_end(&printer, &stats);
	if (rc)
		fprintf(stderr, "nestwalk mappings: %s\n", err);
	if (!rc && stats.unreadable)
		fprintf(stderr, "nestwalk mappings: %" PRIu64 " table entries lie in memory nothing backs (skipped)\n",
			stats.unreadable);
	if (!rc && stats.reserved_xd)
		fprintf(stderr, "nestwalk mappings: %" PRIu64 " paging entries have bit 63 (XD) set while EFER.NXE=0: "
				"a reserved bit, so every access through them faults (not listed)\n", stats.reserved_xd);
	if (!rc && stats.reserved)
		fprintf(stderr, "nestwalk mappings: %" PRIu64 " paging entries have a reserved bit set (above MAXPHYADDR, "
				"PS where it is reserved, a large page's alignment bits): every access through them faults "
				"(not listed)\n", stats.reserved);
	if (nw_replay_target_close(&target) && !rc)
		return NW_EXIT_MISMATCH;
	return rc ? NW_EXIT_BAD_INPUT : NW_EXIT_OK;
}
