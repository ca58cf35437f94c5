/* The files a scenario names, found from the current directory (scenario.h). */
#define _DEFAULT_SOURCE /* lstat */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "scenario/scenario.h"

/* Whether the first len bytes of path name a directory that is not a symbolic link: only then is "dir/.." the
 * folder dir sits in (through a link the kernel goes to the parent of the link's target). */
static bool is_plain_dir(char *path, size_t len)
{
	char kept = path[len];
	struct stat st;
	bool plain;

	path[len] = '\0';
	plain = lstat(len ? path : ".", &st) == 0 && S_ISDIR(st.st_mode);
	path[len] = kept;
	return plain;
}

/* Folds "." and "dir/.." out of path in place, so a report names "traces/t.nwt", not "scenarios/../traces/t.nwt";
 * "dir/.." only where is_plain_dir(dir), so the path still names the file the kernel would open. */
static void path_fold(char *path)
{
	bool absolute = path[0] == '/';
	size_t n = absolute, foldable = 0; /* bytes kept; trailing components a ".." may fold */
	const char *p = path + n;

	while (*p) {
		const char *end = p + strcspn(p, "/");
		size_t len = (size_t)(end - p);
		bool dotdot = len == 2 && p[0] == '.' && p[1] == '.';

		if (len == 0 || (len == 1 && p[0] == '.')) {
			p = end + (*end == '/');
			continue;
		}
		if (dotdot && foldable && is_plain_dir(path, n)) {
			while (n > absolute && path[n - 1] != '/')
				n--;
			n -= n > absolute; /* the slash before the component folded */
			foldable--;
		} else {
			if (n > absolute)
				path[n++] = '/';
			memmove(path + n, p, len); /* never ahead of p: the kept path is no longer than what was read */
			n += len;
			foldable = dotdot ? 0 : foldable + 1;
		}
		p = end + (*end == '/');
	}
	if (n == 0)
		path[n++] = '.';
	path[n] = '\0';
}

int nw_scenario_file_path(const struct nw_scenario *sc, const char *name, char *out, size_t outlen)
{
	const char *slash = strrchr(sc->file, '/');
	int n;

	if (name[0] == '/' || !slash)
		n = snprintf(out, outlen, "%s", name);
	else
		n = snprintf(out, outlen, "%.*s/%s", (int)(slash - sc->file), sc->file, name);
	if (n < 0 || (size_t)n >= outlen)
		return -1;
	path_fold(out);
	return 0;
}

int nw_scenario_trace_path(const struct nw_scenario *sc, const char *given, char *out, size_t outlen, char *err,
			   size_t errlen)
{
	int n;

	if (!given && !sc->trace) {
		snprintf(err, errlen, "%s names no trace: give --trace FILE", sc->file);
		return -1;
	}
	if (!given) {
		if (nw_scenario_file_path(sc, sc->trace, out, outlen) == 0)
			return 0;
		snprintf(err, errlen, "%s:%d:%d: trace: the path is too long", sc->file, sc->trace_pos.line,
			 sc->trace_pos.column);
		return -1;
	}
	n = snprintf(out, outlen, "%s", given);
	if (n >= 0 && (size_t)n < outlen)
		return 0;
	snprintf(err, errlen, "--trace %s: the path is too long", given);
	return -1;
}
