/* Structural checks of one blob case before anything of it reaches the MMU:
 * bounds, a tree of tables whose levels follow from the links, and leaves that
 * can only ever map the scratch region. */
#ifndef HW_CASE_CHECK_H
#define HW_CASE_CHECK_H

#include <stdint.h>

#include "contract/blob.h"

struct hw_cpu_features {
	unsigned maxphyaddr;
	int smep, smap, pku, la57, nx, gbpages, svm; /* svm: SVM with nested paging */
};

/* NULL when the case may run, else why not. levels[t] receives table t's paging level. */
const char *hw_case_check(const struct hw_blob_case *c, const struct hw_blob_entry *entries,
			  const struct hw_cpu_features *cpu, unsigned levels[HW_MAX_TABLES]);
/* Entries before the first nested-paging edit: the page-table entries. */
unsigned hw_case_table_entries(const struct hw_blob_case *c, const struct hw_blob_entry *entries);
/* NULL when the CPU has every feature the case asks for (levels: as hw_case_check gives them). */
const char *hw_case_missing_feature(const struct hw_blob_case *c, const struct hw_cpu_features *cpu,
				    const struct hw_blob_entry *entries, const unsigned levels[HW_MAX_TABLES]);

#endif
