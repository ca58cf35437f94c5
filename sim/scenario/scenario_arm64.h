/* A scenario's architecture (arch: x86_64, the default, aarch64 or riscv64) against the keys it gives, checked once
 * every section is read, and an aarch64 or riscv64 scenario's second stage made from its keys (scenarios/README.md). */
#ifndef NESTWALK_SIM_SCENARIO_ARM64_H
#define NESTWALK_SIM_SCENARIO_ARM64_H

#include "scenario/scenario.h"

/* What an aarch64 or riscv64 scenario cannot have yet (guest.mappings, page_table_region, elf_image, memory_dump,
 * trace: x86 machines'): 0, or -1 refused at the first given. */
int nw_scenario_check_guest_writes(struct nw_scenario *sc, char *err, size_t errlen);
/* A riscv64 scenario's G-stage (scenario_riscv.c), as nw_scenario_check_arch. */
int nw_scenario_check_riscv(struct nw_scenario *sc, char *err, size_t errlen);

/* 0 with stage2 set for the architecture (an aarch64 scenario: format arm64 and its decoded VTCR_EL2; a riscv64
 * one: the G-stage's configuration; the edits' table levels), or -1 with "file:line:col: what" in err. */
int nw_scenario_check_arch(struct nw_scenario *sc, char *err, size_t errlen);

#endif
