/* `nestwalk hw run` (cmd_hw.c) in its parts, each one job: the options and
 * the command itself (cmd_hw.c), what a backend needs on the host
 * (cmd_hw_tools.c), pass 1, compiling the scenario's accesses into cases
 * (cmd_hw_compile.c), booting the image with them (cmd_hw_boot.c), and pass 2,
 * the observed trace replayed by the simulator (cmd_hw_observed.c). */
#ifndef NESTWALK_SIM_CMD_HW_H
#define NESTWALK_SIM_CMD_HW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hw/hw_run.h"

struct nw_hw_cmd_options {
	const char *scenario, *trace, *image, *observed, *backend;
	bool json;
	double timeout;
	size_t cases_per_boot; /* 0: as many as fit (NW_HW_BOOT_BLOB_MAX) */
};

/* A record of the scenario's trace, kept for the observed trace; an access
 * names its case or why it does not run. */
struct nw_hw_cmd_record {
	struct nw_trace_record rec;
	uint8_t *data;    /* a guest-physical write's bytes */
	uint64_t record;  /* 1-based, in the scenario's trace */
	long case_index;  /* -1: not run */
	char reason[256];
};

struct nw_hw_cmd {
	struct nw_hw_cmd_options opt;
	const struct nw_hw_backend *backend;
	char trace_path[4096];
	unsigned trace_version; /* the trace's format version: the observed trace is written in it */
	struct nw_hw_cmd_record *records;
	size_t record_count, record_cap;
	struct nw_hw_case *cases;
	size_t case_count, case_cap;
	struct nw_hw_outcome *outcomes;
	struct nw_hw_report rep;
};

/* The emulators and files the backend needs: 0, NW_EXIT_BAD_INPUT, or 77 for kvm without /dev/kvm (messages on
 * stderr). */
int nw_hw_cmd_check_tools(const struct nw_hw_cmd *run);
/* Pass 1: the scenario's trace applied in order to its machine, each access compiled at the state it meets. */
int nw_hw_cmd_compile(struct nw_hw_cmd *run, unsigned maxphyaddr);
/* The simulator models the backend's CPU where the scenario's has more. */
void nw_hw_cmd_model_backend(const struct nw_hw_cmd *run, struct nw_replay_target *t);
void nw_hw_cmd_free_records(struct nw_hw_cmd *run);
/* Compiles and runs the cases; compiles again once when the image reports another MAXPHYADDR. */
int nw_hw_cmd_boot(struct nw_hw_cmd *run);
/* Pass 2: the observed trace, written and replayed by the simulator; 0 or -1 (message on stderr). */
int nw_hw_cmd_replay_observed(struct nw_hw_cmd *run);
/* --backend qemu-aarch64 (cmd_hw_a64.c): an aarch64 scenario's stage 2 probed on the AArch64 image and compared
 * with the library, into run->rep; NW_EXIT_OK or NW_EXIT_BAD_INPUT (message on stderr). */
int nw_hw_cmd_a64(struct nw_hw_cmd *run);

#endif
