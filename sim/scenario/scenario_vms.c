/* A scenario's further VMs (vms:, scenarios/README.md): each its own second-stage tables over its own regions, of
 * the scenario's stage2 geometry and switches, on the same simulated host, so that a trace can switch the vCPU
 * or hart between them by VTTBR_EL2 or hgatp. Their regions are checked as the scenario's own are: the same
 * checks run on the scenario seen with that VM's regions. */
#include "scenario/scenario.h"
#include "scenario/scenario_arm64.h"
#include "scenario/scenario_guest.h"

struct nw_scenario nw_scenario_vm_view(const struct nw_scenario *sc, size_t i)
{
	struct nw_scenario view = *sc;

	view.regions = sc->vms[i].regions;
	view.region_count = view.region_cap = sc->vms[i].region_count;
	view.edits = NULL;
	view.edit_count = view.edit_cap = 0;
	view.writes = NULL;
	view.write_count = view.write_cap = 0;
	view.mappings = NULL;
	view.mapping_count = view.mapping_cap = 0;
	view.pt_region_size = 0;
	view.elf_image = view.memory_dump = view.trace = NULL;
	view.vms = NULL;
	view.vm_count = view.vm_cap = 0;
	return view;
}

/* The VMID field's width: VTTBR_EL2.VMID is 8 or 16 bits by VTCR_EL2.VS (Arm ARM D8.13), hgatp.VMID VMIDLEN. */
static unsigned vmid_bits(const struct nw_scenario *sc)
{
	if (sc->arch == NW_SCENARIO_AARCH64)
		return sc->stage2.arm64.vmid16 ? 16 : 8;
	return sc->stage2.riscv.caps.vmid_bits;
}

int nw_scenario_check_vms(const struct nw_scenario *sc, char *err, size_t errlen)
{
	if (!sc->vm_count)
		return 0;
	/* An x86_64 trace names an EPTP only in INVEPT: no record loads another one, so a further VM could not
	 * be run. */
	if (sc->arch == NW_SCENARIO_X86_64)
		return nw_scenario_fail(sc, sc->vms_pos, err, errlen,
					"vms: further VMs are for aarch64 and riscv64 scenarios, whose traces switch "
					"VMs by VTTBR_EL2 or hgatp; an x86_64 trace has no record that loads an EPTP");
	if (sc->memory_dump)
		return nw_scenario_fail(sc, sc->vms_pos, err, errlen,
					"vms: a memory dump is one guest's memory without a second stage: give one or "
					"the other");
	for (size_t i = 0; i < sc->vm_count; i++) {
		const struct nw_scenario_vm *vm = &sc->vms[i];
		struct nw_scenario view;

		if (vm->vmid >> vmid_bits(sc))
			return nw_scenario_fail(sc, vm->vmid_pos, err, errlen, "vmid: %llu does not fit %s (%u bits)",
						(unsigned long long)vm->vmid,
						sc->arch == NW_SCENARIO_AARCH64 ? "VTTBR_EL2.VMID" : "hgatp.VMID",
						vmid_bits(sc));
		view = nw_scenario_vm_view(sc, i);
		if (nw_scenario_check_arch(&view, err, errlen))
			return -1;
	}
	return 0;
}
