/* Walk benchmarks (`nestwalk bench`): guest tables and an EPT built on
 * simulated memory with its direct-map window, timed against a native
 * pointer-chain floor of the same depth and footprint. */
#ifndef NESTWALK_BENCH_H
#define NESTWALK_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <nestwalk/arm64_s1.h>
#include <nestwalk/arm64_s1_tables.h>
#include <nestwalk/arm64_s2.h>
#include <nestwalk/ept.h>
#include <nestwalk/pt_build.h>
#include <nestwalk/riscv_gstage.h>
#include <nestwalk/riscv_vs.h>
#include <nestwalk/walk.h>

#include "mem/simmem.h"

/* One benchmark machine: a guest mapping npages pages of one size, walked
 * 1-D (no second stage) or 2-D (over an EPT with pages of one size). */
struct bench_layout {
	bool arm64;             /* AArch64: stage 1 of 48-bit VAs (4 levels), over a 48-bit-IPA stage 2 (4 levels) */
	bool riscv;             /* RISC-V: the VS-stage (Sv39 or Sv48 by guest_levels) over Sv39x4 or Sv48x4 */
	unsigned guest_levels;  /* 4 or 5 (RISC-V: 3 or 4) */
	int guest_leaf;         /* NW_LEVEL_PT, _PD or _PDPT: 4 KiB, 2 MiB or 1 GiB pages */
	unsigned ept_levels;    /* 0 (1-D), 4 or 5 (AArch64: the stage 2's; RISC-V: the G-stage's, 3 or 4) */
	int ept_leaf;           /* the EPT's page size, as a level */
	uint64_t npages;        /* a power of two */
};

struct bench_vm {
	struct bench_layout layout;
	struct nw_simmem *sim;
	const struct nw_hal *hal;
	struct nw_ept ept;
	struct nw_walk_config config;
	struct nw_cpu cpu;
	struct nw_arm64_s1_tables s1; /* AArch64: the stage-1 tables (TTBR0) */
	struct nw_arm64_s2 s2;        /* AArch64: the second stage */
	struct nw_arm64_cpu a64_cpu;
	struct nw_rv_gstage g;        /* RISC-V: the G-stage */
	struct nw_rv_vs_cpu rv_cpu;
	struct nw_walker *walker; /* malloc'd */
	const struct nw_pt_format *guest_fmt; /* the guest's paging format (4- or 5-level) */
	unsigned page_shift;    /* log2 of the guest's page size, from guest_fmt at build */
	uint64_t guest_root;
	nw_hpa_t *frames;       /* guest-table frames, freed at teardown */
	size_t nframes, frames_cap;
};

/* 0 on success, -1 (with a message on stderr) when the host cannot hold it. */
int bench_vm_build(struct bench_vm *vm, const struct bench_layout *layout);
/* Returns the frames still live afterwards (leaks). */
uint64_t bench_vm_destroy(struct bench_vm *vm);
/* log2 of the guest's page size. */
static inline unsigned bench_vm_page_shift(const struct bench_vm *vm)
{
	return vm->page_shift;
}

/* The guest-linear address of page i (0 <= i < npages); inline, so the timed
 * loops spend no call on it. */
static inline uint64_t bench_vm_gva(const struct bench_vm *vm, uint64_t i)
{
	return i << bench_vm_page_shift(vm);
}

/* ns per walk over iters dependent walks of pseudo-random pages; refs gets the
 * memory references one walk makes. Aborts if a walk does not translate. */
double bench_walk_fast(struct bench_vm *vm, uint64_t iters, unsigned *refs);
double bench_walk_reference(struct bench_vm *vm, uint64_t iters);
/* The same walks by nw_walker_probe() (the full translate where it declines; exits if it ever does). */
double bench_walk_probe(struct bench_vm *vm, uint64_t iters);

/* The floor: a native radix tree of pointers (512 per 4 KiB table, levels
 * deep) over npages leaves, walked with depth dependent loads per operation. */
struct bench_chain {
	unsigned levels;
	uint64_t npages;
	uint64_t *root;
	void **tables;
	size_t ntables, cap;
};

int bench_chain_build(struct bench_chain *chain, unsigned levels, uint64_t npages);
void bench_chain_destroy(struct bench_chain *chain);
/* ns per operation of depth dependent loads. */
double bench_chain_time(const struct bench_chain *chain, unsigned depth, uint64_t iters);

/* Replay throughput (sim/replay/replay.h): accesses per second through the TLB model
 * and, on a miss, the 2-D walk (tlb false: every access walks). */
struct bench_replay {
	uint64_t accesses;
	double per_second;
	double tlb_hit_rate; /* hits / lookups; 0 without the TLB */
};

/* The first max accesses of trace replayed on the scenario's machine; -1 with a
 * message on stderr when either cannot be read. */
int bench_replay_trace(const char *scenario, const char *trace, uint64_t max, bool tlb, struct bench_replay *out);
/* n uniformly random user reads over the VM's pages (TLB-hostile when the pages
 * outnumber the TLB's entries). */
int bench_replay_random(struct bench_vm *vm, uint64_t n, bool tlb, struct bench_replay *out);

/* Per 4 KiB page, one library call each, over a 4-level EPT: map with its
 * tables created as it goes (fresh), query, unmap with the tables freed as
 * they empty, and map again while each page table is held by another page
 * (present); best of the samples. */
struct bench_map_order {
	double fresh_ns, unmap_ns, present_ns, query_ns, protect_ns;
};

struct bench_map {
	uint64_t pages;
	struct bench_map_order ascending, random;
};

/* -1 with a message on stderr when a call fails or a frame is left behind. */
int bench_map_run(uint64_t npages, unsigned samples, struct bench_map *out);

/* Resident memory of this process, bytes. */
uint64_t bench_rss(void);
double bench_now_ns(void);

#endif
