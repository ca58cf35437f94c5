/* The guest paging rules for programs outside lib/ (paging_rules.h): each the
 * walkers' own predicate (walk_rules.h), called, not restated. */
#include <nestwalk/paging_rules.h>

#include "walk_rules.h"

bool nw_paging_ps_maps_page(const struct nw_cpu *cpu, enum nw_paging_mode mode, unsigned level)
{
	return nw_rule_ps_maps_page(cpu, mode, level);
}

bool nw_paging_is_ps_reserved(const struct nw_cpu *cpu, enum nw_paging_mode mode, unsigned level)
{
	return nw_rule_rsvd_bits(cpu, mode, level, true) == ~UINT64_C(0);
}

bool nw_paging_is_ps_examined(const struct nw_cpu *cpu, enum nw_paging_mode mode, unsigned level)
{
	return nw_rule_is_ps_examined(cpu, mode, level);
}

bool nw_paging_is_xd_in_force(const struct nw_cpu *cpu, enum nw_paging_mode mode)
{
	return nw_rule_is_xd_in_force(cpu, mode);
}

uint64_t nw_paging_rsvd_xd(const struct nw_cpu *cpu)
{
	return nw_rule_rsvd_xd(cpu);
}

uint64_t nw_paging_rsvd_bits(const struct nw_cpu *cpu, enum nw_paging_mode mode, unsigned level, bool ps)
{
	return nw_rule_rsvd_bits(cpu, mode, level, ps);
}
