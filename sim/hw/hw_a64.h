/* `nestwalk hw run --backend qemu-aarch64` (hw_a64.c): a probe of an aarch64 scenario's stage 2 compiled into a
 * case of the AArch64 image (hw/contract/a64_case.h), and the image's line compared with the library's answer. */
#ifndef NESTWALK_SIM_HW_A64_H
#define NESTWALK_SIM_HW_A64_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <nestwalk/aspace.h>

#include "hw/hw_run.h"

/* What the image must print for a case: the library's answer at the scenario's IPA, in the case's addresses. */
struct nw_hw_a64_expect {
	struct nw_s2_result res;
	uint64_t esr;         /* an abort: ESR_EL2 with the image's instruction syndrome */
	bool has_hpfar;       /* false where the Arm ARM leaves HPFAR_EL2 UNKNOWN */
	uint64_t hpfar;       /* in the scenario's IPA */
	uint64_t pa;          /* a load or store that completes: where it lands in the image's scratch region */
	uint64_t ipa;         /* the scenario's IPA (the case's may have its start-level slot moved off the image's) */
	bool small_ps_level0; /* PS under 44 bits with a level-0 start: a-64-ps40-level0-start applies */
	/* An Address size fault on a 64 KiB-granule leaf's OA[51:48] (bits 15:12): the library's answer with them
	 * clear, which QEMU 7.2 gives (a64-64k-oa-high-ignored) */
	bool has_oa_high;
	struct nw_hw_a64_expect_oa_high {
		struct nw_s2_result res;
		uint64_t esr, hpfar;
		bool has_hpfar;
	} oa_high;
	/* A stage-1 probe (nw_hw_a64_s1_compile): the library's outcome, FAR_EL1 or FAR_EL2 (the VA), and for a
	 * stage-2 fault on a stage-1 table read the Arm level of that table (else -1); esr, has_hpfar, hpfar (in the
	 * case's IPA) and pa as above. */
	bool s1, fetch;
	enum nw_outcome outcome;
	uint64_t far;
	int s1ptw_level;
};

/* One access of a stage-1 probe: its VA, type, Exception level and LDTR/STTR. */
struct nw_hw_a64_probe {
	uint64_t va;
	enum nw_access_type type;
	bool el0, unprivileged;
};

/* NULL, or why a case cannot run under vtcr: bits above 31 a case cannot carry, or HD (bit 22: FEAT_HAFDBS dirty
 * state at stage 2), whose writes the hardware backend has not been checked against. */
const char *nw_hw_a64_vtcr_refusal(uint64_t vtcr);

/* The access of type at ipa as a case (id, in out->head), with out->record and out->access filled by the caller.
 * NULL, or why it cannot run. The stage 2 is edited only for the moment a64-64k-oa-high-ignored's answer takes. */
const char *nw_hw_a64_compile(struct nw_aspace *as, uint64_t vtcr, uint64_t ipa, enum nw_access_type type, uint32_t id,
			      struct nw_hw_case *out, struct nw_hw_a64_expect *expect);

/* The access p of the guest whose stage 1 the scenario's EL1 registers and PSTATE (a) give, over its stage 2
 * (m), as a case with a stage-1 part (hw_a64_s1.c; PAN and UAO as the scenario's PSTATE has them). NULL, or why it
 * cannot run. */
const char *nw_hw_a64_s1_compile(const struct nw_replay_machine *m, const struct nw_scenario_arm64 *a,
				 const struct nw_hw_a64_probe *p, uint32_t id, struct nw_hw_case *out,
				 struct nw_hw_a64_expect *expect);

/* The VAs a stage-1 probe visits (hw_a64_vas.c), at most NW_HW_A64_MAX_VAS, each 8-byte aligned, in order. */
#define NW_HW_A64_MAX_VAS 512
struct nw_hw_a64_vas {
	uint64_t *va;
	size_t count, cap;
};
/* Each run of stage-1 leaves alike of the guest's tables (read through the stage 2 of m): its first VA, last word
 * and the VA past it, and the VA of each of the edges (IPAs) a leaf maps; the first VA past T0SZ; TTBR1_EL1's
 * first VA when EPD1 is 0. v starts empty; free(v->va). */
void nw_hw_a64_collect_vas(const struct nw_replay_machine *m, const struct nw_arm64_s1 *s1, const uint64_t *edges,
			   size_t edge_count, struct nw_hw_a64_vas *v);

/* The CPU's outcome o for case c against the library's e: *deviation the row of hw/DEVIATIONS.md that explains a
 * difference, problem what differs or why the case did not run. */
enum nw_hw_verdict nw_hw_a64_compare(const struct nw_hw_case *c, const struct nw_hw_a64_expect *e,
				     const struct nw_hw_outcome *o, const struct nw_hw_deviation **deviation,
				     char *problem, size_t len);
/* HPFAR_EL2 of a stage-2 abort: the CPU's must be want where the Arm ARM defines it (has); where it leaves it
 * UNKNOWN (a Permission fault on the final access) a value the CPU wrote is the a64-hpfar-permission row's. */
enum nw_hw_verdict nw_hw_a64_hpfar_verdict(bool has, uint64_t want, const struct nw_hw_outcome *o,
					   const struct nw_hw_deviation **deviation, char *problem, size_t len);
/* The part of nw_hw_a64_compare for a stage-1 probe's case. */
enum nw_hw_verdict nw_hw_a64_s1_verdict(const struct nw_hw_a64_expect *e, const struct nw_hw_outcome *o,
					const struct nw_hw_deviation **deviation, char *problem, size_t len);

#endif
