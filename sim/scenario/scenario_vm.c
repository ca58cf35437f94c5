/* Building a loaded scenario into a VM: the simulated host, the address space
 * with its regions, guest memory contents, guest tables, then the raw
 * second-stage edits (last, so they break exactly what they say). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scenario/elf_image.h"
#include "scenario/scenario.h"
#include "scenario/scenario_guest.h"

#define DEFAULT_HOST_MEMORY (UINT64_C(4) << 30)
#define MAX_UP_FRONT (UINT64_C(16) << 30)

int nw_scenario_fail(const struct nw_scenario *sc, struct nw_scenario_pos pos, char *err, size_t errlen,
		     const char *fmt, ...)
{
	int used = snprintf(err, errlen, "%s:%d:%d: ", sc->file, pos.line, pos.column);
	va_list ap;

	if (used >= 0 && (size_t)used < errlen) {
		va_start(ap, fmt);
		vsnprintf(err + used, errlen - (size_t)used, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* The region as the address space takes it: without a second stage an alloc region is the host range at its own
 * address (GPA = HPA), a pass-through one (the loader refused what has no meaning there, scenario_checks.c). */
static struct nw_region vm_region(const struct nw_scenario *sc, size_t i)
{
	struct nw_region region = sc->regions[i].region;

	if (sc->stage2.format == NW_STAGE2_NONE && region.type == NW_REGION_ALLOC)
		region.type = NW_REGION_IDENTICAL;
	return region;
}

/* Pass-through ranges are host memory the VM is given: claimed before anything
 * is allocated, so the simulated host backs them and never hands them out. */
static int claim_identical(const struct nw_scenario *sc, struct nw_vm *vm, char *err, size_t errlen)
{
	for (size_t i = 0; i < sc->region_count; i++) {
		struct nw_region region = vm_region(sc, i);

		if (region.type != NW_REGION_IDENTICAL)
			continue;
		if (!nw_simmem_claim(vm->sim, nw_hpa_from_identical_gpa(region.base), region.size)) {
			for (size_t j = 0; j < i; j++) {
				struct nw_region done = vm_region(sc, j);

				if (done.type == NW_REGION_IDENTICAL)
					nw_simmem_unclaim(vm->sim, nw_hpa_from_identical_gpa(done.base), done.size);
			}
			return nw_scenario_fail(sc, sc->regions[i].pos, err, errlen,
				    "%s region 0x%llx+0x%llx: the host range is outside the simulated host "
				    "(host.memory) or given to another region",
				    sc->regions[i].region.type == NW_REGION_ALLOC ? "alloc (stage2.format none: the host "
										      "range at its own address)"
										    : "identical",
				    (unsigned long long)region.base.val, (unsigned long long)region.size);
		}
	}
	return 0;
}

static int add_regions(const struct nw_scenario *sc, struct nw_simmem *sim, struct nw_aspace *as, char *err,
		       size_t errlen)
{
	uint64_t up_front = 0;

	for (size_t i = 0; i < sc->region_count; i++) {
		const struct nw_scenario_region *item = &sc->regions[i];
		struct nw_region region = vm_region(sc, i);
		bool backed = region.type == NW_REGION_ALLOC || region.type == NW_REGION_ROM;
		nw_status_t status;

		/* Every page populated up front is zeroed host memory of this
		 * process: refuse what the simulated host cannot hold, and more
		 * than the simulator is willing to touch. */
		if (backed && !item->region.lazy) {
			up_front += item->region.size;
			if (up_front > nw_simmem_size(sim) || up_front > MAX_UP_FRONT)
				return nw_scenario_fail(sc, item->pos, err, errlen,
					    "regions populated up front reach 0x%llx bytes, more than host.memory "
					    "(0x%llx) or 16G: make large RAM regions lazy: true",
					    (unsigned long long)up_front, (unsigned long long)nw_simmem_size(sim));
		}
		status = nw_aspace_add_region(as, &region);
		if (status == NW_ERR_ALIGN)
			return nw_scenario_fail(
				sc, item->pos, err, errlen,
				"memory region 0x%llx+0x%llx: base and size must be multiples of the second stage's "
				"page, 0x%llx bytes",
				(unsigned long long)item->region.base.val, (unsigned long long)item->region.size,
				(unsigned long long)nw_aspace_page_size(as));
		if (status != NW_OK)
			return nw_scenario_fail(sc, item->pos, err, errlen, "memory region 0x%llx+0x%llx: %s",
				    (unsigned long long)item->region.base.val, (unsigned long long)item->region.size,
				    nw_status_name(status));
	}
	return 0;
}

void nw_vm_write_error(const struct nw_aspace *as, nw_status_t status, uint64_t gpa, uint64_t len, char *out,
		       size_t outlen)
{
	snprintf(out, outlen, "%s", nw_status_name(status));
	if (status == NW_ERR_NOMEM) {
		snprintf(out, outlen, "a lazy page found no frame: the simulated host (host.memory) is full");
		return;
	}
	for (uint64_t off = 0; status == NW_ERR_NOT_FOUND && off < len;) {
		uint64_t at = gpa + off;
		const struct nw_region *region = nw_aspace_find_region(as, nw_gpa(at));

		if (!region) {
			snprintf(out, outlen, "0x%llx is in no memory region", (unsigned long long)at);
			return;
		}
		if (region->type == NW_REGION_MMIO) {
			snprintf(out, outlen, "0x%llx is MMIO: device memory has no RAM behind it",
				 (unsigned long long)at);
			return;
		}
		off += NW_PAGE_SIZE - (at & NW_PAGE_MASK);
	}
}

static int write_guest(const struct nw_scenario *sc, struct nw_vm *vm, char *err, size_t errlen)
{
	for (size_t i = 0; i < sc->write_count; i++) {
		const struct nw_scenario_write *write = &sc->writes[i];

		for (size_t v = 0; v < write->count; v++) {
			uint64_t gpa = write->gpa + v * 8;
			uint8_t bytes[8];
			nw_status_t status;

			/* Guest memory is little-endian whatever the host is. */
			for (unsigned b = 0; b < 8; b++)
				bytes[b] = (uint8_t)(write->values[v] >> (8 * b));
			status = nw_aspace_write(&vm->aspace, nw_gpa(gpa), bytes, sizeof(bytes));
			if (status != NW_OK) {
				char why[128];

				nw_vm_write_error(&vm->aspace, status, gpa, sizeof(bytes), why, sizeof(why));
				return nw_scenario_fail(sc, write->pos, err, errlen, "guest write at gpa 0x%llx: %s",
					    (unsigned long long)gpa, why);
			}
		}
	}
	return 0;
}

const char *nw_vm_edit_error(const struct nw_aspace *as, nw_status_t status)
{
	if (as->config.format == NW_STAGE2_NONE)
		return "there is no second stage (format: none)";
	return status == NW_ERR_NOT_FOUND ? "no entry at that level on the path"
	       : status == NW_ERR_INVALID ? "would change a table address (bits below MAXPHYADDR), a page-size bit, or "
					    "clear the entry to zero"
					  : nw_status_name(status);
}

static int edit_stage2(const struct nw_scenario *sc, struct nw_vm *vm, char *err, size_t errlen)
{
	for (size_t i = 0; i < sc->edit_count; i++) {
		const struct nw_scenario_edit *edit = &sc->edits[i];
		nw_status_t status = nw_aspace_edit_entry(&vm->aspace, nw_gpa(edit->gpa), edit->table_level,
							     edit->clear, edit->set);

		if (status != NW_OK)
			return nw_scenario_fail(sc, edit->pos, err, errlen, "edit of the level-%d entry for gpa 0x%llx: %s",
						edit->level, (unsigned long long)edit->gpa,
						nw_vm_edit_error(&vm->aspace, status));
	}
	return 0;
}

static void unclaim_identical(const struct nw_scenario *sc, struct nw_vm *vm)
{
	for (size_t i = 0; i < sc->region_count; i++) {
		struct nw_region region = vm_region(sc, i);

		if (region.type == NW_REGION_IDENTICAL)
			nw_simmem_unclaim(vm->sim, nw_hpa_from_identical_gpa(region.base), region.size);
	}
}

/* The further VMs (vms:), each built as the scenario's regions are, on the same host; vm->vm_count counts those
 * built, so a failure leaves nw_vm_destroy what to free. */
static int build_vms(const struct nw_scenario *sc, struct nw_vm *vm, char *err, size_t errlen)
{
	if (!sc->vm_count)
		return 0;
	vm->vms = calloc(sc->vm_count, sizeof(*vm->vms));
	if (!vm->vms)
		return nw_scenario_fail(sc, sc->vms_pos, err, errlen, "out of memory");
	for (size_t i = 0; i < sc->vm_count; i++) {
		struct nw_scenario view = nw_scenario_vm_view(sc, i);
		nw_status_t status;

		if (claim_identical(&view, vm, err, errlen))
			return -1;
		status = nw_aspace_init(&vm->vms[i], vm->hal, &sc->stage2);
		if (status != NW_OK) {
			unclaim_identical(&view, vm);
			return nw_scenario_fail(sc, sc->vms[i].pos, err, errlen, "second stage: %s",
						nw_status_name(status));
		}
		vm->vm_count++;
		if (add_regions(&view, vm->sim, &vm->vms[i], err, errlen))
			return -1;
	}
	return 0;
}

int nw_vm_build(const struct nw_scenario *sc, struct nw_vm *vm, char *err, size_t errlen)
{
	struct nw_simmem_config config = {
		.size = sc->host_memory ? sc->host_memory : DEFAULT_HOST_MEMORY,
		.randomize = true,
		.seed = sc->host_seed,
	};
	struct nw_scenario_pos top = { 1, 1 };
	nw_status_t status;

	*vm = (struct nw_vm){ 0 };
	vm->sim = nw_simmem_create(&config);
	if (!vm->sim)
		return nw_scenario_fail(sc, top, err, errlen, "cannot reserve %llu bytes of simulated host memory",
			    (unsigned long long)config.size);
	vm->hal = nw_simmem_owner(vm->sim, "vm");
	if (claim_identical(sc, vm, err, errlen)) {
		nw_simmem_destroy(vm->sim);
		*vm = (struct nw_vm){ 0 };
		return -1;
	}
	status = nw_aspace_init(&vm->aspace, vm->hal, &sc->stage2);
	if (status != NW_OK) {
		nw_scenario_fail(sc, top, err, errlen, "second stage: %s", nw_status_name(status));
		unclaim_identical(sc, vm);
		nw_simmem_destroy(vm->sim);
		*vm = (struct nw_vm){ 0 };
		return -1;
	}
	vm->cpu = sc->cpu;
	if (sc->has_mode)
		nw_cpu_set_mode(&vm->cpu, (enum nw_paging_mode)sc->mode);
	if (add_regions(sc, vm->sim, &vm->aspace, err, errlen) || write_guest(sc, vm, err, errlen) ||
	    nw_scenario_load_elf_image(sc, vm, err, errlen) ||
	    nw_scenario_build_guest(sc, vm, err, errlen) || edit_stage2(sc, vm, err, errlen) ||
	    build_vms(sc, vm, err, errlen)) {
		nw_vm_destroy(sc, vm);
		return -1;
	}
	return 0;
}

uint64_t nw_vm_destroy(const struct nw_scenario *sc, struct nw_vm *vm)
{
	uint64_t leaked;

	if (!vm->sim)
		return 0;
	unclaim_identical(sc, vm);
	nw_aspace_destroy(&vm->aspace);
	for (size_t i = 0; i < vm->vm_count; i++) {
		struct nw_scenario view = nw_scenario_vm_view(sc, i);

		unclaim_identical(&view, vm);
		nw_aspace_destroy(&vm->vms[i]);
	}
	free(vm->vms);
	leaked = nw_simmem_report_leaks(vm->sim, stderr);
	nw_simmem_destroy(vm->sim);
	*vm = (struct nw_vm){ 0 };
	return leaked;
}
