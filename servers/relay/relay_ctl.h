/*
 * relay_ctl: registration with the control server. Control requests block
 * (src/control/control.h), so they run on their own thread and never stall
 * forwarding: the thread registers (retrying with backoff), then heartbeats
 * every RELAY_CTL_HEARTBEAT_S with the binding count the loop publishes, and
 * registers again when a heartbeat is refused (the server lost its state).
 * A registration refused as unauthorized (a wrong relay secret) is final:
 * the thread logs it and ends, and relay_ctl_refused tells the loop.
 * Each registration answer carries the control server's ticket public key;
 * the loop picks it up with relay_ctl_ticket_key (no request, no wait).
 */
#ifndef LR_RELAY_CTL_H
#define LR_RELAY_CTL_H

#include <stdbool.h>
#include <stdint.h>

#define RELAY_CTL_HEARTBEAT_S 20

struct relay_ctl;

struct relay_ctl_opts {
	const char *url, *secret, *name, *endpoint; /* copied */
	const char *pin; /* copied; NULL: system CA store */
	bool insecure; /* allow ws:// */
	uint8_t public_key[32];
};

/* Starts the thread. 0 or a negative errno. */
int relay_ctl_start(const struct relay_ctl_opts *o, struct relay_ctl **out);
/* The load reported by the next heartbeat. */
void relay_ctl_set_bindings(struct relay_ctl *r, uint64_t bindings);
/* Copies the ticket key of the latest registration into key and returns
 * true when it differs from the one last returned (false: none yet, or no
 * change). Called by the loop; takes the lock briefly. */
bool relay_ctl_ticket_key(struct relay_ctl *r, uint8_t key[32]);
/* True once the server refused our relay secret (the thread has ended; the
 * relay should exit). Called by the loop; takes the lock briefly. */
bool relay_ctl_refused(struct relay_ctl *r);
/* Stops the thread (waits for a request under way) and frees; NULL is fine. */
void relay_ctl_stop(struct relay_ctl *r);

#endif
