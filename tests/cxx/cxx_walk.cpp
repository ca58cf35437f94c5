// The library from C++ through its installed headers: 4-level guest tables built with nw_gpt_* in simulated
// memory, no second stage (GPA = HPA), one user read and one user write walked by the fast walker.
#include <cinttypes>
#include <cstdio>
#include <cstdlib>

#include <nestwalk-sim/simmem.h>
#include <nestwalk/pt_build.h>
#include <nestwalk/walk.h>

static int failures;

static void expect(bool ok, const char *what)
{
	if (!ok) {
		std::printf("FAIL: %s\n", what);
		failures++;
	}
}

int main()
{
	nw_simmem_config host_config = {};
	host_config.size = 64 << 20;
	nw_simmem *host = nw_simmem_create(&host_config);
	const nw_hal *hal = nw_simmem_owner(host, "guest");
	nw_gpt gpt;
	nw_hpa_t data;

	// GVA 0x400000 -> one data frame, user read-only (P is always added; no RW).
	if (nw_gpt_create(&gpt, NW_GPT_4LEVEL, nw_pt_mem_hal(hal)) != NW_OK || !nw_hal_alloc_frame(hal, &data) ||
	    nw_gpt_map(&gpt, nw_gva(0x400000), nw_gpa(data.val), NW_PAGE_SIZE, NW_PTE_US, nullptr) != NW_OK) {
		std::puts("FAIL: building the guest tables");
		return 1;
	}
	nw_cpu cpu = {};
	cpu.cr0 = NW_CR0_WP;
	nw_cpu_set_mode(&cpu, NW_PAGING_4LEVEL);
	cpu.cr3 = nw_gpt_root(&gpt);
	cpu.cpl = 3;
	nw_walk_config config = {};
	config.hal = hal;
	config.stage2.kind = NW_STAGE2_NONE;
	void *storage = std::malloc(nw_walker_size()); // malloc's alignment is at least NW_WALKER_ALIGN
	nw_walker *walker = nw_walker_init(storage, &config, &cpu);

	nw_access access = {};
	access.gva = nw_gva(0x400123);
	access.size = 4;
	access.type = NW_ACCESS_READ;
	nw_walk_result res, read;
	nw_walker_translate(walker, &access, 0, &read);
	res = read;
	// A present user page: the read translates to the frame plus the offset 0x123; 4 guest entries are read
	// (PML4E, PDPTE, PDE, PTE) and nothing else, as there is no second stage.
	expect(res.outcome == NW_OUTCOME_OK, "user read translates");
	expect(res.gpa.val == data.val + 0x123 && res.hpa.val == res.gpa.val, "GPA = HPA = frame + 0x123");
	expect(res.refs == 4, "4 references");

	// A user write to a page without R/W: #PF with P (protection, not absence), W and U set, 0x7 (SDM Vol. 3A
	// §4.7, Figure 4-12), CR2 the linear address.
	access.type = NW_ACCESS_WRITE;
	nw_walker_translate(walker, &access, 0, &res);
	expect(res.outcome == NW_OUTCOME_PAGE_FAULT && res.error_code == 0x7, "user write is #PF 0x7");
	expect(res.cr2 == 0x400123, "CR2 = 0x400123");
	std::printf("read %s gpa 0x%" PRIx64 " refs %u; write %s error code 0x%x\n", nw_outcome_name(read.outcome),
		    read.gpa.val, read.refs, nw_outcome_name(res.outcome), res.error_code);

	std::free(storage);
	nw_hal_dealloc_frame(hal, data);
	nw_gpt_destroy(&gpt);
	uint64_t leaks = nw_simmem_destroy(host);
	expect(leaks == 0, "every frame freed");
	return failures ? 1 : 0;
}
