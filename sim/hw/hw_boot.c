/* Starting an emulator for `nestwalk hw run`: fork and exec in a session (and
 * process group) of its own, its standard output and error collected through
 * pipes of their own, the whole group killed when the timeout passes (an
 * emulator may leave helpers behind) or when it reports on standard error that
 * it cannot go on (QEMU keeps running, paused, after a KVM internal error). */
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

#include "hw/hw_run.h"

#define OUTPUT_MAX (64u << 20) /* bytes kept of each of the emulator's output streams */
#define QUIET 0.2 /* seconds of silence that end a report on standard error */

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
 * unsets), stdin from /dev/null, stdout and stderr into their pipes. */
static void child(char *const argv[], const char *cwd, const char *const *env, int out, int errors)
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
	dup2(errors, STDERR_FILENO);
	execvp(argv[0], argv);
	_exit(127);
}

/* One of the program's output streams, kept up to OUTPUT_MAX bytes (NUL-terminated). */
struct stream {
	int fd;
	char *text;
	size_t len, cap;
};

/* Appends what the pipe has; false at its end. */
static bool drain(struct stream *s)
{
	char buf[65536];
	ssize_t n = read(s->fd, buf, sizeof(buf));

	if (n < 0)
		return errno == EINTR || errno == EAGAIN;
	if (n == 0)
		return false;
	if (s->len + (size_t)n + 1 > s->cap && s->cap < OUTPUT_MAX) {
		size_t want = s->cap * 2 > s->len + (size_t)n + 1 ? s->cap * 2 : s->len + (size_t)n + 1;
		char *grown = realloc(s->text, want);

		if (grown) {
			s->text = grown;
			s->cap = want;
		}
	}
	if (s->len + (size_t)n + 1 <= s->cap) {
		memcpy(s->text + s->len, buf, (size_t)n);
		s->len += (size_t)n;
		s->text[s->len] = '\0';
	}
	return true;
}

static void kill_group(pid_t pid)
{
	kill(-pid, SIGKILL);
	kill(pid, SIGKILL); /* in case it had not yet made its own session */
}

/* Reads both streams until they end, the deadline passes (timed_out), or
 * stop_on has appeared on standard error and the program has been quiet for
 * QUIET seconds since (stopped: its report of what went wrong is complete). */
static void collect(pid_t pid, struct stream s[2], const char *stop_on, double deadline,
		    struct nw_hw_boot_result *res)
{
	double stop_at = 0;

	for (int open_count = 2; open_count;) {
		struct pollfd p[2] = { { .fd = s[0].fd, .events = POLLIN }, { .fd = s[1].fd, .events = POLLIN } };
		double until = stop_at && stop_at < deadline ? stop_at : deadline, left = until - now();
		int got;

		if (left <= 0) {
			res->timed_out = !stop_at || stop_at >= deadline;
			res->stopped = !res->timed_out;
			kill_group(pid);
			return;
		}
		got = poll(p, 2, left > 1 ? 1000 : (int)(left * 1000) + 1);
		if (got < 0 && errno != EINTR)
			return;
		for (int i = 0; got > 0 && i < 2; i++) {
			if (p[i].revents && s[i].fd >= 0 && !drain(&s[i])) {
				s[i].fd = -1; /* poll ignores a negative fd */
				open_count--;
			}
		}
		if (got > 0 && stop_on && s[1].text && strstr(s[1].text, stop_on))
			stop_at = now() + QUIET;
	}
}

int nw_hw_boot(char *const argv[], const char *cwd, const char *const *env, const char *stop_on, double timeout,
	       struct nw_hw_boot_result *res, char *err, size_t errlen)
{
	struct stream s[2] = { { .cap = 65536 }, { .cap = 65536 } };
	int out[2] = { -1, -1 }, errors[2] = { -1, -1 }, wstatus = 0;
	double start = now(), deadline = start + timeout;
	pid_t pid = -1;

	*res = (struct nw_hw_boot_result){ 0 };
	s[0].text = calloc(1, s[0].cap);
	s[1].text = calloc(1, s[1].cap);
	if (s[0].text && s[1].text && !pipe(out) && !pipe(errors))
		pid = fork();
	if (pid < 0) {
		snprintf(err, errlen, "cannot start %s: %s", argv[0], strerror(errno));
		for (int i = 0; i < 2; i++) {
			if (out[i] >= 0)
				close(out[i]);
			if (errors[i] >= 0)
				close(errors[i]);
			free(s[i].text);
		}
		return -1;
	}
	if (pid == 0)
		child(argv, cwd, env, out[1], errors[1]);
	close(out[1]);
	close(errors[1]);
	s[0].fd = out[0];
	s[1].fd = errors[0];
	collect(pid, s, stop_on, deadline, res);
	close(out[0]);
	close(errors[0]);
	/* The output may end before the emulator does: wait for it, as long as the timeout allows. */
	while (waitpid(pid, &wstatus, WNOHANG) == 0) {
		struct timespec pause = { .tv_nsec = 10 * 1000 * 1000 };

		if (now() > deadline) {
			res->timed_out = true;
			kill_group(pid);
			waitpid(pid, &wstatus, 0);
			break;
		}
		nanosleep(&pause, NULL);
	}
	kill(-pid, SIGKILL); /* helpers the emulator left in its group */
	res->output = s[0].text;
	res->output_len = s[0].len;
	res->errors = s[1].text;
	res->errors_len = s[1].len;
	res->seconds = now() - start;
	res->status = res->timed_out || res->stopped ? -1
		      : WIFEXITED(wstatus)          ? WEXITSTATUS(wstatus)
						    : 128 + WTERMSIG(wstatus);
	return 0;
}

void nw_hw_boot_result_free(struct nw_hw_boot_result *res)
{
	free(res->output);
	free(res->errors);
	res->output = res->errors = NULL;
}
