/* The probe held against both walkers (test_walk_util.h), shared by the probe's
 * matrices (test_walk_probe.c) and the case file's cases (test_cases.c): a
 * simulated host with its direct-map window (the probe reads tables only
 * through it), and one access run through the probe, the reference walker and
 * the fast walker from the same memory. */
#ifndef NESTWALK_TESTS_PROBE_UTIL_H
#define NESTWALK_TESTS_PROBE_UTIL_H

#include <nestwalk/walk.h>
#include <stdio.h>

#include "test_walk_util.h"

/* The walk fixture (tw_setup) over a host with a direct-map window. */
static inline void tw_setup_direct_map(unsigned maxphyaddr)
{
	fixture_setup_host(true);
	memset(&tw, 0, sizeof(tw));
	tw.config.hal = hal;
	tw.config.stage2.kind = NW_STAGE2_NONE;
	tw.cpu.maxphyaddr = maxphyaddr;
}

/* The hit's fields against the same fields of a walk result. */
static inline void tw_assert_hit_is(const struct nw_walk_hit *hit, const struct nw_walk_result *res, const char *what)
{
	cr_assert_eq(res->outcome, NW_OUTCOME_OK, "%s: the probe answered, the walk gave %s", what,
		     nw_outcome_name(res->outcome));
	cr_assert_eq(hit->gpa.val, res->gpa.val, "%s: gpa %#llx, walk %#llx", what, (unsigned long long)hit->gpa.val,
		     (unsigned long long)res->gpa.val);
	cr_assert_eq(hit->hpa.val, res->hpa.val, "%s: hpa", what);
	cr_assert_eq(hit->leaf_entry, res->leaf_entry, "%s: leaf entry", what);
	cr_assert_eq(hit->guest_page_size, res->guest_page_size, "%s: guest page size", what);
	cr_assert_eq(hit->s2_page_size, res->s2_page_size, "%s: stage-2 page size", what);
	cr_assert_eq(hit->rights, res->rights, "%s: rights %#x, walk %#x", what, hit->rights, res->rights);
	cr_assert_eq(hit->s2_rights, res->s2_rights, "%s: stage-2 rights", what);
	cr_assert_eq(hit->memory_type, res->memory_type, "%s: memory type", what);
	cr_assert_eq(hit->guest_pat_index, res->guest_pat_index, "%s: PAT index", what);
	cr_assert_eq(hit->leaf_level, res->leaf_level, "%s: leaf level", what);
	cr_assert_eq(hit->refs, res->refs, "%s: refs %u, walk %u", what, hit->refs, res->refs);
	cr_assert_eq(res->ad_writes, 0, "%s: the probe answered, the walk wrote %u A/D flag(s)", what, res->ad_writes);
}

/* The modes nw_walker_probe() walks (walk.h): 4- and 5-level paging; in the others it declines. */
static inline bool tw_probe_walks(enum nw_paging_mode mode)
{
	return mode == NW_PAGING_4LEVEL || mode == NW_PAGING_5LEVEL;
}

static inline bool tw_guest_memory_changed(const uint64_t *before)
{
	for (unsigned i = 0; i < tw.nslots; i++)
		if (tw_read(tw.slots[i].hpa, tw.slots[i].bytes) != before[i])
			return true;
	return false;
}

/* One access: the probe, then both walkers from the same memory (they must
 * agree, tw_walk_with), then the probe's answer held against theirs. With
 * flags_only_in_guest, a declined translation must have written a guest
 * entry (no stage-2 A/D can be due); outside 4-/5-level paging the probe
 * must decline. res gets the walkers' result. Returns
 * whether the access translates (the probe answered at first or once the
 * flags were set). */
static inline bool tw_probe_and_walk(struct nw_walker *walker, const struct nw_access *access,
				     bool flags_only_in_guest, const char *what, struct nw_walk_result *res)
{
	uint64_t before[TW_MAX_SLOTS];
	struct nw_walk_hit hit, again;
	struct nw_walk_result twice;
	bool answered;

	tw_snapshot(before);
	memset(&hit, 0xa5, sizeof(hit));
	answered = nw_walker_probe(walker, access, &hit);
	cr_assert(!tw_guest_memory_changed(before), "%s: the probe wrote a guest entry", what);
	cr_assert(!answered || tw_probe_walks(nw_cpu_paging_mode(&tw.cpu)), "%s: the probe answered in %s paging",
		  what, nw_paging_mode_name(nw_cpu_paging_mode(&tw.cpu)));
	tw_walk_with(walker, access, 0, res);
	if (answered) {
		tw_assert_hit_is(&hit, res, what);
		cr_assert(!tw_guest_memory_changed(before), "%s: the probe answered, the walk wrote a guest entry",
			  what);
		return true;
	}
	if (res->outcome != NW_OUTCOME_OK)
		return false;
	if (!tw_probe_walks(nw_cpu_paging_mode(&tw.cpu)))
		return true;
	/* Declined a translation: only for a flag the walk had to set. */
	if (flags_only_in_guest)
		cr_assert(tw_guest_memory_changed(before), "%s: the probe declined a translation that wrote nothing",
			  what);
	cr_assert(nw_walker_probe(walker, access, &again), "%s: the probe declines even with the flags set", what);
	nw_walker_translate(walker, access, 0, &twice);
	tw_assert_hit_is(&again, &twice, what);
	return true;
}

#endif
