/* `nestwalk mappings SCENARIO --stage ept [--json]`: every present
 * second-stage mapping of the scenario's VM, one line per range, adjacent
 * pages merged when they continue each other in both GPA and HPA with the
 * same rights and memory type (as QEMU's `info mem` merges pages). */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "guest_mappings.h"
#include "scenario.h"

struct range {
	bool open;
	uint64_t gpa, hpa, size;
	uint64_t page_size; /* of the pages merged, when they all have one size; else 0 */
	uint32_t rights;
	uint8_t memory_type;
};

struct printer {
	bool json;
	bool first;
	unsigned lines;
	struct range cur;
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

	if (!r->open)
		return;
	if (p->json)
		printf("%s\n  {\"gpa\": \"0x%llx\", \"gpa_end\": \"0x%llx\", \"hpa\": \"0x%llx\", "
		       "\"size\": \"0x%llx\", \"page_size\": \"0x%llx\", \"rights\": \"%s\", \"memory_type\": \"%s\"}",
		       p->first ? "" : ",", (unsigned long long)r->gpa, (unsigned long long)(r->gpa + r->size),
		       (unsigned long long)r->hpa, (unsigned long long)r->size, (unsigned long long)r->page_size,
		       rights, memory_type_name(r->memory_type));
	else
		printf("%016llx-%016llx %016llx %016llx %s %s %s\n", (unsigned long long)r->gpa,
		       (unsigned long long)(r->gpa + r->size), (unsigned long long)r->hpa, (unsigned long long)r->size,
		       r->page_size == NW_SIZE_1G ? "1G" : r->page_size == NW_SIZE_2M ? "2M"
						 : r->page_size == NW_PAGE_SIZE ? "4K" : "mixed",
		       rights, memory_type_name(r->memory_type));
	p->first = false;
	p->lines++;
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

	if (continues(&p->cur, m)) {
		p->cur.size += m->size;
		if (p->cur.page_size != m->size)
			p->cur.page_size = 0;
		return;
	}
	flush(p);
	p->cur = (struct range){ .open = true, .gpa = m->gpa.val, .hpa = m->hpa.val, .size = m->size,
				 .page_size = m->size, .rights = m->rights, .memory_type = m->memory_type };
}

static int usage(void)
{
	fprintf(stderr, "usage: nestwalk mappings SCENARIO --stage ept|guest [--json]\n");
	return NW_EXIT_BAD_INPUT;
}

int nw_cmd_mappings(int argc, char **argv)
{
	struct printer printer = { .first = true };
	const char *path = NULL;
	struct nw_scenario scenario;
	bool has_stage = false, guest = false;
	uint64_t leaked;
	struct nw_vm vm;
	char err[512];

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json")) {
			printer.json = true;
		} else if (!strcmp(argv[i], "--stage")) {
			if (i + 1 < argc && !strcmp(argv[i + 1], "guest"))
				guest = true;
			else if (i + 1 >= argc || strcmp(argv[i + 1], "ept")) {
				fprintf(stderr, "nestwalk mappings: --stage takes 'ept' (the second stage) or 'guest'\n");
				return usage();
			}
			has_stage = true;
			i++;
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
		return nw_guest_mappings_command(path, printer.json);
	if (nw_scenario_load(path, &scenario, err, sizeof(err)) || nw_vm_build(&scenario, &vm, err, sizeof(err))) {
		fprintf(stderr, "nestwalk mappings: %s\n", err);
		nw_scenario_free(&scenario);
		return NW_EXIT_BAD_INPUT;
	}
	if (printer.json)
		printf("[");
	else
		printf("%-16s-%-16s %-16s %-16s %-5s %-4s %s\n", "gpa", "gpa end", "hpa", "size", "page", "rwxu",
		       "type");
	nw_aspace_visit_mappings(&vm.aspace, add_page, &printer);
	flush(&printer);
	if (printer.json)
		printf("%s]\n", printer.lines ? "\n" : "");
	leaked = nw_vm_destroy(&scenario, &vm);
	nw_scenario_free(&scenario);
	return leaked ? NW_EXIT_MISMATCH : NW_EXIT_OK;
}
