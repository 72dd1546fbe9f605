/*
 * check_slab.c - the keyspace's size-class allocator: objects keep their
 * contents and never overlap, pages are reused and given back, large
 * objects and sys allocations are counted, release_all lets go of all.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "slab.h"

/* Check's ck_assert records a checkpoint per pass; hot loops use this. */
#define REQUIRE(c)                                                             \
    do {                                                                       \
        if (!(c))                                                              \
            ck_abort_msg("requirement failed: %s", #c);                        \
    } while (0)

static void stamp(unsigned char *p, size_t n, size_t id)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)(id * 131u + i);
}

static bool stamped(const unsigned char *p, size_t n, size_t id)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != (unsigned char)(id * 131u + i))
            return false;
    return true;
}

START_TEST(objects_keep_contents)
{
    enum { N = 30000 };
    rkv_slab s;
    rkv_slab_init(&s);
    ck_assert_uint_eq(rkv_slab_held(&s), 0);
    unsigned char **p = calloc(N, sizeof(*p));
    size_t *sz = calloc(N, sizeof(*sz));
    rkv_rng rng = {3};
    for (size_t i = 0; i < N; i++) {
        uint64_t r = rkv_rng_next(&rng);
        sz[i] = r % 16 == 0 ? 1025 + r % 3000 : r % 1025;
        p[i] = rkv_slab_alloc(&s, sz[i]);
        REQUIRE(p[i] != NULL);
        REQUIRE(((uintptr_t)p[i] & 7) == 0);
        stamp(p[i], sz[i], i);
    }
    /* Free a random half, reallocate it with other sizes, check all. */
    for (int round = 0; round < 3; round++) {
        for (size_t i = 0; i < N; i++) {
            if (rkv_rng_next(&rng) % 2)
                continue;
            REQUIRE(stamped(p[i], sz[i], i));
            rkv_slab_free(&s, p[i], sz[i]);
            sz[i] = rkv_rng_next(&rng) % 1100;
            p[i] = rkv_slab_alloc(&s, sz[i]);
            REQUIRE(p[i] != NULL);
            stamp(p[i], sz[i], i);
        }
        for (size_t i = 0; i < N; i++)
            REQUIRE(stamped(p[i], sz[i], i));
    }
    for (size_t i = 0; i < N; i++)
        rkv_slab_free(&s, p[i], sz[i]);
    rkv_slab_free(&s, NULL, 10); /* no-op */
    /* Only spare pages (one per class at most) and bookkeeping remain. */
    ck_assert_uint_le(rkv_slab_held(&s), RKV_SLAB_NCLASS * 65536u);
    rkv_slab_release_all(&s);
    ck_assert_uint_eq(rkv_slab_held(&s), 0);
    free(p);
    free(sz);
}
END_TEST

START_TEST(pages_counted_and_returned)
{
    enum { N = 20000 };
    rkv_slab s;
    rkv_slab_init(&s);
    void **p = calloc(N, sizeof(*p));
    for (size_t i = 0; i < N; i++)
        p[i] = rkv_slab_alloc(&s, 136);
    size_t full = rkv_slab_held(&s);
    /* 136 is its own class: pages add well under 1% to the payload. */
    ck_assert_uint_ge(full, (size_t)N * 136);
    ck_assert_uint_le(full, (size_t)N * 136 + (size_t)N * 136 / 100 + 65536);
    for (size_t i = 0; i < N; i++)
        rkv_slab_free(&s, p[i], 136);
    size_t empty = rkv_slab_held(&s);
    ck_assert_uint_lt(empty, 65536 + 4096); /* the spare page + lists */
    /* The same again reuses the pages given back: no growth beyond the
     * list that now remembers them. */
    for (size_t i = 0; i < N; i++)
        p[i] = rkv_slab_alloc(&s, 136);
    ck_assert_uint_ge(rkv_slab_held(&s), full);
    ck_assert_uint_le(rkv_slab_held(&s), full + 4096);
    full = rkv_slab_held(&s);
    /* Freeing every other object empties no page: all stay held, but the
     * live figure drops by what was freed. */
    size_t live = rkv_slab_live(&s);
    ck_assert_uint_eq(live, (size_t)N * 136);
    for (size_t i = 0; i < N; i += 2)
        rkv_slab_free(&s, p[i], 136);
    ck_assert_uint_eq(rkv_slab_held(&s), full);
    ck_assert_uint_eq(rkv_slab_live(&s), live / 2);
    /* And the freed slots are used before any new page. */
    for (size_t i = 0; i < N; i += 2)
        p[i] = rkv_slab_alloc(&s, 130);
    ck_assert_uint_eq(rkv_slab_held(&s), full);
    for (size_t i = 0; i < N; i++)
        rkv_slab_free(&s, p[i], i % 2 ? 136 : 130);
    ck_assert_uint_eq(rkv_slab_held(&s), empty);
    rkv_slab_release_all(&s);
    free(p);
}
END_TEST

START_TEST(spare_page_avoids_churn)
{
    rkv_slab s;
    rkv_slab_init(&s);
    void *a = rkv_slab_alloc(&s, 40);
    size_t one = rkv_slab_held(&s);
    ck_assert_uint_gt(one, 0);
    for (int i = 0; i < 1000; i++) {
        rkv_slab_free(&s, a, 40);
        ck_assert_uint_eq(rkv_slab_held(&s), one);
        a = rkv_slab_alloc(&s, 40);
        ck_assert_uint_eq(rkv_slab_held(&s), one);
    }
    rkv_slab_free(&s, a, 40);
    rkv_slab_release_all(&s);
    ck_assert_uint_eq(rkv_slab_held(&s), 0);
}
END_TEST

START_TEST(large_objects)
{
    rkv_slab s;
    rkv_slab_init(&s);
    unsigned char *b = rkv_slab_alloc(&s, 5000);
    ck_assert_ptr_nonnull(b);
    ck_assert_uint_ge(rkv_slab_held(&s), 5000);
    stamp(b, 5000, 9);
    /* In place when it fits without wasting half; never across kinds. */
    ck_assert(rkv_slab_fits(&s, b, 5000, 4000));
    ck_assert(rkv_slab_fits(&s, b, 5000, 5000));
    ck_assert(!rkv_slab_fits(&s, b, 5000, 2000));
    ck_assert(!rkv_slab_fits(&s, b, 5000, 9000));
    ck_assert(!rkv_slab_fits(&s, b, 5000, 500));
    ck_assert(stamped(b, 5000, 9));
    ck_assert_uint_eq(rkv_slab_live(&s), rkv_slab_held(&s));
    rkv_slab_free(&s, b, 4000); /* freed with its new size */
    ck_assert_uint_eq(rkv_slab_held(&s), 0);
    ck_assert_uint_eq(rkv_slab_live(&s), 0);
    /* Many, then release_all without freeing them. */
    for (int i = 0; i < 100; i++)
        ck_assert_ptr_nonnull(rkv_slab_alloc(&s, 2000 + (size_t)i));
    ck_assert_uint_ge(rkv_slab_held(&s), 100 * 2000);
    rkv_slab_release_all(&s);
    ck_assert_uint_eq(rkv_slab_held(&s), 0);
    ck_assert_ptr_null(rkv_slab_alloc(&s, SIZE_MAX - 8));
}
END_TEST

START_TEST(classes)
{
    rkv_slab s;
    rkv_slab_init(&s);
    ck_assert_uint_eq(rkv_slab_class_size(136), 136);
    ck_assert_uint_eq(rkv_slab_class_size(137), 144);
    ck_assert_uint_eq(rkv_slab_class_size(1), 8);
    ck_assert_uint_eq(rkv_slab_class_size(RKV_SLAB_MAX), RKV_SLAB_MAX);
    ck_assert_uint_eq(rkv_slab_class_size(RKV_SLAB_MAX + 1), RKV_SLAB_MAX + 1);
    void *p = rkv_slab_alloc(&s, 136);
    ck_assert(rkv_slab_fits(&s, p, 136, 129));
    ck_assert(!rkv_slab_fits(&s, p, 136, 128));
    ck_assert(!rkv_slab_fits(&s, p, 136, 137));
    rkv_slab_free(&s, p, 129);
    p = rkv_slab_alloc(&s, 0);
    ck_assert_ptr_nonnull(p);
    ck_assert(rkv_slab_fits(&s, p, 0, 8));
    rkv_slab_free(&s, p, 8);
    /* Every class works, and each page holds at least a few objects. */
    void *q[RKV_SLAB_NCLASS];
    for (size_t c = 0; c < RKV_SLAB_NCLASS; c++) {
        q[c] = rkv_slab_alloc(&s, (c + 1) * 8);
        ck_assert_ptr_nonnull(q[c]);
        memset(q[c], (int)c, (c + 1) * 8);
        ck_assert_uint_ge(s.cls[c].cap, 8);
    }
    for (size_t c = 0; c < RKV_SLAB_NCLASS; c++) {
        ck_assert_uint_eq(((unsigned char *)q[c])[c * 8], (unsigned char)c);
        rkv_slab_free(&s, q[c], (c + 1) * 8);
    }
    rkv_slab_release_all(&s);
}
END_TEST

START_TEST(sys_allocations)
{
    rkv_slab s;
    rkv_slab_init(&s);
    const size_t small = 4096, big = (size_t)4 << 20;
    unsigned char *a = rkv_slab_sys_alloc(&s, small, true);
    unsigned char *b = rkv_slab_sys_alloc(&s, big, true);
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    ck_assert_uint_ge(rkv_slab_held(&s), small + big);
    size_t held = rkv_slab_held(&s);
    for (size_t i = 0; i < big; i += 4093)
        ck_assert_uint_eq(b[i], 0);
    memset(b, 0, big / 2);
    b[big / 2] = 7;
    rkv_slab_sys_discard(&s, b, big, 0, big / 2);
    ck_assert_uint_eq(b[0], 0);
    ck_assert_uint_eq(b[big / 2 - 1], 0);
    ck_assert_uint_eq(b[big / 2], 7);
    /* Sys blocks survive release_all: their owner frees them. */
    void *o = rkv_slab_alloc(&s, 64);
    ck_assert_ptr_nonnull(o);
    ck_assert_uint_eq(rkv_slab_live(&s), held + 64);
    rkv_slab_release_all(&s);
    ck_assert_uint_eq(rkv_slab_held(&s), held);
    ck_assert_uint_eq(rkv_slab_live(&s), held);
    rkv_slab_sys_free(&s, a, small);
    rkv_slab_sys_free(&s, b, big);
    rkv_slab_sys_free(&s, NULL, 0);
    ck_assert_uint_eq(rkv_slab_held(&s), 0);
}
END_TEST

static Suite *slab_suite(void)
{
    Suite *s = suite_create("slab");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, objects_keep_contents);
    tcase_add_test(tc, pages_counted_and_returned);
    tcase_add_test(tc, spare_page_avoids_churn);
    tcase_add_test(tc, large_objects);
    tcase_add_test(tc, classes);
    tcase_add_test(tc, sys_allocations);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(slab_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
