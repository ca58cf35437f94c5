/* ELF guest images: each PT_LOAD segment is copied into guest memory at its
 * physical address (p_paddr), p_memsz beyond p_filesz zero-filled, as a boot
 * loader places a multiboot or bare-metal image. */
#ifndef NESTWALK_SIM_ELF_IMAGE_H
#define NESTWALK_SIM_ELF_IMAGE_H

#include <stddef.h>

#include <nestwalk/aspace.h>

#include "scenario/scenario.h"

/* 0 on success; -1 with "PATH: offset 0x..: what" in err. Segments before a
 * bad one may already be written. */
int nw_elf_image_load(const char *path, struct nw_aspace *as, char *err, size_t errlen);
/* The same for an image already in memory (size bytes at image), called name in messages. */
int nw_elf_image_load_buffer(const char *name, const void *image, size_t size, struct nw_aspace *as, char *err,
			     size_t errlen);

/* Loads guest.elf_image when the scenario names one (nw_vm_build calls this
 * after the guest writes): 0, or -1 with file:line:col in err. */
int nw_scenario_load_elf_image(const struct nw_scenario *scenario, struct nw_vm *vm, char *err, size_t errlen);

#endif
