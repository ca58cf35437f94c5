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
/* --backend qemu-riscv64 (cmd_hw_rv.c): a riscv64 scenario's G-stage and VS-stage probed on the RISC-V image,
 * likewise. */
int nw_hw_cmd_rv(struct nw_hw_cmd *run);

/* What the probe backends share (cmd_hw_probe.c). The probes' addresses, each once, 8-byte aligned, 4096 at
 * most. */
struct nw_hw_probes {
	uint64_t *addr;
	size_t count, cap;
};

/* The scenario opened for a probe backend: NW_EXIT_OK, or NW_EXIT_BAD_INPUT (after a message) when it does not
 * open or is not of arch (enum nw_scenario_arch); a trace it names is said on stderr not to run. */
int nw_hw_probes_open(const struct nw_hw_cmd *run, struct nw_replay_target *t, int arch);
void nw_hw_probes_add(struct nw_hw_probes *p, uint64_t addr);
/* A second stage's probes: each region's first and last 8-byte word, each edit's address, the first address of
 * each run of leaves alike (contiguous, same level, rights, memory type and entry bits alike), and, past not
 * NULL, *past ORed with the first region's base (an address beyond the input size). */
void nw_hw_probes_add_stage2(struct nw_hw_probes *p, const struct nw_scenario *sc, const struct nw_aspace *as,
			     uint64_t alike, const uint64_t *past);
void nw_hw_probes_free(struct nw_hw_probes *p);
/* The access just compiled into run->cases[run->case_count]: counted, and kept to run (why NULL), or reported not
 * run with why; 0, or -1 when out of memory. */
int nw_hw_probes_keep(struct nw_hw_cmd *run, const char *why);
/* Boots the image with run->cases into run->outcomes (allocated here), under QEMU's -cpu cpu (NULL: the
 * backend's); 0, or -1 after a message (with no case to run: each reason not run). */
int nw_hw_probes_boot(struct nw_hw_cmd *run, const char *cpu);
/* Counts a case's verdict into run->rep (problem: why not run, or what differs); false when out of memory. */
bool nw_hw_probes_count(struct nw_hw_cmd *run, const struct nw_hw_case *c, enum nw_hw_verdict verdict,
			const struct nw_hw_deviation *deviation, const char *problem);

#endif
