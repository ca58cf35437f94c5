/* A scenario's architecture (arch: x86_64, the default, or aarch64) against the keys it gives, checked once
 * every section is read, and an aarch64 scenario's stage 2 made from its keys (scenarios/README.md). */
#ifndef NESTWALK_SIM_SCENARIO_ARM64_H
#define NESTWALK_SIM_SCENARIO_ARM64_H

#include <stddef.h>

#include "scenario/scenario.h"

/* The AArch64 stage-2 keys of a scenario's stage2 section: where the loader puts each value and its position. */
struct nw_scenario_arm64_key {
	const char *name;
	size_t value, pos; /* offsets in struct nw_scenario_arm64 */
};

#define NW_SCENARIO_ARM64_KEYS 5
extern const struct nw_scenario_arm64_key nw_scenario_arm64_keys[NW_SCENARIO_ARM64_KEYS];
/* The cpu section's: SCTLR_EL1, TCR_EL1, TTBR0_EL1, TTBR1_EL1, MAIR_EL1 and PSTATE. */
#define NW_SCENARIO_ARM64_CPU_KEYS 6
extern const struct nw_scenario_arm64_key nw_scenario_arm64_cpu_keys[NW_SCENARIO_ARM64_CPU_KEYS];

/* The key of table (n entries) called name, or NULL. */
const struct nw_scenario_arm64_key *nw_scenario_arm64_key(const struct nw_scenario_arm64_key *table, size_t n,
							  const char *name);

/* 0 with stage2 set for the architecture (an aarch64 scenario: format arm64 and its decoded VTCR_EL2; the
 * edits' table levels), or -1 with "file:line:col: what" in err. */
int nw_scenario_check_arch(struct nw_scenario *sc, char *err, size_t errlen);

#endif
