/* RISC-V physical memory protection (privileged spec, "Physical Memory
 * Protection": "Address Matching", "Priority and Matching Logic"): each
 * rule once, read by nw_rv_pmp_allows. Addresses here are bytes; pmpaddr
 * holds them shifted right by 2. */
#include <nestwalk/riscv_pmp.h>

#define MAX_GRANULARITY 54 /* 2^56-byte regions: the whole 56-bit physical space */

/* A region [lo, hi) of the physical space, hi may be 2^57 (a NAPOT pmpaddr of 54 ones). */
struct pmp_range {
	uint64_t lo, hi;
};

static unsigned pmp_mode(uint8_t cfg)
{
	return (cfg & NW_RV_PMPCFG_A_MASK) >> NW_RV_PMPCFG_A_SHIFT;
}

/* R=0 with W=1: Smepmp's shared-region encoding under mseccfg.MML. */
static bool pmp_is_shared_encoding(uint8_t cfg)
{
	return (cfg & (NW_RV_PMPCFG_R | NW_RV_PMPCFG_W)) == NW_RV_PMPCFG_W;
}

/* "The combination R=0 and W=1 is reserved for future use" (unless MML gives it a meaning). */
static bool pmp_cfg_is_reserved(const struct nw_rv_pmp *pmp, uint8_t cfg)
{
	return (cfg & NW_RV_PMPCFG_ZERO) || (!pmp->mml && pmp_is_shared_encoding(cfg));
}

/* "When G >= 1, the NA4 mode is not selectable." */
static bool pmp_na4_unselectable(const struct nw_rv_pmp *pmp, uint8_t cfg)
{
	return pmp->granularity >= 1 && pmp_mode(cfg) == NW_RV_PMP_NA4;
}

nw_status_t nw_rv_pmp_check(const struct nw_rv_pmp *pmp)
{
	if (pmp->count > NW_RV_PMP_ENTRIES || pmp->granularity > MAX_GRANULARITY)
		return NW_ERR_INVALID;
	for (unsigned i = 0; i < pmp->count; i++)
		if (pmp_cfg_is_reserved(pmp, pmp->cfg[i]) || pmp_na4_unselectable(pmp, pmp->cfg[i]) ||
		    (pmp->addr[i] & ~NW_RV_PMPADDR_MASK))
			return NW_ERR_INVALID;
	return NW_OK;
}

/* "Bits pmpaddr[G-1:0] do not affect the TOR address-matching logic." */
static uint64_t pmp_tor_bound(const struct nw_rv_pmp *pmp, uint64_t addr)
{
	return (addr & ~((UINT64_C(1) << pmp->granularity) - 1)) << 2;
}

/* NAPOT: with G >= 2 pmpaddr[G-2:0] read as ones; the trailing ones then give
 * the size: yyyy...y0 is 8 bytes, each further one doubles it (2^(k+3) for k ones). */
static struct pmp_range pmp_napot_range(const struct nw_rv_pmp *pmp, uint64_t addr)
{
	unsigned ones = 0;

	if (pmp->granularity >= 2)
		addr |= (UINT64_C(1) << (pmp->granularity - 1)) - 1;
	while (addr >> ones & 1) /* addr < 2^54: a zero bit ends it (a loop: rv64gc has no count instruction) */
		ones++;
	addr &= ~((UINT64_C(2) << ones) - 1);
	return (struct pmp_range){ addr << 2, (addr << 2) + (UINT64_C(1) << (ones + 3)) };
}

/* The region entry i names ("Address Matching"): TOR from the previous
 * entry's pmpaddr (0 for entry 0) up to its own, empty when that is not
 * above; NA4 four bytes; OFF nothing. */
static struct pmp_range pmp_range_of(const struct nw_rv_pmp *pmp, unsigned i)
{
	switch (pmp_mode(pmp->cfg[i])) {
	case NW_RV_PMP_TOR:
		return (struct pmp_range){ i ? pmp_tor_bound(pmp, pmp->addr[i - 1]) : 0,
					   pmp_tor_bound(pmp, pmp->addr[i]) };
	case NW_RV_PMP_NA4:
		return (struct pmp_range){ pmp->addr[i] << 2, (pmp->addr[i] << 2) + 4 };
	case NW_RV_PMP_NAPOT:
		return pmp_napot_range(pmp, pmp->addr[i]);
	default:
		return (struct pmp_range){ 0, 0 };
	}
}

/* "The lowest-numbered PMP entry that matches any byte of an access determines whether that access succeeds." */
static bool pmp_matches_any_byte(struct pmp_range r, uint64_t addr, uint64_t size)
{
	return r.lo < r.hi && addr < r.hi && addr + size > r.lo;
}

/* "The matching PMP entry must match all bytes of an access, or the access fails." */
static bool pmp_matches_all_bytes(struct pmp_range r, uint64_t addr, uint64_t size)
{
	return addr >= r.lo && addr + size <= r.hi;
}

/* What an entry grants S and U. Without MML its R, W and X (L only makes
 * the entry bind M-mode too). With MML, Smepmp's "Bits on pmpcfg register"
 * table, S/U column: L=0 R=0 W=1 is a shared data region, read-only for S/U
 * with X=0 and read/write with X=1; the other L=0 rules are S/U-only, their
 * R/W/X as given; L=1 rules are M-mode-only (nothing for S/U) but L=1 R=0 W=1,
 * a shared code region (execute only for S/U, with X 0 or 1), and L=1 RWX, a
 * shared data region read-only for all. */
static uint8_t pmp_su_rights(const struct nw_rv_pmp *pmp, uint8_t cfg)
{
	uint8_t rwx = cfg & (NW_RV_PMPCFG_R | NW_RV_PMPCFG_W | NW_RV_PMPCFG_X);

	if (!pmp->mml)
		return rwx;
	if (!(cfg & NW_RV_PMPCFG_L))
		return !pmp_is_shared_encoding(cfg) ? rwx
		       : (cfg & NW_RV_PMPCFG_X)      ? NW_RV_PMPCFG_R | NW_RV_PMPCFG_W
						     : NW_RV_PMPCFG_R;
	if (pmp_is_shared_encoding(cfg))
		return NW_RV_PMPCFG_X;
	return rwx == (NW_RV_PMPCFG_R | NW_RV_PMPCFG_W | NW_RV_PMPCFG_X) ? NW_RV_PMPCFG_R : 0;
}

/* The R, W or X bit the access needs. */
static uint8_t pmp_right_needed(enum nw_access_type type)
{
	switch (type) {
	case NW_ACCESS_WRITE:
		return NW_RV_PMPCFG_W;
	case NW_ACCESS_FETCH:
		return NW_RV_PMPCFG_X;
	case NW_ACCESS_READ:
		break;
	}
	return NW_RV_PMPCFG_R;
}

int nw_rv_pmp_deciding_entry(const struct nw_rv_pmp *pmp, uint64_t addr, uint64_t size)
{
	for (unsigned i = 0; i < pmp->count; i++)
		if (pmp_matches_any_byte(pmp_range_of(pmp, i), addr, size ? size : 1))
			return (int)i;
	return -1;
}

bool nw_rv_pmp_allows(const struct nw_rv_pmp *pmp, uint64_t addr, uint64_t size, enum nw_access_type type)
{
	int i;

	/* "If no PMP entry matches an S-mode or U-mode access, but at least one PMP entry is implemented, the
	 * access fails"; with none implemented it succeeds. */
	if (!pmp->count)
		return true;
	i = nw_rv_pmp_deciding_entry(pmp, addr, size);
	if (i < 0)
		return false;
	return pmp_matches_all_bytes(pmp_range_of(pmp, (unsigned)i), addr, size ? size : 1) &&
	       (pmp_su_rights(pmp, pmp->cfg[i]) & pmp_right_needed(type));
}
