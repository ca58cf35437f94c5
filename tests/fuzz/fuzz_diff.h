/* What the second-stage fuzz targets (fuzz_arm64.c, fuzz_riscv.c) share around their architecture's walk: the
 * finding's report, the case's strict host with the region of table pages and the output pages claimed, the
 * fields every walk result has compared, and the differential run (a lookup by the reference walk and by the fast
 * walker writes nothing and gives the same result, a probe that answers gives the translation, a walk that may
 * write writes the same bytes from both). Define FZ_NAME, the target's name in its messages, before including. */
#ifndef NESTWALK_FUZZ_DIFF_H
#define NESTWALK_FUZZ_DIFF_H

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nestwalk/walk.h>

#include "fuzz_input.h"
#include "fuzz_region.h"
#include "fuzz_target.h"
#include "mem/simmem.h"

#ifndef FZ_NAME
#error "fuzz_diff.h: define FZ_NAME (the target's name) first"
#endif

#define FZ_HOST_SIZE (UINT64_C(4) << 30)
#define FZ_OUTPUT_ADDR UINT64_C(0x80000000) /* pages leaves map; claimed too, for a pointer that names one */
#define FZ_OUTPUT_PAGES 64

/* One input's host and walk configuration; the snapshots are not cleared between inputs (each walk takes them). */
struct fz_case {
	struct nw_simmem *sim;
	const struct nw_hal *hal;
	struct nw_walk_config config;
	uint64_t page_hpa[FZ_REGION_PAGES]; /* where each region page's guest address lands */
	struct fz_region_snap before, after_ref;
};

static struct fz_case fc;

static _Noreturn void fail(const char *what, uint64_t a, uint64_t b)
{
	fprintf(stderr, FZ_NAME ": %s (%#llx, %#llx)\n", what, (unsigned long long)a, (unsigned long long)b);
	abort();
}

#define SAME(field)                                                                        \
	do {                                                                               \
		if ((uint64_t)(ref->field) != (uint64_t)(fast->field))                     \
			fail("walkers disagree on " #field, (uint64_t)(ref->field),        \
			     (uint64_t)(fast->field));                                     \
	} while (0)

static void *host(uint64_t hpa)
{
	return nw_hal_phys_to_virt(fc.hal, nw_hpa(hpa));
}

static void snap_expect(const struct fz_region_snap *snap, const char *what)
{
	uint64_t changed = fz_region_changed(fc.hal, snap);

	if (changed)
		fail(what, changed, 0);
}

/* A new case: the shared host reset, the region and the output pages claimed, the region zeroed, no second
 * stage (a region page's guest address is its host address). */
static void fz_case_start(void)
{
	memset(&fc, 0, offsetof(struct fz_case, before));
	fc.sim = fz_shared_host(FZ_HOST_SIZE);
	if (!fc.sim || !nw_simmem_claim(fc.sim, nw_hpa(FZ_REGION_HPA), FZ_REGION_PAGES * NW_PAGE_SIZE) ||
	    !nw_simmem_claim(fc.sim, nw_hpa(FZ_OUTPUT_ADDR), FZ_OUTPUT_PAGES * NW_PAGE_SIZE))
		fail("cannot set up the simulated host", 0, 0);
	fc.hal = nw_simmem_owner(fc.sim, "fuzz");
	fc.config.hal = fc.hal;
	fc.config.stage2.kind = NW_STAGE2_NONE;
	memset(host(FZ_REGION_HPA), 0, FZ_REGION_PAGES * NW_PAGE_SIZE);
	for (unsigned i = 0; i < FZ_REGION_PAGES; i++)
		fc.page_hpa[i] = FZ_REGION_HPA + i * NW_PAGE_SIZE;
}

/* The case's end, after the target destroyed its second stage: every frame freed. */
static void fz_case_end(void)
{
	uint64_t leaked = nw_simmem_reset(fc.sim);

	if (leaked)
		fail("frames leaked", leaked, 0);
}

/* Up to three raw edits of the second stage's entries on the paths to a region or an output page, of anything but
 * the address bits addr_mask (an address the walk reads must stay backed). edit (the library's, at a library
 * level) may refuse one with no entry at that level on the path, or one of the tree's shape (a type bit, a zero);
 * any other answer is a finding (what). */
static void fz_raw_edits(struct fz *in, uint64_t addr_mask,
			 nw_status_t (*edit)(uint64_t gpa, int level, uint64_t clear, uint64_t set), const char *what)
{
	unsigned edits = fz_u8(in) % 4;

	for (unsigned i = 0; i < edits; i++) {
		uint8_t which = fz_u8(in);
		uint64_t gpa = (which & 1) ? FZ_OUTPUT_ADDR + (which >> 5) * NW_PAGE_SIZE
					   : FZ_REGION_HPA + ((which >> 1) % FZ_REGION_PAGES) * NW_PAGE_SIZE;
		uint64_t clear = fz_u64(in) & ~addr_mask, set = fz_u64(in) & ~addr_mask;
		nw_status_t status = edit(gpa, 1 + (which >> 1) % 3, clear, set);

		if (status != NW_OK && status != NW_ERR_NOT_FOUND && status != NW_ERR_INVALID)
			fail(what, gpa, (uint64_t)status);
	}
}

/* The fields every architecture's walk result has (the target compares its own syndrome's). */
static void fz_same_walk(const struct nw_walk_result *ref, const struct nw_walk_result *fast)
{
	SAME(outcome);
	SAME(fault_level);
	SAME(s2_on_table);
	SAME(fault_gpa.val);
	SAME(refs);
	SAME(gpa.val);
	SAME(hpa.val);
	SAME(guest_page_size);
	SAME(s2_page_size);
	SAME(rights);
	SAME(s2_rights);
	SAME(leaf_entry);
	SAME(leaf_level);
	SAME(memory_type);
	SAME(guest_pat_index);
}

/* A target's walks over its case's CPU: the fast walker's init, the reference walk, the outcome's check against
 * its syndrome or trap registers, and the comparison of the whole result. */
struct fz_walks {
	const char *no_walker; /* the finding when init_fast refuses the case */
	struct nw_walker *(*init_fast)(void *storage, const struct nw_walk_config *config);
	void (*walk_ref)(const struct nw_access *access, unsigned flags, struct nw_walk_result *res);
	void (*check)(const struct nw_access *access, const struct nw_walk_result *res);
	void (*same)(const struct nw_walk_result *ref, const struct nw_walk_result *fast);
};

static void fz_walk_both(const struct fz_walks *walks, const struct nw_access *access)
{
	struct nw_hal direct = nw_simmem_direct_view(fc.sim, fc.hal);
	struct nw_walk_config direct_config = fc.config;
	struct nw_walker *walker;
	struct nw_walk_result ref, fast;
	struct nw_walk_hit hit;
	bool answered;

	direct_config.hal = &direct;
	walker = walks->init_fast(fz_walker_storage(0), &direct_config);
	if (!walker)
		fail(walks->no_walker, 0, 0);
	fz_region_take(fc.hal, &fc.before);
	walks->walk_ref(access, NW_WALK_LOOKUP, &ref);
	snap_expect(&fc.before, "a lookup-only reference walk wrote memory");
	walks->check(access, &ref);
	nw_walker_translate(walker, access, NW_WALK_LOOKUP, &fast);
	snap_expect(&fc.before, "a lookup-only fast walk wrote memory");
	walks->same(&ref, &fast);
	answered = nw_walker_probe(walker, access, &hit);
	if (answered && (ref.outcome != NW_OUTCOME_OK || hit.hpa.val != ref.hpa.val || hit.refs != ref.refs ||
			 hit.leaf_entry != ref.leaf_entry || hit.rights != ref.rights))
		fail("a probe's answer against the walk", hit.hpa.val, ref.hpa.val);
	/* A walk that may write (AArch64 HA/HD, RISC-V Svadu): both write the same bytes and give the same answer. */
	walks->walk_ref(access, 0, &ref);
	walks->check(access, &ref);
	fz_region_take(fc.hal, &fc.after_ref);
	fz_region_restore(fc.hal, &fc.before);
	nw_walker_translate(walker, access, 0, &fast);
	walks->same(&ref, &fast);
	snap_expect(&fc.after_ref, "the fast walker's writes differ from the reference walk's");
}

#endif
