/*
 * relay_opts: parses lanrage-relay's options (all numeric, checked against
 * their ranges; anything else is a usage error, exit 2) and loads or creates
 * its static key. The private key never leaves this file except into the
 * caller's buffer; every copy made here is wiped.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "control/ctl_ids.h"
#include "crypto/crypto.h"
#include "log/log.h"
#include "metrics/metrics_http.h"
#include "nat/relay_proto.h"
#include "nat/stun.h"
#include "relay_opts.h"
#include "relay_core.h"
#include "relay_rate.h"
#include "util/secret_file.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: lanrage-relay [options]\n"
		"  --listen ADDR:PORT      relay frames (default 0.0.0.0:51821; [::]:PORT is\n"
		"                          dual-stack, for a relay reachable over IPv6)\n"
		"  --stun ADDR[:PORT]      STUN address (default [::]:3478); twice for RFC 5780\n"
		"  --stun-alt-port PORT    alternate STUN port for RFC 5780 (default PORT+1)\n"
		"  --no-stun               no STUN server\n"
		"  --key FILE              static X25519 key, base64 (created 0600 if missing;\n"
		"                          without --key the key is ephemeral)\n"
		"  --lifetime S            binding lifetime after its last frame (default 120)\n"
		"  --rate-pps N            per-binding packets/s (default 20000, burst 1 s)\n"
		"  --rate-bytes N          per-binding bytes/s (default 25000000, burst 1 s)\n"
		"  --max-bindings N        bindings at most (default 65536)\n"
		"  --max-bindings-per-ip N live bindings from one IP (IPv6: /64) at most\n"
		"                          (default 256)\n"
		"  --control URL           register with this control server (wss://HOST:PORT);\n"
		"                          it also gives the ticket key BINDs are checked with\n"
		"  --control-pin PIN       the control server's key pin, sha256/BASE64 (default:\n"
		"                          verify its certificate against the system CA store)\n"
		"  --control-insecure      allow a plain ws:// control URL (loopback and labs)\n"
		"  --relay-secret-file F   the control server's relay secret, first line of F\n"
		"                          (or env LANRAGE_RELAY_SECRET)\n"
		"  --ticket-key BASE64     the control server's Ed25519 ticket public key, for a\n"
		"                          relay without --control\n"
		"  --no-tickets            bind any key that proves itself, without a ticket\n"
		"                          (labs only: the relay is then anyone's forwarder)\n"
		"  --public-endpoint IP:PORT  the address clients reach the relay at\n"
		"  --name NAME             the relay's name (default lanrage-relay)\n"
		"  --metrics-listen ADDR:PORT  serve Prometheus metrics at http://ADDR:PORT/metrics\n"
		"                          (TCP; [::]:PORT for IPv6; off by default; see\n"
		"                          docs/METRICS.md)\n"
		"  --log-level LEVEL       error, warn, info (default), debug\n"
		"  --log-format FORMAT     text (default) or json\n"
		"  -h, --help              this text\n"
		"  --version               print the version\n");
}

void relay_opts_listen_failed(const char *what, const char *name, int err, const char *flag)
{
	fprintf(stderr, "lanrage-relay: cannot listen %s on %s: %s (%spick another with %s)\n",
		what, name, strerror(err),
		err == EADDRINUSE ? "another lanrage-relay running? " : "", flag);
}

/* A usage error in one line, with where to look. Returns 2, the exit status. */
static int bad_usage(const char *what, const char *arg)
{
	fprintf(stderr, "lanrage-relay: %s '%s' (see lanrage-relay --help)\n", what, arg);
	return 2;
}

/* "ADDR", "ADDR:PORT", "[V6]:PORT" (numeric only). */
static int parse_addr(const char *s, uint16_t default_port, struct wg_endpoint *ep)
{
	char buf[80];

	if (wg_endpoint_parse(ep, s) == 0)
		return 0;
	snprintf(buf, sizeof(buf), strchr(s, ':') ? "[%s]:%u" : "%s:%u", s, default_port);
	return wg_endpoint_parse(ep, buf);
}

/* -EPERM when out of range: the message is printed. */
static int parse_num(const char *name, const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || v < min || v > max) {
		fprintf(stderr, "lanrage-relay: bad --%s: %s (%llu..%llu)\n", name, s,
			(unsigned long long)min, (unsigned long long)max);
		return -EPERM;
	}
	*out = v;
	return 0;
}

/* Clients reach us at --public-endpoint: the --listen socket must receive
 * that family ([::] takes both), or the relay registers an address at which
 * nothing answers. */
static bool listen_reaches(const struct relay_opts *o)
{
	struct wg_endpoint pub;
	char l[64];
	bool v6, ok;

	if (wg_endpoint_parse(&pub, o->public_endpoint))
		return true; /* the control server judges its form */
	wg_endpoint_unmap(&pub);
	v6 = pub.sa.sa_family == AF_INET6;
	ok = o->listen.sa.sa_family == AF_INET6 ? v6 || IN6_IS_ADDR_UNSPECIFIED(&o->listen.in6.sin6_addr)
						: !v6;
	if (!ok) {
		wg_endpoint_format(&o->listen, l, sizeof(l));
		fprintf(stderr, "lanrage-relay: --public-endpoint %s is %s but --listen %s receives "
				"%s only: use --listen [::]:%u (see lanrage-relay --help)\n",
			o->public_endpoint, v6 ? "IPv6" : "IPv4", l, v6 ? "IPv4" : "IPv6",
			wg_endpoint_port(&o->listen));
	}
	return ok;
}

static void defaults(struct relay_opts *o)
{
	memset(o, 0, sizeof(*o));
	parse_addr("0.0.0.0", RELAY_DEFAULT_PORT, &o->listen);
	o->lifetime_s = RELAY_DEFAULT_LIFETIME_S;
	o->rate_pps = 20000;
	o->rate_bytes = 25000000;
	o->max_bindings = 65536;
	o->max_per_ip = RELAY_DEFAULT_MAX_PER_IP;
	o->name = "lanrage-relay";
	log_set_level(LOG_INFO); /* a server says what it does */
}

/* Options parse_one keeps until every option was seen. */
struct opts_late {
	bool no_stun;
	const char *secret_file;
};

/* 0; -EINVAL for a bad value; -EPERM when the message is already printed. */
static int parse_one(int c, struct relay_opts *o, struct opts_late *late)
{
	struct wg_endpoint ep;
	enum log_format format;
	enum log_level level;
	uint64_t v;
	int ret;

	switch (c) {
	case 'l':
		return parse_addr(optarg, RELAY_DEFAULT_PORT, &o->listen) ? -EINVAL : 0;
	case 's':
		if (o->n_stun == 2 || parse_addr(optarg, STUN_DEFAULT_PORT, &o->stun[o->n_stun]))
			return -EINVAL;
		o->n_stun++;
		return 0;
	case 'a':
		return parse_num("stun-alt-port", optarg, 1, 65535, &o->stun_alt_port);
	case 'n':
		late->no_stun = true;
		return 0;
	case 'k':
		o->key_file = optarg;
		return 0;
	case 'L':
		ret = parse_num("lifetime", optarg, 1, 86400, &v);
		if (ret)
			return ret;
		o->lifetime_s = (uint32_t)v;
		return 0;
	case 'p':
		return parse_num("rate-pps", optarg, 1, RELAY_RATE_MAX, &o->rate_pps);
	case 'b':
		return parse_num("rate-bytes", optarg, 1, RELAY_RATE_MAX, &o->rate_bytes);
	case 'm':
		ret = parse_num("max-bindings", optarg, 1, 1 << 24, &v);
		if (ret)
			return ret;
		o->max_bindings = (uint32_t)v;
		return 0;
	case 'M':
		ret = parse_num("max-bindings-per-ip", optarg, 1, 1 << 24, &v);
		if (ret)
			return ret;
		o->max_per_ip = (uint32_t)v;
		return 0;
	case 'c':
		o->control_url = optarg;
		return 0;
	case 'P':
		o->control_pin = optarg;
		return 0;
	case 'I':
		o->control_insecure = true;
		return 0;
	case 'S':
		/* Refused, not ignored: the operator must learn the secret leaked. */
		fprintf(stderr, "lanrage-relay: --relay-secret is refused: every local user "
				"can read a command line in /proc; put the secret in a file "
				"(chmod 600) and pass --relay-secret-file FILE, or set "
				"LANRAGE_RELAY_SECRET\n");
		return -EPERM;
	case 'F':
		late->secret_file = optarg;
		return 0;
	case 'T':
		if (ctl_b64_to_key(optarg, strlen(optarg), o->ticket_key)) {
			fprintf(stderr, "lanrage-relay: --ticket-key needs the base64 of a 32-byte "
					"Ed25519 public key\n");
			return -EPERM;
		}
		o->has_ticket_key = true;
		return 0;
	case 'X':
		o->no_tickets = true;
		return 0;
	case 'e':
		if (wg_endpoint_parse(&ep, optarg))
			return -EINVAL;
		o->public_endpoint = optarg;
		return 0;
	case 'N':
		o->name = optarg;
		return 0;
	case 'Q':
		if (metrics_http_check(optarg))
			return -EINVAL;
		o->metrics_listen = optarg;
		return 0;
	case 'v':
		if (log_level_parse(optarg, &level))
			return -EINVAL;
		log_set_level(level);
		return 0;
	case 'f':
		if (log_format_parse(optarg, &format))
			return -EINVAL;
		log_set_format(format);
		return 0;
	default:
		return -EINVAL;
	}
}

/* The relay secret from the file, else the environment. 0 or -1 (printed). */
static int load_secret(struct relay_opts *o, const char *path)
{
	const char *env = getenv("LANRAGE_RELAY_SECRET"), *why;
	int ret;

	if (path) {
		ret = secret_file_read(path, &o->secret, &why);
		if (ret)
			fprintf(stderr, "lanrage-relay: --relay-secret-file %s: %s (%s)\n", path,
				why, strerror(-ret));
		return ret ? -1 : 0;
	}
	if (env && *env) {
		o->secret = strdup(env);
		return o->secret ? 0 : -1;
	}
	fprintf(stderr, "lanrage-relay: --control needs --relay-secret-file FILE (or "
			"LANRAGE_RELAY_SECRET)\n");
	return -1;
}

void relay_opts_free(struct relay_opts *o)
{
	if (o->secret) {
		crypto_wipe(o->secret, strlen(o->secret));
		free(o->secret);
	}
	o->secret = NULL;
	crypto_wipe(o->ticket_key, sizeof(o->ticket_key));
}

int relay_opts_parse(int argc, char **argv, struct relay_opts *o)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "stun", required_argument, NULL, 's' },
		{ "stun-alt-port", required_argument, NULL, 'a' },
		{ "no-stun", no_argument, NULL, 'n' },
		{ "key", required_argument, NULL, 'k' },
		{ "lifetime", required_argument, NULL, 'L' },
		{ "rate-pps", required_argument, NULL, 'p' },
		{ "rate-bytes", required_argument, NULL, 'b' },
		{ "max-bindings", required_argument, NULL, 'm' },
		{ "max-bindings-per-ip", required_argument, NULL, 'M' },
		{ "control", required_argument, NULL, 'c' },
		{ "control-pin", required_argument, NULL, 'P' },
		{ "control-insecure", no_argument, NULL, 'I' },
		{ "relay-secret", required_argument, NULL, 'S' },
		{ "relay-secret-file", required_argument, NULL, 'F' },
		{ "ticket-key", required_argument, NULL, 'T' },
		{ "no-tickets", no_argument, NULL, 'X' },
		{ "public-endpoint", required_argument, NULL, 'e' },
		{ "name", required_argument, NULL, 'N' },
		{ "metrics-listen", required_argument, NULL, 'Q' },
		{ "log-level", required_argument, NULL, 'v' },
		{ "log-format", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts_late late = { 0 };
	char what[64];
	int c, idx = 0, ret = 0;

	defaults(o);
	opterr = 0; /* bad_usage says it in one line */
	while ((c = getopt_long(argc, argv, ":h", opts, &idx)) != -1) {
		if (c == 'h' || c == 'V') {
			if (c == 'h')
				usage(stdout);
			else
				printf("lanrage-relay %s\n", LANRAGE_VERSION);
			return 1;
		}
		if (c == '?' || c == ':')
			return bad_usage(c == ':' ? "missing value for" : "unknown option",
					 argv[optind - 1]);
		ret = parse_one(c, o, &late);
		if (ret == -EPERM)
			return 2;
		if (ret) {
			snprintf(what, sizeof(what), "bad value for --%s:", opts[idx].name);
			return bad_usage(what, optarg);
		}
	}
	if (optind < argc)
		return bad_usage("unexpected argument", argv[optind]);
	if (o->control_url && load_secret(o, late.secret_file))
		return 2;
	if (o->control_url && !strncmp(o->control_url, "ws://", 5) && !o->control_insecure) {
		fprintf(stderr, "lanrage-relay: %s is plain ws:// (no TLS): use wss://, or add "
				"--control-insecure for loopback and labs\n", o->control_url);
		return 2;
	}
	if (o->control_url && !o->public_endpoint) {
		fprintf(stderr, "lanrage-relay: --control needs --public-endpoint\n");
		return 2;
	}
	if (o->public_endpoint && !listen_reaches(o))
		return 2;
	if (late.no_stun)
		o->n_stun = 0;
	else if (o->n_stun == 0 && parse_addr("::", STUN_DEFAULT_PORT, &o->stun[0]) == 0)
		o->n_stun = 1;
	return 0;
}

/* Writes a new key to path, 0600, failing if the file appeared meanwhile. */
static int key_create(const char *path, uint8_t priv[32])
{
	char text[CTL_KEY_B64 + 2];
	uint8_t pub[32];
	int fd, ret = 0;
	size_t n;

	crypto_x25519_generate(priv, pub);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	ctl_key_to_b64(priv, text);
	n = strlen(text);
	text[n++] = '\n';
	if (write(fd, text, n) != (ssize_t)n)
		ret = -EIO;
	if (close(fd) && !ret)
		ret = -errno;
	crypto_wipe(text, sizeof(text));
	return ret;
}

static int key_read(const char *path, uint8_t priv[32])
{
	char text[128];
	ssize_t n;
	int fd, ret = -EINVAL;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n < 0)
		return -EIO;
	while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r' || text[n - 1] == ' '))
		n--;
	if (ctl_b64_to_key(text, (size_t)n, priv) == 0)
		ret = 0;
	crypto_wipe(text, sizeof(text));
	return ret;
}

int relay_key_load(const char *path, uint8_t priv[32], bool *created)
{
	int ret;

	*created = false;
	if (!path) {
		uint8_t pub[32];

		crypto_x25519_generate(priv, pub);
		*created = true;
		return 0;
	}
	ret = key_read(path, priv);
	if (ret == -ENOENT) {
		ret = key_create(path, priv);
		*created = ret == 0;
	}
	if (ret) {
		crypto_wipe(priv, 32);
		log_error("relay", "key file %s: %s", path,
			  ret == -EINVAL ? "not a base64 X25519 key" : strerror(-ret));
	}
	return ret;
}
