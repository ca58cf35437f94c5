/* The AArch64 image: at EL2, for each case of the blob QEMU's loader left at HW_A64_BLOB_BASE, builds the
 * case's stage 2 with the library (contract/a64_case.h), enters EL1 with stage 1 off, lets the guest make
 * its one access, and prints what the CPU did, one line per case:
 *   c ID ok PA                the access completed: PA where the load or store landed ("-" for a fetch,
 *                             which is seen only to have run the scratch word's "hvc #0" at the IPA)
 *   c ID abort ESR FAR HPFAR  a stage-2 abort taken to EL2: ESR_EL2, FAR_EL2, HPFAR_EL2
 *   c ID exc ESR ADDR         anything else (ESR_EL1 and FAR_EL1 for an exception the guest took at EL1: with
 *                             a stage-1 part, its stage-1 aborts)
 *   c ID raw VALUE            completed, but the word read back is not a scratch tag
 *   c ID unsupported FEATURE  the case's model and this CPU differ
 * "c ID" goes out before the case runs, so output ending in it names the case the CPU stopped in. */
#include <stdint.h>

#include <nestwalk/arm64_s2.h>

#include "contract/a64_case.h"
#include "contract/a64_s1.h"
#include "contract/layout.h"
#include "s2_image.h"
#include "serial.h"

#define SYSREG_READ(name) ({ uint64_t v_; __asm__ volatile("mrs %0, " #name : "=r"(v_)); v_; })
#define SYSREG_WRITE(name, v) __asm__ volatile("msr " #name ", %0" : : "r"((uint64_t)(v)))

#define HCR_VM (UINT64_C(1) << 0)
#define HCR_RW (UINT64_C(1) << 31)
#define SCTLR_EL1_RES1 UINT64_C(0x30d00800) /* stage 1 off (M 0), caches off */
#define EC_HVC64 0x16u
#define EC_SVC64 0x15u   /* an EL0 guest's "svc #0" after its access: done */
#define EC_UNKNOWN 0x00u /* an EL0 guest's fetch ran the scratch word's "hvc #0", UNDEFINED at EL0: done */

unsigned hw_a64_enter(uint64_t va, uint64_t pc, uint64_t spsr);
_Noreturn void hw_a64_main(void);
_Noreturn void hw_a64_el2_fault(void);
extern uint64_t hw_a64_guest_x1;
extern char hw_a64_guest_read[], hw_a64_guest_write[], hw_a64_guest_fetch[], hw_a64_el1_vectors[];
extern char hw_a64_guest_ldtr[], hw_a64_guest_sttr[], hw_a64_guest_read0[], hw_a64_guest_write0[],
	hw_a64_guest_ldtr0[], hw_a64_guest_sttr0[];

static bool cpu_xnx;

_Noreturn void hw_a64_el2_fault(void)
{
	hw_puts("hw: exception at EL2: ESR_EL2 ");
	hw_put_hex(SYSREG_READ(esr_el2));
	hw_puts(" ELR_EL2 ");
	hw_put_hex(SYSREG_READ(elr_el2));
	hw_puts(" FAR_EL2 ");
	hw_put_hex(SYSREG_READ(far_el2));
	hw_putc('\n');
	hw_exit(HW_EXIT_FAIL);
}

static void put_fields(const uint64_t *v, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		hw_putc(' ');
		hw_put_hex(v[i]);
	}
	hw_putc('\n');
}

static const struct hw_s2_image image;

/* elr: where the guest came back from (a fetch: after the word it ran at va, or at it for EL0's UNDEFINED). */
static void put_success(const struct hw_blob_case *c, uint64_t elr, uint64_t fetched)
{
	if (c->access == HW_ACCESS_WRITE)
		hw_s2_put_store(&image);
	else if (c->access == HW_ACCESS_FETCH)
		hw_puts(elr == fetched ? " ok -\n" : " raw -\n");
	else
		hw_s2_put_load(&image, hw_a64_guest_x1);
}

/* The guest's code for the access: a load, store or fetch; LDTR/STTR when unprivileged; ending in "svc #0" at
 * EL0 (where "hvc" is UNDEFINED). */
static uint64_t guest_code(const struct hw_blob_case *c, const struct hw_a64_s1_part *p, bool el0)
{
	static char *const el1[2][3] = { { hw_a64_guest_read, hw_a64_guest_write, hw_a64_guest_fetch },
					 { hw_a64_guest_ldtr, hw_a64_guest_sttr, hw_a64_guest_fetch } };
	static char *const el0_code[2][3] = { { hw_a64_guest_read0, hw_a64_guest_write0, hw_a64_guest_fetch },
					      { hw_a64_guest_ldtr0, hw_a64_guest_sttr0, hw_a64_guest_fetch } };
	unsigned unpriv = p && p->unprivileged;

	return (uint64_t)(uintptr_t)(el0 ? el0_code : el1)[unpriv][c->access];
}

static void load_el1(const struct hw_a64_s1_part *p)
{
	SYSREG_WRITE(tcr_el1, p ? p->tcr : 0);
	SYSREG_WRITE(ttbr0_el1, p ? p->ttbr0 : 0);
	SYSREG_WRITE(ttbr1_el1, p ? p->ttbr1 : 0);
	SYSREG_WRITE(mair_el1, p ? p->mair : 0);
	SYSREG_WRITE(sctlr_el1, SCTLR_EL1_RES1 | (p ? p->sctlr : 0));
}

/* Back through the guest's EL1 vectors ("hvc #1"): an EL0 guest done (its "svc #0", or the UNDEFINED "hvc #0"
 * its fetch ran at va), or an exception the guest took at EL1: ESR_EL1 and FAR_EL1. */
static void put_el1_exception(const struct hw_blob_case *c, uint64_t va, bool el0)
{
	uint64_t esr1 = SYSREG_READ(esr_el1), v[2] = { esr1, SYSREG_READ(far_el1) };
	unsigned ec = (unsigned)(esr1 >> NW_ESR_EC_SHIFT);

	if (el0 && c->access != HW_ACCESS_FETCH && ec == EC_SVC64) {
		put_success(c, 0, 0);
	} else if (el0 && c->access == HW_ACCESS_FETCH && ec == EC_UNKNOWN) {
		put_success(c, SYSREG_READ(elr_el1), va);
	} else {
		hw_puts(" exc");
		put_fields(v, 2);
	}
}

static void run_case(const struct hw_blob_case *c, const struct hw_a64_vm *vm, const struct hw_a64_s1_part *p)
{
	bool el0 = p && !(p->pstate & HW_A64_PSTATE_EL1H);
	uint64_t va = p ? p->va : c->gva, spsr = p ? hw_a64_s1_spsr(p) : 0x3c5;
	unsigned kind;
	uint64_t esr, v[3];

	load_el1(p);
	SYSREG_WRITE(vtcr_el2, c->vtcr);
	SYSREG_WRITE(vttbr_el2, hw_a64_vttbr(vm));
	SYSREG_WRITE(hcr_el2, HCR_RW | HCR_VM);
	__asm__ volatile("isb; tlbi alle1; dsb sy; isb" : : : "memory");
	kind = hw_a64_enter(va, guest_code(c, p, el0), spsr);
	SYSREG_WRITE(hcr_el2, HCR_RW);
	load_el1(0);
	__asm__ volatile("isb" : : : "memory");
	esr = SYSREG_READ(esr_el2);
	if (kind == 0 && esr >> NW_ESR_EC_SHIFT == EC_HVC64 && (esr & 0xffff) == 0) {
		put_success(c, SYSREG_READ(elr_el2), va + 4);
	} else if (kind == 0 && (esr >> NW_ESR_EC_SHIFT == NW_ESR_EC_DABT_LOW ||
				 esr >> NW_ESR_EC_SHIFT == NW_ESR_EC_IABT_LOW)) {
		v[0] = esr;
		v[1] = SYSREG_READ(far_el2);
		v[2] = SYSREG_READ(hpfar_el2);
		hw_puts(" abort");
		put_fields(v, 3);
	} else if (kind == 0 && esr >> NW_ESR_EC_SHIFT == EC_HVC64) {
		put_el1_exception(c, va, el0);
	} else {
		v[0] = esr;
		v[1] = kind;
		hw_puts(" exc");
		put_fields(v, 2);
	}
}

/* The case's stage 1 too with a stage-1 part, which the blob loop measured (hw_a64_s1_tail). */
static const char *build_and_run(const struct hw_blob_case *c, const struct hw_blob_entry *entries,
				 const struct nw_hal *hal)
{
	const struct hw_a64_s1_part *p =
		c->flags & HW_A64_S1 ? (const struct hw_a64_s1_part *)(entries + c->entry_count) : 0;
	struct hw_a64_vm vm;
	struct hw_a64_s1 s1;
	const char *why;

	if (((c->flags & HW_A64_XNX) != 0) != cpu_xnx) {
		hw_puts(" unsupported FEAT_XNX differs\n");
		return 0;
	}
	why = hw_a64_case_build(&vm, &s1, hal, c, entries, p, p ? (const struct hw_blob_entry *)(p + 1) : 0);
	if (why)
		return why;
	run_case(c, &vm, p);
	hw_a64_case_destroy(&vm, &s1);
	return 0;
}

static const struct hw_s2_image image = {
	.arch = HW_BLOB_ARCH_AARCH64,
	.not_ours = "not a version-1 aarch64 blob",
	.blob_base = HW_A64_BLOB_BASE,
	.blob_max = HW_A64_BLOB_MAX,
	.pool_base = HW_A64_POOL_BASE,
	.pool_size = HW_A64_POOL_SIZE,
	.scratch_base = HW_A64_SCRATCH_BASE,
	.scratch_size = HW_A64_SCRATCH_SIZE,
	.stop_insn = HW_A64_HVC0,
	.write_word = HW_A64_WRITE_WORD,
	.tail = hw_a64_s1_tail,
	.run_case = build_and_run,
};

_Noreturn void hw_a64_main(void)
{
	uint64_t mmfr0 = SYSREG_READ(id_aa64mmfr0_el1), mmfr1 = SYSREG_READ(id_aa64mmfr1_el1);

	hw_serial_init();
	cpu_xnx = ((mmfr1 >> 28) & 0xf) != 0;
	hw_puts("hw: aarch64 EL");
	hw_put_dec((SYSREG_READ(currentel) >> 2) & 3);
	hw_puts(" parange ");
	hw_put_dec(mmfr0 & 0xf);
	hw_puts(" xnx ");
	hw_put_dec(cpu_xnx);
	hw_puts(" hafdbs ");
	hw_put_dec(mmfr1 & 0xf);
	hw_putc('\n');
	SYSREG_WRITE(sctlr_el1, SCTLR_EL1_RES1);
	SYSREG_WRITE(vbar_el1, (uint64_t)(uintptr_t)hw_a64_el1_vectors);
	hw_s2_image_run(&image);
}
