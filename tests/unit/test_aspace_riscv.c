/* An address space over the RISC-V G-stage (nw_aspace_config.format NW_STAGE2_RISCV, hgatp mode Sv39x4): what
 * each region type becomes in the G-stage PTEs (privileged spec: the Sv39 PTE figure, G-stage leaves checked as
 * U-mode accesses, Svpbmt's PBMT) and what its guest-page faults mean to the hypervisor. A PTE's low byte is
 * D A G U X W R V from bit 7 down. */
#include <nestwalk/aspace.h>
#include <nestwalk/riscv_vs.h>

#include "fixture.h"
#include "test_aspace_util.h"

TestSuite(aspace_riscv, .init = fixture_setup, .fini = fixture_teardown);

#define GIB (UINT64_C(1) << 30)
#define MIB (UINT64_C(1) << 20)
#define RW (NW_REGION_READ | NW_REGION_WRITE)

static void make(struct nw_aspace *as, bool pbmte)
{
	struct nw_aspace_config config = {
		.format = NW_STAGE2_RISCV,
		.riscv = { .mode = NW_RV_HGATP_SV39X4, .pbmte = pbmte, .caps = nw_rv_gstage_caps_all() },
	};

	cr_assert_eq(nw_aspace_init(as, hal, &config), NW_OK);
}

/* Pass-through RAM (read, write, execute; GPA = HPA) in 2 MiB and 4 KiB pieces: V R W X U A D = 0xdf, PBMT 0
 * (PMA), a 2 MiB leaf at the spec's level 1 (library level 2) for the aligned part, a 4 KiB one for the rest. */
Test(aspace_riscv, ram_is_read_write_execute_user_accessed_dirty_in_superpages_and_pages)
{
	struct nw_aspace as;
	struct nw_s2_result res;

	make(&as, false);
	add(&as, GIB, 2 * MIB + 0x1000, RW | NW_REGION_EXEC, NW_REGION_IDENTICAL);
	translate(&as, GIB + 0x1234, NW_ACCESS_FETCH, &res);
	cr_assert_eq(res.status, NW_S2_OK);
	cr_assert_eq(res.hpa.val, GIB + 0x1234);
	cr_assert_eq(res.level, 2);
	cr_assert_eq(res.entry & 0x3ff, 0xdf);
	cr_assert_eq(res.entry >> NW_RV_PTE_PBMT_SHIFT & 3, NW_RV_PBMT_PMA);
	translate(&as, GIB + 2 * MIB, NW_ACCESS_WRITE, &res);
	cr_assert_eq(res.status, NW_S2_OK);
	cr_assert_eq(res.level, 1);
	cr_assert_eq(res.entry & 0x3ff, 0xdf);
	nw_aspace_destroy(&as);
}

/* A device pass-through range: with menvcfg.PBMTE, PBMT 2 (IO); without it PMA (the platform's attributes
 * decide). Read and write without execute: V R W U A D = 0xd7, so a fetch is a G-stage permission fault the
 * region does not allow either: a real violation. */
Test(aspace_riscv, a_device_range_is_io_with_pbmte_and_never_executable)
{
	struct nw_aspace as;
	struct nw_aspace_exit exit;
	struct nw_s2_result res;

	make(&as, true);
	add(&as, 0x10000000, 0x1000, RW | NW_REGION_DEVICE, NW_REGION_IDENTICAL);
	add(&as, 0x10001000, 0x1000, RW | NW_REGION_UNCACHED, NW_REGION_IDENTICAL);
	translate(&as, 0x10000008, NW_ACCESS_READ, &res);
	cr_assert_eq(res.status, NW_S2_OK);
	cr_assert_eq(res.hpa.val, 0x10000008);
	cr_assert_eq(res.entry & 0x3ff, 0xd7);
	cr_assert_eq(res.memory_type, NW_RV_PBMT_IO);
	translate(&as, 0x10001000, NW_ACCESS_READ, &res);
	cr_assert_eq(res.memory_type, NW_RV_PBMT_NC);
	translate(&as, 0x10000008, NW_ACCESS_FETCH, &res);
	cr_assert_eq(res.fault, NW_S2_FAULT_PERMISSION);
	cr_assert_eq(nw_aspace_resolve_fault(&as, nw_gpa(0x10000008), NW_ACCESS_FETCH, 4, &exit), NW_OK);
	cr_assert_eq(exit.kind, NW_ASPACE_FAULT_VIOLATION);
	nw_aspace_destroy(&as);
	make(&as, false);
	add(&as, 0x10000000, 0x1000, RW | NW_REGION_DEVICE, NW_REGION_IDENTICAL);
	translate(&as, 0x10000008, NW_ACCESS_READ, &res);
	cr_assert_eq(res.entry >> NW_RV_PTE_PBMT_SHIFT & 3, NW_RV_PBMT_PMA);
	nw_aspace_destroy(&as);
}

/* MMIO is never mapped: a G-stage translation fault at the 4 KiB level (the L0 table exists for the ROM page
 * beside it) the hypervisor emulates; a ROM's store a permission fault (V R X U A D = 0xdb: no W) it drops;
 * lazy RAM a translation fault it populates, after which the access translates. */
Test(aspace_riscv, mmio_rom_and_lazy_faults_become_their_exits)
{
	struct nw_aspace as;
	struct nw_s2_result mmio, rom;

	make(&as, false);
	expect_mmio_rom_and_lazy_exits(&as, &mmio, &rom);
	cr_assert_eq(mmio.level, 1);
	cr_assert_eq(rom.entry & 0x3ff, 0xdb);
	nw_aspace_destroy(&as);
}

/* Sv39x4 covers 41 guest-physical bits (39 + the root's 2): a region at 2^40 fits, one past 2^41 is refused. */
Test(aspace_riscv, the_gpa_space_is_the_mode_s_width_plus_two_bits)
{
	struct nw_aspace as;
	struct nw_region region = { .base = nw_gpa((UINT64_C(1) << 41) - 0x1000), .size = 0x2000,
				    .flags = NW_REGION_READ, .type = NW_REGION_ALLOC };
	struct nw_s2_result res;

	make(&as, false);
	cr_assert_eq(nw_aspace_add_region(&as, &region), NW_ERR_RANGE);
	add(&as, UINT64_C(1) << 40, 0x1000, NW_REGION_READ, NW_REGION_ALLOC);
	translate(&as, UINT64_C(1) << 40, NW_ACCESS_READ, &res);
	cr_assert_eq(res.status, NW_S2_OK);
	nw_aspace_destroy(&as);
}

/* A G-stage PTE without R and X points to a table: a backed region needs one of them; MMIO (never mapped) may
 * have neither, and execute alone is a leaf (V X U A D = 0xd9). */
Test(aspace_riscv, a_backed_region_needs_read_or_execute)
{
	struct nw_aspace as;
	struct nw_region region = { .base = nw_gpa(GIB), .size = 0x1000, .flags = 0, .type = NW_REGION_ALLOC };
	struct nw_s2_result res;

	make(&as, false);
	cr_assert_eq(nw_aspace_add_region(&as, &region), NW_ERR_NO_LEAF_RIGHTS);
	region.type = NW_REGION_IDENTICAL;
	cr_assert_eq(nw_aspace_add_region(&as, &region), NW_ERR_NO_LEAF_RIGHTS);
	region.type = NW_REGION_MMIO;
	cr_assert_eq(nw_aspace_add_region(&as, &region), NW_OK);
	add(&as, GIB + 0x1000, 0x1000, NW_REGION_EXEC, NW_REGION_ALLOC);
	translate(&as, GIB + 0x1000, NW_ACCESS_FETCH, &res);
	cr_assert_eq(res.status, NW_S2_OK);
	cr_assert_eq(res.entry & 0x3ff, 0xd9);
	nw_aspace_destroy(&as);
}

/* The VS-stage walk over the address space's G-stage (vsatp Bare: the GVA is the GPA): a load from a lazy page
 * not touched yet is a load guest-page fault (scause 21, htval 0x8000_0010 >> 2 = 0x2000_0004, htinst 0), which
 * the hypervisor resolves by populating the page; the load then translates to the new frame. */
Test(aspace_riscv, a_lazy_page_behind_a_guest_page_fault_is_populated)
{
	struct nw_aspace as;
	struct nw_aspace_exit exit;
	struct nw_region lazy = { .base = nw_gpa(0x80000000), .size = 0x1000, .flags = RW, .type = NW_REGION_ALLOC,
				  .lazy = true };
	struct nw_rv_vs_cpu cpu = { .caps = nw_rv_vs_caps_all() };
	struct nw_access access = { .gva = nw_gva(0x80000010), .size = 8, .type = NW_ACCESS_READ };
	struct nw_walk_config config = { .hal = hal };
	struct nw_walk_result res;
	nw_hpa_t hpa;

	make(&as, false);
	cr_assert_eq(nw_aspace_add_region(&as, &lazy), NW_OK);
	config.stage2 = *nw_aspace_stage2(&as);
	nw_rv_vs_walk(&config, &cpu, &access, 0, &res);
	cr_assert_eq(res.outcome, NW_OUTCOME_GUEST_PAGE_FAULT, "outcome %s", nw_outcome_name(res.outcome));
	cr_assert_eq(res.rv_trap.scause, 21);
	cr_assert_eq(res.rv_trap.stval, 0x80000010);
	cr_assert_eq(res.rv_trap.htval, 0x20000004);
	cr_assert_eq(res.rv_trap.htinst, 0);
	cr_assert_eq(nw_aspace_resolve_fault(&as, res.fault_gpa, NW_ACCESS_READ, 8, &exit), NW_OK);
	cr_assert_eq(exit.kind, NW_ASPACE_FAULT_RETRY);
	nw_rv_vs_walk(&config, &cpu, &access, 0, &res);
	cr_assert_eq(res.outcome, NW_OUTCOME_OK);
	cr_assert_eq(nw_aspace_translate(&as, nw_gpa(0x80000000), &hpa), NW_OK);
	cr_assert_eq(res.hpa.val, hpa.val | 0x10);
	nw_aspace_destroy(&as);
}

/* The hypervisor's lookup of a mapped page is no access of the hart: PMP (here one entry, no rights, over
 * everything: 54 ones, 2^57 bytes) refuses every guest access, yet the page is still found, and a lazy page is
 * not populated twice (the G-stage leaf exists: no guest-page fault to resolve). */
Test(aspace_riscv, pmp_does_not_hide_a_mapped_page_from_the_hypervisor)
{
	struct nw_aspace as;
	struct nw_aspace_exit exit;
	struct nw_aspace_config config = {
		.format = NW_STAGE2_RISCV,
		.riscv = { .mode = NW_RV_HGATP_SV39X4, .caps = nw_rv_gstage_caps_all(),
			   .pmp = { .count = 1, .cfg = { NW_RV_PMP_NAPOT << NW_RV_PMPCFG_A_SHIFT },
				    .addr = { NW_RV_PMPADDR_MASK } } },
	};
	struct nw_region lazy = { .base = nw_gpa(0x80000000), .size = 0x1000, .flags = RW, .type = NW_REGION_ALLOC,
				  .lazy = true };
	struct nw_s2_result res;
	nw_hpa_t hpa;

	cr_assert_eq(nw_aspace_init(&as, hal, &config), NW_OK);
	cr_assert_eq(nw_aspace_add_region(&as, &lazy), NW_OK);
	cr_assert_eq(nw_aspace_resolve_fault(&as, nw_gpa(0x80000000), NW_ACCESS_READ, 8, &exit), NW_OK);
	cr_assert_eq(exit.kind, NW_ASPACE_FAULT_RETRY);
	translate(&as, 0x80000000, NW_ACCESS_READ, &res);
	cr_assert_eq(res.status, NW_S2_VIOLATION);
	cr_assert_eq(res.fault, NW_S2_FAULT_ACCESS);
	cr_assert_eq(nw_aspace_translate(&as, nw_gpa(0x80000000), &hpa), NW_OK);
	cr_assert_eq(nw_aspace_resolve_fault(&as, nw_gpa(0x80000000), NW_ACCESS_READ, 8, &exit), NW_OK);
	cr_assert_eq(exit.kind, NW_ASPACE_FAULT_VIOLATION); /* the regions do not explain an access fault */
	nw_aspace_destroy(&as);
}
