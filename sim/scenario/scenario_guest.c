#include <stdlib.h>

#include <nestwalk/pt_build.h>

#include "io/grow.h"
#include "scenario/scenario_guest.h"

/* The builder's mode for the paging mode the CPU state selects; -1 with paging off. */
static int gpt_mode(enum nw_paging_mode mode)
{
	switch (mode) {
	case NW_PAGING_32: return NW_GPT_32BIT;
	case NW_PAGING_PAE: return NW_GPT_PAE;
	case NW_PAGING_4LEVEL: return NW_GPT_4LEVEL;
	case NW_PAGING_5LEVEL: return NW_GPT_5LEVEL;
	case NW_PAGING_OFF: break;
	}
	return -1;
}

/* Table pages handed out from the page-table region, lowest first; pages the
 * engine gives back are reused. */
struct table_pool {
	struct nw_vm *vm;
	uint64_t base, size, next;
	uint64_t *freed;
	size_t freed_count, freed_cap;
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

	pool->freed = nw_grow(pool->freed, &pool->freed_cap, pool->freed_count, sizeof(*pool->freed));
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

/* The engine indexes a linear address by its low bits: 48 (57) for 4-level
 * (5-level) paging, whose upper half is the sign extension (§4.5). */
static uint64_t index_space(const struct nw_gpt *gpt, uint64_t gva)
{
	if (gpt->mode == NW_GPT_4LEVEL || gpt->mode == NW_GPT_5LEVEL)
		return gva & (nw_pt_va_limit(gpt->pt.fmt) - 1);
	return gva;
}

static const char *map_error(nw_status_t status, const struct table_pool *pool)
{
	if (pool->failed)
		return "the page-table region is not RAM of any region";
	switch (status) {
	case NW_ERR_NOMEM: return "page_table_region is full";
	case NW_ERR_RANGE: return "gva is not canonical or beyond this paging mode";
	case NW_ERR_INVALID: return "no such page size in this paging mode, or flags hold address bits";
	case NW_ERR_ALIGN: return "gva and gpa must be aligned to the page size";
	case NW_ERR_EXISTS: return "overlaps an earlier mapping";
	default: return nw_status_name(status);
	}
}

static int map_one(const struct nw_scenario *sc, const struct nw_scenario_mapping *m, struct nw_gpt *gpt,
		   struct table_pool *pool, char *err, size_t errlen)
{
	nw_status_t status;

	if ((m->gva | m->gpa) & (m->size - 1))
		return nw_scenario_fail(sc, m->pos, err, errlen, "gva and gpa must be aligned to the page size");
	status = nw_gpt_map(gpt, nw_gva(m->gva), nw_gpa(m->gpa), m->size, m->flags, NULL);
	if (status != NW_OK)
		return nw_scenario_fail(sc, m->pos, err, errlen, "guest mapping of gva 0x%llx: %s", (unsigned long long)m->gva,
			    map_error(status, pool));
	for (int l = NW_LEVEL_PT; l <= NW_MAX_LEVELS; l++) {
		struct nw_pt_leaf leaf;
		bool stale = false;
		uint64_t old;

		if (!m->level_set[l] && !m->level_clear[l])
			continue;
		if (nw_gpt_query(gpt, nw_gva(m->gva), &leaf) != NW_OK || l > gpt->pt.fmt->top || l < leaf.level)
			return nw_scenario_fail(sc, m->pos, err, errlen, "level %d is not on the path of this mapping", l);
		status = nw_pt_edit(&gpt->pt, index_space(gpt, m->gva), l, m->level_clear[l], m->level_set[l], &old,
				    &stale);
		if (status != NW_OK)
			return nw_scenario_fail(sc, m->pos, err, errlen, "level-%d override: %s", l,
				    status == NW_ERR_INVALID ? "may not change a table address (bits below MAXPHYADDR) "
							       "or a page-size bit, nor empty the entry"
							     : nw_status_name(status));
	}
	return 0;
}

int nw_scenario_build_guest(const struct nw_scenario *sc, struct nw_vm *vm, char *err, size_t errlen)
{
	struct table_pool pool = { .vm = vm, .base = sc->pt_region_gpa, .size = sc->pt_region_size };
	enum nw_paging_mode paging = nw_cpu_paging_mode(&vm->cpu);
	int mode = gpt_mode(paging);
	struct nw_gpt gpt;
	int rc = 0;

	if (!sc->mapping_count)
		return 0;
	if (mode < 0)
		return nw_scenario_fail(sc, sc->mappings[0].pos, err, errlen, "guest mappings need paging: set cpu.mode");
	if (!sc->pt_region_size)
		return nw_scenario_fail(sc, sc->mappings[0].pos, err, errlen, "guest mappings need guest.page_table_region");
	if ((sc->pt_region_gpa | sc->pt_region_size) & NW_PAGE_MASK)
		return nw_scenario_fail(sc, sc->pt_region_pos, err, errlen, "page_table_region must be page-aligned");
	if (nw_gpt_create(&gpt, (enum nw_gpt_mode)mode, (struct nw_pt_mem){ .ops = &pool_ops, .ctx = &pool }) !=
	    NW_OK) {
		free(pool.freed);
		return nw_scenario_fail(sc, sc->pt_region_pos, err, errlen, "page_table_region: %s",
			    pool.failed ? "not RAM of any region" : "empty");
	}
	/* A table pointer's bits at or above MAXPHYADDR are reserved, not address: overrides may set them. */
	nw_pt_set_maxphyaddr(&gpt.pt, nw_cpu_maxphyaddr(&vm->cpu));
	for (size_t i = 0; i < sc->mapping_count && !rc; i++)
		rc = map_one(sc, &sc->mappings[i], &gpt, &pool, err, errlen);
	/* The tables live on in guest memory, which the address space owns: the
	 * builder's handle is dropped, not destroyed. CR3 keeps its flag bits. */
	vm->cpu.cr3 = nw_gpt_root(&gpt) | (vm->cpu.cr3 & (paging == NW_PAGING_PAE ? 0x1f : NW_PAGE_MASK));
	free(pool.freed);
	return rc;
}
