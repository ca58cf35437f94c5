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
#define REX_X 0x2
#define REX_B 0x1
#define MODRM_RM(m) ((m) & 7)
#define SIB_SCALE(s) (1u << ((s) >> 6))
#define SIB_INDEX(s) (((s) >> 3) & 7)
#define SIB_BASE(s) ((s) & 7)

static int64_t read_disp(const uint8_t *at, unsigned size)
{
	if (size == 1)
		return (int8_t)at[0];
	return (int32_t)((uint32_t)at[0] | (uint32_t)at[1] << 8 | (uint32_t)at[2] << 16 | (uint32_t)at[3] << 24);
}

/* The memory operand of the ModRM byte at op[0] (mod != 11) with what follows it, left bytes in all; false when
 * they are cut short. 64-bit mode forms: rm 100 brings a SIB byte (index 100 without REX.X: none; base 101 with
 * mod 00: none, a 32-bit displacement), rm 101 with mod 00 is RIP + a 32-bit displacement. */
static bool decode_mem(const uint8_t *op, size_t left, uint8_t rex, struct nw_recorder_mem_operand *mem)
{
	unsigned mod = MODRM_MOD(op[0]), at = 1, disp = mod == 1 ? 1 : mod == 2 ? 4 : 0;

	mem->base = (int)(MODRM_RM(op[0]) | ((rex & REX_B) ? 8u : 0u));
	mem->index = NW_RECORDER_NO_REG;
	mem->scale = 1;
	if (MODRM_RM(op[0]) == 4) {
		if (left < 2)
			return false;
		at = 2;
		mem->scale = SIB_SCALE(op[1]);
		if (SIB_INDEX(op[1]) != 4 || (rex & REX_X))
			mem->index = (int)(SIB_INDEX(op[1]) | ((rex & REX_X) ? 8u : 0u));
		mem->base = (int)(SIB_BASE(op[1]) | ((rex & REX_B) ? 8u : 0u));
		if (SIB_BASE(op[1]) == 5 && mod == 0) {
			mem->base = NW_RECORDER_NO_REG;
			disp = 4;
		}
	} else if (MODRM_RM(op[0]) == 5 && mod == 0) {
		mem->base = NW_RECORDER_NO_REG;
		mem->rip_relative = true;
		disp = 4;
	}
	if (left < at + disp)
		return false;
	mem->disp = disp ? read_disp(op + at, disp) : 0;
	return true;
}

uint64_t nw_recorder_mem_address(const struct nw_recorder_mem_operand *mem, const struct nw_cpu_state *state,
				 uint64_t next_rip)
{
	uint64_t address = (uint64_t)mem->disp;

	if (mem->rip_relative)
		address += next_rip;
	if (mem->base != NW_RECORDER_NO_REG)
		address += state->gpr[mem->base];
	if (mem->index != NW_RECORDER_NO_REG)
		address += state->gpr[mem->index] * mem->scale;
	if (mem->addr32)
		address &= 0xffffffffu;
	if (mem->seg == NW_RECORDER_SEG_FS)
		address += state->fs_base;
	else if (mem->seg == NW_RECORDER_SEG_GS)
		address += state->gs_base;
	return address;
}

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
	struct nw_recorder_insn out = { .kind = NW_INSN_OTHER, .mem = { .seg = NW_RECORDER_NO_REG } };
	bool opsize = false, addr32 = false;
	int seg = NW_RECORDER_NO_REG;
	uint8_t rex = 0;
	size_t i = 0;

	for (; i < len && is_legacy_prefix(bytes[i]); i++) {
		opsize |= bytes[i] == 0x66;
		addr32 |= bytes[i] == 0x67;
		seg = bytes[i] == 0x64 ? NW_RECORDER_SEG_FS : bytes[i] == 0x65 ? NW_RECORDER_SEG_GS : seg;
	}
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
		else if (len - i >= 3 && MODRM_REG(bytes[i + 2]) == 7 && MODRM_MOD(bytes[i + 2]) != 3 &&
			 decode_mem(bytes + i + 2, len - i - 2, rex, &out.mem)) {
			out.kind = NW_INSN_INVLPG;
			out.mem.addr32 = addr32;
			out.mem.seg = seg;
		}
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
