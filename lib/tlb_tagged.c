/* A TLB model's storage, tags, lookup, insert and LRU (tlb_tagged.h); the scopes are each architecture's. */
#include <stdalign.h>

#include <nestwalk/assert.h>
#include <nestwalk/mem.h>
#include <nestwalk/tlb_tagged.h>

static bool is_valid(const struct nw_ttlb_entry *e)
{
	return e->stamp != 0;
}

static bool has_kind(uint32_t kinds, unsigned kind)
{
	return (kinds >> kind) & 1;
}

nw_status_t nw_ttlb_init(struct nw_ttlb *tlb, void *storage, size_t size, uint32_t asid_kinds, uint32_t table_kinds,
			 uint32_t global_kinds)
{
	size_t count = size / sizeof(struct nw_ttlb_entry);

	if (count == 0 || count > UINT32_MAX)
		return NW_ERR_RANGE;
	if ((uintptr_t)storage % alignof(struct nw_ttlb_entry))
		return NW_ERR_ALIGN;
	nw_mem_fill(tlb, 0, sizeof(*tlb));
	nw_mem_fill(storage, 0, count * sizeof(struct nw_ttlb_entry));
	tlb->entries = storage;
	tlb->count = (uint32_t)count;
	tlb->asid_kinds = asid_kinds;
	tlb->table_kinds = table_kinds;
	tlb->global_kinds = global_kinds;
	return NW_OK;
}

static bool is_asid_match(const struct nw_ttlb *tlb, const struct nw_ttlb_entry *e, uint16_t asid)
{
	return e->global || !has_kind(tlb->asid_kinds, e->kind) || e->asid == asid;
}

static bool covers(const struct nw_ttlb_entry *e, uint64_t addr)
{
	return (addr & ~(e->size - 1)) == e->addr;
}

static struct nw_ttlb_entry *find(const struct nw_ttlb *tlb, unsigned kind, uint16_t vmid, uint16_t asid, uint64_t addr)
{
	struct nw_ttlb_entry *best = NULL;

	for (uint32_t i = 0; i < tlb->count; i++) {
		struct nw_ttlb_entry *e = &tlb->entries[i];

		if (!is_valid(e) || e->kind != kind || e->vmid != vmid || !is_asid_match(tlb, e, asid) ||
		    !covers(e, addr))
			continue;
		if (!best || e->size < best->size)
			best = e;
	}
	return best;
}

static void fill_hit(const struct nw_ttlb *tlb, const struct nw_ttlb_entry *e, uint64_t addr, struct nw_ttlb_hit *hit)
{
	bool table = has_kind(tlb->table_kinds, e->kind);

	*hit = (struct nw_ttlb_hit){ table ? e->out : e->out | (addr & (e->size - 1)), e };
}

bool nw_ttlb_probe(const struct nw_ttlb *tlb, unsigned kind, uint16_t vmid, uint16_t asid, uint64_t addr,
		   struct nw_ttlb_hit *hit)
{
	const struct nw_ttlb_entry *e = find(tlb, kind, vmid, asid, addr);

	if (e)
		fill_hit(tlb, e, addr, hit);
	return e != NULL;
}

bool nw_ttlb_lookup(struct nw_ttlb *tlb, unsigned kind, uint64_t addr, struct nw_ttlb_hit *hit)
{
	struct nw_ttlb_entry *e = find(tlb, kind, tlb->vmid, tlb->asid, addr);

	tlb->stats.lookups++;
	if (!e)
		return false;
	tlb->stats.hits++;
	e->stamp = ++tlb->clock;
	fill_hit(tlb, e, addr, hit);
	return true;
}

static bool is_same_key(const struct nw_ttlb_entry *e, const struct nw_ttlb_entry *key)
{
	return e->kind == key->kind && e->vmid == key->vmid && e->asid == key->asid && e->global == key->global &&
	       e->addr == key->addr && e->size == key->size;
}

/* The slot for a new entry: the one with the same key it replaces, else the least recently used, which is an
 * empty one (stamp 0) while any is left. */
static struct nw_ttlb_entry *victim(struct nw_ttlb *tlb, const struct nw_ttlb_entry *key)
{
	struct nw_ttlb_entry *oldest = &tlb->entries[0];

	for (uint32_t i = 0; i < tlb->count; i++) {
		struct nw_ttlb_entry *e = &tlb->entries[i];

		if (is_valid(e) && is_same_key(e, key))
			return e;
		if (e->stamp < oldest->stamp)
			oldest = e;
	}
	tlb->stats.evictions += is_valid(oldest);
	return oldest;
}

void nw_ttlb_insert(struct nw_ttlb *tlb, const struct nw_ttlb_fill *fill)
{
	bool table = has_kind(tlb->table_kinds, fill->kind);
	struct nw_ttlb_entry key = {
		.addr = fill->addr,
		.out = fill->out,
		.size = fill->size,
		.mid = fill->mid,
		.attrs = fill->attrs,
		.vmid = tlb->vmid,
		.asid = has_kind(tlb->asid_kinds, fill->kind) && !fill->global ? tlb->asid : 0,
		.kind = (uint8_t)fill->kind,
		.level = fill->level,
		.global = fill->global,
	};

	NW_ASSERT(fill->kind < 32);
	NW_ASSERT(fill->size >= 0x1000 && (fill->size & (fill->size - 1)) == 0);
	NW_ASSERT((fill->addr & (fill->size - 1)) == 0);
	NW_ASSERT((fill->out & ((table ? 0x1000 : fill->size) - 1)) == 0);
	NW_ASSERT(!fill->global || has_kind(tlb->global_kinds, fill->kind));
	key.stamp = ++tlb->clock;
	*victim(tlb, &key) = key;
	tlb->stats.inserts++;
}

void nw_ttlb_drop(struct nw_ttlb *tlb, bool (*in_scope)(const struct nw_ttlb_entry *e, const void *ctx),
		  const void *ctx)
{
	for (uint32_t i = 0; i < tlb->count; i++) {
		struct nw_ttlb_entry *e = &tlb->entries[i];

		if (is_valid(e) && in_scope(e, ctx)) {
			e->stamp = 0;
			tlb->stats.invalidated++;
		}
	}
}

uint64_t nw_ttlb_count(const struct nw_ttlb *tlb, unsigned kind)
{
	uint64_t n = 0;

	for (uint32_t i = 0; i < tlb->count; i++)
		n += is_valid(&tlb->entries[i]) && tlb->entries[i].kind == kind;
	return n;
}
