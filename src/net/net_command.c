/*
 * net_command: run one external tool with a time limit.
 *
 * posix_spawnp (no shell) starts the command as the leader of a new process
 * group, with default signal handling and an empty signal mask whatever the
 * daemon set, stdin from /dev/null, stdout and stderr into one pipe. The
 * parent polls that pipe and a pidfd for the child's exit. Invariants: the
 * child is always reaped; the group is signalled only while the leader is
 * still unreaped (a zombie), so its ID cannot have been reused; the pipe is
 * drained to the end so a chatty command never blocks on a full pipe.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "net/net.h"
#include "util/time.h"

extern char **environ;

struct capture {
	char *buf;
	size_t len;
};

static int spawn(const char *const argv[], int out_fd, pid_t *pid)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, all;
	int ret;

	sigemptyset(&none);
	sigfillset(&all);
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&attr);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, out_fd, STDOUT_FILENO);
	posix_spawn_file_actions_adddup2(&fa, out_fd, STDERR_FILENO);
	posix_spawnattr_setpgroup(&attr, 0);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &all);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
						POSIX_SPAWN_SETSIGDEF);
	ret = -posix_spawnp(pid, argv[0], &fa, &attr, (char *const *)argv, environ);
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	return ret;
}

/* Reads what the pipe has. Returns 1 at end of file, 0 otherwise. */
static int capture_read(int fd, struct capture *c)
{
	char chunk[4096];
	ssize_t n;

	while ((n = read(fd, chunk, sizeof(chunk))) > 0) {
		size_t keep = NET_RUN_OUTPUT_MAX - c->len;

		if ((size_t)n < keep)
			keep = (size_t)n;
		memcpy(c->buf + c->len, chunk, keep);
		c->len += keep;
	}
	return n == 0;
}

static bool child_exited(pid_t pid)
{
	siginfo_t si = { 0 };

	/* WNOWAIT: look without reaping, so the group ID stays ours. */
	return !waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) && si.si_pid == pid;
}

/* Waits for the child's exit or the deadline, capturing output. Returns 0 or
 * -ETIMEDOUT. The child is not reaped. */
static int supervise(pid_t pid, int out_fd, int timeout_ms, struct capture *c)
{
	uint64_t deadline = timeout_ms < 0 ? UINT64_MAX
					   : time_mono_ns() + (uint64_t)timeout_ms * TIME_NS_PER_MS;
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	bool eof = false;
	int ret = 0;

	for (;;) {
		struct pollfd pfd[2] = { { .fd = eof ? -1 : out_fd, .events = POLLIN },
					 { .fd = pidfd, .events = POLLIN } };
		uint64_t now = time_mono_ns();
		int wait_ms = -1;

		if (child_exited(pid))
			break;
		if (now >= deadline) {
			ret = -ETIMEDOUT;
			break;
		}
		if (deadline != UINT64_MAX)
			wait_ms = (int)((deadline - now) / TIME_NS_PER_MS + 1);
		/* Without a pidfd (kernels before 5.3) the exit is polled for. */
		if (pidfd < 0 && (wait_ms < 0 || wait_ms > 50))
			wait_ms = 50;
		if (poll(pfd, 2, wait_ms) > 0 && (pfd[0].revents & (POLLIN | POLLHUP)))
			eof = capture_read(out_fd, c);
	}
	if (pidfd >= 0)
		close(pidfd);
	return ret;
}

int net_run_command(const char *const argv[], int timeout_ms, char **output, int *exit_status)
{
	struct capture c = { 0 };
	int pipefd[2] = { -1, -1 }, status = 0, ret;
	pid_t pid;

	if (output)
		*output = NULL;
	if (!argv || !argv[0])
		return -EINVAL;
	c.buf = malloc(NET_RUN_OUTPUT_MAX + 1);
	if (!c.buf)
		return -ENOMEM;
	/* Only our end is non-blocking: the command's writes must block, not fail. */
	if (pipe2(pipefd, O_CLOEXEC) || fcntl(pipefd[0], F_SETFL, O_NONBLOCK)) {
		ret = -errno;
		goto out;
	}
	ret = spawn(argv, pipefd[1], &pid);
	close(pipefd[1]);
	pipefd[1] = -1;
	if (ret)
		goto out;
	ret = supervise(pid, pipefd[0], timeout_ms, &c);
	/* Timed out: everything in the group goes. Exited: whatever it left
	 * behind in its group goes too (the tools we run do not fork). */
	kill(-pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	capture_read(pipefd[0], &c);
	if (!ret && exit_status)
		*exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
out:
	for (int i = 0; i < 2; i++)
		if (pipefd[i] >= 0)
			close(pipefd[i]);
	c.buf[c.len] = '\0';
	if (output)
		*output = c.buf;
	else
		free(c.buf);
	return ret;
}
