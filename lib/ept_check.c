/* EPT rules (SDM Vol. 3C §29.3.2-§29.3.3), one predicate each, and the EPTP
 * format (§25.6.11, Table 25-9). */
#include <nestwalk/ept.h>

#include "stage2_rules.h"

/* §29.3.2: an entry with bits 2:0 clear (and bit 10 clear under mode-based
 * execute control) is not present: its use causes an EPT violation. */
bool nw_ept_is_present(const struct nw_ept_config *config, uint64_t entry)
{
	return (entry & (NW_EPT_R | NW_EPT_W | NW_EPT_X)) != 0 || (config->mbec && (entry & NW_EPT_UX));
}

/* §29.3.3.1: bit 0 clear with bit 1 set (write without read) is a misconfiguration. */
bool nw_ept_has_write_without_read(uint64_t entry)
{
	return (entry & NW_EPT_W) && !(entry & NW_EPT_R);
}

/* §29.3.3.1: execute without read or write (bit 2, or bit 10 under mode-based
 * execute control) needs IA32_VMX_EPT_VPID_CAP bit 0. */
bool nw_ept_is_unsupported_exec_only(const struct nw_ept_config *config, uint64_t entry)
{
	bool exec = (entry & NW_EPT_X) || (config->mbec && (entry & NW_EPT_UX));

	return !config->caps.exec_only && exec && !(entry & (NW_EPT_R | NW_EPT_W));
}

/* Tables 29-1, 29-2, 29-4, 29-6: bits 7:3 of an entry that references a table are reserved. */
bool nw_ept_has_nonleaf_rsvd_bits(int level, uint64_t entry)
{
	return !nw_ept_is_leaf(level, entry) && (entry & NW_EPT_NONLEAF_RSVD);
}

/* The rules EPT shares with NPT, over the EPT format (stage2_rules.h). */
bool nw_ept_is_leaf(int level, uint64_t entry)
{
	return nw_s2_is_leaf(nw_ept_rules.format4, level, entry);
}

bool nw_ept_has_ps_above_pdpt(int level, uint64_t entry)
{
	return nw_s2_has_ps_above_pdpt(nw_ept_rules.format4, level, entry);
}

bool nw_ept_has_unsupported_1g(const struct nw_ept_config *config, int level, uint64_t entry)
{
	return nw_s2_has_unsupported_1g(nw_ept_rules.format4, config->caps.pages_1g, level, entry);
}

bool nw_ept_has_addr_above_maxphy(const struct nw_ept_config *config, uint64_t entry)
{
	return nw_s2_has_addr_above_maxphy(nw_ept_rules.format4, config->caps.maxphyaddr, entry);
}

bool nw_ept_has_reserved_memory_type(int level, uint64_t entry)
{
	return nw_s2_has_reserved_memory_type(&nw_ept_rules, nw_ept_rules.format4, level, entry);
}

bool nw_ept_has_misaligned_large_page(int level, uint64_t entry)
{
	return nw_s2_has_misaligned_large_page(nw_ept_rules.format4, level, entry);
}

enum nw_ept_misconfig nw_ept_misconfig(const struct nw_ept_config *config, int level, uint64_t entry)
{
	if (nw_ept_has_write_without_read(entry))
		return NW_EPT_MISCONFIG_WRITE_NO_READ;
	if (nw_ept_is_unsupported_exec_only(config, entry))
		return NW_EPT_MISCONFIG_EXEC_ONLY;
	if (nw_ept_has_ps_above_pdpt(level, entry))
		return NW_EPT_MISCONFIG_PS_ABOVE_PDPT;
	if (nw_ept_has_unsupported_1g(config, level, entry))
		return NW_EPT_MISCONFIG_PAGE_1G;
	if (nw_ept_has_addr_above_maxphy(config, entry))
		return NW_EPT_MISCONFIG_ADDR_ABOVE_MAXPHY;
	if (nw_ept_has_reserved_memory_type(level, entry))
		return NW_EPT_MISCONFIG_MEMORY_TYPE;
	if (nw_ept_has_nonleaf_rsvd_bits(level, entry))
		return NW_EPT_MISCONFIG_NONLEAF_RSVD;
	if (nw_ept_has_misaligned_large_page(level, entry))
		return NW_EPT_MISCONFIG_LARGE_MISALIGNED;
	return NW_EPT_MISCONFIG_NONE;
}

const char *nw_ept_misconfig_name(enum nw_ept_misconfig why)
{
	switch (why) {
	case NW_EPT_MISCONFIG_NONE: return "none";
	case NW_EPT_MISCONFIG_WRITE_NO_READ: return "write without read";
	case NW_EPT_MISCONFIG_EXEC_ONLY: return "execute-only not supported";
	case NW_EPT_MISCONFIG_PS_ABOVE_PDPT: return "page-size bit above the PDPT";
	case NW_EPT_MISCONFIG_PAGE_1G: return "1 GiB page not supported";
	case NW_EPT_MISCONFIG_ADDR_ABOVE_MAXPHY: return "address bits above MAXPHYADDR";
	case NW_EPT_MISCONFIG_MEMORY_TYPE: return "reserved memory type";
	case NW_EPT_MISCONFIG_NONLEAF_RSVD: return "reserved bits 7:3 in a non-leaf entry";
	case NW_EPT_MISCONFIG_LARGE_MISALIGNED: return "reserved address bits in a large page";
	}
	return "unknown";
}

const char *nw_ept_level_name(int level)
{
	static const char *const names[NW_MAX_LEVELS + 1] = { "?", "PTE", "PDE", "PDPTE", "PML4E", "PML5E" };

	return level >= NW_LEVEL_PT && level <= NW_MAX_LEVELS ? names[level] : names[0];
}

uint64_t nw_eptp_encode(const struct nw_eptp *eptp)
{
	return (eptp->memory_type & NW_EPTP_MT_MASK) | ((uint64_t)(eptp->levels - 1) << NW_EPTP_WALK_SHIFT) |
	       (eptp->ad ? NW_EPTP_AD : 0) | (eptp->root.val & NW_EPTP_ADDR_MASK);
}

nw_status_t nw_eptp_decode(uint64_t value, const struct nw_ept_caps *caps, struct nw_eptp *eptp)
{
	unsigned type = (unsigned)(value & NW_EPTP_MT_MASK);
	int levels = (int)((value & NW_EPTP_WALK_MASK) >> NW_EPTP_WALK_SHIFT) + 1;
	uint64_t high_rsvd = ~((UINT64_C(1) << caps->maxphyaddr) - 1); /* bits 63:MAXPHYADDR */

	/* §26.2.1.1: VM entry checks the memory type, the walk length and the reserved bits. */
	if (type != NW_EPT_MT_UC && type != NW_EPT_MT_WB)
		return NW_ERR_INVALID;
	if (levels != 4 && levels != 5)
		return NW_ERR_INVALID;
	if ((value & NW_EPTP_RSVD_LOW) || (value & high_rsvd))
		return NW_ERR_INVALID;
	if ((levels == 5 && !caps->five_level) || ((value & NW_EPTP_AD) && !caps->ad))
		return NW_ERR_UNSUPPORTED;
	*eptp = (struct nw_eptp){ .memory_type = type, .levels = levels, .ad = (value & NW_EPTP_AD) != 0,
				  .root = nw_hpa(value & NW_EPTP_ADDR_MASK) };
	return NW_OK;
}
