/*
 * commands_keys.c - the keyspace commands: DEL/UNLINK, EXISTS, the EXPIRE
 * family and TTL, PERSIST, TYPE, DBSIZE, FLUSHALL/FLUSHDB, SCAN and KEYS.
 * Every value is a string, so TYPE is "string" or "none".
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "util.h"

void cmd_del(cache_client *c)
{
    long long n = 0;
    for (size_t i = 1; i < c->argc; i++) {
        if (c->argvlen[i] == 0)
            continue;
        int rc = replkv_del(c->srv->kv, c->argv[i], c->argvlen[i]);
        if (rc < 0) {
            c_libfail(c, rc);
            return;
        }
        n += rc;
    }
    reply_int(c->reply, n);
}

void cmd_exists(cache_client *c)
{
    long long n = 0;
    for (size_t i = 1; i < c->argc; i++) {
        if (c->argvlen[i] == 0)
            continue;
        int rc = replkv_exists(c->srv->kv, c->argv[i], c->argvlen[i]);
        if (rc < 0) {
            c_libfail(c, rc);
            return;
        }
        n += rc;
    }
    reply_int(c->reply, n);
}

/* EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT (Redis's expireGenericCommand). */
static void expire_generic(cache_client *c, bool relative, bool seconds,
                           const char *name)
{
    long long when;
    if (!c_arg_ll(c, 2, &when))
        return;
    unsigned flags = 0;
    for (size_t j = 3; j < c->argc; j++) {
        if (c_arg_is(c, j, "nx"))
            flags |= REPLKV_NX;
        else if (c_arg_is(c, j, "xx"))
            flags |= REPLKV_XX;
        else if (c_arg_is(c, j, "gt"))
            flags |= REPLKV_GT;
        else if (c_arg_is(c, j, "lt"))
            flags |= REPLKV_LT;
        else {
            c_errf(c, "ERR Unsupported option %.*s", (int)c->argvlen[j],
                   c->argv[j]);
            return;
        }
    }
    if ((flags & REPLKV_NX) && (flags & (REPLKV_XX | REPLKV_GT | REPLKV_LT))) {
        c_err(c, "ERR NX and XX, GT or LT options at the same time are not "
                 "compatible");
        return;
    }
    if ((flags & REPLKV_GT) && (flags & REPLKV_LT)) {
        c_err(c, "ERR GT and LT options at the same time are not compatible");
        return;
    }
    if (seconds) {
        if (when > LLONG_MAX / 1000 || when < LLONG_MIN / 1000) {
            c_errf(c, "ERR invalid expire time in '%s' command", name);
            return;
        }
        when *= 1000;
    }
    if (relative) {
        /* The library adds the time now; refuse what would overflow. */
        if (when > LLONG_MAX - util_now_ms()) {
            c_errf(c, "ERR invalid expire time in '%s' command", name);
            return;
        }
    } else {
        flags |= REPLKV_ABSTIME;
    }
    if (c->argvlen[1] == 0) {
        reply_int(c->reply, 0);
        return;
    }
    int rc = replkv_expire(c->srv->kv, c->argv[1], c->argvlen[1], when, flags);
    if (rc == REPLKV_EINVAL)
        c_errf(c, "ERR invalid expire time in '%s' command", name);
    else if (rc < 0)
        c_libfail(c, rc);
    else
        reply_int(c->reply, rc);
}

void cmd_expire(cache_client *c)
{
    expire_generic(c, true, true, "expire");
}

void cmd_pexpire(cache_client *c)
{
    expire_generic(c, true, false, "pexpire");
}

void cmd_expireat(cache_client *c)
{
    expire_generic(c, false, true, "expireat");
}

void cmd_pexpireat(cache_client *c)
{
    expire_generic(c, false, false, "pexpireat");
}

static void ttl_generic(cache_client *c, bool ms)
{
    int64_t ttl = -2;
    int rc = c->argvlen[1] == 0
                 ? REPLKV_ENOTFOUND
                 : replkv_ttl(c->srv->kv, c->argv[1], c->argvlen[1], &ttl);
    if (rc == REPLKV_ENOTFOUND) {
        reply_int(c->reply, -2);
        return;
    }
    if (rc < 0) {
        c_libfail(c, rc);
        return;
    }
    if (ttl < 0)
        reply_int(c->reply, -1);
    else
        reply_int(c->reply, ms ? ttl : (ttl + 500) / 1000);
}

void cmd_ttl(cache_client *c)
{
    ttl_generic(c, false);
}

void cmd_pttl(cache_client *c)
{
    ttl_generic(c, true);
}

void cmd_persist(cache_client *c)
{
    if (c->argvlen[1] == 0) {
        reply_int(c->reply, 0);
        return;
    }
    int rc = replkv_persist(c->srv->kv, c->argv[1], c->argvlen[1]);
    if (rc < 0)
        c_libfail(c, rc);
    else
        reply_int(c->reply, rc);
}

void cmd_type(cache_client *c)
{
    int rc = c->argvlen[1] == 0
                 ? 0
                 : replkv_exists(c->srv->kv, c->argv[1], c->argvlen[1]);
    if (rc < 0)
        c_libfail(c, rc);
    else
        reply_simple(c->reply, rc ? "string" : "none");
}

void cmd_dbsize(cache_client *c)
{
    uint64_t n = 0;
    int rc = replkv_count(c->srv->kv, &n);
    if (rc < 0)
        c_libfail(c, rc);
    else
        reply_int(c->reply, (long long)n);
}

void cmd_flushall(cache_client *c)
{
    if (c->argc > 2 || (c->argc == 2 && !c_arg_is(c, 1, "sync") &&
                        !c_arg_is(c, 1, "async"))) {
        c_syntax(c);
        return;
    }
    int rc = replkv_flush(c->srv->kv);
    if (rc < 0)
        c_libfail(c, rc);
    else
        c_ok(c);
}

/* ------------------------------------------------------------ SCAN, KEYS */

/* Keys collected by a scan, already encoded as RESP bulks. */
typedef struct key_list {
    rbuf out;
    size_t n;
    const char *pat;
    size_t plen;
    bool all; /* pattern "*" */
    /* KEYS only: a set of the keys seen, to drop the repeats a scan may
     * give while the table resizes. Offsets into out of each key's bytes. */
    bool dedup;
    size_t *slots; /* 0 = empty, else offset + 1 of the bulk header */
    size_t nslots;
} key_list;

static uint64_t key_hash(const void *p, size_t n)
{
    const unsigned char *s = p;
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) {
        h ^= s[i];
        h *= 1099511628211ull;
    }
    return h;
}

/* Reads back the key of the bulk starting at out.data[off]. */
static const char *bulk_at(const key_list *l, size_t off, size_t *len)
{
    const char *p = l->out.data + off + 1;
    size_t n = 0;
    while (*p != '\r')
        n = n * 10 + (size_t)(*p++ - '0');
    *len = n;
    return p + 2;
}

static bool seen_insert(key_list *l, const void *key, size_t klen, size_t off)
{
    if (l->n * 2 >= l->nslots) {
        size_t ns = l->nslots ? l->nslots * 2 : 1024;
        size_t *s = calloc(ns, sizeof *s);
        if (s == NULL)
            return true; /* no memory for the set: keep the key */
        for (size_t i = 0; i < l->nslots; i++) {
            if (l->slots[i] == 0)
                continue;
            size_t len;
            const char *k = bulk_at(l, l->slots[i] - 1, &len);
            size_t h = key_hash(k, len) & (ns - 1);
            while (s[h])
                h = (h + 1) & (ns - 1);
            s[h] = l->slots[i];
        }
        free(l->slots);
        l->slots = s;
        l->nslots = ns;
    }
    size_t h = key_hash(key, klen) & (l->nslots - 1);
    while (l->slots[h]) {
        size_t len;
        const char *k = bulk_at(l, l->slots[h] - 1, &len);
        if (len == klen && memcmp(k, key, klen) == 0)
            return false;
        h = (h + 1) & (l->nslots - 1);
    }
    l->slots[h] = off + 1;
    return true;
}

static int collect_key(const void *key, size_t klen, void *ud)
{
    key_list *l = ud;
    if (!l->all && !util_glob_match(l->pat, l->plen, key, klen, false))
        return 0;
    size_t off = l->out.len;
    reply_bulk(&l->out, key, klen);
    if (l->out.oom)
        return 1;
    if (l->dedup && !seen_insert(l, key, klen, off)) {
        l->out.len = off; /* a repeat */
        return 0;
    }
    l->n++;
    return 0;
}

void cmd_scan(cache_client *c)
{
    unsigned long long cursor;
    if (!util_str2ull(c->argv[1], c->argvlen[1], &cursor)) {
        c_err(c, "ERR invalid cursor");
        return;
    }
    key_list l = {0};
    l.all = true;
    long long count = 10;
    bool type_ok = true;
    for (size_t j = 2; j < c->argc; j += 2) {
        if (j + 1 >= c->argc) {
            c_syntax(c);
            return;
        }
        if (c_arg_is(c, j, "count")) {
            if (!c_arg_ll(c, j + 1, &count))
                return;
            if (count < 1) {
                c_syntax(c);
                return;
            }
        } else if (c_arg_is(c, j, "match")) {
            l.pat = c->argv[j + 1];
            l.plen = c->argvlen[j + 1];
            l.all = l.plen == 1 && l.pat[0] == '*';
        } else if (c_arg_is(c, j, "type")) {
            type_ok = c_arg_is(c, j + 1, "string");
        } else {
            c_syntax(c);
            return;
        }
    }
    uint64_t cur = cursor;
    int rc = replkv_scan(c->srv->kv, &cur, (size_t)count, collect_key, &l);
    if (rc < 0 || l.out.oom) {
        rbuf_free(&l.out);
        if (rc < 0)
            c_libfail(c, rc);
        else
            c_err(c, "ERR out of memory");
        return;
    }
    char num[24];
    size_t nl = util_ull2str(num, cur);
    reply_array(c->reply, 2);
    reply_bulk(c->reply, num, nl);
    if (!type_ok) {
        reply_array(c->reply, 0);
    } else {
        reply_array(c->reply, l.n);
        reply_raw(c->reply, l.out.data, l.out.len);
    }
    rbuf_free(&l.out);
}

void cmd_keys(cache_client *c)
{
    key_list l = {0};
    l.pat = c->argv[1];
    l.plen = c->argvlen[1];
    l.all = l.plen == 1 && l.pat[0] == '*';
    l.dedup = true;
    uint64_t cur = 0;
    int rc = 0;
    do {
        rc = replkv_scan(c->srv->kv, &cur, 1024, collect_key, &l);
    } while (rc == 0 && cur != 0);
    if (rc < 0 || l.out.oom) {
        if (rc < 0)
            c_libfail(c, rc);
        else
            c_err(c, "ERR out of memory");
    } else {
        reply_array(c->reply, l.n);
        reply_raw(c->reply, l.out.data, l.out.len);
    }
    rbuf_free(&l.out);
    free(l.slots);
}
