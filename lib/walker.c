/* The fast walker's state: in storage the caller provides, so its layout is
 * not part of the installed ABI, and derived once per configuration and per
 * control-register change. The levels come from the paging mode's format
 * (pt_guest.c) with the reserved bits of walk_rules.h; the per-access tables
 * from perm.c; the second stage's masks from stage2_fast.c. */
#include <nestwalk/assert.h>
#include <nestwalk/paging_rules.h>
#include <nestwalk/pt_build.h>
#include <nestwalk/walk.h>
#include <nestwalk/x86_pte.h>

#include "vmsa.h"
#include "walk_internal.h"
#include "walk_rules.h"
#include "walker.h"

_Static_assert(_Alignof(struct nw_walker) <= NW_WALKER_ALIGN, "storage aligned as walk.h asks is enough");

/* One level of the mode's format under the CPU state: where PS is examined and
 * the reserved bits of its entries with PS=0 and PS=1 (walk_rules.h). */
static struct nw_walk_level_desc level_of(const struct nw_walker *walker, const struct nw_pt_format *fmt, int level,
					  uint64_t addr)
{
	const struct nw_cpu *cpu = &walker->cpu;
	bool register_level = nw_paging_is_pdpte_register(walker->mode, (unsigned)level);
	bool ps_examined = !register_level && nw_rule_is_ps_examined(cpu, walker->mode, (unsigned)level);

	return (struct nw_walk_level_desc){
		.level = (uint8_t)level,
		.pse36 = fmt->pse36 && level == NW_LEVEL_PD,
		.ps = ps_examined ? fmt->ps_bit : 0,
		.rsvd = register_level ? 0 : nw_rule_rsvd_bits(cpu, walker->mode, (unsigned)level, false),
		.rsvd_large = ps_examined ? nw_rule_rsvd_bits(cpu, walker->mode, (unsigned)level, true) : 0,
		.addr_mask = addr,
		.large_addr_mask = addr & ~(nw_pt_level_size(fmt, level) - 1),
	};
}

static void derive_levels(struct nw_walker *walker)
{
	const struct nw_pt_format *fmt = nw_paging_format(walker->mode);
	unsigned n = 0;
	uint64_t addr;

	walker->format = fmt;
	walker->nlevels = 0;
	walker->va_bits = 32;
	walker->xd_mask = 0;
	walker->cr3_mask = 0;
	walker->entry_bytes = 8;
	if (!fmt)
		return; /* paging off */
	addr = fmt->table_addr_mask & ~nw_rule_bits(63, nw_cpu_maxphyaddr(&walker->cpu));
	for (int level = fmt->top; level >= NW_LEVEL_PT; level--)
		walker->levels[n++] = level_of(walker, fmt, level, addr);
	walker->nlevels = n;
	walker->entry_bytes = fmt->entry_size;
	walker->va_bits = (unsigned)__builtin_ctzll(nw_pt_va_limit(fmt));
	walker->xd_mask = nw_rule_is_xd_in_force(&walker->cpu, walker->mode) ? NW_PTE_XD : 0;
	walker->cr3_mask = addr;
}

/* The plain copies are instantiated for 4- and 5-level paging, with and
 * without a second stage. */
static enum nw_walk_plain_copy plain_copy(const struct nw_walker *walker)
{
	bool two_d = walker->s2.kind != NW_STAGE2_NONE;

	if (!two_d && ((uintptr_t)walker->map & (NW_PAGE_SIZE - 1)))
		return NW_PLAIN_OFF; /* the 1-D copies need a page-aligned window */
	if (walker->mode == NW_PAGING_4LEVEL)
		return two_d ? NW_PLAIN_2D_4 : NW_PLAIN_1D_4;
	if (walker->mode == NW_PAGING_5LEVEL)
		return two_d ? NW_PLAIN_2D_5 : NW_PLAIN_1D_5;
	return NW_PLAIN_OFF;
}

void nw_walker_set_cpu(struct nw_walker *walker, const struct nw_cpu *cpu)
{
	NW_ASSERT(!walker->arm64); /* an AArch64 walker takes nw_walker_set_arm64_cpu */
	walker->cpu = *cpu;
	walker->mode = nw_cpu_paging_mode(cpu);
	derive_levels(walker);
	nw_perm_derive(walker);
	walker->plain = plain_copy(walker);
}

size_t nw_walker_size(void)
{
	return sizeof(struct nw_walker);
}

/* What both architectures derive from the configuration: the second stage's
 * masks and the direct-map window. */
static struct nw_walker *walker_start(void *storage, const struct nw_walk_config *config)
{
	struct nw_walker *walker = storage;

	if (!storage || (uintptr_t)storage % NW_WALKER_ALIGN)
		return 0;
	*walker = (struct nw_walker){ .config = *config };
	nw_s2_fast_derive(&config->stage2, &config->window, &walker->s2);
	walker->map = config->window.base ? config->window.base : config->hal->direct_map;
	walker->map_size = walker->map ? (config->window.base ? config->window.size : config->hal->direct_map_size) : 0;
	walker->table_limit = walker->map_size & ~(uint64_t)(NW_PAGE_SIZE - 1);
	walker->table_access = nw_walk_is_table_access_a_write(config, true) ? NW_ACCESS_WRITE : NW_ACCESS_READ;
	return walker;
}

struct nw_walker *nw_walker_init(void *storage, const struct nw_walk_config *config, const struct nw_cpu *cpu)
{
	struct nw_walker *walker;

	if (config->stage2.kind == NW_STAGE2_ARM64 || config->stage2.kind == NW_STAGE2_RISCV ||
	    !(walker = walker_start(storage, config)))
		return 0;
	nw_walker_set_cpu(walker, cpu);
	return walker;
}

/* The plain AArch64 copies: stage 1 on, instantiated for the 48- and 39-bit geometries of the 4 KiB granule
 * (vmsa_formats.h), chosen by the TTBR0 range's (else TTBR1's); an access to a range of another geometry
 * declines, as the walk checks per range. */
static enum nw_walk_plain_copy plain_copy_arm64(const struct nw_walker *walker)
{
	const struct nw_arm64_s1 *s1 = &walker->a64.cpu.s1;
	const struct nw_arm64_s1_range *range = &s1->range[s1->range[0].walks ? 0 : 1];
	bool two_d = walker->s2.kind != NW_STAGE2_NONE;

	if (!s1->enabled || !range->walks || range->granule_bits != NW_VMSA_GRANULE_BITS ||
	    (!two_d && ((uintptr_t)walker->map & (NW_PAGE_SIZE - 1))))
		return NW_PLAIN_OFF;
	if (range->va_bits == 48)
		return two_d ? NW_PLAIN_A64_2D_48 : NW_PLAIN_A64_1D_48;
	if (range->va_bits == 39)
		return two_d ? NW_PLAIN_A64_2D_39 : NW_PLAIN_A64_1D_39;
	return NW_PLAIN_OFF;
}

void nw_walker_set_arm64_cpu(struct nw_walker *walker, const struct nw_arm64_cpu *cpu)
{
	NW_ASSERT(walker->arm64);
	walker->a64.cpu = *cpu;
	for (unsigned index = 0; index < 8; index++)
		for (unsigned sh = 0; sh < 4; sh++)
			walker->a64.s1_attrs[index][sh] = nw_arm64_mair_decode(cpu->s1.mair, index, sh);
	walker->plain = plain_copy_arm64(walker);
}

struct nw_walker *nw_walker_init_arm64(void *storage, const struct nw_walk_config *config,
				       const struct nw_arm64_cpu *cpu)
{
	struct nw_walker *walker;

	if (config->stage2.kind != NW_STAGE2_ARM64 && config->stage2.kind != NW_STAGE2_NONE)
		return 0;
	if (!(walker = walker_start(storage, config)))
		return 0;
	walker->arm64 = true;
	walker->table_access = NW_ACCESS_READ; /* a stage-1 table read; the plain copies set no flag */
	for (unsigned memattr = 0; memattr < 16; memattr++)
		for (unsigned sh = 0; sh < 4; sh++)
			walker->a64.s2_attrs[memattr][sh] = nw_arm64_s2_attrs(memattr, sh);
	nw_walker_set_arm64_cpu(walker, cpu);
	return walker;
}

bool nw_walker_is_user_access(const struct nw_walker *walker, bool implicit)
{
	return nw_walker_kind(walker, NW_ACCESS_READ, implicit)->user;
}

/* The plain RISC-V copies: vsatp Sv39 or Sv48 (riscv_vs_formats.h); Bare and Sv57 go to the reference. */
static enum nw_walk_plain_copy plain_copy_riscv(const struct nw_walker *walker)
{
	bool two_d = walker->s2.kind != NW_STAGE2_NONE;

	if (!two_d && ((uintptr_t)walker->map & (NW_PAGE_SIZE - 1)))
		return NW_PLAIN_OFF;
	/* The plain copies read the G-stage as masks, which know nothing of PMP: a hart with PMP walks by the rules. */
	if (walker->config.stage2.kind == NW_STAGE2_RISCV && walker->config.stage2.riscv->config.pmp.count)
		return NW_PLAIN_OFF;
	if (walker->rv.vsatp.mode == NW_RV_SATP_SV39)
		return two_d ? NW_PLAIN_RV_2D_39 : NW_PLAIN_RV_1D_39;
	if (walker->rv.vsatp.mode == NW_RV_SATP_SV48)
		return two_d ? NW_PLAIN_RV_2D_48 : NW_PLAIN_RV_1D_48;
	return NW_PLAIN_OFF;
}

void nw_walker_set_riscv_cpu(struct nw_walker *walker, const struct nw_rv_vs_cpu *cpu)
{
	NW_ASSERT(walker->riscv);
	walker->rv = *cpu;
	walker->plain = plain_copy_riscv(walker);
}

struct nw_walker *nw_walker_init_riscv(void *storage, const struct nw_walk_config *config,
				       const struct nw_rv_vs_cpu *cpu)
{
	struct nw_walker *walker;

	if (config->stage2.kind != NW_STAGE2_RISCV && config->stage2.kind != NW_STAGE2_NONE)
		return 0;
	if (!(walker = walker_start(storage, config)))
		return 0;
	walker->riscv = true;
	walker->table_access = NW_ACCESS_READ; /* a VS-stage PTE read; the plain copies set no flag */
	nw_walker_set_riscv_cpu(walker, cpu);
	return walker;
}
