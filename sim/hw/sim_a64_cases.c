/* nestwalk-hw-sim for an AArch64 blob: each case's stage 2 built on simulated memory as the AArch64 image
 * builds it (contract/a64_case.h), the access translated by the library's stage 2, and the line the image
 * prints (hw/aarch64/main.c) printed from the library's answer: "ok PA" ("-" for a fetch, as the image
 * sees it), or "abort ESR FAR HPFAR" with ESR_EL2 from nw_arm64_s2_esr plus the instruction syndrome of
 * the image's load or store, FAR_EL2 the IPA (stage 1 off), HPFAR_EL2 from nw_arm64_hpfar, "-" where the
 * Arm ARM leaves it UNKNOWN. */
#include <stdio.h>
#include <string.h>

#include <nestwalk/arm64_s2.h>

#include "contract/a64_case.h"
#include "hw/sim_a64.h"

static void print_case(const struct hw_blob_case *c, struct hw_a64_vm *vm)
{
	struct nw_s2_request req = { .gpa = nw_gpa(c->gva), .type = (enum nw_access_type)c->access };
	struct nw_arm64_s2_access access = { .type = req.type };
	struct nw_s2_result res;
	uint64_t hpfar;

	nw_arm64_s2_translate(&vm->s2, &req, &res);
	printf("c %u", c->id);
	if (res.status == NW_S2_OK && c->access == HW_ACCESS_FETCH) {
		printf(" ok -\n");
	} else if (res.status == NW_S2_OK) {
		printf(" ok 0x%llx\n", (unsigned long long)res.hpa.val);
	} else {
		printf(" abort 0x%llx 0x%llx",
		       (unsigned long long)(nw_arm64_s2_esr(&res, &access) | hw_a64_stub_iss(c)),
		       (unsigned long long)c->gva);
		if (nw_arm64_hpfar(&res, req.gpa, &access, &hpfar))
			printf(" 0x%llx\n", (unsigned long long)hpfar);
		else
			printf(" -\n");
	}
}

int nw_hw_sim_a64_run(const uint8_t *data, size_t size, const struct nw_hal *hal, uint32_t case_count)
{
	size_t off = sizeof(struct hw_blob_header);

	for (uint32_t n = 0; n < case_count; n++) {
		struct hw_blob_case c;
		struct hw_blob_entry entries[HW_MAX_ENTRIES];
		struct hw_a64_vm vm;
		const char *why = NULL;

		if (size - off < sizeof(c)) {
			why = "truncated";
		} else {
			memcpy(&c, data + off, sizeof(c));
			if (c.entry_count > HW_MAX_ENTRIES ||
			    (size - off - sizeof(c)) / sizeof(entries[0]) < c.entry_count)
				why = "truncated";
		}
		if (!why) {
			memcpy(entries, data + off + sizeof(c), c.entry_count * sizeof(entries[0]));
			why = hw_a64_vm_build(&vm, hal, &c, entries);
		}
		if (why) {
			fprintf(stderr, "nestwalk-hw-sim: case #%u at offset 0x%zx: %s\n", n, off, why);
			return 2;
		}
		print_case(&c, &vm);
		hw_a64_vm_destroy(&vm);
		off += sizeof(c) + c.entry_count * sizeof(entries[0]);
	}
	if (off != size) {
		fprintf(stderr, "nestwalk-hw-sim: offset 0x%zx: bytes after the last case\n", off);
		return 2;
	}
	return 0;
}
