/* What both guest walkers share: reading and updating guest paging-structure
 * entries through the second stage, and turning a stage-2 fault into the
 * outcome the CPU reports (EPT violation, misconfiguration, #NPF). The guest
 * rules themselves (reserved bits, rights, error codes) are not here: each
 * walker states them its own way. */
#ifndef NESTWALK_WALK_INTERNAL_H
#define NESTWALK_WALK_INTERNAL_H

#include <nestwalk/walk.h>

/* One walk in progress. */
struct nw_walk_ctx {
	const struct nw_walk_config *config;
	const struct nw_access *access;
	unsigned flags;
	bool user;       /* the access is user-mode (§4.6) */
	bool linear;     /* translating a linear address (false for the PDPTE load at MOV CR3) */
	struct nw_walk_result *res;
};

/* Starts a result: everything zero, outcome OK, no references. */
void nw_walk_result_init(struct nw_walk_result *res, enum nw_paging_mode mode, nw_gva_t gva);

/* Reads the guest paging-structure entry of bytes (4 or 8) at gpa for level:
 * translates gpa through the second stage as a paging-structure read, counts
 * the references, records everything in res->steps[level], and reads the
 * entry through the HAL. On a stage-2 fault or unbacked memory sets the outcome
 * and returns false. */
bool nw_walk_read_entry(struct nw_walk_ctx *ctx, nw_gpa_t table, unsigned index, unsigned bytes, int level,
			uint64_t *entry);

/* ORs set (A, or A|D) into the guest entry read at level. Setting a guest A/D
 * flag is a write to the entry's guest-physical address, so the second stage
 * checks it as a write (Vol. 3C §29.3.3.2). Returns false with the outcome set
 * when the second stage refuses it or nothing backs the entry. */
bool nw_walk_set_flags(struct nw_walk_ctx *ctx, int level, unsigned bytes, uint64_t set);

/* Translates the final guest-physical address with the access's own type and
 * completes an OK result (HPA, stage-2 page size, memory type), or sets the
 * stage-2 outcome. */
void nw_walk_finish(struct nw_walk_ctx *ctx, nw_gpa_t gpa);

/* A #PF outcome with its error code and CR2. */
void nw_walk_page_fault(struct nw_walk_ctx *ctx, uint32_t error_code, int level);

/* Derives the fast walker's permission and protection-key tables from its CPU
 * state (perm.c). */
void nw_perm_derive(struct nw_walker *walker);

/* Permission-table index of an access: type, user-mode, and whether RFLAGS.AC
 * lifts SMAP for it (explicit, CPL<3, AC=1). */
#define NW_PERM_USER 4u
#define NW_PERM_AC 8u
/* Rights bits as the permission tables index them: NW_WALK_RIGHT_W/U/X (0..7). */
#define NW_PK_PAGE_USER 8u /* pk_mask index: the page is user-mode */

/* A #GP outcome. */
void nw_walk_general_protection(struct nw_walk_result *res, enum nw_gp_reason reason);

#endif
