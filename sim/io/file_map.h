/* Input files: open only regular ones (a FIFO, a device or a folder is
 * refused, never waited on or read forever), read one whole or map a binary
 * one privately, and report a problem with the offset where it is. */
#ifndef NESTWALK_SIM_FILE_MAP_H
#define NESTWALK_SIM_FILE_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A read-only descriptor of the regular file at path; -1 with "path: why" in err.
 * Opening does not wait for a FIFO's writer: it is refused like any non-regular file. */
int nw_file_open_input(const char *path, char *err, size_t errlen);

/* The whole regular file at path in *data (malloc'd, NUL after the *size bytes); -1 with err
 * set when it cannot be opened or read, or holds more than max bytes. */
int nw_file_read(const char *path, size_t max, char **data, size_t *size, char *err, size_t errlen);

/* Maps a non-empty regular file MAP_PRIVATE, readable and, when writable, writable
 * (writes land in private copies of the touched pages, never in the file).
 * 0 with *map and *size set; -1 with err set and *map, *size untouched. */
int nw_file_map(const char *path, bool writable, void **map, size_t *size, char *err, size_t errlen);

/* Writes "path: offset 0x...: " and the message to err; returns -1, so a
 * caller can return it. */
__attribute__((format(printf, 5, 6))) int nw_file_fail(char *err, size_t errlen, const char *path, uint64_t offset,
						      const char *fmt, ...);

/* len bytes at offset run past the end of a file of size bytes (without overflowing). */
static inline bool nw_is_past_end(uint64_t offset, uint64_t len, uint64_t size)
{
	return offset > size || len > size - offset;
}

#endif
