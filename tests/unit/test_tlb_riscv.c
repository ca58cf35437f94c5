/* The RISC-V TLB model against the privileged spec's fences ("Supervisor Memory-Management Fence Instruction"
 * for SFENCE.VMA's operands, "Hypervisor Memory-Management Fence Instructions" for V=1 and the HFENCEs): each
 * case fills one fixed population of entries with known tags, runs one fence, and checks by hand which entries
 * must survive, the spec's words beside it. The hart here has ASIDLEN 9 and VMIDLEN 7. */
#include <nestwalk/tlb_riscv.h>

#include "fixture.h"

#define K4 UINT64_C(0x1000)
#define M2 UINT64_C(0x200000)
#define GVA UINT64_C(0x400000)   /* the guest virtual address most entries translate */
#define GVA2 UINT64_C(0x800000)  /* another page */
#define GPA UINT64_C(0x80000000) /* the guest physical address GVA maps to */
#define GPA2 UINT64_C(0x80200000)
#define GPA3 UINT64_C(0x90000000)

static struct nw_ttlb_entry store[32];
static struct nw_rvtlb tlb;

static void tlb_setup(void)
{
	fixture_setup();
	cr_assert_eq(nw_rvtlb_init(&tlb, store, sizeof(store), 9, 7), NW_OK);
}

TestSuite(tlb_riscv, .init = tlb_setup, .fini = fixture_teardown);

/* The population, one bit each; made under Sv39. */
enum {
	A_VSG5 = 1 << 0,        /* combined, GVA -> GPA, ASID 5, VMID 1 */
	B_VSG6 = 1 << 1,        /* combined, GVA -> GPA, ASID 6, VMID 1 */
	C_GLOBAL = 1 << 2,      /* combined, GVA -> GPA, global (G=1), VMID 1 */
	D_OTHER_GVA = 1 << 3,   /* combined, GVA2 -> GPA2, ASID 5, VMID 1 */
	E_VS = 1 << 4,          /* VS-stage only, GVA -> GPA, ASID 5, VMID 1 */
	F_G = 1 << 5,           /* G-stage only, GPA, VMID 1 */
	G_G_2M = 1 << 6,        /* G-stage only, a 2 MiB superpage at GPA2, VMID 1 */
	H_VMID2 = 1 << 7,       /* combined, GVA -> GPA, ASID 5, VMID 2 */
	I_G_VMID2 = 1 << 8,     /* G-stage only, GPA, VMID 2 */
	J_VS_GLOBAL = 1 << 9,   /* VS-stage only, GVA2 -> GPA2, global, VMID 1 */
	K_GVA_IS_GPA = 1 << 10, /* combined, at a GVA equal to GPA, through GPA3, ASID 5, VMID 1 */
	L_VS_VMID2 = 1 << 11,   /* VS-stage only, GVA -> GPA, ASID 5, VMID 2 */
	ALL = (1 << 12) - 1,
};

struct fill_spec {
	enum nw_rvtlb_kind kind;
	uint16_t vmid, asid;
	uint64_t addr, size, gpa;
	bool global;
};

static const struct fill_spec population[] = {
	{ NW_RVTLB_VSG, 1, 5, GVA, K4, GPA, false },  { NW_RVTLB_VSG, 1, 6, GVA, K4, GPA, false },
	{ NW_RVTLB_VSG, 1, 5, GVA, K4, GPA, true },   { NW_RVTLB_VSG, 1, 5, GVA2, K4, GPA2, false },
	{ NW_RVTLB_VS, 1, 5, GVA, K4, 0, false },     { NW_RVTLB_G, 1, 0, GPA, K4, 0, false },
	{ NW_RVTLB_G, 1, 0, GPA2, M2, 0, false },     { NW_RVTLB_VSG, 2, 5, GVA, K4, GPA, false },
	{ NW_RVTLB_G, 2, 0, GPA, K4, 0, false },      { NW_RVTLB_VS, 1, 5, GVA2, K4, 0, true },
	{ NW_RVTLB_VSG, 1, 5, GPA, K4, GPA3, false }, { NW_RVTLB_VS, 2, 5, GVA, K4, 0, false },
};

#define POPULATION (sizeof(population) / sizeof(population[0]))

static void put(const struct fill_spec *f)
{
	struct nw_rvtlb_fill fill = { f->kind, f->addr, 0x40000000 + f->addr, f->size, f->gpa, 0, f->global, 0 };

	nw_rvtlb_load(&tlb, f->vmid, f->asid, 39);
	nw_rvtlb_insert(&tlb, &fill);
}

/* Whether the entry f describes is still there, by its own tags. */
static bool alive(const struct fill_spec *f)
{
	for (unsigned i = 0; i < tlb.core.count; i++) {
		const struct nw_ttlb_entry *e = &tlb.core.entries[i];

		if (e->stamp && e->kind == f->kind && e->vmid == f->vmid && e->global == f->global &&
		    e->addr == f->addr && e->size == f->size && e->mid == f->gpa &&
		    (f->global || f->kind == NW_RVTLB_G || e->asid == f->asid))
			return true;
	}
	return false;
}

static unsigned survivors(void)
{
	unsigned mask = 0;

	for (unsigned i = 0; i < POPULATION; i++)
		mask |= alive(&population[i]) ? 1u << i : 0;
	return mask;
}

static void populate(void)
{
	cr_assert_eq(nw_rvtlb_init(&tlb, store, sizeof(store), 9, 7), NW_OK);
	for (unsigned i = 0; i < POPULATION; i++)
		put(&population[i]);
	cr_assert_eq(survivors(), ALL, "the population fits");
	nw_rvtlb_load(&tlb, 1, 5, 39);
}

static void check_fence(struct nw_rvfence f, unsigned expect_survivors)
{
	populate();
	cr_assert_eq(nw_rvtlb_fence(&tlb, &f), NW_OK, "%s refused: %s", nw_rvfence_name(f.op),
		     nw_rvfence_refusal(&tlb, &f));
	cr_assert_eq(survivors(), expect_survivors, "%s: survivors 0x%x, expected 0x%x", nw_rvfence_name(f.op),
		     survivors(), expect_survivors);
}

/* SFENCE.VMA executed in VS-mode and HFENCE.VVMA ("much the same as temporarily entering VS-mode and executing
 * SFENCE.VMA") take the same operands and have the same scope: each VS-stage case runs both. */
static void check_vs_fence(bool rs1_x0, uint64_t rs1, bool rs2_x0, uint64_t rs2, unsigned expect_survivors)
{
	check_fence((struct nw_rvfence){ NW_RVFENCE_SFENCE_VMA, rs1_x0, rs2_x0, rs1, rs2 }, expect_survivors);
	check_fence((struct nw_rvfence){ NW_RVFENCE_HFENCE_VVMA, rs1_x0, rs2_x0, rs1, rs2 }, expect_survivors);
}

static void check_gvma(bool rs1_x0, uint64_t gpa, bool rs2_x0, uint64_t vmid, unsigned expect_survivors)
{
	check_fence((struct nw_rvfence){ NW_RVFENCE_HFENCE_GVMA, rs1_x0, rs2_x0, gpa >> 2, vmid }, expect_survivors);
}

#define G_STAGE_ONLY (F_G | G_G_2M | I_G_VMID2)

Test(tlb_riscv, vs_fence_x0_x0_drops_every_vs_stage_translation_of_the_current_vmid)
{
	/* rs1=x0, rs2=x0: "orders all reads and writes made to any level of the page tables, for all address
	 * spaces", for the VS stage of the current VMID only (hgatp.VMID 1): A-E, J, K go, global or not. The
	 * G-stage-only F, G, I are no VS-stage translation; H and L are VMID 2's. */
	check_vs_fence(true, 0, true, 0, G_STAGE_ONLY | H_VMID2 | L_VS_VMID2);
}

Test(tlb_riscv, vs_fence_by_address_drops_every_asid_and_global_entries)
{
	/* rs1≠x0, rs2=x0: "only ... the leaf page table entry corresponding to the virtual address in rs1, for all
	 * address spaces": GVA's A, B (ASID 6), C (global) and E (VS-stage only) go; the offset 0x123 within the page
	 * selects the same leaf. D and J are GVA2's, K another GVA. */
	check_vs_fence(false, GVA + 0x123, true, 0,
		       D_OTHER_GVA | J_VS_GLOBAL | K_GVA_IS_GPA | G_STAGE_ONLY | H_VMID2 | L_VS_VMID2);
}

Test(tlb_riscv, vs_fence_by_asid_leaves_global_entries)
{
	/* rs1=x0, rs2≠x0: "only for the address space identified by integer register rs2. Accesses to global
	 * mappings are not ordered": ASID 5's non-global A, D, E, K go; global C and J stay, B is ASID 6's. */
	check_vs_fence(true, 0, false, 5, B_VSG6 | C_GLOBAL | J_VS_GLOBAL | G_STAGE_ONLY | H_VMID2 | L_VS_VMID2);
}

Test(tlb_riscv, vs_fence_by_address_and_asid_leaves_global_entries)
{
	/* rs1≠x0, rs2≠x0: the leaf for GVA "for the single address space identified by integer register rs2.
	 * Accesses to global mappings are not ordered": A and E go; C (global at GVA) stays, unlike AArch64's
	 * VAE1. */
	check_vs_fence(false, GVA, false, 5,
		       B_VSG6 | C_GLOBAL | D_OTHER_GVA | J_VS_GLOBAL | K_GVA_IS_GPA | G_STAGE_ONLY | H_VMID2 |
			       L_VS_VMID2);
}

Test(tlb_riscv, vs_fence_by_a_register_holding_asid_0_is_not_x0)
{
	/* rs2 a register holding 0 names ASID 0 (x0 would name every ASID): no entry is ASID 0's, and the global C and J
	 * are not ordered by an rs2≠x0 fence, so everything stays. */
	check_vs_fence(true, 0, false, 0, ALL);
}

Test(tlb_riscv, vs_fence_ignores_asid_bits_above_asidlen)
{
	/* "if ASIDLEN < ASIDMAX, the implementation shall ignore bits ASIDMAX-1:ASIDLEN of the value held in rs2":
	 * with ASIDLEN 9, rs2 0x205 (bit 9 set) is ASID 5, so the by-ASID case's entries go. */
	check_vs_fence(true, 0, false, 0x205, B_VSG6 | C_GLOBAL | J_VS_GLOBAL | G_STAGE_ONLY | H_VMID2 | L_VS_VMID2);
}

Test(tlb_riscv, vs_fence_with_an_invalid_virtual_address_has_no_effect)
{
	/* "If the value held in rs1 is not a valid virtual address, then the SFENCE.VMA instruction has no effect".
	 * An entry made under Sv48 at GVA 0x4000_0000_0000 (bit 46 set, canonical there) stays when vsatp is Sv39,
	 * where that address is not sign-extended from bit 38; under Sv48 the same fence drops it. */
	struct nw_rvfence f = { NW_RVFENCE_SFENCE_VMA, false, true, UINT64_C(0x400000000000), 0 };
	struct nw_rvtlb_fill fill = { NW_RVTLB_VS, UINT64_C(0x400000000000), GPA, K4, 0, 0, false, 0 };

	nw_rvtlb_load(&tlb, 1, 5, 48);
	nw_rvtlb_insert(&tlb, &fill);
	nw_rvtlb_load(&tlb, 1, 5, 39);
	cr_assert_eq(nw_rvtlb_fence(&tlb, &f), NW_OK);
	cr_assert_eq(nw_ttlb_count(&tlb.core, NW_RVTLB_VS), 1);
	nw_rvtlb_load(&tlb, 1, 5, 48);
	cr_assert_eq(nw_rvtlb_fence(&tlb, &f), NW_OK);
	cr_assert_eq(nw_ttlb_count(&tlb.core, NW_RVTLB_VS), 0);
}

Test(tlb_riscv, gvma_x0_x0_drops_g_stage_and_combined_entries_of_every_vmid)
{
	/* rs1=x0, rs2=x0: G-stage translations of every VMID: F, G, I, and the combined A-D, H, K built from them.
	 * "HFENCE.GVMA need not flush" the guest-virtual to guest-physical cache: E, J, L stay. */
	check_gvma(true, 0, true, 0, E_VS | J_VS_GLOBAL | L_VS_VMID2);
}

Test(tlb_riscv, gvma_by_gpa_drops_combined_entries_through_that_gpa)
{
	/* rs1 = GPA >> 2, rs2=x0: the G-stage entries for GPA (F, and VMID 2's I) and "any entry whose guest virtual
	 * address maps to a guest physical address that matches": A, B, C, H (GVA -> GPA). K sits at a GVA equal to
	 * GPA but maps to GPA3 and stays; D and G are GPA2's; the VS-stage-only E, J, L stay. */
	check_gvma(false, GPA, true, 0, D_OTHER_GVA | E_VS | G_G_2M | J_VS_GLOBAL | K_GVA_IS_GPA | L_VS_VMID2);
}

Test(tlb_riscv, gvma_by_gpa_and_vmid)
{
	/* rs1 = GPA >> 2, rs2 = VMID 1: F, A, B, C; VMID 2's H and I stay. */
	check_gvma(false, GPA, false, 1,
		   D_OTHER_GVA | E_VS | G_G_2M | H_VMID2 | I_G_VMID2 | J_VS_GLOBAL | K_GVA_IS_GPA | L_VS_VMID2);
}

Test(tlb_riscv, gvma_by_vmid_ignores_bits_above_vmidlen)
{
	/* rs1=x0, rs2 = 0x82: with VMIDLEN 7 bit 7 is ignored ("shall ignore bits VMIDMAX-1:VMIDLEN"): VMID 2's H
	 * and I go, every other entry stays. */
	check_gvma(true, 0, false, 0x82, ALL & ~(H_VMID2 | I_G_VMID2));
}

Test(tlb_riscv, gvma_inside_a_superpage_drops_it_not_a_page_beside)
{
	/* GPA2 + 0x5000 lies in G's 2 MiB superpage (GPA2 .. GPA2 + 0x1fffff), which goes; D went through GPA2's
	 * first 4 KiB page only and stays. The low two bits of the GPA are not in rs1: 0x80205000 >> 2 = 0x20081400. */
	check_gvma(false, GPA2 + 0x5000, false, 1, ALL & ~G_G_2M);
}

static void check_refused(struct nw_rvfence f, const char *why)
{
	populate();
	cr_assert_eq(nw_rvtlb_fence(&tlb, &f), NW_ERR_UNSUPPORTED, "%s accepted", why);
	cr_assert_not_null(nw_rvfence_refusal(&tlb, &f));
	cr_assert_eq(survivors(), ALL, "%s: nothing may be invalidated", why);
}

Test(tlb_riscv, operands_the_model_cannot_give_a_meaning_are_refused_invalidating_nothing)
{
	/* "bits SXLEN-1:ASIDMAX of the value held in rs2 are reserved for future standard use": ASIDMAX 16 on RV64,
	 * VMIDMAX 14. */
	check_refused((struct nw_rvfence){ NW_RVFENCE_SFENCE_VMA, true, false, 0, UINT64_C(1) << 16 }, "ASID bit 16");
	check_refused((struct nw_rvfence){ NW_RVFENCE_HFENCE_VVMA, true, false, 0, UINT64_C(1) << 63 }, "ASID bit 63");
	check_refused((struct nw_rvfence){ NW_RVFENCE_HFENCE_GVMA, true, false, 0, UINT64_C(1) << 14 }, "VMID bit 14");
	/* x0 reads as 0. */
	check_refused((struct nw_rvfence){ NW_RVFENCE_SFENCE_VMA, true, true, GVA, 0 }, "x0 holding a value");
	/* rs1 << 2 loses bits 63:62. */
	check_refused((struct nw_rvfence){ NW_RVFENCE_HFENCE_GVMA, false, true, UINT64_C(1) << 62, 0 }, "GPA >= 2^64");
	check_refused((struct nw_rvfence){ NW_RVFENCE_OP_COUNT, true, true, 0, 0 }, "an unknown fence");
	/* With vsatp Bare no virtual address width says whether rs1 is valid. */
	populate();
	nw_rvtlb_load(&tlb, 1, 5, 0);
	{
		struct nw_rvfence f = { NW_RVFENCE_HFENCE_VVMA, false, true, GVA, 0 };

		cr_assert_eq(nw_rvtlb_fence(&tlb, &f), NW_ERR_UNSUPPORTED);
		cr_assert_eq(survivors(), ALL);
	}
}

Test(tlb_riscv, lookup_matches_vmid_asid_and_global)
{
	struct nw_ttlb_hit hit;

	populate();
	/* VMID 1 ASID 5: the smallest combined entry at GVA + 0x10 is A (or C, both 4 KiB): 0x40400010. */
	cr_assert(nw_ttlb_lookup(&tlb.core, NW_RVTLB_VSG, GVA + 0x10, &hit));
	cr_assert_eq(hit.out, UINT64_C(0x40400010));
	/* ASID 7 has no non-global entry at GVA2, and J is global: it hits. */
	nw_rvtlb_load(&tlb, 1, 7, 39);
	cr_assert(nw_ttlb_lookup(&tlb.core, NW_RVTLB_VS, GVA2, &hit));
	cr_assert(hit.entry->global);
	cr_assert_not(nw_ttlb_lookup(&tlb.core, NW_RVTLB_VSG, GVA2, &hit), "D is ASID 5's");
	/* VMID 3 has nothing, not even a global entry: G is per VMID. */
	nw_rvtlb_load(&tlb, 3, 5, 39);
	cr_assert_not(nw_ttlb_lookup(&tlb.core, NW_RVTLB_VS, GVA2, &hit));
	cr_assert_eq(tlb.core.stats.lookups, 4);
	cr_assert_eq(tlb.core.stats.hits, 2);
}

Test(tlb_riscv, init_refuses_tag_widths_beyond_rv64s)
{
	cr_assert_eq(nw_rvtlb_init(&tlb, store, sizeof(store), 17, 7), NW_ERR_RANGE);
	cr_assert_eq(nw_rvtlb_init(&tlb, store, sizeof(store), 16, 15), NW_ERR_RANGE);
	cr_assert_eq(nw_rvtlb_init(&tlb, store, sizeof(store), 16, 14), NW_OK);
}
