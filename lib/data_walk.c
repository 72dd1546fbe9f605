/*
 * data_walk.c - the functions that walk the whole keyspace: scan, digest and
 * the cron's active expiry.
 */
#include "data.h"

/* ------------------------------------------------------------ walks */

/* Keys copied out of a shard under its lock, handed to the caller's
 * callback after the lock is released. */
typedef struct key_batch {
    char *bytes;
    size_t len, cap;
    size_t *ends; /* end offset of each key in bytes */
    size_t n, ncap;
    int64_t now;
    bool oom;
} key_batch;

static void batch_add(const rkv_entry *e, void *ud)
{
    key_batch *b = ud;
    if (b->oom || expired_at(rkv_entry_expire(e), b->now))
        return;
    size_t klen;
    const void *key = rkv_entry_key(e, &klen);
    if (b->len + klen > b->cap) {
        size_t cap = (b->cap + klen) * 2;
        char *p = realloc(b->bytes, cap);
        if (p == NULL) {
            b->oom = true;
            return;
        }
        b->bytes = p;
        b->cap = cap;
    }
    if (b->n == b->ncap) {
        size_t ncap = b->ncap ? b->ncap * 2 : 64;
        size_t *p = realloc(b->ends, ncap * sizeof *p);
        if (p == NULL) {
            b->oom = true;
            return;
        }
        b->ends = p;
        b->ncap = ncap;
    }
    memcpy(b->bytes + b->len, key, klen);
    b->len += klen;
    b->ends[b->n++] = b->len;
}

int replkv_scan(replkv_t *kv, uint64_t *cursor, size_t count,
                replkv_scan_cb cb, void *ud)
{
    if (kv == NULL || cursor == NULL || cb == NULL)
        return rkv_fail(REPLKV_EINVAL, "scan: NULL argument");
    if (count == 0)
        count = 10;
    /* The cursor keeps the shard in its low bits and that shard's table
     * cursor above them, so a scan walks the shards one after another; one
     * call goes on into the next shards until it has about count keys. */
    unsigned shard = (unsigned)(*cursor & (RKV_SHARDS - 1));
    uint64_t c = *cursor >> RKV_SHARD_BITS;
    key_batch b = {.now = rkv_now_ms()};
    bool done = false;
    while (!done && b.n < count && !b.oom) {
        rkv_shard *s = &kv->shards[shard];
        shard_lock(s);
        do {
            c = rkv_ks_scan(s->ks, c, batch_add, &b);
        } while (c != 0 && b.n < count && !b.oom);
        shard_unlock(s);
        if (c == 0 && ++shard == RKV_SHARDS)
            done = true;
    }
    if (b.oom) {
        free(b.bytes);
        free(b.ends);
        return rkv_fail(REPLKV_ENOMEM, "scan: out of memory");
    }
    *cursor = done ? 0 : (c << RKV_SHARD_BITS) | shard;

    int rc = 0;
    size_t start = 0;
    for (size_t i = 0; i < b.n && rc == 0; i++) {
        rc = cb(b.bytes + start, b.ends[i] - start, ud);
        start = b.ends[i];
    }
    free(b.bytes);
    free(b.ends);
    return rc;
}

int replkv_digest(replkv_t *kv, unsigned char out[16])
{
    if (kv == NULL || out == NULL)
        return rkv_fail(REPLKV_EINVAL, "digest: NULL argument");
    uint64_t acc[2] = {0, 0};
    int64_t now = rkv_now_ms();
    for (unsigned i = 0; i < RKV_SHARDS; i++) {
        shard_lock(&kv->shards[i]);
        rkv_ks_digest(kv->shards[i].ks, now, acc);
        shard_unlock(&kv->shards[i]);
    }
    for (int i = 0; i < 8; i++) {
        out[i] = (unsigned char)(acc[0] >> (8 * i));
        out[8 + i] = (unsigned char)(acc[1] >> (8 * i));
    }
    return 0;
}

typedef struct expire_ctx {
    replkv_t *kv;
    uint64_t removed;
} expire_ctx;

/* Active expiry on a primary travels as DELs (docs/PROTOCOL.md). */
static void count_expired(const void *key, size_t klen, void *ud)
{
    expire_ctx *x = ud;
    if (rkv_journal_on(x->kv))
        rkv_journal_del(x->kv, key, klen);
    x->removed++;
}

void rkv_data_active_expire(replkv_t *kv, uint64_t budget_us)
{
    /* Steps of a few buckets per lock hold keep writers' waits short; the
     * cycle ends when its time is spent or every shard with volatile keys
     * has been swept once. */
    enum { BUCKETS_PER_STEP = 64 };
    /* Replicas never delete on their own: their primary's DELs do. */
    if (rkv_mode(kv) == RKV_MODE_REPLICA)
        return;
    uint64_t deadline = rkv_mono_ns() + budget_us * 1000u;
    bool swept[RKV_SHARDS] = {false};
    unsigned pending = RKV_SHARDS;
    while (pending > 0 && rkv_mono_ns() < deadline) {
        for (unsigned i = 0; i < RKV_SHARDS; i++) {
            if (swept[i])
                continue;
            rkv_shard *s = &kv->shards[i];
            expire_ctx x = {kv, 0};
            shard_lock(s);
            if (rkv_ks_volatile_count(s->ks) > 0) {
                rkv_ks_expire_cycle(s->ks, rkv_now_ms(), BUCKETS_PER_STEP,
                                    &s->expire_cursor, count_expired, &x);
                s->expired += x.removed;
            }
            bool done = rkv_ks_volatile_count(s->ks) == 0 ||
                        s->expire_cursor == 0;
            shard_unlock_changed(s);
            rkv_journal_wake(kv);
            if (done) {
                swept[i] = true;
                pending--;
            }
        }
    }
}
