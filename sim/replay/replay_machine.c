/* The machine a scenario describes, for every command that reads one
 * (translate, mappings, replay, hw run): its VM on simulated memory, or a
 * QEMU memory dump (replay.h). One path, so a scenario means one thing. */
#include <stdio.h>
#include <string.h>

#include <nestwalk/arm64_s2.h>

#include "replay/replay.h"
#include "scenario/elf_image.h"

/* What a dump replaces: guest memory and its second stage come from the dump alone (and it is read in
 * place, not on a simulated host), so contents, regions or options given beside it would be dropped unseen. */
static const char *dump_conflict(const struct nw_scenario *sc)
{
	if (sc->stage2_pos.line)
		return "a stage2 (ept) section";
	if (sc->host_pos.line)
		return "a host section";
	if (sc->region_count)
		return "memory_regions";
	if (sc->edit_count)
		return "stage2.edits";
	if (sc->write_count)
		return "guest.writes";
	if (sc->mapping_count || sc->pt_region_size)
		return "guest.mappings";
	if (sc->elf_image)
		return "guest.elf_image";
	return NULL;
}

static int open_dump(struct nw_replay_target *t, char *err, size_t errlen)
{
	const struct nw_scenario *sc = &t->scenario;
	const char *conflict = dump_conflict(sc);
	char path[4096], inner[512];

	if (conflict) {
		snprintf(err, errlen, "%s:%d:%d: memory_dump: the dump is the guest's whole memory, so %s cannot "
			 "apply to it: give one or the other", sc->file, sc->memory_dump_pos.line,
			 sc->memory_dump_pos.column, conflict);
		return -1;
	}
	if (nw_scenario_file_path(sc, sc->memory_dump, path, sizeof(path)) ||
	    nw_memdump_open(path, &t->dump, inner, sizeof(inner))) {
		snprintf(err, errlen, "%s:%d:%d: memory_dump: %s", sc->file, sc->memory_dump_pos.line,
			 sc->memory_dump_pos.column, inner);
		return -1;
	}
	t->has_dump = true;
	if (t->dump.warning[0])
		fprintf(stderr, "nestwalk: warning: %s\n", t->dump.warning);
	t->machine = (struct nw_replay_machine){ .hal = &t->dump.hal, .stage2 = { .kind = NW_STAGE2_NONE },
						 .dump = &t->dump };
	nw_machine_cpu_of_dump(sc, &t->dump, &t->machine.cpu, &t->regs);
	nw_machine_cpu_warn(sc, &t->dump, &t->machine.cpu, &t->regs);
	return 0;
}

int nw_replay_target_open(const char *scenario_path, struct nw_replay_target *t, char *err, size_t errlen)
{
	*t = (struct nw_replay_target){ 0 };
	if (nw_scenario_load(scenario_path, &t->scenario, err, errlen)) {
		nw_scenario_free(&t->scenario);
		return -1;
	}
	if (t->scenario.memory_dump) {
		if (open_dump(t, err, errlen)) {
			nw_scenario_free(&t->scenario);
			return -1;
		}
		return 0;
	}
	if (nw_vm_build(&t->scenario, &t->vm, err, errlen)) {
		nw_scenario_free(&t->scenario);
		return -1;
	}
	t->has_vm = true;
	t->machine = (struct nw_replay_machine){ .hal = t->vm.hal, .window = nw_simmem_window(t->vm.sim),
						 .stage2 = *nw_aspace_stage2(&t->vm.aspace),
						 .aspace = &t->vm.aspace, .cpu = t->vm.cpu, .vms = t->vm.vms,
						 .vm_count = t->vm.vm_count };
	if (t->vm.aspace.config.format == NW_STAGE2_EPT)
		t->machine.eptp = nw_ept_eptp(&t->vm.aspace.ept);
	if (t->scenario.arch == NW_SCENARIO_AARCH64) {
		t->machine.arch = NW_TRACE_ARCH_AARCH64;
		t->machine.vtcr = t->scenario.arm64.vtcr;
		t->machine.el1 = (struct nw_arm64_el1_regs){ t->scenario.arm64.sctlr_el1, t->scenario.arm64.tcr_el1,
							     t->scenario.arm64.ttbr0_el1, t->scenario.arm64.ttbr1_el1,
							     t->scenario.arm64.mair_el1 };
		t->machine.pstate = (t->scenario.arm64.el0 ? 0 : UINT64_C(1) << 2) |
				    (t->scenario.arm64.pan ? NW_TRACE_PSTATE_PAN : 0) |
				    (t->scenario.arm64.uao ? NW_TRACE_PSTATE_UAO : 0);
		/* The loader checked the VMID against VTCR_EL2.VS. */
		if (nw_arm64_s2_vttbr(t->machine.stage2.arm64, (unsigned)t->scenario.vmid, &t->machine.vttbr) !=
		    NW_OK) {
			snprintf(err, errlen, "%s: vmid %llu does not fit VTTBR_EL2", scenario_path,
				 (unsigned long long)t->scenario.vmid);
			nw_replay_target_close(t);
			return -1;
		}
	}
	/* Its traces are riscv64 ones: a trace of another architecture is refused as such, not as one of x86_64. */
	if (t->scenario.arch == NW_SCENARIO_RISCV64) {
		t->machine.arch = NW_TRACE_ARCH_RISCV64;
		t->machine.rv = t->scenario.riscv.vs;
		if (nw_rv_gstage_hgatp(t->machine.stage2.riscv, (unsigned)t->scenario.vmid, &t->machine.hgatp) !=
		    NW_OK) {
			snprintf(err, errlen, "%s: vmid %llu does not fit hgatp", scenario_path,
				 (unsigned long long)t->scenario.vmid);
			nw_replay_target_close(t);
			return -1;
		}
	}
	nw_machine_cpu_of_vm(&t->scenario, &t->machine.cpu, &t->regs);
	nw_machine_cpu_warn(&t->scenario, NULL, &t->machine.cpu, &t->regs);
	return 0;
}

struct nw_aspace *nw_replay_machine_vm(const struct nw_replay_machine *m, size_t i)
{
	if (!m->aspace || i > m->vm_count)
		return NULL;
	return i ? &m->vms[i - 1] : m->aspace;
}

uint64_t nw_replay_target_close(struct nw_replay_target *t)
{
	uint64_t leaked = 0;

	if (t->has_vm)
		leaked = nw_vm_destroy(&t->scenario, &t->vm);
	if (t->has_dump)
		nw_memdump_close(&t->dump);
	nw_scenario_free(&t->scenario);
	*t = (struct nw_replay_target){ 0 };
	return leaked;
}
