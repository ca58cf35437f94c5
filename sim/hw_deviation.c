/* The oracle deviations of hw/DEVIATIONS.md that an outcome comparison can
 * meet, one named predicate per row: each says whether the backend's outcome is
 * the simulator's (the SDM's) changed exactly as that row describes. Rows about
 * accessed/dirty flags only are not here: `hw run` compares outcomes, not A/D. */
#include <nestwalk/walk.h>

#include "hw_run.h"

static bool is_qemu_tcg(const struct nw_hw_backend *b)
{
	return b->id == NW_HW_QEMU || b->id == NW_HW_QEMU_SVM;
}

static bool expects(const struct nw_trace_expect *e, enum nw_trace_expect_field field)
{
	return NW_EXPECT_HAS(e, field);
}

/* Row `rsvd-without-p`: QEMU 7.2 TCG reports a reserved-bit #PF without the P
 * bit that §4.7 sets for it. */
static bool is_rsvd_without_p(const struct nw_hw_backend *b, const struct nw_cpu *cpu, const struct nw_trace_access *a,
			      const struct nw_replay_result *sim, const struct nw_trace_expect *obs)
{
	(void)cpu;
	(void)a;
	return is_qemu_tcg(b) && sim->kind == NW_TRACE_OUT_PAGE_FAULT && obs->outcome == NW_TRACE_OUT_PAGE_FAULT &&
	       expects(obs, NW_EXPECT_ERROR_CODE) && (sim->error_code & (NW_PFEC_P | NW_PFEC_RSVD)) ==
	       (NW_PFEC_P | NW_PFEC_RSVD) && obs->error_code == (sim->error_code & ~(uint64_t)NW_PFEC_P);
}

/* Row `smap-implicit-ac`: QEMU 7.2 TCG lets RFLAGS.AC=1 at CPL 0 allow an
 * implicit supervisor access to a user page, which §4.6.1 blocks with SMAP on. */
static bool is_smap_implicit_ac(const struct nw_hw_backend *b, const struct nw_cpu *cpu,
				const struct nw_trace_access *a, const struct nw_replay_result *sim,
				const struct nw_trace_expect *obs)
{
	return b->id == NW_HW_QEMU && a->implicit && a->cpl == 0 && a->ac && (cpu->cr4 & NW_CR4_SMAP) &&
	       sim->kind == NW_TRACE_OUT_PAGE_FAULT && obs->outcome == NW_TRACE_OUT_OK;
}

static const struct nw_hw_deviation deviations[] = {
	{ "rsvd-without-p", "QEMU 7.2 TCG: reserved-bit #PF error code without P", is_rsvd_without_p },
	{ "smap-implicit-ac", "QEMU 7.2 TCG: RFLAGS.AC at CPL 0 allows an implicit access to a user page under SMAP",
	  is_smap_implicit_ac },
};

const struct nw_hw_deviation *nw_hw_deviation_find(const struct nw_hw_backend *b, const struct nw_cpu *cpu,
						   const struct nw_trace_access *a, const struct nw_replay_result *sim,
						   const struct nw_trace_expect *obs)
{
	for (size_t i = 0; i < sizeof(deviations) / sizeof(deviations[0]); i++)
		if (deviations[i].explains(b, cpu, a, sim, obs))
			return &deviations[i];
	return NULL;
}
