/* Table building (`nestwalk bench`'s "map" figures): ns per 4 KiB page to map,
 * unmap, map over tables already there, query and protect the large layout's
 * pages in a 4-level EPT, one library call per page, ascending and in a random
 * order. */
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"

#define MAP_HOST_SIZE (UINT64_C(1) << 30) /* the tables' frames; the leaves point past it */
#define MAP_HPA (UINT64_C(1) << 40)
#define MAP_FLAGS (NW_EPT_R | NW_EPT_W | NW_EPT_X | nw_ept_mt(NW_EPT_MT_WB))
#define MAP_SAMPLES_MAX 3 /* each sample is already npages calls */

struct map_run {
	struct nw_ept ept;
	const uint64_t *order; /* page numbers in the order they are visited */
	uint64_t npages;
};

static uint64_t gpa_of(uint64_t page)
{
	return page << NW_PAGE_SHIFT;
}

/* One EPT page table covers 512 pages; its first page pins it while the others come and go. */
static bool is_pin(uint64_t page)
{
	return (page & 511) == 0;
}

static int fail(const char *what, uint64_t page, nw_status_t status)
{
	fprintf(stderr, "nestwalk bench: %s of page %llu: %s\n", what, (unsigned long long)page,
		nw_status_name(status));
	return -1;
}

static int map_pages(struct map_run *run, bool skip_pins, double *ns)
{
	double start = bench_now_ns();
	uint64_t done = 0;

	for (uint64_t i = 0; i < run->npages; i++) {
		uint64_t page = run->order[i];
		nw_status_t status;

		if (skip_pins && is_pin(page))
			continue;
		status = nw_ept_map(&run->ept, nw_gpa(gpa_of(page)), nw_hpa(MAP_HPA + gpa_of(page)), NW_PAGE_SIZE,
				    MAP_FLAGS, 0, NULL);
		if (status != NW_OK)
			return fail("map", page, status);
		done++;
	}
	*ns = (bench_now_ns() - start) / (double)done;
	return 0;
}

static int query_pages(const struct map_run *run, double *ns)
{
	double start = bench_now_ns();

	for (uint64_t i = 0; i < run->npages; i++) {
		uint64_t page = run->order[i];
		struct nw_s2_mapping m;
		nw_status_t status = nw_ept_query(&run->ept, nw_gpa(gpa_of(page)), &m);

		if (status != NW_OK)
			return fail("query", page, status);
		if (m.hpa.val != MAP_HPA + gpa_of(page))
			return fail("query (wrong address)", page, NW_ERR_INVALID);
	}
	*ns = (bench_now_ns() - start) / (double)run->npages;
	return 0;
}

/* Each page read-only (from read-write-execute): a rewrite of a leaf in use, so an INVEPT is due each time. */
static int protect_pages(struct map_run *run, double *ns)
{
	double start = bench_now_ns();

	for (uint64_t i = 0; i < run->npages; i++) {
		bool invept = false;
		nw_status_t status = nw_ept_protect(&run->ept, nw_gpa(gpa_of(run->order[i])), NW_PAGE_SIZE, NW_EPT_R,
						    &invept);

		if (status != NW_OK)
			return fail("protect", run->order[i], status);
		if (!invept)
			return fail("protect (no INVEPT due)", run->order[i], NW_ERR_INVALID);
	}
	*ns = (bench_now_ns() - start) / (double)run->npages;
	return 0;
}

static int unmap_pages(struct map_run *run, double *ns)
{
	double start = bench_now_ns();

	for (uint64_t i = 0; i < run->npages; i++) {
		nw_status_t status = nw_ept_unmap(&run->ept, nw_gpa(gpa_of(run->order[i])), NW_PAGE_SIZE, NULL);

		if (status != NW_OK)
			return fail("unmap", run->order[i], status);
	}
	*ns = (bench_now_ns() - start) / (double)run->npages;
	return 0;
}

/* One pass over the five figures; the EPT is empty (the root alone) before and after. */
static int map_sample(struct map_run *run, struct bench_map_order *sample)
{
	bool ignored = false;

	if (map_pages(run, false, &sample->fresh_ns) || query_pages(run, &sample->query_ns) ||
	    protect_pages(run, &sample->protect_ns) || unmap_pages(run, &sample->unmap_ns))
		return -1;
	if (nw_ept_table_count(&run->ept) != 1) {
		fprintf(stderr, "nestwalk bench: unmapping every page left %llu tables\n",
			(unsigned long long)nw_ept_table_count(&run->ept));
		return -1;
	}
	for (uint64_t page = 0; page < run->npages; page += 512)
		if (nw_ept_map(&run->ept, nw_gpa(gpa_of(page)), nw_hpa(MAP_HPA + gpa_of(page)), NW_PAGE_SIZE, MAP_FLAGS,
			       0, NULL) != NW_OK)
			return fail("map (pin)", page, NW_ERR_NOMEM);
	if (map_pages(run, true, &sample->present_ns))
		return -1;
	return nw_ept_unmap(&run->ept, nw_gpa(0), gpa_of(run->npages), &ignored) == NW_OK ? 0 : -1;
}

static void shuffle(uint64_t *order, uint64_t n)
{
	uint64_t x = UINT64_C(0x9e3779b97f4a7c15);

	for (uint64_t i = n - 1; i > 0; i--) {
		uint64_t j, t;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		j = x % (i + 1);
		t = order[i];
		order[i] = order[j];
		order[j] = t;
	}
}

static double least(double a, double b)
{
	return b < a ? b : a;
}

static int map_order(struct nw_simmem *sim, const struct nw_hal *hal, struct map_run *run, unsigned samples,
		     struct bench_map_order *out)
{
	struct nw_ept_config config = { .levels = 4, .memory_type = NW_EPT_MT_WB, .caps = nw_ept_caps_all() };

	*out = (struct bench_map_order){ .fresh_ns = 1e300, .unmap_ns = 1e300, .present_ns = 1e300,
					 .query_ns = 1e300, .protect_ns = 1e300 };
	if (nw_ept_create(&run->ept, hal, &config) != NW_OK)
		return fail("create", 0, NW_ERR_NOMEM);
	for (unsigned s = 0; s < samples; s++) {
		struct bench_map_order sample;

		if (map_sample(run, &sample)) {
			nw_ept_destroy(&run->ept);
			return -1;
		}
		out->fresh_ns = least(out->fresh_ns, sample.fresh_ns);
		out->query_ns = least(out->query_ns, sample.query_ns);
		out->unmap_ns = least(out->unmap_ns, sample.unmap_ns);
		out->present_ns = least(out->present_ns, sample.present_ns);
		out->protect_ns = least(out->protect_ns, sample.protect_ns);
	}
	nw_ept_destroy(&run->ept);
	return nw_simmem_owner_stats(sim, hal).live == 0 ? 0 : fail("teardown (frames leaked)", 0, NW_ERR_INVALID);
}

int bench_map_run(uint64_t npages, unsigned samples, struct bench_map *out)
{
	struct nw_simmem_config host = { .size = MAP_HOST_SIZE, .direct_map = true, .keep_freed = true };
	struct nw_simmem *sim = nw_simmem_create(&host);
	const struct nw_hal *hal = sim ? nw_simmem_owner(sim, "bench map") : NULL;
	uint64_t *order = malloc(npages * sizeof(*order));
	struct map_run run = { .order = order, .npages = npages };
	int rc = -1;

	*out = (struct bench_map){ .pages = npages };
	if (samples > MAP_SAMPLES_MAX)
		samples = MAP_SAMPLES_MAX;
	if (hal && order) {
		for (uint64_t i = 0; i < npages; i++)
			order[i] = i;
		rc = map_order(sim, hal, &run, samples, &out->ascending);
		shuffle(order, npages);
		if (rc == 0)
			rc = map_order(sim, hal, &run, samples, &out->random);
	} else {
		fprintf(stderr, "nestwalk bench: out of host memory for the map figures\n");
	}
	free(order);
	if (sim)
		nw_simmem_destroy(sim);
	return rc;
}
