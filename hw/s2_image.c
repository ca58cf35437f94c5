#include "s2_image.h"

#include "contract/layout.h"
#include "frame_pool.h"
#include "serial.h"

static struct hw_frame_pool frames;

static uint64_t tag(const struct hw_s2_image *img, uint64_t pa)
{
	return pa << 32 | img->stop_insn;
}

static void scratch_tag(const struct hw_s2_image *img)
{
	for (uint64_t pa = img->scratch_base; pa < img->scratch_base + img->scratch_size; pa += 8)
		*(volatile uint64_t *)(uintptr_t)pa = tag(img, pa);
}

void hw_s2_put_load(const struct hw_s2_image *img, uint64_t value)
{
	hw_puts((uint32_t)value == img->stop_insn ? " ok " : " raw ");
	hw_put_hex((uint32_t)value == img->stop_insn ? value >> 32 : value);
	hw_putc('\n');
}

void hw_s2_put_store(const struct hw_s2_image *img)
{
	for (uint64_t pa = img->scratch_base; pa < img->scratch_base + img->scratch_size; pa += 8) {
		volatile uint64_t *word = (volatile uint64_t *)(uintptr_t)pa;

		if (*word == img->write_word) {
			*word = tag(img, pa);
			hw_puts(" ok ");
			hw_put_hex(pa);
			hw_putc('\n');
			return;
		}
	}
	hw_puts(" raw -\n");
}

static _Noreturn void reject(uint32_t n, uint64_t off, const char *why)
{
	hw_puts("hw: bad case blob: case #");
	hw_put_dec(n);
	hw_puts(" at offset ");
	hw_put_hex(off);
	hw_puts(": ");
	hw_puts(why);
	hw_putc('\n');
	hw_exit(HW_EXIT_BAD_BLOB);
}

static void run_blob(const struct hw_s2_image *img, const uint8_t *blob)
{
	const struct hw_blob_header *h = (const struct hw_blob_header *)blob;
	uint64_t off = sizeof(*h);

	if (h->version != HW_BLOB_VERSION || h->header_size != sizeof(*h) || h->arch != img->arch)
		reject(0, 4, img->not_ours);
	for (uint32_t n = 0; n < h->case_count; n++) {
		const struct hw_blob_case *c = (const struct hw_blob_case *)(blob + off);
		const struct hw_blob_entry *entries = (const struct hw_blob_entry *)(c + 1);
		uint64_t len = sizeof(*c) + c->entry_count * sizeof(*entries), tail_len = 0;
		const char *why;

		if (off + sizeof(*c) > img->blob_max || img->blob_max - off < len ||
		    (img->tail &&
		     !img->tail(c, (const uint8_t *)(entries + c->entry_count), img->blob_max - off - len, &tail_len)))
			reject(n, off, "truncated");
		hw_puts("c ");
		hw_put_dec(c->id);
		why = img->run_case(c, entries, &frames.hal);
		if (why) {
			hw_putc('\n');
			reject(n, off, why);
		}
		hw_frame_pool_reset(&frames, img->pool_base, img->pool_size);
		off += len + tail_len;
	}
	hw_puts("hw: cases ");
	hw_put_dec(h->case_count);
	hw_puts(", frames live ");
	hw_put_dec(frames.live);
	hw_putc('\n');
}

_Noreturn void hw_s2_image_run(const struct hw_s2_image *img)
{
	const struct hw_blob_header *h = (const struct hw_blob_header *)(uintptr_t)img->blob_base;

	hw_frame_pool_reset(&frames, img->pool_base, img->pool_size);
	scratch_tag(img);
	if (h->magic == HW_BLOB_MAGIC)
		run_blob(img, (const uint8_t *)h);
	else
		hw_puts("hw: no case blob\n");
	hw_exit(HW_EXIT_PASS);
}
