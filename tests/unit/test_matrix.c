/* The exhaustive access matrix, in the style of kvm-unit-tests' x86/access.c:
 * for each paging mode, every legal combination of PDE and PTE flags, one
 * reserved bit at a time, the PDPTE, the control-register bits and CPL, and
 * the access kind. Each case runs through both walkers (which must agree,
 * A/D writes included) and is checked against the outcome derived here from
 * the SDM rules (Vol. 3A §4.6, §4.7, §4.8) in the test's own terms.
 *
 * CI runs a seeded sample of each matrix; with NESTWALK_FULL_MATRIX=1 (meson
 * -Dfull_matrix=true) every case runs. */
#include <nestwalk/walk.h>
#include <stdio.h>
#include <stdlib.h>

#include "test_walk_util.h"

TestSuite(matrix, .init = tw_setup, .fini = tw_teardown);

/* Matrix-local entry flags. */
enum { F_P = 1, F_W = 2, F_U = 4, F_A = 8, F_D = 16, F_NX = 32, F_PS = 64 };

/* Reserved-bit choices. */
enum {
	R_NONE,
	R_PTE51,     /* 4-/5-level: PTE bit 51 (MAXPHYADDR 46) */
	R_PTE_M,     /* PTE bit MAXPHYADDR (46) */
	R_PDE51,     /* 4-/5-level: PDE bit 51 */
	R_PDE13,     /* bit 13 of a 2 MiB PDE */
	R_PTE62,     /* PAE: PTE bit 62 */
	R_PDE21,     /* 32-bit: bit 21 of a 4 MiB PDE */
	R_PDE17_M36, /* 32-bit: bit 17 of a 4 MiB PDE with MAXPHYADDR 36 (PSE-36 limit) */
};

/* PK states: which register, which key on the leaf, what the register says for key 1. */
struct pk_state {
	bool pke, pks;
	unsigned key;
	uint32_t pkru, pkrs;
};

static const struct pk_state pk_states[] = {
	{ false, false, 1, 0xffffffff, 0xffffffff }, /* keys off: the registers do not matter */
	{ true, false, 1, 0, 0 },
	{ true, false, 1, NW_PKR_AD(1), 0 },
	{ true, false, 1, NW_PKR_WD(1), 0 },
	{ true, false, 1, NW_PKR_AD(1) | NW_PKR_WD(1), 0 },
	{ true, false, 0, NW_PKR_AD(1) | NW_PKR_WD(1), 0 }, /* another key's bits */
	{ false, true, 1, 0, NW_PKR_WD(1) },
	{ false, true, 1, NW_PKR_AD(1), NW_PKR_AD(1) },
};

enum { D_TYPE, D_PK, D_WP, D_SMEP, D_SMAP, D_AC, D_NXE, D_CPL3, D_IMPLICIT, D_PSE, D_PDPTE, D_RSVD, D_PTE, D_PDE, D_N };

struct matrix {
	enum nw_paging_mode mode;
	unsigned radix[D_N];
	unsigned rsvd_choices[8];
};

static const struct matrix long_matrix = {
	.radix = { 3, 8, 2, 2, 2, 2, 2, 2, 2, 1, 2, 5, 64, 128 },
	.rsvd_choices = { R_NONE, R_PTE51, R_PTE_M, R_PDE51, R_PDE13 },
};
static const struct matrix pae_matrix = {
	.mode = NW_PAGING_PAE,
	.radix = { 3, 1, 2, 2, 2, 2, 2, 2, 2, 1, 2, 4, 64, 128 },
	.rsvd_choices = { R_NONE, R_PTE62, R_PTE_M, R_PDE13 },
};
static const struct matrix m32_matrix = {
	.mode = NW_PAGING_32,
	.radix = { 3, 1, 2, 2, 2, 2, 2, 2, 2, 2, 1, 3, 64, 128 },
	.rsvd_choices = { R_NONE, R_PDE21, R_PDE17_M36 },
};

struct mcase {
	unsigned v[D_N];
	unsigned rsvd;
};

static uint64_t matrix_size(const struct matrix *m)
{
	uint64_t n = 1;

	for (unsigned d = 0; d < D_N; d++)
		n *= m->radix[d];
	return n;
}

static void decode(const struct matrix *m, uint64_t index, struct mcase *c)
{
	for (unsigned d = 0; d < D_N; d++) {
		c->v[d] = (unsigned)(index % m->radix[d]);
		index /= m->radix[d];
	}
	c->rsvd = m->rsvd_choices[c->v[D_RSVD]];
}

static bool pde_is_leaf(enum nw_paging_mode mode, const struct mcase *c)
{
	return (c->v[D_PDE] & F_PS) && (mode != NW_PAGING_32 || c->v[D_PSE]);
}

/* As access.c's ac_test_legal: skip combinations that differ only in bits the
 * walk never looks at. */
static bool is_legal(enum nw_paging_mode mode, const struct mcase *c)
{
	unsigned pde = c->v[D_PDE], pte = c->v[D_PTE];
	bool leaf = pde_is_leaf(mode, c);

	if (mode == NW_PAGING_32 && ((pde | pte) & F_NX))
		return false; /* 32-bit entries have no XD */
	if (pte & F_PS)
		return false;
	if (mode == NW_PAGING_PAE && c->v[D_PDPTE] && (pde || pte || c->rsvd))
		return false; /* PDPTE not present: nothing below is read */
	if (!(pde & F_P))
		return pde == 0 && pte == 0 && c->rsvd == R_NONE;
	if (leaf && pte)
		return false;
	switch (c->rsvd) {
	case R_PDE13:
	case R_PDE21:
	case R_PDE17_M36:
		return leaf;
	case R_PTE51:
	case R_PTE_M:
	case R_PTE62:
		return !leaf;
	}
	return true;
}

#define PAGE_4K UINT64_C(0x123456000)
#define PAGE_4K_32 UINT64_C(0x3456000)
#define PAGE_LARGE UINT64_C(0x40000000) /* 2 MiB and 4 MiB aligned */

static uint64_t entry_bits(unsigned flags)
{
	return ((flags & F_P) ? NW_PTE_P : 0) | ((flags & F_W) ? NW_PTE_RW : 0) | ((flags & F_U) ? NW_PTE_US : 0) |
	       ((flags & F_A) ? NW_PTE_A : 0) | ((flags & F_D) ? NW_PTE_D : 0) | ((flags & F_NX) ? NW_PTE_XD : 0) |
	       ((flags & F_PS) ? NW_PTE_PS : 0);
}

struct tables {
	unsigned levels;
	uint64_t table[NW_MAX_LEVELS + 1];
	unsigned index[NW_MAX_LEVELS + 1];
	uint64_t gva;
	unsigned bytes;
};

static void build_tables(enum nw_paging_mode mode, struct tables *t)
{
	t->levels = mode == NW_PAGING_5LEVEL ? 5 : mode == NW_PAGING_4LEVEL ? 4 : mode == NW_PAGING_PAE ? 3 : 2;
	t->bytes = mode == NW_PAGING_32 ? 4 : 8;
	t->gva = mode == NW_PAGING_5LEVEL ? UINT64_C(0xff5a7f1234567abc)
		 : mode == NW_PAGING_4LEVEL ? UINT64_C(0xffff9f1234567abc) : UINT64_C(0xc0345abc);
	for (unsigned level = 1; level <= t->levels; level++) {
		unsigned shift = mode == NW_PAGING_32 ? (level == 2 ? 22 : 12) : 12 + 9 * (level - 1);
		unsigned bits = mode == NW_PAGING_32 ? 10 : (mode == NW_PAGING_PAE && level == 3) ? 2 : 9;

		t->table[level] = tw_frame();
		t->index[level] = (unsigned)((t->gva >> shift) & ((1u << bits) - 1));
	}
	/* Upper levels (above the PDPT) fixed: present, writable, user, accessed. */
	for (unsigned level = t->levels; level > 3; level--)
		tw_set(t->table[level], t->index[level], t->table[level - 1] | NW_PTE_P | NW_PTE_RW | NW_PTE_US | NW_PTE_A,
		       8);
	tw.cpu.cr3 = t->table[t->levels];
}

/* Writes the case's PDPTE, PDE and PTE and sets the CPU; returns the entries written. */
static void apply(enum nw_paging_mode mode, const struct tables *t, const struct mcase *c, uint64_t *pde_out,
		  uint64_t *pte_out)
{
	const struct pk_state *pk = &pk_states[c->v[D_PK]];
	bool leaf = pde_is_leaf(mode, c);
	uint64_t key = (uint64_t)pk->key << NW_PTE_PK_SHIFT;
	uint64_t pde = entry_bits(c->v[D_PDE]), pte = entry_bits(c->v[D_PTE]);

	tw.cpu = (struct nw_cpu){ .maxphyaddr = c->rsvd == R_PDE17_M36 ? 36 : 46 };
	nw_cpu_set_mode(&tw.cpu, mode);
	tw.cpu.cr3 = t->table[t->levels];
	tw.cpu.cr0 |= c->v[D_WP] ? NW_CR0_WP : 0;
	tw.cpu.cr4 |= (c->v[D_SMEP] ? NW_CR4_SMEP : 0) | (c->v[D_SMAP] ? NW_CR4_SMAP : 0) |
		      (c->v[D_PSE] ? NW_CR4_PSE : 0) | (pk->pke ? NW_CR4_PKE : 0) | (pk->pks ? NW_CR4_PKS : 0);
	tw.cpu.efer |= c->v[D_NXE] ? NW_EFER_NXE : 0;
	tw.cpu.rflags = c->v[D_AC] ? NW_RFLAGS_AC : 0;
	tw.cpu.cpl = c->v[D_CPL3] ? 3 : 0;
	tw.cpu.pkru = pk->pkru;
	tw.cpu.pkrs = pk->pkrs;

	if (mode == NW_PAGING_PAE) {
		tw.cpu.pdptes_loaded = true;
		tw.cpu.pdpte[t->index[3]] = c->v[D_PDPTE] ? 0 : t->table[2] | NW_PTE_P;
	} else if (mode != NW_PAGING_32) {
		tw_set(t->table[3], t->index[3],
		       t->table[2] | NW_PTE_P | NW_PTE_US | NW_PTE_A | (c->v[D_PDPTE] ? 0 : NW_PTE_RW), 8);
	}
	if (pde & NW_PTE_P)
		pde |= leaf ? PAGE_LARGE : t->table[1];
	if (pte & NW_PTE_P)
		pte |= mode == NW_PAGING_32 ? PAGE_4K_32 : PAGE_4K;
	if (mode == NW_PAGING_4LEVEL || mode == NW_PAGING_5LEVEL)
		*(leaf ? &pde : &pte) |= key; /* protection keys exist only in IA-32e paging entries */
	switch (c->rsvd) {
	case R_PTE51: pte |= UINT64_C(1) << 51; break;
	case R_PTE_M: pte |= UINT64_C(1) << 46; break;
	case R_PTE62: pte |= UINT64_C(1) << 62; break;
	case R_PDE51: pde |= UINT64_C(1) << 51; break;
	case R_PDE13: pde |= UINT64_C(1) << 13; break;
	case R_PDE21: pde |= UINT64_C(1) << 21; break;
	case R_PDE17_M36: pde |= UINT64_C(1) << 17; break;
	}
	tw_set(t->table[2], t->index[2], pde, t->bytes);
	tw_set(t->table[1], t->index[1], pte, t->bytes);
	*pde_out = pde;
	*pte_out = pte;
}

struct expect {
	bool fault;
	uint32_t error_code;
	uint64_t gpa;
	uint64_t pde_after, pte_after;
};

/* The outcome as the SDM rules give it, written out for this matrix's shape. */
static void expect_case(enum nw_paging_mode mode, const struct tables *t, const struct mcase *c, uint64_t pde_val,
			uint64_t pte_val, struct expect *e)
{
	const struct pk_state *pk = &pk_states[c->v[D_PK]];
	unsigned pde = c->v[D_PDE], pte = c->v[D_PTE];
	enum nw_access_type type = (enum nw_access_type)c->v[D_TYPE];
	bool write = type == NW_ACCESS_WRITE, fetch = type == NW_ACCESS_FETCH;
	bool user = c->v[D_CPL3] && !c->v[D_IMPLICIT];
	bool nxe = c->v[D_NXE], xd_exists = mode != NW_PAGING_32;
	bool leaf = pde_is_leaf(mode, c), writable, usr, exec, pk_fault = false, fault = false;
	uint32_t code = (write ? 2 : 0) | (user ? 4 : 0) | (fetch && (c->v[D_SMEP] || (xd_exists && nxe)) ? 0x10 : 0);

	*e = (struct expect){ .pde_after = pde_val, .pte_after = pte_val };
	e->fault = true;
	e->error_code = code;
	if (mode == NW_PAGING_PAE && c->v[D_PDPTE])
		return;
	if (!(pde & F_P))
		return;
	if (c->rsvd == R_PDE51 || c->rsvd == R_PDE13 || c->rsvd == R_PDE21 || c->rsvd == R_PDE17_M36 ||
	    (xd_exists && !nxe && (pde & F_NX))) {
		e->error_code |= 0x9;
		return;
	}
	writable = (mode == NW_PAGING_PAE || mode == NW_PAGING_32 || !c->v[D_PDPTE]) && (pde & F_W);
	usr = pde & F_U;
	exec = !(xd_exists && nxe && (pde & F_NX));
	if (!leaf) {
		e->pde_after |= NW_PTE_A; /* passed on the way down */
		if (!(pte & F_P))
			return;
		if (c->rsvd == R_PTE51 || c->rsvd == R_PTE_M || c->rsvd == R_PTE62 || (xd_exists && !nxe && (pte & F_NX))) {
			e->error_code |= 0x9;
			return;
		}
		writable = writable && (pte & F_W);
		usr = usr && (pte & F_U);
		exec = exec && !(xd_exists && nxe && (pte & F_NX));
	}
	if (user && !usr)
		fault = true;
	if (write && !writable && (user || c->v[D_WP]))
		fault = true;
	if (fetch && !exec)
		fault = true;
	if (fetch && !user && usr && c->v[D_SMEP])
		fault = true;
	if (!fetch && !user && usr && c->v[D_SMAP] && !(c->v[D_AC] && !c->v[D_IMPLICIT] && !c->v[D_CPL3]))
		fault = true;
	if (xd_exists && mode != NW_PAGING_PAE && !fetch && (usr ? pk->pke : pk->pks)) {
		uint32_t reg = usr ? pk->pkru : pk->pkrs;

		if ((reg & NW_PKR_AD(pk->key)) || (write && (reg & NW_PKR_WD(pk->key)) && (user || c->v[D_WP])))
			pk_fault = true;
	}
	if (fault || pk_fault) {
		e->error_code |= 0x1 | (pk_fault ? 0x20 : 0);
		return;
	}
	e->fault = false;
	e->error_code = 0;
	if (leaf) {
		uint64_t size = mode == NW_PAGING_32 ? NW_SIZE_4M : NW_SIZE_2M;

		e->gpa = PAGE_LARGE | (t->gva & (size - 1));
		e->pde_after |= NW_PTE_A | (write ? NW_PTE_D : 0);
	} else {
		e->gpa = (mode == NW_PAGING_32 ? PAGE_4K_32 : PAGE_4K) | (t->gva & 0xfff);
		e->pte_after |= NW_PTE_A | (write ? NW_PTE_D : 0);
	}
}

static bool full_matrix(void)
{
	const char *full = getenv("NESTWALK_FULL_MATRIX");

	return full && full[0] == '1';
}

static uint64_t next_random(uint64_t *state)
{
	/* xorshift64*: a fixed seed makes the CI sample the same every run. */
	*state ^= *state >> 12;
	*state ^= *state << 25;
	*state ^= *state >> 27;
	return *state * UINT64_C(2685821657736338717);
}

static uint64_t run_case(const struct matrix *m, enum nw_paging_mode mode, const struct tables *t,
			 struct nw_walker *walker, uint64_t index)
{
	struct mcase c;
	struct expect e;
	struct nw_walk_result res;
	struct nw_access access;
	uint64_t pde, pte;

	decode(m, index, &c);
	if (!is_legal(mode, &c))
		return 0;
	apply(mode, t, &c, &pde, &pte);
	nw_walker_set_cpu(walker, &tw.cpu);
	access = (struct nw_access){ .gva = nw_gva(t->gva), .size = 1, .type = (enum nw_access_type)c.v[D_TYPE],
				     .implicit = c.v[D_IMPLICIT] };
	tw_walk_with(walker, &access, 0, &res);
	expect_case(mode, t, &c, pde, pte, &e);
	cr_assert_eq(res.outcome, e.fault ? NW_OUTCOME_PAGE_FAULT : NW_OUTCOME_OK, "case %llu: outcome %s",
		     (unsigned long long)index, nw_outcome_name(res.outcome));
	cr_assert_eq(res.error_code, e.error_code, "case %llu: error code %#x, SDM says %#x", (unsigned long long)index,
		     res.error_code, e.error_code);
	if (!e.fault)
		cr_assert_eq(res.gpa.val, e.gpa, "case %llu: gpa", (unsigned long long)index);
	cr_assert_eq(tw_read(t->table[2] + t->index[2] * t->bytes, t->bytes), e.pde_after & (t->bytes == 4 ? 0xffffffff : ~UINT64_C(0)),
		     "case %llu: PDE after", (unsigned long long)index);
	cr_assert_eq(tw_read(t->table[1] + t->index[1] * t->bytes, t->bytes), e.pte_after & (t->bytes == 4 ? 0xffffffff : ~UINT64_C(0)),
		     "case %llu: PTE after", (unsigned long long)index);
	return 1;
}

static void run_matrix(const struct matrix *m, enum nw_paging_mode mode, uint64_t sample)
{
	struct tables t;
	TW_WALKER walker = NULL;
	uint64_t size = matrix_size(m), cases = 0, state = UINT64_C(0x9e3779b97f4a7c15) ^ mode;

	build_tables(mode, &t);
	walker = tw_walker(&tw.config, &tw.cpu);
	if (full_matrix()) {
		for (uint64_t index = 0; index < size; index++)
			cases += run_case(m, mode, &t, walker, index);
	} else {
		while (cases < sample)
			cases += run_case(m, mode, &t, walker, next_random(&state) % size);
	}
	fprintf(stderr, "matrix %s: %llu cases (%s)\n", nw_paging_mode_name(mode), (unsigned long long)cases,
		full_matrix() ? "full" : "seeded sample");
}

Test(matrix, four_level)
{
	run_matrix(&long_matrix, NW_PAGING_4LEVEL, 200000);
}

Test(matrix, five_level)
{
	run_matrix(&long_matrix, NW_PAGING_5LEVEL, 200000);
}

Test(matrix, pae)
{
	run_matrix(&pae_matrix, NW_PAGING_PAE, 100000);
}

Test(matrix, paging32)
{
	run_matrix(&m32_matrix, NW_PAGING_32, 100000);
}
