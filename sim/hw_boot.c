/* Starting an emulator for `nestwalk hw run`: fork and exec in a session (and
 * process group) of its own, its output collected through a pipe, the whole
 * group killed when the timeout passes (an emulator may leave helpers behind). */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hw_run.h"

#define OUTPUT_MAX (64u << 20) /* bytes kept of the emulator's output */

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

bool nw_hw_program_exists(const char *name)
{
	const char *path = getenv("PATH");
	char buf[4096];

	if (strchr(name, '/'))
		return access(name, X_OK) == 0;
	while (path && *path) {
		const char *end = strchr(path, ':');
		size_t n = end ? (size_t)(end - path) : strlen(path);

		if (n && (size_t)snprintf(buf, sizeof(buf), "%.*s/%s", (int)n, path, name) < sizeof(buf) &&
		    access(buf, X_OK) == 0)
			return true;
		path = end ? end + 1 : NULL;
	}
	return false;
}

/* In the child: a session of its own (so the whole group can be killed, and
 * no terminal reaches it), the environment changes ("NAME=VALUE" sets, "NAME"
 * unsets), stdin from /dev/null, stdout and stderr into the pipe. */
static void child(char *const argv[], const char *cwd, const char *const *env, int out)
{
	int null = open("/dev/null", O_RDONLY);

	setsid();
	for (; env && *env; env++) {
		const char *eq = strchr(*env, '=');
		char name[64];

		snprintf(name, sizeof(name), "%.*s", eq ? (int)(eq - *env) : (int)strlen(*env), *env);
		if (eq)
			setenv(name, eq + 1, 1);
		else
			unsetenv(name);
	}
	if (cwd && chdir(cwd))
		_exit(127);
	if (null >= 0)
		dup2(null, STDIN_FILENO);
	dup2(out, STDOUT_FILENO);
	dup2(out, STDERR_FILENO);
	execvp(argv[0], argv);
	_exit(127);
}

/* Appends what the pipe has; false at its end. */
static bool drain(int fd, struct nw_hw_boot_result *res, size_t *cap)
{
	char buf[65536];
	ssize_t n = read(fd, buf, sizeof(buf));

	if (n < 0)
		return errno == EINTR || errno == EAGAIN;
	if (n == 0)
		return false;
	if (res->output_len + (size_t)n + 1 > *cap && *cap < OUTPUT_MAX) {
		size_t want = *cap * 2 > res->output_len + (size_t)n + 1 ? *cap * 2 : res->output_len + (size_t)n + 1;
		char *grown = realloc(res->output, want);

		if (grown) {
			res->output = grown;
			*cap = want;
		}
	}
	if (res->output_len + (size_t)n + 1 <= *cap) {
		memcpy(res->output + res->output_len, buf, (size_t)n);
		res->output_len += (size_t)n;
		res->output[res->output_len] = '\0';
	}
	return true;
}

int nw_hw_boot(char *const argv[], const char *cwd, const char *const *env, double timeout,
	       struct nw_hw_boot_result *res, char *err, size_t errlen)
{
	size_t cap = 65536;
	int fds[2], wstatus = 0;
	double start = now(), deadline = start + timeout;
	pid_t pid;

	*res = (struct nw_hw_boot_result){ .output = calloc(1, cap) };
	if (!res->output || pipe(fds)) {
		free(res->output);
		res->output = NULL;
		snprintf(err, errlen, "cannot start %s: %s", argv[0], strerror(errno));
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		snprintf(err, errlen, "cannot start %s: %s", argv[0], strerror(errno));
		close(fds[0]);
		close(fds[1]);
		free(res->output);
		res->output = NULL;
		return -1;
	}
	if (pid == 0)
		child(argv, cwd, env, fds[1]);
	close(fds[1]);
	for (;;) {
		struct pollfd p = { .fd = fds[0], .events = POLLIN };
		double left = deadline - now();
		int got;

		if (left <= 0) {
			res->timed_out = true;
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL); /* in case it had not yet made its own session */
			break;
		}
		got = poll(&p, 1, left > 1 ? 1000 : (int)(left * 1000) + 1);
		if (got < 0 && errno != EINTR)
			break;
		if (got > 0 && !drain(fds[0], res, &cap))
			break;
	}
	close(fds[0]);
	/* The output may end before the emulator does: wait for it, as long as the timeout allows. */
	while (waitpid(pid, &wstatus, WNOHANG) == 0) {
		struct timespec pause = { .tv_nsec = 10 * 1000 * 1000 };

		if (now() > deadline) {
			res->timed_out = true;
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			waitpid(pid, &wstatus, 0);
			break;
		}
		nanosleep(&pause, NULL);
	}
	kill(-pid, SIGKILL); /* helpers the emulator left in its group */
	res->seconds = now() - start;
	res->status = res->timed_out ? -1 : WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
	return 0;
}
