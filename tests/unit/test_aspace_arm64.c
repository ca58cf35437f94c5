/* An address space over the AArch64 stage 2 (nw_aspace_config.format NW_STAGE2_ARM64): what each region type
 * becomes in the descriptors (Arm ARM D8.3 stage-2 attributes, D8.5 MemAttr) and what its faults mean to
 * the hypervisor. VTCR_EL2 0x80023558: 40-bit IPA, start at level 1 (two concatenated tables), PS 40 bits. */
#include <nestwalk/aspace.h>

#include "fixture.h"
#include "test_aspace_util.h"

TestSuite(aspace_arm64, .init = fixture_setup, .fini = fixture_teardown);

#define GIB (UINT64_C(1) << 30)
#define MIB (UINT64_C(1) << 20)

static void make_vtcr(struct nw_aspace *as, uint64_t vtcr)
{
	struct nw_aspace_config config = { .format = NW_STAGE2_ARM64 };
	struct nw_arm64_s2_caps caps = nw_arm64_s2_caps_all();

	cr_assert_eq(nw_arm64_vtcr_decode(vtcr, &caps, &config.arm64), NW_OK);
	cr_assert_eq(nw_aspace_init(as, hal, &config), NW_OK);
}

static void make(struct nw_aspace *as)
{
	make_vtcr(as, UINT64_C(0x80023558));
}

/* Pass-through RAM (read, write, execute; GPA = HPA, so the frames continue each other) in 2 MiB and 4 KiB
 * pieces: Normal Write-Back (MemAttr 0b1111), inner shareable
 * (SH 0b11), S2AP 0b11, XN 0b00, AF set: 0x7fc plus the descriptor type, a level-2 block (bits 1:0 0b01) for
 * the aligned 2 MiB, a level-3 page (0b11) for the rest. */
Test(aspace_arm64, ram_is_normal_write_back_read_write_execute_in_blocks_and_pages)
{
	struct nw_aspace as;
	struct nw_s2_result res;

	make(&as);
	add(&as, GIB, 2 * MIB + 0x1000, NW_REGION_READ | NW_REGION_WRITE | NW_REGION_EXEC, NW_REGION_IDENTICAL);
	translate(&as, GIB + 0x1234, NW_ACCESS_FETCH, &res);
	cr_assert_eq(res.status, NW_S2_OK);
	cr_assert_eq(res.level, 2); /* the library's level 2 is Arm level 2: a 2 MiB block */
	cr_assert_eq(res.entry & 0xfff, 0x7fd);
	cr_assert_eq(res.entry >> 53 & 3, 0);
	cr_assert_eq(res.memory_type, 0xf);
	translate(&as, GIB + 2 * MIB, NW_ACCESS_WRITE, &res);
	cr_assert_eq(res.status, NW_S2_OK);
	cr_assert_eq(res.level, 1);
	cr_assert_eq(res.entry & 0xfff, 0x7ff);
	nw_aspace_destroy(&as);
}

/* A device pass-through range: Device-nGnRE (MemAttr 0b0001), not executable (XN 0b10); its bytes at GPA = HPA.
 * A fetch is a permission fault (XN), which the region does not allow either: a real violation. */
Test(aspace_arm64, a_device_range_is_device_memory_and_never_executable)
{
	struct nw_aspace as;
	struct nw_aspace_exit exit;
	struct nw_s2_result res;

	make(&as);
	add(&as, 0x10000000, 0x1000, NW_REGION_READ | NW_REGION_WRITE | NW_REGION_DEVICE, NW_REGION_IDENTICAL);
	translate(&as, 0x10000008, NW_ACCESS_READ, &res);
	cr_assert_eq(res.status, NW_S2_OK);
	cr_assert_eq(res.hpa.val, 0x10000008);
	cr_assert_eq(res.memory_type, 0x1);
	cr_assert_eq(res.entry >> 53 & 3, 2);
	translate(&as, 0x10000008, NW_ACCESS_FETCH, &res);
	cr_assert_eq(res.fault, NW_S2_FAULT_PERMISSION);
	cr_assert_eq(nw_aspace_resolve_fault(&as, nw_gpa(0x10000008), NW_ACCESS_FETCH, 4, &exit), NW_OK);
	cr_assert_eq(exit.kind, NW_ASPACE_FAULT_VIOLATION);
	nw_aspace_destroy(&as);
}

/* MMIO is never mapped: a translation fault at level 3 (its level-3 table exists for the page beside it) the
 * hypervisor emulates; a ROM's store is a permission fault (S2AP 0b01) it drops; lazy RAM a translation fault
 * it populates. */
Test(aspace_arm64, mmio_rom_and_lazy_faults_become_their_exits)
{
	struct nw_aspace as;
	struct nw_s2_result mmio, rom;

	make(&as);
	expect_mmio_rom_and_lazy_exits(&as, &mmio, &rom);
	cr_assert_eq(nw_arm64_s2_level(mmio.level), 3);
	cr_assert_eq(rom.entry >> 6 & 3, 1);
	nw_aspace_destroy(&as);
}

/* The IPA space ends at 2^40 (64 - T0SZ): a region past it is refused. */
Test(aspace_arm64, a_region_past_the_ipa_size_is_refused)
{
	struct nw_aspace as;
	struct nw_region region = { .base = nw_gpa((UINT64_C(1) << 40) - 0x1000),
				    .size = 0x2000,
				    .flags = NW_REGION_READ,
				    .type = NW_REGION_ALLOC };

	make(&as);
	cr_assert_eq(nw_aspace_add_region(&as, &region), NW_ERR_RANGE);
	nw_aspace_destroy(&as);
}

/* VTCR_EL2 0x80057556: the 64 KiB granule (TG0 0b01), T0SZ 22, SL0 0b01 (start at level 2), PS 48 bits. The
 * address space's page is the granule: a region is 64 KiB-aligned, a MAP_ALLOC page is 16 contiguous frames
 * mapped by one level-3 descriptor (0x7fc | 0b11 for RAM, 0x780 ... for the ROM's S2AP 0b01), a lazy page is
 * populated whole on its first fault, and every frame is freed. */
Test(aspace_arm64, the_64k_granule_pages_regions_and_lazy_ram)
{
	struct nw_aspace as;
	struct nw_aspace_exit exit;
	struct nw_s2_result res;
	struct nw_region region = { .base = nw_gpa(GIB + 0x1000),
				    .size = 0x10000,
				    .flags = NW_REGION_READ | NW_REGION_WRITE,
				    .type = NW_REGION_ALLOC,
				    .lazy = true };
	uint8_t byte = 0x5a, back = 0;
	nw_hpa_t hpa;
	nw_gpa_t gpa;

	make_vtcr(&as, UINT64_C(0x80057556));
	cr_assert_eq(nw_aspace_page_size(&as), 0x10000);
	/* 4 KiB-aligned but not 64 KiB-aligned: refused, base or size alike. */
	cr_assert_eq(nw_aspace_add_region(&as, &region), NW_ERR_ALIGN);
	region.base = nw_gpa(GIB);
	region.size = 0x11000;
	cr_assert_eq(nw_aspace_add_region(&as, &region), NW_ERR_ALIGN);
	region.size = 0x20000;
	cr_assert_eq(nw_aspace_add_region(&as, &region), NW_OK);
	/* Lazy: nothing mapped until the fault at GPA GIB + 0x13008 populates its whole 64 KiB page (GIB + 0x10000). */
	translate(&as, GIB + 0x13008, NW_ACCESS_READ, &res);
	cr_assert_eq(res.fault, NW_S2_FAULT_TRANSLATION);
	cr_assert_eq(nw_aspace_resolve_fault(&as, nw_gpa(GIB + 0x13008), NW_ACCESS_READ, 8, &exit), NW_OK);
	cr_assert_eq(exit.kind, NW_ASPACE_FAULT_RETRY);
	cr_assert_eq(as.frame_count, 16);
	translate(&as, GIB + 0x13008, NW_ACCESS_READ, &res);
	cr_assert_eq(res.status, NW_S2_OK);
	cr_assert_eq(res.page_size, 0x10000);
	cr_assert_eq(res.entry & 0xffff, 0x7ff);
	cr_assert_eq(res.hpa.val & 0xffff, 0x3008);
	/* The page's frames are one run: GPA GIB + 0x1f000 is in the same page, 0xf000 bytes after its start. */
	cr_assert_eq(nw_aspace_translate(&as, nw_gpa(GIB + 0x1f000), &hpa), NW_OK);
	cr_assert_eq(hpa.val, (res.hpa.val & ~UINT64_C(0xffff)) + 0xf000);
	cr_assert_eq(nw_aspace_reverse(&as, nw_hpa(hpa.val + 0x10), &gpa), NW_OK);
	cr_assert_eq(gpa.val, GIB + 0x1f010);
	/* The region's first page (GIB) is still lazy; writing into it populates it as the first touch would. */
	cr_assert_eq(nw_aspace_translate(&as, nw_gpa(GIB + 0x8000), &hpa), NW_ERR_NOT_FOUND);
	cr_assert_eq(nw_aspace_write(&as, nw_gpa(GIB + 0xfff0), &byte, 1), NW_OK);
	cr_assert_eq(as.frame_count, 32);
	cr_assert_eq(nw_aspace_read(&as, nw_gpa(GIB + 0xfff0), &back, 1), NW_OK);
	cr_assert_eq(back, 0x5a);
	/* ROM, eager: 64 KiB, S2AP 0b01 (read only): a store is a permission fault at level 3, the ROM-write exit. */
	add(&as, 2 * GIB, 0x10000, NW_REGION_READ, NW_REGION_ROM);
	cr_assert_eq(as.frame_count, 48);
	translate(&as, 2 * GIB + 0xfff8, NW_ACCESS_WRITE, &res);
	cr_assert_eq(res.fault, NW_S2_FAULT_PERMISSION);
	cr_assert_eq(nw_arm64_s2_level(res.level), 3);
	cr_assert_eq(res.entry >> 6 & 3, 1);
	/* Pass-through: 512 MiB + 64 KiB is one level-2 block and one page. */
	add(&as, 4 * GIB, 512 * MIB + 0x10000, NW_REGION_READ | NW_REGION_WRITE | NW_REGION_EXEC, NW_REGION_IDENTICAL);
	translate(&as, 4 * GIB + 512 * MIB + 0x8, NW_ACCESS_FETCH, &res);
	cr_assert_eq(res.page_size, 0x10000);
	translate(&as, 4 * GIB + 0x8, NW_ACCESS_FETCH, &res);
	cr_assert_eq(res.page_size, 512 * MIB);
	cr_assert_eq(nw_aspace_remove_region(&as, nw_gpa(GIB)), NW_OK);
	cr_assert_eq(as.frame_count, 16);
	translate(&as, GIB + 0x13008, NW_ACCESS_READ, &res);
	cr_assert_eq(res.fault, NW_S2_FAULT_TRANSLATION);
	nw_aspace_destroy(&as);
}

/* The 16 KiB granule (VTCR_EL2 0x8005b558: TG0 0b10, T0SZ 24, SL0 0b01, 16 concatenated level-2 tables): an
 * eager MAP_ALLOC region of two pages is two runs of 4 frames. */
Test(aspace_arm64, the_16k_granule_maps_runs_of_four_frames)
{
	struct nw_aspace as;
	struct nw_s2_result res;
	nw_hpa_t a, b;

	make_vtcr(&as, UINT64_C(0x8005b558));
	cr_assert_eq(nw_aspace_page_size(&as), 0x4000);
	add(&as, GIB, 0x8000, NW_REGION_READ | NW_REGION_WRITE, NW_REGION_ALLOC);
	cr_assert_eq(as.frame_count, 8);
	translate(&as, GIB + 0x7ff8, NW_ACCESS_WRITE, &res);
	cr_assert_eq(res.status, NW_S2_OK);
	cr_assert_eq(res.page_size, 0x4000);
	cr_assert_eq(nw_aspace_translate(&as, nw_gpa(GIB), &a), NW_OK);
	cr_assert_eq(nw_aspace_translate(&as, nw_gpa(GIB + 0x3000), &b), NW_OK);
	cr_assert_eq(b.val, a.val + 0x3000);
	cr_assert_eq(a.val & 0x3fff, 0);
	nw_aspace_destroy(&as);
}
