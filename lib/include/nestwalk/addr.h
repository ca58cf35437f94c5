/* Address spaces as distinct types: a GVA cannot be passed where a GPA or an
 * HPA is expected, so mixing stages is a compile error, not a silent bug. */
#ifndef NESTWALK_ADDR_H
#define NESTWALK_ADDR_H

#include <stdint.h>

#include "cdefs.h"

NW_BEGIN_DECLS

typedef struct nw_gva { uint64_t val; } nw_gva_t; /* guest-virtual (linear) */
typedef struct nw_gpa { uint64_t val; } nw_gpa_t; /* guest-physical */
typedef struct nw_hpa { uint64_t val; } nw_hpa_t; /* host-physical */

/* Initialised variables, not compound literals: C++ has none. */
static inline nw_gva_t nw_gva(uint64_t val) { nw_gva_t a = { val }; return a; }
static inline nw_gpa_t nw_gpa(uint64_t val) { nw_gpa_t a = { val }; return a; }
static inline nw_hpa_t nw_hpa(uint64_t val) { nw_hpa_t a = { val }; return a; }

#define NW_PAGE_SHIFT 12
#define NW_PAGE_SIZE (UINT64_C(1) << NW_PAGE_SHIFT)
#define NW_PAGE_MASK (NW_PAGE_SIZE - 1)
#define NW_SIZE_2M (UINT64_C(1) << 21)
#define NW_SIZE_4M (UINT64_C(1) << 22)
#define NW_SIZE_1G (UINT64_C(1) << 30)

static inline int nw_is_page_aligned(uint64_t val) { return (val & NW_PAGE_MASK) == 0; }

/* Pass-through (identity) mappings are the one place a GPA becomes an HPA by
 * value; naming the conversion keeps every such place greppable. */
static inline nw_hpa_t nw_hpa_from_identical_gpa(nw_gpa_t gpa) { return nw_hpa(gpa.val); }

NW_END_DECLS

#endif
