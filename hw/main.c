/* The bare-metal image: boot checks, the HAL self-test, then the case blob
 * from the first multiboot module; the exit status says how it went. */
#include <stdint.h>

#include "contract/case_check.h"
#include "contract/layout.h"
#include "frames.h"
#include "multiboot.h"
#include "runner.h"
#include "selftest.h"
#include "serial.h"
#include "svm.h"
#include "trap.h"
#include "x86.h"

void hw_main(uint32_t mbi_pa);

static struct hw_frames frames;

static struct hw_cpu_features probe_cpu(void)
{
	struct hw_cpu_features cpu = { .maxphyaddr = 36 };
	uint32_t r[4];

	hw_cpuid(0, 0, r);
	if (r[0] >= 7) {
		hw_cpuid(7, 0, r);
		cpu.smep = (r[1] >> 7) & 1;
		cpu.smap = (r[1] >> 20) & 1;
		cpu.pku = (r[2] >> 3) & 1;
		cpu.la57 = (r[2] >> 16) & 1;
	}
	hw_cpuid(0x80000000u, 0, r);
	if (r[0] >= 0x80000001u) {
		hw_cpuid(0x80000001u, 0, r);
		cpu.nx = (r[3] >> 20) & 1;
		cpu.gbpages = (r[3] >> 26) & 1;
	}
	cpu.svm = hw_svm_supported();
	hw_cpuid(0x80000000u, 0, r);
	if (r[0] >= 0x80000008u) {
		hw_cpuid(0x80000008u, 0, r);
		cpu.maxphyaddr = r[0] & 0xff;
	}
	return cpu;
}

static void put_feature(const char *name, uint64_t val)
{
	hw_putc(' ');
	hw_puts(name);
	hw_putc('=');
	hw_put_dec(val);
}

static void put_stat(const char *name, uint64_t val)
{
	hw_puts("hw: ");
	hw_puts(name);
	hw_putc(' ');
	hw_put_dec(val);
	hw_putc('\n');
}

void hw_main(uint32_t mbi_pa)
{
	const struct mb_info *mbi = (const struct mb_info *)(uintptr_t)mbi_pa;
	const struct mb_module *mod;
	struct hw_cpu_features cpu;
	struct hw_run_stats stats;
	bool ok;

	hw_serial_init();
	hw_puts("hw: nestwalk bare-metal image, long mode\n");
	hw_trap_init();
	cpu = probe_cpu();
	hw_puts("hw: cpu");
	put_feature("maxphyaddr", cpu.maxphyaddr);
	put_feature("la57", (uint64_t)cpu.la57);
	put_feature("smep", (uint64_t)cpu.smep);
	put_feature("smap", (uint64_t)cpu.smap);
	put_feature("pku", (uint64_t)cpu.pku);
	put_feature("nx", (uint64_t)cpu.nx);
	put_feature("gbpages", (uint64_t)cpu.gbpages);
	put_feature("svm-npt", (uint64_t)cpu.svm);
	hw_putc('\n');

	if (!hw_frames_init(&frames, mbi)) {
		hw_puts("hw: no usable memory in the multiboot memory map\n");
		hw_exit(HW_EXIT_FAIL);
	}
	if (hw_boot_floor(mbi) > HW_SCRATCH_BASE) {
		hw_puts("hw: the image and its modules reach the scratch region\n");
		hw_exit(HW_EXIT_BAD_BLOB);
	}
	if (!hw_selftest(&frames))
		hw_exit(HW_EXIT_FAIL);
	hw_scratch_tag();

	if (!(mbi->flags & MB_INFO_MODS) || mbi->mods_count == 0) {
		hw_puts("hw: no case blob, nothing to run\nhw: done\n");
		hw_exit(HW_EXIT_PASS);
	}
	mod = (const struct mb_module *)(uintptr_t)mbi->mods_addr;
	/* Through the direct map: the loader may place the module inside the user page. */
	ok = hw_run_blob(hw_direct(mod->start), mod->end - mod->start, &frames, &cpu, &stats);
	put_stat("cases", stats.cases);
	put_stat("faults", stats.faults);
	put_stat("unsupported", stats.unsupported);
	put_stat("built by the library", stats.built);
	put_stat("entries patched", stats.patched);
	put_stat("nested-paging cases", stats.nested);
	put_stat("legacy-mode cases", stats.legacy);
	put_stat("control-register writes", stats.control_writes);
	put_stat("paging-mode switches", stats.mode_switches);
	put_stat("tsc ticks", stats.tsc_ticks);
	put_stat("frames live", hw_frames_live(&frames));
	put_stat("frames high-water", frames.high_water);
	if (!ok)
		hw_exit(HW_EXIT_BAD_BLOB);
	if (hw_frames_live(&frames) != 0) {
		hw_puts("hw: frames leaked\n");
		hw_exit(HW_EXIT_FAIL);
	}
	hw_puts("hw: done\n");
	hw_exit(HW_EXIT_PASS);
}
