/* AArch64 memory attributes (arm64_memattr.h): the MAIR_EL1 and stage-2
 * MemAttr encodings (Arm ARM D19 MAIR_EL1, D8.5.3 stage 2 MemAttr) and their
 * combination (D8.5.5, the pseudocode's S2CombineS1MemAttrs,
 * S2CombineS1Device, S2CombineS1AttrHints, S2CombineS1Shareability), or with
 * FEAT_S2FWB and HCR_EL2.FWB 1 the stage-2 MemAttr applied to stage 1's
 * (AArch64.S2ApplyFWBMemAttrs). */
#include <nestwalk/arm64_memattr.h>
#include <nestwalk/arm64_s1.h>

#define SH_RESERVED 1u           /* SH 0b01 */
#define NIBBLE_NC 0x4u           /* 0b0100: Normal Non-cacheable */
#define ALLOC_MASK 3u            /* the R and W bits of a Normal nibble */

static struct nw_arm64_memattr unpredictable(void)
{
	return (struct nw_arm64_memattr){ .type = NW_ARM64_MEM_UNPREDICTABLE };
}

static struct nw_arm64_memattr device(unsigned dd)
{
	return (struct nw_arm64_memattr){ .type = (uint8_t)(NW_ARM64_MEM_DEVICE_NGNRNE + dd),
					  .shareability = NW_ARM64_SH_OUTER };
}

/* B2.7.2 (EffectiveShareability): Device memory and Normal memory
 * Non-cacheable at both levels are Outer Shareable whatever SH says. */
static bool is_always_outer_shareable(const struct nw_arm64_memattr *attr)
{
	return attr->type != NW_ARM64_MEM_NORMAL ||
	       (attr->inner.cacheability == NW_ARM64_CACHE_NC && attr->outer.cacheability == NW_ARM64_CACHE_NC);
}

static struct nw_arm64_memattr normal(struct nw_arm64_cache_attr inner, struct nw_arm64_cache_attr outer,
				      unsigned sh)
{
	struct nw_arm64_memattr attr = { .type = NW_ARM64_MEM_NORMAL, .inner = inner, .outer = outer,
					 .shareability = (uint8_t)sh };

	if (sh == SH_RESERVED)
		return unpredictable();
	if (is_always_outer_shareable(&attr))
		attr.shareability = NW_ARM64_SH_OUTER;
	return attr;
}

/* MAIR_EL1 Normal nibble (oooo or iiii, not 0b0000): 0b0100 Non-cacheable;
 * 0b00RW Write-Through transient, 0b01RW Write-Back transient (RW not 0b00);
 * 0b10RW Write-Through, 0b11RW Write-Back non-transient; RW the allocation hints. */
static struct nw_arm64_cache_attr mair_nibble(unsigned nibble)
{
	static const uint8_t kind[4] = { NW_ARM64_CACHE_WT, NW_ARM64_CACHE_WB, NW_ARM64_CACHE_WT, NW_ARM64_CACHE_WB };

	if (nibble == NIBBLE_NC)
		return (struct nw_arm64_cache_attr){ .cacheability = NW_ARM64_CACHE_NC };
	return (struct nw_arm64_cache_attr){ .cacheability = kind[nibble >> 2], .alloc = (uint8_t)(nibble & ALLOC_MASK),
					     .transient = (nibble >> 3) == 0 };
}

struct nw_arm64_memattr nw_arm64_mair_decode(uint64_t mair, unsigned index, unsigned sh)
{
	unsigned byte = (unsigned)(mair >> (8 * (index & 7))) & 0xff, outer = byte >> 4, inner = byte & 0xf;

	/* 0b0000dd00 Device, dd the type; 0b0000ddxx with xx not 0b00 is UNPREDICTABLE (FEAT_XS: not modelled). */
	if (outer == 0)
		return (inner & 3) ? unpredictable() : device(inner >> 2);
	/* 0bxxxx0000: UNPREDICTABLE, or FEAT_MTE2 tagged / FEAT_XS memory, not modelled. */
	if (inner == 0)
		return unpredictable();
	return normal(mair_nibble(inner), mair_nibble(outer), sh);
}

struct nw_arm64_memattr nw_arm64_s1_off_attrs(uint64_t sctlr, bool fetch)
{
	struct nw_arm64_cache_attr wt = { .cacheability = NW_ARM64_CACHE_WT, .alloc = NW_ARM64_ALLOC_R };
	struct nw_arm64_cache_attr nc = { .cacheability = NW_ARM64_CACHE_NC };
	bool icache = (sctlr & NW_SCTLR_I) != 0;

	if (!fetch)
		return device(0);
	return normal(icache ? wt : nc, icache ? wt : nc, NW_ARM64_SH_OUTER);
}

/* D8.5.3: MemAttr[3:2] 0b00 Device, [1:0] the type; else [3:2] the outer and
 * [1:0] the inner cacheability (0b01 NC, 0b10 WT, 0b11 WB), [1:0] 0b00 then
 * reserved. Stage 2 has no allocation hints. */
struct nw_arm64_memattr nw_arm64_s2_attrs(unsigned memattr, unsigned sh)
{
	unsigned outer = (memattr >> 2) & 3, inner = memattr & 3;

	if (outer == 0)
		return device(inner);
	if (inner == 0)
		return unpredictable();
	return normal((struct nw_arm64_cache_attr){ .cacheability = (uint8_t)inner },
		      (struct nw_arm64_cache_attr){ .cacheability = (uint8_t)outer }, sh);
}

/* S2CombineS1AttrHints: Non-cacheable if either stage is, else Write-Through
 * if either is, else Write-Back (the encodings rise in that order); the
 * allocation hints and transience are stage 1's, none for Non-cacheable. */
static struct nw_arm64_cache_attr combine_cache(struct nw_arm64_cache_attr s1, struct nw_arm64_cache_attr s2)
{
	if (s1.cacheability > s2.cacheability)
		s1.cacheability = s2.cacheability;
	if (s1.cacheability == NW_ARM64_CACHE_NC)
		s1.alloc = 0, s1.transient = false;
	return s1;
}

/* S2CombineS1Shareability: Outer if either stage is, else Inner if either is, else Non-shareable. */
static unsigned combine_shareability(unsigned s1, unsigned s2)
{
	if (s1 == NW_ARM64_SH_OUTER || s2 == NW_ARM64_SH_OUTER)
		return NW_ARM64_SH_OUTER;
	if (s1 == NW_ARM64_SH_INNER || s2 == NW_ARM64_SH_INNER)
		return NW_ARM64_SH_INNER;
	return NW_ARM64_SH_NON;
}

static bool is_device(const struct nw_arm64_memattr *attr)
{
	return attr->type >= NW_ARM64_MEM_DEVICE_NGNRNE && attr->type <= NW_ARM64_MEM_DEVICE_GRE;
}

struct nw_arm64_memattr nw_arm64_memattr_combine(const struct nw_arm64_memattr *s1, const struct nw_arm64_memattr *s2)
{
	if (s1->type == NW_ARM64_MEM_UNPREDICTABLE || s2->type == NW_ARM64_MEM_UNPREDICTABLE)
		return unpredictable();
	/* S2CombineS1Device: the more restrictive type, nGnRnE < nGnRE < nGRE < GRE in the enum's order. */
	if (is_device(s1) && is_device(s2))
		return s1->type < s2->type ? *s1 : *s2;
	if (is_device(s1))
		return *s1;
	if (is_device(s2))
		return *s2;
	return normal(combine_cache(s1->inner, s2->inner), combine_cache(s1->outer, s2->outer),
		      combine_shareability(s1->shareability, s2->shareability));
}

/* AArch64.S2ApplyFWBMemAttrs ("Stage 2 memory type and Cacheability attributes when FEAT_S2FWB is enabled"):
 * MemAttr[2] 0: Device of type MemAttr[1:0], the more restrictive with a Device stage 1; MemAttr[1:0] 0b11:
 * stage 1's attributes; 0b10: Normal Write-Back at both levels, keeping stage 1's allocation hints and
 * transience where stage 1 is Normal cacheable at that level (else read- and write-allocate, non-transient);
 * 0b01 and 0b00: Normal Non-cacheable, unless stage 1 is Device (then stage 1's). MemAttr[3] chooses nothing
 * without FEAT_MTE_PERM. The shareability is combined as without FWB, then Device and Non-cacheable are
 * Outer Shareable (EffectiveShareability). */
static struct nw_arm64_memattr fwb_normal(struct nw_arm64_cache_attr inner, struct nw_arm64_cache_attr outer,
					  const struct nw_arm64_memattr *s1, unsigned sh)
{
	if (sh == SH_RESERVED)
		return unpredictable();
	return normal(inner, outer, combine_shareability(s1->shareability, sh));
}

/* Forced Write-Back at one level: stage 1's hints where stage 1 is Normal cacheable there, else RWA. */
static struct nw_arm64_cache_attr forced_wb(const struct nw_arm64_memattr *s1, const struct nw_arm64_cache_attr *level)
{
	struct nw_arm64_cache_attr wb = { .cacheability = NW_ARM64_CACHE_WB,
					  .alloc = NW_ARM64_ALLOC_R | NW_ARM64_ALLOC_W };

	if (s1->type == NW_ARM64_MEM_NORMAL && level->cacheability != NW_ARM64_CACHE_NC) {
		wb.alloc = level->alloc;
		wb.transient = level->transient;
	}
	return wb;
}

struct nw_arm64_memattr nw_arm64_memattr_fwb(const struct nw_arm64_memattr *s1, unsigned memattr, unsigned sh)
{
	struct nw_arm64_cache_attr nc = { .cacheability = NW_ARM64_CACHE_NC };
	struct nw_arm64_memattr s2;

	if (s1->type == NW_ARM64_MEM_UNPREDICTABLE)
		return unpredictable();
	if (!(memattr & 4)) {
		s2 = device(memattr & 3);
		return is_device(s1) && s1->type < s2.type ? *s1 : s2;
	}
	if ((memattr & 3) == 2)
		return fwb_normal(forced_wb(s1, &s1->inner), forced_wb(s1, &s1->outer), s1, sh);
	if (is_device(s1))
		return *s1;
	if ((memattr & 3) == 3)
		return fwb_normal(s1->inner, s1->outer, s1, sh);
	return fwb_normal(nc, nc, s1, sh);
}
