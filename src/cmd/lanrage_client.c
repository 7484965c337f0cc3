/*
 * lanrage_client: the verbs that talk to a running daemon through its local
 * API (docs/API.md): party create/join/leave, status, peers, ping,
 * settings, down, and netcheck's daemon path. Each prints text, or the
 * API's JSON with --json, and maps failures to one line on stderr.
 *
 * The token comes from STATE_DIR/api.token, so only the daemon's user (or
 * root) can drive it. Which daemon: the flags, else the locator
 * (lanrage_locator.c), else the default state directory; whether one runs
 * there: its daemon.lock. With none, the settings verbs go offline
 * (lanrage_offline.c); a non-root user with a root daemon is told to use sudo.
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

enum { CLI_OFFLINE = -1 }; /* no daemon for this state directory */

/* Something serves HTTP on addr (a daemon we hold no token for). */
static bool cli_api_answers(const char *addr)
{
	char *resp = NULL;
	int status = 0;
	bool up = !cli_http(addr, "-", "GET", "/v1/status", NULL, &status, &resp) && status;

	free(resp);
	return up;
}

/* Which daemon, and whether it runs: 0 (one runs or it cannot be told),
 * CLI_OFFLINE (none for that state directory; nothing printed), or
 * CLI_EXIT_FAIL after saying why it cannot be reached. */
static int cli_find(const struct cli_args *a, struct cli_conn *c)
{
	char lock[4200];
	int r;

	cli_locate(a, c->state_dir, sizeof(c->state_dir), c->api, sizeof(c->api));
	r = cli_daemon_running(c->state_dir);
	if (r == -EACCES) {
		snprintf(lock, sizeof(lock), "%s/daemon.lock", c->state_dir);
		return cli_fail_access(a, lock, EACCES, true);
	}
	if (r != 0)
		return 0;
	/* None of ours: a root daemon is what a player most likely means. */
	if (geteuid() != 0 && !a->state_dir && (cli_root_daemon_live() || cli_api_answers(c->api)))
		return cli_fail_root(a);
	return CLI_OFFLINE;
}

static void cli_no_daemon(const struct cli_conn *c)
{
	char def[4096];

	if (!strcmp(c->state_dir, cli_default_state_dir(def, sizeof(def))))
		fprintf(stderr, "%s\n", CLI_NO_DAEMON);
	else
		fprintf(stderr, "lanrage: no daemon is running with state directory %s (start it "
				"with: lanrage daemon --state-dir %s)\n", c->state_dir, c->state_dir);
}

/* 0, or CLI_EXIT_FAIL after printing why. c->state_dir empty: located here. */
static int cli_connect(const struct cli_args *a, struct cli_conn *c)
{
	char path[4200];
	ssize_t n;
	int fd;

	if (!c->state_dir[0])
		cli_locate(a, c->state_dir, sizeof(c->state_dir), c->api, sizeof(c->api));
	snprintf(path, sizeof(path), "%s/%s", c->state_dir, API_TOKEN_FILE);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		if (cli_daemon_running(c->state_dir) == 1)
			fprintf(stderr, "lanrage: the daemon is still starting; try again in a "
					"moment\n");
		else
			cli_no_daemon(c);
		return CLI_EXIT_FAIL;
	}
	if (fd < 0)
		return cli_fail_access(a, path, errno, true);
	n = read(fd, c->token, API_TOKEN_LEN);
	close(fd);
	if (n != API_TOKEN_LEN) {
		fprintf(stderr, "lanrage: %s does not hold a token\n", path);
		return CLI_EXIT_FAIL;
	}
	c->token[API_TOKEN_LEN] = '\0';
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
	printf("%-16s %-15s %-10s %-9s %-5s %-22s %s\n", "MEMBER", "VIRTUAL IP", "PATH", "RTT",
	       "MTU", "NAT", "DETAIL");
	lines++;
	json_array_foreach(members, i, m) {
		char rtt[24];
		const char *detail = cli_str(m, "detail");

		cli_rtt(m, rtt, sizeof(rtt));
		printf("%-16.16s %-15s %-10s %-9s %-5lld %-22s %s\n",
		       cli_str(m, "name")[0] ? cli_str(m, "name") : cli_str(m, "peer_id"),
		       cli_str(m, "virtual_ip"), cli_str(m, "path"), rtt,
		       (long long)json_integer_value(json_object_get(m, "mtu")),
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

/* "control:  remote wss://HOST:PORT, connected", or why it is not. */
static int cli_print_control(const json_t *ctl)
{
	bool up = json_is_true(json_object_get(ctl, "connected"));
	const char *err = cli_str(ctl, "error");

	if (!strcmp(cli_str(ctl, "mode"), "local"))
		printf("control:   local (inside this daemon: no other machine can join)%s%s%s\n",
		       up ? "" : ", not ready", err[0] ? ": " : "", err);
	else
		printf("control:   %s, %s%s%s\n", cli_str(ctl, "url"),
		       up ? "connected" : "unreachable", err[0] ? ": " : "", err);
	return 1;
}

/* "you:       alice  10.66.1.2  NAT full-cone ..." */
static int cli_print_self(const json_t *self, bool in_party)
{
	const char *name = cli_str(self, "name");

	printf("you:       %s", name[0] ? name : cli_str(self, "peer_id"));
	if (in_party)
		printf("  %s  NAT %s%s%s%s", cli_str(self, "virtual_ip"),
		       cli_str(json_object_get(self, "nat"), "type"),
		       json_is_true(json_object_get(self, "udp_blocked")) ? "  UDP BLOCKED" : "",
		       cli_str(self, "home_relay")[0] ? "  home relay " : "",
		       cli_str(self, "home_relay"));
	printf("\n");
	return 1;
}

/* Returns the number of lines printed. */
static int cli_print_status(const json_t *st)
{
	const json_t *self = json_object_get(st, "self"), *ctl = json_object_get(st, "control");
	const char *state = cli_str(st, "state");
	int lines;

	if (!strcmp(state, "idle")) {
		lines = cli_print_self(self, false) + cli_print_control(ctl);
		/* creating needs the control plane: suggest it only when that works */
		if (json_is_true(json_object_get(ctl, "connected")))
			printf("not in a party; start one with: lanrage party create NAME\n");
		else
			printf("not in a party (creating or joining one needs the control plane)\n");
		return lines + 1;
	}
	printf("party %s \"%s\" (%s)\n", cli_str(st, "party_id"), cli_str(st, "party_name"),
	       state);
	lines = 1 + cli_print_self(self, true) + cli_print_control(ctl);
	return lines + cli_print_disco(json_object_get(st, "lan_discovery")) +
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

/* After create or join: the party, and how others get in. A local-mode
 * party's code means nothing on another machine: say so, and how to play
 * across machines. */
static void cli_print_entered(const struct cli_args *a, const json_t *out)
{
	const json_t *ctl = json_object_get(out, "control");

	printf("%s party %s \"%s\"; your virtual IP is %s\n",
	       a->verb == CLI_PARTY_CREATE ? "created" : "joined", cli_str(out, "party_id"),
	       cli_str(out, "party_name"), cli_str(json_object_get(out, "self"), "virtual_ip"));
	if (strcmp(cli_str(ctl, "mode"), "local")) {
		printf("others join with: lanrage party join %s\n", cli_str(out, "party_id"));
		return;
	}
	if (a->verb == CLI_PARTY_CREATE)
		printf("this is a local-mode party: its control plane runs inside this daemon, so "
		       "only daemons sharing it can join, none on another machine.\n"
		       "to play with others, run lanrage-control on a host everyone reaches, then "
		       "on every player's machine:\n"
		       "  lanrage settings set control_server wss://HOST:8667\n"
		       "  lanrage settings set control_pin sha256/... (lanrage-control "
		       "--print-pin prints it)\n"
		       "and restart the daemon (docs/CONTROL.md).\n");
}

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
		cli_print_entered(a, out);
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

/* A setting's value as text: "" says empty where a blank would say nothing. */
static const char *cli_value(const json_t *j, const char *key)
{
	const char *v = cli_str(j, key);

	return v[0] ? v : "\"\"";
}

void cli_settings_print(const struct cli_args *a, const json_t *out)
{
	const char *key;
	json_t *v;
	size_t i;

	if (a->json) {
		cli_print_json(out);
	} else if (a->verb == CLI_SETTINGS_LIST) {
		json_object_foreach((json_t *)out, key, v)
			printf("%-26s %-20s (default %s; %s; applies %s)\n", key,
			       cli_value(v, "value"), cli_value(v, "default"), cli_str(v, "allowed"),
			       cli_str(v, "applies"));
	} else if (a->verb == CLI_SETTINGS_GET) {
		printf("%s\n", cli_str(out, "value")); /* as it is: scripts read it */
	} else if (a->verb == CLI_SETTINGS_RESET && a->all) {
		if (!json_array_size(json_object_get(out, "changed")))
			printf("every setting already had its default\n");
		json_array_foreach(json_object_get(out, "changed"), i, v)
			printf("%s = %s (%s)\n", cli_str(v, "key"), cli_value(v, "value"),
			       cli_str(v, "note"));
	} else {
		printf("%s = %s (%s)\n", cli_str(out, "key"), cli_value(out, "value"),
		       cli_str(out, "note"));
	}
}

/* settings get and reset put KEY in the path: a key is a word, never a path */
static bool cli_key_ok(const char *key)
{
	if (key[strspn(key, "abcdefghijklmnopqrstuvwxyz0123456789_")] == '\0' && key[0])
		return true;
	fprintf(stderr, "lanrage: no such setting: %s (lanrage settings lists them)\n", key);
	return false;
}

static int cli_settings(struct cli_conn *c, const struct cli_args *a)
{
	char path[CONFIG_VALUE_MAX + 32];
	json_t *out;
	int r;

	if (a->arg && a->verb != CLI_SETTINGS_SET && !cli_key_ok(a->arg))
		return CLI_EXIT_FAIL;
	snprintf(path, sizeof(path), "/v1/settings%s%s", a->arg ? "/" : "", a->arg ? a->arg : "");
	if (a->verb == CLI_SETTINGS_SET)
		r = cli_call(c, "POST", "/v1/settings",
			     json_pack("{s:s, s:s}", "key", a->arg, "value", a->value), &out);
	else if (a->verb == CLI_SETTINGS_RESET)
		r = cli_call(c, "DELETE", path, NULL, &out);
	else
		r = cli_call(c, "GET", path, NULL, &out);
	if (r)
		return r;
	cli_settings_print(a, out);
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

/* Starts xdg-open on url without waiting for it: true when it could start.
 * Only on a desktop session, and never as root through sudo (the browser
 * would run as root). */
static bool cli_open_browser(const char *url)
{
	pid_t pid;

	if ((!getenv("DISPLAY") && !getenv("WAYLAND_DISPLAY")) || getenv("SUDO_USER") ||
	    access("/usr/bin/xdg-open", X_OK))
		return false;
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		setsid();
		if (null >= 0) {
			dup2(null, STDOUT_FILENO);
			dup2(null, STDERR_FILENO);
		}
		execl("/usr/bin/xdg-open", "xdg-open", url, (char *)NULL);
		_exit(127);
	}
	return pid > 0;
}

/* `lanrage ui`: a one-time login link for the web UI (docs/WEBUI.md). */
static int cli_ui(struct cli_conn *c, const struct cli_args *a)
{
	json_t *out;
	const char *url;
	int r = cli_call(c, "POST", "/v1/ui/login", NULL, &out);

	if (r)
		return r;
	url = json_string_value(json_object_get(out, "url"));
	if (a->json) {
		cli_print_json(out);
	} else if (url) {
		printf("Open this link in a browser on this machine (it works once, for %lld s):\n"
		       "  %s\n", (long long)json_integer_value(json_object_get(out, "expires_in_s")),
		       url);
		if (!a->no_open && cli_open_browser(url))
			printf("(opening it in your browser)\n");
	}
	json_decref(out);
	return url ? 0 : CLI_EXIT_FAIL;
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

static bool cli_is_settings(enum cli_verb v)
{
	return v == CLI_SETTINGS_LIST || v == CLI_SETTINGS_GET || v == CLI_SETTINGS_SET ||
	       v == CLI_SETTINGS_RESET;
}

/* The share code checked here too, so a typo is explained before anything
 * else (the API says the same: api_share_code). */
static int cli_check_code(const struct cli_args *a, struct cli_args *fixed)
{
	char err[256];

	*fixed = *a;
	if (a->verb != CLI_PARTY_JOIN)
		return 0;
	if (api_share_code(a->arg, fixed->code_text, err, sizeof(err))) {
		fprintf(stderr, "lanrage: %s\n", err);
		return CLI_EXIT_FAIL;
	}
	fixed->arg = fixed->code_text;
	return 0;
}

int cli_client(const struct cli_args *args)
{
	struct cli_conn c = { 0 };
	struct cli_args fixed;
	const struct cli_args *a = &fixed;
	int r = cli_check_code(args, &fixed);

	if (!r)
		r = cli_find(a, &c);
	if (r == CLI_OFFLINE && cli_is_settings(a->verb))
		return cli_settings_offline(a, c.state_dir);
	if (r == CLI_OFFLINE) {
		cli_no_daemon(&c);
		return CLI_EXIT_FAIL;
	}
	if (r || (r = cli_connect(a, &c)))
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
	case CLI_UI:
		r = cli_ui(&c, a);
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

/* One labelled list: "label:  first" then the others aligned under it. */
static void cli_netcheck_list(const char *label, const json_t *arr, const char *none)
{
	const json_t *v;
	size_t i;

	if (!json_array_size(arr) && none)
		printf("%-13s %s\n", label, none);
	json_array_foreach(arr, i, v)
		printf("%-13s %s\n", i ? "" : label, json_string_value(v));
}

static void cli_netcheck_servers(const json_t *arr)
{
	const json_t *s;
	size_t i;

	if (json_array_size(arr))
		printf("servers:\n");
	json_array_foreach(arr, i, s) {
		const json_t *rtt = json_object_get(s, "rtt_ms");

		if (json_is_number(rtt))
			printf("  %-28s %8.2f ms%s\n", cli_str(s, "name"), json_number_value(rtt),
			       json_is_string(json_object_get(s, "other_address")) ? "  (RFC 5780)"
										 : "");
		else
			printf("  %-28s error: %s\n", cli_str(s, "name"), cli_str(s, "error"));
	}
}

/* The report in the layout of a standalone `lanrage netcheck`, then where it
 * came from: public endpoints are what STUN saw, local ones our interfaces. */
static void cli_netcheck_print(const json_t *j, uint64_t took_ms)
{
	const json_t *v;
	size_t i;
	bool idle = !strcmp(cli_str(j, "source"), "daemon-idle");

	printf("NAT type:     %s\n", cli_str(j, "nat_type"));
	printf("mapping:      %s\n", cli_str(j, "mapping"));
	printf("filtering:    %s\n", cli_str(j, "filtering"));
	cli_netcheck_list("public:", json_object_get(j, "public_endpoints"),
			  "none (no STUN server answered)");
	cli_netcheck_list("local:", json_object_get(j, "local_endpoints"), NULL);
	if (cli_str(j, "home_relay")[0])
		printf("home relay:   %s\n", cli_str(j, "home_relay"));
	cli_netcheck_servers(json_object_get(j, "servers"));
	json_array_foreach(json_object_get(j, "notes"), i, v)
		printf("note: %s\n", json_string_value(v));
	if (idle)
		printf("source:       the daemon (in no party), checked now from a port of its "
		       "own against %s\n",
		       !strcmp(cli_str(j, "servers_from"), "relays")
			       ? "the control plane's relays"
			       : "the stun_servers setting");
	else
		printf("source:       the daemon's WireGuard socket, measured when the party "
		       "came up\n");
	printf("took %llu ms\n", (unsigned long long)took_ms);
}

static uint64_t cli_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int cli_netcheck_daemon(const char *state_dir, bool json)
{
	struct cli_args a = { .verb = CLI_NETCHECK, .json = json, .state_dir = state_dir };
	struct cli_conn c = { 0 };
	char path[4200], *resp = NULL;
	bool tty = isatty(STDERR_FILENO);
	uint64_t start = cli_now_ms();
	json_t *out;
	int status, r;

	/* As every verb: --state-dir, else the running daemon's locator. */
	cli_locate(&a, c.state_dir, sizeof(c.state_dir), c.api, sizeof(c.api));
	snprintf(path, sizeof(path), "%s/%s", c.state_dir, API_TOKEN_FILE);
	if (access(path, R_OK))
		return -ECONNREFUSED;
	if (cli_connect(&a, &c))
		return CLI_EXIT_FAIL;
	/* An idle daemon checks now, which takes a few seconds. */
	if (!json)
		fprintf(stderr, "lanrage netcheck: asking the daemon at %s...%s", c.api,
			tty ? "" : "\n");
	r = cli_http(c.api, c.token, "GET", "/v1/netcheck", NULL, &status, &resp);
	cli_conn_wipe(&c);
	if (!json && tty)
		fprintf(stderr, "\r\033[K"); /* the progress line goes away */
	if (r)
		return -ECONNREFUSED;
	out = json_loads(resp, 0, NULL);
	free(resp);
	if (status != 200 || !out) {
		fprintf(stderr, "lanrage netcheck: %s\n",
			out ? cli_str(out, "message") : "the daemon's answer is not JSON");
		json_decref(out);
		return CLI_EXIT_FAIL;
	}
	if (json)
		cli_print_json(out);
	else
		cli_netcheck_print(out, cli_now_ms() - start);
	json_decref(out);
	return 0;
}
