/* The architecture keys of the stage2 and cpu sections (scenario_keys.h). */
#include <string.h>

#include "scenario/scenario_guest.h"
#include "scenario/scenario_keys.h"

#define X86 NW_SCENARIO_ARCH_BIT(NW_SCENARIO_X86_64)
#define A64 NW_SCENARIO_ARCH_BIT(NW_SCENARIO_AARCH64)
#define RV NW_SCENARIO_ARCH_BIT(NW_SCENARIO_RISCV64)

#define KEY(name, field, owner, arches, text, flag) \
	{ \
		name, owner, text, offsetof(struct nw_scenario, field), offsetof(struct nw_scenario, field##_pos), \
			arches, flag, NULL \
	}
#define EPT_KEY(name, pos) \
	{ \
		name, "an EPT/NPT", "x86_64", 0, offsetof(struct nw_scenario, pos), X86, false, NULL \
	}
#define A64_S2(key) KEY(#key, arm64.key, "an AArch64 stage-2", A64, "aarch64", false)
#define A64_CPU(key) KEY(#key, arm64.key, "an AArch64 cpu", A64, "aarch64", false)
#define RV_S2(key, flag) KEY(#key, riscv.key, "a RISC-V G-stage", RV, "riscv64", flag)

const struct nw_scenario_key nw_scenario_stage2_keys[NW_SCENARIO_STAGE2_KEYS] = {
	EPT_KEY("levels", levels_pos),
	EPT_KEY("accessed_dirty", ad_pos),
	EPT_KEY("memory_type", memory_type_pos),
	EPT_KEY("mode_based_execute", mbec_pos),
	A64_S2(vtcr),
	A64_S2(ipa_bits),
	A64_S2(granule),
	A64_S2(start_level),
	KEY("fwb", arm64.fwb, "an AArch64 stage-2", A64, "aarch64", true),
	KEY("vmid", vmid, "an AArch64 or RISC-V stage-2", A64 | RV, "aarch64 or riscv64", false),
	RV_S2(hgatp, false),
	RV_S2(adue, true),
	RV_S2(pbmt, true),
	RV_S2(napot, true),
	RV_S2(hs_mxr, true),
};

const char *const nw_scenario_rv_privileges[] = { "vs", "vu", NULL };

const struct nw_scenario_key nw_scenario_cpu_keys[NW_SCENARIO_CPU_KEYS] = {
	A64_CPU(sctlr_el1),
	A64_CPU(tcr_el1),
	A64_CPU(ttbr0_el1),
	A64_CPU(ttbr1_el1),
	A64_CPU(mair_el1),
	A64_CPU(pstate),
	KEY("vsatp", riscv.vsatp, "a RISC-V cpu", RV, "riscv64", false),
	KEY("vsstatus", riscv.vsstatus, "a RISC-V cpu", RV, "riscv64", false),
	KEY("henvcfg", riscv.henvcfg, "a RISC-V cpu", RV, "riscv64", false),
	{ "privilege", "a RISC-V cpu", "riscv64", offsetof(struct nw_scenario, riscv.privilege),
	  offsetof(struct nw_scenario, riscv.privilege_pos), RV, false, nw_scenario_rv_privileges },
};

const struct nw_scenario_key *nw_scenario_key_find(const struct nw_scenario_key *table, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (table[i].value && !strcmp(table[i].name, name))
			return &table[i];
	return NULL;
}

const char *nw_scenario_arch_name(int arch)
{
	static const char *const names[] = {
		[NW_SCENARIO_X86_64] = "x86_64", [NW_SCENARIO_AARCH64] = "aarch64", [NW_SCENARIO_RISCV64] = "riscv64"
	};

	return names[arch];
}

static int refuse_other(struct nw_scenario *sc, const struct nw_scenario_key *table, size_t n, char *err, size_t errlen)
{
	for (size_t i = 0; i < n; i++) {
		struct nw_scenario_pos pos;

		memcpy(&pos, (const char *)sc + table[i].pos, sizeof(pos));
		if (pos.line && !(table[i].arches & NW_SCENARIO_ARCH_BIT(sc->arch)))
			return nw_scenario_fail(sc, pos, err, errlen,
						"%s: %s key, and the scenario is %s (give arch: %s)", table[i].name,
						table[i].owner, nw_scenario_arch_name(sc->arch), table[i].arches_text);
	}
	return 0;
}

int nw_scenario_check_keys(struct nw_scenario *sc, char *err, size_t errlen)
{
	if (refuse_other(sc, nw_scenario_stage2_keys, NW_SCENARIO_STAGE2_KEYS, err, errlen) ||
	    refuse_other(sc, nw_scenario_cpu_keys, NW_SCENARIO_CPU_KEYS, err, errlen))
		return -1;
	if (sc->arch == NW_SCENARIO_RISCV64)
		return 0;
	if (sc->riscv.pmp_pos.line || sc->riscv.mseccfg_pos.line)
		return nw_scenario_fail(sc, sc->riscv.pmp_pos.line ? sc->riscv.pmp_pos : sc->riscv.mseccfg_pos, err,
					errlen,
					"%s: the PMP of a RISC-V hart's M-mode, and the scenario is %s (give arch: "
					"riscv64)",
					sc->riscv.pmp_pos.line ? "pmp" : "mseccfg", nw_scenario_arch_name(sc->arch));
	return 0;
}
