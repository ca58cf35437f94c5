/* Reserved-bit rules of a long-mode entry used as a nested page-table entry
 * (SDM Vol. 3A Tables 4-15..4-20; APM Vol. 2 §5.3.6, §15.25.5), one predicate each. */
#include <nestwalk/npt.h>

#define LARGE_2M_RSVD UINT64_C(0x1fe000)    /* bits 20:13 (bit 12 is PAT) */
#define LARGE_1G_RSVD UINT64_C(0x3fffe000)  /* bits 29:13 (bit 12 is PAT) */

/* Bit 0: a clear P makes the walk stop with a not-present #NPF. */
bool nw_npt_is_present(uint64_t entry)
{
	return (entry & NW_PTE_P) != 0;
}

/* PS maps a 1 GiB page in a PDPE and a 2 MiB page in a PDE; a PTE always maps. */
bool nw_npt_is_leaf(int level, uint64_t entry)
{
	if (level == NW_LEVEL_PT)
		return true;
	return (level == NW_LEVEL_PD || level == NW_LEVEL_PDPT) && (entry & NW_PTE_PS);
}

/* Tables 4-15..4-20: address bits 51:MAXPHYADDR are reserved. */
bool nw_npt_has_addr_above_maxphy(const struct nw_npt_config *config, uint64_t entry)
{
	uint64_t rsvd = NW_PTE_ADDR_MASK & ~((UINT64_C(1) << config->caps.maxphyaddr) - 1);

	return (entry & rsvd) != 0;
}

/* Tables 4-14/4-15: PS of a PML5E or PML4E is reserved. */
bool nw_npt_has_ps_above_pdpt(int level, uint64_t entry)
{
	return level >= NW_LEVEL_PML4 && (entry & NW_PTE_PS);
}

/* Without 1 GiB page support (CPUID 8000_0001 EDX bit 26) PS of a PDPE is reserved. */
bool nw_npt_has_unsupported_1g(const struct nw_npt_config *config, int level, uint64_t entry)
{
	return level == NW_LEVEL_PDPT && (entry & NW_PTE_PS) && !config->caps.pages_1g;
}

/* Tables 4-16/4-18: bits 29:13 of a 1 GiB leaf and 20:13 of a 2 MiB leaf are reserved. */
bool nw_npt_has_misaligned_large_page(int level, uint64_t entry)
{
	if (level == NW_LEVEL_PT || !nw_npt_is_leaf(level, entry))
		return false;
	return (entry & (level == NW_LEVEL_PDPT ? LARGE_1G_RSVD : LARGE_2M_RSVD)) != 0;
}

/* APM §5.3.6: with EFER.NXE clear, bit 63 is reserved. */
bool nw_npt_has_reserved_nx(const struct nw_npt_config *config, uint64_t entry)
{
	return !config->caps.nxe && (entry & NW_PTE_XD);
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
