/* What the tests of a fast walker against its reference walk share (test_arm64_fast.c, test_riscv_fast.c): a
 * seeded xorshift, the walker's storage, a result and a translation compared field by field, the probe held to
 * the walk, and
 * the run over random worlds with and without a second stage, asserting that the plain copies answered a real
 * share of the translations (else the test would compare the reference with itself). */
#ifndef NESTWALK_TESTS_FAST_AGREE_H
#define NESTWALK_TESTS_FAST_AGREE_H

#include <stdlib.h>

#include "fixture.h"

static uint64_t rng_state;

static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static bool chance(unsigned percent)
{
	return rnd() % 100 < percent;
}

/* Storage for one walker, aligned as walk.h asks; free() ends it. */
static void *fast_agree_storage(void)
{
	return aligned_alloc(NW_WALKER_ALIGN, (nw_walker_size() + NW_WALKER_ALIGN - 1) & ~(size_t)(NW_WALKER_ALIGN - 1));
}

/* The fields of a translation (ref's outcome OK). */
static void fast_agree_translation(const struct nw_walk_result *fast, const struct nw_walk_result *ref, uint64_t va)
{
	cr_assert_eq(fast->gpa.val, ref->gpa.val, "va %#llx", (unsigned long long)va);
	cr_assert_eq(fast->hpa.val, ref->hpa.val);
	cr_assert_eq(fast->guest_page_size, ref->guest_page_size);
	cr_assert_eq(fast->s2_page_size, ref->s2_page_size);
	cr_assert_eq(fast->rights, ref->rights);
	cr_assert_eq(fast->s2_rights, ref->s2_rights);
	cr_assert_eq(fast->leaf_entry, ref->leaf_entry);
	cr_assert_eq(fast->leaf_level, ref->leaf_level);
	cr_assert_eq(fast->memory_type, ref->memory_type, "va %#llx memory type", (unsigned long long)va);
	cr_assert_eq(fast->guest_pat_index, ref->guest_pat_index);
}

/* What both architectures' results compare beyond their syndromes: the outcome, the references, and a
 * translation's fields when the reference translates. */
static void fast_agree_result(const struct nw_walk_result *fast, const struct nw_walk_result *ref, uint64_t va)
{
	cr_assert_eq(fast->outcome, ref->outcome, "va %#llx: outcome %s, reference %s", (unsigned long long)va,
		     nw_outcome_name(fast->outcome), nw_outcome_name(ref->outcome));
	cr_assert_eq(fast->refs, ref->refs, "va %#llx refs %u, reference %u", (unsigned long long)va, fast->refs,
		     ref->refs);
	if (ref->outcome == NW_OUTCOME_OK)
		fast_agree_translation(fast, ref, va);
}

/* A probe that answers gives the reference's translation; returns whether it answered. */
static unsigned fast_agree_probe(const struct nw_walker *walker, const struct nw_access *access,
				 const struct nw_walk_result *ref)
{
	struct nw_walk_hit hit;

	if (!nw_walker_probe(walker, access, &hit))
		return 0;
	cr_assert_eq(ref->outcome, NW_OUTCOME_OK, "a plain answer the reference refuses");
	cr_assert_eq(hit.hpa.val, ref->hpa.val);
	cr_assert_eq(hit.refs, ref->refs);
	return 1;
}

/* 60 worlds each way; run_world returns the probes answered, counts the walks and the translations the plain
 * copies could have given. */
static void fast_agree_run(unsigned (*run_world)(bool two_d, unsigned *walks, unsigned *ok))
{
	unsigned walks = 0, plain_1d = 0, plain_2d = 0, ok_1d = 0, ok_2d = 0;

	rng_state = UINT64_C(0x9e3779b97f4a7c15);
	for (unsigned i = 0; i < 60; i++) {
		plain_1d += run_world(false, &walks, &ok_1d);
		plain_2d += run_world(true, &walks, &ok_2d);
	}
	cr_log_info("%u walks; 1-D: %u translated, %u plain; 2-D: %u translated, %u plain", walks, ok_1d, plain_1d, ok_2d,
		    plain_2d);
	cr_assert_gt(plain_1d, ok_1d / 4, "1-D plain %u of %u translations", plain_1d, ok_1d);
	cr_assert_gt(plain_2d, ok_2d / 4, "2-D plain %u of %u translations", plain_2d, ok_2d);
}

#endif
