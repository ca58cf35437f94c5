/* The CPU models a scenario can name (cpu_features.h). Each preset's values come from the manuals' feature
 * registers: IA32_VMX_EPT_VPID_CAP (SDM Vol. 3D Appendix A.10), IA32_VMX_PROCBASED_CTLS2 (A.3.3), CPUID leaves
 * 07H, 80000001H, 80000008H (SDM Vol. 2A, CPUID) and 8000000AH (APM Vol. 3, Appendix E), as each part reports
 * them; the two emulators' as the hardware backend's image reads them (hw/DEVIATIONS.md, hw/contract). */
#include <string.h>

#include "scenario/cpu_features.h"

const char *const nw_cpu_feature_names[NW_FEATURE_COUNT] = {
	[NW_FEATURE_EPT] = "ept",
	[NW_FEATURE_EPT_EXECUTE_ONLY] = "ept_execute_only",
	[NW_FEATURE_EPT_5LEVEL] = "ept_5level",
	[NW_FEATURE_EPT_1G_PAGES] = "ept_1g_pages",
	[NW_FEATURE_EPT_ACCESSED_DIRTY] = "ept_accessed_dirty",
	[NW_FEATURE_EPT_ADVANCED_EXIT_INFO] = "ept_advanced_exit_info",
	[NW_FEATURE_MODE_BASED_EXECUTE] = "mode_based_execute",
	[NW_FEATURE_NPT] = "npt",
	[NW_FEATURE_PAGES_1G] = "pages_1g",
	[NW_FEATURE_LA57] = "la57",
	[NW_FEATURE_PKU] = "pku",
	[NW_FEATURE_PKS] = "pks",
};

struct preset {
	const char *name;
	unsigned maxphyaddr;
	unsigned long has; /* 1 << enum nw_cpu_feature */
};

#define F(feature) (1ul << NW_FEATURE_##feature)
#define EPT_SKYLAKE (F(EPT) | F(EPT_EXECUTE_ONLY) | F(EPT_1G_PAGES) | F(EPT_ACCESSED_DIRTY))

static const struct preset presets[] = {
	/* Xeon Scalable 1st generation (Skylake-SP): EPT_VPID_CAP bits 0 (execute-only), 6 (walk length 4), 17
	 * (1 GiB), 21 (A/D) set, 7 (walk length 5) and 22 (advanced exit information) clear; secondary control 22
	 * (mode-based execute) allowed; CPUID.07H:ECX PKU set, LA57 and PKS clear; 80000001H:EDX Page1GB set;
	 * 80000008H:EAX[7:0] = 46. */
	{ "skylake-sp", 46, EPT_SKYLAKE | F(MODE_BASED_EXECUTE) | F(PAGES_1G) | F(PKU) },
	/* Xeon Scalable 3rd generation (Ice Lake-SP): as Skylake-SP plus EPT_VPID_CAP bits 7 (5-level EPT) and 22
	 * (advanced VM-exit information) and CPUID.07H:ECX LA57; PKS (CPUID.07H:ECX[31]) clear, 80000008H:EAX[7:0]
	 * = 46 (the part's physical address width; its 57 bits are linear). */
	{ "icelake-sp", 46,
	  EPT_SKYLAKE | F(EPT_5LEVEL) | F(EPT_ADVANCED_EXIT_INFO) | F(MODE_BASED_EXECUTE) | F(PAGES_1G) | F(LA57) |
		  F(PKU) },
	/* AMD EPYC 9004 (Zen 4): SVM with nested paging (CPUID.8000000AH:EDX[0]), no VMX and so no EPT feature;
	 * CPUID.07H:ECX LA57 and PKU set, PKS clear; 80000001H:EDX Page1GB set; 80000008H:EAX[7:0] = 52. */
	{ "zen4", 52, F(NPT) | F(PAGES_1G) | F(LA57) | F(PKU) },
	/* QEMU 7.2 TCG `-cpu max`, what the hardware backend boots for nested paging: SVM with NPT, no VMX; the
	 * image reports la57=1 pku=1 gbpages=1 (tests/traces/test_hw_qemu.py) and TCG's physical address width
	 * is 40 (the MAXPHYADDR the PSE-36 cases of hw/DEVIATIONS.md run at); PKS is not among what it reports. */
	{ "qemu-max", 40, F(NPT) | F(PAGES_1G) | F(LA57) | F(PKU) },
	/* Bochs 2.7 `corei7_skylake_x`, what the hardware backend boots for EPT: the capabilities its VMX image
	 * takes (vmx_case_caps in hw/contract/ept_case.c: execute-only, 1 GiB, A/D; no 5-level EPT, no advanced
	 * exit information, no mode-based execute control) at MAXPHYADDR 40 (VMX_MAXPHYADDR); a Skylake-X core's
	 * 1 GiB pages and PKU, no LA57, no PKS. */
	{ "bochs-skylake-x", 40, EPT_SKYLAKE | F(PAGES_1G) | F(PKU) },
};

#undef F

struct nw_cpu_features nw_cpu_features_all(void)
{
	struct nw_cpu_features f = { .maxphyaddr = NW_MAXPHYADDR_DEFAULT, .preset = "every feature" };

	for (unsigned i = 0; i < NW_FEATURE_COUNT; i++)
		f.has[i] = true;
	return f;
}

bool nw_cpu_features_preset(const char *name, struct nw_cpu_features *out)
{
	for (size_t p = 0; p < sizeof(presets) / sizeof(presets[0]); p++) {
		if (strcmp(presets[p].name, name))
			continue;
		*out = (struct nw_cpu_features){ .maxphyaddr = presets[p].maxphyaddr, .preset = presets[p].name };
		for (unsigned i = 0; i < NW_FEATURE_COUNT; i++)
			out->has[i] = (presets[p].has >> i) & 1;
		return true;
	}
	return false;
}

const char *nw_cpu_feature_preset_list(void)
{
	return "skylake-sp, icelake-sp, zen4, qemu-max, bochs-skylake-x";
}

void nw_cpu_features_apply(const struct nw_cpu_features *f, struct nw_aspace_config *config, struct nw_cpu *cpu)
{
	config->has_caps = true;
	config->ept_caps = (struct nw_ept_caps){
		.maxphyaddr = f->maxphyaddr,
		.exec_only = f->has[NW_FEATURE_EPT_EXECUTE_ONLY],
		.pages_1g = f->has[NW_FEATURE_EPT_1G_PAGES],
		.five_level = f->has[NW_FEATURE_EPT_5LEVEL],
		.mbec = f->has[NW_FEATURE_MODE_BASED_EXECUTE],
		.ad = f->has[NW_FEATURE_EPT_ACCESSED_DIRTY],
		.advanced_exit_info = f->has[NW_FEATURE_EPT_ADVANCED_EXIT_INFO],
	};
	/* The nested walk takes the host's paging features (APM Vol. 2 §15.25.5); EFER.NXE of the host is set. */
	config->npt_caps = (struct nw_npt_caps){
		.maxphyaddr = f->maxphyaddr,
		.pages_1g = f->has[NW_FEATURE_PAGES_1G],
		.five_level = f->has[NW_FEATURE_LA57],
		.nxe = true,
	};
	config->maxphyaddr = f->maxphyaddr;
	cpu->maxphyaddr = f->maxphyaddr;
	cpu->no_1g_pages = !f->has[NW_FEATURE_PAGES_1G];
}
