/* The bounded `nestwalk mappings` listing (mappings_listing.h). */
#include <inttypes.h>
#include <string.h>

#include <nestwalk/addr.h>

#include "io/json_out.h"
#include "replay/mappings_listing.h"

void nw_listing_begin(struct nw_listing *l, FILE *out, bool json, uint64_t limit, const char *stage,
		      const char *legend, const char *columns)
{
	*l = (struct nw_listing){ .out = out, .json = json, .limit = limit };
	if (json)
		fprintf(out, "{\"schema\": %d, \"stage\": \"%s\", \"ranges\": [", NW_JSON_SCHEMA, stage);
	else
		fprintf(out, "# %s\n%s\n", legend, columns);
}

const char *nw_listing_page_name(uint64_t size)
{
	switch (size) {
	case NW_PAGE_SIZE: return "4K";
	case UINT64_C(0x4000):
		return "16K";
	case UINT64_C(0x10000):
		return "64K";
	case NW_SIZE_2M: return "2M";
	case NW_SIZE_4M: return "4M";
	case UINT64_C(0x2000000):
		return "32M";
	case UINT64_C(0x20000000):
		return "512M";
	case NW_SIZE_1G: return "1G";
	}
	return "?"; /* no leaf has another size */
}

bool nw_listing_admit(struct nw_listing *l)
{
	if (l->limit && l->ranges >= l->limit) {
		l->cut = true;
		return false;
	}
	l->ranges++;
	return true;
}

const char *nw_listing_item(struct nw_listing *l, uint64_t pages, uint64_t bytes)
{
	const char *separator = l->json && l->printed ? "," : "";

	l->printed++;
	l->listed_pages += pages;
	l->listed_bytes += bytes;
	return separator;
}

void nw_listing_end(struct nw_listing *l, uint64_t total_pages, uint64_t total_bytes)
{
	uint64_t cut_pages = total_pages - l->listed_pages, cut_bytes = total_bytes - l->listed_bytes;
	char line[160];

	snprintf(line, sizeof(line),
		 "listing cut at --limit %" PRIu64 " ranges: %" PRIu64 " more page(s), 0x%" PRIx64 " bytes, not listed",
		 l->limit, cut_pages, cut_bytes);
	if (l->json)
		fprintf(l->out, "%s], \"limit\": %" PRIu64 ", \"truncated\": %s, \"cut_pages\": %" PRIu64
				", \"cut_bytes\": \"0x%" PRIx64 "\"}\n",
			l->printed ? "\n" : "", l->limit, l->cut ? "true" : "false", cut_pages, cut_bytes);
	else if (l->cut)
		fprintf(l->out, "%s\n", line);
	if (l->cut)
		fprintf(stderr, "nestwalk mappings: %s\n", line);
}
