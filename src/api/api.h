/*
 * api: the daemon's local HTTP+JSON API (docs/API.md) on libwebsockets'
 * HTTP server, bound to a loopback address only (default 127.0.0.1:8666).
 *
 * Every request passes, in this order: a Host header naming a loopback
 * host with our port (else 403: DNS rebinding), for POST/DELETE no Origin
 * or our own origin (else 403: cross-origin mutation), then, unless it is
 * one of the web UI's static files or its login link: `Authorization:
 * Bearer TOKEN` with the token of STATE_DIR/api.token, or the web UI's
 * session cookie plus, for a change, its CSRF header (else 401/403); a
 * known route and method (404/405), a valid JSON body (400). Errors are
 * {"error":"code","message":"one clear line"}. docs/WEBUI.md has the
 * session model, docs/METRICS.md the /metrics route.
 *
 * Threading: the server runs lws on a thread of its own; requests call
 * into the PartyManager, which serialises them with its lock. The request
 * checks and body parsing (api_request_check) are pure functions, tested
 * without a server.
 */
#ifndef LR_API_API_H
#define LR_API_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "party/party.h"

#define API_TOKEN_FILE "api.token"
#define API_DEFAULT_LISTEN "127.0.0.1:8666"
enum {
	API_TOKEN_LEN = 64,           /* hex of 32 random bytes */
	API_MAX_BODY = 64 * 1024,
	API_MAX_PING_COUNT = 20,
};

/* ---- Requests (pure) ----------------------------------------------------- */

enum api_route {
	API_STATUS,          /* GET  /v1/status */
	API_PEERS,           /* GET  /v1/peers */
	API_PARTY_CREATE,    /* POST /v1/party/create {"name"} */
	API_PARTY_JOIN,      /* POST /v1/party/join {"party_id"} */
	API_PARTY_LEAVE,     /* POST /v1/party/leave */
	API_NETCHECK,        /* GET  /v1/netcheck */
	API_PING,            /* POST /v1/ping {"peer", "count"} */
	API_SETTINGS_LIST,   /* GET  /v1/settings */
	API_SETTINGS_GET,    /* GET  /v1/settings/KEY */
	API_SETTINGS_SET,    /* POST /v1/settings {"key", "value"} */
	API_SETTINGS_RESET,  /* DELETE /v1/settings/KEY: back to the default */
	API_SETTINGS_RESET_ALL, /* DELETE /v1/settings: every setting */
	API_DOWN,            /* POST /v1/down */
	API_GAMES,           /* GET  /v1/games */
	API_ASSET,           /* GET  / and the web UI's files: no auth */
	API_LOGIN,           /* GET  /login?code=...: no auth, sets the session */
	API_UI_CODE,         /* POST /v1/ui/login: a one-time login URL (token only) */
	API_UI_SESSION,      /* GET  /v1/ui/session: the session's CSRF value */
	API_UI_LOGOUT,       /* POST /v1/ui/logout */
	API_METRICS,         /* GET  /metrics: Prometheus text (token only) */
};

/* What arrived, as the server read it. NULL headers are absent. */
struct api_http {
	const char *method;  /* "GET", "POST", ... */
	const char *path;    /* without the query string */
	const char *code;    /* /login's code= argument */
	const char *host, *origin, *authorization;
	const char *cookie, *csrf; /* Cookie and X-LANrage-CSRF */
	const char *body;
	size_t body_len;
};

struct api_request {
	enum api_route route;
	struct api_session *session;  /* when the web UI's cookie authenticated it */
	char arg[CONFIG_VALUE_MAX];   /* name, party_id, peer or settings key */
	char value[CONFIG_VALUE_MAX]; /* settings value */
	unsigned count;               /* ping */
};

struct api_error {
	int status;
	const char *error;            /* "forbidden", "unauthorized", "bad_request", ... */
	char message[256];
};

/* A loopback name ("localhost", "127.0.0.1", "[::1]") with ":port" (the
 * port may be left out only when it is 80). */
bool api_host_ok(const char *host, uint16_t port);
/* NULL, or http://LOOPBACK-NAME:port exactly. */
bool api_origin_ok(const char *origin, uint16_t port);
/* "Bearer TOKEN", compared in constant time. */
bool api_token_ok(const char *authorization, const char *token);
/* What a request is checked against. */
struct api_sessions;
struct api_auth {
	const char *token;
	uint16_t port;
	struct api_sessions *sessions; /* NULL: no web UI sessions */
	uint64_t now_ms;               /* monotonic, for session expiry */
};
/* Runs every check and parses the body. 0, or -1 with *err filled. */
int api_request_check(const struct api_http *h, const struct api_auth *auth,
		      struct api_request *req, struct api_error *err);

/* A party share code as a player typed it (docs/API.md: any case, dashes and
 * spaces anywhere) in the canonical XXXX-XXXX-XXXX that party_join takes.
 * -EINVAL with one line for the player in err: what they typed and what a
 * code looks like. The CLI and POST /v1/party/join both use it. */
int api_share_code(const char *in, char out[CTL_PARTY_ID_LEN + 1], char *err, size_t errlen);

/* "ADDR:PORT" or "[V6]:PORT" of a loopback address. -EINVAL otherwise. */
int api_listen_parse(const char *s, char *addr, size_t addr_len, uint16_t *port);

/* ---- The server ---------------------------------------------------------- */

struct api_config {
	const char *listen;          /* API_DEFAULT_LISTEN when NULL */
	const char *state_dir;       /* api.token is written here */
	struct party *party;
	void (*on_down)(void *arg);  /* after the answer to POST /v1/down went out */
	void *arg;
};

struct api;

/* Writes a fresh random token to STATE_DIR/api.token (0600), binds and
 * starts the server thread. -EADDRINUSE when the address is taken (not
 * logged: the caller says it, with the option to change). */
int api_start(const struct api_config *cfg, struct api **out);
/* Stops the thread, removes api.token, wipes the token. NULL is fine. */
void api_stop(struct api *a);

/* Handles a checked request: HTTP status and a JSON body (caller frees). */
int api_handle(struct party *p, const struct api_request *req, char **body);
/* GET /metrics: 200 and the Prometheus text (docs/METRICS.md), or 404 and
 * a JSON error while the setting `metrics` is off. Caller frees *body. */
int api_metrics(struct party *p, char **body);

/* JSON of the party's state (docs/API.md); caller json_decref's. */
struct json_t;
struct json_t *api_status_json(const struct party_status *st);
struct json_t *api_member_json(const struct conn_peer_status *m);
/* Adds one setting to the JSON object obj as GET /v1/settings shows it (a
 * config_list callback; the CLI uses it without a daemon too). */
int api_setting_json_add(const struct config_info *info, void *obj);

#endif
