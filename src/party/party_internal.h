/*
 * party_internal: the PartyManager's state, shared by its files (party.c:
 * lifecycle and requests; party_members.c: the member list and control-plane
 * events; party_creds.c: the files it keeps in the state directory;
 * party_ping.c: in-tunnel ICMP echo).
 *
 * Locking: p->lock protects every field but wake[] and stop, which the run
 * loop and signal handlers use without it. It is held only for moments:
 * never while waiting on the control plane, on ICMP answers (party_ping),
 * for an interface to come up or go, or for conn's first netcheck, so
 * status, settings and the control thread (conn_run) never wait behind a
 * create, join or leave. p->op_lock, taken before p->lock, serializes what
 * changes our membership: the sync at start, create, join and leave. The
 * state and what comes with it (net, conn, the party's IDs) change only
 * with both held, so an op_lock holder reads them without p->lock.
 * p->config_lock, taken last, guards the settings (config_get's strings
 * live until the next config_set): a setting's SQLite write holds only it.
 */
#ifndef LR_PARTY_INTERNAL_H
#define LR_PARTY_INTERNAL_H

#include <pthread.h>
#include <signal.h>

#include "config/config.h"
#include "disco/disco.h"
#include "net/net.h"
#include "party/party.h"

#define PARTY_TAG "party"
#define PARTY_VERSION LANRAGE_VERSION
#define PARTY_CREDS_FILE "control.json"
#define PARTY_LOCAL_DB "control.db"
#define PARTY_SYNC_RETRY_MS 5000 /* a failed sync is tried again this often */

struct party {
	pthread_mutex_t lock;
	pthread_mutex_t op_lock;
	pthread_mutex_t config_lock;
	/* Configuration, fixed after party_new. */
	char *state_dir, *control_url, *ifname, *name;
	char *control_pin; /* "" verifies the control server against the CA store */
	bool control_insecure;
	unsigned mtu, prefix;
	uint16_t listen_port;
	char **stun;              /* from cfg or the stun_servers setting, else */
	size_t n_stun;            /* the relays' hosts (refreshed per party) */
	bool stun_from_relays;
	struct conn_config conn_cfg; /* thresholds; net/ctl/keys set per party */

	struct net_claim claim;   /* interface name and UDP port, held until exit */
	struct net_keys *keys;
	struct config *config;
	struct ctl_local *local;  /* local mode only */
	struct ctl_client *ctl;
	bool registered;          /* written under both locks */
	bool synced;              /* membership reconciled since start; both locks */
	bool need_sync;           /* party_run should try the sync (again) */
	char stray[CTL_PARTY_ID_LEN + 1]; /* the control plane has us in it, we do not */
	char resuming[CTL_PARTY_ID_LEN + 1]; /* the stored party, until the sync */
	char sync_err[PARTY_ERR_MAX]; /* why the last sync failed, until one succeeds */
	uint64_t sync_retry_ns;   /* monotonic time of the next try; 0 none due */
	char self_id[CTL_ID_LEN + 1];

	/* The current party; members excludes ourselves. */
	enum party_state state;
	char party_id[CTL_PARTY_ID_LEN + 1];
	char party_name[CTL_MAX_NAME + 1];
	char host_id[CTL_ID_LEN + 1];
	char self_ip[16];
	struct ctl_peer *members;
	size_t n_members;
	bool control_connected;
	struct net *net;
	struct conn *conn;
	struct disco *disco;      /* LAN discovery, while in a party */
	bool disco_dirty;         /* members changed since the last sync */
	uint64_t disco_synced_ms;
	char disco_error[128];

	int wake[2];              /* self-pipe: wakes party_run (stop, new conn fd) */
	volatile sig_atomic_t stop;
};

/* party.c: a relay's STUN server, the standard port on the relay's host
 * ("HOST:3478" in out); -EINVAL for an endpoint without a port. */
int party_relay_stun(const struct ctl_relay *relay, char *out, size_t len);

/* party_members.c */
void party_members_clear(struct party *p);
/* Takes the members of cp but ourselves, handing each to conn when it runs. */
int party_members_set(struct party *p, const struct ctl_party *cp);
/* Brings members and conn in line with cp (a resync): adds the missing,
 * removes the gone, updates the changed. */
void party_members_reconcile(struct party *p, const struct ctl_party *cp);
void party_on_event(void *arg, const struct ctl_event *ev);
const struct ctl_peer *party_member_find(const struct party *p, const char *who);

/* party_disco.c: LAN discovery; lock held. A failure to start leaves the
 * party up without it (the status says why). */
void party_disco_start(struct party *p, struct in_addr self_ip);
void party_disco_stop(struct party *p);
void party_disco_sync(struct party *p);
/* Syncs the members when due; returns ms until it is due again. */
uint64_t party_disco_run(struct party *p);
/* The lan_discovery settings changed: apply them now. */
void party_disco_reload(struct party *p);

/* party_creds.c: the control-plane credentials and last party, 0600. */
struct party_creds {
	char control[256];        /* "local" or the URL they belong to */
	char peer_id[CTL_ID_LEN + 1];
	char token[128];          /* secret */
	char party_id[CTL_PARTY_ID_LEN + 1];
};
int party_creds_load(const char *state_dir, struct party_creds *out);
int party_creds_save(const char *state_dir, const struct party_creds *c);
void party_creds_wipe(struct party_creds *c);

/* party_ping.c: one ICMP echo round over the interface; -ETIMEDOUT. */
int party_ping_icmp(const char *ifname, const char *ip, unsigned count, unsigned timeout_ms,
		    double *rtt_ms_out, unsigned *received);

#endif
