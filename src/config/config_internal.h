/* config_internal: the settings table and value validation, private to src/config/. */
#ifndef LR_CONFIG_INTERNAL_H
#define LR_CONFIG_INTERNAL_H

#include "config/config.h"

/* flags */
#define CONFIG_F_EMPTY_OK 0x1 /* "" is a valid value (meaning: none / off) */
#define CONFIG_F_LOOPBACK 0x2 /* endpoint must be 127.0.0.0/8 or ::1 */
#define CONFIG_F_LIVE 0x4     /* the daemon applies a change at once (else at its next start) */

struct config_def {
	const char *key;
	enum config_type type;
	const char *def;
	const char *allowed;
	const char *description;
	unsigned flags;
	/* CONFIG_INT: value range; CONFIG_CIDR: prefix range; CONFIG_ENDPOINT: port range. */
	long long min, max;
	/* CONFIG_ENUM: the words, NULL-terminated. */
	const char *const *words;
	/* CONFIG_STRING: the setting's rule; writes the canonical form into canon. */
	int (*check)(const char *in, char *canon, size_t cap, char *err, size_t errlen);
	/* CONFIG_INT: keys whose current value this one must not exceed / fall below. */
	const char *not_above, *not_below;
};

extern const struct config_def config_defs[];
extern const size_t config_ndefs;

const struct config_def *config_def_find(const char *key);

/*
 * Checks in against d's type and rule and writes its canonical form into canon
 * (CONFIG_VALUE_MAX bytes). Returns 0, or -EINVAL with "KEY: reason" in err.
 * Cross-setting rules (not_above, not_below) are the caller's: they need values.
 */
int config_validate(const struct config_def *d, const char *in, char canon[CONFIG_VALUE_MAX],
		    char *err, size_t errlen);

/* The rules of the CONFIG_STRING settings. */
int config_check_ifname(const char *in, char *canon, size_t cap, char *err, size_t errlen);
/* A control server key pin, "sha256/" + base64 of 32 bytes. */
int config_check_name(const char *in, char *canon, size_t cap, char *err, size_t errlen);
int config_check_pin(const char *in, char *canon, size_t cap, char *err, size_t errlen);
int config_check_hostlist(const char *in, char *canon, size_t cap, char *err, size_t errlen);
/* The LAN discovery port lists (util/portlist.h), written back canonical. */
int config_check_disco_ports(const char *in, char *canon, size_t cap, char *err, size_t errlen);
int config_check_disco_modes(const char *in, char *canon, size_t cap, char *err, size_t errlen);
int config_check_disco_allow(const char *in, char *canon, size_t cap, char *err, size_t errlen);

#endif
