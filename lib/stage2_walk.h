/* The one second-stage translate (SDM Vol. 3C §29.3.2-§29.3.5, APM Vol. 2
 * §15.25.5, Arm ARM AArch64.S2Walk and AArch64.CheckS2Permission): find the
 * leaf, check the Access flag and the rights, then set the accessed/dirty
 * flags, every rule read from the format's table (stage2_rules.h). Inline,
 * instantiated once per format with its table constant (ept_rules.c,
 * npt_rules.c), so the table's predicates inline as when each format spelled
 * its loop out (the 2-D walk runs it up to 24 times per access). */
#ifndef NESTWALK_LIB_STAGE2_WALK_H
#define NESTWALK_LIB_STAGE2_WALK_H

#include <nestwalk/pt_build.h>
#include <nestwalk/stage2.h>

#include "stage2_rules.h"

/* A table address nothing backs (only a write from outside the engine can
 * put one in an entry) reads as all ones, as an aborted bus read does; the
 * walk then stops on the rules like any other entry, never on a host fault
 * (or, where the rules say so, on an access fault). */
#define NW_S2_UNBACKED_ENTRY UINT64_MAX

/* What a walk leaves for its A/D pass: per level, the table and the index read. */
struct nw_s2_path {
	void *tables[NW_MAX_LEVELS + 1];
	unsigned index[NW_MAX_LEVELS + 1];
};

static inline void nw_s2_result_clear(struct nw_s2_result *res)
{
	res->fault = NW_S2_FAULT_NONE;
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
static inline void nw_s2_record_stop(struct nw_s2_result *res, enum nw_s2_status status, enum nw_s2_fault fault,
				     int level, uint64_t entry, uint32_t rights, unsigned refs)
{
	res->status = status;
	res->fault = fault;
	res->level = level;
	res->entry = entry;
	res->rights = rights;
	res->refs = refs;
}

/* The leaf broke a rule of the access: a fault of kind fault at its level. */
static inline void nw_s2_deny(struct nw_s2_result *res, enum nw_s2_fault fault)
{
	res->status = NW_S2_VIOLATION;
	res->fault = fault;
}

/* Sets accessed in every entry the walk used from level first down to the
 * leaf, and dirty in the leaf of a write; an entry already so is not written. */
static inline void nw_s2_set_accessed_dirty(const struct nw_pt_format *fmt, const struct nw_s2_path *path,
					    const struct nw_s2_result *res, int first, int leaf_level, bool write,
					    uint64_t accessed, uint64_t dirty)
{
	for (int level = first; level >= leaf_level; level--) {
		uint64_t set = res->entries[level] | accessed;

		if (level == leaf_level && write)
			set |= dirty;
		if (set != res->entries[level] && path->tables[level])
			nw_pt_entry_put(fmt, path->tables[level], path->index[level], set);
	}
}

/* The entry read at level may not be accessed (rules->table_access_denied), write for an A/D update. */
static inline bool nw_s2_table_denied(const struct nw_s2_rules *rules, const void *config,
				      const struct nw_pt_format *fmt, const struct nw_s2_result *res,
				      const struct nw_s2_path *path, int level, bool write)
{
	return rules->table_access_denied &&
	       rules->table_access_denied(config, res->tables[level].val + (uint64_t)path->index[level] * fmt->entry_size,
					  write);
}

/* Whether the A/D update nw_s2_set_accessed_dirty would make (with the same
 * dirty bits) writes an entry that may not be written. */
static inline bool nw_s2_flag_write_denied(const struct nw_s2_rules *rules, const void *config,
					   const struct nw_pt_format *fmt, const struct nw_s2_path *path,
					   const struct nw_s2_result *res, int first, int leaf_level, bool write,
					   uint64_t dirty)
{
	if (!rules->table_access_denied)
		return false;
	for (int level = first; level >= leaf_level; level--) {
		uint64_t set = res->entries[level] | rules->accessed | (level == leaf_level && write ? dirty : 0);

		if (set != res->entries[level] && path->tables[level] &&
		    nw_s2_table_denied(rules, config, fmt, res, path, level, true))
			return true;
	}
	return false;
}

/* An entry with the plain bit (and the link bit, where the format has one)
 * and no bit of clear set points to a table and breaks no rule: the plain bit
 * rules out a missing entry and every rights combination a misconfiguration
 * names, and a table pointer is checked for nothing else. The walk takes such
 * an entry without asking the predicates; any other entry gets every check. */
static inline bool nw_s2_is_plain_table(const struct nw_s2_rules *rules, const struct nw_pt_format *fmt,
					uint64_t clear, int level, uint64_t entry)
{
	uint64_t want = rules->plain | fmt->link_bit;

	return level > NW_LEVEL_PT && (entry & (want | clear)) == want;
}

/* Likewise a 4 KiB leaf with the plain bits (and the link bit: an AArch64
 * page descriptor), no reserved bit, no NAPOT bit and a memory type allowed:
 * the page-size and alignment rules do not apply at level 1. */
static inline bool nw_s2_is_plain_4k_leaf(const struct nw_s2_rules *rules, const struct nw_pt_format *fmt,
					  uint64_t rsvd, int level, uint64_t entry)
{
	uint64_t want = rules->plain | rules->plain_leaf | fmt->link_bit;

	return level == NW_LEVEL_PT && (entry & (want | rsvd | rules->napot_bit)) == want &&
	       !nw_s2_has_reserved_memory_type(rules, fmt, level, entry);
}

static inline __attribute__((always_inline)) void nw_s2_walk(const struct nw_s2_rules *rules, const void *config,
							     const struct nw_pt *pt, const struct nw_s2_request *req,
							     struct nw_s2_result *res)
{
	const struct nw_pt_format *fmt = pt->fmt;
	struct nw_s2_caps caps = rules->caps(config);
	uint64_t table_clear = rules->table_clear | caps.entry_rsvd;
	struct nw_s2_path path;
	unsigned refs = 0;
	uint64_t table = pt->root, gpa = req->gpa.val, entry, all = ~UINT64_C(0), any = 0, dirty;
	enum nw_s2_status stop = NW_S2_OK;
	enum nw_s2_fault fault = NW_S2_FAULT_NONE;
	uint32_t rights;
	int level = fmt->top, leaf_level, first;
	bool flag_fault, write;

	nw_s2_result_clear(res);
	/* A GPA wider than the walk (48 bits, 57 with 5 levels, the IPA size of
	 * VTCR_EL2.T0SZ) has no entry to map it. */
	if (gpa >= nw_pt_va_limit(fmt)) {
		nw_s2_record_stop(res, NW_S2_VIOLATION, NW_S2_FAULT_TRANSLATION,
				  rules->out_of_range_level ? rules->out_of_range_level : level, 0, 0, 0);
		return;
	}
	for (;; level--) {
		entry = nw_s2_read_entry(pt, fmt, &path, res, level, table, gpa);
		refs++;
		if (rules->unbacked_faults &&
		    (!path.tables[level] ||
		     (!req->host_lookup && nw_s2_table_denied(rules, config, fmt, res, &path, level, false)))) {
			stop = NW_S2_VIOLATION;
			fault = NW_S2_FAULT_ACCESS;
			break;
		}
		/* The rights are the AND over the entries read: decoded once from the AND and OR of them. */
		all &= entry;
		any |= entry;
		if (nw_s2_is_plain_table(rules, fmt, table_clear, level, entry)) {
			table = nw_pt_table_addr(fmt, entry);
			continue;
		}
		if (nw_s2_is_plain_4k_leaf(rules, fmt, caps.entry_rsvd, level, entry))
			break;
		if (!rules->is_present(config, level, entry)) {
			stop = NW_S2_VIOLATION;
			fault = NW_S2_FAULT_TRANSLATION;
			break;
		}
		if (rules->is_misconfigured(config, level, entry)) {
			stop = NW_S2_MISCONFIG;
			fault = rules->misconfig_fault;
			break;
		}
		if (nw_s2_is_leaf(fmt, level, entry))
			break;
		table = nw_pt_table_addr(fmt, entry);
	}
	if (rules->leaf_attrs_only)
		all = any = entry;
	rights = caps.rights & nw_s2_path_rights(&rules->decode, all, any);
	nw_s2_record_stop(res, stop, fault, level, entry, rights, refs);
	if (stop != NW_S2_OK)
		return;

	leaf_level = level;
	res->page_size = (entry & rules->napot_bit) ? UINT64_C(1) << rules->napot_shift
						   : nw_pt_level_size(fmt, leaf_level);
	res->memory_type = nw_s2_memory_type(rules, fmt, leaf_level, entry);
	res->ignore_pat = (entry & rules->ignore_pat) != 0;
	/* Arm ARM AArch64.S2Walk checks the Access flag before the permissions,
	 * the RISC-V translation algorithm A and D after them (steps 5 and 7). */
	flag_fault = !caps.sets_ad && (nw_s2_flags_needed(rules, req->type) & ~entry);
	if (flag_fault && rules->flags_before_rights) {
		nw_s2_deny(res, NW_S2_FAULT_ACCESS_FLAG);
		return;
	}
	write = req->type == NW_ACCESS_WRITE;
	dirty = rules->dirty;
	if (write && (entry & caps.dirty_grants)) {
		rights |= caps.rights & NW_S2_RIGHT_W;
		dirty |= rules->decode.grant[nw_s2_right_index(NW_S2_RIGHT_W)];
		res->rights = rights;
	}
	if (!(rights & nw_s2_right_needed(&caps, req->type, req->user))) {
		nw_s2_deny(res, NW_S2_FAULT_PERMISSION);
		return;
	}
	if (flag_fault) {
		nw_s2_deny(res, NW_S2_FAULT_ACCESS_FLAG);
		return;
	}
	/* RISC-V step 7: an A/D update PMP refuses is an access fault, nothing written. */
	first = rules->leaf_attrs_only ? leaf_level : fmt->top;
	if (caps.sets_ad && !req->lookup_only &&
	    nw_s2_flag_write_denied(rules, config, fmt, &path, res, first, leaf_level, write, dirty)) {
		nw_s2_deny(res, NW_S2_FAULT_ACCESS);
		return;
	}
	res->hpa = nw_hpa((nw_pt_leaf_addr(fmt, leaf_level, entry) & ~(res->page_size - 1)) +
			  (gpa & (res->page_size - 1)));

	/* SDM §29.3.5, APM §15.25.5: every entry used gets A and the leaf of a write gets D; Arm D8.4.6: AF and, on
	 * a write to a DBM leaf, S2AP[1] in one write of the leaf. */
	if (!caps.sets_ad || req->lookup_only)
		return;
	nw_s2_set_accessed_dirty(fmt, &path, res, first, leaf_level, write, rules->accessed, dirty);
}

#endif
