/*
 * relay_metrics: lanrage-relay's Prometheus text (docs/METRICS.md
 * "lanrage-relay"): every counter of struct relay_stats, the bindings, the
 * STUN server's counters and the process. Rendered on the relay's thread,
 * which owns the counters, and handed to metrics_http.
 */
#ifndef LR_RELAY_METRICS_H
#define LR_RELAY_METRICS_H

#include "relay_core.h"
#include "relay_stun.h"

/* A new string (caller frees) or NULL on allocation failure. */
char *relay_metrics_render(const struct relay_core *c, const struct relay_stun *stun);

#endif
