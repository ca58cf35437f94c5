/* `nestwalk about`: what this build models and where its memory comes from. */
#include <stdio.h>

#include <nestwalk/vmx.h>

#include "cli/cli.h"
#include "mem/simmem.h"

const struct nw_cli_usage nw_usage_about = {
	.command = "about", .synopsis = "", .summary = "what this build models (the self-description)",
};

int nw_cmd_about(int argc, char **argv)
{
	struct nw_simmem_config config = { .size = UINT64_C(64) << 30, .randomize = true, .seed = 1, .strict = true };
	struct nw_simmem *sim;
	struct nw_vmx_region vmcs;
	struct nw_io_bitmap io;
	struct nw_msr_bitmap msr;
	const struct nw_hal *hal;
	nw_status_t status;
	struct nw_cli_args args;
	int rc = nw_cli_parse(&nw_usage_about, argc, argv, &args);

	if (rc)
		return NW_CLI_EXIT(rc);
	sim = nw_simmem_create(&config);
	if (!sim) {
		fprintf(stderr, "nestwalk: cannot reserve simulated memory\n");
		return NW_EXIT_BAD_INPUT;
	}
	hal = nw_simmem_owner(sim, "about");
	printf("nestwalk: two-stage address translation simulator\n");
	printf("simulated host: %llu GiB, frames reserved and backed on touch, random placement\n",
	       (unsigned long long)(nw_simmem_size(sim) >> 30));
	status = nw_vmx_region_init(&vmcs, hal, 0x4, false);
	if (status == NW_OK)
		status = nw_io_bitmap_init(&io, hal, false);
	if (status == NW_OK)
		status = nw_msr_bitmap_init(&msr, hal, true);
	if (status != NW_OK) {
		fprintf(stderr, "nestwalk: %s\n", nw_status_name(status));
		nw_simmem_destroy(sim);
		return NW_EXIT_BAD_INPUT;
	}
	nw_io_bitmap_set_intercept(&io, 0x3f8, true);
	printf("VMX structures: VMCS at hpa 0x%llx (revision %u), I/O bitmaps A 0x%llx B 0x%llx, MSR bitmap 0x%llx\n",
	       (unsigned long long)nw_vmx_region_paddr(&vmcs).val, nw_vmx_region_revision(&vmcs),
	       (unsigned long long)nw_io_bitmap_a_paddr(&io).val, (unsigned long long)nw_io_bitmap_b_paddr(&io).val,
	       (unsigned long long)nw_msr_bitmap_paddr(&msr).val);
	printf("port 0x3f8 exits: %s; RDMSR 0x4b564d00 (outside both ranges) exits: %s\n",
	       nw_io_bitmap_access_exits(&io, 0x3f8, 1) ? "yes" : "no",
	       nw_msr_bitmap_exits(&msr, 0x4b564d00, NW_MSR_READ) ? "yes" : "no");
	nw_vmx_region_free(&vmcs);
	nw_io_bitmap_free(&io);
	nw_msr_bitmap_free(&msr);
	printf("frames live after teardown: %llu (high-water %llu)\n",
	       (unsigned long long)nw_simmem_stats(sim).live, (unsigned long long)nw_simmem_stats(sim).high_water);
	return nw_simmem_destroy(sim) == 0 ? NW_EXIT_OK : NW_EXIT_MISMATCH;
}
