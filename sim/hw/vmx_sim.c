/* nestwalk-vmx-sim BLOB: runs an EPT case blob (ept_case.h) through the
 * library's reference walker on simulated memory, building each case exactly
 * as the VMX image does, and prints the line the image prints for it (the
 * format of vmx_run.h). Exit status 0, or 1 on a bad blob or a leaked frame. */
#include <stdio.h>
#include <stdlib.h>

#include <nestwalk/cpu.h>
#include <nestwalk/walk.h>

#include "contract/ept_case.h"
#include "mem/simmem.h"

static uint8_t *read_file(const char *path, uint64_t *size)
{
	FILE *f = fopen(path, "rb");
	uint8_t *data = NULL;
	long len;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
		data = malloc((size_t)len + 1);
		if (data && fread(data, 1, (size_t)len, f) != (size_t)len) {
			free(data);
			data = NULL;
		}
		*size = (uint64_t)len;
	}
	fclose(f);
	return data;
}

static struct vmx_outcome expect(const struct vmx_case *c, const struct nw_walk_result *res)
{
	struct vmx_outcome o = { .kind = "gp" };

	switch (res->outcome) {
	case NW_OUTCOME_OK:
		o = (struct vmx_outcome){ .kind = "ok", .count = 1, .val = { res->hpa.val } };
		if (c->head.access == VMX_ACCESS_FETCH || c->head.access == VMX_ACCESS_IMPLICIT)
			o.unknown = 1;
		break;
	case NW_OUTCOME_PAGE_FAULT:
		o = (struct vmx_outcome){ .kind = "pf", .count = 2, .val = { res->error_code, res->cr2 } };
		break;
	case NW_OUTCOME_EPT_VIOLATION:
		o = (struct vmx_outcome){ .kind = "eptv", .count = 3,
					  .val = { res->exit_qualification, res->fault_gpa.val, res->gva.val },
					  .unknown = res->gla_valid ? 0 : 4 };
		break;
	case NW_OUTCOME_EPT_MISCONFIG:
		o = (struct vmx_outcome){ .kind = "misconfig", .count = 1, .val = { res->fault_gpa.val } };
		break;
	case NW_OUTCOME_NO_MEMORY:
		o.kind = "nomem";
		break;
	default:
		break;
	}
	return o;
}

static void run_case(const struct nw_hal *hal, const struct vmx_case *c)
{
	NW_SCOPED_FRAME code = nw_frame_uninit();
	char ad[VMX_AD_LEN], line[VMX_LINE_LEN];
	const char *why = vmx_case_check(c);
	struct nw_walk_result res;
	struct vmx_vm vm;

	if (!why && nw_frame_alloc_zero(&code, hal) != NW_OK)
		why = "no frame for the code page";
	if (!why && vmx_vm_build(&vm, hal, c, nw_frame_paddr(&code), &why) == NW_OK) {
		struct nw_walk_config config = { .hal = hal, .stage2 = { .kind = NW_STAGE2_EPT, .ept = &vm.ept },
						 .ad_policy = NW_AD_ON_SUCCESS };
		struct nw_cpu cpu = vmx_case_cpu(c);
		struct nw_access access = vmx_case_access(c);
		struct vmx_outcome o;

		nw_walk_reference(&config, &cpu, &access, 0, &res);
		o = expect(c, &res);
		vmx_vm_read_ad(&vm, c, ad);
		vmx_vm_free(&vm);
		vmx_outcome_format(c->head.id, &o, ad, line);
		puts(line);
		return;
	}
	printf("v %u bad %s\n", c->head.id, why);
}

int main(int argc, char **argv)
{
	struct nw_simmem_config config = { .strict = true };
	struct vmx_blob_cursor cur;
	struct nw_simmem *sim;
	const struct nw_hal *hal;
	uint64_t size = 0, leaked;
	const char *why;
	struct vmx_case c;
	uint8_t *blob;
	int more;

	if (argc != 2) {
		fprintf(stderr, "usage: nestwalk-vmx-sim BLOB\n");
		return 2;
	}
	blob = read_file(argv[1], &size);
	if (!blob) {
		fprintf(stderr, "nestwalk-vmx-sim: %s: cannot read\n", argv[1]);
		return 1;
	}
	why = vmx_blob_open(&cur, blob, size);
	if (why) {
		fprintf(stderr, "nestwalk-vmx-sim: %s: offset 0: %s\n", argv[1], why);
		free(blob);
		return 1;
	}
	sim = nw_simmem_create(&config);
	hal = sim ? nw_simmem_owner(sim, "vmx-case") : NULL;
	if (!hal) {
		fprintf(stderr, "nestwalk-vmx-sim: no simulated memory\n");
		free(blob);
		return 1;
	}
	while ((more = vmx_blob_next(&cur, &c, &why)) == 1)
		run_case(hal, &c);
	if (more < 0)
		fprintf(stderr, "nestwalk-vmx-sim: %s: offset %llu: %s\n", argv[1], (unsigned long long)cur.offset, why);
	leaked = nw_simmem_destroy(sim);
	if (leaked)
		fprintf(stderr, "nestwalk-vmx-sim: %llu frames leaked\n", (unsigned long long)leaked);
	free(blob);
	return more < 0 || leaked ? 1 : 0;
}
