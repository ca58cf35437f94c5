/* The report of `nestwalk hw run`: what ran, what did not and why, what
 * matched the simulator, what a listed deviation explains, what nothing does;
 * as text or as one JSON object. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "hw/hw_run.h"
#include "io/json_out.h"

static const char *const access_names[] = { "read", "write", "fetch" };

bool nw_hw_report_not_run(struct nw_hw_report *rep, uint64_t record, const char *reason)
{
	struct nw_hw_not_run *n = NULL;

	rep->not_run_total++;
	for (size_t i = 0; i < rep->not_run_count && !n; i++)
		if (!strcmp(rep->not_run[i].reason, reason))
			n = &rep->not_run[i];
	if (!n) {
		struct nw_hw_not_run *grown = realloc(rep->not_run, (rep->not_run_count + 1) * sizeof(*grown));

		if (!grown)
			return false;
		rep->not_run = grown;
		n = &rep->not_run[rep->not_run_count++];
		memset(n, 0, sizeof(*n));
		snprintf(n->reason, sizeof(n->reason), "%s", reason);
	}
	if (n->count < NW_HW_LISTED)
		n->records[n->count] = record;
	n->count++;
	return true;
}

void nw_hw_report_explained(struct nw_hw_report *rep, const struct nw_hw_deviation *d, uint64_t record)
{
	struct nw_hw_explained *e = NULL;

	rep->explained_total++;
	for (size_t i = 0; i < rep->explained_count && !e; i++)
		if (rep->explained[i].deviation == d)
			e = &rep->explained[i];
	if (!e) {
		if (rep->explained_count == NW_HW_DEVIATION_ROWS)
			return;
		e = &rep->explained[rep->explained_count++];
		*e = (struct nw_hw_explained){ .deviation = d };
	}
	if (e->count < NW_HW_LISTED)
		e->records[e->count] = record;
	e->count++;
}

bool nw_hw_report_mismatch(struct nw_hw_report *rep, const struct nw_hw_mismatch *m)
{
	struct nw_hw_mismatch *grown = realloc(rep->mismatches, (rep->mismatch_count + 1) * sizeof(*grown));

	if (!grown)
		return false;
	rep->mismatches = grown;
	rep->mismatches[rep->mismatch_count++] = *m;
	return true;
}

void nw_hw_report_free(struct nw_hw_report *rep)
{
	free(rep->not_run);
	free(rep->mismatches);
	rep->not_run = NULL;
	rep->mismatches = NULL;
}

static void print_records(FILE *out, const uint64_t *records, uint64_t count)
{
	for (uint64_t i = 0; i < count && i < NW_HW_LISTED; i++)
		fprintf(out, "%s%" PRIu64, i ? ", " : "", records[i]);
	if (count > NW_HW_LISTED)
		fprintf(out, ", ...");
}

static void print_value(FILE *out, enum nw_trace_expect_field field, uint64_t value)
{
	if (field == NW_EXPECT_OUTCOME)
		fprintf(out, "%s", nw_replay_outcome_name((unsigned)value));
	else
		fprintf(out, "0x%" PRIx64, value);
}

static double cases_per_second(const struct nw_hw_report *rep)
{
	return rep->boot_seconds > 0 ? (double)rep->run / rep->boot_seconds : 0;
}

void nw_hw_report_print(FILE *out, const struct nw_hw_report *rep)
{
	if (rep->method) {
		fprintf(out, "hw run of %s on %s (image %s, output size %u bits)\n%s\n", rep->scenario, rep->backend,
			rep->image, rep->maxphyaddr, rep->method);
	} else {
		fprintf(out, "hw run of %s on %s (image %s, MAXPHYADDR %u)\n", rep->scenario, rep->backend, rep->image,
			rep->maxphyaddr);
		fprintf(out, "each case runs on fresh tables after a CR3 load: compared with the simulator's replay "
			     "without a TLB (--no-tlb)\n");
	}
	fprintf(out, "accesses %" PRIu64 ": run %" PRIu64 ", not run %" PRIu64 "\n", rep->accesses, rep->run,
		rep->not_run_total);
	for (size_t i = 0; i < rep->not_run_count; i++) {
		fprintf(out, "  not run (%" PRIu64 "): %s; record(s) ", rep->not_run[i].count, rep->not_run[i].reason);
		print_records(out, rep->not_run[i].records, rep->not_run[i].count);
		fputc('\n', out);
	}
	fprintf(out, "matched %" PRIu64 ", explained by a listed deviation %" PRIu64 ", unexplained mismatches %zu\n",
		rep->matched, rep->explained_total, rep->mismatch_count);
	for (size_t i = 0; i < rep->explained_count; i++) {
		fprintf(out, "  deviation %s (hw/DEVIATIONS.md, %s): %" PRIu64 "; record(s) ",
			rep->explained[i].deviation->id, rep->explained[i].deviation->summary, rep->explained[i].count);
		print_records(out, rep->explained[i].records, rep->explained[i].count);
		fputc('\n', out);
	}
	for (size_t i = 0; i < rep->mismatch_count; i++) {
		const struct nw_hw_mismatch *m = &rep->mismatches[i];

		fprintf(out, "  mismatch at record %" PRIu64 ": %s at gva 0x%" PRIx64 " cpl %u%s%s", m->record,
			access_names[m->access.type], m->access.gva.val, (unsigned)m->access.cpl,
			m->access.implicit ? " implicit" : "", m->access.ac ? " ac" : "");
		if (!m->count)
			fprintf(out, ": %s", m->problem);
		for (unsigned f = 0; f < m->count; f++) {
			fprintf(out, "%s %s: simulator ", f ? ";" : ":", nw_trace_expect_field_name(m->fields[f].field));
			print_value(out, m->fields[f].field, m->fields[f].got);
			fprintf(out, ", %s ", rep->backend);
			print_value(out, m->fields[f].field, m->fields[f].expected);
		}
		fputc('\n', out);
	}
	if (rep->leaked_frames)
		fprintf(out, "the simulated VM leaked %" PRIu64 " frame(s)\n", rep->leaked_frames);
	fprintf(out, "boot %.3f s for %" PRIu64 " case(s) in %u boot(s): %.1f cases/s\n", rep->boot_seconds, rep->run,
		rep->boots, cases_per_second(rep));
}

static void json_records(FILE *out, const uint64_t *records, uint64_t count)
{
	fputc('[', out);
	for (uint64_t i = 0; i < count && i < NW_HW_LISTED; i++)
		fprintf(out, "%s%" PRIu64, i ? ", " : "", records[i]);
	fputc(']', out);
}

static void json_value(FILE *out, enum nw_trace_expect_field field, uint64_t value)
{
	if (field == NW_EXPECT_OUTCOME)
		nw_json_string(out, nw_replay_outcome_name((unsigned)value));
	else
		fprintf(out, "%" PRIu64, value);
}

static void json_mismatch(FILE *out, const struct nw_hw_mismatch *m)
{
	fprintf(out, "{\"record\": %" PRIu64 ", \"gva\": %" PRIu64 ", \"type\": \"%s\", \"cpl\": %u, \"fields\": [",
		m->record, m->access.gva.val, access_names[m->access.type], (unsigned)m->access.cpl);
	for (unsigned f = 0; f < m->count; f++) {
		fprintf(out, "%s{\"field\": \"%s\", \"simulator\": ", f ? ", " : "",
			nw_trace_expect_field_name(m->fields[f].field));
		json_value(out, m->fields[f].field, m->fields[f].got);
		fprintf(out, ", \"backend\": ");
		json_value(out, m->fields[f].field, m->fields[f].expected);
		fputc('}', out);
	}
	fprintf(out, "], \"problem\": ");
	nw_json_string(out, m->problem);
	fputc('}', out);
}

void nw_hw_report_print_json(FILE *out, const struct nw_hw_report *rep)
{
	fprintf(out, "{\"schema\": %d, \"scenario\": ", NW_JSON_SCHEMA);
	nw_json_string(out, rep->scenario);
	fprintf(out, ", \"backend\": ");
	nw_json_string(out, rep->backend);
	fprintf(out, ", \"image\": ");
	nw_json_string(out, rep->image);
	fprintf(out, ", \"maxphyaddr\": %u, \"tlb\": false, \"accesses\": %" PRIu64 ", \"run\": %" PRIu64
		     ", \"not_run\": %" PRIu64 ", \"not_run_reasons\": [",
		rep->maxphyaddr, rep->accesses, rep->run, rep->not_run_total);
	for (size_t i = 0; i < rep->not_run_count; i++) {
		fprintf(out, "%s{\"reason\": ", i ? ", " : "");
		nw_json_string(out, rep->not_run[i].reason);
		fprintf(out, ", \"count\": %" PRIu64 ", \"records\": ", rep->not_run[i].count);
		json_records(out, rep->not_run[i].records, rep->not_run[i].count);
		fputc('}', out);
	}
	fprintf(out, "], \"matched\": %" PRIu64 ", \"explained\": %" PRIu64 ", \"deviations\": [", rep->matched,
		rep->explained_total);
	for (size_t i = 0; i < rep->explained_count; i++) {
		fprintf(out, "%s{\"id\": \"%s\", \"count\": %" PRIu64 ", \"records\": ", i ? ", " : "",
			rep->explained[i].deviation->id, rep->explained[i].count);
		json_records(out, rep->explained[i].records, rep->explained[i].count);
		fputc('}', out);
	}
	fprintf(out, "], \"unexplained\": %zu, \"mismatches\": [", rep->mismatch_count);
	for (size_t i = 0; i < rep->mismatch_count; i++) {
		if (i)
			fprintf(out, ", ");
		json_mismatch(out, &rep->mismatches[i]);
	}
	fprintf(out, "], \"leaked_frames\": %" PRIu64 ", \"boots\": %u, \"boot_seconds\": %.6f, \"cases_per_second\": %.1f}\n",
		rep->leaked_frames, rep->boots, rep->boot_seconds, cases_per_second(rep));
}
