/* The image's outcome lines (hw/runner.h) read back, and each turned into a
 * trace expectation in the scenario's own addresses. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nestwalk/walk.h>

#include "hw/hw_run.h"

static const char *skip_space(const char *p)
{
	while (*p == ' ')
		p++;
	return p;
}

/* One number of the line; false when there is none. */
static bool number(const char **p, uint64_t *out)
{
	char *end;

	*p = skip_space(*p);
	*out = strtoull(*p, &end, 0);
	if (end == *p)
		return false;
	*p = end;
	return true;
}

static bool word_is(const char **p, const char *word)
{
	size_t n = strlen(word);

	if (strncmp(*p, word, n) || ((*p)[n] != ' ' && (*p)[n] != '\0' && (*p)[n] != '\n'))
		return false;
	*p += n;
	return true;
}

/* One value of a VMX line: a number, or "-" (not defined: bit i of unknown). */
static bool vmx_value(const char **p, uint64_t *out, unsigned i, unsigned *unknown)
{
	*p = skip_space(*p);
	if (**p == '-') {
		(*p)++;
		*unknown |= 1u << i;
		*out = 0;
		return true;
	}
	return number(p, out);
}

/* What follows the id: "c" lines of hw/runner.h, hw/aarch64/main.c and hw/riscv64/main.c, "v" lines of
 * hw/contract/ept_case.h. */
static void parse_kind(const char *p, const struct nw_hw_backend *backend, struct nw_hw_outcome *o)
{
	bool vmx = backend->vmx, dashes = vmx || backend->aarch64 || backend->riscv64;

	o->kind = NW_HW_OTHER;
	if (word_is(&p, "ok") && (dashes ? vmx_value(&p, &o->a, 0, &o->unknown) : number(&p, &o->a)))
		o->kind = NW_HW_OK;
	else if (backend->aarch64 && word_is(&p, "abort") && number(&p, &o->a) && number(&p, &o->b) &&
		 vmx_value(&p, &o->c, 2, &o->unknown))
		o->kind = NW_HW_ABORT;
	else if (backend->riscv64 && word_is(&p, "trap") && number(&p, &o->a) && number(&p, &o->b) &&
		 number(&p, &o->c) && number(&p, &o->d) && number(&p, &o->e))
		o->kind = NW_HW_RV_TRAP;
	else if (word_is(&p, "pf") && number(&p, &o->a) && number(&p, &o->b))
		o->kind = NW_HW_PF;
	else if (!vmx && word_is(&p, "gp"))
		o->kind = NW_HW_GP;
	else if (!vmx && word_is(&p, "npf") && number(&p, &o->a) && number(&p, &o->b))
		o->kind = NW_HW_NPF;
	else if (!vmx && word_is(&p, "unsupported"))
		o->kind = NW_HW_UNSUPPORTED;
	else if (vmx && word_is(&p, "eptv") && number(&p, &o->a) && number(&p, &o->b) &&
		 vmx_value(&p, &o->c, 2, &o->unknown))
		o->kind = NW_HW_EPTV;
	else if (vmx && word_is(&p, "misconfig") && number(&p, &o->a))
		o->kind = NW_HW_MISCONFIG;
}

static void parse_line(const char *line, const struct nw_hw_backend *backend, struct nw_hw_outcome *out,
		       size_t count)
{
	const char *p = line + 2, *rest;
	struct nw_hw_outcome o = { .kind = NW_HW_OTHER };
	uint64_t id;
	size_t n;

	if (!number(&p, &id) || id >= count)
		return;
	p = skip_space(p);
	if (*p == '\0' || *p == '\n')
		return; /* the case never ended (a boot stopped inside it) */
	rest = p;
	parse_kind(p, backend, &o);
	if (o.kind == NW_HW_UNSUPPORTED)
		rest = skip_space(p + strlen("unsupported"));
	n = strcspn(rest, "\n");
	snprintf(o.text, sizeof(o.text), "%.*s", (int)(n < sizeof(o.text) - 1 ? n : sizeof(o.text) - 1), rest);
	out[id] = o;
}

void nw_hw_outcomes_parse(const char *output, const struct nw_hw_backend *backend, struct nw_hw_outcome *out,
			  size_t count)
{
	char tag = backend->vmx ? 'v' : 'c';

	for (const char *line = output; line && *line;) {
		const char *next = strchr(line, '\n');

		if (line[0] == tag && line[1] == ' ')
			parse_line(line, backend, out, count);
		line = next ? next + 1 : NULL;
	}
}

unsigned nw_hw_output_maxphyaddr(const char *output)
{
	const char *p = output ? strstr(output, "maxphyaddr=") : NULL;

	return p ? (unsigned)strtoul(p + strlen("maxphyaddr="), NULL, 10) : 0;
}

/* The scenario's GPA of a physical address in the case's leaf page, plus the
 * bytes the image's alignment of the GVA dropped. */
static bool leaf_gpa_of(const struct nw_hw_case *c, uint64_t pa, uint64_t *gpa)
{
	if (!c->has_leaf || pa < c->leaf_pa || pa - c->leaf_pa >= c->leaf_size)
		return false;
	*gpa = c->leaf_gpa + (pa - c->leaf_pa) + (c->access.gva.val & 7);
	return true;
}

/* A guest-table #NPF's EXITINFO2 is the entry's address in the image's table;
 * only a table whose nested page an edit restricts can fault, so the first
 * such table (walk order) with an entry at that offset is the one. */
static bool table_gpa_of(const struct nw_hw_case *c, uint64_t info2, uint64_t *gpa)
{
	for (unsigned i = 0; i < c->table_count; i++) {
		if (c->table_edited[i] && c->run_offset[i] == (info2 & NW_PAGE_MASK)) {
			*gpa = c->table_gpa[i] + c->offset[i];
			return true;
		}
	}
	return false;
}

/* A guest #PF, the same on every backend: its error code, with CR2 checked
 * against where the case's access ran. */
bool nw_hw_observe_pf(const struct nw_hw_case *c, const struct nw_hw_outcome *o, struct nw_trace_expect *e,
		      char *problem, size_t len)
{
	if (o->b != c->run_gva) {
		snprintf(problem, len, "#PF with CR2 0x%" PRIx64 " where the access was at 0x%" PRIx64, o->b,
			 c->run_gva);
		return false;
	}
	e->outcome = NW_TRACE_OUT_PAGE_FAULT;
	e->error_code = o->a;
	e->present |= 1u << NW_EXPECT_ERROR_CODE;
	return true;
}

bool nw_hw_observe(const struct nw_hw_case *c, const struct nw_hw_outcome *o, struct nw_trace_expect *e,
		   char *problem, size_t len)
{
	uint64_t gpa;

	*e = (struct nw_trace_expect){ .present = 1u << NW_EXPECT_OUTCOME };
	switch (o->kind) {
	case NW_HW_OK:
		if (!leaf_gpa_of(c, o->a, &gpa)) {
			snprintf(problem, len, "completed at physical 0x%" PRIx64 ", outside the case's leaf page", o->a);
			return false;
		}
		e->outcome = NW_TRACE_OUT_OK;
		e->gpa = nw_gpa(gpa);
		e->present |= 1u << NW_EXPECT_GPA;
		return true;
	case NW_HW_PF:
		return nw_hw_observe_pf(c, o, e, problem, len);
	case NW_HW_GP:
		e->outcome = NW_TRACE_OUT_GENERAL_PROTECTION;
		return true;
	case NW_HW_NPF:
		if (!((o->a & NW_NPF_GUEST_TABLE) ? table_gpa_of(c, o->b, &gpa) : leaf_gpa_of(c, o->b, &gpa))) {
			snprintf(problem, len, "#NPF at 0x%" PRIx64 " (EXITINFO1 0x%" PRIx64 "), no page of the case",
				 o->b, o->a);
			return false;
		}
		e->outcome = NW_TRACE_OUT_NPF;
		e->error_code = o->a;
		e->fault_gpa = nw_gpa(gpa);
		e->present |= (1u << NW_EXPECT_ERROR_CODE) | (1u << NW_EXPECT_FAULT_GPA);
		return true;
	case NW_HW_NONE:
		snprintf(problem, len, "no outcome line for the case");
		return false;
	case NW_HW_UNSUPPORTED:
	case NW_HW_HOST_LIMIT:
	case NW_HW_EPTV:
	case NW_HW_MISCONFIG:
	case NW_HW_ABORT:
	case NW_HW_RV_TRAP:
	case NW_HW_OTHER:
		break;
	}
	snprintf(problem, len, "the backend reported '%s'", o->text);
	return false;
}
