/* What the probe backends of `nestwalk hw run` share (cmd_hw.h; qemu-aarch64: cmd_hw_a64.c, qemu-riscv64:
 * cmd_hw_rv.c): a scenario's accesses are probes, addresses each read, written and fetched; the set of
 * addresses, the boots of the compiled cases, and each case's verdict against the library counted into the
 * report. */
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "cli/cmd_hw.h"
#include "io/grow.h"
#include "scenario/scenario_keys.h"

#define MAX_PROBES 4096 /* addresses; three accesses each */

int nw_hw_probes_open(const struct nw_hw_cmd *run, struct nw_replay_target *t, int arch)
{
	const char *name = nw_scenario_arch_name(arch);
	char err[1024];

	if (nw_replay_target_open(run->opt.scenario, t, err, sizeof(err))) {
		fprintf(stderr, "nestwalk hw run: %s\n", err);
		return NW_EXIT_BAD_INPUT;
	}
	if (t->scenario.arch != arch) {
		fprintf(stderr, "nestwalk hw run: %s: --backend %s runs %s scenarios (arch: %s); this one is %s\n",
			run->opt.scenario, run->backend->name, name, name, nw_scenario_arch_name(t->scenario.arch));
		nw_replay_target_close(t);
		return NW_EXIT_BAD_INPUT;
	}
	/* Said, not silent: replay runs the scenario's own trace, this backend its probes. */
	if (t->scenario.trace)
		fprintf(stderr,
			"nestwalk hw run: note: %s names a trace (%s); --backend %s runs probes of its translation "
			"regime, not a trace (nestwalk replay runs it)\n",
			run->opt.scenario, t->scenario.trace, run->backend->name);
	if (t->scenario.vm_count)
		fprintf(stderr,
			"nestwalk hw run: note: %s lists %zu further VM(s) (vms); --backend %s probes the scenario's "
			"own VM (VM 0), not theirs\n",
			run->opt.scenario, t->scenario.vm_count, run->backend->name);
	return NW_EXIT_OK;
}

void nw_hw_probes_add(struct nw_hw_probes *p, uint64_t addr)
{
	for (size_t i = 0; i < p->count; i++)
		if (p->addr[i] == (addr & ~7ull))
			return;
	if (p->count == MAX_PROBES)
		return;
	p->addr = nw_grow(p->addr, &p->cap, p->count, sizeof(*p->addr));
	p->addr[p->count++] = addr & ~7ull;
}

struct leaf_runs {
	struct nw_hw_probes *p;
	uint64_t alike; /* entry bits two leaves of one run share */
	/* the last leaf seen, to start a new run where it differs */
	struct nw_aspace_mapping last;
	bool has_last;
};

static void add_leaf(void *ctx, const struct nw_aspace_mapping *m)
{
	struct leaf_runs *v = ctx;
	const struct nw_aspace_mapping *l = &v->last;

	if (!v->has_last || l->gpa.val + l->size != m->gpa.val || l->level != m->level || l->rights != m->rights ||
	    l->memory_type != m->memory_type || (l->entry ^ m->entry) & v->alike)
		nw_hw_probes_add(v->p, m->gpa.val);
	v->last = *m;
	v->has_last = true;
}

void nw_hw_probes_add_stage2(struct nw_hw_probes *p, const struct nw_scenario *sc, const struct nw_aspace *as,
			     uint64_t alike, const uint64_t *past)
{
	struct leaf_runs v = { .p = p, .alike = alike };

	for (size_t i = 0; i < sc->region_count; i++) {
		nw_hw_probes_add(p, sc->regions[i].region.base.val);
		nw_hw_probes_add(p, sc->regions[i].region.base.val + sc->regions[i].region.size - 8);
	}
	for (size_t i = 0; i < sc->edit_count; i++)
		nw_hw_probes_add(p, sc->edits[i].gpa);
	nw_aspace_visit_mappings(as, add_leaf, &v);
	if (past && sc->region_count)
		nw_hw_probes_add(p, *past | sc->regions[0].region.base.val);
}

void nw_hw_probes_free(struct nw_hw_probes *p)
{
	free(p->addr);
	*p = (struct nw_hw_probes){ 0 };
}

int nw_hw_probes_keep(struct nw_hw_cmd *run, const char *why)
{
	run->rep.accesses++;
	if (!why) {
		run->case_count++;
		return 0;
	}
	return nw_hw_report_not_run(&run->rep, run->cases[run->case_count].record, why) ? 0 : -1;
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

int nw_hw_probes_boot(struct nw_hw_cmd *run, const char *cpu)
{
	struct nw_hw_boots boots = { .backend = run->backend,
				     .image = run->opt.image,
				     .cpu = cpu,
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

bool nw_hw_probes_count(struct nw_hw_cmd *run, const struct nw_hw_case *c, enum nw_hw_verdict verdict,
			const struct nw_hw_deviation *deviation, const char *problem)
{
	struct nw_hw_mismatch m = { .record = c->record, .access = c->access };

	if (verdict == NW_HW_VERDICT_NOT_RUN)
		return nw_hw_report_not_run(&run->rep, c->record, problem);
	run->rep.run++;
	if (verdict == NW_HW_VERDICT_MATCH) {
		run->rep.matched++;
	} else if (verdict == NW_HW_VERDICT_EXPLAINED) {
		nw_hw_report_explained(&run->rep, deviation, c->record);
	} else {
		snprintf(m.problem, sizeof(m.problem), "%s", problem);
		return nw_hw_report_mismatch(&run->rep, &m);
	}
	return true;
}
