/*
 * relay_client: a test tool speaking the relay protocol v2 (docs/RELAY.md)
 * from one UDP socket, driven by commands on stdin so a natlab test can make
 * it bind, send, roam, replay and attack while it keeps receiving. Every event
 * is one line on stdout (flushed):
 *   bound lifetime=S | bound-bad-mac | refused code=N | cookie | pong
 *   deliver from=KEY len=L hash=H [text=T] | unreachable key=KEY
 *   sent len=L hash=H | sent n=N | roamed | flooded n=N | error WHAT
 *   stun sent=N answers=M | swarm players=N bound=B pings=P pongs=Q
 *   unbound echo=ours|other | clock verified=yes|no skew_s=S
 *
 *   relay_client --relay IP:PORT --relay-pub BASE64 [--key FILE]
 *                [--ticket-sk FILE] [--stun IP:PORT] [--port N]
 *   relay_client --gen-ticket-key FILE   (prints ticket_pub=BASE64)
 * With --ticket-sk (the base64 Ed25519 seed a control server would hold) it
 * mints its own tickets, valid an hour, as lanrage-control does. The cookie
 * from a COOKIE answer is kept and a plain bind is sent again at once.
 * Commands: bind, bind-bad (MAC flipped), bind-save FILE (bind, keep the
 * frame that is sent last), bind-noticket, bind-expired, bind-forged (ticket
 * signed by another key), raw FILE (send the file's bytes), send KEY TEXT,
 * sendpat KEY LEN (random bytes), sendn KEY N (N frames "n-I"), ping, roam
 * (new socket, so a new source port), forget-cookie, flood N MODE (N new
 * keys, each one BIND with our cookie; MODE noticket, forged or mixed),
 * stunflood N (N STUN requests to --stun, answers counted for 2 s), swarm N
 * SECONDS (N players on N sockets, each with its key and ticket, binding and
 * PINGing every 5 s as the daemon does), spoof IP:PORT (a BIND with our key,
 * ticket and cookie sent from a forged IPv4 source through a raw socket;
 * needs root), skew SECONDS (our BIND timestamps that far off the real time
 * from now on), quit. EOF on stdin quits too. --port fixes the local port.
 * An UNBOUND echoing our last SEND gives its cookie (the next bind needs no
 * COOKIE round trip); a CLOCK that verifies sets the relay's offset and the
 * BIND it answers is sent again at once, as the daemon does.
 *
 * Longer than this project's files usually are: it is one test binary that
 * natlab scripts drive by name, and its attack commands (flood, stunflood,
 * swarm, spoof) share its ticket minting and cookie handling.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "control/ctl_ids.h"
#include "crypto/crypto.h"
#include "nat/relay_proto.h"
#include "nat/relay_ticket.h"
#include "nat/stun.h"
#include "util/time.h"
#include "wg/wg.h"

enum ticket_kind { TICKET_GOOD, TICKET_NONE, TICKET_EXPIRED, TICKET_FORGED };

struct client {
	int fd;
	struct wg_endpoint relay, stun;
	uint8_t relay_pub[32], priv[32];
	bool have_key;
	uint8_t bind_nonce[RELAY_NONCE_LEN];
	uint8_t cookie[RELAY_COOKIE_LEN];
	bool have_cookie;
	uint8_t ticket_sk[RELAY_TICKET_SK_LEN];
	bool have_ticket_sk;
	/* the BIND under way: sent again after a COOKIE (once), saved to a file */
	enum ticket_kind pending_kind;
	bool pending, cookie_retried;
	const char *save;
	char save_path[256];
	uint16_t port; /* --port: the local port, 0 any */
	/* the last SEND's tail (to check an UNBOUND); our clock's skew and the
	 * relay's offset from its CLOCK, both in ms */
	uint8_t send_tail[RELAY_ECHO_LEN];
	bool have_tail, clock_retried;
	int64_t skew_ms, offset_ms;
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
	struct wg_endpoint local = { 0 };
	int one = 1;

	c->fd = socket(c->relay.sa.sa_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (c->fd >= 0 && c->port) {
		local.sa.sa_family = c->relay.sa.sa_family;
		wg_endpoint_set_port(&local, c->port);
		setsockopt(c->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(c->fd, &local.sa, local.sa.sa_family == AF_INET ? sizeof(local.in4) :
									  sizeof(local.in6)))
			return -errno;
	}
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

/* A ticket of the given kind for key. */
static void make_ticket(const struct client *c, enum ticket_kind kind, const uint8_t key[32],
			uint8_t t[RELAY_TICKET_LEN])
{
	uint8_t pk[RELAY_TICKET_PK_LEN], sk[RELAY_TICKET_SK_LEN];
	uint64_t now = time_wall_ms() / 1000;

	switch (kind) {
	case TICKET_GOOD:
		relay_ticket_sign(t, c->ticket_sk, key, now + RELAY_TICKET_LIFETIME_S);
		break;
	case TICKET_EXPIRED:
		relay_ticket_sign(t, c->ticket_sk, key, now - 2 * RELAY_TICKET_SKEW_S);
		break;
	case TICKET_FORGED:
		relay_ticket_keypair(pk, sk);
		relay_ticket_sign(t, sk, key, now + RELAY_TICKET_LIFETIME_S);
		crypto_wipe(sk, sizeof(sk));
		break;
	case TICKET_NONE:
		memset(t, 0, RELAY_TICKET_LEN);
		break;
	}
}

static int save_frame(const char *path, const uint8_t *f, size_t len)
{
	FILE *fp = fopen(path, "wb");

	if (!fp || fwrite(f, 1, len, fp) != len || fclose(fp))
		return -EIO;
	return 0;
}

static int do_bind(struct client *c, bool corrupt, enum ticket_kind kind)
{
	uint8_t f[RELAY_BIND_LEN], ticket[RELAY_TICKET_LEN], pub[32];
	int len;

	if (!c->have_key)
		return -ENOKEY;
	if (kind != TICKET_NONE && !c->have_ticket_sk && kind != TICKET_FORGED)
		kind = TICKET_NONE; /* no ticket key given: nothing to mint with */
	crypto_x25519_public(pub, c->priv);
	make_ticket(c, kind, pub, ticket);
	crypto_random(c->bind_nonce, sizeof(c->bind_nonce));
	len = relay_build_bind(f, sizeof(f), c->priv, c->relay_pub,
			       time_wall_ms() + (uint64_t)(c->skew_ms + c->offset_ms), c->bind_nonce,
			       c->have_cookie ? c->cookie : NULL, ticket);
	if (len < 0)
		return len;
	if (corrupt)
		f[len - 1] ^= 1;
	if (c->save && save_frame(c->save, f, (size_t)len))
		return -EIO;
	c->pending = !corrupt;
	c->pending_kind = kind;
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
	if (n >= RELAY_ECHO_LEN) {
		memcpy(c->send_tail, frame + n - RELAY_ECHO_LEN, RELAY_ECHO_LEN);
		c->have_tail = true;
	}
	send_frame(c, frame, (size_t)n);
	return 0;
}

/* Waits up to 2 s for the COOKIE answering a cookieless BIND of a throwaway
 * key; whatever else arrives meanwhile is reported as usual. */
static void on_datagram(struct client *c, const uint8_t *p, size_t len);
static int fetch_cookie(struct client *c)
{
	uint8_t f[RELAY_BIND_LEN], priv[32], pub[32], nonce[RELAY_NONCE_LEN];
	uint64_t end = time_wall_ms() + 2000;
	struct relay_frame fr;
	int len;

	crypto_x25519_generate(priv, pub);
	crypto_random(nonce, sizeof(nonce));
	len = relay_build_bind(f, sizeof(f), priv, c->relay_pub, time_wall_ms(), nonce, NULL, NULL);
	if (len < 0)
		return len;
	send_frame(c, f, (size_t)len);
	while (time_wall_ms() < end) {
		struct pollfd p = { .fd = c->fd, .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, 100) <= 0)
			continue;
		n = recv(c->fd, frame, sizeof(frame), 0);
		if (n < 0)
			continue;
		if (!relay_parse(frame, (size_t)n, &fr) && fr.type == RELAY_COOKIE &&
		    !memcmp(fr.nonce, nonce, sizeof(nonce))) {
			memcpy(c->cookie, fr.cookie, RELAY_COOKIE_LEN);
			c->have_cookie = true;
			return 0;
		}
		on_datagram(c, frame, (size_t)n);
	}
	return -ETIMEDOUT;
}

/* n BINDs for n keys made here, each with our (valid) cookie, none with a
 * ticket the control plane signed. */
static int do_flood(struct client *c, unsigned long n, const char *mode)
{
	uint8_t f[RELAY_BIND_LEN], priv[32], pub[32], ticket[RELAY_TICKET_LEN];
	uint8_t nonce[RELAY_NONCE_LEN];
	enum ticket_kind kind;
	int len, ret;

	if (!c->have_cookie && (ret = fetch_cookie(c)))
		return ret;
	for (unsigned long i = 0; i < n; i++) {
		if (!strcmp(mode, "noticket"))
			kind = TICKET_NONE;
		else if (!strcmp(mode, "forged"))
			kind = TICKET_FORGED;
		else
			kind = i & 1 ? TICKET_FORGED : TICKET_NONE;
		crypto_x25519_generate(priv, pub);
		make_ticket(c, kind, pub, ticket);
		crypto_random(nonce, sizeof(nonce));
		len = relay_build_bind(f, sizeof(f), priv, c->relay_pub, time_wall_ms(), nonce, c->cookie,
				       ticket);
		if (len < 0)
			return len;
		send_frame(c, f, (size_t)len);
	}
	crypto_wipe(priv, sizeof(priv));
	out("flooded n=%lu", n);
	return 0;
}

static int udp_connected(const struct wg_endpoint *to)
{
	int fd = socket(to->sa.sa_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd >= 0 && connect(fd, &to->sa, to->sa.sa_family == AF_INET ? sizeof(to->in4) :
									  sizeof(to->in6))) {
		close(fd);
		return -1;
	}
	return fd;
}

/* n STUN Binding requests to --stun as fast as we can; answers counted. */
static int do_stunflood(struct client *c, unsigned long n)
{
	uint8_t req[STUN_HEADER_LEN + 8], txid[STUN_TXID_LEN], in[STUN_MAX_MSG];
	struct stun_builder b;
	unsigned long answers = 0;
	uint64_t end;
	int fd, len;

	if (!c->stun.sa.sa_family)
		return -EDESTADDRREQ;
	fd = udp_connected(&c->stun);
	if (fd < 0)
		return -errno;
	for (unsigned long i = 0; i < n; i++) {
		stun_new_txid(txid);
		stun_build_init(&b, req, sizeof(req), STUN_METHOD_BINDING, STUN_REQUEST, txid);
		len = stun_build_finish(&b, false);
		if (len > 0 && send(fd, req, (size_t)len, 0) < 0)
			break;
		/* read as we go: a full receive buffer would lose answers */
		while (recv(fd, in, sizeof(in), MSG_DONTWAIT) > 0)
			answers++;
	}
	for (end = time_wall_ms() + 2000; time_wall_ms() < end;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		if (poll(&p, 1, 100) > 0 && recv(fd, in, sizeof(in), 0) > 0)
			answers++;
	}
	close(fd);
	out("stun sent=%lu answers=%lu", n, answers);
	return 0;
}

/* One BIND (our key, a good ticket, our cookie) from a forged IPv4 source:
 * IPv4 and UDP headers by hand on a raw socket (UDP checksum 0: none). */
static int do_spoof(struct client *c, const char *src_text)
{
	uint8_t pkt[20 + 8 + RELAY_BIND_LEN], ticket[RELAY_TICKET_LEN], pub[32];
	uint8_t nonce[RELAY_NONCE_LEN];
	struct wg_endpoint src;
	size_t total = sizeof(pkt);
	int fd, len;

	if (!c->have_key || wg_endpoint_parse(&src, src_text) || src.sa.sa_family != AF_INET ||
	    c->relay.sa.sa_family != AF_INET)
		return -EINVAL;
	crypto_x25519_public(pub, c->priv);
	make_ticket(c, TICKET_GOOD, pub, ticket);
	crypto_random(nonce, sizeof(nonce));
	len = relay_build_bind(pkt + 28, RELAY_BIND_LEN, c->priv, c->relay_pub, time_wall_ms(), nonce,
			       c->have_cookie ? c->cookie : NULL, ticket);
	if (len != RELAY_BIND_LEN)
		return -EINVAL;
	memset(pkt, 0, 28);
	pkt[0] = 0x45; /* IPv4, 20-byte header; length, id and checksum by the kernel */
	pkt[8] = 64;
	pkt[9] = IPPROTO_UDP;
	memcpy(pkt + 12, &src.in4.sin_addr, 4);
	memcpy(pkt + 16, &c->relay.in4.sin_addr, 4);
	memcpy(pkt + 20, &src.in4.sin_port, 2);
	memcpy(pkt + 22, &c->relay.in4.sin_port, 2);
	pkt[24] = (uint8_t)((8 + RELAY_BIND_LEN) >> 8);
	pkt[25] = (uint8_t)(8 + RELAY_BIND_LEN);
	fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
	if (fd < 0)
		return -errno;
	if (sendto(fd, pkt, total, 0, &c->relay.sa, sizeof(c->relay.in4)) != (ssize_t)total) {
		int ret = -errno;

		close(fd);
		return ret;
	}
	close(fd);
	out("spoofed from=%s len=%d", src_text, len);
	return 0;
}

/* ---- swarm: many players behind our NAT, as the daemon behaves ---------- */

struct player {
	int fd;
	uint8_t priv[32], pub[32];
	uint8_t nonce[RELAY_NONCE_LEN], cookie[RELAY_COOKIE_LEN];
	uint8_t ping_nonce[RELAY_PING_NONCE_LEN];
	bool has_cookie, bound, ping_pending;
	unsigned cookie_tries;
	uint64_t next_bind, next_ping;
};

static void player_bind(struct client *c, struct player *p, uint64_t now)
{
	uint8_t f[RELAY_BIND_LEN], ticket[RELAY_TICKET_LEN];
	int len;

	make_ticket(c, TICKET_GOOD, p->pub, ticket);
	crypto_random(p->nonce, sizeof(p->nonce));
	len = relay_build_bind(f, sizeof(f), p->priv, c->relay_pub, time_wall_ms(), p->nonce,
			       p->has_cookie ? p->cookie : NULL, ticket);
	if (len > 0 && send(p->fd, f, (size_t)len, 0) < 0)
		out("error swarm send: %s", strerror(errno));
	p->next_bind = now + 2000; /* no answer: again in 2 s */
}

struct swarm_count {
	unsigned long pings, pongs, refused;
};

static void player_rx(struct client *c, struct player *p, uint64_t now, struct swarm_count *n)
{
	struct relay_frame f;
	ssize_t len = recv(p->fd, frame, sizeof(frame), MSG_DONTWAIT);

	if (len < 0 || relay_parse(frame, (size_t)len, &f))
		return;
	switch (f.type) {
	case RELAY_COOKIE:
		if (memcmp(f.nonce, p->nonce, RELAY_NONCE_LEN))
			return;
		memcpy(p->cookie, f.cookie, RELAY_COOKIE_LEN);
		p->has_cookie = true;
		if (p->cookie_tries++ < 2)
			player_bind(c, p, now);
		break;
	case RELAY_BOUND:
		if (relay_verify_bound(&f, p->priv, c->relay_pub, p->nonce))
			return;
		p->bound = true;
		p->cookie_tries = 0;
		p->next_bind = now + 60000;
		break;
	case RELAY_REFUSED:
		n->refused++;
		break;
	case RELAY_PONG:
		if (p->ping_pending && !memcmp(f.nonce, p->ping_nonce, RELAY_PING_NONCE_LEN)) {
			p->ping_pending = false;
			n->pongs++;
		}
		break;
	default:
		break;
	}
}

static void player_ping(struct player *p, uint64_t now, struct swarm_count *n)
{
	uint8_t f[RELAY_PING_LEN];

	crypto_random(p->ping_nonce, sizeof(p->ping_nonce));
	relay_build_ping(f, sizeof(f), RELAY_PING, p->ping_nonce);
	if (send(p->fd, f, sizeof(f), 0) == (ssize_t)sizeof(f)) {
		p->ping_pending = true;
		n->pings++;
	}
	p->next_ping = now + 5000;
}

/* n players for seconds: each binds (at once, all together), rebinds every
 * 60 s, and once bound PINGs every 5 s; no PING in the last 2 s, so every
 * PING sent had time for its PONG. */
static int do_swarm(struct client *c, unsigned long n, unsigned long seconds)
{
	struct swarm_count cnt = { 0 };
	struct pollfd *pf = calloc(n, sizeof(*pf));
	struct player *p = calloc(n, sizeof(*p));
	uint64_t start = time_wall_ms(), end = start + seconds * 1000, now;
	unsigned long i, bound = 0;
	int ret = 0;

	if (!pf || !p || !n) {
		ret = -ENOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		p[i].fd = udp_connected(&c->relay);
		if (p[i].fd < 0) {
			ret = -errno;
			n = i;
			goto out;
		}
		crypto_x25519_generate(p[i].priv, p[i].pub);
		pf[i] = (struct pollfd){ .fd = p[i].fd, .events = POLLIN };
	}
	while ((now = time_wall_ms()) < end) {
		for (i = 0; i < n; i++) {
			if (now >= p[i].next_bind) {
				p[i].cookie_tries = 0;
				player_bind(c, &p[i], now);
			}
			if (p[i].bound && now >= p[i].next_ping && now + 2000 < end)
				player_ping(&p[i], now, &cnt);
		}
		if (poll(pf, n, 50) <= 0)
			continue;
		for (i = 0; i < n; i++)
			if (pf[i].revents & POLLIN)
				player_rx(c, &p[i], time_wall_ms(), &cnt);
	}
	for (i = 0; i < n; i++)
		bound += p[i].bound;
	out("swarm players=%lu bound=%lu pings=%lu pongs=%lu refused=%lu", n, bound, cnt.pings,
	    cnt.pongs, cnt.refused);
out:
	for (i = 0; p && i < n; i++) {
		close(p[i].fd);
		crypto_wipe(p[i].priv, sizeof(p[i].priv));
	}
	free(p);
	free(pf);
	return ret;
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
	if (!strcmp(cmd, "bind-save") && a1) {
		snprintf(c->save_path, sizeof(c->save_path), "%s", a1);
		c->save = c->save_path;
	}
	c->cookie_retried = false;
	if (!strcmp(cmd, "bind") || !strcmp(cmd, "bind-bad") || !strcmp(cmd, "bind-save"))
		return do_bind(c, !strcmp(cmd, "bind-bad"), TICKET_GOOD);
	if (!strcmp(cmd, "bind-noticket"))
		return do_bind(c, false, TICKET_NONE);
	if (!strcmp(cmd, "bind-expired"))
		return do_bind(c, false, TICKET_EXPIRED);
	if (!strcmp(cmd, "bind-forged"))
		return do_bind(c, false, TICKET_FORGED);
	if (!strcmp(cmd, "forget-cookie")) {
		c->have_cookie = false;
		return 0;
	}
	if (!strcmp(cmd, "flood") && a1 && rest)
		return do_flood(c, strtoul(a1, NULL, 10), rest);
	if (!strcmp(cmd, "spoof") && a1)
		return do_spoof(c, a1);
	if (!strcmp(cmd, "stunflood") && a1)
		return do_stunflood(c, strtoul(a1, NULL, 10));
	if (!strcmp(cmd, "swarm") && a1 && rest)
		return do_swarm(c, strtoul(a1, NULL, 10), strtoul(rest, NULL, 10));
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
	if (!strcmp(cmd, "skew") && a1) {
		c->skew_ms = strtoll(a1, NULL, 10) * 1000;
		c->offset_ms = 0;
		return 0;
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

static void on_unbound(struct client *c, const struct relay_frame *f)
{
	bool ours = c->have_tail && !memcmp(f->echo, c->send_tail, RELAY_ECHO_LEN);

	out("unbound echo=%s", ours ? "ours" : "other");
	if (ours) {
		memcpy(c->cookie, f->cookie, RELAY_COOKIE_LEN);
		c->have_cookie = true;
	}
}

static void on_clock(struct client *c, const struct relay_frame *f)
{
	bool ok = !relay_verify_clock(f, c->priv, c->relay_pub, c->bind_nonce);

	out("clock verified=%s skew_s=%lld", ok ? "yes" : "no",
	    (long long)((int64_t)(time_wall_ms() + (uint64_t)c->skew_ms) -
			(int64_t)f->timestamp_ms) / 1000);
	if (!ok)
		return;
	c->offset_ms = (int64_t)(f->timestamp_ms - time_wall_ms()) - c->skew_ms;
	if (c->pending && !c->clock_retried) {
		c->clock_retried = true;
		do_bind(c, false, c->pending_kind);
	}
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
		c->pending = false;
		c->clock_retried = false;
		c->save = NULL;
		break;
	case RELAY_REFUSED:
		out("refused code=%u", f.code);
		c->pending = false;
		c->save = NULL;
		break;
	case RELAY_COOKIE:
		out("cookie");
		memcpy(c->cookie, f.cookie, RELAY_COOKIE_LEN);
		c->have_cookie = true;
		/* the BIND it answers, again at once with the cookie */
		if (c->pending && !c->cookie_retried &&
		    !memcmp(f.nonce, c->bind_nonce, RELAY_NONCE_LEN)) {
			c->cookie_retried = true;
			do_bind(c, false, c->pending_kind);
		}
		break;
	case RELAY_PONG:
		out("pong");
		break;
	case RELAY_UNBOUND:
		on_unbound(c, &f);
		break;
	case RELAY_CLOCK:
		on_clock(c, &f);
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

/* The base64 Ed25519 seed at path, as the ticket secret key. */
static int load_ticket_sk(struct client *c, const char *path)
{
	uint8_t seed[32], pk[RELAY_TICKET_PK_LEN];
	char text[128] = { 0 };
	FILE *fp = fopen(path, "r");
	size_t n;
	int ret;

	if (!fp)
		return -errno;
	n = fread(text, 1, sizeof(text) - 1, fp);
	fclose(fp);
	while (n && (text[n - 1] == '\n' || text[n - 1] == ' '))
		n--;
	ret = ctl_b64_to_key(text, n, seed) ? -EINVAL : 0;
	if (!ret)
		crypto_sign_ed25519_seed_keypair(pk, c->ticket_sk, seed);
	c->have_ticket_sk = ret == 0;
	crypto_wipe(seed, sizeof(seed));
	crypto_wipe(text, sizeof(text));
	return ret;
}

/* --gen-ticket-key FILE: a new seed, 0600, and its public key on stdout. */
static int gen_ticket_key(const char *path)
{
	uint8_t seed[32], pk[RELAY_TICKET_PK_LEN], sk[RELAY_TICKET_SK_LEN];
	char b64[CTL_KEY_B64 + 2];
	int fd, ret = 0;

	crypto_random(seed, sizeof(seed));
	crypto_sign_ed25519_seed_keypair(pk, sk, seed);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	ctl_key_to_b64(seed, b64);
	strcat(b64, "\n");
	if (write(fd, b64, strlen(b64)) != (ssize_t)strlen(b64))
		ret = -EIO;
	close(fd);
	ctl_key_to_b64(pk, b64);
	printf("ticket_pub=%s\n", b64);
	crypto_wipe(seed, sizeof(seed));
	crypto_wipe(sk, sizeof(sk));
	return ret;
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
		else if (!strcmp(argv[i], "--ticket-sk") && load_ticket_sk(c, argv[i + 1]))
			return -EINVAL;
		else if (!strcmp(argv[i], "--stun") && wg_endpoint_parse(&c->stun, argv[i + 1]))
			return -EINVAL;
		else if (!strcmp(argv[i], "--port"))
			c->port = (uint16_t)strtoul(argv[i + 1], NULL, 10);
	}
	if (!relay || !pub || wg_endpoint_parse(&c->relay, relay) ||
	    ctl_b64_to_key(pub, strlen(pub), c->relay_pub)) {
		fprintf(stderr, "usage: relay_client --relay IP:PORT --relay-pub B64 [--key F] "
				"[--ticket-sk F] [--stun IP:PORT]\n"
				"       relay_client --gen-ticket-key F\n");
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

	if (crypto_init())
		return 2;
	if (argc == 3 && !strcmp(argv[1], "--gen-ticket-key"))
		return gen_ticket_key(argv[2]) ? 2 : 0;
	if (parse_args(argc, argv, &c) || open_socket(&c))
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
	crypto_wipe(c.ticket_sk, sizeof(c.ticket_sk));
	close(c.fd);
	return 0;
}
