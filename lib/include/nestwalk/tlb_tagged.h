/* The storage, tags and least-recently-used replacement a TLB model tagged by VMID and ASID has, whatever its
 * architecture: one fully associative array of entries of a few kinds, the architecture saying which kinds an
 * ASID tags and which are cached table entries (their output is the next table, not a translation). The AArch64
 * (tlb_arm64.h) and RISC-V (tlb_riscv.h) models are built on it; what each architecture's invalidations drop is its
 * own. Storage is the caller's; nothing is allocated. */
#ifndef NESTWALK_TLB_TAGGED_H
#define NESTWALK_TLB_TAGGED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cdefs.h"
#include "status.h"

NW_BEGIN_DECLS

struct nw_ttlb_entry {
	uint64_t addr;  /* the input address, aligned to size */
	uint64_t out;   /* its output: a page or superpage base, or the next table */
	uint64_t size;  /* bytes covered */
	uint64_t mid;   /* the intermediate address addr was translated through (a combined entry's), else 0 */
	uint64_t stamp; /* last use, for LRU; 0 = empty */
	uint32_t attrs; /* the caller's (rights, memory attributes) */
	uint16_t vmid;
	uint16_t asid; /* non-global entries of an ASID-tagged kind only; 0 otherwise */
	uint8_t kind;
	uint8_t level;
	bool global; /* matches every ASID */
};

struct nw_ttlb_stats {
	uint64_t lookups, hits, inserts, evictions, invalidated;
};

struct nw_ttlb {
	struct nw_ttlb_entry *entries;
	uint32_t count;
	uint64_t clock;
	uint16_t vmid, asid;   /* the current tags */
	uint32_t asid_kinds;   /* bit per kind: entries an ASID tags */
	uint32_t table_kinds;  /* bit per kind: cached table entries */
	uint32_t global_kinds; /* bit per kind: may be global */
	struct nw_ttlb_stats stats;
};

/* NW_ERR_RANGE when storage holds no entry, NW_ERR_ALIGN when it is not aligned for one. Starts empty, VMID 0
 * and ASID 0. */
NW_MUST_CHECK nw_status_t nw_ttlb_init(struct nw_ttlb *tlb, void *storage, size_t size, uint32_t asid_kinds,
				       uint32_t table_kinds, uint32_t global_kinds);

/* What a completed walk gives the TLB: size a power of two of at least 4 KiB, addr aligned to it, out too for a
 * translation (a table entry's out is 4 KiB-aligned), global only for a kind that may be. Else the caller's bug:
 * it asserts. Tagged with the current VMID, and the current ASID unless global or of an untagged kind. */
struct nw_ttlb_fill {
	unsigned kind;
	uint64_t addr, out, size, mid;
	uint8_t level;
	bool global;
	uint32_t attrs;
};

void nw_ttlb_insert(struct nw_ttlb *tlb, const struct nw_ttlb_fill *fill);

struct nw_ttlb_hit {
	uint64_t out; /* addr translated (the entry's output plus the offset within it), or the next table */
	const struct nw_ttlb_entry *entry;
};

/* The smallest valid entry of that kind covering addr for the VMID, and the ASID unless the entry is global or
 * of an untagged kind. lookup asks with the current tags, counts and refreshes LRU; probe counts nothing. */
bool nw_ttlb_lookup(struct nw_ttlb *tlb, unsigned kind, uint64_t addr, struct nw_ttlb_hit *hit);
bool nw_ttlb_probe(const struct nw_ttlb *tlb, unsigned kind, uint16_t vmid, uint16_t asid, uint64_t addr,
		   struct nw_ttlb_hit *hit);

/* Drops every valid entry for which in_scope(entry, ctx) holds: an invalidation's one loop. */
void nw_ttlb_drop(struct nw_ttlb *tlb, bool (*in_scope)(const struct nw_ttlb_entry *e, const void *ctx),
		  const void *ctx);

/* Valid entries of one kind (tests and reports). */
uint64_t nw_ttlb_count(const struct nw_ttlb *tlb, unsigned kind);

NW_END_DECLS

#endif
