/* Building a scenario's guest page tables: the `guest.mappings` entries are
 * mapped with the table engine (pt_build.h) into guest-physical memory taken
 * from `guest.page_table_region`, and CR3 is pointed at the root. */
#ifndef NESTWALK_SIM_SCENARIO_GUEST_H
#define NESTWALK_SIM_SCENARIO_GUEST_H

#include <stddef.h>

#include "scenario/scenario.h"

/* 0 on success (nothing to do without mappings); -1 with file:line:col in err. */
/* Writes "file:line:col: " and the message to err for what is wrong at pos;
 * returns -1, so a caller can return it. Shared by the VM and guest builders. */
__attribute__((format(printf, 5, 6))) int nw_scenario_fail(const struct nw_scenario *sc, struct nw_scenario_pos pos,
							    char *err, size_t errlen, const char *fmt, ...);

int nw_scenario_build_guest(const struct nw_scenario *scenario, struct nw_vm *vm, char *err, size_t errlen);

#endif
