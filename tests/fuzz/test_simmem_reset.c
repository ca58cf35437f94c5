/* nw_simmem_reset, which lets a fuzz target keep one simulated host for all its
 * inputs: after a reset the host must behave exactly as a new one (frames free
 * and zero, claims gone, allocation order from the start, counters and fault
 * injection cleared) and a frame leaked by one input must still be reported. */
#include <criterion/criterion.h>
#include <string.h>

#include "mem/simmem.h"

static struct nw_simmem *sim;
static const struct nw_hal *hal;

static void open_host(bool randomize, bool keep_freed)
{
	struct nw_simmem_config config = { .size = UINT64_C(64) << 20, .randomize = randomize, .seed = 7,
					   .strict = true, .keep_freed = keep_freed };

	sim = nw_simmem_create(&config);
	cr_assert_not_null(sim);
	hal = nw_simmem_owner(sim, "reset");
	cr_assert_not_null(hal);
}

/* Each test ends with every frame freed: the host reports no leak. */
static void close_host(void)
{
	cr_assert_eq(nw_simmem_destroy(sim), 0, "frames leaked");
}

static uint64_t alloc_hpa(void)
{
	nw_hpa_t pa;

	cr_assert(nw_hal_alloc_frame(hal, &pa));
	return pa.val;
}

static bool is_zero_frame(uint64_t hpa)
{
	const uint8_t *p = nw_hal_phys_to_virt(hal, nw_hpa(hpa));

	for (unsigned i = 0; i < NW_PAGE_SIZE; i++)
		if (p[i])
			return false;
	return true;
}

Test(simmem_reset, reports_leaks_and_frees_everything)
{
	open_host(false, false);
	for (int i = 0; i < 3; i++)
		memset(nw_hal_phys_to_virt(hal, nw_hpa(alloc_hpa())), 0xff, NW_PAGE_SIZE);
	cr_assert_eq(nw_simmem_reset(sim), 3, "three frames were live");
	cr_assert_eq(nw_simmem_stats(sim).live, 0);
	cr_assert_eq(nw_simmem_stats(sim).allocs, 0);
	cr_assert_eq(nw_simmem_owner_stats(sim, hal).live, 0);
	cr_assert_not(nw_simmem_is_backed(sim, nw_hpa(0x1000)), "frame 1 is free after the reset");
	cr_assert_eq(nw_simmem_reset(sim), 0, "nothing live the second time");
	close_host();
}

/* Sequential placement hands out frame 1, 2, 3 ... (frame 0 never): the same after a reset, and zeroed. */
Test(simmem_reset, same_order_and_zero_memory)
{
	open_host(false, true);
	cr_assert_eq(alloc_hpa(), 0x1000);
	cr_assert_eq(alloc_hpa(), 0x2000);
	memset(nw_hal_phys_to_virt(hal, nw_hpa(0x2000)), 0x5a, NW_PAGE_SIZE);
	nw_hal_dealloc_frame(hal, nw_hpa(0x2000));
	nw_hal_dealloc_frame(hal, nw_hpa(0x1000));
	cr_assert_eq(nw_simmem_reset(sim), 0);
	cr_assert_eq(alloc_hpa(), 0x1000, "the free list is forgotten: fresh frames from the start");
	cr_assert_eq(alloc_hpa(), 0x2000);
	cr_assert(is_zero_frame(0x2000), "a frame written before the reset reads zero after it");
	nw_hal_dealloc_frame(hal, nw_hpa(0x1000));
	nw_hal_dealloc_frame(hal, nw_hpa(0x2000));
	close_host();
}

Test(simmem_reset, random_order_restarts)
{
	uint64_t first[8];

	open_host(true, true);
	for (int i = 0; i < 8; i++)
		first[i] = alloc_hpa();
	cr_assert_eq(nw_simmem_reset(sim), 8);
	for (int i = 0; i < 8; i++)
		cr_assert_eq(alloc_hpa(), first[i], "allocation %d after the reset", i);
	cr_assert_eq(nw_simmem_reset(sim), 8);
	close_host();
}

Test(simmem_reset, claims_dropped_and_zeroed)
{
	uint8_t *p;

	open_host(false, false);
	cr_assert(nw_simmem_claim(sim, nw_hpa(UINT64_C(16) << 20), UINT64_C(2) << 20));
	p = nw_hal_phys_to_virt(hal, nw_hpa((UINT64_C(16) << 20) + 0x3000));
	memset(p, 0x77, NW_PAGE_SIZE);
	cr_assert_eq(nw_simmem_reset(sim), 0, "claimed memory is not a leak");
	cr_assert_not(nw_simmem_is_backed(sim, nw_hpa((UINT64_C(16) << 20) + 0x3000)), "the claim is gone");
	cr_assert(nw_simmem_claim(sim, nw_hpa(UINT64_C(16) << 20), UINT64_C(2) << 20), "the range can be claimed again");
	cr_assert(is_zero_frame((UINT64_C(16) << 20) + 0x3000), "claimed memory written before the reset reads zero");
	close_host();
}

Test(simmem_reset, clears_fault_injection)
{
	nw_hpa_t pa;

	open_host(false, false);
	nw_simmem_fail_nth(sim, 1);
	nw_simmem_reset(sim);
	cr_assert(nw_hal_alloc_frame(hal, &pa), "a fail-nth set before the reset does not fire after it");
	nw_simmem_fail_random(sim, 1.0, 3);
	nw_simmem_reset(sim);
	cr_assert(nw_hal_alloc_frame(hal, &pa), "random failures set before the reset stop");
	cr_assert_eq(nw_simmem_stats(sim).failed, 0);
	nw_hal_dealloc_frame(hal, pa);
	close_host();
}

/* More frames than a reset zeroes one by one (4096): the whole range is returned at once, still all zero. */
Test(simmem_reset, many_frames)
{
	enum { N = 5000 };

	open_host(false, true);
	for (int i = 0; i < N; i++)
		*(uint64_t *)nw_hal_phys_to_virt(hal, nw_hpa(alloc_hpa())) = ~UINT64_C(0);
	cr_assert_eq(nw_simmem_reset(sim), N);
	for (int i = 0; i < N; i++) {
		uint64_t hpa = alloc_hpa();

		cr_assert_eq(hpa, (uint64_t)(i + 1) << NW_PAGE_SHIFT);
		cr_assert_eq(*(uint64_t *)nw_hal_phys_to_virt(hal, nw_hpa(hpa)), 0, "frame %d", i + 1);
	}
	cr_assert_eq(nw_simmem_reset(sim), N);
	close_host();
}
