/* `nestwalk mappings SCENARIO --stage ept [--json] [--limit N]`: every present
 * second-stage mapping of the scenario's VM, one line per range, adjacent
 * pages merged when they continue each other in both GPA and HPA with the
 * same rights and memory type (as QEMU's `info mem` merges pages); at most
 * --limit ranges (mappings_listing.h). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "replay/guest_mappings.h"
#include "replay/mappings_listing.h"
#include "replay/replay.h"

struct range {
	bool open;
	uint64_t gpa, hpa, size, pages;
	uint64_t page_size; /* of the pages merged, when they all have one size; else 0 */
	uint32_t rights;
	uint8_t memory_type;
};

struct printer {
	struct nw_listing listing;
	struct range cur;
	uint64_t pages, bytes; /* every leaf visited: the library's visit cannot be stopped, so all are counted */
};

static const char *memory_type_name(uint8_t type)
{
	static const char *const names[8] = { "UC", "WC", "reserved2", "reserved3", "WT", "WP", "WB", "UC-" };

	return names[type & 7];
}

static void flush(struct printer *p)
{
	const struct range *r = &p->cur;
	char rights[5] = { r->rights & NW_S2_RIGHT_R ? 'r' : '-', r->rights & NW_S2_RIGHT_W ? 'w' : '-',
			   r->rights & NW_S2_RIGHT_X ? 'x' : '-', r->rights & NW_S2_RIGHT_UX ? 'u' : '-', '\0' };
	const char *separator;

	if (!r->open)
		return;
	separator = nw_listing_item(&p->listing, r->pages, r->size);
	if (p->listing.json)
		fprintf(p->listing.out, "%s\n  {\"gpa\": \"0x%" PRIx64 "\", \"gpa_end\": \"0x%" PRIx64 "\", \"hpa\": \"0x%"
					PRIx64 "\", \"size\": \"0x%" PRIx64 "\", \"page_size\": \"0x%" PRIx64
					"\", \"rights\": \"%s\", \"memory_type\": \"%s\"}",
			separator, r->gpa, r->gpa + r->size, r->hpa, r->size, r->page_size, rights,
			memory_type_name(r->memory_type));
	else
		fprintf(p->listing.out, "%016" PRIx64 "-%016" PRIx64 " %016" PRIx64 " %016" PRIx64 " %s %s %s\n", r->gpa,
			r->gpa + r->size, r->hpa, r->size,
			r->page_size == NW_SIZE_1G ? "1G" : r->page_size == NW_SIZE_2M ? "2M"
						  : r->page_size == NW_PAGE_SIZE ? "4K" : "mixed",
			rights, memory_type_name(r->memory_type));
	p->cur.open = false;
}

static bool continues(const struct range *r, const struct nw_aspace_mapping *m)
{
	return r->open && r->gpa + r->size == m->gpa.val && r->hpa + r->size == m->hpa.val && r->rights == m->rights &&
	       r->memory_type == m->memory_type;
}

static void add_page(void *ctx, const struct nw_aspace_mapping *m)
{
	struct printer *p = ctx;

	p->pages++;
	p->bytes += m->size;
	if (p->listing.cut)
		return;
	if (continues(&p->cur, m)) {
		p->cur.size += m->size;
		p->cur.pages++;
		if (p->cur.page_size != m->size)
			p->cur.page_size = 0;
		return;
	}
	flush(p);
	if (nw_listing_admit(&p->listing))
		p->cur = (struct range){ .open = true, .gpa = m->gpa.val, .hpa = m->hpa.val, .size = m->size,
					 .pages = 1, .page_size = m->size, .rights = m->rights,
					 .memory_type = m->memory_type };
}

static int usage(void)
{
	fprintf(stderr, "usage: nestwalk mappings SCENARIO --stage ept|guest [--json] [--limit N]\n");
	return NW_EXIT_BAD_INPUT;
}

int nw_cmd_mappings(int argc, char **argv)
{
	struct printer printer = { 0 };
	const char *path = NULL;
	struct nw_replay_target target;
	bool has_stage = false, guest = false, json = false;
	uint64_t leaked, limit = NW_LISTING_DEFAULT_LIMIT;
	char header[128], err[1024];

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json")) {
			json = true;
		} else if (!strcmp(argv[i], "--stage")) {
			if (i + 1 < argc && !strcmp(argv[i + 1], "guest"))
				guest = true;
			else if (i + 1 >= argc || strcmp(argv[i + 1], "ept")) {
				fprintf(stderr, "nestwalk mappings: --stage takes 'ept' (the second stage) or 'guest'\n");
				return usage();
			}
			has_stage = true;
			i++;
		} else if (!strcmp(argv[i], "--limit")) {
			if (nw_listing_parse_limit(i + 1 < argc ? argv[++i] : NULL, &limit))
				return usage();
		} else if (argv[i][0] == '-' || path) {
			fprintf(stderr, "nestwalk mappings: unexpected argument '%s'\n", argv[i]);
			return usage();
		} else {
			path = argv[i];
		}
	}
	if (!path || !has_stage)
		return usage();
	if (guest)
		return nw_guest_mappings_command(path, json, limit);
	/* The machine every command builds from a scenario (replay.h). */
	if (nw_replay_target_open(path, &target, err, sizeof(err))) {
		fprintf(stderr, "nestwalk mappings: %s\n", err);
		return NW_EXIT_BAD_INPUT;
	}
	if (!target.machine.aspace) {
		fprintf(stderr, "nestwalk mappings: %s: a memory dump has no second stage (guest-physical = "
				"host-physical): --stage guest lists its mappings\n", path);
		nw_replay_target_close(&target);
		return NW_EXIT_BAD_INPUT;
	}
	snprintf(header, sizeof(header), "%-16s-%-16s %-16s %-16s %-5s %-4s %s", "gpa", "gpa end", "hpa", "size", "page",
		 "rwxu", "type");
	nw_listing_begin(&printer.listing, stdout, json, limit, header);
	nw_aspace_visit_mappings(target.machine.aspace, add_page, &printer);
	flush(&printer);
	nw_listing_end(&printer.listing, printer.pages, printer.bytes);
	leaked = nw_replay_target_close(&target);
	return leaked ? NW_EXIT_MISMATCH : NW_EXIT_OK;
}
