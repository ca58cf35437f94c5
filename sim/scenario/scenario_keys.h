/* The keys of a scenario's stage2 and cpu sections that belong to some architectures only, in one table per
 * section: where the loader puts each value and its position, which architectures take it, and whether it is
 * true/false. Once arch is known, a key of another architecture is refused at its line (nw_scenario_check_keys). */
#ifndef NESTWALK_SIM_SCENARIO_KEYS_H
#define NESTWALK_SIM_SCENARIO_KEYS_H

#include <stdbool.h>
#include <stddef.h>

#include "scenario/scenario.h"

#define NW_SCENARIO_ARCH_BIT(arch) (1u << (arch))

struct nw_scenario_key {
	const char *name;
	const char *owner;       /* for messages: "an AArch64 stage-2" */
	const char *arches_text; /* the arch: values that take it */
	size_t value, pos; /* offsets in struct nw_scenario; value 0: the section's own code loads it (EPT/NPT keys) */
	unsigned arches;   /* NW_SCENARIO_ARCH_BIT of each architecture that takes it */
	bool flag;         /* true or false, stored as 1 or 0 */
	const char *const *choices; /* one of these names (NULL-terminated), stored as its index; NULL: a number */
};

#define NW_SCENARIO_STAGE2_KEYS 15
extern const struct nw_scenario_key nw_scenario_stage2_keys[NW_SCENARIO_STAGE2_KEYS];
#define NW_SCENARIO_CPU_KEYS 10
extern const struct nw_scenario_key nw_scenario_cpu_keys[NW_SCENARIO_CPU_KEYS];

/* privilege's values: VS-mode (0) or VU-mode (1). */
extern const char *const nw_scenario_rv_privileges[];

/* The key of table (n entries) called name and loaded by the table (value set), or NULL. */
const struct nw_scenario_key *nw_scenario_key_find(const struct nw_scenario_key *table, size_t n, const char *name);
/* "x86_64", "aarch64" or "riscv64". */
const char *nw_scenario_arch_name(int arch);
/* 0, or -1 refused at the first key given that the scenario's architecture does not take. */
int nw_scenario_check_keys(struct nw_scenario *sc, char *err, size_t errlen);

#endif
