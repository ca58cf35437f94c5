/* The one guest walk: find the translation level by level, check the rights
 * of the access, then set the accessed/dirty flags, over a guest-stage
 * description. A description is the format's geometry as data (an
 * nw_pt_format: each level's index bits and page size) and a small table of
 * rules, each a named predicate of its manual: x86 paging (walk_ref.c, the
 * SDM Vol. 3A ch. 4 predicates of walk_rules.h) and the AArch64 stage 1 of
 * the EL1&0 regime (arm64_s1_walk.c, the Arm ARM VMSAv8-64 predicates of
 * arm64_s1_rules.h) and the RISC-V VS-stage (riscv_vs_walk.c, the
 * privileged spec's predicates of riscv_vs_rules.h). Every table read and the final address go through the
 * second stage (walk_internal.h), so a fault says which stage raised it.
 * This is the reference walk: rules applied one by one, no tables derived. */
#ifndef NESTWALK_LIB_WALK_GUEST_H
#define NESTWALK_LIB_WALK_GUEST_H

#include <nestwalk/pt_build.h>
#include <nestwalk/walk.h>

#include "walk_internal.h"

/* Why a guest walk stops, in the order the loop asks. */
enum nw_gs_fault {
	NW_GS_FAULT_MISSING,    /* the entry maps nothing (x86 P=0; AArch64 an invalid descriptor; RISC-V V=0) */
	NW_GS_FAULT_MALFORMED,  /* a present entry breaks its format (x86 a reserved bit; AArch64 an address above
				 * the output size) */
	NW_GS_FAULT_UNACCESSED, /* the leaf's accessed flag is clear and the walk may not set it (AArch64 AF;
				 * RISC-V A, or D for a store, under Svade) */
	NW_GS_FAULT_PERMISSION, /* the rights of the translation refuse the access */
};

/* One guest walk in progress. A description keeps its own state beside it
 * (its struct begins with this one). */
struct nw_gs_walk {
	struct nw_walk_ctx ctx;
	const struct nw_pt_format *fmt; /* the geometry: index bits and page size of each level */
	uint64_t va;                    /* the address the levels index */
	uint64_t table;                 /* guest-physical address of the table read next */
	unsigned top;                   /* the level of the first table */
	uint32_t rights;                /* NW_WALK_RIGHT_* granted down to the level read last */
};

struct nw_guest_stage {
	/* Starts the result and sets fmt, va, table, top and the rights before any
	 * entry; false when the access is answered before any table (translation
	 * off, an address outside the regime), the outcome then set. */
	bool (*start)(struct nw_gs_walk *w);
	/* Reads the entry of level for w->va from w->table (false: outcome set). */
	bool (*read)(struct nw_gs_walk *w, unsigned level, uint64_t *entry);
	bool (*is_present)(const struct nw_gs_walk *w, unsigned level, uint64_t entry);
	bool (*is_malformed)(const struct nw_gs_walk *w, unsigned level, uint64_t entry);
	/* The rights granted down to level once entry is taken (w->rights: above it). */
	uint32_t (*rights)(const struct nw_gs_walk *w, unsigned level, uint64_t entry);
	bool (*maps_page)(const struct nw_gs_walk *w, unsigned level, uint64_t entry);
	/* The walk goes through a table entry (x86: A set as passed); false: outcome set. */
	bool (*pass)(struct nw_gs_walk *w, unsigned level, uint64_t entry);
	/* The next table, or the page frame of a leaf. */
	uint64_t (*address)(const struct nw_gs_walk *w, unsigned level, uint64_t entry);
	/* Optional: the size of the page a leaf at level maps (NULL: the level's
	 * size; a RISC-V NAPOT leaf maps 64 KiB at level 1). */
	uint64_t (*page_size)(const struct nw_gs_walk *w, unsigned level, uint64_t leaf);
	/* The leaf's memory-attribute index (x86 PAT:PCD:PWT, AArch64 AttrIndx, RISC-V PBMT). */
	uint8_t (*attr_index)(unsigned level, uint64_t leaf);
	bool (*is_unaccessed)(const struct nw_gs_walk *w, uint64_t leaf);
	/* The rights refuse the access (the leaf as read: x86 protection keys). */
	bool (*blocks)(const struct nw_gs_walk *w, uint64_t leaf);
	void (*fault)(struct nw_gs_walk *w, enum nw_gs_fault kind, unsigned level);
	/* Phase 3: the accessed/dirty flags of the leaf at level and (by policy) the
	 * entries above it; false: outcome set. */
	bool (*set_flags)(struct nw_gs_walk *w, unsigned leaf_level);
};

/* Walks w (its ctx filled) by stage; the outcome is in w->ctx.res. */
void nw_walk_guest(const struct nw_guest_stage *stage, struct nw_gs_walk *w);

#endif
