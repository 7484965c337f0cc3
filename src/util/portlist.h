/*
 * portlist: the port-list syntax of the LAN discovery settings, parsed in one
 * place for the settings' validation (config/) and the discovery engine
 * (disco/):
 *   lan_discovery_ports         "4000,7777-7780,239.1.2.3:5000"
 *                               (PORT, LO-HI, or MULTICAST-GROUP:PORT[-HI])
 *   lan_discovery_mode          "27960-27963=native,4445=unicast"
 *   lan_discovery_allow_system  "5353,1900"
 * Entries are separated by commas (spaces around them are ignored; an empty
 * entry, a trailing comma included, is an error); ports are 1..65535,
 * LO <= HI; at most PORTLIST_MAX entries. What a group means is the
 * caller's (disco_table.h). Pure: no I/O.
 */
#ifndef LR_UTIL_PORTLIST_H
#define LR_UTIL_PORTLIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	PORTLIST_MAX = 32,
	PORTLIST_GROUPS = 1 << 0, /* GROUP:PORT entries allowed */
	PORTLIST_MODES = 1 << 1,  /* every entry needs =unicast or =native */
};

enum portlist_mode { PORTLIST_MODE_NONE, PORTLIST_MODE_UNICAST, PORTLIST_MODE_NATIVE };

struct portlist_entry {
	uint16_t lo, hi;
	uint32_t group; /* IPv4 multicast group, network order; 0 = none named */
	enum portlist_mode mode;
};

struct portlist {
	struct portlist_entry e[PORTLIST_MAX];
	size_t n;
};

/* Parses s (NULL or "" = empty list). On error returns -EINVAL with a
 * message naming the bad entry in err, and leaves *out empty. */
int portlist_parse(struct portlist *out, const char *s, unsigned flags, char *err,
		   size_t errlen);
/* Writes l in canonical form (no spaces, "PORT" for a one-port range);
 * -ENOSPC when it does not fit cap. */
int portlist_format(const struct portlist *l, char *buf, size_t cap);
/* The first entry whose range holds port, or NULL. */
const struct portlist_entry *portlist_find(const struct portlist *l, uint16_t port);

#endif
