/* The guest CPU state of a scenario's machine: each control register from the
 * scenario's cpu section, a memory dump's QEMU CPU note, or nowhere (0), and
 * which, so that --explain and --json can say where a value came from. What
 * neither can say is assumed aloud: a warning on stderr names the assumption. */
#ifndef NESTWALK_SIM_MACHINE_CPU_H
#define NESTWALK_SIM_MACHINE_CPU_H

#include <nestwalk/cpu.h>

#include "scenario/memdump.h"
#include "scenario/scenario.h"

enum nw_reg_source {
	NW_REG_FROM_DEFAULT = 0, /* given nowhere: 0 */
	NW_REG_FROM_SCENARIO,    /* the scenario: its cpu section, or bits cpu.mode or guest.mappings set */
	NW_REG_FROM_DUMP,        /* the dump's QEMU CPU note */
	NW_REG_FROM_DERIVED,     /* EFER.LME/LMA implied by the dump's CS.L (NW_MEMDUMP_CS_L) */
};

enum nw_reg { NW_REG_CR0, NW_REG_CR3, NW_REG_CR4, NW_REG_EFER, NW_REG_COUNT };

struct nw_machine_cpu {
	enum nw_reg_source from[NW_REG_COUNT];
};

/* The CPU of a VM the scenario built (mode and guest tables applied): where each register came from. */
void nw_machine_cpu_of_vm(const struct nw_scenario *sc, const struct nw_cpu *cpu, struct nw_machine_cpu *out);
/* The CPU of a dump scenario: the scenario's registers, then the note's for those it leaves out, EFER.LME/LMA
 * from CS.L when the scenario gives neither EFER nor a mode, then cpu.mode. */
void nw_machine_cpu_of_dump(const struct nw_scenario *sc, const struct nw_memdump *dump, struct nw_cpu *cpu,
			    struct nw_machine_cpu *out);
/* Warns on stderr of every assumption in cpu (registers neither the scenario nor the dump gave that decide the
 * translation). */
void nw_machine_cpu_warn(const struct nw_scenario *sc, const struct nw_memdump *dump, const struct nw_cpu *cpu,
			 const struct nw_machine_cpu *regs);

/* "cr0", "cr3", "cr4", "efer"; the register's value in cpu. */
const char *nw_reg_name(enum nw_reg reg);
uint64_t nw_reg_value(const struct nw_cpu *cpu, enum nw_reg reg);
/* "scenario", "dump", "derived", "default". */
const char *nw_reg_source_name(enum nw_reg_source source);

#endif
