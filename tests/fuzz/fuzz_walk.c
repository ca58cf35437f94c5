/* Differential fuzzing of the guest walk. The input builds a hostile guest
 * page-table graph (tables shared between levels, self-references, reserved
 * bits, aliases) in simulated memory, a second stage (EPT, NPT or none) with
 * raw edits, a CPU state and one access; the reference walker and the fast
 * walker must then agree on the whole result and on every byte they write
 * (guest and EPT accessed/dirty flags). Any disagreement aborts.
 *
 * When the case is one a hardware oracle ran (the hardware-outcome table of
 * fuzz_hw.h: 1-D 4- and 5-level walks QEMU gave outcomes for), the reference
 * walker's outcome must also be the hardware's, apart from the table row's
 * listed deviation.
 *
 * Every host-physical address a table can reach is backed: tables and guest
 * pages live in claimed ranges of a strict simulated host, so a walker that
 * dereferences an address it should have rejected (a reserved bit above
 * MAXPHYADDR, a misconfigured EPT leaf) aborts in simmem, and any read outside
 * simulated memory is caught by ASan. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nestwalk/ept.h>
#include <nestwalk/npt.h>
#include <nestwalk/walk.h>
#include <nestwalk/x86_pte.h>

#include "fuzz_hw.h"
#include "fuzz_input.h"
#include "fuzz_target.h"
#include "mem/simmem.h"

#define HOST_SIZE (UINT64_C(4) << 30)
#define WINDOW NW_SIZE_1G /* host [1 GiB, 1 GiB + 8 MiB) is claimed: backed, never allocated */
#define WINDOW_SIZE (UINT64_C(8) << 20)
#define REGION_GPA NW_SIZE_1G /* the guest pages that hold guest tables */
#define REGION_PAGES 16
#define ALIAS_HPA (WINDOW + (UINT64_C(6) << 20)) /* 4 KiB layout: where region pages land, aliases allowed */
#define FIRST_2M_SLOT 4 /* 2 MiB layout: the page lands at 1 GiB + n * 2 MiB, n >= 4, claimed then */
#define MAX_SNAP 48

enum s2_layout { LAYOUT_4K, LAYOUT_2M, LAYOUT_1G };

struct walk_case {
	struct nw_simmem *sim;
	const struct nw_hal *hal;
	struct nw_walk_config config;
	struct nw_ept ept;
	struct nw_npt npt;
	bool have_s2;
	unsigned s2_maxphy;
	enum s2_layout layout;
	bool page_mapped[REGION_PAGES];
	uint64_t page_hpa[REGION_PAGES];
	struct nw_cpu cpu;
	unsigned entry_bytes;
	/* Host pages whose bytes the walkers may change: region pages and stage-2 tables. */
	uint64_t snap_hpa[MAX_SNAP];
	unsigned nsnap;
	uint8_t before[MAX_SNAP][NW_PAGE_SIZE], after_ref[MAX_SNAP][NW_PAGE_SIZE];
};

static struct walk_case wc;

static const char *where = "result"; /* which record is being compared, for the message */

static _Noreturn void differ(const char *what, uint64_t ref, uint64_t fast)
{
	fprintf(stderr, "fuzz_walk: walkers disagree on %s %s: reference %#llx, fast %#llx\n", where, what,
		(unsigned long long)ref, (unsigned long long)fast);
	abort();
}

#define SAME(field)                                                                            \
	do {                                                                                   \
		if ((uint64_t)(ref->field) != (uint64_t)(fast->field))                         \
			differ(#field, (uint64_t)(ref->field), (uint64_t)(fast->field));        \
	} while (0)

static int s2_top(void)
{
	switch (wc.config.stage2.kind) {
	case NW_STAGE2_EPT: return wc.ept.config.levels;
	case NW_STAGE2_NPT: return wc.npt.config.levels;
	case NW_STAGE2_ARM64: /* the x86 guest walk runs over neither */
	case NW_STAGE2_RISCV:
	case NW_STAGE2_NONE: break;
	}
	return 0;
}

static void same_s2(const struct nw_s2_result *ref, const struct nw_s2_result *fast)
{
	SAME(status);
	SAME(fault);
	SAME(hpa.val);
	SAME(page_size);
	SAME(level);
	SAME(entry);
	SAME(rights);
	SAME(memory_type);
	SAME(ignore_pat);
	SAME(refs);
	/* Per-level records exist from the top of the stage-2 table down to where its walk stopped. */
	for (int level = ref->level > 0 ? ref->level : 1; ref->refs && level <= s2_top(); level++) {
		SAME(entries[level]);
		SAME(tables[level].val);
	}
}

/* A probe's field against the walk's (the walk as "reference"). */
#define SAME_HIT(field)                                                                          \
	do {                                                                                     \
		if ((uint64_t)hit->field != (uint64_t)hot->field)                                \
			differ(#field, (uint64_t)hot->field, (uint64_t)hit->field);              \
	} while (0)

static void same_result(const struct nw_walk_result *ref, const struct nw_walk_result *fast)
{
	static const char *const level_names[NW_MAX_LEVELS + 1] = { "", "steps[1].s2", "steps[2].s2", "steps[3].s2",
								      "steps[4].s2", "steps[5].s2" };

	SAME(outcome);
	SAME(mode);
	SAME(gva.val);
	SAME(gpa.val);
	SAME(hpa.val);
	SAME(guest_page_size);
	SAME(s2_page_size);
	SAME(rights);
	SAME(memory_type);
	SAME(guest_pat_index);
	SAME(leaf_level);
	SAME(fault_level);
	SAME(error_code);
	SAME(cr2);
	SAME(exit_qualification);
	SAME(fault_gpa.val);
	SAME(gla_valid);
	SAME(exitinfo1);
	SAME(exitinfo2);
	SAME(gp_reason);
	SAME(s2_on_table);
	SAME(refs);
	SAME(ad_writes);
	SAME(leaf_entry);
	SAME(s2_rights);
	for (int level = 1; level <= NW_MAX_LEVELS; level++) {
		SAME(steps[level].read);
		/* A step is defined only where the walk reached it (walk.h): read, or its stage-2 translation tried. */
		if (!ref->steps[level].read && !ref->steps[level].s2.refs && !fast->steps[level].s2.refs)
			continue;
		SAME(steps[level].entry);
		SAME(steps[level].table_gpa.val);
		SAME(steps[level].table_hpa.val);
		SAME(steps[level].index);
		SAME(steps[level].rights);
		/* A stage-2 record counts only when it read entries (refs 0 marks it unused, walk_internal.h). */
		if (!ref->steps[level].s2.refs && !fast->steps[level].s2.refs)
			continue;
		where = level_names[level];
		same_s2(&ref->steps[level].s2, &fast->steps[level].s2);
		where = "result";
	}
	if (ref->final_s2.refs || fast->final_s2.refs) {
		where = "final_s2";
		same_s2(&ref->final_s2, &fast->final_s2);
		where = "result";
	}
}

static void snap_add(uint64_t hpa)
{
	hpa &= ~NW_PAGE_MASK;
	for (unsigned i = 0; i < wc.nsnap; i++)
		if (wc.snap_hpa[i] == hpa)
			return;
	if (wc.nsnap == MAX_SNAP) {
		fprintf(stderr, "fuzz_walk: more than %d host pages to watch\n", MAX_SNAP);
		abort();
	}
	wc.snap_hpa[wc.nsnap++] = hpa;
}

static void *host(uint64_t hpa)
{
	return nw_hal_phys_to_virt(wc.hal, nw_hpa(hpa));
}

static void snap_take(uint8_t pages[][NW_PAGE_SIZE])
{
	for (unsigned i = 0; i < wc.nsnap; i++)
		memcpy(pages[i], host(wc.snap_hpa[i]), NW_PAGE_SIZE);
}

static void snap_restore(uint8_t pages[][NW_PAGE_SIZE])
{
	for (unsigned i = 0; i < wc.nsnap; i++)
		memcpy(host(wc.snap_hpa[i]), pages[i], NW_PAGE_SIZE);
}

static void snap_expect(uint8_t pages[][NW_PAGE_SIZE], const char *what)
{
	for (unsigned i = 0; i < wc.nsnap; i++) {
		const uint8_t *now = host(wc.snap_hpa[i]);

		if (!memcmp(now, pages[i], NW_PAGE_SIZE))
			continue;
		for (unsigned off = 0; off < NW_PAGE_SIZE; off++)
			if (now[off] != pages[i][off]) {
				fprintf(stderr, "fuzz_walk: %s: host byte %#llx is %#x, expected %#x\n", what,
					(unsigned long long)(wc.snap_hpa[i] + off), now[off], pages[i][off]);
				abort();
			}
	}
}

/* Stage-2 tables are watched too: EPT A/D flags are written there. */
static void watch_table(void *ctx, int level, uint64_t table, unsigned index, uint64_t va, uint64_t entry)
{
	const struct nw_pt *pt = ctx;

	(void)index;
	(void)va;
	snap_add(table);
	if (nw_pt_is_link(pt->fmt, level, entry))
		snap_add(nw_pt_link_addr(pt, entry));
}

static uint64_t bits_from(unsigned low, unsigned high_exclusive)
{
	if (low >= high_exclusive)
		return 0;
	return (high_exclusive >= 64 ? ~UINT64_C(0) : (UINT64_C(1) << high_exclusive) - 1) & ~((UINT64_C(1) << low) - 1);
}

/* Edit masks may touch any bit but the page-size bit and the address bits
 * below the second stage's MAXPHYADDR (those would point outside the window). */
static uint64_t edit_mask(uint64_t ps_bit)
{
	return ~(ps_bit | bits_from(12, wc.s2_maxphy));
}

static bool build_ept(struct fz *in)
{
	uint8_t opts = fz_u8(in);
	struct nw_ept_config config = {
		.levels = fz_bit(opts, 0) ? 5 : 4,
		.ad = fz_bit(opts, 1),
		.mbec = fz_bit(opts, 2),
		.memory_type = fz_bit(opts, 3) ? NW_EPT_MT_WB : NW_EPT_MT_UC,
		.caps = { .maxphyaddr = 36 + fz_u8(in) % 17, .exec_only = fz_bit(opts, 4), .pages_1g = fz_bit(opts, 5),
			  .five_level = true, .mbec = true, .ad = true, .advanced_exit_info = fz_bit(opts, 6) },
	};
	uint64_t flags = NW_EPT_R | NW_EPT_W | NW_EPT_X | NW_EPT_UX | nw_ept_mt(NW_EPT_MT_WB);

	if (nw_ept_create(&wc.ept, wc.hal, &config) != NW_OK)
		return false;
	wc.have_s2 = true;
	wc.s2_maxphy = config.caps.maxphyaddr;
	wc.config.stage2 = (struct nw_stage2){ .kind = NW_STAGE2_EPT, .ept = &wc.ept };
	if (wc.layout == LAYOUT_1G &&
	    nw_ept_map(&wc.ept, nw_gpa(REGION_GPA), nw_hpa(WINDOW), NW_SIZE_1G, flags, 0, NULL) != NW_OK)
		wc.layout = LAYOUT_2M;
	if (wc.layout == LAYOUT_2M) {
		uint64_t hpa = WINDOW + (FIRST_2M_SLOT + fz_u16(in) % (512 - FIRST_2M_SLOT)) * NW_SIZE_2M;

		if (!nw_simmem_claim(wc.sim, nw_hpa(hpa), NW_SIZE_2M))
			return false;
		if (nw_ept_map(&wc.ept, nw_gpa(REGION_GPA), nw_hpa(hpa), NW_SIZE_2M, flags, 0, NULL) != NW_OK)
			return false;
		for (unsigned i = 0; i < REGION_PAGES; i++)
			wc.page_hpa[i] = hpa + i * NW_PAGE_SIZE;
	}
	for (unsigned i = 0; i < REGION_PAGES && wc.layout == LAYOUT_4K; i++)
		if (wc.page_mapped[i] && nw_ept_map(&wc.ept, nw_gpa(REGION_GPA + i * NW_PAGE_SIZE),
						    nw_hpa(wc.page_hpa[i]), NW_PAGE_SIZE, flags, 0, NULL) != NW_OK)
			return false;
	for (unsigned n = fz_u8(in) % 4; n > 0; n--) {
		uint64_t gpa = REGION_GPA + (fz_u8(in) % REGION_PAGES) * NW_PAGE_SIZE;
		int level = 1 + fz_u8(in) % config.levels;
		uint64_t clear = fz_u64(in) & edit_mask(NW_EPT_PS), set = fz_u64(in) & edit_mask(NW_EPT_PS), old;

		/* A refused edit (no entry there, a table address) leaves the tables as they were. */
		if (nw_ept_edit(&wc.ept, nw_gpa(gpa), level, clear, set, &old, NULL) != NW_OK)
			continue;
	}
	nw_pt_visit(&wc.ept.pt, watch_table, &wc.ept.pt);
	snap_add(wc.ept.pt.root);
	return true;
}

static bool build_npt(struct fz *in)
{
	uint8_t opts = fz_u8(in);
	struct nw_npt_config config = {
		.levels = fz_bit(opts, 0) ? 5 : 4,
		.caps = { .maxphyaddr = 36 + fz_u8(in) % 17, .pages_1g = fz_bit(opts, 1), .five_level = true,
			  .nxe = fz_bit(opts, 2) },
	};
	uint64_t flags = NW_PTE_RW;

	if (nw_npt_create(&wc.npt, wc.hal, &config) != NW_OK)
		return false;
	wc.have_s2 = true;
	wc.s2_maxphy = config.caps.maxphyaddr;
	wc.config.stage2 = (struct nw_stage2){ .kind = NW_STAGE2_NPT, .npt = &wc.npt };
	if (wc.layout == LAYOUT_1G &&
	    nw_npt_map(&wc.npt, nw_gpa(REGION_GPA), nw_hpa(WINDOW), NW_SIZE_1G, flags, 0, NULL) != NW_OK)
		wc.layout = LAYOUT_2M;
	if (wc.layout == LAYOUT_2M) {
		uint64_t hpa = WINDOW + (FIRST_2M_SLOT + fz_u16(in) % (512 - FIRST_2M_SLOT)) * NW_SIZE_2M;

		if (!nw_simmem_claim(wc.sim, nw_hpa(hpa), NW_SIZE_2M))
			return false;
		if (nw_npt_map(&wc.npt, nw_gpa(REGION_GPA), nw_hpa(hpa), NW_SIZE_2M, flags, 0, NULL) != NW_OK)
			return false;
		for (unsigned i = 0; i < REGION_PAGES; i++)
			wc.page_hpa[i] = hpa + i * NW_PAGE_SIZE;
	}
	for (unsigned i = 0; i < REGION_PAGES && wc.layout == LAYOUT_4K; i++)
		if (wc.page_mapped[i] && nw_npt_map(&wc.npt, nw_gpa(REGION_GPA + i * NW_PAGE_SIZE),
						    nw_hpa(wc.page_hpa[i]), NW_PAGE_SIZE, flags, 0, NULL) != NW_OK)
			return false;
	for (unsigned n = fz_u8(in) % 4; n > 0; n--) {
		uint64_t gpa = REGION_GPA + (fz_u8(in) % REGION_PAGES) * NW_PAGE_SIZE;
		int level = 1 + fz_u8(in) % config.levels;
		uint64_t clear = fz_u64(in) & edit_mask(NW_PTE_PS), set = fz_u64(in) & edit_mask(NW_PTE_PS), old;

		if (nw_npt_edit(&wc.npt, nw_gpa(gpa), level, clear, set, &old, NULL) != NW_OK)
			continue;
	}
	nw_pt_visit(&wc.npt.pt, watch_table, &wc.npt.pt);
	snap_add(wc.npt.pt.root);
	return true;
}

/* Guest-physical addresses a hostile entry may name besides the region:
 * unmapped, mapped but empty, at the top of the guest-physical space. */
static uint64_t far_gpa(unsigned which)
{
	switch (which % 4) {
	case 0: return 0;
	case 1: return UINT64_C(3) << 30;
	case 2: return REGION_GPA + (UINT64_C(1) << 20);
	}
	return (UINT64_C(1) << wc.s2_maxphy) - NW_PAGE_SIZE;
}

/* One guest paging-structure entry: any flag bits, and an address that is a
 * region page, a far page (with a second stage), a region page with reserved
 * bits at or above MAXPHYADDR, or a page somewhere else in the window. */
static uint64_t make_entry(struct fz *in)
{
	uint8_t kind = fz_u8(in);
	uint64_t raw = fz_u64(in);
	unsigned m = nw_cpu_maxphyaddr(&wc.cpu);
	uint64_t addr = REGION_GPA + (uint64_t)((kind >> 2) % REGION_PAGES) * NW_PAGE_SIZE;

	if ((kind & 3) == 2 && wc.have_s2)
		addr = far_gpa(kind >> 2);
	if (kind & 0x80)
		addr |= raw & UINT64_C(0x3ff000); /* large-page reserved bits 21:12, PSE-36 bits, PAT */
	if (wc.entry_bytes == 4)
		return (uint32_t)((raw & NW_PAGE_MASK) | (addr & UINT64_C(0xfffff000)));
	if ((kind & 3) == 3)
		addr |= raw & bits_from(m, 52);
	return (raw & ~NW_PTE_ADDR_MASK) | addr;
}

static void put_entry(unsigned page, unsigned index, uint64_t value)
{
	uint8_t *ptr;

	if (!wc.page_mapped[page])
		return;
	ptr = host(wc.page_hpa[page]);
	if (wc.entry_bytes == 4)
		memcpy(ptr + index * 4, &value, 4);
	else
		memcpy(ptr + index * 8, &value, 8);
}

/* Indices the entries and the linear address both draw from, so they meet. */
static unsigned pick_index(uint8_t sel, unsigned entries)
{
	static const unsigned near_ends[8] = { 0, 1, 2, 3, 255, 256, 510, 511 };
	static const unsigned near_ends32[8] = { 0, 1, 2, 3, 511, 512, 1022, 1023 };

	return (entries == 1024 ? near_ends32[sel % 8] : near_ends[sel % 8]) & (entries - 1);
}

static uint64_t make_gva(struct fz *in, enum nw_paging_mode mode)
{
	uint8_t how = fz_u8(in);
	uint64_t gva = fz_u16(in) & NW_PAGE_MASK;
	unsigned levels = 0, bits = 9, top_bits = 9;

	switch (mode) {
	case NW_PAGING_OFF:
		return fz_bit(how, 0) ? fz_u64(in) : REGION_GPA + fz_u32(in) % NW_SIZE_2M;
	case NW_PAGING_32: levels = 2; bits = 10; top_bits = 10; break;
	case NW_PAGING_PAE: levels = 3; top_bits = 2; break;
	case NW_PAGING_4LEVEL: levels = 4; break;
	case NW_PAGING_5LEVEL: levels = 5; break;
	}
	for (unsigned level = 1; level <= levels; level++) {
		unsigned width = level == levels ? top_bits : bits;

		gva |= (uint64_t)pick_index(fz_u8(in), 1u << width) << (12 + bits * (level - 1));
	}
	if (mode == NW_PAGING_4LEVEL || mode == NW_PAGING_5LEVEL) {
		unsigned va_bits = mode == NW_PAGING_5LEVEL ? 57 : 48;

		if (fz_bit(how, 1))
			gva |= UINT64_C(1) << (va_bits - 1);
		gva = (uint64_t)((int64_t)(gva << (64 - va_bits)) >> (64 - va_bits));
		if (fz_bit(how, 2))
			gva ^= UINT64_C(1) << 60; /* non-canonical */
	} else if (fz_bit(how, 3)) {
		gva |= (uint64_t)fz_u32(in) << 32; /* ignored by 32-bit linear addressing */
	}
	return gva;
}

static void setup_cpu(struct fz *in)
{
	uint8_t mode_byte = fz_u8(in), cr_bits = fz_u8(in), more = fz_u8(in);
	enum nw_paging_mode mode = (enum nw_paging_mode)(mode_byte % 5);

	wc.cpu = (struct nw_cpu){ .maxphyaddr = 36 + fz_u8(in) % 17 };
	wc.cpu.cr0 = fz_bit(cr_bits, 0) ? NW_CR0_WP : 0;
	wc.cpu.cr4 = (fz_bit(cr_bits, 1) ? NW_CR4_PSE : 0) | (fz_bit(cr_bits, 2) ? NW_CR4_PGE : 0) |
		     (fz_bit(cr_bits, 3) ? NW_CR4_SMEP : 0) | (fz_bit(cr_bits, 4) ? NW_CR4_SMAP : 0) |
		     (fz_bit(cr_bits, 5) ? NW_CR4_PKE : 0) | (fz_bit(cr_bits, 6) ? NW_CR4_PKS : 0);
	/* PCIDE needs IA-32e mode (§4.10.1): a real CPU cannot hold it otherwise. */
	if (fz_bit(cr_bits, 7) && (mode == NW_PAGING_4LEVEL || mode == NW_PAGING_5LEVEL))
		wc.cpu.cr4 |= NW_CR4_PCIDE;
	wc.cpu.efer = fz_bit(more, 0) ? NW_EFER_NXE : 0;
	wc.cpu.rflags = fz_bit(more, 1) ? NW_RFLAGS_AC : 0;
	wc.cpu.cpl = (more >> 2) & 3;
	wc.cpu.no_1g_pages = fz_bit(more, 4);
	wc.config.ad_policy = fz_bit(more, 5) ? NW_AD_ON_SUCCESS : NW_AD_AS_PASSED;
	wc.cpu.pkru = fz_u32(in);
	wc.cpu.pkrs = fz_u32(in);
	nw_cpu_set_mode(&wc.cpu, mode);
	wc.entry_bytes = mode == NW_PAGING_32 ? 4 : 8;
}

const struct fz_hw_table *fz_walk_hw_table = &fz_hw_qemu;
unsigned long fz_walk_hw_checked;

/* An entry as the key holds it (fuzz_hw.h): without the bits that only locate the next table or the page. */
static uint64_t key_entry(int level, uint64_t entry, unsigned maxphy)
{
	unsigned low = level == 2 && (entry & NW_PTE_PS) ? 21 : 12;

	return entry & ~bits_from(low, maxphy);
}

/* The key of this input's case (fuzz_hw.h) in key; false when the case is not one the table can hold: a
 * second stage, a mode other than 4- or 5-level paging, a table outside the region. */
static bool hw_key(const struct nw_access *access, char *key, size_t len)
{
	enum nw_paging_mode mode = nw_cpu_paging_mode(&wc.cpu);
	unsigned m = nw_cpu_maxphyaddr(&wc.cpu), levels = mode == NW_PAGING_5LEVEL ? 5 : 4;
	bool pke = wc.cpu.cr4 & NW_CR4_PKE, pks = wc.cpu.cr4 & NW_CR4_PKS;
	uint64_t table = wc.cpu.cr3 & bits_from(12, m);
	int n;

	if (wc.config.stage2.kind != NW_STAGE2_NONE || (mode != NW_PAGING_4LEVEL && mode != NW_PAGING_5LEVEL))
		return false;
	n = snprintf(key, len, "%u/%u/%d%d%d%d%d%d%d%d/%u/%x/%x/%d%d/%llx", levels, m, !!(wc.cpu.cr0 & NW_CR0_WP),
		     !!(wc.cpu.cr4 & NW_CR4_SMEP), !!(wc.cpu.cr4 & NW_CR4_SMAP), pke, pks,
		     !!(wc.cpu.efer & NW_EFER_NXE), !!(wc.cpu.rflags & NW_RFLAGS_AC), !!wc.cpu.no_1g_pages,
		     wc.cpu.cpl, pke ? wc.cpu.pkru : 0, pks ? wc.cpu.pkrs : 0, (int)access->type, access->implicit,
		     (unsigned long long)access->gva.val);
	for (int level = (int)levels; level >= 1; level--) {
		unsigned index = (unsigned)(access->gva.val >> (12 + 9 * (level - 1))) & 511;
		uint64_t entry;

		if (table < REGION_GPA || table >= REGION_GPA + REGION_PAGES * NW_PAGE_SIZE ||
		    !wc.page_mapped[(table - REGION_GPA) / NW_PAGE_SIZE])
			return false;
		memcpy(&entry, (uint8_t *)host(table) + index * 8, 8);
		n += snprintf(key + n, len - (size_t)n, "/%llx", (unsigned long long)key_entry(level, entry, m));
		if ((size_t)n >= len)
			return false;
		if (!(entry & NW_PTE_P) || (entry & NW_PTE_PS) || level == 1)
			break;
		table = entry & bits_from(12, m);
	}
	return true;
}

/* The reference walker's outcome against the hardware's for the case of key, when the table has it. */
static void check_hw(const char *key, const struct nw_access *access, const struct nw_walk_result *ref)
{
	const struct fz_hw_row *row = fz_walk_hw_table->rows ? fz_hw_find(fz_walk_hw_table, key) : NULL;
	struct fz_hw_walk walk = {
		.implicit = access->implicit, .smap = wc.cpu.cr4 & NW_CR4_SMAP, .ac = wc.cpu.rflags & NW_RFLAGS_AC,
		.cpl = wc.cpu.cpl, .page_fault = ref->outcome == NW_OUTCOME_PAGE_FAULT, .error_code = ref->error_code,
	};
	const char *wrong;

	if (!row)
		return;
	fz_walk_hw_checked++;
	if (ref->outcome != NW_OUTCOME_OK && ref->outcome != NW_OUTCOME_PAGE_FAULT)
		wrong = "neither a translation nor a page fault";
	else
		wrong = fz_hw_disagreement(row, &walk);
	if (wrong) {
		fprintf(stderr, "fuzz_walk: %s: %s for case %s: hardware %s %#llx, walkers %d %#llx\n",
			fz_walk_hw_table->name, wrong, key, row->kind == FZ_HW_OK ? "ok" : "#PF",
			(unsigned long long)row->error_code, (int)ref->outcome, (unsigned long long)ref->error_code);
		abort();
	}
}

/* A walker over the same host reading through a direct-map window (the walkers' HAL has none): its hot
 * copies and nw_walker_probe() take the window and fall back to the checked path only outside it. */
static struct nw_walker *direct_walker_init(struct nw_hal *direct, struct nw_walk_config *config)
{
	*direct = nw_simmem_direct_view(wc.sim, wc.hal);
	*config = wc.config;
	config->hal = direct;
	return nw_walker_init(fz_walker_storage(1), config, &wc.cpu);
}

/* When the probe answers, the walk translates to the same fields and writes nothing; without a second stage
 * under 4-/5-level paging it declines only a fault or a walk that writes (or a lookup, which would have to). */
static void check_probe(bool answered, const struct nw_walk_hit *hit, const struct nw_walk_result *hot, unsigned flags)
{
	bool wrote = memcmp(wc.before, wc.after_ref, (size_t)wc.nsnap * NW_PAGE_SIZE) != 0;

	where = "probe";
	if (answered) {
		if (hot->outcome != NW_OUTCOME_OK || wrote || hot->ad_writes)
			differ("answer against the walk's outcome (or its writes)", hot->outcome, wrote);
		SAME_HIT(gpa.val);
		SAME_HIT(hpa.val);
		SAME_HIT(leaf_entry);
		SAME_HIT(guest_page_size);
		SAME_HIT(s2_page_size);
		SAME_HIT(rights);
		SAME_HIT(s2_rights);
		SAME_HIT(memory_type);
		SAME_HIT(guest_pat_index);
		SAME_HIT(leaf_level);
		SAME_HIT(refs);
	} else if (hot->outcome == NW_OUTCOME_OK && !wrote && !(flags & NW_WALK_LOOKUP) && !wc.have_s2 &&
		   (hot->mode == NW_PAGING_4LEVEL || hot->mode == NW_PAGING_5LEVEL)) {
		differ("decline of a translation that writes nothing", 0, hot->gpa.val);
	}
	where = "result";
}

static void walk_both(const struct nw_access *access, unsigned flags, const char *hw)
{
	struct nw_walker *walker, *direct;
	struct nw_hal direct_hal;
	struct nw_walk_config direct_config;
	struct nw_walk_result ref, fast, hot;
	struct nw_walk_hit hit;
	bool answered;

	direct = direct_walker_init(&direct_hal, &direct_config);
	snap_take(wc.before);
	answered = nw_walker_probe(direct, access, &hit);
	nw_walk_reference(&wc.config, &wc.cpu, access, flags, &ref);
	if (hw)
		check_hw(hw, access, &ref);
	snap_take(wc.after_ref);
	if (flags & NW_WALK_LOOKUP)
		snap_expect(wc.before, "a lookup-only reference walk wrote memory");
	snap_restore(wc.before);
	walker = nw_walker_init(fz_walker_storage(0), &wc.config, &wc.cpu);
	nw_walker_translate(walker, access, flags | NW_WALK_RECORD, &fast);
	same_result(&ref, &fast);
	snap_expect(wc.after_ref, "the fast walker's writes differ from the reference walker's");
	/* Again without the record, through the window (the hot copies, the probe first), which leaves the
	 * recorded fields as they were. */
	snap_restore(wc.before);
	hot = fast;
	nw_walker_translate(direct, access, flags, &hot);
	same_result(&ref, &hot);
	snap_expect(wc.after_ref, "the unrecorded fast walk's writes differ from the reference walker's");
	check_probe(answered, &hit, &hot, flags);
	/* The flags the walk set are set now: the same access again is the plain case the probe answers. */
	if (hot.outcome == NW_OUTCOME_OK && !(flags & NW_WALK_LOOKUP)) {
		snap_take(wc.before);
		answered = nw_walker_probe(direct, access, &hit);
		nw_walker_translate(direct, access, flags, &hot);
		snap_take(wc.after_ref);
		check_probe(answered, &hit, &hot, flags);
	}
}

static void teardown(void)
{
	uint64_t leaked;

	if (wc.config.stage2.kind == NW_STAGE2_EPT)
		nw_ept_destroy(&wc.ept);
	else if (wc.config.stage2.kind == NW_STAGE2_NPT)
		nw_npt_destroy(&wc.npt);
	leaked = nw_simmem_reset(wc.sim);
	if (leaked) {
		fprintf(stderr, "fuzz_walk: %llu frame(s) leaked\n", (unsigned long long)leaked);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz in = fz_start(data, size);
	uint8_t s2_byte, layout_byte;
	struct nw_access access, parts[2];
	unsigned flags, nparts;
	uint64_t cr3;
	char key[256];
	const char *hw;

	memset(&wc, 0, offsetof(struct walk_case, before));
	wc.sim = fz_shared_host(HOST_SIZE);
	/* Frame 0 too: a raw stage-2 edit of an empty entry makes it point at host address 0. */
	if (!wc.sim || !nw_simmem_claim(wc.sim, nw_hpa(WINDOW), WINDOW_SIZE) ||
	    !nw_simmem_claim(wc.sim, nw_hpa(0), NW_PAGE_SIZE)) {
		fprintf(stderr, "fuzz_walk: cannot set up the simulated host\n");
		abort();
	}
	wc.hal = nw_simmem_owner(wc.sim, "fuzz");
	wc.config.hal = wc.hal;
	setup_cpu(&in);

	s2_byte = fz_u8(&in);
	layout_byte = fz_u8(&in);
	wc.layout = (enum s2_layout)(layout_byte % 3);
	for (unsigned i = 0; i < REGION_PAGES; i++) {
		wc.page_mapped[i] = true;
		wc.page_hpa[i] = REGION_GPA + i * NW_PAGE_SIZE;
	}
	switch (s2_byte % 3) {
	case 1:
	case 2:
		if (wc.layout == LAYOUT_4K) {
			uint16_t present = fz_u16(&in);

			for (unsigned i = 0; i < REGION_PAGES; i++) {
				wc.page_mapped[i] = fz_bit(present, i) || i == 0;
				wc.page_hpa[i] = ALIAS_HPA + (fz_u8(&in) % REGION_PAGES) * NW_PAGE_SIZE;
			}
		}
		if (!(s2_byte % 3 == 1 ? build_ept(&in) : build_npt(&in))) {
			teardown();
			return 0;
		}
		break;
	default:
		wc.config.stage2.kind = NW_STAGE2_NONE;
		wc.s2_maxphy = 52;
		break;
	}
	for (unsigned i = 0; i < REGION_PAGES; i++)
		if (wc.page_mapped[i])
			snap_add(wc.page_hpa[i]);
	snap_add(0);

	/* CR3 and, for PAE, the four PDPTEs it locates. */
	cr3 = REGION_GPA + (fz_u8(&in) % REGION_PAGES) * NW_PAGE_SIZE;
	if (wc.cpu.cr4 & NW_CR4_PCIDE)
		cr3 |= fz_u16(&in) & NW_CR3_PCID_MASK;
	else
		cr3 |= fz_u8(&in) & (NW_CR3_PWT | NW_CR3_PCD);
	if (nw_cpu_paging_mode(&wc.cpu) == NW_PAGING_PAE) {
		cr3 += (fz_u8(&in) % 128) * 32;
		for (unsigned i = 0; i < 4; i++)
			put_entry((unsigned)((cr3 - REGION_GPA) / NW_PAGE_SIZE), (unsigned)((cr3 & NW_PAGE_MASK) / 8) + i,
				  make_entry(&in));
	}

	access = (struct nw_access){ .gva = nw_gva(make_gva(&in, nw_cpu_paging_mode(&wc.cpu))) };
	access.size = fz_u16(&in) % (NW_PAGE_SIZE + 1);
	flags = fz_u8(&in);
	access.type = (enum nw_access_type)(flags % 3);
	access.implicit = fz_bit(flags, 2);
	flags = fz_bit(flags, 3) ? NW_WALK_LOOKUP : 0;

	/* The rest of the input is the table graph: (page, index, entry) triples. */
	while (fz_more(&in)) {
		unsigned page = fz_u8(&in) % REGION_PAGES;
		unsigned index = pick_index(fz_u8(&in), NW_PAGE_SIZE / wc.entry_bytes);

		put_entry(page, index, make_entry(&in));
	}

	if (nw_cpu_paging_mode(&wc.cpu) == NW_PAGING_PAE) {
		struct nw_walk_result load;

		nw_cpu_load_cr3(&wc.config, &wc.cpu, cr3, &load);
		if (load.outcome != NW_OUTCOME_OK) {
			teardown();
			return 0;
		}
	} else {
		wc.cpu.cr3 = cr3;
	}

	nparts = nw_walk_split(&access, parts);
	/* Keyed before any walk sets an accessed flag: the key holds the entries as the input wrote them. */
	hw = nparts == 1 && hw_key(&parts[0], key, sizeof(key)) ? key : NULL;
	for (unsigned i = 0; i < nparts; i++)
		walk_both(&parts[i], flags, hw);
	teardown();
	return 0;
}
