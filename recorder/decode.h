/* The instructions the recorder must see among a block's: the 7.2 plugin
 * interface reads no register, so the plugin finds from each instruction's
 * bytes (qemu_plugin_insn_data) those that may write CR0, CR3, CR4 or EFER,
 * whose result QEMU's own log then gives (cpu_log.h), and those that
 * invalidate TLB entries, and those after which the privilege level may be
 * lower than before (privilege.h). Encodings from the SDM Vol. 2 opcode tables. */
#ifndef NESTWALK_RECORDER_DECODE_H
#define NESTWALK_RECORDER_DECODE_H

#include <stddef.h>
#include <stdint.h>

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

struct nw_recorder_insn {
	enum nw_recorder_insn_kind kind;
	unsigned cr; /* NW_INSN_MOV_CR: the control register written */
};

/* What the len bytes of one whole instruction are, as far as the recorder cares. */
struct nw_recorder_insn nw_recorder_insn_decode(const uint8_t *bytes, size_t len);

/* Whether the instruction may change CR0, CR3, CR4 or EFER. */
static inline int nw_recorder_insn_writes_regs(const struct nw_recorder_insn *insn)
{
	return insn->kind >= NW_INSN_MOV_CR && insn->kind <= NW_INSN_LMSW;
}

#endif
