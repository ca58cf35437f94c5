/* Output files written whole or not at all (file_out.h). */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/file_out.h"

static bool is_same_file(const struct stat *out, const char *input)
{
	struct stat st;

	if (!strcmp(input, "-") ? fstat(STDIN_FILENO, &st) : stat(input, &st))
		return false;
	return st.st_dev == out->st_dev && st.st_ino == out->st_ino;
}

int nw_file_out_check(const char *path, const char *const *inputs, char *err, size_t errlen)
{
	struct stat st;

	/* Only a regular file is lost by writing it: a terminal or /dev/null may well be input and output. */
	if (!inputs || (!strcmp(path, "-") ? fstat(STDOUT_FILENO, &st) : stat(path, &st)) || !S_ISREG(st.st_mode))
		return 0;
	for (; *inputs; inputs++) {
		if (is_same_file(&st, *inputs)) {
			snprintf(err, errlen, "%s: the output is the same file as the input %s; write it elsewhere",
				 strcmp(path, "-") ? path : "standard output",
				 strcmp(*inputs, "-") ? *inputs : "(standard input)");
			return -1;
		}
	}
	return 0;
}

/* The temporary file beside target: "DIR/.NAME.XXXXXX", created with mode (umask applies when new). */
static int open_temp(struct nw_file_out *out, const struct stat *existing, char *err, size_t errlen)
{
	const char *slash = strrchr(out->target, '/');
	size_t dir_len = slash ? (size_t)(slash - out->target) + 1 : 0;
	mode_t mask = umask(0);
	int fd;

	umask(mask);
	out->temp = malloc(strlen(out->target) + sizeof("/..XXXXXX"));
	if (!out->temp) {
		snprintf(err, errlen, "%s: out of memory", out->name);
		return -1;
	}
	sprintf(out->temp, "%.*s.%s.XXXXXX", (int)dir_len, out->target, out->target + dir_len);
	fd = mkstemp(out->temp);
	if (fd < 0) {
		snprintf(err, errlen, "%s: cannot create a file in its folder: %s", out->name, strerror(errno));
		free(out->temp);
		out->temp = NULL;
		return -1;
	}
	/* mkstemp makes 0600: give the mode the target has, or a new file's. */
	fchmod(fd, existing ? existing->st_mode & 07777 : 0666 & ~mask);
	out->file = fdopen(fd, "wb");
	if (!out->file) {
		snprintf(err, errlen, "%s: %s", out->name, strerror(errno));
		close(fd);
		return -1;
	}
	return 0;
}

int nw_file_out_open(struct nw_file_out *out, const char *path, const char *const *inputs, char *err,
		     size_t errlen)
{
	bool to_stdout = !strcmp(path, "-");
	struct stat st;
	bool exists;

	*out = (struct nw_file_out){ 0 };
	if (nw_file_out_check(path, inputs, err, errlen))
		return -1;
	out->name = strdup(to_stdout ? "standard output" : path);
	if (!out->name) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	if (to_stdout) {
		out->file = stdout;
		return 0;
	}
	exists = !stat(path, &st);
	if (exists && !S_ISREG(st.st_mode)) {
		out->file = fopen(path, "wb");
		if (!out->file) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			nw_file_out_abandon(out);
			return -1;
		}
		return 0;
	}
	/* The file a symbolic link names is replaced, not the link. */
	out->target = exists ? realpath(path, NULL) : strdup(path);
	if (!out->target) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		nw_file_out_abandon(out);
		return -1;
	}
	if (open_temp(out, exists ? &st : NULL, err, errlen)) {
		nw_file_out_abandon(out);
		return -1;
	}
	return 0;
}

int nw_file_stream_check(FILE *stream, const char *name, char *err, size_t errlen)
{
	errno = 0;
	if (fflush(stream) == 0 && !ferror(stream))
		return 0;
	snprintf(err, errlen, "%s: write error: %s", name, errno ? strerror(errno) : "a write failed");
	clearerr(stream); /* reported once: a later check sees only later errors */
	return -1;
}

int nw_file_out_commit(struct nw_file_out *out, char *err, size_t errlen)
{
	int rc = nw_file_stream_check(out->file, out->name, err, errlen);

	if (out->file != stdout && fclose(out->file) && rc == 0) {
		snprintf(err, errlen, "%s: write error at close: %s", out->name, strerror(errno));
		rc = -1;
	}
	out->file = NULL;
	if (rc == 0 && out->target && rename(out->temp, out->target)) {
		snprintf(err, errlen, "%s: cannot move the written file into place: %s", out->name, strerror(errno));
		rc = -1;
	}
	if (rc == 0) {
		free(out->temp);
		out->temp = NULL;
	}
	nw_file_out_abandon(out);
	return rc;
}

void nw_file_out_abandon(struct nw_file_out *out)
{
	if (out->file && out->file != stdout)
		fclose(out->file);
	if (out->temp)
		unlink(out->temp);
	free(out->temp);
	free(out->target);
	free(out->name);
	*out = (struct nw_file_out){ 0 };
}
