/* Printing a walk outcome: one JSON object (for tools and tests) and an
 * --explain listing of every memory reference of the two-dimensional walk. */
#ifndef NESTWALK_SIM_WALK_PRINT_H
#define NESTWALK_SIM_WALK_PRINT_H

#include <stdio.h>

#include <nestwalk/walk.h>

/* The one notation of rights, for both stages (docs/json.md): the letters r, w, x, u in that order, '-' for a
 * right not granted. u: the guest stage's user-mode access (U/S=1), the second stage's user-mode execute (EPT
 * bit 10 with mode-based execute control). */
#define NW_RIGHTS_TEXT 5
const char *nw_guest_rights_text(uint32_t rights, char out[NW_RIGHTS_TEXT]);
const char *nw_s2_rights_text(uint32_t rights, char out[NW_RIGHTS_TEXT]);
/* A memory-type encoding's name (SDM Vol. 3A Table 11-10; 2, 3 and 7 are reserved in EPT). */
const char *nw_memory_type_name(unsigned type);
/* An AArch64 stage-2 MemAttr[3:0]'s name (Arm ARM D8.5, without FEAT_S2FWB): Device-nGnRnE .. Device-GRE for
 * 0b00xx, else Normal with the outer (bits 3:2) and inner (bits 1:0) cacheability, NC, WT or WB, one name when
 * they agree (Normal-WB) and both when not (Normal-oWB-iNC); "reserved" where the inner one is 0b00. */
const char *nw_arm64_memattr_name(unsigned memattr);
/* A stage-2 entry's S2AP (bits 7:6) as "rw", "r-", "-w" or "--". */
const char *nw_arm64_s2ap_text(uint64_t entry);
/* The fault kind's name in translate's JSON: translation, access_flag, permission, address_size. */
const char *nw_arm64_fault_name(enum nw_s2_fault fault);
/* DFSC/IFSC bits 1:0: the level of a translation, access flag, permission or address size fault (Arm ARM D19,
 * ESR_EL1/ESR_EL2 ISS encodings). */
#define NW_ARM64_FSC_LEVEL_MASK 3u

/* A guest level's entry name in the mode's format (SDM Vol. 3A Tables 4-4..4-20): "PML4E", "PDPTE register", or
 * "?" for a level the mode does not have. */
const char *nw_walk_level_name(enum nw_paging_mode mode, int level);

/* One JSON object on one line, no trailing newline, with only the members the
 * outcome has a value for: the walk object of docs/json.md. Addresses and codes
 * are "0x..." hex strings; counts and levels are numbers. */
void nw_walk_print_json(FILE *out, const struct nw_walk_result *res);
/* The same object named by the outcome a caller reports for it (replay's mmio or rom_write: the walk's EPT
 * violation that the address space turned into that exit). */
void nw_walk_print_json_as(FILE *out, const struct nw_walk_result *res, const char *outcome);

/* The outcome line and its decoded details (the end of --explain). */
void nw_walk_print_summary(FILE *out, const struct nw_walk_result *res);

/* Human listing: one line per guest level (entry, table GPA/HPA, rights so
 * far) followed by the stage-2 entries read for it, then the final translation
 * and the outcome with its decoded error code or qualification. */
void nw_walk_print_explain(FILE *out, const struct nw_walk_result *res);
/* The same for an AArch64 walk (nw_arm64_walk), with the Arm ARM's levels: each stage-1 descriptor read and its
 * table's stage-2 translation, then the final IPA's (translate --gva --explain, replay's mismatches). */
void nw_walk_print_explain_arm64(FILE *out, const struct nw_walk_result *res);
/* A translation's JSON members every architecture's walk has: gpa, hpa, guest_page_size, s2_page_size, rights. */
void nw_walk_print_json_translation(FILE *out, const struct nw_walk_result *res);
/* An AArch64 walk's members of the translate-gva-aarch64 object (docs/json.md), from its opening brace, prefix
 * (e.g. the schema member) and outcome (as the caller names it: an exit, no_memory) to refs and ad_writes,
 * without the closing brace; mair (NULL: left out) gives an ok translation's mair_attr. */
void nw_walk_print_json_arm64(FILE *out, const char *prefix, const struct nw_walk_result *res, const char *outcome,
			      bool el0, bool unprivileged, const uint64_t *mair);

#endif
