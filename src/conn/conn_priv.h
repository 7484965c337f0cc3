/*
 * conn_priv: the ConnectionManager's state, shared by conn.c (members,
 * punching, monitoring, status), conn_relay.c (relays, the loopback shim)
 * and conn_mtu.c (each member's path MTU).
 * Everything is touched only on the control thread, except rxq's write end,
 * which the device thread's receive hook writes to, and the signal queue,
 * shared with conn's signal thread under sig_mu.
 */
#ifndef LR_CONN_PRIV_H
#define LR_CONN_PRIV_H

#include <pthread.h>

#include "conn/conn.h"
#include "conn/conn_internal.h"
#include "nat/netcheck.h"
#include "nat/relay_proto.h"
#include "nat/rxq.h"

#define CONN_TAG "conn"
#define CONN_MAX_RELAYS 32
#define CONN_REBIND_NS (60ULL * 1000000000ULL)       /* docs/RELAY.md: rebind every 60 s */
#define CONN_BIND_RETRY_NS (2ULL * 1000000000ULL)
#define CONN_TICKET_WAIT_NS (1ULL * 1000000000ULL)   /* no relay ticket yet: look again */
#define CONN_TICKET_RETRY_NS (15ULL * 1000000000ULL) /* ticket refused: wait for a fresh one */
#define CONN_REFUSED_BACKOFF_MIN_NS (5ULL * 1000000000ULL)  /* relay busy: back off */
#define CONN_REFUSED_BACKOFF_MAX_NS (60ULL * 1000000000ULL)
#define CONN_COOKIE_RETRIES 2 /* BINDs sent at once on COOKIE, per bind attempt */
#define CONN_CLOCK_RETRIES 2  /* BINDs sent at once on CLOCK, per bind attempt */
#define CONN_SENT_TAILS 64    /* SEND tails kept per relay to check an UNBOUND */
#define CONN_TAIL_SAMPLE_NS (1ULL * 1000000ULL) /* at most one tail kept per ms */
#define CONN_HEAL_HOLDOFF_NS (2ULL * 1000000000ULL) /* rebinds for UNBOUND or loss */
#define CONN_RELAY_LOSS_REBIND 2 /* echoes lost in a row on a relayed path: rebind */
#define CONN_RELAY_PING_NS (5ULL * 1000000000ULL)    /* relay RTT re-measured */
#define CONN_RELAY_PING_TIMEOUT_NS (1500ULL * 1000000ULL)
#define CONN_RELAY_DEAD_MISSES 3
#define CONN_RELAY_LIST_NS (60ULL * 1000000000ULL)   /* relays_list refreshed */
#define CONN_RELAY_LIST_MIN_NS (1ULL * 1000000000ULL) /* at most one list asked for */
/* A path is dead after CONN_LOST_ECHOES echoes lost in a row, sent every
 * monitor interval / CONN_FAST_ECHO_DIV once one was lost: on a link that
 * loses 10 % each way an echo round trip crosses two uplinks twice and is
 * lost one time in three, so 3 in a row (the former rule) happened every
 * minute or so; 12 in a row (0.34^12, about 3e-6) does not, and the faster
 * echoes keep a real failure's detection near the former 3 intervals. */
#define CONN_LOST_ECHOES 12
#define CONN_FAST_ECHO_DIV 4
#define CONN_FIRST_ANSWER_NS (12ULL * 1000000000ULL)  /* a new path's first answer */
#define CONN_MAX_PENDING_SIGNALS 16
#define CONN_SIGQ_LEN 64                             /* punch signals waiting */
#define CONN_PUBLISH_RETRY_NS (5ULL * 1000000000ULL) /* after a failed update */

enum conn_src_kind {
	SRC_HOOK = 1, SRC_RELAY, SRC_ECHO, SRC_TIMER, SRC_SHIM, SRC_WATCH, SRC_NETCHECK,
	SRC_LISTED,
};

struct conn_src {
	enum conn_src_kind kind;
	struct conn_member *m; /* SRC_SHIM */
};

struct conn_relay {
	char id[CTL_ID_LEN + 1];
	char name[CTL_MAX_NAME + 1];
	char endpoint[CTL_ENDPOINT_LEN];
	struct wg_endpoint ep;
	uint8_t pub[32];
	bool listed; /* in the last relays_list */
	bool used; /* we keep a binding here */
	bool bound;
	uint64_t bound_ns, bind_next_ns;
	uint8_t bind_nonce[RELAY_NONCE_LEN];
	/* return-routability cookie for our relay socket's address (docs/RELAY.md) */
	uint8_t cookie[RELAY_COOKIE_LEN];
	bool has_cookie;
	unsigned cookie_answers; /* COOKIEs answered at once since the last timer BIND */
	unsigned clock_answers; /* CLOCKs answered at once since the last timer BIND */
	/* the relay's clock minus ours, from its CLOCK (docs/RELAY.md), and the
	 * timestamps of the BIND in flight and of the last one it accepted */
	int64_t clock_offset_ms;
	uint64_t bind_ts_ms, accepted_ts_ms;
	/* healing: the last bytes of recent SENDs (a ring), to tell a real
	 * UNBOUND from a forged one; no rebind for UNBOUND or loss before heal_ns */
	uint8_t sent_tail[CONN_SENT_TAILS][RELAY_ECHO_LEN];
	unsigned sent_next;
	uint64_t tail_ns, heal_ns;
	bool unbound_logged;
	uint8_t last_refused; /* REFUSED code last logged, 0 after BOUND */
	uint64_t refused_backoff_ns;
	uint8_t ping_nonce[8];
	bool ping_pending;
	uint64_t ping_sent_ns, ping_next_ns;
	unsigned misses;
	bool rtt_valid;
	double rtt_ms;
};

struct conn_member {
	struct conn_src src;
	struct ctl_peer peer;
	uint8_t pair_key[PROBE_KEY_LEN];
	struct wg_endpoint vip; /* virtual IP : CONN_ECHO_PORT */
	struct net_allowed_ip aip;
	enum conn_path path;
	uint64_t since_ns;
	struct wg_endpoint endpoint; /* DIRECT */
	char relay_used[CTL_ID_LEN + 1]; /* RELAY */
	/* punching */
	bool punching;
	uint8_t local_session[PROBE_SESSION_LEN];
	bool has_local_session;
	uint8_t remote_session[PROBE_SESSION_LEN];
	bool has_remote_session;
	uint32_t probe_seq;
	uint64_t punch_end_ns, punch_next_ns;
	struct cand_list cands; /* filtered (cand_select), plus peer-reflexive ones */
	struct cand_list sig_cands; /* from its last punch signal, unfiltered */
	struct cand_choice choice; /* rounds sent, paths that answered (conn_cand.c) */
	char sig_relay[CTL_MAX_NAME + 1];
	/* a repair (our network or the member's changed): a new direct
	 * endpoint found by this punching replaces the one in use */
	bool repairing;
	/* failure, upgrade */
	uint32_t backoff_ms;
	uint64_t retry_ns, upgrade_ns;
	/* relay shim: WireGuard's endpoint for this member while relayed */
	int shim_fd;
	struct wg_endpoint shim_ep;
	/* monitoring */
	struct mon_stats mon;
	uint64_t echo_next_ns;
	/* path MTU: the search (conn_pmtu.c), the first hop it was started for,
	 * the MTU on the member's route (0: none yet) and the phase last logged */
	struct pmtu pmtu;
	struct wg_endpoint pmtu_hop;
	bool pmtu_relayed;
	unsigned route_mtu;
	enum pmtu_phase pmtu_logged;
};

struct conn_sig {
	char to[CTL_ID_LEN + 1];
	char *text;
};

struct conn {
	struct conn_config cfg;
	char self_id[CTL_ID_LEN + 1];
	int epfd, timerfd, relay_fd, echo_fd;
	struct rxq rxq; /* device thread -> control thread, one datagram each */
	struct conn_src src_hook, src_relay, src_echo, src_timer;
	uint16_t wg_port;
	struct wg_endpoint wg_local; /* 127.0.0.1:wg_port, where the shims deliver */
	struct in_addr self_vip;
	bool has_vip;
	struct conn_self_status self;
	struct cand_list self_cands;
	struct conn_relay relays[CONN_MAX_RELAYS];
	size_t n_relays;
	uint64_t relay_binds;      /* BOUNDs that verified: conn_self_status */
	int home; /* index in relays, -1 when none */
	bool no_ticket_logged; /* "no relay ticket yet" said once */
	uint64_t relays_list_next_ns, relays_list_asked_ns;
	uint64_t ep_check_ns; /* next check of the direct endpoints in WireGuard */
	/* punch signals and endpoint updates, sent by sig_thread (sigq, n_sigq,
	 * sig_stop and pub_* under sig_mu) */
	pthread_t sig_thread_id;
	bool sig_started;
	pthread_mutex_t sig_mu;
	pthread_cond_t sig_cond;
	bool sig_stop;
	struct conn_sig sigq[CONN_SIGQ_LEN];
	size_t n_sigq;
	bool pub_want; /* pub_self waits to be published (at pub_retry_ns) */
	struct conn_self_status pub_self;
	uint64_t pub_retry_ns;
	/* the relay list: asked for (list_want), fetched by sig_thread, handed
	 * over (list, n_list) with a wake-up on sig_event_fd (SRC_LISTED) */
	bool list_want, list_ready;
	struct ctl_relay *list;
	size_t n_list;
	int sig_event_fd;
	struct conn_src src_listed;
	/* network changes (conn_netwatch.c): the rtnetlink watch, a change
	 * being settled, the re-measurement on its own thread (nc_thread
	 * touches only nc_rxq's read end, nc_rep and nc_ret while nc_running),
	 * the periodic check of our public mapping */
	struct platform_watch *watch;
	int own_ifindex;
	struct conn_src src_watch, src_netcheck;
	uint64_t change_ns; /* rediscover then (0: no change pending) */
	char change_what[128];
	int64_t boot_gap_ns; /* CLOCK_BOOTTIME - CLOCK_MONOTONIC: grows in sleep */
	uint64_t suspect_ns; /* no suspicion-driven re-measurement before */
	int nc_event_fd;
	struct rxq nc_rxq;
	pthread_t nc_thread;
	bool nc_running, nc_again, nc_force;
	struct netcheck_report *nc_rep;
	int nc_ret;
	char nc_reason[128];
	size_t nc_answered; /* servers that answered the last complete one */
	unsigned nc_retries; /* after incomplete ones, in a row */
	uint64_t nc_retry_ns; /* measure again then (0: no retry due) */
	struct wg_endpoint stun_ep; /* a STUN server that answered */
	bool has_stun_ep, map_pending;
	uint8_t map_txid[12];
	uint64_t map_check_ns, map_early_ns;
	struct conn_member **members;
	size_t n_members;
	struct {
		char from[CTL_ID_LEN + 1];
		char *payload;
	} pending[CONN_MAX_PENDING_SIGNALS];
};

/* conn_mtu.c (docs/NET.md "Path MTU") */
/* DF on the outer sockets, probes past the member's route; turns
 * cfg.path_mtu off when the device cannot refuse fragmentation. */
void conn_mtu_setup(struct conn *c);
/* A member's first hop is now hop (relayed or direct): a new search, its
 * ceiling on the member's route at once. Same hop: nothing. */
void conn_mtu_path(struct conn *c, struct conn_member *m, const struct wg_endpoint *hop,
		   bool relayed);
/* Probe rounds once the path answers echoes; returns the next deadline. */
uint64_t conn_mtu_run(struct conn *c, struct conn_member *m, uint64_t now);
/* A probe or an answer read from the echo socket (len: its whole length). */
void conn_mtu_echo_rx(struct conn *c, const uint8_t *buf, size_t len,
		      const struct wg_endpoint *src, socklen_t sl);

/* conn_netwatch.c (docs/NET.md "Network changes") */
/* Set-up and teardown; a failure only means no network watching. */
void conn_netwatch_open(struct conn *c);
void conn_netwatch_close(struct conn *c);
/* Readable watch socket (SRC_WATCH), finished re-measurement (SRC_NETCHECK). */
void conn_netwatch_rx(struct conn *c);
void conn_netwatch_event(struct conn *c);
/* A STUN message read on the WireGuard socket. */
void conn_netwatch_stun_rx(struct conn *c, const uint8_t *buf, size_t len,
			   const struct wg_endpoint *src);
/* Something suggests our addresses moved (a path stopped answering, a
 * relay lost our binding):
 * measure again, at most once per 10 s. */
void conn_netwatch_suspect(struct conn *c, const char *why);
/* An echo on a direct path was lost: check our public mapping now (one
 * STUN request, at most once a second). */
void conn_netwatch_check_mapping(struct conn *c);
/* Due work; returns the next deadline. */
uint64_t conn_netwatch_tick(struct conn *c, uint64_t now);
/* This node's NAT and endpoints from the first measurement, in conn_new
 * before any member is there: on the control thread, reading the hook's
 * queue itself. */
void conn_self_discover(struct conn *c);

/* conn.c: punch again with a new session (our endpoints changed). */
void conn_punch_again(struct conn *c, struct conn_member *m);

/* conn.c: fetch the relay list on the signal thread; conn_relay_listed
 * gets it on the control thread. */
void conn_ctl_relays_list(struct conn *c);
/* conn.c: a new list arrived: members left without a relay (FAILED) whose
 * relay is known now take it at once. */
void conn_relays_listed(struct conn *c);

/* conn_relay.c */
int conn_relay_open(struct conn *c);
void conn_relay_close(struct conn *c);
/* At the start, before any member: relays_list (on the calling thread),
 * PING each, wait up to wait_ms for PONGs, pick the home relay and bind
 * there. Later lists are fetched on the signal thread. */
void conn_relay_start(struct conn *c, uint64_t wait_ms);
/* A relay list fetched on the signal thread (taken over: freed here). */
void conn_relay_listed(struct conn *c, struct ctl_relay *list, size_t n);
struct conn_relay *conn_relay_find(struct conn *c, const char *id);
/* The relay a member is reached through (its published home relay), made
 * used (bound) when it was not; NULL when none is known. */
struct conn_relay *conn_relay_for(struct conn *c, struct conn_member *m);
void conn_relay_rx(struct conn *c);
void conn_shim_rx(struct conn *c, struct conn_member *m);
int conn_shim_open(struct conn *c, struct conn_member *m);
/* Echoes to m, reached through a relay, were lost: rebind at the relays its
 * path uses (rate limited); the binding may be gone without our knowing. */
void conn_relay_path_lost(struct conn *c, struct conn_member *m, uint64_t now);
/* Timers: binds, rebinds, pings, home switch. Returns the next deadline. */
uint64_t conn_relay_tick(struct conn *c, uint64_t now);
void conn_publish(struct conn *c);
/* A blocking control request may be made now without stalling (conn.c). */
bool conn_ctl_usable(const struct conn *c);
struct conn_member *conn_member_by_key(struct conn *c, const uint8_t pub[32]);

#endif
