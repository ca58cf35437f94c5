#include <nestwalk/status.h>

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
	}
	return "unknown status";
}
