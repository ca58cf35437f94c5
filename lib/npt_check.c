/* Reserved-bit rules of a long-mode entry used as a nested page-table entry
 * (SDM Vol. 3A Tables 4-15..4-20; APM Vol. 2 §5.3.6, §15.25.5), one predicate each. */
#include <nestwalk/npt.h>

#include "stage2_rules.h"

/* Bit 0: a clear P makes the walk stop with a not-present #NPF. */
bool nw_npt_is_present(uint64_t entry)
{
	return (entry & NW_PTE_P) != 0;
}

/* APM §5.3.6: with EFER.NXE clear, bit 63 is reserved. */
bool nw_npt_has_reserved_nx(const struct nw_npt_config *config, uint64_t entry)
{
	return !config->caps.nxe && (entry & NW_PTE_XD);
}

/* The rules NPT shares with EPT, over the long-mode format (stage2_rules.h). */
bool nw_npt_is_leaf(int level, uint64_t entry)
{
	return nw_s2_is_leaf(nw_npt_rules.format4, level, entry);
}

bool nw_npt_has_addr_above_maxphy(const struct nw_npt_config *config, uint64_t entry)
{
	return nw_s2_has_addr_above_maxphy(nw_npt_rules.format4, config->caps.maxphyaddr, entry);
}

bool nw_npt_has_ps_above_pdpt(int level, uint64_t entry)
{
	return nw_s2_has_ps_above_pdpt(nw_npt_rules.format4, level, entry);
}

bool nw_npt_has_unsupported_1g(const struct nw_npt_config *config, int level, uint64_t entry)
{
	return nw_s2_has_unsupported_1g(nw_npt_rules.format4, config->caps.pages_1g, level, entry);
}

bool nw_npt_has_misaligned_large_page(int level, uint64_t entry)
{
	return nw_s2_has_misaligned_large_page(nw_npt_rules.format4, level, entry);
}

enum nw_npt_rsvd nw_npt_rsvd(const struct nw_npt_config *config, int level, uint64_t entry)
{
	if (nw_npt_has_addr_above_maxphy(config, entry))
		return NW_NPT_RSVD_ADDR_ABOVE_MAXPHY;
	if (nw_npt_has_ps_above_pdpt(level, entry))
		return NW_NPT_RSVD_PS_ABOVE_PDPT;
	if (nw_npt_has_unsupported_1g(config, level, entry))
		return NW_NPT_RSVD_PAGE_1G;
	if (nw_npt_has_misaligned_large_page(level, entry))
		return NW_NPT_RSVD_LARGE_MISALIGNED;
	if (nw_npt_has_reserved_nx(config, entry))
		return NW_NPT_RSVD_NX;
	return NW_NPT_RSVD_NONE;
}

const char *nw_npt_rsvd_name(enum nw_npt_rsvd why)
{
	switch (why) {
	case NW_NPT_RSVD_NONE: return "none";
	case NW_NPT_RSVD_ADDR_ABOVE_MAXPHY: return "address bits above MAXPHYADDR";
	case NW_NPT_RSVD_PS_ABOVE_PDPT: return "page-size bit above the PDPT";
	case NW_NPT_RSVD_PAGE_1G: return "1 GiB page not supported";
	case NW_NPT_RSVD_LARGE_MISALIGNED: return "reserved address bits in a large page";
	case NW_NPT_RSVD_NX: return "NX bit with EFER.NXE clear";
	}
	return "unknown";
}
