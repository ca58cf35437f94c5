/* Benchmark machines: guest tables written entry by entry into simulated
 * memory (guest-physical = host-physical for the tables, so one identity EPT
 * range covers them), data pages in a guest-physical range that is mapped but
 * never read, and the EPT over both with pages of one size. The AArch64 ones
 * are the same shape: stage-1 tables built by the table engine in host frames
 * at IPA = PA, under an AArch64 stage 2; the RISC-V ones VS-stage tables
 * written as the x86 ones are, under a G-stage. */
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
/* AArch64: EL0 read/write, execute-never at both levels, not global, Inner Shareable, AttrIndx 0 (MAIR_EL1 Attr0
 * 0xff: Normal Write-Back), AF. */
#define A64_LEAF (NW_ARM64_S1_AF | NW_ARM64_S1_AP1 | NW_ARM64_S1_PXN | NW_ARM64_S1_UXN | NW_ARM64_S1_NG | \
		  UINT64_C(3) << NW_ARM64_S1_SH_SHIFT)
#define A64_S2_FLAGS (NW_ARM64_S2_S2AP_R | NW_ARM64_S2_S2AP_W | NW_ARM64_S2_AF | \
		      nw_arm64_s2_memattr(NW_ARM64_S2_MEMATTR_NORMAL_WB) | UINT64_C(3) << NW_ARM64_S2_SH_SHIFT)
/* RISC-V: a VS-stage pointer (V alone), a leaf VU-mode reads (R, W, U, A and D set), a G-stage leaf every
 * access passes (G-stage accesses are U-mode). */
#define RV_TABLE NW_RV_PTE_V
#define RV_LEAF (NW_RV_PTE_V | NW_RV_PTE_R | NW_RV_PTE_W | NW_RV_PTE_U | NW_RV_PTE_A | NW_RV_PTE_D)
#define RV_G_FLAGS (NW_RV_PTE_R | NW_RV_PTE_W | NW_RV_PTE_X | NW_RV_PTE_U | NW_RV_PTE_A | NW_RV_PTE_D)
/* VTCR_EL2 0x8005_0090: T0SZ 16 (48-bit IPAs), SL0 0b10 (start at level 0: four levels), TG0 4 KiB, PS 0b101
 * (48 bits), RES1 bit 31. */
#define A64_VTCR UINT64_C(0x80050090)
/* TCR_EL1 0x5_8090_0010: T0SZ 16 (48-bit VAs, four levels), TG0 4 KiB, T1SZ 16, EPD1 (no TTBR1 walks), TG1 0b10
 * 4 KiB, IPS 0b101 (48 bits). */
#define A64_TCR UINT64_C(0x580900010)

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

/* One guest leaf at leaf level; upper entries are made as needed. A RISC-V PTE holds the address's PPN from
 * bit 10 (the format's addr_shift), a leaf is one by its R. */
static int guest_map(struct bench_vm *vm, uint64_t gva, uint64_t gpa, int leaf)
{
	const struct nw_pt_format *fmt = vm->guest_fmt;
	uint64_t table = vm->guest_root;
	bool rv = vm->layout.riscv;

	for (int level = fmt->top; level > leaf; level--) {
		uint64_t *entry = host_ptr(vm, table) + nw_pt_index(fmt, level, gva);
		uint64_t next;

		if (!*entry) {
			if (table_alloc(vm, &next))
				return -1;
			*entry = rv ? next >> fmt->addr_shift | RV_TABLE : next | TABLE_FLAGS;
		}
		table = nw_pt_table_addr(fmt, *entry);
	}
	host_ptr(vm, table)[nw_pt_index(fmt, leaf, gva)] =
		rv ? gpa >> fmt->addr_shift | RV_LEAF : gpa | LEAF_FLAGS | (leaf > NW_LEVEL_PT ? NW_PTE_PS : 0);
	return 0;
}

/* One second-stage page at the same host address (EPT, AArch64 stage 2 or the RISC-V G-stage). */
static nw_status_t s2_map_identity(struct bench_vm *vm, uint64_t at, uint64_t page)
{
	if (vm->layout.arm64)
		return nw_arm64_s2_map(&vm->s2, nw_gpa(at), nw_hpa(at), page, A64_S2_FLAGS, 0, NULL);
	if (vm->layout.riscv)
		return nw_rv_gstage_map(&vm->g, nw_gpa(at), nw_hpa(at), page, RV_G_FLAGS, 0, NULL);
	return nw_ept_map(&vm->ept, nw_gpa(at), nw_hpa(at), page, EPT_FLAGS, 0, NULL);
}

/* [gpa, gpa + size) to the same host addresses with second-stage pages of one size. */
static int s2_identity(struct bench_vm *vm, uint64_t gpa, uint64_t size)
{
	const struct nw_pt_format *fmt = vm->layout.arm64 ? vm->s2.pt.fmt : vm->layout.riscv ? vm->g.pt.fmt
											      : vm->ept.pt.fmt;
	uint64_t page = nw_pt_level_size(fmt, vm->layout.ept_leaf);
	uint64_t end = (gpa + size + page - 1) & ~(page - 1);

	for (uint64_t at = gpa & ~(page - 1); at < end; at += page)
		if (s2_map_identity(vm, at, page) != NW_OK)
			return -1;
	return 0;
}

static void stage1_top(void *ctx, int level, uint64_t table, unsigned index, uint64_t va, uint64_t entry)
{
	uint64_t *top = ctx;

	(void)level, (void)index, (void)va, (void)entry;
	if (table + NW_PAGE_SIZE > *top)
		*top = table + NW_PAGE_SIZE;
}

/* An AArch64 machine: the stage-1 tables, the stage 2 over them and the data, EL0 reading with WXN and PAN on. */
static int build_arm64(struct bench_vm *vm, uint64_t page)
{
	struct nw_arm64_s1_caps caps = nw_arm64_s1_caps_all();
	struct nw_arm64_el1_regs regs = { .sctlr = NW_SCTLR_M | NW_SCTLR_WXN, .tcr = A64_TCR, .mair = 0xff };
	uint64_t top = 0;

	if (nw_arm64_s1_tables_create(&vm->s1, 0, 12, 48, nw_pt_mem_hal(vm->hal)) != NW_OK)
		return -1;
	vm->guest_fmt = &vm->s1.format;
	for (uint64_t i = 0; i < vm->layout.npages; i++)
		if (nw_arm64_s1_tables_map(&vm->s1, i * page, nw_gpa(DATA_GPA + i * page), page, A64_LEAF) != NW_OK)
			return -1;
	vm->config = (struct nw_walk_config){ .hal = vm->hal, .stage2 = { .kind = NW_STAGE2_NONE } };
	if (vm->layout.ept_levels) {
		struct nw_arm64_s2_caps s2_caps = nw_arm64_s2_caps_all();
		struct nw_arm64_s2_config config;

		if (nw_arm64_vtcr_decode(A64_VTCR, &s2_caps, &config) != NW_OK ||
		    nw_arm64_s2_create(&vm->s2, vm->hal, &config) != NW_OK)
			return -1;
		vm->config.stage2 = (struct nw_stage2){ .kind = NW_STAGE2_ARM64, .arm64 = &vm->s2 };
		top = vm->s1.pt.root + NW_PAGE_SIZE;
		nw_pt_visit(&vm->s1.pt, stage1_top, &top);
		if (s2_identity(vm, 0, top) || s2_identity(vm, DATA_GPA, vm->layout.npages * page))
			return -1;
	}
	if (nw_arm64_s1_tables_ttbr(&vm->s1, 1, &regs.ttbr0) != NW_OK ||
	    nw_arm64_s1_decode(&regs, &caps, &vm->a64_cpu.s1) != NW_OK)
		return -1;
	vm->a64_cpu.el0 = true;
	vm->a64_cpu.pan = true;
	return 0;
}

/* A RISC-V machine's second stage and hart, once its VS-stage tables are written: the G-stage (Sv39x4 under
 * three VS-stage levels, Sv48x4 under four) over the tables and the data, VU-mode reading. */
static int build_riscv(struct bench_vm *vm, uint64_t top, uint64_t data_size)
{
	unsigned mode = vm->layout.guest_levels == 3 ? NW_RV_SATP_SV39 : NW_RV_SATP_SV48;

	if (vm->layout.ept_levels) {
		struct nw_rv_gstage_config g = { .mode = vm->layout.ept_levels == 3 ? NW_RV_HGATP_SV39X4
										: NW_RV_HGATP_SV48X4,
						 .caps = nw_rv_gstage_caps_all() };

		if (nw_rv_gstage_create(&vm->g, vm->hal, &g) != NW_OK)
			return -1;
		vm->config.stage2 = (struct nw_stage2){ .kind = NW_STAGE2_RISCV, .riscv = &vm->g };
		if (s2_identity(vm, 0, top) || s2_identity(vm, DATA_GPA, data_size))
			return -1;
	}
	vm->rv_cpu = (struct nw_rv_vs_cpu){ .vu = true, .caps = nw_rv_vs_caps_all() };
	return nw_rv_vsatp_decode((uint64_t)mode << NW_RV_SATP_MODE_SHIFT | vm->guest_root >> 12, &vm->rv_cpu.caps,
				  &vm->rv_cpu.vsatp) == NW_OK ? 0 : -1;
}

int bench_vm_build(struct bench_vm *vm, const struct bench_layout *layout)
{
	struct nw_simmem_config host = { .size = HOST_SIZE, .direct_map = true };
	enum nw_paging_mode mode = layout->guest_levels == 5 ? NW_PAGING_5LEVEL : NW_PAGING_4LEVEL;
	uint64_t page, top = 0;
	void *storage;

	memset(vm, 0, sizeof(*vm));
	vm->layout = *layout;
	vm->guest_fmt = layout->riscv ? nw_rv_vs_format(layout->guest_levels == 3 ? NW_RV_SATP_SV39 : NW_RV_SATP_SV48)
				      : nw_paging_format(mode);
	vm->page_shift = vm->guest_fmt->level[layout->guest_leaf].shift;
	page = nw_pt_level_size(vm->guest_fmt, layout->guest_leaf);
	vm->sim = nw_simmem_create(&host);
	vm->hal = vm->sim ? nw_simmem_owner(vm->sim, "bench") : NULL;
	if (vm->hal && layout->arm64) {
		if (build_arm64(vm, page) || !(storage = malloc(nw_walker_size())))
			goto fail;
		vm->walker = nw_walker_init_arm64(storage, &vm->config, &vm->a64_cpu);
		return 0;
	}
	if (!vm->hal || table_alloc(vm, &vm->guest_root))
		goto fail;
	for (uint64_t i = 0; i < layout->npages; i++)
		if (guest_map(vm, bench_vm_gva(vm, i), DATA_GPA + i * page, layout->guest_leaf))
			goto fail;
	for (size_t i = 0; i < vm->nframes; i++)
		top = vm->frames[i].val + NW_PAGE_SIZE > top ? vm->frames[i].val + NW_PAGE_SIZE : top;

	vm->config = (struct nw_walk_config){ .hal = vm->hal, .stage2 = { .kind = NW_STAGE2_NONE } };
	if (layout->riscv) {
		if (build_riscv(vm, top, layout->npages * page) || !(storage = malloc(nw_walker_size())))
			goto fail;
		vm->walker = nw_walker_init_riscv(storage, &vm->config, &vm->rv_cpu);
		return 0;
	}
	if (layout->ept_levels) {
		struct nw_ept_config ept = { .levels = (int)layout->ept_levels, .memory_type = NW_EPT_MT_WB,
					     .caps = nw_ept_caps_all() };

		if (nw_ept_create(&vm->ept, vm->hal, &ept) != NW_OK)
			goto fail;
		vm->config.stage2 = (struct nw_stage2){ .kind = NW_STAGE2_EPT, .ept = &vm->ept };
		if (s2_identity(vm, 0, top) || s2_identity(vm, DATA_GPA, layout->npages * page))
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
	if (vm->s2.pt.fmt)
		nw_arm64_s2_destroy(&vm->s2);
	if (vm->g.pt.fmt)
		nw_rv_gstage_destroy(&vm->g);
	if (vm->s1.pt.fmt)
		nw_arm64_s1_tables_destroy(&vm->s1);
	for (size_t i = 0; i < vm->nframes; i++)
		nw_hal_dealloc_frame(vm->hal, vm->frames[i]);
	free(vm->frames);
	free(vm->walker);
	leaked = nw_simmem_destroy(vm->sim);
	memset(vm, 0, sizeof(*vm));
	return leaked;
}
