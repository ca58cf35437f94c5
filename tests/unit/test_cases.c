/* The case file's cases (tests/cases/x86_paging.cases, tests/cases/README.md),
 * each written once with its outcome derived by hand from the SDM: every case
 * a walk without a second stage can check is built in simulated memory as the
 * file gives it, run through the probe, the reference walker and the fast
 * walker (tw_probe_and_walk: they must agree on every field and every A/D
 * write, the probe whenever it answers), and held against the file's outcome:
 * its kind, error code and CR2, guest-physical address (HPA the same without a
 * second stage), the rights and the level when the file gives them, and the A/D
 * flags left in every entry. */
#include <criterion/parameterized.h>
#include <nestwalk/walk.h>
#include <stdio.h>

#include "test_probe_util.h"

#define TC_MAX_ENTRIES 8
#define TC_MAX_TABLES 8

struct tc_entry {
	unsigned table, index;
	int link; /* the linked table's number, or -1 for a leaf (its address is in value) */
	uint64_t value;
};

struct tc_access {
	enum nw_access_type type;
	bool implicit;
};

struct tc_case {
	unsigned id;
	const char *name;
	unsigned line;
	enum nw_paging_mode mode;
	uint64_t cr0, cr4, efer, rflags;
	unsigned cpl;
	uint32_t pkru;
	unsigned maxphyaddr;
	struct tc_access access;
	uint64_t gva;
	unsigned tables, nentries;
	struct tc_entry entries[TC_MAX_ENTRIES];
	enum nw_outcome outcome;
	uint64_t gpa;
	uint32_t error_code;
	uint64_t cr2;
	int rights;     /* NW_WALK_RIGHT_*, or -1: not given */
	unsigned level; /* the fault's level (page fault) or the leaf's (ok), or 0: not given */
	const char *ad; /* one digit A + 2*D per entry after the access */
};

#include "case_table.h"

static void setup(void)
{
	tw_setup_direct_map(NW_MAXPHYADDR_DEFAULT);
}

/* The case's tables in fresh frames, each link the linked table's address;
 * where[k] gets entry k's host address. Returns the root table's. */
static uint64_t build(const struct tc_case *c, unsigned bytes, uint64_t *where)
{
	uint64_t frames[TC_MAX_TABLES] = { 0 };

	cr_assert_leq(c->tables, TC_MAX_TABLES);
	for (unsigned t = 0; t < c->tables; t++)
		frames[t] = tw_frame();
	for (unsigned k = 0; k < c->nentries; k++) {
		const struct tc_entry *e = &c->entries[k];
		uint64_t value = e->value | (e->link >= 0 ? frames[e->link] : 0);

		cr_assert(bytes == 8 || value >> 32 == 0, "%s:%u: entry %u does not fit 32 bits", TC_FILE, c->line, k);
		where[k] = tw_set(frames[e->table], e->index, value, bytes);
	}
	return frames[0];
}

static void assert_ad(const struct tc_case *c, unsigned bytes, const uint64_t *where, const char *what)
{
	for (unsigned k = 0; k < c->nentries; k++) {
		uint64_t value = tw_read(where[k], bytes);
		unsigned digit = (unsigned)(((value & NW_PTE_A) ? 1 : 0) + ((value & NW_PTE_D) ? 2 : 0));

		cr_assert_eq(digit, (unsigned)(c->ad[k] - '0'), "%s: entry %u's A + 2*D is %u, the file says %c", what,
			     k, digit, c->ad[k]);
	}
}

static void run_case(const struct tc_case *c)
{
	unsigned bytes = c->mode == NW_PAGING_32 ? 4 : 8;
	uint64_t where[TC_MAX_ENTRIES], root;
	struct nw_access access = { .gva = nw_gva(c->gva), .size = 1, .type = c->access.type,
				    .implicit = c->access.implicit };
	struct nw_walk_result res;
	TW_WALKER walker = NULL;
	char what[160];

	snprintf(what, sizeof(what), "%s:%u: case %u (%s)", TC_FILE, c->line, c->id, c->name);
	root = build(c, bytes, where);
	nw_cpu_set_mode(&tw.cpu, c->mode);
	tw.cpu.cr0 |= c->cr0;
	tw.cpu.cr4 |= c->cr4;
	tw.cpu.efer |= c->efer;
	tw.cpu.rflags |= c->rflags;
	tw.cpu.cpl = c->cpl;
	tw.cpu.pkru = c->pkru;
	tw.cpu.maxphyaddr = c->maxphyaddr;
	if (c->mode == NW_PAGING_PAE) {
		/* MOV CR3 loads the PDPTE registers (§4.4.1): a reserved bit in a present one is #GP there. */
		nw_cpu_load_cr3(&tw.config, &tw.cpu, root, &res);
		if (res.outcome == NW_OUTCOME_GP) {
			cr_assert_eq(c->outcome, NW_OUTCOME_GP, "%s: #GP at MOV CR3, the file says %s", what,
				     nw_outcome_name(c->outcome));
			assert_ad(c, bytes, where, what);
			return;
		}
		cr_assert_eq(res.outcome, NW_OUTCOME_OK, "%s: MOV CR3 gave %s", what, nw_outcome_name(res.outcome));
	} else {
		tw.cpu.cr3 = root;
	}
	walker = tw_walker(&tw.config, &tw.cpu);
	tw_probe_and_walk(walker, &access, true, what, &res);
	cr_assert_eq(res.outcome, c->outcome, "%s: outcome %s, the file says %s", what, nw_outcome_name(res.outcome),
		     nw_outcome_name(c->outcome));
	if (c->outcome == NW_OUTCOME_OK) {
		cr_assert_eq(res.gpa.val, c->gpa, "%s: gpa %#llx, the file says %#llx", what,
			     (unsigned long long)res.gpa.val, (unsigned long long)c->gpa);
		cr_assert_eq(res.hpa.val, c->gpa, "%s: no second stage: HPA = GPA", what);
		if (c->rights >= 0)
			cr_assert_eq(res.rights, (uint32_t)c->rights, "%s: rights %#x, the file says %#x", what,
				     res.rights, (unsigned)c->rights);
		if (c->level)
			cr_assert_eq(res.leaf_level, (int)c->level, "%s: leaf level %d, the file says %u", what,
				     res.leaf_level, c->level);
	} else if (c->outcome == NW_OUTCOME_PAGE_FAULT) {
		cr_assert_eq(res.error_code, c->error_code, "%s: error code %#x, the file says %#x", what,
			     res.error_code, c->error_code);
		cr_assert_eq(res.cr2, c->cr2, "%s: CR2 %#llx, the file says %#llx", what, (unsigned long long)res.cr2,
			     (unsigned long long)c->cr2);
		if (c->level)
			cr_assert_eq(res.fault_level, (int)c->level, "%s: fault level %d, the file says %u", what,
				     res.fault_level, c->level);
	}
	assert_ad(c, bytes, where, what);
}

/* Each case a test of its own, named by its index in the table: Criterion may run a test in a fresh process,
 * where the table's strings need not be at the same addresses, so the parameter holds no pointer. */
ParameterizedTestParameters(cases, each)
{
	static unsigned index[TC_CASES];

	for (unsigned i = 0; i < TC_CASES; i++)
		index[i] = i;
	return cr_make_param_array(unsigned, index, TC_CASES);
}

ParameterizedTest(const unsigned *index, cases, each, .init = setup, .fini = tw_teardown)
{
	run_case(&tc_cases[*index]);
}
