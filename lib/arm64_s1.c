/* AArch64 stage 1 of the EL1&0 regime: TCR_EL1, SCTLR_EL1 and TTBR0/TTBR1_EL1
 * read as the PE reads them (Arm ARM D19 register descriptions, D8.2 input
 * address size and start level), into what the walk (arm64_s1_walk.c) reads. */
#include <nestwalk/arm64_s1.h>

#include "vmsa.h"

#define TSZ_MASK 0x3fu
#define MIN_TSZ 16 /* 48-bit VAs: no FEAT_LVA with the 4 KiB granule */
#define MAX_TSZ 39 /* 25-bit VAs: no FEAT_TTST */
#define TTBR_BADDR_MASK UINT64_C(0x0000fffffffffffe) /* BADDR, bits 47:1 (bit 0 is CnP) */
#define MIN_TABLE_ALIGN 64 /* a first table of under 64 bytes is aligned to 64 (TTBRn_EL1.BADDR) */

struct nw_arm64_s1_caps nw_arm64_s1_caps_all(void)
{
	return (struct nw_arm64_s1_caps){ .pa_bits = 48, .haf = true, .hdbs = true, .hpds = true, .asid16 = true };
}

/* TG0 0b00 and TG1 0b10 are the 4 KiB granule; TG0 0b11 and TG1 0b00 are reserved. */
static nw_status_t check_granule(unsigned which, unsigned tg)
{
	if (tg == (which ? 2u : 0u))
		return NW_OK;
	return tg == (which ? 0u : 3u) ? NW_ERR_INVALID : NW_ERR_UNSUPPORTED;
}

/* D8.2: with the 4 KiB granule each level resolves 9 bits above the 12 of the
 * page; the walk starts at the level whose index holds the top VA bit. */
static int start_level(unsigned va_bits)
{
	unsigned levels = (va_bits - NW_VMSA_GRANULE_BITS + NW_VMSA_STRIDE - 1) / NW_VMSA_STRIDE;

	return 4 - (int)levels;
}

static nw_status_t decode_range(uint64_t tcr, unsigned which, uint64_t ttbr, struct nw_arm64_s1_range *range)
{
	unsigned tsz = (unsigned)(tcr >> (which ? NW_TCR_T1SZ_SHIFT : NW_TCR_T0SZ_SHIFT)) & TSZ_MASK;
	unsigned tg = (unsigned)(tcr >> (which ? NW_TCR_TG1_SHIFT : NW_TCR_TG0_SHIFT)) & 3;
	uint64_t bytes, align;
	nw_status_t status;

	*range = (struct nw_arm64_s1_range){
		.walks = !(tcr & (which ? NW_TCR_EPD1 : NW_TCR_EPD0)),
		.tbi = (tcr & (which ? NW_TCR_TBI1 : NW_TCR_TBI0)) != 0,
		.hpd = (tcr & (which ? NW_TCR_HPD1 : NW_TCR_HPD0)) != 0,
	};
	if (!range->walks)
		return NW_OK; /* no walk: its size and granule are never read */
	status = check_granule(which, tg);
	if (status != NW_OK)
		return status;
	if (tsz < MIN_TSZ || tsz > MAX_TSZ)
		return NW_ERR_UNSUPPORTED;
	range->va_bits = 64 - tsz;
	range->start_level = start_level(range->va_bits);
	nw_vmsa_format(&range->format, which ? "AArch64 stage 1 (TTBR1)" : "AArch64 stage 1 (TTBR0)", range->va_bits,
		       range->start_level);
	bytes = (uint64_t)range->format.level[range->format.top].entries * 8;
	align = bytes < MIN_TABLE_ALIGN ? MIN_TABLE_ALIGN : bytes;
	range->table = ttbr & TTBR_BADDR_MASK & ~(align - 1);
	return NW_OK;
}

/* Features the PE must have for the controls the registers set. */
static nw_status_t check_features(const struct nw_arm64_el1_regs *regs, const struct nw_arm64_s1_caps *caps)
{
	uint64_t tcr = regs->tcr;

	if ((tcr & NW_TCR_UNMODELLED) || (regs->sctlr & NW_SCTLR_EPAN))
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
		/* An IPS above the implemented PA size is treated as the PA size. */
		.ps_bits = ips > caps->pa_bits ? caps->pa_bits : ips,
		.ha = (tcr & NW_TCR_HA) != 0,
		.hd = (tcr & NW_TCR_HD) != 0,
		.asid = (unsigned)(((tcr & NW_TCR_A1) ? regs->ttbr1 : regs->ttbr0) >> NW_TTBR_ASID_SHIFT) &
			((tcr & NW_TCR_AS) ? 0xffffu : 0xffu),
		.caps = *caps,
	};
	status = decode_range(tcr, 0, regs->ttbr0, &s1->range[0]);
	return status != NW_OK ? status : decode_range(tcr, 1, regs->ttbr1, &s1->range[1]);
}
