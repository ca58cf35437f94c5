#define _GNU_SOURCE
#include "fuzz_file.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

void fz_file_open(struct fz_file *file, const uint8_t *data, size_t size)
{
	size_t done = 0;

	file->fd = memfd_create("fuzz-input", MFD_CLOEXEC);
	if (file->fd < 0) {
		perror("memfd_create");
		abort();
	}
	while (done < size) {
		ssize_t n = write(file->fd, data + done, size - done);

		if (n <= 0) {
			perror("write to memfd");
			abort();
		}
		done += (size_t)n;
	}
	snprintf(file->path, sizeof(file->path), "/proc/self/fd/%d", file->fd);
}

void fz_file_close(struct fz_file *file)
{
	close(file->fd);
	file->fd = -1;
}
