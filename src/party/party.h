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

#include "conn/conn.h"
#include "control/control.h"

struct party_config {
	const char *state_dir;
	const char *control_url;        /* NULL or "": local mode */
	const char *ifname;             /* lanrage0 */
	unsigned mtu;                   /* 1420 */
	uint16_t listen_port;           /* 51820 */
	const char *name;               /* display name (default: hostname) */
	struct conn_config conn;        /* thresholds (net/ctl/keys filled in by party) */
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
	bool control_connected;
	const char *control_mode;       /* "local" or "remote" */
	struct conn_self_status self;
	struct conn_peer_status *members; /* the others; malloc'd */
	size_t n_members;
};

struct party;

int party_new(const struct party_config *cfg, struct party **out);
/* Leaves the party (telling the control plane), removes the interface. */
void party_free(struct party *p);

int party_create(struct party *p, const char *name, struct party_status *out);
int party_join(struct party *p, const char *party_id, struct party_status *out);
int party_leave(struct party *p);
int party_status(struct party *p, struct party_status *out);
void party_status_free(struct party_status *st);
/* In-tunnel latency to a member (peer ID, name or virtual IP). */
int party_ping(struct party *p, const char *who, unsigned count, double *rtt_ms_out);

/* Runs the control loop until party_stop. */
int party_run(struct party *p);
void party_stop(struct party *p); /* async-signal-safe */

#endif
