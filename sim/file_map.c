/* Mapping binary input files and reporting offsets in them (file_map.h). */
#define _DEFAULT_SOURCE
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file_map.h"

int nw_file_map(const char *path, bool writable, void **map, size_t *size, char *err, size_t errlen)
{
	struct stat st;
	void *m;
	int fd;

	fd = open(path, O_RDONLY);
	if (fd < 0 || fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size == 0) {
		snprintf(err, errlen, "%s: cannot open it as a non-empty regular file", path);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	m = mmap(NULL, (size_t)st.st_size, PROT_READ | (writable ? PROT_WRITE : 0), MAP_PRIVATE, fd, 0);
	close(fd);
	if (m == MAP_FAILED) {
		snprintf(err, errlen, "%s: cannot map the file", path);
		return -1;
	}
	*map = m;
	*size = (size_t)st.st_size;
	return 0;
}

int nw_file_fail(char *err, size_t errlen, const char *path, uint64_t offset, const char *fmt, ...)
{
	int used = snprintf(err, errlen, "%s: offset 0x%llx: ", path, (unsigned long long)offset);
	va_list ap;

	if (used >= 0 && (size_t)used < errlen) {
		va_start(ap, fmt);
		vsnprintf(err + used, errlen - (size_t)used, fmt, ap);
		va_end(ap);
	}
	return -1;
}
