/* Isolation: two address spaces on one simulated host never share a
 * MAP_ALLOC frame, whatever their region layouts (seeded random layouts,
 * some regions lazy and touched at random). */
#include <stdlib.h>

#include <nestwalk/aspace.h>

#include "fixture.h"

TestSuite(aspace_isolation, .init = fixture_setup, .fini = fixture_teardown);

#define RWX (NW_REGION_READ | NW_REGION_WRITE | NW_REGION_EXEC)
#define SLOTS 32                      /* candidate region slots of 1 MiB each */
#define MAX_PAGES 24

static uint64_t next(uint64_t *state)
{
	uint64_t z = (*state += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

struct frames {
	uint64_t hpa[SLOTS * MAX_PAGES];
	unsigned count;
};

/* Random regions in random 1 MiB slots, some lazy with random pages touched;
 * records the HPA of every populated page. */
static void build(struct nw_aspace *as, uint64_t *rng, struct frames *out)
{
	struct nw_aspace_config config = { .format = NW_STAGE2_EPT, .levels = 4, .memory_type = NW_ASPACE_MEMTYPE_WB };

	cr_assert_eq(nw_aspace_init(as, hal, &config), NW_OK);
	out->count = 0;
	for (unsigned slot = 0; slot < SLOTS; slot++) {
		uint64_t pages = 1 + next(rng) % MAX_PAGES;
		uint64_t base = (uint64_t)slot << 20 | (next(rng) % 64) << NW_PAGE_SHIFT;
		struct nw_region r = { .base = nw_gpa(base), .size = pages * NW_PAGE_SIZE, .flags = RWX,
				       .type = NW_REGION_ALLOC, .lazy = next(rng) & 1 };

		if (next(rng) % 4 == 0)
			continue;
		cr_assert_eq(nw_aspace_add_region(as, &r), NW_OK);
		for (uint64_t p = 0; p < pages; p++) {
			nw_gpa_t gpa = nw_gpa(base + p * NW_PAGE_SIZE);
			struct nw_aspace_exit exit;
			nw_hpa_t hpa;

			if (r.lazy && next(rng) % 2)
				cr_assert_eq(nw_aspace_resolve_fault(as, gpa, NW_ACCESS_READ, 1, &exit), NW_OK);
			if (nw_aspace_translate(as, gpa, &hpa) == NW_OK)
				out->hpa[out->count++] = hpa.val;
		}
	}
}

static int compare(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

Test(aspace_isolation, two_vms_never_share_an_allocated_frame)
{
	static struct frames a, b;
	unsigned layouts = getenv("NESTWALK_FULL_MATRIX") ? 200 : 20;

	for (uint64_t seed = 1; seed <= layouts; seed++) {
		struct nw_aspace vm_a, vm_b;
		uint64_t rng = seed;
		unsigned i = 0, j = 0;
		nw_gpa_t gpa;

		build(&vm_a, &rng, &a);
		build(&vm_b, &rng, &b);
		cr_assert_gt(a.count, 0);
		cr_assert_gt(b.count, 0);
		for (unsigned k = 0; k < a.count; k++)
			cr_assert_eq(nw_aspace_reverse(&vm_b, nw_hpa(a.hpa[k]), &gpa), NW_ERR_NOT_FOUND,
				     "seed %llu: vm b claims vm a's frame", (unsigned long long)seed);
		qsort(a.hpa, a.count, sizeof(a.hpa[0]), compare);
		qsort(b.hpa, b.count, sizeof(b.hpa[0]), compare);
		while (i < a.count && j < b.count) {
			cr_assert_neq(a.hpa[i], b.hpa[j], "seed %llu: frame 0x%llx in both VMs",
				      (unsigned long long)seed, (unsigned long long)a.hpa[i]);
			if (a.hpa[i] < b.hpa[j])
				i++;
			else
				j++;
		}
		for (unsigned k = 1; k < a.count; k++)
			cr_assert_neq(a.hpa[k - 1], a.hpa[k], "seed %llu: a frame mapped twice in one VM",
				      (unsigned long long)seed);
		nw_aspace_destroy(&vm_a);
		nw_aspace_destroy(&vm_b);
		cr_assert_eq(nw_simmem_stats(sim).live, 0);
	}
}
