/* VMX bring-up, VMCS set-up and one VM entry per case (vmx_hv.h). */
#include "vmx_hv.h"

#include <nestwalk/cpu.h>

#include "contract/layout.h"
#include "vmcs.h"
#include "vmx_insn.h"
#include "x86.h"

#define CR0_PE (UINT64_C(1) << 0)
#define CR0_ET (UINT64_C(1) << 4)
#define CR0_NE (UINT64_C(1) << 5)
#define MSR_FS_BASE 0xc0000100u
#define MSR_GS_BASE 0xc0000101u
#define RFLAGS_FIXED 0x2u
#define AR_DPL3 (3u << 5) /* access rights bits 6:5, the descriptor privilege level (§25.4.1) */
#define DR7_FIXED 0x400u
#define ALL_EXCEPTIONS 0xffffffffu

extern uint64_t hw_gdt[];
extern char hw_vmx_exit[];
int hw_vmx_enter(struct vmx_gprs *gprs, int launched);

struct table_reg {
	uint16_t limit;
	uint64_t base;
} __attribute__((packed));

/* A control word the CPU accepts: the wanted bits plus those its capability
 * MSR fixes to 1 (low half), minus those it cannot set (high half) (§A.3-A.5). */
static bool adjust_controls(uint32_t msr, uint32_t want, uint32_t *ctl)
{
	uint64_t cap = hw_rdmsr(msr);

	*ctl = (want | (uint32_t)cap) & (uint32_t)(cap >> 32);
	return (*ctl & want) == want;
}

/* The TRUE_ MSR when IA32_VMX_BASIC says it exists, so default-1 controls may be cleared (§A.2). */
static uint32_t control_msr(uint32_t plain, uint32_t truth)
{
	return (hw_rdmsr(VMX_MSR_BASIC) & VMX_BASIC_TRUE_CTLS) ? truth : plain;
}

static uint64_t fixed_bits(uint64_t val, uint32_t fixed0, uint32_t fixed1)
{
	return (val | hw_rdmsr(fixed0)) & hw_rdmsr(fixed1);
}

static uint64_t tss_base(void)
{
	uint64_t lo = hw_gdt[HW_SEL_TSS >> 3], hi = hw_gdt[(HW_SEL_TSS >> 3) + 1];

	return ((lo >> 16) & 0xffffffu) | (((lo >> 56) & 0xffu) << 24) | (hi << 32);
}

static struct nw_ept_caps read_caps(void)
{
	uint64_t cap = hw_rdmsr(VMX_MSR_EPT_VPID_CAP);
	uint64_t proc2 = hw_rdmsr(VMX_MSR_PROCBASED_CTLS2) >> 32;
	uint32_t r[4];

	hw_cpuid(0x80000008u, 0, r);
	return (struct nw_ept_caps){
		.maxphyaddr = r[0] & 0xffu,
		.exec_only = (cap & VMX_EPT_CAP_EXEC_ONLY) != 0,
		.pages_1g = (cap & VMX_EPT_CAP_1G) != 0,
		.five_level = (cap & VMX_EPT_CAP_WALK5) != 0,
		.mbec = (proc2 & VMX_PROC2_MBEC) != 0,
		.ad = (cap & VMX_EPT_CAP_AD) != 0,
		.advanced_exit_info = (cap & VMX_EPT_CAP_ADV_EXIT_INFO) != 0,
	};
}

static bool write_all(const uint64_t (*fields)[2], unsigned n)
{
	bool ok = true;

	for (unsigned i = 0; i < n; i++)
		ok &= vmx_write(fields[i][0], fields[i][1]);
	return ok;
}

static const char *setup_controls(struct vmx_hv *hv)
{
	uint32_t pin, proc, proc2, exit_ctl, entry_ctl;

	if (!adjust_controls(control_msr(VMX_MSR_PINBASED_CTLS, VMX_MSR_TRUE_PINBASED_CTLS), 0, &pin) ||
	    !adjust_controls(control_msr(VMX_MSR_PROCBASED_CTLS, VMX_MSR_TRUE_PROCBASED_CTLS),
			     VMX_PROC_HLT | VMX_PROC_IO_BITMAPS | VMX_PROC_MSR_BITMAPS | VMX_PROC_SECONDARY, &proc) ||
	    !adjust_controls(VMX_MSR_PROCBASED_CTLS2, VMX_PROC2_EPT, &proc2) ||
	    !adjust_controls(control_msr(VMX_MSR_EXIT_CTLS, VMX_MSR_TRUE_EXIT_CTLS),
			     VMX_EXIT_HOST_64 | VMX_EXIT_LOAD_EFER, &exit_ctl) ||
	    !adjust_controls(control_msr(VMX_MSR_ENTRY_CTLS, VMX_MSR_TRUE_ENTRY_CTLS),
			     VMX_ENTRY_GUEST_64 | VMX_ENTRY_LOAD_EFER, &entry_ctl))
		return "a needed VM-execution, exit or entry control is not allowed";
	const uint64_t fields[][2] = {
		{ VMCS_PIN_CTLS, pin },
		{ VMCS_PROC_CTLS, proc },
		{ VMCS_PROC2_CTLS, proc2 },
		{ VMCS_EXIT_CTLS, exit_ctl },
		{ VMCS_ENTRY_CTLS, entry_ctl },
		{ VMCS_EXCEPTION_BITMAP, ALL_EXCEPTIONS },
		{ VMCS_PF_ERROR_MASK, 0 },
		{ VMCS_PF_ERROR_MATCH, 0 },
		{ VMCS_CR3_TARGET_COUNT, 0 },
		{ VMCS_EXIT_MSR_STORE_COUNT, 0 },
		{ VMCS_EXIT_MSR_LOAD_COUNT, 0 },
		{ VMCS_ENTRY_MSR_LOAD_COUNT, 0 },
		{ VMCS_ENTRY_INTR_INFO, 0 },
		{ VMCS_IO_BITMAP_A, nw_io_bitmap_a_paddr(&hv->io).val },
		{ VMCS_IO_BITMAP_B, nw_io_bitmap_b_paddr(&hv->io).val },
		{ VMCS_MSR_BITMAP, nw_msr_bitmap_paddr(&hv->msr).val },
		{ VMCS_CR0_MASK, 0 },
		{ VMCS_CR4_MASK, 0 },
		{ VMCS_LINK_POINTER, ~UINT64_C(0) },
	};
	return write_all(fields, sizeof(fields) / sizeof(fields[0])) ? 0 : "VMWRITE of a control field failed";
}

static const char *setup_host(void)
{
	struct table_reg gdtr, idtr;

	__asm__ volatile("sgdt %0; sidt %1" : "=m"(gdtr), "=m"(idtr));
	const uint64_t fields[][2] = {
		{ VMCS_HOST_CR0, hw_read_cr0() },
		{ VMCS_HOST_CR3, hw_read_cr3() },
		{ VMCS_HOST_CR4, hw_read_cr4() },
		{ VMCS_HOST_ES_SEL, HW_SEL_KDATA },
		{ VMCS_HOST_CS_SEL, HW_SEL_KCODE },
		{ VMCS_HOST_SS_SEL, HW_SEL_KDATA },
		{ VMCS_HOST_DS_SEL, HW_SEL_KDATA },
		{ VMCS_HOST_FS_SEL, 0 },
		{ VMCS_HOST_GS_SEL, 0 },
		{ VMCS_HOST_TR_SEL, HW_SEL_TSS },
		{ VMCS_HOST_FS_BASE, hw_rdmsr(MSR_FS_BASE) },
		{ VMCS_HOST_GS_BASE, hw_rdmsr(MSR_GS_BASE) },
		{ VMCS_HOST_TR_BASE, tss_base() },
		{ VMCS_HOST_GDTR_BASE, gdtr.base },
		{ VMCS_HOST_IDTR_BASE, idtr.base },
		{ VMCS_HOST_SYSENTER_CS, 0 },
		{ VMCS_HOST_SYSENTER_ESP, 0 },
		{ VMCS_HOST_SYSENTER_EIP, 0 },
		{ VMCS_HOST_EFER, hw_rdmsr(HW_MSR_EFER) },
		{ VMCS_HOST_RIP, (uint64_t)(uintptr_t)hw_vmx_exit },
	};
	return write_all(fields, sizeof(fields) / sizeof(fields[0])) ? 0 : "VMWRITE of a host-state field failed";
}

/* A flat 64-bit guest: an empty IDT (so "int $0x80" is a #GP), no LDT. Control
 * registers, RFLAGS, the CS/SS/DS/ES selectors and rights and the GDTR are set per entry. */
static const char *setup_guest(void)
{
	const uint64_t fields[][2] = {
		{ VMCS_GUEST_CS_LIMIT, 0xffffffffu },
		{ VMCS_GUEST_CS_BASE, 0 },
		{ VMCS_GUEST_SS_LIMIT, 0xffffffffu },
		{ VMCS_GUEST_SS_BASE, 0 },
		{ VMCS_GUEST_DS_LIMIT, 0xffffffffu },
		{ VMCS_GUEST_DS_BASE, 0 },
		{ VMCS_GUEST_ES_LIMIT, 0xffffffffu },
		{ VMCS_GUEST_ES_BASE, 0 },
		{ VMCS_GUEST_FS_SEL, 0 },
		{ VMCS_GUEST_FS_LIMIT, 0 },
		{ VMCS_GUEST_FS_AR, VMX_AR_UNUSABLE },
		{ VMCS_GUEST_FS_BASE, 0 },
		{ VMCS_GUEST_GS_SEL, 0 },
		{ VMCS_GUEST_GS_LIMIT, 0 },
		{ VMCS_GUEST_GS_AR, VMX_AR_UNUSABLE },
		{ VMCS_GUEST_GS_BASE, 0 },
		{ VMCS_GUEST_LDTR_SEL, 0 },
		{ VMCS_GUEST_LDTR_LIMIT, 0 },
		{ VMCS_GUEST_LDTR_AR, VMX_AR_UNUSABLE },
		{ VMCS_GUEST_LDTR_BASE, 0 },
		{ VMCS_GUEST_TR_SEL, HW_SEL_TSS },
		{ VMCS_GUEST_TR_LIMIT, 0x67 },
		{ VMCS_GUEST_TR_AR, VMX_AR_TSS64_BUSY },
		{ VMCS_GUEST_TR_BASE, 0 },
		{ VMCS_GUEST_IDTR_BASE, 0 },
		{ VMCS_GUEST_IDTR_LIMIT, 0 },
		{ VMCS_GUEST_DR7, DR7_FIXED },
		{ VMCS_GUEST_RSP, 0 },
		{ VMCS_GUEST_DEBUGCTL, 0 },
		{ VMCS_GUEST_SYSENTER_CS, 0 },
		{ VMCS_GUEST_SYSENTER_ESP, 0 },
		{ VMCS_GUEST_SYSENTER_EIP, 0 },
		{ VMCS_GUEST_INTERRUPTIBILITY, 0 },
		{ VMCS_GUEST_ACTIVITY, 0 },
		{ VMCS_GUEST_PENDING_DEBUG, 0 },
	};
	return write_all(fields, sizeof(fields) / sizeof(fields[0])) ? 0 : "VMWRITE of a guest-state field failed";
}

/* VMXON needs IA32_FEATURE_CONTROL locked with "VMXON outside SMX" (§24.7); firmware may leave it unlocked. */
static bool enable_feature_control(void)
{
	uint64_t fc = hw_rdmsr(VMX_MSR_FEATURE_CONTROL);

	if (!(fc & VMX_FEATURE_LOCK)) {
		fc |= VMX_FEATURE_LOCK | VMX_FEATURE_VMXON_OUTSIDE_SMX;
		hw_wrmsr(VMX_MSR_FEATURE_CONTROL, fc);
	}
	return (fc & VMX_FEATURE_VMXON_OUTSIDE_SMX) != 0;
}

static const char *start_vmx(struct vmx_hv *hv, const struct nw_hal *hal)
{
	uint32_t revision, r[4];

	hw_cpuid(1, 0, r);
	if (!(r[2] & VMX_CPUID1_ECX_VMX))
		return "CPUID reports no VMX";
	if (!enable_feature_control())
		return "IA32_FEATURE_CONTROL forbids VMXON";
	revision = (uint32_t)hw_rdmsr(VMX_MSR_BASIC) & NW_VMX_REVISION_MASK;
	if (nw_vmx_region_init(&hv->vmxon, hal, revision, false) != NW_OK ||
	    nw_vmx_region_init(&hv->vmcs, hal, revision, false) != NW_OK ||
	    nw_io_bitmap_init(&hv->io, hal, true) != NW_OK || nw_msr_bitmap_init(&hv->msr, hal, true) != NW_OK)
		return "no frames for the VMX structures";
	/* CR0 and CR4 must hold the bits the fixed MSRs require in VMX operation (§24.8). */
	hv->cr4_before = hw_read_cr4();
	hw_write_cr0(fixed_bits(hw_read_cr0(), VMX_MSR_CR0_FIXED0, VMX_MSR_CR0_FIXED1));
	hw_write_cr4(fixed_bits(hv->cr4_before | VMX_CR4_VMXE, VMX_MSR_CR4_FIXED0, VMX_MSR_CR4_FIXED1));
	if (!vmx_on(nw_vmx_region_paddr(&hv->vmxon).val)) {
		hw_write_cr4(hv->cr4_before);
		return "VMXON failed";
	}
	hv->on = true;
	if (!vmx_clear(nw_vmx_region_paddr(&hv->vmcs).val) || !vmx_ptrld(nw_vmx_region_paddr(&hv->vmcs).val))
		return "VMCLEAR or VMPTRLD failed";
	return 0;
}

const char *vmx_hv_start(struct vmx_hv *hv, const struct nw_hal *hal)
{
	const char *why;

	*hv = (struct vmx_hv){ .vmxon = { nw_frame_uninit() }, .vmcs = { nw_frame_uninit() },
			       .io = { nw_frame_uninit(), nw_frame_uninit() }, .msr = { nw_frame_uninit() } };
	hv->caps = read_caps();
	why = start_vmx(hv, hal);
	if (!why)
		why = setup_controls(hv);
	if (!why)
		why = setup_host();
	if (!why)
		why = setup_guest();
	if (why)
		vmx_hv_stop(hv);
	return why;
}

void vmx_hv_stop(struct vmx_hv *hv)
{
	if (hv->on) {
		vmx_clear(nw_vmx_region_paddr(&hv->vmcs).val);
		vmx_off();
		hw_write_cr4(hv->cr4_before);
		hv->on = false;
	}
	nw_msr_bitmap_free(&hv->msr);
	nw_io_bitmap_free(&hv->io);
	nw_vmx_region_free(&hv->vmcs);
	nw_vmx_region_free(&hv->vmxon);
}

uint64_t vmx_hv_cr4_unsupported(uint64_t cr4)
{
	return cr4 & (NW_CR4_SMEP | NW_CR4_SMAP) & ~hw_rdmsr(VMX_MSR_CR4_FIXED1);
}

/* The entry's control registers and flags, and segments at its CPL: a 64-bit
 * guest outside unrestricted mode needs SS.DPL = SS.RPL = CS.DPL and data
 * segments with DPL >= RPL (§27.3.1.2); the CPL is SS.DPL. */
static bool write_guest_state(const struct vmx_entry *en)
{
	uint64_t cr0 = fixed_bits(CR0_PE | CR0_ET | CR0_NE | en->cr0, VMX_MSR_CR0_FIXED0, VMX_MSR_CR0_FIXED1);
	uint64_t cr4 = fixed_bits(VMX_CR4_VMXE | en->cr4, VMX_MSR_CR4_FIXED0, VMX_MSR_CR4_FIXED1);
	uint64_t dpl = en->cpl ? AR_DPL3 : 0;
	uint64_t code = en->cpl ? HW_SEL_UCODE : HW_SEL_KCODE, data = en->cpl ? HW_SEL_UDATA : HW_SEL_KDATA;
	const uint64_t fields[][2] = {
		{ VMCS_EPTP, en->eptp },
		{ VMCS_GUEST_CR3, en->cr3 },
		{ VMCS_GUEST_RIP, en->rip },
		{ VMCS_GUEST_CR0, cr0 },
		{ VMCS_CR0_SHADOW, cr0 },
		{ VMCS_GUEST_CR4, cr4 },
		{ VMCS_CR4_SHADOW, cr4 },
		{ VMCS_GUEST_EFER, en->efer },
		{ VMCS_GUEST_RFLAGS, RFLAGS_FIXED | en->rflags },
		{ VMCS_GUEST_CS_SEL, code },
		{ VMCS_GUEST_CS_AR, VMX_AR_CODE64 | dpl },
		{ VMCS_GUEST_SS_SEL, data },
		{ VMCS_GUEST_SS_AR, VMX_AR_DATA | dpl },
		{ VMCS_GUEST_DS_SEL, data },
		{ VMCS_GUEST_DS_AR, VMX_AR_DATA | dpl },
		{ VMCS_GUEST_ES_SEL, data },
		{ VMCS_GUEST_ES_AR, VMX_AR_DATA | dpl },
		{ VMCS_GUEST_GDTR_BASE, en->gdtr_base },
		{ VMCS_GUEST_GDTR_LIMIT, en->gdtr_limit },
	};
	return write_all(fields, sizeof(fields) / sizeof(fields[0]));
}

bool vmx_hv_run(struct vmx_hv *hv, const struct vmx_entry *entry, struct vmx_exit *exit)
{
	int failed;

	*exit = (struct vmx_exit){ 0 };
	if (!write_guest_state(entry) || !vmx_invept_all()) {
		exit->reason = VMX_EXIT_ENTRY_FAILED;
		exit->insn_error = (uint32_t)vmx_read(VMCS_INSTRUCTION_ERROR);
		return false;
	}
	hv->gprs = (struct vmx_gprs){ .rax = entry->rax, .rdi = entry->rdi };
	failed = hw_vmx_enter(&hv->gprs, hv->launched);
	if (failed) {
		exit->reason = VMX_EXIT_ENTRY_FAILED;
		exit->insn_error = failed == 2 ? (uint32_t)vmx_read(VMCS_INSTRUCTION_ERROR) : 0;
		return false;
	}
	hv->launched = true;
	exit->reason = (uint32_t)vmx_read(VMCS_EXIT_REASON);
	exit->intr_info = (uint32_t)vmx_read(VMCS_EXIT_INTR_INFO);
	exit->intr_error = (uint32_t)vmx_read(VMCS_EXIT_INTR_ERROR);
	exit->qualification = vmx_read(VMCS_EXIT_QUALIFICATION);
	exit->gpa = vmx_read(VMCS_GUEST_PHYSICAL_ADDRESS);
	exit->gla = vmx_read(VMCS_GUEST_LINEAR_ADDRESS);
	exit->rip = vmx_read(VMCS_GUEST_RIP);
	return !(exit->reason & VMX_EXIT_ENTRY_FAILED);
}
