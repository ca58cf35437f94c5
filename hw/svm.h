/* A minimal SVM hypervisor: one VMCB, nested paging on with nCR3 from the
 * library's NPT tables, a guest (64-bit at CPL 0, or 32-bit at CPL 0 or 3)
 * that runs one access and exits; every guest exception is intercepted. */
#ifndef HW_SVM_H
#define HW_SVM_H

#include <stdbool.h>
#include <stdint.h>

#include <nestwalk/frame.h>

struct hw_svm {
	struct nw_frame vmcb, hsave;
};

struct hw_svm_guest {
	uint64_t cr0, cr3, cr4, efer, rflags;
	bool code32;   /* 32-bit code segment (legacy paging modes), else 64-bit */
	unsigned cpl;  /* 0, or 3 for a 32-bit guest */
	uint64_t rip;  /* one of hw_guest_read/write/fetch, or a 32-bit stub */
	uint64_t gva;  /* in the guest's RDI */
	uint64_t ncr3;
};

struct hw_svm_exit {
	uint64_t code, info1, info2, rax, rdx;
};

/* Whether CPUID reports SVM with nested paging. */
bool hw_svm_supported(void);
/* Sets EFER.SVME and the host save area; false when no frame is left. */
bool hw_svm_init(struct hw_svm *svm, const struct nw_hal *hal);
struct hw_svm_exit hw_svm_run(struct hw_svm *svm, const struct hw_svm_guest *guest);
void hw_svm_fini(struct hw_svm *svm);

#endif
