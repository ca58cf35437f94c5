/* The AArch64 TLB model: storage, tags, lookup and insert, and the TLBI operands (tlb_arm64.h). Which entries
 * each TLBI drops is in tlb_arm64_inval.c. */
#include <stdalign.h>

#include <nestwalk/assert.h>
#include <nestwalk/mem.h>
#include <nestwalk/tlb_arm64.h>

#include "tlb_arm64_internal.h"

const char *nw_tlbi_refusal(enum nw_tlbi_op op, uint64_t xt)
{
	uint64_t fields;

	if ((unsigned)op >= NW_TLBI_OP_COUNT)
		return "unknown TLBI operation";
	fields = nw_tlbi_operands[op / 2].fields;
	if (!fields)
		return xt ? "this TLBI takes no register (Rt is 31), yet Xt is not 0" : NULL;
	if ((xt & NW_TLBI_XT_NS) && fields == NW_TLBI_XT_IPA)
		return "Xt[63] NS selects a Secure-state IPA space, which the model does not have";
	if ((xt & NW_TLBI_XT_TTL) && nw_tlbi_operands[op / 2].ttl)
		return "Xt[47:44] holds a TTL level hint (FEAT_TTL), which the model does not take";
	if (xt & ~fields)
		return "Xt has RES0 bits set";
	return NULL;
}

nw_status_t nw_a64tlb_init(struct nw_a64tlb *tlb, void *storage, size_t size)
{
	size_t count = size / sizeof(struct nw_a64tlb_entry);

	if (count == 0 || count > UINT32_MAX)
		return NW_ERR_RANGE;
	if ((uintptr_t)storage % alignof(struct nw_a64tlb_entry))
		return NW_ERR_ALIGN;
	nw_mem_fill(tlb, 0, sizeof(*tlb));
	nw_mem_fill(storage, 0, count * sizeof(struct nw_a64tlb_entry));
	tlb->entries = storage;
	tlb->count = (uint32_t)count;
	return NW_OK;
}

void nw_a64tlb_load(struct nw_a64tlb *tlb, uint16_t vmid, uint16_t asid)
{
	tlb->vmid = vmid;
	tlb->asid = asid;
}

/* D8.13: a global entry (nG=0) matches any ASID; stage-2 entries carry none. */
static bool is_asid_match(const struct nw_a64tlb_entry *e, uint16_t asid)
{
	return e->global || !nw_a64tlb_is_asid_tagged(e->kind) || e->asid == asid;
}

static bool covers(const struct nw_a64tlb_entry *e, uint64_t addr)
{
	return (addr & ~(e->size - 1)) == e->addr;
}

/* The smallest valid entry of the kind and tags that covers addr, or NULL. */
static struct nw_a64tlb_entry *find(const struct nw_a64tlb *tlb, enum nw_a64tlb_kind kind, uint16_t vmid, uint16_t asid,
				    uint64_t addr)
{
	struct nw_a64tlb_entry *best = NULL;

	for (uint32_t i = 0; i < tlb->count; i++) {
		struct nw_a64tlb_entry *e = &tlb->entries[i];

		if (!nw_a64tlb_is_valid(e) || e->kind != kind || e->vmid != vmid || !is_asid_match(e, asid) ||
		    !covers(e, addr))
			continue;
		if (!best || e->size < best->size)
			best = e;
	}
	return best;
}

static bool is_walk(unsigned kind)
{
	return kind == NW_A64TLB_S1_WALK || kind == NW_A64TLB_S2_WALK;
}

/* A translation's output plus the offset within it; a table entry's next table as it is. */
static void fill_hit(const struct nw_a64tlb_entry *e, uint64_t addr, struct nw_a64tlb_hit *hit)
{
	*hit = (struct nw_a64tlb_hit){ is_walk(e->kind) ? e->out : e->out | (addr & (e->size - 1)), e };
}

bool nw_a64tlb_probe(const struct nw_a64tlb *tlb, enum nw_a64tlb_kind kind, uint16_t vmid, uint16_t asid, uint64_t addr,
		     struct nw_a64tlb_hit *hit)
{
	const struct nw_a64tlb_entry *e = find(tlb, kind, vmid, asid, addr);

	if (e)
		fill_hit(e, addr, hit);
	return e != NULL;
}

bool nw_a64tlb_lookup(struct nw_a64tlb *tlb, enum nw_a64tlb_kind kind, uint64_t addr, struct nw_a64tlb_hit *hit)
{
	struct nw_a64tlb_entry *e = find(tlb, kind, tlb->vmid, tlb->asid, addr);

	tlb->stats.lookups++;
	if (!e)
		return false;
	tlb->stats.hits++;
	e->stamp = ++tlb->clock;
	fill_hit(e, addr, hit);
	return true;
}

static bool is_same_key(const struct nw_a64tlb_entry *e, const struct nw_a64tlb_entry *key)
{
	return e->kind == key->kind && e->vmid == key->vmid && e->asid == key->asid && e->global == key->global &&
	       e->addr == key->addr && e->size == key->size;
}

/* The slot for a new entry: the one with the same key it replaces, else the least recently used, which is an
 * empty one (stamp 0) while any is left. */
static struct nw_a64tlb_entry *victim(struct nw_a64tlb *tlb, const struct nw_a64tlb_entry *key)
{
	struct nw_a64tlb_entry *oldest = &tlb->entries[0];

	for (uint32_t i = 0; i < tlb->count; i++) {
		struct nw_a64tlb_entry *e = &tlb->entries[i];

		if (nw_a64tlb_is_valid(e) && is_same_key(e, key))
			return e;
		if (e->stamp < oldest->stamp)
			oldest = e;
	}
	tlb->stats.evictions += nw_a64tlb_is_valid(oldest);
	return oldest;
}

void nw_a64tlb_insert(struct nw_a64tlb *tlb, const struct nw_a64tlb_fill *fill)
{
	bool tagged = nw_a64tlb_is_asid_tagged(fill->kind);
	struct nw_a64tlb_entry key = {
		.addr = fill->addr,
		.out = fill->out,
		.size = fill->size,
		.attrs = fill->attrs,
		.vmid = tlb->vmid,
		.asid = tagged && !fill->global ? tlb->asid : 0,
		.kind = (uint8_t)fill->kind,
		.level = fill->level,
		.global = fill->global,
	};

	NW_ASSERT((unsigned)fill->kind < NW_A64TLB_KIND_COUNT);
	NW_ASSERT(fill->size >= 0x1000 && (fill->size & (fill->size - 1)) == 0);
	NW_ASSERT((fill->addr & (fill->size - 1)) == 0);
	NW_ASSERT((fill->out & ((is_walk(fill->kind) ? 0x1000 : fill->size) - 1)) == 0);
	/* Only a stage-1 leaf has nG; table entries and stage 2 have no global form. */
	NW_ASSERT(!fill->global || fill->kind == NW_A64TLB_S1 || fill->kind == NW_A64TLB_S12);
	key.stamp = ++tlb->clock;
	*victim(tlb, &key) = key;
	tlb->stats.inserts++;
}

uint64_t nw_a64tlb_count(const struct nw_a64tlb *tlb, enum nw_a64tlb_kind kind)
{
	uint64_t n = 0;

	for (uint32_t i = 0; i < tlb->count; i++)
		n += nw_a64tlb_is_valid(&tlb->entries[i]) && tlb->entries[i].kind == kind;
	return n;
}
