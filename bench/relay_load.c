/*
 * relay-load: a load generator for lanrage-relay (bench/relay-vs-coturn).
 *
 * 2 x --pairs UDP sockets, each with its own X25519 key, bind at one relay
 * (docs/RELAY.md); then, for --seconds, the two sockets of a pair send SEND
 * frames to each other's key with a --size byte datagram, as fast as the
 * relay delivers them, and count the DELIVER frames that come back.
 *
 * "As fast as the relay delivers": each socket keeps at most --window frames
 * in flight towards its partner (sent minus what the partner received). A
 * frame the relay dropped never arrives, so when a direction makes no
 * progress for STALL_NS the frames in flight are written off as lost and the
 * window opens again. Frames go out and come in through sendmmsg/recvmmsg,
 * --batch at a time, from one busy-polling thread: the generator is meant to
 * own a core of its own (taskset), the relay another.
 *
 * The binding handshake is client_bind_once(), the one place that knows the
 * protocol version's BIND: in version 2 a COOKIE round trip, then a BIND
 * with the cookie and a ticket this program signs with --ticket-sk (the
 * relay was given the public half with --ticket-key).
 *
 * Output: progress on stderr; key=value lines on stdout (the wrapper turns
 * them into a table). The wrapper's own figures come from the kernel's UDP
 * counters; these are a cross-check. Exit 0 when every socket bound and
 * frames were delivered, 1 otherwise, 2 on bad usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "control/ctl_ids.h"
#include "crypto/crypto.h"
#include "nat/relay_proto.h"
#include "nat/relay_ticket.h"
#include "util/time.h"
#include "wg/wg.h"

#define NS_PER_SEC 1000000000ULL
#define STALL_NS 20000000ULL /* 20 ms without progress: the frames in flight were dropped */
#define BIND_TRIES 100
#define BIND_WAIT_MS 200

enum {
	MAX_BATCH = 64,
	MAX_PAIRS = 512,
	RX_LEN = 2048, /* DELIVER of the largest --size, and anything else */
};

struct load_opts {
	struct wg_endpoint relay;
	uint8_t relay_pub[32];
	uint8_t ticket_sk[RELAY_TICKET_SK_LEN];
	bool have_ticket_key;
	unsigned pairs, size, window, batch;
	double seconds;
};

/* One socket and its binding. partner is the other socket of its pair. */
struct client {
	int fd;
	uint8_t priv[32], pub[32];
	struct client *partner;
	uint8_t *frame; /* SEND to partner, built once */
	size_t frame_len;
	uint64_t sent, received, written_off; /* frames */
	uint64_t bad, unreachable;
	uint64_t last_progress_ns, last_seen_received;
};

struct load_stats {
	uint64_t bind_tries, bind_refused;
	uint64_t stalls;
};

static volatile sig_atomic_t stop;

static void on_stop(int sig)
{
	(void)sig;
	stop = 1;
}

/* ---- binding ------------------------------------------------------------- */

/* Waits up to ms for one datagram on c->fd; its length, 0 on timeout. */
static ssize_t recv_wait(struct client *c, uint8_t *buf, size_t cap, int ms)
{
	struct pollfd p = { .fd = c->fd, .events = POLLIN };
	ssize_t n;

	if (poll(&p, 1, ms) <= 0)
		return 0;
	n = recv(c->fd, buf, cap, MSG_DONTWAIT);
	return n < 0 ? 0 : n;
}

#if RELAY_VERSION >= 2
/* Waits for the answer to the BIND with this nonce: its type (BOUND, COOKIE
 * or REFUSED) with the frame in *f (pointing into in), or 0 on timeout. */
static int bind_answer(struct client *c, const uint8_t nonce[RELAY_NONCE_LEN], uint8_t *in,
		       size_t cap, struct relay_frame *f)
{
	uint64_t deadline = time_mono_ns() + BIND_WAIT_MS * 1000000ULL;
	ssize_t n;

	while (time_mono_ns() < deadline) {
		n = recv_wait(c, in, cap, BIND_WAIT_MS);
		if (n <= 0 || relay_parse(in, (size_t)n, f))
			continue;
		if ((f->type == RELAY_BOUND || f->type == RELAY_COOKIE ||
		     f->type == RELAY_REFUSED) &&
		    !memcmp(f->nonce, nonce, RELAY_NONCE_LEN))
			return f->type;
	}
	return 0;
}

/*
 * One binding, protocol v2: BIND without a cookie -> COOKIE (return
 * routability for this address), then BIND with the cookie and a ticket for
 * the key, signed here with the ticket key the relay was given -> BOUND,
 * whose MAC proves the relay's key. 0 when bound; -EAGAIN to try again (no
 * answer or REFUSED, e.g. a per-source limit); -EBADMSG for a BOUND that does
 * not verify.
 */
static int client_bind_once(const struct load_opts *o, struct client *c)
{
	uint8_t out[256], in[RX_LEN], cookie[RELAY_COOKIE_LEN], ticket[RELAY_TICKET_LEN];
	uint8_t nonce[RELAY_NONCE_LEN];
	const uint8_t *ck = NULL;
	struct relay_frame f;
	int len, type;

	relay_ticket_sign(ticket, o->ticket_sk, c->pub, time_wall_ms() / 1000 + RELAY_TICKET_LIFETIME_S);
	for (int step = 0; step < 2; step++) {
		crypto_random(nonce, sizeof(nonce));
		len = relay_build_bind(out, sizeof(out), c->priv, o->relay_pub, time_wall_ms(), nonce, ck,
				       o->have_ticket_key ? ticket : NULL);
		if (len < 0 || send(c->fd, out, (size_t)len, 0) != len)
			return -EAGAIN;
		type = bind_answer(c, nonce, in, sizeof(in), &f);
		if (type == RELAY_BOUND)
			return relay_verify_bound(&f, c->priv, o->relay_pub, nonce) ? -EBADMSG : 0;
		if (type != RELAY_COOKIE)
			return -EAGAIN;
		memcpy(cookie, f.cookie, sizeof(cookie));
		ck = cookie;
	}
	return -EAGAIN;
}
#else
/*
 * Protocol 1, kept so that this file also builds in an older tree (copied
 * there) for bench/relay-vs-coturn's BASE_RELAY comparison.
 *
 * One BIND exchange, protocol v1: BIND (key proof) -> BOUND, whose MAC proves
 * the relay's key. 0 when bound; -EAGAIN to try again (no answer, REFUSED,
 * e.g. the per-address BIND limit); -EBADMSG for a BOUND that does not verify.
 */
static int client_bind_once(const struct load_opts *o, struct client *c)
{
	uint8_t out[256], in[RX_LEN];
	uint8_t nonce[RELAY_NONCE_LEN];
	struct relay_frame f;
	uint64_t deadline;
	ssize_t n;
	int len;

	crypto_random(nonce, sizeof(nonce));
	len = relay_build_bind(out, sizeof(out), c->priv, o->relay_pub, time_wall_ms(), nonce);
	if (len < 0 || send(c->fd, out, (size_t)len, 0) != len)
		return -EAGAIN;
	deadline = time_mono_ns() + BIND_WAIT_MS * 1000000ULL;
	while (time_mono_ns() < deadline) {
		n = recv_wait(c, in, sizeof(in), BIND_WAIT_MS);
		if (n <= 0 || relay_parse(in, (size_t)n, &f))
			continue;
		if (f.type == RELAY_REFUSED && !memcmp(f.nonce, nonce, sizeof(nonce)))
			return -EAGAIN;
		if (f.type == RELAY_BOUND)
			return relay_verify_bound(&f, c->priv, o->relay_pub, nonce) ? -EBADMSG : 0;
	}
	return -EAGAIN;
}
#endif

/* Binds c, retrying (the relay limits BINDs per source address). */
static int client_bind(const struct load_opts *o, struct client *c, struct load_stats *st)
{
	int ret = -EAGAIN;

	for (int i = 0; i < BIND_TRIES && !stop; i++) {
		st->bind_tries++;
		ret = client_bind_once(o, c);
		if (ret != -EAGAIN)
			return ret;
		st->bind_refused++;
		usleep(50000);
	}
	return ret;
}

/* ---- traffic ------------------------------------------------------------- */

static int client_open(const struct load_opts *o, struct client *c)
{
	int size = 1 << 20;

	c->fd = socket(o->relay.sa.sa_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return -errno;
	setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	setsockopt(c->fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	if (connect(c->fd, &o->relay.sa, wg_endpoint_socklen(&o->relay)))
		return -errno;
	crypto_x25519_generate(c->priv, c->pub);
	return 0;
}

static int client_build_frame(const struct load_opts *o, struct client *c)
{
	uint8_t payload[RX_LEN];
	int len;

	c->frame = malloc(RELAY_KEYED_HDR_LEN + o->size);
	if (!c->frame)
		return -ENOMEM;
	memset(payload, 0xa5, o->size);
	len = relay_build_keyed(c->frame, RELAY_KEYED_HDR_LEN + o->size, RELAY_SEND,
				c->partner->pub, payload, o->size);
	if (len < 0)
		return len;
	c->frame_len = (size_t)len;
	return 0;
}

/* Frames c may send now: the window minus what is in flight to its partner. */
static unsigned credit(const struct load_opts *o, const struct client *c)
{
	uint64_t done = c->partner->received + c->written_off;
	uint64_t in_flight = c->sent > done ? c->sent - done : 0;

	return in_flight >= o->window ? 0 : o->window - (unsigned)in_flight;
}

static void client_send(const struct load_opts *o, struct client *c, struct mmsghdr *msg,
			struct iovec *iov)
{
	unsigned n = credit(o, c);
	int k;

	if (n > o->batch)
		n = o->batch;
	for (unsigned i = 0; i < n; i++) {
		iov[i] = (struct iovec){ c->frame, c->frame_len };
		msg[i].msg_hdr = (struct msghdr){ .msg_iov = &iov[i], .msg_iovlen = 1 };
	}
	if (!n)
		return;
	k = sendmmsg(c->fd, msg, n, MSG_DONTWAIT);
	if (k > 0)
		c->sent += (uint64_t)k;
}

static void client_recv(const struct load_opts *o, struct client *c, struct mmsghdr *msg,
			struct iovec *iov, uint8_t (*buf)[RX_LEN])
{
	struct relay_frame f;
	int n;

	for (unsigned i = 0; i < o->batch; i++) {
		iov[i] = (struct iovec){ buf[i], RX_LEN };
		msg[i].msg_hdr = (struct msghdr){ .msg_iov = &iov[i], .msg_iovlen = 1 };
	}
	n = recvmmsg(c->fd, msg, o->batch, MSG_DONTWAIT, NULL);
	for (int i = 0; i < n; i++) {
		if (relay_parse(buf[i], msg[i].msg_len, &f)) {
			c->bad++;
		} else if (f.type == RELAY_DELIVER && f.payload_len == o->size &&
			   !memcmp(f.key, c->partner->pub, 32)) {
			c->received++;
		} else if (f.type == RELAY_UNREACHABLE) {
			c->unreachable++;
		} else {
			c->bad++;
		}
	}
}

/* A direction with frames in flight and no progress for STALL_NS lost them. */
static void check_stall(struct client *c, uint64_t now, struct load_stats *st)
{
	uint64_t got = c->partner->received;

	if (got != c->last_seen_received) {
		c->last_seen_received = got;
		c->last_progress_ns = now;
		return;
	}
	if (now - c->last_progress_ns < STALL_NS)
		return;
	c->last_progress_ns = now;
	if (c->sent > got + c->written_off) {
		c->written_off = c->sent - got;
		st->stalls++;
	}
}

static void run(const struct load_opts *o, struct client *cl, unsigned n, struct load_stats *st)
{
	static struct mmsghdr msg[MAX_BATCH];
	static struct iovec iov[MAX_BATCH];
	static uint8_t buf[MAX_BATCH][RX_LEN];
	uint64_t start = time_mono_ns(), end = start + (uint64_t)(o->seconds * NS_PER_SEC), now;
	unsigned spin = 0;

	for (unsigned i = 0; i < n; i++)
		cl[i].last_progress_ns = start;
	while (!stop && (now = time_mono_ns()) < end) {
		for (unsigned i = 0; i < n; i++) {
			client_send(o, &cl[i], msg, iov);
			client_recv(o, &cl[i], msg, iov, buf);
		}
		if ((++spin & 63) == 0)
			for (unsigned i = 0; i < n; i++)
				check_stall(&cl[i], now, st);
	}
}

/* ---- options and output -------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: relay-load --relay ADDR:PORT --relay-key B64 [options]\n"
		"       relay-load --ticket-keygen FILE   (writes a ticket secret key, 0600;\n"
		"                                          prints its public key, base64)\n"
		"  --relay ADDR:PORT     the relay's frame port\n"
		"  --relay-key B64       the relay's X25519 public key\n"
		"  --ticket-sk FILE      ticket secret key to sign tickets with (protocol v2)\n"
		"  --pairs N             socket pairs (default 8)\n"
		"  --size BYTES          datagram in each SEND (default 100, at most %d)\n"
		"  --seconds S           length of the run (default 10)\n"
		"  --window N            frames in flight per direction (default 64)\n"
		"  --batch N             frames per sendmmsg/recvmmsg (default 32, at most %d)\n",
		RX_LEN - RELAY_KEYED_HDR_LEN, MAX_BATCH);
}

static int read_exact(const char *path, uint8_t *out, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, out, len);
	close(fd);
	return n == (ssize_t)len ? 0 : -EINVAL;
}

static int ticket_keygen(const char *path)
{
	uint8_t pk[RELAY_TICKET_PK_LEN], sk[RELAY_TICKET_SK_LEN];
	char b64[CTL_KEY_B64 + 1];
	int fd, ret = 0;

	relay_ticket_keypair(pk, sk);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, sk, sizeof(sk)) != (ssize_t)sizeof(sk))
		ret = 1;
	if (fd >= 0)
		close(fd);
	crypto_wipe(sk, sizeof(sk));
	if (ret) {
		fprintf(stderr, "relay-load: cannot write %s\n", path);
		return 1;
	}
	ctl_key_to_b64(pk, b64);
	printf("%s\n", b64);
	return 0;
}

static int parse_uint(const char *s, unsigned min, unsigned max, unsigned *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return -EINVAL;
	*out = (unsigned)v;
	return 0;
}

/* 0 to run, 1 when done (--help, --ticket-keygen), 2 on bad usage. */
static int parse_opts(int argc, char **argv, struct load_opts *o, int *status)
{
	static const struct option opts[] = {
		{ "relay", required_argument, NULL, 'r' },
		{ "relay-key", required_argument, NULL, 'k' },
		{ "ticket-sk", required_argument, NULL, 't' },
		{ "ticket-keygen", required_argument, NULL, 'g' },
		{ "pairs", required_argument, NULL, 'p' },
		{ "size", required_argument, NULL, 's' },
		{ "seconds", required_argument, NULL, 'd' },
		{ "window", required_argument, NULL, 'w' },
		{ "batch", required_argument, NULL, 'b' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool have_relay = false, have_key = false;
	char *end;
	int c, bad = 0;

	*o = (struct load_opts){ .pairs = 8, .size = 100, .window = 64, .batch = 32,
				 .seconds = 10 };
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			have_relay = wg_endpoint_parse(&o->relay, optarg) == 0;
			bad |= !have_relay;
			break;
		case 'k':
			have_key = ctl_b64_to_key(optarg, strlen(optarg), o->relay_pub) == 0;
			bad |= !have_key;
			break;
		case 't':
			o->have_ticket_key = read_exact(optarg, o->ticket_sk, sizeof(o->ticket_sk)) == 0;
			bad |= !o->have_ticket_key;
			break;
		case 'g':
			*status = ticket_keygen(optarg);
			return 1;
		case 'p':
			bad |= parse_uint(optarg, 1, MAX_PAIRS, &o->pairs) != 0;
			break;
		case 's':
			bad |= parse_uint(optarg, 1, RX_LEN - RELAY_KEYED_HDR_LEN, &o->size) != 0;
			break;
		case 'd':
			o->seconds = strtod(optarg, &end);
			bad |= *end || o->seconds <= 0;
			break;
		case 'w':
			bad |= parse_uint(optarg, 1, 1 << 20, &o->window) != 0;
			break;
		case 'b':
			bad |= parse_uint(optarg, 1, MAX_BATCH, &o->batch) != 0;
			break;
		case 'h':
			usage(stdout);
			*status = 0;
			return 1;
		default:
			bad = 1;
		}
	}
	if (bad || optind < argc || !have_relay || !have_key) {
		usage(stderr);
		*status = 2;
		return 2;
	}
	return 0;
}

static void report(const struct load_opts *o, const struct client *cl, unsigned n,
		   const struct load_stats *st, double secs, double bind_secs)
{
	uint64_t sent = 0, recv = 0, bad = 0, unreach = 0, lost = 0;

	for (unsigned i = 0; i < n; i++) {
		sent += cl[i].sent;
		recv += cl[i].received;
		bad += cl[i].bad;
		unreach += cl[i].unreachable;
		lost += cl[i].written_off;
	}
	printf("pairs=%u\nsize=%u\nwindow=%u\nbatch=%u\nseconds=%.3f\n", o->pairs, o->size,
	       o->window, o->batch, secs);
	printf("bind_seconds=%.3f\nbind_tries=%" PRIu64 "\nbind_retries=%" PRIu64 "\n", bind_secs,
	       st->bind_tries, st->bind_refused);
	printf("sent=%" PRIu64 "\ndelivered=%" PRIu64 "\nwritten_off=%" PRIu64 "\n", sent, recv,
	       lost);
	printf("stalls=%" PRIu64 "\nbad=%" PRIu64 "\nunreachable=%" PRIu64 "\n", st->stalls, bad,
	       unreach);
	printf("offered_pps=%.0f\ndelivered_pps=%.0f\ndelivered_mbps=%.1f\n", sent / secs,
	       recv / secs, recv * o->size * 8.0 / secs / 1e6);
}

int main(int argc, char **argv)
{
	struct load_stats st = { 0 };
	struct load_opts o;
	struct client *cl = NULL;
	uint64_t t0, t1, t2;
	unsigned n;
	int status = 1, ret;

	ret = parse_opts(argc, argv, &o, &status);
	if (ret)
		return status;
	if (crypto_init())
		return 1;
	signal(SIGINT, on_stop);
	signal(SIGTERM, on_stop);
	n = 2 * o.pairs;
	cl = calloc(n, sizeof(*cl));
	if (!cl)
		goto out;
	for (unsigned i = 0; i < n; i++)
		cl[i].fd = -1;
	for (unsigned i = 0; i < n; i++) {
		cl[i].partner = &cl[i ^ 1];
		if ((ret = client_open(&o, &cl[i]))) {
			fprintf(stderr, "relay-load: socket: %s\n", strerror(-ret));
			goto out;
		}
	}
	t0 = time_mono_ns();
	for (unsigned i = 0; i < n; i++) {
		if ((ret = client_bind(&o, &cl[i], &st))) {
			fprintf(stderr, "relay-load: socket %u did not bind: %s\n", i,
				ret == -EBADMSG ? "BOUND does not verify" : "no BOUND");
			goto out;
		}
	}
	for (unsigned i = 0; i < n; i++)
		if ((ret = client_build_frame(&o, &cl[i])))
			goto out;
	t1 = time_mono_ns();
	fprintf(stderr, "relay-load: %u sockets bound in %.2f s; %u-byte datagrams for %.1f s\n",
		n, (t1 - t0) / 1e9, o.size, o.seconds);
	run(&o, cl, n, &st);
	t2 = time_mono_ns();
	report(&o, cl, n, &st, (t2 - t1) / 1e9, (t1 - t0) / 1e9);
	status = 0;
	for (unsigned i = 0; i < n; i++)
		if (!cl[i].received)
			status = 1;
out:
	if (cl) {
		for (unsigned i = 0; i < n; i++) {
			if (cl[i].fd >= 0)
				close(cl[i].fd);
			free(cl[i].frame);
			crypto_wipe(cl[i].priv, sizeof(cl[i].priv));
		}
	}
	free(cl);
	crypto_wipe(o.ticket_sk, sizeof(o.ticket_sk));
	return status;
}
