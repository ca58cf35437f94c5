/* Where a scenario machine's control registers come from (machine_cpu.h). */
#include <stddef.h>
#include <stdio.h>

#include "scenario/machine_cpu.h"

static const unsigned gives[NW_REG_COUNT] = {
	[NW_REG_CR0] = NW_SCENARIO_GIVES_CR0, [NW_REG_CR3] = NW_SCENARIO_GIVES_CR3,
	[NW_REG_CR4] = NW_SCENARIO_GIVES_CR4, [NW_REG_EFER] = NW_SCENARIO_GIVES_EFER,
};

const char *nw_reg_name(enum nw_reg reg)
{
	static const char *const names[NW_REG_COUNT] = { "cr0", "cr3", "cr4", "efer" };

	return reg < NW_REG_COUNT ? names[reg] : "unknown";
}

/* Where each register lives in struct nw_cpu. */
static const size_t reg_offsets[NW_REG_COUNT] = {
	[NW_REG_CR0] = offsetof(struct nw_cpu, cr0), [NW_REG_CR3] = offsetof(struct nw_cpu, cr3),
	[NW_REG_CR4] = offsetof(struct nw_cpu, cr4), [NW_REG_EFER] = offsetof(struct nw_cpu, efer),
};

uint64_t nw_reg_value(const struct nw_cpu *cpu, enum nw_reg reg)
{
	return reg < NW_REG_COUNT ? *(const uint64_t *)((const char *)cpu + reg_offsets[reg]) : 0;
}

static void reg_set(struct nw_cpu *cpu, enum nw_reg reg, uint64_t value)
{
	*(uint64_t *)((char *)cpu + reg_offsets[reg]) = value;
}

const char *nw_reg_source_name(enum nw_reg_source source)
{
	switch (source) {
	case NW_REG_FROM_DEFAULT: return "default";
	case NW_REG_FROM_SCENARIO: return "scenario";
	case NW_REG_FROM_DUMP: return "dump";
	case NW_REG_FROM_DERIVED: return "derived";
	}
	return "unknown";
}

void nw_machine_cpu_of_vm(const struct nw_scenario *sc, const struct nw_cpu *cpu, struct nw_machine_cpu *out)
{
	/* A register the cpu section leaves out starts at 0: any bit it has, cpu.mode or the built guest tables
	 * (CR3) put there. */
	for (unsigned r = 0; r < NW_REG_COUNT; r++)
		out->from[r] = (sc->cpu_given & gives[r]) || nw_reg_value(cpu, (enum nw_reg)r) ? NW_REG_FROM_SCENARIO
												 : NW_REG_FROM_DEFAULT;
}

/* A 64-bit code segment runs only in IA-32e mode (SDM Vol. 3A, "Code Segment Descriptor in 64-bit Mode"): with
 * paging and PAE on, CS.L=1 means EFER.LMA=1, which the CPU sets only with LME=1 (§4.1.1). */
static bool dump_is_ia32e(const struct nw_memdump *dump, const struct nw_cpu *cpu)
{
	return dump->has_cpu && (dump->cs_flags & NW_MEMDUMP_CS_L) && (cpu->cr0 & NW_CR0_PG) && (cpu->cr4 & NW_CR4_PAE);
}

void nw_machine_cpu_of_dump(const struct nw_scenario *sc, const struct nw_memdump *dump, struct nw_cpu *cpu,
			    struct nw_machine_cpu *out)
{
	static const unsigned note_index[NW_REG_COUNT - 1] = { 0, 3, 4 }; /* cr[] of QEMUCPUState */

	*cpu = sc->cpu;
	for (unsigned r = 0; r < NW_REG_COUNT; r++) {
		out->from[r] = sc->cpu_given & gives[r] ? NW_REG_FROM_SCENARIO : NW_REG_FROM_DEFAULT;
		if (r != NW_REG_EFER && out->from[r] == NW_REG_FROM_DEFAULT && dump->has_cpu) {
			reg_set(cpu, (enum nw_reg)r, dump->cr[note_index[r]]);
			out->from[r] = NW_REG_FROM_DUMP;
		}
	}
	if (out->from[NW_REG_EFER] == NW_REG_FROM_DEFAULT && !sc->has_mode && dump_is_ia32e(dump, cpu)) {
		cpu->efer |= NW_EFER_LME | NW_EFER_LMA;
		out->from[NW_REG_EFER] = NW_REG_FROM_DERIVED;
	}
	if (sc->has_mode) {
		uint64_t before[NW_REG_COUNT];

		for (unsigned r = 0; r < NW_REG_COUNT; r++)
			before[r] = nw_reg_value(cpu, (enum nw_reg)r);
		nw_cpu_set_mode(cpu, (enum nw_paging_mode)sc->mode);
		for (unsigned r = 0; r < NW_REG_COUNT; r++)
			if (nw_reg_value(cpu, (enum nw_reg)r) != before[r])
				out->from[r] = NW_REG_FROM_SCENARIO;
	}
}

void nw_machine_cpu_warn(const struct nw_scenario *sc, const struct nw_memdump *dump, const struct nw_cpu *cpu,
			 const struct nw_machine_cpu *regs)
{
	enum nw_paging_mode mode = nw_cpu_paging_mode(cpu);

	if (dump && !dump->has_cpu)
		for (unsigned r = NW_REG_CR0; r < NW_REG_EFER; r++)
			if (regs->from[r] == NW_REG_FROM_DEFAULT)
				fprintf(stderr, "nestwalk: warning: %s: the dump has no QEMU CPU note and cpu.%s is not "
						"given: taken as 0\n", sc->file, nw_reg_name((enum nw_reg)r));
	if (sc->cpu_given & NW_SCENARIO_GIVES_EFER)
		return;
	/* EFER left to a default: LME/LMA decide between PAE and IA-32e paging, NXE whether bit 63 of an entry is XD
	 * or reserved (SDM Vol. 3A §4.1.1, Table 4-1; §4.4, §4.5). */
	if (dump && mode == NW_PAGING_PAE && !sc->has_mode)
		fprintf(stderr, "nestwalk: warning: %s: cpu.efer is not given and the dump's CS.L is 0: taken as PAE "
				"paging (EFER.LME=0); a guest in IA-32e compatibility mode needs cpu.efer or cpu.mode\n",
			sc->file);
	if (mode == NW_PAGING_PAE || mode == NW_PAGING_4LEVEL || mode == NW_PAGING_5LEVEL)
		fprintf(stderr, "nestwalk: warning: %s: cpu.efer is not given: EFER.NXE taken as 0, so bit 63 (XD) of a "
				"paging entry is a reserved bit (walks through it fault, mappings leaves it out); give "
				"cpu.efer\n", sc->file);
}
