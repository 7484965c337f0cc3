/*
 * ctl_core: the control plane's logic (docs/CONTROL.md), one instance per
 * lanrage-control server or per local-mode daemon. It owns the SQLite state,
 * the sessions, IPAM, liveness and the event fan-out. Transports (WebSocket
 * in servers/control/, the in-process client in local mode) feed it message
 * text and receive message text through a session's ops.
 *
 * Not thread-safe: one thread at a time (the server's lws thread; local mode
 * holds a mutex). Ops callbacks run inside the call that caused them and must
 * not call back into the core.
 */
#ifndef LR_CONTROL_CTL_CORE_H
#define LR_CONTROL_CTL_CORE_H

#include <stddef.h>
#include <stdint.h>

enum {
	CTL_MAX_MESSAGE = 16384,     /* bytes per client message (docs/CONTROL.md) */
	CTL_MAX_SIGNAL_PAYLOAD = 4096,
	CTL_MAX_ENDPOINTS = 16,
	CTL_MAX_NAME = 64,
	CTL_DEFAULT_MAX_MEMBERS = 64,
	CTL_LIMIT_MAX_MEMBERS = 1024,
	/* The longest peer object the server can send (every field at its
	 * limit, names of control-free UTF-8); checked by test_validate. */
	CTL_MAX_PEER_JSON = 2048,
	/* The longest message from the server: a party of the largest size with
	 * its peers, in an answer or a RESYNC. Clients accept this much. */
	CTL_MAX_SERVER_MESSAGE = CTL_LIMIT_MAX_MEMBERS * CTL_MAX_PEER_JSON + CTL_MAX_MESSAGE,
	CTL_MAX_SOURCE = 64, /* bytes of a session's source key (an address) */
};

struct ctl_core_opts {
	const char *db_path;          /* SQLite file (":memory:" for throwaway state) */
	uint32_t subnet;              /* party subnet, host byte order; 10.66.0.0 */
	unsigned prefix;              /* 16 */
	uint64_t peer_timeout_ms;     /* 90000 */
	uint64_t relay_timeout_ms;    /* 90000 */
	uint64_t batch_window_ms;     /* 20 */
	uint32_t rate_per_sec;        /* 20 messages/s per session */
	uint32_t rate_burst;          /* 40 */
	const char *relay_secret;     /* NULL or "": relay registration refused */
	const char *server_name;      /* "lanrage-control/<version>" in hello */
	/* Limits (docs/CONTROL.md "Limits"); 0 turns one off. Per-source limits
	 * apply to sessions opened with a source (ctl_session_open_from). */
	uint64_t auth_timeout_ms;     /* 10000: close sessions that never authenticate */
	uint64_t peer_gc_ms;          /* 30 days: forget peers not seen for this long */
	uint32_t source_sessions;     /* 256 concurrent sessions per source */
	uint32_t source_register_rate;  /* 60 registrations per minute per source */
	uint32_t source_register_burst; /* 256 */
	uint32_t signal_rate;         /* 65536 signal bytes/s to one recipient */
	uint32_t signal_burst;        /* 262144 bytes; at least CTL_MAX_MESSAGE */
};

struct ctl_core_stats {
	uint64_t parties, peers, members, sessions, relays;
	uint64_t messages_in, messages_out, errors_out, events_out, commits;
	uint64_t auth_timeouts, peers_collected, sessions_refused, registers_refused,
		signals_refused;
};

/* A transport's side of one session. send gets one complete JSON text
 * (NUL-terminated; len excludes the NUL) the transport must deliver in
 * order; close asks the transport to drop the connection (the core has
 * already forgotten the session when it is called; the transport must still
 * call ctl_session_close). */
struct ctl_session_ops {
	void (*send)(void *arg, const char *msg, size_t len);
	void (*close)(void *arg);
	void *arg;
};

struct ctl_core;
struct ctl_session;

void ctl_core_opts_default(struct ctl_core_opts *o);
/* Opens (creating or migrating) the database and loads the state. Every
 * member loaded gets a fresh peer timeout. -EINVAL for bad options, -EIO for
 * a database that cannot be opened or has an unknown schema version. */
int ctl_core_open(const struct ctl_core_opts *o, struct ctl_core **out);
/* Commits pending writes and frees everything. Sessions still open are
 * closed without calling their ops. */
void ctl_core_close(struct ctl_core *c);

/* Expires silent members and relays, closes sessions past their
 * authentication deadline, forgets peers past the GC time and commits a
 * batch whose window has passed. Returns the milliseconds until it next
 * needs to run. */
uint64_t ctl_core_tick(struct ctl_core *c);
/* Commits pending writes now. 0 or -EIO. */
int ctl_core_flush(struct ctl_core *c);
void ctl_core_stats(const struct ctl_core *c, struct ctl_core_stats *out);

/* Opens a session and sends it the hello. NULL on allocation failure. */
struct ctl_session *ctl_session_open(struct ctl_core *c, const struct ctl_session_ops *ops);
/* The same for a session from source (a NUL-terminated key of at most
 * CTL_MAX_SOURCE bytes the transport derives from the peer's address; one
 * key per host or per IPv6 /64), which the per-source limits count. Over
 * the session cap the session is refused: it gets an error
 * too_many_sessions instead of the hello and ops->close is called; the
 * transport still calls ctl_session_close. */
struct ctl_session *ctl_session_open_from(struct ctl_core *c, const struct ctl_session_ops *ops,
					  const char *source);
/* Handles one message; answers and events go out through ops->send. Returns
 * 0, or -EMSGSIZE when the message was too large (an error was sent; the
 * transport should close the connection), or -ENOTCONN when the core has
 * already closed this session (ops->close was called; nothing is done). */
int ctl_session_input(struct ctl_session *s, const char *msg, size_t len);
/* Forgets the session. A member stays in its party until its timeout. */
void ctl_session_close(struct ctl_session *s);

/* A count the transport adds to lanrage_control_rejected_total. */
struct ctl_metrics_extra {
	const char *reason;
	uint64_t count;
};

struct strbuf;
/* Appends the core's Prometheus families (docs/METRICS.md "lanrage-control")
 * to sb, with the transport's own refusals in the rejected family. */
void ctl_core_metrics(const struct ctl_core *c, struct strbuf *sb,
		      const struct ctl_metrics_extra *extra, size_t n_extra);

/* A read-only REST query (docs/CONTROL.md "REST"). path is the request path,
 * authorization the Authorization header or NULL. Returns the HTTP status and
 * hands a JSON body to *body (caller frees), or a negative errno with *body
 * NULL on allocation failure. */
int ctl_core_rest(struct ctl_core *c, const char *path, const char *authorization, char **body);

/* Registration proof (docs/CONTROL.md): out = HMAC-BLAKE2s(X25519(priv,
 * server_key), "lanrage-register-v1" || challenge || public(priv)).
 * -EINVAL when the shared secret is all zero. Used by clients. */
int ctl_register_proof(uint8_t out[32], const uint8_t private_key[32],
		       const uint8_t server_key[32], const uint8_t challenge[32]);

#endif
