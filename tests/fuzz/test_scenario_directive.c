/* Found by fuzz_scenario: a scenario file whose YAML directive line holds a
 * byte that is not UTF-8 (the two bytes "%\x9f") makes nw_scenario_load hang:
 * libfyaml 0.7.12 (Debian 12) loops forever in fy_scan_directive. Bad input must
 * give a located error instead: the loader now checks the text is UTF-8 first.
 * The loader runs in a child with a 10 s alarm. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "scenario/scenario.h"

Test(scenario_directive, non_utf8_directive_is_rejected_promptly)
{
	const char *path = FUZZ_DIR "/known/scenario-directive-not-utf8.yaml";
	pid_t child = fork();
	int status = 0;

	cr_assert_geq(child, 0);
	if (child == 0) {
		struct nw_scenario sc;
		char err[512] = "";
		int rc;

		alarm(10);
		rc = nw_scenario_load(path, &sc, err, sizeof(err));
		nw_scenario_free(&sc);
		_exit(rc != 0 && strstr(err, path) ? 0 : 1);
	}
	cr_assert_eq(waitpid(child, &status, 0), child);
	cr_assert(!WIFSIGNALED(status), "the loader did not return within 10 s (signal %d)", WTERMSIG(status));
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the loader accepted the file or gave no located error");
}
