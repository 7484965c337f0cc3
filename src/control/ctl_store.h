/*
 * ctl_store: the control core's SQLite persistence (docs/CONTROL.md
 * "Storage"). Writes are batched: the first write opens a transaction that
 * ctl_store_commit ends, so many changes cost one fsync. Each request's
 * writes sit inside a savepoint (ctl_store_req_begin/_end), so a request that
 * fails half-way is rolled back whole while the batch goes on.
 */
#ifndef LR_CONTROL_CTL_STORE_H
#define LR_CONTROL_CTL_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "control/ctl_state.h"

enum { CTL_STORE_SCHEMA_VERSION = 2 };

struct ctl_store;

/* Opens or creates the database (WAL mode, owner-only file mode: it holds
 * token hashes and the relay ticket key) and migrates its schema. -EIO
 * when it cannot be opened or has an unknown schema version. */
int ctl_store_open(const char *path, struct ctl_store **out);
/* Commits what is pending and closes. */
void ctl_store_close(struct ctl_store *st);

/* Loads the whole state into c (peers, oldest last_seen first; parties with
 * members and remembered addresses; relays). 0, -EIO or -ENOMEM. */
int ctl_store_load(struct ctl_store *st, struct ctl_core *c);

/* Brackets one request's writes: begin opens the batch if none is open and a
 * savepoint; end(ok) releases it, end(!ok) rolls the request's writes back.
 * 0 or -EIO. */
int ctl_store_req_begin(struct ctl_store *st);
int ctl_store_req_end(struct ctl_store *st, bool ok);
/* Commits the batch if one is open. 0 or -EIO. */
int ctl_store_commit(struct ctl_store *st);
bool ctl_store_pending(const struct ctl_store *st);
/* time_mono_ns() when the open batch began. */
uint64_t ctl_store_batch_start(const struct ctl_store *st);

/* Writes; each 0 or -EIO. Must run between req_begin and req_end. */
int ctl_store_peer_put(struct ctl_store *st, const struct ctl_peer_rec *p);
int ctl_store_peer_seen(struct ctl_store *st, const char *peer_id, int64_t last_seen);
int ctl_store_party_put(struct ctl_store *st, const struct ctl_party_rec *p);
/* Deletes the party, its members and its remembered addresses. */
int ctl_store_party_del(struct ctl_store *st, const char *party_id);
int ctl_store_member_put(struct ctl_store *st, const char *party_id, const char *peer_id,
			 uint32_t vip, int64_t joined_at);
int ctl_store_member_del(struct ctl_store *st, const char *peer_id);
int ctl_store_address_put(struct ctl_store *st, const char *party_id, const uint8_t key[32],
			  uint32_t vip);
int ctl_store_relay_put(struct ctl_store *st, const struct ctl_relay_rec *r);
int ctl_store_relay_del(struct ctl_store *st, const char *relay_id);
/* Deletes the peer, its membership and the addresses remembered for key. */
int ctl_store_peer_del(struct ctl_store *st, const char *peer_id, const uint8_t key[32]);
/* The server's own secrets by name (the relay ticket key). get: 0, -ENOENT
 * when there is none, -EIO when it cannot be read or has another length.
 * put runs between req_begin and req_end like every write. */
int ctl_store_secret_put(struct ctl_store *st, const char *name, const uint8_t *value, size_t len);
int ctl_store_secret_get(struct ctl_store *st, const char *name, uint8_t *out, size_t len);

#endif
