/* Guest mappings merged into ranges and printed, and the `mappings --stage
 * guest` command on a scenario's VM or memory dump (guest_mappings.h). */
#include <inttypes.h>
#include <string.h>

#include "cli/cli.h"
#include "replay/guest_mappings.h"
#include "replay/replay.h"

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

static bool read_machine(void *ctx, uint64_t gpa, uint64_t *value)
{
	const struct nw_replay_machine *m = ctx;
	const uint8_t *bytes;

	if (m->aspace)
		return nw_aspace_read(m->aspace, nw_gpa(gpa), value, sizeof(*value)) == NW_OK;
	bytes = nw_memdump_ptr(m->dump, gpa, sizeof(*value));
	if (!bytes)
		return false;
	memcpy(value, bytes, sizeof(*value)); /* x86 guest memory is little-endian, as this host */
	return true;
}

int nw_guest_mappings_command(const char *scenario_path, bool json, uint64_t limit)
{
	struct nw_guest_range_printer printer;
	struct nw_replay_target target;
	struct nw_guest_walk_stats stats;
	char err[1024];
	int rc;

	if (nw_replay_target_open(scenario_path, &target, err, sizeof(err))) {
		fprintf(stderr, "nestwalk mappings: %s\n", err);
		return NW_EXIT_BAD_INPUT;
	}
	nw_guest_range_begin(&printer, stdout, json, limit);
	rc = nw_guest_mappings_visit(&target.machine.cpu, read_machine, &target.machine, nw_guest_range_add, &printer,
				     &stats, err, sizeof(err));
	nw_guest_range_end(&printer, &stats);
	if (rc)
		fprintf(stderr, "nestwalk mappings: %s\n", err);
	if (!rc && stats.unreadable)
		fprintf(stderr, "nestwalk mappings: %" PRIu64 " table entries lie in memory nothing backs (skipped)\n",
			stats.unreadable);
	if (!rc && stats.reserved_xd)
		fprintf(stderr, "nestwalk mappings: %" PRIu64 " paging entries have bit 63 (XD) set while EFER.NXE=0: "
				"a reserved bit, so every access through them faults (not listed)\n", stats.reserved_xd);
	if (nw_replay_target_close(&target) && !rc)
		return NW_EXIT_MISMATCH;
	return rc ? NW_EXIT_BAD_INPUT : NW_EXIT_OK;
}
