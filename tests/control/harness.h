/*
 * harness: what the control-plane integration tests share: starting the
 * real lanrage-control on 127.0.0.1 (random free port, temporary database)
 * and stopping it by PID, clients that record the events they receive, and
 * a plain-socket HTTP GET for the REST queries.
 */
#ifndef LR_TESTS_CONTROL_HARNESS_H
#define LR_TESTS_CONTROL_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "control/control.h"

enum { TH_MAX_EVENTS = 256 };

struct th_server {
	pid_t pid; /* 0 when not running */
	int port;
	char dir[64];
	char db[96];
	char url[64];
	bool tls; /* set before th_server_run: serve wss:// (else --insecure ws://) */
};

struct th_event {
	enum ctl_event_kind kind;
	char party_id[CTL_PARTY_ID_LEN + 1];
	char peer_id[CTL_ID_LEN + 1]; /* peer_left, or the peer of joined/updated */
	char virtual_ip[16];
	char reason[16];
	char from[CTL_ID_LEN + 1];
	char payload[512];
	bool has_party;
	size_t party_peers;
	bool taken;
};

struct th_client {
	struct ctl_client *c;
	uint8_t priv[32], pub[32];
	struct th_event ev[TH_MAX_EVENTS];
	size_t n_ev;
};

/* The lanrage-control binary (argv[1] or $LANRAGE_CONTROL). */
extern const char *th_server_bin;
/* The start of main() in a test of the real server: th_server_bin from
 * argv[1] or $LANRAGE_CONTROL, SIGPIPE ignored, crypto ready, argv[2] as
 * the cmocka test filter. 0, or 2 after printing the usage. */
int th_main_init(int argc, char **argv);
/* The pin th_client_open gives remote clients (NULL: none). */
extern const char *th_client_pin;

/* Creates the temp dir and picks a port; then th_server_run starts it with
 * extra arguments (NULL-terminated, may be NULL). 0 or -errno. */
int th_server_init(struct th_server *s);
int th_server_run(struct th_server *s, const char *const *extra);
/* Sends sig, waits; returns the exit status (-1 when killed by a signal). */
int th_server_stop(struct th_server *s, int sig);
/* Stops (SIGKILL if still running) and removes the temp dir. */
void th_server_cleanup(struct th_server *s);

enum { TH_MAX_CLIENTS = 8 };

/* What a test of the real server holds: the server and the clients it
 * opened, closed by th_fixture_stop. */
struct th_fixture {
	struct th_server srv;
	struct th_client *cl[TH_MAX_CLIENTS];
	size_t n;
};

/* cmocka setup: *state becomes a fixture whose server runs with extra
 * arguments (NULL-terminated, may be NULL); -1 when it does not start. */
int th_fixture_start(void **state, const char *const *extra);
/* cmocka teardown: closes every client, stops the server, frees. */
int th_fixture_stop(void **state);

/* Opens a client (remote when url, else local) and subscribes the recorder. */
struct th_client *th_client_open(const char *url, struct ctl_local *local, uint64_t heartbeat_ms);
/* Registers a fresh key under name. */
int th_client_register(struct th_client *t, const char *name);
void th_client_close(struct th_client *t);
/* Waits up to timeout_ms for an untaken event of kind (and peer, when not
 * NULL: peer_id for joined/updated/left, from for signal); marks it taken. */
struct th_event *th_wait(struct th_client *t, enum ctl_event_kind kind, const char *peer,
			 uint64_t timeout_ms);
/* Counts untaken events of kind after dispatching what is queued. */
size_t th_count(struct th_client *t, enum ctl_event_kind kind);

/* GET path on 127.0.0.1:port; returns the status, body in buf. */
int th_http_get(int port, const char *path, const char *authorization, char *buf, size_t len);

#endif
