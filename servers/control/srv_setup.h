/*
 * srv_setup: lanrage-control's start-up checks, apart from the serving loop
 * (lanrage_control.c): where TLS comes from, and whether the listen address
 * can be taken. Each failure is said once, on stderr or in the log, here.
 */
#ifndef LR_SRV_SETUP_H
#define LR_SRV_SETUP_H

#include <stdbool.h>

#define SRV_TAG "control"

/* Where TLS comes from: files given on the command line, the self-signed
 * pair beside the database, or nothing (--insecure). */
struct srv_tls {
	bool insecure;
	char *cert, *key; /* owned; the caller frees */
	bool generated;   /* self-signed, beside the database */
};

/* Resolves where the certificate comes from, making the self-signed pair on
 * first start, and logs the pin (prints it with print_pin). 0, or the exit
 * status (2 bad usage, 1 failure). */
int srv_tls_setup(struct srv_tls *t, const char *cert, const char *key, const char *db_path,
		  bool print_pin);

/* ADDR "", "0.0.0.0" or "::": every address. */
bool srv_listen_any(const char *addr);
/* Takes ADDR:PORT as lws will and lets it go, so a port in use (or an
 * address not on this host) stops the server before the database is
 * touched. 0, or 1 (the exit status) with the reason printed. */
int srv_probe_listen(const char *addr, int port);
/* The one line on stderr for a listen address that cannot be taken: names
 * it and --listen; err 0 when lws did not say why. */
void srv_listen_failed(const char *addr, int port, int err);

#endif
