/* The recording (record.h). */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "record.h"
#include "trace/trace.h"

static int put(struct nw_recording *rec, const struct nw_trace_record *out);

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int put_reg(struct nw_recording *rec, enum nw_trace_reg reg, uint64_t value)
{
	struct nw_trace_record out = { .kind = NW_TRACE_REG, .reg = { .reg = reg, .value = value } };

	if (put(rec, &out))
		return -1;
	rec->reg_writes++;
	return 0;
}

/* With regs=LOG, a trace starts with the four registers as they are at its first access, CR0 last: from paging
 * off (a replay's registers when its scenario gives none) each write is one the CPU takes, and none loads PAE
 * PDPTEs before CR4, CR3 and EFER say which mode paging starts in. */
static int put_all_regs(struct nw_recording *rec)
{
	if (!rec->args.regs)
		return 0;
	return put_reg(rec, NW_TRACE_EFER, rec->regs.efer) || put_reg(rec, NW_TRACE_CR4, rec->regs.cr4) ||
	       put_reg(rec, NW_TRACE_CR3, rec->regs.cr3) || put_reg(rec, NW_TRACE_CR0, rec->regs.cr0);
}

int nw_recording_open(struct nw_recording *rec, const struct nw_recorder_args *args, char *err, size_t errlen)
{
	*rec = (struct nw_recording){ .args = *args };
	rec->writer = nw_trace_writer_open(args->out, 0, args->text ? NW_TRACE_FORM_TEXT : NW_TRACE_FORM_BINARY,
					   args->zstd, err, errlen);
	if (!rec->writer)
		return -1;
	rec->state = args->has_trigger_gva || args->trigger_count || args->trigger_user ? NW_RECORDER_WAITING
										       : NW_RECORDER_RECORDING;
	rec->regs = NW_RECORDER_REGS_RESET;
	rec->started = now();
	if (rec->state == NW_RECORDER_RECORDING && put_all_regs(rec)) {
		snprintf(err, errlen, "%s", rec->error);
		return -1;
	}
	return 0;
}

void nw_recording_fail(struct nw_recording *rec, const char *why)
{
	if (rec->state == NW_RECORDER_FAILED)
		return;
	snprintf(rec->error, sizeof(rec->error), "%s: %s (no trace written)", rec->args.out, why);
	if (rec->writer)
		nw_trace_writer_abandon(rec->writer);
	rec->writer = 0;
	rec->state = NW_RECORDER_FAILED;
}

static void fail(struct nw_recording *rec)
{
	char why[256];

	snprintf(why, sizeof(why), "%s", nw_trace_writer_error(rec->writer));
	nw_recording_fail(rec, why);
}

static void finish(struct nw_recording *rec)
{
	char err[256];

	rec->state = NW_RECORDER_DONE;
	rec->seconds = now() - rec->started;
	if (nw_trace_writer_close(rec->writer, err, sizeof(err))) {
		snprintf(rec->error, sizeof(rec->error), "%s (no trace written)", err);
		rec->state = NW_RECORDER_FAILED;
	}
	rec->writer = 0;
}

/* Whether the trigger lets this access (and every one after it) in: the registers as they are then come first. */
static bool triggered(struct nw_recording *rec, const struct nw_recorder_access *access)
{
	bool waits = rec->args.trigger_user ? access->cpl != 3 || access->unknown_privilege
		     : rec->args.has_trigger_gva ? access->gva != rec->args.trigger_gva
						 : rec->skipped < rec->args.trigger_count;

	if (waits) {
		rec->skipped++;
		return false;
	}
	rec->state = NW_RECORDER_RECORDING;
	rec->started = now();
	return !put_all_regs(rec);
}

/* One record; -1 when the recording failed. */
static int put(struct nw_recording *rec, const struct nw_trace_record *out)
{
	if (nw_trace_writer_put(rec->writer, out)) {
		fail(rec);
		return -1;
	}
	return 0;
}

void nw_recording_regs(struct nw_recording *rec, const struct nw_recorder_regs *next, int cr)
{
	const struct nw_recorder_regs old = rec->regs;

	rec->regs = *next;
	if (rec->state != NW_RECORDER_RECORDING)
		return;
	/* A MOV to CR3 flushes the TLB even when it writes the value CR3 holds (SDM Vol. 3A §4.10.4.1): the
	 * register written is always recorded; a write of an unchanged CR0, CR4 or EFER does nothing. */
	if ((cr == 0 || old.cr0 != next->cr0) && put_reg(rec, NW_TRACE_CR0, next->cr0))
		return;
	if ((cr == 3 || old.cr3 != next->cr3) && put_reg(rec, NW_TRACE_CR3, next->cr3))
		return;
	if ((cr == 4 || old.cr4 != next->cr4) && put_reg(rec, NW_TRACE_CR4, next->cr4))
		return;
	if (old.efer != next->efer)
		put_reg(rec, NW_TRACE_EFER, next->efer);
}

void nw_recording_invalidate(struct nw_recording *rec)
{
	struct nw_trace_record out = { .kind = NW_TRACE_INVPCID, .inv = { .type = 2 } };

	if (rec->state != NW_RECORDER_RECORDING)
		return;
	if (!put(rec, &out))
		rec->invalidations++;
}

void nw_recording_invlpg(struct nw_recording *rec, uint64_t gva)
{
	struct nw_trace_record out = { .kind = NW_TRACE_INVLPG, .inv = { .gva = nw_gva(gva) } };

	if (rec->state == NW_RECORDER_RECORDING && !put(rec, &out))
		rec->invlpgs++;
}

/* The bytes a store to RAM left, after its access (store_bytes=on); -1 when the recording failed. */
static int put_bytes(struct nw_recording *rec, const struct nw_recorder_access *access)
{
	struct nw_trace_record out = { .kind = NW_TRACE_GPWRITE };

	if (!rec->args.store_bytes || access->type != NW_ACCESS_WRITE || access->target != NW_RECORDER_RAM)
		return 0;
	if (!access->bytes) {
		rec->unread++;
		return 0;
	}
	rec->cut += access->len < access->size;
	out.gpwrite = (struct nw_trace_gpwrite){ .gpa = nw_gpa(access->gpa), .len = access->len, .data = access->bytes };
	if (put(rec, &out))
		return -1;
	rec->gpwrites++;
	return 0;
}

void nw_recording_put(struct nw_recording *rec, const struct nw_recorder_access *access)
{
	struct nw_trace_record out = { .kind = NW_TRACE_ACCESS };

	if (rec->state == NW_RECORDER_WAITING && !triggered(rec, access))
		return;
	if (rec->state != NW_RECORDER_RECORDING)
		return;
	if (access->unknown_privilege) {
		char why[400];

		snprintf(why, sizeof(why), "the privilege of access %" PRIu64 " (%s at gva 0x%" PRIx64 ") is not known: %s",
			 rec->written, access->type == NW_ACCESS_FETCH ? "a fetch" : access->type == NW_ACCESS_WRITE ?
			 "a write" : "a read", access->gva, access->unknown_privilege);
		nw_recording_fail(rec, why);
		return;
	}
	out.access = (struct nw_trace_access){ .gva = nw_gva(access->gva), .size = access->size, .type = access->type,
					       .cpl = access->cpl, .ac = access->ac };
	if (put(rec, &out))
		return;
	if (access->target != NW_RECORDER_UNKNOWN) {
		out = (struct nw_trace_record){ .kind = NW_TRACE_EXPECT };
		out.expect.present = 1u << NW_EXPECT_OUTCOME | 1u << NW_EXPECT_GPA;
		out.expect.outcome = access->target == NW_RECORDER_MMIO ? NW_TRACE_OUT_MMIO : NW_TRACE_OUT_OK;
		out.expect.gpa = nw_gpa(access->gpa);
		if (put(rec, &out))
			return;
	}
	if (put_bytes(rec, access))
		return;
	rec->written++;
	rec->by_type[access->type]++;
	rec->user += access->cpl == 3;
	rec->mmio += access->target == NW_RECORDER_MMIO;
	rec->unknown += access->target == NW_RECORDER_UNKNOWN;
	if (rec->written == rec->args.limit)
		finish(rec);
}

int nw_recording_close(struct nw_recording *rec)
{
	if (rec->state == NW_RECORDER_WAITING) {
		nw_trace_writer_abandon(rec->writer);
		rec->writer = 0;
		rec->state = NW_RECORDER_FAILED;
		if (rec->args.trigger_user)
			snprintf(rec->error, sizeof(rec->error), "%s: no user-mode access (no trace written)", rec->args.out);
		else if (rec->args.has_trigger_gva)
			snprintf(rec->error, sizeof(rec->error), "%s: no access at the trigger gva 0x%" PRIx64
				 " (no trace written)", rec->args.out, rec->args.trigger_gva);
		else
			snprintf(rec->error, sizeof(rec->error), "%s: only %" PRIu64 " accesses, fewer than trigger_count"
				 " (no trace written)", rec->args.out, rec->skipped);
	} else if (rec->state == NW_RECORDER_RECORDING) {
		finish(rec);
	}
	return rec->state == NW_RECORDER_FAILED ? -1 : 0;
}

void nw_recording_summary(const struct nw_recording *rec, char *out, size_t outlen)
{
	snprintf(out, outlen, "%s: %" PRIu64 " accesses (%" PRIu64 " fetches, %" PRIu64 " reads, %" PRIu64
		 " writes; %" PRIu64 " at CPL 3; %" PRIu64 " to MMIO, %" PRIu64 " without a known guest-physical address)"
		 " after %" PRIu64 " skipped%s", rec->args.out, rec->written, rec->by_type[NW_ACCESS_FETCH],
		 rec->by_type[NW_ACCESS_READ], rec->by_type[NW_ACCESS_WRITE], rec->user, rec->mmio, rec->unknown,
		 rec->skipped,
		 rec->args.limit && rec->written == rec->args.limit ? ", limit reached" : "");
	if (rec->args.store_bytes)
		snprintf(out + strlen(out), outlen - strlen(out), "; %" PRIu64 " stores' bytes (%" PRIu64 " cut at the end"
			 " of their page, %" PRIu64 " unreadable, not written)", rec->gpwrites, rec->cut, rec->unread);
	if (rec->args.regs)
		snprintf(out + strlen(out), outlen - strlen(out), "; %" PRIu64 " register writes, %" PRIu64
			 " INVLPG at their address, %" PRIu64 " invalidations of everything", rec->reg_writes, rec->invlpgs,
			 rec->invalidations);
	if (rec->seconds > 0)
		snprintf(out + strlen(out), outlen - strlen(out), "; recorded in %.2f s, %.0f accesses/s", rec->seconds,
			 (double)rec->written / rec->seconds);
}
