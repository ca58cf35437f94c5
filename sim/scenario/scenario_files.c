/* The files a scenario names, found from the current directory (scenario.h). */
#include <stdio.h>
#include <string.h>

#include "scenario/scenario.h"

int nw_scenario_file_path(const struct nw_scenario *sc, const char *name, char *out, size_t outlen)
{
	const char *slash = strrchr(sc->file, '/');
	int n;

	if (name[0] == '/' || !slash)
		n = snprintf(out, outlen, "%s", name);
	else
		n = snprintf(out, outlen, "%.*s/%s", (int)(slash - sc->file), sc->file, name);
	return n < 0 || (size_t)n >= outlen ? -1 : 0;
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
