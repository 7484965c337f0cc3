/*
 * ctl_wsq: a FIFO of outgoing WebSocket messages, each stored with the
 * LWS_PRE bytes of headroom lws_write needs, so a message is copied once
 * when queued and written in place from the WRITEABLE callback. Shared by
 * lanrage-control and the remote client. Not locked: the owner decides.
 * Messages may hold tokens or secrets: they are wiped when freed.
 */
#ifndef LR_CONTROL_CTL_WSQ_H
#define LR_CONTROL_CTL_WSQ_H

#include <stdbool.h>
#include <stddef.h>

struct ctl_wsq_msg;
struct lws;

struct ctl_wsq {
	struct ctl_wsq_msg *head, *tail;
	size_t bytes; /* text bytes queued */
};

/* Copies len bytes of msg to the tail. 0 or -ENOMEM. */
int ctl_wsq_push(struct ctl_wsq *q, const char *msg, size_t len);
/* Writes the head as one text frame and frees it: 0 when nothing was
 * queued or it was written whole, -EIO when lws_write failed. */
int ctl_wsq_write(struct ctl_wsq *q, struct lws *wsi);
void ctl_wsq_clear(struct ctl_wsq *q);

static inline bool ctl_wsq_empty(const struct ctl_wsq *q)
{
	return !q->head;
}

#endif
