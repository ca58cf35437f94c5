/* A hypervisor's EPT set-up and fault loop, the way a VMM drives the library:
 *
 *   1. a host: simulated physical memory stands in for the HAL a real VMM writes
 *      (alloc_frame, dealloc_frame, phys_to_virt over its own memory);
 *   2. the VM's guest-physical address space: a 4-level EPT and two regions, RAM
 *      populated lazily on the guest's first touch and a local-APIC MMIO page;
 *   3. the vCPU's accesses: each is walked; an EPT violation goes to
 *      nw_aspace_resolve_fault(), which says what the VMM does next (populate and
 *      retry, emulate the device, reflect the fault), until the access completes.
 *
 * The guest runs with paging off (as at boot): its linear address is its
 * guest-physical address, so every walk is the EPT's alone.
 *
 * Build against an installed nestwalk:
 *   cc ept_fault_loop.c $(pkg-config --cflags --libs nestwalk-sim) -o ept_fault_loop */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include <nestwalk-sim/simmem.h>
#include <nestwalk/aspace.h>
#include <nestwalk/walk.h>

static const char *const exit_names[] = {
	[NW_ASPACE_FAULT_RETRY] = "populated, retry",
	[NW_ASPACE_FAULT_MMIO] = "MMIO exit: emulate the device",
	[NW_ASPACE_FAULT_ROM_WRITE] = "ROM write exit",
	[NW_ASPACE_FAULT_VIOLATION] = "real violation: reflect it",
	[NW_ASPACE_FAULT_NO_MEMORY] = "host out of memory",
};

/* Runs one guest access to completion: walk, and on an EPT violation let the
 * address space resolve it; retry only when a page was populated. */
static void run_access(const struct nw_walker *walker, struct nw_aspace *as, uint64_t gpa, enum nw_access_type type)
{
	struct nw_access access = { .gva = nw_gva(gpa), .size = 4, .type = type };
	struct nw_walk_result res;
	struct nw_aspace_exit exit;

	printf("%s 0x%" PRIx64 "\n", type == NW_ACCESS_WRITE ? "write" : "read", gpa);
	for (int attempt = 1;; attempt++) {
		nw_walker_translate(walker, &access, 0, &res);
		printf("  attempt %d: %s", attempt, nw_outcome_name(res.outcome));
		if (res.outcome == NW_OUTCOME_OK) {
			printf(", page offset 0x%" PRIx64 ", %u EPT references\n", res.hpa.val & NW_PAGE_MASK, res.refs);
			return;
		}
		if (res.outcome != NW_OUTCOME_EPT_VIOLATION) {
			printf("\n");
			return;
		}
		printf(" at GPA 0x%" PRIx64 ", qualification 0x%" PRIx64 ", %u EPT reference(s)\n", res.fault_gpa.val,
		       res.exit_qualification, res.refs);
		if (nw_aspace_resolve_fault(as, res.fault_gpa, type, access.size, &exit) != NW_OK &&
		    exit.kind != NW_ASPACE_FAULT_NO_MEMORY) {
			printf("  the fault could not be resolved\n");
			return;
		}
		printf("  -> %s\n", exit_names[exit.kind]);
		if (exit.kind != NW_ASPACE_FAULT_RETRY)
			return;
	}
}

int main(void)
{
	struct nw_simmem *host = nw_simmem_create(&(struct nw_simmem_config){ .size = 64 << 20 });
	const struct nw_hal *hal = nw_simmem_owner(host, "vm");
	struct nw_aspace as;
	const struct nw_aspace_config config = {
		.format = NW_STAGE2_EPT, .levels = 4, .memory_type = NW_ASPACE_MEMTYPE_WB,
	};
	/* 2 MiB of RAM at GPA 0, each page allocated on its first EPT violation;
	 * the local APIC's page, never backed, so every access to it exits. */
	const struct nw_region ram = { .base = nw_gpa(0), .size = NW_SIZE_2M,
		.flags = NW_REGION_READ | NW_REGION_WRITE | NW_REGION_EXEC, .type = NW_REGION_ALLOC, .lazy = true };
	const struct nw_region apic = { .base = nw_gpa(0xfee00000), .size = NW_PAGE_SIZE,
		.flags = NW_REGION_READ | NW_REGION_WRITE | NW_REGION_DEVICE, .type = NW_REGION_MMIO };

	if (!host || nw_aspace_init(&as, hal, &config) != NW_OK || nw_aspace_add_region(&as, &ram) != NW_OK ||
	    nw_aspace_add_region(&as, &apic) != NW_OK) {
		fprintf(stderr, "ept_fault_loop: setting up the VM failed\n");
		return 1;
	}

	/* The vCPU: CPL 0, paging off; the walker lives in storage we provide. */
	struct nw_cpu cpu = { .maxphyaddr = 46 };
	struct nw_walk_config walk = { .hal = hal, .stage2 = *nw_aspace_stage2(&as), .ad_policy = NW_AD_AS_PASSED };
	void *storage = malloc(nw_walker_size());
	struct nw_walker *walker = nw_walker_init(storage, &walk, &cpu);

	run_access(walker, &as, 0x5010, NW_ACCESS_READ);  /* lazy RAM: violation, populate, retry */
	run_access(walker, &as, 0x5020, NW_ACCESS_WRITE); /* the same page, now mapped: no exit */
	run_access(walker, &as, 0xfee000b0, NW_ACCESS_WRITE); /* the APIC's EOI register: an MMIO exit */

	free(storage);
	nw_aspace_destroy(&as);
	return nw_simmem_destroy(host) == 0 ? 0 : 1; /* every frame given back */
}
