/*
 * platform_caps_linux: least privilege for the daemon (libcap).
 *
 * The daemon starts as root (or with file capabilities) because it creates
 * and configures interfaces, but most of what it does afterwards is parse
 * network input: control messages, probes, relay frames, LAN discovery
 * packets. platform_drop_capabilities keeps only what those later steps need
 * and makes sure nothing can hand the rest back.
 *
 * Capabilities are per thread: this must run before the process starts any
 * thread, and every thread started later inherits the reduced sets.
 */
#include <errno.h>
#include <linux/capability.h>
#include <stdio.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>

#include "log/log.h"
#include "platform/platform.h"

/* Why each one stays (docs/NET.md, "Least privilege"). */
static const cap_value_t platform_keep[] = {
	CAP_NET_ADMIN, /* TUN, rtnetlink links/addresses/routes, fwmark, kernel WireGuard */
	CAP_NET_RAW,   /* LAN discovery: AF_PACKET tap and raw IP sends; ICMP ping */
	CAP_BPF,       /* the TUN's per-CPU steering program (multi-queue); optional */
};

static bool kept(cap_value_t c)
{
	for (size_t i = 0; i < sizeof(platform_keep) / sizeof(platform_keep[0]); i++)
		if (platform_keep[i] == c)
			return true;
	return false;
}

/* The bounding set limits what any later execve (of anything, as root) can
 * get back. Reducing it needs CAP_SETPCAP, which a daemon started with file
 * capabilities only does not have: then its permitted set is all it has and
 * the bounding set is left as it is. */
static void drop_bounding(void)
{
	int max = (int)cap_max_bits();

	for (cap_value_t c = 0; c < max; c++) {
		if (kept(c) || CAP_IS_SUPPORTED(c) != 1)
			continue;
		if (cap_drop_bound(c)) {
			log_debug("platform", "bounding set left as is: %s", strerror(errno));
			return;
		}
	}
}

int platform_drop_capabilities(void)
{
	cap_t cur = cap_get_proc(), next = cap_init();
	cap_value_t keep[sizeof(platform_keep) / sizeof(platform_keep[0])];
	int n = 0, ret = 0;

	if (!cur || !next) {
		ret = -errno;
		goto out;
	}
	/* no setuid binary or file capability can raise us again */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) {
		ret = -errno;
		goto out;
	}
	drop_bounding(); /* while CAP_SETPCAP is still effective */
	for (size_t i = 0; i < sizeof(platform_keep) / sizeof(platform_keep[0]); i++) {
		cap_flag_value_t v = CAP_CLEAR;

		/* only what we hold: an older kernel may not know CAP_BPF */
		if (CAP_IS_SUPPORTED(platform_keep[i]) == 1 &&
		    !cap_get_flag(cur, platform_keep[i], CAP_PERMITTED, &v) && v == CAP_SET)
			keep[n++] = platform_keep[i];
	}
	if ((n && (cap_set_flag(next, CAP_PERMITTED, n, keep, CAP_SET) ||
		   cap_set_flag(next, CAP_EFFECTIVE, n, keep, CAP_SET))) ||
	    cap_set_proc(next)) {
		ret = -errno;
		goto out;
	}
	if (CAP_AMBIENT_SUPPORTED())
		(void)cap_reset_ambient(); /* empty already unless inherited */
out:
	if (ret)
		log_error("platform", "cannot drop capabilities: %s", strerror(-ret));
	cap_free(cur);
	cap_free(next);
	return ret;
}
