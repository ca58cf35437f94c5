/* `nestwalk hw run SCENARIO --backend qemu-aarch64` (cmd_hw.h): an aarch64 scenario's accesses are probes, run on
 * the AArch64 image (hw_a64.h) and compared with the library's answer for the same access.
 * With stage 1 off they probe its stage 2: the first and last 8-byte word of each region, each edit's address,
 * the first address of each run of leaves alike (level, rights, memory type, contiguous), and one IPA past the
 * input size; each read, written and fetched at EL1 (records 3k+1 to 3k+3 of the report: probe k, from 0); the
 * kind, ESR_EL2, FAR_EL2, HPFAR_EL2 where the Arm ARM defines it, where a load or store landed are compared with
 * the library's translate --gpa.
 * With stage 1 on (SCTLR_EL1.M) they probe the guest's stage 1 over its stage 2 (nw_hw_a64_collect_vas): each
 * VA read, written and fetched at EL1 under the scenario's PAN and UAO, then at EL0, then LDTR and STTR at EL1
 * (records 8k+1 to 8k+8: VA k), through the guest's own descriptors; compared with the library's walk
 * (nw_arm64_walk, as translate --gva): ESR_EL1 and FAR_EL1 of a stage-1 abort, ESR_EL2, FAR_EL2 and HPFAR_EL2 of a
 * stage-2 abort, where a load or store landed. */
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "cli/cmd_hw.h"
#include "hw/hw_a64.h"
#include "replay/replay.h"
#include "scenario/scenario_keys.h"

static void collect(const struct nw_scenario *sc, const struct nw_aspace *as, struct nw_hw_probes *p)
{
	uint64_t past = UINT64_C(1) << as->arm64.config.ipa_bits;

	nw_hw_probes_add_stage2(p, sc, as, NW_ARM64_S2_AF, as->arm64.config.ipa_bits < 48 ? &past : NULL);
}

static int compile(struct nw_hw_cmd *run, const struct nw_replay_target *t, const struct nw_hw_probes *p,
		   struct nw_hw_a64_expect *expect)
{
	for (size_t i = 0; i < p->count * 3; i++) {
		struct nw_hw_case *c = &run->cases[run->case_count];
		enum nw_access_type type = (enum nw_access_type)(i % 3);
		const char *why;

		*c = (struct nw_hw_case){
			.record = i + 1, .access = { .gva = nw_gva(p->addr[i / 3]), .size = 8, .type = type, .cpl = 1 }
		};
		why = nw_hw_a64_compile(t->machine.aspace, t->scenario.arm64.vtcr, p->addr[i / 3], type,
					(uint32_t)run->case_count, c, &expect[run->case_count]);
		if (nw_hw_probes_keep(run, why))
			return -1;
	}
	return 0;
}

/* The accesses of each stage-1 VA, in record order. */
static const struct nw_hw_a64_probe s1_accesses[] = {
	{ .type = NW_ACCESS_READ },
	{ .type = NW_ACCESS_WRITE },
	{ .type = NW_ACCESS_FETCH },
	{ .type = NW_ACCESS_READ, .el0 = true },
	{ .type = NW_ACCESS_WRITE, .el0 = true },
	{ .type = NW_ACCESS_FETCH, .el0 = true },
	{ .type = NW_ACCESS_READ, .unprivileged = true },
	{ .type = NW_ACCESS_WRITE, .unprivileged = true },
};
#define S1_ACCESSES (sizeof(s1_accesses) / sizeof(s1_accesses[0]))

static int compile_s1(struct nw_hw_cmd *run, const struct nw_replay_target *t, const struct nw_hw_a64_vas *v,
		      struct nw_hw_a64_expect *expect)
{
	for (size_t i = 0; i < v->count * S1_ACCESSES; i++) {
		struct nw_hw_case *c = &run->cases[run->case_count];
		struct nw_hw_a64_probe p = s1_accesses[i % S1_ACCESSES];
		const char *why;

		p.va = v->va[i / S1_ACCESSES];
		*c = (struct nw_hw_case){ .record = i + 1,
					  .access = { .gva = nw_gva(p.va),
						      .size = 8,
						      .type = p.type,
						      .cpl = p.el0 ? 0 : 1,
						      .unpriv = p.unprivileged } };
		why = nw_hw_a64_s1_compile(&t->machine, &t->scenario.arm64, &p, (uint32_t)run->case_count, c,
					   &expect[run->case_count]);
		if (nw_hw_probes_keep(run, why))
			return -1;
	}
	return 0;
}

static int compare(struct nw_hw_cmd *run, const struct nw_hw_a64_expect *expect)
{
	for (size_t i = 0; i < run->case_count; i++) {
		const struct nw_hw_case *c = &run->cases[i];
		const struct nw_hw_deviation *dev = NULL;
		char problem[160];
		enum nw_hw_verdict v = nw_hw_a64_compare(c, &expect[i], &run->outcomes[i], &dev, problem,
							 sizeof(problem));

		if (!nw_hw_probes_count(run, c, v, dev, problem))
			return -1;
	}
	return 0;
}

int nw_hw_cmd_a64(struct nw_hw_cmd *run)
{
	struct nw_replay_target t;
	struct nw_hw_probes p = { 0 };
	struct nw_hw_a64_vas vas = { 0 };
	struct nw_hw_a64_expect *expect = NULL;
	uint64_t *edges = NULL;
	size_t total;
	int rc = NW_EXIT_BAD_INPUT;

	if (nw_hw_probes_open(run, &t, NW_SCENARIO_AARCH64))
		return NW_EXIT_BAD_INPUT;
	run->rep.maxphyaddr = t.machine.aspace->arm64.config.ps_bits;
	/* The image leaves HCR_EL2.FWB clear: FWB changes the memory attributes alone, which no probe observes. */
	if (t.machine.aspace->arm64.config.fwb)
		fprintf(stderr,
			"nestwalk hw run: note: %s: stage2.fwb: the image runs with HCR_EL2.FWB clear; FWB changes only "
			"the memory attributes, which the probes do not compare\n",
			run->opt.scenario);
	if (t.scenario.arm64.s1.enabled) {
		run->rep.method =
			"probes of the guest's stage 1: each run of stage-1 leaves alike (its first VA, last word and the "
			"VA past it), the first VA past T0SZ and TTBR1_EL1's first VA when EPD1 is 0; each read, written "
			"and fetched at EL1 (the scenario's PAN and UAO), then at EL0, then LDTR and STTR at EL1 (records "
			"8k+1 to 8k+8: VA k), through the guest's descriptors over its stage 2: compared with the "
			"library's walk, translate --gva (ESR_EL1 and FAR_EL1; ESR_EL2, FAR_EL2, HPFAR_EL2 where defined; "
			"where the access landed)";
		edges = calloc(t.scenario.region_count * 3 + 1, sizeof(*edges));
		for (size_t i = 0; edges && i < t.scenario.region_count; i++) {
			const struct nw_region *r = &t.scenario.regions[i].region;

			edges[3 * i] = r->base.val;
			edges[3 * i + 1] = r->base.val + r->size - 8;
			edges[3 * i + 2] = r->base.val + r->size;
		}
		if (edges)
			nw_hw_a64_collect_vas(&t.machine, &t.scenario.arm64.s1, edges, t.scenario.region_count * 3,
					      &vas);
		total = vas.count * S1_ACCESSES;
	} else {
		run->rep.method =
			"probes: each region's first and last word, each edit's address, the first address of each run "
			"of leaves alike and one IPA past the input size, each read, written and fetched (records 3k+1 "
			"to 3k+3: probe k), at EL1 with stage 1 off on fresh stage-2 tables: compared with the "
			"library's translate --gpa (ESR_EL2, FAR_EL2, HPFAR_EL2 where defined, where the access landed)";
		collect(&t.scenario, t.machine.aspace, &p);
		total = p.count * 3;
	}
	run->cases = calloc(total + 1, sizeof(*run->cases));
	expect = calloc(total + 1, sizeof(*expect));
	if (run->cases && expect &&
	    !(t.scenario.arm64.s1.enabled ? compile_s1(run, &t, &vas, expect) : compile(run, &t, &p, expect)) &&
	    !nw_hw_probes_boot(run, NULL) && !compare(run, expect))
		rc = NW_EXIT_OK;
	else if (!run->cases || !expect)
		fprintf(stderr, "nestwalk hw run: out of memory\n");
	run->rep.leaked_frames = nw_replay_target_close(&t);
	free(expect);
	nw_hw_probes_free(&p);
	free(vas.va);
	free(edges);
	return rc;
}
