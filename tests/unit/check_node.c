/*
 * check_node.c - the node through its public API: lifecycle, every data
 * function, bad input (each a clear error that changes nothing), TTLs,
 * maxmemory and eviction policies, scan across growth, digest, INFO, log.
 */
#include <check.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "replkv.h"
#include "testnet.h"

#define S(str) (str), strlen(str)

static replkv_t *open_with(const char *const *kvs)
{
    replkv_opts *o = replkv_opts_new();
    for (; kvs && kvs[0]; kvs += 2)
        ck_assert_int_eq(replkv_opts_set(o, kvs[0], kvs[1]), 0);
    replkv_t *kv = NULL;
    ck_assert_int_eq(replkv_open(o, &kv), 0);
    replkv_opts_free(o);
    return kv;
}

/* The value of key as a C string ("" if missing), for short asserts. */
static const char *val_of(replkv_t *kv, const char *key)
{
    static char buf[256];
    size_t n;
    if (replkv_get(kv, key, strlen(key), buf, sizeof buf - 1, &n) != 0)
        return "<none>";
    buf[n] = '\0';
    return buf;
}

static uint64_t count_of(replkv_t *kv)
{
    uint64_t n;
    ck_assert_int_eq(replkv_count(kv, &n), 0);
    return n;
}

START_TEST(lifecycle)
{
    replkv_close(NULL);
    ck_assert_int_eq(replkv_open(NULL, NULL), REPLKV_EINVAL);
    replkv_t *a, *b;
    ck_assert_int_eq(replkv_open(NULL, &a), 0);
    ck_assert_int_eq(replkv_open(NULL, &b), 0);
    /* Two nodes in one process share nothing. */
    ck_assert_int_eq(replkv_set(a, S("k"), S("in-a"), 0, 0), 1);
    ck_assert_str_eq(val_of(b, "k"), "<none>");
    ck_assert_str_eq(val_of(a, "k"), "in-a");
    replkv_close(a);
    replkv_close(b);
}
END_TEST

START_TEST(set_get_binary)
{
    replkv_t *kv = open_with(NULL);
    const char key[] = {'a', 0, 'b'}, val[] = {0, 1, 0, 2};
    ck_assert_int_eq(replkv_set(kv, key, 3, val, 4, 0, 0), 1);
    char buf[8];
    size_t n = 99;
    ck_assert_int_eq(replkv_get(kv, key, 3, buf, sizeof buf, &n), 0);
    ck_assert_uint_eq(n, 4);
    ck_assert_mem_eq(buf, val, 4);
    /* A key that differs only after the NUL is another key. */
    const char key2[] = {'a', 0, 'c'};
    ck_assert_int_eq(replkv_get(kv, key2, 3, buf, sizeof buf, &n),
                     REPLKV_ENOTFOUND);
    ck_assert_uint_eq(n, 0);
    /* Buffer too small: ERANGE with the size needed, nothing copied. */
    memset(buf, 'x', sizeof buf);
    ck_assert_int_eq(replkv_get(kv, key, 3, buf, 2, &n), REPLKV_ERANGE);
    ck_assert_uint_eq(n, 4);
    ck_assert_int_eq(buf[0], 'x');
    ck_assert_int_eq(replkv_get(kv, key, 3, NULL, 0, &n), REPLKV_ERANGE);
    ck_assert_uint_eq(n, 4);
    /* Empty value. */
    ck_assert_int_eq(replkv_set(kv, S("empty"), NULL, 0, 0, 0), 1);
    ck_assert_int_eq(replkv_get(kv, S("empty"), buf, sizeof buf, &n), 0);
    ck_assert_uint_eq(n, 0);
    /* Allocating get, NUL-terminated. */
    void *p;
    ck_assert_int_eq(replkv_get_alloc(kv, key, 3, &p, &n), 0);
    ck_assert_uint_eq(n, 4);
    ck_assert_mem_eq(p, val, 4);
    ck_assert_int_eq(((char *)p)[4], 0);
    replkv_free(p);
    ck_assert_int_eq(replkv_get_alloc(kv, S("nope"), &p, &n),
                     REPLKV_ENOTFOUND);
    ck_assert_ptr_null(p);
    /* Overwrite with longer and shorter values. */
    char big[300];
    memset(big, 'b', sizeof big);
    ck_assert_int_eq(replkv_set(kv, S("k"), big, sizeof big, 0, 0), 1);
    ck_assert_int_eq(replkv_set(kv, S("k"), S("s"), 0, 0), 1);
    ck_assert_str_eq(val_of(kv, "k"), "s");
    replkv_close(kv);
}
END_TEST

START_TEST(set_conditions)
{
    replkv_t *kv = open_with(NULL);
    ck_assert_int_eq(replkv_set(kv, S("k"), S("1"), 0, REPLKV_XX), 0);
    ck_assert_str_eq(val_of(kv, "k"), "<none>");
    ck_assert_int_eq(replkv_set(kv, S("k"), S("1"), 0, REPLKV_NX), 1);
    ck_assert_int_eq(replkv_set(kv, S("k"), S("2"), 0, REPLKV_NX), 0);
    ck_assert_str_eq(val_of(kv, "k"), "1");
    ck_assert_int_eq(replkv_set(kv, S("k"), S("3"), 0, REPLKV_XX), 1);
    ck_assert_str_eq(val_of(kv, "k"), "3");
    /* KEEPTTL keeps; a plain set clears the TTL, as Redis's SET does. */
    int64_t ttl;
    ck_assert_int_eq(replkv_set(kv, S("t"), S("a"), 100000, 0), 1);
    ck_assert_int_eq(replkv_set(kv, S("t"), S("b"), 0, REPLKV_KEEPTTL), 1);
    ck_assert_int_eq(replkv_ttl(kv, S("t"), &ttl), 0);
    ck_assert(ttl > 90000 && ttl <= 100000);
    ck_assert_int_eq(replkv_set(kv, S("t"), S("c"), 0, 0), 1);
    ck_assert_int_eq(replkv_ttl(kv, S("t"), &ttl), 0);
    ck_assert_int_eq(ttl, -1);
    /* An absolute time in the past leaves the key absent. */
    ck_assert_int_eq(replkv_set(kv, S("t"), S("d"), 1000, REPLKV_ABSTIME), 1);
    ck_assert_int_eq(replkv_exists(kv, S("t")), 0);
    /* Contradicting flags are refused and change nothing. */
    ck_assert_int_eq(replkv_set(kv, S("k"), S("x"), 0, REPLKV_NX | REPLKV_XX),
                     REPLKV_EINVAL);
    ck_assert_int_eq(replkv_set(kv, S("k"), S("x"), 5, REPLKV_KEEPTTL),
                     REPLKV_EINVAL);
    ck_assert_int_eq(replkv_set(kv, S("k"), S("x"), -5, 0), REPLKV_EINVAL);
    ck_assert_int_eq(replkv_set(kv, S("k"), S("x"), INT64_MAX, 0),
                     REPLKV_EINVAL);
    ck_assert_ptr_nonnull(strstr(replkv_last_error(), "overflow"));
    ck_assert_int_eq(replkv_set(kv, S("k"), S("x"), 0, 0x8000), REPLKV_EINVAL);
    ck_assert_str_eq(val_of(kv, "k"), "3");
    replkv_close(kv);
}
END_TEST

START_TEST(bad_input_changes_nothing)
{
    const char *opts[] = {"proto-max-bulk-len", "19", NULL};
    replkv_t *kv = open_with(opts);
    char buf[32];
    size_t n;
    int64_t i64;
    ck_assert_int_eq(replkv_set(kv, S("k"), S("v"), 0, 0), 1);
    ck_assert_int_eq(replkv_set(NULL, S("k"), S("v"), 0, 0), REPLKV_EINVAL);
    ck_assert_int_eq(replkv_set(kv, NULL, 3, S("v"), 0, 0), REPLKV_EINVAL);
    ck_assert_int_eq(replkv_set(kv, "", 0, S("v"), 0, 0), REPLKV_EINVAL);
    ck_assert_int_eq(replkv_set(kv, S("k"), NULL, 4, 0, 0), REPLKV_EINVAL);
    ck_assert_int_eq(replkv_get(kv, S("k"), buf, sizeof buf, NULL),
                     REPLKV_EINVAL);
    ck_assert_int_eq(replkv_get(kv, S("k"), NULL, 10, &n), REPLKV_EINVAL);
    ck_assert_int_eq(replkv_ttl(kv, S("k"), NULL), REPLKV_EINVAL);
    ck_assert_int_eq(replkv_count(kv, NULL), REPLKV_EINVAL);
    ck_assert_int_eq(replkv_digest(kv, NULL), REPLKV_EINVAL);
    ck_assert_int_eq(replkv_scan(kv, NULL, 10, NULL, NULL), REPLKV_EINVAL);
    ck_assert_int_eq(replkv_del(kv, NULL, 1), REPLKV_EINVAL);
    ck_assert_int_eq(replkv_exists(NULL, S("k")), REPLKV_EINVAL);

    /* Oversize key and value: ETOOBIG, naming the limit. */
    ck_assert_int_eq(replkv_set(kv, S("a-key-of-20-bytes..."), S("v"), 0, 0),
                     REPLKV_ETOOBIG);
    ck_assert_ptr_nonnull(strstr(replkv_last_error(), "proto-max-bulk-len"));
    ck_assert_int_eq(replkv_set(kv, S("k"), S("a-value-of-20-bytes."), 0, 0),
                     REPLKV_ETOOBIG);
    ck_assert_int_eq(replkv_append(kv, S("k"), S("0123456789abcdefghi"), NULL),
                     REPLKV_ETOOBIG);
    ck_assert_int_eq(replkv_get(kv, S("a-key-of-20-bytes..."), buf,
                                sizeof buf, &n),
                     REPLKV_ETOOBIG);

    /* Non-integer and overflowing incrby. */
    ck_assert_int_eq(replkv_incrby(kv, S("k"), 1, &i64), REPLKV_ENOTINT);
    ck_assert_int_eq(replkv_set(kv, S("n"), S("9223372036854775807"), 0, 0),
                     1);
    ck_assert_int_eq(replkv_incrby(kv, S("n"), 1, &i64), REPLKV_EOVERFLOW);
    ck_assert_str_eq(val_of(kv, "n"), "9223372036854775807");

    /* TTL overflow on expire. */
    ck_assert_int_eq(replkv_expire(kv, S("k"), INT64_MAX, 0), REPLKV_EINVAL);
    ck_assert_int_eq(replkv_expire(kv, S("k"), 5, REPLKV_NX | REPLKV_XX),
                     REPLKV_EINVAL);
    ck_assert_int_eq(replkv_expire(kv, S("k"), 5, REPLKV_GT | REPLKV_LT),
                     REPLKV_EINVAL);
    ck_assert_int_eq(replkv_ttl(kv, S("k"), &i64), 0);
    ck_assert_int_eq(i64, -1);

    /* Runtime config: bad values refused, startup-only ones refused. */
    ck_assert_int_eq(replkv_config_set(kv, "maxmemory", "lots"),
                     REPLKV_EINVAL);
    ck_assert_int_eq(replkv_config_set(kv, "nope", "1"), REPLKV_EINVAL);

    ck_assert_str_eq(val_of(kv, "k"), "v");
    ck_assert_uint_eq(count_of(kv), 2);
    replkv_close(kv);
}
END_TEST

START_TEST(incrby)
{
    replkv_t *kv = open_with(NULL);
    int64_t r;
    ck_assert_int_eq(replkv_incrby(kv, S("c"), 5, &r), 0);
    ck_assert_int_eq(r, 5);
    ck_assert_int_eq(replkv_incrby(kv, S("c"), -7, &r), 0);
    ck_assert_int_eq(r, -2);
    ck_assert_str_eq(val_of(kv, "c"), "-2");
    ck_assert_int_eq(replkv_set(kv, S("m"), S("-9223372036854775808"), 0, 0),
                     1);
    ck_assert_int_eq(replkv_incrby(kv, S("m"), -1, &r), REPLKV_EOVERFLOW);
    ck_assert_int_eq(replkv_incrby(kv, S("m"), 1, &r), 0);
    ck_assert_int_eq(r, INT64_MIN + 1);
    /* Only canonical decimal integers count, as Redis's string2ll. */
    const char *bad[] = {" 1", "1 ", "+1", "01", "-0", "1.0", "", "-",
                         "99999999999999999999", "0x10"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_int_eq(replkv_set(kv, S("b"), S(bad[i]), 0, 0), 1);
        ck_assert_int_eq(replkv_incrby(kv, S("b"), 1, &r), REPLKV_ENOTINT);
        ck_assert_str_eq(val_of(kv, "b"), bad[i]);
    }
    /* incrby keeps the TTL. */
    ck_assert_int_eq(replkv_set(kv, S("t"), S("1"), 60000, 0), 1);
    ck_assert_int_eq(replkv_incrby(kv, S("t"), 1, NULL), 0);
    ck_assert_int_eq(replkv_ttl(kv, S("t"), &r), 0);
    ck_assert(r > 0);
    replkv_close(kv);
}
END_TEST

START_TEST(expiry)
{
    const char *opts[] = {"hz", "100", NULL};
    replkv_t *kv = open_with(opts);
    int64_t ttl;
    ck_assert_int_eq(replkv_ttl(kv, S("none"), &ttl), REPLKV_ENOTFOUND);
    ck_assert_int_eq(ttl, -2);
    ck_assert_int_eq(replkv_expire(kv, S("none"), 1000, 0), 0);

    ck_assert_int_eq(replkv_set(kv, S("k"), S("v"), 0, 0), 1);
    ck_assert_int_eq(replkv_expire(kv, S("k"), 5000, REPLKV_XX), 0);
    ck_assert_int_eq(replkv_expire(kv, S("k"), 5000, REPLKV_NX), 1);
    ck_assert_int_eq(replkv_expire(kv, S("k"), 9000, REPLKV_NX), 0);
    ck_assert_int_eq(replkv_expire(kv, S("k"), 1000, REPLKV_GT), 0);
    ck_assert_int_eq(replkv_expire(kv, S("k"), 9000, REPLKV_GT), 1);
    ck_assert_int_eq(replkv_expire(kv, S("k"), 7000, REPLKV_LT), 1);
    ck_assert_int_eq(replkv_ttl(kv, S("k"), &ttl), 0);
    ck_assert(ttl > 6000 && ttl <= 7000);
    ck_assert_int_eq(replkv_persist(kv, S("k")), 1);
    ck_assert_int_eq(replkv_persist(kv, S("k")), 0);
    ck_assert_int_eq(replkv_ttl(kv, S("k"), &ttl), 0);
    ck_assert_int_eq(ttl, -1);
    /* GT against no TTL (infinite) never applies; LT does. */
    ck_assert_int_eq(replkv_expire(kv, S("k"), 9000, REPLKV_GT), 0);
    ck_assert_int_eq(replkv_expire(kv, S("k"), 9000, REPLKV_LT), 1);
    /* A non-positive TTL deletes the key, as EXPIRE does. */
    ck_assert_int_eq(replkv_expire(kv, S("k"), 0, 0), 1);
    ck_assert_int_eq(replkv_exists(kv, S("k")), 0);

    /* Lazy expiry: a short TTL hides the key once passed. */
    ck_assert_int_eq(replkv_set(kv, S("short"), S("v"), 30, 0), 1);
    ck_assert_int_eq(replkv_exists(kv, S("short")), 1);
    test_sleep_ms(60);
    ck_assert_int_eq(replkv_exists(kv, S("short")), 0);

    /* Active expiry removes keys nobody touches. */
    char key[32];
    for (int i = 0; i < 1000; i++) {
        snprintf(key, sizeof key, "vol:%d", i);
        ck_assert_int_eq(replkv_set(kv, S(key), S("v"), 20, 0), 1);
    }
    ck_assert_int_eq(replkv_set(kv, S("stays"), S("v"), 0, 0), 1);
    for (int i = 0; i < 200 && count_of(kv) > 1; i++)
        test_sleep_ms(10);
    ck_assert_uint_eq(count_of(kv), 1);
    char *info;
    ck_assert_int_eq(replkv_info(kv, "stats", &info), 0);
    ck_assert_ptr_nonnull(strstr(info, "expired_keys:100"));
    replkv_free(info);
    replkv_close(kv);
}
END_TEST

START_TEST(read_modify_write)
{
    replkv_t *kv = open_with(NULL);
    void *old;
    size_t n;
    ck_assert_int_eq(replkv_set_get(kv, S("k"), S("one"), 0, 0, &old, &n), 1);
    ck_assert_ptr_null(old);
    ck_assert_int_eq(replkv_set_get(kv, S("k"), S("two"), 0, 0, &old, &n), 1);
    ck_assert_str_eq(old, "one");
    replkv_free(old);
    /* NX that does not apply still returns the old value. */
    ck_assert_int_eq(
        replkv_set_get(kv, S("k"), S("three"), 0, REPLKV_NX, &old, &n), 0);
    ck_assert_str_eq(old, "two");
    replkv_free(old);

    ck_assert_int_eq(replkv_append(kv, S("k"), S("+x"), &n), 0);
    ck_assert_uint_eq(n, 5);
    ck_assert_int_eq(replkv_append(kv, S("new"), S("abc"), &n), 0);
    ck_assert_uint_eq(n, 3);
    ck_assert_str_eq(val_of(kv, "k"), "two+x");

    void *v;
    ck_assert_int_eq(replkv_getdel(kv, S("k"), &v, &n), 0);
    ck_assert_str_eq(v, "two+x");
    replkv_free(v);
    ck_assert_int_eq(replkv_exists(kv, S("k")), 0);
    ck_assert_int_eq(replkv_getdel(kv, S("k"), &v, &n), REPLKV_ENOTFOUND);

    int64_t ttl;
    ck_assert_int_eq(replkv_getex(kv, S("new"), &v, &n, 50000, 0), 0);
    replkv_free(v);
    ck_assert_int_eq(replkv_ttl(kv, S("new"), &ttl), 0);
    ck_assert(ttl > 40000);
    ck_assert_int_eq(replkv_getex(kv, S("new"), &v, &n, 0, REPLKV_PERSIST), 0);
    replkv_free(v);
    ck_assert_int_eq(replkv_ttl(kv, S("new"), &ttl), 0);
    ck_assert_int_eq(ttl, -1);
    ck_assert_int_eq(replkv_getex(kv, S("new"), &v, &n, -1, 0), REPLKV_EINVAL);
    ck_assert_int_eq(replkv_exists(kv, S("new")), 1);
    ck_assert_int_eq(replkv_getex(kv, S("new"), &v, &n, 5, REPLKV_PERSIST),
                     REPLKV_EINVAL);
    replkv_close(kv);
}
END_TEST

typedef struct seen {
    unsigned char *hit;
    int n, visits;
} seen;

static int mark(const void *key, size_t klen, void *ud)
{
    seen *s = ud;
    char buf[32];
    ck_assert_uint_lt(klen, sizeof buf);
    memcpy(buf, key, klen);
    buf[klen] = 0;
    int i = atoi(buf + 2);
    ck_assert_int_lt(i, s->n);
    s->hit[i] = 1;
    s->visits++;
    return 0;
}

START_TEST(scan_across_growth)
{
    replkv_t *kv = open_with(NULL);
    enum { BEFORE = 5000, AFTER = 60000 };
    char key[32];
    for (int i = 0; i < BEFORE; i++) {
        snprintf(key, sizeof key, "k:%d", i);
        replkv_set(kv, S(key), S("v"), 0, 0);
    }
    seen s = {calloc(AFTER, 1), AFTER, 0};
    uint64_t cursor = 0;
    int calls = 0, next = BEFORE;
    do {
        ck_assert_int_eq(replkv_scan(kv, &cursor, 50, mark, &s), 0);
        /* Grow the table while the scan is under way. */
        for (int j = 0; j < 200 && next < AFTER; j++, next++) {
            snprintf(key, sizeof key, "k:%d", next);
            replkv_set(kv, S(key), S("v"), 0, 0);
        }
        ck_assert_int_lt(++calls, 1000000);
    } while (cursor != 0);
    for (int i = 0; i < BEFORE; i++)
        ck_assert_msg(s.hit[i], "key k:%d present throughout was not seen", i);
    free(s.hit);

    /* A small keyspace comes back whole from one call with a large count,
     * whatever shards its keys fell in. */
    replkv_flush(kv);
    replkv_set(kv, S("k:1"), S("v"), 0, 0);
    replkv_set(kv, S("k:2"), S("v"), 0, 0);
    seen two = {calloc(3, 1), 3, 0};
    cursor = 0;
    ck_assert_int_eq(replkv_scan(kv, &cursor, 10, mark, &two), 0);
    ck_assert_uint_eq(cursor, 0);
    ck_assert_int_eq(two.visits, 2);
    free(two.hit);

    /* The callback's non-zero return stops the scan and is returned. */
    cursor = 0;
    ck_assert_int_eq(replkv_scan(kv, &cursor, 10, NULL, NULL), REPLKV_EINVAL);
    replkv_close(kv);
}
END_TEST

static int stop_at_first(const void *key, size_t klen, void *ud)
{
    (void)key;
    (void)klen;
    (*(int *)ud)++;
    return 7;
}

START_TEST(scan_stop_and_flush)
{
    replkv_t *kv = open_with(NULL);
    char key[32];
    for (int i = 0; i < 100; i++) {
        snprintf(key, sizeof key, "k:%d", i);
        replkv_set(kv, S(key), S("v"), 0, 0);
    }
    int n = 0;
    uint64_t cursor = 0;
    int rc = 0;
    for (int i = 0; i < 100 && rc == 0; i++)
        rc = replkv_scan(kv, &cursor, 10, stop_at_first, &n);
    ck_assert_int_eq(rc, 7);
    ck_assert_int_eq(n, 1);
    ck_assert_uint_eq(count_of(kv), 100);
    ck_assert_int_eq(replkv_flush(kv), 0);
    ck_assert_uint_eq(count_of(kv), 0);
    ck_assert_int_eq(replkv_exists(kv, S("k:1")), 0);
    replkv_close(kv);
}
END_TEST

START_TEST(digest)
{
    replkv_t *a = open_with(NULL), *b = open_with(NULL);
    unsigned char da[16], db[16], zero[16] = {0};
    ck_assert_int_eq(replkv_digest(a, da), 0);
    ck_assert_mem_eq(da, zero, 16);
    char key[32];
    for (int i = 0; i < 1000; i++) {
        snprintf(key, sizeof key, "k:%d", i);
        replkv_set(a, S(key), S("v"), 0, 0);
        snprintf(key, sizeof key, "k:%d", 999 - i);
        replkv_set(b, S(key), S("v"), 0, 0);
    }
    replkv_digest(a, da);
    replkv_digest(b, db);
    ck_assert_mem_eq(da, db, 16);
    ck_assert_mem_ne(da, zero, 16);
    /* A value, a key or an expiry that differs changes the digest. */
    replkv_set(b, S("k:5"), S("w"), 0, 0);
    replkv_digest(b, db);
    ck_assert_mem_ne(da, db, 16);
    replkv_set(b, S("k:5"), S("v"), 0, 0);
    replkv_digest(b, db);
    ck_assert_mem_eq(da, db, 16);
    replkv_expire(b, S("k:5"), 4000000000000LL, REPLKV_ABSTIME);
    replkv_digest(b, db);
    ck_assert_mem_ne(da, db, 16);
    replkv_expire(a, S("k:5"), 4000000000000LL, REPLKV_ABSTIME);
    replkv_digest(a, da);
    ck_assert_mem_eq(da, db, 16);
    replkv_close(a);
    replkv_close(b);
}
END_TEST

/* Fills kv with n keys of 100-byte values; returns how many writes were
 * refused with EMAXMEMORY. */
static int fill(replkv_t *kv, int n, const char *prefix, int64_t ttl)
{
    char key[32], val[100];
    memset(val, 'v', sizeof val);
    int refused = 0;
    for (int i = 0; i < n; i++) {
        snprintf(key, sizeof key, "%s:%d", prefix, i);
        int rc = replkv_set(kv, S(key), val, sizeof val, ttl, 0);
        if (rc == REPLKV_EMAXMEMORY)
            refused++;
        else
            ck_assert_int_eq(rc, 1);
    }
    return refused;
}

static uint64_t used_memory(replkv_t *kv)
{
    char *info;
    ck_assert_int_eq(replkv_info(kv, "memory", &info), 0);
    const char *p = strstr(info, "used_memory:");
    ck_assert_ptr_nonnull(p);
    uint64_t used = strtoull(p + strlen("used_memory:"), NULL, 10);
    replkv_free(info);
    return used;
}

START_TEST(maxmemory_noeviction)
{
    replkv_t *kv = open_with(NULL);
    fill(kv, 2000, "a", 0);
    uint64_t used = used_memory(kv);
    char limit[32];
    snprintf(limit, sizeof limit, "%llu", (unsigned long long)used);
    ck_assert_int_eq(replkv_config_set(kv, "maxmemory", limit), 0);
    /* At the limit: writes that may grow are refused; nothing changes. */
    int refused = fill(kv, 5000, "b", 0);
    ck_assert_int_gt(refused, 4900);
    /* Over the limit now: a write is refused and changes nothing. */
    ck_assert_uint_gt(used_memory(kv), used);
    ck_assert_int_eq(replkv_incrby(kv, S("b:counter"), 1, NULL),
                     REPLKV_EMAXMEMORY);
    ck_assert_int_eq(replkv_exists(kv, S("b:counter")), 0);
    ck_assert_int_eq(replkv_set(kv, S("a:1"), S("x"), 0, 0),
                     REPLKV_EMAXMEMORY);
    ck_assert_int_eq(replkv_exists(kv, S("a:1")), 1);
    ck_assert_ptr_nonnull(strstr(replkv_last_error(), "maxmemory"));
    /* Deletes are always allowed and make room again. */
    ck_assert_int_eq(replkv_del(kv, S("a:2")), 1);
    ck_assert_int_eq(replkv_del(kv, S("a:3")), 1);
    ck_assert_uint_le(count_of(kv), 2000 + 5000 - refused);
    replkv_close(kv);
}
END_TEST

START_TEST(maxmemory_policies)
{
    const char *lru[] = {"maxmemory", "2mb", "maxmemory-policy", "allkeys-lru",
                         NULL};
    replkv_t *kv = open_with(lru);
    ck_assert_int_eq(fill(kv, 50000, "k", 0), 0);
    /* Eviction runs before each write, as in Redis, so the last write may
     * pass the limit by its own size (and a bucket array's growth). */
    ck_assert_uint_le(used_memory(kv), 2 * 1024 * 1024 + 4096);
    ck_assert_uint_lt(count_of(kv), 50000);
    char *info;
    replkv_info(kv, "stats", &info);
    ck_assert_ptr_null(strstr(info, "evicted_keys:0\r"));
    replkv_free(info);
    replkv_close(kv);

    /* volatile-lru with no volatile keys cannot free anything. */
    const char *vol[] = {"maxmemory", "1mb", "maxmemory-policy",
                         "volatile-lru", NULL};
    kv = open_with(vol);
    ck_assert_int_gt(fill(kv, 30000, "k", 0), 0);
    /* ... but volatile keys are evicted, and persistent ones kept. */
    replkv_flush(kv);
    fill(kv, 2000, "keep", 0);
    ck_assert_int_eq(fill(kv, 30000, "vol", 3600000), 0);
    char key[32];
    for (int i = 0; i < 2000; i++) {
        snprintf(key, sizeof key, "keep:%d", i);
        ck_assert_int_eq(replkv_exists(kv, S(key)), 1);
    }
    replkv_close(kv);

    /* volatile-ttl drops the sooner-expiring keys first. */
    const char *ttl[] = {"maxmemory", "1mb", "maxmemory-policy",
                         "volatile-ttl", "maxmemory-samples", "10", NULL};
    kv = open_with(ttl);
    fill(kv, 3000, "late", 7200000);
    ck_assert_int_eq(fill(kv, 30000, "soon", 60000), 0);
    /* Sampling is approximate (as in Redis), so compare survival rates:
     * keys expiring in two hours must outlive those expiring in one. */
    int late_left = 0, soon_left = 0;
    for (int i = 0; i < 3000; i++) {
        snprintf(key, sizeof key, "late:%d", i);
        late_left += replkv_exists(kv, S(key));
    }
    for (int i = 0; i < 30000; i++) {
        snprintf(key, sizeof key, "soon:%d", i);
        soon_left += replkv_exists(kv, S(key));
    }
    double late_rate = late_left / 3000.0, soon_rate = soon_left / 30000.0;
    ck_assert_msg(late_rate > 0.7 && late_rate > 3 * soon_rate,
                  "late keys survived %.2f, soon keys %.2f", late_rate,
                  soon_rate);
    replkv_close(kv);

    const char *rnd[] = {"maxmemory", "1mb", "maxmemory-policy",
                         "allkeys-random", NULL};
    kv = open_with(rnd);
    ck_assert_int_eq(fill(kv, 30000, "k", 0), 0);
    ck_assert_uint_le(used_memory(kv), 1024 * 1024 + 4096);
    replkv_close(kv);
}
END_TEST

START_TEST(info_sections)
{
    replkv_t *kv = open_with(NULL);
    replkv_set(kv, S("a"), S("1"), 0, 0);
    replkv_set(kv, S("b"), S("1"), 60000, 0);
    char *info;
    ck_assert_int_eq(replkv_info(kv, NULL, &info), 0);
    ck_assert_ptr_nonnull(strstr(info, "# Server\r\n"));
    ck_assert_ptr_nonnull(strstr(info, "# Memory\r\n"));
    ck_assert_ptr_nonnull(strstr(info, "db0:keys=2,expires=1"));
    replkv_free(info);
    ck_assert_int_eq(replkv_info(kv, "KEYSPACE", &info), 0);
    ck_assert_ptr_null(strstr(info, "# Server"));
    replkv_free(info);
    ck_assert_int_eq(replkv_info(kv, "bogus", &info), REPLKV_EINVAL);
    ck_assert_ptr_null(info);
    replkv_close(kv);
}
END_TEST

static _Atomic int log_lines;
static void count_log(replkv_t *kv, const replkv_log_event *ev, void *ud)
{
    (void)kv;
    ck_assert_ptr_eq(ud, &log_lines);
    ck_assert_uint_ge(ev->size, sizeof *ev);
    ck_assert_ptr_nonnull(ev->message);
    atomic_fetch_add(&log_lines, 1);
}

START_TEST(log_callback)
{
    replkv_opts *o = replkv_opts_new();
    replkv_opts_set_log(o, count_log, &log_lines);
    replkv_t *kv;
    ck_assert_int_eq(replkv_open(o, &kv), 0);
    replkv_opts_free(o);
    ck_assert_int_gt(atomic_load(&log_lines), 0);
    /* Lines under loglevel are filtered: the two config lines below are
     * notices, so only the one logged after going back to notice shows. */
    int before = atomic_load(&log_lines);
    ck_assert_int_eq(replkv_config_set(kv, "loglevel", "warning"), 0);
    ck_assert_int_eq(replkv_config_set(kv, "hz", "20"), 0);
    ck_assert_int_eq(atomic_load(&log_lines), before);
    ck_assert_int_eq(replkv_config_set(kv, "loglevel", "notice"), 0);
    ck_assert_int_eq(atomic_load(&log_lines), before + 1);
    char v[16];
    ck_assert_int_eq(replkv_config_get(kv, "hz", v, sizeof v, NULL), 0);
    ck_assert_str_eq(v, "20");
    replkv_close(kv);
}
END_TEST

static Suite *node_suite(void)
{
    Suite *s = suite_create("node");
    TCase *tc = tcase_create("api");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, lifecycle);
    tcase_add_test(tc, set_get_binary);
    tcase_add_test(tc, set_conditions);
    tcase_add_test(tc, bad_input_changes_nothing);
    tcase_add_test(tc, incrby);
    tcase_add_test(tc, expiry);
    tcase_add_test(tc, read_modify_write);
    tcase_add_test(tc, scan_across_growth);
    tcase_add_test(tc, scan_stop_and_flush);
    tcase_add_test(tc, digest);
    tcase_add_test(tc, maxmemory_noeviction);
    tcase_add_test(tc, maxmemory_policies);
    tcase_add_test(tc, info_sections);
    tcase_add_test(tc, log_callback);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(node_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
