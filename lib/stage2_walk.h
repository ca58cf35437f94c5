/* The steps EPT and NPT translation share: clear the result, read one level's
 * entry and record it, stop, and set accessed/dirty on the way back. Inline,
 * so each format's walk compiles to the same code as when it spelled them out
 * (the 2-D walk runs it up to 24 times per access). */
#ifndef NESTWALK_LIB_STAGE2_WALK_H
#define NESTWALK_LIB_STAGE2_WALK_H

#include <nestwalk/pt_build.h>
#include <nestwalk/stage2.h>

/* A table address nothing backs (only a write from outside the engine can
 * put one in an entry) reads as all ones, as an aborted bus read does; the
 * walk then stops on the rules like any other entry, never on a host fault. */
#define NW_S2_UNBACKED_ENTRY UINT64_MAX

/* What a walk leaves for its A/D pass: per level, the table and the index read. */
struct nw_s2_path {
	void *tables[NW_MAX_LEVELS + 1];
	unsigned index[NW_MAX_LEVELS + 1];
};

static inline void nw_s2_result_clear(struct nw_s2_result *res)
{
	res->hpa = nw_hpa(0);
	res->page_size = 0;
	res->memory_type = 0;
	res->ignore_pat = false;
	for (int l = 0; l <= NW_MAX_LEVELS; l++) {
		res->entries[l] = 0;
		res->tables[l] = nw_hpa(0);
	}
}

/* Reads the entry for gpa at level in the table at address table, and records it.
 * fmt is pt->fmt, passed so the caller's copy stays in a register. */
static inline uint64_t nw_s2_read_entry(const struct nw_pt *pt, const struct nw_pt_format *fmt, struct nw_s2_path *path,
					struct nw_s2_result *res, int level, uint64_t table, uint64_t gpa)
{
	uint64_t entry;

	path->tables[level] = nw_pt_table_ptr(pt, table);
	path->index[level] = nw_pt_index(fmt, level, gpa);
	entry = path->tables[level] ? nw_pt_entry_get(fmt, path->tables[level], path->index[level])
				    : NW_S2_UNBACKED_ENTRY;
	res->entries[level] = entry;
	res->tables[level] = nw_hpa(table);
	return entry;
}

/* The walk stopped at level on entry: what every outcome records. */
static inline void nw_s2_record_stop(struct nw_s2_result *res, enum nw_s2_status status, int level, uint64_t entry,
				     uint32_t rights, unsigned refs)
{
	res->status = status;
	res->level = level;
	res->entry = entry;
	res->rights = rights;
	res->refs = refs;
}

/* Sets accessed in every entry the walk used, from the top down to the leaf,
 * and dirty in the leaf of a write; an entry already so is not written. */
static inline void nw_s2_set_accessed_dirty(const struct nw_pt_format *fmt, const struct nw_s2_path *path,
					    const struct nw_s2_result *res, int leaf_level, bool write,
					    uint64_t accessed, uint64_t dirty)
{
	for (int level = fmt->top; level >= leaf_level; level--) {
		uint64_t set = res->entries[level] | accessed;

		if (level == leaf_level && write)
			set |= dirty;
		if (set != res->entries[level] && path->tables[level])
			nw_pt_entry_put(fmt, path->tables[level], path->index[level], set);
	}
}

#endif
