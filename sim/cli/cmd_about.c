/* `nestwalk about`: what this build models and where its memory comes from. */
#include <stdio.h>

#include <nestwalk/vmx.h>

#include "cli/cli.h"
#include "mem/simmem.h"

static const struct nw_cli_option options[] = {
	{ "--json", NULL, "the same as one JSON object (docs/json.md) instead of text" },
	{ NULL, NULL, NULL },
};

const struct nw_cli_usage nw_usage_about = {
	.command = "about", .synopsis = "[--json]", .summary = "what this build models (the self-description)",
	.options = options,
};

/* What about finds out, printed as text or JSON. */
struct about {
	uint64_t host_gib, vmcs, io_a, io_b, msr, live, high_water;
	unsigned revision;
	bool port_exits, msr_exits;
};

static void print_about(const struct about *a, bool json)
{
	if (json) {
		printf("{\"schema\": %d, \"simulated_host_gib\": %llu, \"vmcs_hpa\": \"0x%llx\", "
		       "\"vmcs_revision\": %u, \"io_bitmap_a_hpa\": \"0x%llx\", \"io_bitmap_b_hpa\": \"0x%llx\", "
		       "\"msr_bitmap_hpa\": \"0x%llx\", \"port_3f8_exits\": %s, \"rdmsr_4b564d00_exits\": %s, "
		       "\"frames_live\": %llu, \"frames_high_water\": %llu}\n",
		       NW_JSON_SCHEMA, (unsigned long long)a->host_gib, (unsigned long long)a->vmcs, a->revision,
		       (unsigned long long)a->io_a, (unsigned long long)a->io_b, (unsigned long long)a->msr,
		       a->port_exits ? "true" : "false", a->msr_exits ? "true" : "false", (unsigned long long)a->live,
		       (unsigned long long)a->high_water);
		return;
	}
	printf("nestwalk: two-stage address translation simulator\n");
	printf("simulated host: %llu GiB, frames reserved and backed on touch, random placement\n",
	       (unsigned long long)a->host_gib);
	printf("VMX structures: VMCS at hpa 0x%llx (revision %u), I/O bitmaps A 0x%llx B 0x%llx, MSR bitmap 0x%llx\n",
	       (unsigned long long)a->vmcs, a->revision, (unsigned long long)a->io_a, (unsigned long long)a->io_b,
	       (unsigned long long)a->msr);
	printf("port 0x3f8 exits: %s; RDMSR 0x4b564d00 (outside both ranges) exits: %s\n", a->port_exits ? "yes" : "no",
	       a->msr_exits ? "yes" : "no");
	printf("frames live after teardown: %llu (high-water %llu)\n", (unsigned long long)a->live,
	       (unsigned long long)a->high_water);
}

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
	struct about about;
	int rc = nw_cli_parse(&nw_usage_about, argc, argv, &args);

	if (rc)
		return NW_CLI_EXIT(rc);
	sim = nw_simmem_create(&config);
	if (!sim) {
		fprintf(stderr, "nestwalk: cannot reserve simulated memory\n");
		return NW_EXIT_BAD_INPUT;
	}
	hal = nw_simmem_owner(sim, "about");
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
	about = (struct about){ .host_gib = nw_simmem_size(sim) >> 30, .vmcs = nw_vmx_region_paddr(&vmcs).val,
				.revision = nw_vmx_region_revision(&vmcs), .io_a = nw_io_bitmap_a_paddr(&io).val,
				.io_b = nw_io_bitmap_b_paddr(&io).val, .msr = nw_msr_bitmap_paddr(&msr).val,
				.port_exits = nw_io_bitmap_access_exits(&io, 0x3f8, 1),
				.msr_exits = nw_msr_bitmap_exits(&msr, 0x4b564d00, NW_MSR_READ) };
	nw_vmx_region_free(&vmcs);
	nw_io_bitmap_free(&io);
	nw_msr_bitmap_free(&msr);
	about.live = nw_simmem_stats(sim).live;
	about.high_water = nw_simmem_stats(sim).high_water;
	print_about(&about, args.value[0]);
	return nw_simmem_destroy(sim) == 0 ? NW_EXIT_OK : NW_EXIT_MISMATCH;
}
