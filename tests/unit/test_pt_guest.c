/* Guest page tables for each paging mode, read back entry by entry against
 * values computed by hand from SDM Vol. 3A §4.3-§4.5 (Figures 4-2, 4-5,
 * 4-8, 4-9 for the index bits; Tables 4-4..4-20 for the entries). The
 * tables live in a small simulated guest-physical memory behind the
 * engine's memory interface, as they would behind an address space. */
#include <stdlib.h>

#include <nestwalk/pt_build.h>
#include <nestwalk/x86_pte.h>

#include "fixture.h"

TestSuite(pt_guest, .init = fixture_setup, .fini = fixture_teardown);

/* Guest RAM: 64 pages at GPA 0x100000; tables come from a bitmap allocator. */
#define GMEM_BASE UINT64_C(0x100000)
#define GMEM_PAGES 64

struct gmem {
	uint8_t *bytes;
	bool used[GMEM_PAGES];
	unsigned live;
};

static bool gmem_alloc(void *ctx, uint64_t *addr)
{
	struct gmem *g = ctx;

	for (unsigned i = 0; i < GMEM_PAGES; i++) {
		if (!g->used[i]) {
			g->used[i] = true;
			g->live++;
			*addr = GMEM_BASE + (uint64_t)i * NW_PAGE_SIZE;
			return true;
		}
	}
	return false;
}

static void gmem_free(void *ctx, uint64_t addr)
{
	struct gmem *g = ctx;
	unsigned i = (unsigned)((addr - GMEM_BASE) / NW_PAGE_SIZE);

	cr_assert(i < GMEM_PAGES && g->used[i], "free of GPA 0x%llx that is not a table", (unsigned long long)addr);
	g->used[i] = false;
	g->live--;
}

static void *gmem_ptr(void *ctx, uint64_t addr)
{
	struct gmem *g = ctx;

	if (addr < GMEM_BASE || addr >= GMEM_BASE + GMEM_PAGES * NW_PAGE_SIZE)
		return NULL;
	return g->bytes + (addr - GMEM_BASE);
}

static const struct nw_pt_mem_ops gmem_ops = { .alloc = gmem_alloc, .free = gmem_free, .ptr = gmem_ptr };

static struct gmem gm;

static struct nw_pt_mem guest_mem(void)
{
	gm.bytes = malloc(GMEM_PAGES * NW_PAGE_SIZE);
	cr_assert_not_null(gm.bytes);
	for (size_t i = 0; i < GMEM_PAGES * NW_PAGE_SIZE; i++)
		gm.bytes[i] = 0xa5; /* the engine must zero what it takes */
	for (unsigned i = 0; i < GMEM_PAGES; i++)
		gm.used[i] = false;
	gm.live = 0;
	/* The engine's live counts in host frames, as an address space gives them. */
	return (struct nw_pt_mem){ .ops = &gmem_ops, .ctx = &gm, .host = hal };
}

static void guest_mem_done(void)
{
	cr_assert_eq(gm.live, 0, "%u guest table page(s) leaked", gm.live);
	free(gm.bytes);
}

static uint64_t e64(uint64_t table, unsigned index)
{
	return ((const uint64_t *)gmem_ptr(&gm, table))[index];
}

static uint32_t e32(uint64_t table, unsigned index)
{
	return ((const uint32_t *)gmem_ptr(&gm, table))[index];
}

#define P NW_PTE_P
#define RW NW_PTE_RW
#define US NW_PTE_US

Test(pt_guest, four_level_paths_and_entries)
{
	struct nw_gpt gpt;
	uint64_t pml4, pdpt, pd, pt;

	cr_assert_eq(nw_gpt_create(&gpt, NW_GPT_4LEVEL, guest_mem()), NW_OK);
	pml4 = nw_gpt_root(&gpt);
	cr_assert_eq(pml4, GMEM_BASE);
	/* 0x40201000: PML4 0, PDPT 1, PD 1, PT 1. */
	cr_assert_eq(nw_gpt_map(&gpt, nw_gva(0x40201000), nw_gpa(0x7000), NW_PAGE_SIZE, RW | US, NULL), NW_OK);
	cr_assert_eq(e64(pml4, 0) & 0xfff, P | RW | US);
	pdpt = e64(pml4, 0) & NW_PTE_ADDR_MASK;
	cr_assert_eq(e64(pdpt, 1) & 0xfff, P | RW | US);
	pd = e64(pdpt, 1) & NW_PTE_ADDR_MASK;
	cr_assert_eq(e64(pd, 1) & 0xfff, P | RW | US);
	pt = e64(pd, 1) & NW_PTE_ADDR_MASK;
	cr_assert_eq(e64(pt, 1), 0x7007);
	cr_assert_eq(e64(pt, 0), 0, "fresh tables are zeroed");
	/* The PDE for 0x40000000 is index 0 of the same PD: a 2 MiB page with PAT (bit 12) and XD. */
	cr_assert_eq(nw_gpt_map(&gpt, nw_gva(0x40000000), nw_gpa(0x200000), NW_SIZE_2M, NW_PTE_PAT_4K | NW_PTE_XD,
				NULL),
		     NW_OK);
	cr_assert_eq(e64(pd, 0), NW_PTE_XD | 0x200000 | 0x1000 | 0x80 | P);
	/* A 1 GiB page at 0x80000000: PDPT index 2. */
	cr_assert_eq(nw_gpt_map(&gpt, nw_gva(0x80000000), nw_gpa(0xc0000000), NW_SIZE_1G, RW, NULL), NW_OK);
	cr_assert_eq(e64(pdpt, 2), 0xc0000000 | 0x80 | RW | P);
	cr_assert_eq(gm.live, 4);
	nw_gpt_destroy(&gpt);
	guest_mem_done();
}

Test(pt_guest, four_level_canonical_high_half)
{
	struct nw_gpt gpt;
	struct nw_pt_leaf leaf;

	cr_assert_eq(nw_gpt_create(&gpt, NW_GPT_4LEVEL, guest_mem()), NW_OK);
	/* 0xffff800000201000: PML4 index 256, PDPT 0, PD 1, PT 1. */
	cr_assert_eq(nw_gpt_map(&gpt, nw_gva(UINT64_C(0xffff800000201000)), nw_gpa(0x9000), NW_PAGE_SIZE, RW, NULL),
		     NW_OK);
	cr_assert_eq(e64(nw_gpt_root(&gpt), 256) & 0xfff, P | RW | US);
	cr_assert_eq(e64(nw_gpt_root(&gpt), 0), 0);
	cr_assert_eq(nw_gpt_query(&gpt, nw_gva(UINT64_C(0xffff800000201abc)), &leaf), NW_OK);
	cr_assert_eq(leaf.pa_base, 0x9000);
	cr_assert_eq(leaf.entry, 0x9003);
	cr_assert_eq(nw_gpt_map(&gpt, nw_gva(UINT64_C(0x0000800000000000)), nw_gpa(0x9000), NW_PAGE_SIZE, RW, NULL),
		     NW_ERR_RANGE, "non-canonical");
	cr_assert_eq(nw_gpt_edit(&gpt, nw_gva(UINT64_C(0xffff800000201000)), 2, NW_PTE_US, 0, NULL), NW_OK);
	cr_assert_eq(e64(nw_gpt_root(&gpt), 256) & 0xfff, P | RW | US, "only the PDE changed");
	cr_assert_eq(nw_gpt_query(&gpt, nw_gva(UINT64_C(0xffff800000201000)), &leaf), NW_OK);
	cr_assert_eq(leaf.entries[2] & 0xfff, P | RW);
	cr_assert_eq(nw_gpt_edit(&gpt, nw_gva(UINT64_C(0x0000800000201000)), 2, NW_PTE_US, 0, NULL), NW_ERR_RANGE);
	cr_assert_eq(nw_gpt_unmap(&gpt, nw_gva(UINT64_C(0xffff800000201000)), NW_PAGE_SIZE), NW_OK);
	cr_assert_eq(gm.live, 1, "emptied tables are freed");
	nw_gpt_destroy(&gpt);
	guest_mem_done();
}

Test(pt_guest, five_level_index_bits_56_48)
{
	struct nw_gpt gpt;
	uint64_t pml5;

	cr_assert_eq(nw_gpt_create(&gpt, NW_GPT_5LEVEL, guest_mem()), NW_OK);
	pml5 = nw_gpt_root(&gpt);
	/* 0xff00000000001000: bits 56:48 = 0x100 -> PML5 index 256; PML4, PDPT, PD index 0; PT index 1. */
	cr_assert_eq(nw_gpt_map(&gpt, nw_gva(UINT64_C(0xff00000000001000)), nw_gpa(0x3000), NW_PAGE_SIZE, RW | US,
				NULL),
		     NW_OK);
	cr_assert_eq(e64(pml5, 256) & 0xfff, P | RW | US);
	cr_assert_eq(gm.live, 5);
	cr_assert_eq(nw_gpt_map(&gpt, nw_gva(UINT64_C(0xfe00000000000000)), nw_gpa(0x3000), NW_PAGE_SIZE, RW, NULL),
		     NW_ERR_RANGE, "bit 57 differs from bit 56");
	nw_gpt_destroy(&gpt);
	guest_mem_done();
}

Test(pt_guest, pae_four_pdptes_without_rw_us)
{
	struct nw_gpt gpt;
	uint64_t pdpt, pd, pt;

	cr_assert_eq(nw_gpt_create(&gpt, NW_GPT_PAE, guest_mem()), NW_OK);
	pdpt = nw_gpt_root(&gpt);
	cr_assert_eq(pdpt & 0x1f, 0, "CR3 bits 31:5: 32-byte aligned");
	/* 0xc0201000: PDPTE 3, PDE 1, PTE 1. */
	cr_assert_eq(nw_gpt_map(&gpt, nw_gva(0xc0201000), nw_gpa(0x5000), NW_PAGE_SIZE, RW | NW_PTE_XD, NULL), NW_OK);
	cr_assert_eq(e64(pdpt, 3) & 0xfff, P, "PDPTE bits 2:1 are reserved");
	pd = e64(pdpt, 3) & NW_PTE_ADDR_MASK;
	cr_assert_eq(e64(pd, 1) & 0xfff, P | RW | US);
	pt = e64(pd, 1) & NW_PTE_ADDR_MASK;
	cr_assert_eq(e64(pt, 1), NW_PTE_XD | 0x5003);
	cr_assert_eq(nw_gpt_map(&gpt, nw_gva(0x200000), nw_gpa(0x400000), NW_SIZE_2M, RW, NULL), NW_OK);
	cr_assert_eq(e64(e64(pdpt, 0) & NW_PTE_ADDR_MASK, 1), 0x400083);
	cr_assert_eq(nw_gpt_map(&gpt, nw_gva(0x40000000), nw_gpa(0), NW_SIZE_1G, RW, NULL), NW_ERR_INVALID,
		     "PAE has no 1 GiB pages");
	cr_assert_eq(nw_gpt_map(&gpt, nw_gva(UINT64_C(0x100000000)), nw_gpa(0), NW_PAGE_SIZE, RW, NULL), NW_ERR_RANGE);
	nw_gpt_destroy(&gpt);
	guest_mem_done();
}

Test(pt_guest, thirty_two_bit_with_pse36)
{
	struct nw_gpt gpt;
	uint64_t pd, pt;
	struct nw_pt_leaf leaf;

	cr_assert_eq(nw_gpt_create(&gpt, NW_GPT_32BIT, guest_mem()), NW_OK);
	pd = nw_gpt_root(&gpt);
	/* 0x00401000: PDE 1, PTE 1 of 1024 4-byte entries. */
	cr_assert_eq(nw_gpt_map(&gpt, nw_gva(0x00401000), nw_gpa(0x123000), NW_PAGE_SIZE, RW | US, NULL), NW_OK);
	cr_assert_eq(e32(pd, 1) & 0xfff, P | RW | US);
	pt = e32(pd, 1) & 0xfffff000;
	cr_assert_eq(e32(pt, 1), 0x123007);
	/* 0xffc01000: PDE 1023, PTE 1 - the last slot of a 1024-entry table. */
	cr_assert_eq(nw_gpt_map(&gpt, nw_gva(0xffc01000), nw_gpa(0x2000), NW_PAGE_SIZE, 0, NULL), NW_OK);
	cr_assert_eq(e32(e32(pd, 1023) & 0xfffff000, 1), 0x2001);
	/* A 4 MiB page at 0x00800000 (PDE 2) mapping GPA 0x1_2340_0000: bits 39:32 go to PDE bits 20:13. */
	cr_assert_eq(nw_gpt_map(&gpt, nw_gva(0x00800000), nw_gpa(UINT64_C(0x123400000)), NW_SIZE_4M, RW, NULL), NW_OK);
	cr_assert_eq(e32(pd, 2), 0x23402083);
	cr_assert_eq(nw_gpt_query(&gpt, nw_gva(0x00812345), &leaf), NW_OK);
	cr_assert_eq(leaf.pa_base, UINT64_C(0x123400000));
	cr_assert_eq(leaf.size, NW_SIZE_4M);
	cr_assert_eq(nw_gpt_map(&gpt, nw_gva(0x00c00000), nw_gpa(UINT64_C(1) << 40), NW_SIZE_4M, RW, NULL),
		     NW_ERR_RANGE, "PSE-36 reaches 40 bits");
	cr_assert_eq(nw_gpt_map(&gpt, nw_gva(0x00c00000), nw_gpa(0), NW_PAGE_SIZE, NW_PTE_XD, NULL), NW_ERR_INVALID,
		     "no XD in 32-bit entries");
	cr_assert_eq(nw_gpt_map(&gpt, nw_gva(0x00c00000), nw_gpa(0), NW_SIZE_2M, RW, NULL), NW_ERR_INVALID);
	/* A 4 KiB PTE holds 32 address bits: the 4 MiB page above 4 GiB cannot be split. */
	cr_assert_eq(nw_gpt_unmap(&gpt, nw_gva(0x00801000), NW_PAGE_SIZE), NW_ERR_RANGE);
	cr_assert_eq(nw_gpt_map(&gpt, nw_gva(0x00801000), nw_gpa(0x1000), NW_PAGE_SIZE, RW, NULL), NW_ERR_EXISTS);
	cr_assert_eq(e32(pd, 2), 0x23402083, "unchanged");
	/* Below 4 GiB it splits into 1024 PTEs; PAT (bit 12) moves to bit 7. */
	cr_assert_eq(nw_gpt_map(&gpt, nw_gva(0x00c00000), nw_gpa(0xfe000000), NW_SIZE_4M, RW | NW_PTE_PAT_4K, NULL),
		     NW_OK);
	cr_assert_eq(e32(pd, 3), 0xfe001083);
	cr_assert_eq(nw_gpt_unmap(&gpt, nw_gva(0x00c01000), NW_PAGE_SIZE), NW_OK);
	pt = e32(pd, 3) & 0xfffff000;
	cr_assert_eq(e32(pd, 3) & 0xfff, P | RW | US);
	cr_assert_eq(e32(pt, 0), 0xfe000083);
	cr_assert_eq(e32(pt, 1), 0);
	cr_assert_eq(e32(pt, 1023), 0xfe3ff083);
	nw_gpt_destroy(&gpt);
	guest_mem_done();
}

Test(pt_guest, per_level_table_flag_overrides)
{
	struct nw_gpt gpt;
	uint64_t flags[NW_MAX_LEVELS + 1] = { [NW_LEVEL_PD] = P | RW, [NW_LEVEL_PML4] = P | US };
	struct nw_pt_leaf leaf;

	cr_assert_eq(nw_gpt_create(&gpt, NW_GPT_4LEVEL, guest_mem()), NW_OK);
	cr_assert_eq(nw_gpt_map(&gpt, nw_gva(0x1000), nw_gpa(0x5000), NW_PAGE_SIZE, RW | US, flags), NW_OK);
	cr_assert_eq(nw_gpt_query(&gpt, nw_gva(0x1000), &leaf), NW_OK);
	cr_assert_eq(leaf.entries[4] & 0xfff, P | US, "PML4E without RW");
	cr_assert_eq(leaf.entries[3] & 0xfff, P | RW | US, "PDPTE default");
	cr_assert_eq(leaf.entries[2] & 0xfff, P | RW, "PDE without US");
	cr_assert_eq(leaf.entries[1], 0x5007);
	flags[NW_LEVEL_PD] = NW_PTE_PS;
	cr_assert_eq(nw_gpt_map(&gpt, nw_gva(0x2000), nw_gpa(0x5000), NW_PAGE_SIZE, RW, flags), NW_ERR_INVALID);
	nw_gpt_destroy(&gpt);
	guest_mem_done();
}

Test(pt_guest, out_of_guest_memory_changes_nothing)
{
	struct nw_gpt gpt;
	unsigned mapped = 0;

	cr_assert_eq(nw_gpt_create(&gpt, NW_GPT_4LEVEL, guest_mem()), NW_OK);
	/* Each 4 KiB page in its own PML4 slot costs 3 tables; 63 free pages give 21 pages. */
	for (uint64_t i = 0;; i++) {
		nw_status_t status = nw_gpt_map(&gpt, nw_gva(i << 39), nw_gpa(0x1000), NW_PAGE_SIZE, RW, NULL);

		if (status != NW_OK) {
			cr_assert_eq(status, NW_ERR_NOMEM);
			break;
		}
		mapped++;
	}
	cr_assert_eq(mapped, 21);
	cr_assert_eq(gm.live, 64);
	nw_gpt_destroy(&gpt);
	guest_mem_done();
}

/* The guest owns its tables' memory: a write behind the engine that fills a
 * page table leaves the engine's live count short. Unmapping the engine's own
 * page takes the count to 0, and the scan that confirms every free finds the
 * guest's PTE: the table stays, and the guest's page keeps translating. */
Test(pt_guest, a_table_the_guest_filled_behind_the_engine_is_not_freed)
{
	struct nw_gpt gpt;
	struct nw_pt_leaf leaf;
	unsigned count = 0;
	uint64_t pt;

	cr_assert_eq(nw_gpt_create(&gpt, NW_GPT_4LEVEL, guest_mem()), NW_OK);
	cr_assert_eq(nw_gpt_map(&gpt, nw_gva(0x1000), nw_gpa(0x5000), NW_PAGE_SIZE, RW, NULL), NW_OK);
	cr_assert_eq(nw_gpt_query(&gpt, nw_gva(0x1000), &leaf), NW_OK);
	pt = leaf.tables[NW_LEVEL_PT];
	cr_assert_eq(nw_pt_live_count(&gpt.pt, 0x1000, NW_LEVEL_PT, &count), NW_OK);
	cr_assert_eq(count, 1);
	/* The guest's PTE 2 (GVA 0x2000): P and R/W over frame 0x7000 (SDM Vol. 3A Table 4-20). */
	((uint64_t *)gmem_ptr(&gm, pt))[2] = 0x7000 | P | RW;
	cr_assert_eq(nw_gpt_unmap(&gpt, nw_gva(0x1000), NW_PAGE_SIZE), NW_OK);
	cr_assert_eq(gm.live, 4, "PML4, PDPT, PD and the PT the guest still uses");
	cr_assert_eq(nw_gpt_query(&gpt, nw_gva(0x2000), &leaf), NW_OK);
	cr_assert_eq(leaf.tables[NW_LEVEL_PT], pt);
	cr_assert_eq(leaf.pa_base, 0x7000);
	cr_assert_eq(nw_pt_live_count(&gpt.pt, 0x2000, NW_LEVEL_PT, &count), NW_OK);
	cr_assert_eq(count, 1, "recounted: the guest's PTE");
	cr_assert_eq(nw_gpt_unmap(&gpt, nw_gva(0x2000), NW_PAGE_SIZE), NW_OK);
	cr_assert_eq(gm.live, 1, "the last page gone, PT, PD and PDPT are freed");
	nw_gpt_destroy(&gpt);
	guest_mem_done();
}

/* A write behind the engine that empties a page table leaves its count high:
 * the engine never frees on a count alone, so the table stays (empty) after
 * the engine unmaps its last known page, until a range covering it is
 * unmapped or the tables are destroyed; nothing is freed in use, nothing leaks. */
Test(pt_guest, a_table_the_guest_emptied_behind_the_engine_stays_until_unmapped_whole)
{
	struct nw_gpt gpt;
	struct nw_pt_leaf leaf;
	uint64_t pt;

	cr_assert_eq(nw_gpt_create(&gpt, NW_GPT_4LEVEL, guest_mem()), NW_OK);
	cr_assert_eq(nw_gpt_map(&gpt, nw_gva(0x1000), nw_gpa(0x5000), NW_PAGE_SIZE, RW, NULL), NW_OK);
	cr_assert_eq(nw_gpt_map(&gpt, nw_gva(0x2000), nw_gpa(0x6000), NW_PAGE_SIZE, RW, NULL), NW_OK);
	cr_assert_eq(nw_gpt_query(&gpt, nw_gva(0x1000), &leaf), NW_OK);
	pt = leaf.tables[NW_LEVEL_PT];
	((uint64_t *)gmem_ptr(&gm, pt))[1] = 0;
	cr_assert_eq(nw_gpt_unmap(&gpt, nw_gva(0x2000), NW_PAGE_SIZE), NW_OK);
	cr_assert_eq(nw_gpt_query(&gpt, nw_gva(0x1000), &leaf), NW_ERR_NOT_FOUND);
	cr_assert_eq(leaf.tables[NW_LEVEL_PT], pt, "the emptied PT is still linked");
	cr_assert_eq(gm.live, 4);
	cr_assert_eq(nw_gpt_unmap(&gpt, nw_gva(0), NW_SIZE_2M), NW_OK);
	cr_assert_eq(gm.live, 1, "a range covering the PT frees it whatever its count");
	nw_gpt_destroy(&gpt);
	guest_mem_done();
}
