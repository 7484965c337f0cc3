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
#include "nat/relay_proto.h"
#include "nat/stun.h"
#include "relay_opts.h"
#include "relay_rate.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: lanrage-relay [options]\n"
		"  --listen ADDR:PORT      relay frames (default 0.0.0.0:51821)\n"
		"  --stun ADDR[:PORT]      STUN address (default [::]:3478); twice for RFC 5780\n"
		"  --stun-alt-port PORT    alternate STUN port for RFC 5780 (default PORT+1)\n"
		"  --no-stun               no STUN server\n"
		"  --key FILE              static X25519 key, base64 (created 0600 if missing;\n"
		"                          without --key the key is ephemeral)\n"
		"  --lifetime S            binding lifetime after its last frame (default 120)\n"
		"  --rate-pps N            per-binding packets/s (default 20000, burst 1 s)\n"
		"  --rate-bytes N          per-binding bytes/s (default 25000000, burst 1 s)\n"
		"  --max-bindings N        bindings at most (default 65536)\n"
		"  --control URL           register with this control server (ws://HOST:PORT)\n"
		"  --relay-secret S        its relay secret (or env LANRAGE_RELAY_SECRET)\n"
		"  --public-endpoint IP:PORT  the address clients reach the relay at\n"
		"  --name NAME             the relay's name (default lanrage-relay)\n"
		"  --log-level LEVEL       error, warn, info (default), debug\n"
		"  --log-format FORMAT     text (default) or json\n");
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

static int parse_num(const char *name, const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || v < min || v > max) {
		fprintf(stderr, "lanrage-relay: bad --%s: %s (%llu..%llu)\n", name, s,
			(unsigned long long)min, (unsigned long long)max);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

static void defaults(struct relay_opts *o)
{
	memset(o, 0, sizeof(*o));
	parse_addr("0.0.0.0", RELAY_DEFAULT_PORT, &o->listen);
	o->lifetime_s = RELAY_DEFAULT_LIFETIME_S;
	o->rate_pps = 20000;
	o->rate_bytes = 25000000;
	o->max_bindings = 65536;
	o->name = "lanrage-relay";
	o->secret = getenv("LANRAGE_RELAY_SECRET");
	log_set_level(LOG_INFO); /* a server says what it does */
}

static int parse_one(int c, struct relay_opts *o, bool *no_stun)
{
	struct wg_endpoint ep;
	enum log_format format;
	enum log_level level;
	uint64_t v;

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
		*no_stun = true;
		return 0;
	case 'k':
		o->key_file = optarg;
		return 0;
	case 'L':
		if (parse_num("lifetime", optarg, 1, 86400, &v))
			return -EINVAL;
		o->lifetime_s = (uint32_t)v;
		return 0;
	case 'p':
		return parse_num("rate-pps", optarg, 1, RELAY_RATE_MAX, &o->rate_pps);
	case 'b':
		return parse_num("rate-bytes", optarg, 1, RELAY_RATE_MAX, &o->rate_bytes);
	case 'm':
		if (parse_num("max-bindings", optarg, 1, 1 << 24, &v))
			return -EINVAL;
		o->max_bindings = (uint32_t)v;
		return 0;
	case 'c':
		o->control_url = optarg;
		return 0;
	case 'S':
		o->secret = optarg;
		return 0;
	case 'e':
		if (wg_endpoint_parse(&ep, optarg))
			return -EINVAL;
		o->public_endpoint = optarg;
		return 0;
	case 'N':
		o->name = optarg;
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
		{ "control", required_argument, NULL, 'c' },
		{ "relay-secret", required_argument, NULL, 'S' },
		{ "public-endpoint", required_argument, NULL, 'e' },
		{ "name", required_argument, NULL, 'N' },
		{ "log-level", required_argument, NULL, 'v' },
		{ "log-format", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool no_stun = false;
	int c;

	defaults(o);
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'h') {
			usage(stdout);
			return 1;
		}
		if (c == '?' || parse_one(c, o, &no_stun)) {
			if (c != '?')
				fprintf(stderr, "lanrage-relay: bad value for an option: %s\n",
					optarg);
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		usage(stderr);
		return 2;
	}
	if (o->control_url && (!o->secret || !*o->secret || !o->public_endpoint)) {
		fprintf(stderr, "lanrage-relay: --control needs --relay-secret (or "
				"LANRAGE_RELAY_SECRET) and --public-endpoint\n");
		return 2;
	}
	if (no_stun)
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
