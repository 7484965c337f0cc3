/*
 * relay_client: a test tool speaking the relay protocol (docs/RELAY.md) from
 * one UDP socket, driven by commands on stdin so a natlab test can make it
 * bind, send, roam and replay while it keeps receiving. Every event is one
 * line on stdout (flushed):
 *   bound lifetime=S | bound-bad-mac | refused code=N | pong
 *   deliver from=KEY len=L hash=H [text=T] | unreachable key=KEY
 *   sent len=L hash=H | sent n=N | roamed | error WHAT
 *
 *   relay_client --relay IP:PORT --relay-pub BASE64 [--key FILE]
 * Commands: bind, bind-bad (MAC flipped), bind-save FILE (bind, keep the
 * frame), raw FILE (send the file's bytes), send KEY TEXT, sendpat KEY LEN
 * (random bytes), sendn KEY N (N frames "n-I"), ping, roam (new socket, so a
 * new source port), quit. EOF on stdin quits too.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "control/ctl_ids.h"
#include "crypto/crypto.h"
#include "nat/relay_proto.h"
#include "util/time.h"
#include "wg/wg.h"

struct client {
	int fd;
	struct wg_endpoint relay;
	uint8_t relay_pub[32], priv[32];
	bool have_key;
	uint8_t bind_nonce[RELAY_NONCE_LEN];
};

static uint8_t frame[RELAY_MAX_FRAME + 1];

static void out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void out(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static void hash_hex(const uint8_t *p, size_t len, char hex[17])
{
	uint8_t h[8];

	crypto_blake2s(h, sizeof(h), NULL, 0, p, len);
	for (int i = 0; i < 8; i++)
		sprintf(hex + 2 * i, "%02x", h[i]);
}

static int open_socket(struct client *c)
{
	c->fd = socket(c->relay.sa.sa_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0 || connect(c->fd, &c->relay.sa, c->relay.sa.sa_family == AF_INET ?
						       sizeof(c->relay.in4) :
						       sizeof(c->relay.in6)))
		return -errno;
	return 0;
}

static void send_frame(struct client *c, const uint8_t *p, size_t len)
{
	if (send(c->fd, p, len, 0) < 0)
		out("error send: %s", strerror(errno));
}

static uint64_t now_ms(void)
{
	uint64_t s;
	uint32_t ns;

	time_wall(&s, &ns);
	return s * 1000 + ns / 1000000;
}

static int do_bind(struct client *c, bool corrupt, const char *save)
{
	uint8_t f[RELAY_BIND_LEN];
	FILE *fp;
	int len;

	if (!c->have_key)
		return -ENOKEY;
	crypto_random(c->bind_nonce, sizeof(c->bind_nonce));
	len = relay_build_bind(f, sizeof(f), c->priv, c->relay_pub, now_ms(), c->bind_nonce);
	if (len < 0)
		return len;
	if (corrupt)
		f[len - 1] ^= 1;
	if (save) {
		fp = fopen(save, "wb");
		if (!fp || fwrite(f, 1, (size_t)len, fp) != (size_t)len || fclose(fp))
			return -EIO;
	}
	send_frame(c, f, (size_t)len);
	return 0;
}

static int do_raw(struct client *c, const char *path)
{
	FILE *fp = fopen(path, "rb");
	size_t n;

	if (!fp)
		return -errno;
	n = fread(frame, 1, sizeof(frame), fp);
	fclose(fp);
	send_frame(c, frame, n);
	return 0;
}

static int send_payload(struct client *c, const char *key_b64, const uint8_t *p, size_t len)
{
	uint8_t key[32];
	int n;

	if (ctl_b64_to_key(key_b64, strlen(key_b64), key))
		return -EINVAL;
	n = relay_build_keyed(frame, sizeof(frame), RELAY_SEND, key, p, len);
	if (n < 0)
		return n;
	send_frame(c, frame, (size_t)n);
	return 0;
}

static int do_command(struct client *c, char *line)
{
	static uint8_t pat[RELAY_MAX_DATAGRAM];
	char *cmd = strtok(line, " \n"), *a1 = strtok(NULL, " \n"), *rest = strtok(NULL, "\n");
	uint8_t nonce[RELAY_PING_NONCE_LEN];
	char hex[17], text[32];
	unsigned long n;
	int ret = 0;

	if (!cmd)
		return 0;
	if (!strcmp(cmd, "bind") || !strcmp(cmd, "bind-bad") || !strcmp(cmd, "bind-save"))
		return do_bind(c, !strcmp(cmd, "bind-bad"), !strcmp(cmd, "bind-save") ? a1 : NULL);
	if (!strcmp(cmd, "raw") && a1)
		return do_raw(c, a1);
	if (!strcmp(cmd, "send") && a1 && rest)
		return send_payload(c, a1, (const uint8_t *)rest, strlen(rest));
	if (!strcmp(cmd, "sendpat") && a1 && rest) {
		n = strtoul(rest, NULL, 10);
		if (n == 0 || n > sizeof(pat))
			return -EINVAL;
		crypto_random(pat, n);
		ret = send_payload(c, a1, pat, n);
		hash_hex(pat, n, hex);
		if (!ret)
			out("sent len=%lu hash=%s", n, hex);
		return ret;
	}
	if (!strcmp(cmd, "sendn") && a1 && rest) {
		n = strtoul(rest, NULL, 10);
		for (unsigned long i = 0; i < n && !ret; i++) {
			snprintf(text, sizeof(text), "n-%lu", i);
			ret = send_payload(c, a1, (const uint8_t *)text, strlen(text));
		}
		if (!ret)
			out("sent n=%lu", n);
		return ret;
	}
	if (!strcmp(cmd, "ping")) {
		crypto_random(nonce, sizeof(nonce));
		send_frame(c, frame, (size_t)relay_build_ping(frame, sizeof(frame), RELAY_PING,
							       nonce));
		return 0;
	}
	if (!strcmp(cmd, "roam")) {
		close(c->fd);
		ret = open_socket(c);
		if (!ret)
			out("roamed");
		return ret;
	}
	if (!strcmp(cmd, "quit"))
		return 1;
	return -EINVAL;
}

/* Runs the complete lines in buf[0..*used) and keeps the partial one.
 * 1 after quit. */
static int run_lines(struct client *c, char *buf, size_t *used)
{
	char *start = buf, *nl;
	int ret = 0;

	buf[*used] = 0;
	while (ret <= 0 && (nl = strchr(start, '\n'))) {
		*nl = 0;
		ret = do_command(c, start);
		if (ret < 0)
			out("error command: %s", strerror(-ret));
		start = nl + 1;
	}
	*used -= (size_t)(start - buf);
	memmove(buf, start, *used);
	return ret > 0;
}

static void print_printable(const struct relay_frame *f, char *line, size_t cap)
{
	size_t i;

	line[0] = 0;
	if (f->payload_len >= cap - 6)
		return;
	for (i = 0; i < f->payload_len; i++)
		if (f->payload[i] < 0x20 || f->payload[i] > 0x7e)
			return;
	memcpy(line, " text=", 6);
	memcpy(line + 6, f->payload, f->payload_len);
	line[6 + f->payload_len] = 0;
}

static void on_datagram(struct client *c, const uint8_t *p, size_t len)
{
	char key[CTL_KEY_B64 + 1], hex[17], text[256];
	struct relay_frame f;

	if (relay_parse(p, len, &f)) {
		out("error unparsable frame of %zu bytes", len);
		return;
	}
	switch (f.type) {
	case RELAY_BOUND:
		if (relay_verify_bound(&f, c->priv, c->relay_pub, c->bind_nonce))
			out("bound-bad-mac");
		else
			out("bound lifetime=%u", f.lifetime_s);
		break;
	case RELAY_REFUSED:
		out("refused code=%u", f.code);
		break;
	case RELAY_PONG:
		out("pong");
		break;
	case RELAY_DELIVER:
		ctl_key_to_b64(f.key, key);
		hash_hex(f.payload, f.payload_len, hex);
		print_printable(&f, text, sizeof(text));
		out("deliver from=%s len=%zu hash=%s%s", key, f.payload_len, hex, text);
		break;
	case RELAY_UNREACHABLE:
		ctl_key_to_b64(f.key, key);
		out("unreachable key=%s", key);
		break;
	default:
		out("error unexpected %s", relay_type_name(f.type));
	}
}

static int load_key(struct client *c, const char *path)
{
	char text[128] = { 0 };
	FILE *fp = fopen(path, "r");
	size_t n;

	if (!fp)
		return -errno;
	n = fread(text, 1, sizeof(text) - 1, fp);
	fclose(fp);
	while (n && (text[n - 1] == '\n' || text[n - 1] == ' '))
		n--;
	c->have_key = ctl_b64_to_key(text, n, c->priv) == 0;
	crypto_wipe(text, sizeof(text));
	return c->have_key ? 0 : -EINVAL;
}

static int parse_args(int argc, char **argv, struct client *c)
{
	const char *relay = NULL, *pub = NULL;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--relay"))
			relay = argv[i + 1];
		else if (!strcmp(argv[i], "--relay-pub"))
			pub = argv[i + 1];
		else if (!strcmp(argv[i], "--key") && load_key(c, argv[i + 1]))
			return -EINVAL;
	}
	if (!relay || !pub || wg_endpoint_parse(&c->relay, relay) ||
	    ctl_b64_to_key(pub, strlen(pub), c->relay_pub)) {
		fprintf(stderr, "usage: relay_client --relay IP:PORT --relay-pub B64 [--key F]\n");
		return -EINVAL;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct client c = { .fd = -1 };
	char line[4096];
	size_t used = 0;
	int ret;

	if (crypto_init() || parse_args(argc, argv, &c) || open_socket(&c))
		return 2;
	for (;;) {
		struct pollfd p[2] = { { .fd = 0, .events = POLLIN }, { .fd = c.fd, .events = POLLIN } };
		ssize_t n;

		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		if (p[1].revents & POLLIN) {
			n = recv(c.fd, frame, sizeof(frame), 0);
			if (n >= 0)
				on_datagram(&c, frame, (size_t)n);
			continue;
		}
		if (p[0].revents & (POLLIN | POLLHUP)) {
			/* read(), not stdio: poll must see every line not yet run. */
			n = read(0, line + used, sizeof(line) - 1 - used);
			if (n <= 0)
				break;
			used += (size_t)n;
			ret = run_lines(&c, line, &used);
			if (ret > 0 || used == sizeof(line) - 1)
				break;
		}
	}
	crypto_wipe(c.priv, sizeof(c.priv));
	close(c.fd);
	return 0;
}
