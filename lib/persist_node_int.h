/*
 * persist_node_int.h - what the two files of the node's persistence share:
 * persist_node.c (write path, snapshots, cron, new history, open/close,
 * INFO) and persist_node_load.c (restart: node.state, snapshot and log
 * replay, backlog refill; the failover state in node.state).
 */
#ifndef RKV_PERSIST_NODE_INT_H
#define RKV_PERSIST_NODE_INT_H

#include "persist_node.h"

/* Keys encoded per shard-lock hold, and bytes before a batch is written. */
#define SNAP_BUCKETS 256
#define SNAP_BATCH_BYTES (256u * 1024)
#define SNAP_RETRY_MS 5000

typedef struct rkv_pnode {
    rkv_fs fs; /* hook = fs_trampoline, ud = this */
    _Atomic(rkv_fs_hook_fn) test_hook;
    _Atomic(void *) test_ud;
    char dir[1024];
    rkv_fsync_policy policy;

    pthread_rwlock_t aof_rw;
    rkv_aof *aof; /* see the lock rule in persist_node.h */
    /* The file missed a record (out of memory buffering it): writes are
     * refused until the next snapshot starts a new file. */
    _Atomic int broken;

    /* The snapshot thread. */
    pthread_mutex_t snap_lock; /* held by whoever writes a snapshot */
    pthread_mutex_t mu;        /* guards the fields below */
    pthread_cond_t cv;
    pthread_t thread;
    bool thread_started, stopping, running;
    uint64_t req_seq, done_seq;
    int last_rc;
    char last_err[256];
    int64_t last_save_unix; /* seconds, of the last good snapshot */
    uint64_t snapshots, snapshot_failures;
    uint64_t last_fail_ms; /* mono */
    int64_t last_snap_ms;  /* duration of the last one */
    bool aof_error_logged; /* I/O thread only */

    /* I/O thread only: one flush at a time in the thread pool. */
    uv_work_t work;
    bool work_busy;
    bool work_fsync;
    int work_rc;
    uint64_t last_fsync_ms;

    /* What node.state holds of the failover state: set at open, then by
     * the I/O thread only (rkv_pnode_save_fo). */
    bool has_fo;
    rkv_fo_state fo;
} rkv_pnode;

/* persist_node_load.c: at open, before the I/O thread runs: node.state
 * (or a new one with this node's id), then the snapshot and the log into
 * the shard tables, the backlog, and the AOF opened for appending.
 * Returns 0 or the error, with its detail. */
int rkv_pnode_load(replkv_t *kv);

#endif /* RKV_PERSIST_NODE_INT_H */
