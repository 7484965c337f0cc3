/*
 * conn_internal: the pieces of the ConnectionManager that are pure functions
 * of their inputs, split out so the unit tests reach them without sockets:
 *   - probe frames (docs/PROBES.md): the per-pair key, build, parse + verify;
 *   - echo frames (in-tunnel monitoring) and the monitor statistics;
 *   - path MTU: probe frames in the tunnel, the ceiling a path allows and
 *     the probing state machine (conn_pmtu.c);
 *   - candidate lists (parse, merge, dedup, LAN classification) and the
 *     filter every member-supplied candidate passes before it is probed;
 *   - the relay shim's wrapping (SEND) and unwrapping (DELIVER);
 *   - a member's WireGuard counters picked from a net_status.
 * Invariants: a pair key is wiped by whoever holds it; parsing checks every
 * length before reading; MACs are compared in constant time.
 */
#ifndef LR_CONN_INTERNAL_H
#define LR_CONN_INTERNAL_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wg/wg.h"

/* ---- Probe frames ------------------------------------------------------- */

#define PROBE_MAGIC0 0x4C /* 'L' */
#define PROBE_MAGIC1 0x50 /* 'P' */
#define PROBE_VERSION 1

enum probe_type { PROBE_PROBE = 1, PROBE_ACK = 2 };

enum {
	PROBE_SESSION_LEN = 8,
	PROBE_MAC_LEN = 16,
	PROBE_SIGNED_LEN = 4 + PROBE_SESSION_LEN + 4, /* header, session, seq */
	PROBE_LEN = PROBE_SIGNED_LEN + PROBE_MAC_LEN, /* 32 */
	PROBE_KEY_LEN = 32,
};

struct probe_frame {
	enum probe_type type;
	uint8_t session[PROBE_SESSION_LEN];
	uint32_t seq;
};

/* The key both ends of a pair compute: BLAKE2s-256 keyed with
 * X25519(own_priv, peer_pub) over "lanrage-probe-v1". -EINVAL for a low-order
 * peer key. */
int probe_pair_key(uint8_t key[PROBE_KEY_LEN], const uint8_t own_priv[32],
		   const uint8_t peer_pub[32]);
/* True when the first bytes say "probe frame" (magic only). */
bool probe_is_frame(const uint8_t *buf, size_t len);
/* Writes PROBE_LEN bytes; sender_pub is the key of whoever sends it (the MAC
 * covers it, so a frame reflected back at its sender does not verify). */
int probe_build(uint8_t *out, size_t cap, const struct probe_frame *f,
		const uint8_t key[PROBE_KEY_LEN], const uint8_t sender_pub[32]);
/* 0, or -EINVAL (not a well-formed v1 probe of exactly PROBE_LEN bytes),
 * -EBADMSG (MAC does not verify for this key and sender). */
int probe_parse(const uint8_t *buf, size_t len, const uint8_t key[PROBE_KEY_LEN],
		const uint8_t sender_pub[32], struct probe_frame *f);

/* ---- Echo frames and monitor statistics ---------------------------------- */

#define ECHO_MAGIC0 0x4C /* 'L' */
#define ECHO_MAGIC1 0x45 /* 'E' */
#define CONN_ECHO_PORT 51822

enum { ECHO_REQUEST = 1, ECHO_REPLY = 2, ECHO_LEN = 4 + 4 + 8 };

int echo_build(uint8_t out[ECHO_LEN], int type, uint32_t seq, uint64_t stamp);
int echo_parse(const uint8_t *buf, size_t len, int *type, uint32_t *seq, uint64_t *stamp);

enum { MON_WINDOW = 10 };

/* Echo outcomes over the last MON_WINDOW requests. Each request is settled
 * (answered or lost) once; a reply after its request was settled as lost, or
 * for a sequence never sent, is ignored. The first answer marks the tunnel up
 * (up_ns): requests sent before it waited for WireGuard's handshake, so they
 * count as answered but give no RTT sample. */
struct mon_stats {
	uint32_t next_seq;
	struct {
		uint32_t seq;
		uint64_t sent_ns;
		bool used, settled, answered;
	} slot[MON_WINDOW];
	/* the last MON_WINDOW outcomes, in settling order */
	bool outcome[MON_WINDOW];
	unsigned n_outcomes, outcome_next;
	bool up; /* some request was answered since the reset */
	uint64_t up_ns;
	bool rtt_valid;
	double rtt_ms, jitter_ms, last_rtt_ms;
	unsigned consecutive_lost; /* settled as lost in a row */
};

void mon_reset(struct mon_stats *m);
/* A new request at now_ns: the oldest slot's request, if unsettled, is
 * settled as lost first. Returns the sequence number to send. */
uint32_t mon_sent(struct mon_stats *m, uint64_t now_ns);
/* Settles every request older than deadline_ns that has no answer as lost. */
void mon_expire(struct mon_stats *m, uint64_t deadline_ns);
/* A reply: true when it settled a pending request. */
bool mon_reply(struct mon_stats *m, uint32_t seq, uint64_t now_ns);
/* Percentage of the last MON_WINDOW settled requests that were lost (0 when none). */
double mon_loss_pct(const struct mon_stats *m);

/* ---- Path MTU (conn_pmtu.c, docs/NET.md "Path MTU") ------------------------
 * Each member's IP packets are kept to what its current path carries whole:
 * its host route's locked MTU (net_peer_mtu). The value starts at the
 * ceiling the path allows over the local link and is checked with padded
 * probe frames through the tunnel, in the style of RFC 8899 (DPLPMTUD): a
 * round sends a big probe of the size under test and a small one; the size
 * fails only when the big one is lost PMTU_MAX_PROBES rounds running while
 * the small one is answered (plain loss or a peer that never answers probes
 * changes nothing). The outer sockets never fragment (DF, IP_PMTUDISC_PROBE),
 * so a probe too big for the path is lost whole. */

#define ECHO_PROBE_VERSION 1
enum {
	ECHO_PROBE = 3,       /* padded to the size under test */
	ECHO_PROBE_REPLY = 4, /* small: seq and the size that arrived */
	ECHO_PROBE_LEN = 4 + 4 + 2, /* header, seq, size */
	PMTU_IP_UDP_LEN = 28, /* the probe's own IPv4 and UDP headers */
};

/* A probe request of size bytes as an IP packet (UDP payload size - 28,
 * zero padded), or a reply saying size arrived. Returns the length. */
int echo_probe_build(uint8_t *out, size_t cap, int type, uint32_t seq, unsigned size);
/* len is the datagram's whole length (a request may be read truncated);
 * a request's size must match it. -EINVAL for anything else. */
int echo_probe_parse(const uint8_t *buf, size_t len, int *type, uint32_t *seq,
		     unsigned *size);

enum {
	PMTU_BASE = 1280,    /* the smallest size searched (IPv6's minimum link MTU) */
	PMTU_STEP = 16,      /* WireGuard pads to 16 bytes: sizes are multiples */
	PMTU_MAX_PROBES = 3, /* RFC 8899 MAX_PROBES */
	PMTU_WG_OVERHEAD = 32, /* data header 16 + Poly1305 tag 16 */
	PMTU_UNDERLAY_DEFAULT = 1500,
};
#define PMTU_CONFIRM_NS (5ULL * 1000000000ULL) /* a settled size re-checked */
#define PMTU_RETRY_NS (1ULL * 1000000000ULL)   /* after a round nothing answered */
#define PMTU_RAISE_NS (600ULL * 1000000000ULL) /* RFC 8899 PMTU_RAISE_TIMER */

/* The largest inner packet a path carries whole: underlay MTU minus the outer
 * IP/UDP headers (28 or 48), WireGuard's 32 and, relayed, the relay frame's
 * header; rounded down to PMTU_STEP (padding must not push it over), at most
 * if_mtu (padding stops there), at least PMTU_BASE. */
unsigned pmtu_ceiling(unsigned underlay_mtu, bool ipv6, unsigned relay_hdr, unsigned if_mtu);

enum pmtu_phase { PMTU_IDLE, PMTU_SEARCH, PMTU_DONE };

struct pmtu {
	enum pmtu_phase phase;
	unsigned ceiling; /* what the path allows at most (pmtu_ceiling) */
	unsigned mtu;     /* in effect: the member's route */
	unsigned lo;      /* SEARCH: fits (or PMTU_BASE, assumed) */
	unsigned hi;      /* SEARCH: smallest size seen too big; 0 = ceiling untried */
	unsigned probe;   /* the size the current or next round tests */
	unsigned fails;   /* rounds at probe: big lost, small answered */
	unsigned quiet;   /* rounds in a row with no answer at all */
	uint32_t round;   /* big probe: seq 2 * round + 1, small: 2 * round */
	bool in_round, big_ok, small_ok;
	uint64_t round_start_ns, round_end_ns, next_ns, raise_ns;
	uint64_t rtt_ns; /* the last small probe's round trip (0: none yet) */
	uint64_t start_ns, converged_ns; /* converged_ns: 0 until the first DONE */
};

/* A new path: mtu = ceiling at once (what a 1500-byte underlay carries), and a
 * search that confirms it or looks for the largest size that fits. */
void pmtu_start(struct pmtu *p, unsigned ceiling, uint64_t now_ns);
/* Due work: judges a round whose time is up, and starts the next one when it
 * is due: true, with the size of its big probe and its round number (send
 * both probes now). timeout_ns: how long a round waits for answers. */
bool pmtu_tick(struct pmtu *p, uint64_t now_ns, uint64_t timeout_ns, unsigned *size,
	       uint32_t *round);
/* An answer to the current round's big or small probe; a big answer ends the
 * round at once. Others (late, unknown) are ignored. */
void pmtu_answer(struct pmtu *p, uint32_t round, bool big, uint64_t now_ns);
/* When pmtu_tick has work next (UINT64_MAX: never). */
uint64_t pmtu_next_ns(const struct pmtu *p);

/* ---- Candidates ---------------------------------------------------------- */

enum { CAND_MAX = 40 };

struct cand_list {
	struct wg_endpoint ep[CAND_MAX];
	size_t n;
};

/* Adds ep unless already there (or full: -ENOSPC). Unspecified addresses and
 * port 0 are refused (-EINVAL). */
int cand_add(struct cand_list *l, const struct wg_endpoint *ep);
/* Same from "IP:PORT". */
int cand_add_str(struct cand_list *l, const char *s);
/* Private (RFC 1918, RFC 6598, link-local) IPv4: a LAN candidate. */
bool cand_is_lan(const struct wg_endpoint *ep);
/* A global unicast IPv6 address (not link-local, ULA, site-local, loopback,
 * multicast or v4-mapped): one worth publishing. */
bool cand_v6_global(const struct in6_addr *a);
/* At most this many IPv6 addresses of this host are published (a host with
 * privacy addresses has several per prefix). */
enum { CAND_LOCAL_V6_MAX = 4 };
/* This host's addresses of up interfaces other than loopback and
 * skip_ifname, each with port: every IPv4 one, then up to CAND_LOCAL_V6_MAX
 * global IPv6 ones (cand_v6_global), the one the kernel sends from toward
 * the internet first. */
int cand_local(struct cand_list *l, const char *skip_ifname, uint16_t port);
/* The same from a getifaddrs list (borrowed); preferred (may be NULL) is
 * the IPv6 source address to put first. */
struct ifaddrs;
void cand_local_from(struct cand_list *l, const struct ifaddrs *ifa, const char *skip_ifname,
		     uint16_t port, const struct in6_addr *preferred);
/* How good a direct path to ep is by its address alone (cand_prefer
 * weighs the round trips of IPv6 and public IPv4 paths on top). */
enum { CAND_RANK_PUBLIC4, CAND_RANK_V6, CAND_RANK_LAN };
int cand_rank(const struct wg_endpoint *ep);

/* A direct path that answered probes in a punching attempt: where, and the
 * smallest probe round trip measured on it (0: none yet; an answer that was
 * the member's own probe carries no round trip). */
struct cand_path {
	struct wg_endpoint ep;
	uint32_t rtt_us;
};

/* Between an IPv6 path and a public IPv4 one, IPv4 replaces IPv6 only when
 * its round trip is shorter by more than the larger of CAND_V4_GAIN_US and
 * 1/CAND_V4_GAIN_DIV of IPv6's; IPv6 takes over again once IPv4's lead is
 * under the larger of CAND_V6_BACK_US and 1/CAND_V6_BACK_DIV of it. The
 * band between the two keeps the path in use (no flapping on noise) and
 * lets two ends whose measures differ a little agree (endpoint_moved). */
enum {
	CAND_V4_GAIN_US = 10000,
	CAND_V4_GAIN_DIV = 4,
	CAND_V6_BACK_US = 5000,
	CAND_V6_BACK_DIV = 8,
};

/* True when path a should replace cur, the path in use: a better rank
 * (LAN first), except that between IPv6 and public IPv4 with both round
 * trips measured IPv4 wins by the margins above (RFC 8305's spirit: IPv6
 * unless IPv4 is clearly better). Same rank: false (keep what works). */
bool cand_prefer(const struct cand_path *a, const struct cand_path *cur);

/* What one punching attempt learnt for the choice: when each recent probe
 * round went out (an ACK carries its round's seq) and every path that
 * answered, with its smallest round trip (the least queueing). */
enum { CAND_ROUNDS = 32 }; /* rounds remembered: 6.4 s at 200 ms */

struct cand_round {
	uint32_t seq;
	uint64_t sent_ns;
	bool used;
};

struct cand_choice {
	struct cand_round round[CAND_ROUNDS];
	struct cand_path path[CAND_MAX];
	size_t n_paths;
	/* the last choice was public IPv4 over a measured IPv6 path: only
	 * then does IPv4 hold the margin of the path in use against IPv6 (an
	 * IPv4 path in use because it answered first does not) */
	bool v4_won;
};

/* A new attempt: nothing known. */
void cand_choice_reset(struct cand_choice *ch);
/* Probe round seq went out at now_ns. */
void cand_choice_sent(struct cand_choice *ch, uint32_t seq, uint64_t now_ns);
/* ep answered at now_ns: with our ACK of round seq (ack) or with the
 * member's own probe (no round trip). An ACK for a round not remembered
 * counts as an answer without a round trip. */
void cand_choice_answer(struct cand_choice *ch, const struct wg_endpoint *ep, bool ack,
			uint32_t seq, uint64_t now_ns);
/* ep as a path: its round trip when it answered (else 0). */
struct cand_path cand_choice_path(const struct cand_choice *ch, const struct wg_endpoint *ep);
/* The path to use among cur (in use) and those that answered: each
 * replaces the best so far when cand_prefer says so, except that an IPv4
 * path holds the margins against IPv6 only once it won on round trips
 * (v4_won, updated here). Until settled (the attempt is over), IPv6 and
 * public IPv4 are compared only once both round trips are known: the
 * member's probe often arrives before our ACK, and the rank alone would
 * move the path there and back within one attempt. */
struct wg_endpoint cand_choice_best(struct cand_choice *ch, const struct wg_endpoint *cur,
				    bool settled);
/* True while punching should go on for the choice: a candidate ranked
 * above cur has not answered, or between IPv6 and public IPv4 a round trip
 * is missing (cur's, or every answered path's of the other family while
 * that family has candidates). */
bool cand_choice_open(const struct cand_choice *ch, const struct cand_list *cands,
		      const struct wg_endpoint *cur);

/* ---- Candidate filter ------------------------------------------------------
 * A member's candidates come from the member (its published endpoints and its
 * punch signals), so they are untrusted: each one is probed every
 * punch_interval_ms. Before any probe they pass cand_check, and at most
 * CAND_MEMBER_MAX of them are kept (cand_select), replaced at each update. */

enum { CAND_MEMBER_MAX = 8, CAND_FILTER_NETS = 16 };

enum cand_verdict {
	CAND_OK,
	CAND_BAD_FAMILY,
	CAND_PORT_ZERO,
	CAND_UNSPECIFIED, /* 0.0.0.0/8, :: */
	CAND_LOOPBACK,    /* 127.0.0.0/8, ::1 */
	CAND_MULTICAST,   /* 224.0.0.0/4, ff00::/8 */
	CAND_BROADCAST,   /* 255.255.255.255 or the broadcast address of a local net */
	CAND_RESERVED,    /* 240.0.0.0/4 */
	CAND_LINK_LOCAL,  /* 169.254.0.0/16, fe80::/10, not on a net we are on */
	CAND_VIRTUAL,     /* inside the party's virtual subnet */
};

struct cand_net {
	int family; /* AF_INET or AF_INET6 */
	union {
		struct in_addr v4;
		struct in6_addr v6;
	};
	unsigned prefix;
};

/* What cand_check needs to know of this host. */
struct cand_filter {
	bool has_virtual;
	struct cand_net virtual_net; /* the party subnet (our interface's address) */
	struct cand_net onlink[CAND_FILTER_NETS]; /* link-local nets we have an address in */
	size_t n_onlink;
	struct in_addr bcast[CAND_FILTER_NETS]; /* broadcast addresses of our links */
	size_t n_bcast;
};

/* Fills f from this host's interfaces: the virtual subnet from own_ifname's
 * IPv4 address and mask, link-local nets and broadcast addresses from the
 * others. 0 or a negative errno (f then still refuses everything fixed). */
int cand_filter_init(struct cand_filter *f, const char *own_ifname);
/* CAND_OK when ep may be probed (a v4-mapped address counts as IPv4). */
enum cand_verdict cand_check(const struct cand_filter *f, const struct wg_endpoint *ep);
const char *cand_verdict_name(enum cand_verdict v);
/* Replaces out with the candidates of in that pass f, deduplicated, at most
 * CAND_MEMBER_MAX: public addresses first, then private ones, each in the
 * order given. Refusals are logged (debug) with who. Returns how many of in
 * were refused. */
size_t cand_select(struct cand_list *out, const struct cand_list *in, const struct cand_filter *f,
		   const char *who);

/* ---- Status counters ------------------------------------------------------ */

struct conn_peer_status;
struct net_status;
/* Copies the counters of the peer with public_key in st (net_status) into
 * out, has_counters set; leaves out untouched when st has no such peer. */
void conn_counters_fill(struct conn_peer_status *out, const uint8_t public_key[32],
			const struct net_status *st);

/* ---- Relay shim ---------------------------------------------------------- */

/* A WireGuard datagram from a member's shim socket as a SEND to that member's
 * key; returns the frame length or a negative errno. */
int shim_wrap(uint8_t *out, size_t cap, const uint8_t dst_pub[32], const uint8_t *dgram,
	      size_t len);
/* A DELIVER: *src_pub and *dgram point into buf. -EINVAL for anything else. */
int shim_unwrap(const uint8_t *buf, size_t len, const uint8_t **src_pub, const uint8_t **dgram,
		size_t *dgram_len);

#endif
