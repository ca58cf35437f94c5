/* The TLB model against the SDM's invalidation rules (Vol. 3A §4.10.4.1,
 * Vol. 3C §29.4.3): each case fills entries with known tags, runs one
 * operation, and checks by hand which entries must survive. */
#include <nestwalk/cpu.h>
#include <nestwalk/frame.h>
#include <nestwalk/tlb.h>
#include <stdlib.h>

#include "fixture.h"


#define PG NW_CR0_PG
#define EPT_A UINT64_C(0x5000)
#define EPT_B UINT64_C(0x9000)

/* A small shape so eviction is easy to provoke: 4 sets x 2 ways of 4 KiB. */
static const struct nw_tlb_geometry small = {
	.sets = { 4, 2, 1, 2, 1, 1, 1 },
	.ways = { 2, 2, 2, 2, 2, 2, 2 },
};

/* Room enough that the invalidation cases never evict: 172 entries. */
static const struct nw_tlb_geometry roomy = {
	.sets = { 16, 4, 2, 4, 2, 1, 1 },
	.ways = { 8, 4, 2, 4, 2, 2, 2 },
};

static struct nw_tlb_entry store[172];
static struct nw_tlb tlb;

static void tlb_setup(void)
{
	fixture_setup();
	cr_assert_eq(nw_tlb_init(&tlb, &roomy, store, sizeof(store)), NW_OK);
}

TestSuite(tlb, .init = tlb_setup, .fini = fixture_teardown);

/* Paging on, CR3 0x1000, the given CR4; VPID 1 under EPT_A. */
static void setup_tlb(uint64_t cr4)
{
	nw_tlb_load_cpu(&tlb, PG, 0x1000, cr4);
	nw_tlb_load_vm(&tlb, 1, true, EPT_A | 0x5e);
}

/* Switches PCID without invalidating (bit 63), as a kernel does between processes. */
static void use_pcid(uint16_t pcid)
{
	nw_tlb_write_cr3(&tlb, NW_TLB_CR3_NOFLUSH | 0x1000 | pcid);
}

static void put(uint64_t gva, uint64_t size, bool global)
{
	struct nw_tlb_fill fill = {
		.gva = nw_gva(gva), .gpa = nw_gpa(0x100000000 + gva), .hpa = nw_hpa(0x200000000 + gva),
		.guest_page_size = size, .s2_page_size = size, .dirty = true, .global = global,
	};

	nw_tlb_insert(&tlb, &fill);
}

static bool has(uint16_t vpid, uint16_t pcid, uint64_t eptrta, uint64_t gva)
{
	struct nw_tlb_tag tag = { vpid, pcid, eptrta != 0, eptrta };
	struct nw_tlb_hit hit;

	return nw_tlb_probe(&tlb, &tag, nw_gva(gva), &hit);
}

/* Shorthand: VPID 1 under EPT_A. */
static bool has1(uint16_t pcid, uint64_t gva)
{
	return has(1, pcid, EPT_A, gva);
}

static bool has_psc(uint16_t pcid, uint64_t gva, int level)
{
	struct nw_tlb_tag tag = { 1, pcid, true, EPT_A };
	struct nw_psc_hit hit;

	return nw_tlb_psc_probe(&tlb, &tag, nw_gva(gva), level, &hit);
}

Test(tlb, geometry_and_storage_checks)
{
	struct nw_tlb_geometry bad = small;
	size_t need = nw_tlb_storage_size(&small);
	uint64_t *buf;

	cr_assert_eq(need, (8 + 4 + 2 + 4 + 2 + 2 + 2) * sizeof(struct nw_tlb_entry));
	cr_assert_eq(nw_tlb_storage_size(&roomy), sizeof(store));
	bad.sets[NW_TLB_4K] = 3;
	cr_assert_eq(nw_tlb_storage_size(&bad), 0);
	cr_assert_eq(nw_tlb_init(&tlb, &bad, 0, 0), NW_ERR_INVALID);
	bad = small;
	bad.ways[NW_PSC_PDE] = NW_TLB_MAX_WAYS + 1;
	cr_assert_eq(nw_tlb_init(&tlb, &bad, 0, 0), NW_ERR_INVALID);
	buf = malloc(need + 8);
	cr_assert_eq(nw_tlb_init(&tlb, &small, buf, need - 1), NW_ERR_RANGE);
	cr_assert_eq(nw_tlb_init(&tlb, &small, (char *)buf + 1, need), NW_ERR_ALIGN);
	cr_assert_eq(nw_tlb_init(&tlb, &small, buf, need), NW_OK);
	free(buf);
	/* The default shape: 1536 + 32 + 16 translations, 32 + 4 + 2 + 2 cache entries. */
	cr_assert_eq(nw_tlb_storage_size(&nw_tlb_default_geometry), 1624 * sizeof(struct nw_tlb_entry));
}

Test(tlb, hit_gives_addresses_with_page_offset)
{
	struct nw_tlb_hit hit;

	setup_tlb(0);
	put(0x401000, NW_PAGE_SIZE, false);
	cr_assert(nw_tlb_lookup(&tlb, nw_gva(0x401abc), &hit));
	cr_assert_eq(hit.gpa.val, 0x100401abc);
	cr_assert_eq(hit.hpa.val, 0x200401abc);
	cr_assert_eq(hit.page_size, NW_PAGE_SIZE);
	cr_assert_eq(hit.cache, NW_TLB_4K);
	cr_assert_not(nw_tlb_lookup(&tlb, nw_gva(0x402000), &hit));
	/* 2 MiB and 1 GiB pages land in their own arrays and cover their whole page. */
	put(0x40000000, NW_SIZE_1G, false);
	put(0x800000, NW_SIZE_2M, false);
	cr_assert(nw_tlb_lookup(&tlb, nw_gva(0x9edcba), &hit));
	cr_assert_eq(hit.cache, NW_TLB_2M);
	cr_assert_eq(hit.hpa.val, 0x200000000 + 0x9edcba);
	cr_assert(nw_tlb_lookup(&tlb, nw_gva(0x7ffff123), &hit));
	cr_assert_eq(hit.cache, NW_TLB_1G);
	cr_assert_eq(hit.gpa.val, 0x17ffff123);
}

Test(tlb, combined_mapping_takes_the_smaller_page)
{
	struct nw_tlb_fill fill = {
		.gva = nw_gva(0x40212345), .gpa = nw_gpa(0x80212345), .hpa = nw_hpa(0x3312345),
		.guest_page_size = NW_SIZE_1G, .s2_page_size = NW_PAGE_SIZE,
	};
	struct nw_tlb_hit hit;

	setup_tlb(0);
	nw_tlb_insert(&tlb, &fill);
	cr_assert(nw_tlb_lookup(&tlb, nw_gva(0x40212fff), &hit));
	cr_assert_eq(hit.cache, NW_TLB_4K);
	cr_assert_eq(hit.hpa.val, 0x3312fff);
	cr_assert_eq(hit.entry->guest_page_size, NW_SIZE_1G);
	/* the neighbouring 4 KiB page of the same guest page was not translated */
	cr_assert_not(nw_tlb_lookup(&tlb, nw_gva(0x40213000), &hit));
	/* A 4 MiB page of 32-bit paging is held as the 2 MiB half that was used. */
	fill = (struct nw_tlb_fill){ .gva = nw_gva(0xc0601000), .gpa = nw_gpa(0x1601000), .hpa = nw_hpa(0x1601000),
				     .guest_page_size = NW_SIZE_4M };
	nw_tlb_insert(&tlb, &fill);
	cr_assert(nw_tlb_lookup(&tlb, nw_gva(0xc07fffff), &hit));
	cr_assert_eq(hit.cache, NW_TLB_2M);
	cr_assert_eq(hit.hpa.val, 0x17fffff);
	cr_assert_not(nw_tlb_lookup(&tlb, nw_gva(0xc0400000), &hit));
}

Test(tlb, nothing_is_cached_with_paging_off)
{
	struct nw_tlb_hit hit;

	setup_tlb(0);
	nw_tlb_load_cpu(&tlb, 0, 0, 0);
	put(0x1000, NW_PAGE_SIZE, false);
	cr_assert_eq(nw_tlb_count(&tlb, NW_TLB_4K), 0);
	cr_assert_not(nw_tlb_lookup(&tlb, nw_gva(0x1000), &hit));
	cr_assert_eq(tlb.stats.lookups, 0);
}

Test(tlb, global_pages_survive_cr3_writes_without_pcids)
{
	setup_tlb(NW_CR4_PGE);
	put(0x1000, NW_PAGE_SIZE, false);
	put(0xffffffff81000000, NW_SIZE_2M, true);
	nw_tlb_psc_insert(&tlb, nw_gva(0x1000), 2, nw_gpa(0x7000), nw_hpa(0x8000), 0);
	nw_tlb_write_cr3(&tlb, 0x2000);
	cr_assert_not(has1(0, 0x1000));
	cr_assert(has1(0, 0xffffffff81000000));
	cr_assert_not(has_psc(0, 0x1000, 2), "MOV CR3 drops PCID 0's paging-structure caches");
	/* Without PCIDE bit 63 is no no-flush request. */
	put(0x1000, NW_PAGE_SIZE, false);
	nw_tlb_write_cr3(&tlb, NW_TLB_CR3_NOFLUSH | 0x3000);
	cr_assert_not(has1(0, 0x1000));
	cr_assert_eq(tlb.cr3, 0x3000);
}

Test(tlb, g_flag_without_cr4_pge_is_not_global)
{
	setup_tlb(0);
	put(0xffffffff81000000, NW_SIZE_2M, true);
	nw_tlb_write_cr3(&tlb, 0x2000);
	cr_assert_not(has1(0, 0xffffffff81000000));
}

Test(tlb, cr3_write_with_pcids)
{
	setup_tlb(NW_CR4_PCIDE | NW_CR4_PGE);
	use_pcid(1);
	put(0x1000, NW_PAGE_SIZE, false);
	nw_tlb_psc_insert(&tlb, nw_gva(0x1000), 2, nw_gpa(0x7000), nw_hpa(0x8000), 0);
	use_pcid(2);
	put(0x1000, NW_PAGE_SIZE, false);
	put(0x5000, NW_PAGE_SIZE, true);
	nw_tlb_psc_insert(&tlb, nw_gva(0x1000), 2, nw_gpa(0x7000), nw_hpa(0x8000), 0);
	/* bit 63 set: nothing goes */
	use_pcid(1);
	cr_assert(has1(1, 0x1000) && has1(2, 0x1000) && has1(2, 0x5000));
	/* bit 63 clear: PCID 2's non-global translations and its cached entries go, PCID 1 keeps its own */
	nw_tlb_write_cr3(&tlb, 0x1000 | 2);
	cr_assert_eq(nw_tlb_current_tag(&tlb).pcid, 2);
	cr_assert_not(has1(2, 0x1000));
	cr_assert(has1(2, 0x5000), "global");
	cr_assert_not(has_psc(2, 0x1000, 2));
	cr_assert(has1(1, 0x1000));
	cr_assert(has_psc(1, 0x1000, 2));
}

Test(tlb, invlpg)
{
	setup_tlb(NW_CR4_PCIDE | NW_CR4_PGE);
	use_pcid(2);
	put(0x7000, NW_PAGE_SIZE, false);         /* other PCID, same page, non-global: survives */
	put(0, NW_SIZE_2M, true);                 /* other PCID, global, large page holding the target: goes */
	nw_tlb_psc_insert(&tlb, nw_gva(0x7000), 2, nw_gpa(0x7000), nw_hpa(0x8000), 0); /* other PCID: survives */
	use_pcid(3);
	put(0x7000, NW_PAGE_SIZE, true);          /* other PCID, global, the target page: goes */
	use_pcid(1);
	put(0x7000, NW_PAGE_SIZE, false);         /* target: goes */
	put(0x8000, NW_PAGE_SIZE, false);         /* other page: survives */
	nw_tlb_psc_insert(&tlb, nw_gva(0x40000000), 3, nw_gpa(0x7000), nw_hpa(0x8000), 0); /* any address: goes */
	nw_tlb_load_vm(&tlb, 2, true, EPT_A);
	put(0x7000, NW_PAGE_SIZE, false);         /* other VPID: survives */
	nw_tlb_load_vm(&tlb, 1, true, EPT_B);
	put(0x7000, NW_PAGE_SIZE, false);         /* same VPID, other EPTRTA: goes (all EPTRTAs) */
	nw_tlb_load_vm(&tlb, 1, true, EPT_A);

	nw_tlb_invlpg(&tlb, nw_gva(0x7123));
	cr_assert_not(has1(1, 0x7000));
	cr_assert_not(has(1, 1, EPT_B, 0x7000));
	cr_assert(has1(1, 0x8000));
	cr_assert(has1(2, 0x7000));
	cr_assert(has(2, 1, EPT_A, 0x7000));
	cr_assert_not(has1(3, 0x7000));
	cr_assert_not(has1(2, 0x100000));
	cr_assert_not(has_psc(1, 0x40000000, 3));
	cr_assert(has_psc(2, 0x7000, 2));
	/* A large page goes whichever address inside it is named. */
	put(0xa00000, NW_SIZE_2M, false);
	nw_tlb_invlpg(&tlb, nw_gva(0xbff000));
	cr_assert_not(has1(1, 0xa00000));
}

/* PCID 1 and 2 each: a non-global page 0x1000, a non-global page 0x2000, a global
 * page 0x3000, and a PDE-cache entry for 0x1000. */
static void fill_two_pcids(void)
{
	for (uint16_t pcid = 1; pcid <= 2; pcid++) {
		use_pcid(pcid);
		put(0x1000, NW_PAGE_SIZE, false);
		put(0x2000, NW_PAGE_SIZE, false);
		put(0x3000 + pcid * 0x400000, NW_PAGE_SIZE, true);
		nw_tlb_psc_insert(&tlb, nw_gva(0x1000), 2, nw_gpa(0x7000), nw_hpa(0x8000), 0);
	}
	use_pcid(1);
}

Test(tlb, invpcid_individual_address)
{
	setup_tlb(NW_CR4_PCIDE | NW_CR4_PGE);
	fill_two_pcids();
	cr_assert_eq(nw_tlb_invpcid(&tlb, 0, 2, nw_gva(0x1000)), NW_OK);
	cr_assert_not(has1(2, 0x1000));
	cr_assert_not(has_psc(2, 0x1000, 2));
	cr_assert(has1(2, 0x2000) && has1(1, 0x1000) && has_psc(1, 0x1000, 2));
	/* global translations are kept even for the named address */
	cr_assert_eq(nw_tlb_invpcid(&tlb, 0, 2, nw_gva(0x803000)), NW_OK);
	cr_assert(has1(2, 0x803000));
}

Test(tlb, invpcid_single_context)
{
	setup_tlb(NW_CR4_PCIDE | NW_CR4_PGE);
	fill_two_pcids();
	cr_assert_eq(nw_tlb_invpcid(&tlb, 1, 2, nw_gva(0)), NW_OK);
	cr_assert_not(has1(2, 0x1000) || has1(2, 0x2000) || has_psc(2, 0x1000, 2));
	cr_assert(has1(2, 0x803000));
	cr_assert(has1(1, 0x1000) && has1(1, 0x2000) && has_psc(1, 0x1000, 2));
}

Test(tlb, invpcid_all_context_with_and_without_globals)
{
	setup_tlb(NW_CR4_PCIDE | NW_CR4_PGE);
	fill_two_pcids();
	nw_tlb_load_vm(&tlb, 2, true, EPT_A);
	put(0x1000, NW_PAGE_SIZE, false); /* another VPID's: INVPCID never touches it */
	nw_tlb_load_vm(&tlb, 1, true, EPT_A);
	cr_assert_eq(nw_tlb_invpcid(&tlb, 3, 0, nw_gva(0)), NW_OK);
	cr_assert_not(has1(1, 0x1000) || has1(2, 0x2000) || has_psc(1, 0x1000, 2) || has_psc(2, 0x1000, 2));
	cr_assert(has1(1, 0x403000) && has1(2, 0x803000));
	cr_assert(has(2, 1, EPT_A, 0x1000));
	cr_assert_eq(nw_tlb_invpcid(&tlb, 2, 0, nw_gva(0)), NW_OK);
	cr_assert_not(has1(1, 0x403000) || has1(2, 0x803000));
	cr_assert(has(2, 1, EPT_A, 0x1000));
}

Test(tlb, invpcid_faults_change_nothing)
{
	setup_tlb(NW_CR4_PGE);
	put(0x1000, NW_PAGE_SIZE, false);
	cr_assert_eq(nw_tlb_invpcid(&tlb, 4, 0, nw_gva(0)), NW_ERR_INVALID);
	cr_assert_eq(nw_tlb_invpcid(&tlb, 1, 0x1000, nw_gva(0)), NW_ERR_INVALID);
	/* CR4.PCIDE=0: types 0 and 1 only for PCID 0 */
	cr_assert_eq(nw_tlb_invpcid(&tlb, 1, 1, nw_gva(0)), NW_ERR_INVALID);
	cr_assert_eq(nw_tlb_invpcid(&tlb, 0, 1, nw_gva(0x1000)), NW_ERR_INVALID);
	cr_assert(has1(0, 0x1000));
	cr_assert_eq(nw_tlb_invpcid(&tlb, 0, 0, nw_gva(0x1000)), NW_OK);
	cr_assert_not(has1(0, 0x1000));
}

/* Each refusal names its condition (INVPCID: Vol. 2 "Protected Mode Exceptions"; INVVPID and INVEPT: Vol. 3C,
 * VMfailValid), exactly where the operation returns NW_ERR_INVALID. */
Test(tlb, refusals_say_why)
{
	setup_tlb(0);
	cr_assert_str_eq(nw_tlb_invpcid_refusal(&tlb, 4, 0), "#GP (INVPCID type above 3)");
	cr_assert_str_eq(nw_tlb_invpcid_refusal(&tlb, 2, 0x1000), "#GP (a PCID above 12 bits)");
	cr_assert_str_eq(nw_tlb_invpcid_refusal(&tlb, 1, 5),
			 "#GP (type 0 or 1 with a PCID other than 0 while CR4.PCIDE=0)");
	cr_assert_null(nw_tlb_invpcid_refusal(&tlb, 2, 5)); /* all-context ignores the PCID */
	cr_assert_null(nw_tlb_invpcid_refusal(&tlb, 1, 0));
	setup_tlb(NW_CR4_PCIDE);
	cr_assert_null(nw_tlb_invpcid_refusal(&tlb, 1, 5));
	cr_assert_str_eq(nw_tlb_invvpid_refusal(4, 1), "VMfailValid (INVVPID type above 3)");
	for (unsigned type = 0; type <= 3; type++)
		if (type == 2)
			cr_assert_null(nw_tlb_invvpid_refusal(type, 0));
		else
			cr_assert_str_eq(nw_tlb_invvpid_refusal(type, 0),
					 "VMfailValid (VPID 0 with a type other than 2, all-context)");
	for (unsigned type = 0; type <= 3; type++)
		if (type == 1 || type == 2)
			cr_assert_null(nw_tlb_invept_refusal(type));
		else
			cr_assert_str_eq(nw_tlb_invept_refusal(type),
					 "VMfailValid (INVEPT type other than 1, single-context, and 2, all-context)");
}

/* VPIDs 0, 1 and 2: a non-global page 0x1000, a global page at 0x400000 + VPID * 0x400000
 * (4 KiB entries in different sets), a PDE-cache entry for 0x1000. */
static void fill_three_vpids(void)
{
	for (uint16_t vpid = 0; vpid <= 2; vpid++) {
		nw_tlb_load_vm(&tlb, vpid, true, EPT_A);
		put(0x1000, NW_PAGE_SIZE, false);
		put(0x400000 + vpid * 0x400000u, NW_SIZE_2M, true);
		nw_tlb_psc_insert(&tlb, nw_gva(0x1000), 2, nw_gpa(0x7000), nw_hpa(0x8000), 0);
	}
	nw_tlb_load_vm(&tlb, 1, true, EPT_A);
}

static bool vpid_has(uint16_t vpid, uint64_t gva)
{
	return has(vpid, 0, EPT_A, gva);
}

static bool vpid_has_psc(uint16_t vpid)
{
	struct nw_tlb_tag tag = { vpid, 0, true, EPT_A };
	struct nw_psc_hit hit;

	return nw_tlb_psc_probe(&tlb, &tag, nw_gva(0x1000), 2, &hit);
}

Test(tlb, invvpid_individual_address_includes_globals)
{
	setup_tlb(NW_CR4_PGE);
	fill_three_vpids();
	cr_assert_eq(nw_tlb_invvpid(&tlb, 0, 2, nw_gva(0x1000)), NW_OK);
	cr_assert_not(vpid_has(2, 0x1000) || vpid_has_psc(2));
	cr_assert(vpid_has(1, 0x1000) && vpid_has(0, 0x1000) && vpid_has(2, 0xc00000));
	cr_assert_eq(nw_tlb_invvpid(&tlb, 0, 2, nw_gva(0xc00000)), NW_OK);
	cr_assert_not(vpid_has(2, 0xc00000));
}

Test(tlb, invvpid_single_context_and_retaining_globals)
{
	setup_tlb(NW_CR4_PGE);
	fill_three_vpids();
	cr_assert_eq(nw_tlb_invvpid(&tlb, 3, 2, nw_gva(0)), NW_OK);
	cr_assert_not(vpid_has(2, 0x1000) || vpid_has_psc(2));
	cr_assert(vpid_has(2, 0xc00000));
	cr_assert_eq(nw_tlb_invvpid(&tlb, 1, 2, nw_gva(0)), NW_OK);
	cr_assert_not(vpid_has(2, 0xc00000));
	cr_assert(vpid_has(1, 0x1000) && vpid_has(1, 0x800000) && vpid_has(0, 0x1000) && vpid_has_psc(1));
}

Test(tlb, invvpid_all_context_spares_vpid_0)
{
	setup_tlb(NW_CR4_PGE);
	fill_three_vpids();
	cr_assert_eq(nw_tlb_invvpid(&tlb, 2, 0, nw_gva(0)), NW_OK);
	cr_assert_not(vpid_has(1, 0x1000) || vpid_has(2, 0x1000) || vpid_has(1, 0x800000) || vpid_has_psc(1));
	cr_assert(vpid_has(0, 0x1000) && vpid_has(0, 0x400000) && vpid_has_psc(0));
}

Test(tlb, invvpid_failures_change_nothing)
{
	setup_tlb(NW_CR4_PGE);
	fill_three_vpids();
	cr_assert_eq(nw_tlb_invvpid(&tlb, 0, 0, nw_gva(0x1000)), NW_ERR_INVALID);
	cr_assert_eq(nw_tlb_invvpid(&tlb, 1, 0, nw_gva(0)), NW_ERR_INVALID);
	cr_assert_eq(nw_tlb_invvpid(&tlb, 3, 0, nw_gva(0)), NW_ERR_INVALID);
	cr_assert_eq(nw_tlb_invvpid(&tlb, 4, 1, nw_gva(0)), NW_ERR_INVALID);
	cr_assert_eq(tlb.stats.invalidated, 0);
	cr_assert(vpid_has(0, 0x1000));
}

Test(tlb, invept_drops_combined_mappings_by_eptrta)
{
	setup_tlb(NW_CR4_PGE);
	put(0x1000, NW_PAGE_SIZE, true);            /* VPID 1, EPT_A, global: goes with single-context A */
	nw_tlb_load_vm(&tlb, 2, true, EPT_A | 0x1e); /* memory type/walk bits are not part of the EPTRTA */
	put(0x2000, NW_PAGE_SIZE, false);           /* VPID 2, EPT_A: goes too (every VPID) */
	nw_tlb_psc_insert(&tlb, nw_gva(0x2000), 2, nw_gpa(0x7000), nw_hpa(0x8000), 0);
	nw_tlb_load_vm(&tlb, 1, true, EPT_B);
	put(0x1000, NW_PAGE_SIZE, false);           /* EPT_B: survives single-context A */
	nw_tlb_load_vm(&tlb, 1, false, 0);
	put(0x3000, NW_PAGE_SIZE, false);           /* a linear mapping (EPT off): INVEPT never touches it */

	cr_assert_eq(nw_tlb_invept(&tlb, 1, EPT_A | 0x5e), NW_OK);
	cr_assert_not(has(1, 0, EPT_A, 0x1000) || has(2, 0, EPT_A, 0x2000));
	cr_assert_not(nw_tlb_psc_probe(&tlb, &(struct nw_tlb_tag){ 2, 0, true, EPT_A }, nw_gva(0x2000), 2,
				       &(struct nw_psc_hit){ 0 }));
	cr_assert(has(1, 0, EPT_B, 0x1000));
	cr_assert(has(1, 0, 0, 0x3000));
	cr_assert_eq(nw_tlb_invept(&tlb, 2, 0), NW_OK);
	cr_assert_not(has(1, 0, EPT_B, 0x1000));
	cr_assert(has(1, 0, 0, 0x3000));
	cr_assert_eq(nw_tlb_invept(&tlb, 3, 0), NW_ERR_INVALID);
	cr_assert_eq(nw_tlb_invept(&tlb, 0, 0), NW_ERR_INVALID);
}

Test(tlb, cr0_flushes_only_when_paging_is_turned_off)
{
	setup_tlb(NW_CR4_PGE);
	put(0x1000, NW_PAGE_SIZE, false);
	put(0x400000, NW_SIZE_2M, true);
	nw_tlb_write_cr0(&tlb, PG | NW_CR0_WP); /* WP: rights are applied at use, nothing to flush */
	nw_tlb_write_cr0(&tlb, PG);
	cr_assert(has1(0, 0x1000) && has1(0, 0x400000));
	nw_tlb_load_vm(&tlb, 2, true, EPT_A);
	put(0x1000, NW_PAGE_SIZE, false);
	nw_tlb_load_vm(&tlb, 1, true, EPT_A);
	nw_tlb_write_cr0(&tlb, 0);
	cr_assert_not(has1(0, 0x1000) || has1(0, 0x400000));
	cr_assert(has(2, 0, EPT_A, 0x1000), "another VPID's mappings stay");
}

Test(tlb, cr4_pge_and_pcide_flush_every_pcid)
{
	setup_tlb(NW_CR4_PCIDE | NW_CR4_PGE);
	fill_two_pcids();
	nw_tlb_write_cr4(&tlb, NW_CR4_PCIDE | NW_CR4_PGE | NW_CR4_SMAP | NW_CR4_PKE); /* no flush */
	cr_assert(has1(1, 0x1000) && has1(2, 0x803000));
	nw_tlb_write_cr4(&tlb, NW_CR4_PCIDE | NW_CR4_SMAP | NW_CR4_PKE); /* PGE 1 -> 0 */
	cr_assert_eq(nw_tlb_count(&tlb, NW_TLB_4K) + nw_tlb_count(&tlb, NW_PSC_PDE), 0);
	nw_tlb_write_cr4(&tlb, NW_CR4_PCIDE | NW_CR4_PGE);
	fill_two_pcids();
	nw_tlb_write_cr4(&tlb, NW_CR4_PGE); /* PCIDE 1 -> 0 */
	cr_assert_eq(nw_tlb_count(&tlb, NW_TLB_4K) + nw_tlb_count(&tlb, NW_PSC_PDE), 0);
}

Test(tlb, cr4_pae_and_smep_set_flush_the_current_pcid)
{
	setup_tlb(NW_CR4_PCIDE | NW_CR4_PGE | NW_CR4_PAE);
	fill_two_pcids(); /* current PCID: 1 */
	nw_tlb_write_cr4(&tlb, NW_CR4_PCIDE | NW_CR4_PGE | NW_CR4_PAE | NW_CR4_SMEP);
	cr_assert_not(has1(1, 0x1000) || has1(1, 0x403000) || has_psc(1, 0x1000, 2));
	cr_assert(has1(2, 0x1000) && has1(2, 0x803000) && has_psc(2, 0x1000, 2));
	fill_two_pcids();
	nw_tlb_write_cr4(&tlb, NW_CR4_PCIDE | NW_CR4_PGE | NW_CR4_PAE); /* SMEP 1 -> 0: nothing required */
	cr_assert(has1(1, 0x1000));
	nw_tlb_write_cr4(&tlb, NW_CR4_PCIDE | NW_CR4_PGE); /* PAE changes */
	cr_assert_not(has1(1, 0x1000));
	cr_assert(has1(2, 0x1000));
}

Test(tlb, tags_keep_vpids_pcids_and_eptrtas_apart)
{
	struct nw_tlb_hit hit;
	struct nw_tlb_fill fill = { .gva = nw_gva(0x5000), .guest_page_size = NW_PAGE_SIZE };

	setup_tlb(NW_CR4_PCIDE);
	/* The same linear page, four owners, four different frames. */
	use_pcid(1);
	fill.hpa = nw_hpa(0x11000);
	nw_tlb_insert(&tlb, &fill);
	use_pcid(2);
	fill.hpa = nw_hpa(0x22000);
	nw_tlb_insert(&tlb, &fill);
	nw_tlb_load_vm(&tlb, 7, true, EPT_A);
	fill.hpa = nw_hpa(0x33000);
	nw_tlb_insert(&tlb, &fill);
	nw_tlb_load_vm(&tlb, 7, true, EPT_B);
	fill.hpa = nw_hpa(0x44000);
	nw_tlb_insert(&tlb, &fill);
	cr_assert(nw_tlb_lookup(&tlb, nw_gva(0x5008), &hit));
	cr_assert_eq(hit.hpa.val, 0x44008);
	nw_tlb_load_vm(&tlb, 7, true, EPT_A);
	cr_assert(nw_tlb_lookup(&tlb, nw_gva(0x5008), &hit));
	cr_assert_eq(hit.hpa.val, 0x33008);
	nw_tlb_load_vm(&tlb, 1, true, EPT_A);
	cr_assert(nw_tlb_lookup(&tlb, nw_gva(0x5008), &hit));
	cr_assert_eq(hit.hpa.val, 0x22008);
	use_pcid(1);
	cr_assert(nw_tlb_lookup(&tlb, nw_gva(0x5008), &hit));
	cr_assert_eq(hit.hpa.val, 0x11008);
	use_pcid(3);
	cr_assert_not(nw_tlb_lookup(&tlb, nw_gva(0x5008), &hit));
	nw_tlb_load_vm(&tlb, 1, false, 0);
	use_pcid(1);
	cr_assert_not(nw_tlb_lookup(&tlb, nw_gva(0x5008), &hit), "a linear lookup never uses a combined mapping");
}

Test(tlb, lru_eviction_within_a_set)
{
	struct nw_tlb_hit hit;
	struct nw_frame frame;

	/* The storage may be a HAL frame, as a hypervisor would give it. */
	cr_assert_eq(nw_frame_alloc(&frame, hal), NW_OK);
	cr_assert_leq(nw_tlb_storage_size(&small), NW_PAGE_SIZE);
	cr_assert_eq(nw_tlb_init(&tlb, &small, nw_frame_ptr(&frame), NW_PAGE_SIZE), NW_OK);
	setup_tlb(0);
	/* 4 sets: pages 0x1000, 0x5000, 0x9000 all index set 1 of the 2-way 4 KiB array. */
	put(0x1000, NW_PAGE_SIZE, false);
	put(0x5000, NW_PAGE_SIZE, false);
	put(0x2000, NW_PAGE_SIZE, false); /* set 2: unaffected */
	cr_assert(nw_tlb_lookup(&tlb, nw_gva(0x1000), &hit)); /* 0x5000 is now least recently used */
	put(0x9000, NW_PAGE_SIZE, false);
	cr_assert(has1(0, 0x1000) && has1(0, 0x9000) && has1(0, 0x2000));
	cr_assert_not(has1(0, 0x5000));
	cr_assert_eq(tlb.stats.evictions, 1);
	/* Re-inserting a present page replaces it in place: no eviction. */
	put(0x9000, NW_PAGE_SIZE, false);
	cr_assert_eq(tlb.stats.evictions, 1);
	cr_assert_eq(nw_tlb_count(&tlb, NW_TLB_4K), 3);
	nw_frame_free(&frame);
}

Test(tlb, counters_and_deepest_paging_structure_hit)
{
	struct nw_tlb_hit hit;
	struct nw_psc_hit psc;

	setup_tlb(0);
	put(0x1000, NW_PAGE_SIZE, false);
	put(0x200000, NW_SIZE_2M, false);
	cr_assert(nw_tlb_lookup(&tlb, nw_gva(0x1000), &hit));
	cr_assert(nw_tlb_lookup(&tlb, nw_gva(0x3fffff), &hit));
	cr_assert(nw_tlb_lookup(&tlb, nw_gva(0x200000), &hit));
	cr_assert_not(nw_tlb_lookup(&tlb, nw_gva(0x2000), &hit));
	cr_assert_eq(tlb.stats.lookups, 4);
	cr_assert_eq(tlb.stats.hits, 3);
	cr_assert_eq(tlb.caches[NW_TLB_4K].hits, 1);
	cr_assert_eq(tlb.caches[NW_TLB_2M].hits, 2);
	/* Probed smallest first: 4 KiB every time, 2 MiB after each 4 KiB miss, 1 GiB once (the miss). */
	cr_assert_eq(tlb.caches[NW_TLB_4K].lookups, 4);
	cr_assert_eq(tlb.caches[NW_TLB_2M].lookups, 3);
	cr_assert_eq(tlb.caches[NW_TLB_1G].lookups, 1);
	cr_assert_eq(tlb.caches[NW_TLB_1G].hits, 0);
	cr_assert_eq(tlb.stats.inserts, 2);

	nw_tlb_psc_insert(&tlb, nw_gva(0x1000), 4, nw_gpa(0xa000), nw_hpa(0xb000), 7);
	nw_tlb_psc_insert(&tlb, nw_gva(0x1000), 3, nw_gpa(0xc000), nw_hpa(0xd000), 3);
	cr_assert(nw_tlb_psc_lookup(&tlb, nw_gva(0x3000), &psc));
	cr_assert_eq(psc.level, 3);
	cr_assert_eq(psc.table_hpa.val, 0xd000);
	cr_assert_eq(psc.rights, 3);
	nw_tlb_psc_insert(&tlb, nw_gva(0x1000), 2, nw_gpa(0xe000), nw_hpa(0xf000), 1);
	cr_assert(nw_tlb_psc_lookup(&tlb, nw_gva(0x1fffff), &psc));
	cr_assert_eq(psc.level, 2);
	cr_assert_eq(psc.table_gpa.val, 0xe000);
	/* Another 1 GiB region: only the PML4E entry (bits 47:39) still applies. */
	cr_assert(nw_tlb_psc_lookup(&tlb, nw_gva(0x40000000), &psc));
	cr_assert_eq(psc.level, 4);
	cr_assert_not(nw_tlb_psc_lookup(&tlb, nw_gva(0x8000000000), &psc));
	cr_assert_eq(tlb.stats.psc_lookups, 4);
	cr_assert_eq(tlb.stats.psc_hits, 3);
	cr_assert_eq(tlb.caches[NW_PSC_PDE].hits, 1);
	cr_assert_eq(tlb.caches[NW_PSC_PDPTE].hits, 1);
	cr_assert_eq(tlb.caches[NW_PSC_PML4E].hits, 1);
	/* Deepest first: PDE probed 4 times, PDPTE after each PDE miss (3), PML4E after each PDPTE miss (2). */
	cr_assert_eq(tlb.caches[NW_PSC_PDE].lookups, 4);
	cr_assert_eq(tlb.caches[NW_PSC_PDPTE].lookups, 3);
	cr_assert_eq(tlb.caches[NW_PSC_PML4E].lookups, 2);
	cr_assert_eq(tlb.caches[NW_PSC_PML5E].lookups, 1, "after the one PML4E miss");
	/* 5-level paging: a PML5E entry (bits 56:48) covers every PML4E slot under it (§4.10.3.1). */
	nw_tlb_psc_insert(&tlb, nw_gva(0x1000), 5, nw_gpa(0x10000), nw_hpa(0x11000), 7);
	cr_assert(nw_tlb_psc_lookup(&tlb, nw_gva(0x8000000000), &psc));
	cr_assert_eq(psc.level, 5);
	cr_assert_eq(psc.table_hpa.val, 0x11000);
	cr_assert_not(nw_tlb_psc_lookup(&tlb, nw_gva(UINT64_C(1) << 48), &psc), "another PML5E slot");
	nw_tlb_flush_all(&tlb);
	for (unsigned id = 0; id < NW_TLB_CACHE_COUNT; id++)
		cr_assert_eq(nw_tlb_count(&tlb, id), 0);
	cr_assert_eq(tlb.stats.invalidated, 6);
}

/* A translation just used must not answer again once it may no longer be used:
 * a lookup right after a hit sees every invalidation and tag change. */
Test(tlb, a_recent_hit_obeys_invalidation_and_tag_changes)
{
	struct nw_tlb_hit hit;
	struct nw_tlb_fill fill = {
		.gva = nw_gva(0x7000), .gpa = nw_gpa(0x70000), .hpa = nw_hpa(0x170000),
		.guest_page_size = NW_PAGE_SIZE, .dirty = true,
	};

	setup_tlb(NW_CR4_PCIDE | NW_CR4_PGE);
	use_pcid(1);
	nw_tlb_insert(&tlb, &fill);
	cr_assert(nw_tlb_lookup(&tlb, nw_gva(0x7010), &hit));
	cr_assert_eq(hit.hpa.val, 0x170010);
	/* §4.10.1: a non-global translation is used only with its own PCID. */
	use_pcid(2);
	cr_assert_not(nw_tlb_lookup(&tlb, nw_gva(0x7010), &hit));
	use_pcid(1);
	cr_assert(nw_tlb_lookup(&tlb, nw_gva(0x7010), &hit));
	/* Vol. 3C §29.4.1: nor with another VPID or EPTRTA. */
	nw_tlb_load_vm(&tlb, 2, true, EPT_A);
	cr_assert_not(nw_tlb_lookup(&tlb, nw_gva(0x7010), &hit));
	nw_tlb_load_vm(&tlb, 1, true, EPT_B);
	cr_assert_not(nw_tlb_lookup(&tlb, nw_gva(0x7010), &hit));
	nw_tlb_load_vm(&tlb, 1, true, EPT_A);
	cr_assert(nw_tlb_lookup(&tlb, nw_gva(0x7010), &hit));
	/* Another page of the same slot is not this entry's. */
	cr_assert_not(nw_tlb_lookup(&tlb, nw_gva(0x7010 + 8 * NW_PAGE_SIZE), &hit));
	/* §4.10.4.1: INVLPG drops it. */
	nw_tlb_invlpg(&tlb, nw_gva(0x7000));
	cr_assert_not(nw_tlb_lookup(&tlb, nw_gva(0x7010), &hit));
	/* A new translation for the page (the guest remapped it) is what the next lookup gives. */
	nw_tlb_insert(&tlb, &fill);
	cr_assert(nw_tlb_lookup(&tlb, nw_gva(0x7010), &hit));
	fill.hpa = nw_hpa(0x280000);
	nw_tlb_insert(&tlb, &fill);
	cr_assert(nw_tlb_lookup(&tlb, nw_gva(0x7010), &hit));
	cr_assert_eq(hit.hpa.val, 0x280010);
	/* Vol. 3C §29.4.3.1: single-context INVEPT drops the mappings combined with its EPTRTA. */
	cr_assert_eq(nw_tlb_invept(&tlb, 1, EPT_A | 0x5e), NW_OK);
	cr_assert_not(nw_tlb_lookup(&tlb, nw_gva(0x7010), &hit));
}

/* A 4 KiB entry made after a large page was used is the one a lookup gives (§4.10.2.3: the smallest page first). */
Test(tlb, a_recent_large_page_hit_gives_way_to_a_new_small_entry)
{
	struct nw_tlb_hit hit;
	struct nw_tlb_fill fill = {
		.gva = nw_gva(0x200000), .gpa = nw_gpa(0x400000), .hpa = nw_hpa(0x800000),
		.guest_page_size = NW_SIZE_2M, .dirty = true,
	};

	setup_tlb(0);
	nw_tlb_insert(&tlb, &fill);
	cr_assert(nw_tlb_lookup(&tlb, nw_gva(0x203004), &hit));
	cr_assert_eq(hit.cache, NW_TLB_2M);
	cr_assert_eq(hit.hpa.val, 0x803004);
	fill = (struct nw_tlb_fill){ .gva = nw_gva(0x203000), .gpa = nw_gpa(0x903000), .hpa = nw_hpa(0xa03000),
				     .guest_page_size = NW_PAGE_SIZE, .dirty = true };
	nw_tlb_insert(&tlb, &fill);
	cr_assert(nw_tlb_lookup(&tlb, nw_gva(0x203004), &hit));
	cr_assert_eq(hit.cache, NW_TLB_4K);
	cr_assert_eq(hit.hpa.val, 0xa03004);
	/* Paging off: nothing is used (§4.10.2). */
	nw_tlb_write_cr0(&tlb, 0);
	cr_assert_not(nw_tlb_lookup(&tlb, nw_gva(0x203004), &hit));
}

/* The recent-hit slots (tlb.h): a hit through a slot counts exactly what a lookup would. */
Test(tlb, recent_slot_counts_as_a_lookup)
{
	struct nw_tlb_hit hit;
	struct nw_tlb_recent *slot;

	setup_tlb(0);
	put(0x200000, NW_SIZE_2M, false);
	cr_assert_null(nw_tlb_recent(&tlb, nw_gva(0x3ff123)), "nothing looked up yet");
	cr_assert(nw_tlb_lookup(&tlb, nw_gva(0x3ff123), &hit));
	slot = nw_tlb_recent(&tlb, nw_gva(0x3ff456));
	cr_assert_not_null(slot);
	/* The 2 MiB entry's bases 0x100200000/0x200200000 plus the page's offset 0x1ff000 within it. */
	cr_assert_eq(nw_tlb_recent_gpa(&tlb, slot), 0x1003ff000);
	cr_assert_eq(nw_tlb_recent_hpa(&tlb, slot), 0x2003ff000);
	cr_assert_eq(slot->cache, NW_TLB_2M);
	cr_assert_eq(slot->memo, 0);
	cr_assert_null(nw_tlb_recent(&tlb, nw_gva(0x3fe000)), "a slot holds one 4 KiB page");
	for (int i = 0; i < 3; i++)
		nw_tlb_recent_use(&tlb, slot);
	cr_assert_eq(slot->entry->stamp, tlb.clock, "the use refreshes LRU");
	cr_assert_eq(tlb.stats.lookups, 1, "counted at the next sync");
	nw_tlb_sync(&tlb);
	/* 1 lookup + 3 uses: each probes the 4 KiB array, misses, then hits the 2 MiB one. */
	cr_assert_eq(tlb.stats.lookups, 4);
	cr_assert_eq(tlb.stats.hits, 4);
	cr_assert_eq(tlb.caches[NW_TLB_4K].lookups, 4);
	cr_assert_eq(tlb.caches[NW_TLB_4K].hits, 0);
	cr_assert_eq(tlb.caches[NW_TLB_2M].lookups, 4);
	cr_assert_eq(tlb.caches[NW_TLB_2M].hits, 4);
	cr_assert_eq(tlb.caches[NW_TLB_1G].lookups, 0);
	nw_tlb_sync(&tlb);
	cr_assert_eq(tlb.stats.lookups, 4, "a second sync adds nothing");
}

/* Fills the slot of page 0x5000, uses it twice (uncounted yet). */
static void recent_used_twice(void)
{
	struct nw_tlb_hit hit;
	struct nw_tlb_recent *slot;

	cr_assert(nw_tlb_lookup(&tlb, nw_gva(0x5000), &hit));
	slot = nw_tlb_recent(&tlb, nw_gva(0x5000));
	cr_assert_not_null(slot);
	nw_tlb_recent_use(&tlb, slot);
	nw_tlb_recent_use(&tlb, slot);
}

/* Whatever may change what a probe finds empties the slots, and their uncounted hits are counted first. */
Test(tlb, recent_slots_emptied_by_every_change)
{
	struct nw_tlb_hit hit;
	uint64_t hits = 0;

	setup_tlb(NW_CR4_PCIDE | NW_CR4_PGE);
	put(0x5000, NW_PAGE_SIZE, true); /* global (§4.10.2.4), so it outlives the PCID switch */
	for (int op = 0; op < 8; op++) {
		recent_used_twice();
		hits += 3;
		switch (op) {
		case 0: put(0x9000, NW_PAGE_SIZE, false); break;           /* an insert anywhere */
		case 1: nw_tlb_invlpg(&tlb, nw_gva(0x7000)); break;          /* an invalidation of another page */
		case 2: use_pcid(2); break;                                 /* a new PCID without a flush */
		case 3: nw_tlb_write_cr4(&tlb, NW_CR4_PCIDE | NW_CR4_PGE); break; /* unchanged: flushes nothing */
		case 4: nw_tlb_write_cr0(&tlb, PG | NW_CR0_WP); break;
		case 5: nw_tlb_load_vm(&tlb, 1, true, EPT_A | 0x5e); break;
		case 6: nw_tlb_load_cpu(&tlb, PG, 0x1000, NW_CR4_PCIDE | NW_CR4_PGE); break;
		case 7: nw_tlb_forget_recent(&tlb); break;
		}
		cr_assert_null(nw_tlb_recent(&tlb, nw_gva(0x5000)), "operation %d left the slot", op);
		cr_assert_eq(tlb.stats.hits, hits, "operation %d lost counts", op);
	}
	/* The page is still cached (global, and only other pages were dropped): a lookup refills the slot. */
	cr_assert(nw_tlb_lookup(&tlb, nw_gva(0x5000), &hit));
	cr_assert_not_null(nw_tlb_recent(&tlb, nw_gva(0x5000)));
}
