/*
 * control: the control-plane client the daemon uses, with two transports
 * behind one interface (docs/CONTROL.md):
 *   local:  the ctl_core logic in this process (struct ctl_local), for
 *           single-host use and tests; state in SQLite with batched writes;
 *   remote: a WebSocket connection to lanrage-control, reconnecting with
 *           exponential backoff and jitter, re-authenticating and
 *           resynchronising the party after each reconnect.
 * Requests are synchronous (they block the calling thread until the answer
 * or the request timeout). Events are queued and delivered to subscribers by
 * ctl_client_dispatch() on the caller's thread, the same way in both modes;
 * ctl_client_event_fd() becomes readable when events are waiting.
 *
 * Functions return 0 or a negative errno; after a refusal by the control
 * plane, ctl_client_error() tells the protocol's code and message.
 */
#ifndef LR_CONTROL_CONTROL_H
#define LR_CONTROL_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "control/ctl_core.h"

enum {
	CTL_ID_LEN = 16,        /* peer IDs: 16 hex digits */
	CTL_PARTY_ID_LEN = 14,  /* XXXX-XXXX-XXXX */
	CTL_ENDPOINT_LEN = 48,  /* "[v6addr]:port" */
};

struct ctl_nat {
	char type[24];      /* open, full-cone, ..., unknown */
	char mapping[32];   /* endpoint-independent, ..., unknown */
	char filtering[32];
};

struct ctl_peer {
	char peer_id[CTL_ID_LEN + 1];
	char name[CTL_MAX_NAME + 1];
	uint8_t public_key[32];
	char virtual_ip[16];
	struct ctl_nat nat;
	char endpoints[CTL_MAX_ENDPOINTS][CTL_ENDPOINT_LEN];
	size_t n_endpoints;
	char relay[CTL_MAX_NAME + 1];
	char version[33];
	int64_t joined_at, last_seen;
};

/* peers is owned by the party; ctl_party_clear frees it. */
struct ctl_party {
	char party_id[CTL_PARTY_ID_LEN + 1];
	char name[CTL_MAX_NAME + 1];
	char host_peer_id[CTL_ID_LEN + 1];
	int64_t created_at;
	uint32_t max_members, member_count;
	struct ctl_peer *peers;
	size_t n_peers;
};

struct ctl_relay {
	char relay_id[CTL_ID_LEN + 1];
	char name[CTL_MAX_NAME + 1];
	char endpoint[CTL_ENDPOINT_LEN];
	uint8_t public_key[32];
	bool has_public_key;
	uint64_t clients;
	int64_t last_seen;
};

enum ctl_event_kind {
	CTL_EV_PEER_JOINED,   /* peer */
	CTL_EV_PEER_LEFT,     /* peer_id, reason */
	CTL_EV_PEER_UPDATED,  /* peer */
	CTL_EV_SIGNAL,        /* from, payload_json */
	CTL_EV_CONNECTED,     /* remote: (re)connected and authenticated */
	CTL_EV_DISCONNECTED,  /* remote: connection lost; reconnecting */
	CTL_EV_RESYNC,        /* after a reconnect: party (the whole current state) */
};

struct ctl_event {
	enum ctl_event_kind kind;
	char party_id[CTL_PARTY_ID_LEN + 1];
	struct ctl_peer peer;
	char peer_id[CTL_ID_LEN + 1];
	char reason[16];
	char from[CTL_ID_LEN + 1];
	const char *payload_json; /* valid during the callback */
	const struct ctl_party *party; /* RESYNC only; NULL when not in a party */
};

typedef void (*ctl_event_fn)(void *arg, const struct ctl_event *ev);

struct ctl_local;
struct ctl_client;

struct ctl_client_opts {
	struct ctl_local *local;       /* local mode: the in-process core */
	const char *url;               /* remote mode: wss://HOST:PORT (path /v1/ws) */
	/* Remote mode, TLS: "sha256/BASE64" of the server's public key (SPKI);
	 * NULL or "" verifies the certificate against the system CA store and
	 * the URL's host name instead. */
	const char *pin;
	/* Allows a plain ws:// URL (loopback and labs only); without it a ws://
	 * URL is refused with -EPROTONOSUPPORT. */
	bool insecure;
	uint64_t request_timeout_ms;   /* 10000 */
	uint64_t backoff_min_ms;       /* 250 */
	uint64_t backoff_max_ms;       /* 30000 */
	uint64_t heartbeat_ms;         /* 25000; 0 sends none */
};

/* Local mode: a core with a mutex and a thread that ticks it (expiry and
 * batched commits). Clients attach with ctl_client_opts.local. Close it
 * after every client attached to it. */
int ctl_local_open(const struct ctl_core_opts *o, struct ctl_local **out);
void ctl_local_close(struct ctl_local *l);

void ctl_client_opts_default(struct ctl_client_opts *o);
/* Remote mode returns at once and connects in the background; requests wait
 * for the connection up to their timeout. */
int ctl_client_open(const struct ctl_client_opts *o, struct ctl_client **out);
void ctl_client_close(struct ctl_client *c);

void ctl_client_subscribe(struct ctl_client *c, ctl_event_fn fn, void *arg);
int ctl_client_event_fd(const struct ctl_client *c);
/* Delivers queued events to the subscriber; returns how many. */
int ctl_client_dispatch(struct ctl_client *c);
/* Waits up to timeout_ms for an event, then dispatches. Returns how many
 * were delivered (0 on timeout). */
int ctl_client_wait_event(struct ctl_client *c, uint64_t timeout_ms);
/* True when a request would be sent at once: always in local mode; in remote
 * mode while connected and authenticated. A request made when it is false
 * waits for the connection up to its timeout, so a thread that must not
 * stall (one that carries traffic) asks first. */
bool ctl_client_ready(struct ctl_client *c);
/* We left the party without telling the server (it is away): a reconnect
 * must not rejoin it (the resync then shows the server's view). */
void ctl_client_forget_party(struct ctl_client *c);
/* A user waits on the next request: while disconnected, try to connect now
 * rather than after the backoff (background requests never do this, so
 * the backoff still spares a server that comes back), and wait for that
 * attempt: 0 connected, -ENOTCONN it failed (ctl_client_transport_error
 * says why), -ETIMEDOUT after the request timeout. */
int ctl_client_connect_now(struct ctl_client *c);
/* The network under the connection changed (a new address, another NAT):
 * the connection may be dead without TCP knowing for minutes, so it is
 * dropped and made again at once. Requests in flight fail with
 * -ECONNRESET, as on any lost connection; requests made meanwhile wait for
 * the new one. Does not block; nothing to do in local mode. */
void ctl_client_reconnect(struct ctl_client *c);
/* This host's addresses or NAT changed: the connection is dropped and made
 * again at once when its local address is gone (requests in flight fail
 * with -ECONNRESET); otherwise the heartbeat goes now, which a server that
 * no longer knows the connection (a new NAT mapping) answers with a reset.
 * Without a connection, the next attempt is made now, not after the
 * backoff. Does not block; nothing to do in local mode. */
void ctl_client_network_changed(struct ctl_client *c);
/* A path broke (a NAT may have lost its mappings): send the heartbeat now.
 * A NAT that forgot the connection's mapping drops what the server pushes
 * (signals, member updates) until we send something; this is that
 * something. Does not block; nothing to do in local mode. */
void ctl_client_poke(struct ctl_client *c);
/* Why a remote client cannot reach its server right now (a TLS refusal, a
 * connection error), "" when it is connected or has not tried yet. */
void ctl_client_transport_error(struct ctl_client *c, char *out, size_t len);
/* The code and message of the last refusal ("" when none). */
const char *ctl_client_error(const struct ctl_client *c, const char **message);

/* Registers the key (the client keeps a copy of the private key, wiped on
 * close, to re-register after a server lost its state) and authenticates
 * the session; later reconnects authenticate with the token. */
int ctl_register(struct ctl_client *c, const uint8_t private_key[32], const char *name,
		 const char *version);
/* Resumes with credentials from an earlier ctl_register. */
int ctl_auth(struct ctl_client *c, const char *peer_id, const char *token);
/* The party the control plane last said we are in (register and auth
 * answer it; create, join and leave change it), copied under the client's
 * lock; "" when none. */
void ctl_client_party_id(struct ctl_client *c, char out[CTL_PARTY_ID_LEN + 1]);
const char *ctl_client_peer_id(const struct ctl_client *c);
/* The secret token; callers that store it must keep it private. */
const char *ctl_client_token(const struct ctl_client *c);
/* The latest relay ticket the control plane gave us (nat/relay_ticket.h;
 * refreshed by register, auth and heartbeats). Never blocks. 0, or -ENOENT
 * when none came yet. */
int ctl_client_relay_ticket(struct ctl_client *c, uint8_t *ticket, size_t len);

int ctl_party_create(struct ctl_client *c, const char *name, uint32_t max_members,
		     struct ctl_party *out);
int ctl_party_join(struct ctl_client *c, const char *party_id, struct ctl_party *out);
int ctl_party_leave(struct ctl_client *c);
int ctl_party_get(struct ctl_client *c, const char *party_id, struct ctl_party *out);
int ctl_peers_list(struct ctl_client *c, const char *party_id, struct ctl_party *out);
int ctl_peer_get(struct ctl_client *c, const char *peer_id, struct ctl_peer *out);

/* Fields left NULL are not changed. */
struct ctl_peer_update {
	const char *const *endpoints; /* n_endpoints strings "IP:PORT" */
	size_t n_endpoints;
	const struct ctl_nat *nat;
	const char *relay;
	const char *name; /* display name, 1-64 bytes */
};
int ctl_peer_update(struct ctl_client *c, const struct ctl_peer_update *u, struct ctl_peer *out);
int ctl_heartbeat(struct ctl_client *c);
/* payload_json must be a JSON object. */
int ctl_signal(struct ctl_client *c, const char *to_peer_id, const char *payload_json);

int ctl_relays_list(struct ctl_client *c, struct ctl_relay **out, size_t *n);
/* ticket_key (may be NULL) gets the control server's Ed25519 ticket public
 * key (nat/relay_ticket.h); -EBADMSG when the server sent none. */
int ctl_relay_register(struct ctl_client *c, const char *secret, const char *name,
		       const char *endpoint, const uint8_t *public_key,
		       char relay_id[CTL_ID_LEN + 1], uint8_t *ticket_key);
int ctl_relay_heartbeat(struct ctl_client *c, const char *secret, const char *relay_id,
			uint64_t clients);

/* Sends msg as it is (tests of bad input) and waits for the next answer that
 * carries no request ID of ours; hands its text to *reply (caller frees). */
int ctl_client_send_raw(struct ctl_client *c, const char *msg, size_t len, char **reply);

void ctl_party_clear(struct ctl_party *p);

#endif
