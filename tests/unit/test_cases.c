/* The case file's cases (tests/cases/x86_paging.cases, tests/cases/README.md),
 * each written once with its outcome derived by hand from the SDM or the APM:
 * every case but the EPT ones (test_cases_ept.c) is built in simulated memory
 * as the file gives it, run through the probe, the reference walker and the
 * fast walker (tw_probe_and_walk: they must agree on every field and every A/D
 * write, the probe whenever it answers), and held against the file's outcome:
 * its kind, error code and CR2, guest-physical address (HPA the same: no second
 * stage, or the image's identity nested map), #NPF EXITINFO1 and EXITINFO2,
 * the rights and the level when the file gives them, and the A/D flags left in
 * every entry. A case whose outcome is the image's nested map's (nested paging,
 * or an #NPF) runs over that map, built as the image builds it
 * (hw/contract/npt_case.h), after the guest's fetch of its own code through
 * the image's code path (code_path.h), as on the image. */
#include <criterion/parameterized.h>
#include <nestwalk/walk.h>
#include <stdio.h>

#include "contract/code_path.h"
#include "contract/layout.h"
#include "contract/npt_case.h"
#include "test_probe_util.h"

#define TC_MAX_ENTRIES 8
#define TC_MAX_TABLES 8
#define TC_MAX_EDITS 4

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
	bool nested;    /* over the image's nested map */
	struct hw_blob_case hw; /* the image's case: its mode flags and CPL (code_path.h) */
	uint64_t exitinfo1, exitinfo2;
	unsigned nedits;
	struct hw_blob_entry edits[TC_MAX_EDITS]; /* nested-map edits (blob.h) */
};

#include "case_table.h"

static struct nw_npt npt;
static bool have_npt;
static struct nw_frame code_path[HW_CODE_PATH_FRAMES];
static unsigned code_frames;

static void setup(void)
{
	tw_setup_direct_map(NW_MAXPHYADDR_DEFAULT);
	/* The pages the cases' leaves map: no table lands there, where a nested-map edit would catch it. */
	cr_assert(nw_simmem_claim(sim, nw_hpa(HW_SCRATCH_BASE), HW_SCRATCH_SIZE));
}

static void teardown(void)
{
	if (have_npt)
		nw_npt_destroy(&npt);
	have_npt = false;
	while (code_frames)
		nw_frame_free(&code_path[--code_frames]);
	tw_teardown();
}

/* The case's tables in fresh frames (frames[t] table t's address), each link the linked table's address;
 * where[k] gets entry k's host address. Returns the root table's. */
static uint64_t build(const struct tc_case *c, unsigned bytes, uint64_t *where, uint64_t *frames)
{
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

/* The image's nested map of the case and its code path into the root table (the guest's first fetch walks it). */
static void build_nested(const struct tc_case *c, uint64_t root, const uint64_t *frames, const char *what)
{
	struct nw_npt_config config = hw_npt_case_config(c->maxphyaddr, true);

	cr_assert_eq(nw_npt_create(&npt, hal, &config), NW_OK, "%s: no nested tables", what);
	have_npt = true;
	cr_assert_eq(hw_npt_case_map(&npt, c->edits, c->nedits, frames), NW_OK, "%s: the library refused its nested map",
		     what);
	cr_assert_eq(hw_case_code_path(&c->hw, hal, nw_hal_phys_to_virt(hal, nw_hpa(root)), code_path, &code_frames),
		     NW_OK, "%s: no frames for the code path", what);
	tw.config.stage2 = (struct nw_stage2){ .kind = NW_STAGE2_NPT, .npt = &npt };
}

static void assert_outcome(const struct tc_case *c, const struct nw_walk_result *res, const char *what)
{
	cr_assert_eq(res->outcome, c->outcome, "%s: outcome %s, the file says %s", what, nw_outcome_name(res->outcome),
		     nw_outcome_name(c->outcome));
	if (c->outcome == NW_OUTCOME_OK) {
		cr_assert_eq(res->gpa.val, c->gpa, "%s: gpa %#llx, the file says %#llx", what,
			     (unsigned long long)res->gpa.val, (unsigned long long)c->gpa);
		cr_assert_eq(res->hpa.val, c->gpa, "%s: no second stage or an identity one: HPA = GPA", what);
		if (c->rights >= 0)
			cr_assert_eq(res->rights, (uint32_t)c->rights, "%s: rights %#x, the file says %#x", what,
				     res->rights, (unsigned)c->rights);
		if (c->level)
			cr_assert_eq(res->leaf_level, (int)c->level, "%s: leaf level %d, the file says %u", what,
				     res->leaf_level, c->level);
	} else if (c->outcome == NW_OUTCOME_PAGE_FAULT) {
		cr_assert_eq(res->error_code, c->error_code, "%s: error code %#x, the file says %#x", what,
			     res->error_code, c->error_code);
		cr_assert_eq(res->cr2, c->cr2, "%s: CR2 %#llx, the file says %#llx", what, (unsigned long long)res->cr2,
			     (unsigned long long)c->cr2);
		if (c->level)
			cr_assert_eq(res->fault_level, (int)c->level, "%s: fault level %d, the file says %u", what,
				     res->fault_level, c->level);
	} else if (c->outcome == NW_OUTCOME_NPF) {
		/* A guest table's address is the image's choice: the file gives its offset in the page (APM §15.25.6:
		 * EXITINFO1 bit 33 marks a guest page-table access). */
		uint64_t given = (c->exitinfo1 & (UINT64_C(1) << 33)) ? NW_PAGE_MASK : ~UINT64_C(0);

		cr_assert_eq(res->exitinfo1, c->exitinfo1, "%s: EXITINFO1 %#llx, the file says %#llx", what,
			     (unsigned long long)res->exitinfo1, (unsigned long long)c->exitinfo1);
		cr_assert_eq(res->exitinfo2 & given, c->exitinfo2, "%s: EXITINFO2 %#llx, the file says %#llx", what,
			     (unsigned long long)res->exitinfo2, (unsigned long long)c->exitinfo2);
	}
}

/* What comes before the access: MOV CR3 in PAE paging loads the PDPTE registers (§4.4.1: a reserved bit in a
 * present one is #GP there; over a nested map, their read may fault), and an SVM guest fetches its own code
 * first. False with its outcome in res when one of them ends the case. */
static bool reach_access(const struct tc_case *c, uint64_t root, struct nw_walk_result *res)
{
	if (c->mode == NW_PAGING_PAE) {
		nw_cpu_load_cr3(&tw.config, &tw.cpu, root, res);
		if (res->outcome != NW_OUTCOME_OK)
			return false;
	} else {
		tw.cpu.cr3 = root;
	}
	if (c->nested) {
		struct nw_access fetch = hw_case_code_fetch(&c->hw);

		nw_walk_reference(&tw.config, &tw.cpu, &fetch, 0, res);
		if (res->outcome != NW_OUTCOME_OK)
			return false;
	}
	return true;
}

static void run_case(const struct tc_case *c)
{
	unsigned bytes = c->mode == NW_PAGING_32 ? 4 : 8;
	uint64_t where[TC_MAX_ENTRIES], frames[TC_MAX_TABLES], root;
	struct nw_access access = { .gva = nw_gva(c->gva), .size = 1, .type = c->access.type,
				    .implicit = c->access.implicit };
	struct nw_walk_result res;
	TW_WALKER walker = NULL;
	char what[160];

	snprintf(what, sizeof(what), "%s:%u: case %u (%s)", TC_FILE, c->line, c->id, c->name);
	root = build(c, bytes, where, frames);
	if (c->nested)
		build_nested(c, root, frames, what);
	nw_cpu_set_mode(&tw.cpu, c->mode);
	tw.cpu.cr0 |= c->cr0;
	tw.cpu.cr4 |= c->cr4;
	tw.cpu.efer |= c->efer;
	tw.cpu.rflags |= c->rflags;
	tw.cpu.cpl = c->cpl;
	tw.cpu.pkru = c->pkru;
	tw.cpu.maxphyaddr = c->maxphyaddr;
	if (reach_access(c, root, &res)) {
		walker = tw_walker(&tw.config, &tw.cpu);
		/* Over a nested map, a translation the probe declines may be due nested A/D flags only. */
		tw_probe_and_walk(walker, &access, !c->nested, what, &res);
	}
	assert_outcome(c, &res, what);
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

ParameterizedTest(const unsigned *index, cases, each, .init = setup, .fini = teardown)
{
	run_case(&tc_cases[*index]);
}
