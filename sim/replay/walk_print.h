/* Printing a walk outcome: one JSON object (for tools and tests) and an
 * --explain listing of every memory reference of the two-dimensional walk. */
#ifndef NESTWALK_SIM_WALK_PRINT_H
#define NESTWALK_SIM_WALK_PRINT_H

#include <stdio.h>

#include <nestwalk/walk.h>

/* One JSON object on one line, no trailing newline. Keys: outcome (ok,
 * page_fault, ept_violation, ept_misconfig, npf, general_protection, no_memory),
 * mode, gva, gpa, hpa, error_code, cr2, exit_qualification, fault_gpa, gla_valid,
 * fault_level, exitinfo1, exitinfo2, gp_reason, s2_on_table, refs, ad_writes,
 * guest_page_size, s2_page_size, rights ("uwx" letters), memory_type, leaf_level.
 * Addresses and codes are "0x..." hex strings; counts and levels are numbers. */
void nw_walk_print_json(FILE *out, const struct nw_walk_result *res);

/* Human listing: one line per guest level (entry, table GPA/HPA, rights so
 * far) followed by the stage-2 entries read for it, then the final translation
 * and the outcome with its decoded error code or qualification. */
void nw_walk_print_explain(FILE *out, const struct nw_walk_result *res);

#endif
