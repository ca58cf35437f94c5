/* Intel EPT (SDM Vol. 3C §29.3, entry formats Tables 29-1..29-7; EPTP Table
 * 25-9 "Format of Extended-Page-Table Pointer"): 4- and 5-level tables in HAL
 * frames, built by the table engine (pt_build.h), with the misconfiguration
 * rules of §29.3.3.1 as named predicates and the translation used by the
 * guest walker (stage2.h). */
#ifndef NESTWALK_EPT_H
#define NESTWALK_EPT_H

#include <stdbool.h>
#include <stdint.h>

#include "addr.h"
#include "cdefs.h"
#include "hal.h"
#include "pt_build.h"
#include "stage2.h"
#include "status.h"

NW_BEGIN_DECLS

/* Entry bits (Tables 29-1..29-7). */
#define NW_EPT_R (UINT64_C(1) << 0)     /* read */
#define NW_EPT_W (UINT64_C(1) << 1)     /* write */
#define NW_EPT_X (UINT64_C(1) << 2)     /* execute (supervisor-mode execute with mode-based execute control) */
#define NW_EPT_MT_SHIFT 3               /* leaf memory type, bits 5:3 */
#define NW_EPT_MT_MASK (UINT64_C(7) << NW_EPT_MT_SHIFT)
#define NW_EPT_IPAT (UINT64_C(1) << 6)  /* leaf: ignore guest PAT */
#define NW_EPT_PS (UINT64_C(1) << 7)    /* PDPTE/PDE: maps a 1 GiB / 2 MiB page */
#define NW_EPT_A (UINT64_C(1) << 8)     /* accessed (EPTP A/D enable) */
#define NW_EPT_D (UINT64_C(1) << 9)     /* dirty, leaf only (EPTP A/D enable) */
#define NW_EPT_UX (UINT64_C(1) << 10)   /* user-mode execute (mode-based execute control) */
#define NW_EPT_SVE (UINT64_C(1) << 63)  /* leaf: suppress #VE */
#define NW_EPT_ADDR_MASK UINT64_C(0x000ffffffffff000) /* bits 51:12 before MAXPHYADDR */
#define NW_EPT_RIGHTS (NW_EPT_R | NW_EPT_W | NW_EPT_X | NW_EPT_UX)
/* Non-leaf bits 7:3 are reserved (Tables 29-1..29-3, 29-5). */
#define NW_EPT_NONLEAF_RSVD UINT64_C(0xf8)

NW_STATIC_ASSERT((NW_EPT_ADDR_MASK & (NW_EPT_R | NW_EPT_W | NW_EPT_X | NW_EPT_MT_MASK | NW_EPT_IPAT | NW_EPT_PS |
				    NW_EPT_A | NW_EPT_D | NW_EPT_UX | NW_EPT_SVE)) == 0,
	       "EPT address field overlaps a flag");
NW_STATIC_ASSERT(((NW_EPT_R | NW_EPT_W | NW_EPT_X) & NW_EPT_MT_MASK) == 0, "rights overlap the memory type");
NW_STATIC_ASSERT(((NW_EPT_MT_MASK | NW_EPT_IPAT) & (NW_EPT_PS | NW_EPT_A | NW_EPT_D | NW_EPT_UX)) == 0,
	       "memory type/ignore-PAT overlap PS/A/D/UX");
NW_STATIC_ASSERT((NW_EPT_PS & (NW_EPT_A | NW_EPT_D | NW_EPT_UX)) == 0 && (NW_EPT_A & NW_EPT_D) == 0 &&
		       ((NW_EPT_A | NW_EPT_D) & NW_EPT_UX) == 0,
	       "PS/A/D/UX overlap");

/* Memory types (SDM §11.11 encodings; 2, 3 and 7 are reserved in EPT). */
#define NW_EPT_MT_UC 0u
#define NW_EPT_MT_WC 1u
#define NW_EPT_MT_WT 4u
#define NW_EPT_MT_WP 5u
#define NW_EPT_MT_WB 6u

static inline uint64_t nw_ept_mt(unsigned type) { return ((uint64_t)type << NW_EPT_MT_SHIFT) & NW_EPT_MT_MASK; }

/* EPTP (Table 25-9): bits 2:0 memory type, 5:3 page-walk length minus one,
 * 6 A/D enable, 51:12 the PML4 (or PML5) table. */
#define NW_EPTP_MT_MASK UINT64_C(7)
#define NW_EPTP_WALK_SHIFT 3
#define NW_EPTP_WALK_MASK (UINT64_C(7) << NW_EPTP_WALK_SHIFT)
#define NW_EPTP_AD (UINT64_C(1) << 6)
#define NW_EPTP_RSVD_LOW UINT64_C(0xf00) /* bits 11:8: bit 7 (shadow-stack control) is not modelled, taken as 0 */
#define NW_EPTP_ADDR_MASK NW_EPT_ADDR_MASK

struct nw_eptp {
	unsigned memory_type; /* UC or WB */
	int levels;           /* 4 or 5 */
	bool ad;
	nw_hpa_t root;
};

/* What the modelled CPU supports (IA32_VMX_EPT_VPID_CAP, CPUID.80000008H). */
struct nw_ept_caps {
	unsigned maxphyaddr;  /* 36..52 */
	bool exec_only;       /* execute-only translations */
	bool pages_1g;
	bool five_level;
	bool mbec;            /* mode-based execute control */
	bool ad;              /* EPT accessed/dirty flags */
	bool advanced_exit_info;
};

/* Every feature, MAXPHYADDR 46. */
struct nw_ept_caps nw_ept_caps_all(void);

struct nw_ept_config {
	int levels;           /* 4 or 5 */
	bool ad;              /* EPTP bit 6 */
	unsigned memory_type; /* EPTP bits 2:0, UC or WB */
	bool mbec;            /* the "mode-based execute control for EPT" VM-execution control */
	struct nw_ept_caps caps;
};

struct nw_ept {
	struct nw_pt pt;
	struct nw_ept_config config;
	/* The library's own: the last leaf flags nw_ept_map accepted and their
	 * level (0: none), so mapping page after page with the same flags checks
	 * them once. The configuration never changes after nw_ept_create. */
	uint64_t accepted_flags;
	int accepted_level;
	uint64_t accepted_rights; /* and the last rights nw_ept_protect accepted (0: none yet) */
};

/* What went wrong with one present entry (§29.3.3.1), NONE when nothing did. */
enum nw_ept_misconfig {
	NW_EPT_MISCONFIG_NONE = 0,
	NW_EPT_MISCONFIG_WRITE_NO_READ,
	NW_EPT_MISCONFIG_EXEC_ONLY,
	NW_EPT_MISCONFIG_PS_ABOVE_PDPT,
	NW_EPT_MISCONFIG_PAGE_1G,
	NW_EPT_MISCONFIG_ADDR_ABOVE_MAXPHY,
	NW_EPT_MISCONFIG_MEMORY_TYPE,
	NW_EPT_MISCONFIG_NONLEAF_RSVD,
	NW_EPT_MISCONFIG_LARGE_MISALIGNED,
};

/* The rules one at a time (ept_check.c), each citing the SDM. */
bool nw_ept_is_present(const struct nw_ept_config *config, uint64_t entry);
bool nw_ept_is_leaf(int level, uint64_t entry);
bool nw_ept_has_write_without_read(uint64_t entry);
bool nw_ept_is_unsupported_exec_only(const struct nw_ept_config *config, uint64_t entry);
bool nw_ept_has_ps_above_pdpt(int level, uint64_t entry);
bool nw_ept_has_unsupported_1g(const struct nw_ept_config *config, int level, uint64_t entry);
bool nw_ept_has_addr_above_maxphy(const struct nw_ept_config *config, uint64_t entry);
bool nw_ept_has_reserved_memory_type(int level, uint64_t entry);
bool nw_ept_has_nonleaf_rsvd_bits(int level, uint64_t entry);
bool nw_ept_has_misaligned_large_page(int level, uint64_t entry);
/* The first rule a present entry breaks. */
enum nw_ept_misconfig nw_ept_misconfig(const struct nw_ept_config *config, int level, uint64_t entry);
const char *nw_ept_misconfig_name(enum nw_ept_misconfig why);
/* SDM name of a level's entry ("PML4E", ...). */
const char *nw_ept_level_name(int level);

uint64_t nw_eptp_encode(const struct nw_eptp *eptp);
/* NW_ERR_INVALID for a reserved memory type, walk length, or reserved bit;
 * NW_ERR_UNSUPPORTED for A/D or 5 levels the CPU lacks (VM entry fails). */
NW_MUST_CHECK nw_status_t nw_eptp_decode(uint64_t value, const struct nw_ept_caps *caps, struct nw_eptp *eptp);

NW_MUST_CHECK nw_status_t nw_ept_create(struct nw_ept *ept, const struct nw_hal *hal,
					const struct nw_ept_config *config);
void nw_ept_destroy(struct nw_ept *ept);
uint64_t nw_ept_eptp(const struct nw_ept *ept);
nw_hpa_t nw_ept_root(const struct nw_ept *ept);

/* Every call that can leave a stale translation sets *invept (when not NULL)
 * to say a single-context INVEPT for this EPTP is due; a pure addition where
 * nothing was mapped leaves it alone. */

/* One page of size 4 KiB, 2 MiB or 1 GiB. flags: rights (R/W/X/UX), memory
 * type, ignore-PAT, A/D, suppress-#VE and any other non-address bit, kept as
 * given; a combination that would be misconfigured is NW_ERR_INVALID.
 * NW_PT_MAP_REPLACE overwrites what is there (a larger page is split keeping
 * its attributes). */
NW_MUST_CHECK nw_status_t nw_ept_map(struct nw_ept *ept, nw_gpa_t gpa, nw_hpa_t hpa, uint64_t size, uint64_t flags,
				     unsigned map_flags, bool *invept);
/* A range with the largest pages alignment and size allow. */
NW_MUST_CHECK nw_status_t nw_ept_map_region(struct nw_ept *ept, nw_gpa_t gpa, nw_hpa_t hpa, uint64_t size,
					    uint64_t flags, bool *invept);
NW_MUST_CHECK nw_status_t nw_ept_unmap(struct nw_ept *ept, nw_gpa_t gpa, uint64_t size, bool *invept);
/* Sets the rights (a subset of NW_EPT_RIGHTS, not empty) of every page in the
 * range, keeping every other bit; the range must be mapped. */
NW_MUST_CHECK nw_status_t nw_ept_protect(struct nw_ept *ept, nw_gpa_t gpa, uint64_t size, uint64_t rights,
					 bool *invept);

NW_MUST_CHECK nw_status_t nw_ept_query(const struct nw_ept *ept, nw_gpa_t gpa, struct nw_s2_mapping *mapping);
/* Raw edit of the entry at level on gpa's path (see nw_pt_edit). */
NW_MUST_CHECK nw_status_t nw_ept_edit(struct nw_ept *ept, nw_gpa_t gpa, int level, uint64_t clear, uint64_t set,
				      uint64_t *old, bool *invept);
uint64_t nw_ept_table_count(const struct nw_ept *ept);

NW_END_DECLS

#endif
