/* 32-bit paging (with PSE and PSE-36) and PAE paging (with the PDPTE registers
 * and their #GP at MOV CR3), expected values derived by hand from SDM Vol. 3A
 * §4.3, §4.4 and §4.7. Every walk runs through both walkers. Single walks are
 * cases of tests/cases/x86_paging.cases (test_cases.c). */
#include <nestwalk/walk.h>

#include "test_walk_util.h"

TestSuite(walk_modes, .init = tw_setup, .fini = tw_teardown);

#define GVA32 UINT64_C(0x12345abc) /* PD index 0x48, PT index 0x345 */
#define GVAPAE UINT64_C(0xc0345abc) /* PDPTE 3, PD index 1, PT index 0x145 */
#define RWU (NW_PTE_P | NW_PTE_RW | NW_PTE_US)

static uint64_t pd, pt, pdpt;

/* 32-bit: CR3 -> PD -> PT -> page 0x00777000. */
static void map32(uint64_t pde_flags, uint64_t pte_flags)
{
	pd = tw_frame();
	pt = tw_frame();
	nw_cpu_set_mode(&tw.cpu, NW_PAGING_32);
	tw.cpu.cr3 = pd;
	tw_set(pd, 0x48, pt | pde_flags, 4);
	tw_set(pt, 0x345, UINT64_C(0x00777000) | pte_flags, 4);
}

static struct nw_walk_result run(uint64_t gva, enum nw_access_type type, unsigned cpl)
{
	struct nw_access access = tw_access(gva, type);
	struct nw_walk_result res;

	tw.cpu.cpl = cpl;
	tw_walk(&access, 0, &res);
	return res;
}

Test(walk_modes, paging32_4k)
{
	struct nw_walk_result res;

	map32(RWU, RWU);
	res = run(GVA32, NW_ACCESS_WRITE, 3);
	cr_assert_eq(res.outcome, NW_OUTCOME_OK);
	cr_assert_eq(res.gpa.val, 0x00777abc);
	cr_assert_eq(res.refs, 2);
	cr_assert_eq(tw_read(pd + 0x48 * 4, 4), pt | RWU | NW_PTE_A, "A on the PDE, no D");
	cr_assert_eq(tw_read(pt + 0x345 * 4, 4), 0x00777000 | RWU | NW_PTE_A | NW_PTE_D, "A and D on the PTE");
	cr_assert_eq(res.ad_writes, 2);
}

Test(walk_modes, paging32_4m_page_with_pse)
{
	struct nw_walk_result res;

	map32(RWU, RWU);
	tw.cpu.cr4 |= NW_CR4_PSE;
	tw_set(pd, 0x48, UINT64_C(0x40000000) | RWU | NW_PTE_PS, 4);
	res = run(GVA32, NW_ACCESS_READ, 0);
	cr_assert_eq(res.outcome, NW_OUTCOME_OK);
	cr_assert_eq(res.gpa.val, 0x40345abc);
	cr_assert_eq(res.guest_page_size, NW_SIZE_4M);
	cr_assert_eq(res.leaf_level, 2);
	cr_assert_eq(res.refs, 1);
}

Test(walk_modes, paging32_ps_ignored_without_pse)
{
	struct nw_walk_result res;

	map32(RWU | NW_PTE_PS, RWU);
	res = run(GVA32, NW_ACCESS_READ, 0);
	cr_assert_eq(res.outcome, NW_OUTCOME_OK);
	cr_assert_eq(res.gpa.val, 0x00777abc, "CR4.PSE=0: the PDE points to a page table");
	cr_assert_eq(res.refs, 2);
}

Test(walk_modes, paging32_pse36_high_address_bits)
{
	struct nw_walk_result res;

	map32(RWU, RWU);
	tw.cpu.cr4 |= NW_CR4_PSE;
	tw.cpu.maxphyaddr = 40;
	/* Bits 20:13 carry physical-address bits 39:32 (Table 4-4). */
	tw_set(pd, 0x48, UINT64_C(0x40000000) | (UINT64_C(0x92) << 13) | RWU | NW_PTE_PS, 4);
	res = run(GVA32, NW_ACCESS_READ, 0);
	cr_assert_eq(res.outcome, NW_OUTCOME_OK);
	cr_assert_eq(res.gpa.val, UINT64_C(0x9240345abc));
	/* MAXPHYADDR 36: bits 21:17 are reserved, bits 16:13 still address bits 35:32. */
	tw.cpu.maxphyaddr = 36;
	res = run(GVA32, NW_ACCESS_READ, 0);
	cr_assert_eq(res.error_code, 0x9, "bit 17 (address bit 36) reserved at MAXPHYADDR 36, got %#x",
		     res.error_code);
	tw_set(pd, 0x48, UINT64_C(0x40000000) | (UINT64_C(0x9) << 13) | RWU | NW_PTE_PS, 4);
	res = run(GVA32, NW_ACCESS_READ, 0);
	cr_assert_eq(res.gpa.val, UINT64_C(0x940345abc));
}

Test(walk_modes, paging32_fetch_fault_has_no_id_even_with_nxe)
{
	struct nw_walk_result res;

	map32(RWU, RWU & ~NW_PTE_P);
	tw.cpu.efer |= NW_EFER_NXE;
	res = run(GVA32, NW_ACCESS_FETCH, 0);
	cr_assert_eq(res.error_code, 0x0, "I/D needs CR4.PAE=1 with NXE, or SMEP; got %#x", res.error_code);
	tw.cpu.cr4 |= NW_CR4_SMEP;
	res = run(GVA32, NW_ACCESS_FETCH, 0);
	cr_assert_eq(res.error_code, 0x10);
}

/* PAE: the PDPT sits at offset 0x20 of its frame (CR3 bits 31:5). */
static void map_pae(uint64_t pdpte, uint64_t pde_flags, uint64_t pte_flags, struct nw_walk_result *load)
{
	uint64_t frame = tw_frame();

	pd = tw_frame();
	pt = tw_frame();
	pdpt = frame + 0x20;
	nw_cpu_set_mode(&tw.cpu, NW_PAGING_PAE);
	tw_set(pdpt, 3, pdpte == 0 ? pd | NW_PTE_P : pdpte, 8);
	tw_set(pd, 1, pt | pde_flags, 8);
	tw_set(pt, 0x145, UINT64_C(0x0000000abcdef000) | pte_flags, 8);
	nw_cpu_load_cr3(&tw.config, &tw.cpu, pdpt, load);
}

Test(walk_modes, pae_walk_uses_pdpte_registers)
{
	struct nw_walk_result load, res;

	map_pae(0, RWU, RWU, &load);
	cr_assert_eq(load.outcome, NW_OUTCOME_OK);
	cr_assert(tw.cpu.pdptes_loaded);
	cr_assert_eq(tw.cpu.pdpte[3], pd | NW_PTE_P);
	cr_assert_eq(load.refs, 4, "MOV CR3 reads the four PDPTEs");
	res = run(GVAPAE, NW_ACCESS_READ, 3);
	cr_assert_eq(res.outcome, NW_OUTCOME_OK);
	cr_assert_eq(res.gpa.val, UINT64_C(0xabcdefabc));
	cr_assert_eq(res.refs, 2, "the PDPTE comes from a register");
	/* Editing the PDPT in memory changes nothing until the next MOV CR3. */
	tw_set(pdpt, 3, 0, 8);
	res = run(GVAPAE, NW_ACCESS_READ, 3);
	cr_assert_eq(res.outcome, NW_OUTCOME_OK);
	nw_cpu_load_cr3(&tw.config, &tw.cpu, pdpt, &load);
	res = run(GVAPAE, NW_ACCESS_READ, 3);
	cr_assert_eq(res.error_code, 0x4, "not-present PDPTE: #PF with P=0");
	cr_assert_eq(res.fault_level, 3);
}

Test(walk_modes, pae_pdpte_reserved_bits_raise_gp_at_cr3_load)
{
	static const uint64_t bad[] = { NW_PTE_RW, NW_PTE_US, NW_PTE_A, NW_PTE_D, NW_PTE_PS, UINT64_C(1) << 8,
					NW_PTE_XD, UINT64_C(1) << 46 };
	struct nw_walk_result load;

	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		tw.cpu.cr3 = 0;
		map_pae(0, RWU, RWU, &load);
		tw_set(pdpt, 3, pd | NW_PTE_P | bad[i], 8);
		nw_cpu_load_cr3(&tw.config, &tw.cpu, pdpt | 0x18, &load);
		cr_assert_eq(load.outcome, NW_OUTCOME_GP, "PDPTE bit %#llx", (unsigned long long)bad[i]);
		cr_assert_eq(load.gp_reason, NW_GP_PDPTE_RSVD);
		cr_assert_neq(tw.cpu.cr3, pdpt | 0x18, "CR3 unchanged by a failed load");
	}
	/* The same bits in a non-present PDPTE are ignored. */
	tw_set(pdpt, 3, NW_PTE_RW | NW_PTE_XD, 8);
	nw_cpu_load_cr3(&tw.config, &tw.cpu, pdpt, &load);
	cr_assert_eq(load.outcome, NW_OUTCOME_OK);
}

Test(walk_modes, pae_nx_fetch_reports_id)
{
	struct nw_walk_result load, res;

	map_pae(0, RWU, RWU | NW_PTE_XD, &load);
	tw.cpu.efer |= NW_EFER_NXE;
	res = run(GVAPAE, NW_ACCESS_FETCH, 3);
	cr_assert_eq(res.error_code, 0x15, "P|U|I/D, got %#x", res.error_code);
	tw.cpu.efer &= ~NW_EFER_NXE;
	res = run(GVAPAE, NW_ACCESS_FETCH, 3);
	cr_assert_eq(res.error_code, 0xd, "XD reserved without NXE; no I/D: got %#x", res.error_code);
}

Test(walk_modes, pae_2m_page_and_its_reserved_bits)
{
	struct nw_walk_result load, res;

	map_pae(0, RWU, RWU, &load);
	tw_set(pd, 1, UINT64_C(0x80000000) | RWU | NW_PTE_PS, 8);
	res = run(GVAPAE, NW_ACCESS_READ, 0);
	cr_assert_eq(res.gpa.val, UINT64_C(0x80145abc));
	cr_assert_eq(res.guest_page_size, NW_SIZE_2M);
	tw_set(pd, 1, UINT64_C(0x80000000) | RWU | NW_PTE_PS | (UINT64_C(1) << 13), 8);
	res = run(GVAPAE, NW_ACCESS_READ, 0);
	cr_assert_eq(res.error_code, 0x9);
}

Test(walk_modes, pae_has_no_protection_keys)
{
	struct nw_walk_result load, res;

	map_pae(0, RWU, RWU, &load);
	tw.cpu.cr4 |= NW_CR4_PKE;
	tw.cpu.pkru = 0xffffffff;
	res = run(GVAPAE, NW_ACCESS_WRITE, 3);
	cr_assert_eq(res.outcome, NW_OUTCOME_OK, "protection keys need IA-32e paging");
}

Test(walk_modes, linear_address_is_32_bits_outside_long_mode)
{
	struct nw_walk_result res;

	map32(RWU, RWU);
	res = run(UINT64_C(0xffff000000000000) | GVA32, NW_ACCESS_READ, 0);
	cr_assert_eq(res.outcome, NW_OUTCOME_OK);
	cr_assert_eq(res.gpa.val, 0x00777abc);
}

/* Linear addresses are 32 bits outside IA-32e mode (SDM Vol. 3A §4.1, §4.3, §4.4): with paging off, 32-bit and
 * PAE paging an access is refused when its first or last byte lies at or above 4 GiB; 4- and 5-level paging
 * take any 64-bit address (canonicality is the walk's #GP). */
Test(walk_modes, linear_addresses_are_32_bits_outside_ia32e_mode)
{
	static const enum nw_paging_mode narrow[] = { NW_PAGING_OFF, NW_PAGING_32, NW_PAGING_PAE };
	struct nw_access top = { .gva = nw_gva(UINT64_C(0xfffffffc)), .size = 4 };     /* last byte 0xffffffff */
	struct nw_access past = { .gva = nw_gva(UINT64_C(0xfffffffe)), .size = 4 };    /* last byte 0x100000001 */
	struct nw_access above = { .gva = nw_gva(UINT64_C(0x100400000)), .size = 1 };
	struct nw_access empty = { .gva = nw_gva(UINT64_C(0xffffffff)), .size = 0 };   /* size 0 counts as 1 */

	for (unsigned i = 0; i < sizeof(narrow) / sizeof(narrow[0]); i++) {
		cr_assert(nw_access_is_linear(narrow[i], &top), "mode %d", narrow[i]);
		cr_assert(nw_access_is_linear(narrow[i], &empty), "mode %d", narrow[i]);
		cr_assert_not(nw_access_is_linear(narrow[i], &past), "mode %d", narrow[i]);
		cr_assert_not(nw_access_is_linear(narrow[i], &above), "mode %d", narrow[i]);
	}
	cr_assert(nw_access_is_linear(NW_PAGING_4LEVEL, &past));
	cr_assert(nw_access_is_linear(NW_PAGING_4LEVEL, &above));
	cr_assert(nw_access_is_linear(NW_PAGING_5LEVEL, &above));
}
