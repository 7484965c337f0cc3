/*
 * lanrage_client: the verbs that talk to a running daemon through its local
 * API (docs/API.md): party create/join/leave, status, peers, ping,
 * settings, down, and netcheck's daemon path. Each prints text, or the
 * API's JSON with --json, and maps failures to one line on stderr.
 *
 * The token comes from STATE_DIR/api.token, so only the daemon's user (or
 * root) can drive it.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api/api.h"
#include "cmd/lanrage_cli.h"
#include "crypto/crypto.h"

#define CLI_NO_DAEMON "lanrage: no daemon is running (start it with: lanrage daemon)"

struct cli_conn {
	char state_dir[4096];
	char api[80];
	char token[API_TOKEN_LEN + 1]; /* secret */
};

static void cli_conn_wipe(struct cli_conn *c)
{
	crypto_wipe(c->token, sizeof(c->token));
}

/* The API address: --api, else the daemon's api_listen setting when the
 * database is readable, else the default. */
static void cli_api_addr(const struct cli_args *a, struct cli_conn *c)
{
	char db[4200];
	struct config *cfg;
	const char *v;

	snprintf(c->api, sizeof(c->api), "%s", a->api ? a->api : API_DEFAULT_LISTEN);
	if (a->api)
		return;
	snprintf(db, sizeof(db), "%s/%s", c->state_dir, CONFIG_DB_FILE);
	if (access(db, R_OK | W_OK) || config_open(c->state_dir, &cfg))
		return;
	v = config_get(cfg, "api_listen");
	if (v)
		snprintf(c->api, sizeof(c->api), "%s", v);
	config_close(cfg);
}

/* 0, or CLI_EXIT_FAIL after printing why. */
static int cli_connect(const struct cli_args *a, struct cli_conn *c)
{
	char path[4200];
	ssize_t n;
	int fd;

	if (a->state_dir)
		snprintf(c->state_dir, sizeof(c->state_dir), "%s", a->state_dir);
	else
		cli_default_state_dir(c->state_dir, sizeof(c->state_dir));
	snprintf(path, sizeof(path), "%s/%s", c->state_dir, API_TOKEN_FILE);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		fprintf(stderr, "%s\n", CLI_NO_DAEMON);
		return CLI_EXIT_FAIL;
	}
	if (fd < 0) {
		fprintf(stderr, "lanrage: cannot read %s: %s (run as the daemon's user or root)\n",
			path, strerror(errno));
		return CLI_EXIT_FAIL;
	}
	n = read(fd, c->token, API_TOKEN_LEN);
	close(fd);
	if (n != API_TOKEN_LEN) {
		fprintf(stderr, "lanrage: %s does not hold a token\n", path);
		return CLI_EXIT_FAIL;
	}
	c->token[API_TOKEN_LEN] = '\0';
	cli_api_addr(a, c);
	return 0;
}

/* One request. *out is the answer's JSON on 2xx; otherwise the error is
 * printed and CLI_EXIT_FAIL returned. */
static int cli_call(struct cli_conn *c, const char *method, const char *path, json_t *body,
		    json_t **out)
{
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL, *resp = NULL;
	json_t *j = NULL;
	int status, r;

	*out = NULL;
	r = cli_http(c->api, c->token, method, path, text, &status, &resp);
	free(text);
	json_decref(body);
	if (r == -ECONNREFUSED || r == -ECONNRESET) {
		fprintf(stderr, "%s\n", CLI_NO_DAEMON);
		return CLI_EXIT_FAIL;
	}
	if (r) {
		fprintf(stderr, "lanrage: cannot talk to the daemon at %s: %s\n", c->api,
			strerror(-r));
		return CLI_EXIT_FAIL;
	}
	j = json_loads(resp, 0, NULL);
	free(resp);
	if (status / 100 != 2) {
		const char *msg = json_string_value(json_object_get(j, "message"));

		fprintf(stderr, "lanrage: %s\n", msg ? msg : "the daemon refused the request");
		json_decref(j);
		return CLI_EXIT_FAIL;
	}
	if (!j) {
		fprintf(stderr, "lanrage: the daemon's answer is not JSON\n");
		return CLI_EXIT_FAIL;
	}
	*out = j;
	return 0;
}

static const char *cli_str(const json_t *j, const char *key)
{
	const char *s = json_string_value(json_object_get(j, key));

	return s ? s : "";
}

static void cli_print_json(const json_t *j)
{
	char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

	if (s)
		printf("%s\n", s);
	free(s);
}

/* ---- status -------------------------------------------------------------- */

static void cli_rtt(const json_t *m, char *buf, size_t len)
{
	const json_t *rtt = json_object_get(m, "rtt_ms");

	if (json_is_number(rtt))
		snprintf(buf, len, "%.1f ms", json_number_value(rtt));
	else
		snprintf(buf, len, "-");
}

static int cli_print_members(const json_t *members)
{
	size_t i, lines = 0;
	json_t *m;

	if (!json_array_size(members)) {
		printf("no other members yet\n");
		return 1;
	}
	printf("%-16s %-15s %-10s %-9s %-22s %s\n", "MEMBER", "VIRTUAL IP", "PATH", "RTT", "NAT",
	       "DETAIL");
	lines++;
	json_array_foreach(members, i, m) {
		char rtt[24];
		const char *detail = cli_str(m, "detail");

		cli_rtt(m, rtt, sizeof(rtt));
		printf("%-16.16s %-15s %-10s %-9s %-22s %s\n",
		       cli_str(m, "name")[0] ? cli_str(m, "name") : cli_str(m, "peer_id"),
		       cli_str(m, "virtual_ip"), cli_str(m, "path"), rtt,
		       cli_str(json_object_get(m, "nat"), "type"),
		       detail[0] ? detail : cli_str(m, "endpoint"));
		lines++;
	}
	return (int)lines;
}

/* "LAN discovery: on, 12 forwarded ..." */
static int cli_print_disco(const json_t *d)
{
	const char *err = cli_str(d, "error");

	if (!json_is_true(json_object_get(d, "enabled"))) {
		printf("LAN discovery: off (lanrage settings set lan_discovery true)\n");
		return 1;
	}
	if (!json_is_true(json_object_get(d, "capturing"))) {
		printf("LAN discovery: not running%s%s\n", err[0] ? ": " : "", err);
		return 1;
	}
	printf("LAN discovery: on, %lld forwarded (%lld copies), %lld duplicates, %lld rate-limited,"
	       " %lld denied\n",
	       (long long)json_integer_value(json_object_get(d, "forwarded")),
	       (long long)json_integer_value(json_object_get(d, "copies")),
	       (long long)json_integer_value(json_object_get(d, "duplicates")),
	       (long long)json_integer_value(json_object_get(d, "rate_limited")),
	       (long long)json_integer_value(json_object_get(d, "denied")));
	return 1;
}

static int cli_print_games(const json_t *games)
{
	size_t i;
	json_t *g;

	if (!json_array_size(games)) {
		printf("no LAN games seen yet (they show up once a game searches or a server "
		       "announces itself)\n");
		return 0;
	}
	printf("%-24s %-16s %-21s %-9s %s\n", "GAME", "MEMBER", "ADDRESS", "SEEN", "INFO");
	json_array_foreach(games, i, g) {
		char addr[32];

		snprintf(addr, sizeof(addr), "%s:%lld", cli_str(g, "virtual_ip"),
			 (long long)json_integer_value(json_object_get(g, "port")));
		printf("%-24.24s %-16.16s %-21s %5.0fs ago %s\n", cli_str(g, "game"),
		       cli_str(g, "member")[0] ? cli_str(g, "member") : cli_str(g, "peer_id"), addr,
		       json_number_value(json_object_get(g, "last_seen_s")), cli_str(g, "info"));
	}
	return 0;
}

/* Returns the number of lines printed. */
static int cli_print_status(const json_t *st)
{
	const json_t *self = json_object_get(st, "self"), *ctl = json_object_get(st, "control");
	const char *state = cli_str(st, "state");

	if (!strcmp(state, "idle")) {
		printf("not in a party (control %s, %s); start one with: lanrage party create NAME\n",
		       cli_str(ctl, "mode"),
		       json_is_true(json_object_get(ctl, "connected")) ? "connected"
								      : "not connected");
		return 1;
	}
	printf("party %s \"%s\" (%s; control %s, %s)\n", cli_str(st, "party_id"),
	       cli_str(st, "party_name"), state, cli_str(ctl, "mode"),
	       json_is_true(json_object_get(ctl, "connected")) ? "connected" : "reconnecting");
	printf("this node: %s  NAT %s%s%s%s\n", cli_str(self, "virtual_ip"),
	       cli_str(json_object_get(self, "nat"), "type"),
	       json_is_true(json_object_get(self, "udp_blocked")) ? "  UDP BLOCKED" : "",
	       cli_str(self, "home_relay")[0] ? "  home relay " : "", cli_str(self, "home_relay"));
	return 2 + cli_print_disco(json_object_get(st, "lan_discovery")) +
	       cli_print_members(json_object_get(st, "members"));
}

static bool cli_settled(const json_t *st)
{
	size_t i;
	json_t *m;

	json_array_foreach(json_object_get(st, "members"), i, m)
		if (!strcmp(cli_str(m, "path"), "connecting"))
			return false;
	return true;
}

static int cli_status(struct cli_conn *c, const struct cli_args *a)
{
	bool tty = isatty(STDOUT_FILENO) && !a->json;
	bool progress = a->wait || tty;
	time_t deadline = time(NULL) + (time_t)a->timeout_s;
	int lines = 0, r;
	json_t *st;

	for (;;) {
		r = cli_call(c, "GET", "/v1/status", NULL, &st);
		if (r)
			return r;
		if (cli_settled(st) || !progress || time(NULL) >= deadline)
			break;
		if (tty) {
			/* redraw the short table in place while members connect */
			for (int i = 0; i < lines; i++)
				printf("\033[1A\033[2K");
			lines = cli_print_status(st);
			fflush(stdout);
		}
		json_decref(st);
		usleep(500 * 1000);
	}
	if (tty)
		for (int i = 0; i < lines; i++)
			printf("\033[1A\033[2K");
	if (a->json)
		cli_print_json(st);
	else
		cli_print_status(st);
	r = a->wait && !cli_settled(st) ? CLI_EXIT_FAIL : 0;
	if (r)
		fprintf(stderr, "lanrage: members still connecting after %u s\n", a->timeout_s);
	json_decref(st);
	return r;
}

/* ---- the other verbs ----------------------------------------------------- */

static int cli_party(struct cli_conn *c, const struct cli_args *a)
{
	json_t *out, *body = NULL;
	const char *path = "/v1/party/leave";
	int r;

	if (a->verb == CLI_PARTY_CREATE) {
		path = "/v1/party/create";
		body = json_pack("{s:s}", "name", a->arg);
	} else if (a->verb == CLI_PARTY_JOIN) {
		path = "/v1/party/join";
		body = json_pack("{s:s}", "party_id", a->arg);
	}
	r = cli_call(c, "POST", path, body, &out);
	if (r)
		return r;
	if (a->json)
		cli_print_json(out);
	else if (a->verb == CLI_PARTY_LEAVE)
		printf("left the party\n");
	else
		printf("%s party %s \"%s\"; your virtual IP is %s\n"
		       "others join with: lanrage party join %s\n",
		       a->verb == CLI_PARTY_CREATE ? "created" : "joined", cli_str(out, "party_id"),
		       cli_str(out, "party_name"),
		       cli_str(json_object_get(out, "self"), "virtual_ip"),
		       cli_str(out, "party_id"));
	json_decref(out);
	return 0;
}

static int cli_ping(struct cli_conn *c, const struct cli_args *a)
{
	json_t *out;
	json_int_t rx;
	int r = cli_call(c, "POST", "/v1/ping",
			 json_pack("{s:s, s:i}", "peer", a->arg, "count", (int)a->count), &out);

	if (r)
		return r;
	rx = json_integer_value(json_object_get(out, "received"));
	if (a->json) {
		cli_print_json(out);
	} else if (rx) {
		printf("%s: %lld/%u answers, average in-tunnel RTT %.2f ms\n", a->arg,
		       (long long)rx, a->count, json_number_value(json_object_get(out, "rtt_ms")));
	}
	if (!rx)
		fprintf(stderr, "lanrage: no answer from %s over the tunnel\n", a->arg);
	json_decref(out);
	return rx ? 0 : CLI_EXIT_FAIL;
}

static int cli_settings(struct cli_conn *c, const struct cli_args *a)
{
	char path[CONFIG_VALUE_MAX + 32];
	const char *key;
	json_t *out, *v;
	int r;

	if (a->verb == CLI_SETTINGS_SET)
		r = cli_call(c, "POST", "/v1/settings",
			     json_pack("{s:s, s:s}", "key", a->arg, "value", a->value), &out);
	else if (a->verb == CLI_SETTINGS_GET) {
		if (strchr(a->arg, '/') || strchr(a->arg, '?') || strchr(a->arg, '%')) {
			fprintf(stderr, "lanrage: no such setting: %s\n", a->arg);
			return CLI_EXIT_FAIL;
		}
		snprintf(path, sizeof(path), "/v1/settings/%s", a->arg);
		r = cli_call(c, "GET", path, NULL, &out);
	} else {
		r = cli_call(c, "GET", "/v1/settings", NULL, &out);
	}
	if (r)
		return r;
	if (a->json)
		cli_print_json(out);
	else if (a->verb == CLI_SETTINGS_LIST)
		json_object_foreach(out, key, v)
			printf("%-26s %-20s (default %s; %s)\n", key, cli_str(v, "value"),
			       cli_str(v, "default"), cli_str(v, "allowed"));
	else if (a->verb == CLI_SETTINGS_GET)
		printf("%s\n", cli_str(out, "value"));
	else
		printf("%s = %s (%s)\n", cli_str(out, "key"), cli_str(out, "value"),
		       cli_str(out, "note")[0] ? cli_str(out, "note")
					       : "applies when the daemon next starts");
	json_decref(out);
	return 0;
}

static int cli_down(struct cli_conn *c, const struct cli_args *a)
{
	time_t deadline = time(NULL) + (time_t)a->timeout_s;
	char *resp;
	json_t *out;
	int r = cli_call(c, "POST", "/v1/down", NULL, &out), status;

	if (r)
		return r;
	json_decref(out);
	/* Wait for the daemon to be gone, so the interface is too. */
	while (time(NULL) < deadline) {
		if (cli_http(c->api, c->token, "GET", "/v1/status", NULL, &status, &resp)) {
			if (!a->json)
				printf("daemon stopped\n");
			else
				printf("{\"state\": \"stopped\"}\n");
			return 0;
		}
		free(resp);
		usleep(200 * 1000);
	}
	fprintf(stderr, "lanrage: the daemon is still running after %u s\n", a->timeout_s);
	return CLI_EXIT_FAIL;
}

/* GET path: the JSON, or the array under key printed as a table. */
static int cli_list(struct cli_conn *c, const struct cli_args *a, const char *path,
		    const char *key, int (*print)(const json_t *list))
{
	json_t *out;
	int r = cli_call(c, "GET", path, NULL, &out);

	if (r)
		return r;
	if (a->json)
		cli_print_json(out);
	else
		print(json_object_get(out, key));
	json_decref(out);
	return 0;
}

int cli_client(const struct cli_args *a)
{
	struct cli_conn c = { 0 };
	int r = cli_connect(a, &c);

	if (r)
		return r;
	switch (a->verb) {
	case CLI_PARTY_CREATE:
	case CLI_PARTY_JOIN:
	case CLI_PARTY_LEAVE:
		r = cli_party(&c, a);
		break;
	case CLI_STATUS:
		r = cli_status(&c, a);
		break;
	case CLI_PEERS:
		r = cli_list(&c, a, "/v1/peers", "peers", cli_print_members);
		break;
	case CLI_GAMES:
		r = cli_list(&c, a, "/v1/games", "games", cli_print_games);
		break;
	case CLI_PING:
		r = cli_ping(&c, a);
		break;
	case CLI_DOWN:
		r = cli_down(&c, a);
		break;
	default:
		r = cli_settings(&c, a);
		break;
	}
	cli_conn_wipe(&c);
	return r;
}

int cli_netcheck_daemon(const char *state_dir, bool json)
{
	struct cli_args a = { .verb = CLI_NETCHECK, .json = json, .state_dir = state_dir };
	struct cli_conn c = { 0 };
	char path[4200], dir[4096], *resp = NULL;
	json_t *out, *ep;
	size_t i;
	int status, r;

	if (!a.state_dir)
		a.state_dir = cli_default_state_dir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/%s", a.state_dir, API_TOKEN_FILE);
	if (access(path, R_OK))
		return -ECONNREFUSED;
	if (cli_connect(&a, &c))
		return CLI_EXIT_FAIL;
	r = cli_http(c.api, c.token, "GET", "/v1/netcheck", NULL, &status, &resp);
	cli_conn_wipe(&c);
	if (r)
		return -ECONNREFUSED;
	out = json_loads(resp, 0, NULL);
	free(resp);
	if (status != 200) {
		json_decref(out);
		return -ENOENT; /* no report: the caller runs its own check */
	}
	if (json)
		cli_print_json(out);
	else {
		printf("NAT type:  %s (from the daemon's WireGuard socket)\n",
		       cli_str(out, "nat_type"));
		printf("mapping:   %s\nfiltering: %s\n", cli_str(out, "mapping"),
		       cli_str(out, "filtering"));
		json_array_foreach(json_object_get(out, "public_endpoints"), i, ep)
			printf("public:    %s\n", json_string_value(ep));
	}
	json_decref(out);
	return 0;
}
