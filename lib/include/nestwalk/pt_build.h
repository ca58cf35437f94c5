/* The table engine: one data-driven walker/builder for every radix page-table
 * format (EPT, AMD NPT, and guest 32-bit/PAE/4-level/5-level paging), in the
 * spirit of KVM selftests' per-format mask tables.
 *
 * A format is data (entry size, levels with shift/entries/leaf_ok/address
 * masks, the bits of a table-pointing entry, the page-size bit). A table lives
 * in memory reached through a small interface (allocate a zeroed table, free
 * it, address to pointer), so the same engine builds EPT tables in HAL frames
 * and guest tables in guest-physical memory.
 *
 * Every mutating call is atomic: the tables it may need are reserved before
 * the first entry changes, so an allocation failure leaves the table exactly as
 * it was. Every call that rewrites an entry that was in use reports it through
 * *stale, so a TLB model can invalidate (a pure addition never does).
 *
 * Structural invariants the engine keeps: a non-root table is never left
 * empty (all-zero); an entry is "in use" when non-zero; an entry at level > 1
 * points to a table when the level cannot be a leaf or its page-size bit is
 * clear. Each table's count of entries in use is kept beside it (in host
 * frames, see pt_engine.c), so finding an emptied table is O(1) and every
 * operation walks O(levels) per leaf it touches. */
#ifndef NESTWALK_PT_BUILD_H
#define NESTWALK_PT_BUILD_H

#include <stdbool.h>
#include <stdint.h>

#include "cdefs.h"
#include "cpu.h"
#include "hal.h"
#include "level.h"
#include "status.h"

NW_BEGIN_DECLS

struct nw_pt_level_desc {
	uint8_t shift;            /* lowest address bit this level's index covers */
	uint32_t entries;         /* entries in a table of this level (a power of two, up to 2^17) */
	bool leaf_ok;             /* an entry here may map a page */
	uint64_t leaf_addr_mask;  /* address field of a leaf at this level */
	uint64_t table_bits;      /* bits of an entry here that points to the next table */
	const char *name;
};

struct nw_pt_format {
	const char *name;
	uint8_t entry_size;       /* 4 or 8 bytes */
	uint8_t top;              /* level of the root table */
	uint64_t table_addr_mask; /* address field of a table-pointing entry (and of a 4 KiB leaf) */
	/* The address an entry's field holds is (entry & mask) << addr_shift: 0
	 * where the field is the address itself, 2 for RISC-V (the PPN, address
	 * bits 55:12, in entry bits 53:10). Every mask here is in entry bits. */
	uint8_t addr_shift;
	uint64_t ps_bit;          /* marks a leaf above level 1 (any of its bits, where it has several) */
	/* ps_bit's bits are rights the caller's attributes carry (RISC-V R and
	 * X: an entry with either maps a page, at any level): the engine neither
	 * adds nor strips them, and a leaf must have one. */
	bool ps_in_attrs;
	/* Formats whose type bit is the other way round (VMSAv8-64 descriptor
	 * bit 1): set in a table pointer and in a level-1 leaf, clear in a
	 * larger leaf; ps_bit is then 0. 0 for the x86 formats. */
	uint64_t link_bit;
	uint64_t pat_small_bit;   /* PAT bit of a level-1 leaf, 0 when the format has none */
	uint64_t pat_large_bit;   /* PAT bit of a larger leaf, moved on a split to level 1 */
	bool pse36;               /* a level-2 leaf holds address bits 39:32 in bits 20:13 (SDM Table 4-4) */
	struct nw_pt_level_desc level[NW_MAX_LEVELS + 1];
};

/* 4 KiB pages a table at level takes (more than one only for a large root). */
static inline uint64_t nw_pt_table_pages(const struct nw_pt_format *fmt, int level)
{
	uint64_t bytes = (uint64_t)fmt->level[level].entries * fmt->entry_size;

	return bytes > 4096 ? bytes / 4096 : 1;
}

/* Where tables live. addr is whatever the format's entries hold (an HPA for
 * EPT/NPT, a GPA for guest tables). alloc returns a 4 KiB-aligned table that
 * the engine zeroes itself; false when none is left. alloc_span (optional)
 * returns pages contiguous 4 KiB pages aligned to their size, for a root
 * table larger than a page (a format whose top level has more entries than
 * fit in 4 KiB); each page is given back with free. */
struct nw_pt_mem_ops {
	bool (*alloc)(void *ctx, uint64_t *addr);
	void (*free)(void *ctx, uint64_t addr);
	void *(*ptr)(void *ctx, uint64_t addr);
	bool (*alloc_span)(void *ctx, uint64_t pages, uint64_t *addr);
};

struct nw_pt_mem {
	const struct nw_pt_mem_ops *ops;
	void *ctx;
	/* Optional window: table addresses below direct_map_size are at
	 * direct_map + addr, so translate reads a table without a call. */
	uint8_t *direct_map;
	uint64_t direct_map_size;
	/* Host frames for the engine's own bookkeeping (each table's count of
	 * live entries, see pt_engine.c), never linked into the tables; NULL:
	 * none kept, and an emptied table is found by scanning it. */
	const struct nw_hal *host;
	/* Only the engine changes which entries point to tables and where, and
	 * a table stays at its host address while in use (the engine's own
	 * frames, not memory a guest writes): the engine may then remember the
	 * table its last change reached and start the next one there. */
	bool exclusive;
};

/* Tables in HAL frames (EPT and NPT), their counts in the same HAL. */
struct nw_pt_mem nw_pt_mem_hal(const struct nw_hal *hal);

/* The table the last change reached (the engine's own, pt_engine.c: The
 * remembered table). */
struct nw_pt_memo {
	uint64_t base, size;      /* the addresses it covers; size 0: none remembered */
	void *ptr;                /* the table */
	void *up;                 /* the page holding its live count, NULL when none is kept */
	unsigned up_index;        /* its live count's slot there */
	uint8_t level;
};

struct nw_pt {
	const struct nw_pt_format *fmt;
	struct nw_pt_mem mem;
	uint64_t root;            /* address of the top-level table */
	uint64_t root_counts;     /* host frame with the live counts of the root's children, 0 when none */
	const uint64_t *table_bits; /* per-level overrides (index = level) or NULL */
	uint64_t link_addr_mask;  /* a table pointer's address: the format's field below MAXPHYADDR */
	uint8_t geometry;         /* the engine's own: which constant geometry its hot paths use (pt_engine.c) */
	struct nw_pt_memo memo;
	/* The engine's own: the leaf level and attributes the last map accepted (0: none yet), so a run of maps
	 * checks them once. */
	uint8_t accepted_level;
	uint64_t accepted_attrs;
};

/* One leaf as a lookup finds it, with the path for --explain. */
struct nw_pt_leaf {
	int level;
	uint64_t entry;
	uint64_t va_base;         /* first address the leaf maps */
	uint64_t pa_base;         /* address the leaf maps it to */
	uint64_t size;
	uint64_t entries[NW_MAX_LEVELS + 1]; /* per level, the entry read */
	uint64_t tables[NW_MAX_LEVELS + 1];  /* per level, the table's address */
};

/* map flags */
#define NW_PT_MAP_REPLACE (1u << 0) /* overwrite what is there, splitting larger leaves */

static inline uint64_t nw_pt_level_size(const struct nw_pt_format *fmt, int level)
{
	return UINT64_C(1) << fmt->level[level].shift;
}

/* Addresses the format covers: 0 .. nw_pt_va_limit()-1. */
static inline uint64_t nw_pt_va_limit(const struct nw_pt_format *fmt)
{
	return (uint64_t)fmt->level[fmt->top].entries << fmt->level[fmt->top].shift;
}

static inline unsigned nw_pt_index(const struct nw_pt_format *fmt, int level, uint64_t va)
{
	return (unsigned)((va >> fmt->level[level].shift) & (uint64_t)(fmt->level[level].entries - 1));
}

static inline uint64_t nw_pt_entry_get(const struct nw_pt_format *fmt, const void *table, unsigned index)
{
	if (fmt->entry_size == 8)
		return ((const uint64_t *)table)[index];
	return ((const uint32_t *)table)[index];
}

static inline void nw_pt_entry_put(const struct nw_pt_format *fmt, void *table, unsigned index, uint64_t entry)
{
	if (fmt->entry_size == 8)
		((uint64_t *)table)[index] = entry;
	else
		((uint32_t *)table)[index] = (uint32_t)entry;
}

static inline void *nw_pt_table_ptr(const struct nw_pt *pt, uint64_t addr)
{
	if (addr < pt->mem.direct_map_size)
		return pt->mem.direct_map + addr;
	return pt->mem.ops->ptr(pt->mem.ctx, addr);
}

/* The address an entry's address field holds (the format's table_addr_mask). */
static inline uint64_t nw_pt_table_addr(const struct nw_pt_format *fmt, uint64_t entry)
{
	return (entry & fmt->table_addr_mask) << fmt->addr_shift;
}

/* Whether an entry above level 1 maps a page: the level may hold leaves and
 * the entry's type bit says so (ps_bit set, or link_bit clear). A format has
 * one of the two bits, the other 0, so no branch picks between them (every
 * descent of the engine asks this at each level). */
static inline bool nw_pt_is_block(const struct nw_pt_format *fmt, int level, uint64_t entry)
{
	return fmt->level[level].leaf_ok && ((entry & fmt->ps_bit) | (~entry & fmt->link_bit)) != 0;
}

/* The bits that tell a leaf above level 1 from a table pointer. */
static inline uint64_t nw_pt_type_bits(const struct nw_pt_format *fmt)
{
	return fmt->ps_bit | fmt->link_bit;
}

/* Whether a non-zero entry at level points to a table (not a leaf). */
static inline bool nw_pt_is_link(const struct nw_pt_format *fmt, int level, uint64_t entry)
{
	if (entry == 0 || level == NW_LEVEL_PT)
		return false;
	return !nw_pt_is_block(fmt, level, entry);
}

/* The table a link entry points to. Bits of the address field at or above
 * MAXPHYADDR are not part of it (SDM Vol. 3C §29.3.2: reserved, a
 * misconfiguration the walk reports), so an edit that sets them leaves the
 * engine's own tree where it was. */
static inline uint64_t nw_pt_link_addr(const struct nw_pt *pt, uint64_t entry)
{
	return (entry & pt->link_addr_mask) << pt->fmt->addr_shift;
}

/* The address a leaf at level maps (PSE-36 aware). */
uint64_t nw_pt_leaf_addr(const struct nw_pt_format *fmt, int level, uint64_t entry);
/* A leaf's bits other than its address and page-size bit (PAT in level-1 position). */
uint64_t nw_pt_leaf_attrs(const struct nw_pt_format *fmt, int level, uint64_t entry);
/* Builds a leaf at level from attributes in level-1 form (PAT moved, PS
 * added; the link bit set at level 1 and clear above). */
uint64_t nw_pt_leaf_make(const struct nw_pt_format *fmt, int level, uint64_t pa, uint64_t attrs);
/* Whether pa fits a leaf at level (aligned, representable). */
bool nw_pt_leaf_addr_ok(const struct nw_pt_format *fmt, int level, uint64_t pa);

/* table_bits: optional per-level bits for new table-pointing entries (index =
 * level, 0 entries mean the format's default); the array must outlive pt. */
NW_MUST_CHECK nw_status_t nw_pt_init(struct nw_pt *pt, const struct nw_pt_format *fmt, struct nw_pt_mem mem,
				     const uint64_t *table_bits);
/* Host-physical addresses of this table's own tables stop at 2^maxphyaddr
 * (36..52): higher address-field bits of a link are reserved, not address. */
void nw_pt_set_maxphyaddr(struct nw_pt *pt, unsigned maxphyaddr);
/* Frees every table; pt is unusable afterwards. */
void nw_pt_destroy(struct nw_pt *pt);

/* One leaf at level mapping va to pa; attrs in level-1 form (see
 * nw_pt_leaf_make). NW_ERR_EXISTS when anything is mapped there (unless
 * NW_PT_MAP_REPLACE: a larger leaf is split keeping its attributes, smaller
 * mappings below are dropped). */
NW_MUST_CHECK nw_status_t nw_pt_map(struct nw_pt *pt, uint64_t va, uint64_t pa, int level, uint64_t attrs,
				    unsigned flags, bool *stale);
/* [va, va+size) to [pa, ...) with the largest leaves (up to max_level) that
 * alignment and size allow; nothing may be mapped there yet. */
NW_MUST_CHECK nw_status_t nw_pt_map_region(struct nw_pt *pt, uint64_t va, uint64_t pa, uint64_t size,
					   int max_level, uint64_t attrs, bool *stale);
/* Removes every mapping in the range (holes are fine); leaves straddling an
 * end are split; tables left empty are freed. */
NW_MUST_CHECK nw_status_t nw_pt_unmap(struct nw_pt *pt, uint64_t va, uint64_t size, bool *stale);
/* Every leaf in the range becomes (entry & ~clear) | set; the whole range must
 * be mapped (NW_ERR_NOT_FOUND otherwise, nothing changed). clear/set may not
 * touch the address field or the page-size bit. */
NW_MUST_CHECK nw_status_t nw_pt_update(struct nw_pt *pt, uint64_t va, uint64_t size, uint64_t clear, uint64_t set,
				       bool *stale);
/* The leaf mapping va, NW_ERR_NOT_FOUND when none. */
NW_MUST_CHECK nw_status_t nw_pt_lookup(const struct nw_pt *pt, uint64_t va, struct nw_pt_leaf *leaf);
/* The same leaf's level and entry alone, without the path nw_pt_lookup records. */
NW_MUST_CHECK nw_status_t nw_pt_find(const struct nw_pt *pt, uint64_t va, int *level, uint64_t *entry);
/* Raw edit of the entry at level on va's path, for tests and scenarios that
 * build broken tables on purpose. The table structure is protected: the edit
 * may not change a table pointer's address (bits at or above MAXPHYADDR are
 * not part of it: setting them is a reserved-bit edit), nor any page-size
 * bit, nor clear an entry to zero (that is nw_pt_unmap); the entry must exist
 * (NW_ERR_NOT_FOUND when the path ends above level). */
NW_MUST_CHECK nw_status_t nw_pt_edit(struct nw_pt *pt, uint64_t va, int level, uint64_t clear, uint64_t set,
				     uint64_t *old, bool *stale);

/* Calls visit for every non-zero entry, tables before their children, in
 * address order; va is the first address the entry covers. */
typedef void (*nw_pt_visit_fn)(void *ctx, int level, uint64_t table, unsigned index, uint64_t va, uint64_t entry);
void nw_pt_visit(const struct nw_pt *pt, nw_pt_visit_fn visit, void *ctx);
/* Tables in use, the root included. */
uint64_t nw_pt_table_count(const struct nw_pt *pt);
/* The live count the engine keeps for the level-level table on va's path
 * (below the root): its entries that are non-zero, as far as the engine
 * knows. NW_ERR_NOT_FOUND when the path has no table there, NW_ERR_UNSUPPORTED
 * for the root or when no counts are kept (mem.host NULL). */
NW_MUST_CHECK nw_status_t nw_pt_live_count(const struct nw_pt *pt, uint64_t va, int level, unsigned *count);

/* Guest page tables (SDM Vol. 3A §4.3-§4.5) built in guest-physical memory:
 * table addresses are GPAs and mem reaches them (through the address-space
 * layer). Leaf flags are x86 entry bits (x86_pte.h) in 4 KiB form, PAT at
 * bit 7; P is always added. */
enum nw_gpt_mode {
	NW_GPT_32BIT,   /* 4-byte entries, 4 KiB and 4 MiB pages (PSE, PSE-36 up to 40 address bits) */
	NW_GPT_PAE,     /* 4 PDPTEs, 4 KiB and 2 MiB pages */
	NW_GPT_4LEVEL,  /* 4 KiB, 2 MiB, 1 GiB pages; 48-bit canonical GVAs */
	NW_GPT_5LEVEL,  /* the same over 57-bit canonical GVAs */
};

const struct nw_pt_format *nw_gpt_format(enum nw_gpt_mode mode);
/* The format the CPU walks in a paging mode; NULL with paging off. */
const struct nw_pt_format *nw_paging_format(enum nw_paging_mode mode);

struct nw_gpt {
	struct nw_pt pt;
	enum nw_gpt_mode mode;
};

NW_MUST_CHECK nw_status_t nw_gpt_create(struct nw_gpt *gpt, enum nw_gpt_mode mode, struct nw_pt_mem mem);
void nw_gpt_destroy(struct nw_gpt *gpt);
/* The root table's GPA, as CR3 (bits 31:5 for PAE) holds it; PCD/PWT/PCID are the caller's. */
uint64_t nw_gpt_root(const struct nw_gpt *gpt);
/* One page of size 4 KiB, 2 MiB (PAE, 4-/5-level), 4 MiB (32-bit) or 1 GiB
 * (4-/5-level). table_flags (may be NULL), indexed by level, overrides the
 * flags of the table-pointing entries on gva's path where non-zero (e.g. a
 * PDE without US); the entries keep their tables. */
NW_MUST_CHECK nw_status_t nw_gpt_map(struct nw_gpt *gpt, nw_gva_t gva, nw_gpa_t gpa, uint64_t size, uint64_t flags,
				     const uint64_t *table_flags);
NW_MUST_CHECK nw_status_t nw_gpt_unmap(struct nw_gpt *gpt, nw_gva_t gva, uint64_t size);
NW_MUST_CHECK nw_status_t nw_gpt_query(const struct nw_gpt *gpt, nw_gva_t gva, struct nw_pt_leaf *leaf);
/* Raw edit of the entry at level on gva's path (see nw_pt_edit); NW_ERR_RANGE for a non-canonical gva. */
NW_MUST_CHECK nw_status_t nw_gpt_edit(struct nw_gpt *gpt, nw_gva_t gva, int level, uint64_t clear, uint64_t set,
				      uint64_t *old);

NW_END_DECLS

#endif
