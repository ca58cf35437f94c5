/* The instructions the recorder decodes (decode.h). */
#include <stdbool.h>

#include "decode.h"

/* Legacy prefixes (SDM Vol. 2A §2.1.1): lock, repeat, segment overrides, operand and address size. */
static bool is_legacy_prefix(uint8_t b)
{
	return b == 0xf0 || b == 0xf2 || b == 0xf3 || b == 0x2e || b == 0x36 || b == 0x3e || b == 0x26 ||
	       b == 0x64 || b == 0x65 || b == 0x66 || b == 0x67;
}

/* A REX prefix (§2.2.1): 40..4F right before the opcode. Outside 64-bit mode these bytes are INC and DEC, each
 * an instruction of its own, so inside one whole instruction's bytes before an opcode they are REX. */
static bool is_rex(uint8_t b)
{
	return (b & 0xf0) == 0x40;
}

#define MODRM_REG(m) (((m) >> 3) & 7)
#define MODRM_MOD(m) ((m) >> 6)
#define REX_R 0x4

/* The one-byte opcodes that may lower the privilege level (Table A-2) are IRET (CF) and far RET (CA, CB). Far JMP and
 * CALL, INT n and events keep or raise it but through a task switch (privilege.h). */
static bool is_far_return(uint8_t op)
{
	return op == 0xca || op == 0xcb;
}

/* 0F opcodes that may lower it: SYSRET (0F 07), SYSEXIT (0F 35), and the VM entries VMLAUNCH, VMRESUME (0F 01 C2,
 * C3) and VMRUN (0F 01 D8). RSM returns to the privilege the SMI interrupted, which the recorder kept (privilege.h). */
static bool two_byte_leaves(const uint8_t *op, size_t left)
{
	if (op[1] == 0x07 || op[1] == 0x35)
		return true;
	return op[1] == 0x01 && left >= 3 && (op[2] == 0xc2 || op[2] == 0xc3 || op[2] == 0xd8);
}

struct nw_recorder_insn nw_recorder_insn_decode(const uint8_t *bytes, size_t len)
{
	struct nw_recorder_insn out = { .kind = NW_INSN_OTHER };
	bool opsize = false;
	uint8_t rex = 0;
	size_t i = 0;

	for (; i < len && is_legacy_prefix(bytes[i]); i++)
		opsize |= bytes[i] == 0x66;
	if (i < len && is_rex(bytes[i]))
		rex = bytes[i++];
	if (i < len && is_far_return(bytes[i]))
		out.kind = NW_INSN_RETURN;
	if (i < len && bytes[i] == 0xcf)
		out.kind = NW_INSN_IRET;
	if (len - i < 2 || bytes[i] != 0x0f)
		return out;
	if (two_byte_leaves(bytes + i, len - i)) {
		out.kind = NW_INSN_LEAVES;
		return out;
	}
	switch (bytes[i + 1]) {
	case 0x22:
		if (len - i >= 3) {
			out.kind = NW_INSN_MOV_CR;
			out.cr = MODRM_REG(bytes[i + 2]) + ((rex & REX_R) ? 8u : 0u);
		}
		break;
	case 0x30:
		out.kind = NW_INSN_WRMSR;
		break;
	case 0x06:
		out.kind = NW_INSN_CLTS;
		break;
	case 0x01:
		/* Group 7 (Table A-6): /6 LMSW (register or memory), /7 INVLPG with a memory operand (mod 11 is
		 * SWAPGS or RDTSCP). */
		if (len - i >= 3 && MODRM_REG(bytes[i + 2]) == 6)
			out.kind = NW_INSN_LMSW;
		else if (len - i >= 3 && MODRM_REG(bytes[i + 2]) == 7 && MODRM_MOD(bytes[i + 2]) != 3)
			out.kind = NW_INSN_INVLPG;
		break;
	case 0x38:
		if (opsize && len - i >= 3 && bytes[i + 2] == 0x82)
			out.kind = NW_INSN_INVPCID;
		break;
	default:
		break;
	}
	return out;
}
