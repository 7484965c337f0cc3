/*
 * lanrage: the player's program. main parses the command line
 * (lanrage_args.c) and dispatches: `daemon` and `demo` (lanrage_daemon.c),
 * the client verbs (lanrage_client.c), and `netcheck` here, which asks the
 * running daemon for its report or, with --stun or without a daemon, runs
 * the NAT check itself on its own UDP socket (DESIGN.md section 1).
 *
 * Exit status: 0 success, 1 failure (one line on stderr), 2 bad usage.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/lanrage_cli.h"
#include "log/log.h"
#include "nat/netcheck.h"

enum { EXIT_USAGE = CLI_EXIT_USAGE };

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

int cmd_netcheck(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "stun", required_argument, NULL, 's' },
		{ "port", required_argument, NULL, 'p' },
		{ "timeout", required_argument, NULL, 't' },
		{ "no-hairpin", no_argument, NULL, 'H' },
		{ "json", no_argument, NULL, 'j' },
		{ "state-dir", required_argument, NULL, 'd' },
		{ NULL, 0, NULL, 0 },
	};
	struct netcheck_config cfg = { .timeout_ms = NETCHECK_DEFAULT_TIMEOUT_MS };
	struct netcheck_report rep;
	struct netcheck_socket sock;
	unsigned long port = 0, v;
	bool json = false;
	const char *state_dir = NULL;
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
		case 'd':
			state_dir = optarg;
			break;
		default:
			return EXIT_USAGE;
		}
	}
	if (optind < argc)
		return netcheck_usage_error("unexpected argument", argv[optind]);
	if (cfg.n_servers == 0) {
		ret = cli_netcheck_daemon(state_dir, json);
		if (ret >= 0)
			return ret;
	}
	if (cfg.n_servers == 0)
		return netcheck_usage_error("no daemon is running and no STUN server given; "
					    "use --stun HOST[:PORT] (a relay or any RFC 8489 "
					    "server) or start the daemon", NULL);
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
	struct cli_args a;
	char err[256];

	if (lvl && log_level_parse(lvl, &level) == 0)
		log_set_level(level);
	if (cli_parse(argc, argv, &a, err, sizeof(err))) {
		fprintf(stderr, "lanrage: %s (see: lanrage help)\n", err);
		return EXIT_USAGE;
	}
	switch (a.verb) {
	case CLI_HELP:
		if (a.help)
			cli_usage_verb(stdout, a.help);
		else
			cli_usage(stdout);
		return 0;
	case CLI_VERSION:
		printf("lanrage %s\n", LANRAGE_VERSION);
		return 0;
	case CLI_LOGS:
		return cli_logs(&a);
	case CLI_NETCHECK:
		return cmd_netcheck(argc - 1, argv + 1);
	case CLI_DAEMON:
		return cli_daemon(&a);
	case CLI_DEMO:
		return cli_demo(argv[0]);
	default:
		return cli_client(&a);
	}
}
