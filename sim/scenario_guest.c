#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include <nestwalk/pt_build.h>
#include <nestwalk/x86_pte.h>

#include "scenario_guest.h"

/* Guest paging formats as engine data (SDM Vol. 3A §4.3-4.5, Tables 4-4 to
 * 4-20). Tables grant P|RW|US so the leaf decides, except the PAE PDPTE,
 * whose bits 2:1 are reserved (Table 4-8). */
#define GUEST_TABLE_BITS (NW_PTE_P | NW_PTE_RW | NW_PTE_US)
#define GUEST_LEVEL(sh, n, leaf, mask, bits, nm) \
	{ .shift = (sh), .entries = (n), .leaf_ok = (leaf), .leaf_addr_mask = (mask), .table_bits = (bits), \
	  .name = (nm) }
#define ADDR_2M (NW_PTE_ADDR_MASK & ~(NW_SIZE_2M - 1))
#define ADDR_1G (NW_PTE_ADDR_MASK & ~(NW_SIZE_1G - 1))

#define LONG_MODE_LEVELS \
	[NW_LEVEL_PT] = GUEST_LEVEL(12, 512, true, NW_PTE_ADDR_MASK, GUEST_TABLE_BITS, "PTE"), \
	[NW_LEVEL_PD] = GUEST_LEVEL(21, 512, true, ADDR_2M, GUEST_TABLE_BITS, "PDE"), \
	[NW_LEVEL_PDPT] = GUEST_LEVEL(30, 512, true, ADDR_1G, GUEST_TABLE_BITS, "PDPTE"), \
	[NW_LEVEL_PML4] = GUEST_LEVEL(39, 512, false, 0, GUEST_TABLE_BITS, "PML4E"), \
	[NW_LEVEL_PML5] = GUEST_LEVEL(48, 512, false, 0, GUEST_TABLE_BITS, "PML5E")

static const struct nw_pt_format guest_4level = {
	.name = "4-level paging", .entry_size = 8, .top = NW_LEVEL_PML4, .table_addr_mask = NW_PTE_ADDR_MASK,
	.ps_bit = NW_PTE_PS, .pat_small_bit = NW_PTE_PAT_4K, .pat_large_bit = NW_PTE_PAT_LARGE,
	.level = { LONG_MODE_LEVELS },
};

static const struct nw_pt_format guest_5level = {
	.name = "5-level paging", .entry_size = 8, .top = NW_LEVEL_PML5, .table_addr_mask = NW_PTE_ADDR_MASK,
	.ps_bit = NW_PTE_PS, .pat_small_bit = NW_PTE_PAT_4K, .pat_large_bit = NW_PTE_PAT_LARGE,
	.level = { LONG_MODE_LEVELS },
};

static const struct nw_pt_format guest_pae = {
	.name = "PAE paging", .entry_size = 8, .top = NW_LEVEL_PDPT, .table_addr_mask = NW_PTE_ADDR_MASK,
	.ps_bit = NW_PTE_PS, .pat_small_bit = NW_PTE_PAT_4K, .pat_large_bit = NW_PTE_PAT_LARGE,
	.level = {
		[NW_LEVEL_PT] = GUEST_LEVEL(12, 512, true, NW_PTE_ADDR_MASK, GUEST_TABLE_BITS, "PTE"),
		[NW_LEVEL_PD] = GUEST_LEVEL(21, 512, true, ADDR_2M, GUEST_TABLE_BITS, "PDE"),
		[NW_LEVEL_PDPT] = GUEST_LEVEL(30, 4, false, 0, NW_PTE_P, "PDPTE"),
	},
};

/* 32-bit paging: 4-byte entries; a 4 MiB PDE holds address bits 39:32 in
 * bits 20:13 (PSE-36, Table 4-4). */
static const struct nw_pt_format guest_32bit = {
	.name = "32-bit paging", .entry_size = 4, .top = NW_LEVEL_PD, .table_addr_mask = UINT64_C(0xfffff000),
	.ps_bit = NW_PTE_PS, .pat_small_bit = NW_PTE_PAT_4K, .pat_large_bit = NW_PTE_PAT_LARGE, .pse36 = true,
	.level = {
		[NW_LEVEL_PT] = GUEST_LEVEL(12, 1024, true, UINT64_C(0xfffff000), GUEST_TABLE_BITS, "PTE"),
		[NW_LEVEL_PD] = GUEST_LEVEL(22, 1024, true, NW_PDE32_4M_ADDR_LOW_MASK | NW_PDE32_4M_ADDR_HIGH_MASK,
					    GUEST_TABLE_BITS, "PDE"),
	},
};

static const struct nw_pt_format *guest_format(enum nw_paging_mode mode)
{
	switch (mode) {
	case NW_PAGING_32: return &guest_32bit;
	case NW_PAGING_PAE: return &guest_pae;
	case NW_PAGING_4LEVEL: return &guest_4level;
	case NW_PAGING_5LEVEL: return &guest_5level;
	case NW_PAGING_OFF: break;
	}
	return NULL;
}

/* Table pages handed out from the page-table region, lowest first; pages the
 * engine gives back are reused. */
struct table_pool {
	struct nw_vm *vm;
	uint64_t base, size, next;
	uint64_t *freed;
	size_t freed_count;
	bool failed; /* a page of the region is not RAM */
};

static bool pool_alloc(void *ctx, uint64_t *addr)
{
	struct table_pool *pool = ctx;
	static const uint8_t zero[8];
	uint64_t gpa;

	if (pool->freed_count) {
		*addr = pool->freed[--pool->freed_count];
		return true;
	}
	if (pool->next >= pool->size)
		return false;
	gpa = pool->base + pool->next;
	/* Touch the page so a lazy region backs it before the engine writes. */
	if (nw_aspace_write(&pool->vm->aspace, nw_gpa(gpa), zero, sizeof(zero)) != NW_OK) {
		pool->failed = true;
		return false;
	}
	pool->next += NW_PAGE_SIZE;
	*addr = gpa;
	return true;
}

static void pool_free(void *ctx, uint64_t addr)
{
	struct table_pool *pool = ctx;
	uint64_t *grown = realloc(pool->freed, (pool->freed_count + 1) * sizeof(*grown));

	if (!grown) {
		fprintf(stderr, "nestwalk: out of host memory\n");
		exit(2);
	}
	pool->freed = grown;
	pool->freed[pool->freed_count++] = addr;
}

static void *pool_ptr(void *ctx, uint64_t addr)
{
	struct table_pool *pool = ctx;
	nw_hpa_t hpa;

	if (nw_aspace_translate(&pool->vm->aspace, nw_gpa(addr), &hpa) != NW_OK)
		return NULL;
	return nw_hal_phys_to_virt(pool->vm->hal, hpa);
}

static const struct nw_pt_mem_ops pool_ops = { .alloc = pool_alloc, .free = pool_free, .ptr = pool_ptr };

static __attribute__((format(printf, 5, 6))) int fail(const struct nw_scenario *sc, struct nw_scenario_pos pos,
						     char *err, size_t errlen, const char *fmt, ...)
{
	int used = snprintf(err, errlen, "%s:%d:%d: ", sc->file, pos.line, pos.column);
	va_list ap;

	if (used >= 0 && (size_t)used < errlen) {
		va_start(ap, fmt);
		vsnprintf(err + used, errlen - (size_t)used, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* The level whose leaf maps a page of this size in this format, 0 if none. */
static int leaf_level(const struct nw_pt_format *fmt, uint64_t size)
{
	for (int level = NW_LEVEL_PT; level <= fmt->top; level++)
		if (fmt->level[level].leaf_ok && nw_pt_level_size(fmt, level) == size)
			return level;
	return 0;
}

static int map_one(const struct nw_scenario *sc, const struct nw_scenario_mapping *m, struct nw_pt *pt,
		   struct table_pool *pool, char *err, size_t errlen)
{
	int level = leaf_level(pt->fmt, m->size);
	bool stale = false;
	nw_status_t status;

	if (!level)
		return fail(sc, m->pos, err, errlen, "a 0x%llx-byte page does not exist in %s",
			    (unsigned long long)m->size, pt->fmt->name);
	if ((m->gva | m->gpa) & (m->size - 1))
		return fail(sc, m->pos, err, errlen, "gva and gpa must be aligned to the page size");
	if (m->gva >= nw_pt_va_limit(pt->fmt))
		return fail(sc, m->pos, err, errlen, "gva 0x%llx is beyond %s (canonical upper-half addresses: give "
			    "the address with its high bits cleared)", (unsigned long long)m->gva, pt->fmt->name);
	status = nw_pt_map(pt, m->gva, m->gpa, level, m->flags, 0, &stale);
	if (status != NW_OK)
		return fail(sc, m->pos, err, errlen, "guest mapping of gva 0x%llx: %s%s", (unsigned long long)m->gva,
			    pool->failed ? "the page-table region is not RAM of any region: " : "",
			    status == NW_ERR_NOMEM ? "page_table_region is full" : nw_status_name(status));
	for (int l = NW_LEVEL_PT; l <= NW_MAX_LEVELS; l++) {
		uint64_t old;

		if (!m->level_set[l] && !m->level_clear[l])
			continue;
		if (l > pt->fmt->top || l < level)
			return fail(sc, m->pos, err, errlen, "level %d is not on the path of this mapping", l);
		status = nw_pt_edit(pt, m->gva, l, m->level_clear[l], m->level_set[l], &old, &stale);
		if (status != NW_OK)
			return fail(sc, m->pos, err, errlen, "level-%d override: %s", l,
				    status == NW_ERR_INVALID ? "may not change a table address or a page-size bit"
							     : nw_status_name(status));
	}
	return 0;
}

int nw_scenario_build_guest(const struct nw_scenario *sc, struct nw_vm *vm, char *err, size_t errlen)
{
	struct table_pool pool = { .vm = vm, .base = sc->pt_region_gpa, .size = sc->pt_region_size };
	const struct nw_pt_format *fmt;
	struct nw_pt pt;
	int rc = 0;

	if (!sc->mapping_count)
		return 0;
	fmt = guest_format(nw_cpu_paging_mode(&vm->cpu));
	if (!fmt)
		return fail(sc, sc->mappings[0].pos, err, errlen, "guest mappings need paging: set cpu.mode");
	if (!sc->pt_region_size)
		return fail(sc, sc->mappings[0].pos, err, errlen, "guest mappings need guest.page_table_region");
	if ((sc->pt_region_gpa | sc->pt_region_size) & NW_PAGE_MASK)
		return fail(sc, sc->pt_region_pos, err, errlen, "page_table_region must be page-aligned");
	if (nw_pt_init(&pt, fmt, (struct nw_pt_mem){ .ops = &pool_ops, .ctx = &pool }, NULL) != NW_OK) {
		free(pool.freed);
		return fail(sc, sc->pt_region_pos, err, errlen, "page_table_region: %s",
			    pool.failed ? "not RAM of any region" : "empty");
	}
	for (size_t i = 0; i < sc->mapping_count && !rc; i++)
		rc = map_one(sc, &sc->mappings[i], &pt, &pool, err, errlen);
	/* The tables live on in guest memory, owned by the address space: the
	 * engine's handle is dropped, not destroyed. CR3 keeps its flag bits. */
	vm->cpu.cr3 = pt.root | (vm->cpu.cr3 & (nw_cpu_paging_mode(&vm->cpu) == NW_PAGING_PAE ? 0x1f : NW_PAGE_MASK));
	free(pool.freed);
	return rc;
}
