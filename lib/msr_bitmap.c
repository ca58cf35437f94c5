#include <nestwalk/vmx.h>

#include "bitmap.h"

#define MSR_LOW_LAST UINT32_C(0x00001fff)
#define MSR_HIGH_FIRST UINT32_C(0xc0000000)
#define MSR_HIGH_LAST UINT32_C(0xc0001fff)

/* Byte offsets of the four 1 KiB quarters (SDM §25.6.9). */
#define READ_LOW_OFFSET 0u
#define READ_HIGH_OFFSET 1024u
#define WRITE_LOW_OFFSET 2048u
#define WRITE_HIGH_OFFSET 3072u

bool nw_msr_is_covered(uint32_t msr)
{
	return msr <= MSR_LOW_LAST || (msr >= MSR_HIGH_FIRST && msr <= MSR_HIGH_LAST);
}

/* The quarter that holds msr's bit for one access kind; msr must be covered. */
static uint8_t *quarter_for(const struct nw_msr_bitmap *bitmap, uint32_t msr, enum nw_msr_access access)
{
	bool high = msr >= MSR_HIGH_FIRST;
	unsigned offset = access == NW_MSR_READ ? (high ? READ_HIGH_OFFSET : READ_LOW_OFFSET)
						: (high ? WRITE_HIGH_OFFSET : WRITE_LOW_OFFSET);

	return (uint8_t *)nw_frame_ptr(&bitmap->frame) + offset;
}

nw_status_t nw_msr_bitmap_init(struct nw_msr_bitmap *bitmap, const struct nw_hal *hal, bool intercept_all)
{
	nw_status_t status = nw_frame_alloc(&bitmap->frame, hal);

	if (status == NW_OK)
		nw_frame_fill(&bitmap->frame, intercept_all ? 0xff : 0x00);
	return status;
}

nw_status_t nw_msr_bitmap_set_intercept(struct nw_msr_bitmap *bitmap, uint32_t msr, unsigned access_mask,
					bool intercept)
{
	if (!nw_msr_is_covered(msr))
		return NW_ERR_RANGE;
	if (access_mask == 0 || (access_mask & ~(unsigned)NW_MSR_READ_WRITE))
		return NW_ERR_INVALID;
	if (access_mask & NW_MSR_READ)
		nw_bit_assign(quarter_for(bitmap, msr, NW_MSR_READ), msr & MSR_LOW_LAST, intercept);
	if (access_mask & NW_MSR_WRITE)
		nw_bit_assign(quarter_for(bitmap, msr, NW_MSR_WRITE), msr & MSR_LOW_LAST, intercept);
	return NW_OK;
}

bool nw_msr_bitmap_exits(const struct nw_msr_bitmap *bitmap, uint32_t msr, enum nw_msr_access access)
{
	if (!nw_msr_is_covered(msr))
		return true;
	return nw_bit_test(quarter_for(bitmap, msr, access), msr & MSR_LOW_LAST);
}

nw_hpa_t nw_msr_bitmap_paddr(const struct nw_msr_bitmap *bitmap)
{
	return nw_frame_paddr(&bitmap->frame);
}

void nw_msr_bitmap_free(struct nw_msr_bitmap *bitmap)
{
	nw_frame_free(&bitmap->frame);
}
