/*
 * repl_apply.h - stream records applied to shard tables a window at a time:
 * a replica's live stream, a full resync's load and a restart's replay all
 * come in batches, and applying them one by one leaves the CPU waiting on
 * two dependent cache misses per key (bucket slot, then entry).
 *
 * The window keeps the last RKV_APPLY_WINDOW records. A record entering it
 * is hashed and its bucket slot prefetched; halfway through, the chain's
 * first entry is prefetched (the slot has arrived by then); at the far end
 * the record is applied, in order, with its misses already overlapped with
 * those of the records behind it. Records are applied in the order pushed,
 * and nothing is applied after a record that failed.
 *
 * A zero-initialized window is empty and ready. I/O thread or loader only:
 * a window is used by one thread at a time.
 */
#ifndef RKV_REPL_APPLY_H
#define RKV_REPL_APPLY_H

#include "node.h"
#include "stream.h"

/* Records in flight: enough to cover ~250 ns misses with the ~50-100 ns of
 * other work per record, small enough that a short read batch still gains. */
#ifndef RKV_APPLY_WINDOW /* (-D for experiments) */
#define RKV_APPLY_WINDOW 16u
#endif

typedef struct rkv_apply_slot {
    rkv_msg m;
    uint64_t hash;
    size_t size; /* the caller's byte count for this record (frame size) */
} rkv_apply_slot;

typedef struct rkv_apply_win {
    rkv_ks **tables; /* the pending records' target; NULL: the live shards */
    unsigned head, n;
    size_t lost; /* after a failure: sizes of the records not applied */
    rkv_apply_slot q[RKV_APPLY_WINDOW];
} rkv_apply_win;

/* Queues record m for tables (RKV_SHARDS shard tables that no other thread
 * sees, no locks taken), or for kv's live shards when tables is NULL (each
 * shard's lock taken around every touch). m's bytes must stay valid until
 * the record is applied: until the next rkv_apply_drain() at the latest.
 * Records without a key (FLUSH, PING) drain the window and apply at once;
 * a push for other tables than the pending records' drains first.
 *
 * Returns 0, or the error of a record applied during the call
 * (REPLKV_ENOMEM): that record and every later one (m included) are then
 * dropped, w->lost holds the sum of their sizes, and the window is empty. */
int rkv_apply_push(rkv_apply_win *w, replkv_t *kv, rkv_ks **tables,
                   const rkv_msg *m, size_t size);

/* Applies every pending record. Returns 0 or, as rkv_apply_push, the first
 * failure (with w->lost). The window is empty afterwards either way. */
int rkv_apply_drain(rkv_apply_win *w, replkv_t *kv);

#endif /* RKV_REPL_APPLY_H */
