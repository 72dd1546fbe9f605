/*
 * check_keyspace.c - the storage core: binary keys, in-place and relocating
 * replaces, expiry moves, growth and shrink under incremental rehash, the
 * scan guarantee across resizes, sampling, active expiry, the digest, the
 * memory target, and a randomised run against a reference model.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "keyspace.h"

/* ------------------------------------------------------------ helpers */

/* For hot loops: Check's ck_assert records a checkpoint (a write to its
 * temporary file) on every pass, which makes a million of them slow. */
#define REQUIRE(c)                                                             \
    do {                                                                       \
        if (!(c))                                                              \
            ck_abort_msg("requirement failed: %s", #c);                        \
    } while (0)

static rkv_entry *put(rkv_ks *ks, const void *k, size_t kl, const void *v,
                      size_t vl, int64_t exp, bool *created)
{
    return rkv_ks_put(ks, rkv_ks_hash(ks, k, kl), k, kl, v, vl, exp, created);
}

static rkv_entry *find(rkv_ks *ks, const void *k, size_t kl)
{
    return rkv_ks_find(ks, rkv_ks_hash(ks, k, kl), k, kl);
}

static bool del(rkv_ks *ks, const void *k, size_t kl)
{
    return rkv_ks_remove(ks, rkv_ks_hash(ks, k, kl), k, kl);
}

static size_t mkkey(char *buf, const char *prefix, size_t i)
{
    return (size_t)snprintf(buf, 32, "%s%08zu", prefix, i);
}

static void assert_entry(const rkv_entry *e, const void *k, size_t kl,
                         const void *v, size_t vl)
{
    size_t gkl, gvl;
    REQUIRE(e != NULL);
    const void *gk = rkv_entry_key(e, &gkl);
    const void *gv = rkv_entry_val(e, &gvl);
    REQUIRE(gkl == kl);
    REQUIRE(gvl == vl);
    REQUIRE(kl == 0 || memcmp(gk, k, kl) == 0);
    REQUIRE(vl == 0 || memcmp(gv, v, vl) == 0);
}

static void fill_pattern(unsigned char *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)(seed * 31u + i * 7u);
}

/* ------------------------------------------------------------ basics */

/* rkv_ks_reserve sizes an empty table at once and holds it there until
 * released; a table with keys is left alone. */
START_TEST(reserve_for_a_load)
{
    rkv_ks *ks = rkv_ks_new(1);
    size_t base = rkv_ks_memory(ks);
    rkv_ks_reserve(ks, 100000);
    size_t big = rkv_ks_memory(ks);
    ck_assert_uint_ge(big - base, 100000 * sizeof(void *));
    char k[32];
    for (int i = 0; i < 10; i++) {
        snprintf(k, sizeof k, "k%d", i);
        uint64_t h = rkv_ks_hash(ks, k, strlen(k));
        ck_assert_ptr_nonnull(rkv_ks_put(ks, h, k, strlen(k), "v", 1, 0, NULL));
    }
    /* 10 keys in 128k buckets would shrink: the floor holds. */
    ck_assert_uint_ge(rkv_ks_memory(ks), big);
    rkv_ks_reserve(ks, 0);
    for (int i = 10; i < 20; i++) { /* inserts may shrink it now */
        snprintf(k, sizeof k, "k%d", i);
        uint64_t h = rkv_ks_hash(ks, k, strlen(k));
        ck_assert_ptr_nonnull(rkv_ks_put(ks, h, k, strlen(k), "v", 1, 0, NULL));
    }
    for (int t = 0; t < 100000 && rkv_ks_memory(ks) >= big; t++)
        rkv_ks_find(ks, rkv_ks_hash(ks, "k1", 2), "k1", 2); /* rehash on */
    ck_assert_uint_lt(rkv_ks_memory(ks), big);
    ck_assert_uint_eq(rkv_ks_count(ks), 20);
    /* Keys present: no resize. */
    size_t now = rkv_ks_memory(ks);
    rkv_ks_reserve(ks, 1000000);
    ck_assert_uint_le(rkv_ks_memory(ks), now + 64);
    rkv_ks_reserve(ks, 0);
    rkv_ks_free(ks);
}
END_TEST

START_TEST(binary_keys)
{
    rkv_ks *ks = rkv_ks_new(1);
    ck_assert_ptr_nonnull(ks);
    static const char k1[] = {'a', 0, 'b'}, k2[] = {'a', 0, 'c'};
    static const char k3[] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    bool created = false;

    ck_assert_ptr_nonnull(put(ks, k1, 3, "one", 3, 0, &created));
    ck_assert(created);
    ck_assert_ptr_nonnull(put(ks, k2, 3, "two\0x", 5, 0, &created));
    ck_assert(created);
    ck_assert_ptr_nonnull(put(ks, k3, 10, "", 0, 0, &created));
    ck_assert(created);
    ck_assert_ptr_nonnull(put(ks, "", 0, "empty", 5, 0, &created));
    ck_assert(created);
    ck_assert_ptr_nonnull(put(ks, "a", 1, "short", 5, 0, NULL));
    ck_assert_uint_eq(rkv_ks_count(ks), 5);

    assert_entry(find(ks, k1, 3), k1, 3, "one", 3);
    assert_entry(find(ks, k2, 3), k2, 3, "two\0x", 5);
    assert_entry(find(ks, k3, 10), k3, 10, "", 0);
    assert_entry(find(ks, "", 0), "", 0, "empty", 5);
    assert_entry(find(ks, "a", 1), "a", 1, "short", 5);
    ck_assert_ptr_null(find(ks, k3, 9)); /* a prefix is another key */
    ck_assert_ptr_null(find(ks, "a\0", 2));
    ck_assert_int_eq(rkv_entry_expire(find(ks, k1, 3)), 0);

    ck_assert(del(ks, k1, 3));
    ck_assert(!del(ks, k1, 3));
    ck_assert_ptr_null(find(ks, k1, 3));
    assert_entry(find(ks, k2, 3), k2, 3, "two\0x", 5);
    ck_assert(del(ks, "", 0));
    ck_assert_uint_eq(rkv_ks_count(ks), 3);
    ck_assert_uint_eq(rkv_ks_hash(ks, k1, 3), rkv_ks_hash(ks, k1, 3));
    ck_assert_uint_ne(rkv_ks_hash(ks, k1, 3), rkv_ks_hash(ks, k2, 3));
    rkv_ks_free(ks);
    rkv_ks_free(NULL);
}
END_TEST

START_TEST(seed_changes_hash)
{
    rkv_ks *a = rkv_ks_new(1), *b = rkv_ks_new(2);
    ck_assert_uint_ne(rkv_ks_hash(a, "key", 3), rkv_ks_hash(b, "key", 3));
    rkv_ks_free(a);
    rkv_ks_free(b);
}
END_TEST

START_TEST(replace_sizes)
{
    rkv_ks *ks = rkv_ks_new(7);
    unsigned char v[5000];
    bool created = true;
    /* 20-byte header + 1-byte key: 11- and 10-byte values share a class. */
    fill_pattern(v, sizeof v, 1);
    rkv_entry *e1 = put(ks, "k", 1, v, 10, 0, &created);
    ck_assert(created);
    rkv_entry *e2 = put(ks, "k", 1, v + 1, 11, 0, &created);
    ck_assert(!created);
    ck_assert_ptr_eq(e1, e2); /* overwritten in place */
    assert_entry(e2, "k", 1, v + 1, 11);

    /* Sizes that cross classes and the large-object boundary. */
    const size_t sizes[] = {100, 3, 0, 1003, 1004, 2000, 4900, 2600, 1500, 7};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        fill_pattern(v, sizes[i], (unsigned)i + 2);
        rkv_entry *e = put(ks, "k", 1, v, sizes[i], 0, &created);
        ck_assert(!created);
        assert_entry(e, "k", 1, v, sizes[i]);
        assert_entry(find(ks, "k", 1), "k", 1, v, sizes[i]);
        ck_assert_uint_eq(rkv_ks_count(ks), 1);
    }

    /* The new value may be the entry's own value, or a part of it. */
    unsigned char copy[64];
    fill_pattern(v, 64, 99);
    rkv_entry *e = put(ks, "k", 1, v, 64, 0, NULL);
    size_t vl;
    const unsigned char *own = rkv_entry_val(e, &vl);
    memcpy(copy, own + 8, 40);
    e = put(ks, "k", 1, own + 8, 40, 0, NULL); /* relocates, other class */
    assert_entry(e, "k", 1, copy, 40);
    own = rkv_entry_val(e, &vl);
    memcpy(copy, own + 1, 39);
    e = put(ks, "k", 1, own + 1, 39, 0, NULL); /* same class, aliases */
    assert_entry(e, "k", 1, copy, 39);
    /* And the key passed may be the entry's own key. */
    size_t kl;
    const void *ownkey = rkv_entry_key(e, &kl);
    e = put(ks, ownkey, kl, "xyz", 3, 0, &created);
    ck_assert(!created);
    assert_entry(find(ks, "k", 1), "k", 1, "xyz", 3);
    rkv_ks_free(ks);
}
END_TEST

START_TEST(expiry_moves)
{
    rkv_ks *ks = rkv_ks_new(3);
    unsigned char v[3000];
    fill_pattern(v, sizeof v, 5);
    /* 20 + 16 + 100 = 136 is a full class: adding the 8-byte expiry moves
     * the entry to another class. */
    const char *k = "key:000000000042";
    rkv_entry *e = put(ks, k, 16, v, 100, 0, NULL);
    rkv_entry_touch(e, 4242);
    ck_assert_uint_eq(rkv_ks_volatile_count(ks), 0);
    rkv_entry *e2 = rkv_ks_set_expire(ks, e, 1000);
    ck_assert_ptr_nonnull(e2);
    ck_assert_ptr_ne(e2, e);
    ck_assert_int_eq(rkv_entry_expire(e2), 1000);
    ck_assert_uint_eq(rkv_entry_lru(e2), 4242);
    assert_entry(e2, k, 16, v, 100);
    ck_assert_ptr_eq(find(ks, k, 16), e2);
    ck_assert_uint_eq(rkv_ks_volatile_count(ks), 1);

    ck_assert_ptr_eq(rkv_ks_set_expire(ks, e2, 2000), e2); /* no move */
    ck_assert_int_eq(rkv_entry_expire(e2), 2000);
    ck_assert_uint_eq(rkv_ks_volatile_count(ks), 1);

    rkv_entry *e3 = rkv_ks_set_expire(ks, e2, 0);
    ck_assert_ptr_nonnull(e3);
    ck_assert_int_eq(rkv_entry_expire(e3), 0);
    assert_entry(e3, k, 16, v, 100);
    ck_assert_ptr_eq(find(ks, k, 16), e3);
    ck_assert_uint_eq(rkv_ks_volatile_count(ks), 0);

    /* Any non-zero expiry counts, even a negative one. */
    rkv_entry *s = put(ks, "s", 1, v, 3, 0, NULL);
    rkv_entry *s2 = rkv_ks_set_expire(ks, s, -5);
    ck_assert_ptr_nonnull(s2);
    ck_assert_int_eq(rkv_entry_expire(s2), -5);
    assert_entry(s2, "s", 1, v, 3);
    ck_assert_uint_eq(rkv_ks_volatile_count(ks), 1);

    /* Large entries, and put() changing the expiry. */
    rkv_entry *b = put(ks, "big", 3, v, 3000, 77, NULL);
    ck_assert_int_eq(rkv_entry_expire(b), 77);
    ck_assert_uint_eq(rkv_ks_volatile_count(ks), 2);
    /* A large entry has room to drop or take the 8 bytes where it is. */
    rkv_entry *b2 = rkv_ks_set_expire(ks, b, 0);
    ck_assert_ptr_eq(b2, b);
    assert_entry(b, "big", 3, v, 3000);
    ck_assert_int_eq(rkv_entry_expire(b), 0);
    ck_assert_uint_eq(rkv_ks_volatile_count(ks), 1);
    b = put(ks, "big", 3, v, 2999, 88, NULL);
    ck_assert_int_eq(rkv_entry_expire(b), 88);
    assert_entry(b, "big", 3, v, 2999);
    ck_assert_uint_eq(rkv_ks_volatile_count(ks), 2);
    b = put(ks, "big", 3, v, 10, 0, NULL);
    ck_assert_int_eq(rkv_entry_expire(b), 0);
    ck_assert_uint_eq(rkv_ks_volatile_count(ks), 1);
    ck_assert(del(ks, "s", 1));
    ck_assert_uint_eq(rkv_ks_volatile_count(ks), 0);
    put(ks, k, 16, v, 100, 5, NULL);
    ck_assert_uint_eq(rkv_ks_volatile_count(ks), 1);
    ck_assert_int_eq(rkv_entry_expire(find(ks, k, 16)), 5);
    rkv_ks_free(ks);
}
END_TEST

START_TEST(lru_clock)
{
    rkv_ks *ks = rkv_ks_new(3);
    rkv_entry *e = put(ks, "k", 1, "v", 1, 0, NULL);
    rkv_entry_touch(e, 12345);
    ck_assert_uint_eq(rkv_entry_lru(e), 12345);
    rkv_entry_touch(e, RKV_LRU_MAX + 7u); /* wraps at 24 bits */
    ck_assert_uint_eq(rkv_entry_lru(e), 6);
    e = rkv_ks_set_expire(ks, e, 99);
    ck_assert_uint_eq(rkv_entry_lru(e), 6); /* flags and clock apart */
    ck_assert_int_eq(rkv_entry_expire(e), 99);
    rkv_entry_touch(e, RKV_LRU_MAX);
    ck_assert_int_eq(rkv_entry_expire(e), 99);
    ck_assert_uint_eq(rkv_entry_lru(e), RKV_LRU_MAX);
    rkv_ks_free(ks);
}
END_TEST

START_TEST(clear_releases)
{
    rkv_ks *ks = rkv_ks_new(11);
    size_t empty = rkv_ks_memory(ks);
    char k[32], v[2000];
    memset(v, 'x', sizeof v);
    for (size_t i = 0; i < 20000; i++)
        put(ks, k, mkkey(k, "c", i), v, i % 7 ? 50 : 1500, i % 3 ? 0 : 9,
            NULL);
    ck_assert_uint_eq(rkv_ks_count(ks), 20000);
    ck_assert_uint_gt(rkv_ks_memory(ks), empty + 20000 * 50);
    rkv_ks_clear(ks);
    ck_assert_uint_eq(rkv_ks_count(ks), 0);
    ck_assert_uint_eq(rkv_ks_volatile_count(ks), 0);
    ck_assert_uint_eq(rkv_ks_memory(ks), empty);
    ck_assert_ptr_null(find(ks, k, mkkey(k, "c", 5)));
    put(ks, k, mkkey(k, "c", 5), "again", 5, 0, NULL);
    assert_entry(find(ks, k, strlen(k)), k, strlen(k), "again", 5);
    ck_assert_uint_eq(rkv_ks_count(ks), 1);
    rkv_ks_free(ks);
}
END_TEST

/* ------------------------------------------------------------ resize */

/* The prefetch hints change nothing: not the content, not the memory
 * figures, not the rehash (a find afterwards still sees every key), for
 * present and absent keys, while growing, rehashing and shrinking. Under
 * ASan this also checks that they read only the table's own slots. */
START_TEST(prefetch_is_only_a_hint)
{
    rkv_ks *ks = rkv_ks_new(9);
    char k[32];
    const size_t n = 50000;
    uint64_t before[2], after[2];
    for (size_t i = 0; i < 2 * n; i++) {
        size_t kl = mkkey(k, "p", i);
        uint64_t h = rkv_ks_hash(ks, k, kl);
        if (i < n) {
            REQUIRE(put(ks, k, kl, "v", 1, 0, NULL) != NULL);
        } else {
            /* Shrinking: every delete may start or move a rehash. */
            REQUIRE(del(ks, k, mkkey(k, "p", i - n)));
            h = rkv_ks_hash(ks, k, kl);
        }
        if (i % 97 != 0)
            continue;
        size_t count = rkv_ks_count(ks), mem = rkv_ks_memory(ks);
        before[0] = before[1] = after[0] = after[1] = 0;
        rkv_ks_digest(ks, 0, before);
        rkv_ks_prefetch(ks, h);
        rkv_ks_prefetch_chain(ks, h);
        rkv_ks_prefetch(ks, ~h);
        rkv_ks_prefetch_chain(ks, ~h);
        rkv_ks_digest(ks, 0, after);
        REQUIRE(rkv_ks_count(ks) == count && rkv_ks_memory(ks) == mem);
        REQUIRE(before[0] == after[0] && before[1] == after[1]);
    }
    REQUIRE(rkv_ks_count(ks) == 0);
    rkv_ks_prefetch(ks, 1);
    rkv_ks_prefetch_chain(ks, 1);
    rkv_ks_free(ks);
}
END_TEST

START_TEST(growth_with_finds)
{
    rkv_ks *ks = rkv_ks_new(5);
    rkv_rng rng = {1};
    char k[32], v[32];
    const size_t n = 200000;
    for (size_t i = 0; i < n; i++) {
        size_t kl = mkkey(k, "g", i);
        snprintf(v, sizeof v, "v%zu", i);
        bool created = false;
        REQUIRE(put(ks, k, kl, v, strlen(v), 0, &created) != NULL);
        REQUIRE(created);
        /* The new key and an older one, wherever the rehash is. */
        assert_entry(find(ks, k, kl), k, kl, v, strlen(v));
        size_t j = (size_t)(rkv_rng_next(&rng) % (i + 1));
        kl = mkkey(k, "g", j);
        snprintf(v, sizeof v, "v%zu", j);
        assert_entry(find(ks, k, kl), k, kl, v, strlen(v));
        REQUIRE(find(ks, "missing", 7) == NULL);
    }
    REQUIRE(rkv_ks_count(ks) == n);
    for (size_t i = 0; i < n; i++) {
        size_t kl = mkkey(k, "g", i);
        REQUIRE(find(ks, k, kl) != NULL);
    }
    rkv_ks_free(ks);
}
END_TEST

START_TEST(shrink_after_delete)
{
    rkv_ks *ks = rkv_ks_new(9);
    size_t empty = rkv_ks_memory(ks);
    char k[32], v[100];
    memset(v, 'v', sizeof v);
    const size_t n = 100000, keep = 1000;
    for (size_t i = 0; i < n; i++)
        put(ks, k, mkkey(k, "s", i), v, sizeof v, 0, NULL);
    size_t full = rkv_ks_memory(ks);
    for (size_t i = keep; i < n; i++)
        REQUIRE(del(ks, k, mkkey(k, "s", i)));
    /* Lookups finish the shrinking rehash. */
    for (size_t r = 0; r < 50; r++)
        for (size_t i = 0; i < keep; i++)
            assert_entry(find(ks, k, mkkey(k, "s", i)), k, strlen(k), v,
                         sizeof v);
    size_t after = rkv_ks_memory(ks);
    printf("shrink: %zu keys %zu bytes -> %zu keys %zu bytes\n", n, full,
           keep, after);
    /* Emptied pages and the big bucket array went back. */
    ck_assert_uint_lt(after, full / 20);
    for (size_t i = 0; i < keep; i++)
        ck_assert(del(ks, k, mkkey(k, "s", i)));
    ck_assert_uint_eq(rkv_ks_count(ks), 0);
    ck_assert_uint_lt(rkv_ks_memory(ks), empty + 64 * 1024);
    rkv_ks_free(ks);
}
END_TEST

/* ------------------------------------------------------------ scan */

struct seen {
    unsigned char *stable; /* by index of "st" keys */
    size_t visits;
};

static void on_visit(const rkv_entry *e, void *ud)
{
    struct seen *s = ud;
    size_t kl;
    const char *k = rkv_entry_key(e, &kl);
    s->visits++;
    if (kl == 10 && memcmp(k, "st", 2) == 0)
        s->stable[strtoul(k + 2, NULL, 10)] = 1;
}

/* Scans while calling mutate between calls; every stable key (present for
 * the whole scan) must be seen. */
static void scan_check(rkv_ks *ks, size_t nstable,
                       void (*mutate)(rkv_ks *, size_t call))
{
    struct seen s = {calloc(nstable, 1), 0};
    uint64_t cur = 0;
    size_t calls = 0;
    do {
        cur = rkv_ks_scan(ks, cur, on_visit, &s);
        mutate(ks, calls++);
        ck_assert_uint_lt(calls, 10000000);
    } while (cur != 0);
    for (size_t i = 0; i < nstable; i++)
        ck_assert_msg(s.stable[i], "stable key %zu not seen", i);
    free(s.stable);
}

static void add_stable(rkv_ks *ks, size_t n)
{
    char k[32];
    for (size_t i = 0; i < n; i++)
        put(ks, k, mkkey(k, "st", i), "s", 1, 0, NULL);
}

static void grow_20(rkv_ks *ks, size_t call)
{
    char k[32];
    /* Growth must stop at some point, or the scan chases it for ever. */
    if (call >= 2000)
        return;
    for (size_t i = 0; i < 20; i++)
        put(ks, k, mkkey(k, "gr", call * 20 + i), "g", 1, 0, NULL);
}

static size_t shrink_next;
static void shrink_30(rkv_ks *ks, size_t call)
{
    char k[32];
    (void)call;
    for (size_t i = 0; i < 30; i++)
        del(ks, k, mkkey(k, "tr", shrink_next++));
}

static void grow_then_shrink(rkv_ks *ks, size_t call)
{
    char k[32];
    if (call < 300) {
        for (size_t i = 0; i < 60; i++)
            put(ks, k, mkkey(k, "gs", call * 60 + i), "g", 1, 0, NULL);
    } else {
        for (size_t i = 0; i < 80 && shrink_next < 18000; i++)
            del(ks, k, mkkey(k, "gs", shrink_next++));
    }
}

START_TEST(scan_across_growth)
{
    rkv_ks *ks = rkv_ks_new(21);
    add_stable(ks, 1000);
    scan_check(ks, 1000, grow_20); /* grows 1000 -> tens of thousands */
    ck_assert_uint_gt(rkv_ks_count(ks), 8000);
    rkv_ks_free(ks);
}
END_TEST

START_TEST(scan_across_shrink)
{
    rkv_ks *ks = rkv_ks_new(22);
    char k[32];
    add_stable(ks, 500);
    for (size_t i = 0; i < 60000; i++)
        put(ks, k, mkkey(k, "tr", i), "t", 1, 0, NULL);
    shrink_next = 0;
    scan_check(ks, 500, shrink_30);
    ck_assert_uint_lt(rkv_ks_count(ks), 60500);
    /* Finish the deletes and scan the small table once more. */
    while (shrink_next < 60000)
        shrink_30(ks, 0);
    scan_check(ks, 500, shrink_30);
    ck_assert_uint_eq(rkv_ks_count(ks), 500);
    rkv_ks_free(ks);
}
END_TEST

START_TEST(scan_across_both)
{
    rkv_ks *ks = rkv_ks_new(23);
    add_stable(ks, 300);
    shrink_next = 0;
    scan_check(ks, 300, grow_then_shrink);
    rkv_ks_free(ks);
}
END_TEST

/* ------------------------------------------------------------ sample */

START_TEST(sample_entries)
{
    rkv_ks *ks = rkv_ks_new(31);
    rkv_entry *out[64];
    ck_assert_uint_eq(rkv_ks_sample(ks, 1, false, out, 16), 0);
    char k[32];
    for (size_t i = 0; i < 5000; i++)
        put(ks, k, mkkey(k, "p", i), "v", 1, i % 10 == 0 ? 1000 : 0, NULL);
    ck_assert_uint_eq(rkv_ks_sample(ks, 1, false, out, 0), 0);

    unsigned char *hit = calloc(5000, 1);
    size_t distinct = 0;
    rkv_rng rng = {5};
    for (int round = 0; round < 200; round++) {
        size_t n = rkv_ks_sample(ks, rkv_rng_next(&rng), false, out, 16);
        REQUIRE(n == 16);
        for (size_t i = 0; i < n; i++) {
            size_t kl;
            const char *key = rkv_entry_key(out[i], &kl);
            REQUIRE(find(ks, key, kl) == out[i]);
            for (size_t j = 0; j < i; j++)
                REQUIRE(out[i] != out[j]);
            size_t idx = strtoul(key + 1, NULL, 10);
            distinct += !hit[idx];
            hit[idx] = 1;
        }
        n = rkv_ks_sample(ks, rkv_rng_next(&rng), true, out, 16);
        ck_assert_uint_gt(n, 0);
        for (size_t i = 0; i < n; i++)
            REQUIRE(rkv_entry_expire(out[i]) == 1000);
    }
    /* The start bucket follows random_value: samples spread out. */
    ck_assert_uint_gt(distinct, 1500);

    /* Sparse: fewer entries than asked, no duplicates, bounded. */
    for (size_t i = 0; i < 5000; i++)
        if (i >= 3)
            del(ks, k, mkkey(k, "p", i));
    size_t n = rkv_ks_sample(ks, 12345, false, out, 64);
    ck_assert_uint_le(n, 3);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < i; j++)
            ck_assert_ptr_ne(out[i], out[j]);
    n = rkv_ks_sample(ks, 12345, true, out, 64);
    ck_assert_uint_le(n, 1);
    free(hit);
    rkv_ks_free(ks);
}
END_TEST

/* ------------------------------------------------------------ expiry */

struct expired {
    size_t calls, wrong;
};

/* Key i has no expiry when i % 10 == 0, expires at 100 when i % 10 is 1..3,
 * and at 200 otherwise. */
static int64_t exp_of(size_t i)
{
    return i % 10 == 0 ? 0 : i % 10 <= 3 ? 100 : 200;
}

static int64_t exp_now;

static void on_expired(const void *key, size_t klen, void *ud)
{
    struct expired *x = ud;
    char buf[32];
    x->calls++;
    if (klen >= sizeof buf) {
        x->wrong++;
        return;
    }
    memcpy(buf, key, klen);
    buf[klen] = 0;
    int64_t e = exp_of(strtoul(buf + 1, NULL, 10));
    if (e == 0 || e > exp_now)
        x->wrong++;
}

START_TEST(expire_cycle_exact)
{
    rkv_ks *ks = rkv_ks_new(41);
    char k[32];
    const size_t n = 30000;
    for (size_t i = 0; i < n; i++)
        put(ks, k, mkkey(k, "e", i), "v", 1, exp_of(i), NULL);
    ck_assert_uint_eq(rkv_ks_volatile_count(ks), 27000);
    struct expired x = {0, 0};
    uint64_t cur = 0;
    size_t removed = 0, calls = 0;
    exp_now = 150;
    /* One bucket per call at first: the cursor must still move. */
    removed += rkv_ks_expire_cycle(ks, 150, 1, &cur, on_expired, &x);
    ck_assert_uint_ne(cur, 0);
    ck_assert_uint_eq(rkv_ks_expire_cycle(ks, 150, 0, &cur, on_expired, &x),
                      0);
    do {
        removed += rkv_ks_expire_cycle(ks, 150, 20, &cur, on_expired, &x);
        ck_assert_uint_lt(++calls, 1000000);
    } while (cur != 0);
    ck_assert_uint_eq(removed, 9000);
    ck_assert_uint_eq(x.calls, removed);
    ck_assert_uint_eq(x.wrong, 0);
    ck_assert_uint_eq(rkv_ks_count(ks), n - 9000);
    ck_assert_uint_eq(rkv_ks_volatile_count(ks), 18000);
    for (size_t i = 0; i < n; i++) {
        rkv_entry *e = find(ks, k, mkkey(k, "e", i));
        if (exp_of(i) == 100)
            REQUIRE(e == NULL);
        else
            REQUIRE(e != NULL);
    }
    /* At 200 all but a tenth go: the table starts shrinking in the middle
     * of the pass, and the cursor copes with the two tables. */
    exp_now = 200;
    removed = x.calls = 0;
    do {
        removed += rkv_ks_expire_cycle(ks, 200, 7, &cur, on_expired, &x);
        ck_assert_uint_lt(++calls, 1000000);
    } while (cur != 0);
    ck_assert_uint_eq(removed, 18000);
    ck_assert_uint_eq(x.calls, 18000);
    ck_assert_uint_eq(x.wrong, 0);
    ck_assert_uint_eq(rkv_ks_count(ks), 3000);
    ck_assert_uint_eq(rkv_ks_volatile_count(ks), 0);
    rkv_ks_free(ks);
}
END_TEST

/* ------------------------------------------------------------ digest */

static void digest(const rkv_ks *ks, int64_t now, uint64_t d[2])
{
    d[0] = d[1] = 0;
    rkv_ks_digest(ks, now, d);
}

static bool same(const uint64_t a[2], const uint64_t b[2])
{
    return a[0] == b[0] && a[1] == b[1];
}

static size_t dig_val(char *v, size_t i)
{
    /* Some values long enough for the streaming path. */
    size_t n = i % 50 == 0 ? 700 : (size_t)snprintf(v, 32, "val-%zu", i);
    if (i % 50 == 0)
        fill_pattern((unsigned char *)v, n, (unsigned)i);
    return n;
}

START_TEST(digest_order_independent)
{
    rkv_ks *a = rkv_ks_new(51), *b = rkv_ks_new(52);
    uint64_t da[2], db[2], d0[2] = {0, 0};
    digest(a, 0, da);
    ck_assert(same(da, d0)); /* empty table: 0 */
    char k[32], v[800];
    const size_t n = 3000;
    for (size_t i = 0; i < n; i++)
        put(a, k, mkkey(k, "d", i), v, dig_val(v, i), i % 4 ? 0 : 5000 + i,
            NULL);
    for (size_t i = n; i-- > 0;)
        put(b, k, mkkey(k, "d", i), v, dig_val(v, i), i % 4 ? 0 : 5000 + i,
            NULL);
    digest(a, 1000, da);
    digest(b, 1000, db);
    ck_assert(same(da, db));
    ck_assert(!same(da, d0));

    /* Each kind of change is seen, and undoing it restores the digest. */
    put(b, "d00000007", 9, "other", 5, 0, NULL);
    digest(b, 1000, db);
    ck_assert(!same(da, db));
    put(b, k, mkkey(k, "d", 7), v, dig_val(v, 7), 0, NULL);
    digest(b, 1000, db);
    ck_assert(same(da, db));
    rkv_entry *e = find(b, k, mkkey(k, "d", 8));
    e = rkv_ks_set_expire(b, e, 5000 + 8 + 1);
    digest(b, 1000, db);
    ck_assert(!same(da, db));
    rkv_ks_set_expire(b, e, 5000 + 8);
    digest(b, 1000, db);
    ck_assert(same(da, db));
    put(b, k, mkkey(k, "d", 50), v, dig_val(v, 50) - 1, 0, NULL);
    digest(b, 1000, db);
    ck_assert(!same(da, db));
    put(b, k, mkkey(k, "d", 50), v, dig_val(v, 50), 0, NULL);
    digest(b, 1000, db);
    ck_assert(same(da, db));
    /* An expired entry does not count; at a later now, others drop out. */
    put(b, "gone", 4, "x", 1, 999, NULL);
    digest(b, 1000, db);
    ck_assert(same(da, db));
    digest(a, 6000, da);
    digest(b, 6000, db);
    ck_assert(same(da, db));
    rkv_ks_free(a);
    rkv_ks_free(b);
}
END_TEST

START_TEST(digest_unambiguous)
{
    rkv_ks *a = rkv_ks_new(1), *b = rkv_ks_new(1);
    uint64_t da[2], db[2];
    put(a, "ab", 2, "c", 1, 0, NULL);
    put(b, "a", 1, "bc", 2, 0, NULL);
    digest(a, 0, da);
    digest(b, 0, db);
    ck_assert(!same(da, db));
    rkv_ks_clear(b);
    put(b, "ab", 2, "c", 1, 0, NULL);
    digest(b, 0, db);
    ck_assert(same(da, db));
    /* Key and value swapped. */
    rkv_ks_clear(b);
    put(b, "c", 1, "ab", 2, 0, NULL);
    digest(b, 0, db);
    ck_assert(!same(da, db));
    /* Two equal entries in two tables add up the same as both in one. */
    rkv_ks *c = rkv_ks_new(2);
    put(c, "ab", 2, "c", 1, 0, NULL);
    put(c, "c", 1, "ab", 2, 0, NULL);
    uint64_t sum[2] = {0, 0}, dc[2];
    rkv_ks_digest(a, 0, sum);
    rkv_ks_digest(b, 0, sum);
    digest(c, 0, dc);
    ck_assert(same(sum, dc));
    rkv_ks_free(a);
    rkv_ks_free(b);
    rkv_ks_free(c);
}
END_TEST

/* The per-entry encoding is part of what nodes compare, so it is pinned:
 * u32le klen | key | u32le vlen | value | i64le expiry, XXH3-128 unseeded. */
static void expect_entry_hash(uint64_t acc[2], const char *k, uint32_t kl,
                              const char *v, uint32_t vl, int64_t exp)
{
    unsigned char buf[256], *p = buf;
    for (int i = 0; i < 4; i++)
        *p++ = (unsigned char)(kl >> (8 * i));
    memcpy(p, k, kl);
    p += kl;
    for (int i = 0; i < 4; i++)
        *p++ = (unsigned char)(vl >> (8 * i));
    memcpy(p, v, vl);
    p += vl;
    for (int i = 0; i < 8; i++)
        *p++ = (unsigned char)((uint64_t)exp >> (8 * i));
    XXH128_hash_t h = XXH3_128bits(buf, (size_t)(p - buf));
    uint64_t lo = acc[0] + h.low64;
    acc[1] += h.high64 + (lo < acc[0]);
    acc[0] = lo;
}

START_TEST(digest_encoding)
{
    rkv_ks *ks = rkv_ks_new(3);
    uint64_t want[2] = {0, 0}, got[2];
    put(ks, "ab", 2, "c", 1, 0, NULL);
    put(ks, "key", 3, "value\0", 6, 1234, NULL);
    put(ks, "", 0, "", 0, -1, NULL); /* expired at any now >= -1 */
    expect_entry_hash(want, "ab", 2, "c", 1, 0);
    expect_entry_hash(want, "key", 3, "value\0", 6, 1234);
    digest(ks, 0, got);
    ck_assert(same(want, got));
    /* The streaming path (long entries) gives the same hash. */
    char big[200];
    memset(big, 'b', sizeof big);
    rkv_ks_clear(ks);
    put(ks, big, 40, big, 200, 0, NULL);
    uint64_t w2[2] = {0, 0};
    unsigned char enc[300], *p = enc;
    *p++ = 40, *p++ = 0, *p++ = 0, *p++ = 0;
    memcpy(p, big, 40), p += 40;
    *p++ = 200, *p++ = 0, *p++ = 0, *p++ = 0;
    memcpy(p, big, 200), p += 200;
    memset(p, 0, 8), p += 8;
    XXH128_hash_t h = XXH3_128bits(enc, (size_t)(p - enc));
    w2[0] = h.low64;
    w2[1] = h.high64;
    digest(ks, 0, got);
    ck_assert(same(w2, got));
    rkv_ks_free(ks);
}
END_TEST

/* ------------------------------------------------------------ memory */

START_TEST(memory_per_key)
{
    rkv_ks *ks = rkv_ks_new(61);
    char k[32], v[100];
    memset(v, 'v', sizeof v);
    const size_t n = 1000000;
    for (size_t i = 0; i < n; i++) {
        snprintf(k, sizeof k, "key:%012zu", i);
        REQUIRE(put(ks, k, 16, v, sizeof v, 0, NULL) != NULL);
    }
    double per_key = (double)rkv_ks_memory(ks) / (double)n;
    printf("memory: %.2f bytes/key at %zu entries (16 B keys, 100 B "
           "values)\n",
           per_key, n);
    ck_assert_double_le(per_key, 150.0);
    ck_assert_double_ge(per_key, 136.0); /* honest: at least the entries */
    /* Full pages: used and held agree closely. */
    ck_assert_uint_le(rkv_ks_memory_used(ks), rkv_ks_memory(ks));
    ck_assert_uint_ge(rkv_ks_memory_used(ks), n * 136);

    /* Removing every other key barely frees pages (held stays), but the
     * used figure that maxmemory counts drops by each entry's size. */
    size_t used_before = rkv_ks_memory_used(ks);
    for (size_t i = 0; i < n; i += 2) {
        snprintf(k, sizeof k, "key:%012zu", i);
        REQUIRE(rkv_ks_remove(ks, rkv_ks_hash(ks, k, 16), k, 16));
    }
    size_t used_after = rkv_ks_memory_used(ks);
    ck_assert_uint_le(used_after, used_before - (n / 2) * 136);
    ck_assert_uint_lt(used_after, rkv_ks_memory(ks));
    rkv_ks_free(ks);
}
END_TEST

/* One lookup per write: find_pos then put_at, for new and existing keys,
 * while the table grows (so positions are taken during rehashes). */
START_TEST(find_pos_then_put_at)
{
    rkv_ks *ks = rkv_ks_new(5);
    char k[32], v[64];
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < 50000; i++) {
            int kl = snprintf(k, sizeof k, "pos:%d", i);
            int vl = snprintf(v, sizeof v, "r%d-%d", round, i);
            uint64_t h = rkv_ks_hash(ks, k, (size_t)kl);
            rkv_ks_pos pos;
            rkv_entry *e = rkv_ks_find_pos(ks, h, k, (size_t)kl, &pos);
            ck_assert(round == 0 ? e == NULL : e != NULL);
            bool created = false;
            e = rkv_ks_put_at(ks, &pos, k, (size_t)kl, v, (size_t)vl,
                              i % 3 ? 0 : 4000000000000LL, &created);
            ck_assert_ptr_nonnull(e);
            ck_assert(created == (round == 0));
        }
    }
    ck_assert_uint_eq(rkv_ks_count(ks), 50000);
    for (int i = 0; i < 50000; i++) {
        int kl = snprintf(k, sizeof k, "pos:%d", i);
        int vl = snprintf(v, sizeof v, "r1-%d", i);
        rkv_entry *e = rkv_ks_find(ks, rkv_ks_hash(ks, k, (size_t)kl), k,
                                   (size_t)kl);
        ck_assert_ptr_nonnull(e);
        size_t n;
        const void *got = rkv_entry_val(e, &n);
        ck_assert_uint_eq(n, (size_t)vl);
        ck_assert_mem_eq(got, v, n);
        ck_assert_int_eq(rkv_entry_expire(e) != 0, i % 3 == 0);
    }
    ck_assert_uint_eq(rkv_ks_volatile_count(ks), (50000 + 2) / 3);
    rkv_ks_free(ks);
}
END_TEST

/* ------------------------------------------------------------ model */

/* Value length for model version nv: some large (above the slab classes). */
static size_t model_vlen(unsigned nv)
{
    return nv % 97 == 0 ? 1100 + nv % 300 : nv % 150;
}

/* Random puts, removes, expiry changes and finds against a reference. */
START_TEST(random_against_model)
{
    enum { N = 4000 };
    static unsigned short ver[N]; /* 0: absent, else version */
    static int64_t exp[N];
    rkv_ks *ks = rkv_ks_new(71);
    rkv_rng rng = {99};
    char k[32];
    unsigned char v[1400];
    memset(ver, 0, sizeof ver);
    size_t count = 0, nvol = 0;
    for (int op = 0; op < 400000; op++) {
        uint64_t r = rkv_rng_next(&rng);
        size_t i = (size_t)(r % N), kl = mkkey(k, "m", i);
        /* Phases of mostly-insert and mostly-delete drive grow and shrink. */
        bool grow = (op / 50000) % 2 == 0;
        unsigned what = (unsigned)((r >> 20) % 10);
        if (what < (grow ? 5u : 2u)) {
            unsigned short nv = (unsigned short)(1 + (r >> 32) % 60000);
            size_t vl = model_vlen(nv);
            int64_t e = (r >> 40) % 4 == 0 ? (int64_t)(r >> 48) + 1 : 0;
            fill_pattern(v, vl, nv);
            bool created;
            REQUIRE(put(ks, k, kl, v, vl, e, &created) != NULL);
            REQUIRE(created == (ver[i] == 0));
            count += created;
            nvol += (e != 0) - (ver[i] && exp[i] != 0);
            ver[i] = nv;
            exp[i] = e;
        } else if (what < 8) {
            bool had = ver[i] != 0;
            REQUIRE(del(ks, k, kl) == had);
            if (had) {
                count--;
                nvol -= exp[i] != 0;
            }
            ver[i] = 0;
        } else if (what < 9 && ver[i]) {
            int64_t e = (r >> 40) % 2 ? 0 : (int64_t)(r >> 50) + 1;
            rkv_entry *en = rkv_ks_set_expire(ks, find(ks, k, kl), e);
            REQUIRE(en != NULL);
            nvol += (e != 0) - (exp[i] != 0);
            exp[i] = e;
        } else {
            rkv_entry *en = find(ks, k, kl);
            if (!ver[i]) {
                REQUIRE(en == NULL);
            } else {
                size_t vl = model_vlen(ver[i]);
                fill_pattern(v, vl, ver[i]);
                assert_entry(en, k, kl, v, vl);
                REQUIRE(rkv_entry_expire(en) == exp[i]);
            }
        }
        REQUIRE(rkv_ks_count(ks) == count);
        REQUIRE(rkv_ks_volatile_count(ks) == nvol);
    }
    rkv_ks_free(ks);
}
END_TEST

static Suite *keyspace_suite(void)
{
    Suite *s = suite_create("keyspace");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, binary_keys);
    tcase_add_test(tc, seed_changes_hash);
    tcase_add_test(tc, replace_sizes);
    tcase_add_test(tc, expiry_moves);
    tcase_add_test(tc, lru_clock);
    tcase_add_test(tc, clear_releases);
    tcase_add_test(tc, growth_with_finds);
    tcase_add_test(tc, prefetch_is_only_a_hint);
    tcase_add_test(tc, shrink_after_delete);
    tcase_add_test(tc, scan_across_growth);
    tcase_add_test(tc, scan_across_shrink);
    tcase_add_test(tc, scan_across_both);
    tcase_add_test(tc, sample_entries);
    tcase_add_test(tc, expire_cycle_exact);
    tcase_add_test(tc, digest_order_independent);
    tcase_add_test(tc, digest_unambiguous);
    tcase_add_test(tc, digest_encoding);
    tcase_add_test(tc, memory_per_key);
    tcase_add_test(tc, find_pos_then_put_at);
    tcase_add_test(tc, random_against_model);
    tcase_add_test(tc, reserve_for_a_load);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(keyspace_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
