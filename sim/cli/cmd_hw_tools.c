/* What `nestwalk hw run` needs on the host before it boots anything (cmd_hw.h):
 * the image, the emulator, /dev/kvm for kvm, Bochs and its BIOS for bochs-vmx. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/cmd_hw.h"

#define EXIT_SKIPPED 77

/* What the Bochs run needs (tools/setup installs them). */
static const char *const bochs_programs[] = { "bochs", "grub-mkrescue", "xorriso", "mformat" };
#define BOCHS_BIOS "/usr/share/bochs/BIOS-bochs-latest"

static int check_bochs(void)
{
	for (size_t i = 0; i < sizeof(bochs_programs) / sizeof(bochs_programs[0]); i++) {
		if (!nw_hw_program_exists(bochs_programs[i])) {
			fprintf(stderr, "nestwalk hw run: %s is not installed (tools/setup installs it)\n",
				bochs_programs[i]);
			return NW_EXIT_BAD_INPUT;
		}
	}
	if (access(BOCHS_BIOS, R_OK)) {
		fprintf(stderr, "nestwalk hw run: no Bochs BIOS at %s (tools/setup installs bochsbios)\n", BOCHS_BIOS);
		return NW_EXIT_BAD_INPUT;
	}
	return 0;
}

int nw_hw_cmd_check_tools(const struct nw_hw_cmd *run)
{
	if (run->backend->id == NW_HW_KVM && access("/dev/kvm", R_OK | W_OK)) {
		fprintf(stderr, "kvm: /dev/kvm is missing\n");
		return EXIT_SKIPPED;
	}
	if (access(run->opt.image, R_OK)) {
		fprintf(stderr, "nestwalk hw run: no image at %s (build it with ninja, or give --image PATH)\n",
			run->opt.image);
		return NW_EXIT_BAD_INPUT;
	}
	if (run->backend->vmx)
		return check_bochs();
	if (!nw_hw_program_exists(run->backend->qemu)) {
		fprintf(stderr, "nestwalk hw run: %s is not installed (tools/setup installs it)\n", run->backend->qemu);
		return NW_EXIT_BAD_INPUT;
	}
	return 0;
}
