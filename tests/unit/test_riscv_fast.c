/* The fast walker for the RISC-V VS-stage (nw_walker_init_riscv) against the
 * reference walk (nw_rv_vs_walk) on random hostile worlds: a graph of VS-stage
 * tables written raw (pointers to any table of the pool, itself included,
 * pointers with the bits reserved there, invalid PTEs, leaves at every level
 * with random R/W/X/U/A/D, W without R, PBMT, N, reserved bits and misaligned
 * superpages), an optional Sv39x4 or Sv48x4 G-stage with random rights, A/D,
 * Svadu, MXR and unmapped tables, and random vsatp, vsstatus, henvcfg and
 * privilege. Every access must give the same answer field by field, and the
 * plain copy must answer a good share of them (else the test would compare
 * the reference with itself). */
#include <nestwalk/riscv_gstage.h>
#include <nestwalk/riscv_vs.h>
#include <stdlib.h>
#include <string.h>

#include "fast_agree.h"
#include "fixture.h"
#include "test_frames.h"

static void setup(void)
{
	fixture_setup_host(true); /* a direct-map window: the plain copies read tables through it */
}

TestSuite(riscv_fast, .init = setup, .fini = fixture_teardown);

#define NTABLES 6
#define DATA_GPA UINT64_C(0x80000000) /* 4 KiB and 2 MiB leaves point here */
#define GIB_GPA UINT64_C(0xc0000000)  /* 1 GiB leaves point here */
#define HOST_BASE UINT64_C(0x1000000000)

struct world {
	struct test_frames frames;
	uint64_t table[NTABLES];
	struct nw_rv_gstage g;
	bool two_d;
	struct nw_walk_config config;
	struct nw_rv_vs_cpu cpu;
};

static uint64_t random_bits(const uint64_t *bits, unsigned n, unsigned percent)
{
	uint64_t out = 0;

	for (unsigned i = 0; i < n; i++)
		if (chance(percent))
			out |= bits[i];
	return out;
}

/* A leaf's address: a 4 KiB page or a 2 MiB superpage of the data pool, or the 1 GiB one; at a level its
 * alignment does not suit, a misaligned superpage. */
static uint64_t random_leaf_address(void)
{
	switch (rnd() % 4) {
	case 0:
	case 1:
		return DATA_GPA + (rnd() % 4 << 12);
	case 2:
		return DATA_GPA + (rnd() % 4 << 21);
	}
	return GIB_GPA;
}

/* A PTE of table i: mostly a pointer to one of the next two tables of the pool (so paths run down it), now and
 * then to any (itself included); a leaf; or invalid. */
static uint64_t random_pte(const struct world *w, unsigned i)
{
	static const uint64_t leaf_bits[] = { NW_RV_PTE_W, NW_RV_PTE_X, NW_RV_PTE_U, NW_RV_PTE_G };
	static const uint64_t rare_bits[] = { NW_RV_PTE_N, UINT64_C(1) << 61, UINT64_C(1) << 62, UINT64_C(1) << 54,
					      UINT64_C(1) << 60 };
	static const uint64_t pointer_rsvd[] = { NW_RV_PTE_A, NW_RV_PTE_D, NW_RV_PTE_U, UINT64_C(1) << 61,
						 NW_RV_PTE_N, UINT64_C(1) << 58 };
	unsigned pick = (unsigned)(rnd() % 100), next = i + 1 + (unsigned)(rnd() % 2);
	uint64_t pte;

	if (pick < 8)
		return rnd() & ~NW_RV_PTE_V; /* invalid, whatever else it holds */
	if (pick < 60 && i + 1 < NTABLES) {
		pte = w->table[chance(90) ? (next < NTABLES ? next : NTABLES - 1) : rnd() % NTABLES] >> 2 | NW_RV_PTE_V;
		return chance(5) ? pte | pointer_rsvd[rnd() % 6] : pte;
	}
	pte = random_leaf_address() >> 2 | NW_RV_PTE_V | random_bits(leaf_bits, 4, 50) |
	      (chance(90) ? NW_RV_PTE_R : 0) | (chance(92) ? NW_RV_PTE_A : 0) | (chance(80) ? NW_RV_PTE_D : 0);
	if (!(pte & (NW_RV_PTE_R | NW_RV_PTE_X)) && chance(80))
		pte |= NW_RV_PTE_X;
	return chance(5) ? pte | rare_bits[rnd() % 5] : pte;
}

/* Entries 0..3 and 256..259 of every table (the random addresses index only those: a sign-extended address
 * has bit 8 of its top index set). */
static void build_vs(struct world *w)
{
	for (unsigned i = 0; i < NTABLES; i++)
		w->table[i] = test_frames_take(&w->frames);
	for (unsigned i = 0; i < NTABLES; i++)
		for (unsigned index = 0; index < 8; index++)
			*test_slot(w->table[i], index % 4 + index / 4 * 256) = random_pte(w, i);
}

static void tolerate(nw_status_t status)
{
	cr_assert(status == NW_OK || status == NW_ERR_EXISTS, "status %d", status);
}

static uint64_t random_gflags(void)
{
	uint64_t flags = (chance(90) ? NW_RV_PTE_R : 0) | (chance(70) ? NW_RV_PTE_W : 0) |
			 (chance(50) ? NW_RV_PTE_X : 0) | (chance(92) ? NW_RV_PTE_U : 0) |
			 (chance(90) ? NW_RV_PTE_A : 0) | (chance(75) ? NW_RV_PTE_D : 0);

	if (!(flags & (NW_RV_PTE_R | NW_RV_PTE_X)) || (flags & NW_RV_PTE_W))
		flags |= NW_RV_PTE_R; /* a leaf, never W without R: the builder refuses both */
	return flags;
}

/* Sv39x4 or Sv48x4; the VS-stage tables at their own address (a few left out or without a right), the data pool
 * in 4 KiB pages and 2 MiB superpages, the 1 GiB page. */
static void build_g(struct world *w)
{
	struct nw_rv_gstage_config c = { .mode = chance(50) ? NW_RV_HGATP_SV39X4 : NW_RV_HGATP_SV48X4,
					 .adue = chance(30), .pbmte = chance(50), .mxr = chance(30),
					 .caps = nw_rv_gstage_caps_all() };

	cr_assert_eq(nw_rv_gstage_create(&w->g, hal, &c), NW_OK);
	w->config.stage2 = (struct nw_stage2){ .kind = NW_STAGE2_RISCV, .riscv = &w->g };
	for (unsigned i = 0; i < NTABLES; i++)
		if (chance(96))
			tolerate(nw_rv_gstage_map(&w->g, nw_gpa(w->table[i]), nw_hpa(w->table[i]), NW_PAGE_SIZE,
						  chance(85) ? NW_RV_GSTAGE_RIGHTS | NW_RV_PTE_A | NW_RV_PTE_D
							     : random_gflags(),
						  0, 0));
	for (unsigned i = 0; i < 4; i++) {
		uint64_t page = DATA_GPA + ((uint64_t)i << 12), block = DATA_GPA + ((uint64_t)(i + 1) << 21);

		if (chance(90))
			tolerate(nw_rv_gstage_map(&w->g, nw_gpa(page), nw_hpa(HOST_BASE + page), NW_PAGE_SIZE,
						  random_gflags(), 0, 0));
		if (chance(90))
			tolerate(nw_rv_gstage_map(&w->g, nw_gpa(block), nw_hpa(HOST_BASE + block), NW_SIZE_2M,
						  random_gflags(), 0, 0));
	}
	if (chance(80))
		tolerate(nw_rv_gstage_map(&w->g, nw_gpa(GIB_GPA), nw_hpa(HOST_BASE + GIB_GPA), NW_SIZE_1G,
					  random_gflags(), 0, 0));
}

/* vsatp Sv39 or Sv48 mostly, now and then Sv57 or Bare (the reference's alone); the root table 0. */
static void random_cpu(struct world *w)
{
	static const unsigned modes[] = { NW_RV_SATP_SV39, NW_RV_SATP_SV48, NW_RV_SATP_SV57, NW_RV_SATP_BARE };
	unsigned pick = (unsigned)(rnd() % 20), mode = modes[pick < 9 ? 0 : pick < 18 ? 1 : pick - 16];
	uint64_t vsatp = mode == NW_RV_SATP_BARE ? 0
			 : (uint64_t)mode << NW_RV_SATP_MODE_SHIFT | (rnd() & 0xff) << NW_RV_SATP_ASID_SHIFT |
				   w->table[0] >> 12;

	w->cpu.caps = nw_rv_vs_caps_all();
	cr_assert_eq(nw_rv_vsatp_decode(vsatp, &w->cpu.caps, &w->cpu.vsatp), NW_OK);
	w->cpu.vu = chance(40);
	w->cpu.sum = chance(50);
	w->cpu.mxr = chance(30);
	w->cpu.hs_mxr = w->two_d ? w->g.config.mxr : chance(30);
	w->cpu.adue = chance(40);
	w->cpu.pbmte = chance(50);
}

/* Indices 0..3 at every level (the entries build_vs wrote), sign-extended from bit 47 or 38, now and then not. */
static uint64_t random_va(void)
{
	uint64_t va = rnd() & 0xfff;

	for (unsigned shift = 12; shift <= 48; shift += 9)
		va |= (rnd() % 4) << shift;
	if (chance(40))
		va |= ~((UINT64_C(1) << 38) - 1);
	else if (chance(40))
		va |= ~((UINT64_C(1) << 47) - 1);
	else if (chance(50))
		va &= (UINT64_C(1) << 38) - 1;
	return va;
}

static void expect_same(const struct nw_walk_result *fast, const struct nw_walk_result *ref, uint64_t va)
{
	fast_agree_result(fast, ref, va);
	cr_assert_eq(memcmp(&fast->rv_trap, &ref->rv_trap, sizeof(ref->rv_trap)), 0, "va %#llx: trap CSRs",
		     (unsigned long long)va);
	cr_assert_eq(fast->fault_level, ref->fault_level);
	cr_assert_eq(fast->fault_gpa.val, ref->fault_gpa.val);
	cr_assert_eq(fast->s2_on_table, ref->s2_on_table);
	cr_assert_eq(fast->mode, ref->mode);
}

static unsigned run_world(bool two_d, unsigned *walks, unsigned *ok)
{
	struct world w;
	void *storage = fast_agree_storage();
	struct nw_walker *walker;
	unsigned plain = 0;

	memset(&w, 0, sizeof(w));
	w.config.hal = hal;
	w.config.stage2.kind = NW_STAGE2_NONE;
	w.two_d = two_d;
	build_vs(&w);
	if (two_d)
		build_g(&w);
	for (unsigned cpu = 0; cpu < 8; cpu++) {
		random_cpu(&w);
		walker = nw_walker_init_riscv(storage, &w.config, &w.cpu);
		cr_assert_not_null(walker);
		for (unsigned i = 0; i < 64; i++) {
			struct nw_access access = { .gva = nw_gva(random_va()), .size = 1,
						    .type = (enum nw_access_type)(rnd() % 3) };
			struct nw_walk_result fast, ref;

			/* NW_WALK_LOOKUP: the reference sets no flag the fast walk would then find set. */
			nw_walker_translate(walker, &access, NW_WALK_LOOKUP, &fast);
			nw_rv_vs_walk(&w.config, &w.cpu, &access, NW_WALK_LOOKUP, &ref);
			expect_same(&fast, &ref, access.gva.val);
			/* The plain copies' modes: Sv57 and Bare are the reference's alone. */
			*ok += ref.outcome == NW_OUTCOME_OK && (w.cpu.vsatp.mode == NW_RV_SATP_SV39 ||
								w.cpu.vsatp.mode == NW_RV_SATP_SV48);
			plain += fast_agree_probe(walker, &access, &ref);
			(*walks)++;
		}
	}
	if (two_d)
		nw_rv_gstage_destroy(&w.g);
	test_frames_free(&w.frames);
	free(storage);
	return plain;
}

Test(riscv_fast, agrees_with_the_reference_on_random_worlds)
{
	/* 60 worlds x 8 CPU states x 64 accesses each way. */
	fast_agree_run(run_world);
}

Test(riscv_fast, init_refuses_another_second_stage_and_the_x86_init_a_riscv_one)
{
	struct nw_walk_config config = { .hal = hal, .stage2 = { .kind = NW_STAGE2_EPT } };
	struct nw_rv_vs_cpu cpu = { .caps = nw_rv_vs_caps_all() };
	struct nw_cpu x86;
	_Alignas(NW_WALKER_ALIGN) static unsigned char storage[1 << 14];

	memset(&x86, 0, sizeof(x86));
	cr_assert_geq(sizeof(storage), nw_walker_size());
	cr_assert_null(nw_walker_init_riscv(storage, &config, &cpu));
	config.stage2.kind = NW_STAGE2_ARM64;
	cr_assert_null(nw_walker_init_riscv(storage, &config, &cpu));
	config.stage2.kind = NW_STAGE2_RISCV;
	cr_assert_null(nw_walker_init(storage, &config, &x86));
	config.stage2.kind = NW_STAGE2_NONE;
	cr_assert_null(nw_walker_init_riscv(storage + 1, &config, &cpu), "unaligned storage");
	cr_assert_not_null(nw_walker_init_riscv(storage, &config, &cpu));
}
