#include "selftest.h"

#include <nestwalk/frame.h>
#include <nestwalk/vmx.h>

#include "serial.h"

#define SELFTEST_FRAMES 64

static bool fail(const char *what)
{
	hw_puts("hw: selftest failed: ");
	hw_puts(what);
	hw_putc('\n');
	return false;
}

/* Every frame distinct, zeroed by alloc_zero, and holding its own pattern. */
static bool check_frames(struct hw_frames *frames)
{
	struct nw_frame set[SELFTEST_FRAMES];
	bool ok = true;

	for (unsigned i = 0; i < SELFTEST_FRAMES; i++) {
		if (nw_frame_alloc_zero(&set[i], &frames->hal) != NW_OK) {
			while (i--)
				nw_frame_free(&set[i]);
			return fail("frame allocation");
		}
		const uint64_t *words = nw_frame_ptr(&set[i]);
		for (unsigned w = 0; w < NW_PAGE_SIZE / 8; w++)
			ok &= words[w] == 0;
		nw_frame_fill(&set[i], (uint8_t)(i + 1));
	}
	for (unsigned i = 0; i < SELFTEST_FRAMES; i++) {
		const uint8_t *bytes = nw_frame_ptr(&set[i]);

		ok &= bytes[0] == (uint8_t)(i + 1) && bytes[NW_PAGE_SIZE - 1] == (uint8_t)(i + 1);
		for (unsigned j = 0; j < i; j++)
			ok &= nw_frame_paddr(&set[i]).val != nw_frame_paddr(&set[j]).val;
	}
	for (unsigned i = 0; i < SELFTEST_FRAMES; i++)
		nw_frame_free(&set[i]);
	return ok || fail("frame contents or addresses");
}

static bool check_vmx(struct hw_frames *frames)
{
	struct nw_vmx_region region;
	struct nw_io_bitmap io;
	struct nw_msr_bitmap msr;
	bool ok;

	if (nw_vmx_region_init(&region, &frames->hal, 0x12345, true) != NW_OK)
		return fail("VMX region");
	if (nw_io_bitmap_init(&io, &frames->hal, false) != NW_OK) {
		nw_vmx_region_free(&region);
		return fail("I/O bitmap");
	}
	if (nw_msr_bitmap_init(&msr, &frames->hal, true) != NW_OK) {
		nw_io_bitmap_free(&io);
		nw_vmx_region_free(&region);
		return fail("MSR bitmap");
	}
	nw_io_bitmap_set_intercept(&io, 0x3f8, true);
	ok = nw_vmx_region_revision(&region) == 0x12345 && nw_vmx_region_is_shadow(&region) &&
	     nw_io_bitmap_is_intercepted(&io, 0x3f8) && !nw_io_bitmap_is_intercepted(&io, 0x3f9) &&
	     nw_msr_bitmap_exits(&msr, 0xc0000080u, NW_MSR_WRITE) && frames->live == 4;
	nw_msr_bitmap_free(&msr);
	nw_io_bitmap_free(&io);
	nw_vmx_region_free(&region);
	return ok || fail("VMX structure contents");
}

bool hw_selftest(struct hw_frames *frames)
{
	uint64_t before = frames->live;
	bool ok = check_frames(frames) && check_vmx(frames);

	if (frames->live != before)
		ok = fail("frames leaked");
	if (ok) {
		hw_puts("hw: selftest ok, frames handed out ");
		hw_put_dec(frames->total);
		hw_puts(", live ");
		hw_put_dec(frames->live);
		hw_putc('\n');
	}
	return ok;
}
