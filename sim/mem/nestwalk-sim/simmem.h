/* Simulated host-physical memory behind the nestwalk HAL.
 *
 * The whole simulated range is reserved up front and backed only when
 * touched, so a 1 TiB host costs what its live frames use. Frames carry an
 * owner tag; each owner is a HAL of its own, so tests can count per VM. */
#ifndef NESTWALK_SIM_SIMMEM_H
#define NESTWALK_SIM_SIMMEM_H

#include <stdbool.h>
#include <stdint.h>

#include <nestwalk/cdefs.h>
#include <nestwalk/hal.h>

NW_BEGIN_DECLS

#define NW_SIMMEM_MAX_OWNERS 32

struct nw_simmem_config {
	uint64_t size;       /* bytes of simulated host memory; 0 means 4 GiB */
	bool randomize;      /* seeded random frame placement */
	uint64_t seed;
	bool strict;         /* abort with a message on a bad phys_to_virt */
	bool poison;         /* fill fresh frames with 0xA5 to catch reliance on zeroes */
	bool direct_map;     /* expose the direct-map window (fast, unchecked) */
	bool keep_freed;     /* freed frames stay resident (no madvise each): cheap reuse; reset returns them */
};

struct nw_simmem_stats {
	uint64_t live;       /* frames allocated and not freed */
	uint64_t high_water; /* most frames live at once */
	uint64_t allocs;     /* successful allocations */
	uint64_t failed;     /* allocations refused (exhausted or injected) */
};

struct nw_simmem;

struct nw_simmem *nw_simmem_create(const struct nw_simmem_config *config);
/* Returns the frames still live (leaks); the memory is released regardless. */
uint64_t nw_simmem_destroy(struct nw_simmem *sim);
/* Back to the state nw_simmem_create left: every frame free and zero, every
 * claim dropped, statistics and fault injection cleared, the same allocation
 * order again; owners keep their HALs. Returns the frames that were still
 * live (leaks). For one host reused by many short runs (fuzzing). */
uint64_t nw_simmem_reset(struct nw_simmem *sim);

/* A HAL whose frames are tagged with name; the same name gives the same HAL.
 * NULL when all owner slots are taken. */
const struct nw_hal *nw_simmem_owner(struct nw_simmem *sim, const char *name);
/* owner's HAL with the direct-map window over the whole host, whatever the
 * host's config says: the walkers' hot paths read through it unchecked, so
 * tests on a strict host can run them against the checked paths. */
struct nw_hal nw_simmem_direct_view(const struct nw_simmem *sim, const struct nw_hal *owner);
/* The whole host as a window for the walkers' plain copies (hal.h): a frame
 * nothing backs reads as zeros, since one never touched or given back holds
 * none. None (base NULL) when freed frames keep their bytes (keep_freed). */
struct nw_hal_window nw_simmem_window(const struct nw_simmem *sim);
struct nw_simmem_stats nw_simmem_stats(const struct nw_simmem *sim);
struct nw_simmem_stats nw_simmem_owner_stats(const struct nw_simmem *sim, const struct nw_hal *owner);
uint64_t nw_simmem_size(const struct nw_simmem *sim);
/* Prints every owner that still holds frames; returns the live count. */
uint64_t nw_simmem_report_leaks(const struct nw_simmem *sim, void *file);

/* Fault injection: the nth allocation from now fails (1 = the next one), 0
 * turns it off; and/or each allocation fails with probability p (seeded). */
void nw_simmem_fail_nth(struct nw_simmem *sim, uint64_t nth);
void nw_simmem_fail_random(struct nw_simmem *sim, double probability, uint64_t seed);

/* Mark a physical range as device or pass-through memory: it counts as backed
 * for phys_to_virt but is never handed out by the allocator. */
bool nw_simmem_claim(struct nw_simmem *sim, nw_hpa_t base, uint64_t size);
bool nw_simmem_unclaim(struct nw_simmem *sim, nw_hpa_t base, uint64_t size);
bool nw_simmem_is_backed(const struct nw_simmem *sim, nw_hpa_t pa);

NW_END_DECLS

#endif
