/* The case file's EPT cases (group ept-vmx of tests/cases/x86_paging.cases,
 * tests/cases/README.md), each written once with its outcome derived by hand
 * from the SDM and run on Bochs as the VMX image's case: here each is built in
 * simulated memory by the image's own builder (vmx_vm_build, hw/contract: the
 * guest's tables and an EPT from nw_ept_create, nw_ept_map and nw_ept_edit),
 * walked in two dimensions by the probe, the reference walker and the fast
 * walker (tw_probe_and_walk: they must agree on every field and on every guest
 * and EPT entry they leave, the probe whenever it answers), and held against
 * the file: the outcome's kind, the host-physical address reached, the #PF
 * error code and CR2, the exit qualification with the guest-physical and
 * guest-linear address, the misconfigured address, the level when the file
 * gives it, and the A/D flags of the guest path, the EPT path and the guest
 * tables' EPT leaves (vmx_vm_read_ad, the digits the image prints). */
#include <criterion/parameterized.h>
#include <nestwalk/pt_build.h>
#include <nestwalk/walk.h>
#include <stdio.h>
#include <string.h>

#include "contract/ept_case.h"
#include "test_probe_util.h"

struct tc_ept_case {
	const char *name;
	unsigned line;
	struct vmx_case c;
	enum nw_outcome outcome;
	uint64_t val[3]; /* ok: HPA; pf: error code, CR2; eptv: qualification, GPA, GVA; misconfig: GPA */
	unsigned level;  /* misconfig: the EPT level; eptv: the guest level of a table access; 0: not given */
	const char *ad;  /* GUEST/EPT/TABLES digits A + 2*D after the access */
};

#include "case_table_ept.h"

static struct vmx_vm vm;
static bool have_vm;

static void setup(void)
{
	tw_setup_direct_map(VMX_MAXPHYADDR);
}

static void teardown(void)
{
	if (have_vm)
		vmx_vm_free(&vm);
	have_vm = false;
	tw_teardown();
}

/* Every entry the case's tables hold becomes a slot of the walk fixture, so both walkers start from the same
 * guest and EPT entries and must leave the same ones. */
static void add_slots(uint64_t table)
{
	for (unsigned i = 0; i < NW_PAGE_SIZE / 8; i++)
		if (tw_read(table + 8 * i, 8))
			tw_set(table, i, tw_read(table + 8 * i, 8), 8);
}

static void add_ept_slots(const struct nw_ept *ept, uint64_t table, int level)
{
	add_slots(table);
	for (unsigned i = 0; i < NW_PAGE_SIZE / 8 && level > NW_LEVEL_PT; i++) {
		uint64_t entry = tw_read(table + 8 * i, 8);

		if (nw_pt_is_link(ept->pt.fmt, level, entry))
			add_ept_slots(ept, nw_pt_link_addr(&ept->pt, entry), level - 1);
	}
}

static void assert_outcome(const struct tc_ept_case *t, const struct nw_walk_result *res, const char *what)
{
	cr_assert_eq(res->outcome, t->outcome, "%s: outcome %s, the file says %s", what, nw_outcome_name(res->outcome),
		     nw_outcome_name(t->outcome));
	switch (t->outcome) {
	case NW_OUTCOME_OK:
		cr_assert_eq(res->hpa.val, t->val[0], "%s: HPA %#llx, the file says %#llx", what,
			     (unsigned long long)res->hpa.val, (unsigned long long)t->val[0]);
		break;
	case NW_OUTCOME_PAGE_FAULT:
		cr_assert_eq(res->error_code, t->val[0], "%s: error code %#x, the file says %#llx", what, res->error_code,
			     (unsigned long long)t->val[0]);
		cr_assert_eq(res->cr2, t->val[1], "%s: CR2 %#llx, the file says %#llx", what,
			     (unsigned long long)res->cr2, (unsigned long long)t->val[1]);
		break;
	case NW_OUTCOME_EPT_VIOLATION:
		cr_assert_eq(res->exit_qualification, t->val[0], "%s: qualification %#llx, the file says %#llx", what,
			     (unsigned long long)res->exit_qualification, (unsigned long long)t->val[0]);
		cr_assert_eq(res->fault_gpa.val, t->val[1], "%s: GPA %#llx, the file says %#llx", what,
			     (unsigned long long)res->fault_gpa.val, (unsigned long long)t->val[1]);
		cr_assert(res->gla_valid, "%s: the guest-linear address is not valid", what);
		cr_assert_eq(res->gva.val, t->val[2], "%s: GVA %#llx, the file says %#llx", what,
			     (unsigned long long)res->gva.val, (unsigned long long)t->val[2]);
		break;
	default:
		cr_assert_eq(res->fault_gpa.val, t->val[0], "%s: GPA %#llx, the file says %#llx", what,
			     (unsigned long long)res->fault_gpa.val, (unsigned long long)t->val[0]);
		break;
	}
	if (t->level)
		cr_assert_eq(res->fault_level, (int)t->level, "%s: fault level %d, the file says %u", what,
			     res->fault_level, t->level);
}

/* The probe proves only plain second-stage entries (lib/stage2_fast.h: present and readable, among others), so
 * a translation through an EPT entry without R (an execute-only page) it may decline whatever flags are set;
 * elsewhere tw_probe_and_walk holds it to answering once they are. Whenever it answers, it must agree. */
static void probe_and_walk(struct nw_walker *walker, const struct nw_access *access, bool flags_only_in_guest,
			   const char *what, struct nw_walk_result *res)
{
	uint64_t before[TW_MAX_SLOTS];
	struct nw_walk_result ref;
	struct nw_walk_hit hit;
	bool answered;

	tw_snapshot(before);
	nw_walk_reference(&tw.config, &tw.cpu, access, 0, &ref);
	tw_restore(before);
	if (ref.outcome != NW_OUTCOME_OK || (ref.s2_rights & NW_S2_RIGHT_R)) {
		tw_probe_and_walk(walker, access, flags_only_in_guest, what, res);
		return;
	}
	answered = nw_walker_probe(walker, access, &hit);
	tw_walk_with(walker, access, 0, res);
	if (answered)
		tw_assert_hit_is(&hit, res, what);
}

static void run_case(const struct tc_ept_case *t)
{
	const struct vmx_case *c = &t->c;
	struct nw_access access = vmx_case_access(c);
	char what[160], ad[VMX_AD_LEN];
	struct nw_walk_result res;
	TW_WALKER walker = NULL;
	const char *why;

	snprintf(what, sizeof(what), "%s:%u: case %u (%s)", TC_FILE, t->line, c->head.id, t->name);
	why = vmx_case_check(c);
	cr_assert_null(why, "%s: the image refuses it: %s", what, why);
	cr_assert_eq(vmx_vm_build(&vm, hal, c, nw_hpa(tw_frame()), &why), NW_OK, "%s: %s", what, why);
	have_vm = true;
	for (unsigned k = 0; k < VMX_GUEST_TABLE_COUNT; k++)
		add_slots(nw_frame_paddr(&vm.tables[k]).val);
	add_ept_slots(&vm.ept, nw_ept_root(&vm.ept).val, NW_LEVEL_PML4);
	tw.config.stage2 = (struct nw_stage2){ .kind = NW_STAGE2_EPT, .ept = &vm.ept };
	tw.config.ad_policy = NW_AD_ON_SUCCESS; /* the image's CPU and nestwalk-vmx-sim alike */
	tw.cpu = vmx_case_cpu(c);
	walker = tw_walker(&tw.config, &tw.cpu);
	/* With EPT A/D on, a translation the probe declines may be due EPT flags only. */
	probe_and_walk(walker, &access, !(c->head.flags & VMX_CASE_EPT_AD), what, &res);
	assert_outcome(t, &res, what);
	vmx_vm_read_ad(&vm, c, ad);
	cr_assert_str_eq(ad, t->ad, "%s: A/D digits %s, the file says %s", what, ad, t->ad);
}

/* Each case a test of its own, named by its index in the table (test_cases.c says why). */
ParameterizedTestParameters(cases_ept, each)
{
	static unsigned index[TC_EPT_CASES];

	for (unsigned i = 0; i < TC_EPT_CASES; i++)
		index[i] = i;
	return cr_make_param_array(unsigned, index, TC_EPT_CASES);
}

ParameterizedTest(const unsigned *index, cases_ept, each, .init = setup, .fini = teardown)
{
	run_case(&tc_ept_cases[*index]);
}
