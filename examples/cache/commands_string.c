/*
 * commands_string.c - the string commands: GET/SET and their variants,
 * MGET/MSET, counters, APPEND, STRLEN, GETRANGE. Option parsing and error
 * texts follow Redis 7 (t_string.c): syntax errors first, then the expire
 * value ("invalid expire time in 'set' command").
 */
#include <limits.h>
#include <string.h>

#include "cmd.h"
#include "util.h"

/* The longest bulk header: '$', 20 digits, CRLF. */
#define BULK_HDR_MAX 23

static size_t bulk_header(char *out, size_t n)
{
    out[0] = '$';
    size_t h = 1 + util_ull2str(out + 1, n);
    out[h++] = '\r';
    out[h++] = '\n';
    return h;
}

/* Appends key's value as a bulk, or a nil, copying it from the keyspace
 * straight into the reply buffer: no allocation and one copy for values
 * that fit the buffer's free space; a larger one is fetched again into room
 * made for its exact size. */
static void reply_value(cache_client *c, const char *key, size_t klen)
{
    rbuf *b = c->reply;
    if (klen == 0) {
        reply_null(b);
        return;
    }
    size_t off = BULK_HDR_MAX; /* where the value is fetched to */
    size_t want = 4096;
    for (int tries = 0; tries < 8; tries++) {
        if (!rbuf_reserve(b, off + want + 2))
            return;
        char *base = b->data + b->len;
        size_t room = b->cap - b->len - off - 2;
        size_t vlen = 0;
        int rc = replkv_get(c->srv->kv, key, klen, base + off, room, &vlen);
        if (rc == 0) {
            char hdr[BULK_HDR_MAX + 1];
            size_t h = bulk_header(hdr, vlen);
            if (h != off)
                memmove(base + h, base + off, vlen);
            memcpy(base, hdr, h);
            base[h + vlen] = '\r';
            base[h + vlen + 1] = '\n';
            b->len += h + vlen + 2;
            return;
        }
        if (rc == REPLKV_ENOTFOUND) {
            reply_null(b);
            return;
        }
        if (rc != REPLKV_ERANGE) {
            c_libfail(c, rc);
            return;
        }
        /* Too big for the free space: size the room exactly (the value may
         * still change before the next call, hence the loop). */
        char hdr[BULK_HDR_MAX + 1];
        off = bulk_header(hdr, vlen);
        want = vlen;
    }
    c_err(c, "ERR value kept changing while being read");
}

/* A value allocated by the library as a bulk (NULL: a nil), then freed. */
static void reply_owned(cache_client *c, void *val, size_t len)
{
    if (val == NULL)
        reply_null(c->reply);
    else
        reply_bulk(c->reply, val, len);
    replkv_free(val);
}

void cmd_get(cache_client *c)
{
    reply_value(c, c->argv[1], c->argvlen[1]);
}

void cmd_mget(cache_client *c)
{
    reply_array(c->reply, c->argc - 1);
    for (size_t i = 1; i < c->argc; i++)
        reply_value(c, c->argv[i], c->argvlen[i]);
}

/* ------------------------------------------------------------ SET family */

#define OPT_NX 0x01u
#define OPT_XX 0x02u
#define OPT_GET 0x04u
#define OPT_KEEPTTL 0x08u
#define OPT_PERSIST 0x10u
#define OPT_EX 0x20u
#define OPT_PX 0x40u
#define OPT_EXAT 0x80u
#define OPT_PXAT 0x100u
#define OPT_EXPIRE (OPT_EX | OPT_PX | OPT_EXAT | OPT_PXAT)

enum { FOR_SET, FOR_GETEX };

/* Parses SET's (or GETEX's) options from argv[from]. On success *opts has
 * the flags and *expire_arg the index of the time argument (0 if none).
 * Replies a syntax error and returns false otherwise. */
static bool parse_string_opts(cache_client *c, size_t from, int kind,
                              unsigned *opts, size_t *expire_arg)
{
    unsigned f = 0;
    *expire_arg = 0;
    for (size_t j = from; j < c->argc; j++) {
        const char *a = c->argv[j];
        size_t n = c->argvlen[j];
        bool has_next = j + 1 < c->argc;
        unsigned unit = 0;
        if (util_eq_nocase(a, n, "ex"))
            unit = OPT_EX;
        else if (util_eq_nocase(a, n, "px"))
            unit = OPT_PX;
        else if (util_eq_nocase(a, n, "exat"))
            unit = OPT_EXAT;
        else if (util_eq_nocase(a, n, "pxat"))
            unit = OPT_PXAT;
        if (unit && !(f & (OPT_KEEPTTL | OPT_PERSIST | OPT_EXPIRE)) &&
            has_next) {
            f |= unit;
            *expire_arg = ++j;
        } else if (kind == FOR_SET && util_eq_nocase(a, n, "nx") &&
                   !(f & OPT_XX)) {
            f |= OPT_NX;
        } else if (kind == FOR_SET && util_eq_nocase(a, n, "xx") &&
                   !(f & OPT_NX)) {
            f |= OPT_XX;
        } else if (kind == FOR_SET && util_eq_nocase(a, n, "get")) {
            f |= OPT_GET;
        } else if (kind == FOR_SET && util_eq_nocase(a, n, "keepttl") &&
                   !(f & (OPT_PERSIST | OPT_EXPIRE))) {
            f |= OPT_KEEPTTL;
        } else if (kind == FOR_GETEX && util_eq_nocase(a, n, "persist") &&
                   !(f & (OPT_KEEPTTL | OPT_EXPIRE))) {
            f |= OPT_PERSIST;
        } else {
            c_syntax(c);
            return false;
        }
    }
    *opts = f;
    return true;
}

/* Turns the time argument into what the library takes: a relative TTL in
 * ms, or (with *abs) a Unix time in ms. Replies Redis's errors. */
static bool parse_expire(cache_client *c, size_t arg, unsigned unit,
                         const char *cmdname, int64_t *ms, bool *abs)
{
    long long v;
    if (!c_arg_ll(c, arg, &v))
        return false;
    bool seconds = unit == OPT_EX || unit == OPT_EXAT;
    if (v <= 0 || (seconds && v > LLONG_MAX / 1000)) {
        c_errf(c, "ERR invalid expire time in '%s' command", cmdname);
        return false;
    }
    if (seconds)
        v *= 1000;
    *abs = unit == OPT_EXAT || unit == OPT_PXAT;
    if (!*abs && v > LLONG_MAX - util_now_ms()) {
        c_errf(c, "ERR invalid expire time in '%s' command", cmdname);
        return false;
    }
    *ms = v;
    return true;
}

void cmd_set(cache_client *c)
{
    replkv_t *kv = c->srv->kv;
    const char *key = c->argv[1], *val = c->argv[2];
    size_t klen = c->argvlen[1], vlen = c->argvlen[2];
    if (c->argc == 3) { /* the common case, no options */
        int rc = replkv_set(kv, key, klen, val, vlen, 0, 0);
        if (rc < 0)
            c_libfail(c, rc);
        else
            c_ok(c);
        return;
    }
    unsigned opts;
    size_t earg;
    if (!parse_string_opts(c, 3, FOR_SET, &opts, &earg))
        return;
    int64_t ms = 0;
    bool abs = false;
    if (earg && !parse_expire(c, earg, opts & OPT_EXPIRE, "set", &ms, &abs))
        return;
    unsigned flags = 0;
    if (opts & OPT_NX)
        flags |= REPLKV_NX;
    if (opts & OPT_XX)
        flags |= REPLKV_XX;
    if (opts & OPT_KEEPTTL)
        flags |= REPLKV_KEEPTTL;
    if (abs)
        flags |= REPLKV_ABSTIME;
    if (opts & OPT_GET) {
        void *old = NULL;
        size_t olen = 0;
        int rc = replkv_set_get(kv, key, klen, val, vlen, ms, flags, &old,
                                &olen);
        if (rc < 0) {
            c_libfail(c, rc);
            return;
        }
        reply_owned(c, old, olen);
        return;
    }
    int rc = replkv_set(kv, key, klen, val, vlen, ms, flags);
    if (rc < 0)
        c_libfail(c, rc);
    else if (rc == 0)
        reply_null(c->reply);
    else
        c_ok(c);
}

void cmd_setnx(cache_client *c)
{
    int rc = replkv_set(c->srv->kv, c->argv[1], c->argvlen[1], c->argv[2],
                        c->argvlen[2], 0, REPLKV_NX);
    if (rc < 0)
        c_libfail(c, rc);
    else
        reply_int(c->reply, rc);
}

static void setex_generic(cache_client *c, unsigned unit, const char *name)
{
    int64_t ms;
    bool abs;
    if (!parse_expire(c, 2, unit, name, &ms, &abs))
        return;
    int rc = replkv_set(c->srv->kv, c->argv[1], c->argvlen[1], c->argv[3],
                        c->argvlen[3], ms, 0);
    if (rc < 0)
        c_libfail(c, rc);
    else
        c_ok(c);
}

void cmd_setex(cache_client *c)
{
    setex_generic(c, OPT_EX, "setex");
}

void cmd_psetex(cache_client *c)
{
    setex_generic(c, OPT_PX, "psetex");
}

void cmd_getset(cache_client *c)
{
    void *old = NULL;
    size_t olen = 0;
    int rc = replkv_set_get(c->srv->kv, c->argv[1], c->argvlen[1], c->argv[2],
                            c->argvlen[2], 0, 0, &old, &olen);
    if (rc < 0) {
        c_libfail(c, rc);
        return;
    }
    reply_owned(c, old, olen);
}

void cmd_getdel(cache_client *c)
{
    if (c->argvlen[1] == 0) {
        reply_null(c->reply);
        return;
    }
    void *val = NULL;
    size_t vlen = 0;
    int rc = replkv_getdel(c->srv->kv, c->argv[1], c->argvlen[1], &val, &vlen);
    if (rc == REPLKV_ENOTFOUND)
        reply_null(c->reply);
    else if (rc < 0)
        c_libfail(c, rc);
    else
        reply_owned(c, val, vlen);
}

void cmd_getex(cache_client *c)
{
    unsigned opts;
    size_t earg;
    if (!parse_string_opts(c, 2, FOR_GETEX, &opts, &earg))
        return;
    int64_t ms = 0;
    bool abs = false;
    if (earg && !parse_expire(c, earg, opts & OPT_EXPIRE, "getex", &ms, &abs))
        return;
    if (c->argvlen[1] == 0) {
        reply_null(c->reply);
        return;
    }
    unsigned flags = (abs ? REPLKV_ABSTIME : 0) |
                     ((opts & OPT_PERSIST) ? REPLKV_PERSIST : 0);
    void *val = NULL;
    size_t vlen = 0;
    int rc = replkv_getex(c->srv->kv, c->argv[1], c->argvlen[1], &val, &vlen,
                          ms, flags);
    if (rc == REPLKV_ENOTFOUND)
        reply_null(c->reply);
    else if (rc < 0)
        c_libfail(c, rc);
    else
        reply_owned(c, val, vlen);
}

void cmd_getrange(cache_client *c)
{
    long long start, end;
    if (!c_arg_ll(c, 2, &start) || !c_arg_ll(c, 3, &end))
        return;
    void *val = NULL;
    size_t vlen = 0;
    int rc = c->argvlen[1] == 0
                 ? REPLKV_ENOTFOUND
                 : replkv_get_alloc(c->srv->kv, c->argv[1], c->argvlen[1],
                                    &val, &vlen);
    if (rc == REPLKV_ENOTFOUND) {
        reply_bulk(c->reply, "", 0);
        return;
    }
    if (rc < 0) {
        c_libfail(c, rc);
        return;
    }
    /* Redis's rules: negative offsets count from the end, then clamp. */
    long long len = (long long)vlen;
    if (start < 0 && end < 0 && start > end) {
        reply_bulk(c->reply, "", 0);
        replkv_free(val);
        return;
    }
    if (start < 0)
        start = len + start;
    if (end < 0)
        end = len + end;
    if (start < 0)
        start = 0;
    if (end < 0)
        end = 0;
    if (end >= len)
        end = len - 1;
    if (len == 0 || start > end)
        reply_bulk(c->reply, "", 0);
    else
        reply_bulk(c->reply, (char *)val + start, (size_t)(end - start + 1));
    replkv_free(val);
}

void cmd_mset(cache_client *c)
{
    if (c->argc % 2 == 0) {
        c_arity(c, "mset");
        return;
    }
    /* Checked first so that a bad pair does not leave half the keys set. */
    for (size_t i = 1; i < c->argc; i += 2)
        if (c->argvlen[i] == 0) {
            c_libfail(c, replkv_set(c->srv->kv, "", 0, "", 0, 0, 0));
            return;
        }
    for (size_t i = 1; i < c->argc; i += 2) {
        int rc = replkv_set(c->srv->kv, c->argv[i], c->argvlen[i],
                            c->argv[i + 1], c->argvlen[i + 1], 0, 0);
        if (rc < 0) {
            c_libfail(c, rc);
            return;
        }
    }
    c_ok(c);
}

/* ------------------------------------------------------------ counters */

static void incr_generic(cache_client *c, long long delta)
{
    int64_t result;
    int rc = replkv_incrby(c->srv->kv, c->argv[1], c->argvlen[1], delta,
                           &result);
    if (rc < 0)
        c_libfail(c, rc);
    else
        reply_int(c->reply, result);
}

void cmd_incr(cache_client *c)
{
    incr_generic(c, 1);
}

void cmd_decr(cache_client *c)
{
    incr_generic(c, -1);
}

void cmd_incrby(cache_client *c)
{
    long long d;
    if (c_arg_ll(c, 2, &d))
        incr_generic(c, d);
}

void cmd_decrby(cache_client *c)
{
    long long d;
    if (!c_arg_ll(c, 2, &d))
        return;
    if (d == LLONG_MIN) {
        c_err(c, "ERR decrement would overflow");
        return;
    }
    incr_generic(c, -d);
}

void cmd_append(cache_client *c)
{
    size_t n = 0;
    int rc = replkv_append(c->srv->kv, c->argv[1], c->argvlen[1], c->argv[2],
                           c->argvlen[2], &n);
    if (rc < 0)
        c_libfail(c, rc);
    else
        reply_int(c->reply, (long long)n);
}

void cmd_strlen(cache_client *c)
{
    if (c->argvlen[1] == 0) {
        reply_int(c->reply, 0);
        return;
    }
    size_t vlen = 0;
    int rc = replkv_get(c->srv->kv, c->argv[1], c->argvlen[1], NULL, 0, &vlen);
    if (rc == 0 || rc == REPLKV_ERANGE)
        reply_int(c->reply, (long long)vlen);
    else if (rc == REPLKV_ENOTFOUND)
        reply_int(c->reply, 0);
    else
        c_libfail(c, rc);
}
