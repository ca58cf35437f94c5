/* The second stage as the guest walker sees it: one call that translates a
 * guest-physical address for one access, whatever the format (Intel EPT, AMD
 * NPT, or none). The walker composes it with the guest walk, so every fault
 * says which stage raised it (DESIGN.md, "Stages compose").
 *
 * Dispatch is a switch on the kind, not a function pointer: the 2-D walk calls
 * this up to 24 times per access and the direct calls inline. */
#ifndef NESTWALK_STAGE2_H
#define NESTWALK_STAGE2_H

#include <stdbool.h>
#include <stdint.h>

#include "addr.h"
#include "level.h"

enum nw_stage2_kind {
	NW_STAGE2_NONE = 0, /* no second stage: GPA = HPA (a bare-metal or unvirtualised walk) */
	NW_STAGE2_EPT,
	NW_STAGE2_NPT,
};

enum nw_s2_status {
	NW_S2_OK = 0,
	NW_S2_VIOLATION,  /* EPT violation, or NPF for not-present/permission */
	NW_S2_MISCONFIG,  /* EPT misconfiguration, or NPF with RSVD for an NPT reserved bit */
};

struct nw_s2_request {
	nw_gpa_t gpa;
	enum nw_access_type type; /* as the second stage sees it (see the walker for A/D writes) */
	bool user;                /* the guest access is a user-mode one (EPT mode-based execute, NPT) */
	bool paging_structure;    /* a reference to a guest paging-structure entry, not the final access */
	bool lookup_only;         /* do not set the second stage's accessed/dirty flags */
};

/* EPT rights as exit-qualification bits 3..6 shift them down: bit 0 read,
 * bit 1 write, bit 2 (supervisor) execute, bit 3 user execute. */
#define NW_S2_RIGHT_R (1u << 0)
#define NW_S2_RIGHT_W (1u << 1)
#define NW_S2_RIGHT_X (1u << 2)
#define NW_S2_RIGHT_UX (1u << 3)

/* No second stage (a bare-metal or unvirtualised walk): GPA = HPA in 4 KiB
 * pages, every right, write-back (memory type 6). Every walker finishes a
 * walk without a second stage with these. */
#define NW_S2_NONE_PAGE_SIZE NW_PAGE_SIZE
#define NW_S2_NONE_RIGHTS (NW_S2_RIGHT_R | NW_S2_RIGHT_W | NW_S2_RIGHT_X | NW_S2_RIGHT_UX)
#define NW_S2_NONE_MEMORY_TYPE 6

struct nw_s2_result {
	enum nw_s2_status status;
	nw_hpa_t hpa;         /* valid when NW_S2_OK */
	uint64_t page_size;   /* of the leaf, when NW_S2_OK */
	int level;            /* leaf level, or the level that faulted */
	uint64_t entry;       /* the leaf, or the entry that faulted */
	uint32_t rights;      /* NW_S2_RIGHT_*: AND over every entry read, the faulting one included */
	uint8_t memory_type;  /* EPT leaf memory type (0 UC .. 6 WB) */
	bool ignore_pat;
	unsigned refs;        /* entries read: the memory references this translation cost */
	/* Per level (index = level), for --explain: the entry read and the table's HPA;
	 * zero for levels not read. */
	uint64_t entries[NW_MAX_LEVELS + 1];
	nw_hpa_t tables[NW_MAX_LEVELS + 1];
};

/* What a second-stage query reports, EPT or NPT alike. */
struct nw_s2_mapping {
	nw_gpa_t gpa;         /* first GPA of the page */
	nw_hpa_t hpa;         /* the HPA the queried GPA maps to */
	uint64_t size;
	int level;
	uint64_t entry;
};

struct nw_ept;
struct nw_npt;

struct nw_stage2 {
	enum nw_stage2_kind kind;
	union {
		struct nw_ept *ept;
		struct nw_npt *npt;
	};
};

/* What the fast walker derives from its second stage once (nw_walker_init),
 * as KVM derives its MMU role: per level, the bits that prove an entry a
 * plain table pointer or a plain leaf (present, readable, no reserved bit, no
 * rule broken), and per access the rights every entry must grant. Its loop
 * then reads no configuration and calls nothing; whatever is not plain (a
 * fault, a rule to check, an A/D flag to set, a table outside the direct-map
 * window) goes to nw_stage2_translate(), which gives the exact answer. */
#define NW_S2_NEED_USER 4u   /* nw_s2_fast.must_* index: type | this for a user-mode access */
#define NW_S2_NEED_SET_AD 8u /* ... | this when the walk may set A/D flags (no NW_WALK_LOOKUP) */

/* A format's rights and memory-type decode, as data (the format's rules,
 * lib/stage2_rules.h, hold it; the fast walker keeps a copy). An entry grants
 * right i (NW_S2_RIGHT_* == 1 << i) when it has every bit of grant_base and of
 * grant[i] and none of deny[i]. A leaf's memory-type index is (entry >>
 * mt_shift) & mt_field, plus 4 when its PAT bit is set; its type
 * mt_types[index]; a clear bit of mt_allowed marks a reserved index. */
struct nw_s2_decode {
	uint64_t grant_base;
	uint64_t grant[4];
	uint64_t deny[4];
	unsigned mt_shift;
	uint64_t mt_field;
	uint8_t mt_types[8];
	uint8_t mt_allowed;
};

struct nw_s2_fast {
	enum nw_stage2_kind kind;
	int top;                    /* root level; 0 without a second stage */
	uint64_t root;
	uint64_t va_limit;          /* GPAs at or above it have no entry */
	const uint8_t *map;         /* direct-map window over the tables (HPA 0 .. map_size) */
	uint64_t map_size;
	uint64_t table_addr_mask;
	uint8_t shift[NW_MAX_LEVELS + 1];       /* the lowest address bit each level's index covers */
	uint64_t index_mask[NW_MAX_LEVELS + 1]; /* entries per table, less one */
	uint64_t table_mask[NW_MAX_LEVELS + 1]; /* plain table pointer: (entry & mask) == want */
	uint64_t table_want[NW_MAX_LEVELS + 1];
	uint64_t leaf_mask[NW_MAX_LEVELS + 1];  /* plain leaf: (entry & mask) == want, memory type allowed */
	uint64_t leaf_want[NW_MAX_LEVELS + 1];
	uint64_t leaf_addr_mask[NW_MAX_LEVELS + 1];
	unsigned mt_shift;          /* a leaf's memory-type field (decode.mt_shift, mt_field) */
	uint64_t mt_field;
	uint8_t leaf_mt_allowed;    /* over the field alone: allowed whatever the PAT bit */
	bool mt_has_pat;            /* the format has a PAT bit (mt_pat) */
	/* Per access: the rights every entry must grant, and the A (and for a
	 * write D) flags already set where the walk would set them. */
	uint64_t must_all[16];      /* bits every entry must have */
	uint64_t must_none[16];     /* bits no entry may have */
	uint64_t must_leaf[16];     /* bits the leaf must have */
	/* The decode of a hit's rights and memory type. */
	uint32_t rights;            /* NW_S2_RIGHT_* the configuration grants at all */
	uint64_t rights_grant;      /* bits those rights need (decode.grant_base and grant[]) */
	uint64_t rights_deny;       /* bits that forbid one of them (decode.deny[]) */
	uint64_t mt_pat[NW_MAX_LEVELS + 1]; /* a leaf's PAT bit at each level, 0 where none */
	struct nw_s2_decode decode; /* the format's (stage2_rules.h) */
};

/* Derives fast from s2 (kind NONE gives top 0: GPA = HPA). */
void nw_s2_fast_derive(const struct nw_stage2 *s2, struct nw_s2_fast *fast);

void nw_ept_translate(struct nw_ept *ept, const struct nw_s2_request *req, struct nw_s2_result *res);
void nw_npt_translate(struct nw_npt *npt, const struct nw_s2_request *req, struct nw_s2_result *res);

static inline void nw_stage2_translate(const struct nw_stage2 *s2, const struct nw_s2_request *req,
				       struct nw_s2_result *res)
{
	switch (s2->kind) {
	case NW_STAGE2_EPT:
		nw_ept_translate(s2->ept, req, res);
		return;
	case NW_STAGE2_NPT:
		nw_npt_translate(s2->npt, req, res);
		return;
	case NW_STAGE2_NONE:
		break;
	}
	/* Field by field, without the cost of a whole compound literal. */
	res->status = NW_S2_OK;
	res->hpa = nw_hpa_from_identical_gpa(req->gpa);
	res->page_size = NW_S2_NONE_PAGE_SIZE;
	res->level = 0;
	res->entry = 0;
	res->rights = NW_S2_NONE_RIGHTS;
	res->memory_type = NW_S2_NONE_MEMORY_TYPE;
	res->ignore_pat = false;
	res->refs = 0;
	for (int level = 0; level <= NW_MAX_LEVELS; level++) {
		res->entries[level] = 0;
		res->tables[level] = nw_hpa(0);
	}
}

#endif
