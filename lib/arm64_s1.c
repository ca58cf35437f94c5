/* AArch64 stage 1 of the EL1&0 regime: TCR_EL1, SCTLR_EL1 and TTBR0/TTBR1_EL1
 * read as the PE reads them (Arm ARM D19 register descriptions, D8.2 granule,
 * input address size and start level), into what the walk (arm64_s1_walk.c)
 * reads. */
#include <nestwalk/arm64_s1.h>

#include "vmsa.h"

#define TSZ_MASK 0x3fu
#define TTBR_BADDR_MASK UINT64_C(0x0000fffffffffffe) /* BADDR, bits 47:1 (bit 0 is CnP) */
#define MIN_TABLE_ALIGN 64 /* a first table of under 64 bytes is aligned to 64 (TTBRn_EL1.BADDR) */

struct nw_arm64_s1_caps nw_arm64_s1_caps_all(void)
{
	return (struct nw_arm64_s1_caps){ .pa_bits = 48, .gran16 = true, .gran64 = true, .haf = true, .hdbs = true,
					  .hpds = true, .asid16 = true };
}

/* TG0: 0b00 4 KiB, 0b01 64 KiB, 0b10 16 KiB; TG1: 0b01 16 KiB, 0b10 4 KiB,
 * 0b11 64 KiB; the granule's log2 size, 0 for the reserved TG0 0b11 and TG1 0b00. */
static unsigned granule_bits(unsigned which, unsigned tg)
{
	static const unsigned tg1[4] = { 0, 14, 12, 16 };

	return which ? tg1[tg & 3] : nw_vmsa_tg0_granule_bits(tg);
}

/* ID_AA64MMFR0_EL1.TGran4/16/64: the 4 KiB granule always, the others as the caps say. */
static bool has_granule(const struct nw_arm64_s1_caps *caps, unsigned bits)
{
	return bits == NW_VMSA_GRANULE_BITS || (bits == 14 && caps->gran16) || (bits == 16 && caps->gran64);
}

static nw_status_t decode_range(uint64_t tcr, unsigned which, uint64_t ttbr, const struct nw_arm64_s1_caps *caps,
				struct nw_arm64_s1_range *range)
{
	unsigned tsz = (unsigned)(tcr >> (which ? NW_TCR_T1SZ_SHIFT : NW_TCR_T0SZ_SHIFT)) & TSZ_MASK;
	unsigned granule = granule_bits(which, (unsigned)(tcr >> (which ? NW_TCR_TG1_SHIFT : NW_TCR_TG0_SHIFT)) & 3);
	uint64_t bytes, align;

	*range = (struct nw_arm64_s1_range){
		.walks = !(tcr & (which ? NW_TCR_EPD1 : NW_TCR_EPD0)),
		.tbi = (tcr & (which ? NW_TCR_TBI1 : NW_TCR_TBI0)) != 0,
		.hpd = (tcr & (which ? NW_TCR_HPD1 : NW_TCR_HPD0)) != 0,
	};
	if (!range->walks)
		return NW_OK; /* no walk: its size and granule are never read */
	if (granule == 0)
		return NW_ERR_INVALID;
	/* A granule the PE lacks reads as an IMPLEMENTATION DEFINED other one: not modelled. */
	if (!has_granule(caps, granule) || !nw_vmsa_is_s1_va_size(64 - tsz))
		return NW_ERR_UNSUPPORTED;
	range->granule_bits = granule;
	range->va_bits = 64 - tsz;
	range->start_level = nw_vmsa_start_level(granule, range->va_bits);
	nw_vmsa_format(&range->format, which ? "AArch64 stage 1 (TTBR1)" : "AArch64 stage 1 (TTBR0)", granule,
		       range->va_bits, range->start_level);
	bytes = (uint64_t)range->format.level[range->format.top].entries * 8;
	align = bytes < MIN_TABLE_ALIGN ? MIN_TABLE_ALIGN : bytes;
	range->table = ttbr & TTBR_BADDR_MASK & ~(align - 1);
	return NW_OK;
}

/* Features the PE must have for the controls the registers set. */
static nw_status_t check_features(const struct nw_arm64_el1_regs *regs, const struct nw_arm64_s1_caps *caps)
{
	uint64_t tcr = regs->tcr;

	if ((tcr & NW_TCR_UNMODELLED) || (regs->sctlr & NW_SCTLR_UNMODELLED))
		return NW_ERR_UNSUPPORTED;
	if (((tcr & NW_TCR_HA) && !caps->haf) || ((tcr & NW_TCR_HD) && !(caps->hdbs && (tcr & NW_TCR_HA))))
		return NW_ERR_UNSUPPORTED;
	if (((tcr & (NW_TCR_HPD0 | NW_TCR_HPD1)) && !caps->hpds) || ((tcr & NW_TCR_AS) && !caps->asid16))
		return NW_ERR_UNSUPPORTED;
	return NW_OK;
}

nw_status_t nw_arm64_s1_decode(const struct nw_arm64_el1_regs *regs, const struct nw_arm64_s1_caps *caps,
			       struct nw_arm64_s1 *s1)
{
	uint64_t tcr = regs->tcr;
	unsigned ips = nw_vmsa_pa_size_bits((unsigned)(tcr >> NW_TCR_IPS_SHIFT));
	nw_status_t status = check_features(regs, caps);

	if (status != NW_OK)
		return status;
	if (ips == 0 || !nw_vmsa_is_pa_size(caps->pa_bits))
		return NW_ERR_INVALID;
	*s1 = (struct nw_arm64_s1){
		.enabled = (regs->sctlr & NW_SCTLR_M) != 0,
		.wxn = (regs->sctlr & NW_SCTLR_WXN) != 0,
		.sctlr = regs->sctlr,
		.mair = regs->mair,
		/* An IPS above the implemented PA size is treated as the PA size. */
		.ps_bits = ips > caps->pa_bits ? caps->pa_bits : ips,
		.ha = (tcr & NW_TCR_HA) != 0,
		.hd = (tcr & NW_TCR_HD) != 0,
		.asid = (unsigned)(((tcr & NW_TCR_A1) ? regs->ttbr1 : regs->ttbr0) >> NW_TTBR_ASID_SHIFT) &
			((tcr & NW_TCR_AS) ? 0xffffu : 0xffu),
		.caps = *caps,
	};
	for (unsigned which = 0; which < 2; which++) {
		status = decode_range(tcr, which, which ? regs->ttbr1 : regs->ttbr0, caps, &s1->range[which]);
		/* With M 0 no table is walked (AArch64.S1DisabledOutput reads only TBIn): a range that could not
		 * be walked is no reason to refuse the registers. */
		if (status != NW_OK && s1->enabled)
			return status;
		s1->range[which].walks &= status == NW_OK;
	}
	return NW_OK;
}
