/*
 * ctl_handlers: one function per request type of docs/CONTROL.md, run on a
 * parsed and validated request. Private to src/control/.
 */
#ifndef LR_CONTROL_CTL_HANDLERS_H
#define LR_CONTROL_CTL_HANDLERS_H

#include <jansson.h>

#include "control/ctl_proto.h"
#include "control/ctl_state.h"

/* 0 with *data the result's data object (new reference), or -1 with err
 * set; a refused request changed nothing. */
int ctl_handle_request(struct ctl_session *s, const struct ctl_req *r, json_t **data,
		       struct ctl_perr *err);

/* The peer a REST "Bearer PEER_ID:TOKEN" header names, or NULL. */
struct ctl_peer_rec *ctl_auth_bearer(struct ctl_core *c, const char *authorization);

#endif
