/* A guest-walk check of an OS's page tables, no hypervisor involved: build
 * 4-level tables the way a kernel lays them out, then ask what each access
 * would do (translate, or #PF with its error code) under the kernel's CR0,
 * CR4 and EFER, as the SDM's paging rules say. Both of the library's walkers
 * answer: the fast one (nw_walker_*) and the rule-by-rule reference
 * (nw_walk_reference); a kernel test wants them to agree.
 *
 * Without a second stage (NW_STAGE2_NONE) guest-physical is host-physical:
 * the tables live in frames of simulated memory and CR3 holds the root's
 * address.
 *
 * Build against an installed nestwalk:
 *   cc guest_walk_check.c $(pkg-config --cflags --libs nestwalk-sim) -o guest_walk_check */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include <nestwalk-sim/simmem.h>
#include <nestwalk/pt_build.h>
#include <nestwalk/walk.h>

/* The layout under test: kernel text (a 2 MiB supervisor page, read-only,
 * executable), kernel data (supervisor, writable, execute-disable) and one
 * user page that is read-only and execute-disable. */
#define KERNEL_TEXT UINT64_C(0xffffffff80000000)
#define KERNEL_DATA UINT64_C(0xffffffff80200000)
#define USER_PAGE UINT64_C(0x0000000000400000)

struct check {
	const char *what;
	uint64_t gva;
	enum nw_access_type type;
	unsigned cpl;
};

static const struct check checks[] = {
	{ "kernel fetches its text", KERNEL_TEXT + 0x1234, NW_ACCESS_FETCH, 0 },
	{ "kernel writes its text", KERNEL_TEXT + 0x1234, NW_ACCESS_WRITE, 0 },
	{ "kernel writes its data", KERNEL_DATA + 0x10, NW_ACCESS_WRITE, 0 },
	{ "kernel fetches its data", KERNEL_DATA + 0x10, NW_ACCESS_FETCH, 0 },
	{ "user reads its page", USER_PAGE + 0x80, NW_ACCESS_READ, 3 },
	{ "user writes its page", USER_PAGE + 0x80, NW_ACCESS_WRITE, 3 },
	{ "user reads kernel data", KERNEL_DATA, NW_ACCESS_READ, 3 },
	{ "kernel reads the user page", USER_PAGE, NW_ACCESS_READ, 0 },
	{ "user reads an unmapped page", USER_PAGE + NW_PAGE_SIZE, NW_ACCESS_READ, 3 },
};

int main(void)
{
	struct nw_simmem *host = nw_simmem_create(&(struct nw_simmem_config){ .size = 64 << 20 });
	const struct nw_hal *hal = nw_simmem_owner(host, "kernel");
	struct nw_gpt gpt;

	/* Leaf flags are x86 PTE bits (P is added); the tables above them grant
	 * everything, so each leaf alone decides. */
	if (!host || nw_gpt_create(&gpt, NW_GPT_4LEVEL, nw_pt_mem_hal(hal)) != NW_OK ||
	    nw_gpt_map(&gpt, nw_gva(KERNEL_TEXT), nw_gpa(0x1000000), NW_SIZE_2M, 0, NULL) != NW_OK ||
	    nw_gpt_map(&gpt, nw_gva(KERNEL_DATA), nw_gpa(0x1200000), NW_PAGE_SIZE, NW_PTE_RW | NW_PTE_XD, NULL) ||
	    nw_gpt_map(&gpt, nw_gva(USER_PAGE), nw_gpa(0x2000000), NW_PAGE_SIZE, NW_PTE_US | NW_PTE_XD, NULL)) {
		fprintf(stderr, "guest_walk_check: building the tables failed\n");
		return 1;
	}

	/* The kernel's control registers: write protection, SMEP and SMAP on,
	 * execute-disable enabled (EFER.NXE), then 4-level paging. */
	struct nw_cpu cpu = { .cr0 = NW_CR0_WP, .cr4 = NW_CR4_SMEP | NW_CR4_SMAP, .efer = NW_EFER_NXE };
	nw_cpu_set_mode(&cpu, NW_PAGING_4LEVEL);
	cpu.cr3 = nw_gpt_root(&gpt);
	const struct nw_walk_config config = { .hal = hal, .stage2 = { .kind = NW_STAGE2_NONE } };
	void *storage = malloc(nw_walker_size());
	struct nw_walker *walker = nw_walker_init(storage, &config, &cpu);
	int disagree = 0;

	for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
		const struct check *c = &checks[i];
		struct nw_access access = { .gva = nw_gva(c->gva), .size = 1, .type = c->type };
		struct nw_walk_result fast, ref;

		cpu.cpl = c->cpl;
		nw_walker_set_cpu(walker, &cpu);
		/* LOOKUP: check only, set no accessed/dirty flag, so the two walks see the same tables. */
		nw_walker_translate(walker, &access, NW_WALK_LOOKUP, &fast);
		nw_walk_reference(&config, &cpu, &access, NW_WALK_LOOKUP, &ref);
		printf("%-28s ", c->what);
		if (fast.outcome == NW_OUTCOME_OK)
			printf("ok -> 0x%" PRIx64 " (%" PRIu64 " KiB page)", fast.gpa.val, fast.guest_page_size >> 10);
		else if (fast.outcome == NW_OUTCOME_PAGE_FAULT)
			printf("#PF error code 0x%x", fast.error_code);
		else
			printf("%s", nw_outcome_name(fast.outcome));
		if (fast.outcome != ref.outcome || fast.error_code != ref.error_code || fast.gpa.val != ref.gpa.val) {
			printf("  (the reference walker says %s)", nw_outcome_name(ref.outcome));
			disagree++;
		}
		printf("\n");
	}

	free(storage);
	nw_gpt_destroy(&gpt);
	return nw_simmem_destroy(host) == 0 && !disagree ? 0 : 1;
}
