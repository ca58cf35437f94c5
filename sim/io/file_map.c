/* Opening, reading and mapping input files, and reporting offsets in them (file_map.h). */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/file_map.h"

static const char *kind_name(mode_t mode)
{
	if (S_ISDIR(mode))
		return "a directory";
	if (S_ISFIFO(mode))
		return "a FIFO";
	if (S_ISCHR(mode))
		return "a character device";
	if (S_ISBLK(mode))
		return "a block device";
	if (S_ISSOCK(mode))
		return "a socket";
	return "not a file";
}

int nw_file_open_input(const char *path, char *err, size_t errlen)
{
	/* O_NONBLOCK: opening a FIFO would otherwise wait for a writer before fstat could refuse it. */
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	struct stat st;

	if (fd < 0) {
		snprintf(err, errlen, "%s: cannot open it: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st)) {
		snprintf(err, errlen, "%s: cannot open it: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file (%s)", path, kind_name(st.st_mode));
		close(fd);
		return -1;
	}
	/* A regular file's reads never block; the flag is dropped so the descriptor reads as any other. */
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	return fd;
}

int nw_file_read(const char *path, size_t max, char **data, size_t *size, char *err, size_t errlen)
{
	size_t len = 0, cap = 0;
	char *buf = NULL;
	ssize_t got = 1;
	struct stat st;
	int fd = nw_file_open_input(path, err, errlen);

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) || (uint64_t)st.st_size > max) {
		snprintf(err, errlen, "%s: larger than %zu bytes", path, max);
		close(fd);
		return -1;
	}
	/* Reads until the end, or until one byte past max shows the file is too large. */
	while (got != 0 && len <= max) {
		if (cap - len < 2) { /* room for a byte and the NUL */
			char *grown = realloc(buf, cap ? cap * 2 : 4096);

			if (!grown) {
				snprintf(err, errlen, "%s: out of memory", path);
				break;
			}
			buf = grown;
			cap = cap ? cap * 2 : 4096;
		}
		got = read(fd, buf + len, cap - 1 - len);
		if (got < 0 && errno != EINTR) {
			snprintf(err, errlen, "%s: read error: %s", path, strerror(errno));
			break;
		}
		len += got > 0 ? (size_t)got : 0;
	}
	close(fd);
	if (got == 0 && len <= max) {
		buf[len] = '\0';
		*data = buf;
		*size = len;
		return 0;
	}
	if (len > max)
		snprintf(err, errlen, "%s: larger than %zu bytes", path, max);
	free(buf);
	return -1;
}

int nw_file_map(const char *path, bool writable, void **map, size_t *size, char *err, size_t errlen)
{
	struct stat st;
	void *m;
	int fd = nw_file_open_input(path, err, errlen);

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) || st.st_size == 0) {
		snprintf(err, errlen, "%s: an empty file", path);
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
