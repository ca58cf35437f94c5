#include <nestwalk/assert.h>

#include "aspace_ledger.h"

/* One ledger page. Only the newest page (as->ledger) may be partly filled: a
 * removal moves the newest entry into the hole, so older pages stay full. */
#define LEDGER_SLOTS 255

struct ledger_entry {
	uint64_t gpa, hpa;
};

struct ledger_page {
	uint64_t next; /* HPA of the next older page, 0 at the end */
	uint64_t count;
	struct ledger_entry slot[LEDGER_SLOTS];
};

_Static_assert(sizeof(struct ledger_page) == NW_PAGE_SIZE, "a ledger page is one frame");

static struct ledger_page *page_at(const struct nw_aspace *as, nw_hpa_t pa)
{
	struct ledger_page *page = nw_hal_phys_to_virt(as->hal, pa);

	/* The ledger is the library's own memory: a hole in it is a HAL bug. */
	NW_ASSERT(page != 0);
	return page;
}

nw_status_t nw_ledger_add(struct nw_aspace *as, nw_gpa_t gpa, nw_hpa_t hpa)
{
	struct ledger_page *head = as->ledger.val ? page_at(as, as->ledger) : 0;

	if (!head || head->count == LEDGER_SLOTS) {
		nw_hpa_t fresh;

		if (!nw_hal_alloc_frame(as->hal, &fresh))
			return NW_ERR_NOMEM;
		NW_ASSERT(fresh.val != 0 && nw_is_page_aligned(fresh.val));
		head = page_at(as, fresh);
		head->next = as->ledger.val;
		head->count = 0;
		as->ledger = fresh;
	}
	head->slot[head->count++] = (struct ledger_entry){ gpa.val, hpa.val };
	as->frame_count++;
	return NW_OK;
}

/* Moves the newest entry into *hole and shrinks the ledger by one, freeing
 * the newest page when it empties. */
static void remove_entry(struct nw_aspace *as, struct ledger_entry *hole)
{
	struct ledger_page *head = page_at(as, as->ledger);

	*hole = head->slot[--head->count];
	as->frame_count--;
	if (head->count == 0) {
		nw_hpa_t empty = as->ledger;

		as->ledger = nw_hpa(head->next);
		nw_hal_dealloc_frame(as->hal, empty);
	}
}

static bool in_range(uint64_t gpa, nw_gpa_t base, uint64_t size)
{
	return gpa >= base.val && gpa - base.val < size;
}

void nw_ledger_drop_range(struct nw_aspace *as, nw_gpa_t base, uint64_t size,
			  void (*drop)(struct nw_aspace *as, nw_gpa_t gpa, nw_hpa_t hpa))
{
	nw_hpa_t pa = as->ledger;

	/* Newest to oldest: the entry a removal moves in has been seen already. */
	while (pa.val) {
		struct ledger_page *page = page_at(as, pa);
		nw_hpa_t older = nw_hpa(page->next);

		for (uint64_t i = page->count; i-- > 0;) {
			struct ledger_entry entry = page->slot[i];

			if (!in_range(entry.gpa, base, size))
				continue;
			remove_entry(as, &page->slot[i]);
			drop(as, nw_gpa(entry.gpa), nw_hpa(entry.hpa));
		}
		pa = older;
	}
}

/* The entry recording the page that holds addr: a frame (by_hpa) or a guest page; NULL when none. */
static const struct ledger_entry *find_entry(const struct nw_aspace *as, bool by_hpa, uint64_t addr)
{
	uint64_t page = addr & ~NW_PAGE_MASK;

	for (nw_hpa_t pa = as->ledger; pa.val;) {
		const struct ledger_page *ledger = page_at(as, pa);

		for (uint64_t i = 0; i < ledger->count; i++)
			if ((by_hpa ? ledger->slot[i].hpa : ledger->slot[i].gpa) == page)
				return &ledger->slot[i];
		pa = nw_hpa(ledger->next);
	}
	return 0;
}

bool nw_ledger_find_hpa(const struct nw_aspace *as, nw_hpa_t hpa, nw_gpa_t *gpa)
{
	const struct ledger_entry *entry = find_entry(as, true, hpa.val);

	if (entry)
		*gpa = nw_gpa(entry->gpa | (hpa.val & NW_PAGE_MASK));
	return entry != 0;
}

bool nw_ledger_find_gpa(const struct nw_aspace *as, nw_gpa_t gpa, nw_hpa_t *frame)
{
	const struct ledger_entry *entry = find_entry(as, false, gpa.val);

	if (entry)
		*frame = nw_hpa(entry->hpa);
	return entry != 0;
}
