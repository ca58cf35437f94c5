/* The replay engine's internals (sim/replay/replay.h) on a VM built here: 4-level
 * guest tables at GPA 0x1000-0x4fff of a RAM region map GVA 0x400000 to GPA
 * 0x5000 and GVA 0x401000 to GPA 0x6000 (read-only). Expected values come
 * from the SDM: 24 references for a 4-level over 4-level walk with 4 KiB EPT
 * pages (Vol. 3C §29.3.2), none for a TLB hit (Vol. 3A §4.10.2). */
#include <nestwalk/aspace.h>
#include <nestwalk/x86_pte.h>
#include <string.h>

#include "fixture.h"
#include "replay/replay.h"

static struct nw_aspace as;
static struct nw_replay_machine machine;
static struct nw_replay replay;

static void put(uint64_t gpa, uint64_t value)
{
	cr_assert_eq(nw_aspace_write(&as, nw_gpa(gpa), &value, sizeof(value)), NW_OK);
}

static void replay_setup(void)
{
	struct nw_aspace_config config = { .format = NW_STAGE2_EPT, .levels = 4, .memory_type = NW_ASPACE_MEMTYPE_WB };
	struct nw_region ram = { .base = nw_gpa(0), .size = 0x200000,
				 .flags = NW_REGION_READ | NW_REGION_WRITE | NW_REGION_EXEC, .type = NW_REGION_ALLOC };
	struct nw_replay_options options = { .tlb = true };
	char err[256];

	fixture_setup();
	cr_assert_eq(nw_aspace_init(&as, hal, &config), NW_OK);
	cr_assert_eq(nw_aspace_add_region(&as, &ram), NW_OK);
	put(0x1000, 0x2007);
	put(0x2000, 0x3007);
	put(0x3010, 0x4007); /* PDE[2]: GVA 0x400000-0x5fffff */
	put(0x4000, 0x5007); /* 0x400000 -> 0x5000, P|RW|US */
	put(0x4008, 0x6005); /* 0x401000 -> 0x6000, P|US */
	machine = (struct nw_replay_machine){ .hal = hal, .stage2 = *nw_aspace_stage2(&as), .aspace = &as,
					      .eptp = nw_ept_eptp(&as.ept) };
	machine.cpu.cr0 = NW_CR0_PG | NW_CR0_WP | 1;
	machine.cpu.cr3 = 0x1000;
	machine.cpu.cr4 = NW_CR4_PAE;
	machine.cpu.efer = NW_EFER_LME | NW_EFER_LMA;
	cr_assert_eq(nw_replay_init(&replay, &machine, &options, err, sizeof(err)), 0, "%s", err);
}

static void replay_teardown(void)
{
	nw_replay_fini(&replay);
	nw_aspace_destroy(&as);
	fixture_teardown();
}

TestSuite(replay, .init = replay_setup, .fini = replay_teardown);

static uint64_t hpa_of(uint64_t gpa)
{
	nw_hpa_t hpa;

	cr_assert_eq(nw_aspace_translate(&as, nw_gpa(gpa & ~NW_PAGE_MASK), &hpa), NW_OK);
	return hpa.val | (gpa & NW_PAGE_MASK);
}

static struct nw_replay_result *access(uint64_t gva, enum nw_access_type type, uint8_t cpl)
{
	struct nw_trace_record rec = { .kind = NW_TRACE_ACCESS,
				       .access = { .gva = nw_gva(gva), .size = 4, .type = type, .cpl = cpl } };
	char err[128];

	cr_assert_eq(nw_replay_apply(&replay, &rec, NULL, 0, err, sizeof(err)), 0);
	return &replay.result;
}

static void apply(const struct nw_trace_record *rec)
{
	char err[128];

	cr_assert_eq(nw_replay_apply(&replay, rec, NULL, 0, err, sizeof(err)), 0, "%s", err);
}

static void repoint_pte0(uint64_t value)
{
	static uint8_t bytes[8];
	struct nw_trace_record rec = { .kind = NW_TRACE_GPWRITE };

	memcpy(bytes, &value, sizeof(value));
	rec.gpwrite = (struct nw_trace_gpwrite){ .gpa = nw_gpa(0x4000), .len = 8, .data = bytes };
	apply(&rec);
}

Test(replay, miss_then_hit)
{
	struct nw_replay_result *res = access(0x400010, NW_ACCESS_READ, 3);

	cr_assert_eq(res->kind, NW_TRACE_OUT_OK);
	cr_assert(!res->from_tlb);
	cr_assert_eq(res->refs, 24);
	cr_assert_eq(res->gpa, 0x5010);
	cr_assert_eq(res->hpa, hpa_of(0x5010));
	res = access(0x400020, NW_ACCESS_READ, 3);
	cr_assert(res->from_tlb);
	cr_assert_eq(res->refs, 0);
	cr_assert_eq(res->gpa, 0x5020);
	cr_assert_eq(res->hpa, hpa_of(0x5020));
	cr_assert_eq(replay.stats.tlb_hits, 1);
	cr_assert_eq(replay.stats.tlb_lookups, 2);
	cr_assert_eq(replay.stats.refs_hist[24], 1);
}

/* A page-table edit without invalidation leaves the old translation in use (§4.10.4.3); INVLPG ends it. */
Test(replay, stale_entry_until_invlpg)
{
	struct nw_trace_record invlpg = { .kind = NW_TRACE_INVLPG, .inv = { .gva = nw_gva(0x400000) } };

	access(0x400000, NW_ACCESS_READ, 3);
	repoint_pte0(0x7007);
	cr_assert_eq(access(0x400000, NW_ACCESS_READ, 3)->gpa, 0x5000);
	apply(&invlpg);
	cr_assert_eq(access(0x400000, NW_ACCESS_READ, 3)->gpa, 0x7000);
}

/* The paging-structure caches (§4.10.3): the walk of 0x400000 caches PDE[2] (the page table at GPA
 * 0x4000). The guest then repoints PDE[2] to a new page table at GPA 0x8000 whose PTE[1] maps 0x401000 to
 * GPA 0x9000, and does not invalidate. A miss on 0x401000 may go on from the cached PDE (§4.10.3.2) and
 * finds the old table's PTE[1]: GPA 0x6000, one reference for the PTE plus 4 EPT entries for the final GPA;
 * software must invalidate (§4.10.4.4). INVLPG of any address drops every paging-structure-cache entry of
 * the PCID (§4.10.4.1), and INVLPG 0x401000 its TLB entry: the next miss walks from CR3 (24 references)
 * and finds the new table's GPA 0x9000. */
Test(replay, stale_pde_cache_entry_until_invlpg)
{
	struct nw_trace_record invlpg = { .kind = NW_TRACE_INVLPG, .inv = { .gva = nw_gva(0x401000) } };
	struct nw_replay_result *res;

	access(0x400000, NW_ACCESS_READ, 3);
	put(0x8008, 0x9005);
	put(0x3010, 0x8007);
	res = access(0x401000, NW_ACCESS_READ, 3);
	cr_assert_not(res->from_tlb);
	cr_assert_eq(res->gpa, 0x6000, "the cached PDE still leads to the old page table");
	cr_assert_eq(res->refs, 1 + 4);
	cr_assert_eq(res->walk.start_level, NW_LEVEL_PD);
	cr_assert_eq(replay.stats.psc_hits, 1);
	apply(&invlpg);
	res = access(0x401000, NW_ACCESS_READ, 3);
	cr_assert_eq(res->gpa, 0x9000, "after INVLPG the walk reads the new PDE");
	cr_assert_eq(res->refs, 24);
	cr_assert_eq(res->walk.start_level, 0);
}

Test(replay, no_tlb_walks_every_time)
{
	struct nw_replay_options options = { .tlb = false };
	char err[128];

	nw_replay_fini(&replay);
	cr_assert_eq(nw_replay_init(&replay, &machine, &options, err, sizeof(err)), 0);
	access(0x400000, NW_ACCESS_READ, 3);
	repoint_pte0(0x7007);
	cr_assert_eq(access(0x400000, NW_ACCESS_READ, 3)->gpa, 0x7000);
	cr_assert_eq(replay.stats.walks, 2);
	cr_assert_eq(replay.stats.tlb_lookups, 0);
}

/* A read leaves D clear: the first write walks to set it (§4.8), the next one hits. */
Test(replay, write_after_read_walks_once)
{
	uint64_t pte;

	access(0x400000, NW_ACCESS_READ, 3);
	cr_assert(!access(0x400000, NW_ACCESS_WRITE, 3)->from_tlb);
	cr_assert_eq(nw_aspace_read(&as, nw_gpa(0x4000), &pte, sizeof(pte)), NW_OK);
	cr_assert(pte & NW_PTE_D);
	cr_assert(access(0x400000, NW_ACCESS_WRITE, 3)->from_tlb);
}

/* An entry that does not allow the access is not trusted: the walk decides (user write to a read-only page). */
Test(replay, refused_hit_walks_and_faults)
{
	struct nw_replay_result *res;

	access(0x401000, NW_ACCESS_READ, 3);
	res = access(0x401000, NW_ACCESS_WRITE, 3);
	cr_assert_eq(res->kind, NW_TRACE_OUT_PAGE_FAULT);
	cr_assert_eq(res->error_code, NW_PFEC_P | NW_PFEC_W | NW_PFEC_U);
	cr_assert(!res->from_tlb);
	/* The #PF dropped the address's entry (§4.10.4.1): the next read walks. */
	cr_assert(!access(0x401000, NW_ACCESS_READ, 3)->from_tlb);
}

Test(replay, invept_single_context_matches_the_eptp)
{
	struct nw_trace_record other = { .kind = NW_TRACE_INVEPT, .inv = { .type = 1, .eptp = 0x101e } };
	struct nw_trace_record own = { .kind = NW_TRACE_INVEPT, .inv = { .type = 1, .eptp = machine.eptp } };

	access(0x400000, NW_ACCESS_READ, 3);
	apply(&other);
	cr_assert(access(0x400000, NW_ACCESS_READ, 3)->from_tlb);
	apply(&own);
	cr_assert(!access(0x400000, NW_ACCESS_READ, 3)->from_tlb);
}

/* The hypervisor write-protects GPA 0x5000 (s2edit: W, bit 1, of its EPT PTE): the combined mapping a write made
 * stays usable until INVEPT of this EPTP (Vol. 3C §29.4.3); then the write is an EPT violation. An edit that would
 * move a table (the EPT PDE's address) is refused and changes nothing; neither allocates a frame (the fixture's
 * teardown counts them). */
Test(replay, s2edit_leaves_the_tlb_until_invept)
{
	struct nw_trace_record protect = { .kind = NW_TRACE_S2EDIT, .s2edit = { nw_gpa(0x5000), 1, 0x2, 0 } };
	struct nw_trace_record move = { .kind = NW_TRACE_S2EDIT, .s2edit = { nw_gpa(0x5000), 2, 0xfffff000, 0 } };
	struct nw_trace_record own = { .kind = NW_TRACE_INVEPT, .inv = { .type = 1, .eptp = machine.eptp } };
	uint64_t allocs = nw_simmem_stats(sim).allocs;
	nw_hpa_t before, after;
	char err[256];

	cr_assert_eq(access(0x400000, NW_ACCESS_WRITE, 3)->kind, NW_TRACE_OUT_OK);
	apply(&protect);
	cr_assert_eq(nw_aspace_translate(&as, nw_gpa(0x5000), &before), NW_OK);
	cr_assert(access(0x400008, NW_ACCESS_WRITE, 3)->from_tlb);
	cr_assert_eq(replay.result.kind, NW_TRACE_OUT_OK);
	apply(&own);
	cr_assert_eq(access(0x400008, NW_ACCESS_WRITE, 3)->kind, NW_TRACE_OUT_EPT_VIOLATION);
	cr_assert_eq(nw_replay_apply(&replay, &move, NULL, 0, err, sizeof(err)), -1);
	cr_assert(strstr(err, "s2edit of the level-2 entry for gpa 0x5000: would change a table address"), "%s", err);
	cr_assert_eq(nw_aspace_translate(&as, nw_gpa(0x5000), &after), NW_OK);
	cr_assert_eq(after.val, before.val);
	cr_assert_eq(access(0x400008, NW_ACCESS_READ, 3)->kind, NW_TRACE_OUT_OK);
	cr_assert_eq(nw_simmem_stats(sim).allocs, allocs); /* the edits allocated nothing */
	cr_assert_eq(replay.stats.s2edits, 1);
}

Test(replay, expectation_fields_compared_in_order)
{
	struct nw_trace_record expect = { .kind = NW_TRACE_EXPECT };
	struct nw_replay_mismatch m[NW_EXPECT_FIELD_COUNT];
	char err[128];

	access(0x400000, NW_ACCESS_READ, 3);
	expect.expect = (struct nw_trace_expect){
		.present = 1u << NW_EXPECT_OUTCOME | 1u << NW_EXPECT_GPA | 1u << NW_EXPECT_REFS,
		.outcome = NW_TRACE_OUT_OK, .gpa = nw_gpa(0x6000), .refs = 20,
	};
	cr_assert_eq(nw_replay_apply(&replay, &expect, m, NW_EXPECT_FIELD_COUNT, err, sizeof(err)), 2);
	cr_assert_eq(m[0].field, NW_EXPECT_GPA);
	cr_assert_eq(m[0].expected, 0x6000);
	cr_assert_eq(m[0].got, 0x5000);
	cr_assert_eq(m[0].record, 2);
	cr_assert_eq(m[1].field, NW_EXPECT_REFS);
	cr_assert_eq(m[1].got, 24);
	cr_assert_eq(replay.stats.mismatches, 1);
	/* An expectation that follows no access cannot be applied. */
	cr_assert_eq(nw_replay_apply(&replay, &expect, m, NW_EXPECT_FIELD_COUNT, err, sizeof(err)), -1);
}

/* CR0.WP=0: supervisor writes ignore R/W (§4.6.1); MOV to CR0 that keeps PG invalidates nothing (§4.10.4.1). */
Test(replay, cr0_wp)
{
	struct nw_trace_record wp_off = { .kind = NW_TRACE_REG, .reg = { NW_TRACE_CR0, NW_CR0_PG | 1 } };

	access(0x400000, NW_ACCESS_READ, 0);
	cr_assert_eq(access(0x401000, NW_ACCESS_WRITE, 0)->error_code, NW_PFEC_P | NW_PFEC_W);
	apply(&wp_off);
	cr_assert(access(0x400000, NW_ACCESS_READ, 0)->from_tlb);
	cr_assert_eq(access(0x401000, NW_ACCESS_WRITE, 0)->kind, NW_TRACE_OUT_OK);
}

/* An access crossing a page boundary is two translations; it faults where its second page does. */
Test(replay, page_crossing_access)
{
	struct nw_trace_record rec = { .kind = NW_TRACE_ACCESS };
	char err[128];

	rec.access = (struct nw_trace_access){ .gva = nw_gva(0x401ffe), .size = 4, .type = NW_ACCESS_READ, .cpl = 3 };
	cr_assert_eq(nw_replay_apply(&replay, &rec, NULL, 0, err, sizeof(err)), 0);
	cr_assert_eq(replay.result.kind, NW_TRACE_OUT_PAGE_FAULT);
	cr_assert_eq(replay.result.error_code, NW_PFEC_U); /* PTE[2] of 0x402000 is not present */
	cr_assert_eq(replay.stats.translations, 2);
	/* Page 0x401000 walked from CR3: 4 guest entries x (4 EPT + 1) + 4 EPT for the final GPA = 24; page
	 * 0x402000 under the same PDE goes on from the PDE cache the first walk filled (§4.10.3.2), at the
	 * page table's cached host address (a combined mapping, Vol. 3C §29.4.2): one reference, the PTE. */
	cr_assert_eq(replay.result.refs, 24 + 1);
	cr_assert_eq(replay.result.walk.start_level, NW_LEVEL_PD);
}

Test(replay, guest_write_outside_memory_is_an_error)
{
	static const uint8_t byte = 1;
	struct nw_trace_record rec = { .kind = NW_TRACE_GPWRITE,
				       .gpwrite = { .gpa = nw_gpa(0x900000), .len = 1, .data = &byte } };
	char err[128];

	cr_assert_eq(nw_replay_apply(&replay, &rec, NULL, 0, err, sizeof(err)), -1);
	cr_assert(strstr(err, "0x900000"));
}

/* A lazy page the host has no frame for: the guest's tables allow the access
 * and the region allows it, so the EPT violation the walk saw is only the
 * page not being populated yet. The host failing to populate it is no_memory,
 * not a violation to reflect to the guest; with a frame the access completes. */
Test(replay, lazy_page_without_a_host_frame_is_no_memory)
{
	struct nw_region lazy = { .base = nw_gpa(0x300000), .size = NW_PAGE_SIZE,
				  .flags = NW_REGION_READ | NW_REGION_WRITE | NW_REGION_EXEC, .type = NW_REGION_ALLOC,
				  .lazy = true };
	struct nw_replay_result *res;

	cr_assert_eq(nw_aspace_add_region(&as, &lazy), NW_OK);
	put(0x4010, 0x300007); /* PTE[2]: 0x402000 -> GPA 0x300000, P|RW|US */
	nw_simmem_fail_nth(sim, 1);
	res = access(0x402000, NW_ACCESS_READ, 3);
	nw_simmem_fail_nth(sim, 0);
	cr_assert_eq(res->kind, NW_REPLAY_OUT_NO_MEMORY, "got %s", nw_replay_outcome_name(res->kind));
	cr_assert_eq(replay.stats.host_exhausted, 1);
	cr_assert_eq(replay.stats.outcomes[NW_TRACE_OUT_EPT_VIOLATION], 0);
	cr_assert_eq(replay.stats.outcomes[NW_REPLAY_OUT_NO_MEMORY], 1);
	res = access(0x402000, NW_ACCESS_READ, 3);
	cr_assert_eq(res->kind, NW_TRACE_OUT_OK);
	cr_assert_eq(res->gpa, 0x300000);
	cr_assert_eq(replay.stats.populated, 1);
}

/* Runs of accesses (nw_replay_run): the same answers as record by record, the
 * TLB hits after the first lookup of a page taken from its recent slot. */
#define OUTCOME_ONLY (1u << NW_EXPECT_OUTCOME)

static struct nw_trace_item item(uint64_t gva, enum nw_access_type type, uint8_t cpl, uint16_t present,
				 enum nw_trace_outcome outcome)
{
	return (struct nw_trace_item){ .gva = nw_gva(gva), .size = 4, .type = (uint8_t)type, .mode = cpl,
				       .present = present, .outcome = (uint8_t)outcome };
}

Test(replay, run_of_accesses_counts_as_records)
{
	const struct nw_trace_item items[] = {
		item(0x400010, NW_ACCESS_READ, 3, OUTCOME_ONLY, NW_TRACE_OUT_OK),  /* walks: 24 refs */
		item(0x400020, NW_ACCESS_READ, 3, OUTCOME_ONLY, NW_TRACE_OUT_OK),  /* full lookup, fills the slot */
		item(0x400030, NW_ACCESS_READ, 3, 0, NW_TRACE_OUT_OK),             /* from the slot */
		item(0x400ffc, NW_ACCESS_READ, 3, OUTCOME_ONLY, NW_TRACE_OUT_OK),  /* from the slot */
		item(0x401000, NW_ACCESS_WRITE, 3, OUTCOME_ONLY, NW_TRACE_OUT_PAGE_FAULT), /* read-only page */
		item(0x400040, NW_ACCESS_READ, 3, OUTCOME_ONLY, NW_TRACE_OUT_OK),  /* the #PF emptied the slots */
		item(0x400048, NW_ACCESS_READ, 3, OUTCOME_ONLY, NW_TRACE_OUT_OK),  /* from the slot again */
	};
	struct nw_replay_mismatch m[NW_EXPECT_FIELD_COUNT];
	int mismatched = -1;
	char err[128];

	cr_assert_eq(nw_replay_run(&replay, items, NULL, 7, m, NW_EXPECT_FIELD_COUNT, &mismatched,
				   err, sizeof(err)), 7);
	cr_assert_eq(mismatched, 0);
	/* 7 accesses and 6 expectations; walks for the first access and for the write (U/S=1, R/W=0: #PF). */
	cr_assert_eq(replay.record, 13);
	cr_assert_eq(replay.stats.records, 13);
	cr_assert_eq(replay.stats.accesses, 7);
	cr_assert_eq(replay.stats.expectations, 6);
	cr_assert_eq(replay.stats.mismatches, 0);
	cr_assert_eq(replay.stats.walks, 2);
	cr_assert_eq(replay.stats.tlb_lookups, 7);
	cr_assert_eq(replay.stats.tlb_hits, 5);
	cr_assert_eq(replay.stats.outcomes[NW_TRACE_OUT_OK], 6);
	cr_assert_eq(replay.stats.outcomes[NW_TRACE_OUT_PAGE_FAULT], 1);
	/* The TLB's own count: 7 lookups; the write found nothing (its page was never cached). */
	nw_tlb_sync(&replay.tlb);
	cr_assert_eq(replay.tlb.stats.lookups, 7);
	cr_assert_eq(replay.tlb.stats.hits, 5);
	/* The last access's result, as translate_piece() gives a hit. */
	cr_assert(replay.result.from_tlb);
	cr_assert_eq(replay.result.kind, NW_TRACE_OUT_OK);
	cr_assert_eq(replay.result.gpa, 0x5048);
	cr_assert_eq(replay.result.hpa, hpa_of(0x5048));
	cr_assert_eq(replay.result.refs, 0);
	cr_assert_eq(replay.result.guest_page_size, NW_PAGE_SIZE);
	cr_assert_eq(replay.result.access.gva.val, 0x400048);
	cr_assert_not(replay.has_result, "an expectation followed the last access");
}

/* A run stops after the first expectation that does not match, and says which record it was. */
Test(replay, run_stops_at_a_mismatch)
{
	const struct nw_trace_item items[] = {
		item(0x400000, NW_ACCESS_READ, 3, OUTCOME_ONLY, NW_TRACE_OUT_OK),
		item(0x400008, NW_ACCESS_READ, 3, OUTCOME_ONLY, NW_TRACE_OUT_OK),
		item(0x400010, NW_ACCESS_READ, 3, OUTCOME_ONLY, NW_TRACE_OUT_OK),
		item(0x400018, NW_ACCESS_READ, 3, OUTCOME_ONLY, NW_TRACE_OUT_PAGE_FAULT), /* wrong: the read succeeds */
		item(0x400020, NW_ACCESS_READ, 3, OUTCOME_ONLY, NW_TRACE_OUT_OK),
	};
	struct nw_trace_expect expects[5] = { 0 };
	struct nw_replay_mismatch m[NW_EXPECT_FIELD_COUNT];
	char err[128];
	int mismatched;

	cr_assert_eq(nw_replay_run(&replay, items, expects, 5, m, NW_EXPECT_FIELD_COUNT, &mismatched,
				   err, sizeof(err)), 4);
	cr_assert_eq(mismatched, 1);
	cr_assert_eq(m[0].record, 8, "the 4th access's expectation is record 8");
	cr_assert_eq(m[0].field, NW_EXPECT_OUTCOME);
	cr_assert_eq(m[0].expected, NW_TRACE_OUT_PAGE_FAULT);
	cr_assert_eq(m[0].got, NW_TRACE_OUT_OK);
	cr_assert(replay.result.from_tlb);
	cr_assert_eq(replay.result.gpa, 0x5018);
	cr_assert_eq(replay.stats.mismatches, 1);
	/* The rest replays from where it stopped. */
	cr_assert_eq(nw_replay_run(&replay, items + 4, expects + 4, 1, m, NW_EXPECT_FIELD_COUNT, &mismatched,
				   err, sizeof(err)), 1);
	cr_assert_eq(mismatched, 0);
	cr_assert_eq(replay.record, 10);
}

/* Full expectations, a CPL change and a page-crossing access take the record path inside a run. */
Test(replay, run_with_full_expectations_and_cpu_changes)
{
	struct nw_trace_item items[] = {
		item(0x400000, NW_ACCESS_READ, 3, 0, NW_TRACE_OUT_OK),
		item(0x400100, NW_ACCESS_READ, 3, OUTCOME_ONLY | 1u << NW_EXPECT_GPA | 1u << NW_EXPECT_REFS,
		     NW_TRACE_OUT_OK),
		item(0x400200, NW_ACCESS_WRITE, 0, OUTCOME_ONLY, NW_TRACE_OUT_OK), /* CPL 0, D=0: walks */
		item(0x400ffe, NW_ACCESS_READ, 0, 0, NW_TRACE_OUT_OK),             /* crosses into 0x401000 */
	};
	struct nw_trace_expect expects[4] = { 0 };
	struct nw_replay_mismatch m[NW_EXPECT_FIELD_COUNT];
	int mismatched;
	char err[128];

	expects[1] = (struct nw_trace_expect){ .present = items[1].present, .outcome = NW_TRACE_OUT_OK,
					       .gpa = nw_gpa(0x5100), .refs = 0 };
	cr_assert_eq(nw_replay_run(&replay, items, expects, 4, m, NW_EXPECT_FIELD_COUNT, &mismatched,
				   err, sizeof(err)), 4);
	cr_assert_eq(mismatched, 0, "gpa 0x%llx refs %u", (unsigned long long)m[0].got, replay.result.refs);
	cr_assert_eq(replay.machine->cpu.cpl, 0);
	/* The crossing read is two translations: page 0x400000 from the TLB (the write filled it with D=1),
	 * page 0x401000 walked on from the PDE cache the walks of 0x400000 filled (§4.10.3.2): the PTE at the
	 * page table's cached host address, then 4 EPT entries for the final GPA = 5 references. */
	cr_assert_eq(replay.stats.translations, 5);
	cr_assert_eq(replay.result.kind, NW_TRACE_OUT_OK);
	cr_assert_eq(replay.result.refs, 5);
	cr_assert(replay.has_result, "no expectation followed the last access");
	cr_assert_eq(replay.record, 6);
}

/* --no-explain: walks record only what the TLB needs; the answers, the TLB and its caches are the same. */
Test(replay, unexplained_walks_give_the_same_answers)
{
	struct nw_replay_options options = { .tlb = true, .no_explain = true };
	struct nw_replay_result *res;
	char err[128];

	nw_replay_fini(&replay);
	cr_assert_eq(nw_replay_init(&replay, &machine, &options, err, sizeof(err)), 0);
	res = access(0x400010, NW_ACCESS_READ, 3);
	cr_assert_eq(res->kind, NW_TRACE_OUT_OK);
	cr_assert_eq(res->refs, 24);
	cr_assert_eq(res->hpa, hpa_of(0x5010));
	/* A read leaves D clear (§4.8): the write walks, then hits. */
	cr_assert(!access(0x400000, NW_ACCESS_WRITE, 3)->from_tlb);
	cr_assert(access(0x400008, NW_ACCESS_WRITE, 3)->from_tlb);
	/* The walks filled the PML4E, PDPTE and PDE caches: the next page's lookup finds the PDE (§4.10.3). */
	cr_assert_eq(access(0x401000, NW_ACCESS_READ, 3)->kind, NW_TRACE_OUT_OK);
	cr_assert_eq(replay.stats.psc_hits, 2);
	cr_assert_eq(replay.stats.psc_lookups, 3);
	res = access(0x401000, NW_ACCESS_WRITE, 3);
	cr_assert_eq(res->kind, NW_TRACE_OUT_PAGE_FAULT);
	cr_assert_eq(res->error_code, NW_PFEC_P | NW_PFEC_W | NW_PFEC_U);
}
