/* The EPT matrix: the rights (R/W/X) of every EPT level on the path of one
 * guest-physical address, all combinations at once, with 4 KiB, 2 MiB and
 * 1 GiB EPT leaves, leaf memory types and the large-leaf bit-12 rule, with and
 * without execute-only support, for the final access (read/write/fetch) and
 * for a guest paging-structure access. The outcome (translation, EPT
 * violation with its exit qualification, or misconfiguration with its level)
 * is derived here from SDM Vol. 3C §28.2.1 and §29.3.3, and both walkers must
 * give it. CI runs a seeded sample; NESTWALK_FULL_MATRIX=1 runs every case. */
#include <nestwalk/ept.h>
#include <nestwalk/walk.h>
#include <stdio.h>
#include <stdlib.h>

#include "test_walk_util.h"

static struct nw_ept ept;
static bool have_ept;

static void setup(void)
{
	tw_setup();
	have_ept = false;
}

static void teardown(void)
{
	if (have_ept)
		nw_ept_destroy(&ept);
	tw_teardown();
}

TestSuite(matrix_ept, .init = setup, .fini = teardown);

#define RWU_A (NW_PTE_P | NW_PTE_RW | NW_PTE_US | NW_PTE_A)
#define EPT_RWX (NW_EPT_R | NW_EPT_W | NW_EPT_X)
#define G_PML4 UINT64_C(0x10000)
#define G_PDPT UINT64_C(0x11000)
#define G_PD UINT64_C(0x12000)
#define G_PT UINT64_C(0x13000)
#define G_PAGE UINT64_C(0x20000)
#define GVA UINT64_C(0x00007f1234567abc) /* PML4 254, PDPT 72, PD 418, PT 359 */

/* Leaf-size regions, each under its own EPT PML4 entry so the guest tables'
 * translations never share an entry under test. */
static const uint64_t region_size[3] = { NW_PAGE_SIZE, NW_SIZE_2M, NW_SIZE_1G };
static const uint64_t region_base[3] = { UINT64_C(1) << 39, UINT64_C(2) << 39, UINT64_C(3) << 39 };
static const int region_level[3] = { 1, 2, 3 };

enum { X_NONE, X_MT2, X_MT7, X_BIT12, X_N }; /* extra leaf bits */

struct setup_state {
	int levels;
	uint64_t target_gpa[3][2]; /* [size][0 final page, 1 guest PT page] */
	uint64_t pt_hpa[3];        /* the guest PT page behind each region */
	uint64_t pd_hpa;
	uint64_t fixed_pt_hpa;     /* the guest PT page used when the final access is under test */
};

static uint64_t frame_mapped(uint64_t gpa)
{
	uint64_t hpa = tw_frame();

	cr_assert_eq(nw_ept_map(&ept, nw_gpa(gpa), nw_hpa(hpa), NW_PAGE_SIZE, EPT_RWX | nw_ept_mt(NW_EPT_MT_WB), 0, NULL),
		     NW_OK);
	return hpa;
}

static void build(int levels, struct setup_state *st)
{
	struct nw_ept_config config = { .levels = levels, .memory_type = NW_EPT_MT_WB, .caps = nw_ept_caps_all() };
	uint64_t pml4, pdpt;

	cr_assert_eq(nw_ept_create(&ept, hal, &config), NW_OK);
	have_ept = true;
	tw.config.stage2 = (struct nw_stage2){ .kind = NW_STAGE2_EPT, .ept = &ept };
	st->levels = levels;
	pml4 = frame_mapped(G_PML4);
	pdpt = frame_mapped(G_PDPT);
	st->pd_hpa = frame_mapped(G_PD);
	st->fixed_pt_hpa = frame_mapped(G_PT);
	frame_mapped(G_PAGE);
	tw_set(pml4, 254, G_PDPT | RWU_A, 8);
	tw_set(pdpt, 72, G_PD | RWU_A, 8);
	for (int s = 0; s < 3; s++) {
		/* The guest PT page sits in a host frame inside the EPT leaf's host range. */
		uint64_t frame = tw_frame(), size = region_size[s];

		cr_assert_eq(nw_ept_map(&ept, nw_gpa(region_base[s]), nw_hpa(frame & ~(size - 1)), size,
					EPT_RWX | nw_ept_mt(NW_EPT_MT_WB), 0, NULL), NW_OK);
		st->pt_hpa[s] = frame;
		st->target_gpa[s][0] = region_base[s] + size / 2;
		st->target_gpa[s][1] = region_base[s] + (frame & (size - 1));
		tw_set(frame, 359, G_PAGE | RWU_A | NW_PTE_D, 8);
	}
	nw_cpu_set_mode(&tw.cpu, NW_PAGING_4LEVEL);
	tw.cpu.cr3 = G_PML4;
}

struct ecase {
	int size;        /* 0 4K, 1 2M, 2 1G */
	int target;      /* 0 final access, 1 guest PT page */
	unsigned rights; /* 3 bits per EPT level, level 1 lowest */
	unsigned extra;
	bool exec_only;
	enum nw_access_type type;
};

static uint64_t matrix_size(int levels)
{
	return UINT64_C(3) * 2 * (UINT64_C(1) << (3 * levels)) * X_N * 2 * 3;
}

static void decode(int levels, uint64_t index, struct ecase *c)
{
	c->type = (enum nw_access_type)(index % 3);
	index /= 3;
	c->exec_only = index % 2;
	index /= 2;
	c->extra = (unsigned)(index % X_N);
	index /= X_N;
	c->rights = (unsigned)(index % (UINT64_C(1) << (3 * levels)));
	index /= UINT64_C(1) << (3 * levels);
	c->target = (int)(index % 2);
	c->size = (int)(index / 2);
}

static unsigned level_rights(const struct ecase *c, int level)
{
	return (c->rights >> (3 * (level - 1))) & 7;
}

static bool is_legal(const struct ecase *c)
{
	int leaf = region_level[c->size];

	for (int level = 1; level < leaf; level++)
		if (level_rights(c, level))
			return false; /* below the leaf: no entry */
	if (c->extra == X_BIT12 && leaf == 1)
		return false; /* bit 12 of a 4 KiB leaf is an address bit */
	if (c->target == 1 && c->type != NW_ACCESS_READ)
		return false; /* a guest table read is a read whatever the access */
	return true;
}

static uint64_t rights_bits(unsigned r)
{
	return ((r & 1) ? NW_EPT_R : 0) | ((r & 2) ? NW_EPT_W : 0) | ((r & 4) ? NW_EPT_X : 0);
}

static void apply(const struct setup_state *st, const struct ecase *c, uint64_t gpa)
{
	int leaf = region_level[c->size];
	uint64_t old;

	ept.config.caps.exec_only = true;
	for (int level = st->levels; level >= leaf; level--) {
		/* Bit 12 is reserved in a large leaf but an address bit of a 4 KiB one. */
		uint64_t clear = EPT_RWX | (level == leaf ? NW_EPT_MT_MASK | (leaf > 1 ? UINT64_C(1) << 12 : 0) : 0);
		uint64_t set = EPT_RWX | (level == leaf ? nw_ept_mt(NW_EPT_MT_WB) : 0);

		cr_assert_eq(nw_ept_edit(&ept, nw_gpa(gpa), level, clear, set, &old, NULL), NW_OK);
	}
	for (int level = leaf; level <= st->levels; level++) {
		uint64_t set = rights_bits(level_rights(c, level));

		if (level == leaf && c->extra == X_MT2)
			set |= NW_EPT_MT_MASK & ((uint64_t)2 << NW_EPT_MT_SHIFT);
		if (level == leaf && c->extra == X_MT7)
			set |= NW_EPT_MT_MASK & ((uint64_t)7 << NW_EPT_MT_SHIFT);
		if (level == leaf && c->extra == X_BIT12)
			set |= UINT64_C(1) << 12;
		cr_assert_eq(nw_ept_edit(&ept, nw_gpa(gpa), level, EPT_RWX | (level == leaf ? NW_EPT_MT_MASK : 0), set,
					 &old, NULL), NW_OK);
	}
	ept.config.caps.exec_only = c->exec_only;
}

struct eexpect {
	enum nw_outcome outcome;
	uint64_t qualification;
	int level;
	bool on_guest_pml4; /* the shared 5-level EPT root entry stopped the first guest table read */
};

/* §29.3.3: walk the EPT top-down; an entry with R=W=X=0 is not present (violation);
 * W without R, or X alone without execute-only support, or a reserved memory type
 * (2, 3, 7) or bit 12 in a large leaf, is a misconfiguration; at the leaf the
 * access needs R, W or X in every entry (violation otherwise). */
static void expect(const struct setup_state *st, const struct ecase *c, struct eexpect *e)
{
	int leaf = region_level[c->size];
	unsigned and_rights = 7, need, top = level_rights(c, st->levels);

	if (st->levels == 5) {
		/* Every GPA below 2^48 shares the PML5E: the first guest table read (the PML4E) meets it first. */
		e->on_guest_pml4 = true;
		e->level = 5;
		if (((top & 2) && !(top & 1)) || (top == 4 && !c->exec_only)) {
			e->outcome = NW_OUTCOME_EPT_MISCONFIG;
			return;
		}
		if (!(top & 1)) {
			e->outcome = NW_OUTCOME_EPT_VIOLATION;
			e->qualification = 0x1 | (uint64_t)top << 3 | 0x80;
			return;
		}
		e->on_guest_pml4 = false;
	}
	for (int level = st->levels; level >= leaf; level--) {
		unsigned r = level_rights(c, level);

		and_rights &= r;
		if (r == 0) {
			e->outcome = NW_OUTCOME_EPT_VIOLATION;
			goto violation;
		}
		if (((r & 2) && !(r & 1)) || (r == 4 && !c->exec_only) ||
		    (level == leaf && c->extra != X_NONE)) {
			e->outcome = NW_OUTCOME_EPT_MISCONFIG;
			e->level = level;
			return;
		}
	}
	need = c->target == 1 ? 1 : c->type == NW_ACCESS_READ ? 1 : c->type == NW_ACCESS_WRITE ? 2 : 4;
	if (and_rights & need) {
		e->outcome = NW_OUTCOME_OK;
		return;
	}
	e->outcome = NW_OUTCOME_EPT_VIOLATION;
violation:
	if (c->target == 1) /* guest PT read: bit 0, linear address valid, bit 8 clear, no advanced info */
		e->qualification = 0x1 | (uint64_t)and_rights << 3 | 0x80;
	else /* the final access; the guest page is user, writable, executable: bits 9 and 10 */
		e->qualification = (c->type == NW_ACCESS_READ ? 0x1 : c->type == NW_ACCESS_WRITE ? 0x2 : 0x4) |
				   (uint64_t)and_rights << 3 | 0x80 | 0x100 | 0x600;
}

static uint64_t run_case(struct setup_state *st, struct nw_walker *walker, uint64_t index)
{
	struct ecase c;
	struct eexpect e = { 0 };
	struct nw_walk_result res;
	struct nw_access access;
	uint64_t gpa, fault_gpa;

	decode(st->levels, index, &c);
	if (!is_legal(&c))
		return 0;
	gpa = st->target_gpa[c.size][c.target];
	apply(st, &c, gpa);
	/* The guest PDE points at the PT page behind this region; the PTE maps the final target. */
	tw_set(st->pd_hpa, 418, (c.target ? gpa : G_PT) | RWU_A, 8);
	tw_set(c.target ? st->pt_hpa[c.size] : st->fixed_pt_hpa, 359, (c.target ? G_PAGE : gpa) | RWU_A | NW_PTE_D, 8);
	access = (struct nw_access){ .gva = nw_gva(GVA), .size = 1, .type = c.type };
	tw_walk_with(walker, &access, 0, &res);
	expect(st, &c, &e);
	fault_gpa = e.on_guest_pml4 ? G_PML4 + 254 * 8 : c.target ? gpa + 359 * 8 : gpa | (GVA & 0xfff);
	cr_assert_eq(res.outcome, e.outcome, "case %llu: outcome %s, SDM says %s", (unsigned long long)index,
		     nw_outcome_name(res.outcome), nw_outcome_name(e.outcome));
	if (e.outcome == NW_OUTCOME_EPT_VIOLATION) {
		cr_assert_eq(res.exit_qualification, e.qualification, "case %llu: qualification %#llx, SDM says %#llx",
			     (unsigned long long)index, (unsigned long long)res.exit_qualification,
			     (unsigned long long)e.qualification);
		cr_assert_eq(res.fault_gpa.val, fault_gpa, "case %llu: gpa", (unsigned long long)index);
		cr_assert_eq(res.s2_on_table, c.target == 1 || e.on_guest_pml4);
	} else if (e.outcome == NW_OUTCOME_EPT_MISCONFIG) {
		cr_assert_eq(res.fault_level, e.level, "case %llu: level %d, SDM says %d", (unsigned long long)index,
			     res.fault_level, e.level);
		cr_assert_eq(res.fault_gpa.val, fault_gpa);
	} else {
		cr_assert_eq(res.gpa.val, c.target ? G_PAGE | (GVA & 0xfff) : fault_gpa);
	}
	return 1;
}

static uint64_t next_random(uint64_t *state)
{
	*state ^= *state >> 12;
	*state ^= *state << 25;
	*state ^= *state >> 27;
	return *state * UINT64_C(2685821657736338717);
}

static void run_matrix(int levels, uint64_t sample)
{
	const char *full = getenv("NESTWALK_FULL_MATRIX");
	bool all = full && full[0] == '1';
	struct setup_state st;
	TW_WALKER walker = NULL;
	uint64_t size = matrix_size(levels), cases = 0, state = UINT64_C(0x2545f4914f6cdd1d) + (uint64_t)levels;

	build(levels, &st);
	walker = tw_walker(&tw.config, &tw.cpu);
	if (all) {
		for (uint64_t index = 0; index < size; index++)
			cases += run_case(&st, walker, index);
	} else {
		while (cases < sample)
			cases += run_case(&st, walker, next_random(&state) % size);
	}
	fprintf(stderr, "matrix EPT %d-level: %llu cases (%s)\n", levels, (unsigned long long)cases,
		all ? "full" : "seeded sample");
}

Test(matrix_ept, four_level_ept)
{
	run_matrix(4, 100000);
}

Test(matrix_ept, five_level_ept)
{
	run_matrix(5, 100000);
}

/* MOV to CR3 in PAE paging loads the four PDPTE registers from the guest PDPT
 * (SDM Vol. 3A §4.4.1) through EPT. The matrix: EPT A/D off and on, the EPT
 * rights of the 4 KiB leaf mapping the PDPT page, execute-only support, and a
 * reserved bit (bit 1) in PDPTE 2 or not.
 *
 * With EPT A/D on, guest paging-structure accesses are EPT writes (Vol. 3C
 * §29.3.5), but the PDPTE loads by MOV to CR3 "are treated as reads"
 * (§29.3.3.2) and set no EPT dirty flag (§29.3.5): A/D changes nothing here
 * but the accessed flag. So, per leaf rights r (upper EPT levels RWX):
 * - W without R (2, 6), or X alone without execute-only support (4):
 *   misconfiguration at EPT level 1 (§29.3.3.1);
 * - R clear otherwise (0; 4 with execute-only): EPT violation on PDPTE 0
 *   (the first one loaded), qualification (Table 28-7)
 *     bit 0 = 1 (a data read), bits 1 and 2 = 0 (not a write, not a fetch),
 *     bits 5:3 = r (the AND of the rights of every level, RWX above the leaf),
 *     bit 6 = 0 (no user-execute bit set), bit 7 = 0 (a PDPTE-register load
 *     is not a linear-address access), bit 8 = 0 (bit 7 is clear):
 *   r = 0 -> 0x1, r = 4 -> 0x1 | 4 << 3 = 0x21;
 * - R set (1, 3, 5, 7): the load is done; PDPTE 2's bit 1 (reserved,
 *   Table 4-8) then makes it #GP instead, CR3 unchanged. */
Test(matrix_ept, pae_pdpte_load)
{
	static const uint64_t pdpte[4] = { G_PD | NW_PTE_P, 0, G_PT | NW_PTE_P, 0 };
	unsigned cases = 0;

	for (int ad = 0; ad < 2; ad++) {
		struct nw_ept_config config = { .levels = 4, .ad = ad, .memory_type = NW_EPT_MT_WB,
						.caps = nw_ept_caps_all() };
		uint64_t pdpt;

		cr_assert_eq(nw_ept_create(&ept, hal, &config), NW_OK);
		have_ept = true;
		tw.config.stage2 = (struct nw_stage2){ .kind = NW_STAGE2_EPT, .ept = &ept };
		pdpt = frame_mapped(G_PDPT);
		for (unsigned c = 0; c < 8 * 2 * 2; c++) {
			unsigned r = c % 8, rsvd = c / 8 % 2, exec_only = c / 16;
			struct nw_walk_result res;
			uint64_t old, leaf;

			for (unsigned i = 0; i < 4; i++)
				tw_set(pdpt, i, pdpte[i] | (rsvd && i == 2 ? NW_PTE_RW : 0), 8);
			ept.config.caps.exec_only = true;
			cr_assert_eq(nw_ept_edit(&ept, nw_gpa(G_PDPT), 1, EPT_RWX | NW_EPT_A | NW_EPT_D, rights_bits(r),
						 &old, NULL), NW_OK);
			ept.config.caps.exec_only = exec_only;
			tw.cpu = (struct nw_cpu){ .cr3 = 0x5000, .maxphyaddr = NW_MAXPHYADDR_DEFAULT };
			nw_cpu_set_mode(&tw.cpu, NW_PAGING_PAE);
			nw_cpu_load_cr3(&tw.config, &tw.cpu, G_PDPT, &res);
			cr_assert_eq(nw_ept_edit(&ept, nw_gpa(G_PDPT), 1, 0, 0, &leaf, NULL), NW_OK);
			if (r == 2 || r == 6 || (r == 4 && !exec_only)) {
				cr_assert_eq(res.outcome, NW_OUTCOME_EPT_MISCONFIG, "A/D %d rights %u: %s", ad, r,
					     nw_outcome_name(res.outcome));
				cr_assert_eq(res.fault_level, 1);
			} else if (!(r & 1)) {
				cr_assert_eq(res.outcome, NW_OUTCOME_EPT_VIOLATION, "A/D %d rights %u: %s", ad, r,
					     nw_outcome_name(res.outcome));
				cr_assert_eq(res.exit_qualification, r == 0 ? 0x1 : 0x21, "A/D %d rights %u: %#llx", ad,
					     r, (unsigned long long)res.exit_qualification);
				cr_assert_eq(res.fault_gpa.val, G_PDPT);
				cr_assert(res.s2_on_table && !res.gla_valid);
			} else {
				cr_assert_eq(res.outcome, rsvd ? NW_OUTCOME_GP : NW_OUTCOME_OK,
					     "A/D %d rights %u: %s %#llx", ad, r, nw_outcome_name(res.outcome),
					     (unsigned long long)res.exit_qualification);
				/* A on the leaf used (A/D on), never D: the loads are reads. */
				cr_assert_eq(leaf & (NW_EPT_A | NW_EPT_D), ad ? NW_EPT_A : 0);
			}
			if (res.outcome == NW_OUTCOME_OK) {
				cr_assert(tw.cpu.pdptes_loaded && tw.cpu.cr3 == G_PDPT);
				for (unsigned i = 0; i < 4; i++)
					cr_assert_eq(tw.cpu.pdpte[i], pdpte[i]);
			} else {
				cr_assert(!tw.cpu.pdptes_loaded && tw.cpu.cr3 == 0x5000);
			}
			cases++;
		}
		nw_ept_destroy(&ept);
		have_ept = false;
	}
	cr_assert_eq(cases, 64);
}
