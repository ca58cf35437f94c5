/* nw_walker_probe(): a few walks with hand-derived results (SDM Vol. 3A §4.5,
 * §4.6, §4.7, §4.8), then matrices of entries x CPU states x accesses where
 * every case runs the probe, the reference walker and the fast walker from the
 * same memory. When the probe answers, the walkers must give a translation
 * with the same fields and write nothing; when it declines, they must fault
 * or write an A/D flag, and once that flag is written the probe must answer.
 *
 * CI runs a seeded sample of each matrix; with NESTWALK_FULL_MATRIX=1 (meson
 * -Dfull_matrix=true) every case runs. */
#include <nestwalk/ept.h>
#include <nestwalk/walk.h>
#include <stdio.h>
#include <stdlib.h>

#include "test_probe_util.h"

#define GVA4 UINT64_C(0x00007f1234567abc) /* PML4 254, PDPT 72, PD 418, PT 359 */
#define GVA5 UINT64_C(0x00ab7f1234567abc) /* PML5 0xab */
#define PAGE_4K UINT64_C(0x123456000)
#define PAGE_LARGE UINT64_C(0x40000000) /* 1 GiB aligned */
#define RWUA (NW_PTE_P | NW_PTE_RW | NW_PTE_US | NW_PTE_A)

static struct nw_ept ept;
static bool have_ept;

static void setup(void)
{
	tw_setup_direct_map(46);
	have_ept = false;
}

static void teardown(void)
{
	if (have_ept)
		nw_ept_destroy(&ept);
	tw_teardown();
}

TestSuite(probe, .init = setup, .fini = teardown);

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

/* One access through the probe and both walkers (tw_probe_and_walk), named by its index in the matrix. */
static bool check_access(struct nw_walker *walker, const struct nw_access *access, bool flags_only_in_guest,
			 uint64_t index)
{
	struct nw_walk_result res;
	char what[64];

	snprintf(what, sizeof(what), "case %llu", (unsigned long long)index);
	return tw_probe_and_walk(walker, access, flags_only_in_guest, what, &res);
}

/* Hand-derived walks. */

/* 4-level tables mapping GVA4 to PAGE_4K with the given upper and leaf flags. */
static void map4(uint64_t upper, uint64_t leaf)
{
	uint64_t tables[NW_MAX_LEVELS + 1];

	tw_map_4k(4, GVA4, PAGE_4K, upper, leaf, tables);
}

static bool probe_once(uint64_t gva, enum nw_access_type type, struct nw_walk_hit *hit)
{
	TW_WALKER walker = NULL;
	struct nw_access access = tw_access(gva, type);

	walker = tw_walker(&tw.config, &tw.cpu);
	return nw_walker_probe(walker, &access, hit);
}

Test(probe, plain_4k_read_translates)
{
	struct nw_walk_hit hit;

	map4(RWUA, RWUA | NW_PTE_PCD);
	cr_assert(probe_once(GVA4, NW_ACCESS_READ, &hit));
	cr_assert_eq(hit.gpa.val, PAGE_4K | 0xabc);
	cr_assert_eq(hit.hpa.val, PAGE_4K | 0xabc, "no second stage: HPA = GPA");
	cr_assert_eq(hit.guest_page_size, NW_PAGE_SIZE);
	cr_assert_eq(hit.leaf_level, NW_LEVEL_PT);
	cr_assert_eq(hit.rights, NW_WALK_RIGHT_W | NW_WALK_RIGHT_U | NW_WALK_RIGHT_X);
	cr_assert_eq(hit.guest_pat_index, 2, "PCD is bit 1 of the PAT index (§11.12.3)");
	cr_assert_eq(hit.leaf_entry, PAGE_4K | RWUA | NW_PTE_PCD);
	cr_assert_eq(hit.refs, 4);
	cr_assert_eq(hit.memory_type, 6, "write-back without a second stage");
}

Test(probe, write_needs_d_already_set)
{
	struct nw_walk_hit hit;

	map4(RWUA, RWUA);
	cr_assert(!probe_once(GVA4, NW_ACCESS_WRITE, &hit), "a write sets D (§4.8): the probe leaves it to the walk");
	cr_assert(probe_once(GVA4, NW_ACCESS_READ, &hit), "a read needs no D");
	map4(RWUA, RWUA | NW_PTE_D);
	cr_assert(probe_once(GVA4, NW_ACCESS_WRITE, &hit));
}

Test(probe, upper_entry_without_a_declines)
{
	struct nw_walk_hit hit;

	map4(RWUA & ~NW_PTE_A, RWUA | NW_PTE_D);
	cr_assert(!probe_once(GVA4, NW_ACCESS_READ, &hit), "A is set on every entry used (§4.8)");
}

Test(probe, rights_are_anded_and_xd_ored)
{
	struct nw_walk_hit hit;

	map4(NW_PTE_P | NW_PTE_US | NW_PTE_A | NW_PTE_XD, RWUA);
	tw.cpu.efer |= NW_EFER_NXE; /* XD in force */
	cr_assert(probe_once(GVA4, NW_ACCESS_READ, &hit));
	cr_assert_eq(hit.rights, NW_WALK_RIGHT_U, "R/W clear above, XD set above (§4.6.1)");
	cr_assert(!probe_once(GVA4, NW_ACCESS_FETCH, &hit), "XD forbids the fetch");
	tw.cpu.cpl = 3;
	cr_assert(!probe_once(GVA4, NW_ACCESS_WRITE, &hit), "a user write to a read-only page faults");
}

Test(probe, xd_without_nxe_is_reserved)
{
	struct nw_walk_hit hit;

	map4(RWUA, RWUA | NW_PTE_XD);
	cr_assert(!probe_once(GVA4, NW_ACCESS_READ, &hit), "bit 63 is reserved with EFER.NXE=0 (Table 4-19)");
}

/* Bit 7 of a PTE is PAT, not PS (Table 4-20): a PTE with it set is still a
 * 4 KiB leaf whose reserved bits are the PTE's, so bit 51 with MAXPHYADDR 46
 * still faults (§4.5.4: bits 51:M reserved; the walk's error code RSVD|P). */
Test(probe, pte_pat_bit_keeps_its_reserved_bits)
{
	struct nw_walk_hit hit;
	struct nw_walk_result res;
	struct nw_access access = tw_access(GVA4, NW_ACCESS_READ);

	map4(RWUA, RWUA | NW_PTE_PAT_4K | (UINT64_C(1) << 51));
	cr_assert(!probe_once(GVA4, NW_ACCESS_READ, &hit), "a reserved bit in the PTE: no translation");
	tw_walk(&access, 0, &res);
	cr_assert_eq(res.outcome, NW_OUTCOME_PAGE_FAULT);
	cr_assert_eq(res.error_code, NW_PFEC_RSVD | NW_PFEC_P);
	map4(RWUA, RWUA | NW_PTE_PAT_4K);
	cr_assert(probe_once(GVA4, NW_ACCESS_READ, &hit), "without it the PAT bit only selects the type");
	cr_assert_eq(hit.guest_pat_index, 4, "PAT is bit 2 of the PAT index (§11.12.3)");
}

Test(probe, smap_and_ac)
{
	struct nw_walk_hit hit;
	TW_WALKER walker = NULL;
	struct nw_access access = tw_access(GVA4, NW_ACCESS_READ);

	map4(RWUA, RWUA);
	tw.cpu.cr4 |= NW_CR4_SMAP;
	cr_assert(!probe_once(GVA4, NW_ACCESS_READ, &hit), "a supervisor read of a user page under SMAP");
	tw.cpu.rflags |= NW_RFLAGS_AC;
	cr_assert(probe_once(GVA4, NW_ACCESS_READ, &hit), "AC=1 lifts SMAP for an explicit access (§4.6.1)");
	access.implicit = true;
	walker = tw_walker(&tw.config, &tw.cpu);
	cr_assert(!nw_walker_probe(walker, &access, &hit), "but not for an implicit one");
}

Test(probe, protection_key_access_disable)
{
	struct nw_walk_hit hit;

	map4(RWUA, RWUA | (UINT64_C(3) << NW_PTE_PK_SHIFT));
	tw.cpu.cr4 |= NW_CR4_PKE;
	tw.cpu.cpl = 3;
	tw.cpu.pkru = NW_PKR_AD(3);
	cr_assert(!probe_once(GVA4, NW_ACCESS_READ, &hit), "PKRU.AD3 forbids data reads of key-3 user pages (§4.6.2)");
	cr_assert(probe_once(GVA4, NW_ACCESS_FETCH, &hit), "fetches ignore protection keys");
	tw.cpu.pkru = NW_PKR_AD(2);
	cr_assert(probe_once(GVA4, NW_ACCESS_READ, &hit), "another key's bit");
}

Test(probe, large_pages_and_ps_at_pml4)
{
	struct nw_walk_hit hit;
	uint64_t pml4 = tw_frame(), pdpt = tw_frame(), pd = tw_frame();

	nw_cpu_set_mode(&tw.cpu, NW_PAGING_4LEVEL);
	tw.cpu.cr3 = pml4;
	tw_set(pml4, 254, pdpt | RWUA, 8);
	tw_set(pdpt, 72, pd | RWUA, 8);
	tw_set(pd, 418, PAGE_LARGE | RWUA | NW_PTE_PS | NW_PTE_PAT_LARGE, 8);
	cr_assert(probe_once(GVA4, NW_ACCESS_READ, &hit));
	cr_assert_eq(hit.gpa.val, PAGE_LARGE | (GVA4 & (NW_SIZE_2M - 1)));
	cr_assert_eq(hit.guest_page_size, NW_SIZE_2M);
	cr_assert_eq(hit.leaf_level, NW_LEVEL_PD);
	cr_assert_eq(hit.guest_pat_index, 4, "PAT is bit 12 of a large leaf");
	cr_assert_eq(hit.refs, 3);
	tw_set(pdpt, 72, PAGE_LARGE | RWUA | NW_PTE_PS, 8);
	cr_assert(probe_once(GVA4, NW_ACCESS_READ, &hit));
	cr_assert_eq(hit.gpa.val, PAGE_LARGE | (GVA4 & (NW_SIZE_1G - 1)));
	cr_assert_eq(hit.guest_page_size, NW_SIZE_1G);
	tw.cpu.no_1g_pages = true;
	cr_assert(!probe_once(GVA4, NW_ACCESS_READ, &hit), "PS in a PDPTE is reserved without 1 GiB pages");
	tw.cpu.no_1g_pages = false;
	tw_set(pml4, 254, PAGE_LARGE | RWUA | NW_PTE_PS, 8);
	cr_assert(!probe_once(GVA4, NW_ACCESS_READ, &hit), "PS in a PML4E is reserved (Table 4-15)");
}

Test(probe, non_canonical_and_other_modes_decline)
{
	struct nw_walk_hit hit;

	map4(RWUA, RWUA);
	cr_assert(!probe_once(GVA4 | (UINT64_C(1) << 50), NW_ACCESS_READ, &hit), "bits 63:48 not all bit 47: #GP");
	nw_cpu_set_mode(&tw.cpu, NW_PAGING_PAE);
	cr_assert(!probe_once(GVA4 & 0xffffffff, NW_ACCESS_READ, &hit), "PAE paging is out of the probe's scope");
	nw_cpu_set_mode(&tw.cpu, NW_PAGING_OFF);
	cr_assert(!probe_once(GVA4 & 0xffffffff, NW_ACCESS_READ, &hit), "so is paging off");
}

/* The 1-D matrix: 4-/5-level, the leaf at each level, the flags of the leaf
 * and of its parent, a reserved bit, the CPU's control bits, protection keys,
 * the access, and the A/D policy. */
enum { D_MODE, D_LEAF, D_PARENT, D_LEAF_FLAGS, D_RSVD, D_CPU, D_PK, D_ACCESS, D_POLICY, D_N };
static const unsigned radix_1d[D_N] = { 2, 3, 32, 64, 6, 64, 4, 6, 2 };

enum { F_P = 1, F_W = 2, F_U = 4, F_A = 8, F_NX = 16, F_D = 32 };
enum { C_WP = 1, C_SMEP = 2, C_SMAP = 4, C_AC = 8, C_NXE = 16, C_CPL3 = 32 };
enum { R_NONE, R_LEAF51, R_PARENT51, R_LEAF13, R_TOP_PS, R_NO_1G };

static uint64_t entry_bits(unsigned flags)
{
	return ((flags & F_P) ? NW_PTE_P : 0) | ((flags & F_W) ? NW_PTE_RW : 0) | ((flags & F_U) ? NW_PTE_US : 0) |
	       ((flags & F_A) ? NW_PTE_A : 0) | ((flags & F_NX) ? NW_PTE_XD : 0) | ((flags & F_D) ? NW_PTE_D : 0);
}

struct tables {
	uint64_t table[NW_MAX_LEVELS + 1];
};

static uint64_t index_of(uint64_t gva, int level)
{
	return (gva >> (12 + 9 * (level - 1))) & 511;
}

static void decode(const unsigned *radix, uint64_t index, unsigned *v)
{
	for (unsigned d = 0; d < D_N; d++) {
		v[d] = (unsigned)(index % radix[d]);
		index /= radix[d];
	}
}

/* Writes the case's entries and CPU state; returns the access. */
static struct nw_access apply_1d(const struct tables *t, const unsigned *v)
{
	static const int leaves[3] = { NW_LEVEL_PT, NW_LEVEL_PD, NW_LEVEL_PDPT };
	static const struct { bool pke, pks; uint32_t pkr; } pk[4] = {
		{ false, false, 0 }, { true, false, NW_PKR_AD(1) }, { true, false, NW_PKR_WD(1) },
		{ false, true, NW_PKR_AD(1) | NW_PKR_WD(1) },
	};
	int top = v[D_MODE] ? NW_LEVEL_PML5 : NW_LEVEL_PML4, leaf = leaves[v[D_LEAF]];
	uint64_t gva = v[D_MODE] ? GVA5 : GVA4, cpu = v[D_CPU];
	uint64_t parent = entry_bits(v[D_PARENT]) | t->table[leaf], page;
	uint64_t entry = entry_bits(v[D_LEAF_FLAGS]) | (UINT64_C(1) << NW_PTE_PK_SHIFT);

	tw.cpu = (struct nw_cpu){ .maxphyaddr = 46, .no_1g_pages = v[D_RSVD] == R_NO_1G };
	nw_cpu_set_mode(&tw.cpu, v[D_MODE] ? NW_PAGING_5LEVEL : NW_PAGING_4LEVEL);
	tw.cpu.cr3 = t->table[top];
	tw.cpu.cr0 |= (cpu & C_WP) ? NW_CR0_WP : 0;
	tw.cpu.cr4 |= ((cpu & C_SMEP) ? NW_CR4_SMEP : 0) | ((cpu & C_SMAP) ? NW_CR4_SMAP : 0) |
		      (pk[v[D_PK]].pke ? NW_CR4_PKE : 0) | (pk[v[D_PK]].pks ? NW_CR4_PKS : 0);
	tw.cpu.efer |= (cpu & C_NXE) ? NW_EFER_NXE : 0;
	tw.cpu.rflags = (cpu & C_AC) ? NW_RFLAGS_AC : 0;
	tw.cpu.cpl = (cpu & C_CPL3) ? 3 : 0;
	tw.cpu.pkru = pk[v[D_PK]].pke ? pk[v[D_PK]].pkr : 0;
	tw.cpu.pkrs = pk[v[D_PK]].pks ? pk[v[D_PK]].pkr : 0;
	tw.config.ad_policy = v[D_POLICY] ? NW_AD_ON_SUCCESS : NW_AD_AS_PASSED;

	/* Entries above the parent: present, writable, user, accessed. */
	for (int level = top; level > leaf + 1; level--)
		tw_set(t->table[level], (unsigned)index_of(gva, level), t->table[level - 1] | RWUA, 8);
	page = leaf == NW_LEVEL_PT ? PAGE_4K : PAGE_LARGE;
	entry |= page | (leaf == NW_LEVEL_PT ? 0 : NW_PTE_PS);
	switch (v[D_RSVD]) {
	case R_LEAF51: entry |= UINT64_C(1) << 51; break;
	case R_PARENT51: parent |= UINT64_C(1) << 51; break;
	case R_LEAF13: entry |= UINT64_C(1) << 13; break; /* reserved in a large leaf, an address bit in a PTE */
	case R_TOP_PS: /* PS in the top entry: reserved, and the walk ends there */
		if (top > leaf + 1)
			tw_set(t->table[top], (unsigned)index_of(gva, top), PAGE_LARGE | RWUA | NW_PTE_PS, 8);
		break;
	}
	tw_set(t->table[leaf + 1], (unsigned)index_of(gva, leaf + 1), parent, 8);
	tw_set(t->table[leaf], (unsigned)index_of(gva, leaf), entry, 8);
	return (struct nw_access){ .gva = nw_gva(gva), .size = 1, .type = (enum nw_access_type)(v[D_ACCESS] % 3),
				   .implicit = v[D_ACCESS] >= 3 };
}

struct tally {
	uint64_t cases, answered;
};

static void run_1d_case(const struct tables *t, struct nw_walker *walker, uint64_t index, struct tally *tally)
{
	unsigned v[D_N];
	struct nw_access access;

	decode(radix_1d, index, v);
	access = apply_1d(t, v);
	nw_walker_init(walker, &tw.config, &tw.cpu); /* in place: the storage is the walker's */
	tally->answered += check_access(walker, &access, true, index);
	tally->cases++;
}

static uint64_t matrix_size(const unsigned *radix)
{
	uint64_t n = 1;

	for (unsigned d = 0; d < D_N; d++)
		n *= radix[d];
	return n;
}

Test(probe, matrix_1d)
{
	struct tables t;
	TW_WALKER walker = tw_walker(&tw.config, &tw.cpu); /* built again for each case's CPU state */
	struct tally tally = { 0 };
	uint64_t size = matrix_size(radix_1d), state = UINT64_C(0x9e3779b97f4a7c15);

	for (int level = 1; level <= NW_MAX_LEVELS; level++)
		t.table[level] = tw_frame();
	if (full_matrix())
		for (uint64_t index = 0; index < size; index++)
			run_1d_case(&t, walker, index, &tally);
	else
		while (tally.cases < 150000)
			run_1d_case(&t, walker, next_random(&state) % size, &tally);
	fprintf(stderr, "probe matrix 1-D: %llu cases, %llu translations answered by the probe (%s)\n",
		(unsigned long long)tally.cases, (unsigned long long)tally.answered,
		full_matrix() ? "full" : "seeded sample");
	cr_assert_gt(tally.answered, tally.cases / 50, "the matrix reaches the probe's plain case");
}

/* The 2-D matrix: guest tables in guest-physical memory over a 4-level EPT
 * (A/D on or off), the final page's EPT rights, the guest leaf's flags, the
 * CPU's CPL, WP and NXE, and the access. */
enum { E_AD, E_RIGHTS, E_LEAF_FLAGS, E_CPU, E_ACCESS, E_N };
static const unsigned radix_2d[E_N] = { 2, 4, 64, 8, 3 };
static const uint64_t final_rights[4] = { NW_EPT_R, NW_EPT_R | NW_EPT_W, NW_EPT_R | NW_EPT_X,
					  NW_EPT_R | NW_EPT_W | NW_EPT_X };

#define G_TABLES UINT64_C(0x10000) /* guest tables at 0x10000 + level * 4 KiB */
#define G_DATA UINT64_C(0x200000)  /* the data page for final_rights[k] at G_DATA + k * 4 KiB */

static void run_2d_case(uint64_t index, struct tally *tally)
{
	unsigned v[E_N];
	uint64_t hpa[NW_MAX_LEVELS + 1], leaf_flags, gva = GVA4;
	struct nw_ept_config config = { .levels = 4, .memory_type = NW_EPT_MT_WB, .caps = nw_ept_caps_all() };
	TW_WALKER walker = NULL;
	struct nw_access access;

	for (unsigned d = 0, rest = (unsigned)index; d < E_N; d++) {
		v[d] = rest % radix_2d[d];
		rest /= radix_2d[d];
	}
	config.ad = v[E_AD];
	cr_assert_eq(nw_ept_create(&ept, hal, &config), NW_OK);
	have_ept = true;
	tw.config.stage2 = (struct nw_stage2){ .kind = NW_STAGE2_EPT, .ept = &ept };
	tw.config.ad_policy = NW_AD_AS_PASSED;
	for (int level = 1; level <= 4; level++) {
		hpa[level] = tw_frame();
		uint64_t rwx = NW_EPT_R | NW_EPT_W | NW_EPT_X | nw_ept_mt(NW_EPT_MT_WB);

		cr_assert_eq(nw_ept_map(&ept, nw_gpa(G_TABLES + (uint64_t)level * NW_PAGE_SIZE), nw_hpa(hpa[level]),
					NW_PAGE_SIZE, rwx, 0, NULL), NW_OK);
	}
	for (unsigned k = 0; k < 4; k++)
		cr_assert_eq(nw_ept_map(&ept, nw_gpa(G_DATA + k * NW_PAGE_SIZE), nw_hpa(tw_frame()), NW_PAGE_SIZE,
					final_rights[k] | nw_ept_mt(NW_EPT_MT_WB), 0, NULL), NW_OK);
	tw.cpu = (struct nw_cpu){ .maxphyaddr = 46 };
	nw_cpu_set_mode(&tw.cpu, NW_PAGING_4LEVEL);
	tw.cpu.cr3 = G_TABLES + 4 * NW_PAGE_SIZE;
	tw.cpu.cr0 |= (v[E_CPU] & 1) ? NW_CR0_WP : 0;
	tw.cpu.efer |= (v[E_CPU] & 2) ? NW_EFER_NXE : 0;
	tw.cpu.cpl = (v[E_CPU] & 4) ? 3 : 0;
	leaf_flags = entry_bits(v[E_LEAF_FLAGS]);
	for (int level = 4; level >= 1; level--)
		tw_set(hpa[level], (unsigned)index_of(gva, level),
		       level == 1 ? (G_DATA + v[E_RIGHTS] * NW_PAGE_SIZE) | leaf_flags
				  : (G_TABLES + (uint64_t)(level - 1) * NW_PAGE_SIZE) | RWUA, 8);
	access = (struct nw_access){ .gva = nw_gva(gva), .size = 1, .type = (enum nw_access_type)v[E_ACCESS] };
	walker = tw_walker(&tw.config, &tw.cpu);
	/* With EPT A/D on, a declined walk may have set only EPT flags, which the guest slots do not show. */
	tally->answered += check_access(walker, &access, !v[E_AD], index);
	/* Every EPT flag and guest flag is set now: the same access again is the plain case. */
	tally->answered += check_access(walker, &access, true, index);
	tally->cases += 2;
	nw_ept_destroy(&ept);
	have_ept = false;
	for (unsigned i = 0; i < tw.nframes; i++)
		nw_hal_dealloc_frame(hal, tw.frames[i]);
	tw.nframes = 0;
	tw.nslots = 0;
}

Test(probe, matrix_2d_ept)
{
	struct tally tally = { 0 };
	uint64_t size = 1, state = UINT64_C(0x2545f4914f6cdd1d);

	for (unsigned d = 0; d < E_N; d++)
		size *= radix_2d[d];
	if (full_matrix())
		for (uint64_t index = 0; index < size; index++)
			run_2d_case(index, &tally);
	else
		for (unsigned i = 0; i < 600; i++)
			run_2d_case(next_random(&state) % size, &tally);
	fprintf(stderr, "probe matrix 2-D: %llu walks, %llu translations answered by the probe (%s)\n",
		(unsigned long long)tally.cases, (unsigned long long)tally.answered,
		full_matrix() ? "full" : "seeded sample");
	cr_assert_gt(tally.answered, tally.cases / 20, "the matrix reaches the probe's plain case");
}
