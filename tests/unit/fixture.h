/* Shared Criterion fixture: a fresh simulated host per test, strict (a bad
 * phys_to_virt aborts) and poisoned (fresh frames are not zero), whose
 * teardown fails the test if any frame is still live. */
#ifndef NESTWALK_TESTS_FIXTURE_H
#define NESTWALK_TESTS_FIXTURE_H

#include <criterion/criterion.h>
#include <stdio.h>

#include "mem/simmem.h"

static struct nw_simmem *sim;
static const struct nw_hal *hal;

/* The host, with the direct-map window the walkers' plain copies read through or without. */
static inline void fixture_setup_host(bool direct_map)
{
	struct nw_simmem_config config = {
		.size = UINT64_C(1) << 32, .randomize = true, .seed = 42, .strict = true, .poison = true,
		.direct_map = direct_map,
	};

	sim = nw_simmem_create(&config);
	cr_assert_not_null(sim);
	hal = nw_simmem_owner(sim, "test");
	cr_assert_not_null(hal);
}

static inline void fixture_setup(void)
{
	fixture_setup_host(false);
}

static inline void fixture_teardown(void)
{
	uint64_t leaked = nw_simmem_report_leaks(sim, stderr);

	nw_simmem_destroy(sim);
	cr_assert_eq(leaked, 0, "%llu frame(s) leaked", (unsigned long long)leaked);
}

#endif
