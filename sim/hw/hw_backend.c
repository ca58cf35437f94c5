/* The backends `nestwalk hw run` knows (hw_run.h), by name. */
#include <string.h>

#include "hw/hw_run.h"

#define QEMU_X86 "qemu-system-x86_64"

static const struct nw_hw_backend backends[] = {
	{ NW_HW_QEMU, "qemu", "tcg", "max", false, false, QEMU_X86, false, false },
	{ NW_HW_QEMU_SVM, "qemu-svm", "tcg", "max", true, false, QEMU_X86, false, false },
	{ NW_HW_KVM, "kvm", "kvm", "host", false, false, QEMU_X86, false, false },
	{ NW_HW_BOCHS_VMX, "bochs-vmx", NULL, NULL, false, true, NULL, false, false },
	{ NW_HW_QEMU_AARCH64, "qemu-aarch64", "tcg", "max", false, false, "qemu-system-aarch64", true, false },
	/* "rv64,svpbmt=on" for a scenario with PBMT (nw_hw_boots.cpu): QEMU 7.2 then checks no leaf bit above the PPN
	 * (hw/DEVIATIONS.md), so the plain rv64 is the default. */
	{ NW_HW_QEMU_RISCV64, "qemu-riscv64", "tcg", "rv64", false, false, "qemu-system-riscv64", false, true },
};

const struct nw_hw_backend *nw_hw_backend_find(const char *name)
{
	for (size_t i = 0; i < sizeof(backends) / sizeof(backends[0]); i++)
		if (!strcmp(backends[i].name, name))
			return &backends[i];
	return NULL;
}
