/* The fast walker's access-rights tables, generated once per control-register
 * change from the rule predicates of walk_rules.h, so that checking an access
 * is two lookups (as KVM's update_permission_bitmask derives its bitmaps from
 * rule code). Per kind of access: a bitmap over the eight values of the
 * translation's effective rights (W, U, X) with bit r set when the access
 * faults on a page with rights r (§4.6.1), and per page U/S a bitmap over the
 * sixteen protection keys that forbid it (§4.6.2). */
#include <nestwalk/walk.h>

#include "walk_internal.h"
#include "walk_rules.h"
#include "walker.h"

#define RIGHTS_VALUES 8u /* NW_WALK_RIGHT_W | _U | _X: 0..7 */
#define PK_KEYS 16u

_Static_assert((NW_WALK_RIGHT_W | NW_WALK_RIGHT_U | NW_WALK_RIGHT_X) == RIGHTS_VALUES - 1, "rights index layout");

static uint8_t faulting_pages(const struct nw_cpu *cpu, bool user, bool smap_lifted, enum nw_access_type type)
{
	uint8_t fault = 0;

	for (uint32_t rights = 0; rights < RIGHTS_VALUES; rights++)
		if (nw_rule_rights_block(cpu, user, smap_lifted, type, rights))
			fault |= (uint8_t)(1u << rights);
	return fault;
}

static uint16_t forbidding_keys(const struct nw_cpu *cpu, enum nw_paging_mode mode, bool user,
				enum nw_access_type type, bool user_page)
{
	uint32_t page_rights = user_page ? NW_WALK_RIGHT_U : 0;
	uint16_t keys = 0;

	if (!nw_rule_pk_register(cpu, mode, user_page))
		return 0; /* keys do not apply to the page, or every key allows everything */
	for (unsigned key = 0; key < PK_KEYS; key++)
		if (nw_rule_pk_blocks(cpu, mode, user, type, page_rights, (uint64_t)key << NW_PTE_PK_SHIFT))
			keys |= (uint16_t)(1u << key);
	return keys;
}

static struct nw_walk_access_kind access_kind(const struct nw_walker *walker, enum nw_access_type type, bool implicit)
{
	const struct nw_cpu *cpu = &walker->cpu;
	bool user = nw_rule_is_user_access(cpu->cpl, implicit);

	return (struct nw_walk_access_kind){
		.pfec = nw_rule_pfec_access_bits(cpu, user, type),
		.pk_keys = { forbidding_keys(cpu, walker->mode, user, type, false),
			     forbidding_keys(cpu, walker->mode, user, type, true) },
		.faults = faulting_pages(cpu, user, nw_rule_is_smap_lifted(cpu, implicit), type),
		.s2_need = (uint8_t)(type | (user ? NW_S2_NEED_USER : 0)),
		.user = user,
	};
}

void nw_perm_derive(struct nw_walker *walker)
{
	for (unsigned type = NW_ACCESS_READ; type <= NW_ACCESS_FETCH; type++)
		for (unsigned implicit = 0; implicit < 2; implicit++)
			walker->kinds[type | implicit << 2] = access_kind(walker, (enum nw_access_type)type, implicit);
}
