/*
 * journal.h - the write path's side of replication: every mutation on a
 * primary becomes one stream frame (lib/stream.h) appended to the backlog
 * while the writer still holds the shard lock, so the stream's order is the
 * mutation order of each key (docs/PROTOCOL.md "Stream").
 *
 * Lock order: shard lock(s), then kv->jlock (held only for the copy into the
 * ring). Frames are encoded before jlock is taken, into a stack buffer (a
 * heap one only for frames over 1 KiB). The append-only file, when the node
 * keeps one, takes the same bytes in the same critical section (memory
 * only; persist_node.h), and a writer waits for its fsync, if it must,
 * in rkv_journal_commit() after releasing the shard lock. A standalone node
 * (kv->mode == RKV_MODE_STANDALONE: no port, no append-only file) never
 * calls into here beyond one atomic load.
 */
#ifndef RKV_JOURNAL_H
#define RKV_JOURNAL_H

#include "node.h"

/* The mode the write path sees. */
static inline int rkv_mode(replkv_t *kv)
{
    return atomic_load_explicit(&kv->mode, memory_order_relaxed);
}

/* Whether a public write may run now: 0; REPLKV_EREADONLY on a read-only
 * replica (replkv_last_error() names the primary); REPLKV_ENOREPLICAS when
 * min-replicas-to-write is not met; REPLKV_EIO while the append-only file
 * cannot be written (MISCONF). Call before taking any lock. */
int rkv_journal_write_check_slow(replkv_t *kv);
static inline int rkv_journal_write_check(replkv_t *kv)
{
    if (RKV_LIKELY(rkv_mode(kv) == RKV_MODE_STANDALONE))
        return 0;
    return rkv_journal_write_check_slow(kv);
}

/* True when a public write must be journaled (the node is a primary). */
static inline bool rkv_journal_on(replkv_t *kv)
{
    return rkv_mode(kv) == RKV_MODE_PRIMARY;
}

/* Record one mutation. Shard lock held; the caller checked
 * rkv_journal_on(). Never fail: an encoding failure (out of memory for a
 * huge value) is logged and breaks the replicas' links so that they resync. */
void rkv_journal_set(replkv_t *kv, const void *key, size_t klen,
                     const void *val, size_t vlen, int64_t expire_at);
void rkv_journal_del(replkv_t *kv, const void *key, size_t klen);
void rkv_journal_expireat(replkv_t *kv, const void *key, size_t klen,
                          int64_t at);
void rkv_journal_persist(replkv_t *kv, const void *key, size_t klen);
void rkv_journal_flush(replkv_t *kv);

/* Appends already framed bytes (a PING from the cron, or on a replica the
 * exact frame received from its primary). */
void rkv_journal_append(replkv_t *kv, const void *frame, size_t len);

/* Wakes the I/O thread if this thread journaled since the last call
 * (coalesced). Call after releasing the shard lock. */
void rkv_journal_wake(replkv_t *kv);

/* Inside replkv_batch_begin/end, the wake this thread owes kv now (before
 * it waits for replicas itself); otherwise nothing. */
void rkv_journal_wake_now(replkv_t *kv);

/* rkv_journal_wake() and, with appendfsync always, waits until this
 * thread's journaled writes are in the append-only file and fsynced (group
 * commit). Call after releasing the shard lock, instead of
 * rkv_journal_wake(). Returns 0; REPLKV_EIO when they could not be made
 * durable: the change is applied in memory and in the stream, but not
 * acknowledged as durable. */
int rkv_journal_commit(replkv_t *kv);

/* The offset after this thread's last journaled write on kv (the current
 * offset if this thread last wrote elsewhere). */
int64_t rkv_journal_last_offset(replkv_t *kv);

#endif /* RKV_JOURNAL_H */
