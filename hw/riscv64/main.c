/* The RISC-V image: in M-mode, for each case of the blob QEMU's loader left at HW_RV_BLOB_BASE, builds the
 * case's G-stage with the library (contract/rv_case.h) and, with a VS-stage part, its VS-stage tables
 * (contract/rv_vs.h), enters VS-mode (or VU-mode) with vsatp Bare or the part's, lets the guest make its one
 * access, and prints what the hart did, one line per case:
 *   c ID ok PA                        the access completed: PA where the load or store landed ("-" for a
 *                                     fetch, which is seen only to have run the scratch word's "ecall")
 *   c ID trap CAUSE TVAL TVAL2 TINST GVA  a trap from VS-mode into M-mode (none is delegated): mcause, mtval,
 *                                     mtval2 and mtinst (what htval and htinst would hold in HS-mode), and
 *                                     mstatus.GVA (hstatus.GVA)
 *   c ID raw VALUE                    completed, but the word read back is not a scratch tag
 *   c ID unsupported WHAT             the case's model and this hart differ
 * "c ID" goes out before the case runs, so output ending in it names the case the hart stopped in. */
#include <stdint.h>

#include <nestwalk/riscv_gstage.h>

#include "contract/layout.h"
#include "contract/rv_case.h"
#include "contract/rv_vs.h"
#include "s2_image.h"
#include "serial.h"

#define CSR_READ(name) \
	({ \
		uint64_t v_; \
		__asm__ volatile("csrr %0, " #name : "=r"(v_)); \
		v_; \
	})
#define CSR_SET(name, v) __asm__ volatile("csrs " #name ", %0" : : "r"((uint64_t)(v)))
#define CSR_CLEAR(name, v) __asm__ volatile("csrc " #name ", %0" : : "r"((uint64_t)(v)))
/* GCC 12's -march has no "h": the H extension's CSRs by number, HFENCE.GVMA (every guest, every address) by
 * its encoding. */
#define CSR_HGATP 0x680
#define CSR_VSATP 0x280
#define CSR_VSSTATUS 0x200
#define CSR_MTINST 0x34a
#define CSR_MTVAL2 0x34b
#define CSR_MENVCFG 0x30a
#define CSR_HENVCFG 0x60a
#define CSR_READ_N(n) \
	({ \
		uint64_t v_; \
		__asm__ volatile("csrr %0, %1" : "=r"(v_) : "i"(n)); \
		v_; \
	})
#define CSR_WRITE_N(n, v) __asm__ volatile("csrw %0, %1" : : "i"(n), "r"((uint64_t)(v)))
#define HFENCE_GVMA_ALL() __asm__ volatile(".insn r 0x73, 0, 0x31, x0, x0, x0" : : : "memory")
/* HFENCE.VVMA, every address and ASID of the current VMID (hgatp's). */
#define HFENCE_VVMA_ALL() __asm__ volatile(".insn r 0x73, 0, 0x11, x0, x0, x0" : : : "memory")
#define CSR_SET_N(n, v) __asm__ volatile("csrs %0, %1" : : "i"(n), "r"((uint64_t)(v)))
#define CSR_CLEAR_N(n, v) __asm__ volatile("csrc %0, %1" : : "i"(n), "r"((uint64_t)(v)))

#define MSTATUS_MXR (UINT64_C(1) << 19)
#define MSTATUS_GVA (UINT64_C(1) << 38)
#define MENVCFG_PBMTE (UINT64_C(1) << 62)
#define MENVCFG_ADUE (UINT64_C(1) << 61)
#define MISA_H (UINT64_C(1) << ('H' - 'A'))
#define CAUSE_ECALL_VS 10u
#define CAUSE_ECALL_U 8u /* from VU-mode too */
#define MSTATUS_MPP_S (UINT64_C(1) << 11)
#define VSSTATUS_SUM_MXR (NW_RV_SSTATUS_SUM | NW_RV_SSTATUS_MXR)

/* Runs the guest at pc with a0 = va, in VS-mode (mpp MSTATUS_MPP_S) or VU-mode (0). */
uint64_t hw_rv_enter(uint64_t va, uint64_t pc, uint64_t mpp);
_Noreturn void hw_rv_main(void);
_Noreturn void hw_rv_m_fault(void);
extern uint64_t hw_rv_guest_a1;
extern char hw_rv_guest_read[], hw_rv_guest_write[], hw_rv_guest_fetch[];

_Noreturn void hw_rv_m_fault(void)
{
	hw_puts("hw: trap in M-mode: mcause ");
	hw_put_hex(CSR_READ(mcause));
	hw_puts(" mepc ");
	hw_put_hex(CSR_READ(mepc));
	hw_puts(" mtval ");
	hw_put_hex(CSR_READ(mtval));
	hw_putc('\n');
	hw_exit(HW_EXIT_FAIL);
}

static const struct hw_s2_image image;

static void put_success(const struct hw_blob_case *c, uint64_t va, uint64_t mepc)
{
	if (c->access == HW_ACCESS_WRITE)
		hw_s2_put_store(&image);
	else if (c->access == HW_ACCESS_FETCH)
		hw_puts(mepc == va ? " ok -\n" : " raw -\n");
	else
		hw_s2_put_load(&image, hw_rv_guest_a1);
}

static uint64_t guest_pc(const char *code)
{
	return HW_RV_CODE_GPA + ((uint64_t)(uintptr_t)code - HW_RV_IMAGE_BASE);
}

/* The case's vsatp and vsstatus (SUM, MXR) for the guest, both fences: false when the hart refuses vsatp. */
static bool load_vs(const struct hw_rv_vs_part *p)
{
	uint64_t vsatp = p ? p->vsatp : 0;

	CSR_WRITE_N(CSR_VSATP, vsatp);
	CSR_CLEAR_N(CSR_VSSTATUS, VSSTATUS_SUM_MXR);
	if (p)
		CSR_SET_N(CSR_VSSTATUS, p->vsstatus);
	HFENCE_GVMA_ALL();
	HFENCE_VVMA_ALL();
	return CSR_READ_N(CSR_VSATP) == vsatp;
}

/* menvcfg.PBMTE and henvcfg.PBMTE (same bit) set for both stages: false when the hart has no Svpbmt. */
static bool set_pbmte(void)
{
	CSR_SET_N(CSR_MENVCFG, MENVCFG_PBMTE);
	CSR_SET_N(CSR_HENVCFG, MENVCFG_PBMTE);
	HFENCE_GVMA_ALL();
	HFENCE_VVMA_ALL();
	return (CSR_READ_N(CSR_MENVCFG) & CSR_READ_N(CSR_HENVCFG) & MENVCFG_PBMTE) != 0;
}

static void run_case(const struct hw_blob_case *c, const struct hw_rv_vm *vm, const struct hw_rv_vs_part *p)
{
	static char *const guest[] = { hw_rv_guest_read, hw_rv_guest_write, hw_rv_guest_fetch };
	uint64_t hgatp = hw_rv_hgatp(vm), cause, va = p ? p->va : c->gva;
	bool vu = p && p->vu;

	CSR_WRITE_N(CSR_HGATP, hgatp);
	if (CSR_READ_N(CSR_HGATP) != hgatp) {
		hw_puts(" unsupported hgatp mode\n");
		return;
	}
	if (!load_vs(p)) {
		hw_puts(" unsupported vsatp mode\n");
		return;
	}
	if ((c->flags & HW_RV_PBMTE) && !set_pbmte()) {
		load_vs(0);
		CSR_WRITE_N(CSR_HGATP, 0);
		hw_puts(" unsupported Svpbmt (menvcfg.PBMTE reads 0)\n");
		return;
	}
	if (c->flags & HW_RV_MXR)
		CSR_SET(mstatus, MSTATUS_MXR);
	cause = hw_rv_enter(va, guest_pc(guest[c->access]), vu ? 0 : MSTATUS_MPP_S);
	CSR_CLEAR(mstatus, MSTATUS_MXR);
	CSR_CLEAR_N(CSR_HENVCFG, MENVCFG_PBMTE);
	CSR_CLEAR_N(CSR_MENVCFG, MENVCFG_PBMTE);
	load_vs(0);
	CSR_WRITE_N(CSR_HGATP, 0);
	if (cause == (vu ? CAUSE_ECALL_U : CAUSE_ECALL_VS)) {
		put_success(c, va, CSR_READ(mepc));
		return;
	}
	hw_puts(" trap ");
	hw_put_hex(cause);
	hw_putc(' ');
	hw_put_hex(CSR_READ(mtval));
	hw_putc(' ');
	hw_put_hex(CSR_READ_N(CSR_MTVAL2));
	hw_putc(' ');
	hw_put_hex(CSR_READ_N(CSR_MTINST));
	hw_putc(' ');
	hw_put_dec((CSR_READ(mstatus) & MSTATUS_GVA) != 0);
	hw_putc('\n');
}

/* The case's VS-stage too with a VS-stage part, which the blob loop measured (hw_rv_vs_tail). */
static const char *build_and_run(const struct hw_blob_case *c, const struct hw_blob_entry *entries,
				 const struct nw_hal *hal)
{
	const struct hw_rv_vs_part *p =
		c->flags & HW_RV_VS ? (const struct hw_rv_vs_part *)(entries + c->entry_count) : 0;
	struct hw_rv_vm vm;
	struct hw_rv_vs vs;
	const char *why = hw_rv_case_build(&vm, &vs, hal, c, entries, p, p ? (const struct hw_blob_entry *)(p + 1) : 0);

	if (why)
		return why;
	run_case(c, &vm, p);
	hw_rv_case_destroy(&vm, &vs);
	return 0;
}

static const struct hw_s2_image image = {
	.arch = HW_BLOB_ARCH_RISCV64,
	.not_ours = "not a version-1 riscv64 blob",
	.blob_base = HW_RV_BLOB_BASE,
	.blob_max = HW_RV_BLOB_MAX,
	.pool_base = HW_RV_POOL_BASE,
	.pool_size = HW_RV_POOL_SIZE,
	.scratch_base = HW_RV_SCRATCH_BASE,
	.scratch_size = HW_RV_SCRATCH_SIZE,
	.stop_insn = HW_RV_ECALL,
	.write_word = HW_RV_WRITE_WORD,
	.tail = hw_rv_vs_tail,
	.run_case = build_and_run,
};

/* Whether a menvcfg bit can be set; left clear. */
static unsigned menvcfg_has(uint64_t bit)
{
	unsigned has;

	__asm__ volatile("csrs %0, %1" : : "i"(CSR_MENVCFG), "r"(bit));
	has = (CSR_READ_N(CSR_MENVCFG) & bit) != 0;
	__asm__ volatile("csrc %0, %1" : : "i"(CSR_MENVCFG), "r"(bit));
	return has;
}

_Noreturn void hw_rv_main(void)
{
	hw_serial_init();
	hw_puts("hw: riscv64 M-mode h ");
	hw_put_dec((CSR_READ(misa) & MISA_H) != 0);
	hw_puts(" pbmte-writable ");
	hw_put_dec(menvcfg_has(MENVCFG_PBMTE));
	hw_puts(" adue ");
	hw_put_dec(menvcfg_has(MENVCFG_ADUE));
	hw_putc('\n');
	/* menvcfg.PBMTE stays clear but for a case with HW_RV_PBMTE, so PBMT is reserved as the model has it
	 * (hw_rv_config). A hart whose ADUE can be set is not the one the cases model: it has Svade by default, the
	 * cases' switch would have to be applied. */
	if (!(CSR_READ(misa) & MISA_H) || menvcfg_has(MENVCFG_ADUE)) {
		hw_puts("hw: this hart is not the one the cases model (H, menvcfg.ADUE read-only)\n");
		hw_exit(HW_EXIT_FAIL);
	}
	hw_s2_image_run(&image);
}
