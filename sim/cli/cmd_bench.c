/* nestwalk bench: ns per 1-D and 2-D walk, x86, AArch64 and RISC-V (fast and reference walkers, and
 * the fast walker's probe), each as a ratio to a native pointer chain of the
 * same depth and footprint, and resident memory per VM and per million mapped pages. A table on the
 * terminal, or --json / --csv for scripts (bench/run draws the plots). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "cli/cli.h"
#include "io/file_out.h"

#define HOT_PAGES 64
#define LARGE_PAGES (UINT64_C(1) << 20)
#define MAX_CASES 40
#define FLOOR_DEPTHS 6

/* The depths of the walks: 1-D with 3, 4 or 5 levels, 2-D 3 over 3 (15 loads), 4 over 4 (24) and 5 over 5 (35). */
static const unsigned floor_depths[FLOOR_DEPTHS] = { 3, 4, 5, 15, 24, 35 };

struct bench_opts {
	enum { OUT_TABLE, OUT_JSON, OUT_CSV } out;
	const char *report; /* a folder for bench.json and bench.csv, or NULL */
	const char *replay_scenario, *replay_trace; /* NULL: no trace replay */
	uint64_t replay_max;   /* accesses of the trace replayed */
	uint64_t random_accesses;
	uint64_t large_pages;
	double min_ns; /* shortest timed sample */
	unsigned samples;
};

struct bench_case {
	const char *name;
	struct bench_layout layout;
	bool large;
	unsigned refs;
	double fast_ns, ref_ns, floor_ns;
	double probe_ns; /* nw_walker_probe(), the walk of a TLB fill */
};

struct bench_floor {
	unsigned depth;
	double hot_ns, large_ns;
};

#define REPLAYS 4

struct bench_replay_row {
	const char *name;
	bool tlb, ran;
	struct bench_replay r;
};

struct bench_memory {
	uint64_t vm_bytes;          /* RSS of one small VM: host, EPT, guest tables, walker */
	uint64_t per_million_bytes; /* RSS per million 4 KiB pages mapped 2-D (guest tables + 4 KiB EPT) */
	uint64_t per_million_frames; /* simulated frames those pages' tables hold, per million pages */
};

/* Best of opts->samples timings, each of at least opts->min_ns. */
#define TIME_BEST(result, iters_var, opts, expr)                                          \
	do {                                                                              \
		double best_ = 1e300, t_;                                                 \
		uint64_t iters_var = 256;                                                 \
		while ((t_ = (expr)) * (double)iters_var < (opts)->min_ns && iters_var < (UINT64_C(1) << 32)) \
			iters_var *= 4;                                                   \
		best_ = t_;                                                               \
		for (unsigned s_ = 1; s_ < (opts)->samples; s_++)                        \
			if ((t_ = (expr)) < best_)                                        \
				best_ = t_;                                               \
		(result) = best_;                                                         \
	} while (0)

static const char *size_name(int level)
{
	return level == NW_LEVEL_PT ? "4K" : level == NW_LEVEL_PD ? "2M" : "1G";
}

/* AArch64: stage 1 of four levels (48-bit VAs, 4 KiB granule) alone and over a four-level stage 2, the same
 * depths as the x86 4-level rows, so the same floors hold them. */
static unsigned make_arm64_cases(struct bench_case *cases, uint64_t large_pages)
{
	static const int leaves[3] = { NW_LEVEL_PT, NW_LEVEL_PD, NW_LEVEL_PDPT };
	static const char *names_1d[3] = { "1D A64 4K", "1D A64 2M", "1D A64 1G" };
	static const char *names_2d[3] = { "2D A64 4/4 4K", "2D A64 4/4 2M", "2D A64 4/4 1G" };
	unsigned n = 0;

	for (unsigned l = 0; l < 3; l++)
		cases[n++] = (struct bench_case){ .name = names_1d[l], .layout = { .arm64 = true, .guest_levels = 4,
						  .guest_leaf = leaves[l], .npages = HOT_PAGES } };
	for (unsigned l = 0; l < 3; l++)
		cases[n++] = (struct bench_case){ .name = names_2d[l], .layout = { .arm64 = true, .guest_levels = 4,
						  .guest_leaf = NW_LEVEL_PT, .ept_levels = 4, .ept_leaf = leaves[l],
						  .npages = HOT_PAGES } };
	cases[n++] = (struct bench_case){ .name = "1D A64 4K", .large = true,
					  .layout = { .arm64 = true, .guest_levels = 4, .guest_leaf = NW_LEVEL_PT,
						      .npages = large_pages } };
	cases[n++] = (struct bench_case){ .name = "2D A64 4/4 4K", .large = true,
					  .layout = { .arm64 = true, .guest_levels = 4, .guest_leaf = NW_LEVEL_PT,
						      .ept_levels = 4, .ept_leaf = NW_LEVEL_PT, .npages = large_pages } };
	return n;
}

/* RISC-V: the VS-stage Sv39 and Sv48 (3 and 4 levels) alone and over Sv39x4 and Sv48x4 (3 and 4 levels, 15 and
 * 24 loads), VU-mode reads of 4 KiB pages. */
static unsigned make_riscv_cases(struct bench_case *cases, uint64_t large_pages)
{
	static const char *names_1d[2] = { "1D RV Sv39 4K", "1D RV Sv48 4K" };
	static const char *names_2d[2] = { "2D RV 39/39x4 4K", "2D RV 48/48x4 4K" };
	unsigned n = 0;

	for (unsigned g = 0; g < 2; g++)
		cases[n++] = (struct bench_case){ .name = names_1d[g], .layout = { .riscv = true, .guest_levels = 3 + g,
						  .guest_leaf = NW_LEVEL_PT, .npages = HOT_PAGES } };
	for (unsigned large = 0; large < 2; large++)
		for (unsigned g = 0; g < 2; g++)
			cases[n++] = (struct bench_case){ .name = names_2d[g], .large = large,
							  .layout = { .riscv = true, .guest_levels = 3 + g,
								      .guest_leaf = NW_LEVEL_PT, .ept_levels = 3 + g,
								      .ept_leaf = NW_LEVEL_PT,
								      .npages = large ? large_pages : HOT_PAGES } };
	return n;
}

static unsigned make_cases(struct bench_case *cases, uint64_t large_pages)
{
	static const int leaves[3] = { NW_LEVEL_PT, NW_LEVEL_PD, NW_LEVEL_PDPT };
	static const char *names_1d[2][3] = { { "1D 4-level 4K", "1D 4-level 2M", "1D 4-level 1G" },
					      { "1D 5-level 4K", "1D 5-level 2M", "1D 5-level 1G" } };
	static const char *names_2d[2][3] = { { "2D 4/4 EPT 4K", "2D 4/4 EPT 2M", "2D 4/4 EPT 1G" },
					      { "2D 5/5 EPT 4K", "2D 5/5 EPT 2M", "2D 5/5 EPT 1G" } };
	unsigned n = 0;

	for (unsigned g = 0; g < 2; g++)
		for (unsigned l = 0; l < 3; l++)
			cases[n++] = (struct bench_case){ .name = names_1d[g][l],
							  .layout = { .guest_levels = 4 + g, .guest_leaf = leaves[l],
								      .npages = HOT_PAGES } };
	for (unsigned g = 0; g < 2; g++)
		for (unsigned l = 0; l < 3; l++)
			cases[n++] = (struct bench_case){ .name = names_2d[g][l],
							  .layout = { .guest_levels = 4 + g, .guest_leaf = NW_LEVEL_PT,
								      .ept_levels = 4 + g, .ept_leaf = leaves[l],
								      .npages = HOT_PAGES } };
	cases[n++] = (struct bench_case){ .name = "1D 4-level 4K", .large = true,
					  .layout = { .guest_levels = 4, .guest_leaf = NW_LEVEL_PT, .npages = large_pages } };
	cases[n++] = (struct bench_case){ .name = "1D 5-level 4K", .large = true,
					  .layout = { .guest_levels = 5, .guest_leaf = NW_LEVEL_PT, .npages = large_pages } };
	cases[n++] = (struct bench_case){ .name = "2D 4/4 EPT 4K", .large = true,
					  .layout = { .guest_levels = 4, .guest_leaf = NW_LEVEL_PT, .ept_levels = 4,
						      .ept_leaf = NW_LEVEL_PT, .npages = large_pages } };
	cases[n++] = (struct bench_case){ .name = "2D 4/4 EPT 2M", .large = true,
					  .layout = { .guest_levels = 4, .guest_leaf = NW_LEVEL_PT, .ept_levels = 4,
						      .ept_leaf = NW_LEVEL_PD, .npages = large_pages } };
	cases[n++] = (struct bench_case){ .name = "2D 5/5 EPT 4K", .large = true,
					  .layout = { .guest_levels = 5, .guest_leaf = NW_LEVEL_PT, .ept_levels = 5,
						      .ept_leaf = NW_LEVEL_PT, .npages = large_pages } };
	n += make_arm64_cases(cases + n, large_pages);
	return n + make_riscv_cases(cases + n, large_pages);
}

static bool is_x86(const struct bench_case *c)
{
	return !c->layout.arm64 && !c->layout.riscv;
}

static int run_case(struct bench_case *c, const struct bench_chain chains[2][2], const struct bench_opts *opts,
		    struct bench_memory *mem, struct bench_replay_row *replays)
{
	const struct bench_chain *chain = &chains[c->large][c->layout.guest_levels == 5];
	uint64_t rss_before = bench_rss(), leaked;
	struct bench_vm vm;

	if (bench_vm_build(&vm, &c->layout))
		return -1;
	if (c->large && is_x86(c) && c->layout.ept_levels == 4 && c->layout.ept_leaf == NW_LEVEL_PT) {
		double scale = 1e6 / (double)c->layout.npages;

		mem->per_million_bytes = (uint64_t)((double)(bench_rss() - rss_before) * scale);
		mem->per_million_frames =
			(uint64_t)((double)nw_simmem_owner_stats(vm.sim, vm.hal).live * scale);
	}
	TIME_BEST(c->fast_ns, iters, opts, bench_walk_fast(&vm, iters, &c->refs));
	TIME_BEST(c->probe_ns, iters, opts, bench_walk_probe(&vm, iters));
	TIME_BEST(c->ref_ns, iters, opts, bench_walk_reference(&vm, iters));
	TIME_BEST(c->floor_ns, iters, opts, bench_chain_time(chain, c->refs, iters));
	/* The TLB-hostile replay: random pages of the large 2-D layout, far more than the TLB holds. */
	if (c->large && is_x86(c) && c->layout.ept_levels == 4 && c->layout.ept_leaf == NW_LEVEL_PT &&
	    opts->random_accesses)
		for (unsigned tlb = 0; tlb < 2; tlb++) {
			struct bench_replay_row *row = &replays[3 - tlb];

			*row = (struct bench_replay_row){ .name = "random (TLB-hostile)", .tlb = tlb };
			if (bench_replay_random(&vm, opts->random_accesses, tlb, &row->r) == 0)
				row->ran = true;
		}
	leaked = bench_vm_destroy(&vm);
	if (leaked) {
		fprintf(stderr, "nestwalk bench: %llu frame(s) leaked\n", (unsigned long long)leaked);
		return -1;
	}
	return 0;
}

static int measure_vm_rss(struct bench_memory *mem)
{
	struct bench_layout layout = { .guest_levels = 4, .guest_leaf = NW_LEVEL_PT, .ept_levels = 4,
				       .ept_leaf = NW_LEVEL_PT, .npages = HOT_PAGES };
	uint64_t before = bench_rss();
	struct bench_vm vm;
	unsigned refs;

	if (bench_vm_build(&vm, &layout))
		return -1;
	bench_walk_fast(&vm, 1000, &refs);
	mem->vm_bytes = bench_rss() - before;
	return bench_vm_destroy(&vm) ? -1 : 0;
}

static const char *arch_name(const struct bench_case *c)
{
	return c->layout.arm64 ? "aarch64" : c->layout.riscv ? "riscv64" : "x86_64";
}

static double ratio(double a, double b)
{
	return b > 0 ? a / b : 0;
}

/* The floor a walk is held to: one load per guest level for a 1-D walk; for a 2-D one each guest level's entry
 * and the final address translated through every second-stage level, (g + 1) x (s + 1) - 1 loads (15, 24, 35). */
static const struct bench_floor *base_floor(const struct bench_floor *floors, const struct bench_case *c)
{
	unsigned g = c->layout.guest_levels, s = c->layout.ept_levels;
	unsigned depth = s ? (g + 1) * (s + 1) - 1 : g, i = 0;

	while (i + 1 < FLOOR_DEPTHS && floor_depths[i] != depth)
		i++;
	return &floors[i];
}

static void print_map_table(FILE *out, const struct bench_map *map)
{
	const struct bench_map_order *orders[2] = { &map->ascending, &map->random };

	fprintf(out, "\nmap (4-level EPT, %llu 4 KiB pages, one call each): ns per page\n"
		     "  %-10s %10s %10s %14s %10s %10s\n",
		(unsigned long long)map->pages, "order", "map fresh", "unmap", "map (tables)", "query", "protect");
	for (unsigned i = 0; i < 2; i++)
		fprintf(out, "  %-10s %10.2f %10.2f %14.2f %10.2f %10.2f\n", i ? "random" : "ascending",
			orders[i]->fresh_ns, orders[i]->unmap_ns, orders[i]->present_ns, orders[i]->query_ns,
			orders[i]->protect_ns);
	fprintf(out, "(map fresh: tables created as it goes; unmap: tables freed as they empty; map (tables): every\n"
		     "page table already there; protect: each page made read-only)\n");
}

static void print_table(FILE *out, const struct bench_case *cases, unsigned n, const struct bench_floor *floors,
			const struct bench_memory *mem, const struct bench_replay_row *replays, uint64_t large_pages,
			const struct bench_map *map)
{
	fprintf(out, "nestwalk bench: ns per walk (best of samples), fast walker with every permission check\n\n");
	fprintf(out, "floor: native pointer chain, dependent loads\n");
	fprintf(out, "  %-6s %12s %12s\n", "loads", "hot ns", "large ns");
	for (unsigned i = 0; i < FLOOR_DEPTHS; i++)
		fprintf(out, "  %-6u %12.2f %12.2f\n", floors[i].depth, floors[i].hot_ns, floors[i].large_ns);
	fprintf(out, "\n  %-16s %-6s %4s %9s %9s %8s %9s %8s %8s %9s %8s\n", "walk", "layout", "refs", "fast ns",
		"ref ns", "speedup", "floor ns", "x floor", "x base", "probe ns", "x floor");
	for (unsigned i = 0; i < n; i++) {
		const struct bench_case *c = &cases[i];
		const struct bench_floor *base = base_floor(floors, c);

		fprintf(out, "  %-16s %-6s %4u %9.2f %9.2f %7.2fx %9.2f %7.2fx %7.2fx %9.2f %7.2fx\n", c->name,
			c->large ? "large" : "hot", c->refs, c->fast_ns, c->ref_ns, ratio(c->ref_ns, c->fast_ns),
			c->floor_ns, ratio(c->fast_ns, c->floor_ns),
			ratio(c->fast_ns, c->large ? base->large_ns : base->hot_ns),
			c->probe_ns, ratio(c->probe_ns, c->floor_ns));
	}
	fprintf(out, "\n(large: %llu pages; x floor: the chain of the same depth and footprint; x base: the floor of the\n"
	       "layout's full depth (3/4/5 loads for 1-D, 15/24/35 for 2-D), same footprint; probe: nw_walker_probe,\n"
	       "the same checks, for a TLB fill that needs no A/D write; A64: AArch64 EL0 reads, stage 1 of 48-bit\n"
	       "VAs with the 4 KiB granule over a stage 2 of 48-bit IPAs, both four levels; RV: RISC-V VU-mode reads,\n"
	       "the VS-stage Sv39 or Sv48 over the G-stage Sv39x4 or Sv48x4)\n", (unsigned long long)large_pages);
	fprintf(out, "\nreplay (TLB model, 2-D walk on a miss)\n  %-22s %-4s %10s %12s %9s\n", "trace", "TLB", "accesses",
		"M acc/s", "TLB hits");
	for (unsigned i = 0; i < REPLAYS; i++)
		if (replays[i].ran)
			fprintf(out, "  %-22s %-4s %10llu %12.2f %8.1f%%\n", replays[i].name, replays[i].tlb ? "on" : "off",
				(unsigned long long)replays[i].r.accesses, replays[i].r.per_second / 1e6,
				100.0 * replays[i].r.tlb_hit_rate);
	fprintf(out, "\nmemory: %.2f MiB RSS per small VM; %.2f MiB RSS and %llu table frames per million 4 KiB pages "
	       "(2-D, 4 KiB EPT)\n", (double)mem->vm_bytes / 1048576.0, (double)mem->per_million_bytes / 1048576.0,
	       (unsigned long long)mem->per_million_frames);
	print_map_table(out, map);
}

static void print_map_json(FILE *out, const struct bench_map *map)
{
	const struct bench_map_order *a = &map->ascending, *r = &map->random;

	fprintf(out, ",\n  \"map\": {\"table\": \"EPT 4-level\", \"pages\": %llu, \"map_fresh_ns\": %.3f, \"unmap_ns\": %.3f, "
		"\"map_tables_present_ns\": %.3f, \"query_ns\": %.3f, \"protect_ns\": %.3f, \"random_map_fresh_ns\": %.3f, "
		"\"random_unmap_ns\": %.3f, \"random_map_tables_present_ns\": %.3f, \"random_query_ns\": %.3f, "
		"\"random_protect_ns\": %.3f}",
		(unsigned long long)map->pages, a->fresh_ns, a->unmap_ns, a->present_ns, a->query_ns, a->protect_ns,
		r->fresh_ns, r->unmap_ns, r->present_ns, r->query_ns, r->protect_ns);
}

static void print_json(FILE *out, const struct bench_case *cases, unsigned n, const struct bench_floor *floors,
		       const struct bench_memory *mem, const struct bench_replay_row *replays, uint64_t large_pages,
		       const struct bench_map *map)
{
	bool first = true;

	fprintf(out, "{\n  \"schema\": %d,\n  \"large_pages\": %llu,\n  \"floors\": [", NW_JSON_SCHEMA,
		(unsigned long long)large_pages);
	for (unsigned i = 0; i < FLOOR_DEPTHS; i++)
		fprintf(out, "%s\n    {\"loads\": %u, \"hot_ns\": %.3f, \"large_ns\": %.3f}", i ? "," : "", floors[i].depth,
		       floors[i].hot_ns, floors[i].large_ns);
	fprintf(out, "\n  ],\n  \"walks\": [");
	for (unsigned i = 0; i < n; i++) {
		const struct bench_case *c = &cases[i];
		const struct bench_floor *base = base_floor(floors, c);

		fprintf(out, "%s\n    {\"name\": \"%s\", \"arch\": \"%s\", \"layout\": \"%s\", \"dims\": %d, "
		       "\"guest_levels\": %u, "
		       "\"guest_page\": \"%s\", \"ept_levels\": %u, \"ept_page\": \"%s\", \"pages\": %llu, \"refs\": %u, "
		       "\"fast_ns\": %.3f, \"reference_ns\": %.3f, \"speedup\": %.3f, \"floor_ns\": %.3f, "
		       "\"floor_ratio\": %.3f, \"base_floor_loads\": %u, \"base_floor_ratio\": %.3f, \"probe_ns\": %.3f, "
		       "\"probe_floor_ratio\": %.3f}",
		       i ? "," : "", c->name, arch_name(c), c->large ? "large" : "hot", c->layout.ept_levels ? 2 : 1,
		       c->layout.guest_levels, size_name(c->layout.guest_leaf), c->layout.ept_levels,
		       c->layout.ept_levels ? size_name(c->layout.ept_leaf) : "", (unsigned long long)c->layout.npages,
		       c->refs, c->fast_ns, c->ref_ns, ratio(c->ref_ns, c->fast_ns), c->floor_ns,
		       ratio(c->fast_ns, c->floor_ns), base->depth,
		       ratio(c->fast_ns, c->large ? base->large_ns : base->hot_ns), c->probe_ns,
		       ratio(c->probe_ns, c->floor_ns));
	}
	fprintf(out, "\n  ],\n  \"replay\": [");
	for (unsigned i = 0; i < REPLAYS; i++) {
		if (!replays[i].ran)
			continue;
		fprintf(out, "%s\n    {\"trace\": \"%s\", \"tlb\": %s, \"accesses\": %llu, \"per_second\": %.0f, "
			"\"tlb_hit_rate\": %.4f}", first ? "" : ",", replays[i].name, replays[i].tlb ? "true" : "false",
			(unsigned long long)replays[i].r.accesses, replays[i].r.per_second, replays[i].r.tlb_hit_rate);
		first = false;
	}
	fprintf(out, "\n  ],\n  \"memory\": {\"vm_rss_bytes\": %llu, \"rss_bytes_per_million_pages\": %llu, "
	       "\"table_frames_per_million_pages\": %llu}",
	       (unsigned long long)mem->vm_bytes, (unsigned long long)mem->per_million_bytes,
	       (unsigned long long)mem->per_million_frames);
	print_map_json(out, map);
	fprintf(out, "\n}\n");
}

static void print_csv(FILE *out, const struct bench_case *cases, unsigned n, const struct bench_floor *floors)
{
	fprintf(out, "name,arch,layout,dims,guest_levels,guest_page,ept_levels,ept_page,pages,refs,fast_ns,reference_ns,"
	       "speedup,"
	       "floor_ns,floor_ratio,base_floor_loads,base_floor_ratio,probe_ns,probe_floor_ratio\n");
	for (unsigned i = 0; i < n; i++) {
		const struct bench_case *c = &cases[i];
		const struct bench_floor *base = base_floor(floors, c);

		fprintf(out, "%s,%s,%s,%d,%u,%s,%u,%s,%llu,%u,%.3f,%.3f,%.3f,%.3f,%.3f,%u,%.3f,%.3f,%.3f\n", c->name,
		       arch_name(c), c->large ? "large" : "hot", c->layout.ept_levels ? 2 : 1, c->layout.guest_levels,
		       size_name(c->layout.guest_leaf), c->layout.ept_levels,
		       c->layout.ept_levels ? size_name(c->layout.ept_leaf) : "", (unsigned long long)c->layout.npages,
		       c->refs, c->fast_ns, c->ref_ns, ratio(c->ref_ns, c->fast_ns), c->floor_ns,
		       ratio(c->fast_ns, c->floor_ns), base->depth,
		       ratio(c->fast_ns, c->large ? base->large_ns : base->hot_ns), c->probe_ns,
		       ratio(c->probe_ns, c->floor_ns));
	}
}

static const char *const report_names[2] = { "bench.json", "bench.csv" };

/* DIR/NAME, and the files it must not be: the replay's inputs. */
struct report_file {
	char path[4096];
	const char *inputs[3];
};

static void report_file(const struct bench_opts *opts, const char *name, struct report_file *f)
{
	unsigned n = 0;

	if (opts->replay_scenario)
		f->inputs[n++] = opts->replay_scenario;
	if (opts->replay_trace)
		f->inputs[n++] = opts->replay_trace;
	f->inputs[n] = NULL;
	snprintf(f->path, sizeof(f->path), "%s/%s", opts->report, name);
}

/* Before the run: neither report file may be an input (found out now, not after minutes of timing). */
static int check_report(const struct bench_opts *opts)
{
	struct report_file f;
	char err[8448];

	for (unsigned i = 0; opts->report && i < 2; i++) {
		report_file(opts, report_names[i], &f);
		if (nw_file_out_check(f.path, f.inputs, err, sizeof(err))) {
			fprintf(stderr, "nestwalk bench: %s\n", err);
			return -1;
		}
	}
	return 0;
}

/* DIR/bench.json and DIR/bench.csv, each written whole or not at all. */
static int write_report(const struct bench_opts *opts, const struct bench_case *cases, unsigned n,
			const struct bench_floor *floors, const struct bench_memory *mem,
			const struct bench_replay_row *replays, const struct bench_map *map)
{
	struct nw_file_out out;
	struct report_file f;
	char err[8448];

	for (unsigned i = 0; i < 2; i++) {
		report_file(opts, report_names[i], &f);
		if (nw_file_out_open(&out, f.path, f.inputs, err, sizeof(err))) {
			fprintf(stderr, "nestwalk bench: %s\n", err);
			return -1;
		}
		if (i == 0)
			print_json(out.file, cases, n, floors, mem, replays, opts->large_pages, map);
		else
			print_csv(out.file, cases, n, floors);
		if (nw_file_out_commit(&out, err, sizeof(err))) {
			fprintf(stderr, "nestwalk bench: %s\n", err);
			return -1;
		}
	}
	return 0;
}

enum { OPT_JSON, OPT_CSV, OPT_REPORT, OPT_TINY, OPT_LARGE_PAGES, OPT_MIN_MS, OPT_SAMPLES, OPT_REPLAY_SCENARIO,
       OPT_REPLAY_TRACE, OPT_NO_REPLAY };

static const struct nw_cli_option options[] = {
	[OPT_JSON] = { "--json", NULL, "the figures as one JSON object (docs/json.md) instead of a table" },
	[OPT_CSV] = { "--csv", NULL, "the walks as CSV instead of a table" },
	[OPT_REPORT] = { "--report", "DIR", "also write DIR/bench.json and DIR/bench.csv" },
	[OPT_TINY] = { "--tiny", NULL, "a quick run on small layouts (checks that the bench works, not its speed)" },
	[OPT_LARGE_PAGES] = { "--large-pages", "N", "pages of the large layout, a power of two (default 1048576)" },
	[OPT_MIN_MS] = { "--min-ms", "MS", "shortest timed sample in milliseconds (default 2)" },
	[OPT_SAMPLES] = { "--samples", "N", "timed samples per figure, the best kept, 1 to 100 (default 15)" },
	[OPT_REPLAY_SCENARIO] = { "--replay-scenario", "YAML", "with --replay-trace: a trace replayed with and without "
							       "the TLB (bench/run: the bundled lackey trace)" },
	[OPT_REPLAY_TRACE] = { "--replay-trace", "TRACE", "the trace --replay-scenario replays" },
	[OPT_NO_REPLAY] = { "--no-replay", NULL, "no trace replay and no TLB-hostile random replay" },
	{ NULL, NULL, NULL },
};

const struct nw_cli_usage nw_usage_bench = {
	.command = "bench",
	.synopsis = "[--json | --csv] [--report DIR] [--tiny] [--large-pages N] [--min-ms MS] [--samples N] "
		    "[--replay-scenario YAML --replay-trace TRACE | --no-replay]",
	.summary = "time 1-D and 2-D walks against a pointer-chain floor; memory per VM",
	.options = options,
};

/* NW_CLI_RUN, or the parser's other answers (cli.h). */
static int parse_opts(int argc, char **argv, struct bench_opts *opts)
{
	const struct nw_cli_usage *u = &nw_usage_bench;
	struct nw_cli_args a;
	uint64_t n;
	char *end;
	int rc = nw_cli_parse(u, argc, argv, &a);

	if (rc)
		return rc;
	*opts = (struct bench_opts){ .out = a.value[OPT_JSON] ? OUT_JSON : a.value[OPT_CSV] ? OUT_CSV : OUT_TABLE,
				     .report = a.value[OPT_REPORT], .large_pages = LARGE_PAGES, .min_ns = 2e6,
				     .samples = 15, .replay_max = UINT64_C(1) << 24,
				     .random_accesses = UINT64_C(1) << 21,
				     .replay_scenario = a.value[OPT_REPLAY_SCENARIO],
				     .replay_trace = a.value[OPT_REPLAY_TRACE] };
	if (nw_cli_conflict(u, &a, OPT_JSON, OPT_CSV) || nw_cli_conflict(u, &a, OPT_NO_REPLAY, OPT_REPLAY_SCENARIO) ||
	    nw_cli_conflict(u, &a, OPT_NO_REPLAY, OPT_REPLAY_TRACE))
		return -1;
	if (!opts->replay_scenario != !opts->replay_trace) {
		nw_cli_fail(u, opts->replay_scenario ? "--replay-scenario" : "--replay-trace", "needs %s too",
			    opts->replay_scenario ? "--replay-trace" : "--replay-scenario");
		return -1;
	}
	if (a.value[OPT_TINY]) {
		opts->large_pages = 4096;
		opts->min_ns = 1e5;
		opts->samples = 1;
		opts->replay_max = 20000;
		opts->random_accesses = 20000;
	}
	if (a.value[OPT_NO_REPLAY])
		opts->random_accesses = 0;
	if (a.value[OPT_LARGE_PAGES]) {
		if (nw_cli_number(u, &a, OPT_LARGE_PAGES, 64, UINT64_C(1) << 22, &n))
			return -1;
		if (n & (n - 1)) {
			nw_cli_fail(u, "--large-pages", "'%s' is not a power of two", a.value[OPT_LARGE_PAGES]);
			return -1;
		}
		opts->large_pages = n;
	}
	if (a.value[OPT_MIN_MS]) {
		opts->min_ns = strtod(a.value[OPT_MIN_MS], &end) * 1e6;
		if (*end || !(opts->min_ns > 0)) {
			nw_cli_fail(u, "--min-ms", "'%s' is not a positive number of milliseconds",
				    a.value[OPT_MIN_MS]);
			return -1;
		}
	}
	if (a.value[OPT_SAMPLES]) {
		if (nw_cli_number(u, &a, OPT_SAMPLES, 1, 100, &n))
			return -1;
		opts->samples = (unsigned)n;
	}
	return NW_CLI_RUN;
}

int nw_cmd_bench(int argc, char **argv)
{
	struct bench_opts opts;
	struct bench_case cases[MAX_CASES];
	struct bench_floor floors[FLOOR_DEPTHS];
	struct bench_memory mem = { 0 };
	struct bench_replay_row replays[REPLAYS] = { { .name = NULL } };
	struct bench_chain chains[2][2]; /* [large][5-level] */
	struct bench_map map;
	int rc = parse_opts(argc, argv, &opts), status = NW_EXIT_OK;
	unsigned n;

	if (rc)
		return NW_CLI_EXIT(rc);
	if (check_report(&opts))
		return NW_EXIT_BAD_INPUT;
	n = make_cases(cases, opts.large_pages);
	for (unsigned large = 0; large < 2; large++)
		for (unsigned five = 0; five < 2; five++)
			if (bench_chain_build(&chains[large][five], 4 + five, large ? opts.large_pages : HOT_PAGES)) {
				fprintf(stderr, "nestwalk bench: out of host memory for the pointer chains\n");
				return NW_EXIT_MISMATCH;
			}
	for (unsigned i = 0; i < FLOOR_DEPTHS; i++) {
		unsigned five = floor_depths[i] == 5 || floor_depths[i] == 35;

		floors[i].depth = floor_depths[i];
		TIME_BEST(floors[i].hot_ns, iters, &opts, bench_chain_time(&chains[0][five], floor_depths[i], iters));
		TIME_BEST(floors[i].large_ns, iters, &opts, bench_chain_time(&chains[1][five], floor_depths[i], iters));
	}
	if (measure_vm_rss(&mem))
		status = NW_EXIT_MISMATCH;
	for (unsigned i = 0; i < n && status == NW_EXIT_OK; i++)
		if (run_case(&cases[i], (const struct bench_chain(*)[2])chains, &opts, &mem, replays))
			status = NW_EXIT_MISMATCH;
	if (status == NW_EXIT_OK && bench_map_run(opts.large_pages, opts.samples, &map))
		status = NW_EXIT_MISMATCH;
	if (status == NW_EXIT_OK && opts.replay_scenario && opts.replay_trace)
		for (unsigned tlb = 0; tlb < 2; tlb++) {
			replays[1 - tlb] = (struct bench_replay_row){ .name = "lackey gzip", .tlb = tlb };
			if (bench_replay_trace(opts.replay_scenario, opts.replay_trace, opts.replay_max, tlb,
					       &replays[1 - tlb].r))
				status = NW_EXIT_BAD_INPUT;
			else
				replays[1 - tlb].ran = true;
		}
	for (unsigned large = 0; large < 2; large++)
		for (unsigned five = 0; five < 2; five++)
			bench_chain_destroy(&chains[large][five]);
	if (status != NW_EXIT_OK)
		return status;
	if (opts.out == OUT_JSON)
		print_json(stdout, cases, n, floors, &mem, replays, opts.large_pages, &map);
	else if (opts.out == OUT_CSV)
		print_csv(stdout, cases, n, floors);
	else
		print_table(stdout, cases, n, floors, &mem, replays, opts.large_pages, &map);
	if (opts.report && write_report(&opts, cases, n, floors, &mem, replays, &map))
		return NW_EXIT_BAD_INPUT;
	return NW_EXIT_OK;
}
