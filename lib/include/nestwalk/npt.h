/* AMD nested page tables (APM Vol. 2 §15.25): the x86-64 long-mode entry
 * format (x86_pte.h) walked from nCR3, 4 or 5 levels, in HAL frames, built by
 * the table engine (pt_build.h). Every entry, tables included, carries U=1:
 * the nested walk treats every access as a user access (§15.25.5). */
#ifndef NESTWALK_NPT_H
#define NESTWALK_NPT_H

#include <stdbool.h>
#include <stdint.h>

#include "addr.h"
#include "cdefs.h"
#include "hal.h"
#include "pt_build.h"
#include "stage2.h"
#include "status.h"
#include "x86_pte.h"

NW_BEGIN_DECLS

/* Bits a leaf may be given; P and US are always added. */
#define NW_NPT_LEAF_FLAGS (NW_PTE_RW | NW_PTE_PWT | NW_PTE_PCD | NW_PTE_A | NW_PTE_D | NW_PTE_PAT_4K | NW_PTE_G | \
			   (UINT64_C(7) << 9) | (UINT64_C(0x7ff) << 52) | NW_PTE_XD)
/* What nw_npt_protect sets. */
#define NW_NPT_RIGHTS (NW_PTE_RW | NW_PTE_XD)

/* The host side as the nested walk sees it (CPUID 8000_0001/8000_0008, host EFER and CR4). */
struct nw_npt_caps {
	unsigned maxphyaddr;  /* 36..52 */
	bool pages_1g;
	bool five_level;      /* host CR4.LA57 */
	bool nxe;             /* host EFER.NXE: without it bit 63 is reserved */
};

struct nw_npt_caps nw_npt_caps_all(void);

struct nw_npt_config {
	int levels;           /* 4 or 5 */
	struct nw_npt_caps caps;
};

struct nw_npt {
	struct nw_pt pt;
	struct nw_npt_config config;
};

enum nw_npt_rsvd {
	NW_NPT_RSVD_NONE = 0,
	NW_NPT_RSVD_ADDR_ABOVE_MAXPHY,
	NW_NPT_RSVD_PS_ABOVE_PDPT,
	NW_NPT_RSVD_PAGE_1G,
	NW_NPT_RSVD_LARGE_MISALIGNED,
	NW_NPT_RSVD_NX,
};

bool nw_npt_is_present(uint64_t entry);
bool nw_npt_is_leaf(int level, uint64_t entry);
bool nw_npt_has_addr_above_maxphy(const struct nw_npt_config *config, uint64_t entry);
bool nw_npt_has_ps_above_pdpt(int level, uint64_t entry);
bool nw_npt_has_unsupported_1g(const struct nw_npt_config *config, int level, uint64_t entry);
bool nw_npt_has_misaligned_large_page(int level, uint64_t entry);
bool nw_npt_has_reserved_nx(const struct nw_npt_config *config, uint64_t entry);
/* The first reserved-bit rule a present entry breaks. */
enum nw_npt_rsvd nw_npt_rsvd(const struct nw_npt_config *config, int level, uint64_t entry);
const char *nw_npt_rsvd_name(enum nw_npt_rsvd why);

NW_MUST_CHECK nw_status_t nw_npt_create(struct nw_npt *npt, const struct nw_hal *hal,
					const struct nw_npt_config *config);
void nw_npt_destroy(struct nw_npt *npt);
/* The value for the VMCB's N_CR3 field. */
uint64_t nw_npt_ncr3(const struct nw_npt *npt);

/* As the EPT calls; *flush (when not NULL) is set when the change needs this
 * ASID's nested translations flushed (VMCB TLB_CONTROL). flags are
 * NW_NPT_LEAF_FLAGS in 4 KiB form (PAT at bit 7; moved for large pages). */
NW_MUST_CHECK nw_status_t nw_npt_map(struct nw_npt *npt, nw_gpa_t gpa, nw_hpa_t hpa, uint64_t size, uint64_t flags,
				     unsigned map_flags, bool *flush);
NW_MUST_CHECK nw_status_t nw_npt_map_region(struct nw_npt *npt, nw_gpa_t gpa, nw_hpa_t hpa, uint64_t size,
					    uint64_t flags, bool *flush);
NW_MUST_CHECK nw_status_t nw_npt_unmap(struct nw_npt *npt, nw_gpa_t gpa, uint64_t size, bool *flush);
/* rights: a subset of NW_NPT_RIGHTS (RW to allow writes, XD to forbid fetches). */
NW_MUST_CHECK nw_status_t nw_npt_protect(struct nw_npt *npt, nw_gpa_t gpa, uint64_t size, uint64_t rights,
					 bool *flush);

NW_MUST_CHECK nw_status_t nw_npt_query(const struct nw_npt *npt, nw_gpa_t gpa, struct nw_s2_mapping *mapping);
NW_MUST_CHECK nw_status_t nw_npt_edit(struct nw_npt *npt, nw_gpa_t gpa, int level, uint64_t clear, uint64_t set,
				      uint64_t *old, bool *flush);
uint64_t nw_npt_table_count(const struct nw_npt *npt);

NW_END_DECLS

#endif
