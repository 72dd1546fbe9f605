/*
 * persist_node.h - persistence in the node: the glue between the file layer
 * (persist_aof.h, persist_snapshot.h, persist_state.h) and the node's
 * threads (docs/PROTOCOL.md section 9.4 for the restart order).
 *
 *   open     (replkv_open, before the I/O thread runs): check dir, load
 *            node.state (or create it with a new node id), load the
 *            snapshot and replay the append-only file into the shard
 *            tables, reset the backlog to the loaded history, open the AOF;
 *   write    (application threads): rkv_pnode_append() under the shard lock
 *            and jlock, right after the backlog append (memory only);
 *            rkv_pnode_wait() after the lock is released (group commit:
 *            written to the file with every policy, fsynced too with
 *            appendfsync always); rkv_pnode_write_check() refuses writes
 *            while the disk fails (Redis's MISCONF);
 *   cron     (I/O thread): flushes through the libuv thread pool, so that
 *            the loop never blocks on the disk; starts automatic snapshots;
 *   snapshot (a thread of its own): fuzzy scan a batch at a time under each
 *            shard lock, write after releasing it, commit, trim the AOF;
 *   new history (a replica's full resync, on the I/O thread, before the new
 *            tables are swapped in): remove the AOF, snapshot the new
 *            tables, open an AOF at the new (replid, offset);
 *   failover (I/O thread): the failover host reads the state node.state
 *            had at open and saves the core's PERSIST state into it.
 *
 * Locks: snap_lock (one snapshot writer per dir) before aof_rw before
 * jlock. aof_rw guards the aof pointer for the calls made without jlock
 * (wait, status, flush, rewrite); the pointer changes only with aof_rw
 * write-locked and jlock held.
 */
#ifndef RKV_PERSIST_NODE_H
#define RKV_PERSIST_NODE_H

#include <stdbool.h>
#include <stdint.h>

#include "failover.h"
#include "node.h"
#include "persist_aof.h"
#include "persist_file.h"

/* Whether kv keeps files (appendonly yes with a dir). Any thread. */
static inline bool rkv_pnode_on(replkv_t *kv)
{
    return kv->pn != NULL;
}

/* replkv_open, before the I/O thread starts (rkv_repl_init done). No-op
 * when appendonly is no. Returns 0; REPLKV_EINVAL (appendonly without
 * dir); REPLKV_EIO (naming the path); REPLKV_ECORRUPT; REPLKV_EVERSION;
 * REPLKV_ENOMEM. */
int rkv_pnode_open(replkv_t *kv);

/* replkv_close after the I/O thread joined (and free_node on a failed
 * open): stops the snapshot thread, flushes and closes the AOF, frees. */
void rkv_pnode_close(replkv_t *kv);

/* Under the shard lock and jlock, right after the backlog append. */
void rkv_pnode_append(replkv_t *kv, const void *frames, size_t len);

/* Blocks until the AOF is written up to off (a process crash then loses
 * nothing acknowledged), and fsynced with appendfsync always. Never under
 * a shard lock. Returns 0; REPLKV_EIO. */
int rkv_pnode_wait(replkv_t *kv, int64_t off);

/* Before a write takes a lock: REPLKV_EIO while the last flush failed. */
int rkv_pnode_write_check(replkv_t *kv);

/* I/O thread, every cron tick. */
void rkv_pnode_cron(replkv_t *kv);

/* A replica's full resync, on the I/O thread, before tables (the new
 * keyspace, RKV_SHARDS of them) are swapped in at (replid, offset).
 * Returns 0, and then the caller swaps the tables in and calls
 * rkv_pnode_new_history_end() (no snapshot may start in between); or
 * REPLKV_EIO and the like: the resync is abandoned, and the node refuses
 * writes until a snapshot or the next full resync starts a new AOF. */
int rkv_pnode_new_history(replkv_t *kv, rkv_ks **tables, const char *replid,
                          int64_t offset);
void rkv_pnode_new_history_end(replkv_t *kv);

/* The failover state node.state holds: the one loaded at open, or the
 * last one rkv_pnode_save_fo() wrote (the file is not read again). For the
 * failover host, on the I/O thread, after rkv_pnode_open(). Returns 1 and
 * fills *out; 0 (out untouched) when the file had none (a new node, or a
 * version 1 file) or persistence is off. */
int rkv_pnode_load_fo(replkv_t *kv, rkv_fo_state *out);

/* Makes st durable in node.state, with this node's id, atomically (temp
 * file, fsync, rename, dir fsync: docs/PROTOCOL.md 9), before returning:
 * RKV_FO_ACT_PERSIST precedes a vote. I/O thread (saves to node.state are
 * serialised by it; open's save happens before it starts). st is copied.
 * Returns 0, also without doing anything when persistence is off;
 * REPLKV_EINVAL (st breaks a rule of the format, named); REPLKV_EIO (the
 * old file is untouched, and load_fo still gives the old state);
 * REPLKV_ENOMEM; with the detail in replkv_last_error() and a log line. */
int rkv_pnode_save_fo(replkv_t *kv, const rkv_fo_state *st);

/* The "# Persistence" INFO section (Redis field names), allocated; NULL
 * when out of memory. */
char *rkv_pnode_info_text(replkv_t *kv);

/* ----------------------------------------------------------- tests only */

/* Installs (or with fn NULL removes) a fault hook that every file
 * operation of kv's persistence asks first (persist_file.h). Any thread. */
void rkv_pnode_set_fs_hook(replkv_t *kv, rkv_fs_hook_fn fn, void *ud);

/* The AOF's counters. Returns 0; REPLKV_ESTATE without an AOF. */
int rkv_pnode_aof_stats(replkv_t *kv, rkv_aof_stats *st);

#endif /* RKV_PERSIST_NODE_H */
