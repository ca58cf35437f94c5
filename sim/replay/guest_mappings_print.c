/* Guest mappings merged into ranges and printed (guest_mappings.h). */
#include <inttypes.h>

#include <nestwalk/addr.h>

#include "replay/guest_mappings.h"

static bool same_flags(const struct nw_guest_mapping *a, const struct nw_guest_mapping *b)
{
	return a->user == b->user && a->write == b->write && a->nx == b->nx && a->global == b->global &&
	       a->accessed == b->accessed && a->dirty == b->dirty;
}

static const char *page_name(uint64_t size)
{
	switch (size) {
	case NW_PAGE_SIZE: return "4K";
	case NW_SIZE_2M: return "2M";
	case NW_SIZE_4M: return "4M";
	case NW_SIZE_1G: return "1G";
	}
	return "mixed";
}

static void flush(struct nw_guest_range_printer *p)
{
	const struct nw_guest_mapping *r = &p->cur;
	FILE *out = p->listing.out;
	const char *separator;

	if (!p->open)
		return;
	separator = nw_listing_item(&p->listing, p->pages, r->size);
	if (p->listing.json)
		fprintf(out, "%s\n  {\"va\": \"0x%" PRIx64 "\", \"va_end\": \"0x%" PRIx64 "\", \"pa\": \"0x%" PRIx64
			     "\", \"size\": \"0x%" PRIx64 "\", \"page_size\": \"0x%" PRIx64 "\", \"user\": %s, "
			     "\"write\": %s, \"nx\": %s, \"global\": %s, \"accessed\": %s, \"dirty\": %s}",
			separator, r->va, r->va + r->size, r->pa, r->size, p->page_size, r->user ? "true" : "false",
			r->write ? "true" : "false", r->nx ? "true" : "false", r->global ? "true" : "false",
			r->accessed ? "true" : "false", r->dirty ? "true" : "false");
	else /* flag letters as QEMU's `info tlb` prints them: X is execute-disable */
		fprintf(out, "%016" PRIx64 "-%016" PRIx64 " %016" PRIx64 " %016" PRIx64 " %-5s %c%c%c%c%c%c\n", r->va,
			r->va + r->size, r->pa, r->size, page_name(p->page_size), r->user ? 'U' : '-',
			r->write ? 'W' : '-', r->nx ? 'X' : '-', r->global ? 'G' : '-', r->accessed ? 'A' : '-',
			r->dirty ? 'D' : '-');
	p->open = false;
}

void nw_guest_range_begin(struct nw_guest_range_printer *p, FILE *out, bool json, uint64_t limit)
{
	char header[128];

	snprintf(header, sizeof(header), "%-16s-%-16s %-16s %-16s %-5s %s", "virtual", "virtual end", "physical",
		 "size", "page", "UWXGAD");
	*p = (struct nw_guest_range_printer){ 0 };
	nw_listing_begin(&p->listing, out, json, limit, header);
}

bool nw_guest_range_add(void *printer, const struct nw_guest_mapping *m)
{
	struct nw_guest_range_printer *p = printer;
	struct nw_guest_mapping *r = &p->cur;

	if (p->open && r->va + r->size == m->va && r->pa + r->size == m->pa && same_flags(r, m)) {
		r->size += m->size;
		p->pages++;
		if (p->page_size != m->size)
			p->page_size = 0;
		return true;
	}
	flush(p);
	if (!nw_listing_admit(&p->listing))
		return false;
	p->cur = *m;
	p->page_size = m->size;
	p->pages = 1;
	p->open = true;
	return true;
}

void nw_guest_range_end(struct nw_guest_range_printer *p, const struct nw_guest_walk_stats *stats)
{
	flush(p);
	nw_listing_end(&p->listing, stats->leaves, stats->bytes);
}
