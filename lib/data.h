/*
 * data.h - what the data files share: argument checks, hashing a key to its
 * shard, the shard lock helpers and expiry as readers see it.
 *
 * Lock rule: a thread holds at most one shard lock at a time, except flush,
 * which takes them all in index order. Eviction runs before the writer takes
 * its own shard's lock, so no two shard locks are ever nested another way.
 */
#ifndef RKV_DATA_H
#define RKV_DATA_H

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "journal.h"
#include "node.h"

static inline int check_key(replkv_t *kv, const void *key, size_t klen)
{
    if (RKV_UNLIKELY(kv == NULL))
        return rkv_fail(REPLKV_EINVAL, "NULL node");
    if (RKV_UNLIKELY(klen == 0 || key == NULL))
        return rkv_fail(REPLKV_EINVAL, "empty or NULL key");
    uint64_t max = atomic_load_explicit(&kv->max_bulk_len, memory_order_relaxed);
    if (RKV_UNLIKELY(klen > max))
        return rkv_fail(REPLKV_ETOOBIG,
                        "key of %zu bytes is over proto-max-bulk-len (%" PRIu64
                        ")",
                        klen, max);
    return 0;
}

static inline int check_value(replkv_t *kv, const void *val, size_t vlen)
{
    if (RKV_UNLIKELY(val == NULL && vlen > 0))
        return rkv_fail(REPLKV_EINVAL, "NULL value with length %zu", vlen);
    uint64_t max = atomic_load_explicit(&kv->max_bulk_len, memory_order_relaxed);
    if (RKV_UNLIKELY(vlen > max))
        return rkv_fail(REPLKV_ETOOBIG,
                        "value of %zu bytes is over proto-max-bulk-len (%" PRIu64
                        ")",
                        vlen, max);
    return 0;
}

static inline uint64_t key_hash(replkv_t *kv, const void *key, size_t klen)
{
    /* Not shards[0].ks: a full resync swaps the shard tables. */
    return rkv_ks_hash(kv->hasher, key, klen);
}

static inline void shard_lock(rkv_shard *s)
{
    pthread_mutex_lock(&s->lock);
}

/* Publishes the shard's memory figure and releases it. */
static inline void shard_unlock_changed(rkv_shard *s)
{
    atomic_store_explicit(&s->mem, rkv_ks_memory_used(s->ks), memory_order_relaxed);
    pthread_mutex_unlock(&s->lock);
}

static inline void shard_unlock(rkv_shard *s)
{
    pthread_mutex_unlock(&s->lock);
}

static inline bool expired_at(int64_t expire, int64_t now)
{
    return expire != 0 && expire <= now;
}

/* Hashes key and locks its shard: the first step of every single-key
 * operation. */
static inline rkv_shard *lock_key(replkv_t *kv, const void *key, size_t klen,
                                  uint64_t *h)
{
    *h = key_hash(kv, key, klen);
    rkv_shard *s = rkv_node_shard(kv, *h);
    shard_lock(s);
    return s;
}

/* The live entry for key, or NULL. An entry whose time has passed is
 * deleted here (lazy expiry), counted and, on a primary, journaled as a
 * DEL; a replica only hides it (its primary's DEL removes it). With pos
 * (writes), also where the key is, for rkv_ks_put_at(): one lookup per
 * read-modify-write. Shard lock held. */
static inline rkv_entry *find_live(replkv_t *kv, rkv_shard *s, uint64_t h,
                                   const void *key, size_t klen,
                                   rkv_ks_pos *pos)
{
    rkv_entry *e = pos ? rkv_ks_find_pos(s->ks, h, key, klen, pos)
                       : rkv_ks_find(s->ks, h, key, klen);
    if (e == NULL)
        return NULL;
    int64_t exp = rkv_entry_expire(e);
    if (RKV_UNLIKELY(exp != 0) && exp <= rkv_now_ms()) {
        int mode = rkv_mode(kv);
        if (mode == RKV_MODE_REPLICA)
            return NULL; /* hidden; pos still points at it to replace it */
        if (mode == RKV_MODE_PRIMARY)
            rkv_journal_del(kv, key, klen);
        rkv_ks_remove(s->ks, h, key, klen);
        s->expired++;
        if (pos)
            pos->link = NULL; /* now absent: put_at inserts */
        return NULL;
    }
    return e;
}

/* Turns a (ttl, flags) pair into an absolute expiry (0 = none). */
int rkv_data_expiry_from(int64_t ttl_ms, unsigned flags, int64_t now,
                         int64_t *at);

/* Copies an entry's value into a new NUL-terminated allocation. */
int rkv_data_copy_value(const rkv_entry *e, void **val, size_t *vlen);

#endif /* RKV_DATA_H */
