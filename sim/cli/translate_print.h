/* What `translate` prints for one answer, shared by the commands that stop at the same outcomes (`read`):
 * a guest-virtual access as replay translates it, and a guest-physical one through the second stage alone
 * (cmd_translate.c). */
#ifndef NESTWALK_SIM_TRANSLATE_PRINT_H
#define NESTWALK_SIM_TRANSLATE_PRINT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <nestwalk/aspace.h>

#include "replay/replay.h"

/* A guest-virtual access's JSON object (docs/json.md, translate-gva) for size bytes, with more (", \"key\":
 * value" members) before its closing brace; top: a top-level object, with its schema. */
void nw_access_print_json(FILE *out, const struct nw_replay_result *res, uint64_t size, bool top, const char *more);
/* Its text: the walk (explain: every reference) or the outcome, and the exit it became. */
void nw_access_print_text(FILE *out, const struct nw_replay_result *res, bool explain);

/* A guest-physical access: where its answer goes and how. */
struct nw_gpa_query {
	FILE *out;
	uint64_t gpa;
	enum nw_access_type access;
	bool json, top; /* top: a top-level JSON object, with its schema */
};

/* Through the second stage, a lazy page populated and retried as the hypervisor would: 0 with *res (translated
 * or faulted), 1 with *exit when the address space turns the violation into an MMIO or ROM-write exit, -1
 * with err when populating failed. */
int nw_gpa_translate(struct nw_aspace *aspace, uint64_t gpa, enum nw_access_type type, uint64_t size,
		     struct nw_s2_result *res, struct nw_aspace_exit *exit, bool *populated, char *err, size_t errlen);
/* The answer as text or one JSON object (docs/json.md, translate-gpa), one line. */
void nw_gpa_print_result(const struct nw_gpa_query *q, const struct nw_aspace *aspace, const struct nw_s2_result *res,
			 bool populated);
/* The outcome a second-stage fault of format is (docs/json.md): stage2_abort, guest_page_fault, access_fault,
 * ept_misconfig, npf or ept_violation. */
const char *nw_gpa_fault_outcome(enum nw_stage2_kind format, const struct nw_s2_result *res);
/* nw_gpa_print_result's answer on an AArch64 stage 2 (translate_arm64.c), fwb HCR_EL2.FWB's. */
void nw_gpa_print_arm64(const struct nw_gpa_query *q, const struct nw_s2_result *res, bool populated, bool fwb);
/* nw_gpa_print_result's answer on a RISC-V G-stage (translate_riscv.c). */
void nw_gpa_print_riscv(const struct nw_gpa_query *q, const struct nw_s2_result *res, bool populated);
/* Svpbmt's PBMT names: pma, nc, io, reserved (without menvcfg.PBMTE the bits are reserved, so a translation's
 * are pma). */
const char *nw_rv_pbmt_name(unsigned pbmt);

/* A guest-virtual access on an aarch64 scenario (translate_arm64_gva.c): the stage-1 walk under the scenario's EL1
 * registers and PSTATE (el0 the Exception level asked), text or one JSON object (docs/json.md,
 * translate-gva-aarch64). */
struct nw_gva_arm64_query {
	FILE *out;
	const struct nw_scenario *scenario;
	uint64_t gva, size;
	enum nw_access_type access;
	bool el0, unprivileged, json, explain;
};

/* One guest walk of an architecture's own walker over its hart state (walk: nw_arm64_walk, nw_rv_vs_walk behind
 * a cast-free wrapper) with NW_WALK_RECORD; while retry(res) says its second-stage fault may be one the address
 * space resolves, the fault is resolved as the hypervisor would: a lazy page populated and the walk run again (at
 * most max_retries times), an MMIO or ROM exit left in *exit (kind VIOLATION when none was asked). */
struct nw_gva_walker {
	void (*walk)(const struct nw_walk_config *config, const void *cpu, const struct nw_access *access,
		     unsigned flags, struct nw_walk_result *res);
	bool (*retry)(const struct nw_walk_result *res);
	const void *cpu;
};
void nw_gva_walk(const struct nw_replay_target *t, const struct nw_gva_walker *w, const struct nw_access *access,
		 struct nw_walk_result *res, struct nw_aspace_exit *exit);
/* What the access gave, as translate and replay name it: the walk's outcome, or for its second-stage fault
 * (s2_fault: stage2_abort, guest_page_fault) on the final access the exit the address space made of it, or
 * no_memory. */
const char *nw_gva_outcome(const struct nw_walk_result *res, const struct nw_aspace_exit *exit,
			   enum nw_outcome s2_fault);
/* NW_EXIT_OK, or NW_EXIT_MISMATCH with a warning when the simulated host had no frame for a lazy page. */
int nw_gva_exit_status(const struct nw_aspace_exit *exit);

/* Each cpu register of the scenario's architecture, its value and whether the scenario gave it: JSON members
 * (", \"registers\": {...}"), or one text line. */
void nw_gva_print_registers(FILE *out, const struct nw_scenario *sc, bool json);

/* A guest-virtual access on a riscv64 scenario (translate_riscv_gva.c): the VS-stage walk under the scenario's
 * vsatp, vsstatus, henvcfg and privilege, text or one JSON object (docs/json.md, translate-gva-riscv64). */
struct nw_gva_riscv_query {
	FILE *out;
	const struct nw_scenario *scenario;
	uint64_t gva, size;
	enum nw_access_type access;
	bool json;
};
int nw_gva_translate_riscv(const struct nw_gva_riscv_query *q, const struct nw_replay_target *t);

/* Prints the answer; NW_EXIT_OK, or NW_EXIT_MISMATCH when the simulated host had no frame for a lazy page. */
int nw_gva_translate_arm64(const struct nw_gva_arm64_query *q, const struct nw_replay_target *t);
void nw_gpa_print_exit(const struct nw_gpa_query *q, const struct nw_aspace_exit *exit, bool populated);

#endif
