/*
 * ctl_metrics: the control core's request counters and latency histograms,
 * rendered with its other statistics by ctl_core_metrics (docs/METRICS.md
 * "lanrage-control"). Private to src/control/; embedded in struct ctl_core
 * and, like it, touched by one thread.
 *
 * A request's type is a protocol request (enum ctl_req_type), a message that
 * did not parse far enough to have one (CTL_MT_INVALID), or a REST route.
 */
#ifndef LR_CONTROL_CTL_METRICS_H
#define LR_CONTROL_CTL_METRICS_H

#include <stdint.h>

#include "control/ctl_proto.h"
#include "metrics/prom.h"

enum ctl_metrics_type {
	CTL_MT_INVALID = CTL_REQ_COUNT,
	CTL_MT_REST_HEALTH,
	CTL_MT_REST_RELAYS,
	CTL_MT_REST_PARTY,
	CTL_MT_REST_PEER,
	CTL_MT_REST_OTHER,
	CTL_MT_COUNT,
};

struct ctl_metrics {
	uint64_t requests[CTL_MT_COUNT][CTL_E_COUNT]; /* [type][result]; CTL_OK is ok */
	struct prom_hist duration[CTL_MT_COUNT];      /* seconds */
	struct prom_hist store_commit;                /* seconds */
	uint64_t rate_limited, too_large;
};

void ctl_metrics_init(struct ctl_metrics *m);
/* One request of type t answered with result e (CTL_OK), begun at start_ns
 * (time_mono_ns). */
void ctl_metrics_request(struct ctl_metrics *m, unsigned t, enum ctl_err e, uint64_t start_ns);
/* The REST type of a request path. */
unsigned ctl_metrics_rest_type(const char *path);

#endif
