/*
 * check_repl_apply.c - the apply window (lib/repl_apply.c): records are
 * applied in the order pushed, none later than the next drain, the window
 * never holds more than RKV_APPLY_WINDOW - 1 after a push, records without
 * a key and a change of target tables drain it first, and the live shards
 * (tables NULL) end up as a direct apply would leave them; a record that
 * fails drops itself and every later one.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "repl.h"

/* Every test gets a node (for its hasher and live shards), a set of
 * private shard tables and an empty window. */
static replkv_t *kv;
static rkv_ks *t[RKV_SHARDS];
static rkv_apply_win *w;

static void new_tables(rkv_ks **tables);
static void free_tables(rkv_ks **tables);

static void setup(void)
{
    replkv_opts *o = replkv_opts_new();
    ck_assert_int_eq(replkv_open(o, &kv), 0);
    replkv_opts_free(o);
    new_tables(t);
    w = calloc(1, sizeof *w);
    ck_assert_ptr_nonnull(w);
}

static void teardown(void)
{
    free(w);
    free_tables(t);
    replkv_close(kv);
}

static rkv_msg set_msg(const char *k, const char *v, int64_t exp)
{
    rkv_msg m = {.type = RKV_REC_SET};
    m.set.key = (rkv_bytes){k, strlen(k)};
    m.set.val = (rkv_bytes){v, strlen(v)};
    m.set.expire_at = exp;
    return m;
}

static rkv_msg key_msg(unsigned type, const char *k)
{
    rkv_msg m = {.type = type};
    m.key.key = (rkv_bytes){k, strlen(k)};
    return m;
}

static void new_tables(rkv_ks **tables)
{
    for (unsigned i = 0; i < RKV_SHARDS; i++) {
        tables[i] = rkv_ks_new(kv->hash_seed);
        ck_assert_ptr_nonnull(tables[i]);
    }
}

static void free_tables(rkv_ks **tables)
{
    for (unsigned i = 0; i < RKV_SHARDS; i++)
        rkv_ks_free(tables[i]);
}

static rkv_entry *find_in(rkv_ks **tables, const char *k)
{
    uint64_t h = rkv_ks_hash(kv->hasher, k, strlen(k));
    return rkv_ks_find(tables[h >> (64 - RKV_SHARD_BITS)], h, k, strlen(k));
}

/* The value of key in tables, as a string ("" when absent). */
static const char *value_in(rkv_ks **tables, const char *k)
{
    static char out[64];
    rkv_entry *e = find_in(tables, k);
    out[0] = '\0';
    if (e != NULL) {
        size_t n;
        const char *v = rkv_entry_val(e, &n);
        snprintf(out, sizeof out, "%.*s", (int)n, v);
    }
    return out;
}

static size_t count(rkv_ks **tables)
{
    size_t n = 0;
    for (unsigned i = 0; i < RKV_SHARDS; i++)
        n += rkv_ks_count(tables[i]);
    return n;
}

/* One key written, deleted and written again inside one window: the order
 * holds, and nothing is left pending after a drain. */
START_TEST(order_within_window)
{
    rkv_msg m = set_msg("k", "1", 0);
    ck_assert_int_eq(rkv_apply_push(w, kv, t, &m, 10), 0);
    m = set_msg("k", "2", 0);
    ck_assert_int_eq(rkv_apply_push(w, kv, t, &m, 10), 0);
    m = key_msg(RKV_REC_DEL, "k");
    ck_assert_int_eq(rkv_apply_push(w, kv, t, &m, 10), 0);
    m = set_msg("k", "3", 0);
    ck_assert_int_eq(rkv_apply_push(w, kv, t, &m, 10), 0);
    rkv_msg e = {.type = RKV_REC_EXPIREAT};
    e.expireat.key = (rkv_bytes){"k", 1};
    e.expireat.at = 4102444800000; /* 2100 */
    ck_assert_int_eq(rkv_apply_push(w, kv, t, &e, 10), 0);
    /* Still pending: a window this short applies nothing before a drain. */
    ck_assert_uint_eq(w->n, 5);
    ck_assert_uint_eq(count(t), 0);
    ck_assert_int_eq(rkv_apply_drain(w, kv), 0);
    ck_assert_uint_eq(w->n, 0);
    ck_assert_str_eq(value_in(t, "k"), "3");
    ck_assert_int_eq(rkv_entry_expire(find_in(t, "k")), 4102444800000);
    m = key_msg(RKV_REC_PERSIST, "k");
    ck_assert_int_eq(rkv_apply_push(w, kv, t, &m, 10), 0);
    ck_assert_int_eq(rkv_apply_drain(w, kv), 0);
    ck_assert_int_eq(rkv_entry_expire(find_in(t, "k")), 0);
}
END_TEST

/* A long run: the window stays under its length after every push, and
 * the records applied so far are exactly the ones that left it. */
START_TEST(window_bounded)
{
    enum { N = 5000 };
    static char keys[N][16];
    for (unsigned i = 0; i < N; i++) {
        snprintf(keys[i], sizeof keys[i], "key:%u", i);
        rkv_msg m = set_msg(keys[i], keys[i], 0);
        ck_assert_int_eq(rkv_apply_push(w, kv, t, &m, 1), 0);
        ck_assert_uint_lt(w->n, RKV_APPLY_WINDOW);
        ck_assert_uint_eq(count(t) + w->n, i + 1);
    }
    ck_assert_int_eq(rkv_apply_drain(w, kv), 0);
    ck_assert_uint_eq(count(t), N);
    for (unsigned i = 0; i < N; i++)
        ck_assert_str_eq(value_in(t, keys[i]), keys[i]);
}
END_TEST

/* FLUSH (no key) drains first: what came before it is flushed, what comes
 * after it stays. Another target drains the old one's records first. */
START_TEST(flush_and_target_change_drain)
{
    rkv_ks **a = t, *b[RKV_SHARDS];
    new_tables(b);
    rkv_msg m = set_msg("before", "x", 0);
    ck_assert_int_eq(rkv_apply_push(w, kv, a, &m, 1), 0);
    rkv_msg f = {.type = RKV_REC_FLUSH};
    ck_assert_int_eq(rkv_apply_push(w, kv, a, &f, 1), 0);
    ck_assert_uint_eq(w->n, 0);
    m = set_msg("after", "y", 0);
    ck_assert_int_eq(rkv_apply_push(w, kv, a, &m, 1), 0);
    m = set_msg("other", "z", 0);
    ck_assert_int_eq(rkv_apply_push(w, kv, b, &m, 1), 0);
    /* a's record left the window when b's came in. */
    ck_assert_uint_eq(w->n, 1);
    ck_assert_str_eq(value_in(a, "after"), "y");
    ck_assert_str_eq(value_in(a, "before"), "");
    ck_assert_int_eq(rkv_apply_drain(w, kv), 0);
    ck_assert_str_eq(value_in(b, "other"), "z");
    ck_assert_uint_eq(count(a), 1);
    ck_assert_uint_eq(count(b), 1);
    free_tables(b);
}
END_TEST

/* A record that cannot be applied (a value over the entry's 32-bit
 * length: rkv_ks_put refuses it without reading it) stops the window:
 * what came before stays applied, it and everything after it are
 * dropped, and lost counts their sizes, whether the failure comes in a
 * drain or in the push that pushes it out of a full window. */
START_TEST(failure_drops_the_rest)
{
    rkv_msg bad = set_msg("bad", "", 0);
    bad.set.val.len = (size_t)UINT32_MAX + 1;
    rkv_msg m = set_msg("a", "1", 0);
    ck_assert_int_eq(rkv_apply_push(w, kv, t, &m, 10), 0);
    ck_assert_int_eq(rkv_apply_push(w, kv, t, &bad, 20), 0);
    m = set_msg("c", "3", 0);
    ck_assert_int_eq(rkv_apply_push(w, kv, t, &m, 30), 0);
    ck_assert_int_eq(rkv_apply_drain(w, kv), REPLKV_ENOMEM);
    ck_assert_uint_eq(w->lost, 50);
    ck_assert_uint_eq(w->n, 0);
    ck_assert_str_eq(value_in(t, "a"), "1");
    ck_assert_str_eq(value_in(t, "c"), "");

    ck_assert_int_eq(rkv_apply_push(w, kv, t, &bad, 5), 0);
    static char keys[RKV_APPLY_WINDOW][16];
    int rc = 0;
    unsigned i;
    for (i = 0; i < RKV_APPLY_WINDOW && rc == 0; i++) {
        snprintf(keys[i], sizeof keys[i], "k%u", i);
        m = set_msg(keys[i], "v", 0);
        rc = rkv_apply_push(w, kv, t, &m, 1);
    }
    ck_assert_int_eq(rc, REPLKV_ENOMEM);
    ck_assert_uint_eq(i, RKV_APPLY_WINDOW - 1); /* the push that filled it */
    ck_assert_uint_eq(w->lost, 5 + (RKV_APPLY_WINDOW - 1));
    ck_assert_uint_eq(w->n, 0);
    ck_assert_uint_eq(count(t), 1);
}
END_TEST

/* tables NULL: the node's live shards, as readers see them. */
START_TEST(live_shards)
{
    char k[32], v[32];
    for (unsigned i = 0; i < 1000; i++) {
        snprintf(k, sizeof k, "live:%u", i % 300);
        snprintf(v, sizeof v, "v%u", i);
        /* The bytes must outlive the push: the window keeps pointers. */
        char *kc = strdup(k), *vc = strdup(v);
        rkv_msg m = set_msg(kc, vc, 0);
        ck_assert_int_eq(rkv_apply_push(w, kv, NULL, &m, 1), 0);
        ck_assert_int_eq(rkv_apply_drain(w, kv), 0);
        free(kc);
        free(vc);
    }
    uint64_t n = 0;
    ck_assert_int_eq(replkv_count(kv, &n), 0);
    ck_assert_uint_eq(n, 300);
    char buf[32];
    size_t len = 0;
    ck_assert_int_eq(replkv_get(kv, "live:299", 8, buf, sizeof buf, &len), 0);
    ck_assert_uint_eq(len, 4);
    ck_assert_int_eq(memcmp(buf, "v899", 4), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("repl_apply");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, order_within_window);
    tcase_add_test(tc, window_bounded);
    tcase_add_test(tc, flush_and_target_change_drain);
    tcase_add_test(tc, failure_drops_the_rest);
    tcase_add_test(tc, live_shards);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
