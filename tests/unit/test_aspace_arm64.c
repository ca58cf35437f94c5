/* An address space over the AArch64 stage 2 (nw_aspace_config.format NW_STAGE2_ARM64): what each region type
 * becomes in the descriptors (Arm ARM D8.3 stage-2 attributes, D8.5 MemAttr) and what its faults mean to
 * the hypervisor. VTCR_EL2 0x80023558: 40-bit IPA, start at level 1 (two concatenated tables), PS 40 bits. */
#include <nestwalk/aspace.h>

#include "fixture.h"
#include "test_aspace_util.h"

TestSuite(aspace_arm64, .init = fixture_setup, .fini = fixture_teardown);

#define GIB (UINT64_C(1) << 30)
#define MIB (UINT64_C(1) << 20)

static void make(struct nw_aspace *as)
{
	struct nw_aspace_config config = { .format = NW_STAGE2_ARM64 };
	struct nw_arm64_s2_caps caps = nw_arm64_s2_caps_all();

	cr_assert_eq(nw_arm64_vtcr_decode(UINT64_C(0x80023558), &caps, &config.arm64), NW_OK);
	cr_assert_eq(nw_aspace_init(as, hal, &config), NW_OK);
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
	struct nw_aspace_exit exit;
	struct nw_s2_result res;
	struct nw_region lazy = { .base = nw_gpa(2 * GIB),
				  .size = 0x2000,
				  .flags = NW_REGION_READ | NW_REGION_WRITE,
				  .type = NW_REGION_ALLOC,
				  .lazy = true };

	make(&as);
	add(&as, 0x9000000, 0x1000, NW_REGION_READ | NW_REGION_WRITE, NW_REGION_MMIO);
	add(&as, 0x9001000, 0x1000, NW_REGION_READ | NW_REGION_EXEC, NW_REGION_ROM);
	cr_assert_eq(nw_aspace_add_region(&as, &lazy), NW_OK);
	translate(&as, 0x9000000, NW_ACCESS_WRITE, &res);
	cr_assert_eq(res.fault, NW_S2_FAULT_TRANSLATION);
	cr_assert_eq(nw_arm64_s2_level(res.level), 3);
	cr_assert_eq(nw_aspace_resolve_fault(&as, nw_gpa(0x9000000), NW_ACCESS_WRITE, 4, &exit), NW_OK);
	cr_assert_eq(exit.kind, NW_ASPACE_FAULT_MMIO);
	translate(&as, 0x9001000, NW_ACCESS_WRITE, &res);
	cr_assert_eq(res.fault, NW_S2_FAULT_PERMISSION);
	cr_assert_eq(res.entry >> 6 & 3, 1);
	cr_assert_eq(nw_aspace_resolve_fault(&as, nw_gpa(0x9001000), NW_ACCESS_WRITE, 4, &exit), NW_OK);
	cr_assert_eq(exit.kind, NW_ASPACE_FAULT_ROM_WRITE);
	translate(&as, 2 * GIB + 0x1000, NW_ACCESS_READ, &res);
	cr_assert_eq(res.fault, NW_S2_FAULT_TRANSLATION);
	cr_assert_eq(nw_aspace_resolve_fault(&as, nw_gpa(2 * GIB + 0x1000), NW_ACCESS_READ, 8, &exit), NW_OK);
	cr_assert_eq(exit.kind, NW_ASPACE_FAULT_RETRY);
	translate(&as, 2 * GIB + 0x1000, NW_ACCESS_READ, &res);
	cr_assert_eq(res.status, NW_S2_OK);
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
