#include <nestwalk/aspace.h>
#include <nestwalk/status.h>

_Static_assert(NW_ASPACE_MAX_REGIONS == 64 && NW_REGION_FLAGS_ALL == 0x3f, "the region strings name these");

const char *nw_status_name(nw_status_t status)
{
	switch (status) {
	case NW_OK: return "ok";
	case NW_ERR_NOMEM: return "out of frames";
	case NW_ERR_INVALID: return "invalid argument";
	case NW_ERR_RANGE: return "out of range";
	case NW_ERR_ALIGN: return "misaligned";
	case NW_ERR_EXISTS: return "overlaps an existing mapping";
	case NW_ERR_NOT_FOUND: return "not mapped";
	case NW_ERR_UNSUPPORTED: return "not supported by the modelled CPU";
	case NW_ERR_REGION_SLOTS: return "all 64 region slots of the address space are in use";
	case NW_ERR_REGION_FLAGS: return "unknown region flag bits (known: 0x3f)";
	case NW_ERR_WRITE_WITHOUT_READ: return "write without read (an EPT misconfiguration, SDM Vol. 3C 29.3.3.1)";
	case NW_ERR_ROM_WRITABLE: return "a ROM region may not have the write flag";
	case NW_ERR_LAZY_NOT_ALLOC: return "only an alloc region may be lazy";
	case NW_ERR_ABOVE_MAXPHYADDR: return "a pass-through range must end at or below 2^MAXPHYADDR";
	case NW_ERR_NEEDS_STAGE2:
		return "without a second stage a region is host memory at its own address (identical): alloc, "
		       "mmio and rom need one";
	case NW_ERR_NO_LEAF_RIGHTS:
		return "a RISC-V G-stage leaf needs read or execute (a PTE without R and X points to a table)";
	}
	return "unknown status";
}
