/* A scenario's CPU model against what the scenario uses (scenario_checks.h). */
#include "scenario/scenario_checks.h"
#include "scenario/scenario_guest.h"

/* Where to point at: the key itself, else the cpu.features that took the feature away, else the top. */
static struct nw_scenario_pos at(const struct nw_scenario *sc, struct nw_scenario_pos key)
{
	if (key.line)
		return key;
	if (sc->features_pos.line)
		return sc->features_pos;
	return (struct nw_scenario_pos){ 1, 1 };
}

static int lacks(const struct nw_scenario *sc, enum nw_cpu_feature feature, struct nw_scenario_pos pos,
		 const char *what, char *err, size_t errlen)
{
	if (sc->features.has[feature])
		return 0;
	return nw_scenario_fail(sc, at(sc, pos), err, errlen, "%s, and the CPU model (cpu.features: %s%s) has no %s",
				what, sc->features.preset, sc->features.overridden ? ", with overrides" : "",
				nw_cpu_feature_names[feature]);
}

/* A region with execute but not read becomes execute-only EPT leaves, a misconfiguration unless the processor
 * supports execute-only translations (SDM Vol. 3C §29.3.3.1; IA32_VMX_EPT_VPID_CAP bit 0). */
static int check_exec_only_regions(const struct nw_scenario *sc, char *err, size_t errlen)
{
	for (size_t i = 0; i < sc->region_count; i++) {
		uint32_t flags = sc->regions[i].region.flags;

		if ((flags & NW_REGION_EXEC) && !(flags & NW_REGION_READ) &&
		    lacks(sc, NW_FEATURE_EPT_EXECUTE_ONLY, sc->regions[i].pos,
			  "the region's flags give execute without read (an execute-only EPT page)", err, errlen))
			return -1;
	}
	return 0;
}

/* The second stage the CPU must provide: EPT is VMX's (SDM Vol. 3C §29.3), NPT SVM's (APM Vol. 2 §15.25); a
 * 5-level EPT needs a page-walk length of 5 in IA32_VMX_EPT_VPID_CAP and EPT A/D its bit 21, or VM entry fails
 * (§27.2.1.1, checks on the EPTP); a 5-level nested table is the host's 5-level paging (APM §15.25.5). */
static int check_stage2(const struct nw_scenario *sc, char *err, size_t errlen)
{
	const struct nw_aspace_config *s2 = &sc->stage2;
	struct nw_scenario_pos format = sc->format_pos.line ? sc->format_pos : sc->stage2_pos;

	if (sc->memory_dump)
		return 0; /* a dump has no second stage (replay_machine.c refuses a stage2 section beside one) */
	if (s2->format == NW_STAGE2_EPT)
		return lacks(sc, NW_FEATURE_EPT, format, "the second stage is EPT (stage2.format: ept, the default)",
			     err, errlen) ||
		       (s2->levels == 5 && lacks(sc, NW_FEATURE_EPT_5LEVEL, sc->levels_pos, "stage2.levels is 5", err,
						 errlen)) ||
		       (s2->accessed_dirty && lacks(sc, NW_FEATURE_EPT_ACCESSED_DIRTY, sc->ad_pos,
						    "stage2.accessed_dirty is true", err, errlen)) ||
		       (s2->mode_based_execute && lacks(sc, NW_FEATURE_MODE_BASED_EXECUTE, sc->mbec_pos,
							"stage2.mode_based_execute is true", err, errlen)) ||
		       check_exec_only_regions(sc, err, errlen)
			       ? -1
			       : 0;
	/* The control is VMX's: nested paging has no user-execute right (APM Vol. 2 §15.25.5). */
	if (s2->mode_based_execute)
		return nw_scenario_fail(sc, sc->mbec_pos, err, errlen,
					"mode_based_execute: the mode-based execute control is EPT's (VMX), not %s's",
					s2->format == NW_STAGE2_NPT ? "NPT" : "format none");
	if (s2->format == NW_STAGE2_NPT)
		return lacks(sc, NW_FEATURE_NPT, format, "the second stage is NPT (stage2.format: npt)", err, errlen) ||
		       (s2->levels == 5 && lacks(sc, NW_FEATURE_LA57, sc->levels_pos, "stage2.levels is 5", err,
						 errlen))
			       ? -1
			       : 0;
	return 0;
}

/* Without a second stage the section's table options have nothing to apply to. */
static int check_no_stage2(const struct nw_scenario *sc, char *err, size_t errlen)
{
	static const char *const why = "has no meaning with stage2.format none (no second-stage table)";
	const struct nw_scenario_pos *given[] = { &sc->levels_pos, &sc->ad_pos, &sc->memory_type_pos };
	static const char *const names[] = { "levels", "accessed_dirty", "memory_type" };

	if (sc->stage2.format != NW_STAGE2_NONE)
		return 0;
	for (unsigned i = 0; i < 3; i++)
		if (given[i]->line)
			return nw_scenario_fail(sc, *given[i], err, errlen, "%s %s", names[i], why);
	if (sc->edit_count)
		return nw_scenario_fail(sc, sc->edits[0].pos, err, errlen, "an edit of a second-stage entry %s", why);
	for (size_t i = 0; i < sc->region_count; i++) {
		const struct nw_scenario_region *item = &sc->regions[i];

		/* An MMIO access and a ROM write exit through a second-stage fault (SDM Vol. 3C §29.3.3.2, APM Vol. 2
		 * §15.25.6): with none there is no exit to give. */
		if (item->region.type == NW_REGION_MMIO || item->region.type == NW_REGION_ROM)
			return nw_scenario_fail(sc, item->pos, err, errlen, "%s region: needs a second stage to exit "
						"through: with stage2.format none every region is host memory at its own "
						"address (identical, or alloc)",
						item->region.type == NW_REGION_MMIO ? "mmio" : "rom");
		/* A lazy page is populated on its first second-stage fault, which never comes. */
		if (item->region.lazy)
			return nw_scenario_fail(sc, item->pos, err, errlen, "lazy: a page is populated on a second-stage "
						"fault, and with stage2.format none there is none (an alloc region is the "
						"host range at its own address, backed on touch): drop lazy");
	}
	return 0;
}

/* CR4 bits of features the processor lacks are reserved: setting one is #GP (SDM Vol. 3A §2.5, Vol. 2B MOV to
 * control registers): LA57 (5-level paging), PKE (PKU), PKS. */
static int check_guest(const struct nw_scenario *sc, char *err, size_t errlen)
{
	struct nw_cpu cpu = sc->cpu;
	struct nw_scenario_pos cr4 = sc->cr4_pos;

	if (sc->has_mode) {
		nw_cpu_set_mode(&cpu, (enum nw_paging_mode)sc->mode);
		if (sc->mode == NW_PAGING_5LEVEL)
			cr4 = sc->mode_pos;
	}
	if ((cpu.cr4 & NW_CR4_LA57) &&
	    lacks(sc, NW_FEATURE_LA57, cr4, "the guest uses 5-level paging (CR4.LA57)", err, errlen))
		return -1;
	if ((cpu.cr4 & NW_CR4_PKE) && lacks(sc, NW_FEATURE_PKU, sc->cr4_pos, "cpu.cr4 sets PKE", err, errlen))
		return -1;
	if ((cpu.cr4 & NW_CR4_PKS) && lacks(sc, NW_FEATURE_PKS, sc->cr4_pos, "cpu.cr4 sets PKS", err, errlen))
		return -1;
	return 0;
}

int nw_scenario_check_features(const struct nw_scenario *sc, char *err, size_t errlen)
{
	return check_stage2(sc, err, errlen) || check_no_stage2(sc, err, errlen) || check_guest(sc, err, errlen) ? -1
														  : 0;
}
