/* The oracle deviations of hw/DEVIATIONS.md that an outcome comparison can
 * meet, one named predicate per row: each says whether the backend's outcome is
 * the simulator's (the SDM's) changed exactly as that row describes. Rows a
 * `hw run` never meets are not here: `gb-leaf-accessed-early` is about A/D
 * flags only (hw run compares outcomes), `pae-pdpte-walked` needs a PAE PDPT
 * page restricted in the nested tables (the compiler leaves that page alone:
 * the walk uses the PDPTE registers), `pse36-above-maxphyaddr` needs QEMU with
 * phys-bits=36 (hw run uses -cpu max). */
#include <nestwalk/ept.h>
#include <nestwalk/walk.h>

#include "hw/hw_run.h"

static bool is_qemu_tcg(const struct nw_hw_backend *b)
{
	return b->id == NW_HW_QEMU || b->id == NW_HW_QEMU_SVM;
}

static bool sim_is(const struct nw_hw_deviation_ctx *x, enum nw_trace_outcome kind)
{
	return x->sim->kind == (unsigned)kind;
}

static bool observed_is(const struct nw_hw_deviation_ctx *x, enum nw_trace_outcome kind)
{
	return x->observed->outcome == kind;
}

/* Whether the scenario's EPT has accessed/dirty flags on (want) or off. */
static bool has_ept_ad(const struct nw_hw_deviation_ctx *x, bool want)
{
	return x->stage2->kind == NW_STAGE2_EPT && x->stage2->ept->config.ad == want;
}

/* Row `rsvd-without-p`: QEMU 7.2 TCG reports a reserved-bit fault without the
 * P bit that §4.7 sets for it, in a #PF error code and (its nested walk shares
 * the code; tests/hw/sdm_model.py applies the row there too) in a #NPF's EXITINFO1. */
static bool is_rsvd_without_p(const struct nw_hw_deviation_ctx *x)
{
	uint64_t sim = x->sim->error_code;
	bool same_kind = (sim_is(x, NW_TRACE_OUT_PAGE_FAULT) && observed_is(x, NW_TRACE_OUT_PAGE_FAULT)) ||
			 (sim_is(x, NW_TRACE_OUT_NPF) && observed_is(x, NW_TRACE_OUT_NPF) &&
			  x->observed->fault_gpa.val == x->sim->fault_gpa);

	return is_qemu_tcg(x->backend) && same_kind && NW_EXPECT_HAS(x->observed, NW_EXPECT_ERROR_CODE) &&
	       (sim & (NW_PFEC_P | NW_PFEC_RSVD)) == (NW_PFEC_P | NW_PFEC_RSVD) &&
	       x->observed->error_code == (sim & ~(uint64_t)NW_PFEC_P);
}

/* An implicit supervisor read of a user page under SMAP with RFLAGS.AC = 1:
 * §4.6.1 blocks it whatever AC; the simulator says #PF, the backend let it through. */
static bool is_implicit_smap_with_ac_allowed(const struct nw_hw_deviation_ctx *x)
{
	return x->access->implicit && x->access->ac && (x->cpu->cr4 & NW_CR4_SMAP) &&
	       sim_is(x, NW_TRACE_OUT_PAGE_FAULT) && observed_is(x, NW_TRACE_OUT_OK);
}

/* Row `smap-implicit-ac`: QEMU 7.2 TCG, at CPL 0 only. */
static bool is_smap_implicit_ac(const struct nw_hw_deviation_ctx *x)
{
	return x->backend->id == NW_HW_QEMU && x->access->cpl == 0 && is_implicit_smap_with_ac_allowed(x);
}

/* Row `bochs-smap-implicit-ac`: Bochs 2.7, at CPL 0 and 3. */
static bool is_bochs_smap_implicit_ac(const struct nw_hw_deviation_ctx *x)
{
	return x->backend->id == NW_HW_BOCHS_VMX && is_implicit_smap_with_ac_allowed(x);
}

/* Row `bochs-ept-ad-table-read`: with EPT A/D on, a guest-table access that
 * violates EPT sets qualification bits 0 and 1 (Vol. 3C Table 28-7); Bochs sets bit 1 only. */
static bool is_bochs_ept_ad_table_read(const struct nw_hw_deviation_ctx *x)
{
	uint64_t q = x->sim->exit_qualification;

	return x->backend->id == NW_HW_BOCHS_VMX && has_ept_ad(x, true) && sim_is(x, NW_TRACE_OUT_EPT_VIOLATION) &&
	       observed_is(x, NW_TRACE_OUT_EPT_VIOLATION) && !(q & NW_EPTQ_FINAL) &&
	       (q & (NW_EPTQ_READ | NW_EPTQ_WRITE)) == (NW_EPTQ_READ | NW_EPTQ_WRITE) &&
	       x->observed->exit_qualification == (q & ~NW_EPTQ_READ) && x->observed->fault_gpa.val == x->sim->fault_gpa;
}

/* Row `bochs-guest-ad-ignores-ept-write`: with EPT A/D off, setting a guest
 * A/D flag in a table whose EPT page is read-only is a write that violates EPT
 * (Vol. 3C §29.3.3.2); Bochs completes the access. */
static bool is_bochs_guest_ad_ignores_ept_write(const struct nw_hw_deviation_ctx *x)
{
	uint64_t q = x->sim->exit_qualification;

	return x->backend->id == NW_HW_BOCHS_VMX && has_ept_ad(x, false) && sim_is(x, NW_TRACE_OUT_EPT_VIOLATION) &&
	       observed_is(x, NW_TRACE_OUT_OK) && !(q & NW_EPTQ_FINAL) && (q & NW_EPTQ_WRITE);
}

/* Row `bochs-large-leaf-bit12`: bit 12 of a 2 MiB or 1 GiB EPT leaf is reserved
 * (Vol. 3C §29.3.3.1); Bochs ignores it, so a leaf misconfigured by that bit
 * alone translates. */
static bool is_bochs_large_leaf_bit12(const struct nw_hw_deviation_ctx *x)
{
	struct nw_s2_request req = { .gpa = nw_gpa(x->sim->fault_gpa), .type = NW_ACCESS_READ, .lookup_only = true };
	const uint64_t bit12 = UINT64_C(1) << 12;
	struct nw_s2_result res;

	if (x->backend->id != NW_HW_BOCHS_VMX || !sim_is(x, NW_TRACE_OUT_EPT_MISCONFIG) ||
	    !observed_is(x, NW_TRACE_OUT_OK) || x->stage2->kind != NW_STAGE2_EPT)
		return false;
	nw_stage2_translate(x->stage2, &req, &res);
	return res.status == NW_S2_MISCONFIG && res.level >= 2 && (res.entry & bit12) &&
	       nw_ept_misconfig(&x->stage2->ept->config, res.level, res.entry & ~bit12) == NW_EPT_MISCONFIG_NONE;
}

static const struct nw_hw_deviation deviations[] = {
	{ "rsvd-without-p", "QEMU 7.2 TCG: reserved-bit #PF or #NPF error code without P", is_rsvd_without_p },
	{ "smap-implicit-ac", "QEMU 7.2 TCG: RFLAGS.AC at CPL 0 allows an implicit access to a user page under SMAP",
	  is_smap_implicit_ac },
	{ "bochs-ept-ad-table-read", "Bochs 2.7: EPT A/D guest-table violation without qualification bit 0",
	  is_bochs_ept_ad_table_read },
	{ "bochs-large-leaf-bit12", "Bochs 2.7: bit 12 of a large EPT leaf ignored", is_bochs_large_leaf_bit12 },
	{ "bochs-guest-ad-ignores-ept-write", "Bochs 2.7: guest A/D writes ignore a read-only EPT page",
	  is_bochs_guest_ad_ignores_ept_write },
	{ "bochs-smap-implicit-ac", "Bochs 2.7: RFLAGS.AC allows an implicit access to a user page under SMAP",
	  is_bochs_smap_implicit_ac },
};

_Static_assert(sizeof(deviations) / sizeof(deviations[0]) <= NW_HW_DEVIATION_ROWS, "report has room for every row");

const struct nw_hw_deviation *nw_hw_deviation_find(const struct nw_hw_deviation_ctx *ctx)
{
	for (size_t i = 0; i < sizeof(deviations) / sizeof(deviations[0]); i++)
		if (deviations[i].explains(ctx))
			return &deviations[i];
	return NULL;
}
