/*
 * ctl_client_priv: what the shared client (ctl_client.c) and its transports
 * (ctl_local.c, ctl_remote.c) share. Not for use outside src/control/.
 *
 * A transport delivers every message text from the control plane to
 * ctl_client_input() (with no client lock held) and sends texts it is
 * given. Request/answer matching, events and credentials live in the client.
 * Lock order: a local core's mutex, then the client's lock.
 */
#ifndef LR_CONTROL_CTL_CLIENT_PRIV_H
#define LR_CONTROL_CTL_CLIENT_PRIV_H

#include <jansson.h>
#include <pthread.h>

#include "control/control.h"
#include "nat/relay_ticket.h"

struct ctl_client;

/* Handles the answer to an internal request on the transport's thread;
 * msg is the whole result or error object. */
typedef void (*ctl_internal_fn)(struct ctl_client *c, json_t *msg);

struct ctl_transport {
	/* Sends a request of the user (ready was true for connection gen). */
	int (*send)(struct ctl_client *c, const char *msg, size_t len, uint64_t gen);
	/* A hello arrived (challenge and server key are stored). */
	void (*hello)(struct ctl_client *c);
	void (*close)(struct ctl_client *c);
	/* Optional: try to connect now rather than after the backoff
	 * (ctl_client_connect_now). Called without the client's lock. */
	void (*kick)(struct ctl_client *c);
	/* Optional: drop the connection and connect again (ctl_client_reconnect).
	 * Called without the client's lock. */
	void (*redial)(struct ctl_client *c);
	/* Optional: ctl_client_network_changed. */
	void (*moved)(struct ctl_client *c);
	/* Optional: send the heartbeat now (ctl_client_poke). */
	void (*poke)(struct ctl_client *c);
};

struct ctl_pending {
	uint64_t id;
	json_t *reply;      /* the answer, once it came */
	int status;         /* 0 waiting, 1 answered, < 0 failed */
	bool internal;      /* heap-allocated, answered through cb */
	ctl_internal_fn cb; /* internal only; NULL: answer ignored */
	struct ctl_pending *next;
};

struct ctl_evnode;
struct ctl_rawnode;

struct ctl_client {
	struct ctl_client_opts opts;
	const struct ctl_transport *tr;
	void *tr_priv;
	int efd; /* eventfd: readable while events wait */

	pthread_mutex_t lock;
	pthread_cond_t cond; /* broadcast on any change of the fields below */
	/* Everything below is under lock. */
	uint64_t next_id;
	struct ctl_pending *pending;
	struct ctl_evnode *ev_head, *ev_tail;
	struct ctl_rawnode *raw_head, *raw_tail; /* unmatched answers, bounded */
	size_t raw_count, raw_bytes;
	bool ready;        /* requests of the user may be sent */
	bool connected;    /* remote: CONNECTED was emitted for this connection */
	uint64_t gen;      /* connection generation, bumped when one is lost */
	bool have_hello;
	uint8_t challenge[32], server_key[32];
	char peer_id[CTL_ID_LEN + 1];
	char token[64];              /* secret */
	uint8_t relay_ticket[RELAY_TICKET_LEN]; /* latest, when have_ticket */
	bool have_ticket;
	bool have_key;
	uint8_t private_key[32];     /* secret, for re-registering */
	char name[CTL_MAX_NAME + 1]; /* as registered */
	char version[33];
	char party_id[CTL_PARTY_ID_LEN + 1]; /* the party we are in, "" when none */
	char err_code[24];
	char err_msg[256];
	char tr_err[512]; /* why the transport last failed; "" once ready */
	uint64_t tr_fails; /* connection attempts that failed, ever */
	ctl_event_fn fn;
	void *fn_arg;
};

/* Handles one message from the control plane. */
void ctl_client_input(struct ctl_client *c, const char *msg, size_t len);
/* Registers an internal request (id set in req, which is consumed) and
 * returns its text to send (caller frees), NULL on allocation failure. */
char *ctl_client_internal(struct ctl_client *c, json_t *req, ctl_internal_fn cb);
/* The connection was lost: requests in flight fail with -ECONNRESET,
 * internal ones are forgotten, ready drops; DISCONNECTED is queued when a
 * CONNECTED came before. */
void ctl_client_conn_lost(struct ctl_client *c);
/* Marks the client ready and queues CONNECTED, then RESYNC with the party
 * object (NULL: none) when resync is set. Remembers the party. */
void ctl_client_set_ready(struct ctl_client *c, bool resync, const json_t *party);
/* Builds the register request for the stored key and hello. */
json_t *ctl_client_register_req(struct ctl_client *c);
/* Stores peer_id and token from a register/auth result's data. */
int ctl_client_store_creds(struct ctl_client *c, const json_t *data, const char *token);
/* Stores the relay_ticket of a result's data. ctl_client_input calls it for
 * every result, internal ones included, so transports need not. 0, -ENOENT
 * when data carries none, -EBADMSG when it is malformed (then ignored). */
int ctl_client_take_ticket(struct ctl_client *c, const json_t *data);

/* Sends req (consumed), waits for its answer and hands the answer's data
 * to *data (caller decrefs; data may be NULL). A refusal is stored for
 * ctl_client_error and returned as an errno (ctl_client.c lists them). */
int ctl_client_call(struct ctl_client *c, json_t *req, json_t **data);
/* Remembers the party we are in ("" for none). */
void ctl_client_set_party(struct ctl_client *c, const char *party_id);
/* The auth request for the stored credentials; NULL when there are none. */
json_t *ctl_client_auth_req(struct ctl_client *c);
bool ctl_client_has_creds(struct ctl_client *c);
/* Remembers why the transport cannot connect (ctl_client_transport_error). */
void ctl_client_set_transport_error(struct ctl_client *c, const char *why);
/* Queues an event the client makes itself (DISCONNECTED, RESYNC, ...). */
void ctl_client_push(struct ctl_client *c, enum ctl_event_kind kind);

/* ctl_client_json.c: -EBADMSG for an object that does not fit. */
int ctl_peer_from_json(const json_t *o, struct ctl_peer *p);
int ctl_peers_from_json(const json_t *arr, struct ctl_peer **out, size_t *n);
int ctl_party_from_json(const json_t *o, struct ctl_party *p);
int ctl_relay_from_json(const json_t *o, struct ctl_relay *r);
int ctl_event_from_json(const json_t *m, struct ctl_event *ev, char **payload);

/* Monotonic nanoseconds of the real clock (condition variables wait on it;
 * time_fake_set does not apply). */
uint64_t ctl_now_ns(void);

int ctl_local_attach(struct ctl_client *c, struct ctl_local *l);
int ctl_remote_start(struct ctl_client *c);

#endif
