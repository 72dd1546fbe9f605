/*
 * data_write.c - the public write functions (set, append, del, expire,
 * persist, incrby, flush) and what every write goes through first: the
 * maxmemory check and eviction.
 */
#include "data.h"

#include <stdio.h>

/* ------------------------------------------------------------ eviction */

/* Of the sampled entries, the one the policy would drop first, or NULL. */
static rkv_entry *pick_victim(int policy, rkv_entry **cand, size_t n,
                              uint32_t clock)
{
    rkv_entry *best = NULL;
    uint64_t best_score = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t score;
        switch (policy) {
        case RKV_EVICT_VOLATILE_TTL:
            /* Sooner expiry first: invert so that larger is better. */
            score = UINT64_MAX - (uint64_t)rkv_entry_expire(cand[i]);
            break;
        case RKV_EVICT_ALLKEYS_RANDOM:
        case RKV_EVICT_VOLATILE_RANDOM:
            return cand[i];
        default: /* LRU: the longest idle, with the 24-bit clock wrapping */
            score = (clock - rkv_entry_lru(cand[i])) & RKV_LRU_MAX;
        }
        if (best == NULL || score > best_score) {
            best = cand[i];
            best_score = score;
        }
    }
    return best;
}

/* Evicts one key chosen by the policy from a sampled shard. Returns false
 * when nothing could be evicted. */
static bool evict_one(replkv_t *kv, int policy)
{
    bool volatile_only = policy == RKV_EVICT_VOLATILE_LRU ||
                         policy == RKV_EVICT_VOLATILE_RANDOM ||
                         policy == RKV_EVICT_VOLATILE_TTL;
    int samples = atomic_load_explicit(&kv->evict_samples, memory_order_relaxed);
    uint32_t clock = atomic_load_explicit(&kv->lru_clock, memory_order_relaxed);
    uint64_t r = rkv_node_random(kv);
    for (unsigned tries = 0; tries < RKV_SHARDS; tries++) {
        rkv_shard *s = &kv->shards[(r + tries) % RKV_SHARDS];
        rkv_entry *cand[64];
        shard_lock(s);
        size_t n = rkv_ks_sample(s->ks, rkv_node_random(kv), volatile_only,
                                 cand, (size_t)samples);
        rkv_entry *victim = pick_victim(policy, cand, n, clock);
        if (victim != NULL) {
            size_t klen;
            const void *key = rkv_entry_key(victim, &klen);
            if (rkv_journal_on(kv))
                rkv_journal_del(kv, key, klen);
            rkv_ks_remove(s->ks, key_hash(kv, key, klen), key, klen);
            s->evicted++;
            shard_unlock_changed(s);
            rkv_journal_wake(kv);
            return true;
        }
        shard_unlock(s);
    }
    return false;
}

/* Makes room for a write under maxmemory, as Redis does before a command
 * that may grow memory: evict until under the limit, or refuse. */
static int ensure_memory(replkv_t *kv)
{
    uint64_t max = atomic_load_explicit(&kv->maxmemory, memory_order_relaxed);
    if (RKV_LIKELY(max == 0))
        return 0;
    int policy = atomic_load_explicit(&kv->evict_policy, memory_order_relaxed);
    /* Bounded: each round frees one key; a write never loops forever. */
    for (int round = 0; round < 1024; round++) {
        size_t used = rkv_node_used_memory(kv);
        if (used <= max)
            return 0;
        if (policy == RKV_EVICT_NOEVICTION)
            return rkv_fail(REPLKV_EMAXMEMORY,
                            "used memory %zu > maxmemory %" PRIu64
                            " (policy noeviction)",
                            used, max);
        if (!evict_one(kv, policy))
            return rkv_fail(REPLKV_EMAXMEMORY,
                            "used memory %zu > maxmemory %" PRIu64
                            " and no key can be evicted",
                            used, max);
    }
    return 0;
}

/* ------------------------------------------------------------ writes */

/* After the shard lock is released: v, or REPLKV_EIO when appendfsync
 * always could not make the write durable (it is applied in memory). */
static int commit_or(replkv_t *kv, int v)
{
    int rc = rkv_journal_commit(kv);
    return rc != 0 ? rc : v;
}

/* replkv_set and replkv_set_get: old (may be NULL) receives the previous
 * value. */
static int set_common(replkv_t *kv, const void *key, size_t klen,
                      const void *val, size_t vlen, int64_t ttl_ms,
                      unsigned flags, void **old, size_t *old_len)
{
    int rc = check_key(kv, key, klen);
    if (rc == 0)
        rc = check_value(kv, val, vlen);
    if (rc != 0)
        return rc;
    if ((flags & REPLKV_NX) && (flags & REPLKV_XX))
        return rkv_fail(REPLKV_EINVAL, "set: NX and XX together");
    if ((flags & REPLKV_KEEPTTL) && ttl_ms != 0)
        return rkv_fail(REPLKV_EINVAL, "set: KEEPTTL with a TTL");
    if (flags & ~(REPLKV_NX | REPLKV_XX | REPLKV_KEEPTTL | REPLKV_ABSTIME))
        return rkv_fail(REPLKV_EINVAL, "set: unknown flags 0x%x", flags);
    int64_t now = ttl_ms != 0 ? rkv_now_ms() : 0;
    int64_t at = 0;
    if ((rc = rkv_data_expiry_from(ttl_ms, flags, now, &at)) != 0)
        return rc;
    if ((rc = rkv_journal_write_check(kv)) != 0)
        return rc;
    if ((rc = ensure_memory(kv)) != 0)
        return rc;

    uint64_t h;
    rkv_shard *s = lock_key(kv, key, klen, &h);
    rkv_ks_pos pos;
    rkv_entry *e = find_live(kv, s, h, key, klen, &pos);
    if (old != NULL && e != NULL && (rc = rkv_data_copy_value(e, old, old_len)) != 0) {
        shard_unlock_changed(s);
        return rc;
    }
    if (((flags & REPLKV_NX) && e != NULL) ||
        ((flags & REPLKV_XX) && e == NULL)) {
        shard_unlock_changed(s);
        return 0;
    }
    if ((flags & REPLKV_KEEPTTL) && e != NULL)
        at = rkv_entry_expire(e);
    if (at != 0 && at <= (now ? now : rkv_now_ms())) {
        /* An absolute time already past: the key ends up absent. */
        if (e != NULL) {
            rkv_ks_remove(s->ks, h, key, klen);
            if (rkv_journal_on(kv))
                rkv_journal_del(kv, key, klen);
        }
        shard_unlock_changed(s);
        return commit_or(kv, 1);
    }
    e = rkv_ks_put_at(s->ks, &pos, key, klen, val, vlen, at, NULL);
    if (e == NULL) {
        shard_unlock(s);
        if (old != NULL) {
            free(*old);
            *old = NULL;
        }
        return rkv_fail(REPLKV_ENOMEM, "set: out of memory");
    }
    rkv_entry_touch(e, atomic_load_explicit(&kv->lru_clock,
                                            memory_order_relaxed));
    if (rkv_journal_on(kv)) {
        rkv_journal_set(kv, key, klen, val, vlen, at);
        shard_unlock_changed(s);
        return commit_or(kv, 1);
    }
    shard_unlock_changed(s);
    return 1;
}

int replkv_set(replkv_t *kv, const void *key, size_t klen, const void *val,
               size_t vlen, int64_t ttl_ms, unsigned flags)
{
    return set_common(kv, key, klen, val, vlen, ttl_ms, flags, NULL, NULL);
}

int replkv_set_get(replkv_t *kv, const void *key, size_t klen,
                   const void *val, size_t vlen, int64_t ttl_ms,
                   unsigned flags, void **old, size_t *old_len)
{
    if (old == NULL || old_len == NULL)
        return rkv_fail(REPLKV_EINVAL, "set_get: NULL output");
    *old = NULL;
    *old_len = 0;
    return set_common(kv, key, klen, val, vlen, ttl_ms, flags, old, old_len);
}

int replkv_append(replkv_t *kv, const void *key, size_t klen, const void *val,
                  size_t vlen, size_t *new_len)
{
    int rc = check_key(kv, key, klen);
    if (rc == 0)
        rc = check_value(kv, val, vlen);
    if (rc == 0)
        rc = rkv_journal_write_check(kv);
    if (rc == 0)
        rc = ensure_memory(kv);
    if (rc != 0)
        return rc;
    uint64_t h;
    rkv_shard *s = lock_key(kv, key, klen, &h);
    rkv_ks_pos pos;
    rkv_entry *e = find_live(kv, s, h, key, klen, &pos);
    size_t cur_len = 0;
    const void *cur = NULL;
    int64_t at = 0;
    if (e != NULL) {
        cur = rkv_entry_val(e, &cur_len);
        at = rkv_entry_expire(e);
    }
    uint64_t max = atomic_load_explicit(&kv->max_bulk_len, memory_order_relaxed);
    if (cur_len + vlen > max) {
        shard_unlock_changed(s);
        return rkv_fail(REPLKV_ETOOBIG,
                        "append: result of %zu bytes is over "
                        "proto-max-bulk-len",
                        cur_len + vlen);
    }
    /* The new value is built aside: the entry's bytes may move on put. */
    char *joined = malloc(cur_len + vlen + 1);
    if (joined == NULL) {
        shard_unlock_changed(s);
        return rkv_fail(REPLKV_ENOMEM, "append: out of memory");
    }
    if (cur_len)
        memcpy(joined, cur, cur_len);
    if (vlen)
        memcpy(joined + cur_len, val, vlen);
    e = rkv_ks_put_at(s->ks, &pos, key, klen, joined, cur_len + vlen, at, NULL);
    if (e == NULL) {
        free(joined);
        shard_unlock_changed(s);
        return rkv_fail(REPLKV_ENOMEM, "append: out of memory");
    }
    if (rkv_journal_on(kv))
        rkv_journal_set(kv, key, klen, joined, cur_len + vlen, at);
    free(joined);
    shard_unlock_changed(s);
    rc = rkv_journal_commit(kv);
    if (new_len)
        *new_len = cur_len + vlen;
    return rc;
}

int replkv_del(replkv_t *kv, const void *key, size_t klen)
{
    int rc = check_key(kv, key, klen);
    if (rc == 0)
        rc = rkv_journal_write_check(kv);
    if (rc != 0)
        return rc;
    uint64_t h;
    rkv_shard *s = lock_key(kv, key, klen, &h);
    bool live = find_live(kv, s, h, key, klen, NULL) != NULL;
    if (live) {
        rkv_ks_remove(s->ks, h, key, klen);
        if (rkv_journal_on(kv))
            rkv_journal_del(kv, key, klen);
    }
    shard_unlock_changed(s);
    return commit_or(kv, live ? 1 : 0);
}

int replkv_expire(replkv_t *kv, const void *key, size_t klen, int64_t ms,
                  unsigned flags)
{
    int rc = check_key(kv, key, klen);
    if (rc != 0)
        return rc;
    unsigned conds = flags & (REPLKV_NX | REPLKV_XX | REPLKV_GT | REPLKV_LT);
    if (flags & ~(conds | REPLKV_ABSTIME))
        return rkv_fail(REPLKV_EINVAL, "expire: unknown flags 0x%x", flags);
    if ((conds & REPLKV_NX) && conds != REPLKV_NX)
        return rkv_fail(REPLKV_EINVAL,
                        "expire: NX and XX, GT or LT options at the same time "
                        "are not compatible");
    if ((conds & REPLKV_GT) && (conds & REPLKV_LT))
        return rkv_fail(REPLKV_EINVAL, "expire: GT and LT together");
    if ((rc = rkv_journal_write_check(kv)) != 0)
        return rc;
    int64_t now = rkv_now_ms();
    int64_t at;
    if (flags & REPLKV_ABSTIME) {
        at = ms;
    } else if (ms > 0 && ms > INT64_MAX - now) {
        return rkv_fail(REPLKV_EINVAL, "expire: %" PRId64 " ms overflows", ms);
    } else if (ms < 0 && ms < INT64_MIN + now) {
        return rkv_fail(REPLKV_EINVAL, "expire: %" PRId64 " ms overflows", ms);
    } else {
        at = now + ms;
    }

    uint64_t h;
    rkv_shard *s = lock_key(kv, key, klen, &h);
    rkv_entry *e = find_live(kv, s, h, key, klen, NULL);
    if (e == NULL) {
        shard_unlock_changed(s);
        return 0;
    }
    int64_t cur = rkv_entry_expire(e);
    /* No TTL counts as an infinite one for GT and LT, as in Redis 7. */
    bool ok = !((conds & REPLKV_NX) && cur != 0) &&
              !((conds & REPLKV_XX) && cur == 0) &&
              !((conds & REPLKV_GT) && (cur == 0 || at <= cur)) &&
              !((conds & REPLKV_LT) && cur != 0 && at >= cur);
    if (!ok) {
        shard_unlock(s);
        return 0;
    }
    if (at <= now) {
        rkv_ks_remove(s->ks, h, key, klen);
        if (rkv_journal_on(kv))
            rkv_journal_del(kv, key, klen);
    } else if (rkv_ks_set_expire(s->ks, e, at) == NULL) {
        shard_unlock(s);
        return rkv_fail(REPLKV_ENOMEM, "expire: out of memory");
    } else if (rkv_journal_on(kv)) {
        rkv_journal_expireat(kv, key, klen, at);
    }
    shard_unlock_changed(s);
    return commit_or(kv, 1);
}

int replkv_persist(replkv_t *kv, const void *key, size_t klen)
{
    int rc = check_key(kv, key, klen);
    if (rc == 0)
        rc = rkv_journal_write_check(kv);
    if (rc != 0)
        return rc;
    uint64_t h;
    rkv_shard *s = lock_key(kv, key, klen, &h);
    rkv_entry *e = find_live(kv, s, h, key, klen, NULL);
    if (e == NULL || rkv_entry_expire(e) == 0) {
        shard_unlock_changed(s);
        return 0;
    }
    if (rkv_ks_set_expire(s->ks, e, 0) == NULL) {
        shard_unlock(s);
        return rkv_fail(REPLKV_ENOMEM, "persist: out of memory");
    }
    if (rkv_journal_on(kv))
        rkv_journal_persist(kv, key, klen);
    shard_unlock_changed(s);
    return commit_or(kv, 1);
}

/* Parses a value as Redis's string2ll does: an optional '-', no leading
 * zeros (but "0"), no spaces, no '+', within int64. */
static bool parse_canonical_int(const char *p, size_t len, int64_t *out)
{
    if (len == 0 || len > 20)
        return false;
    bool neg = p[0] == '-';
    size_t i = neg ? 1 : 0;
    if (i == len || p[i] < '0' || p[i] > '9')
        return false;
    if (p[i] == '0')
        return len == 1 ? (*out = 0, true) : false;
    uint64_t v = 0;
    for (; i < len; i++) {
        if (p[i] < '0' || p[i] > '9')
            return false;
        unsigned d = (unsigned)(p[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    if (neg) {
        if (v > (uint64_t)INT64_MAX + 1)
            return false;
        *out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
    } else {
        if (v > (uint64_t)INT64_MAX)
            return false;
        *out = (int64_t)v;
    }
    return true;
}

int replkv_incrby(replkv_t *kv, const void *key, size_t klen, int64_t delta,
                  int64_t *result)
{
    int rc = check_key(kv, key, klen);
    if (rc == 0)
        rc = rkv_journal_write_check(kv);
    if (rc != 0)
        return rc;
    if ((rc = ensure_memory(kv)) != 0)
        return rc;
    uint64_t h;
    rkv_shard *s = lock_key(kv, key, klen, &h);
    rkv_ks_pos pos;
    rkv_entry *e = find_live(kv, s, h, key, klen, &pos);
    int64_t cur = 0, at = 0;
    if (e != NULL) {
        size_t vlen;
        const char *v = rkv_entry_val(e, &vlen);
        if (!parse_canonical_int(v, vlen, &cur)) {
            shard_unlock_changed(s);
            return rkv_fail(REPLKV_ENOTINT,
                            "value is not an integer or out of range");
        }
        at = rkv_entry_expire(e);
    }
    if ((delta > 0 && cur > INT64_MAX - delta) ||
        (delta < 0 && cur < INT64_MIN - delta)) {
        shard_unlock_changed(s);
        return rkv_fail(REPLKV_EOVERFLOW,
                        "increment or decrement would overflow");
    }
    cur += delta;
    char num[24];
    int n = snprintf(num, sizeof num, "%" PRId64, cur);
    e = rkv_ks_put_at(s->ks, &pos, key, klen, num, (size_t)n, at, NULL);
    if (e == NULL) {
        shard_unlock(s);
        return rkv_fail(REPLKV_ENOMEM, "incrby: out of memory");
    }
    rkv_entry_touch(e, atomic_load_explicit(&kv->lru_clock,
                                            memory_order_relaxed));
    if (rkv_journal_on(kv))
        rkv_journal_set(kv, key, klen, num, (size_t)n, at);
    shard_unlock_changed(s);
    rc = rkv_journal_commit(kv);
    if (result)
        *result = cur;
    return rc;
}

int replkv_flush(replkv_t *kv)
{
    if (kv == NULL)
        return rkv_fail(REPLKV_EINVAL, "NULL node");
    int rc = rkv_journal_write_check(kv);
    if (rc != 0)
        return rc;
    for (unsigned i = 0; i < RKV_SHARDS; i++)
        shard_lock(&kv->shards[i]);
    for (unsigned i = 0; i < RKV_SHARDS; i++)
        rkv_ks_clear(kv->shards[i].ks);
    if (rkv_journal_on(kv))
        rkv_journal_flush(kv);
    for (unsigned i = RKV_SHARDS; i-- > 0;)
        shard_unlock_changed(&kv->shards[i]);
    return rkv_journal_commit(kv);
}

/* Turns a (ttl, flags) pair into an absolute expiry (0 = none). */
int rkv_data_expiry_from(int64_t ttl_ms, unsigned flags, int64_t now,
                       int64_t *at)
{
    if (ttl_ms < 0)
        return rkv_fail(REPLKV_EINVAL, "negative TTL %" PRId64, ttl_ms);
    if (ttl_ms == 0) {
        *at = 0;
        return 0;
    }
    if (flags & REPLKV_ABSTIME) {
        *at = ttl_ms;
        return 0;
    }
    if (ttl_ms > INT64_MAX - now)
        return rkv_fail(REPLKV_EINVAL, "TTL %" PRId64 " ms overflows", ttl_ms);
    *at = now + ttl_ms;
    return 0;
}
