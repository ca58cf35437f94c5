/* Every present guest mapping, read from the guest's own page tables (SDM
 * Vol. 3A §4.3-4.5) for `nestwalk mappings --stage guest`: 32-bit (with
 * PSE), PAE, 4-level and 5-level paging, 4 KiB to 1 GiB pages. Rights are
 * accumulated down the levels as the walk applies them: U/S and R/W ANDed,
 * XD ORed (in force only with EFER.NXE; without it bit 63 is a reserved bit
 * and the entry maps nothing, as a walk through it faults, and so does an entry
 * with any other reserved bit set). Tables are read
 * through a callback, so a VM on simulated memory and a memory dump are
 * listed alike. */
#ifndef NESTWALK_SIM_GUEST_MAPPINGS_H
#define NESTWALK_SIM_GUEST_MAPPINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <nestwalk/cpu.h>

#include "replay/mappings_listing.h"

/* Reads the 8 bytes at an 8-aligned gpa; false when nothing backs them. */
typedef bool (*nw_guest_read_fn)(void *ctx, uint64_t gpa, uint64_t *value);

struct nw_guest_mapping {
	uint64_t va, pa, size; /* size: the page's, 4 KiB to 1 GiB */
	bool user, write, nx, global, accessed, dirty;
};

/* Returns false when no more mappings are wanted. */
typedef bool (*nw_guest_visit_fn)(void *ctx, const struct nw_guest_mapping *mapping);

struct nw_guest_walk_stats {
	uint64_t leaves, bytes;      /* every present leaf (each alias counted), the bytes they map */
	uint64_t tables, unreadable; /* tables read, once per level; entries no memory backs */
	uint64_t reserved_xd;        /* present entries with bit 63 set while EFER.NXE=0 (reserved): not listed */
	uint64_t reserved;           /* present entries with another reserved bit set: not listed */
};

/* Counts every present leaf into stats (each table read once per level,
 * however the tables alias), then calls visit for the leaves in
 * virtual-address order (canonical addresses) until it returns false. A
 * table with nothing present below it is not entered, so the visit costs
 * at most 512 reads per level per leaf visited. 0, or -1 with err (paging
 * off, out of host memory). */
int nw_guest_mappings_visit(const struct nw_cpu *cpu, nw_guest_read_fn read, void *read_ctx, nw_guest_visit_fn visit,
			    void *visit_ctx, struct nw_guest_walk_stats *stats, char *err, size_t errlen);

/* Merges leaves into ranges: a leaf continues the range when it follows it
 * in both virtual and physical address with the same page size and flags (as QEMU's
 * `info mem` merges pages), and prints each range as text or JSON, as many
 * as the listing admits (mappings_listing.h). */
struct nw_guest_range_printer {
	struct nw_listing listing;
	bool open;
	struct nw_guest_mapping cur; /* cur.size: the range's; page_size below */
	uint64_t page_size;          /* of all its pages: a leaf of another size starts a range */
	uint64_t pages;              /* in the range */
};

void nw_guest_range_begin(struct nw_guest_range_printer *p, FILE *out, bool json, uint64_t limit);
/* false once the listing is full: the mapping is not listed, nor any after it. */
bool nw_guest_range_add(void *printer, const struct nw_guest_mapping *mapping);
void nw_guest_range_end(struct nw_guest_range_printer *p, const struct nw_guest_walk_stats *stats);

#endif
