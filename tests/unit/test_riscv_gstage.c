/* The RISC-V G-stage (privileged spec, H extension): hgatp, Sv39x4/Sv48x4
 * PTEs, outcomes and the trap CSRs of a guest-page fault, derived by hand
 * from the spec ("hgatp" register layout, "Guest Physical Address
 * Translation", the Sv39 PTE figure and "Virtual Address Translation
 * Process" steps 2-7, "Guest-Page Faults", the pseudoinstruction table).
 * Levels in the results are the library's (1 = the 4 KiB page, the spec's
 * level 0). A PTE holds PPN = address >> 12 in bits 53:10, so an address A
 * appears in an entry as A >> 2. */
#include <nestwalk/riscv_gstage.h>

#include "fixture.h"
#include "riscv_layout.h"
#include "test_s2_util.h"

TestSuite(riscv_gstage, .init = fixture_setup, .fini = fixture_teardown);

#define RWXU (R | W | X | U)
#define ALL (RWXU | A | D) /* 0xde: with V, the low byte of a leaf 0xdf */

static struct nw_rv_gstage_config config_of(unsigned mode, bool adue)
{
	return (struct nw_rv_gstage_config){ .mode = mode, .adue = adue, .caps = nw_rv_gstage_caps_all() };
}

static void make_with(struct nw_rv_gstage *s2, const struct nw_rv_gstage_config *config)
{
	cr_assert_eq(nw_rv_gstage_create(s2, hal, config), NW_OK);
}

static void make(struct nw_rv_gstage *s2, unsigned mode, bool adue)
{
	struct nw_rv_gstage_config config = config_of(mode, adue);

	make_with(s2, &config);
}

static void map(struct nw_rv_gstage *s2, uint64_t gpa, uint64_t hpa, uint64_t size, uint64_t flags)
{
	cr_assert_eq(nw_rv_gstage_map(s2, nw_gpa(gpa), nw_hpa(hpa), size, flags, 0, 0), NW_OK);
}

static void edit(struct nw_rv_gstage *s2, uint64_t gpa, int level, uint64_t clear, uint64_t set)
{
	cr_assert_eq(nw_rv_gstage_edit(s2, nw_gpa(gpa), level, clear, set, 0, 0), NW_OK);
}

static struct nw_s2_result go_req(struct nw_rv_gstage *s2, struct nw_s2_request req)
{
	struct nw_s2_result res;

	nw_rv_gstage_translate(s2, &req, &res);
	return res;
}

static struct nw_s2_result go(struct nw_rv_gstage *s2, uint64_t gpa, enum nw_access_type type)
{
	return go_req(s2, (struct nw_s2_request){ .gpa = nw_gpa(gpa), .type = type });
}

static void expect_ok(struct nw_rv_gstage *s2, uint64_t gpa, enum nw_access_type type, uint64_t hpa)
{
	struct nw_s2_result res = go(s2, gpa, type);

	cr_assert_eq(res.status, NW_S2_OK, "GPA %#llx: status %d fault %d", (unsigned long long)gpa, res.status,
		     res.fault);
	cr_assert_eq(res.hpa.val, hpa);
}

/* A guest-page fault of kind fault at (library) level for an explicit access
 * with the VS-stage Bare (stval = the GPA): scause by type, htval GPA >> 2, htinst 0. */
static void expect_fault(struct nw_rv_gstage *s2, uint64_t gpa, enum nw_access_type type, enum nw_s2_fault fault,
			 int level, uint64_t scause, uint64_t htval)
{
	struct nw_s2_result res = go(s2, gpa, type);
	struct nw_rv_gstage_access a = { .type = type, .gva = gpa, .gpa = nw_gpa(gpa) };
	struct nw_rv_trap trap;

	cr_assert_neq(res.status, NW_S2_OK, "GPA %#llx translated", (unsigned long long)gpa);
	cr_assert_eq(res.fault, fault, "GPA %#llx: fault %d, not %d", (unsigned long long)gpa, res.fault, fault);
	cr_assert_eq(res.level, level, "GPA %#llx: level %d, not %d", (unsigned long long)gpa, res.level, level);
	cr_assert(nw_rv_gstage_fault(&res, &a, &trap));
	cr_assert_eq(trap.scause, scause);
	cr_assert_eq(trap.stval, gpa);
	cr_assert_eq(trap.htval, htval);
	cr_assert_eq(trap.htinst, 0);
	cr_assert(trap.gva);
}

Test(riscv_gstage, hgatp_fields_as_the_spec_lays_them_out)
{
	struct nw_rv_gstage_caps caps = nw_rv_gstage_caps_all();
	struct nw_rv_hgatp h;
	struct nw_rv_gstage s2;
	uint64_t value;

	/* 0x8000_0000_0008_0000: MODE (63:60) 8 = Sv39x4, VMID (57:44) 0, PPN (43:0) 0x80000: root 0x8000_0000. */
	cr_assert_eq(nw_rv_hgatp_decode(UINT64_C(0x8000000000080000), &caps, &h), NW_OK);
	cr_assert_eq(h.mode, NW_RV_HGATP_SV39X4);
	cr_assert_eq(h.vmid, 0);
	cr_assert_eq(h.root, 0x80000000);
	/* 0x93ff_f000_0008_0004: MODE 9 = Sv48x4, VMID 0x3fff (14 bits: 0x3fff << 44 = 0x03fff000_00000000), PPN
	 * 0x80004: root 0x8000_4000. */
	cr_assert_eq(nw_rv_hgatp_decode(UINT64_C(0x93fff00000080004), &caps, &h), NW_OK);
	cr_assert_eq(h.mode, NW_RV_HGATP_SV48X4);
	cr_assert_eq(h.vmid, 0x3fff);
	cr_assert_eq(h.root, 0x80004000);
	/* MODE 10 = Sv57x4, VMID 5 (5 << 44 = 0x5000_0000_0000). */
	cr_assert_eq(nw_rv_hgatp_decode(UINT64_C(0xa000500000080000), &caps, &h), NW_OK);
	cr_assert_eq(h.mode, NW_RV_HGATP_SV57X4);
	cr_assert_eq(h.vmid, 5);
	/* Bare is all zeros; Bare with a PPN, MODE 1-7 and 11-15 are not values hgatp holds. */
	cr_assert_eq(nw_rv_hgatp_decode(0, &caps, &h), NW_OK);
	cr_assert_eq(h.mode, NW_RV_HGATP_BARE);
	cr_assert_eq(nw_rv_hgatp_decode(0x80000, &caps, &h), NW_ERR_INVALID);
	cr_assert_eq(nw_rv_hgatp_decode(UINT64_C(0x1000000000080000), &caps, &h), NW_ERR_INVALID);
	cr_assert_eq(nw_rv_hgatp_decode(UINT64_C(0xb000000000080000), &caps, &h), NW_ERR_INVALID);
	/* Bit 58 (0x0400_0000_0000_0000) lies in the zero field 59:58. */
	cr_assert_eq(nw_rv_hgatp_decode(UINT64_C(0x8400000000080000), &caps, &h), NW_ERR_INVALID);
	/* PPN[1:0] read as zero in the paged modes: the root is 16 KiB-aligned. */
	cr_assert_eq(nw_rv_hgatp_decode(UINT64_C(0x8000000000080001), &caps, &h), NW_ERR_ALIGN);
	cr_assert_eq(nw_rv_hgatp_decode(UINT64_C(0x8000000000080002), &caps, &h), NW_ERR_ALIGN);
	/* VMIDLEN 7: VMID 0x80 (0x80 << 44 = 0x0008_0000_0000_0000) does not fit. */
	caps.vmid_bits = 7;
	cr_assert_eq(nw_rv_hgatp_decode(UINT64_C(0x8007f00000080000), &caps, &h), NW_OK);
	cr_assert_eq(nw_rv_hgatp_decode(UINT64_C(0x8008000000080000), &caps, &h), NW_ERR_RANGE);
	caps.sv57x4 = false;
	cr_assert_eq(nw_rv_hgatp_decode(UINT64_C(0xa000000000080000), &caps, &h), NW_ERR_UNSUPPORTED);

	/* The table's own hgatp: the 16 KiB root (four frames and their four count pages) and VMID 3 (3 << 44). */
	make(&s2, NW_RV_HGATP_SV39X4, false);
	cr_assert_eq(s2.pt.root & 0x3fff, 0);
	cr_assert_eq(nw_simmem_stats(sim).live, 4 + 4);
	cr_assert_eq(nw_rv_gstage_hgatp(&s2, 3, &value), NW_OK);
	cr_assert_eq(value, UINT64_C(0x8000300000000000) | s2.pt.root >> 12);
	cr_assert_eq(nw_rv_gstage_hgatp(&s2, 1u << 14, &value), NW_ERR_RANGE);
	nw_rv_gstage_destroy(&s2);
}

Test(riscv_gstage, page_and_superpages_sv39x4)
{
	struct nw_rv_gstage s2;
	struct nw_s2_result res;

	make(&s2, NW_RV_HGATP_SV39X4, false);
	map(&s2, 0x81001000, 0x40001000, NW_PAGE_SIZE, ALL);
	map(&s2, 0x80200000, 0x40200000, NW_SIZE_2M, ALL);
	map(&s2, 0xc0000000, 0x80000000, NW_SIZE_1G, ALL);
	/* 4 KiB: PPN 0x40001 << 10 = 0x1000_0400, | V R W X U A D (0xdf). Three levels read. */
	res = go(&s2, 0x81001008, NW_ACCESS_READ);
	cr_assert_eq(res.status, NW_S2_OK);
	cr_assert_eq(res.hpa.val, 0x40001008);
	cr_assert_eq(res.entry, 0x100004df);
	cr_assert_eq(res.level, 1);
	cr_assert_eq(res.page_size, NW_PAGE_SIZE);
	cr_assert_eq(res.refs, 3);
	cr_assert_eq(res.rights & (NW_S2_RIGHT_R | NW_S2_RIGHT_W | NW_S2_RIGHT_X), 7);
	/* The pointers carry V alone (bits 9:0 = 0x001). */
	cr_assert_eq(res.entries[3] & 0x3ff, 0x001);
	cr_assert_eq(res.entries[2] & 0x3ff, 0x001);
	/* 2 MiB: PPN 0x40200 << 10 = 0x1008_0000. */
	res = go(&s2, 0x80212345, NW_ACCESS_WRITE);
	cr_assert_eq(res.hpa.val, 0x40212345);
	cr_assert_eq(res.entry, 0x100800df);
	cr_assert_eq(res.level, 2);
	cr_assert_eq(res.refs, 2);
	/* 1 GiB: PPN 0x80000 << 10 = 0x2000_0000, in the root. */
	res = go(&s2, 0xc0000010, NW_ACCESS_FETCH);
	cr_assert_eq(res.hpa.val, 0x80000010);
	cr_assert_eq(res.entry, 0x200000df);
	cr_assert_eq(res.level, 3);
	cr_assert_eq(res.page_size, NW_SIZE_1G);
	cr_assert_eq(res.refs, 1);
	cr_assert_eq(nw_rv_gstage_level(1), 0);
	cr_assert_eq(nw_rv_gstage_level(3), 2);
	nw_rv_gstage_destroy(&s2);
}

Test(riscv_gstage, misaligned_superpages_fault)
{
	struct nw_rv_gstage s2;

	make(&s2, NW_RV_HGATP_SV39X4, false);
	map(&s2, 0x80200000, 0x40200000, NW_SIZE_2M, ALL);
	map(&s2, 0xc0000000, 0x80000000, NW_SIZE_1G, ALL);
	/* Step 6: a 2 MiB leaf needs ppn[0] (PPN bits 8:0, entry bits 18:10) zero; entry bit 10 is PPN bit 0. */
	edit(&s2, 0x80200000, 2, 0, UINT64_C(1) << 10);
	/* htval 0x80200008 >> 2 = 0x2008_0002. */
	expect_fault(&s2, 0x80200008, NW_ACCESS_READ, NW_S2_FAULT_MISCONFIG, 2, 21, 0x20080002);
	edit(&s2, 0x80200000, 2, UINT64_C(1) << 10, 0);
	expect_ok(&s2, 0x80200008, NW_ACCESS_READ, 0x40200008);
	/* A 1 GiB leaf needs ppn[1:0] (entry bits 27:10) zero: bit 27 faults, bit 28 (PPN bit 18, address
	 * bit 30) maps the next gigabyte. */
	edit(&s2, 0xc0000000, 3, 0, UINT64_C(1) << 27);
	expect_fault(&s2, 0xc0000010, NW_ACCESS_WRITE, NW_S2_FAULT_MISCONFIG, 3, 23, 0x30000004);
	edit(&s2, 0xc0000000, 3, UINT64_C(1) << 27, UINT64_C(1) << 28);
	expect_ok(&s2, 0xc0000010, NW_ACCESS_WRITE, 0xc0000010);
	nw_rv_gstage_destroy(&s2);
}

Test(riscv_gstage, root_index_is_gpa_bits_40_30_under_sv39x4)
{
	struct nw_rv_gstage s2;
	struct nw_s2_result res;
	const uint64_t *root;

	make(&s2, NW_RV_HGATP_SV39X4, false);
	root = nw_hal_phys_to_virt(hal, nw_hpa(s2.pt.root));
	/* GPA 2^40: root index (bits 40:30) 0x400, 0x2000 bytes in, in the third of the four frames. */
	map(&s2, UINT64_C(1) << 40, 0x40001000, NW_PAGE_SIZE, ALL);
	/* GPA 0x1ff_ffff_f000: index 0x7ff, the last entry (byte 0x3ff8). */
	map(&s2, UINT64_C(0x1fffffff000), 0x40002000, NW_PAGE_SIZE, ALL);
	res = go(&s2, (UINT64_C(1) << 40) + 0x123, NW_ACCESS_READ);
	cr_assert_eq(res.hpa.val, 0x40001123);
	cr_assert_eq(res.entries[3], root[0x400]);
	cr_assert_eq(root[0x400] & 0x3ff, 0x001);
	res = go(&s2, UINT64_C(0x1fffffffff8), NW_ACCESS_READ);
	cr_assert_eq(res.hpa.val, 0x40002ff8);
	cr_assert_eq(res.entries[3], root[0x7ff]);
	cr_assert_eq(root[0x7ff] & 0x3ff, 0x001);
	/* GPA bit 41 set: bits 63:41 must be zero, a guest-page fault whatever the root holds; htval
	 * 0x200_0000_0008 >> 2 = 0x80_0000_0002. The engine reads no entry for it. */
	expect_fault(&s2, UINT64_C(0x20000000008), NW_ACCESS_READ, NW_S2_FAULT_TRANSLATION, 3, 21,
		     UINT64_C(0x8000000002));
	cr_assert_eq(go(&s2, UINT64_C(0x20000000008), NW_ACCESS_READ).refs, 0);
	/* Bit 63 alone too (an address that would sign-extend from bit 40 does not wrap). */
	expect_fault(&s2, UINT64_C(0xfffffffffffff000), NW_ACCESS_FETCH, NW_S2_FAULT_TRANSLATION, 3, 20,
		     UINT64_C(0x3ffffffffffffc00));
	nw_rv_gstage_destroy(&s2);
}

Test(riscv_gstage, sv48x4_reaches_bit_49_and_maps_512_gib_pages)
{
	struct nw_rv_gstage s2;
	struct nw_s2_result res;

	make(&s2, NW_RV_HGATP_SV48X4, false);
	/* GPA 2^49: root index (bits 49:39) 0x400. A 512 GiB leaf at GPA 2^39 (root index 1) to HPA 0. */
	map(&s2, UINT64_C(1) << 49, 0x40001000, NW_PAGE_SIZE, ALL);
	map(&s2, UINT64_C(1) << 39, 0, UINT64_C(1) << 39, ALL);
	res = go(&s2, (UINT64_C(1) << 49) + 8, NW_ACCESS_READ);
	cr_assert_eq(res.hpa.val, 0x40001008);
	cr_assert_eq(res.refs, 4);
	res = go(&s2, (UINT64_C(1) << 39) + UINT64_C(0x123456789), NW_ACCESS_READ);
	cr_assert_eq(res.hpa.val, UINT64_C(0x123456789));
	cr_assert_eq(res.level, 4);
	cr_assert_eq(res.page_size, UINT64_C(1) << 39);
	/* 2^50: bits 63:50 must be zero; htval 2^48. */
	expect_fault(&s2, UINT64_C(1) << 50, NW_ACCESS_WRITE, NW_S2_FAULT_TRANSLATION, 4, 23, UINT64_C(1) << 48);
	nw_rv_gstage_destroy(&s2);
}

Test(riscv_gstage, invalid_and_reserved_entries)
{
	struct nw_rv_gstage s2;

	make(&s2, NW_RV_HGATP_SV39X4, false);
	map(&s2, 0x81001000, 0x40001000, NW_PAGE_SIZE, ALL);
	/* Nothing at 0xc200_0000 (root index 3 holds no table): V=0 at the root; htval 0xc2000000 >> 2. And
	 * nothing at 0x8200_0000 (root index 2, L1 index 0x10): V=0 at level 1 (library level 2). */
	expect_fault(&s2, 0xc2000000, NW_ACCESS_READ, NW_S2_FAULT_TRANSLATION, 3, 21, 0x30800000);
	expect_fault(&s2, 0x82000000, NW_ACCESS_READ, NW_S2_FAULT_TRANSLATION, 2, 21, 0x20800000);
	/* Step 2, V=0 in the leaf. */
	edit(&s2, 0x81001000, 1, V, 0);
	expect_fault(&s2, 0x81001000, NW_ACCESS_READ, NW_S2_FAULT_TRANSLATION, 1, 21, 0x20400400);
	/* Step 4: V with R=W=X=0 at level 0 points to a table that cannot be (i < 0). */
	edit(&s2, 0x81001000, 1, RWXU, V);
	expect_fault(&s2, 0x81001000, NW_ACCESS_READ, NW_S2_FAULT_TRANSLATION, 1, 21, 0x20400400);
	/* Step 2: W without R is reserved, whatever X. */
	edit(&s2, 0x81001000, 1, 0, W | U);
	expect_fault(&s2, 0x81001000, NW_ACCESS_WRITE, NW_S2_FAULT_MISCONFIG, 1, 23, 0x20400400);
	edit(&s2, 0x81001000, 1, 0, X);
	expect_fault(&s2, 0x81001000, NW_ACCESS_FETCH, NW_S2_FAULT_MISCONFIG, 1, 20, 0x20400400);
	edit(&s2, 0x81001000, 1, 0, R);
	expect_ok(&s2, 0x81001000, NW_ACCESS_FETCH, 0x40001000);
	/* Bits 60:54 reserved: bit 54. */
	edit(&s2, 0x81001000, 1, 0, UINT64_C(1) << 54);
	expect_fault(&s2, 0x81001000, NW_ACCESS_READ, NW_S2_FAULT_MISCONFIG, 1, 21, 0x20400400);
	edit(&s2, 0x81001000, 1, UINT64_C(1) << 54, 0);
	/* G is reserved in G-stage PTEs but ignored by the hardware; RSW is software's. */
	edit(&s2, 0x81001000, 1, 0, NW_RV_PTE_G | NW_RV_PTE_RSW);
	expect_ok(&s2, 0x81001000, NW_ACCESS_READ, 0x40001000);
	/* A non-leaf PTE with D, A or U set: reserved. The level-2 pointer (L1 entry) with A. */
	edit(&s2, 0x81001000, 2, 0, A);
	expect_fault(&s2, 0x81001000, NW_ACCESS_READ, NW_S2_FAULT_MISCONFIG, 2, 21, 0x20400400);
	edit(&s2, 0x81001000, 2, A, U);
	expect_fault(&s2, 0x81001000, NW_ACCESS_READ, NW_S2_FAULT_MISCONFIG, 2, 21, 0x20400400);
	edit(&s2, 0x81001000, 2, U, D);
	expect_fault(&s2, 0x81001000, NW_ACCESS_READ, NW_S2_FAULT_MISCONFIG, 2, 21, 0x20400400);
	/* W alone in a pointer is the reserved R=0 W=1 encoding too. */
	edit(&s2, 0x81001000, 2, D, W);
	expect_fault(&s2, 0x81001000, NW_ACCESS_READ, NW_S2_FAULT_MISCONFIG, 2, 21, 0x20400400);
	edit(&s2, 0x81001000, 2, W, 0);
	expect_ok(&s2, 0x81001000, NW_ACCESS_READ, 0x40001000);
	/* The engine refuses an edit that turns a pointer into a leaf (R or X). */
	cr_assert_eq(nw_rv_gstage_edit(&s2, nw_gpa(0x81001000), 2, 0, R, 0, 0), NW_ERR_INVALID);
	nw_rv_gstage_destroy(&s2);
}

Test(riscv_gstage, rights_are_checked_as_u_mode_accesses)
{
	struct nw_rv_gstage s2;
	struct nw_rv_gstage_access a = { .type = NW_ACCESS_WRITE, .gva = 0x81001008, .gpa = nw_gpa(0x81001008) };
	struct nw_rv_trap trap;
	struct nw_s2_result res;

	make(&s2, NW_RV_HGATP_SV39X4, false);
	map(&s2, 0x81001000, 0x40001000, NW_PAGE_SIZE, R | X | U | A | D);
	/* A store to a page without W: scause 23 (store/AMO guest-page fault), stval the address, htval
	 * 0x81001008 >> 2 = 0x2040_0402, htinst 0 for the explicit access. */
	res = go(&s2, 0x81001008, NW_ACCESS_WRITE);
	cr_assert_eq(res.status, NW_S2_VIOLATION);
	cr_assert_eq(res.fault, NW_S2_FAULT_PERMISSION);
	cr_assert(nw_rv_gstage_fault(&res, &a, &trap));
	cr_assert_eq(trap.scause, 23);
	cr_assert_eq(trap.stval, 0x81001008);
	cr_assert_eq(trap.htval, 0x20400402);
	cr_assert_eq(trap.htinst, 0);
	expect_ok(&s2, 0x81001008, NW_ACCESS_READ, 0x40001008);
	/* U=0: every G-stage access is a U-mode one, so nothing is allowed. */
	cr_assert_eq(nw_rv_gstage_protect(&s2, nw_gpa(0x81001000), NW_PAGE_SIZE, R | W | X, 0), NW_OK);
	expect_fault(&s2, 0x81001008, NW_ACCESS_READ, NW_S2_FAULT_PERMISSION, 1, 21, 0x20400402);
	expect_fault(&s2, 0x81001008, NW_ACCESS_FETCH, NW_S2_FAULT_PERMISSION, 1, 20, 0x20400402);
	/* Read-only: a fetch needs X. */
	cr_assert_eq(nw_rv_gstage_protect(&s2, nw_gpa(0x81001000), NW_PAGE_SIZE, R | U, 0), NW_OK);
	expect_ok(&s2, 0x81001008, NW_ACCESS_READ, 0x40001008);
	expect_fault(&s2, 0x81001008, NW_ACCESS_FETCH, NW_S2_FAULT_PERMISSION, 1, 20, 0x20400402);
	expect_fault(&s2, 0x81001008, NW_ACCESS_WRITE, NW_S2_FAULT_PERMISSION, 1, 23, 0x20400402);
	/* Protect refuses rights that would make a pointer or the reserved W-only encoding. */
	cr_assert_eq(nw_rv_gstage_protect(&s2, nw_gpa(0x81001000), NW_PAGE_SIZE, W | U, 0), NW_ERR_INVALID);
	cr_assert_eq(nw_rv_gstage_protect(&s2, nw_gpa(0x81001000), NW_PAGE_SIZE, U, 0), NW_ERR_INVALID);
	cr_assert_eq(nw_rv_gstage_protect(&s2, nw_gpa(0x81001000), NW_PAGE_SIZE, R | A, 0), NW_ERR_INVALID);
	nw_rv_gstage_destroy(&s2);
}

Test(riscv_gstage, mxr_from_hs_sstatus_reads_execute_only_pages)
{
	struct nw_rv_gstage s2;
	struct nw_rv_gstage_config config = config_of(NW_RV_HGATP_SV39X4, false);
	struct nw_s2_request implicit = { .gpa = nw_gpa(0x81001008), .type = NW_ACCESS_READ,
					  .paging_structure = true };

	make_with(&s2, &config);
	map(&s2, 0x81001000, 0x40001000, NW_PAGE_SIZE, X | U | A | D);
	expect_fault(&s2, 0x81001008, NW_ACCESS_READ, NW_S2_FAULT_PERMISSION, 1, 21, 0x20400402);
	nw_rv_gstage_destroy(&s2);
	/* HS-level sstatus.MXR: an explicit load may read an execute-only page; a VS-stage PTE read (an
	 * implicit access) still needs R; stores still need W. */
	config.mxr = true;
	make_with(&s2, &config);
	map(&s2, 0x81001000, 0x40001000, NW_PAGE_SIZE, X | U | A | D);
	map(&s2, 0x81002000, 0x40002000, NW_PAGE_SIZE, W | R | U | A | D);
	expect_ok(&s2, 0x81001008, NW_ACCESS_READ, 0x40001008);
	cr_assert_eq(go_req(&s2, implicit).fault, NW_S2_FAULT_PERMISSION);
	expect_fault(&s2, 0x81001008, NW_ACCESS_WRITE, NW_S2_FAULT_PERMISSION, 1, 23, 0x20400402);
	expect_ok(&s2, 0x81002008, NW_ACCESS_READ, 0x40002008);
	/* U=0 still denies the read. */
	edit(&s2, 0x81001000, 1, U, 0);
	expect_fault(&s2, 0x81001008, NW_ACCESS_READ, NW_S2_FAULT_PERMISSION, 1, 21, 0x20400402);
	nw_rv_gstage_destroy(&s2);
}

Test(riscv_gstage, svade_faults_and_svadu_sets_a_and_d)
{
	struct nw_rv_gstage s2;
	struct nw_s2_mapping m;
	struct nw_s2_request look = { .gpa = nw_gpa(0x81001000), .type = NW_ACCESS_WRITE, .lookup_only = true };

	/* Svade (menvcfg.ADUE clear): step 7, A=0 faults for any access, D=0 for a store. */
	make(&s2, NW_RV_HGATP_SV39X4, false);
	map(&s2, 0x81001000, 0x40001000, NW_PAGE_SIZE, RWXU);
	expect_fault(&s2, 0x81001000, NW_ACCESS_READ, NW_S2_FAULT_ACCESS_FLAG, 1, 21, 0x20400400);
	edit(&s2, 0x81001000, 1, 0, A);
	expect_ok(&s2, 0x81001000, NW_ACCESS_READ, 0x40001000);
	expect_fault(&s2, 0x81001000, NW_ACCESS_WRITE, NW_S2_FAULT_ACCESS_FLAG, 1, 23, 0x20400400);
	/* Rights come first (step 5 before step 7): without W and D, a store is a permission fault. */
	cr_assert_eq(nw_rv_gstage_protect(&s2, nw_gpa(0x81001000), NW_PAGE_SIZE, R | U, 0), NW_OK);
	expect_fault(&s2, 0x81001000, NW_ACCESS_WRITE, NW_S2_FAULT_PERMISSION, 1, 23, 0x20400400);
	nw_rv_gstage_destroy(&s2);

	/* Svadu (ADUE set): the walk sets A on a read (PTE 0x1000_0400 | V R W X U = 0x1000041f becomes
	 * 0x1000045f), and D too on a store (0x100004df); a lookup writes nothing. */
	make(&s2, NW_RV_HGATP_SV39X4, true);
	map(&s2, 0x81001000, 0x40001000, NW_PAGE_SIZE, RWXU);
	cr_assert_eq(go_req(&s2, look).status, NW_S2_OK);
	cr_assert_eq(nw_rv_gstage_query(&s2, nw_gpa(0x81001000), &m), NW_OK);
	cr_assert_eq(m.entry, 0x1000041f);
	expect_ok(&s2, 0x81001000, NW_ACCESS_READ, 0x40001000);
	cr_assert_eq(nw_rv_gstage_query(&s2, nw_gpa(0x81001000), &m), NW_OK);
	cr_assert_eq(m.entry, 0x1000045f);
	expect_ok(&s2, 0x81001000, NW_ACCESS_WRITE, 0x40001000);
	cr_assert_eq(nw_rv_gstage_query(&s2, nw_gpa(0x81001000), &m), NW_OK);
	cr_assert_eq(m.entry, 0x100004df);
	/* The pointers above stay without A (D, A, U are reserved in them). */
	cr_assert_eq(go(&s2, 0x81001000, NW_ACCESS_READ).entries[2] & 0x3ff, 0x001);
	nw_rv_gstage_destroy(&s2);
}

Test(riscv_gstage, vs_stage_table_accesses_report_the_original_access)
{
	struct nw_rv_gstage s2;
	struct nw_s2_result res;
	struct nw_rv_trap trap;
	/* A VS-stage walk for a load of GVA 0x4000_1234 reads its PTE at GPA 0x8020_3ff8, which the G-stage
	 * does not map. */
	struct nw_rv_gstage_access a = { .type = NW_ACCESS_READ, .gva = 0x40001234, .gpa = nw_gpa(0x80203ff8),
					 .vs_pte = true };

	make(&s2, NW_RV_HGATP_SV39X4, false);
	res = go_req(&s2, (struct nw_s2_request){ .gpa = nw_gpa(0x80203ff8), .type = NW_ACCESS_READ,
						  .paging_structure = true });
	cr_assert_eq(res.fault, NW_S2_FAULT_TRANSLATION);
	/* scause 21 (the load), stval the GVA, htval 0x80203ff8 >> 2 = 0x2008_0ffe, htinst 0x3000 (a 64-bit
	 * read for VS-stage translation). */
	cr_assert(nw_rv_gstage_fault(&res, &a, &trap));
	cr_assert_eq(trap.scause, 21);
	cr_assert_eq(trap.stval, 0x40001234);
	cr_assert_eq(trap.htval, 0x20080ffe);
	cr_assert_eq(trap.htinst, 0x3000);
	/* The same PTE read for a store: the cause is the original access's, 23. */
	a.type = NW_ACCESS_WRITE;
	cr_assert(nw_rv_gstage_fault(&res, &a, &trap));
	cr_assert_eq(trap.scause, 23);
	cr_assert_eq(trap.htinst, 0x3000);
	/* For a fetch, 20; and a write of the VS-stage PTE's A/D bits is the write pseudoinstruction 0x3020. */
	a.type = NW_ACCESS_FETCH;
	a.vs_pte_write = true;
	cr_assert(nw_rv_gstage_fault(&res, &a, &trap));
	cr_assert_eq(trap.scause, 20);
	cr_assert_eq(trap.htinst, 0x3020);
	/* A translation writes nothing. */
	map(&s2, 0x80203000, 0x40203000, NW_PAGE_SIZE, ALL);
	res = go(&s2, 0x80203ff8, NW_ACCESS_READ);
	trap.scause = 99;
	cr_assert_not(nw_rv_gstage_fault(&res, &a, &trap));
	cr_assert_eq(trap.scause, 99);
	nw_rv_gstage_destroy(&s2);
}

Test(riscv_gstage, a_table_read_that_finds_no_memory_is_an_access_fault)
{
	/* Not strict: a phys_to_virt of nothing returns NULL instead of stopping the test. */
	struct nw_simmem_config config = { .size = UINT64_C(1) << 32, .seed = 1 };
	struct nw_simmem *loose = nw_simmem_create(&config);
	const struct nw_hal *h = nw_simmem_owner(loose, "gstage");
	struct nw_rv_gstage_config c = config_of(NW_RV_HGATP_SV39X4, false);
	struct nw_rv_gstage_access a = { .type = NW_ACCESS_READ, .gva = 0x81001008, .gpa = nw_gpa(0x81001008) };
	struct nw_rv_trap trap;
	struct nw_s2_result res;
	struct nw_rv_gstage s2;
	uint64_t *root, link;

	cr_assert_eq(nw_rv_gstage_create(&s2, h, &c), NW_OK);
	cr_assert_eq(nw_rv_gstage_map(&s2, nw_gpa(0x81001000), nw_hpa(0x40001000), NW_PAGE_SIZE, ALL, 0, 0), NW_OK);
	/* Root entry 2 (GPA bits 40:30 of 0x8100_1000) made to point at 0x2_0000_0000, above the 4 GiB host:
	 * PPN 0x200000 << 10 = 0x8000_0000, | V. Step 2: the PTE access fails its PMA check, an access fault
	 * for the original access at the level read, two references. */
	root = nw_hal_phys_to_virt(h, nw_hpa(s2.pt.root));
	link = root[2];
	root[2] = 0x80000001;
	nw_rv_gstage_translate(&s2, &(struct nw_s2_request){ .gpa = nw_gpa(0x81001008), .type = NW_ACCESS_READ }, &res);
	cr_assert_eq(res.status, NW_S2_VIOLATION);
	cr_assert_eq(res.fault, NW_S2_FAULT_ACCESS);
	cr_assert_eq(res.level, 2);
	cr_assert_eq(res.refs, 2);
	/* scause 5 (load access fault), stval the address; htval and htinst 0 (not a guest-page fault). */
	cr_assert(nw_rv_gstage_fault(&res, &a, &trap));
	cr_assert_eq(trap.scause, 5);
	cr_assert_eq(trap.stval, 0x81001008);
	cr_assert_eq(trap.htval, 0);
	cr_assert_eq(trap.htinst, 0);
	/* The same for the VS-stage walk's PTE read on behalf of a store: 7, and still no pseudoinstruction. */
	a.type = NW_ACCESS_WRITE;
	a.vs_pte = true;
	cr_assert(nw_rv_gstage_fault(&res, &a, &trap));
	cr_assert_eq(trap.scause, 7);
	cr_assert_eq(trap.htinst, 0);
	a.type = NW_ACCESS_FETCH;
	cr_assert(nw_rv_gstage_fault(&res, &a, &trap));
	cr_assert_eq(trap.scause, 1);
	root[2] = link;
	nw_rv_gstage_destroy(&s2);
	cr_assert_eq(nw_simmem_destroy(loose), 0);
}

Test(riscv_gstage, pbmt_and_napot_are_reserved_without_their_extensions)
{
	struct nw_rv_gstage s2;
	struct nw_rv_gstage_config config = config_of(NW_RV_HGATP_SV39X4, false);
	struct nw_s2_result res;
	const uint64_t pbmt_nc = (uint64_t)NW_RV_PBMT_NC << NW_RV_PTE_PBMT_SHIFT;

	config.caps.svnapot = false;
	make_with(&s2, &config);
	map(&s2, 0x81001000, 0x40001000, NW_PAGE_SIZE, ALL);
	/* Without menvcfg.PBMTE bits 62:61 are reserved, without Svnapot bit 63. */
	cr_assert_eq(nw_rv_gstage_map(&s2, nw_gpa(0x81002000), nw_hpa(0x40002000), NW_PAGE_SIZE, ALL | pbmt_nc, 0, 0),
		     NW_ERR_INVALID);
	edit(&s2, 0x81001000, 1, 0, pbmt_nc);
	expect_fault(&s2, 0x81001000, NW_ACCESS_READ, NW_S2_FAULT_MISCONFIG, 1, 21, 0x20400400);
	edit(&s2, 0x81001000, 1, pbmt_nc, NW_RV_PTE_N);
	expect_fault(&s2, 0x81001000, NW_ACCESS_READ, NW_S2_FAULT_MISCONFIG, 1, 21, 0x20400400);
	nw_rv_gstage_destroy(&s2);

	/* With PBMTE: PBMT 1 (NC) is the leaf's memory type, 3 is reserved, and in a pointer PBMT is reserved. */
	config = config_of(NW_RV_HGATP_SV39X4, false);
	config.pbmte = true;
	make_with(&s2, &config);
	map(&s2, 0x81001000, 0x40001000, NW_PAGE_SIZE, ALL | pbmt_nc);
	res = go(&s2, 0x81001000, NW_ACCESS_READ);
	cr_assert_eq(res.status, NW_S2_OK);
	cr_assert_eq(res.memory_type, NW_RV_PBMT_NC);
	cr_assert_eq(nw_rv_gstage_map(&s2, nw_gpa(0x81002000), nw_hpa(0x40002000), NW_PAGE_SIZE,
				      ALL | NW_RV_PTE_PBMT_MASK, 0, 0),
		     NW_ERR_INVALID);
	edit(&s2, 0x81001000, 1, 0, NW_RV_PTE_PBMT_MASK);
	expect_fault(&s2, 0x81001000, NW_ACCESS_READ, NW_S2_FAULT_MISCONFIG, 1, 21, 0x20400400);
	edit(&s2, 0x81001000, 1, NW_RV_PTE_PBMT_MASK, 0);
	edit(&s2, 0x81001000, 2, 0, pbmt_nc);
	expect_fault(&s2, 0x81001000, NW_ACCESS_READ, NW_S2_FAULT_MISCONFIG, 2, 21, 0x20400400);
	nw_rv_gstage_destroy(&s2);
}

Test(riscv_gstage, svnapot_64_kib_pages)
{
	struct nw_rv_gstage s2;
	struct nw_s2_result res;

	make(&s2, NW_RV_HGATP_SV39X4, false);
	/* A NAPOT leaf for the 64 KiB at HPA 0x4001_0000: PPN 0x40010 with ppn[0][3:0] = 0b1000, 0x40018, and
	 * N. GPA 0x8101_a123 (vpn[0][3:0] = 0xa) then maps to 0x4001_0000 + 0xa123 = 0x4001_a123. */
	map(&s2, 0x8101a000, 0x40018000, NW_PAGE_SIZE, ALL);
	edit(&s2, 0x8101a000, 1, 0, NW_RV_PTE_N);
	res = go(&s2, 0x8101a123, NW_ACCESS_READ);
	cr_assert_eq(res.status, NW_S2_OK);
	cr_assert_eq(res.hpa.val, 0x4001a123);
	cr_assert_eq(res.page_size, 0x10000);
	/* ppn[0][3:0] = 0b0100 (HPA 0x4001_4000) is a reserved N encoding. */
	map(&s2, 0x81014000, 0x40014000, NW_PAGE_SIZE, ALL);
	edit(&s2, 0x81014000, 1, 0, NW_RV_PTE_N);
	expect_fault(&s2, 0x81014000, NW_ACCESS_READ, NW_S2_FAULT_MISCONFIG, 1, 21, 0x20405000);
	/* N in a 2 MiB leaf (level 1) is reserved. */
	map(&s2, 0x80200000, 0x40200000, NW_SIZE_2M, ALL);
	edit(&s2, 0x80200000, 2, 0, NW_RV_PTE_N);
	expect_fault(&s2, 0x80200000, NW_ACCESS_READ, NW_S2_FAULT_MISCONFIG, 2, 21, 0x20080000);
	nw_rv_gstage_destroy(&s2);
}

Test(riscv_gstage, a_split_superpage_keeps_its_rights)
{
	struct nw_rv_gstage s2;
	struct nw_s2_mapping m;

	make(&s2, NW_RV_HGATP_SV39X4, false);
	/* A 2 MiB leaf, read-execute: its rights are its leaf bits, which the engine must keep in the 512
	 * PTEs a split makes (PPN 0x40201 << 10 = 0x1008_0400, | V R X U A = 0x5b). */
	map(&s2, 0x80200000, 0x40200000, NW_SIZE_2M, R | X | U | A);
	cr_assert_eq(nw_rv_gstage_map(&s2, nw_gpa(0x80200000), nw_hpa(0x50000000), NW_PAGE_SIZE, ALL,
				      NW_PT_MAP_REPLACE, 0),
		     NW_OK);
	cr_assert_eq(nw_rv_gstage_query(&s2, nw_gpa(0x80201000), &m), NW_OK);
	cr_assert_eq(m.size, NW_PAGE_SIZE);
	cr_assert_eq(m.entry, 0x1008045b);
	expect_ok(&s2, 0x80201008, NW_ACCESS_FETCH, 0x40201008);
	expect_fault(&s2, 0x80201008, NW_ACCESS_WRITE, NW_S2_FAULT_PERMISSION, 1, 23, 0x20080402);
	expect_ok(&s2, 0x80200008, NW_ACCESS_WRITE, 0x50000008);
	/* Unmapping the middle of the next 2 MiB leaf splits it the same way. */
	map(&s2, 0x80400000, 0x40400000, NW_SIZE_2M, R | U | A);
	cr_assert_eq(nw_rv_gstage_unmap(&s2, nw_gpa(0x80500000), NW_PAGE_SIZE, 0), NW_OK);
	expect_ok(&s2, 0x804ff000, NW_ACCESS_READ, 0x404ff000);
	expect_fault(&s2, 0x80500000, NW_ACCESS_READ, NW_S2_FAULT_TRANSLATION, 1, 21, 0x20140000);
	nw_rv_gstage_destroy(&s2);
}

Test(riscv_gstage, builder_refuses_what_the_format_cannot_hold)
{
	struct nw_rv_gstage s2;
	struct nw_rv_gstage_config config = config_of(NW_RV_HGATP_SV39X4, true);
	struct nw_hal_ops no_runs = *hal->ops;
	struct nw_hal plain = *hal;

	make(&s2, NW_RV_HGATP_SV39X4, false);
	/* W without R, no R or X (a pointer), V and N (the engine's and Svnapot's), a size no level maps. */
	cr_assert_eq(nw_rv_gstage_map(&s2, nw_gpa(0x1000), nw_hpa(0x1000), NW_PAGE_SIZE, W | U, 0, 0), NW_ERR_INVALID);
	cr_assert_eq(nw_rv_gstage_map(&s2, nw_gpa(0x1000), nw_hpa(0x1000), NW_PAGE_SIZE, U | A, 0, 0), NW_ERR_INVALID);
	cr_assert_eq(nw_rv_gstage_map(&s2, nw_gpa(0x1000), nw_hpa(0x1000), NW_PAGE_SIZE, ALL | V, 0, 0),
		     NW_ERR_INVALID);
	cr_assert_eq(nw_rv_gstage_map(&s2, nw_gpa(0x1000), nw_hpa(0x1000), NW_PAGE_SIZE, ALL | NW_RV_PTE_N, 0, 0),
		     NW_ERR_INVALID);
	cr_assert_eq(nw_rv_gstage_map(&s2, nw_gpa(0x10000), nw_hpa(0x10000), 0x10000, ALL, 0, 0), NW_ERR_INVALID);
	/* Sv39x4 has no 512 GiB level. */
	cr_assert_eq(nw_rv_gstage_map(&s2, nw_gpa(0), nw_hpa(0), UINT64_C(1) << 39, ALL, 0, 0), NW_ERR_INVALID);
	/* Physical addresses stop at 2^56 (a 44-bit PPN); GPAs at 2^41. */
	cr_assert_eq(nw_rv_gstage_map(&s2, nw_gpa(0x1000), nw_hpa(UINT64_C(1) << 56), NW_PAGE_SIZE, ALL, 0, 0),
		     NW_ERR_RANGE);
	cr_assert_eq(nw_rv_gstage_map(&s2, nw_gpa(UINT64_C(1) << 41), nw_hpa(0x1000), NW_PAGE_SIZE, ALL, 0, 0),
		     NW_ERR_RANGE);
	map(&s2, 0x1000, (UINT64_C(1) << 56) - NW_PAGE_SIZE, NW_PAGE_SIZE, ALL);
	expect_ok(&s2, 0x1ff8, NW_ACCESS_READ, (UINT64_C(1) << 56) - 8);
	nw_rv_gstage_destroy(&s2);

	/* ADUE or PBMTE without the extension, a mode the caps lack or Bare, a HAL without runs of frames. */
	config.caps.svadu = false;
	cr_assert_eq(nw_rv_gstage_create(&s2, hal, &config), NW_ERR_UNSUPPORTED);
	config = config_of(NW_RV_HGATP_SV39X4, false);
	config.pbmte = true;
	config.caps.svpbmt = false;
	cr_assert_eq(nw_rv_gstage_create(&s2, hal, &config), NW_ERR_UNSUPPORTED);
	config = config_of(NW_RV_HGATP_SV48X4, false);
	config.caps.sv48x4 = false;
	cr_assert_eq(nw_rv_gstage_create(&s2, hal, &config), NW_ERR_UNSUPPORTED);
	config = config_of(NW_RV_HGATP_BARE, false);
	cr_assert_eq(nw_rv_gstage_create(&s2, hal, &config), NW_ERR_INVALID);
	no_runs.alloc_frames = NULL;
	plain.ops = &no_runs;
	config = config_of(NW_RV_HGATP_SV39X4, false);
	cr_assert_eq(nw_rv_gstage_create(&s2, &plain, &config), NW_ERR_UNSUPPORTED);
}

Test(riscv_gstage, fast_path_agrees_with_the_translate)
{
	static const uint64_t touch[] = { V, R, W, X, U, A, D, NW_RV_PTE_G, UINT64_C(1) << 54, UINT64_C(1) << 61,
					  NW_RV_PTE_N, UINT64_C(1) << 10, UINT64_C(1) << 13 };
	const unsigned ntouch = sizeof(touch) / sizeof(touch[0]);
	uint64_t state = 0x9e3779b97f4a7c15;
	unsigned answered = 0, declined = 0;

	for (int variant = 0; variant < 4; variant++) {
		struct nw_rv_gstage s2;
		struct nw_rv_gstage_config config = config_of(variant & 2 ? NW_RV_HGATP_SV48X4 : NW_RV_HGATP_SV39X4,
							      variant & 1);
		struct nw_stage2 st = { .kind = NW_STAGE2_RISCV };
		struct nw_hal_window window = nw_simmem_window(sim);
		struct nw_s2_fast fast;

		config.pbmte = variant == 3;
		make_with(&s2, &config);
		st.riscv = &s2;
		map(&s2, 0x81001000, 0x40001000, NW_PAGE_SIZE, ALL);
		map(&s2, 0x81002000, 0x40002000, NW_PAGE_SIZE, R | U | A);
		map(&s2, 0x81003000, 0x40003000, NW_PAGE_SIZE, X | U | A | D);
		map(&s2, 0x80200000, 0x40200000, NW_SIZE_2M, ALL);
		map(&s2, 0xc0000000, 0x80000000, NW_SIZE_1G, RWXU);
		map(&s2, UINT64_C(0x1fffffff000), 0x40004000, NW_PAGE_SIZE, ALL);
		nw_s2_fast_derive(&st, &window, &fast);
		cr_assert_eq(fast.top, variant & 2 ? 4 : 3);
		for (int round = 0; round < 3000; round++) {
			static const uint64_t gpas[] = { 0x81001008, 0x81002010, 0x81003018, 0x80212345,
							 0xc0000010, UINT64_C(0x1fffffff123), 0x82000000 };
			uint64_t gpa = gpas[s2_next(&state) % 7];
			unsigned type = (unsigned)(s2_next(&state) % 3);
			bool lookup = s2_next(&state) & 1;
			struct nw_s2_request req = { .gpa = nw_gpa(gpa), .type = (enum nw_access_type)type,
						     .lookup_only = lookup };
			struct nw_s2_result res;
			struct nw_s2_hit hit;
			int level = 1 + (int)(s2_next(&state) % 3);
			uint64_t bit = touch[s2_next(&state) % ntouch];
			bool flipped, fast_ok;

			/* Flip one bit of one entry on the path in half the rounds, undone after the round; the engine
			 * refuses the edits that would reshape the tree (a pointer made a leaf, a table address). */
			flipped = (s2_next(&state) & 1) && s2_flip(&s2.pt, gpa, level, bit);
			/* The fast path first: it writes nothing, the translate may set A/D. */
			fast_ok = nw_s2_fast_translate(&fast, gpa, type | (lookup ? 0 : NW_S2_NEED_SET_AD), &hit);
			nw_rv_gstage_translate(&s2, &req, &res);
			answered += fast_ok;
			declined += !fast_ok;
			if (fast_ok)
				s2_expect_same(&fast, &hit, &res, gpa);
			if (flipped)
				cr_assert(s2_flip(&s2.pt, gpa, level, bit));
		}
		nw_rv_gstage_destroy(&s2);
	}
	/* Both sides seen: the sample is not one that the fast path always declines. */
	cr_assert_gt(answered, 100);
	cr_assert_gt(declined, 100);
}
