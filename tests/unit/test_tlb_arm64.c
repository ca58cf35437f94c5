/* The AArch64 TLB model against the Arm ARM's TLBI scopes (DDI 0487, C5.5 "A64 system instructions for TLB
 * maintenance"; D8.13 for the tags): each case fills one fixed population of entries with known tags, runs one
 * TLBI (its plain and its Inner Shareable form, which on one PE act alike), and checks by hand which entries
 * must survive. */
#include <nestwalk/tlb_arm64.h>
#include <stdlib.h>

#include "fixture.h"

#define K4 UINT64_C(0x1000)
#define M2 UINT64_C(0x200000)
#define VA UINT64_C(0x400000)    /* the VA most entries translate */
#define VA2 UINT64_C(0x800000)   /* another page */
#define IPA UINT64_C(0x80000000) /* the IPA the stage-2 entries translate */

static struct nw_a64tlb_entry store[32];
static struct nw_a64tlb tlb;

static void tlb_setup(void)
{
	fixture_setup();
	cr_assert_eq(nw_a64tlb_init(&tlb, store, sizeof(store)), NW_OK);
}

TestSuite(tlb_arm64, .init = tlb_setup, .fini = fixture_teardown);

/* The population, one bit each. Current context while filling: VMID 1, ASID 5 unless said. */
enum {
	A_NG5 = 1 << 0,        /* combined, VA, nG, ASID 5, VMID 1 */
	B_NG6 = 1 << 1,        /* combined, VA, nG, ASID 6, VMID 1 */
	C_GLOBAL = 1 << 2,     /* combined, VA, global, VMID 1 */
	D_OTHER_VA = 1 << 3,   /* combined, VA2, nG, ASID 5, VMID 1 */
	E_WALK = 1 << 4,       /* stage-1 table entry (level 2) covering VA's 2 MiB, ASID 5, VMID 1 */
	F_S2 = 1 << 5,         /* stage-2-only, IPA, VMID 1 */
	G_S2_WALK = 1 << 6,    /* stage-2 table entry (level 2) covering IPA's 2 MiB, VMID 1 */
	H_VMID2 = 1 << 7,      /* combined, VA, nG, ASID 5, VMID 2 */
	I_S2_VMID2 = 1 << 8,   /* stage-2-only, IPA, VMID 2 */
	J_S1 = 1 << 9,         /* stage-1 only (stage 2 off), VA, nG, ASID 5, VMID 1 */
	K_VA_IS_IPA = 1 << 10, /* combined, at a VA equal to IPA, nG, ASID 5, VMID 1 */
	ALL = (1 << 11) - 1,
};

struct fill_spec {
	enum nw_a64tlb_kind kind;
	uint16_t vmid, asid;
	uint64_t addr, size;
	bool global;
};

static const struct fill_spec population[] = {
	{ NW_A64TLB_S12, 1, 5, VA, K4, false },      { NW_A64TLB_S12, 1, 6, VA, K4, false },
	{ NW_A64TLB_S12, 1, 5, VA, K4, true },       { NW_A64TLB_S12, 1, 5, VA2, K4, false },
	{ NW_A64TLB_S1_WALK, 1, 5, VA, M2, false },  { NW_A64TLB_S2, 1, 0, IPA, K4, false },
	{ NW_A64TLB_S2_WALK, 1, 0, IPA, M2, false }, { NW_A64TLB_S12, 2, 5, VA, K4, false },
	{ NW_A64TLB_S2, 2, 0, IPA, K4, false },      { NW_A64TLB_S1, 1, 5, VA, K4, false },
	{ NW_A64TLB_S12, 1, 5, IPA, K4, false },
};

static void put(const struct fill_spec *f)
{
	struct nw_a64tlb_fill fill = { f->kind, f->addr, 0x40000000 + f->addr, f->size, 2, f->global, 0 };

	nw_a64tlb_load(&tlb, f->vmid, f->asid);
	nw_a64tlb_insert(&tlb, &fill);
}

/* Whether the entry f describes is still there (its own tags: a global entry does not stand in for B). */
static bool alive(const struct fill_spec *f)
{
	for (unsigned i = 0; i < tlb.count; i++) {
		const struct nw_a64tlb_entry *e = &tlb.entries[i];

		if (e->stamp && e->kind == f->kind && e->vmid == f->vmid && e->global == f->global &&
		    e->addr == f->addr && e->size == f->size &&
		    (f->global || f->kind >= NW_A64TLB_S2 || e->asid == f->asid))
			return true;
	}
	return false;
}

static unsigned survivors(void)
{
	unsigned mask = 0;

	for (unsigned i = 0; i < sizeof(population) / sizeof(population[0]); i++)
		mask |= alive(&population[i]) ? 1u << i : 0;
	return mask;
}

/* Fills the population, makes VMID 1 / ASID 5 current, runs op and its IS form on a fresh fill each, and
 * checks the survivors. */
static void check_scope(enum nw_tlbi_op op, uint64_t xt, unsigned expect_survivors)
{
	for (unsigned is = 0; is < 2; is++) {
		cr_assert_eq(nw_a64tlb_init(&tlb, store, sizeof(store)), NW_OK);
		for (unsigned i = 0; i < sizeof(population) / sizeof(population[0]); i++)
			put(&population[i]);
		cr_assert_eq(survivors(), ALL, "the population fits");
		nw_a64tlb_load(&tlb, 1, 5);
		cr_assert_eq(nw_a64tlb_tlbi(&tlb, (enum nw_tlbi_op)(op | is), xt), NW_OK);
		cr_assert_eq(survivors(), (unsigned)expect_survivors, "%s: survivors 0x%x, expected 0x%x",
			     nw_tlbi_name((enum nw_tlbi_op)(op | is)), survivors(), expect_survivors);
	}
}

/* Xt of a by-VA TLBI: ASID in [63:48], VA[55:12] in [43:0]. */
static uint64_t xt_va(uint16_t asid, uint64_t va)
{
	return (uint64_t)asid << 48 | ((va >> 12) & NW_TLBI_XT_VA);
}

Test(tlb_arm64, vmalle1_drops_every_stage1_entry_of_the_current_vmid)
{
	/* "All stage 1 translations used at EL1&0 for the current VMID": A-E, J and K go, whatever their ASID, global
	 * or level; the stage-2-only F and G are not stage 1 translations; H and I are VMID 2's. */
	check_scope(NW_TLBI_VMALLE1, 0, F_S2 | G_S2_WALK | H_VMID2 | I_S2_VMID2);
}

Test(tlb_arm64, vae1_drops_the_va_for_its_asid_and_global_entries_at_every_level)
{
	/* VAE1 ASID 5, VA 0x400000: A (nG, ASID 5), C (global: any ASID), E (a table entry of the walk, any level)
	 * and J (stage 1 only, same tags) go. B is ASID 6's, D another page, F/G stage 2, H/I VMID 2. */
	check_scope(NW_TLBI_VAE1, xt_va(5, VA),
		    B_NG6 | K_VA_IS_IPA | D_OTHER_VA | F_S2 | G_S2_WALK | H_VMID2 | I_S2_VMID2);
}

Test(tlb_arm64, vale1_leaves_the_cached_table_walk)
{
	/* VALE1: "only the last level of the translation table walk": as VAE1, but the level-2 table entry E
	 * stays. */
	check_scope(NW_TLBI_VALE1, xt_va(5, VA),
		    K_VA_IS_IPA | B_NG6 | D_OTHER_VA | E_WALK | F_S2 | G_S2_WALK | H_VMID2 | I_S2_VMID2);
}

Test(tlb_arm64, aside1_drops_non_global_entries_of_the_asid)
{
	/* ASIDE1 ASID 5: the non-global entries of ASID 5 in VMID 1 at any level: A, D, E, J, K. Global C stays (a
	 * global entry belongs to no ASID), as do B (ASID 6) and everything of stage 2 or VMID 2. */
	check_scope(NW_TLBI_ASIDE1, (uint64_t)5 << 48, B_NG6 | C_GLOBAL | F_S2 | G_S2_WALK | H_VMID2 | I_S2_VMID2);
}

Test(tlb_arm64, vaae1_drops_the_va_for_every_asid)
{
	/* VAAE1 VA 0x400000: "for all ASID values": A, B, C, E, J go; D (another page) and the rest stay. */
	check_scope(NW_TLBI_VAAE1, xt_va(0, VA), D_OTHER_VA | K_VA_IS_IPA | F_S2 | G_S2_WALK | H_VMID2 | I_S2_VMID2);
}

Test(tlb_arm64, vaale1_drops_the_va_for_every_asid_at_the_last_level)
{
	/* VAALE1: as VAAE1, the table entry E staying. */
	check_scope(NW_TLBI_VAALE1, xt_va(0, VA),
		    D_OTHER_VA | K_VA_IS_IPA | E_WALK | F_S2 | G_S2_WALK | H_VMID2 | I_S2_VMID2);
}

Test(tlb_arm64, ipas2e1_drops_stage2_only_entries_and_leaves_combined_ones)
{
	/* IPAS2E1 IPA 0x80000000 (Xt[39:0] = IPA[51:12] = 0x80000): the stage-2-only entries of VMID 1 at any
	 * level, F and G. The combined entries stay, K too though its VA is that IPA: C5.5 has software follow
	 * IPAS2E1 with VMALLE1 for them. I is VMID 2's. */
	check_scope(NW_TLBI_IPAS2E1, IPA >> 12, ALL & ~(F_S2 | G_S2_WALK));
}

Test(tlb_arm64, ipas2le1_leaves_the_cached_stage2_walk)
{
	/* IPAS2LE1: last level only: F goes, the stage-2 table entry G stays. */
	check_scope(NW_TLBI_IPAS2LE1, IPA >> 12, ALL & ~F_S2);
}

Test(tlb_arm64, vmalls12e1_drops_both_stages_of_the_current_vmid)
{
	/* VMALLS12E1: "all stage 1 and stage 2 translations" of VMID 1: only VMID 2's H and I stay. */
	check_scope(NW_TLBI_VMALLS12E1, 0, H_VMID2 | I_S2_VMID2);
}

Test(tlb_arm64, alle1_drops_everything)
{
	/* ALLE1: every entry of the EL1&0 regime, every VMID. */
	check_scope(NW_TLBI_ALLE1, 0, 0);
}

Test(tlb_arm64, by_va_matches_the_range_of_a_block_and_of_a_larger_granule)
{
	struct fill_spec block = { NW_A64TLB_S12, 1, 5, 0x600000, M2, false };
	struct fill_spec page64k = { NW_A64TLB_S12, 1, 5, 0x410000, 0x10000, false };
	struct fill_spec high = { NW_A64TLB_S12, 1, 5, UINT64_C(0xffff800000400000), K4, false };

	put(&block);
	put(&page64k);
	put(&high);
	/* 0x7ff000 lies in the 2 MiB block at 0x600000: the by-VA TLBI names any address the entry covers. */
	cr_assert_eq(nw_a64tlb_tlbi(&tlb, NW_TLBI_VALE1, xt_va(5, 0x7ff000)), NW_OK);
	cr_assert_not(alive(&block));
	/* 0x41f000 lies in the 64 KiB page at 0x410000 (VA[15:12] of the operand are the page's offset). */
	cr_assert_eq(nw_a64tlb_tlbi(&tlb, NW_TLBI_VAAE1, xt_va(0, 0x41f000)), NW_OK);
	cr_assert_not(alive(&page64k));
	/* A TTBR1 address: Xt[43:0] = VA[55:12] = 0xff800000400, which the TTBR0 VA 0x400000 with the same low bits
	 * (VA[55:12] = 0x400) does not name. */
	cr_assert_eq(nw_a64tlb_tlbi(&tlb, NW_TLBI_VAE1, xt_va(5, VA)), NW_OK);
	cr_assert(alive(&high));
	cr_assert_eq(xt_va(5, UINT64_C(0xffff800000400000)), UINT64_C(0x00050ff800000400));
	cr_assert_eq(nw_a64tlb_tlbi(&tlb, NW_TLBI_VAE1, UINT64_C(0x00050ff800000400)), NW_OK);
	cr_assert_not(alive(&high));
}

Test(tlb_arm64, ipas2e1_matches_a_stage_2_page_of_the_16k_and_64k_granules)
{
	struct fill_spec page64k = { NW_A64TLB_S2, 1, 0, 0x40010000, 0x10000, false };
	struct fill_spec page16k = { NW_A64TLB_S2, 1, 0, 0x40024000, 0x4000, false };
	struct fill_spec block512m = { NW_A64TLB_S2, 1, 0, 0x60000000, UINT64_C(0x20000000), false };

	put(&page64k);
	put(&page16k);
	put(&block512m);
	/* IPAS2E1 Xt[39:0] = IPA[51:12]: IPA 0x40020000 (Xt 0x40020) is past the 64 KiB page at 0x40010000 and
	 * below the 16 KiB page at 0x40024000: nothing goes. */
	cr_assert_eq(nw_a64tlb_tlbi(&tlb, NW_TLBI_IPAS2E1, 0x40020), NW_OK);
	cr_assert(alive(&page64k) && alive(&page16k) && alive(&block512m));
	/* IPA 0x4001f000 (Xt 0x4001f) lies in the 64 KiB page (IPA[15:12] its offset); 0x40027000 in the 16 KiB one
	 * (IPA[13:12]); 0x7ffff000 in the 512 MiB block. */
	cr_assert_eq(nw_a64tlb_tlbi(&tlb, NW_TLBI_IPAS2E1, 0x4001f), NW_OK);
	cr_assert_not(alive(&page64k));
	cr_assert(alive(&page16k));
	cr_assert_eq(nw_a64tlb_tlbi(&tlb, NW_TLBI_IPAS2LE1, 0x40027), NW_OK);
	cr_assert_not(alive(&page16k));
	cr_assert_eq(nw_a64tlb_tlbi(&tlb, NW_TLBI_IPAS2E1IS, 0x7ffff), NW_OK);
	cr_assert_not(alive(&block512m));
}

Test(tlb_arm64, a_tlbi_the_model_cannot_express_is_refused_and_invalidates_nothing)
{
	static const struct {
		enum nw_tlbi_op op;
		uint64_t xt;
		const char *why;
	} cases[] = {
		/* Xt[47:44] TTL is a FEAT_TTL level hint for the by-VA and by-IPA forms. */
		{ NW_TLBI_VAE1, UINT64_C(0x0005200000000400), "TTL level hint" },
		{ NW_TLBI_IPAS2E1IS, UINT64_C(0x0000100000080000), "TTL level hint" },
		/* ASIDE1 defines only Xt[63:48]; VAAE1 has Xt[63:48] RES0 (it names no ASID). */
		{ NW_TLBI_ASIDE1, UINT64_C(0x0005000000000400), "RES0" },
		{ NW_TLBI_VAAE1, UINT64_C(0x0005000000000400), "RES0" },
		/* IPAS2E1: Xt[63] NS exists in Secure state only; Xt[47:40] beyond IPA[51:12] are RES0. */
		{ NW_TLBI_IPAS2E1, UINT64_C(0x8000000000080000), "Secure" },
		{ NW_TLBI_IPAS2LE1, UINT64_C(0x0000010000080000), "RES0" },
		/* VMALLE1, VMALLS12E1 and ALLE1 have Rt = 31: no operand. */
		{ NW_TLBI_VMALLE1, 1, "no register" },
		{ NW_TLBI_ALLE1IS, 1, "no register" },
		{ NW_TLBI_OP_COUNT, 0, "unknown" },
	};

	for (unsigned i = 0; i < sizeof(population) / sizeof(population[0]); i++)
		put(&population[i]);
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *why = nw_tlbi_refusal(cases[i].op, cases[i].xt);

		cr_assert_not_null(why, "case %u", i);
		cr_assert_not_null(strstr(why, cases[i].why), "case %u: %s", i, why);
		cr_assert_eq(nw_a64tlb_tlbi(&tlb, cases[i].op, cases[i].xt), NW_ERR_UNSUPPORTED, "case %u", i);
	}
	cr_assert_eq(survivors(), ALL);
	cr_assert_eq(tlb.stats.invalidated, 0);
	cr_assert_null(nw_tlbi_refusal(NW_TLBI_VAE1IS, UINT64_C(0xffff0fffffffffff)), "every defined field set");
	cr_assert_null(nw_tlbi_refusal(NW_TLBI_IPAS2E1, NW_TLBI_XT_IPA));
}

Test(tlb_arm64, lookup_matches_vmid_asid_and_global)
{
	struct nw_a64tlb_hit hit;

	put(&population[0]); /* A: ASID 5 */
	put(&population[2]); /* C: global */
	put(&population[5]); /* F: stage 2 */
	nw_a64tlb_load(&tlb, 1, 6);
	/* Under ASID 6 the nG entry of ASID 5 does not match (D8.13); the global one does, with the offset. */
	cr_assert(nw_a64tlb_lookup(&tlb, NW_A64TLB_S12, VA + 0xabc, &hit));
	cr_assert(hit.entry->global);
	cr_assert_eq(hit.out, 0x40000000 + VA + 0xabc);
	/* A stage-2 entry belongs to no ASID. */
	cr_assert(nw_a64tlb_lookup(&tlb, NW_A64TLB_S2, IPA + 8, &hit));
	cr_assert_eq(hit.out, 0x40000000 + IPA + 8);
	/* Another VMID sees none of them; stage-1-only entries are not combined ones. */
	nw_a64tlb_load(&tlb, 2, 5);
	cr_assert_not(nw_a64tlb_lookup(&tlb, NW_A64TLB_S12, VA, &hit));
	cr_assert_not(nw_a64tlb_lookup(&tlb, NW_A64TLB_S2, IPA, &hit));
	nw_a64tlb_load(&tlb, 1, 5);
	cr_assert_not(nw_a64tlb_lookup(&tlb, NW_A64TLB_S1, VA, &hit));
	cr_assert(nw_a64tlb_probe(&tlb, NW_A64TLB_S12, 1, 5, VA, &hit));
	cr_assert_eq(tlb.stats.lookups, 5);
	cr_assert_eq(tlb.stats.hits, 2);
}

Test(tlb_arm64, lookup_prefers_the_deepest_walk_entry)
{
	struct nw_a64tlb_fill l1 = { NW_A64TLB_S1_WALK, 0, 0x10000000, UINT64_C(0x40000000), 1, false, 0 };
	struct nw_a64tlb_fill l2 = { NW_A64TLB_S1_WALK, VA & ~(M2 - 1), 0x20000000, M2, 2, false, 0 };
	struct nw_a64tlb_hit hit;

	nw_a64tlb_load(&tlb, 1, 5);
	nw_a64tlb_insert(&tlb, &l1);
	nw_a64tlb_insert(&tlb, &l2);
	cr_assert(nw_a64tlb_lookup(&tlb, NW_A64TLB_S1_WALK, VA, &hit));
	cr_assert_eq(hit.entry->level, 2);
	cr_assert(nw_a64tlb_lookup(&tlb, NW_A64TLB_S1_WALK, 0x30000000, &hit));
	cr_assert_eq(hit.entry->level, 1);
}

Test(tlb_arm64, full_storage_evicts_the_least_recently_used)
{
	struct nw_a64tlb_entry two[2];
	struct nw_a64tlb_hit hit;

	/* Storage for one and a half entries holds one; for less than one, none. */
	cr_assert_eq(nw_a64tlb_init(&tlb, two, sizeof(two) - 1), NW_OK);
	cr_assert_eq(tlb.count, 1);
	cr_assert_eq(nw_a64tlb_init(&tlb, two, sizeof(two[0]) - 1), NW_ERR_RANGE);
	cr_assert_eq(nw_a64tlb_init(&tlb, (char *)two + 1, sizeof(two)), NW_ERR_ALIGN);
	cr_assert_eq(nw_a64tlb_init(&tlb, two, sizeof(two)), NW_OK);
	cr_assert_eq(tlb.count, 2);
	put(&population[0]);                                        /* A at VA */
	put(&population[3]);                                        /* D at VA2 */
	cr_assert(nw_a64tlb_lookup(&tlb, NW_A64TLB_S12, VA, &hit)); /* A is now the more recent */
	put(&population[5]);                                        /* F replaces D */
	cr_assert(alive(&population[0]));
	cr_assert_not(alive(&population[3]));
	cr_assert_eq(tlb.stats.evictions, 1);
	/* The same key again replaces its entry in place: no eviction. */
	put(&population[5]);
	cr_assert_eq(tlb.stats.evictions, 1);
	cr_assert_eq(nw_a64tlb_count(&tlb, NW_A64TLB_S2), 1);
}
