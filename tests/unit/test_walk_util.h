/* Helpers for the guest-walk tests: guest tables written entry by entry into
 * simulated memory (no table builder: every entry a test relies on is spelled
 * out), and a runner that performs each walk with the reference walker and
 * the fast walker on the same memory and checks that they agree on the
 * outcome and on every accessed/dirty write: the fast walker once as the hot
 * path runs it (no record) and once recording every level, compared field by
 * field with the reference's record. */
#ifndef NESTWALK_TESTS_WALK_UTIL_H
#define NESTWALK_TESTS_WALK_UTIL_H

#include <nestwalk/walk.h>
#include <nestwalk/x86_pte.h>
#include <string.h>

#include "fixture.h"

#define TW_MAX_FRAMES 64
#define TW_MAX_SLOTS 64

struct tw_slot {
	uint64_t hpa;
	unsigned bytes;
};

static struct {
	struct nw_walk_config config;
	struct nw_cpu cpu;
	nw_hpa_t frames[TW_MAX_FRAMES];
	unsigned nframes;
	struct tw_slot slots[TW_MAX_SLOTS];
	unsigned nslots;
	uint64_t before[TW_MAX_SLOTS], after_ref[TW_MAX_SLOTS];
} tw;

static inline void tw_setup(void)
{
	fixture_setup();
	memset(&tw, 0, sizeof(tw));
	tw.config.hal = hal;
	tw.config.stage2.kind = NW_STAGE2_NONE;
	tw.cpu.maxphyaddr = NW_MAXPHYADDR_DEFAULT;
}

static inline void tw_teardown(void)
{
	for (unsigned i = 0; i < tw.nframes; i++)
		nw_hal_dealloc_frame(hal, tw.frames[i]);
	tw.nframes = 0;
	fixture_teardown();
}

/* A zeroed host frame; without a second stage its GPA is its HPA. */
static inline uint64_t tw_frame(void)
{
	nw_hpa_t frame;

	cr_assert_lt(tw.nframes, TW_MAX_FRAMES);
	cr_assert(nw_hal_alloc_frame(hal, &frame));
	memset(nw_hal_phys_to_virt(hal, frame), 0, NW_PAGE_SIZE);
	tw.frames[tw.nframes++] = frame;
	return frame.val;
}

static inline uint64_t tw_read(uint64_t hpa, unsigned bytes)
{
	void *ptr = nw_hal_phys_to_virt(hal, nw_hpa(hpa));

	return bytes == 4 ? *(uint32_t *)ptr : *(uint64_t *)ptr;
}

static inline void tw_poke(uint64_t hpa, uint64_t value, unsigned bytes)
{
	void *ptr = nw_hal_phys_to_virt(hal, nw_hpa(hpa));

	if (bytes == 4)
		*(uint32_t *)ptr = (uint32_t)value;
	else
		*(uint64_t *)ptr = value;
}

/* Writes entry index of the table at hpa and remembers the slot, so the runner
 * can compare what each walker wrote there. */
static inline uint64_t tw_set(uint64_t table, unsigned index, uint64_t value, unsigned bytes)
{
	uint64_t at = table + (uint64_t)index * bytes;
	unsigned i;

	for (i = 0; i < tw.nslots; i++)
		if (tw.slots[i].hpa == at)
			break;
	if (i == tw.nslots) {
		cr_assert_lt(tw.nslots, TW_MAX_SLOTS);
		tw.slots[tw.nslots++] = (struct tw_slot){ at, bytes };
	}
	tw_poke(at, value, bytes);
	return at;
}

static inline void tw_snapshot(uint64_t *values)
{
	for (unsigned i = 0; i < tw.nslots; i++)
		values[i] = tw_read(tw.slots[i].hpa, tw.slots[i].bytes);
}

static inline void tw_restore(const uint64_t *values)
{
	for (unsigned i = 0; i < tw.nslots; i++)
		tw_poke(tw.slots[i].hpa, values[i], tw.slots[i].bytes);
}

/* The stage-2 A/D flags: the reference's walk may have set them in the tables
 * both walkers read (only the guest entries are restored between walks). */
static inline uint64_t tw_s2_ad_bits(void)
{
	return tw.config.stage2.kind == NW_STAGE2_NPT ? NW_PTE_A | NW_PTE_D : (UINT64_C(3) << 8);
}

static inline void tw_assert_same_s2(const struct nw_s2_result *ref, const struct nw_s2_result *fast, const char *what,
				     int level)
{
	uint64_t ad = tw_s2_ad_bits();

	cr_assert_eq(fast->refs, ref->refs, "%s: level %d stage-2 refs", what, level);
	if (!ref->refs)
		return;
	cr_assert_eq(fast->status, ref->status, "%s: level %d stage-2 status", what, level);
	cr_assert_eq(fast->hpa.val, ref->hpa.val, "%s: level %d stage-2 hpa", what, level);
	cr_assert_eq(fast->level, ref->level, "%s: level %d stage-2 level", what, level);
	cr_assert_eq(fast->entry & ~ad, ref->entry & ~ad, "%s: level %d stage-2 entry", what, level);
	cr_assert_eq(fast->rights, ref->rights, "%s: level %d stage-2 rights", what, level);
	for (int l = 1; l <= NW_MAX_LEVELS; l++) {
		cr_assert_eq(fast->entries[l] & ~ad, ref->entries[l] & ~ad, "%s: level %d stage-2 L%d entry", what,
			     level, l);
		cr_assert_eq(fast->tables[l].val, ref->tables[l].val, "%s: level %d stage-2 L%d table", what, level, l);
	}
}

/* The fields every walk fills (no record asked for). */
static inline void tw_assert_same_hot(const struct nw_walk_result *ref, const struct nw_walk_result *fast,
				      const char *what)
{
	cr_assert_eq(fast->outcome, ref->outcome, "%s: outcome fast %s reference %s", what,
		     nw_outcome_name(fast->outcome), nw_outcome_name(ref->outcome));
	cr_assert_eq(fast->error_code, ref->error_code, "%s: error code fast %#x reference %#x", what,
		     fast->error_code, ref->error_code);
	cr_assert_eq(fast->gpa.val, ref->gpa.val, "%s: gpa", what);
	cr_assert_eq(fast->hpa.val, ref->hpa.val, "%s: hpa", what);
	cr_assert_eq(fast->cr2, ref->cr2, "%s: cr2", what);
	cr_assert_eq(fast->guest_page_size, ref->guest_page_size, "%s: guest page size", what);
	cr_assert_eq(fast->s2_page_size, ref->s2_page_size, "%s: stage-2 page size", what);
	cr_assert_eq(fast->rights, ref->rights, "%s: rights fast %#x reference %#x", what, fast->rights, ref->rights);
	cr_assert_eq(fast->memory_type, ref->memory_type, "%s: memory type", what);
	cr_assert_eq(fast->guest_pat_index, ref->guest_pat_index, "%s: PAT index", what);
	cr_assert_eq(fast->leaf_level, ref->leaf_level, "%s: leaf level", what);
	cr_assert_eq(fast->fault_level, ref->fault_level, "%s: fault level", what);
	cr_assert_eq(fast->exit_qualification, ref->exit_qualification, "%s: exit qualification", what);
	cr_assert_eq(fast->fault_gpa.val, ref->fault_gpa.val, "%s: fault gpa", what);
	cr_assert_eq(fast->gla_valid, ref->gla_valid, "%s: gla valid", what);
	cr_assert_eq(fast->exitinfo1, ref->exitinfo1, "%s: exitinfo1", what);
	cr_assert_eq(fast->exitinfo2, ref->exitinfo2, "%s: exitinfo2", what);
	cr_assert_eq(fast->gp_reason, ref->gp_reason, "%s: gp reason", what);
	cr_assert_eq(fast->s2_on_table, ref->s2_on_table, "%s: stage-2 on table", what);
	cr_assert_eq(fast->refs, ref->refs, "%s: refs fast %u reference %u", what, fast->refs, ref->refs);
	cr_assert_eq(fast->ad_writes, ref->ad_writes, "%s: A/D writes", what);
	cr_assert_eq(fast->leaf_entry, ref->leaf_entry, "%s: leaf entry", what);
	cr_assert_eq(fast->s2_rights, ref->s2_rights, "%s: stage-2 rights", what);
}

/* Everything, the per-level record included (NW_WALK_RECORD). */
/* The guest levels of the record (NW_WALK_RECORD_STEPS), their stage-2 reads aside. */
static inline void tw_assert_same_steps(const struct nw_walk_result *ref, const struct nw_walk_result *fast,
					const char *what)
{
	for (int level = 1; level <= NW_MAX_LEVELS; level++) {
		cr_assert_eq(fast->steps[level].read, ref->steps[level].read, "%s: level %d read", what, level);
		cr_assert_eq(fast->steps[level].entry, ref->steps[level].entry, "%s: level %d entry", what, level);
		cr_assert_eq(fast->steps[level].rights, ref->steps[level].rights, "%s: level %d rights", what, level);
		cr_assert_eq(fast->steps[level].table_hpa.val, ref->steps[level].table_hpa.val, "%s: level %d table",
			     what, level);
		cr_assert_eq(fast->steps[level].table_gpa.val, ref->steps[level].table_gpa.val,
			     "%s: level %d table gpa", what, level);
		cr_assert_eq(fast->steps[level].index, ref->steps[level].index, "%s: level %d index", what, level);
	}
}

static inline void tw_assert_same(const struct nw_walk_result *ref, const struct nw_walk_result *fast, const char *what)
{
	tw_assert_same_hot(ref, fast, what);
	tw_assert_same_steps(ref, fast, what);
	for (int level = 1; level <= NW_MAX_LEVELS; level++)
		tw_assert_same_s2(&ref->steps[level].s2, &fast->steps[level].s2, what, level);
	tw_assert_same_s2(&ref->final_s2, &fast->final_s2, what, 0);
}

static inline void tw_assert_same_memory(const char *what)
{
	for (unsigned i = 0; i < tw.nslots; i++)
		cr_assert_eq(tw_read(tw.slots[i].hpa, tw.slots[i].bytes), tw.after_ref[i],
			     "%s: entry at %#llx: fast wrote %#llx, reference %#llx", what,
			     (unsigned long long)tw.slots[i].hpa,
			     (unsigned long long)tw_read(tw.slots[i].hpa, tw.slots[i].bytes),
			     (unsigned long long)tw.after_ref[i]);
}

/* A walker in storage of its own (walk.h), freed when the variable leaves scope. */
static inline void tw_walker_free(struct nw_walker **walker)
{
	free(*walker);
}

#define TW_WALKER __attribute__((cleanup(tw_walker_free))) struct nw_walker *

static inline struct nw_walker *tw_walker(const struct nw_walk_config *config, const struct nw_cpu *cpu)
{
	void *storage = malloc(nw_walker_size());

	cr_assert(storage, "cannot allocate a walker");
	return nw_walker_init(storage, config, cpu);
}

/* Runs one access through both walkers from the same memory: the fast walker
 * four times, without NW_WALK_RECORD through the checked HAL and through a
 * direct-map view of the same host (its plain copies take the window), there
 * again recording the guest levels alone, then with the whole record, each from the memory the reference started from.
 * Returns the recorded result after checking it (and the unrecorded ones)
 * equal to the reference's, A/D writes included. walker must already hold
 * tw.cpu (nw_walker_set_cpu). */
static inline void tw_walk_with(struct nw_walker *walker, const struct nw_access *access, unsigned flags,
				struct nw_walk_result *res)
{
	struct nw_hal direct_hal = nw_simmem_direct_view(sim, tw.config.hal);
	struct nw_walk_config direct_config = tw.config;
	TW_WALKER direct = NULL;
	struct nw_walk_result ref;

	tw_snapshot(tw.before);
	nw_walk_reference(&tw.config, &tw.cpu, access, flags, &ref);
	tw_snapshot(tw.after_ref);
	tw_restore(tw.before);
	nw_walker_translate(walker, access, flags, res);
	tw_assert_same_hot(&ref, res, "fast vs reference");
	tw_assert_same_memory("fast vs reference");
	tw_restore(tw.before);
	direct_config.hal = &direct_hal;
	direct = tw_walker(&direct_config, &tw.cpu);
	nw_walker_translate(direct, access, flags, res);
	tw_assert_same_hot(&ref, res, "direct-mapped fast vs reference");
	tw_assert_same_memory("direct-mapped fast vs reference");
	/* The guest levels alone, as a TLB fill records them (the plain copies answer with them). */
	tw_restore(tw.before);
	nw_walker_translate(direct, access, flags | NW_WALK_RECORD_STEPS, res);
	tw_assert_same_hot(&ref, res, "direct-mapped fast recording the levels vs reference");
	tw_assert_same_steps(&ref, res, "direct-mapped fast recording the levels vs reference");
	tw_assert_same_memory("direct-mapped fast recording the levels vs reference");
	tw_restore(tw.before);
	nw_walker_translate(walker, access, flags | NW_WALK_RECORD, res);
	tw_assert_same(&ref, res, "recording fast vs reference");
	tw_assert_same_memory("recording fast vs reference");
}

static inline void tw_walk(const struct nw_access *access, unsigned flags, struct nw_walk_result *res)
{
	TW_WALKER walker = NULL;

	walker = tw_walker(&tw.config, &tw.cpu);
	tw_walk_with(walker, access, flags, res);
}

static inline struct nw_access tw_access(uint64_t gva, enum nw_access_type type)
{
	return (struct nw_access){ .gva = nw_gva(gva), .size = 1, .type = type };
}

/* One 4 KiB mapping of gva for 4-level (levels = 4) or 5-level (5) paging:
 * fresh tables, every upper entry = table | upper, the PTE = page | leaf.
 * Sets tw.cpu's mode and CR3; fills tables[level] with each table's address. */
static inline void tw_map_4k(unsigned levels, uint64_t gva, uint64_t page, uint64_t upper, uint64_t leaf,
			     uint64_t tables[NW_MAX_LEVELS + 1])
{
	uint64_t table = tw_frame();

	nw_cpu_set_mode(&tw.cpu, levels == 5 ? NW_PAGING_5LEVEL : NW_PAGING_4LEVEL);
	tw.cpu.cr3 = table;
	for (unsigned level = levels; level >= 1; level--) {
		unsigned index = (unsigned)((gva >> (12 + 9 * (level - 1))) & 511);

		tables[level] = table;
		if (level == 1) {
			tw_set(table, index, page | leaf, 8);
		} else {
			uint64_t next = tw_frame();

			tw_set(table, index, next | upper, 8);
			table = next;
		}
	}
}

#endif
