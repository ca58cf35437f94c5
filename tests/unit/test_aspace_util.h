/* What the address-space tests of each second-stage format share: adding a
 * region that must be accepted, and translating a GPA through the address
 * space's second stage as the guest walker would. */
#ifndef NESTWALK_TESTS_ASPACE_UTIL_H
#define NESTWALK_TESTS_ASPACE_UTIL_H

#include <nestwalk/aspace.h>

#include "fixture.h"

static inline void add(struct nw_aspace *as, uint64_t base, uint64_t size, uint32_t flags, enum nw_region_type type)
{
	struct nw_region region = { .base = nw_gpa(base), .size = size, .flags = flags, .type = type };

	cr_assert_eq(nw_aspace_add_region(as, &region), NW_OK);
}

static inline void translate(struct nw_aspace *as, uint64_t gpa, enum nw_access_type type, struct nw_s2_result *res)
{
	struct nw_s2_request req = { .gpa = nw_gpa(gpa), .type = type };

	nw_stage2_translate(nw_aspace_stage2(as), &req, res);
}

#endif
