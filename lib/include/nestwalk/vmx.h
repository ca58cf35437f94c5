/* VMX structures that consume frames (SDM Vol. 3C): the VMXON/VMCS region,
 * the I/O bitmaps and the MSR bitmap. Each owns its frames and frees them in
 * its _free function. */
#ifndef NESTWALK_VMX_H
#define NESTWALK_VMX_H

#include <stdbool.h>
#include <stdint.h>

#include "cdefs.h"
#include "frame.h"

NW_BEGIN_DECLS

/* VMXON region or VMCS (SDM §25.2): bits 30:0 of the first dword hold the
 * VMCS revision identifier, bit 31 the shadow-VMCS indicator. */
struct nw_vmx_region {
	struct nw_frame frame;
};

#define NW_VMX_REVISION_MASK UINT32_C(0x7fffffff)
#define NW_VMX_SHADOW_INDICATOR (UINT32_C(1) << 31)

NW_MUST_CHECK nw_status_t nw_vmx_region_init(struct nw_vmx_region *region, const struct nw_hal *hal,
					      uint32_t revision_id, bool shadow);
uint32_t nw_vmx_region_revision(const struct nw_vmx_region *region);
bool nw_vmx_region_is_shadow(const struct nw_vmx_region *region);
nw_hpa_t nw_vmx_region_paddr(const struct nw_vmx_region *region);
void nw_vmx_region_free(struct nw_vmx_region *region);

/* I/O bitmaps (SDM §25.6.4): A covers ports 0x0000-0x7FFF, B 0x8000-0xFFFF;
 * a set bit makes IN/OUT on that port exit. */
struct nw_io_bitmap {
	struct nw_frame a, b;
};

#define NW_IO_PORT_COUNT 0x10000u

NW_MUST_CHECK nw_status_t nw_io_bitmap_init(struct nw_io_bitmap *bitmap, const struct nw_hal *hal,
					     bool intercept_all);
void nw_io_bitmap_set_intercept(struct nw_io_bitmap *bitmap, uint16_t port, bool intercept);
/* Ports first .. first+count-1; a range past 0xFFFF is NW_ERR_RANGE and changes nothing. */
NW_MUST_CHECK nw_status_t nw_io_bitmap_set_range(struct nw_io_bitmap *bitmap, uint32_t first, uint32_t count,
						  bool intercept);
void nw_io_bitmap_set_all(struct nw_io_bitmap *bitmap, bool intercept);
bool nw_io_bitmap_is_intercepted(const struct nw_io_bitmap *bitmap, uint16_t port);
/* Whether an access of size bytes at port exits: any covered port's bit, and
 * unconditionally when the access wraps past 0xFFFF (SDM §26.1.3). */
bool nw_io_bitmap_access_exits(const struct nw_io_bitmap *bitmap, uint16_t port, unsigned size);
nw_hpa_t nw_io_bitmap_a_paddr(const struct nw_io_bitmap *bitmap);
nw_hpa_t nw_io_bitmap_b_paddr(const struct nw_io_bitmap *bitmap);
void nw_io_bitmap_free(struct nw_io_bitmap *bitmap);

/* MSR bitmap (SDM §25.6.9): one frame, read-low at byte 0, read-high at 1024,
 * write-low at 2048, write-high at 3072; "low" is MSRs 0x0-0x1FFF, "high"
 * 0xC0000000-0xC0001FFF. RDMSR/WRMSR of any other MSR always exits. */
struct nw_msr_bitmap {
	struct nw_frame frame;
};

enum nw_msr_access {
	NW_MSR_READ = 1u << 0,
	NW_MSR_WRITE = 1u << 1,
	NW_MSR_READ_WRITE = NW_MSR_READ | NW_MSR_WRITE,
};

NW_MUST_CHECK nw_status_t nw_msr_bitmap_init(struct nw_msr_bitmap *bitmap, const struct nw_hal *hal,
					      bool intercept_all);
bool nw_msr_is_covered(uint32_t msr);
/* NW_ERR_RANGE for an MSR outside both ranges (it exits whatever the bitmap says). */
NW_MUST_CHECK nw_status_t nw_msr_bitmap_set_intercept(struct nw_msr_bitmap *bitmap, uint32_t msr,
						       unsigned access_mask, bool intercept);
bool nw_msr_bitmap_exits(const struct nw_msr_bitmap *bitmap, uint32_t msr, enum nw_msr_access access);
nw_hpa_t nw_msr_bitmap_paddr(const struct nw_msr_bitmap *bitmap);
void nw_msr_bitmap_free(struct nw_msr_bitmap *bitmap);

NW_END_DECLS

#endif
