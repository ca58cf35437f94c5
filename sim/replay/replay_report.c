/* Replay reports (replay.h): a mismatch explained like `translate
 * --explain`, the statistics as text, and everything as one JSON object. */
#include <inttypes.h>

#include "io/json_out.h"
#include "replay/replay.h"
#include "replay/walk_print.h"

static const char *const access_names[] = { "read", "write", "fetch" };
static const char *const inval_names[] = { "invlpg", "invpcid", "invvpid", "invept" };
static const char *const cache_names[NW_TLB_CACHE_COUNT] = { "4K", "2M", "1G", "PDE", "PDPTE", "PML4E", "PML5E" };

static void print_value(FILE *out, enum nw_trace_expect_field field, uint64_t value)
{
	if (field == NW_EXPECT_OUTCOME)
		fprintf(out, "%s", nw_replay_outcome_name((unsigned)value));
	else
		fprintf(out, "0x%" PRIx64, value);
}

/* A walk's explanation in its architecture's terms, ending with its outcome. */
static void explain_walk(FILE *out, const struct nw_replay *r, const struct nw_walk_result *walk)
{
	if (r->rv) {
		nw_walk_print_summary(out, walk); /* the outcome and its trap CSRs */
		return;
	}
	if (!r->a64) {
		nw_walk_print_explain(out, walk);
		return;
	}
	nw_walk_print_explain_arm64(out, walk);
	if (walk->outcome != NW_OUTCOME_OK) {
		nw_walk_print_summary(out, walk); /* the abort's registers */
		return;
	}
	fprintf(out,
		"outcome ok, %u memory references: ipa 0x%" PRIx64 " pa 0x%" PRIx64 ", stage-1 page 0x%" PRIx64
		", stage-2 page 0x%" PRIx64 "\n",
		walk->refs, walk->gpa.val, walk->hpa.val, walk->guest_page_size, walk->s2_page_size);
}

void nw_replay_print_mismatch(FILE *out, const struct nw_replay *r, const struct nw_replay_mismatch *m,
			      unsigned count, bool explain)
{
	const struct nw_replay_result *res = &r->result;
	const struct nw_access *a = &res->access;

	fprintf(out, "mismatch at record %" PRIu64 " (after mark \"%s\"): ", m[0].record, r->mark[0] ? r->mark : "(none)");
	if (res->reg_write)
		fprintf(out, "write of 0x%" PRIx64 " to %s\n", res->reg.value, nw_trace_reg_name(res->reg.reg));
	else if (r->a64)
		fprintf(out, "%s of %u byte(s) at va 0x%" PRIx64 " el %u%s\n", access_names[a->type], a->size,
			a->gva.val, res->el, a->unprivileged ? " unpriv" : "");
	else if (r->rv)
		fprintf(out, "%s of %u byte(s) at gva 0x%" PRIx64 " in %s-mode\n", access_names[a->type], a->size,
			a->gva.val, res->el == NW_TRACE_PRIV_VU ? "VU" : "VS");
	else
		fprintf(out, "%s of %u byte(s) at gva 0x%" PRIx64 " cpl %u%s\n", access_names[a->type], a->size,
			a->gva.val, r->machine->cpu.cpl, a->implicit ? " implicit" : "");
	for (unsigned i = 0; i < count; i++) {
		fprintf(out, "  %s: expected ", nw_trace_expect_field_name(m[i].field));
		print_value(out, m[i].field, m[i].expected);
		fprintf(out, ", got ");
		print_value(out, m[i].field, m[i].got);
		fputc('\n', out);
	}
	if (!explain)
		return;
	if (res->reg_write) { /* its PDPTE load, when it faulted: the outcome (no guest level was walked) */
		if (res->walk.outcome != NW_OUTCOME_OK)
			nw_walk_print_summary(out, &res->walk);
		return;
	}
	if (res->from_tlb) {
		struct nw_walk_result walk;

		fprintf(out,
			"  the translation came from the %s TLB (gpa 0x%" PRIx64 ", hpa 0x%" PRIx64
			"), not from a walk; the tables in memory now give:\n",
			r->a64 ? "AArch64" : r->rv ? "RISC-V" : cache_names[res->cache], res->gpa, res->hpa);
		if (r->arch)
			r->arch->walk(r, a, NW_WALK_LOOKUP | NW_WALK_RECORD, &walk);
		else
			nw_walker_translate(r->walker, a, NW_WALK_LOOKUP | NW_WALK_RECORD, &walk);
		explain_walk(out, r, &walk);
		return;
	}
	explain_walk(out, r, &res->walk);
}

static double ratio(uint64_t part, uint64_t whole)
{
	return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

void nw_replay_print_stats(FILE *out, const struct nw_replay *r, double seconds)
{
	const struct nw_replay_stats *s = &r->stats;
	const char *sep = "";

	fprintf(out, "records       %" PRIu64 " (accesses %" PRIu64 ", register writes %" PRIu64
		     ", guest-physical writes %" PRIu64,
		s->records, s->accesses, s->reg_writes, s->gpwrites);
	if (s->s2edits) /* the hypervisor's, which a trace of the guest alone has none of */
		fprintf(out, ", s2edits %" PRIu64, s->s2edits);
	fprintf(out, ", marks %" PRIu64 ", expectations %" PRIu64 ")\n", s->marks, s->expectations);
	fprintf(out, "outcomes     ");
	for (unsigned k = 0; k < NW_REPLAY_OUT_COUNT; k++)
		if (s->outcomes[k]) {
			fprintf(out, "%s %s %" PRIu64, sep, nw_replay_outcome_name(k), s->outcomes[k]);
			sep = ",";
		}
	fprintf(out, "%s\n", *sep ? "" : " none");
	fprintf(out, "invalidations");
	if (r->a64)
		fprintf(out, " tlbi %" PRIu64, s->tlbis);
	else if (r->rv)
		fprintf(out, " fence %" PRIu64, s->fences);
	else
		for (unsigned i = 0; i < 4; i++)
			fprintf(out, "%s %s %" PRIu64, i ? "," : "", inval_names[i], s->invalidations[i]);
	if (s->failed_invalidations)
		fprintf(out, " (%" PRIu64 " refused%s: record %" PRIu64 ", %s)", s->failed_invalidations,
			s->failed_invalidations > 1 ? ", the first" : "", r->refused_record, r->refused);
	fprintf(out, "\n");
	fprintf(out, "refs per walk");
	sep = "";
	for (unsigned n = 0; n <= NW_REPLAY_REFS_MAX; n++)
		if (s->refs_hist[n]) {
			fprintf(out, "%s %u%s: %" PRIu64, sep, n, n == NW_REPLAY_REFS_MAX ? "+" : "", s->refs_hist[n]);
			sep = ",";
		}
	fprintf(out, "%s (%" PRIu64 " walks)\n", *sep ? "" : " none", s->walks);
	if (r->options.tlb) {
		fprintf(out, "TLB           %" PRIu64 " hits of %" PRIu64 " lookups (%.1f%%)\n", s->tlb_hits,
			s->tlb_lookups, ratio(s->tlb_hits, s->tlb_lookups));
		if (!r->rv) /* the RISC-V model caches no non-leaf PTE and looks up no second kind */
			fprintf(out, "%s %" PRIu64 " hits of %" PRIu64 " lookups (%.1f%%)\n",
				r->a64 ? "stage-2 TLB  " : "PSC          ", s->psc_hits, s->psc_lookups,
				ratio(s->psc_hits, s->psc_lookups));
	} else {
		fprintf(out, "TLB           off (--no-tlb): every access walks\n");
	}
	if (s->populated)
		fprintf(out, "populated     %" PRIu64 " lazy page(s) on first touch\n", s->populated);
	if (s->host_exhausted)
		fprintf(out, "host memory   %" PRIu64 " lazy page(s) not populated: no frame left (no_memory)\n",
			s->host_exhausted);
	if (s->refused_writes)
		fprintf(out,
			"%s %" PRIu64 " write(s) left them refused (the last at record %" PRIu64 ": %s)\n",
			r->rv ? "VS-stage CSRs" : "EL1 registers", s->refused_writes, r->regs_refused_record,
			r->regs_refused ? r->regs_refused : "taken since");
	if (s->cr3_faults)
		fprintf(out, "CR3 loads     %" PRIu64 " refused (MOV CR0/CR3/CR4 whose PAE PDPTE load faulted)\n",
			s->cr3_faults);
	fprintf(out, "expectations  %" PRIu64 " checked, %" PRIu64 " mismatched\n", s->expectations, s->mismatches);
	fprintf(out, "throughput    %.0f accesses/s (%.3f s)\n", seconds > 0 ? (double)s->accesses / seconds : 0.0,
		seconds);
}

/* The walk object of a mismatch: translate-gva's, or for an AArch64 walk translate-gva-aarch64's walk members
 * (docs/json.md; MAIR_EL1 may have changed since, so no mair_attr). */
static void print_walk_json(FILE *out, const struct nw_replay *r, const struct nw_replay_result *res)
{
	const struct nw_rv_trap *trap = &res->walk.rv_trap;

	if (r->rv) { /* translate-gva-riscv64's outcome members (docs/json.md) */
		fprintf(out, "{\"outcome\": \"%s\", \"privilege\": \"%s\"", nw_replay_outcome_name(res->kind),
			res->el == NW_TRACE_PRIV_VU ? "vu" : "vs");
		if (res->walk.outcome == NW_OUTCOME_OK)
			nw_walk_print_json_translation(out, &res->walk);
		else
			fprintf(out, ", \"scause\": %" PRIu64 ", \"stval\": \"0x%" PRIx64 "\", \"htval\": \"0x%" PRIx64
				"\", \"htinst\": \"0x%" PRIx64 "\"", trap->scause, trap->stval, trap->htval, trap->htinst);
		fputc('}', out);
		return;
	}
	if (!r->a64) {
		nw_walk_print_json(out, &res->walk);
		return;
	}
	nw_walk_print_json_arm64(out, "", &res->walk, nw_replay_outcome_name(res->kind), res->el == 0,
				 res->access.unprivileged, NULL);
	fputc('}', out);
}

void nw_replay_print_json(FILE *out, const struct nw_replay *r, double seconds, const struct nw_replay_first *first)
{
	const struct nw_replay_stats *s = &r->stats;
	const char *sep = "";

	fprintf(out, "{\"schema\": %d, \"records\": %" PRIu64 ", \"accesses\": %" PRIu64 ", \"translations\": %" PRIu64
		     ", \"register_writes\": %" PRIu64 ", \"gpwrites\": %" PRIu64 ", \"s2edits\": %" PRIu64
		     ", \"marks\": %" PRIu64
		     ", \"outcomes\": {",
		NW_JSON_SCHEMA, s->records, s->accesses, s->translations, s->reg_writes, s->gpwrites, s->s2edits,
		s->marks);
	for (unsigned k = 0; k < NW_REPLAY_OUT_COUNT; k++)
		fprintf(out, "%s\"%s\": %" PRIu64, k ? ", " : "", nw_replay_outcome_name(k), s->outcomes[k]);
	fprintf(out, "}, \"invalidations\": {");
	for (unsigned i = 0; i < 4; i++)
		fprintf(out, "%s\"%s\": %" PRIu64, i ? ", " : "", inval_names[i], s->invalidations[i]);
	fprintf(out, ", \"tlbi\": %" PRIu64 ", \"fence\": %" PRIu64 ", \"refused\": %" PRIu64 "}, \"walks\": %" PRIu64
		     ", \"refs_per_walk\": {",
		s->tlbis, s->fences, s->failed_invalidations, s->walks);
	for (unsigned n = 0; n <= NW_REPLAY_REFS_MAX; n++)
		if (s->refs_hist[n]) {
			fprintf(out, "%s\"%u\": %" PRIu64, sep, n, s->refs_hist[n]);
			sep = ", ";
		}
	fprintf(out, "}, \"tlb\": {\"enabled\": %s, \"lookups\": %" PRIu64 ", \"hits\": %" PRIu64
		     ", \"hit_rate\": %.4f}, \"psc\": {\"lookups\": %" PRIu64 ", \"hits\": %" PRIu64
		     ", \"hit_rate\": %.4f}",
		r->options.tlb ? "true" : "false", s->tlb_lookups, s->tlb_hits,
		ratio(s->tlb_hits, s->tlb_lookups) / 100,
		s->psc_lookups, s->psc_hits, ratio(s->psc_hits, s->psc_lookups) / 100);
	fprintf(out,
		", \"populated\": %" PRIu64 ", \"host_exhausted\": %" PRIu64 ", \"cr3_faults\": %" PRIu64
		", \"register_writes_refused\": %" PRIu64 ", \"expectations\": %" PRIu64 ", \"mismatches\": %" PRIu64
		", \"seconds\": %.6f"
		", \"accesses_per_second\": %.0f",
		s->populated, s->host_exhausted, s->cr3_faults, s->refused_writes, s->expectations, s->mismatches,
		seconds, seconds > 0 ? (double)s->accesses / seconds : 0.0);
	if (first) {
		fprintf(out, ", \"first_mismatch\": {\"record\": %" PRIu64 ", \"mark\": \"%s\", \"from_tlb\": %s"
			     ", \"fields\": [",
			first->fields[0].record, first->mark, first->result.from_tlb ? "true" : "false");
		for (unsigned i = 0; i < first->count; i++) {
			fprintf(out, "%s{\"field\": \"%s\", \"expected\": \"", i ? ", " : "",
				nw_trace_expect_field_name(first->fields[i].field));
			print_value(out, first->fields[i].field, first->fields[i].expected);
			fprintf(out, "\", \"got\": \"");
			print_value(out, first->fields[i].field, first->fields[i].got);
			fprintf(out, "\"}");
		}
		fprintf(out, "]");
		if (first->result.reg_write)
			fprintf(out, ", \"register\": \"%s\", \"value\": \"0x%" PRIx64 "\"",
				nw_trace_reg_name(first->result.reg.reg), first->result.reg.value);
		if (!first->result.from_tlb && (!first->result.reg_write || first->result.walk.outcome != NW_OUTCOME_OK)) {
			fprintf(out, ", \"walk\": ");
			print_walk_json(out, r, &first->result);
		}
		fprintf(out, "}");
	}
	fprintf(out, "}\n");
}
