/* The compiled cases of `nestwalk hw run` through the emulator, over as many
 * boots as they need: a boot takes the cases whose blob fits below the image's
 * scratch region (NW_HW_BOOT_BLOB_MAX), and a boot that KVM stops inside a case
 * (an internal error: the host's KVM could not emulate an instruction of the
 * image) marks that case not run and the next boot starts after it. The
 * emulator's console never reaches the user's terminal: a failed boot shows
 * the tail of what it printed, its escape sequences and control bytes escaped. */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "contract/a64_layout.h"
#include "contract/rv_layout.h"
#include "hw/hw_run.h"

#define IMAGE_EXIT_PASS 33     /* isa-debug-exit or semihosting: (0x10 << 1) | 1, hw/contract/layout.h */
#define IMAGE_EXIT_BAD_BLOB 37 /* (0x12 << 1) | 1 */
#define VMX_END_PASS "vmx: end pass"
/* QEMU's first words on standard error when KVM returns KVM_EXIT_INTERNAL_ERROR;
 * it then pauses the VM and waits, so the boot is stopped once its report ends. */
#define KVM_INTERNAL_ERROR "KVM internal error"
#define TAIL_BYTES 2000

/* Bytes of the case's part of the blob (hw/contract/blob.h, or the VMX image's format). */
static size_t case_bytes(const struct nw_hw_boots *b, size_t i)
{
	if (b->backend->vmx)
		return sizeof(struct vmx_blob_case) + b->cases[i].vmx.head.edit_count * sizeof(struct vmx_blob_edit);
	return sizeof(b->cases[i].head) + b->cases[i].head.entry_count * sizeof(struct hw_blob_entry) +
	       nw_hw_case_tail_bytes(&b->cases[i], nw_hw_backend_arch(b->backend));
}

/* The end of the boot that starts at case first: as many cases as fit in
 * NW_HW_BOOT_BLOB_MAX (one at least: a case is far smaller), and cases_per_boot at most. */
static size_t window_end(const struct nw_hw_boots *b, size_t first)
{
	size_t end = first, bytes = sizeof(struct hw_blob_header);

	while (end < b->count && (!b->cases_per_boot || end - first < b->cases_per_boot) &&
	       (end == first || bytes + case_bytes(b, end) <= NW_HW_BOOT_BLOB_MAX))
		bytes += case_bytes(b, end++);
	return end;
}

/* The last len bytes of text (at most TAIL_BYTES) on stderr, escape sequences
 * and other control bytes (but newlines and tabs) written as \xHH, CRs dropped. */
static void print_tail(const char *text, size_t len)
{
	size_t from = len > TAIL_BYTES ? len - TAIL_BYTES : 0;

	for (size_t i = from; i < len; i++) {
		unsigned char ch = (unsigned char)text[i];

		if (ch == '\r')
			continue;
		if (ch == '\n' || ch == '\t' || (isprint(ch) && ch < 0x80))
			fputc(ch, stderr);
		else
			fprintf(stderr, "\\x%02x", ch);
	}
	if (len && text[len - 1] != '\n')
		fputc('\n', stderr);
}

/* The id of a trailing "c ID" line without an outcome (hw/runner.h): the case the CPU stopped in. */
static bool stopped_case(const char *output, size_t len, uint64_t *id)
{
	const char *line = output + len;
	char *end;

	while (line > output && line[-1] != '\n')
		line--;
	if (len == 0 || output[len - 1] == '\n' || strncmp(line, "c ", 2))
		return false;
	*id = strtoull(line + 2, &end, 10);
	return end != line + 2 && *end == '\0';
}

/* Why a case KVM stopped in is not run, with the RIP of QEMU's register dump when there is one. */
static void internal_error_reason(const char *errors, char *reason, size_t len)
{
	const char *rip = strstr(errors, "RIP=");
	uint64_t val = rip ? strtoull(rip + 4, NULL, 16) : 0;

	if (rip)
		snprintf(reason, len, "KVM internal error (host KVM could not emulate the instruction at RIP 0x%" PRIx64 ")",
			 val);
	else
		snprintf(reason, len, "KVM internal error (host KVM could not emulate an instruction of the case)");
}

/* The blob of cases first .. end-1 written to a temporary file; 0, or -1 after a message. */
static int write_blob(const struct nw_hw_boots *b, size_t first, size_t end, char *path)
{
	size_t size;
	uint8_t *blob = nw_hw_blob_pack(b->cases + first, end - first, nw_hw_backend_arch(b->backend), &size);
	int fd = blob ? mkstemp(path) : -1;
	bool ok = fd >= 0 && write(fd, blob, size) == (ssize_t)size;

	free(blob);
	if (fd >= 0 && (close(fd) || !ok))
		unlink(path);
	if (fd < 0 || !ok) {
		fprintf(stderr, "nestwalk hw run: cannot write the case blob to %s\n", path);
		return -1;
	}
	return 0;
}

/* The x86 image takes the blob as a multiboot module and exits through isa-debug-exit; the AArch64 image boots
 * at EL2 on the virt machine, finds the blob where QEMU's loader device put it (hw/contract/a64_layout.h) and
 * exits through semihosting; the RISC-V image boots in M-mode on the virt machine without firmware, finds the
 * blob likewise (hw/contract/rv_layout.h) and exits through the SiFive test device. */
static int boot_qemu(const struct nw_hw_boots *b, size_t first, size_t end, struct nw_hw_boot_result *res)
{
	char blob_path[] = "/tmp/nestwalk-hw-XXXXXX";
	char qemu[32], accel[16], cpu[32], kernel[4096], device[] = "isa-debug-exit,iobase=0xf4,iosize=0x04";
	char machine[] = "virt,virtualization=on", rv_machine[] = "virt", loader[sizeof(blob_path) + 64];
	char *x86[] = { qemu, "-accel", accel, "-cpu", cpu, "-nographic", "-no-reboot", "-m", "256M", "-device",
			device, "-kernel", kernel, "-initrd", blob_path, NULL };
	char *aarch64[] = { qemu, "-M", machine, "-accel", accel, "-cpu", cpu, "-nographic", "-no-reboot", "-m", "256M",
			    "-semihosting", "-kernel", kernel, "-device", loader, NULL };
	char *riscv64[] = { qemu, "-M", rv_machine, "-accel", accel, "-cpu", cpu, "-bios", "none", "-nographic",
			    "-no-reboot", "-m", "256M", "-kernel", kernel, "-device", loader, NULL };
	char err[512];
	int rc;

	snprintf(qemu, sizeof(qemu), "%s", b->backend->qemu);
	snprintf(accel, sizeof(accel), "%s", b->backend->accel);
	snprintf(cpu, sizeof(cpu), "%s", b->cpu ? b->cpu : b->backend->cpu);
	snprintf(kernel, sizeof(kernel), "%s", b->image);
	if (write_blob(b, first, end, blob_path))
		return -1;
	snprintf(loader, sizeof(loader), "loader,file=%s,addr=0x%x,force-raw=on", blob_path,
		 b->backend->riscv64 ? HW_RV_BLOB_BASE : HW_A64_BLOB_BASE);
	rc = nw_hw_boot(b->backend->aarch64 ? aarch64 : b->backend->riscv64 ? riscv64 : x86, NULL, NULL,
			b->backend->id == NW_HW_KVM ? KVM_INTERNAL_ERROR : NULL, b->timeout, res, err, sizeof(err));
	unlink(blob_path);
	if (rc)
		fprintf(stderr, "nestwalk hw run: %s\n", err);
	return rc;
}

static int boot_bochs(const struct nw_hw_boots *b, size_t first, size_t end, struct nw_hw_boot_result *res)
{
	size_t size;
	uint8_t *blob = nw_hw_vmx_blob_pack(b->cases + first, end - first, &size);
	char err[512];
	int rc;

	if (!blob) {
		fprintf(stderr, "nestwalk hw run: out of memory\n");
		return -1;
	}
	rc = nw_hw_bochs_boot(b->image, blob, size, b->timeout, res, err, sizeof(err));
	free(blob);
	if (rc)
		fprintf(stderr, "nestwalk hw run: %s\n", err);
	return rc;
}

/* Whether the boot ran its cases to the image's passing end; else a message with the console's tail. */
static bool boot_passed(const struct nw_hw_boots *b, const struct nw_hw_boot_result *res, size_t first, size_t end)
{
	bool passed = b->backend->vmx ? !res->timed_out && strstr(res->output, VMX_END_PASS)
				       : !res->timed_out && res->status == IMAGE_EXIT_PASS;

	if (passed)
		return true;
	fprintf(stderr, "nestwalk hw run: cases %zu to %zu (of %zu): ", first + 1, end, b->count);
	if (res->timed_out)
		fprintf(stderr, "%s did not finish within %.0f s", b->backend->vmx ? "Bochs" : b->backend->qemu,
			b->timeout);
	else if (b->backend->vmx)
		fprintf(stderr, "the VMX image gave no passing end under Bochs (exit status %d)", res->status);
	else
		fprintf(stderr, "the image failed under %s (exit status %d%s)", b->backend->name, res->status,
			res->status == IMAGE_EXIT_BAD_BLOB ? ": case blob rejected" : "");
	fprintf(stderr, "; its console ends:\n");
	print_tail(res->output, res->output_len);
	if (res->errors_len) {
		fprintf(stderr, "its standard error ends:\n");
		print_tail(res->errors, res->errors_len);
	}
	return false;
}

/* A boot KVM stopped: the case it stopped in is not run; false (after a message) when no case is named. */
static bool mark_stopped(struct nw_hw_boots *b, const struct nw_hw_boot_result *res, size_t first, size_t end,
			 size_t *next)
{
	uint64_t id;

	if (!stopped_case(res->output, res->output_len, &id) || id < first || id >= end) {
		fprintf(stderr, "nestwalk hw run: KVM stopped the image outside any case; its console ends:\n");
		print_tail(res->output, res->output_len);
		fprintf(stderr, "%s's report:\n", b->backend->qemu);
		print_tail(res->errors, res->errors_len);
		return false;
	}
	b->outcomes[id].kind = NW_HW_HOST_LIMIT;
	internal_error_reason(res->errors, b->outcomes[id].text, sizeof(b->outcomes[id].text));
	*next = (size_t)id + 1;
	return true;
}

int nw_hw_boots_run(struct nw_hw_boots *b)
{
	b->boots = 0;
	b->seconds = 0;
	b->maxphyaddr = 0;
	for (size_t first = 0; first < b->count;) {
		size_t end = window_end(b, first), next = end;
		struct nw_hw_boot_result res;
		bool ok;

		if (b->backend->vmx ? boot_bochs(b, first, end, &res) : boot_qemu(b, first, end, &res))
			return -1;
		b->boots++;
		b->seconds += res.seconds;
		if (!b->maxphyaddr)
			b->maxphyaddr = nw_hw_output_maxphyaddr(res.output);
		if (b->expect_maxphyaddr && b->maxphyaddr && b->maxphyaddr != b->expect_maxphyaddr) {
			nw_hw_boot_result_free(&res);
			return 1;
		}
		ok = res.stopped || boot_passed(b, &res, first, end);
		if (ok)
			nw_hw_outcomes_parse(res.output, b->backend, b->outcomes, b->count);
		if (ok && res.stopped)
			ok = mark_stopped(b, &res, first, end, &next);
		nw_hw_boot_result_free(&res);
		if (!ok)
			return -1;
		first = next;
	}
	return 0;
}
