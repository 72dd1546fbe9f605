/*
 * node.h - the node handle (struct replkv) shared by the files that make up
 * the public API: node.c (lifecycle, I/O thread, cron, logging, config),
 * data.c (the data functions over the sharded keyspace), info.c (INFO).
 */
#ifndef RKV_NODE_H
#define RKV_NODE_H

#include <pthread.h>
#include <stdatomic.h>
#include <uv.h>

#include "backlog.h"
#include "keyspace.h"
#include "opts.h"

/* The keyspace is split into shards, each a table behind its own mutex, so
 * that threads touching different keys rarely meet. The top bits of a key's
 * hash pick the shard; the table uses the low bits. */
#define RKV_SHARD_BITS 4
#define RKV_SHARDS (1u << RKV_SHARD_BITS)

typedef struct rkv_shard {
    pthread_mutex_t lock;
    rkv_ks *ks;
    uint64_t expire_cursor; /* active expiry position, I/O thread only */
    /* Counters, changed only under lock. */
    uint64_t hits, misses, expired, evicted;
    /* rkv_ks_memory_used(ks) as of the last change, readable without the
     * lock so that the maxmemory check never takes every shard's lock. */
    _Atomic size_t mem;
} __attribute__((aligned(64))) rkv_shard;

struct replkv {
    rkv_shard shards[RKV_SHARDS];

    /* Options. cfg is the full copy (under cfg_lock); the values the data
     * path reads on every call are mirrored in atomics. */
    pthread_mutex_t cfg_lock;
    rkv_config cfg;
    _Atomic uint64_t maxmemory;
    _Atomic uint64_t max_bulk_len;
    _Atomic int evict_policy;
    _Atomic int evict_samples;
    _Atomic int loglevel;
    _Atomic int hz;

    replkv_log_cb log_cb;
    void *log_ud;

    /* Seconds clock for approximate LRU, advanced by the cron. */
    _Atomic uint32_t lru_clock;
    /* Per-call random numbers without a lock: a counter run through
     * splitmix64 (rkv_node_random). */
    _Atomic uint64_t rng_counter;
    uint64_t rng_base;

    /* The I/O thread and its private loop. */
    uv_loop_t loop;
    uv_async_t stop_async;
    uv_timer_t cron_timer;
    uv_thread_t thread;
    uv_sem_t ready;
    int start_err;
    int cron_hz; /* the hz the cron timer runs at (I/O thread only) */

    uint64_t start_mono_ms;

    /* Replication. mode says what the write path does (RKV_MODE_*): the
     * standalone path reads this one atomic and nothing else. The backlog
     * is guarded by jlock, taken inside a shard lock (never the other way
     * round); repl_offset mirrors its offset for lock-free readers. */
    _Atomic int mode;
    _Atomic int read_only;
    _Atomic int min_replicas;     /* min-replicas-to-write */
    _Atomic int good_replicas;    /* acked within min-replicas-max-lag */
    _Atomic int64_t repl_offset;
    _Atomic int wake_pending;     /* coalesces uv_async_send */
    pthread_mutex_t jlock;
    rkv_backlog *bl;
    uv_async_t repl_async;
    uint64_t hash_seed;
    rkv_ks *hasher;               /* empty table with hash_seed, for hashing
                                     keys without a shard lock */
    struct rkv_repl *repl;        /* lib/repl.h */
    struct rkv_pnode *pn;         /* lib/persist_node.h; NULL: no files */
    struct rkv_fonode *fon;       /* lib/failover_node.h; NULL: failover
                                     off */
    /* Non-zero: every write fails with this code (a witness, a manual
     * failover's pause, self-fencing); see rkv_journal_write_check. */
    _Atomic int write_block;
    char start_detail[256];       /* why the I/O thread failed to start */
};

/* kv->mode: what a write does besides changing the keyspace. */
enum {
    RKV_MODE_STANDALONE = 0, /* nothing: no port, not a replica */
    RKV_MODE_PRIMARY = 1,    /* journaled into the backlog */
    RKV_MODE_REPLICA = 2     /* refused (read-only) or local only */
};

/* Logs one line at level through the application's callback. */
void rkv_log(replkv_t *kv, replkv_log_level level, const char *fmt, ...)
    RKV_PRINTF(3, 4);

/* A random 64-bit value, lock-free, different on every call. */
uint64_t rkv_node_random(replkv_t *kv);

/* Shard of a hash, and bytes held by the whole keyspace. */
static inline rkv_shard *rkv_node_shard(replkv_t *kv, uint64_t hash)
{
    return &kv->shards[hash >> (64 - RKV_SHARD_BITS)];
}
size_t rkv_node_used_memory(replkv_t *kv);

/* data.c: one active expiry cycle over every shard, bounded by budget_us.
 * Called by the cron on the I/O thread. */
void rkv_data_active_expire(replkv_t *kv, uint64_t budget_us);

#endif /* RKV_NODE_H */
