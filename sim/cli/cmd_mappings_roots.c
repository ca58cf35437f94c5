/* `nestwalk mappings SCENARIO --roots [--json]` (cmd_mappings.c dispatches here): each of the scenario's VMs
 * (0 its own, then its vms: in order) with the host address of its second-stage root table and the register value
 * that names it: VTTBR_EL2 with the VM's VMID, hgatp with its MODE and VMID, the EPTP. The simulated host places
 * the tables (host.seed decides where), so this is how a trace learns the value its register writes must hold. */
#include <inttypes.h>
#include <stdio.h>

#include <nestwalk/arm64_s2.h>
#include <nestwalk/ept.h>
#include <nestwalk/npt.h>
#include <nestwalk/riscv_gstage.h>

#include "cli/cli.h"
#include "io/json_out.h"
#include "replay/replay.h"

struct root {
	uint64_t vmid, root, value;
	const char *reg; /* the register that names the root: vttbr_el2, hgatp, eptp or ncr3 */
	bool has_vmid;
};

/* false when the VMID does not fit the register, which the scenario loader refuses first. */
static bool root_of(const struct nw_replay_target *t, size_t i, struct root *out)
{
	const struct nw_aspace *as = nw_replay_machine_vm(&t->machine, i);
	const struct nw_stage2 *s2 = nw_aspace_stage2(as);
	uint64_t vmid = i ? t->scenario.vms[i - 1].vmid : t->scenario.vmid;
	struct root r = { .vmid = vmid, .has_vmid = true };
	bool fits = true;

	switch (s2->kind) {
	case NW_STAGE2_ARM64:
		r.root = nw_arm64_s2_root(s2->arm64).val;
		r.reg = "vttbr_el2";
		fits = nw_arm64_s2_vttbr(s2->arm64, (unsigned)vmid, &r.value) == NW_OK;
		break;
	case NW_STAGE2_RISCV:
		r.root = nw_rv_gstage_root(s2->riscv).val;
		r.reg = "hgatp";
		fits = nw_rv_gstage_hgatp(s2->riscv, (unsigned)vmid, &r.value) == NW_OK;
		break;
	case NW_STAGE2_EPT:
		r = (struct root){ .root = nw_ept_root(s2->ept).val, .value = nw_ept_eptp(s2->ept), .reg = "eptp" };
		break;
	default: /* NPT: nCR3 is the root's address and PWT/PCD */
		r = (struct root){ .root = nw_npt_ncr3(s2->npt), .value = nw_npt_ncr3(s2->npt), .reg = "ncr3" };
		break;
	}
	*out = r;
	return fits;
}

int nw_mappings_roots_command(const char *path, bool json)
{
	struct nw_replay_target target;
	uint64_t leaked;
	char err[1024];

	if (nw_replay_target_open(path, &target, err, sizeof(err))) {
		fprintf(stderr, "nestwalk mappings: %s\n", err);
		return NW_EXIT_BAD_INPUT;
	}
	if (!target.machine.aspace || target.machine.aspace->config.format == NW_STAGE2_NONE) {
		fprintf(stderr, "nestwalk mappings: %s: --roots: %s, so there is no second-stage root\n", path,
			target.machine.aspace ? "stage2.format is none" : "a memory dump has no second stage");
		nw_replay_target_close(&target);
		return NW_EXIT_BAD_INPUT;
	}
	if (json)
		printf("{" NW_JSON_SCHEMA_MEMBER "\"roots\": [");
	else
		printf("%-3s %-6s %-18s %s\n", "vm", "vmid", "root", "register");
	for (size_t i = 0; nw_replay_machine_vm(&target.machine, i); i++) {
		struct root r;

		if (!root_of(&target, i, &r)) {
			fprintf(stderr, "nestwalk mappings: %s: VM %zu: VMID %" PRIu64 " does not fit its register\n",
				path, i, r.vmid);
			nw_replay_target_close(&target);
			return NW_EXIT_BAD_INPUT;
		}
		if (json) {
			printf("%s\n  {\"vm\": %zu, \"root\": \"0x%" PRIx64 "\"", i ? "," : "", i, r.root);
			if (r.has_vmid)
				printf(", \"vmid\": %" PRIu64, r.vmid);
			printf(", \"%s\": \"0x%" PRIx64 "\"", r.reg, r.value);
			printf("}");
			continue;
		}
		if (r.has_vmid)
			snprintf(err, sizeof(err), "%" PRIu64, r.vmid);
		printf("%-3zu %-6s 0x%016" PRIx64 " %s=0x%" PRIx64 "\n", i, r.has_vmid ? err : "-", r.root, r.reg,
		       r.value);
	}
	if (json)
		printf("\n]}\n");
	leaked = nw_replay_target_close(&target);
	return leaked ? NW_EXIT_MISMATCH : NW_EXIT_OK;
}
