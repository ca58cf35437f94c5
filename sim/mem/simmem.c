#define _GNU_SOURCE
#include "mem/simmem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define FREE_SLOT 0
#define CLAIMED_SLOT 0xff /* device or pass-through memory, never allocated */
#define DEFAULT_SIZE (UINT64_C(4) << 30)
#define RESET_ZERO_MAX 4096 /* frames a reset zeroes in place; beyond that it returns the whole range at once */
#define CLAIM_PROBE_MAX 8192 /* claims up to this many frames (32 MiB) are probed for resident pages on reset */
/* A claim of this many frames (1 GiB) or more is kept as a range, its frames' owner_of bytes untouched: a pass-through
 * range of terabytes then costs nothing up front (marking it would write a byte per frame, 8 GiB for 32 TiB). */
#define RANGE_CLAIM_MIN (UINT64_C(1) << 18)

struct owner {
	struct nw_hal hal;
	struct nw_simmem *sim;
	char name[48];
	struct nw_simmem_stats stats;
};

struct nw_simmem {
	struct nw_simmem_config config;
	uint8_t *base;        /* simulated memory, reserved and backed on touch */
	uint8_t *owner_of;    /* per frame: FREE_SLOT, CLAIMED_SLOT or owner index + 1 */
	uint64_t frames;
	uint64_t next_fresh;  /* frames never handed out: indices next_fresh .. frames-2 */
	uint64_t *free_list;  /* frames returned, reused before fresh ones */
	uint64_t free_count, free_cap;
	struct claim { uint64_t first, count; } *claims; /* every claim since create or reset, for reset */
	uint64_t claim_count, claim_cap;
	struct claim *ranges; /* the claims of RANGE_CLAIM_MIN frames or more in force, not marked in owner_of */
	uint64_t range_count, range_cap;
	uint64_t permute_bits;
	uint64_t rng;
	uint64_t fail_countdown;
	double fail_probability;
	uint64_t fail_rng;
	struct nw_simmem_stats stats;
	struct owner owners[NW_SIMMEM_MAX_OWNERS];
	unsigned owner_count;
};

static uint64_t splitmix64(uint64_t *state)
{
	uint64_t z = (*state += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

/* A seeded bijection on [0, 2^bits): a balanced Feistel network. Cycle-walking
 * it into [0, n) gives random placement with O(1) time and no per-frame state. */
static uint64_t feistel(const struct nw_simmem *sim, uint64_t x)
{
	unsigned half = (unsigned)(sim->permute_bits + 1) / 2;
	uint64_t mask = (UINT64_C(1) << half) - 1;
	uint64_t left = x >> half, right = x & mask;

	for (unsigned round = 0; round < 4; round++) {
		uint64_t key = sim->config.seed + round;
		uint64_t f = (splitmix64(&key) ^ (right * UINT64_C(0xff51afd7ed558ccd))) & mask;
		uint64_t next = left ^ f;

		left = right;
		right = next;
	}
	return ((left << half) | right) & ((UINT64_C(1) << (2 * half)) - 1);
}

static uint64_t permute(const struct nw_simmem *sim, uint64_t index, uint64_t n)
{
	do
		index = feistel(sim, index);
	while (index >= n);
	return index;
}

static void *reserve(uint64_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static const struct nw_hal_ops simmem_ops;

struct nw_simmem *nw_simmem_create(const struct nw_simmem_config *config)
{
	struct nw_simmem *sim = calloc(1, sizeof(*sim));

	if (!sim)
		return NULL;
	sim->config = *config;
	if (!sim->config.size)
		sim->config.size = DEFAULT_SIZE;
	sim->config.size &= ~NW_PAGE_MASK;
	sim->frames = sim->config.size >> NW_PAGE_SHIFT;
	if (sim->frames < 2) {
		free(sim);
		return NULL;
	}
	sim->next_fresh = 0;
	sim->rng = config->seed ^ UINT64_C(0x5eed);
	while ((UINT64_C(1) << sim->permute_bits) < sim->frames - 1)
		sim->permute_bits++;
	if (sim->permute_bits < 2)
		sim->permute_bits = 2;
	sim->base = reserve(sim->config.size);
	sim->owner_of = reserve(sim->frames);
	if (!sim->base || !sim->owner_of) {
		nw_simmem_destroy(sim);
		return NULL;
	}
	return sim;
}

uint64_t nw_simmem_destroy(struct nw_simmem *sim)
{
	uint64_t live;

	if (!sim)
		return 0;
	live = sim->stats.live;
	if (sim->base)
		munmap(sim->base, sim->config.size);
	if (sim->owner_of)
		munmap(sim->owner_of, sim->frames);
	free(sim->free_list);
	free(sim->claims);
	free(sim->ranges);
	free(sim);
	return live;
}

/* The frame the index-th fresh allocation takes (take_frame's order). */
static uint64_t fresh_frame(const struct nw_simmem *sim, uint64_t index)
{
	return 1 + (sim->config.randomize ? permute(sim, index, sim->frames - 1) : index);
}

/* Zeroes a claimed range: only its resident pages, in place, when they are few (mincore tells which; a
 * claim is mostly untouched), else the whole range goes back to the kernel in one call. Either way the
 * pages read zero afterwards. */
static void zero_claimed(struct nw_simmem *sim, uint64_t first, uint64_t count)
{
	uint8_t *start = sim->base + (first << NW_PAGE_SHIFT);
	unsigned char resident[CLAIM_PROBE_MAX];
	uint64_t touched = 0;

	if (count > CLAIM_PROBE_MAX || mincore(start, count << NW_PAGE_SHIFT, resident) != 0) {
		madvise(start, count << NW_PAGE_SHIFT, MADV_DONTNEED);
		return;
	}
	for (uint64_t f = 0; f < count; f++)
		touched += resident[f] & 1;
	if (touched > RESET_ZERO_MAX / 4) {
		madvise(start, count << NW_PAGE_SHIFT, MADV_DONTNEED);
		return;
	}
	for (uint64_t f = 0; f < count; f++)
		if (resident[f] & 1)
			memset(start + (f << NW_PAGE_SHIFT), 0, NW_PAGE_SIZE);
}

uint64_t nw_simmem_reset(struct nw_simmem *sim)
{
	uint64_t live = sim->stats.live;

	/* Every frame handed out since the last reset is a fresh index below next_fresh: zero those few in
	 * place (they stay resident for the next run); many, and the whole range goes back in one call. */
	if (sim->next_fresh <= RESET_ZERO_MAX) {
		for (uint64_t i = 0; i < sim->next_fresh; i++) {
			uint64_t frame = fresh_frame(sim, i);

			if (sim->owner_of[frame] == CLAIMED_SLOT)
				continue; /* skipped by take_frame, or claimed after a free: zeroed below */
			memset(sim->base + (frame << NW_PAGE_SHIFT), 0, NW_PAGE_SIZE);
			sim->owner_of[frame] = FREE_SLOT;
		}
	} else {
		madvise(sim->base, sim->config.size, MADV_DONTNEED);
		madvise(sim->owner_of, sim->frames, MADV_DONTNEED);
	}
	for (uint64_t i = 0; i < sim->claim_count; i++) {
		const struct claim *c = &sim->claims[i];

		memset(sim->owner_of + c->first, FREE_SLOT, c->count);
		zero_claimed(sim, c->first, c->count);
	}
	for (uint64_t i = 0; i < sim->range_count; i++)
		zero_claimed(sim, sim->ranges[i].first, sim->ranges[i].count);
	sim->range_count = 0;
	sim->claim_count = 0;
	sim->free_count = 0;
	sim->next_fresh = 0;
	sim->rng = sim->config.seed ^ UINT64_C(0x5eed);
	sim->fail_countdown = 0;
	sim->fail_probability = 0.0;
	sim->fail_rng = 0;
	sim->stats = (struct nw_simmem_stats){ 0 };
	for (unsigned i = 0; i < sim->owner_count; i++)
		sim->owners[i].stats = (struct nw_simmem_stats){ 0 };
	return live;
}

const struct nw_hal *nw_simmem_owner(struct nw_simmem *sim, const char *name)
{
	struct owner *owner;

	for (unsigned i = 0; i < sim->owner_count; i++)
		if (strcmp(sim->owners[i].name, name) == 0)
			return &sim->owners[i].hal;
	if (sim->owner_count == NW_SIMMEM_MAX_OWNERS)
		return NULL;
	owner = &sim->owners[sim->owner_count++];
	snprintf(owner->name, sizeof(owner->name), "%s", name);
	owner->sim = sim;
	owner->hal.ops = &simmem_ops;
	owner->hal.ctx = owner;
	if (sim->config.direct_map) {
		owner->hal.direct_map = sim->base;
		owner->hal.direct_map_size = sim->config.size;
	}
	return &owner->hal;
}

struct nw_hal nw_simmem_direct_view(const struct nw_simmem *sim, const struct nw_hal *owner)
{
	struct nw_hal view = *owner;

	view.direct_map = sim->base;
	view.direct_map_size = sim->config.size;
	return view;
}

struct nw_hal_window nw_simmem_window(const struct nw_simmem *sim)
{
	if (sim->config.keep_freed)
		return (struct nw_hal_window){ NULL, 0 };
	return (struct nw_hal_window){ sim->base, sim->config.size };
}

static bool injected_failure(struct nw_simmem *sim)
{
	if (sim->fail_countdown && --sim->fail_countdown == 0)
		return true;
	if (sim->fail_probability > 0.0) {
		double roll = (double)(splitmix64(&sim->fail_rng) >> 11) / (double)(UINT64_C(1) << 53);

		return roll < sim->fail_probability;
	}
	return false;
}

static bool in_range_claim(const struct nw_simmem *sim, uint64_t frame)
{
	for (uint64_t i = 0; i < sim->range_count; i++)
		if (frame - sim->ranges[i].first < sim->ranges[i].count)
			return true;
	return false;
}

/* Neither allocated nor claimed. */
static bool is_unowned(const struct nw_simmem *sim, uint64_t frame)
{
	return sim->owner_of[frame] == FREE_SLOT && !in_range_claim(sim, frame);
}

/* Next unowned frame number, or 0 when memory is exhausted. */
static uint64_t take_frame(struct nw_simmem *sim)
{
	while (sim->free_count) {
		uint64_t pick = sim->config.randomize ? splitmix64(&sim->rng) % sim->free_count : sim->free_count - 1;
		uint64_t frame = sim->free_list[pick];

		sim->free_list[pick] = sim->free_list[--sim->free_count];
		if (is_unowned(sim, frame))
			return frame;
		/* claimed after it was freed: drop it from the list */
	}
	while (sim->next_fresh < sim->frames - 1) {
		/* frame 0 is never handed out: fresh frames are 1 .. frames-1 */
		uint64_t frame = fresh_frame(sim, sim->next_fresh++);

		if (is_unowned(sim, frame))
			return frame;
	}
	return 0;
}

static void count_alloc(struct nw_simmem_stats *stats)
{
	stats->allocs++;
	if (++stats->live > stats->high_water)
		stats->high_water = stats->live;
}

static bool simmem_alloc_frame(void *ctx, nw_hpa_t *out)
{
	struct owner *owner = ctx;
	struct nw_simmem *sim = owner->sim;
	uint64_t frame = injected_failure(sim) ? 0 : take_frame(sim);

	if (!frame) {
		sim->stats.failed++;
		owner->stats.failed++;
		return false;
	}
	sim->owner_of[frame] = (uint8_t)(owner - sim->owners + 1);
	count_alloc(&sim->stats);
	count_alloc(&owner->stats);
	if (sim->config.poison)
		memset(sim->base + (frame << NW_PAGE_SHIFT), 0xa5, NW_PAGE_SIZE);
	*out = nw_hpa(frame << NW_PAGE_SHIFT);
	return true;
}

/* count frames, count a power of two, aligned to count frames, none owned:
 * the first such run from the top of memory down (fresh frames are picked
 * one by one later and skip the ones taken here, as claimed frames). */
static bool simmem_alloc_frames(void *ctx, uint64_t count, nw_hpa_t *out)
{
	struct owner *owner = ctx;
	struct nw_simmem *sim = owner->sim;

	if (count == 0 || (count & (count - 1)) || count > sim->frames / 2 || injected_failure(sim)) {
		sim->stats.failed++;
		owner->stats.failed++;
		return false;
	}
	for (uint64_t first = (sim->frames - count) & ~(count - 1); first > 0; first -= count) {
		uint64_t free = 0;

		while (free < count && sim->owner_of[first + free] == FREE_SLOT)
			free++;
		if (free < count)
			continue;
		for (uint64_t frame = first; frame < first + count; frame++) {
			sim->owner_of[frame] = (uint8_t)(owner - sim->owners + 1);
			count_alloc(&sim->stats);
			count_alloc(&owner->stats);
		}
		if (sim->config.poison)
			memset(sim->base + (first << NW_PAGE_SHIFT), 0xa5, count * NW_PAGE_SIZE);
		*out = nw_hpa(first << NW_PAGE_SHIFT);
		return true;
	}
	sim->stats.failed++;
	owner->stats.failed++;
	return false;
}

static _Noreturn void misuse(const char *what, nw_hpa_t pa)
{
	fprintf(stderr, "simmem: %s: hpa 0x%llx\n", what, (unsigned long long)pa.val);
	abort();
}

static void simmem_dealloc_frame(void *ctx, nw_hpa_t pa)
{
	struct owner *owner = ctx;
	struct nw_simmem *sim = owner->sim;
	uint64_t frame = pa.val >> NW_PAGE_SHIFT;
	uint8_t tag = (uint8_t)(owner - sim->owners + 1);

	/* Freeing what this owner does not hold is always a caller bug. */
	if (!nw_is_page_aligned(pa.val) || frame >= sim->frames || sim->owner_of[frame] != tag)
		misuse("free of a frame this owner does not hold", pa);
	sim->owner_of[frame] = FREE_SLOT;
	if (!sim->config.keep_freed)
		madvise(sim->base + pa.val, NW_PAGE_SIZE, MADV_DONTNEED); /* give the memory back */
	if (sim->free_count == sim->free_cap) {
		uint64_t cap = sim->free_cap ? sim->free_cap * 2 : 1024;
		uint64_t *grown = realloc(sim->free_list, cap * sizeof(*grown));

		if (!grown)
			misuse("out of host memory for the free list", pa);
		sim->free_list = grown;
		sim->free_cap = cap;
	}
	sim->free_list[sim->free_count++] = frame;
	sim->stats.live--;
	owner->stats.live--;
}

bool nw_simmem_is_backed(const struct nw_simmem *sim, nw_hpa_t pa)
{
	uint64_t frame = pa.val >> NW_PAGE_SHIFT;

	return frame < sim->frames && (sim->owner_of[frame] != FREE_SLOT || in_range_claim(sim, frame));
}

static void *simmem_phys_to_virt(void *ctx, nw_hpa_t pa)
{
	struct owner *owner = ctx;
	struct nw_simmem *sim = owner->sim;

	if (nw_simmem_is_backed(sim, pa))
		return sim->base + pa.val;
	if (sim->config.strict)
		misuse(pa.val >> NW_PAGE_SHIFT < sim->frames ? "phys_to_virt of an unallocated frame"
							      : "phys_to_virt outside simulated memory",
		       pa);
	return NULL;
}

static const struct nw_hal_ops simmem_ops = {
	.alloc_frame = simmem_alloc_frame,
	.alloc_frames = simmem_alloc_frames,
	.dealloc_frame = simmem_dealloc_frame,
	.phys_to_virt = simmem_phys_to_virt,
};

struct nw_simmem_stats nw_simmem_stats(const struct nw_simmem *sim)
{
	return sim->stats;
}

struct nw_simmem_stats nw_simmem_owner_stats(const struct nw_simmem *sim, const struct nw_hal *hal)
{
	const struct owner *owner = hal->ctx;

	(void)sim;
	return owner->stats;
}

uint64_t nw_simmem_size(const struct nw_simmem *sim)
{
	return sim->config.size;
}

uint64_t nw_simmem_report_leaks(const struct nw_simmem *sim, void *file)
{
	for (unsigned i = 0; i < sim->owner_count; i++)
		if (sim->owners[i].stats.live)
			fprintf(file, "simmem: owner '%s' leaked %llu frame(s)\n", sim->owners[i].name,
				(unsigned long long)sim->owners[i].stats.live);
	return sim->stats.live;
}

void nw_simmem_fail_nth(struct nw_simmem *sim, uint64_t nth)
{
	sim->fail_countdown = nth;
}

void nw_simmem_fail_random(struct nw_simmem *sim, double probability, uint64_t seed)
{
	sim->fail_probability = probability;
	sim->fail_rng = seed;
}

static bool overlaps_range_claim(const struct nw_simmem *sim, uint64_t first, uint64_t count)
{
	for (uint64_t i = 0; i < sim->range_count; i++)
		if (first < sim->ranges[i].first + sim->ranges[i].count && sim->ranges[i].first < first + count)
			return true;
	return false;
}

/* Whether a frame in [first, first + count) is allocated or claimed, reading only what can be: the frames ever
 * handed out are fresh indices below next_fresh, the frames marked claimed lie in a claim of the history, and a
 * range claim is its own list; owner_of elsewhere in the range is FREE_SLOT and never read (a large range's bytes
 * stay untouched). */
static bool is_range_owned(const struct nw_simmem *sim, uint64_t first, uint64_t count)
{
	if (overlaps_range_claim(sim, first, count))
		return true;
	for (uint64_t i = 0; i < sim->claim_count; i++) {
		const struct claim *c = &sim->claims[i];
		uint64_t from = c->first > first ? c->first : first;
		uint64_t to = c->first + c->count < first + count ? c->first + c->count : first + count;

		for (uint64_t f = from; f < to; f++)
			if (sim->owner_of[f] != FREE_SLOT)
				return true;
	}
	if (sim->next_fresh >= count) {
		for (uint64_t f = first; f < first + count; f++)
			if (sim->owner_of[f] != FREE_SLOT)
				return true;
		return false;
	}
	for (uint64_t i = 0; i < sim->next_fresh; i++) {
		uint64_t frame = fresh_frame(sim, i);

		if (frame - first < count && sim->owner_of[frame] != FREE_SLOT)
			return true;
	}
	return false;
}

static bool record_claim(struct claim **list, uint64_t *used, uint64_t *cap, uint64_t first, uint64_t count)
{
	if (*used == *cap) {
		uint64_t grown_cap = *cap ? *cap * 2 : 16;
		struct claim *grown = realloc(*list, grown_cap * sizeof(*grown));

		if (!grown)
			return false;
		*list = grown;
		*cap = grown_cap;
	}
	(*list)[(*used)++] = (struct claim){ first, count };
	return true;
}

bool nw_simmem_claim(struct nw_simmem *sim, nw_hpa_t base, uint64_t size)
{
	uint64_t first = base.val >> NW_PAGE_SHIFT, count = size >> NW_PAGE_SHIFT;

	if (!nw_is_page_aligned(base.val) || !nw_is_page_aligned(size) || first >= sim->frames ||
	    count > sim->frames - first)
		return false;
	if (count >= RANGE_CLAIM_MIN)
		return !is_range_owned(sim, first, count) &&
		       record_claim(&sim->ranges, &sim->range_count, &sim->range_cap, first, count);
	if (overlaps_range_claim(sim, first, count))
		return false;
	for (uint64_t f = first; f < first + count; f++)
		if (sim->owner_of[f] != FREE_SLOT)
			return false;
	if (!record_claim(&sim->claims, &sim->claim_count, &sim->claim_cap, first, count))
		return false;
	memset(sim->owner_of + first, CLAIMED_SLOT, count);
	return true;
}

bool nw_simmem_unclaim(struct nw_simmem *sim, nw_hpa_t base, uint64_t size)
{
	uint64_t first = base.val >> NW_PAGE_SHIFT, count = size >> NW_PAGE_SHIFT;

	if (!nw_is_page_aligned(base.val) || !nw_is_page_aligned(size) || first >= sim->frames ||
	    count > sim->frames - first)
		return false;
	/* A range claim goes as a whole. */
	for (uint64_t i = 0; i < sim->range_count; i++)
		if (sim->ranges[i].first == first && sim->ranges[i].count == count) {
			sim->ranges[i] = sim->ranges[--sim->range_count];
			madvise(sim->base + base.val, size, MADV_DONTNEED);
			return true;
		}
	for (uint64_t f = first; f < first + count; f++)
		if (sim->owner_of[f] != CLAIMED_SLOT)
			return false;
	memset(sim->owner_of + first, FREE_SLOT, count);
	madvise(sim->base + base.val, size, MADV_DONTNEED);
	return true;
}
