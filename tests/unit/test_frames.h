/* Zeroed host frames a test takes one at a time (or as a run aligned to its
 * size) to write tables into entry by entry, and gives back at its end, so
 * fixture.h's teardown finds none left. */
#ifndef NESTWALK_TESTS_FRAMES_H
#define NESTWALK_TESTS_FRAMES_H

#include <string.h>

#include "fixture.h"

#define TEST_FRAMES_MAX 32

struct test_frames {
	nw_hpa_t frame[TEST_FRAMES_MAX];
	unsigned count;
};

/* count contiguous zeroed frames aligned to their size (a table larger than 4 KiB); the first's address. */
static inline uint64_t test_frames_take_run(struct test_frames *f, unsigned count)
{
	nw_hpa_t first;

	cr_assert_leq(f->count + count, TEST_FRAMES_MAX);
	cr_assert(nw_hal_alloc_frames(hal, count, &first));
	for (unsigned i = 0; i < count; i++) {
		f->frame[f->count] = nw_hpa(first.val + i * NW_PAGE_SIZE);
		memset(nw_hal_phys_to_virt(hal, f->frame[f->count]), 0, NW_PAGE_SIZE);
		f->count++;
	}
	return first.val;
}

/* One zeroed frame. */
static inline uint64_t test_frames_take(struct test_frames *f)
{
	nw_hpa_t one;

	cr_assert_lt(f->count, TEST_FRAMES_MAX);
	cr_assert(nw_hal_alloc_frame(hal, &one));
	memset(nw_hal_phys_to_virt(hal, one), 0, NW_PAGE_SIZE);
	f->frame[f->count++] = one;
	return one.val;
}

static inline void test_frames_free(struct test_frames *f)
{
	for (unsigned i = 0; i < f->count; i++)
		nw_hal_dealloc_frame(hal, f->frame[i]);
	f->count = 0;
}

/* Entry index of the 8-byte-entry table at host address table. */
static inline uint64_t *test_slot(uint64_t table, unsigned index)
{
	return (uint64_t *)nw_hal_phys_to_virt(hal, nw_hpa(table)) + index;
}

#endif
