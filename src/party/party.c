/*
 * party: the PartyManager's lifecycle and requests (create, join, leave,
 * status, settings) and its control loop.
 *
 * Invariants: state is PARTY_ACTIVE exactly when net and conn exist and the
 * control plane has us as a member; every failed create/join leaves nothing
 * behind (interface removed, the control plane told we left). The stored
 * credentials (party_creds.c) always name the party we are in, so a restart
 * after a crash resumes it with the same virtual IP. Whatever the sequence
 * of crashes, restarts and control servers, the sync at start (and a resync
 * after a reconnect) leaves any party the control plane has us in that this
 * daemon does not hold, so status, create, join and leave agree with the
 * control plane and the others see no ghost.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log/log.h"
#include "nat/stun.h"
#include "party/party_internal.h"
#include "util/time.h"

static __thread char party_err[PARTY_ERR_MAX];

static void party_seterr(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void party_seterr(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(party_err, sizeof(party_err), fmt, ap);
	va_end(ap);
}

void party_last_error(struct party *p, char *buf, size_t len)
{
	snprintf(buf, len, "%s", party_err);
}

const char *party_state_name(enum party_state s)
{
	switch (s) {
	case PARTY_IDLE:
		return "idle";
	case PARTY_JOINING:
		return "joining";
	case PARTY_ACTIVE:
		return "active";
	case PARTY_LEAVING:
		return "leaving";
	}
	return "unknown";
}

static void party_wake(struct party *p)
{
	char b = 'w';

	if (write(p->wake[1], &b, 1) < 0) {
		/* full pipe: the loop is awake already */
	}
}

static bool party_unreachable(int r)
{
	return r == -ETIMEDOUT || r == -ECONNRESET || r == -ENOTCONN;
}

/* A control-plane refusal or transport failure as one message and errno. */
static int party_ctl_error(struct party *p, const char *what, int r)
{
	const char *msg = "";
	const char *code = ctl_client_error(p->ctl, &msg);
	char why[512];

	ctl_client_transport_error(p->ctl, why, sizeof(why));
	if (party_unreachable(r) && why[0]) {
		party_seterr("%s: %s", what, why); /* a TLS refusal says what to fix */
		r = -ENOTCONN;
	} else if (party_unreachable(r)) {
		party_seterr("%s: the control plane%s%s does not answer", what,
			     p->control_url[0] ? " at " : "", p->control_url);
		r = -ENOTCONN;
	} else if (code[0] && msg[0]) {
		party_seterr("%s: %s", what, msg);
	} else {
		party_seterr("%s: %s", what, strerror(-r));
	}
	if (r == -EEXIST)
		r = -EALREADY;
	log_warn(PARTY_TAG, "%s", party_err);
	return r;
}

/* ---- Settings ------------------------------------------------------------ */

static int party_setting_int(struct party *p, const char *key, int64_t def)
{
	int64_t v;

	return config_get_int(p->config, key, &v) ? (int)def : (int)v;
}

static int party_split_stun(struct party *p, const char *list)
{
	char *copy = strdup(list), *save = NULL, *tok;
	int r = 0;

	if (!copy)
		return -ENOMEM;
	for (tok = strtok_r(copy, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
		char **n = realloc(p->stun, (p->n_stun + 1) * sizeof(*n));

		if (!n || !(n[p->n_stun] = strdup(tok))) {
			if (n)
				p->stun = n;
			r = -ENOMEM;
			break;
		}
		p->stun = n;
		p->n_stun++;
	}
	free(copy);
	return r;
}

static int party_load_settings(struct party *p, const struct party_config *cfg)
{
	const char *url = cfg->control_url ? cfg->control_url : config_get(p->config, "control_server");
	const char *subnet = config_get(p->config, "subnet");
	const char *slash = subnet ? strchr(subnet, '/') : NULL;
	struct conn_config *cc = &p->conn_cfg;
	int r;

	if (url && !strcmp(url, "local"))
		url = "";
	p->control_url = strdup(url ? url : "");
	p->control_pin = strdup(cfg->control_pin ? cfg->control_pin
						 : config_get(p->config, "control_pin"));
	p->control_insecure = cfg->control_insecure ||
			      !strcmp(config_get(p->config, "control_insecure"), "true");
	p->ifname = strdup(cfg->ifname ? cfg->ifname : config_get(p->config, "interface"));
	if (!p->control_url || !p->control_pin || !p->ifname)
		return -ENOMEM;
	p->mtu = cfg->mtu ? cfg->mtu : (unsigned)party_setting_int(p, "mtu", NET_DEFAULT_MTU);
	p->listen_port = (uint16_t)(cfg->listen_port >= 0
					    ? cfg->listen_port
					    : party_setting_int(p, "listen_port",
								NET_DEFAULT_LISTEN_PORT));
	p->prefix = slash ? (unsigned)atoi(slash + 1) : 16;
	conn_config_default(cc);
	cc->keepalive_s = (uint16_t)party_setting_int(p, "keepalive", cc->keepalive_s);
	cc->punch_timeout_ms = (uint32_t)party_setting_int(p, "punch_timeout_ms",
							   cc->punch_timeout_ms);
	cc->punch_interval_ms = (uint32_t)party_setting_int(p, "punch_interval_ms",
							    cc->punch_interval_ms);
	cc->monitor_interval_ms = (uint32_t)party_setting_int(p, "monitor_interval_ms",
							      cc->monitor_interval_ms);
	cc->relay_switch_rtt_ms = (uint32_t)party_setting_int(p, "relay_switch_rtt_ms",
							      cc->relay_switch_rtt_ms);
	cc->reconnect_backoff_min_ms = (uint32_t)party_setting_int(
		p, "reconnect_backoff_min_ms", cc->reconnect_backoff_min_ms);
	cc->reconnect_backoff_max_ms = (uint32_t)party_setting_int(
		p, "reconnect_backoff_max_ms", cc->reconnect_backoff_max_ms);
	cc->upgrade_interval_s = (uint32_t)party_setting_int(p, "upgrade_interval_s",
							     cc->upgrade_interval_s);
	config_get_bool(p->config, "path_mtu", &cc->path_mtu);
	if (cfg->conn.n_stun_servers) {
		for (size_t i = 0; i < cfg->conn.n_stun_servers; i++)
			if ((r = party_split_stun(p, cfg->conn.stun_servers[i])))
				return r;
	} else if ((r = party_split_stun(p, config_get(p->config, "stun_servers") ?: ""))) {
		return r;
	}
	p->stun_from_relays = p->n_stun == 0;
	return 0;
}

int party_relay_stun(const struct ctl_relay *relay, char *out, size_t len)
{
	char *colon;

	snprintf(out, len, "%s", relay->endpoint);
	colon = strrchr(out, ':');
	if (!colon || colon == out)
		return -EINVAL;
	snprintf(colon, len - (size_t)(colon - out), ":%u", STUN_DEFAULT_PORT);
	return 0;
}

/* No STUN server set: the control plane's relays run one each on the
 * standard port of their host. op_lock held, conn not running (it borrows
 * the strings); the list is asked for without p->lock. */
static void party_stun_from_relays(struct party *p)
{
	struct ctl_relay *relays = NULL;
	char host[CTL_ENDPOINT_LEN + 8];
	size_t n = 0;

	if (!p->stun_from_relays || ctl_relays_list(p->ctl, &relays, &n))
		return;
	pthread_mutex_lock(&p->lock);
	for (size_t i = 0; i < p->n_stun; i++)
		free(p->stun[i]);
	p->n_stun = 0;
	for (size_t i = 0; i < n; i++)
		if (!party_relay_stun(&relays[i], host, sizeof(host)) && party_split_stun(p, host))
			break;
	pthread_mutex_unlock(&p->lock);
	free(relays);
	log_kv(LOG_DEBUG, PARTY_TAG, "STUN servers from the relays", LOG_UINT("count", p->n_stun));
}

/* ---- Control plane ------------------------------------------------------- */

static int party_open_control(struct party *p)
{
	struct ctl_client_opts o;
	char path[4096];
	int r;

	ctl_client_opts_default(&o);
	if (!p->control_url[0]) {
		struct ctl_core_opts co;

		ctl_core_opts_default(&co);
		snprintf(path, sizeof(path), "%s/%s", p->state_dir, PARTY_LOCAL_DB);
		co.db_path = path;
		r = ctl_local_open(&co, &p->local);
		if (r) {
			log_error(PARTY_TAG, "cannot open the local control plane (%s): %s", path,
				  strerror(-r));
			return r;
		}
		o.local = p->local;
	} else {
		o.url = p->control_url;
		o.pin = p->control_pin;
		o.insecure = p->control_insecure;
	}
	r = ctl_client_open(&o, &p->ctl);
	if (r) {
		log_error(PARTY_TAG, "cannot open the control client: %s", strerror(-r));
		return r;
	}
	ctl_client_subscribe(p->ctl, party_on_event, p);
	return 0;
}

static const char *party_creds_control(const struct party *p)
{
	return p->control_url[0] ? p->control_url : "local";
}

/* op_lock held, p->lock not: waiting for the control plane to connect
 * must not stall status. Authenticates with the stored token (then tells
 * the control plane our current name), else registers the key (which keeps
 * our peer ID) and stores the new token. */
static int party_register(struct party *p)
{
	struct party_creds creds = { 0 };
	struct ctl_peer_update u = { .name = p->name };
	int r = -ENOENT;

	if (p->registered)
		return 0;
	if (party_creds_load(p->state_dir, &creds) == 0 &&
	    !strcmp(creds.control, party_creds_control(p)) && creds.peer_id[0]) {
		r = ctl_auth(p->ctl, creds.peer_id, creds.token);
		if (!r && ctl_peer_update(p->ctl, &u, NULL))
			log_debug(PARTY_TAG, "cannot update our name on the control plane");
		if (r && !party_unreachable(r))
			log_info(PARTY_TAG, "stored control credentials refused (%s); registering",
				 strerror(-r));
	} else {
		memset(&creds, 0, sizeof(creds));
	}
	if (party_unreachable(r)) {
		r = party_ctl_error(p, "cannot reach the control plane", r);
		goto out;
	}
	if (r) {
		r = ctl_register(p->ctl, p->keys->private_key, p->name, PARTY_VERSION);
		if (r) {
			r = party_ctl_error(p, "cannot register with the control plane", r);
			goto out;
		}
		snprintf(creds.control, sizeof(creds.control), "%s", party_creds_control(p));
		snprintf(creds.peer_id, sizeof(creds.peer_id), "%s", ctl_client_peer_id(p->ctl));
		snprintf(creds.token, sizeof(creds.token), "%s", ctl_client_token(p->ctl));
		creds.party_id[0] = '\0';
		r = party_creds_save(p->state_dir, &creds);
		if (r)
			goto out;
	}
	pthread_mutex_lock(&p->lock);
	snprintf(p->self_id, sizeof(p->self_id), "%s", ctl_client_peer_id(p->ctl));
	p->registered = true;
	p->control_connected = true;
	pthread_mutex_unlock(&p->lock);
	log_kv(LOG_INFO, PARTY_TAG, "registered with the control plane",
	       LOG_STR("peer_id", p->self_id), LOG_STR("name", p->name),
	       LOG_STR("control", party_creds_control(p)));
out:
	party_creds_wipe(&creds);
	return r;
}

static int party_save_party_id(struct party *p, const char *party_id)
{
	struct party_creds c;
	int r;

	r = party_creds_load(p->state_dir, &c);
	if (!r) {
		snprintf(c.party_id, sizeof(c.party_id), "%s", party_id);
		r = party_creds_save(p->state_dir, &c);
	}
	party_creds_wipe(&c);
	return r;
}

/* ---- Bringing a party up and down ---------------------------------------- */

/* op_lock held, p->lock not. Back to idle: what the party held is taken
 * under the lock, then freed without it, since conn_free waits for conn's
 * threads (a signal being sent: up to a request's timeout) and net_free for
 * the interface to go. No one brings a party up meanwhile (op_lock). */
static void party_down(struct party *p)
{
	struct conn *conn;
	struct net *net;

	pthread_mutex_lock(&p->lock);
	party_disco_stop(p);
	conn = p->conn;
	net = p->net;
	p->conn = NULL;
	p->net = NULL;
	party_members_clear(p);
	p->state = PARTY_IDLE;
	p->party_id[0] = p->party_name[0] = p->host_id[0] = p->self_ip[0] = '\0';
	party_wake(p);
	pthread_mutex_unlock(&p->lock);
	conn_free(conn);
	net_free(net);
}

/* Lock held. The interface's configuration for cp; -EBADMSG when the
 * control plane gave us no virtual IP. */
static int party_net_config(struct party *p, const struct ctl_party *cp, struct net_config *nc,
			    char *why, size_t why_len)
{
	const char *ip = NULL;

	for (size_t i = 0; i < cp->n_peers; i++)
		if (!strcmp(cp->peers[i].peer_id, p->self_id))
			ip = cp->peers[i].virtual_ip;
	net_config_init(nc);
	if (!ip || inet_pton(AF_INET, ip, &nc->addr) != 1) {
		party_seterr("the control plane gave no virtual IP for us in party %s",
			     cp->party_id);
		return -EBADMSG;
	}
	snprintf(p->party_id, sizeof(p->party_id), "%s", cp->party_id);
	snprintf(p->party_name, sizeof(p->party_name), "%s", cp->name);
	snprintf(p->host_id, sizeof(p->host_id), "%s", cp->host_peer_id);
	snprintf(p->self_ip, sizeof(p->self_ip), "%s", ip);
	nc->ifname = p->ifname;
	nc->prefix = p->prefix;
	nc->mtu = p->mtu;
	nc->listen_port = p->listen_port;
	nc->keys = p->keys;
	pthread_mutex_lock(&p->config_lock);
	config_get_bool(p->config, "allow_subnet_overlap", &nc->allow_subnet_overlap);
	pthread_mutex_unlock(&p->config_lock);
	nc->err = why;
	nc->err_len = why_len;
	return 0;
}

static void party_net_error(struct party *p, int r, const char *why)
{
	if (*why)
		party_seterr("%s", why);
	else if (r == -EPERM || r == -EACCES)
		party_seterr("cannot create interface %s: need root or CAP_NET_ADMIN", p->ifname);
	else
		party_seterr("cannot create interface %s: %s", p->ifname, strerror(-r));
}

/* op_lock held, p->lock not. Interface with our virtual IP, conn, members.
 * What waits (the interface, the relays' STUN servers, conn's first
 * netcheck: seconds) runs without p->lock, so status, settings and the
 * control thread go on; status says joining. party_run holds back the
 * control plane's events until the party is up (or down again), so no
 * member who joins meanwhile is missed. On failure everything local is
 * undone (the caller tells the control plane). */
static int party_start(struct party *p, const struct ctl_party *cp)
{
	struct net_config nc;
	struct conn_config cc = p->conn_cfg;
	struct net *net = NULL;
	struct conn *conn = NULL;
	struct in_addr addr;
	char why[512] = "";
	int r;

	pthread_mutex_lock(&p->lock);
	p->state = PARTY_JOINING;
	r = party_net_config(p, cp, &nc, why, sizeof(why));
	pthread_mutex_unlock(&p->lock);
	if (r)
		goto err;
	addr = nc.addr;
	r = net_up(&net, &nc);
	if (r) {
		party_net_error(p, r, why);
		goto err;
	}
	party_stun_from_relays(p);
	cc.net = net;
	cc.ctl = p->ctl;
	cc.keys = p->keys;
	cc.self_peer_id = p->self_id;
	cc.stun_servers = (const char *const *)p->stun;
	cc.n_stun_servers = p->n_stun;
	r = conn_new(&cc, &conn);
	if (r) {
		party_seterr("cannot start connections: %s", strerror(-r));
		goto err;
	}
	pthread_mutex_lock(&p->lock);
	p->net = net;
	p->conn = conn;
	net = NULL;
	conn = NULL;
	r = party_members_set(p, cp);
	if (r) {
		pthread_mutex_unlock(&p->lock);
		party_seterr("cannot add the party's members: %s", strerror(-r));
		goto err;
	}
	p->state = PARTY_ACTIVE;
	party_disco_start(p, addr);
	party_wake(p);
	log_kv(LOG_INFO, PARTY_TAG, "in party", LOG_STR("party_id", p->party_id),
	       LOG_STR("virtual_ip", p->self_ip), LOG_UINT("members", p->n_members));
	pthread_mutex_unlock(&p->lock);
	return 0;
err:
	log_error(PARTY_TAG, "%s", party_err);
	conn_free(conn);
	net_free(net);
	party_down(p);
	return r;
}

/* op_lock held, p->lock not. The control plane has us in party_id, which
 * this daemon does not hold (a crash, a restart elsewhere, a leave it never
 * heard): leave it, so the others stop seeing a ghost and create/join work. */
static int party_leave_stray(struct party *p, const char *party_id)
{
	int r = ctl_party_leave(p->ctl);

	if (r && r != -EPERM && r != -ENOENT)
		return party_ctl_error(p, "cannot leave a party the control plane still had us in",
				       r);
	log_kv(LOG_INFO, PARTY_TAG, "left a party the control plane still had us in",
	       LOG_STR("party_id", party_id));
	return 0;
}

/* op_lock held, p->lock not. The stored party (after a crash): resume it
 * when the control plane still has us, else join it again (the party keeps
 * our address). A transport failure keeps it stored for the next sync
 * (-ENOTCONN); a refusal (gone, full) or a local failure forgets it and
 * says how to rejoin. */
static int party_resume(struct party *p, const char *party_id, bool member)
{
	struct ctl_party cp = { 0 };
	int r;

	r = member ? ctl_party_get(p->ctl, party_id, &cp) : ctl_party_join(p->ctl, party_id, &cp);
	if (party_unreachable(r))
		return party_ctl_error(p, "cannot resume the party yet", r);
	if (!r) {
		member = true;
		r = party_start(p, &cp);
	}
	ctl_party_clear(&cp);
	if (!r) {
		/* a re-registration stored no party: name it again */
		party_save_party_id(p, party_id);
		log_info(PARTY_TAG, "resumed party %s after a restart", party_id);
		return 0;
	}
	if (member)
		ctl_party_leave(p->ctl);
	log_warn(PARTY_TAG, "could not resume party %s after a restart; join it again with: "
			    "lanrage party join %s", party_id, party_id);
	party_save_party_id(p, "");
	return 0;
}

/* The party the credentials say we were in with this control plane. */
static void party_stored_party(struct party *p, char out[CTL_PARTY_ID_LEN + 1])
{
	struct party_creds creds = { 0 };

	out[0] = '\0';
	if (party_creds_load(p->state_dir, &creds) == 0 &&
	    !strcmp(creds.control, party_creds_control(p)))
		snprintf(out, CTL_PARTY_ID_LEN + 1, "%s", creds.party_id);
	party_creds_wipe(&creds);
}

/* op_lock held, p->lock not. Registers, then brings the control plane's
 * view of our membership and ours (the stored party) into one: the stored
 * party is resumed, any other party the control plane has us in is left.
 * Once per start; until it succeeds, the next create, join or leave (or
 * the control plane connecting) tries again. The state changes only under
 * op_lock, so it is read here without p->lock. */
static int party_sync_locked(struct party *p)
{
	char stored[CTL_PARTY_ID_LEN + 1], server[CTL_PARTY_ID_LEN + 1];
	bool idle = p->state == PARTY_IDLE;
	int r;

	if (p->synced)
		return 0;
	party_stored_party(p, stored);
	r = party_register(p);
	if (r)
		return r;
	if (p->stop) /* stopping: no more waits on the control plane */
		return -ECANCELED;
	ctl_client_party_id(p->ctl, server);
	if (idle && server[0] && strcmp(server, stored))
		r = party_leave_stray(p, server);
	if (!r && idle && stored[0])
		r = party_resume(p, stored, !strcmp(server, stored));
	if (!r) {
		pthread_mutex_lock(&p->lock);
		p->synced = true;
		p->stray[0] = p->resuming[0] = p->sync_err[0] = '\0';
		p->sync_retry_ns = 0;
		pthread_mutex_unlock(&p->lock);
	}
	return r;
}

/* Control-thread work that waits on the control plane, run by party_run
 * without p->lock: the sync, and leaving a stray party a resync found.
 * While a create, join or leave runs (it holds op_lock for seconds, and
 * syncs itself), the work waits for the next turn instead of the thread. */
static void party_control_tasks(struct party *p)
{
	char stray[CTL_PARTY_ID_LEN + 1];
	bool sync;

	pthread_mutex_lock(&p->lock);
	sync = p->need_sync;
	memcpy(stray, p->stray, sizeof(stray));
	pthread_mutex_unlock(&p->lock);
	if ((!sync && !stray[0]) || p->stop || pthread_mutex_trylock(&p->op_lock))
		return;
	pthread_mutex_lock(&p->lock);
	p->need_sync = false;
	p->stray[0] = '\0';
	pthread_mutex_unlock(&p->lock);
	if (sync && party_sync_locked(p)) {
		/* Kept for status; tried again on a timer (and when the control
		 * plane connects, and on create, join and leave). */
		pthread_mutex_lock(&p->lock);
		snprintf(p->sync_err, sizeof(p->sync_err), "%s", party_err);
		p->sync_retry_ns = time_mono_ns() + PARTY_SYNC_RETRY_MS * 1000000ULL;
		pthread_mutex_unlock(&p->lock);
	}
	if (stray[0] && p->synced && p->state == PARTY_IDLE)
		party_leave_stray(p, stray);
	pthread_mutex_unlock(&p->op_lock);
}

/* --name, else the setting, else the host's name. */
static char *party_pick_name(struct party *p, const struct party_config *cfg)
{
	char host[CTL_MAX_NAME + 1] = "lanrage";
	const char *set = config_get(p->config, "name");

	if (cfg->name && cfg->name[0])
		return strdup(cfg->name);
	if (set && set[0])
		return strdup(set);
	gethostname(host, sizeof(host) - 1);
	return strdup(host);
}

/* A second daemon sharing the interface name or the UDP port would start
 * fine and fail at its first join: refuse it now, naming the fix. */
static int party_check_conflicts(struct party *p)
{
	char why[PARTY_ERR_MAX];
	int r = net_claim(p->ifname, p->listen_port, &p->claim, why, sizeof(why));

	if (r) {
		party_seterr("%s", why);
		log_error(PARTY_TAG, "%s", why);
	}
	return r;
}

int party_new(const struct party_config *cfg, struct party **out)
{
	struct party *p = calloc(1, sizeof(*p));
	int r;

	*out = NULL;
	party_err[0] = '\0';
	if (!p)
		return -ENOMEM;
	pthread_mutex_init(&p->lock, NULL);
	pthread_mutex_init(&p->op_lock, NULL);
	pthread_mutex_init(&p->config_lock, NULL);
	p->wake[0] = p->wake[1] = -1;
	p->claim.fd[0] = p->claim.fd[1] = -1;
	if (pipe2(p->wake, O_CLOEXEC | O_NONBLOCK)) {
		r = -errno;
		goto err;
	}
	p->state_dir = strdup(cfg->state_dir);
	if (!p->state_dir) {
		r = -ENOMEM;
		goto err;
	}
	r = config_open(p->state_dir, &p->config);
	if (r)
		goto err;
	p->name = party_pick_name(p, cfg);
	if (!p->name) {
		r = -ENOMEM;
		goto err;
	}
	r = party_load_settings(p, cfg);
	if (!r)
		r = party_check_conflicts(p);
	if (!r)
		r = net_keys_load_or_create(p->state_dir, &p->keys);
	if (!r)
		r = party_open_control(p);
	if (r)
		goto err;
	/* Registration and the resume of a stored party wait on the control
	 * plane: party_run does them, so the API answers from the start (and
	 * status says "joining" the stored party meanwhile). */
	p->need_sync = true;
	party_stored_party(p, p->resuming);
	log_kv(LOG_INFO, PARTY_TAG, "ready", LOG_KEY("public_key", p->keys->public_key),
	       LOG_STR("name", p->name), LOG_STR("control", party_creds_control(p)),
	       LOG_STR("state_dir", p->state_dir));
	*out = p;
	return 0;
err:
	party_free(p);
	return r;
}

/* op_lock held, p->lock not. tell: the control plane is connected (else
 * asking it would wait out a request's timeout; the sync or the resync
 * after the reconnect leaves the party there instead). */
static int party_leave_op(struct party *p, bool tell)
{
	char party_id[CTL_PARTY_ID_LEN + 1];
	int r;

	pthread_mutex_lock(&p->lock);
	if (p->state == PARTY_IDLE && p->resuming[0]) {
		/* The stored party was not resumed yet (the control plane is
		 * away): forgetting it is the leave. */
		log_kv(LOG_INFO, PARTY_TAG, "left the party before resuming it",
		       LOG_STR("party_id", p->resuming));
		p->resuming[0] = '\0';
		pthread_mutex_unlock(&p->lock);
		party_save_party_id(p, "");
		return 0;
	}
	if (p->state == PARTY_IDLE) {
		pthread_mutex_unlock(&p->lock);
		party_seterr("not in a party");
		return -ENOENT;
	}
	p->state = PARTY_LEAVING;
	memcpy(party_id, p->party_id, sizeof(party_id));
	pthread_mutex_unlock(&p->lock);
	r = tell ? ctl_party_leave(p->ctl) : -ENOTCONN;
	if (!tell)
		ctl_client_forget_party(p->ctl); /* a reconnect must not rejoin it */
	if (r)
		party_ctl_error(p, "leaving: the control plane was not told (it will be when it "
				   "answers)", r);
	log_kv(LOG_INFO, PARTY_TAG, "left the party", LOG_STR("party_id", party_id));
	party_down(p);
	party_save_party_id(p, "");
	return 0;
}

void party_free(struct party *p)
{
	if (!p)
		return;
	/* party_run and the API have stopped: nothing else takes the locks */
	if (p->state != PARTY_IDLE)
		party_leave_op(p, ctl_client_ready(p->ctl));
	if (p->ctl)
		ctl_client_close(p->ctl);
	if (p->local)
		ctl_local_close(p->local);
	config_close(p->config);
	net_keys_free(p->keys);
	for (size_t i = 0; i < p->n_stun; i++)
		free(p->stun[i]);
	free(p->stun);
	free(p->state_dir);
	free(p->control_url);
	free(p->control_pin);
	free(p->ifname);
	free(p->name);
	if (p->wake[0] >= 0)
		close(p->wake[0]);
	if (p->wake[1] >= 0)
		close(p->wake[1]);
	net_claim_release(&p->claim);
	pthread_mutex_destroy(&p->config_lock);
	pthread_mutex_destroy(&p->op_lock);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

/* op_lock held, p->lock not. Creates or joins; when the control plane
 * still has us in a party this daemon does not hold (already_member while
 * we are idle), that party is left and the request tried once more. */
static int party_ask(struct party *p, const char *name, const char *party_id,
		     struct ctl_party *cp)
{
	char server[CTL_PARTY_ID_LEN + 1];
	int r;

	for (int tries = 0;; tries++) {
		r = name ? ctl_party_create(p->ctl, name, 0, cp) : ctl_party_join(p->ctl, party_id, cp);
		if (r != -EEXIST || tries)
			break;
		ctl_client_party_id(p->ctl, server);
		party_leave_stray(p, server[0] ? server : "?");
	}
	if (r)
		r = party_ctl_error(p, name ? "cannot create the party" : "cannot join the party", r);
	return r;
}

/* create and join: sync (register, resume) if needed, ask the control
 * plane, come up. Status says joining from the question on; p->lock is
 * never held while waiting (see party_start). */
static int party_enter(struct party *p, const char *name, const char *party_id,
		       struct party_status *out)
{
	struct ctl_party cp = { 0 };
	int r;

	party_err[0] = '\0';
	r = ctl_client_connect_now(p->ctl); /* a user waits: try now, say why not */
	if (r)
		return party_ctl_error(p, "cannot reach the control plane", r);
	pthread_mutex_lock(&p->op_lock);
	r = party_sync_locked(p);
	if (r)
		goto out;
	pthread_mutex_lock(&p->lock);
	if (p->state != PARTY_IDLE) {
		party_seterr("already in party %s (leave it first: lanrage party leave)",
			     p->party_id);
		r = -EALREADY;
	} else {
		p->state = PARTY_JOINING;
	}
	pthread_mutex_unlock(&p->lock);
	if (r)
		goto out;
	r = party_ask(p, name, party_id, &cp);
	if (r) {
		party_down(p);
		goto out;
	}
	r = party_start(p, &cp);
	if (r) {
		ctl_party_leave(p->ctl);
		goto out;
	}
	party_save_party_id(p, cp.party_id);
	if (out)
		r = party_status(p, out);
out:
	pthread_mutex_unlock(&p->op_lock);
	ctl_party_clear(&cp);
	return r;
}

int party_create(struct party *p, const char *name, struct party_status *out)
{
	if (!name || !name[0] || strlen(name) > CTL_MAX_NAME) {
		party_seterr("a party name is 1 to %d bytes", CTL_MAX_NAME);
		return -EINVAL;
	}
	return party_enter(p, name, NULL, out);
}

int party_join(struct party *p, const char *party_id, struct party_status *out)
{
	if (!party_id || !party_id[0] || strlen(party_id) > 32) {
		party_seterr("a party ID looks like ABCD-EFGH-JKMN");
		return -EINVAL;
	}
	return party_enter(p, NULL, party_id, out);
}

int party_leave(struct party *p)
{
	bool reachable;
	int r;

	party_err[0] = '\0';
	reachable = ctl_client_connect_now(p->ctl) == 0; /* a user waits: try now */
	pthread_mutex_lock(&p->op_lock);
	if (reachable)
		party_sync_locked(p); /* a stray membership is left even when we are idle */
	party_err[0] = '\0';
	r = party_leave_op(p, reachable);
	pthread_mutex_unlock(&p->op_lock);
	return r;
}

/* ---- Status -------------------------------------------------------------- */

static void party_status_from_members(struct party *p, struct party_status *out)
{
	for (size_t i = 0; i < p->n_members; i++) {
		struct conn_peer_status *m = &out->members[i];
		const struct ctl_peer *cp = &p->members[i];

		memset(m, 0, sizeof(*m));
		memcpy(m->peer_id, cp->peer_id, sizeof(m->peer_id));
		memcpy(m->name, cp->name, sizeof(m->name));
		memcpy(m->virtual_ip, cp->virtual_ip, sizeof(m->virtual_ip));
		m->nat = cp->nat;
		m->path = CONN_PATH_CONNECTING;
	}
	out->n_members = p->n_members;
}

static int party_status_locked(struct party *p, struct party_status *out)
{
	memset(out, 0, sizeof(*out));
	out->state = p->state;
	memcpy(out->party_id, p->party_id, sizeof(out->party_id));
	if (p->state == PARTY_IDLE && p->resuming[0]) {
		out->state = PARTY_JOINING; /* the stored party, until the sync */
		memcpy(out->party_id, p->resuming, sizeof(out->party_id));
	}
	memcpy(out->name, p->party_name, sizeof(out->name));
	memcpy(out->host_peer_id, p->host_id, sizeof(out->host_peer_id));
	memcpy(out->self_peer_id, p->self_id, sizeof(out->self_peer_id));
	memcpy(out->virtual_ip, p->self_ip, sizeof(out->virtual_ip));
	memcpy(out->public_key, p->keys->public_b64, sizeof(out->public_key));
	out->control_connected = p->registered && p->control_connected;
	out->control_mode = p->control_url[0] ? "remote" : "local";
	snprintf(out->self_name, sizeof(out->self_name), "%s", p->name);
	snprintf(out->control_url, sizeof(out->control_url), "%s", p->control_url);
	if (!out->control_connected)
		ctl_client_transport_error(p->ctl, out->control_error, sizeof(out->control_error));
	if (!out->control_error[0] && !p->synced && p->sync_err[0])
		snprintf(out->control_error, sizeof(out->control_error), "%s", p->sync_err);
	snprintf(out->self.nat.type, sizeof(out->self.nat.type), "unknown");
	snprintf(out->self.nat.mapping, sizeof(out->self.nat.mapping), "unknown");
	snprintf(out->self.nat.filtering, sizeof(out->self.nat.filtering), "unknown");
	if (p->state != PARTY_ACTIVE)
		return 0;
	if (p->conn) {
		conn_self_status(p->conn, &out->self);
		return conn_status(p->conn, &out->members, &out->n_members);
	}
	out->members = calloc(p->n_members ? p->n_members : 1, sizeof(*out->members));
	if (!out->members)
		return -ENOMEM;
	party_status_from_members(p, out);
	return 0;
}

int party_status(struct party *p, struct party_status *out)
{
	int r;

	pthread_mutex_lock(&p->lock);
	r = party_status_locked(p, out);
	pthread_mutex_unlock(&p->lock);
	return r;
}

void party_status_free(struct party_status *st)
{
	if (!st)
		return;
	free(st->members);
	st->members = NULL;
	st->n_members = 0;
}

/* ---- Ping ---------------------------------------------------------------- */

int party_ping_stats(struct party *p, const char *who, unsigned count, double *rtt_ms_out,
		     unsigned *received)
{
	const struct ctl_peer *m;
	char ip[16], ifname[IFNAMSIZ];
	int r;

	party_err[0] = '\0';
	pthread_mutex_lock(&p->lock);
	m = p->state == PARTY_ACTIVE ? party_member_find(p, who) : NULL;
	if (m) {
		snprintf(ip, sizeof(ip), "%s", m->virtual_ip);
		snprintf(ifname, sizeof(ifname), "%s", p->ifname);
	}
	pthread_mutex_unlock(&p->lock);
	if (!m) {
		party_seterr(p->state == PARTY_ACTIVE ? "no member '%s' in the party"
						      : "not in a party (no member '%s')",
			     who);
		return -ENOENT;
	}
	/* The lock is not held while waiting for answers. */
	r = party_ping_icmp(ifname, ip, count, 1000, rtt_ms_out, received);
	if (r == -ETIMEDOUT)
		party_seterr("no answer from %s (%s) within %u s", who, ip, count);
	else if (r)
		party_seterr("cannot ping %s: %s", ip, strerror(-r));
	return r;
}

int party_ping(struct party *p, const char *who, unsigned count, double *rtt_ms_out)
{
	unsigned received;

	return party_ping_stats(p, who, count, rtt_ms_out, &received);
}

/* ---- Settings ------------------------------------------------------------ */

int party_settings_list(struct party *p, int (*fn)(const struct config_info *info, void *arg),
			void *arg)
{
	int r;

	pthread_mutex_lock(&p->config_lock);
	r = config_list(p->config, fn, arg);
	pthread_mutex_unlock(&p->config_lock);
	return r;
}

int party_setting_get(struct party *p, const char *key, struct config_info *info_out,
		      char *value, size_t len)
{
	int r;

	pthread_mutex_lock(&p->config_lock);
	r = config_describe(p->config, key, info_out);
	if (!r)
		snprintf(value, len, "%s", info_out->value ? info_out->value : "");
	pthread_mutex_unlock(&p->config_lock);
	return r;
}

int party_setting_set(struct party *p, const char *key, const char *value, char *err,
		      size_t errlen)
{
	struct config_info info;
	bool live = config_describe(NULL, key, &info) == 0 && info.live; /* config_defs says */
	int r;

	/* the write (SQLite) holds only config_lock: conn_run and status
	 * never wait for a disk */
	pthread_mutex_lock(&p->config_lock);
	r = config_set(p->config, key, value, err, errlen);
	pthread_mutex_unlock(&p->config_lock);
	if (!r && live) {
		pthread_mutex_lock(&p->lock);
		party_disco_reload(p);
		pthread_mutex_unlock(&p->lock);
	}
	if (!r)
		log_kv(LOG_INFO, PARTY_TAG,
		       live ? "setting changed (applied now)"
			    : "setting changed (applies at the next start)",
		       LOG_STR("key", key));
	return r;
}

/* ---- The loop ------------------------------------------------------------ */

int party_run(struct party *p)
{
	while (!p->stop) {
		struct pollfd fds[3];
		int timeout = 1000;
		nfds_t n = 0;
		char buf[64];

		party_control_tasks(p);
		pthread_mutex_lock(&p->lock);
		if (!p->synced && p->sync_retry_ns) {
			uint64_t now = time_mono_ns();

			if (now >= p->sync_retry_ns) {
				p->need_sync = true;
				p->sync_retry_ns = 0;
				timeout = 0;
			} else if ((p->sync_retry_ns - now) / 1000000 < (uint64_t)timeout) {
				timeout = (int)((p->sync_retry_ns - now) / 1000000) + 1;
			}
		}
		fds[n++] = (struct pollfd){ .fd = p->wake[0], .events = POLLIN };
		/* While a party comes up, its events wait in the client's queue
		 * (party_start); it wakes us when done. */
		if (p->state != PARTY_JOINING)
			fds[n++] = (struct pollfd){ .fd = ctl_client_event_fd(p->ctl),
						    .events = POLLIN };
		if (p->conn)
			fds[n++] = (struct pollfd){ .fd = conn_fd(p->conn), .events = POLLIN };
		if (p->conn) {
			uint64_t next = conn_run(p->conn);

			if (next < (uint64_t)timeout)
				timeout = (int)next;
		}
		if (p->disco) {
			uint64_t next = party_disco_run(p);

			if (next < (uint64_t)timeout)
				timeout = (int)next;
		}
		pthread_mutex_unlock(&p->lock);
		if (poll(fds, n, timeout) < 0 && errno != EINTR) {
			log_error(PARTY_TAG, "poll: %s", strerror(errno));
			return -errno;
		}
		while (read(p->wake[0], buf, sizeof(buf)) > 0) {
		}
		pthread_mutex_lock(&p->lock);
		if (p->state != PARTY_JOINING)
			ctl_client_dispatch(p->ctl);
		pthread_mutex_unlock(&p->lock);
	}
	return 0;
}

void party_stop(struct party *p)
{
	char b = 's';

	p->stop = 1;
	if (write(p->wake[1], &b, 1) < 0) {
		/* the loop sees stop at its next turn */
	}
}
