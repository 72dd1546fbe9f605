/*
 * backlog.h - the replication backlog: the newest bytes of the replication
 * stream (repl-backlog-size of them, more while a replica catches up), and the replication history they belong to, as
 * Redis keeps them (src/replication.c semantics):
 *
 *   replid         40 hex chars naming the current history;
 *   offset         bytes of stream ever appended in that history (Redis's
 *                  master_repl_offset); the byte appended first in a new
 *                  history is at offset 0;
 *   first_offset   offset of the oldest byte still held; the backlog covers
 *                  [first_offset, offset);
 *   replid2        the history this one continues after a promotion, and
 *   second_offset  1 + the offset at which it was left (Redis's
 *                  second_replid_offset); replid2 is all '0' and
 *                  second_offset -1 when there is none.
 *
 * Offsets that replicas request are frame boundaries: a replica that holds
 * N bytes of the stream asks for offset N, the next byte it needs.
 *
 * Not thread-safe: the node appends under its write lock and reads under the
 * same lock. No I/O; the only randomness is a new replid, from
 * rkv_random_bytes().
 */
#ifndef RKV_BACKLOG_H
#define RKV_BACKLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "internal.h"

#define RKV_REPLID_LEN 40

typedef struct rkv_backlog rkv_backlog;

/* A byte range inside the ring. */
typedef struct rkv_span {
    const uint8_t *p;
    size_t len;
} rkv_span;

/* A backlog of size bytes (at least 1) for a new history: a random replid,
 * offset 0, no replid2. Returns 0 with *out set; REPLKV_EINVAL (size 0);
 * REPLKV_ENOMEM; REPLKV_EIO (no randomness). */
int rkv_backlog_new(size_t size, rkv_backlog **out);

/* Frees bl. NULL is a no-op. */
void rkv_backlog_free(rkv_backlog *bl);

/* Appends stream bytes; never fails. The offset grows by len; the oldest
 * bytes fall off past size (and the hold), and of an append longer than
 * that only its last bytes are kept. With no memory for a new chunk the
 * history shrinks instead. */
void rkv_backlog_append(rkv_backlog *bl, const void *data, size_t len);

/* The replication state. The id strings are NUL-terminated, owned by bl and
 * change only with reset/shift. */
const char *rkv_backlog_replid(const rkv_backlog *bl);
const char *rkv_backlog_replid2(const rkv_backlog *bl);
int64_t rkv_backlog_second_offset(const rkv_backlog *bl);
int64_t rkv_backlog_offset(const rkv_backlog *bl);
int64_t rkv_backlog_first_offset(const rkv_backlog *bl);
size_t rkv_backlog_size(const rkv_backlog *bl);    /* repl-backlog-size */
size_t rkv_backlog_histlen(const rkv_backlog *bl); /* bytes held */
size_t rkv_backlog_memory(const rkv_backlog *bl);  /* bytes allocated */

/* A replica still needs the bytes from offset from on (INT64_MAX: none
 * does): the backlog keeps them past repl-backlog-size, but never more than
 * limit bytes in all (the newest), so a replica further behind falls off
 * and resyncs (Redis's client-output-buffer-limit for replicas). Memory is
 * given back as soon as the hold moves on. */
void rkv_backlog_hold(rkv_backlog *bl, int64_t from, size_t limit);
int64_t rkv_backlog_hold_from(const rkv_backlog *bl); /* INT64_MAX: none */

/* The bytes from offset from on that sit together in memory, in *sp
 * (len 0 when from is the current offset): walk a range by calling again
 * from from + sp->len. Returns 0; REPLKV_EINVAL if from is outside
 * [first_offset, offset]. The span stays valid until the next call that
 * changes bl. */
int rkv_backlog_span(const rkv_backlog *bl, int64_t from, rkv_span *sp);

/* Copies up to cap bytes starting at offset from into dst and sets *n to
 * the number copied (min(cap, offset - from)). Returns 0; REPLKV_EINVAL if
 * from is outside [first_offset, offset]. */
int rkv_backlog_copy(const rkv_backlog *bl, int64_t from, void *dst, size_t cap,
                     size_t *n);

/* Changes repl-backlog-size to size (at least 1), keeping the newest
 * min(histlen, size) bytes (more under a hold). Returns 0; REPLKV_EINVAL. */
int rkv_backlog_resize(rkv_backlog *bl, size_t size);

/* Starts over in the history (replid, offset) that a full resync adopted
 * from the primary: the ring is emptied (first_offset = offset) and replid2
 * cleared. replid is RKV_REPLID_LEN lowercase hex characters (need not be
 * NUL-terminated). Returns 0; REPLKV_EINVAL (bad replid, offset < 0). */
int rkv_backlog_reset(rkv_backlog *bl, const char *replid, int64_t offset);

/* Restores replid2 and second_offset as a snapshot recorded them (a node
 * that restarts after a promotion keeps serving PSYNCs for its previous
 * history). An invalid replid2 or second_offset < 0 clears them. */
void rkv_backlog_set_replid2(rkv_backlog *bl, const char *replid2,
                             int64_t second_offset);

/* Starts a new history that continues the current one, as on promotion
 * (Redis's shiftReplicationId): replid2 = replid, second_offset = offset + 1,
 * replid = new_replid, or a random one if new_replid is NULL (a replica
 * that learns its primary's new id from CONTINUE passes it). The bytes and
 * offsets are kept. Returns 0; REPLKV_EINVAL (bad new_replid); REPLKV_EIO
 * (no randomness), bl unchanged on error. */
int rkv_backlog_shift_id(rkv_backlog *bl, const char *new_replid);

/* The PSYNC decision: true iff a replica that asks to continue history
 * replid (RKV_REPLID_LEN characters, need not be NUL-terminated) from
 * offset can be served from this backlog: replid is the current id, or it
 * is replid2 and the replica holds no byte of it past the switch
 * (offset < second_offset; Redis's psync_offset <= second_replid_offset
 * with its offsets one ahead of ours), and first_offset <= offset <=
 * offset. */
bool rkv_backlog_psync_ok(const rkv_backlog *bl, const char *replid,
                          int64_t offset);

#endif /* RKV_BACKLOG_H */
