/* RISC-V VS-stage: vsatp read as the hart holds it, and the Sv39/Sv48/Sv57
 * geometry the walk indexes with (riscv_vs_formats.h). */
#include <nestwalk/riscv_vs.h>

#include "riscv_vs_formats.h"

#define ASID_MAX_BITS 16 /* ASIDMAX for Sv39, Sv48 and Sv57 */

const struct nw_pt_format *nw_rv_vs_format(unsigned mode)
{
	switch (mode) {
	case NW_RV_SATP_SV39:
		return &nw_rv_vs_fmt_sv39;
	case NW_RV_SATP_SV48:
		return &nw_rv_vs_fmt_sv48;
	case NW_RV_SATP_SV57:
		return &nw_rv_vs_fmt_sv57;
	default:
		return 0;
	}
}

struct nw_rv_vs_caps nw_rv_vs_caps_all(void)
{
	return (struct nw_rv_vs_caps){ .sv39 = true, .sv48 = true, .sv57 = true, .asid_bits = ASID_MAX_BITS,
				       .svadu = true, .svpbmt = true, .svnapot = true };
}

static bool mode_supported(const struct nw_rv_vs_caps *caps, unsigned mode)
{
	return (mode == NW_RV_SATP_SV39 && caps->sv39) || (mode == NW_RV_SATP_SV48 && caps->sv48) ||
	       (mode == NW_RV_SATP_SV57 && caps->sv57);
}

nw_status_t nw_rv_vsatp_decode(uint64_t value, const struct nw_rv_vs_caps *caps, struct nw_rv_vsatp *vsatp)
{
	unsigned mode = (unsigned)(value >> NW_RV_SATP_MODE_SHIFT);

	*vsatp = (struct nw_rv_vsatp){ .mode = mode,
				       .asid = (unsigned)((value >> NW_RV_SATP_ASID_SHIFT) & NW_RV_SATP_ASID_MASK),
				       .root = (value & NW_RV_SATP_PPN_MASK) << 12 };
	/* Bare: "software must write zero to the remaining fields" (else their effect is UNSPECIFIED). */
	if (mode == NW_RV_SATP_BARE)
		return value == 0 ? NW_OK : NW_ERR_INVALID;
	if (!nw_rv_vs_format(mode))
		return NW_ERR_INVALID;
	if (!mode_supported(caps, mode))
		return NW_ERR_UNSUPPORTED;
	return (vsatp->asid >> caps->asid_bits) ? NW_ERR_RANGE : NW_OK;
}
