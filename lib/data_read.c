/*
 * data_read.c - the public read functions (get and its allocating forms,
 * getdel / getex, exists, ttl, count).
 */
#include "data.h"

/* Copies an entry's value into a new NUL-terminated allocation. */
int rkv_data_copy_value(const rkv_entry *e, void **val, size_t *vlen)
{
    size_t n;
    const void *v = rkv_entry_val(e, &n);
    char *copy = malloc(n + 1);
    if (copy == NULL)
        return rkv_fail(REPLKV_ENOMEM, "out of memory copying %zu bytes", n);
    memcpy(copy, v, n);
    copy[n] = '\0';
    *val = copy;
    *vlen = n;
    return 0;
}

/* ------------------------------------------------------------ reads */

int replkv_get(replkv_t *kv, const void *key, size_t klen, void *buf,
               size_t cap, size_t *vlen)
{
    int rc = check_key(kv, key, klen);
    if (rc != 0)
        return rc;
    if (vlen == NULL || (buf == NULL && cap > 0))
        return rkv_fail(REPLKV_EINVAL, "get: NULL buffer or length");
    uint64_t h;
    rkv_shard *s = lock_key(kv, key, klen, &h);
    rkv_entry *e = find_live(kv, s, h, key, klen, NULL);
    if (e == NULL) {
        s->misses++;
        shard_unlock_changed(s);
        *vlen = 0;
        return rkv_fail_static(REPLKV_ENOTFOUND, "no such key");
    }
    s->hits++;
    rkv_entry_touch(e, atomic_load_explicit(&kv->lru_clock,
                                            memory_order_relaxed));
    size_t n;
    const void *v = rkv_entry_val(e, &n);
    *vlen = n;
    if (n > cap) {
        shard_unlock(s);
        return rkv_fail(REPLKV_ERANGE, "get: value needs %zu bytes", n);
    }
    memcpy(buf, v, n);
    shard_unlock(s);
    return 0;
}

/* GET, GETDEL and GETEX in one place: copy the value out, then delete the
 * key (del) or change its TTL as getex asks. */
static int get_then(replkv_t *kv, const void *key, size_t klen, void **val,
                    size_t *vlen, bool del, int64_t ttl_ms, unsigned flags)
{
    if (val == NULL || vlen == NULL)
        return rkv_fail(REPLKV_EINVAL, "getex: NULL output");
    *val = NULL;
    *vlen = 0;
    int rc = check_key(kv, key, klen);
    if (rc != 0)
        return rc;
    if (ttl_ms < 0)
        return rkv_fail(REPLKV_EINVAL, "getex: negative TTL");
    if (flags & ~(REPLKV_PERSIST | REPLKV_ABSTIME))
        return rkv_fail(REPLKV_EINVAL, "getex: unknown flags 0x%x", flags);
    if ((flags & REPLKV_PERSIST) && ttl_ms != 0)
        return rkv_fail(REPLKV_EINVAL, "getex: PERSIST with a TTL");
    int64_t now = rkv_now_ms();
    int64_t at = 0;
    if ((rc = rkv_data_expiry_from(ttl_ms, flags, now, &at)) != 0)
        return rc;
    bool writes = del || at != 0 || (flags & REPLKV_PERSIST);
    if (writes && (rc = rkv_journal_write_check(kv)) != 0)
        return rc;

    uint64_t h;
    rkv_shard *s = lock_key(kv, key, klen, &h);
    rkv_entry *e = find_live(kv, s, h, key, klen, NULL);
    if (e == NULL) {
        s->misses++;
        shard_unlock_changed(s);
        return rkv_fail_static(REPLKV_ENOTFOUND, "no such key");
    }
    s->hits++;
    if ((rc = rkv_data_copy_value(e, val, vlen)) != 0) {
        shard_unlock(s);
        return rc;
    }
    bool had_ttl = rkv_entry_expire(e) != 0;
    if (del || (at != 0 && at <= now)) {
        rkv_ks_remove(s->ks, h, key, klen);
        if (rkv_journal_on(kv))
            rkv_journal_del(kv, key, klen);
    } else if ((at != 0 || (flags & REPLKV_PERSIST)) &&
               rkv_ks_set_expire(s->ks, e, at) == NULL) {
        shard_unlock(s);
        free(*val);
        *val = NULL;
        return rkv_fail(REPLKV_ENOMEM, "getex: out of memory");
    } else if (rkv_journal_on(kv)) {
        if (at != 0)
            rkv_journal_expireat(kv, key, klen, at);
        else if ((flags & REPLKV_PERSIST) && had_ttl)
            rkv_journal_persist(kv, key, klen);
    }
    shard_unlock_changed(s);
    if ((rc = rkv_journal_commit(kv)) != 0) {
        free(*val);
        *val = NULL;
        *vlen = 0;
    }
    return rc;
}

int replkv_get_alloc(replkv_t *kv, const void *key, size_t klen, void **val,
                     size_t *vlen)
{
    return get_then(kv, key, klen, val, vlen, false, 0, 0);
}

int replkv_getdel(replkv_t *kv, const void *key, size_t klen, void **val,
                  size_t *vlen)
{
    return get_then(kv, key, klen, val, vlen, true, 0, 0);
}

int replkv_getex(replkv_t *kv, const void *key, size_t klen, void **val,
                 size_t *vlen, int64_t ttl_ms, unsigned flags)
{
    return get_then(kv, key, klen, val, vlen, false, ttl_ms, flags);
}

int replkv_exists(replkv_t *kv, const void *key, size_t klen)
{
    int rc = check_key(kv, key, klen);
    if (rc != 0)
        return rc;
    uint64_t h;
    rkv_shard *s = lock_key(kv, key, klen, &h);
    bool live = find_live(kv, s, h, key, klen, NULL) != NULL;
    shard_unlock_changed(s);
    return live ? 1 : 0;
}

int replkv_ttl(replkv_t *kv, const void *key, size_t klen, int64_t *ttl_ms)
{
    int rc = check_key(kv, key, klen);
    if (rc != 0)
        return rc;
    if (ttl_ms == NULL)
        return rkv_fail(REPLKV_EINVAL, "ttl: NULL output");
    uint64_t h;
    rkv_shard *s = lock_key(kv, key, klen, &h);
    rkv_entry *e = find_live(kv, s, h, key, klen, NULL);
    if (e == NULL) {
        shard_unlock_changed(s);
        *ttl_ms = -2;
        return rkv_fail_static(REPLKV_ENOTFOUND, "no such key");
    }
    int64_t at = rkv_entry_expire(e);
    shard_unlock(s);
    if (at == 0) {
        *ttl_ms = -1;
    } else {
        int64_t left = at - rkv_now_ms();
        *ttl_ms = left > 0 ? left : 0;
    }
    return 0;
}

int replkv_count(replkv_t *kv, uint64_t *count)
{
    if (kv == NULL || count == NULL)
        return rkv_fail(REPLKV_EINVAL, "count: NULL argument");
    uint64_t n = 0;
    for (unsigned i = 0; i < RKV_SHARDS; i++) {
        shard_lock(&kv->shards[i]);
        n += rkv_ks_count(kv->shards[i].ks);
        shard_unlock(&kv->shards[i]);
    }
    *count = n;
    return 0;
}
