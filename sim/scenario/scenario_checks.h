/* What a loaded scenario asks of its CPU model (cpu.features) and of its second stage, checked as a whole once
 * every section is read: each combination the manuals forbid is refused with the file, line and column. */
#ifndef NESTWALK_SIM_SCENARIO_CHECKS_H
#define NESTWALK_SIM_SCENARIO_CHECKS_H

#include <stddef.h>

#include "scenario/scenario.h"

/* 0, or -1 with "file:line:col: what" in err. */
int nw_scenario_check_features(const struct nw_scenario *sc, char *err, size_t errlen);

#endif
