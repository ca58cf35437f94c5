/* Guest mappings merged into ranges and printed (guest_mappings.h). */
#include <inttypes.h>

#include <nestwalk/addr.h>

#include "replay/guest_mappings.h"
#include "replay/walk_print.h"

static bool same_flags(const struct nw_guest_mapping *a, const struct nw_guest_mapping *b)
{
	return a->user == b->user && a->write == b->write && a->nx == b->nx && a->global == b->global &&
	       a->accessed == b->accessed && a->dirty == b->dirty;
}

/* Rights in the one notation (walk_print.h): a present page reads; X is the absence of execute-disable. */
static const char *rights_text(const struct nw_guest_mapping *r, char out[NW_RIGHTS_TEXT])
{
	return nw_guest_rights_text((r->write ? NW_WALK_RIGHT_W : 0) | (r->user ? NW_WALK_RIGHT_U : 0) |
					    (r->nx ? 0 : NW_WALK_RIGHT_X),
				    out);
}

static void flush(struct nw_guest_range_printer *p)
{
	const struct nw_guest_mapping *r = &p->cur;
	FILE *out = p->listing.out;
	const char *separator;
	char rights[NW_RIGHTS_TEXT];

	if (!p->open)
		return;
	separator = nw_listing_item(&p->listing, p->pages, r->size);
	rights_text(r, rights);
	if (p->listing.json)
		fprintf(out, "%s\n  {\"gva\": \"0x%" PRIx64 "\", \"gva_end\": \"0x%" PRIx64 "\", \"gpa\": \"0x%" PRIx64
			     "\", \"size\": \"0x%" PRIx64 "\", \"page_size\": \"0x%" PRIx64 "\", \"pages\": %" PRIu64
			     ", \"rights\": \"%s\", \"global\": %s, \"accessed\": %s, \"dirty\": %s}",
			separator, r->va, r->va + r->size, r->pa, r->size, p->page_size, p->pages, rights,
			r->global ? "true" : "false", r->accessed ? "true" : "false", r->dirty ? "true" : "false");
	else
		fprintf(out, "%016" PRIx64 "-%016" PRIx64 " %016" PRIx64 " %016" PRIx64 " %-4s %-6s %c%c%c\n", r->va,
			r->va + r->size, r->pa, r->size, nw_listing_page_name(p->page_size), rights,
			r->global ? 'g' : '-', r->accessed ? 'a' : '-', r->dirty ? 'd' : '-');
	p->open = false;
}

void nw_guest_range_begin(struct nw_guest_range_printer *p, FILE *out, bool json, uint64_t limit)
{
	char columns[128];

	snprintf(columns, sizeof(columns), "%-33s %-16s %-16s %-4s %-6s %s", "gva-gva_end", "gpa", "size", "page",
		 "rights", "flags");
	*p = (struct nw_guest_range_printer){ 0 };
	nw_listing_begin(&p->listing, out, json, limit, "guest",
			 "page: the size of every leaf in the range; rights: r read, w write, x execute (no XD), "
			 "u user (U/S=1); flags: g global, a accessed, d dirty",
			 columns);
}

bool nw_guest_range_add(void *printer, const struct nw_guest_mapping *m)
{
	struct nw_guest_range_printer *p = printer;
	struct nw_guest_mapping *r = &p->cur;

	if (p->open && r->va + r->size == m->va && r->pa + r->size == m->pa && p->page_size == m->size &&
	    same_flags(r, m)) {
		r->size += m->size;
		p->pages++;
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
