/*
 * party: the PartyManager. It joins the control plane (local or remote),
 * creates, joins and leaves parties, keeps the member list in step with the
 * control plane's events (and its resync after a reconnect), brings the
 * interface up with the virtual IP the party gave us, and hands members to
 * the ConnectionManager.
 *
 * Threading: one control thread runs party_run(); API threads call the other
 * functions, which take the party lock.
 */
#ifndef LR_PARTY_PARTY_H
#define LR_PARTY_PARTY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "conn/conn.h"
#include "control/control.h"
#include "disco/disco.h"

enum { PARTY_ERR_MAX = 512 };

/* NULL / 0 fields take the value of the setting in STATE_DIR/lanrage.db
 * (control_server, name, interface, mtu, listen_port, stun_servers,
 * thresholds); `lanrage daemon` saves its flags as those settings first. */
struct party_config {
	const char *state_dir;
	const char *control_url;        /* NULL: setting control_server; "" or "local": local */
	const char *control_pin;        /* NULL: setting control_pin */
	bool control_insecure;          /* allow ws:// (or setting control_insecure) */
	const char *ifname;             /* lanrage0 */
	unsigned mtu;                   /* 1420 */
	int listen_port;                /* < 0: setting (51820); 0 = any free port */
	const char *name;               /* display name (default: hostname) */
	/* stun_servers used when n_stun_servers > 0; the thresholds always come
	 * from the settings (net/ctl/keys filled in by party). */
	struct conn_config conn;
};

enum party_state {
	PARTY_IDLE,         /* not in a party */
	PARTY_JOINING,
	PARTY_ACTIVE,
	PARTY_LEAVING,
};

struct party_status {
	enum party_state state;
	char party_id[CTL_PARTY_ID_LEN + 1];
	char name[CTL_MAX_NAME + 1];
	char host_peer_id[CTL_ID_LEN + 1];
	char self_peer_id[CTL_ID_LEN + 1];
	char virtual_ip[16];
	char public_key[45];
	char self_name[CTL_MAX_NAME + 1]; /* our display name */
	bool control_connected;
	const char *control_mode;       /* "local" or "remote" */
	char control_url[256];          /* "" in local mode */
	char control_error[PARTY_ERR_MAX]; /* why the control plane is unreachable, or "" */
	struct conn_self_status self;
	struct conn_peer_status *members; /* the others; malloc'd */
	size_t n_members;
};

struct party;

/* Loads (or creates) keys and settings, claims the interface name and UDP
 * port against other daemons (a conflict fails here, with the fix in
 * party_last_error), and opens the control plane, without waiting for it:
 * party_run then registers (or re-authenticates with the stored token) and
 * syncs our membership with the control plane's: the stored party (after a
 * crash) is resumed, any other party the control plane still has us in is
 * left. Until then status says "joining" the stored party. A control
 * server that cannot be reached is not fatal: the sync is retried when it
 * connects, and on create/join/leave. */
int party_new(const struct party_config *cfg, struct party **out);
/* Leaves the party (telling the control plane), removes the interface. */
void party_free(struct party *p);

/* Errors: -EALREADY in a party already, -ENOENT no such party, -ENOSPC full,
 * -ENOTCONN control plane unreachable, -EPERM no privilege for the interface,
 * -EINVAL bad name or ID; party_last_error() has the message. */
int party_create(struct party *p, const char *name, struct party_status *out);
int party_join(struct party *p, const char *party_id, struct party_status *out);
int party_leave(struct party *p); /* -ENOENT when in no party */
int party_status(struct party *p, struct party_status *out);
void party_status_free(struct party_status *st);
/* In-tunnel latency to a member (peer ID, name or virtual IP). */
int party_ping(struct party *p, const char *who, unsigned count, double *rtt_ms_out);

/* In-tunnel latency by ICMP echo; *received counts the answers. */
int party_ping_stats(struct party *p, const char *who, unsigned count, double *rtt_ms_out,
		     unsigned *received);
/* The message of the last failed call ("" when none). */
void party_last_error(struct party *p, char *buf, size_t len);
const char *party_state_name(enum party_state s);

/* LAN discovery: its state and counters (also when not in a party), and
 * the games seen across the party (*out malloc'd, caller frees). */
int party_disco_status(struct party *p, struct disco_status *out);
int party_games(struct party *p, struct disco_game_seen **out, size_t *n);

/* party_netcheck.c: a NAT check now, for `lanrage netcheck` on a daemon in no
 * party (in a party, party_status's self holds the WireGuard socket's
 * report). It runs from a free UDP port (not the listen port, whose NAT
 * filter it would open for the party's own check), against the stun_servers
 * setting or else the control plane's relays (*from_relays), without holding
 * the party lock; up to a few seconds. Errors, with the
 * message in err: -ENOTCONN the control plane cannot be asked, -ENOENT no
 * STUN server to ask, -EBUSY a party is coming up or going down,
 * -EHOSTUNREACH no server resolved, other negative errno. */
struct netcheck_report;
int party_netcheck_idle(struct party *p, struct netcheck_report *rep, bool *from_relays,
			char *err, size_t errlen);

/* Settings: fn is called under the party lock for each (config_list). */
int party_settings_list(struct party *p, int (*fn)(const struct config_info *info, void *arg),
			void *arg);
int party_setting_get(struct party *p, const char *key, struct config_info *info_out,
		      char *value, size_t len);
/* config_set's errors; err gets the message. */
int party_setting_set(struct party *p, const char *key, const char *value, char *err,
		      size_t errlen);

/* Writes STATE_DIR/name whole (temporary file, fsync, rename), mode 0600. */
int party_write_private(const char *dir, const char *name, const char *text);

/* Runs the control loop until party_stop. */
int party_run(struct party *p);
void party_stop(struct party *p); /* async-signal-safe */

#endif
