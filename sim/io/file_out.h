/* Output files that never cost the user a file: a regular file is written to a
 * temporary file in the target's folder and renamed over the target only once
 * everything is written and closed without error; on failure the temporary file
 * is removed and the target is as it was. An output that is the same file as one
 * of the command's inputs is refused before anything is created. */
#ifndef NESTWALK_SIM_FILE_OUT_H
#define NESTWALK_SIM_FILE_OUT_H

#include <stddef.h>
#include <stdio.h>

struct nw_file_out {
	FILE *file;   /* where to write: the temporary file, the target itself, or standard output */
	char *name;   /* the output as messages name it: its path, or "standard output" */
	char *target; /* renamed onto at commit; NULL when written in place */
	char *temp;
};

/* 0, or -1 with err naming both when the file at path exists and is one of inputs (a
 * NULL-terminated list of paths, "-" for standard input; NULL for none), through any name. */
int nw_file_out_check(const char *path, const char *const *inputs, char *err, size_t errlen);

/* Opens path for writing after nw_file_out_check: "-" is standard output, an existing file that is
 * not a regular one (a device, a FIFO) is written in place, anything else through a temporary file.
 * 0, or -1 with err set and nothing created. */
int nw_file_out_open(struct nw_file_out *out, const char *path, const char *const *inputs, char *err,
		     size_t errlen);

/* Flushes, checks the stream for any write error, closes and renames into place;
 * 0, or -1 with err set (naming the output) and the temporary file removed. */
int nw_file_out_commit(struct nw_file_out *out, char *err, size_t errlen);

/* Closes and removes the temporary file; the target stays as it was. */
void nw_file_out_abandon(struct nw_file_out *out);

/* Flushes stream and checks it for any write error so far: 0, or -1 with "name: why" in err (and the
 * stream's error flag cleared, so the error is reported once). */
int nw_file_stream_check(FILE *stream, const char *name, char *err, size_t errlen);

#endif
