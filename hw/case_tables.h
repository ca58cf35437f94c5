/* A case's page tables in real memory. A case that is one well-formed path
 * (every entry on the GVA's path, a present leaf) is built by the library's
 * guest page-table builder (nw_gpt_map) and then patched entry by entry to the
 * blob's exact values (reserved bits, PS where it is reserved, A/D); any other
 * case is written raw into zeroed frames. Either way the CPU walks exactly the
 * entries the blob describes. Entries are 8 bytes, or 4 with 32-bit paging. */
#ifndef HW_CASE_TABLES_H
#define HW_CASE_TABLES_H

#include <stdbool.h>
#include <stdint.h>

#include <nestwalk/frame.h>
#include <nestwalk/pt_build.h>

#include "contract/blob.h"

struct hw_case_tables {
	bool built; /* by the library's builder */
	unsigned entry_bytes;
	struct nw_gpt gpt;
	struct nw_frame frames[HW_MAX_TABLES]; /* the raw form */
	unsigned table_count;
	uint64_t table_pa[HW_MAX_TABLES];
	/* Entries the patch rewrote, restored before the builder frees its tables. */
	struct { void *entry; uint64_t built; } patches[HW_MAX_ENTRIES];
	unsigned patch_count;
	unsigned kernel_slots;
};

/* false when no frame is left. */
bool hw_case_tables_build(struct hw_case_tables *ct, const struct nw_hal *hal, const struct hw_blob_case *c,
			  const struct hw_blob_entry *entries);
uint64_t hw_case_tables_get(const struct hw_case_tables *ct, const struct hw_blob_entry *e);
uint64_t hw_case_tables_root(const struct hw_case_tables *ct);
/* Copies the image's own top-level entries into the root (kept out of the builder's sight). */
void hw_case_tables_add_kernel(struct hw_case_tables *ct, const uint64_t *slots, unsigned count);
void hw_case_tables_free(struct hw_case_tables *ct);

#endif
