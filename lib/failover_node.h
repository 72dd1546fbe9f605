/*
 * failover_node.h - the failover core's host inside a node (failover.h,
 * "Host contract"): it builds the core from the node's options and state
 * file, drives it from a timer on the I/O thread, carries its messages
 * over authenticated peer links (a mesh: one outgoing link to every known
 * node), executes its actions on the replication layer (promote, follow,
 * detach, pause writes, count acks) and surfaces its events through the
 * application's callbacks and the log.
 *
 * Threads: everything runs on the node's I/O thread except the calls
 * marked "any thread", which read a snapshot under the host's lock.
 */
#ifndef RKV_FAILOVER_NODE_H
#define RKV_FAILOVER_NODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "repl.h"

typedef struct rkv_fonode rkv_fonode;

/* replkv_open, before the I/O thread starts and after the state file was
 * read (rkv_pnode_open): validates the failover options and allocates the
 * host when "sentinel monitor" is set (kv->fon stays NULL otherwise).
 * Returns 0; REPLKV_EINVAL naming the option; REPLKV_ENOMEM. */
int rkv_fonode_init(replkv_t *kv, const replkv_opts *o);

/* I/O thread, from rkv_repl_start: creates the core and starts its timer. */
int rkv_fonode_start(replkv_t *kv);

/* I/O thread, on close: stops the timer and closes the peer links. */
void rkv_fonode_stop(replkv_t *kv);

/* After the thread joined. NULL-safe. */
void rkv_fonode_free(replkv_t *kv);

static inline bool rkv_fonode_on(const replkv_t *kv)
{
    return kv->fon != NULL;
}

/* A failover frame (rkv_fo_msg_is_failover) on an authenticated link. */
void rkv_fonode_on_frame(rkv_link *l, const uint8_t *payload, size_t len);

/* An outgoing peer link finished its handshake, or closed. */
void rkv_fonode_link_authed(rkv_link *l);
void rkv_fonode_link_closed(rkv_link *l);

/* The secret an outgoing peer link proves (sentinel auth-pass, else
 * masterauth, else requirepass). */
void rkv_fonode_secret(replkv_t *kv, char *out, size_t cap);

/* I/O thread: whether a replication link that authenticated peer_id may
 * sync from it: with failover on, only from the primary the configuration
 * names (a node restarted empty at its address must not hand its empty
 * keyspace to anyone). True with failover off or no id known yet. */
bool rkv_fonode_may_sync_from(replkv_t *kv, const char *peer_id);

/* I/O thread: a replica's link acknowledged offset (a manual failover may
 * be waiting for it). */
void rkv_fonode_replica_acked(rkv_link *l, int64_t offset);

/* I/O thread: whether this node may serve a replica (with failover on,
 * only the primary does). */
bool rkv_fonode_may_serve(replkv_t *kv);

/* Any thread: whether the primary may count replicas' acks (WAIT,
 * min-replicas-to-write); true with failover off. */
bool rkv_fonode_acks_counted(replkv_t *kv);

/* Any thread: the primary of the configuration held, for READONLY errors
 * and replkv_primary_addr. Returns false when none is known. */
bool rkv_fonode_primary_addr(replkv_t *kv, char *host, size_t cap, int *port);

/* The "# Sentinel" INFO section, allocated; "" with failover off; NULL when
 * out of memory. Any thread. */
char *rkv_fonode_info_text(replkv_t *kv);

#endif /* RKV_FAILOVER_NODE_H */
