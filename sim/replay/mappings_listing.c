/* The bounded `nestwalk mappings` listing (mappings_listing.h). */
#include <inttypes.h>
#include <string.h>

#include "replay/mappings_listing.h"
#include "scenario/scenario.h"

void nw_listing_begin(struct nw_listing *l, FILE *out, bool json, uint64_t limit, const char *header)
{
	*l = (struct nw_listing){ .out = out, .json = json, .limit = limit };
	if (json)
		fprintf(out, "{\"ranges\": [");
	else
		fprintf(out, "%s\n", header);
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

int nw_listing_parse_limit(const char *text, uint64_t *limit)
{
	if (!text || nw_scenario_parse_u64(text, strlen(text), limit)) {
		fprintf(stderr, "nestwalk mappings: --limit takes a number of ranges (0: no limit), not '%s'\n",
			text ? text : "");
		return -1;
	}
	return 0;
}
