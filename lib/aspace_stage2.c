/* The address space's second stage: region flags become EPT rights and a
 * memory type, AMD NPT RW/XD and cache bits, AArch64 S2AP, XN and MemAttr, or
 * RISC-V G-stage R/W/X, U, A/D and PBMT; the table calls are the EPT, NPT,
 * AArch64 stage-2 and G-stage modules'. */
#include <nestwalk/aspace.h>
#include <nestwalk/ept.h>
#include <nestwalk/npt.h>
#include <nestwalk/x86_pte.h>

#include "aspace_stage2.h"
#include "stage2_rules.h"

static bool is_npt(const struct nw_aspace *as)
{
	return as->config.format == NW_STAGE2_NPT;
}

static bool is_none(const struct nw_aspace *as)
{
	return as->config.format == NW_STAGE2_NONE;
}

static bool is_arm64(const struct nw_aspace *as)
{
	return as->config.format == NW_STAGE2_ARM64;
}

static bool is_riscv(const struct nw_aspace *as)
{
	return as->config.format == NW_STAGE2_RISCV;
}

uint64_t nw_aspace_page_size(const struct nw_aspace *as)
{
	return is_arm64(as) ? UINT64_C(1) << as->config.arm64.granule_bits : NW_PAGE_SIZE;
}

nw_status_t nw_aspace_s2_create(struct nw_aspace *as)
{
	nw_status_t status;

	if (is_none(as)) {
		as->s2 = (struct nw_stage2){ .kind = NW_STAGE2_NONE };
		return NW_OK;
	}
	if (is_arm64(as)) {
		status = nw_arm64_s2_create(&as->arm64, as->hal, &as->config.arm64);
		if (status == NW_OK)
			as->s2 = (struct nw_stage2){ .kind = NW_STAGE2_ARM64, .arm64 = &as->arm64 };
	} else if (is_riscv(as)) {
		status = nw_rv_gstage_create(&as->riscv, as->hal, &as->config.riscv);
		if (status == NW_OK)
			as->s2 = (struct nw_stage2){ .kind = NW_STAGE2_RISCV, .riscv = &as->riscv };
	} else if (is_npt(as)) {
		struct nw_npt_config config = { .levels = (int)as->config.levels,
						.caps = as->config.has_caps ? as->config.npt_caps : nw_npt_caps_all() };

		config.caps.maxphyaddr = as->config.maxphyaddr;
		status = nw_npt_create(&as->npt, as->hal, &config);
		if (status == NW_OK)
			as->s2 = (struct nw_stage2){ .kind = NW_STAGE2_NPT, .npt = &as->npt };
	} else {
		struct nw_ept_config config = {
			.levels = (int)as->config.levels,
			.ad = as->config.accessed_dirty,
			.memory_type = as->config.memory_type,
			.mbec = as->config.mode_based_execute,
			.caps = as->config.has_caps ? as->config.ept_caps : nw_ept_caps_all(),
		};

		config.caps.maxphyaddr = as->config.maxphyaddr;
		status = nw_ept_create(&as->ept, as->hal, &config);
		if (status == NW_OK)
			as->s2 = (struct nw_stage2){ .kind = NW_STAGE2_EPT, .ept = &as->ept };
	}
	return status;
}

void nw_aspace_s2_destroy(struct nw_aspace *as)
{
	if (as->s2.kind == NW_STAGE2_EPT)
		nw_ept_destroy(&as->ept);
	else if (as->s2.kind == NW_STAGE2_NPT)
		nw_npt_destroy(&as->npt);
	else if (as->s2.kind == NW_STAGE2_ARM64)
		nw_arm64_s2_destroy(&as->arm64);
	else if (as->s2.kind == NW_STAGE2_RISCV)
		nw_rv_gstage_destroy(&as->riscv);
	as->s2 = (struct nw_stage2){ .kind = NW_STAGE2_NONE };
}

/* Device and uncached regions are uncacheable; RAM is write-back, as AxVisor
 * maps them. */
static bool is_uncached(uint32_t flags)
{
	return flags & (NW_REGION_DEVICE | NW_REGION_UNCACHED);
}

/* With the mode-based execute control, X allows supervisor-mode fetches and UX
 * user-mode ones (SDM Vol. 3C §29.3.3.2): a region's execute right is both. */
static uint64_t ept_leaf_flags(uint32_t flags, bool mbec)
{
	uint64_t leaf = nw_ept_mt(is_uncached(flags) ? NW_EPT_MT_UC : NW_EPT_MT_WB);

	if (flags & NW_REGION_READ)
		leaf |= NW_EPT_R;
	if (flags & NW_REGION_WRITE)
		leaf |= NW_EPT_W;
	if (flags & NW_REGION_EXEC)
		leaf |= NW_EPT_X | (mbec ? NW_EPT_UX : 0);
	return leaf;
}

/* NPT entries cannot refuse reads (APM Vol. 2 §15.25.5): a present page is
 * readable; RW allows writes, XD forbids fetches; PCD|PWT selects PAT entry 3,
 * UC in the default PAT. */
static uint64_t npt_leaf_flags(uint32_t flags)
{
	uint64_t leaf = is_uncached(flags) ? NW_PTE_PCD | NW_PTE_PWT : 0;

	if (flags & NW_REGION_WRITE)
		leaf |= NW_PTE_RW;
	if (!(flags & NW_REGION_EXEC))
		leaf |= NW_PTE_XD;
	return leaf;
}

/* Arm ARM D8.5 (stage 2 MemAttr) and D8.3: a device region is Device-nGnRE (MemAttr 0b0001), an uncached one
 * Normal Non-cacheable, RAM Normal Write-Back, inner shareable; S2AP from read and write; without execute
 * XN 0b10, execute-never at EL1 and EL0; AF set, so the first access does not fault. */
static uint64_t arm64_leaf_flags(uint32_t flags)
{
	unsigned memattr = (flags & NW_REGION_DEVICE)     ? 0x1u
			   : (flags & NW_REGION_UNCACHED) ? NW_ARM64_S2_MEMATTR_NORMAL_NC
							  : NW_ARM64_S2_MEMATTR_NORMAL_WB;
	uint64_t leaf = nw_arm64_s2_memattr(memattr) | NW_ARM64_S2_AF | (UINT64_C(3) << NW_ARM64_S2_SH_SHIFT);

	if (flags & NW_REGION_READ)
		leaf |= NW_ARM64_S2_S2AP_R;
	if (flags & NW_REGION_WRITE)
		leaf |= NW_ARM64_S2_S2AP_W;
	if (!(flags & NW_REGION_EXEC))
		leaf |= NW_ARM64_S2_XN1;
	return leaf;
}

/* Privileged spec, G-stage PTEs: R/W/X from the region, U always (G-stage
 * accesses are U-mode ones), A and D set (no Svade fault, no Svadu write on
 * a first access); with menvcfg.PBMTE (Svpbmt) a device region is IO and an
 * uncached one NC, else PMA: the platform's attributes decide. */
static uint64_t riscv_leaf_flags(uint32_t flags, bool pbmte)
{
	unsigned pbmt = !pbmte ? NW_RV_PBMT_PMA
		      : (flags & NW_REGION_DEVICE)   ? NW_RV_PBMT_IO
		      : (flags & NW_REGION_UNCACHED) ? NW_RV_PBMT_NC
						     : NW_RV_PBMT_PMA;
	uint64_t leaf = NW_RV_PTE_U | NW_RV_PTE_A | NW_RV_PTE_D | (uint64_t)pbmt << NW_RV_PTE_PBMT_SHIFT;

	if (flags & NW_REGION_READ)
		leaf |= NW_RV_PTE_R;
	if (flags & NW_REGION_WRITE)
		leaf |= NW_RV_PTE_W;
	if (flags & NW_REGION_EXEC)
		leaf |= NW_RV_PTE_X;
	return leaf;
}

nw_status_t nw_aspace_s2_map(struct nw_aspace *as, nw_gpa_t gpa, nw_hpa_t hpa, uint64_t size, uint32_t flags)
{
	if (is_none(as))
		return gpa.val == hpa.val ? NW_OK : NW_ERR_NEEDS_STAGE2; /* nothing to map: GPA = HPA */
	if (is_arm64(as))
		return nw_arm64_s2_map_region(&as->arm64, gpa, hpa, size, arm64_leaf_flags(flags), 0);
	if (is_riscv(as))
		return nw_rv_gstage_map_region(&as->riscv, gpa, hpa, size,
					       riscv_leaf_flags(flags, as->config.riscv.pbmte), 0);
	if (is_npt(as))
		return size == NW_PAGE_SIZE ? nw_npt_map(&as->npt, gpa, hpa, size, npt_leaf_flags(flags), 0, 0)
					    : nw_npt_map_region(&as->npt, gpa, hpa, size, npt_leaf_flags(flags), 0);
	if (size == NW_PAGE_SIZE)
		return nw_ept_map(&as->ept, gpa, hpa, size, ept_leaf_flags(flags, as->config.mode_based_execute), 0, 0);
	return nw_ept_map_region(&as->ept, gpa, hpa, size, ept_leaf_flags(flags, as->config.mode_based_execute), 0);
}

nw_status_t nw_aspace_s2_none_translate(const struct nw_aspace *as, nw_gpa_t gpa, nw_hpa_t *hpa)
{
	if (!nw_aspace_find_region(as, gpa))
		return NW_ERR_NOT_FOUND;
	*hpa = nw_hpa(gpa.val);
	return NW_OK;
}

nw_status_t nw_aspace_s2_unmap(struct nw_aspace *as, nw_gpa_t gpa, uint64_t size)
{
	if (is_none(as))
		return NW_OK;
	if (is_arm64(as))
		return nw_arm64_s2_unmap(&as->arm64, gpa, size, 0);
	if (is_riscv(as))
		return nw_rv_gstage_unmap(&as->riscv, gpa, size, 0);
	if (is_npt(as))
		return nw_npt_unmap(&as->npt, gpa, size, 0);
	return nw_ept_unmap(&as->ept, gpa, size, 0);
}

nw_status_t nw_aspace_edit_entry(struct nw_aspace *as, nw_gpa_t gpa, int level, uint64_t clear, uint64_t set)
{
	uint64_t old;

	if (is_none(as))
		return NW_ERR_NOT_FOUND; /* no second-stage entry anywhere */
	if (is_arm64(as))
		return nw_arm64_s2_edit(&as->arm64, gpa, level, clear, set, &old, 0);
	if (is_riscv(as))
		return nw_rv_gstage_edit(&as->riscv, gpa, level, clear, set, &old, 0);
	if (is_npt(as))
		return nw_npt_edit(&as->npt, gpa, level, clear, set, &old, 0);
	return nw_ept_edit(&as->ept, gpa, level, clear, set, &old, 0);
}

struct visit_ctx {
	struct nw_s2_view view;
	uint32_t rights; /* what the configuration grants at all */
	void (*visit)(void *ctx, const struct nw_aspace_mapping *mapping);
	void *ctx;
};

/* A present leaf with the rights it grants and its memory type, as the translate decodes them (stage2_rules.h). */
static void visit_entry(void *opaque, int level, uint64_t table, unsigned index, uint64_t va, uint64_t entry)
{
	const struct visit_ctx *vc = opaque;
	const struct nw_s2_rules *rules = vc->view.rules;
	const struct nw_pt_format *fmt = vc->view.pt->fmt;
	struct nw_aspace_mapping m = { .gpa = nw_gpa(va), .level = level, .entry = entry };

	(void)table;
	(void)index;
	if (nw_pt_is_link(fmt, level, entry) || !rules->is_present(vc->view.config, level, entry))
		return;
	m.rights = nw_s2_path_rights(&rules->decode, entry, entry) & vc->rights;
	m.memory_type = nw_s2_memory_type(rules, fmt, level, entry);
	m.hpa = nw_hpa(nw_pt_leaf_addr(fmt, level, entry));
	m.size = nw_pt_level_size(fmt, level);
	vc->visit(vc->ctx, &m);
}

void nw_aspace_visit_mappings(const struct nw_aspace *as,
			      void (*visit)(void *ctx, const struct nw_aspace_mapping *mapping), void *ctx)
{
	struct visit_ctx vc = { .visit = visit, .ctx = ctx };

	if (!nw_s2_view_of(&as->s2, &vc.view))
		return;
	vc.rights = vc.view.rules->caps(vc.view.config).rights;
	nw_pt_visit(vc.view.pt, visit_entry, &vc);
}
