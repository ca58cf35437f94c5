#define _POSIX_C_SOURCE 200809L
/* Timing: dependent walks (the next page depends on the last result, so walks
 * do not overlap, as dependent loads in the floor do not), resident memory.
 * Times are this thread's CPU time: a busy machine that deschedules the
 * benchmark does not count against it. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>


#include "bench.h"

double bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

uint64_t bench_rss(void)
{
	unsigned long long size = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f) {
		if (fscanf(f, "%llu %llu", &size, &resident) != 2)
			resident = 0;
		fclose(f);
	}
	return (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE);
}

/* A full-period step over a power-of-two range; the walk's result feeds it:
 * a bit of the page frame, which only the entries read give (the offset bits
 * of the result are the linear address's, which an inlined walk would let the
 * compiler take without waiting for the walk). */
static uint64_t next_index(uint64_t index, uint64_t hpa, unsigned page_shift, uint64_t mask)
{
	return (index * UINT64_C(0x9E3779B97F4A7C15) + 1 + ((hpa >> page_shift) & 1)) & mask;
}

static _Noreturn void bad_walk(const struct nw_walk_result *res)
{
	fprintf(stderr, "nestwalk bench: a benchmark walk gave %s at level %d\n", nw_outcome_name(res->outcome),
		res->fault_level);
	exit(1);
}

double bench_walk_fast(struct bench_vm *vm, uint64_t iters, unsigned *refs)
{
	uint64_t mask = vm->layout.npages - 1, index = 0;
	unsigned shift = bench_vm_page_shift(vm);
	struct nw_walk_result res;
	struct nw_access access = { .size = 1, .type = NW_ACCESS_READ };
	double start;

	access.gva = nw_gva(bench_vm_gva(vm, 0));
	nw_walker_translate(vm->walker, &access, 0, &res);
	if (res.outcome != NW_OUTCOME_OK)
		bad_walk(&res);
	*refs = res.refs;
	start = bench_now_ns();
	for (uint64_t i = 0; i < iters; i++) {
		access.gva = nw_gva(bench_vm_gva(vm, index));
		nw_walker_translate(vm->walker, &access, 0, &res);
		index = next_index(index, res.hpa.val, shift, mask);
	}
	if (res.outcome != NW_OUTCOME_OK)
		bad_walk(&res);
	return (bench_now_ns() - start) / (double)iters;
}

/* The probe as a TLB fill uses it: the full translate only when it declines
 * (never on the benchmark's tables: the first walk set every A flag). */
double bench_walk_probe(struct bench_vm *vm, uint64_t iters)
{
	uint64_t mask = vm->layout.npages - 1, index = 0, hpa = 0, declined = 0;
	unsigned shift = bench_vm_page_shift(vm);
	volatile enum nw_access_type type = NW_ACCESS_READ; /* not a constant the inlined probe could fold */
	struct nw_walk_result res;
	struct nw_walk_hit hit;
	struct nw_access access = { .size = 1, .type = type };
	double start = bench_now_ns();

	for (uint64_t i = 0; i < iters; i++) {
		access.gva = nw_gva(bench_vm_gva(vm, index));
		if (nw_walker_probe(vm->walker, &access, &hit)) {
			hpa = hit.hpa.val;
		} else {
			nw_walker_translate(vm->walker, &access, 0, &res);
			if (res.outcome != NW_OUTCOME_OK)
				bad_walk(&res);
			hpa = res.hpa.val;
			declined++;
		}
		index = next_index(index, hpa, shift, mask);
	}
	if (declined) {
		fprintf(stderr, "nestwalk bench: the probe declined %llu of %llu walks\n", (unsigned long long)declined,
			(unsigned long long)iters);
		exit(1);
	}
	return (bench_now_ns() - start) / (double)iters;
}

double bench_walk_reference(struct bench_vm *vm, uint64_t iters)
{
	uint64_t mask = vm->layout.npages - 1, index = 0;
	unsigned shift = bench_vm_page_shift(vm);
	struct nw_walk_result res;
	struct nw_access access = { .size = 1, .type = NW_ACCESS_READ };
	double start = bench_now_ns();

	for (uint64_t i = 0; i < iters; i++) {
		access.gva = nw_gva(bench_vm_gva(vm, index));
		if (vm->layout.arm64)
			nw_arm64_walk(&vm->config, &vm->a64_cpu, &access, 0, &res);
		else if (vm->layout.riscv)
			nw_rv_vs_walk(&vm->config, &vm->rv_cpu, &access, 0, &res);
		else
			nw_walk_reference(&vm->config, &vm->cpu, &access, 0, &res);
		index = next_index(index, res.hpa.val, shift, mask);
	}
	if (res.outcome != NW_OUTCOME_OK)
		bad_walk(&res);
	return (bench_now_ns() - start) / (double)iters;
}
