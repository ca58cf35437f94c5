/* What the second-stage format tests share for their fast-path sample: a
 * generator, a bit flip on a path through the engine, and the comparison of
 * a fast hit with the full translate. Include after fixture.h. */
#ifndef NESTWALK_TESTS_S2_UTIL_H
#define NESTWALK_TESTS_S2_UTIL_H

#include <nestwalk/pt_build.h>

#include "stage2_fast.h"

/* A small deterministic generator (xorshift64). */
static inline uint64_t s2_next(uint64_t *state)
{
	*state ^= *state << 13;
	*state ^= *state >> 7;
	*state ^= *state << 17;
	return *state;
}

/* Toggles bit of the entry at level on gpa's path; false when the engine
 * refuses the edit (a reshaped tree, a table address, below the path's end). */
static inline bool s2_flip(struct nw_pt *pt, uint64_t gpa, int level, uint64_t bit)
{
	uint64_t old;
	nw_status_t status = nw_pt_edit(pt, gpa, level, bit, 0, &old, 0);

	if (status == NW_OK && !(old & bit))
		status = nw_pt_edit(pt, gpa, level, 0, bit, 0, 0);
	cr_assert(status == NW_OK || status == NW_ERR_INVALID || status == NW_ERR_NOT_FOUND || status == NW_ERR_RANGE);
	return status == NW_OK;
}

/* A fast hit says what the full translate says. */
static inline void s2_expect_same(const struct nw_s2_fast *fast, const struct nw_s2_hit *hit,
				  const struct nw_s2_result *res, uint64_t gpa)
{
	cr_assert_eq(res->status, NW_S2_OK, "fast answered a fault at %#llx", (unsigned long long)gpa);
	cr_assert_eq(hit->hpa, res->hpa.val);
	cr_assert_eq(hit->level, res->level);
	cr_assert_eq(hit->page_size, res->page_size);
	cr_assert_eq(hit->refs, res->refs);
	cr_assert_eq(nw_s2_fast_rights(fast, hit), res->rights);
	cr_assert_eq(nw_s2_fast_memory_type(fast, hit), res->memory_type);
}

#endif
