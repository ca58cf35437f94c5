/* What the address-space tests of each second-stage format share: adding a
 * region that must be accepted, translating a GPA through the address
 * space's second stage as the guest walker would, and the exits MMIO, a ROM
 * and lazy RAM give. */
#ifndef NESTWALK_TESTS_ASPACE_UTIL_H
#define NESTWALK_TESTS_ASPACE_UTIL_H

#include <nestwalk/aspace.h>

#include "fixture.h"

static inline void add(struct nw_aspace *as, uint64_t base, uint64_t size, uint32_t flags, enum nw_region_type type)
{
	struct nw_region region = { .base = nw_gpa(base), .size = size, .flags = flags, .type = type };

	cr_assert_eq(nw_aspace_add_region(as, &region), NW_OK);
}

static inline void translate(struct nw_aspace *as, uint64_t gpa, enum nw_access_type type, struct nw_s2_result *res)
{
	struct nw_s2_request req = { .gpa = nw_gpa(gpa), .type = type };

	nw_stage2_translate(nw_aspace_stage2(as), &req, res);
}

/* MMIO at 0x9000000, a ROM page beside it and 8 KiB of lazy RAM at 2 GiB added to as. A store to the MMIO page is
 * a translation fault the hypervisor emulates (*mmio: the store's result, for the format's level), a store to
 * the ROM a permission fault it drops (*rom: for the format's entry), a load from the lazy RAM a translation
 * fault it populates, after which the load translates. */
static inline void expect_mmio_rom_and_lazy_exits(struct nw_aspace *as, struct nw_s2_result *mmio,
						  struct nw_s2_result *rom)
{
	struct nw_aspace_exit exit;
	struct nw_s2_result res;
	struct nw_region lazy = { .base = nw_gpa(UINT64_C(0x80000000)), .size = 0x2000,
				  .flags = NW_REGION_READ | NW_REGION_WRITE, .type = NW_REGION_ALLOC, .lazy = true };

	add(as, 0x9000000, 0x1000, NW_REGION_READ | NW_REGION_WRITE, NW_REGION_MMIO);
	add(as, 0x9001000, 0x1000, NW_REGION_READ | NW_REGION_EXEC, NW_REGION_ROM);
	cr_assert_eq(nw_aspace_add_region(as, &lazy), NW_OK);
	translate(as, 0x9000000, NW_ACCESS_WRITE, mmio);
	cr_assert_eq(mmio->fault, NW_S2_FAULT_TRANSLATION);
	cr_assert_eq(nw_aspace_resolve_fault(as, nw_gpa(0x9000000), NW_ACCESS_WRITE, 4, &exit), NW_OK);
	cr_assert_eq(exit.kind, NW_ASPACE_FAULT_MMIO);
	translate(as, 0x9001000, NW_ACCESS_WRITE, rom);
	cr_assert_eq(rom->fault, NW_S2_FAULT_PERMISSION);
	cr_assert_eq(nw_aspace_resolve_fault(as, nw_gpa(0x9001000), NW_ACCESS_WRITE, 4, &exit), NW_OK);
	cr_assert_eq(exit.kind, NW_ASPACE_FAULT_ROM_WRITE);
	translate(as, UINT64_C(0x80001000), NW_ACCESS_READ, &res);
	cr_assert_eq(res.fault, NW_S2_FAULT_TRANSLATION);
	cr_assert_eq(nw_aspace_resolve_fault(as, nw_gpa(UINT64_C(0x80001000)), NW_ACCESS_READ, 8, &exit), NW_OK);
	cr_assert_eq(exit.kind, NW_ASPACE_FAULT_RETRY);
	translate(as, UINT64_C(0x80001000), NW_ACCESS_READ, &res);
	cr_assert_eq(res.status, NW_S2_OK);
}

#endif
