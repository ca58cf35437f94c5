/* Whether a TLB entry may answer an access without a walk (walk.h,
 * nw_walker_tlb_allows). An entry is used only when it surely allows the
 * access: on a refusal a processor may walk the tables again before faulting
 * (SDM Vol. 3A §4.10.2.3: it may use cached or current entries), and the walk
 * then decides from memory. Each test below is one reason to walk instead. */
#include <nestwalk/tlb.h>
#include <nestwalk/walk.h>

#include "walk_rules.h"
#include "walker.h"

/* A write needs R/W=1 (the walk decides a supervisor write under CR0.WP=0)
 * and a set dirty flag: an entry with D=0 cannot complete a write (§4.8). */
static bool has_write_right(const struct nw_tlb_entry *e, enum nw_access_type type)
{
	return type != NW_ACCESS_WRITE || ((e->rights & NW_WALK_RIGHT_W) && e->dirty);
}

/* Supervisor-mode accesses to user-mode pages are what SMEP and SMAP govern
 * (§4.6.1), SMAP with RFLAGS.AC: the walk applies them. */
static bool is_smep_smap_relevant(const struct nw_cpu *cpu, const struct nw_tlb_entry *e, bool user)
{
	return !user && (e->rights & NW_WALK_RIGHT_U) && (cpu->cr4 & (NW_CR4_SMEP | NW_CR4_SMAP));
}

/* A protection key with a bit set in the register that governs the page may forbid the access (§4.6.2). */
static bool is_key_restricted(const struct nw_walker *walker, const struct nw_tlb_entry *e)
{
	uint32_t pkr = nw_rule_pk_register(&walker->cpu, walker->mode, (e->rights & NW_WALK_RIGHT_U) != 0);

	return nw_rule_pk_bits(pkr, e->pk) != 0;
}

/* A combined mapping keeps the second-stage leaf's rights (Vol. 3C §29.4.2): they must allow the access. */
static bool has_s2_right(const struct nw_tlb_entry *e, enum nw_access_type type)
{
	uint8_t need = NW_S2_RIGHT_R;

	if (type == NW_ACCESS_WRITE)
		need = NW_S2_RIGHT_W;
	else if (type == NW_ACCESS_FETCH)
		need = NW_S2_RIGHT_X;
	return (e->s2_rights & need) == need;
}

bool nw_walker_tlb_allows(const struct nw_walker *walker, const struct nw_tlb_entry *e, enum nw_access_type type,
			  bool user)
{
	return has_write_right(e, type) && !nw_rule_us_blocks(user, e->rights) && !nw_rule_xd_blocks(type, e->rights) &&
	       !is_smep_smap_relevant(&walker->cpu, e, user) && !is_key_restricted(walker, e) && has_s2_right(e, type);
}

unsigned nw_walker_tlb_allowed(const struct nw_walker *walker, const struct nw_tlb_entry *e)
{
	unsigned allowed = 0;

	for (unsigned type = NW_ACCESS_READ; type <= NW_ACCESS_FETCH; type++)
		for (unsigned user = 0; user < 2; user++)
			if (nw_walker_tlb_allows(walker, e, (enum nw_access_type)type, user))
				allowed |= NW_TLB_ALLOWS_BIT(type, user);
	return allowed;
}
