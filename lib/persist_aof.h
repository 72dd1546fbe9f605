/*
 * persist_aof.h - the append-only file dir/appendonly.rkv (docs/PROTOCOL.md
 * section 9.1): a 72-byte header (replid and the replication offset of the
 * first frame) followed by the stream's record frames, byte for byte. The
 * byte at file position 72 + k is at replication offset start + k, so the
 * end of the file is the node's offset.
 *
 * The file is mapped shared and space is reserved ahead (posix_fallocate,
 * by a thread of its own), so writing is split so that no disk I/O
 * happens under the node's keyspace lock and, with everysec and no, none
 * in the writer at all:
 *
 *   rkv_aof_append()  copies frames into the mapping (the page cache: a
 *                     crash of the process loses none of them) under a
 *                     short mutex and says where they end (call it under
 *                     the keyspace lock, right after the backlog append, so
 *                     the file's order is the stream's order). With no room
 *                     reserved, or a failed write to redo, it copies them
 *                     into memory only;
 *   rkv_aof_write_wait()  everysec / no: returns at once when the append
 *                     reached the mapping; else writes them (pwrite);
 *   rkv_aof_wait()    appendfsync always: after the lock is released, block
 *                     until the file is durable up to that end. Group commit:
 *                     the first waiter that finds no fsync running
 *                     fdatasyncs for everyone appended so far; the others
 *                     sleep;
 *   rkv_aof_flush()   the I/O thread: fsync once a second (everysec), or
 *                     write what only memory holds. Writers never wait
 *                     for it.
 *
 * The file is longer than its frames while open (the reserved space reads
 * as zeros); rkv_aof_close() cuts it to its last frame, and the loader
 * takes an all-zero end as unused space.
 *
 * A failed write or fsync returns REPLKV_EIO to the writers waiting for it
 * (their writes are not acknowledged), keeps every byte not yet durable in
 * memory and leaves the file's durable prefix as it was; the next flush
 * rewrites from the last durable byte, so a later success recovers
 * everything. A failed reservation (a full disk) makes rkv_aof_status()
 * REPLKV_EIO until one succeeds (retried every 100 ms), so the node
 * refuses writes before the reserved space runs out; an append that finds
 * none left waits in memory and its writer gets REPLKV_EIO. Nothing
 * acknowledged is ever lost.
 *
 * Thread-safety: every rkv_aof_* function on one rkv_aof may be called from
 * any thread concurrently, except rkv_aof_close (no other call may be in
 * progress or follow). Loading (rkv_aof_load, rkv_persist_load) is
 * stateless.
 */
#ifndef RKV_PERSIST_AOF_H
#define RKV_PERSIST_AOF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "internal.h"
#include "persist_file.h"
#include "persist_snapshot.h"

#define RKV_AOF_FILE "appendonly.rkv"
#define RKV_AOF_TMP "appendonly.rkv.tmp"
#define RKV_AOF_VERSION 1
#define RKV_AOF_HDR 72

typedef enum rkv_fsync_policy {
    RKV_FSYNC_NO = 0,       /* write; the OS decides when it reaches disk */
    RKV_FSYNC_EVERYSEC = 1, /* the I/O thread fsyncs once a second */
    RKV_FSYNC_ALWAYS = 2    /* a write is acknowledged once fsynced */
} rkv_fsync_policy;

/* "always" / "everysec" / "no" (appendfsync). Returns 0; REPLKV_EINVAL. */
int rkv_fsync_policy_parse(const char *s, rkv_fsync_policy *p);
const char *rkv_fsync_policy_name(rkv_fsync_policy p);

typedef struct rkv_aof rkv_aof;

/* Opens dir/appendonly.rkv for appending, for a node whose history is
 * replid (RKV_ID_LEN lowercase hex) at offset:
 *  - no file: creates one starting at (replid, offset), atomically;
 *  - a file with that replid whose end is offset (as rkv_persist_load()
 *    left it): appends to it;
 *  - anything else: REPLKV_ESTATE naming what the file holds (load first,
 *    or remove it with rkv_aof_remove()).
 * Returns 0 with *out; REPLKV_EINVAL; REPLKV_ESTATE; REPLKV_ECORRUPT (bad
 * header); REPLKV_EIO; REPLKV_ENOMEM. */
int rkv_aof_open(const rkv_fs *fs, const char *dir, rkv_fsync_policy policy,
                 const char *replid, int64_t offset, rkv_aof **out);

/* Writes what only memory holds, cuts the reserved space off, fsyncs,
 * closes and frees. Returns 0, or REPLKV_EIO if the last bytes could not
 * be made durable (they are lost; the file ends at the last durable byte
 * or a torn tail). NULL: 0. */
int rkv_aof_close(rkv_aof *a);

/* Copies len bytes of whole record frames into the file's mapping (no
 * system call; with an fsync policy into memory too, until they are
 * durable) and sets *end (may be NULL) to the replication offset just past
 * them: "my frame ends at byte X". Returns 0; REPLKV_ENOMEM (nothing
 * appended). */
int rkv_aof_append(rkv_aof *a, const void *frames, size_t len, int64_t *end);

/* Blocks until the file is durable (written and fsynced) up to offset end.
 * Returns 0; REPLKV_EIO if a write or fsync failed while waiting (detail
 * names the file and errno; the bytes stay buffered and the next flush
 * retries them); REPLKV_EINVAL (end is past what was appended). Never
 * call it under the keyspace lock. */
int rkv_aof_wait(rkv_aof *a, int64_t end);

/* rkv_aof_wait() without the fsync: until the bytes up to end are in the
 * file (the kernel's page cache), so that a crash of the process loses
 * none of them (a crash of the machine still may). Returns at once when
 * the append copied them into the mapping; else writes them. */
int rkv_aof_write_wait(rkv_aof *a, int64_t end);

/* Writes everything appended before the call, and fsyncs if do_fsync.
 * Waits for a flush in progress on another thread first. Returns 0;
 * REPLKV_EIO (the bytes stay buffered for the next try). */
int rkv_aof_flush(rkv_aof *a, bool do_fsync);

/* After a snapshot of this node's stream at (replid, offset) was committed:
 * replaces the file with one whose header is (replid, offset) and that
 * holds the frames from offset on (copied from the old file; temp file,
 * fsync, rename, dir fsync). start <= offset <= end. replid is the
 * snapshot's: the current id, which after a promotion differs from the
 * old header's. The bulk is copied while writers go on appending; only
 * the last part holds flushes back. One rewrite at a time. Returns 0;
 * REPLKV_EINVAL (offset outside the file, bad replid); REPLKV_EBUSY (a
 * rewrite is running); REPLKV_EIO (the old file stays in use, no writer
 * fails because of it). */
int rkv_aof_rewrite(rkv_aof *a, const char *replid, int64_t offset);

typedef struct rkv_aof_stats {
    char replid[RKV_ID_LEN + 1];
    int64_t start;      /* offset of the first frame in the file */
    int64_t end;        /* offset after the last appended byte */
    int64_t written;    /* handed to the OS up to here */
    int64_t durable;    /* fsynced up to here */
    uint64_t size;      /* header + written: the file's logical length */
    uint64_t reserved;  /* bytes allocated (the file's size until close) */
    uint64_t base_size; /* size after open or the last rewrite */
    uint64_t writes;   /* pwrite(2) calls: appends that found no room */
    uint64_t fsyncs, reserves, errors;
    int last_error; /* 0 or REPLKV_EIO of the last flush or reservation */
} rkv_aof_stats;

void rkv_aof_get_stats(rkv_aof *a, rkv_aof_stats *st);

/* 0 if the last flush succeeded, else REPLKV_EIO with its detail: the node
 * may refuse writes while the disk fails (Redis's MISCONF). */
int rkv_aof_status(rkv_aof *a);

/* The automatic-rewrite decision (auto-aof-rewrite-percentage and
 * auto-aof-rewrite-min-size): true when percentage > 0, size >= min_size
 * and size has grown by at least percentage % over base_size (the size
 * after the last rewrite or at open; 0 counts as 1). Pure. */
bool rkv_aof_rewrite_due(uint64_t size, uint64_t base_size, unsigned percentage,
                         uint64_t min_size);

/* Removes dir/appendonly.rkv (and fsyncs dir). For a node that adopts a
 * new history (full resync): remove, commit the new snapshot, then
 * rkv_aof_open() the new history, so that a crash at any point leaves a
 * snapshot and an AOF that belong together. Returns 0; REPLKV_EIO. */
int rkv_aof_remove(const rkv_fs *fs, const char *dir);

/* ------------------------------------------------------------- loading */

typedef struct rkv_aof_load_info {
    char replid[RKV_ID_LEN + 1];
    int64_t start;         /* offset in the header */
    int64_t end;           /* offset after the last good frame */
    uint64_t frames;       /* records applied */
    uint64_t truncated;    /* bytes of a torn tail cut off (0: none) */
    uint64_t unused;       /* bytes of reserved, never written space cut */
    uint64_t truncated_at; /* file position of the cut */
    bool repaired;         /* the cut was damage, cut by the repair flag */
    char reason[160];      /* why the cut was made, for the log */
} rkv_aof_load_info;

/* Replays dir/appendonly.rkv: checks the header, calls fn for each record
 * frame that starts at offset `from` or later (earlier ones are checked
 * but not applied: they are in the snapshot; pass 0 for all), with payload
 * limit max_payload. At the end of the file:
 *  - all-zero bytes after the last frame are space the writer reserved
 *    and did not use (it did not close cleanly): cut off, truncated and
 *    fsynced, info->unused says how much; never refused;
 *  - a torn tail (a last frame cut short, or a last frame whose checksum
 *    fails with nothing valid after it, zeros after it or not) is cut
 *    off: the file is truncated and fsynced, info->truncated says how much;
 *    With flags & RKV_LOAD_REFUSE_TORN (aof-load-truncated no) it is
 *    REPLKV_ECORRUPT instead, and the file is left as it is;
 *  - damage before the tail (checksum, length or decoding) is
 *    REPLKV_ECORRUPT naming the file and byte offset, unless
 *    flags & RKV_LOAD_REPAIR (the aof-load-truncated idea taken further):
 *    then the file is cut at the bad frame and info->repaired is set.
 * Returns 0; REPLKV_ENOTFOUND; REPLKV_ECORRUPT (also when `from` falls
 * inside a frame); REPLKV_EVERSION; REPLKV_EIO; or what fn returned. */
#define RKV_LOAD_REPAIR 0x1u      /* cut mid-file damage (and lose the rest) */
#define RKV_LOAD_REFUSE_TORN 0x2u /* refuse a torn tail instead of cutting */
int rkv_aof_load(const rkv_fs *fs, const char *dir, size_t max_payload,
                 unsigned flags, int64_t from, rkv_persist_apply_fn fn,
                 void *ud, rkv_aof_load_info *info);

typedef struct rkv_persist_loaded {
    bool have_snapshot, have_aof;
    bool aof_trimmed; /* the AOF began before the snapshot and was trimmed */
    bool aof_dropped; /* the AOF ended before the snapshot: removed */
    rkv_snap_info snap;
    rkv_aof_load_info aof;
    char replid[RKV_ID_LEN + 1]; /* the history to come back with, "" if none */
    int64_t offset;              /* and the offset in it */
} rkv_persist_loaded;

/* Restart: checks dir, then from the headers alone whether the files
 * belong together, then loads the snapshot (if any) and replays the AOF
 * (if any) from the snapshot's offset, calling fn for every record of
 * both. The AOF belongs to the snapshot when it is in the same history
 * (the same replid, or the snapshot's replid2 with the AOF starting before
 * the switch: a promotion) and starts at or before the snapshot's offset;
 * without a snapshot it must start at 0. Otherwise REPLKV_ECORRUPT names
 * both files and nothing is applied. After a crash between a snapshot's
 * rename and the AOF's rewrite the AOF is trimmed here (aof_trimmed); an
 * AOF that ends before the snapshot's offset is removed (aof_dropped).
 * Afterwards rkv_aof_open(out->replid, out->offset) opens the AOF.
 * out->replid/offset: "" and 0 when dir holds neither file. flags as for
 * rkv_aof_load (RKV_LOAD_*). Returns 0;
 * REPLKV_EIO (dir missing or unreadable, naming it); the errors of
 * rkv_snap_load and rkv_aof_load. */
int rkv_persist_load(const rkv_fs *fs, const char *dir, size_t max_payload,
                     unsigned flags, rkv_persist_apply_fn fn, void *ud,
                     rkv_persist_loaded *out);

#endif /* RKV_PERSIST_AOF_H */
