/* ctl_wsq: see ctl_wsq.h. */
#include <errno.h>
#include <libwebsockets.h>
#include <stdlib.h>
#include <string.h>

#include "control/ctl_wsq.h"
#include "crypto/crypto.h"

struct ctl_wsq_msg {
	struct ctl_wsq_msg *next;
	size_t len;
	unsigned char buf[]; /* LWS_PRE bytes of headroom, then the text */
};

int ctl_wsq_push(struct ctl_wsq *q, const char *msg, size_t len)
{
	struct ctl_wsq_msg *m = malloc(sizeof(*m) + LWS_PRE + len);

	if (!m)
		return -ENOMEM;
	m->next = NULL;
	m->len = len;
	memcpy(m->buf + LWS_PRE, msg, len);
	if (q->tail)
		q->tail->next = m;
	else
		q->head = m;
	q->tail = m;
	q->bytes += len;
	return 0;
}

static struct ctl_wsq_msg *wsq_pop(struct ctl_wsq *q)
{
	struct ctl_wsq_msg *m = q->head;

	if (!m)
		return NULL;
	q->head = m->next;
	if (!q->head)
		q->tail = NULL;
	q->bytes -= m->len;
	return m;
}

static void wsq_free(struct ctl_wsq_msg *m)
{
	crypto_wipe(m->buf + LWS_PRE, m->len);
	free(m);
}

int ctl_wsq_write(struct ctl_wsq *q, struct lws *wsi)
{
	struct ctl_wsq_msg *m = wsq_pop(q);
	int n;

	if (!m)
		return 0;
	n = lws_write(wsi, m->buf + LWS_PRE, m->len, LWS_WRITE_TEXT);
	n = n < (int)m->len ? -EIO : 0;
	wsq_free(m);
	return n;
}

void ctl_wsq_clear(struct ctl_wsq *q)
{
	struct ctl_wsq_msg *m;

	while ((m = wsq_pop(q)))
		wsq_free(m);
}
