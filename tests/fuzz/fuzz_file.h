/* The loaders take a path, so a fuzz input is handed over as an anonymous
 * in-memory file (memfd) named by /proc/self/fd/N: no disk traffic, nothing
 * left behind. */
#ifndef NESTWALK_FUZZ_FILE_H
#define NESTWALK_FUZZ_FILE_H

#include <stddef.h>
#include <stdint.h>

struct fz_file {
	int fd;
	char path[40];
};

/* A memfd holding data; aborts when the kernel refuses one. */
void fz_file_open(struct fz_file *file, const uint8_t *data, size_t size);
void fz_file_close(struct fz_file *file);

#endif
