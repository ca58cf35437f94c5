/* The instructions the recorder must see among a block's: the 7.2 plugin
 * interface reads no register, so the plugin finds from each instruction's
 * bytes (qemu_plugin_insn_data) those that may write CR0, CR3, CR4 or EFER,
 * whose result QEMU's own log then gives (cpu_log.h), and those that
 * invalidate TLB entries, and those after which the privilege level may be
 * lower than before (privilege.h). Encodings from the SDM Vol. 2 opcode tables. */
#ifndef NESTWALK_RECORDER_DECODE_H
#define NESTWALK_RECORDER_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cpu_log.h"

enum nw_recorder_insn_kind {
	NW_INSN_OTHER = 0,
	NW_INSN_MOV_CR,  /* 0F 22 /r: MOV to CRn, n = ModRM.reg (+8 with REX.R) */
	NW_INSN_WRMSR,   /* 0F 30: writes EFER when ECX is 0xC0000080, which the bytes do not tell */
	NW_INSN_CLTS,    /* 0F 06: clears CR0.TS */
	NW_INSN_LMSW,    /* 0F 01 /6: loads CR0's low four bits */
	NW_INSN_INVLPG,  /* 0F 01 /7, memory operand */
	NW_INSN_INVPCID, /* 66 0F 38 82 /r */
	NW_INSN_RETURN,  /* far RET: to the privilege of the CS it pops */
	NW_INSN_IRET,    /* IRET: likewise, or to virtual-8086 mode with the EFLAGS it pops */
	NW_INSN_LEAVES,  /* may leave supervisor mode otherwise: SYSRET, SYSEXIT, VM entries */
};

/* A memory operand as 64-bit mode computes it (SDM Vol. 2A §2.1.5, Tables 2-2 and 2-3; §2.2.1.3-2.2.1.6):
 * base + index * scale + displacement, from RIP (the next instruction's) instead of a base register when
 * rip_relative, truncated to 32 bits with an address-size prefix, plus the FS or GS base with their override (the
 * other segments' bases are 0 in 64-bit mode). */
#define NW_RECORDER_NO_REG (-1)
#define NW_RECORDER_SEG_FS 4
#define NW_RECORDER_SEG_GS 5
struct nw_recorder_mem_operand {
	int base, index; /* register numbers (cpu_log.h), or NW_RECORDER_NO_REG */
	unsigned scale;
	int64_t disp;
	bool rip_relative, addr32;
	int seg;         /* NW_RECORDER_SEG_FS, _GS, or NW_RECORDER_NO_REG */
};

struct nw_recorder_insn {
	enum nw_recorder_insn_kind kind;
	unsigned cr; /* NW_INSN_MOV_CR: the control register written */
	struct nw_recorder_mem_operand mem; /* NW_INSN_INVLPG: the address invalidated, decoded as in 64-bit mode */
};

/* What the len bytes of one whole instruction are, as far as the recorder cares. */
struct nw_recorder_insn nw_recorder_insn_decode(const uint8_t *bytes, size_t len);

/* The linear address of a memory operand in a 64-bit state logged at next_rip, the instruction after it. */
uint64_t nw_recorder_mem_address(const struct nw_recorder_mem_operand *mem, const struct nw_cpu_state *state,
				 uint64_t next_rip);

/* Whether the instruction may change CR0, CR3, CR4 or EFER. */
static inline int nw_recorder_insn_writes_regs(const struct nw_recorder_insn *insn)
{
	return insn->kind >= NW_INSN_MOV_CR && insn->kind <= NW_INSN_LMSW;
}

#endif
