/* Resident memory of a large simulated host: reserve it, touch N frames, and
 * report what the process actually holds. Prints one JSON object. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <nestwalk/frame.h>

#include "mem/simmem.h"

static long resident_kib(void)
{
	long pages = 0, resident = 0;
	FILE *statm = fopen("/proc/self/statm", "r");

	if (!statm)
		return -1;
	if (fscanf(statm, "%ld %ld", &pages, &resident) != 2)
		resident = -1;
	fclose(statm);
	return resident < 0 ? -1 : resident * (sysconf(_SC_PAGESIZE) / 1024);
}

int main(int argc, char **argv)
{
	uint64_t host_gib = argc > 1 ? strtoull(argv[1], NULL, 0) : 64;
	unsigned frames = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 0) : 1000;
	struct nw_simmem_config config = { .size = host_gib << 30, .randomize = true, .seed = 1, .strict = true };
	struct nw_simmem *sim;
	struct nw_frame *held;
	const struct nw_hal *hal;
	long before, after;

	held = calloc(frames, sizeof(*held));
	before = resident_kib();
	sim = nw_simmem_create(&config);
	if (!sim || !held) {
		fprintf(stderr, "simmem_rss: cannot reserve %llu GiB\n", (unsigned long long)host_gib);
		return 2;
	}
	hal = nw_simmem_owner(sim, "rss");
	for (unsigned i = 0; i < frames; i++)
		if (nw_frame_alloc_zero(&held[i], hal) != NW_OK) {
			fprintf(stderr, "simmem_rss: allocation %u failed\n", i);
			return 2;
		}
	after = resident_kib();
	printf("{\"host_gib\": %llu, \"frames\": %u, \"touched_kib\": %u, \"rss_growth_kib\": %ld}\n",
	       (unsigned long long)host_gib, frames, frames * 4, after - before);
	for (unsigned i = 0; i < frames; i++)
		nw_frame_free(&held[i]);
	free(held);
	return nw_simmem_destroy(sim) == 0 ? 0 : 1;
}
