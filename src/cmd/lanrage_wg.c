/*
 * lanrage-wg: a standalone userspace WireGuard device, invoked like
 * wireguard-go: `lanrage-wg [-f|--foreground] IFACE`. Creates the TUN
 * interface and /var/run/wireguard/IFACE.sock, daemonizes unless told not to,
 * and removes both on SIGINT/SIGTERM, when the interface is deleted, or when
 * the socket file is removed.
 *
 * Environment: LOG_LEVEL=silent|error|warn|info|verbose|debug (default error);
 * WG_PROCESS_FOREGROUND=1 acts like -f; LANRAGE_WG_UNDER_LOAD=1 makes the
 * device answer every handshake with a cookie first (a lab knob for testing
 * the cookie path against other implementations).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log/log.h"
#include "wg/wg.h"

static struct wg_loop *the_loop;

static void on_signal(int sig)
{
	(void)sig;
	if (the_loop)
		wg_loop_stop(the_loop);
}

static void usage(FILE *f, const char *prog)
{
	fprintf(f, "Usage: %s [-f/--foreground] INTERFACE-NAME\n"
		   "       %s --version\n", prog, prog);
}

static int setup_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGINT, &sa, NULL) || sigaction(SIGTERM, &sa, NULL))
		return -errno;
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

/* Classic double-step daemonization; the parent exits once the child runs. */
static int daemonize(void)
{
	pid_t pid = fork();
	int fd;

	if (pid < 0)
		return -errno;
	if (pid > 0)
		_exit(0);
	if (setsid() < 0)
		return -errno;
	fd = open("/dev/null", O_RDWR);
	if (fd >= 0) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		if (log_get_level() == LOG_SILENT || !getenv("LOG_LEVEL"))
			dup2(fd, STDERR_FILENO);
		if (fd > STDERR_FILENO)
			close(fd);
	}
	return 0;
}

/* 0: run; 1: --help; 2: --version; -EINVAL: bad usage. */
static int parse_args(int argc, char **argv, bool *foreground, const char **ifname)
{
	const char *env = getenv("WG_PROCESS_FOREGROUND");

	*foreground = env && !strcmp(env, "1");
	*ifname = NULL;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-f") || !strcmp(argv[i], "--foreground"))
			*foreground = true;
		else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
			return 1;
		else if (!strcmp(argv[i], "--version"))
			return 2;
		else if (argv[i][0] == '-' || *ifname)
			return -EINVAL;
		else
			*ifname = argv[i];
	}
	return *ifname ? 0 : -EINVAL;
}

int main(int argc, char **argv)
{
	struct wg_loop_config cfg = { .tun_fd = -1 };
	const char *level = getenv("LOG_LEVEL"), *load = getenv("LANRAGE_WG_UNDER_LOAD");
	enum log_level lvl;
	bool foreground;
	int ret;

	ret = parse_args(argc, argv, &foreground, &cfg.ifname);
	if (ret == 2) {
		printf("lanrage-wg %s\n", LANRAGE_VERSION);
		return 0;
	}
	if (ret) {
		usage(ret > 0 ? stdout : stderr, argv[0]);
		return ret > 0 ? 0 : 2;
	}
	if (level && !log_level_parse(level, &lvl))
		log_set_level(lvl);
	umask(0022);
	ret = wg_loop_new(&the_loop, &cfg);
	if (ret) {
		fprintf(stderr, "lanrage-wg: cannot create %s: %s\n", cfg.ifname, strerror(-ret));
		return 1;
	}
	if (load && !strcmp(load, "1"))
		wg_device_force_under_load(wg_loop_device(the_loop), true);
	if (setup_signals() || (!foreground && daemonize())) {
		fprintf(stderr, "lanrage-wg: cannot start: %s\n", strerror(errno));
		wg_loop_free(the_loop);
		return 1;
	}
	log_info("wg", "device %s started", cfg.ifname);
	ret = wg_loop_run(the_loop);
	log_info("wg", "device %s shutting down", cfg.ifname);
	wg_loop_free(the_loop);
	the_loop = NULL;
	return ret && ret != -ENODEV && ret != -ENOENT ? 1 : 0;
}
