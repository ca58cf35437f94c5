/* Benchmark machines: guest tables written entry by entry into simulated
 * memory (guest-physical = host-physical for the tables, so one identity EPT
 * range covers them), data pages in a guest-physical range that is mapped but
 * never read, and the EPT over both with pages of one size. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nestwalk/x86_pte.h>

#include "bench.h"

#define HOST_SIZE (UINT64_C(16) << 30)
#define DATA_GPA (UINT64_C(1) << 40) /* guest data pages: mapped by the EPT, never read */
#define TABLE_FLAGS (NW_PTE_P | NW_PTE_RW | NW_PTE_US | NW_PTE_A)
#define LEAF_FLAGS (NW_PTE_P | NW_PTE_RW | NW_PTE_US | NW_PTE_A | NW_PTE_D)
#define EPT_FLAGS (NW_EPT_R | NW_EPT_W | NW_EPT_X | nw_ept_mt(NW_EPT_MT_WB))

static uint64_t *host_ptr(const struct bench_vm *vm, uint64_t hpa)
{
	return nw_hal_phys_to_virt(vm->hal, nw_hpa(hpa));
}

static int table_alloc(struct bench_vm *vm, uint64_t *addr)
{
	nw_hpa_t frame;

	if (vm->nframes == vm->frames_cap) {
		size_t cap = vm->frames_cap ? vm->frames_cap * 2 : 256;
		nw_hpa_t *grown = realloc(vm->frames, cap * sizeof(*grown));

		if (!grown)
			return -1;
		vm->frames = grown;
		vm->frames_cap = cap;
	}
	if (!nw_hal_alloc_frame(vm->hal, &frame))
		return -1;
	memset(host_ptr(vm, frame.val), 0, NW_PAGE_SIZE);
	vm->frames[vm->nframes++] = frame;
	*addr = frame.val;
	return 0;
}

/* One guest leaf at leaf level; upper entries are made as needed. */
static int guest_map(struct bench_vm *vm, uint64_t gva, uint64_t gpa, int leaf)
{
	const struct nw_pt_format *fmt = vm->guest_fmt;
	uint64_t table = vm->guest_root;

	for (int level = fmt->top; level > leaf; level--) {
		uint64_t *entry = host_ptr(vm, table) + nw_pt_index(fmt, level, gva);
		uint64_t next;

		if (!*entry) {
			if (table_alloc(vm, &next))
				return -1;
			*entry = next | TABLE_FLAGS;
		}
		table = *entry & NW_PTE_ADDR_MASK;
	}
	host_ptr(vm, table)[nw_pt_index(fmt, leaf, gva)] =
		gpa | LEAF_FLAGS | (leaf > NW_LEVEL_PT ? NW_PTE_PS : 0);
	return 0;
}

/* [gpa, gpa + size) to the same host addresses with EPT pages of one size. */
static int ept_identity(struct bench_vm *vm, uint64_t gpa, uint64_t size)
{
	uint64_t page = nw_pt_level_size(vm->ept.pt.fmt, vm->layout.ept_leaf);
	uint64_t end = (gpa + size + page - 1) & ~(page - 1);

	for (uint64_t at = gpa & ~(page - 1); at < end; at += page)
		if (nw_ept_map(&vm->ept, nw_gpa(at), nw_hpa(at), page, EPT_FLAGS, 0, NULL) != NW_OK)
			return -1;
	return 0;
}

int bench_vm_build(struct bench_vm *vm, const struct bench_layout *layout)
{
	struct nw_simmem_config host = { .size = HOST_SIZE, .direct_map = true };
	enum nw_paging_mode mode = layout->guest_levels == 5 ? NW_PAGING_5LEVEL : NW_PAGING_4LEVEL;
	uint64_t page, top = 0;
	void *storage;

	memset(vm, 0, sizeof(*vm));
	vm->layout = *layout;
	vm->guest_fmt = nw_paging_format(mode);
	vm->page_shift = vm->guest_fmt->level[layout->guest_leaf].shift;
	page = nw_pt_level_size(vm->guest_fmt, layout->guest_leaf);
	vm->sim = nw_simmem_create(&host);
	vm->hal = vm->sim ? nw_simmem_owner(vm->sim, "bench") : NULL;
	if (!vm->hal || table_alloc(vm, &vm->guest_root))
		goto fail;
	for (uint64_t i = 0; i < layout->npages; i++)
		if (guest_map(vm, bench_vm_gva(vm, i), DATA_GPA + i * page, layout->guest_leaf))
			goto fail;
	for (size_t i = 0; i < vm->nframes; i++)
		top = vm->frames[i].val + NW_PAGE_SIZE > top ? vm->frames[i].val + NW_PAGE_SIZE : top;

	vm->config = (struct nw_walk_config){ .hal = vm->hal, .stage2 = { .kind = NW_STAGE2_NONE } };
	if (layout->ept_levels) {
		struct nw_ept_config ept = { .levels = (int)layout->ept_levels, .memory_type = NW_EPT_MT_WB,
					     .caps = nw_ept_caps_all() };

		if (nw_ept_create(&vm->ept, vm->hal, &ept) != NW_OK)
			goto fail;
		vm->config.stage2 = (struct nw_stage2){ .kind = NW_STAGE2_EPT, .ept = &vm->ept };
		if (ept_identity(vm, 0, top) || ept_identity(vm, DATA_GPA, layout->npages * page))
			goto fail;
	}

	/* Every permission feature on: WP, SMEP, SMAP, protection keys (user and
	 * supervisor), NX; user-mode reads at CPL 3 of user pages with key 0. */
	vm->cpu = (struct nw_cpu){ .cr0 = NW_CR0_WP, .cr4 = NW_CR4_PSE | NW_CR4_PGE | NW_CR4_SMEP | NW_CR4_SMAP |
							   NW_CR4_PKE | NW_CR4_PKS,
				   .efer = NW_EFER_NXE, .cpl = 3, .maxphyaddr = 46 };
	nw_cpu_set_mode(&vm->cpu, mode);
	vm->cpu.cr3 = vm->guest_root;
	storage = malloc(nw_walker_size());
	if (!storage)
		goto fail;
	vm->walker = nw_walker_init(storage, &vm->config, &vm->cpu);
	return 0;
fail:
	fprintf(stderr, "nestwalk bench: cannot build a guest of %llu pages\n", (unsigned long long)layout->npages);
	bench_vm_destroy(vm);
	return -1;
}

uint64_t bench_vm_destroy(struct bench_vm *vm)
{
	uint64_t leaked;

	if (vm->config.stage2.kind == NW_STAGE2_EPT || vm->ept.pt.fmt)
		nw_ept_destroy(&vm->ept);
	for (size_t i = 0; i < vm->nframes; i++)
		nw_hal_dealloc_frame(vm->hal, vm->frames[i]);
	free(vm->frames);
	free(vm->walker);
	leaked = nw_simmem_destroy(vm->sim);
	memset(vm, 0, sizeof(*vm));
	return leaked;
}
