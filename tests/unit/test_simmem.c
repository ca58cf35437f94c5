#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <nestwalk/frame.h>
#include <nestwalk/walk.h>
#include <nestwalk/x86_pte.h>

#include <criterion/criterion.h>
#include <stdio.h>

#include "mem/simmem.h"

/* The process's resident memory in KiB (/proc/self/statm, its second field in pages). */
static long resident_kib(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	long size = 0, resident = 0;

	cr_assert_not_null(f);
	cr_assert_eq(fscanf(f, "%ld %ld", &size, &resident), 2);
	fclose(f);
	return resident * 4;
}

static struct nw_simmem *make(uint64_t size, bool randomize, uint64_t seed, bool strict)
{
	struct nw_simmem_config config = { .size = size, .randomize = randomize, .seed = seed, .strict = strict };
	struct nw_simmem *made = nw_simmem_create(&config);

	cr_assert_not_null(made);
	return made;
}

static int compare_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

Test(simmem, exhausts_small_memory_without_ever_giving_frame_zero)
{
	enum { FRAMES = 64 };
	struct nw_simmem *small = make(FRAMES * NW_PAGE_SIZE, true, 7, true);
	const struct nw_hal *owner = nw_simmem_owner(small, "t");
	uint64_t got[FRAMES];
	nw_hpa_t pa;
	unsigned n = 0;

	while (nw_hal_alloc_frame(owner, &pa)) {
		cr_assert_lt(n, FRAMES - 1);
		cr_assert_neq(pa.val, 0);
		got[n++] = pa.val;
	}
	cr_assert_eq(n, FRAMES - 1, "every frame but 0 is usable");
	qsort(got, n, sizeof(got[0]), compare_u64);
	for (unsigned i = 1; i < n; i++)
		cr_assert_neq(got[i], got[i - 1], "frame 0x%llx handed out twice", (unsigned long long)got[i]);
	cr_assert_eq(nw_simmem_stats(small).failed, 1);
	for (unsigned i = 0; i < n; i++)
		nw_hal_dealloc_frame(owner, nw_hpa(got[i]));
	cr_assert_eq(nw_simmem_destroy(small), 0);
}

Test(simmem, runs_of_frames_are_aligned_owned_and_never_handed_out_again)
{
	enum { FRAMES = 64 };
	struct nw_simmem *small = make(FRAMES * NW_PAGE_SIZE, true, 7, true);
	const struct nw_hal *owner = nw_simmem_owner(small, "t");
	nw_hpa_t run, pa;
	uint64_t got[FRAMES];
	unsigned singles = 0;

	/* Four frames aligned to 16 KiB: the top run of the 64 (frames 60..63). */
	cr_assert(nw_hal_alloc_frames(owner, 4, &run));
	cr_assert_eq(run.val, 60 * NW_PAGE_SIZE);
	cr_assert_eq(nw_simmem_stats(small).live, 4);
	cr_assert_not(nw_hal_alloc_frames(owner, 3, &pa), "not a power of two");
	/* The single-frame picker skips the run: 63 - 4 more frames, then none. */
	while (nw_hal_alloc_frame(owner, &pa)) {
		cr_assert(pa.val < run.val || pa.val >= run.val + 4 * NW_PAGE_SIZE,
			  "frame 0x%llx of the run given again", (unsigned long long)pa.val);
		got[singles++] = pa.val;
	}
	cr_assert_eq(singles, FRAMES - 1 - 4);
	cr_assert_not(nw_hal_alloc_frames(owner, 2, &pa), "no free run left");
	/* Given back frame by frame, the run is whole again. */
	for (unsigned i = 0; i < 4; i++)
		nw_hal_dealloc_frame(owner, nw_hpa(run.val + i * NW_PAGE_SIZE));
	cr_assert(nw_hal_alloc_frames(owner, 4, &pa));
	cr_assert_eq(pa.val, run.val);
	cr_assert_eq(nw_simmem_stats(small).live, FRAMES - 1);
	for (unsigned i = 0; i < 4; i++)
		nw_hal_dealloc_frame(owner, nw_hpa(pa.val + i * NW_PAGE_SIZE));
	for (unsigned i = 0; i < singles; i++)
		nw_hal_dealloc_frame(owner, nw_hpa(got[i]));
	cr_assert_eq(nw_simmem_destroy(small), 0);
}

static void first_frames(uint64_t seed, bool randomize, uint64_t *out, unsigned n)
{
	struct nw_simmem *s = make(UINT64_C(1) << 30, randomize, seed, true);
	const struct nw_hal *owner = nw_simmem_owner(s, "t");

	for (unsigned i = 0; i < n; i++) {
		nw_hpa_t pa;

		cr_assert(nw_hal_alloc_frame(owner, &pa));
		out[i] = pa.val;
	}
	for (unsigned i = 0; i < n; i++)
		nw_hal_dealloc_frame(owner, nw_hpa(out[i]));
	cr_assert_eq(nw_simmem_destroy(s), 0);
}

Test(simmem, random_placement_is_seeded_and_not_ascending)
{
	uint64_t a[32], b[32], c[32], plain[32];
	unsigned ascending = 0, same_as_other_seed = 0;

	first_frames(1, true, a, 32);
	first_frames(1, true, b, 32);
	first_frames(2, true, c, 32);
	first_frames(1, false, plain, 32);
	for (unsigned i = 0; i < 32; i++) {
		cr_assert_eq(a[i], b[i], "same seed, same placement");
		same_as_other_seed += a[i] == c[i];
		cr_assert_eq(plain[i], (i + 1) * NW_PAGE_SIZE, "sequential mode counts up from frame 1");
		if (i)
			ascending += a[i] == a[i - 1] + NW_PAGE_SIZE;
	}
	cr_assert_lt(same_as_other_seed, 4);
	cr_assert_lt(ascending, 4);
}

Test(simmem, one_tebibyte_host_costs_only_what_is_touched)
{
	struct nw_simmem *big = make(UINT64_C(1) << 40, true, 3, true);
	const struct nw_hal *owner = nw_simmem_owner(big, "t");
	struct nw_frame frames[16];

	for (unsigned i = 0; i < 16; i++) {
		cr_assert_eq(nw_frame_alloc_zero(&frames[i], owner), NW_OK);
		*(uint64_t *)nw_frame_ptr(&frames[i]) = i;
	}
	cr_assert_gt(nw_frame_paddr(&frames[0]).val | nw_frame_paddr(&frames[1]).val, UINT64_C(1) << 36,
		     "random placement spreads over the whole terabyte");
	for (unsigned i = 0; i < 16; i++) {
		cr_assert_eq(*(uint64_t *)nw_frame_ptr(&frames[i]), i);
		nw_frame_free(&frames[i]);
	}
	cr_assert_eq(nw_simmem_destroy(big), 0);
}

Test(simmem, leak_is_detected_and_attributed)
{
	struct nw_simmem *s = make(UINT64_C(1) << 24, false, 0, true);
	const struct nw_hal *vm_a = nw_simmem_owner(s, "vm-a");
	const struct nw_hal *vm_b = nw_simmem_owner(s, "vm-b");
	struct nw_frame kept, leaked;

	cr_assert_eq(nw_simmem_owner(s, "vm-a"), vm_a, "one HAL per owner name");
	cr_assert_eq(nw_frame_alloc(&kept, vm_a), NW_OK);
	cr_assert_eq(nw_frame_alloc(&leaked, vm_b), NW_OK);
	nw_frame_free(&kept);
	cr_assert_eq(nw_simmem_owner_stats(s, vm_a).live, 0);
	cr_assert_eq(nw_simmem_owner_stats(s, vm_a).high_water, 1);
	cr_assert_eq(nw_simmem_owner_stats(s, vm_b).live, 1);
	cr_assert_eq(nw_simmem_report_leaks(s, stderr), 1);
	cr_assert_eq(nw_simmem_destroy(s), 1, "destroy reports the deliberately leaked frame");
}

Test(simmem, high_water_mark_tracks_the_peak)
{
	struct nw_simmem *s = make(UINT64_C(1) << 24, true, 5, true);
	const struct nw_hal *owner = nw_simmem_owner(s, "t");
	struct nw_frame f[5];

	for (unsigned i = 0; i < 5; i++)
		cr_assert_eq(nw_frame_alloc(&f[i], owner), NW_OK);
	for (unsigned i = 0; i < 3; i++)
		nw_frame_free(&f[i]);
	cr_assert_eq(nw_simmem_stats(s).live, 2);
	cr_assert_eq(nw_simmem_stats(s).high_water, 5);
	cr_assert_eq(nw_simmem_stats(s).allocs, 5);
	nw_frame_free(&f[3]);
	nw_frame_free(&f[4]);
	cr_assert_eq(nw_simmem_destroy(s), 0);
}

Test(simmem, fail_nth_fails_exactly_that_allocation)
{
	struct nw_simmem *s = make(UINT64_C(1) << 24, false, 0, true);
	const struct nw_hal *owner = nw_simmem_owner(s, "t");
	nw_hpa_t pa[4];

	nw_simmem_fail_nth(s, 3);
	cr_assert(nw_hal_alloc_frame(owner, &pa[0]));
	cr_assert(nw_hal_alloc_frame(owner, &pa[1]));
	cr_assert_not(nw_hal_alloc_frame(owner, &pa[2]));
	cr_assert(nw_hal_alloc_frame(owner, &pa[3]));
	cr_assert_eq(nw_simmem_stats(s).failed, 1);
	nw_hal_dealloc_frame(owner, pa[0]);
	nw_hal_dealloc_frame(owner, pa[1]);
	nw_hal_dealloc_frame(owner, pa[3]);
	cr_assert_eq(nw_simmem_destroy(s), 0);
}

Test(simmem, random_failures_follow_their_probability_and_seed)
{
	unsigned failures[2] = { 0, 0 };

	for (unsigned run = 0; run < 2; run++) {
		struct nw_simmem *s = make(UINT64_C(1) << 30, false, 0, true);
		const struct nw_hal *owner = nw_simmem_owner(s, "t");

		nw_simmem_fail_random(s, 0.25, 99);
		for (unsigned i = 0; i < 4000; i++) {
			nw_hpa_t pa;

			if (nw_hal_alloc_frame(owner, &pa))
				nw_hal_dealloc_frame(owner, pa);
			else
				failures[run]++;
		}
		cr_assert_eq(nw_simmem_destroy(s), 0);
	}
	cr_assert_eq(failures[0], failures[1], "same seed, same failures");
	cr_assert(failures[0] > 850 && failures[0] < 1150, "%u failures of 4000 at p=0.25", failures[0]);
}

Test(simmem, bad_phys_to_virt_is_an_error_when_not_strict)
{
	struct nw_simmem *s = make(UINT64_C(1) << 24, false, 0, false);
	const struct nw_hal *owner = nw_simmem_owner(s, "t");
	nw_hpa_t pa;

	cr_assert_null(nw_hal_phys_to_virt(owner, nw_hpa(UINT64_C(1) << 24)), "outside simulated memory");
	cr_assert_null(nw_hal_phys_to_virt(owner, nw_hpa(0x5000)), "never allocated");
	cr_assert(nw_hal_alloc_frame(owner, &pa));
	cr_assert_not_null(nw_hal_phys_to_virt(owner, nw_hpa(pa.val + 0xff8)));
	nw_hal_dealloc_frame(owner, pa);
	cr_assert_null(nw_hal_phys_to_virt(owner, pa), "freed");
	cr_assert_eq(nw_simmem_destroy(s), 0);
}

Test(simmem, bad_phys_to_virt_aborts_when_strict, .signal = SIGABRT)
{
	struct nw_simmem *s = make(UINT64_C(1) << 24, false, 0, true);

	(void)nw_hal_phys_to_virt(nw_simmem_owner(s, "t"), nw_hpa(UINT64_C(1) << 40));
}

Test(simmem, freeing_another_owners_frame_aborts, .signal = SIGABRT)
{
	struct nw_simmem *s = make(UINT64_C(1) << 24, false, 0, true);
	nw_hpa_t pa;

	cr_assert(nw_hal_alloc_frame(nw_simmem_owner(s, "a"), &pa));
	nw_hal_dealloc_frame(nw_simmem_owner(s, "b"), pa);
}

Test(simmem, freed_frames_come_back_zeroed_and_are_reused)
{
	struct nw_simmem *s = make(UINT64_C(1) << 24, false, 0, true);
	const struct nw_hal *owner = nw_simmem_owner(s, "t");
	nw_hpa_t pa, again;

	cr_assert(nw_hal_alloc_frame(owner, &pa));
	*(uint64_t *)nw_hal_phys_to_virt(owner, pa) = 0xdeadbeef;
	nw_hal_dealloc_frame(owner, pa);
	cr_assert(nw_hal_alloc_frame(owner, &again));
	cr_assert_eq(again.val, pa.val, "sequential mode reuses the last freed frame");
	cr_assert_eq(*(uint64_t *)nw_hal_phys_to_virt(owner, again), 0, "memory was given back to the host");
	nw_hal_dealloc_frame(owner, again);
	cr_assert_eq(nw_simmem_destroy(s), 0);
}

Test(simmem, claimed_ranges_are_backed_but_never_allocated)
{
	enum { FRAMES = 16 };
	struct nw_simmem *s = make(FRAMES * NW_PAGE_SIZE, false, 0, true);
	const struct nw_hal *owner = nw_simmem_owner(s, "t");
	nw_hpa_t pa[FRAMES];
	unsigned n = 0;

	cr_assert(nw_simmem_claim(s, nw_hpa(0x4000), 0x4000));
	cr_assert_not(nw_simmem_claim(s, nw_hpa(0x6000), 0x4000), "overlaps a claim");
	cr_assert(nw_simmem_is_backed(s, nw_hpa(0x7fff)));
	cr_assert_not_null(nw_hal_phys_to_virt(owner, nw_hpa(0x4000)));
	while (nw_hal_alloc_frame(owner, &pa[n])) {
		cr_assert(pa[n].val < 0x4000 || pa[n].val >= 0x8000, "claimed frame handed out");
		n++;
	}
	cr_assert_eq(n, FRAMES - 1 - 4);
	cr_assert_not(nw_simmem_claim(s, pa[0], NW_PAGE_SIZE), "an allocated frame cannot be claimed");
	cr_assert(nw_simmem_unclaim(s, nw_hpa(0x4000), 0x4000));
	cr_assert_not(nw_simmem_is_backed(s, nw_hpa(0x4000)));
	while (n)
		nw_hal_dealloc_frame(owner, pa[--n]);
	cr_assert_eq(nw_simmem_destroy(s), 0);
}

Test(simmem, direct_map_window_matches_checked_path)
{
	struct nw_simmem_config config = { .size = UINT64_C(1) << 24, .strict = true, .direct_map = true };
	struct nw_simmem *s = nw_simmem_create(&config);
	const struct nw_hal *owner = nw_simmem_owner(s, "t");
	nw_hpa_t pa;

	cr_assert_not_null(owner->direct_map);
	cr_assert_eq(owner->direct_map_size, UINT64_C(1) << 24);
	cr_assert(nw_hal_alloc_frame(owner, &pa));
	cr_assert_eq(nw_hal_phys_to_virt(owner, pa), owner->ops->phys_to_virt(owner->ctx, pa));
	nw_hal_dealloc_frame(owner, pa);
	cr_assert_eq(nw_simmem_destroy(s), 0);
}

/* The window (simmem.h): a frame nothing backs reads as zeros through it, so
 * a walk's plain copies never answer where the HAL finds no memory. 4-level
 * tables PML4 -> PDPT -> PD -> PT mapping GVA 0 (every entry P|RW|US|A), then
 * the PT's frame given back: the PDE still points at it. Reading the PTE is a
 * read of memory nothing backs, which the walk reports as no_memory at level 1
 * (not a CPU outcome: the host failed, not the guest), through the HAL, while
 * the plain copies, reading zeros through the window, decline. */
Test(simmem, window_reads_zero_where_nothing_backs_and_the_walk_says_no_memory)
{
	struct nw_simmem *s = make(UINT64_C(1) << 30, true, 7, false);
	const struct nw_hal *h = nw_simmem_owner(s, "vm");
	const uint64_t flags = NW_PTE_P | NW_PTE_RW | NW_PTE_US | NW_PTE_A;
	struct nw_hal_window window = nw_simmem_window(s);
	struct nw_walk_config config = { .hal = h, .stage2 = { .kind = NW_STAGE2_NONE }, .window = window };
	struct nw_access access = { .gva = nw_gva(0x10), .size = 1, .type = NW_ACCESS_READ };
	struct nw_cpu cpu = { .maxphyaddr = NW_MAXPHYADDR_DEFAULT };
	nw_hpa_t table[NW_LEVEL_PML4 + 1];
	struct nw_walker *walker;
	struct nw_walk_result res;
	struct nw_walk_hit hit;
	void *storage = malloc(nw_walker_size());

	cr_assert_not_null(storage);
	cr_assert_not_null(window.base, "no keep_freed: the host is a window");
	for (int level = NW_LEVEL_PT; level <= NW_LEVEL_PML4; level++) {
		cr_assert(nw_hal_alloc_frame(h, &table[level]));
		memset(nw_hal_phys_to_virt(h, table[level]), 0, NW_PAGE_SIZE);
	}
	for (int level = NW_LEVEL_PD; level <= NW_LEVEL_PML4; level++)
		*(uint64_t *)nw_hal_phys_to_virt(h, table[level]) = table[level - 1].val | flags;
	*(uint64_t *)nw_hal_phys_to_virt(h, table[NW_LEVEL_PT]) = 0x5000 | flags;
	nw_cpu_set_mode(&cpu, NW_PAGING_4LEVEL);
	cpu.cr3 = table[NW_LEVEL_PML4].val;
	walker = nw_walker_init(storage, &config, &cpu);
	cr_assert(nw_walker_probe(walker, &access, &hit), "every table backed: the plain copy answers");
	cr_assert_eq(hit.gpa.val, 0x5010);

	nw_hal_dealloc_frame(h, table[NW_LEVEL_PT]);
	cr_assert_eq(*(const uint64_t *)(window.base + table[NW_LEVEL_PT].val), 0, "a frame given back reads zero");
	cr_assert(!nw_walker_probe(walker, &access, &hit), "a zero entry is not present: the plain copy declines");
	nw_walker_translate(walker, &access, 0, &res);
	cr_assert_eq(res.outcome, NW_OUTCOME_NO_MEMORY, "outcome %s", nw_outcome_name(res.outcome));
	cr_assert_eq(res.fault_level, NW_LEVEL_PT);

	for (int level = NW_LEVEL_PD; level <= NW_LEVEL_PML4; level++)
		nw_hal_dealloc_frame(h, table[level]);
	free(storage);
	cr_assert_eq(nw_simmem_destroy(s), 0);
}

Test(simmem, keep_freed_host_is_no_window)
{
	struct nw_simmem_config config = { .size = UINT64_C(1) << 24, .keep_freed = true };
	struct nw_simmem *s = nw_simmem_create(&config);

	cr_assert_not_null(s);
	cr_assert_null(nw_simmem_window(s).base, "a freed frame keeps its bytes: nothing guarantees zeros");
	cr_assert_eq(nw_simmem_destroy(s), 0);
}

/* A claim of 1 GiB or more is a range: 1 TiB claimed on a 2 TiB host costs no per-frame byte (the process's resident
 * memory grows by far less than the 256 MiB a byte per frame would take), is backed at both ends, is never handed
 * out, refuses what overlaps it either way, and goes as a whole. */
Test(simmem, a_large_claim_is_a_range_that_costs_nothing_up_front)
{
	const uint64_t tib = UINT64_C(1) << 40;
	struct nw_simmem *s = make(2 * tib, true, 3, true);
	const struct nw_hal *owner = nw_simmem_owner(s, "t");
	nw_hpa_t pa[64];
	long before = resident_kib();

	cr_assert(nw_hal_alloc_frame(owner, &pa[0]));
	if (pa[0].val >= tib)
		cr_assert_not(nw_simmem_claim(s, nw_hpa(tib), tib), "an allocated frame cannot be claimed");
	else
		cr_assert_not(nw_simmem_claim(s, nw_hpa(0), tib), "an allocated frame cannot be claimed");
	nw_hal_dealloc_frame(owner, pa[0]);
	cr_assert(nw_simmem_claim(s, nw_hpa(tib), tib));
	cr_assert_lt(resident_kib() - before, 64 * 1024, "no byte per frame written");
	cr_assert(nw_simmem_is_backed(s, nw_hpa(tib)));
	cr_assert(nw_simmem_is_backed(s, nw_hpa(2 * tib - 1)));
	cr_assert_not(nw_simmem_is_backed(s, nw_hpa(tib - 1)));
	cr_assert_not_null(nw_hal_phys_to_virt(owner, nw_hpa(2 * tib - NW_PAGE_SIZE)));
	cr_assert_not(nw_simmem_claim(s, nw_hpa(2 * tib - NW_PAGE_SIZE), NW_PAGE_SIZE), "a small claim inside it");
	cr_assert_not(nw_simmem_claim(s, nw_hpa(tib / 2), tib), "a large claim across it");
	for (unsigned n = 0; n < 64; n++) {
		cr_assert(nw_hal_alloc_frame(owner, &pa[n]));
		cr_assert(pa[n].val < tib, "claimed frame handed out");
	}
	cr_assert_not(nw_simmem_unclaim(s, nw_hpa(tib), tib / 2), "a range goes as a whole");
	cr_assert(nw_simmem_unclaim(s, nw_hpa(tib), tib));
	cr_assert_not(nw_simmem_is_backed(s, nw_hpa(tib)));
	for (unsigned n = 0; n < 64; n++)
		nw_hal_dealloc_frame(owner, pa[n]);
	cr_assert_eq(nw_simmem_destroy(s), 0);
}
