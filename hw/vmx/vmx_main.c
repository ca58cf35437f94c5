/* The VMX image: the bare-metal boot of hw/, then VMX on, the EPT case blob
 * from the first multiboot module, VMX off. Its last line is "vmx: end pass"
 * or "vmx: end fail"; then it asks the emulator to shut down (Bochs: the
 * "Shutdown" string on port 0x8900; QEMU: isa-debug-exit). */
#include <stdint.h>

#include "contract/ept_case.h"
#include "contract/layout.h"
#include "frames.h"
#include "multiboot.h"
#include "runner.h"
#include "serial.h"
#include "trap.h"
#include "vmx_hv.h"
#include "vmx_run.h"
#include "x86.h"

#define BOCHS_SHUTDOWN_PORT 0x8900
#define COM1_LSR 0x3fd
#define LSR_TX_EMPTY 0x40 /* transmitter empty: the last character has left the UART */

void hw_main(uint32_t mbi_pa);

static struct hw_frames frames;
static struct vmx_hv hv;

static _Noreturn void finish(bool pass)
{
	hw_puts(pass ? "vmx: end pass\n" : "vmx: end fail\n");
	while (!(hw_inb(COM1_LSR) & LSR_TX_EMPTY))
		;
	for (const char *s = "Shutdown"; *s; s++)
		hw_outb(BOCHS_SHUTDOWN_PORT, (uint8_t)*s);
	hw_exit(pass ? HW_EXIT_PASS : HW_EXIT_FAIL);
}

static void put_flag(const char *name, uint64_t val)
{
	hw_putc(' ');
	hw_puts(name);
	hw_putc('=');
	hw_put_dec(val);
}

static bool is_modelled(const struct nw_ept_caps *got)
{
	struct nw_ept_caps want = vmx_case_caps();

	return got->maxphyaddr == want.maxphyaddr && got->exec_only == want.exec_only &&
	       got->pages_1g == want.pages_1g && got->five_level == want.five_level && got->mbec == want.mbec &&
	       got->ad == want.ad && got->advanced_exit_info == want.advanced_exit_info;
}

static void put_stat(const char *name, uint64_t val)
{
	hw_puts("vmx: ");
	hw_puts(name);
	hw_putc(' ');
	hw_put_dec(val);
	hw_putc('\n');
}

void hw_main(uint32_t mbi_pa)
{
	const struct mb_info *mbi = (const struct mb_info *)(uintptr_t)mbi_pa;
	const struct mb_module *mod;
	struct vmx_run_stats stats;
	const char *why;
	bool ok;

	hw_serial_init();
	hw_puts("vmx: nestwalk VMX image, long mode\n");
	hw_trap_init();
	if (!hw_frames_init(&frames, mbi) || hw_boot_floor(mbi) > HW_SCRATCH_BASE) {
		hw_puts("vmx: no usable memory, or the modules reach the scratch region\n");
		finish(false);
	}
	hw_scratch_tag();
	why = vmx_hv_start(&hv, &frames.hal);
	hw_puts("vmx: ept");
	put_flag("maxphyaddr", hv.caps.maxphyaddr);
	put_flag("exec_only", hv.caps.exec_only);
	put_flag("1g", hv.caps.pages_1g);
	put_flag("ad", hv.caps.ad);
	put_flag("5level", hv.caps.five_level);
	put_flag("mbec", hv.caps.mbec);
	put_flag("advexit", hv.caps.advanced_exit_info);
	hw_putc('\n');
	if (why) {
		hw_puts("vmx: ");
		hw_puts(why);
		hw_putc('\n');
		finish(false);
	}
	if (!is_modelled(&hv.caps)) {
		hw_puts("vmx: this CPU's EPT features differ from the simulator's model\n");
		vmx_hv_stop(&hv);
		finish(false);
	}
	if (!(mbi->flags & MB_INFO_MODS) || mbi->mods_count == 0) {
		hw_puts("vmx: no case blob, nothing to run\n");
		vmx_hv_stop(&hv);
		finish(hw_frames_live(&frames) == 0);
	}
	mod = (const struct mb_module *)(uintptr_t)mbi->mods_addr;
	ok = vmx_run_blob(&hv, &frames.hal, (const uint8_t *)(uintptr_t)mod->start, mod->end - mod->start, &stats);
	vmx_hv_stop(&hv);
	put_stat("cases", stats.cases);
	put_stat("refused", stats.refused);
	put_stat("ept violations", stats.violations);
	put_stat("ept misconfigurations", stats.misconfigs);
	put_stat("page faults", stats.page_faults);
	put_stat("tsc ticks in the guest", stats.tsc_ticks);
	put_stat("frames live", hw_frames_live(&frames));
	if (hw_frames_live(&frames) != 0) {
		hw_puts("vmx: frames leaked\n");
		ok = false;
	}
	finish(ok);
}
