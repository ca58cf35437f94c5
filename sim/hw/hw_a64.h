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
};

/* The access of type at ipa as a case (id, in out->head), with out->record and out->access filled by the caller.
 * NULL, or why it cannot run. */
const char *nw_hw_a64_compile(const struct nw_aspace *as, uint64_t vtcr, uint64_t ipa, enum nw_access_type type,
			      uint32_t id, struct nw_hw_case *out, struct nw_hw_a64_expect *expect);

enum nw_hw_a64_verdict {
	NW_HW_A64_MATCH,
	NW_HW_A64_EXPLAINED, /* a row of hw/DEVIATIONS.md (*deviation) */
	NW_HW_A64_MISMATCH,  /* problem says what differs */
	NW_HW_A64_NOT_RUN,   /* problem says why */
};

enum nw_hw_a64_verdict nw_hw_a64_compare(const struct nw_hw_case *c, const struct nw_hw_a64_expect *e,
					 const struct nw_hw_outcome *o, const struct nw_hw_deviation **deviation,
					 char *problem, size_t len);

#endif
