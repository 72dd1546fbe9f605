/*
 * repl_apply.c - applying stream records to shard tables (docs/PROTOCOL.md
 * "Synchronisation", replica step 9; the restart's replay, 9.4), through
 * the prefetching window that repl_apply.h describes. Used by the
 * replica's live stream and full resync load, and by the restart.
 */
#include "repl_apply.h"

#define WMASK (RKV_APPLY_WINDOW - 1u)
#define HALF (RKV_APPLY_WINDOW / 2u)

_Static_assert((RKV_APPLY_WINDOW & WMASK) == 0,
               "RKV_APPLY_WINDOW is a power of two");

/* One keyed record onto its table (the caller holds its lock, if any). */
static int apply_to(rkv_ks *ks, uint64_t h, const rkv_msg *m)
{
    switch (m->type) {
    case RKV_REC_SET:
        if (rkv_ks_put(ks, h, m->set.key.p, m->set.key.len, m->set.val.p,
                       m->set.val.len, m->set.expire_at, NULL) == NULL)
            return rkv_fail(REPLKV_ENOMEM, "apply SET: out of memory");
        return 0;
    case RKV_REC_DEL:
        rkv_ks_remove(ks, h, m->key.key.p, m->key.key.len);
        return 0;
    case RKV_REC_EXPIREAT:
    case RKV_REC_PERSIST: {
        const rkv_bytes *k =
            m->type == RKV_REC_PERSIST ? &m->key.key : &m->expireat.key;
        rkv_entry *e = rkv_ks_find(ks, h, k->p, k->len);
        int64_t at = m->type == RKV_REC_PERSIST ? 0 : m->expireat.at;
        if (e != NULL && rkv_ks_set_expire(ks, e, at) == NULL)
            return rkv_fail(REPLKV_ENOMEM, "apply EXPIREAT: out of memory");
        return 0;
    }
    default:
        return 0;
    }
}

static const rkv_bytes *record_key(const rkv_msg *m)
{
    switch (m->type) {
    case RKV_REC_SET:
        return &m->set.key;
    case RKV_REC_DEL:
    case RKV_REC_PERSIST:
        return &m->key.key;
    case RKV_REC_EXPIREAT:
        return &m->expireat.key;
    default:
        return NULL;
    }
}

/* A record without a key: FLUSH empties every table (the live ones under
 * all their locks, so that readers never see a half-flushed keyspace);
 * anything else (PING) changes nothing. */
static void apply_unkeyed(replkv_t *kv, rkv_ks **tables, const rkv_msg *m)
{
    if (m->type != RKV_REC_FLUSH)
        return;
    if (tables != NULL) {
        for (unsigned i = 0; i < RKV_SHARDS; i++)
            rkv_ks_clear(tables[i]);
        return;
    }
    for (unsigned i = 0; i < RKV_SHARDS; i++)
        pthread_mutex_lock(&kv->shards[i].lock);
    for (unsigned i = 0; i < RKV_SHARDS; i++)
        rkv_ks_clear(kv->shards[i].ks);
    for (unsigned i = RKV_SHARDS; i-- > 0;) {
        atomic_store_explicit(&kv->shards[i].mem,
                              rkv_ks_memory(kv->shards[i].ks),
                              memory_order_relaxed);
        pthread_mutex_unlock(&kv->shards[i].lock);
    }
}

enum stage { STAGE_SLOT, STAGE_CHAIN, STAGE_APPLY };

/* One step of a record's way through the window, on its table. The live
 * shards are touched under their locks even for a prefetch: the hint reads
 * the table's fields, which a reader's rehash step may be changing. */
static int touch(rkv_apply_win *w, replkv_t *kv, const rkv_apply_slot *s,
                 enum stage st)
{
    rkv_shard *sh = NULL;
    rkv_ks *ks;
    if (w->tables != NULL) {
        ks = w->tables[s->hash >> (64 - RKV_SHARD_BITS)];
    } else {
        sh = rkv_node_shard(kv, s->hash);
        pthread_mutex_lock(&sh->lock);
        ks = sh->ks;
    }
    int rc = 0;
    if (st == STAGE_SLOT)
        rkv_ks_prefetch(ks, s->hash);
    else if (st == STAGE_CHAIN)
        rkv_ks_prefetch_chain(ks, s->hash);
    else
        rc = apply_to(ks, s->hash, &s->m);
    if (sh != NULL) {
        if (st == STAGE_APPLY)
            atomic_store_explicit(&sh->mem, rkv_ks_memory(sh->ks),
                                  memory_order_relaxed);
        pthread_mutex_unlock(&sh->lock);
    }
    return rc;
}

/* Applies the oldest record, after prefetching the chain of the one
 * halfway up the window. On failure, drops every pending record. */
static int apply_oldest(rkv_apply_win *w, replkv_t *kv)
{
    if (w->n > HALF)
        touch(w, kv, &w->q[(w->head + HALF) & WMASK], STAGE_CHAIN);
    int rc = touch(w, kv, &w->q[w->head], STAGE_APPLY);
    if (rc != 0) {
        for (unsigned i = 0; i < w->n; i++)
            w->lost += w->q[(w->head + i) & WMASK].size;
        w->head = 0;
        w->n = 0;
        return rc;
    }
    w->head = (w->head + 1) & WMASK;
    w->n--;
    return 0;
}

int rkv_apply_drain(rkv_apply_win *w, replkv_t *kv)
{
    w->lost = 0;
    while (w->n > 0) {
        int rc = apply_oldest(w, kv);
        if (rc != 0)
            return rc;
    }
    return 0;
}

int rkv_apply_push(rkv_apply_win *w, replkv_t *kv, rkv_ks **tables,
                   const rkv_msg *m, size_t size)
{
    const rkv_bytes *k = record_key(m);
    int rc;
    if (k == NULL || (w->n > 0 && tables != w->tables)) {
        if ((rc = rkv_apply_drain(w, kv)) != 0) {
            w->lost += size;
            return rc;
        }
    }
    w->lost = 0;
    if (k == NULL) {
        apply_unkeyed(kv, tables, m);
        return 0;
    }
    w->tables = tables;
    rkv_apply_slot *s = &w->q[(w->head + w->n) & WMASK];
    s->m = *m;
    /* The node's hasher has the tables' seed: the live shards, a full
     * resync's and a restart's tables are all made with kv->hash_seed. */
    s->hash = rkv_ks_hash(kv->hasher, k->p, k->len);
    s->size = size;
    w->n++;
    touch(w, kv, s, STAGE_SLOT);
    return w->n == RKV_APPLY_WINDOW ? apply_oldest(w, kv) : 0;
}
