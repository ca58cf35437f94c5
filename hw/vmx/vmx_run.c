/* The EPT case runner of the VMX image (vmx_run.h). */
#include "vmx_run.h"

#include <nestwalk/walk.h>

#include "console.h"
#include "contract/ept_case.h"
#include "contract/layout.h"
#include "frames.h"
#include "serial.h"
#include "trap.h"
#include "vmcs.h"
#include "x86.h"

extern char hw_vmx_guest_page[];

#define INT80_GP_ERROR ((0x80u << 3) | 2u) /* #GP error code of "int $0x80" past the IDT limit: IDT bit set (§6.13) */
#define WRITE_TAG ((HW_TAG_CODE & ~0xffu) | VMX_WRITE_BYTE)

static struct vmx_outcome outcome(const char *kind, unsigned count, uint64_t a, uint64_t b, uint64_t c)
{
	return (struct vmx_outcome){ .kind = kind, .count = count, .val = { a, b, c } };
}

/* A completed load: the scratch tag says which host-physical word it reached. */
static struct vmx_outcome loaded(uint64_t value, uint64_t low_tag)
{
	if ((value & 0xffffu) != low_tag)
		return outcome("raw", 1, value, 0, 0);
	return outcome("ok", 1, value >> 16, 0, 0);
}

static struct vmx_outcome from_exception(const struct vmx_case *c, const struct vmx_exit *e)
{
	unsigned vector = e->intr_info & VMX_INTR_VECTOR_MASK;
	struct vmx_outcome o;

	/* For a #PF exit the qualification holds the faulting linear address (§28.2.1). */
	if (vector == HW_VEC_PF)
		return outcome("pf", 2, e->intr_error, e->qualification, 0);
	/* A fetch reached the target's "int $0x80", or an implicit read got the descriptor there. */
	if ((vector == HW_VEC_GP && e->intr_error == INT80_GP_ERROR && c->head.access == VMX_ACCESS_FETCH &&
	     e->rip == c->head.gva) ||
	    (vector == HW_VEC_GP && e->intr_error == VMX_IMPLICIT_SEL && c->head.access == VMX_ACCESS_IMPLICIT &&
	     e->rip == vmx_guest_rip(VMX_ACCESS_IMPLICIT))) {
		o = outcome("ok", 1, 0, 0, 0);
		o.unknown = 1;
		return o;
	}
	return outcome("exc", 3, vector, e->intr_error, e->rip);
}

static struct vmx_outcome observe(const struct vmx_case *c, const struct vmx_exit *e, const struct vmx_gprs *g)
{
	struct vmx_outcome o;

	switch (e->reason) {
	case VMX_EXIT_VMCALL:
		return loaded(g->rax, c->head.access == VMX_ACCESS_WRITE ? WRITE_TAG : HW_TAG_CODE);
	case VMX_EXIT_EXCEPTION:
		return from_exception(c, e);
	case VMX_EXIT_EPT_VIOLATION:
		o = outcome("eptv", 3, e->qualification, e->gpa, e->gla);
		/* The guest-linear address field is defined only with qualification bit 7 (§28.2.1). */
		if (!(e->qualification & NW_EPTQ_GLA_VALID))
			o.unknown = 4;
		return o;
	case VMX_EXIT_EPT_MISCONFIG:
		return outcome("misconfig", 1, e->gpa, 0, 0);
	default:
		return outcome("exit", 2, e->reason, e->qualification, 0);
	}
}

static bool is_kind(const struct vmx_outcome *o, const char *kind)
{
	const char *k = o->kind;

	while (*k && *k == *kind)
		k++, kind++;
	return *k == *kind;
}

/* Puts back the scratch word a write case changed. */
static void retag(const struct vmx_outcome *o)
{
	uint64_t pa = o->val[0];

	if (is_kind(o, "ok") && !(o->unknown & 1) && pa >= HW_SCRATCH_BASE && pa < HW_SCRATCH_BASE + HW_SCRATCH_SIZE)
		*(uint64_t *)hw_direct(pa & ~UINT64_C(7)) = HW_TAG(pa & ~UINT64_C(7));
}

static void count(struct vmx_run_stats *stats, const struct vmx_outcome *o)
{
	stats->cases++;
	if (is_kind(o, "eptv"))
		stats->violations++;
	else if (is_kind(o, "misconfig"))
		stats->misconfigs++;
	else if (is_kind(o, "pf"))
		stats->page_faults++;
}

static void refuse(struct vmx_run_stats *stats, uint32_t id, const char *why)
{
	stats->refused++;
	hw_puts("v ");
	hw_put_dec(id);
	hw_puts(" bad ");
	hw_puts(why);
	hw_putc('\n');
}

static void entry_failed(uint32_t id, const struct vmx_exit *e)
{
	hw_puts("vmx: VM entry failed at case ");
	hw_put_dec(id);
	hw_puts(": exit reason ");
	hw_put_hex(e->reason);
	hw_puts(" VM-instruction error ");
	hw_put_dec(e->insn_error);
	hw_putc('\n');
}

bool vmx_run_blob(struct vmx_hv *hv, const struct nw_hal *hal, const uint8_t *blob, uint64_t size,
		  struct vmx_run_stats *stats)
{
	nw_hpa_t code = nw_hpa((uint64_t)(uintptr_t)hw_vmx_guest_page);
	struct vmx_blob_cursor cur;
	const char *why = vmx_blob_open(&cur, blob, size);
	struct vmx_case c;
	int more;

	*stats = (struct vmx_run_stats){ 0 };
	if (why) {
		hw_puts("vmx: blob: ");
		hw_puts(why);
		hw_putc('\n');
		return false;
	}
	while ((more = vmx_blob_next(&cur, &c, &why)) == 1) {
		char ad[VMX_AD_LEN], line[VMX_LINE_LEN];
		struct vmx_guest_ctl ctl;
		struct vmx_entry entry;
		struct vmx_outcome o;
		struct vmx_exit e;
		struct vmx_vm vm;
		uint64_t t0;
		bool entered;

		why = vmx_case_check(&c);
		if (why) {
			refuse(stats, c.head.id, why);
			continue;
		}
		ctl = vmx_case_guest_ctl(&c);
		if (vmx_hv_cr4_unsupported(ctl.cr4)) {
			refuse(stats, c.head.id, "the CPU cannot give its guest CR4.SMEP or CR4.SMAP");
			continue;
		}
		if (vmx_vm_build(&vm, hal, &c, code, &why) != NW_OK) {
			refuse(stats, c.head.id, why);
			continue;
		}
		entry = (struct vmx_entry){ .eptp = nw_ept_eptp(&vm.ept), .cr3 = vmx_guest_cr3(),
					    .rip = vmx_guest_rip(c.head.access), .rax = VMX_IMPLICIT_SEL, .rdi = c.head.gva,
					    .cr0 = ctl.cr0, .cr4 = ctl.cr4, .efer = ctl.efer, .rflags = ctl.rflags,
					    .cpl = ctl.cpl, .gdtr_base = ctl.gdtr_base, .gdtr_limit = ctl.gdtr_limit };
		t0 = hw_rdtsc();
		entered = vmx_hv_run(hv, &entry, &e);
		stats->tsc_ticks += hw_rdtsc() - t0;
		if (!entered) {
			vmx_vm_free(&vm);
			entry_failed(c.head.id, &e);
			return false;
		}
		o = observe(&c, &e, &hv->gprs);
		vmx_vm_read_ad(&vm, &c, ad);
		vmx_vm_free(&vm);
		if (c.head.access == VMX_ACCESS_WRITE)
			retag(&o);
		count(stats, &o);
		vmx_outcome_format(c.head.id, &o, ad, line);
		vmx_log(line, false);
		vmx_log("\n", false);
	}
	if (more < 0) {
		hw_puts("vmx: blob offset ");
		hw_put_dec(cur.offset);
		hw_puts(": ");
		hw_puts(why);
		hw_putc('\n');
		return false;
	}
	return true;
}
