/*
 * persist_snapshot.h - snapshot files (docs/PROTOCOL.md, section 9.2):
 * dir/snapshot.rkv holds one SET frame per key, as a fuzzy scan produced
 * them, between a header (replid and the offset at which the scan started)
 * and a trailer (key count and checksums over every byte of the file).
 *
 * A fuzzy scan is not a point-in-time image: a key changed during the scan
 * may appear with its old or its new value. Records are absolute states
 * (SET with an absolute expiry, DEL, EXPIREAT, FLUSH), so loading the
 * snapshot and then replaying the append-only file from the snapshot's
 * offset converges to the state at the end of the file, exactly as a
 * replica converges after a full resync.
 *
 * Writing never touches the keyspace: the caller encodes SET frames under
 * its shard lock into its own buffer, releases the lock, and hands the
 * frames here. One writer at a time per dir (the temporary file has a
 * fixed name). Not thread-safe per writer; loading is stateless.
 */
#ifndef RKV_PERSIST_SNAPSHOT_H
#define RKV_PERSIST_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "internal.h"
#include "persist_file.h"
#include "stream.h"

#define RKV_SNAP_FILE "snapshot.rkv"
#define RKV_SNAP_TMP "snapshot.rkv.tmp"
#define RKV_SNAP_VERSION 1 /* the newest format this library reads */
#define RKV_SNAP_HDR 136
#define RKV_SNAP_TRAILER 32

/* Called once per record while a file is loaded (snapshot: SET only; AOF:
 * any stream record). m points into the mapped file, whose bytes stay
 * valid until fn(ud, NULL): the loader makes that call once it has passed
 * every record of the file and before it unmaps it, so that fn may keep
 * records and apply them a batch at a time (repl_apply.h); the struct *m
 * itself is valid during the call only. Return 0 to go on; any other value
 * stops the load, which returns it. If a load fails, whatever was applied
 * must be discarded (and fn is not called with NULL). */
typedef int (*rkv_persist_apply_fn)(void *ud, const rkv_msg *m);

typedef struct rkv_snap_info {
    uint32_t version;
    char replid[RKV_ID_LEN + 1];  /* NUL-terminated */
    int64_t offset;               /* replication offset at the scan's start */
    char replid2[RKV_ID_LEN + 1]; /* the history replid continues after a
                                     promotion; all '0' when none */
    int64_t second_offset;        /* as rkv_backlog_second_offset(); -1 */
    uint64_t key_count;
    int64_t created_ms; /* Unix ms the writer began */
    uint64_t size;      /* file bytes */
} rkv_snap_info;

typedef struct rkv_snap_writer rkv_snap_writer;

/* Where a snapshot sits in the replication history: as the backlog says
 * when the scan begins (rkv_backlog_replid/offset/replid2/second_offset).
 * replid2 may be NULL or all '0' for none (second_offset then -1). */
typedef struct rkv_snap_hist {
    const char *replid; /* RKV_ID_LEN lowercase hex */
    int64_t offset;
    const char *replid2;
    int64_t second_offset;
} rkv_snap_hist;

/* Starts dir/snapshot.rkv.tmp for the history point h, created at
 * created_ms. Returns 0 with *out; REPLKV_EINVAL; REPLKV_EIO (naming the
 * file); REPLKV_ENOMEM. */
int rkv_snap_begin(const rkv_fs *fs, const char *dir, const rkv_snap_hist *h,
                   int64_t created_ms, rkv_snap_writer **out);

/* Adds one key as a SET frame. Returns 0; REPLKV_EINVAL; REPLKV_ETOOBIG;
 * REPLKV_ENOMEM; REPLKV_EIO. After an error, only rkv_snap_abort(). */
int rkv_snap_add(rkv_snap_writer *w, const void *key, size_t klen,
                 const void *val, size_t vlen, int64_t expire_at);

/* Adds whole SET frames, as rkv_frame_put_set() or a full resync's stream
 * produced them (the bytes are copied as they are; each frame's checksum
 * and SET type are checked, and counted as one key). Returns 0;
 * REPLKV_EINVAL (a partial frame, a frame that is not a SET); REPLKV_ECORRUPT
 * (bad checksum); REPLKV_EIO; REPLKV_ENOMEM. */
int rkv_snap_add_frames(rkv_snap_writer *w, const void *frames, size_t len);

/* Finishes: trailer, final header (key count), fsync, rename over
 * dir/snapshot.rkv, fsync dir. Frees w whatever the result; on failure the
 * temporary file is removed and the previous snapshot is untouched.
 * info (may be NULL) describes the new file. Returns 0; REPLKV_EIO. */
int rkv_snap_commit(rkv_snap_writer *w, rkv_snap_info *info);

/* Gives up: closes and removes the temporary file, frees w. NULL: no-op. */
void rkv_snap_abort(rkv_snap_writer *w);

/* Reads only the header of dir/snapshot.rkv. Returns 0; REPLKV_ENOTFOUND;
 * REPLKV_ECORRUPT; REPLKV_EVERSION; REPLKV_EIO. */
int rkv_snap_stat(const rkv_fs *fs, const char *dir, rkv_snap_info *info);

/* Loads dir/snapshot.rkv: checks the header (magic, version, checksum),
 * calls fn for each SET record (payload limit max_payload), then checks the
 * trailer (key count, body and file checksums). Returns 0 with *info;
 * REPLKV_ENOTFOUND (no snapshot); REPLKV_EVERSION (a newer format, with a
 * message saying so); REPLKV_ECORRUPT (truncated or damaged, naming the file
 * and the byte offset); REPLKV_EIO; or what fn returned. */
int rkv_snap_load(const rkv_fs *fs, const char *dir, size_t max_payload,
                  rkv_persist_apply_fn fn, void *ud, rkv_snap_info *info);

#endif /* RKV_PERSIST_SNAPSHOT_H */
