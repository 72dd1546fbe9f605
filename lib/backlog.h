/*
 * backlog.h - the replication backlog: the newest bytes of the replication
 * stream in a ring buffer, and the replication history they belong to, as
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

/* Appends stream bytes; never fails. The offset grows by len; when the ring
 * is full the oldest bytes fall off, and of an append longer than the ring
 * only its last size bytes are kept. */
void rkv_backlog_append(rkv_backlog *bl, const void *data, size_t len);

/* The replication state. The id strings are NUL-terminated, owned by bl and
 * change only with reset/shift. */
const char *rkv_backlog_replid(const rkv_backlog *bl);
const char *rkv_backlog_replid2(const rkv_backlog *bl);
int64_t rkv_backlog_second_offset(const rkv_backlog *bl);
int64_t rkv_backlog_offset(const rkv_backlog *bl);
int64_t rkv_backlog_first_offset(const rkv_backlog *bl);
size_t rkv_backlog_size(const rkv_backlog *bl);    /* ring capacity */
size_t rkv_backlog_histlen(const rkv_backlog *bl); /* bytes held */

/* The bytes from offset from to the newest, as up to two spans (the ring
 * may wrap): sp[0] first, then sp[1]. Writes them into sp, which must have
 * room for two, and returns how many were used (0 when from is the current
 * offset, 1 or 2); REPLKV_EINVAL if from is outside
 * [first_offset, offset]. The spans stay valid until the next call that
 * changes bl. */
int rkv_backlog_spans(const rkv_backlog *bl, int64_t from, rkv_span sp[2]);

/* Copies up to cap bytes starting at offset from into dst and sets *n to
 * the number copied (min(cap, offset - from)). Returns 0; REPLKV_EINVAL if
 * from is outside [first_offset, offset]. */
int rkv_backlog_copy(const rkv_backlog *bl, int64_t from, void *dst, size_t cap,
                     size_t *n);

/* Changes the ring's capacity to size (at least 1), keeping the newest
 * min(histlen, size) bytes. Returns 0; REPLKV_EINVAL; REPLKV_ENOMEM (bl
 * unchanged). */
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
