/*
 * relay_opts: lanrage-relay's command line and its static key file.
 */
#ifndef LR_RELAY_OPTS_H
#define LR_RELAY_OPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wg/wg.h"

struct relay_opts {
	struct wg_endpoint listen; /* relay frames; default 0.0.0.0:51821 */
	struct wg_endpoint stun[2];
	size_t n_stun; /* 0 with --no-stun */
	uint64_t stun_alt_port; /* 0: port + 1 */
	const char *key_file; /* NULL: ephemeral key */
	uint32_t lifetime_s;
	uint64_t rate_pps, rate_bytes;
	uint32_t max_bindings, max_per_ip;
	const char *control_url, *public_endpoint, *name;
	const char *metrics_listen; /* --metrics-listen ADDR:PORT; NULL: none */
	const char *control_pin; /* "sha256/BASE64", NULL: system CA store */
	bool control_insecure; /* allow ws:// */
	/* The relay secret, from --relay-secret-file or LANRAGE_RELAY_SECRET
	 * (never argv); owned, wiped by relay_opts_free; NULL without --control. */
	char *secret;
	uint8_t ticket_key[32]; /* --ticket-key */
	bool has_ticket_key;
	bool no_tickets;
};

/* 0 to run, 1 when --help or --version was printed, 2 on bad usage (one
 * line printed). relay_opts_free afterwards in every case. */
int relay_opts_parse(int argc, char **argv, struct relay_opts *o);
/* Wipes and frees the secret. */
void relay_opts_free(struct relay_opts *o);
/* Says in one line on stderr that a socket could not be opened: what it is
 * for ("for relay frames"), its address, errno err and the option that
 * changes it. */
void relay_opts_listen_failed(const char *what, const char *name, int err, const char *flag);

/* Reads the base64 X25519 private key at path, or creates it (0600) with a
 * new key when path does not exist; path NULL makes an ephemeral key.
 * *created says which. 0 or a negative errno (logged here). */
int relay_key_load(const char *path, uint8_t priv[32], bool *created);

#endif
