#include "svm.h"

#include <nestwalk/cpu.h>

#include "contract/layout.h"
#include "libc.h"
#include "vmcb.h"
#include "x86.h"

uint64_t hw_svm_enter(uint64_t vmcb_pa, uint64_t gva);

struct table_ptr {
	uint16_t limit;
	uint64_t base;
} __attribute__((packed));

static uint8_t guest_stack[4096] __attribute__((aligned(16)));

bool hw_svm_supported(void)
{
	uint32_t r[4];

	hw_cpuid(0x80000000u, 0, r);
	if (r[0] < 0x8000000au)
		return false;
	hw_cpuid(0x80000001u, 0, r);
	if (!((r[2] >> 2) & 1)) /* ECX bit 2: SVM */
		return false;
	hw_cpuid(0x8000000au, 0, r);
	return r[3] & 1; /* EDX bit 0: nested paging */
}

bool hw_svm_init(struct hw_svm *svm, const struct nw_hal *hal)
{
	if (nw_frame_alloc_zero(&svm->vmcb, hal) != NW_OK)
		return false;
	if (nw_frame_alloc_zero(&svm->hsave, hal) != NW_OK) {
		nw_frame_free(&svm->vmcb);
		return false;
	}
	hw_wrmsr(HW_MSR_EFER, hw_rdmsr(HW_MSR_EFER) | HW_EFER_SVME);
	hw_wrmsr(HW_MSR_VM_HSAVE_PA, nw_frame_paddr(&svm->hsave).val);
	return true;
}

void hw_svm_fini(struct hw_svm *svm)
{
	hw_wrmsr(HW_MSR_VM_HSAVE_PA, 0);
	hw_wrmsr(HW_MSR_EFER, hw_rdmsr(HW_MSR_EFER) & ~HW_EFER_SVME);
	nw_frame_free(&svm->hsave);
	nw_frame_free(&svm->vmcb);
}

static void put16(uint8_t *vmcb, unsigned off, uint16_t val) { memcpy(vmcb + off, &val, sizeof(val)); }
static void put32(uint8_t *vmcb, unsigned off, uint32_t val) { memcpy(vmcb + off, &val, sizeof(val)); }
static void put64(uint8_t *vmcb, unsigned off, uint64_t val) { memcpy(vmcb + off, &val, sizeof(val)); }

static uint64_t get64(const uint8_t *vmcb, unsigned off)
{
	uint64_t val;

	memcpy(&val, vmcb + off, sizeof(val));
	return val;
}

static void put_segment(uint8_t *vmcb, unsigned off, uint16_t sel, uint16_t attr, uint32_t limit, uint64_t base)
{
	put16(vmcb, off, sel);
	put16(vmcb, off + 2, attr);
	put32(vmcb, off + 4, limit);
	put64(vmcb, off + 8, base);
}

/* The guest shares the image's GDT, IDT and TSS (reached through the identity
 * nested map); its own state comes from the case. */
static void fill_vmcb(uint8_t *vmcb, const struct hw_svm_guest *g)
{
	struct table_ptr gdtr, idtr;
	uint16_t tr, data_sel = HW_SEL_KDATA, data_attr = VMCB_ATTR_DATA;

	__asm__ volatile("sgdt %0" : "=m"(gdtr));
	__asm__ volatile("sidt %0" : "=m"(idtr));
	__asm__ volatile("str %0" : "=r"(tr));
	memset(vmcb, 0, 4096);
	/* Every exception: the guest's #PF is the outcome, anything else must not
	 * reach the image's 64-bit IDT from a 32-bit guest. */
	put32(vmcb, VMCB_INTERCEPT_EXCEPTIONS, UINT32_MAX);
	put32(vmcb, VMCB_INTERCEPT_MISC1, VMCB_MISC1_INTN | VMCB_MISC1_SHUTDOWN);
	put32(vmcb, VMCB_INTERCEPT_MISC2, VMCB_MISC2_VMRUN | VMCB_MISC2_VMMCALL);
	put32(vmcb, VMCB_GUEST_ASID, 1);
	vmcb[VMCB_TLB_CONTROL] = VMCB_TLB_FLUSH_ALL; /* the nested tables are new for every case */
	put64(vmcb, VMCB_NP_ENABLE, 1);
	put64(vmcb, VMCB_N_CR3, g->ncr3);

	if (g->code32 && g->cpl == 3) {
		put_segment(vmcb, VMCB_CS, HW_SEL_UCODE, VMCB_ATTR_CODE32 | VMCB_ATTR_DPL3, 0xffffffffu, 0);
		data_sel = HW_SEL_UDATA;
		data_attr = VMCB_ATTR_DATA | VMCB_ATTR_DPL3;
	} else if (g->code32) {
		put_segment(vmcb, VMCB_CS, HW_SEL_CODE32, VMCB_ATTR_CODE32, 0xffffffffu, 0);
	} else {
		put_segment(vmcb, VMCB_CS, HW_SEL_KCODE, VMCB_ATTR_CODE64, 0xffffffffu, 0);
	}
	put_segment(vmcb, VMCB_SS, data_sel, data_attr, 0xffffffffu, 0);
	put_segment(vmcb, VMCB_DS, data_sel, data_attr, 0xffffffffu, 0);
	put_segment(vmcb, VMCB_ES, data_sel, data_attr, 0xffffffffu, 0);
	put_segment(vmcb, VMCB_GDTR, 0, 0, gdtr.limit, gdtr.base);
	put_segment(vmcb, VMCB_IDTR, 0, 0, idtr.limit, idtr.base);
	put_segment(vmcb, VMCB_TR, tr, VMCB_ATTR_TSS64, 103, 0);
	vmcb[VMCB_CPL] = (uint8_t)g->cpl; /* SS.DPL above matches */
	put64(vmcb, VMCB_EFER, g->efer | HW_EFER_SVME);
	put64(vmcb, VMCB_CR0, g->cr0);
	put64(vmcb, VMCB_CR3, g->cr3);
	put64(vmcb, VMCB_CR4, g->cr4);
	put64(vmcb, VMCB_DR6, 0xffff0ff0u);
	put64(vmcb, VMCB_DR7, 0x400);
	put64(vmcb, VMCB_RFLAGS, g->rflags);
	put64(vmcb, VMCB_RIP, g->rip);
	put64(vmcb, VMCB_RSP, (uint64_t)(uintptr_t)(guest_stack + sizeof(guest_stack)));
	put64(vmcb, VMCB_G_PAT, NW_PAT_POWER_ON);
}

struct hw_svm_exit hw_svm_run(struct hw_svm *svm, const struct hw_svm_guest *guest)
{
	uint8_t *vmcb = nw_frame_ptr(&svm->vmcb);
	uint64_t rdx;

	fill_vmcb(vmcb, guest);
	rdx = hw_svm_enter(nw_frame_paddr(&svm->vmcb).val, guest->gva);
	return (struct hw_svm_exit){
		.code = get64(vmcb, VMCB_EXITCODE), .info1 = get64(vmcb, VMCB_EXITINFO1),
		.info2 = get64(vmcb, VMCB_EXITINFO2), .rax = get64(vmcb, VMCB_RAX), .rdx = rdx,
	};
}
