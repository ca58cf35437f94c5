/* What an AArch64 stage-2 fault reports to EL2: ESR_EL2 and HPFAR_EL2 (Arm
 * ARM D19; the ISS encodings for Data Abort and Instruction Abort). */
#include <nestwalk/arm64_s2.h>

#include "stage2_rules.h"

/* DFSC/IFSC 0b00ttLL: tt 00 address size, 01 translation, 10 access flag, 11 permission; LL the level. */
#define FSC_ADDRESS_SIZE 0x00u
#define FSC_TRANSLATION 0x04u
#define FSC_ACCESS_FLAG 0x08u
#define FSC_PERMISSION 0x0cu
#define FSC_NONE 0xffu

unsigned nw_arm64_fsc(enum nw_s2_fault fault, int arm_level)
{
	unsigned base;

	switch (fault) {
	case NW_S2_FAULT_ADDRESS_SIZE:
		base = FSC_ADDRESS_SIZE;
		break;
	case NW_S2_FAULT_TRANSLATION:
		base = FSC_TRANSLATION;
		break;
	case NW_S2_FAULT_ACCESS_FLAG:
		base = FSC_ACCESS_FLAG;
		break;
	case NW_S2_FAULT_PERMISSION:
		base = FSC_PERMISSION;
		break;
	case NW_S2_FAULT_NONE:
	case NW_S2_FAULT_MISCONFIG:
	case NW_S2_FAULT_ACCESS:
	default:
		return FSC_NONE;
	}
	return base | (unsigned)arm_level;
}

unsigned nw_arm64_s2_fsc(const struct nw_s2_result *s2)
{
	return nw_arm64_fsc(s2->fault, nw_arm64_s2_level(s2->level));
}

/* WnR is RES0 in an Instruction Abort's ISS. In a Data Abort's it is the instruction's direction, on a
 * stage-1 walk too (a descriptor read or a hardware AF/dirty update alike): D24.2.46 ESR_EL2, WnR "Abort
 * caused by an instruction writing to a memory location"; J1.1 AArch64.S2Translate keeps the stage-1
 * FaultRecord whose write is the instruction's (NoFault), and AArch64.S2CheckPermissions leaves it for a
 * walk's access (AccessType_TTW). */
static bool nw_arm64_esr_is_wnr(const struct nw_arm64_s2_access *a)
{
	return a->type == NW_ACCESS_WRITE;
}

uint64_t nw_arm64_s2_esr(const struct nw_s2_result *s2, const struct nw_arm64_s2_access *a)
{
	bool fetch = a->type == NW_ACCESS_FETCH;
	uint64_t esr = (uint64_t)(fetch ? NW_ESR_EC_IABT_LOW : NW_ESR_EC_DABT_LOW) << NW_ESR_EC_SHIFT | NW_ESR_IL;

	esr |= nw_arm64_s2_fsc(s2) & NW_ESR_FSC_MASK;
	if (a->s1ptw)
		esr |= NW_ESR_S1PTW;
	if (nw_arm64_esr_is_wnr(a))
		esr |= NW_ESR_WNR;
	return esr;
}

bool nw_arm64_hpfar(const struct nw_s2_result *s2, nw_gpa_t ipa, const struct nw_arm64_s2_access *a, uint64_t *hpfar)
{
	if (s2->fault == NW_S2_FAULT_NONE || s2->fault == NW_S2_FAULT_MISCONFIG)
		return false;
	if (s2->fault == NW_S2_FAULT_PERMISSION && !a->s1ptw)
		return false;
	*hpfar = ((ipa.val & NW_ARM64_S2_ADDR_MASK) >> 12) << 4;
	return true;
}
