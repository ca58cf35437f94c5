/* A scenario's CPU model (cpu.features, scenarios/README.md): which paging and
 * virtualization features the modelled processor has, as a named preset from
 * the manuals' feature tables, individual features, or a preset with
 * overrides. A feature that is absent changes what the library does (the EPT
 * and NPT caps, the guest CPU's MAXPHYADDR and 1 GiB pages) or makes a
 * control-register bit the scenario sets one the processor refuses. */
#ifndef NESTWALK_SIM_CPU_FEATURES_H
#define NESTWALK_SIM_CPU_FEATURES_H

#include <stdbool.h>
#include <stddef.h>

#include <nestwalk/aspace.h>
#include <nestwalk/cpu.h>

/* One flag per feature; the order is nw_cpu_feature_names'. */
enum nw_cpu_feature {
	NW_FEATURE_EPT,                /* VMX with EPT (an Intel part) */
	NW_FEATURE_EPT_EXECUTE_ONLY,   /* IA32_VMX_EPT_VPID_CAP bit 0 */
	NW_FEATURE_EPT_5LEVEL,         /* IA32_VMX_EPT_VPID_CAP bit 7: page-walk length 5 */
	NW_FEATURE_EPT_1G_PAGES,       /* IA32_VMX_EPT_VPID_CAP bit 17 */
	NW_FEATURE_EPT_ACCESSED_DIRTY, /* IA32_VMX_EPT_VPID_CAP bit 21 */
	NW_FEATURE_EPT_ADVANCED_EXIT_INFO, /* IA32_VMX_EPT_VPID_CAP bit 22: qualification bits 9-11 */
	NW_FEATURE_MODE_BASED_EXECUTE, /* IA32_VMX_PROCBASED_CTLS2 allowed-1 bit 22: qualification bit 6 */
	NW_FEATURE_NPT,                /* SVM with nested paging (an AMD part), CPUID.8000000AH:EDX[0] */
	NW_FEATURE_PAGES_1G,           /* CPUID.80000001H:EDX[26] (guest and NPT 1 GiB pages) */
	NW_FEATURE_LA57,               /* CPUID.(EAX=07H,ECX=0):ECX[16] (5-level paging, 5-level NPT) */
	NW_FEATURE_PKU,                /* CPUID.(EAX=07H,ECX=0):ECX[3] */
	NW_FEATURE_PKS,                /* CPUID.(EAX=07H,ECX=0):ECX[31] */
	NW_FEATURE_COUNT,
};

struct nw_cpu_features {
	bool has[NW_FEATURE_COUNT];
	unsigned maxphyaddr; /* CPUID.80000008H:EAX[7:0] */
	const char *preset;  /* the preset named, or "every feature" */
	bool overridden;     /* a mapping changed some of the preset's features */
};

extern const char *const nw_cpu_feature_names[NW_FEATURE_COUNT];

/* Without cpu.features: every feature, MAXPHYADDR 46 (what the library's nw_ept_caps_all and nw_npt_caps_all give,
 * and the default of cpu.maxphyaddr). */
struct nw_cpu_features nw_cpu_features_all(void);
/* The preset called name; false when there is none. */
bool nw_cpu_features_preset(const char *name, struct nw_cpu_features *out);
/* The presets' names, comma-separated, for messages. */
const char *nw_cpu_feature_preset_list(void);

/* The features as the library takes them: the second stage's caps (into config, with has_caps set) and the guest
 * CPU's MAXPHYADDR and 1 GiB pages. */
void nw_cpu_features_apply(const struct nw_cpu_features *f, struct nw_aspace_config *config, struct nw_cpu *cpu);

#endif
