/* The fast walker's access-rights tables, derived once per control-register
 * change so that checking an access is two lookups (in the spirit of KVM's
 * update_permission_bitmask and its PKRU mask). Each table entry is a bitmap
 * over the eight combinations of the translation's effective rights (W, U, X):
 * bit r is set when an access of that kind to a page with rights r faults.
 * The rules are those of SDM Vol. 3A §4.6.1 and §4.6.2, stated here as sets of
 * pages rather than as predicates (the reference walker states them as
 * predicates). */
#include <nestwalk/walk.h>

#include "walk_internal.h"

/* Pages, as bitmaps over the rights value r = W | U << 1 | X << 2. */
#define PAGES_WRITABLE UINT8_C(0xaa) /* r & NW_WALK_RIGHT_W */
#define PAGES_USER UINT8_C(0xcc)     /* r & NW_WALK_RIGHT_U */
#define PAGES_EXEC UINT8_C(0xf0)     /* r & NW_WALK_RIGHT_X */

_Static_assert(NW_WALK_RIGHT_W == 1 && NW_WALK_RIGHT_U == 2 && NW_WALK_RIGHT_X == 4, "rights index layout");

static uint8_t faulting_pages(const struct nw_cpu *cpu, unsigned index)
{
	enum nw_access_type type = (enum nw_access_type)(index & 3);
	bool user = index & NW_PERM_USER, ac = index & NW_PERM_AC;
	bool write = type == NW_ACCESS_WRITE, fetch = type == NW_ACCESS_FETCH;
	uint8_t fault = 0;

	if (user)
		fault |= (uint8_t)~PAGES_USER;     /* user-mode access needs U/S=1 */
	if (write && (user || (cpu->cr0 & NW_CR0_WP)))
		fault |= (uint8_t)~PAGES_WRITABLE; /* R/W=1 needed, for supervisor writes only with WP */
	if (fetch)
		fault |= (uint8_t)~PAGES_EXEC;     /* XD forbids fetches */
	if (fetch && !user && (cpu->cr4 & NW_CR4_SMEP))
		fault |= PAGES_USER;               /* SMEP */
	if (!fetch && !user && !ac && (cpu->cr4 & NW_CR4_SMAP))
		fault |= PAGES_USER;               /* SMAP, unless lifted by AC for an explicit access */
	return fault;
}

/* Which protection-key bits (bit 0 AD, bit 1 WD) forbid an access of this kind
 * to a page of this kind (§4.6.2): data accesses only; AD forbids all, WD writes
 * by user-mode accesses or, with CR0.WP=1, supervisor-mode ones. */
static uint8_t pk_bits_that_forbid(const struct nw_walker *walker, unsigned index)
{
	enum nw_access_type type = (enum nw_access_type)(index & 3);
	bool user = index & NW_PERM_USER, page_user = index & NW_PK_PAGE_USER;

	if (type == NW_ACCESS_FETCH || type > NW_ACCESS_FETCH)
		return 0;
	if (page_user ? !walker->pk_user : !walker->pk_supervisor)
		return 0;
	if (type == NW_ACCESS_WRITE && (user || (walker->cpu.cr0 & NW_CR0_WP)))
		return 3;
	return 1;
}

/* W/R, U/S and I/D of the error code describe the access (§4.7); I/D only with
 * SMEP or PAE paging with NXE. A CPL-3 access is user-mode unless implicit (§4.6). */
static struct nw_walk_access_kind access_kind(const struct nw_walker *walker, unsigned kind)
{
	const struct nw_cpu *cpu = &walker->cpu;
	enum nw_access_type type = (enum nw_access_type)(kind & 3);
	bool implicit = kind & 4, user = cpu->cpl == 3 && !implicit;
	bool ac = !implicit && cpu->cpl < 3 && (cpu->rflags & NW_RFLAGS_AC);

	return (struct nw_walk_access_kind){
		.pfec = (type == NW_ACCESS_WRITE ? NW_PFEC_W : 0) | (user ? NW_PFEC_U : 0) |
			(type == NW_ACCESS_FETCH && walker->fetch_reports_id ? NW_PFEC_ID : 0),
		.perm_index = (uint8_t)(type | (user ? NW_PERM_USER : 0) | (ac ? NW_PERM_AC : 0)),
		.pk_index = (uint8_t)(type | (user ? NW_PERM_USER : 0)),
		.s2_need = (uint8_t)(type | (user ? NW_S2_NEED_USER : 0)),
		.user = user,
	};
}

void nw_perm_derive(struct nw_walker *walker)
{
	const struct nw_cpu *cpu = &walker->cpu;
	bool long_mode = walker->mode == NW_PAGING_4LEVEL || walker->mode == NW_PAGING_5LEVEL;

	walker->pk_user = long_mode && (cpu->cr4 & NW_CR4_PKE);
	walker->pk_supervisor = long_mode && (cpu->cr4 & NW_CR4_PKS);
	walker->fetch_reports_id = (cpu->cr4 & NW_CR4_SMEP) || ((cpu->cr4 & NW_CR4_PAE) && (cpu->efer & NW_EFER_NXE));
	for (unsigned index = 0; index < 16; index++) {
		walker->perm[index] = (index & 3) > NW_ACCESS_FETCH ? 0 : faulting_pages(cpu, index);
		walker->pk_mask[index] = pk_bits_that_forbid(walker, index);
	}
	for (unsigned kind = 0; kind < 8; kind++) {
		walker->kinds[kind] = access_kind(walker, kind);
		walker->kinds[kind].faults = walker->perm[walker->kinds[kind].perm_index];
	}
}
