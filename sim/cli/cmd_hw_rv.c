/* `nestwalk hw run SCENARIO --backend qemu-riscv64` (cmd_hw.h): a riscv64 scenario's accesses are probes, run on
 * the RISC-V image (hw_rv.h) in the scenario's privilege and compared with the library's answer for the same
 * access. G-stage probes, with vsatp Bare: the first and last 8-byte word of each region, each edit's address,
 * the first address of each run of G-stage leaves alike (level, rights, memory type, A and D, contiguous) and
 * one GPA past the mode's width, compared with translate --gpa. VS-stage probes, when vsatp is not Bare: the
 * first VA of each run of VS-stage leaves alike and of every other PTE the guest's tables hold (reached through
 * the G-stage from vsatp), and one non-canonical VA, compared with translate --gva; the G-stage answers as
 * written, without the hypervisor's resolution of a lazy page or an MMIO exit. Each read, written and fetched:
 * records 3k+1 to 3k+3, probe k counted from 0 over the G-stage probes, then the VS-stage ones. QEMU 7.2's hart
 * sets A and D by the walk in both stages (Svadu), so the library answers so too where the scenario says Svade;
 * the image's PMP is its own (everything RWX), so the library answers without the scenario's pmp. */
#include <stdio.h>
#include <stdlib.h>

#include <nestwalk/hal.h>
#include <nestwalk/riscv_gstage.h>

#include "cli/cli.h"
#include "cli/cmd_hw.h"
#include "hw/hw_rv.h"
#include "mem/simmem.h"
#include "replay/replay.h"
#include "scenario/scenario_keys.h"

#define VS_ENTRIES 512
/* QEMU 7.2's rv64 with Svpbmt and Svnapot as a scenario's pbmt and napot ask (the plain rv64 checks more of a
 * leaf's bits: hw/DEVIATIONS.md, rv-leaf-high-bits-unchecked), by the case flags HW_RV_PBMTE and HW_RV_NAPOT. */
static const char *const cpus[] = { NULL, "rv64,svpbmt=on", "rv64,svnapot=on", "rv64,svpbmt=on,svnapot=on" };

struct collect {
	struct nw_hw_probes *p;
	const struct nw_hw_rv_scenario *s;
	const struct nw_pt_format *fmt;
	/* the last VS-stage leaf seen, to start a new run where it differs */
	uint64_t last_va, last_pte;
	int last_level;
	bool has_last;
};

static void collect_gstage(const struct nw_scenario *sc, const struct nw_aspace *as, struct nw_hw_probes *p)
{
	const struct nw_pt_format *fmt = as->riscv.pt.fmt;
	uint64_t past = (uint64_t)fmt->level[fmt->top].entries << fmt->level[fmt->top].shift;

	nw_hw_probes_add_stage2(p, sc, as, NW_RV_PTE_A | NW_RV_PTE_D, &past);
}

/* A VS-stage table the guest can read: its page through the G-stage, in host memory. */
static const uint64_t *vs_table(const struct collect *c, uint64_t gpa)
{
	struct nw_s2_request req = { .gpa = nw_gpa(gpa), .type = NW_ACCESS_READ, .lookup_only = true };
	struct nw_s2_result res;

	nw_rv_gstage_translate(c->s->gstage, &req, &res);
	return res.status == NW_S2_OK ? nw_hal_phys_to_virt(c->s->config.hal, res.hpa) : NULL;
}

static uint64_t sign_extend(const struct nw_pt_format *fmt, uint64_t va)
{
	unsigned bits = fmt->level[fmt->top].shift + 9;

	return (va >> (bits - 1)) & 1 ? va | ~((UINT64_C(1) << bits) - 1) : va;
}

/* A leaf continues the run when it maps the next VA onto the next GPA with the same level and bits. */
static bool continues_run(const struct collect *c, uint64_t va, int level, uint64_t pte)
{
	uint64_t size = nw_pt_level_size(c->fmt, level);

	return c->has_last && c->last_level == level && c->last_va + size == va &&
	       ((c->last_pte ^ pte) & ~NW_RV_PTE_PPN_MASK) == 0 &&
	       nw_pt_table_addr(c->fmt, c->last_pte) + size == nw_pt_table_addr(c->fmt, pte);
}

static void collect_table(struct collect *c, uint64_t gpa, int level, uint64_t va_base)
{
	const uint64_t *table = vs_table(c, gpa);

	for (unsigned i = 0; table && i < VS_ENTRIES; i++) {
		uint64_t pte = table[i], va = sign_extend(c->fmt, va_base | (uint64_t)i << c->fmt->level[level].shift);
		bool leaf = (pte & NW_RV_PTE_V) && (pte & (NW_RV_PTE_R | NW_RV_PTE_X));

		if (!pte)
			continue;
		if ((pte & NW_RV_PTE_V) && !leaf && level > NW_LEVEL_PT && vs_table(c, nw_pt_table_addr(c->fmt, pte))) {
			collect_table(c, nw_pt_table_addr(c->fmt, pte), level - 1, va);
			continue;
		}
		if (!leaf || !continues_run(c, va, level, pte))
			nw_hw_probes_add(c->p, va);
		c->has_last = leaf;
		c->last_va = va;
		c->last_pte = pte;
		c->last_level = level;
	}
}

static void collect_vs(const struct nw_hw_rv_scenario *s, struct nw_hw_probes *p)
{
	struct collect c = { .p = p, .s = s, .fmt = nw_rv_vs_format(s->cpu.vsatp.mode) };
	unsigned bits = c.fmt->level[c.fmt->top].shift + 9;

	collect_table(&c, s->cpu.vsatp.root, c.fmt->top, 0);
	if (p->count && !(p->addr[0] >> (bits - 1)))
		nw_hw_probes_add(p, p->addr[0] | UINT64_C(1) << bits);
}

/* Compiles probe k (record 3k+1 to 3k+3) and rehearses it on sim: a case, or a reason not run. */
static int compile(struct nw_hw_cmd *run, const struct nw_hw_rv_scenario *s, const struct nw_hw_probes *p,
		   bool vs, uint64_t first_record, const struct nw_hal *sim, struct nw_hw_rv_expect *expect)
{
	for (size_t i = 0; i < p->count * 3; i++) {
		struct nw_hw_case *c = &run->cases[run->case_count];
		enum nw_access_type type = (enum nw_access_type)(i % 3);
		const char *why;

		*c = (struct nw_hw_case){ .record = first_record + i,
					  .access = { .gva = nw_gva(p->addr[i / 3]), .size = 8, .type = type,
						      .cpl = s->cpu.vu ? 3 : 0 } };
		why = vs ? nw_hw_rv_compile_gva(s, p->addr[i / 3], type, (uint32_t)run->case_count, c,
						&expect[run->case_count])
			 : nw_hw_rv_compile_gpa(s, p->addr[i / 3], type, (uint32_t)run->case_count, c,
						&expect[run->case_count]);
		if (!why)
			why = nw_hw_rv_rehearse(sim, c, &expect[run->case_count]);
		if (nw_hw_probes_keep(run, why))
			return -1;
	}
	return 0;
}

static int compare(struct nw_hw_cmd *run, const struct nw_hw_rv_expect *expect)
{
	for (size_t i = 0; i < run->case_count; i++) {
		const struct nw_hw_deviation *dev = NULL;
		char problem[160];
		enum nw_hw_verdict v = nw_hw_rv_compare(&run->cases[i], &expect[i], &run->outcomes[i], &dev, problem,
							sizeof(problem));

		if (!nw_hw_probes_count(run, &run->cases[i], v, dev, problem))
			return -1;
	}
	return 0;
}

/* The scenario as the probes see it: the library answers for QEMU 7.2's hart, which sets A and D by the walk. */
static void model(struct nw_replay_target *t, struct nw_hw_rv_scenario *s, const char *path)
{
	struct nw_rv_gstage *g = &t->machine.aspace->riscv;

	if (!g->config.adue || (t->scenario.riscv.vs.vsatp.mode != NW_RV_SATP_BARE && !t->scenario.riscv.vs.adue))
		fprintf(stderr,
			"nestwalk hw run: note: %s: QEMU 7.2 sets A and D by the walk (Svadu); the library answers "
			"so too, not as the scenario's Svade\n",
			path);
	g->config.adue = g->config.caps.svadu = true;
	/* The image keeps the PMP its start.S writes (entry 0 NAPOT RWX over everything) and the probes' tables lie
	 * where the case puts them, not at the host addresses the scenario's entries name. */
	if (g->config.pmp.count)
		fprintf(stderr,
			"nestwalk hw run: note: %s: the image runs every probe under its own PMP (entry 0: NAPOT, RWX over "
			"everything), not the scenario's pmp; the library answers so too (nestwalk replay and translate "
			"apply the scenario's)\n",
			path);
	g->config.pmp = (struct nw_rv_pmp){ 0 };
	*s = (struct nw_hw_rv_scenario){
		.gstage = g,
		.config = { .hal = t->machine.hal, .stage2 = t->machine.stage2 },
		.cpu = t->scenario.riscv.vs,
		.flags = HW_RV_ADUE | (g->config.mxr ? HW_RV_MXR : 0) | (g->config.pbmte ? HW_RV_PBMTE : 0) |
			 (g->config.caps.svnapot ? HW_RV_NAPOT : 0),
	};
	s->cpu.adue = s->cpu.caps.svadu = true;
}

/* Compiles every probe, boots and compares; 0 or -1. */
static int run_probes(struct nw_hw_cmd *run, const struct nw_replay_target *t, const struct nw_hw_rv_scenario *s,
		      const struct nw_hal *sim)
{
	struct nw_hw_probes gp = { 0 }, vp = { 0 };
	struct nw_hw_rv_expect *expect;
	size_t total;
	int rc = -1;

	collect_gstage(&t->scenario, t->machine.aspace, &gp);
	if (s->cpu.vsatp.mode != NW_RV_SATP_BARE)
		collect_vs(s, &vp);
	total = (gp.count + vp.count) * 3;
	run->cases = calloc(total + 1, sizeof(*run->cases));
	expect = calloc(total + 1, sizeof(*expect));
	if (!run->cases || !expect)
		fprintf(stderr, "nestwalk hw run: out of memory\n");
	else if (!compile(run, s, &gp, false, 1, sim, expect) &&
		 !compile(run, s, &vp, true, gp.count * 3 + 1, sim, expect) &&
		 !nw_hw_probes_boot(run, cpus[((s->flags & HW_RV_PBMTE) != 0) | ((s->flags & HW_RV_NAPOT) != 0) << 1]) &&
		 !compare(run, expect))
		rc = 0;
	free(expect);
	nw_hw_probes_free(&gp);
	nw_hw_probes_free(&vp);
	return rc;
}

int nw_hw_cmd_rv(struct nw_hw_cmd *run)
{
	struct nw_simmem_config config = { .size = UINT64_C(1) << 32, .seed = 6, .poison = true };
	struct nw_replay_target t;
	struct nw_hw_rv_scenario s;
	struct nw_simmem *sim;
	const struct nw_hal *hal;
	int rc = NW_EXIT_BAD_INPUT;

	if (nw_hw_probes_open(run, &t, NW_SCENARIO_RISCV64))
		return NW_EXIT_BAD_INPUT;
	run->rep.method =
		"probes: G-stage, with vsatp Bare: each region's first and last word, each edit's address, the first "
		"address of each run of G-stage leaves alike and one GPA past the mode's width; VS-stage, when vsatp "
		"is not Bare: the first VA of each run of VS-stage leaves alike and of each other PTE, and one "
		"non-canonical VA; each read, written and fetched in the scenario's privilege (records 3k+1 to 3k+3: "
		"probe k) on fresh tables, compared with the library's translate --gpa or --gva without the "
		"hypervisor's retry (mcause, mtval, mtval2, mtinst, mstatus.GVA, where the access landed)";
	model(&t, &s, run->opt.scenario);
	run->rep.maxphyaddr = 56; /* the G-stage's output: PPN bits 53:10, physical address bits 55:12 */
	sim = nw_simmem_create(&config);
	hal = sim ? nw_simmem_owner(sim, "hw-rehearsal") : NULL;
	if (!hal)
		fprintf(stderr, "nestwalk hw run: cannot create simulated memory\n");
	else if (!run_probes(run, &t, &s, hal))
		rc = NW_EXIT_OK;
	if (sim)
		run->rep.leaked_frames += nw_simmem_destroy(sim);
	run->rep.leaked_frames += nw_replay_target_close(&t);
	return rc;
}
