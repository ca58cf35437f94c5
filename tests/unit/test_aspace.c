/* VM address spaces: each map type, lazy population, overlap rejection,
 * removal, reverse lookup, and allocation failure at every point. */
#include <nestwalk/aspace.h>
#include <nestwalk/ept.h>
#include <nestwalk/x86_pte.h>

#include "fixture.h"

TestSuite(aspace, .init = fixture_setup, .fini = fixture_teardown);

#define RWX (NW_REGION_READ | NW_REGION_WRITE | NW_REGION_EXEC)

static void make(struct nw_aspace *as)
{
	struct nw_aspace_config config = { .format = NW_STAGE2_EPT, .levels = 4, .memory_type = NW_ASPACE_MEMTYPE_WB };

	cr_assert_eq(nw_aspace_init(as, hal, &config), NW_OK);
}

static struct nw_region region(uint64_t base, uint64_t size, uint32_t flags, enum nw_region_type type, bool lazy)
{
	return (struct nw_region){ .base = nw_gpa(base), .size = size, .flags = flags, .type = type, .lazy = lazy };
}

static struct nw_s2_result s2(const struct nw_aspace *as, uint64_t gpa, enum nw_access_type type)
{
	struct nw_s2_request req = { .gpa = nw_gpa(gpa), .type = type, .lookup_only = true };
	struct nw_s2_result res;

	nw_stage2_translate(nw_aspace_stage2(as), &req, &res);
	return res;
}

static uint64_t live(void)
{
	return nw_simmem_stats(sim).live;
}

Test(aspace, alloc_region_is_zeroed_distinct_frames_with_region_rights)
{
	struct nw_aspace as;
	struct nw_region r = region(0x100000, 4 * NW_PAGE_SIZE, NW_REGION_READ | NW_REGION_WRITE, NW_REGION_ALLOC,
				    false);
	uint64_t hpas[4];

	make(&as);
	cr_assert_eq(nw_aspace_add_region(&as, &r), NW_OK);
	cr_assert_eq(as.frame_count, 4);
	for (unsigned i = 0; i < 4; i++) {
		uint64_t gpa = 0x100000 + i * NW_PAGE_SIZE;
		struct nw_s2_result res = s2(&as, gpa + 0x123, NW_ACCESS_WRITE);
		const uint8_t *bytes;
		nw_hpa_t hpa;

		cr_assert_eq(nw_aspace_translate(&as, nw_gpa(gpa + 0x123), &hpa), NW_OK);
		cr_assert_eq(hpa.val & NW_PAGE_MASK, 0x123, "the page offset carries over");
		hpas[i] = hpa.val & ~NW_PAGE_MASK;
		/* Region flags R|W (0x3) become EPT R and W, no X: a 4 KiB leaf, WB. */
		cr_assert_eq(res.status, NW_S2_OK);
		cr_assert_eq(res.page_size, NW_PAGE_SIZE);
		cr_assert_eq(res.rights & (NW_S2_RIGHT_R | NW_S2_RIGHT_W | NW_S2_RIGHT_X),
			     NW_S2_RIGHT_R | NW_S2_RIGHT_W);
		cr_assert_eq(res.memory_type, NW_EPT_MT_WB);
		cr_assert_eq(s2(&as, gpa, NW_ACCESS_FETCH).status, NW_S2_VIOLATION);
		/* The simulated host poisons fresh frames with 0xA5: zero means the aspace cleared it. */
		bytes = nw_hal_phys_to_virt(hal, nw_hpa(hpas[i]));
		for (unsigned b = 0; b < NW_PAGE_SIZE; b++)
			cr_assert_eq(bytes[b], 0);
		for (unsigned j = 0; j < i; j++)
			cr_assert_neq(hpas[j], hpas[i]);
	}
	nw_aspace_destroy(&as);
}

Test(aspace, lazy_region_is_populated_by_its_first_fault_only)
{
	struct nw_aspace as;
	struct nw_region r = region(0x200000, 2 * NW_PAGE_SIZE, RWX, NW_REGION_ALLOC, true);
	struct nw_aspace_exit exit;
	nw_hpa_t hpa;
	uint64_t before;

	make(&as);
	cr_assert_eq(nw_aspace_add_region(&as, &r), NW_OK);
	before = live();
	cr_assert_eq(as.frame_count, 0);
	cr_assert_eq(nw_aspace_translate(&as, nw_gpa(0x201000), &hpa), NW_ERR_NOT_FOUND);
	cr_assert_eq(s2(&as, 0x201008, NW_ACCESS_WRITE).status, NW_S2_VIOLATION);

	cr_assert_eq(nw_aspace_resolve_fault(&as, nw_gpa(0x201008), NW_ACCESS_WRITE, 8, &exit), NW_OK);
	cr_assert_eq(exit.kind, NW_ASPACE_FAULT_RETRY);
	cr_assert_eq(as.frame_count, 1, "one page, not the region");
	cr_assert_gt(live(), before);
	cr_assert_eq(s2(&as, 0x201008, NW_ACCESS_WRITE).status, NW_S2_OK, "the retried access succeeds");
	cr_assert_eq(nw_aspace_translate(&as, nw_gpa(0x200000), &hpa), NW_ERR_NOT_FOUND, "the other page waits");

	/* The page is there now: a second fault on it is not the region's doing. */
	cr_assert_eq(nw_aspace_resolve_fault(&as, nw_gpa(0x201000), NW_ACCESS_READ, 1, &exit), NW_OK);
	cr_assert_eq(exit.kind, NW_ASPACE_FAULT_VIOLATION);
	nw_aspace_destroy(&as);
}

Test(aspace, identical_region_maps_gpa_to_the_same_hpa_with_large_pages)
{
	struct nw_aspace as;
	/* A 2 MiB-aligned 4 MiB pass-through range maps as two 2 MiB leaves (PDEs with PS, SDM Vol. 3C Table 29-4). */
	struct nw_region r = region(0x40000000, 2 * NW_SIZE_2M, NW_REGION_READ | NW_REGION_WRITE | NW_REGION_DEVICE,
				    NW_REGION_IDENTICAL, false);
	struct nw_s2_result res;
	nw_hpa_t hpa;
	nw_gpa_t gpa;

	cr_assert(nw_simmem_claim(sim, nw_hpa(0x40000000), r.size));
	make(&as);
	cr_assert_eq(nw_aspace_add_region(&as, &r), NW_OK);
	cr_assert_eq(as.frame_count, 0, "pass-through memory is not allocated");
	cr_assert_eq(nw_aspace_translate(&as, nw_gpa(0x40212345), &hpa), NW_OK);
	cr_assert_eq(hpa.val, 0x40212345);
	res = s2(&as, 0x40212345, NW_ACCESS_READ);
	cr_assert_eq(res.page_size, NW_SIZE_2M);
	cr_assert_eq(res.level, NW_LEVEL_PD);
	cr_assert_eq(res.memory_type, NW_EPT_MT_UC, "device memory is uncacheable");
	cr_assert_eq(nw_aspace_reverse(&as, nw_hpa(0x403ffff0), &gpa), NW_OK);
	cr_assert_eq(gpa.val, 0x403ffff0);
	cr_assert_eq(nw_aspace_reverse(&as, nw_hpa(0x40400000), &gpa), NW_ERR_NOT_FOUND);
	cr_assert_eq(nw_aspace_remove_region(&as, nw_gpa(0x40000000)), NW_OK);
	cr_assert_eq(nw_aspace_translate(&as, nw_gpa(0x40212345), &hpa), NW_ERR_NOT_FOUND);
	nw_aspace_destroy(&as);
	cr_assert(nw_simmem_unclaim(sim, nw_hpa(0x40000000), r.size));
}

Test(aspace, mmio_region_is_never_backed_and_reports_the_access)
{
	struct nw_aspace as;
	struct nw_region r = region(0xfee00000, NW_PAGE_SIZE, RWX, NW_REGION_MMIO, false);
	struct nw_aspace_exit exit;
	uint64_t before;
	nw_hpa_t hpa;

	make(&as);
	before = live();
	cr_assert_eq(nw_aspace_add_region(&as, &r), NW_OK);
	cr_assert_eq(live(), before, "no table, no frame");
	cr_assert_eq(nw_aspace_translate(&as, nw_gpa(0xfee000b0), &hpa), NW_ERR_NOT_FOUND);
	cr_assert_eq(s2(&as, 0xfee000b0, NW_ACCESS_READ).status, NW_S2_VIOLATION);

	cr_assert_eq(nw_aspace_resolve_fault(&as, nw_gpa(0xfee000b0), NW_ACCESS_WRITE, 4, &exit), NW_OK);
	cr_assert_eq(exit.kind, NW_ASPACE_FAULT_MMIO);
	cr_assert_eq(exit.gpa.val, 0xfee000b0);
	cr_assert_eq(exit.size, 4);
	cr_assert(exit.is_write);
	cr_assert_eq(nw_aspace_resolve_fault(&as, nw_gpa(0xfee00020), NW_ACCESS_READ, 4, &exit), NW_OK);
	cr_assert_eq(exit.kind, NW_ASPACE_FAULT_MMIO);
	cr_assert_not(exit.is_write);
	cr_assert_eq(nw_aspace_resolve_fault(&as, nw_gpa(0xfee00000), NW_ACCESS_FETCH, 1, &exit), NW_OK);
	cr_assert_eq(exit.kind, NW_ASPACE_FAULT_VIOLATION, "device memory is not executed");
	cr_assert_eq(live(), before);
	nw_aspace_destroy(&as);
}

Test(aspace, rom_region_refuses_writes_and_keeps_its_data)
{
	struct nw_aspace as;
	struct nw_region r = region(0xf0000, 2 * NW_PAGE_SIZE, NW_REGION_READ | NW_REGION_EXEC, NW_REGION_ROM, false);
	const uint8_t image[4] = { 0xea, 0x5b, 0xe0, 0x00 };
	struct nw_aspace_exit exit;
	uint8_t back[4];

	make(&as);
	cr_assert_eq(nw_aspace_add_region(&as, &r), NW_OK);
	cr_assert_eq(nw_aspace_write(&as, nw_gpa(0xf0ff0), image, 4), NW_OK);
	cr_assert_eq(s2(&as, 0xf0ff0, NW_ACCESS_READ).status, NW_S2_OK);
	cr_assert_eq(s2(&as, 0xf0ff0, NW_ACCESS_FETCH).status, NW_S2_OK);
	cr_assert_eq(s2(&as, 0xf0ff0, NW_ACCESS_WRITE).status, NW_S2_VIOLATION, "ROM is mapped without write");
	cr_assert_eq(nw_aspace_resolve_fault(&as, nw_gpa(0xf0ff0), NW_ACCESS_WRITE, 2, &exit), NW_OK);
	cr_assert_eq(exit.kind, NW_ASPACE_FAULT_ROM_WRITE);
	cr_assert_eq(exit.size, 2);
	cr_assert(exit.is_write);
	cr_assert_eq(nw_aspace_read(&as, nw_gpa(0xf0ff0), back, 4), NW_OK);
	cr_assert_arr_eq(back, image, 4);
	nw_aspace_destroy(&as);
}

Test(aspace, overlapping_regions_are_rejected_and_change_nothing)
{
	struct nw_aspace as;
	struct nw_region a = region(0x100000, 4 * NW_PAGE_SIZE, RWX, NW_REGION_ALLOC, false);
	struct nw_region tail = region(0x103000, 2 * NW_PAGE_SIZE, RWX, NW_REGION_ALLOC, false);
	struct nw_region head = region(0xff000, 2 * NW_PAGE_SIZE, RWX, NW_REGION_MMIO, false);
	struct nw_region around = region(0x0, 0x200000, RWX, NW_REGION_ALLOC, true);
	struct nw_region inside = region(0x101000, NW_PAGE_SIZE, RWX, NW_REGION_ALLOC, false);
	struct nw_region below = region(0xff000, NW_PAGE_SIZE, RWX, NW_REGION_ALLOC, false);
	struct nw_region above = region(0x104000, NW_PAGE_SIZE, RWX, NW_REGION_ALLOC, false);
	uint64_t before;

	make(&as);
	cr_assert_eq(nw_aspace_add_region(&as, &a), NW_OK);
	before = live();
	cr_assert_eq(nw_aspace_add_region(&as, &tail), NW_ERR_EXISTS);
	cr_assert_eq(nw_aspace_add_region(&as, &head), NW_ERR_EXISTS);
	cr_assert_eq(nw_aspace_add_region(&as, &around), NW_ERR_EXISTS);
	cr_assert_eq(nw_aspace_add_region(&as, &inside), NW_ERR_EXISTS);
	cr_assert_eq(live(), before);
	cr_assert_eq(as.region_count, 1);
	cr_assert_eq(nw_aspace_add_region(&as, &below), NW_OK, "touching is not overlapping");
	cr_assert_eq(nw_aspace_add_region(&as, &above), NW_OK);
	cr_assert_eq(as.region_count, 3);
	cr_assert_eq(nw_aspace_find_region(&as, nw_gpa(0xfffff))->base.val, 0xff000);
	cr_assert_eq(nw_aspace_find_region(&as, nw_gpa(0x100000))->base.val, 0x100000);
	cr_assert_eq(nw_aspace_find_region(&as, nw_gpa(0x104fff))->base.val, 0x104000);
	cr_assert_null(nw_aspace_find_region(&as, nw_gpa(0x105000)));
	nw_aspace_destroy(&as);
}

/* Each rule a region can break has its own status, so a caller can say which. */
Test(aspace, regions_a_stage_two_cannot_express_are_refused_by_rule)
{
	struct nw_aspace as;
	struct nw_region bad[] = {
		region(0x100800, NW_PAGE_SIZE, RWX, NW_REGION_ALLOC, false),
		region(0x100000, 0x800, RWX, NW_REGION_ALLOC, false),
		region(0x100000, 0, RWX, NW_REGION_ALLOC, false),
		/* write without read: an EPT misconfiguration (SDM Vol. 3C §29.3.3.1) */
		region(0x100000, NW_PAGE_SIZE, NW_REGION_WRITE, NW_REGION_ALLOC, false),
		region(0x100000, NW_PAGE_SIZE, NW_REGION_WRITE | NW_REGION_EXEC, NW_REGION_ALLOC, false),
		/* ROM is mapped without W: a writable ROM is a contradiction */
		region(0x100000, NW_PAGE_SIZE, RWX, NW_REGION_ROM, false),
		/* only frames the aspace allocates can wait for the first touch */
		region(0x100000, NW_PAGE_SIZE, RWX, NW_REGION_IDENTICAL, true),
		region(0x100000, NW_PAGE_SIZE, NW_REGION_READ, NW_REGION_ROM, true),
		region(0x100000, NW_PAGE_SIZE, 0x40, NW_REGION_ALLOC, false),
		region(0x100000, NW_PAGE_SIZE, RWX, (enum nw_region_type)4, false),
		/* 4-level EPT covers GPAs below 2^48 */
		region(UINT64_C(1) << 48, NW_PAGE_SIZE, RWX, NW_REGION_MMIO, false),
		region((UINT64_C(1) << 48) - NW_PAGE_SIZE, 2 * NW_PAGE_SIZE, RWX, NW_REGION_MMIO, false),
		/* MAXPHYADDR 46 (the default): a pass-through range is host memory below 2^46 */
		region((UINT64_C(1) << 46) - NW_PAGE_SIZE, 2 * NW_PAGE_SIZE, RWX, NW_REGION_IDENTICAL, false),
	};
	const nw_status_t expected[] = { NW_ERR_ALIGN, NW_ERR_ALIGN, NW_ERR_ALIGN, NW_ERR_WRITE_WITHOUT_READ,
					 NW_ERR_WRITE_WITHOUT_READ, NW_ERR_ROM_WRITABLE, NW_ERR_LAZY_NOT_ALLOC,
					 NW_ERR_LAZY_NOT_ALLOC, NW_ERR_REGION_FLAGS, NW_ERR_INVALID, NW_ERR_RANGE,
					 NW_ERR_RANGE, NW_ERR_ABOVE_MAXPHYADDR };
	uint64_t before;

	make(&as);
	before = live();
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(nw_aspace_add_region(&as, &bad[i]), expected[i], "case %u", i);
	cr_assert_eq(as.region_count, 0);
	cr_assert_eq(live(), before);
	nw_aspace_destroy(&as);
}

Test(aspace, removal_unmaps_and_frees_and_keeps_the_neighbours)
{
	struct nw_aspace as;
	/* 300 pages each: more than one 255-entry ledger page per region */
	struct nw_region a = region(0x1000000, 300 * NW_PAGE_SIZE, RWX, NW_REGION_ALLOC, false);
	struct nw_region b = region(0x2000000, 300 * NW_PAGE_SIZE, NW_REGION_READ, NW_REGION_ALLOC, false);
	static uint64_t b_hpa[300];
	uint64_t empty, with_b;
	nw_hpa_t hpa;
	nw_gpa_t gpa;

	make(&as);
	empty = live();
	cr_assert_eq(nw_aspace_add_region(&as, &b), NW_OK);
	with_b = live();
	cr_assert_eq(nw_aspace_add_region(&as, &a), NW_OK);
	for (unsigned i = 0; i < 300; i++) {
		cr_assert_eq(nw_aspace_translate(&as, nw_gpa(0x2000000 + i * NW_PAGE_SIZE), &hpa), NW_OK);
		b_hpa[i] = hpa.val;
	}
	cr_assert_eq(nw_aspace_translate(&as, nw_gpa(0x1000000), &hpa), NW_OK);
	cr_assert_eq(nw_aspace_remove_region(&as, nw_gpa(0x1001000)), NW_ERR_NOT_FOUND, "not a region's base");
	cr_assert_eq(nw_aspace_remove_region(&as, nw_gpa(0x1000000)), NW_OK);
	cr_assert_eq(nw_aspace_reverse(&as, hpa, &gpa), NW_ERR_NOT_FOUND, "the frame is no longer ours");
	cr_assert_eq(live(), with_b, "the region's frames, its ledger pages and its tables are gone");
	cr_assert_eq(as.frame_count, 300);
	for (unsigned i = 0; i < 300; i++) {
		cr_assert_eq(nw_aspace_translate(&as, nw_gpa(0x2000000 + i * NW_PAGE_SIZE), &hpa), NW_OK);
		cr_assert_eq(hpa.val, b_hpa[i]);
		cr_assert_eq(nw_aspace_reverse(&as, nw_hpa(b_hpa[i] + 0x10), &gpa), NW_OK);
		cr_assert_eq(gpa.val, 0x2000000 + i * NW_PAGE_SIZE + 0x10);
	}
	cr_assert_eq(nw_aspace_remove_region(&as, nw_gpa(0x2000000)), NW_OK);
	cr_assert_eq(live(), empty);
	cr_assert_eq(as.region_count, 0);
	nw_aspace_destroy(&as);
}

Test(aspace, destroy_frees_every_frame)
{
	struct nw_aspace as;
	struct nw_region lazy = region(0x400000, 16 * NW_PAGE_SIZE, RWX, NW_REGION_ALLOC, true);
	struct nw_region ram = region(0x0, 64 * NW_PAGE_SIZE, RWX, NW_REGION_ALLOC, false);
	struct nw_region rom = region(0xf0000, 16 * NW_PAGE_SIZE, NW_REGION_READ, NW_REGION_ROM, false);
	struct nw_aspace_exit exit;

	make(&as);
	cr_assert_eq(nw_aspace_add_region(&as, &lazy), NW_OK);
	cr_assert_eq(nw_aspace_add_region(&as, &ram), NW_OK);
	cr_assert_eq(nw_aspace_add_region(&as, &rom), NW_OK);
	cr_assert_eq(nw_aspace_resolve_fault(&as, nw_gpa(0x405000), NW_ACCESS_READ, 1, &exit), NW_OK);
	cr_assert_eq(exit.kind, NW_ASPACE_FAULT_RETRY);
	cr_assert_eq(as.frame_count, 64 + 16 + 1);
	nw_aspace_destroy(&as);
	cr_assert_eq(live(), 0);
}

/* A loader write reaches the RAM behind a page through the region's own
 * record, not through the second-stage entry: an EPT leaf made not present
 * (R=W=X=0, SDM Vol. 3C §29.3.2), misconfigured (W without R, §29.3.3.1),
 * read-only, or pointed at another frame still leaves the page RAM, and the
 * bytes land in the frame the region was given. */
Test(aspace, loader_writes_reach_the_region_frame_whatever_the_ept_entry_says)
{
	static const uint64_t edits[][2] = {
		{ NW_EPT_R | NW_EPT_W | NW_EPT_X, 0 },                /* not present */
		{ NW_EPT_R | NW_EPT_W | NW_EPT_X, NW_EPT_W },         /* write without read */
		{ NW_EPT_R | NW_EPT_W | NW_EPT_X, NW_EPT_R },         /* no write right */
		{ NW_EPT_R | NW_EPT_W | NW_EPT_X, NW_EPT_X },         /* execute only */
	};
	struct nw_aspace as;
	struct nw_region ram = region(0x100000, 2 * NW_PAGE_SIZE, RWX, NW_REGION_ALLOC, false);
	nw_hpa_t frame, other;
	uint64_t old;

	make(&as);
	cr_assert_eq(nw_aspace_add_region(&as, &ram), NW_OK);
	cr_assert_eq(nw_aspace_translate(&as, nw_gpa(0x100000), &frame), NW_OK);
	cr_assert_eq(nw_aspace_translate(&as, nw_gpa(0x101000), &other), NW_OK);
	for (unsigned i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
		uint64_t value = 0x1122334455667700 | i, back = 0;

		cr_assert_eq(nw_aspace_edit_entry(&as, nw_gpa(0x100000), 1, edits[i][0], edits[i][1]), NW_OK);
		cr_assert_eq(nw_aspace_write(&as, nw_gpa(0x100ff8), &value, 8), NW_OK, "edit %u", i);
		cr_assert_eq(*(uint64_t *)((uint8_t *)nw_hal_phys_to_virt(hal, frame) + 0xff8), value, "edit %u", i);
		cr_assert_eq(nw_aspace_read(&as, nw_gpa(0x100ff8), &back, 8), NW_OK, "edit %u", i);
		cr_assert_eq(back, value);
		cr_assert_eq(nw_aspace_edit_entry(&as, nw_gpa(0x100000), 1, NW_EPT_R | NW_EPT_W | NW_EPT_X,
						  NW_EPT_R | NW_EPT_W | NW_EPT_X), NW_OK);
	}
	/* The leaf pointed at the next page's frame: the write still goes to this page's own frame. */
	cr_assert_eq(nw_aspace_edit_entry(&as, nw_gpa(0x100000), 1, frame.val, other.val), NW_OK);
	cr_assert_eq(nw_ept_edit(&as.ept, nw_gpa(0x100000), 1, 0, 0, &old, NULL), NW_OK);
	cr_assert_eq(old & ~UINT64_C(0xfff), other.val, "the leaf now points at the other frame");
	cr_assert_eq(nw_aspace_write(&as, nw_gpa(0x100000), &(uint64_t){ 0xabcd }, 8), NW_OK);
	cr_assert_eq(*(uint64_t *)nw_hal_phys_to_virt(hal, frame), 0xabcd);
	cr_assert_eq(*(uint64_t *)nw_hal_phys_to_virt(hal, other), 0, "the other page is untouched");
	nw_aspace_destroy(&as);
}

Test(aspace, loader_writes_populate_lazy_pages_and_skip_mmio)
{
	struct nw_aspace as;
	struct nw_region lazy = region(0x10000, 2 * NW_PAGE_SIZE, RWX, NW_REGION_ALLOC, true);
	struct nw_region mmio = region(0x12000, NW_PAGE_SIZE, RWX, NW_REGION_MMIO, false);
	const uint8_t data[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	uint8_t back[8];

	make(&as);
	cr_assert_eq(nw_aspace_add_region(&as, &lazy), NW_OK);
	cr_assert_eq(nw_aspace_add_region(&as, &mmio), NW_OK);
	cr_assert_eq(nw_aspace_read(&as, nw_gpa(0x10ffc), back, 8), NW_ERR_NOT_FOUND, "reads never populate");
	cr_assert_eq(nw_aspace_write(&as, nw_gpa(0x10ffc), data, 8), NW_OK, "a write across the page boundary");
	cr_assert_eq(as.frame_count, 2);
	cr_assert_eq(nw_aspace_read(&as, nw_gpa(0x10ffc), back, 8), NW_OK);
	cr_assert_arr_eq(back, data, 8);
	cr_assert_eq(nw_aspace_write(&as, nw_gpa(0x12000), data, 8), NW_ERR_NOT_FOUND);
	cr_assert_eq(nw_aspace_write(&as, nw_gpa(0x20000), data, 8), NW_ERR_NOT_FOUND);
	nw_aspace_destroy(&as);
}

/* Every allocation a call makes, failed in turn: the call reports
 * NW_ERR_NOMEM and leaves the live frames, the regions and the mappings as
 * they were; the next attempt succeeds. */
Test(aspace, allocation_failure_at_every_point_changes_nothing)
{
	struct nw_aspace as;
	/* 260 pages: data frames, tables and a second ledger page */
	struct nw_region ram = region(0x3ff000, 260 * NW_PAGE_SIZE, RWX, NW_REGION_ALLOC, false);
	struct nw_region pass = region(0x80000000, NW_SIZE_2M + NW_PAGE_SIZE, RWX, NW_REGION_IDENTICAL, false);
	struct nw_region lazy = region(UINT64_C(0x7000000000), NW_PAGE_SIZE, RWX, NW_REGION_ALLOC, true);
	const struct nw_region *regions[] = { &ram, &pass, &lazy };
	struct nw_aspace_exit exit;
	unsigned failures = 0;
	nw_hpa_t hpa;

	cr_assert(nw_simmem_claim(sim, nw_hpa(0x80000000), pass.size));
	make(&as);
	for (unsigned r = 0; r < 3; r++) {
		for (uint64_t nth = 1;; nth++) {
			uint64_t before = live();
			nw_status_t status;

			nw_simmem_fail_nth(sim, nth);
			status = nw_aspace_add_region(&as, regions[r]);
			nw_simmem_fail_nth(sim, 0);
			if (status == NW_OK)
				break;
			failures++;
			cr_assert_eq(status, NW_ERR_NOMEM, "region %u, allocation %llu", r, (unsigned long long)nth);
			cr_assert_eq(live(), before, "region %u, allocation %llu", r, (unsigned long long)nth);
			cr_assert_eq(as.region_count, r);
			cr_assert_eq(nw_aspace_translate(&as, regions[r]->base, &hpa), NW_ERR_NOT_FOUND);
		}
	}
	cr_assert_gt(failures, 260, "every data frame was a failure point");
	for (uint64_t nth = 1;; nth++) {
		uint64_t before = live();
		nw_status_t status;

		nw_simmem_fail_nth(sim, nth);
		status = nw_aspace_resolve_fault(&as, lazy.base, NW_ACCESS_WRITE, 8, &exit);
		nw_simmem_fail_nth(sim, 0);
		if (status == NW_OK)
			break;
		cr_assert_eq(status, NW_ERR_NOMEM);
		/* The host ran out, not the guest's rights: no violation to reflect. */
		cr_assert_eq(exit.kind, NW_ASPACE_FAULT_NO_MEMORY);
		cr_assert_eq(live(), before);
		cr_assert_eq(nw_aspace_translate(&as, lazy.base, &hpa), NW_ERR_NOT_FOUND);
	}
	cr_assert_eq(exit.kind, NW_ASPACE_FAULT_RETRY);
	cr_assert_eq(nw_aspace_translate(&as, lazy.base, &hpa), NW_OK);
	nw_aspace_destroy(&as);
	cr_assert(nw_simmem_unclaim(sim, nw_hpa(0x80000000), pass.size));
}

Test(aspace, npt_regions_map_with_x86_entry_bits)
{
	struct nw_aspace_config config = { .format = NW_STAGE2_NPT, .levels = 4, .memory_type = NW_ASPACE_MEMTYPE_WB };
	struct nw_region ram = region(0x100000, NW_PAGE_SIZE, NW_REGION_READ | NW_REGION_WRITE, NW_REGION_ALLOC, false);
	struct nw_region dev = region(0x200000, NW_SIZE_2M, NW_REGION_READ | NW_REGION_WRITE | NW_REGION_DEVICE,
				      NW_REGION_IDENTICAL, false);
	struct nw_aspace as;
	struct nw_s2_result res;

	cr_assert(nw_simmem_claim(sim, nw_hpa(0x200000), NW_SIZE_2M));
	cr_assert_eq(nw_aspace_init(&as, hal, &config), NW_OK);
	cr_assert_eq(nw_aspace_stage2(&as)->kind, NW_STAGE2_NPT);
	cr_assert_eq(nw_aspace_add_region(&as, &ram), NW_OK);
	cr_assert_eq(nw_aspace_add_region(&as, &dev), NW_OK);
	cr_assert_eq(s2(&as, 0x100008, NW_ACCESS_WRITE).status, NW_S2_OK);
	/* No execute flag: the nested leaf carries XD (APM Vol. 2 §15.25.5). */
	res = s2(&as, 0x100008, NW_ACCESS_FETCH);
	cr_assert_eq(res.status, NW_S2_VIOLATION);
	cr_assert(res.entry & NW_PTE_XD);
	cr_assert(res.entry & NW_PTE_US, "every nested entry is user");
	/* Device memory: PCD|PWT, PAT entry 3, UC in the default PAT; one 2 MiB leaf. */
	res = s2(&as, 0x200000, NW_ACCESS_READ);
	cr_assert_eq(res.status, NW_S2_OK);
	cr_assert_eq(res.page_size, NW_SIZE_2M);
	cr_assert_eq(res.entry & (NW_PTE_PCD | NW_PTE_PWT), NW_PTE_PCD | NW_PTE_PWT);
	nw_aspace_destroy(&as);
	cr_assert(nw_simmem_unclaim(sim, nw_hpa(0x200000), NW_SIZE_2M));
}

Test(aspace, region_slots_run_out_cleanly)
{
	struct nw_aspace as;
	struct nw_region extra = region((uint64_t)NW_ASPACE_MAX_REGIONS << NW_PAGE_SHIFT, NW_PAGE_SIZE, RWX,
					NW_REGION_MMIO, false);
	struct nw_aspace_config bad = { .format = NW_STAGE2_EPT, .levels = 3, .memory_type = NW_ASPACE_MEMTYPE_WB };

	cr_assert_eq(nw_aspace_init(&as, hal, &bad), NW_ERR_INVALID, "EPT walks 4 or 5 levels");
	bad.levels = 4;
	bad.memory_type = 2;
	cr_assert_eq(nw_aspace_init(&as, hal, &bad), NW_ERR_INVALID, "an EPTP memory type is UC or WB");
	bad.format = NW_STAGE2_RISCV;
	cr_assert_eq(nw_aspace_init(&as, hal, &bad), NW_ERR_INVALID, "hgatp mode 0 (Bare) is no G-stage table");
	make(&as);
	for (unsigned i = 0; i < NW_ASPACE_MAX_REGIONS; i++) {
		struct nw_region r = region((uint64_t)i << 12, NW_PAGE_SIZE, RWX, NW_REGION_MMIO, false);

		cr_assert_eq(nw_aspace_add_region(&as, &r), NW_OK);
	}
	cr_assert_eq(nw_aspace_add_region(&as, &extra), NW_ERR_REGION_SLOTS, "the slots ran out, not the frames");
	cr_assert_eq(as.region_count, NW_ASPACE_MAX_REGIONS);
	cr_assert_eq(nw_aspace_remove_region(&as, nw_gpa(0x5000)), NW_OK);
	cr_assert_eq(nw_aspace_add_region(&as, &extra), NW_OK);
	cr_assert_eq(nw_aspace_find_region(&as, nw_gpa(0x6000))->base.val, 0x6000, "order kept after removal");
	cr_assert_null(nw_aspace_find_region(&as, nw_gpa(0x5000)));
	nw_aspace_destroy(&as);
}

/* Frames of two lazy regions populated alternately sit interleaved in the
 * frame record: removing one region must keep every frame of the other. */
Test(aspace, removal_of_interleaved_frames_keeps_the_other_region)
{
	struct nw_aspace as;
	struct nw_region a = region(0x1000000, 300 * NW_PAGE_SIZE, RWX, NW_REGION_ALLOC, true);
	struct nw_region b = region(0x2000000, 300 * NW_PAGE_SIZE, RWX, NW_REGION_ALLOC, true);
	static uint64_t b_hpa[300];
	struct nw_aspace_exit exit;
	nw_hpa_t hpa;
	nw_gpa_t gpa;

	make(&as);
	cr_assert_eq(nw_aspace_add_region(&as, &a), NW_OK);
	cr_assert_eq(nw_aspace_add_region(&as, &b), NW_OK);
	for (unsigned i = 0; i < 300; i++) {
		nw_gpa_t in_a = nw_gpa(0x1000000 + i * NW_PAGE_SIZE), in_b = nw_gpa(0x2000000 + i * NW_PAGE_SIZE);

		cr_assert_eq(nw_aspace_resolve_fault(&as, in_a, NW_ACCESS_READ, 1, &exit), NW_OK);
		cr_assert_eq(nw_aspace_resolve_fault(&as, in_b, NW_ACCESS_READ, 1, &exit), NW_OK);
		cr_assert_eq(nw_aspace_translate(&as, nw_gpa(0x2000000 + i * NW_PAGE_SIZE), &hpa), NW_OK);
		b_hpa[i] = hpa.val;
	}
	cr_assert_eq(as.frame_count, 600);
	cr_assert_eq(nw_aspace_remove_region(&as, a.base), NW_OK);
	cr_assert_eq(as.frame_count, 300);
	for (unsigned i = 0; i < 300; i++) {
		cr_assert_eq(nw_aspace_reverse(&as, nw_hpa(b_hpa[i]), &gpa), NW_OK, "page %u", i);
		cr_assert_eq(gpa.val, 0x2000000 + i * NW_PAGE_SIZE);
	}
	/* Removing b frees exactly its frames: the strict simulated host aborts
	 * on a double free, and the fixture fails the test on a leak. */
	cr_assert_eq(nw_aspace_remove_region(&as, b.base), NW_OK);
	cr_assert_eq(as.frame_count, 0);
	cr_assert_eq(as.ledger.val, 0);
	nw_aspace_destroy(&as);
}

static void keep_mapping(void *ctx, const struct nw_aspace_mapping *mapping)
{
	*(struct nw_aspace_mapping *)ctx = *mapping;
}

/* The listing (nestwalk mappings) reports the rights a leaf grants as the
 * translate decodes them. EPT bit 10 is ignored without mode-based execute
 * control (SDM Vol. 3C §29.3.2, Table 29-8: it grants user-mode execute only
 * when that control is 1), and an aspace never sets it: a leaf R|W with bit 10
 * is R|W, not R|W|UX. */
Test(aspace, listing_ignores_ept_user_execute_without_mode_based_execute)
{
	struct nw_aspace as;
	struct nw_region r = region(0x100000, NW_PAGE_SIZE, NW_REGION_READ | NW_REGION_WRITE, NW_REGION_ALLOC, false);
	struct nw_aspace_mapping m = { .size = 0 };

	make(&as);
	cr_assert_eq(nw_aspace_add_region(&as, &r), NW_OK);
	cr_assert_eq(nw_aspace_edit_entry(&as, r.base, NW_LEVEL_PT, 0, NW_EPT_UX), NW_OK);
	cr_assert_eq(s2(&as, 0x100000, NW_ACCESS_READ).rights, NW_S2_RIGHT_R | NW_S2_RIGHT_W);
	nw_aspace_visit_mappings(&as, keep_mapping, &m);
	cr_assert_eq(m.gpa.val, 0x100000);
	cr_assert_eq(m.rights, NW_S2_RIGHT_R | NW_S2_RIGHT_W);
	cr_assert_eq(m.memory_type, NW_EPT_MT_WB);
	nw_aspace_destroy(&as);
}

/* APM Vol. 2 §15.25.5: every nested access is a user access, so a nested leaf
 * with US clear grants nothing (the translate's rights are 0); the listing
 * said R|W (RW set; XD set, the region has no execute). */
Test(aspace, listing_of_an_npt_leaf_without_us_grants_nothing)
{
	struct nw_aspace_config config = { .format = NW_STAGE2_NPT, .levels = 4, .memory_type = NW_ASPACE_MEMTYPE_WB };
	struct nw_region r = region(0x100000, NW_PAGE_SIZE, NW_REGION_READ | NW_REGION_WRITE, NW_REGION_ALLOC, false);
	struct nw_aspace_mapping m = { .size = 0 };
	struct nw_aspace as;

	cr_assert_eq(nw_aspace_init(&as, hal, &config), NW_OK);
	cr_assert_eq(nw_aspace_add_region(&as, &r), NW_OK);
	nw_aspace_visit_mappings(&as, keep_mapping, &m);
	cr_assert_eq(m.rights, NW_S2_RIGHT_R | NW_S2_RIGHT_W, "RW, XD set: read and write");
	/* PCD = PWT = PAT = 0: power-on PAT entry 0, WB (SDM Vol. 3A §11.12.4). */
	cr_assert_eq(m.memory_type, 6);
	cr_assert_eq(nw_aspace_edit_entry(&as, r.base, NW_LEVEL_PT, NW_PTE_US, 0), NW_OK);
	cr_assert_eq(s2(&as, 0x100000, NW_ACCESS_READ).rights, 0);
	nw_aspace_visit_mappings(&as, keep_mapping, &m);
	cr_assert_eq(m.gpa.val, 0x100000);
	cr_assert_eq(m.rights, 0);
	nw_aspace_destroy(&as);
}

Test(aspace, without_a_second_stage_every_region_is_host_memory_at_its_own_address)
{
	struct nw_aspace_config config = { .format = NW_STAGE2_NONE };
	struct nw_aspace as;
	/* GPA = HPA: a pass-through range is all there is (nothing allocates a frame for a GPA, nothing exits). */
	struct nw_region host = region(0x40000000, 2 * NW_SIZE_2M, RWX, NW_REGION_IDENTICAL, false);
	struct nw_region others[] = {
		region(0x100000, NW_PAGE_SIZE, RWX, NW_REGION_ALLOC, false),
		region(0x100000, NW_PAGE_SIZE, RWX, NW_REGION_MMIO, false),
		region(0x100000, NW_PAGE_SIZE, NW_REGION_READ, NW_REGION_ROM, false),
	};
	uint64_t before = live();
	struct nw_s2_result res;
	nw_hpa_t hpa;

	cr_assert_eq(nw_aspace_init(&as, hal, &config), NW_OK);
	cr_assert_eq(live(), before, "no second-stage table, no frame");
	cr_assert_eq(nw_aspace_add_region(&as, &host), NW_OK);
	for (unsigned i = 0; i < sizeof(others) / sizeof(others[0]); i++)
		cr_assert_eq(nw_aspace_add_region(&as, &others[i]), NW_ERR_NEEDS_STAGE2, "case %u", i);
	cr_assert_eq(nw_aspace_translate(&as, nw_gpa(0x40212345), &hpa), NW_OK);
	cr_assert_eq(hpa.val, 0x40212345);
	cr_assert_eq(nw_aspace_translate(&as, nw_gpa(0x40400000), &hpa), NW_ERR_NOT_FOUND, "outside every region");
	/* The walker's second stage is none: GPA = HPA, every right, write-back (stage2.h). */
	res = s2(&as, 0x40212345, NW_ACCESS_WRITE);
	cr_assert_eq(res.status, NW_S2_OK);
	cr_assert_eq(res.hpa.val, 0x40212345);
	cr_assert_eq(nw_aspace_edit_entry(&as, nw_gpa(0x40000000), 1, 0, NW_EPT_R), NW_ERR_NOT_FOUND);
	/* 2^46 (MAXPHYADDR 46) bounds the pass-through range, not a table's 48 bits. */
	host = region((UINT64_C(1) << 46) - NW_PAGE_SIZE, 2 * NW_PAGE_SIZE, RWX, NW_REGION_IDENTICAL, false);
	cr_assert_eq(nw_aspace_add_region(&as, &host), NW_ERR_RANGE);
	cr_assert_eq(nw_aspace_remove_region(&as, nw_gpa(0x40000000)), NW_OK);
	nw_aspace_destroy(&as);
	cr_assert_eq(live(), before);
}

Test(aspace, an_execute_only_region_needs_the_execute_only_capability)
{
	/* SDM Vol. 3C §29.3.3.1: a present EPT entry with bit 0 (read) clear and bit 2 (execute) set is a
	 * misconfiguration unless IA32_VMX_EPT_VPID_CAP bit 0 reports execute-only translations: a region with the
	 * execute flag alone then has no leaf it can be given. */
	struct nw_aspace_config config = { .format = NW_STAGE2_EPT, .levels = 4, .memory_type = NW_ASPACE_MEMTYPE_WB,
					   .has_caps = true, .ept_caps = nw_ept_caps_all() };
	struct nw_region exec_only = region(0x100000, NW_PAGE_SIZE, NW_REGION_EXEC, NW_REGION_ALLOC, false);
	struct nw_aspace as;
	uint64_t before = live();

	cr_assert_eq(nw_aspace_init(&as, hal, &config), NW_OK);
	cr_assert_eq(nw_aspace_add_region(&as, &exec_only), NW_OK, "with the capability");
	cr_assert_eq(s2(&as, 0x100000, NW_ACCESS_FETCH).status, NW_S2_OK);
	nw_aspace_destroy(&as);
	config.ept_caps.exec_only = false;
	cr_assert_eq(nw_aspace_init(&as, hal, &config), NW_OK);
	cr_assert_eq(nw_aspace_add_region(&as, &exec_only), NW_ERR_INVALID, "without it");
	cr_assert_eq(as.frame_count, 0);
	nw_aspace_destroy(&as);
	cr_assert_eq(live(), before);
}
