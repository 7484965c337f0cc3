/*
 * ctl_proto: the control protocol's message layer (docs/CONTROL.md): parses
 * and strictly validates one client message from raw bytes into a struct
 * ctl_req, and frames answers. It knows no state: whether a party or peer
 * exists is decided by the core.
 */
#ifndef LR_CONTROL_CTL_PROTO_H
#define LR_CONTROL_CTL_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "control/control.h"
#include "control/ctl_ids.h"

enum ctl_err {
	CTL_OK = 0,
	CTL_E_BAD_JSON,
	CTL_E_BAD_REQUEST,
	CTL_E_UNKNOWN_TYPE,
	CTL_E_TOO_LARGE,
	CTL_E_RATE_LIMITED,
	CTL_E_UNAUTHORIZED,
	CTL_E_BAD_PROOF,
	CTL_E_NOT_FOUND,
	CTL_E_NOT_MEMBER,
	CTL_E_ALREADY_MEMBER,
	CTL_E_PARTY_FULL,
	CTL_E_NO_ADDRESS,
	CTL_E_INTERNAL,
	CTL_E_TOO_MANY_SESSIONS,
	CTL_E_COUNT,
};

enum ctl_req_type {
	CTL_REQ_REGISTER,
	CTL_REQ_AUTH,
	CTL_REQ_PARTY_CREATE,
	CTL_REQ_PARTY_JOIN,
	CTL_REQ_PARTY_LEAVE,
	CTL_REQ_PARTY_GET,
	CTL_REQ_PEERS_LIST,
	CTL_REQ_PEER_GET,
	CTL_REQ_PEER_UPDATE,
	CTL_REQ_HEARTBEAT,
	CTL_REQ_SIGNAL,
	CTL_REQ_RELAY_REGISTER,
	CTL_REQ_RELAY_HEARTBEAT,
	CTL_REQ_RELAYS_LIST,
	CTL_REQ_COUNT,
};

/* Strings point into root and live until ctl_req_free; IDs are canonical
 * (share codes without separators, hex IDs lowercase). */
struct ctl_req {
	enum ctl_req_type type;
	int64_t id;      /* 0 when the id could not be read */
	json_t *root;

	uint8_t public_key[32];
	bool has_public_key;
	uint8_t proof[32];
	const char *name, *version, *token, *secret, *endpoint, *relay;
	size_t token_len, secret_len;
	char peer_id[CTL_HEXID_LEN + 1];  /* auth, peer_get, signal "to" */
	char relay_id[CTL_HEXID_LEN + 1];
	char party_id[CTL_CODE_SYMBOLS + 1];
	uint32_t max_members;
	char endpoints[CTL_MAX_ENDPOINTS][CTL_ENDPOINT_LEN];
	size_t n_endpoints;
	bool has_endpoints;
	struct ctl_nat nat;
	bool has_nat;
	bool has_relay;
	bool has_name; /* peer_update only */
	json_t *payload; /* borrowed from root */
	uint64_t clients;
	bool has_clients;
};

struct ctl_perr {
	enum ctl_err code;
	char message[160];
};

const char *ctl_err_name(enum ctl_err e);
/* HTTP status for an error code (REST). */
int ctl_err_http(enum ctl_err e);
const char *ctl_req_name(enum ctl_req_type t);

/* Parses one message. 0 with *req filled (free with ctl_req_free), or -EINVAL
 * with err set and req->id the request's id when it could be read (0
 * otherwise); req needs no freeing then. Never reads past len; buf need not
 * be NUL-terminated. */
int ctl_proto_parse(const char *buf, size_t len, struct ctl_req *req, struct ctl_perr *err);
void ctl_req_free(struct ctl_req *req);

/* "IP:PORT" or "[IPv6]:PORT" with a port 1..65535. */
bool ctl_endpoint_valid(const char *s, size_t len);

/* Framing. Each returns a new string (json_dumps, caller frees) or NULL on
 * allocation failure. ctl_msg_result steals data. id 0 encodes as null. */
char *ctl_msg_result(int64_t id, json_t *data);
/* Serialises msg (taken; NULL gives NULL). */
char *ctl_msg_dump(json_t *msg);
char *ctl_msg_error(int64_t id, enum ctl_err code, const char *message);

#endif
