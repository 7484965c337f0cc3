/*
 * netcheck: what the player's NAT does, found with STUN (RFC 8489) and the
 * RFC 5780 behaviour-discovery tests, reported as mapping and filtering
 * behaviour plus the classic RFC 3489 name.
 *
 * The check runs over any UDP transport (struct netcheck_io): its own socket
 * for `lanrage netcheck` without a daemon, or the WireGuard device's socket
 * (requests sent with wg_loop_send_raw, answers arriving through the device's
 * receive hook) so the mapping found is the one WireGuard traffic uses.
 *
 * netcheck_run blocks the calling thread for at most the configured timeout
 * (plus name resolution); run it off any loop that must stay responsive.
 * What could not be determined is reported as unknown with a note, never guessed.
 */
#ifndef LR_NAT_NETCHECK_H
#define LR_NAT_NETCHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "nat/rxq.h"
#include "wg/wg.h"

#define NETCHECK_MAX_SERVERS 8
#define NETCHECK_MAX_PUBLIC 16
#define NETCHECK_MAX_NOTES 8
#define NETCHECK_NOTE_LEN 200
#define NETCHECK_DEFAULT_TIMEOUT_MS 5000

enum nat_behavior {
	NAT_BEHAVIOR_UNKNOWN = 0,
	NAT_BEHAVIOR_ENDPOINT_INDEPENDENT,
	NAT_BEHAVIOR_ADDRESS_DEPENDENT,
	NAT_BEHAVIOR_ADDRESS_PORT_DEPENDENT,
};

enum nat_type {
	NAT_TYPE_UNKNOWN = 0,
	NAT_TYPE_OPEN,
	NAT_TYPE_FULL_CONE,
	NAT_TYPE_RESTRICTED_CONE,
	NAT_TYPE_PORT_RESTRICTED_CONE,
	NAT_TYPE_SYMMETRIC,
	NAT_TYPE_UDP_BLOCKED,
};

/* Tri-state for facts that may not be testable. */
enum nc_bool { NC_UNKNOWN = -1, NC_NO = 0, NC_YES = 1 };

struct netcheck_server {
	char name[256]; /* as the caller gave it */
	bool resolved;
	struct wg_endpoint addr;
	bool answered;
	double rtt_ms; /* < 0 when not answered */
	char error[128]; /* empty when answered */
	struct wg_endpoint mapped;
	bool has_other; /* RFC 5780 OTHER-ADDRESS offered */
	struct wg_endpoint other;
	char software[64];
};

struct netcheck_report {
	enum nat_type type;
	enum nat_behavior mapping;
	enum nat_behavior filtering;
	enum nc_bool behind_nat;
	enum nc_bool mapping_varies; /* different servers saw different mappings */
	enum nc_bool hairpinning;
	bool has_local;
	struct wg_endpoint local; /* our address toward the first server, and our port */
	struct wg_endpoint public_eps[NETCHECK_MAX_PUBLIC];
	size_t n_public;
	struct netcheck_server servers[NETCHECK_MAX_SERVERS];
	size_t n_servers;
	char notes[NETCHECK_MAX_NOTES][NETCHECK_NOTE_LEN];
	size_t n_notes;
	double duration_ms;
};

/* A UDP transport. recv returns the datagram length, -EAGAIN when nothing is
 * waiting, or another negative errno for an ICMP error about a datagram we
 * sent to *src (the socket transport reports these; others need not). */
struct netcheck_io {
	void *ctx;
	int fd; /* readable when recv has something */
	uint16_t local_port;
	int (*send)(void *ctx, const struct wg_endpoint *dst, const uint8_t *buf, size_t len);
	ssize_t (*recv)(void *ctx, uint8_t *buf, size_t cap, struct wg_endpoint *src);
};

struct netcheck_config {
	const char *servers[NETCHECK_MAX_SERVERS]; /* "HOST", "HOST:PORT", "[V6]:PORT" */
	size_t n_servers;
	unsigned timeout_ms; /* whole check; 0 = NETCHECK_DEFAULT_TIMEOUT_MS */
	bool skip_hairpin;
};

/* Runs the check. Returns 0 with a report (which may say UDP is blocked), or
 * -EINVAL when no server was given, -EHOSTUNREACH when none could be resolved
 * (the report then holds the per-server errors). */
int netcheck_run(const struct netcheck_config *cfg, const struct netcheck_io *io,
		 struct netcheck_report *rep);

/* The standalone transport: one dual-stack UDP socket on port (0 = any) with
 * ICMP errors reported. */
struct netcheck_socket {
	int fd;
	bool v6;
	struct netcheck_io io;
};
int netcheck_socket_open(struct netcheck_socket *s, uint16_t port);
void netcheck_socket_close(struct netcheck_socket *s);

/* The WireGuard transport: requests leave through wg_loop_send_raw and answers
 * come back through the loop's receive hook (installed by open, removed by close). */
struct netcheck_wg {
	struct wg_loop *loop;
	struct rxq rxq; /* hook -> checker, one datagram per received packet */
	struct netcheck_io io;
};
int netcheck_wg_open(struct netcheck_wg *w, struct wg_loop *loop, uint16_t listen_port);
void netcheck_wg_close(struct netcheck_wg *w);

const char *nat_type_name(enum nat_type t);
const char *nat_behavior_name(enum nat_behavior b);

/* Output. text: human-readable lines; json: one object (caller frees). */
char *netcheck_report_text(const struct netcheck_report *rep);
char *netcheck_report_json(const struct netcheck_report *rep);

#endif
