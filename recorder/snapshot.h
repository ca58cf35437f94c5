/* A snapshot of guest RAM as an ELF core of the kind QEMU's dump-guest-memory
 * writes and the memory-dump loader reads (sim/scenario/memdump.c): one
 * PT_LOAD per contiguous guest-physical range of RAM (below 4 GiB from 0, the
 * rest from 4 GiB), its p_paddr the guest-physical address. It is read
 * through the memfd mapping of guest RAM (ram_map.h); pages of zeros are left
 * as holes in the file, which read as zeros. */
#ifndef NESTWALK_RECORDER_SNAPSHOT_H
#define NESTWALK_RECORDER_SNAPSHOT_H

#include <stddef.h>

#include "cpu_log.h"
#include "gpa.h"
#include "ram_map.h"

/* Writes the snapshot at path (a temporary file renamed there once complete); 0, or -1 with err set and
 * nothing left. */
int nw_snapshot_write(const char *path, const struct nw_ram_map *map, const struct nw_recorder_layout *layout,
		      char *err, size_t errlen);

/* The scenario that replays trace from the snapshot: guest.memory_dump, the registers at the trigger as cpu, and
 * the trace, both files by absolute path (a scenario's relative paths start at its own folder). 0, or -1 with err
 * set and nothing left. */
int nw_snapshot_scenario_write(const char *path, const char *snapshot, const char *trace,
			       const struct nw_recorder_regs *regs, char *err, size_t errlen);

#endif
