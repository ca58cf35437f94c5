/* A seeded SplitMix64 sequence for the random-sequence tests: one seed, one
 * sequence, on every host. */
#ifndef NESTWALK_TESTS_SPLITMIX_H
#define NESTWALK_TESTS_SPLITMIX_H

#include <stdint.h>

static uint64_t rng_state;

static inline uint64_t rnd(void)
{
	uint64_t z = (rng_state += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

/* 0 .. n-1 (n > 0). */
static inline uint64_t below(uint64_t n)
{
	return rnd() % n;
}

#endif
