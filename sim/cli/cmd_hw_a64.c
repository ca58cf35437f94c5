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
#include "io/grow.h"
#include "replay/replay.h"
#include "scenario/scenario_keys.h"

#define MAX_PROBES 4096 /* addresses; three accesses each */

struct probes {
	uint64_t *ipa;
	size_t count, cap;
	/* the last leaf seen, to start a new run where it differs */
	struct nw_aspace_mapping last;
	bool has_last;
};

static void add_probe(struct probes *p, uint64_t ipa)
{
	for (size_t i = 0; i < p->count; i++)
		if (p->ipa[i] == (ipa & ~7ull))
			return;
	if (p->count == MAX_PROBES)
		return;
	p->ipa = nw_grow(p->ipa, &p->cap, p->count, sizeof(*p->ipa));
	p->ipa[p->count++] = ipa & ~7ull;
}

static void add_leaf(void *ctx, const struct nw_aspace_mapping *m)
{
	struct probes *p = ctx;
	const struct nw_aspace_mapping *l = &p->last;

	if (!p->has_last || l->gpa.val + l->size != m->gpa.val || l->level != m->level || l->rights != m->rights ||
	    l->memory_type != m->memory_type || (l->entry ^ m->entry) & NW_ARM64_S2_AF)
		add_probe(p, m->gpa.val);
	p->last = *m;
	p->has_last = true;
}

static void collect(const struct nw_scenario *sc, const struct nw_aspace *as, struct probes *p)
{
	for (size_t i = 0; i < sc->region_count; i++) {
		add_probe(p, sc->regions[i].region.base.val);
		add_probe(p, sc->regions[i].region.base.val + sc->regions[i].region.size - 8);
	}
	for (size_t i = 0; i < sc->edit_count; i++)
		add_probe(p, sc->edits[i].gpa);
	nw_aspace_visit_mappings(as, add_leaf, p);
	if (as->arm64.config.ipa_bits < 48 && sc->region_count)
		add_probe(p, (UINT64_C(1) << as->arm64.config.ipa_bits) | sc->regions[0].region.base.val);
}

/* The access just compiled into the next case: counted, and kept to run, or reported not run with why. */
static int keep(struct nw_hw_cmd *run, const char *why)
{
	run->rep.accesses++;
	if (!why) {
		run->case_count++;
		return 0;
	}
	return nw_hw_report_not_run(&run->rep, run->cases[run->case_count].record, why) ? 0 : -1;
}

static int compile(struct nw_hw_cmd *run, const struct nw_replay_target *t, const struct probes *p,
		   struct nw_hw_a64_expect *expect)
{
	for (size_t i = 0; i < p->count * 3; i++) {
		struct nw_hw_case *c = &run->cases[run->case_count];
		enum nw_access_type type = (enum nw_access_type)(i % 3);
		const char *why;

		*c = (struct nw_hw_case){
			.record = i + 1, .access = { .gva = nw_gva(p->ipa[i / 3]), .size = 8, .type = type, .cpl = 1 }
		};
		why = nw_hw_a64_compile(t->machine.aspace, t->scenario.arm64.vtcr, p->ipa[i / 3], type,
					(uint32_t)run->case_count, c, &expect[run->case_count]);
		if (keep(run, why))
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
		if (keep(run, why))
			return -1;
	}
	return 0;
}

static int compare(struct nw_hw_cmd *run, const struct nw_hw_a64_expect *expect)
{
	for (size_t i = 0; i < run->case_count; i++) {
		const struct nw_hw_case *c = &run->cases[i];
		const struct nw_hw_deviation *dev = NULL;
		struct nw_hw_mismatch m = { .record = c->record, .access = c->access };
		enum nw_hw_a64_verdict v = nw_hw_a64_compare(c, &expect[i], &run->outcomes[i], &dev, m.problem,
							     sizeof(m.problem));

		if (v == NW_HW_A64_NOT_RUN) {
			if (!nw_hw_report_not_run(&run->rep, c->record, m.problem))
				return -1;
			continue;
		}
		run->rep.run++;
		if (v == NW_HW_A64_MATCH)
			run->rep.matched++;
		else if (v == NW_HW_A64_EXPLAINED)
			nw_hw_report_explained(&run->rep, dev, c->record);
		else if (!nw_hw_report_mismatch(&run->rep, &m))
			return -1;
	}
	return 0;
}

/* Every probe not run: bad input for this backend, each reason said. */
static int nothing_runs(const struct nw_hw_cmd *run)
{
	fprintf(stderr, "nestwalk hw run: nothing of %s can run on %s:\n", run->opt.scenario, run->backend->name);
	for (size_t i = 0; i < run->rep.not_run_count; i++)
		fprintf(stderr, "  %s (%llu access(es), record %llu first)\n", run->rep.not_run[i].reason,
			(unsigned long long)run->rep.not_run[i].count,
			(unsigned long long)run->rep.not_run[i].records[0]);
	return -1;
}

static int boot(struct nw_hw_cmd *run)
{
	struct nw_hw_boots boots = { .backend = run->backend,
				     .image = run->opt.image,
				     .timeout = run->opt.timeout,
				     .cases_per_boot = run->opt.cases_per_boot,
				     .cases = run->cases,
				     .count = run->case_count };

	if (!run->case_count)
		return nothing_runs(run);
	run->outcomes = calloc(run->case_count, sizeof(*run->outcomes));
	if (!run->outcomes)
		return -1;
	boots.outcomes = run->outcomes;
	if (nw_hw_boots_run(&boots))
		return -1;
	run->rep.boot_seconds = boots.seconds;
	run->rep.boots = boots.boots;
	return 0;
}

int nw_hw_cmd_a64(struct nw_hw_cmd *run)
{
	struct nw_replay_target t;
	struct probes p = { 0 };
	struct nw_hw_a64_vas vas = { 0 };
	struct nw_hw_a64_expect *expect = NULL;
	uint64_t *edges = NULL;
	size_t total;
	char err[1024];
	int rc = NW_EXIT_BAD_INPUT;

	if (nw_replay_target_open(run->opt.scenario, &t, err, sizeof(err))) {
		fprintf(stderr, "nestwalk hw run: %s\n", err);
		return NW_EXIT_BAD_INPUT;
	}
	if (t.scenario.arch != NW_SCENARIO_AARCH64) {
		fprintf(stderr,
			"nestwalk hw run: %s: --backend qemu-aarch64 runs aarch64 scenarios (arch: aarch64); this "
			"one is %s\n",
			run->opt.scenario, nw_scenario_arch_name(t.scenario.arch));
		nw_replay_target_close(&t);
		return NW_EXIT_BAD_INPUT;
	}
	/* Said, not silent: replay runs the scenario's own trace, this backend its probes. */
	if (t.scenario.trace)
		fprintf(stderr,
			"nestwalk hw run: note: %s names a trace (%s); --backend qemu-aarch64 runs probes of its "
			"translation regime, not a trace (nestwalk replay runs it)\n",
			run->opt.scenario, t.scenario.trace);
	run->rep.maxphyaddr = t.machine.aspace->arm64.config.ps_bits;
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
	    !boot(run) && !compare(run, expect))
		rc = NW_EXIT_OK;
	else if (!run->cases || !expect)
		fprintf(stderr, "nestwalk hw run: out of memory\n");
	run->rep.leaked_frames = nw_replay_target_close(&t);
	free(expect);
	free(p.ipa);
	free(vas.va);
	free(edges);
	return rc;
}
