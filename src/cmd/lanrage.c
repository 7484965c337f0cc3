/*
 * lanrage: the player's program. Verbs dispatch to one function each.
 *
 * Built so far: `netcheck`, which runs the NAT check itself on its own UDP
 * socket (DESIGN.md section 1 allows this without a daemon). The daemon and
 * the verbs that talk to it arrive with the daemon.
 *
 * Exit status: 0 success, 1 failure (one line on stderr), 2 bad usage.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log/log.h"
#include "nat/netcheck.h"

enum { EXIT_USAGE = 2 };

static void usage(FILE *f)
{
	fprintf(f, "Usage: lanrage VERB [OPTIONS]\n"
		   "\n"
		   "Verbs:\n"
		   "  netcheck [--stun HOST[:PORT]]... [--port N] [--timeout SECONDS] [--no-hairpin] [--json]\n"
		   "        Find this network's NAT type with STUN (RFC 8489) and RFC 5780 tests.\n"
		   "  help  This text.\n");
}

static int parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	char *end;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	*out = strtoul(s, &end, 10);
	return errno || *end || *out > max ? -EINVAL : 0;
}

static int netcheck_usage_error(const char *msg, const char *arg)
{
	fprintf(stderr, "lanrage netcheck: %s%s%s\n", msg, arg ? ": " : "", arg ? arg : "");
	return EXIT_USAGE;
}

static int cmd_netcheck(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "stun", required_argument, NULL, 's' },
		{ "port", required_argument, NULL, 'p' },
		{ "timeout", required_argument, NULL, 't' },
		{ "no-hairpin", no_argument, NULL, 'H' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	struct netcheck_config cfg = { .timeout_ms = NETCHECK_DEFAULT_TIMEOUT_MS };
	struct netcheck_report rep;
	struct netcheck_socket sock;
	unsigned long port = 0, v;
	bool json = false;
	char *out;
	int c, ret;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (cfg.n_servers == NETCHECK_MAX_SERVERS)
				return netcheck_usage_error("too many --stun servers (at most 8)", NULL);
			cfg.servers[cfg.n_servers++] = optarg;
			break;
		case 'p':
			if (parse_uint(optarg, 65535, &port))
				return netcheck_usage_error("bad --port", optarg);
			break;
		case 't':
			if (parse_uint(optarg, 60, &v) || v == 0)
				return netcheck_usage_error("bad --timeout (1-60 seconds)", optarg);
			cfg.timeout_ms = (unsigned)v * 1000;
			break;
		case 'H':
			cfg.skip_hairpin = true;
			break;
		case 'j':
			json = true;
			break;
		default:
			return EXIT_USAGE;
		}
	}
	if (optind < argc)
		return netcheck_usage_error("unexpected argument", argv[optind]);
	if (cfg.n_servers == 0)
		return netcheck_usage_error("no STUN server given; use --stun HOST[:PORT] "
					    "(a relay or any RFC 8489 server)", NULL);
	ret = netcheck_socket_open(&sock, (uint16_t)port);
	if (ret)
		return 1; /* logged where it failed */
	ret = netcheck_run(&cfg, &sock.io, &rep);
	netcheck_socket_close(&sock);
	if (ret == -EHOSTUNREACH && !json) {
		fprintf(stderr, "lanrage netcheck: no STUN server could be resolved (%s)\n",
			rep.servers[0].error);
		return 1;
	}
	out = json ? netcheck_report_json(&rep) : netcheck_report_text(&rep);
	if (!out) {
		fprintf(stderr, "lanrage netcheck: out of memory\n");
		return 1;
	}
	fputs(out, stdout);
	if (json)
		fputc('\n', stdout);
	free(out);
	return ret == -EHOSTUNREACH ? 1 : 0;
}

int main(int argc, char **argv)
{
	const char *lvl = getenv("LOG_LEVEL");
	enum log_level level = LOG_ERROR;

	if (lvl && log_level_parse(lvl, &level) == 0)
		log_set_level(level);
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "netcheck"))
		return cmd_netcheck(argc - 1, argv + 1);
	if (!strcmp(argv[1], "help") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(stdout);
		return 0;
	}
	fprintf(stderr, "lanrage: unknown verb '%s'\n", argv[1]);
	usage(stderr);
	return EXIT_USAGE;
}
