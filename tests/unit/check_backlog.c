/*
 * check_backlog.c - the replication backlog (lib/backlog.c): the ring
 * against a reference copy of everything ever appended, resize, ids and
 * offsets, and the PSYNC decision in every case Redis distinguishes.
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "backlog.h"

/* Everything appended, in order, to compare the ring with. */
typedef struct ref {
    uint8_t *p;
    size_t len, cap;
} ref;

static void ref_add(ref *r, const void *p, size_t n)
{
    if (n == 0)
        return;
    if (r->len + n > r->cap) {
        r->cap = (r->len + n) * 2;
        r->p = realloc(r->p, r->cap);
        ck_assert_ptr_nonnull(r->p);
    }
    memcpy(r->p + r->len, p, n);
    r->len += n;
}

static bool is_hex40(const char *s)
{
    if (strlen(s) != 40)
        return false;
    for (int i = 0; i < 40; i++)
        if (!strchr("0123456789abcdef", s[i]))
            return false;
    return true;
}

/* Checks that the backlog holds exactly the last want_hist bytes of r
 * (SIZE_MAX: as many as fit, as when it was never shrunk), through both
 * spans and copy, from every offset it covers (or a sample of them when it
 * covers many). */
static void check_tail_n(const rkv_backlog *bl, const ref *r, size_t want_hist)
{
    int64_t off = rkv_backlog_offset(bl);
    int64_t first = rkv_backlog_first_offset(bl);
    size_t hist = rkv_backlog_histlen(bl);
    ck_assert_int_eq(off, (int64_t)r->len);
    ck_assert_int_eq(off - first, (int64_t)hist);
    if (want_hist == SIZE_MAX)
        want_hist =
            r->len < rkv_backlog_size(bl) ? r->len : rkv_backlog_size(bl);
    ck_assert_uint_eq(hist, want_hist);
    uint8_t *tmp = malloc(hist + 1);
    int64_t step = hist > 64 ? (int64_t)hist / 37 + 1 : 1;
    for (int64_t from = first; from <= off; from += step) {
        size_t want = (size_t)(off - from);
        rkv_span sp;
        size_t got = 0;
        for (int i = 0;; i++) {
            ck_assert_int_lt(i, 1 << 20);
            ck_assert_int_eq(rkv_backlog_span(bl, from + (int64_t)got, &sp),
                             0);
            if (sp.len == 0)
                break;
            ck_assert_mem_eq(sp.p, r->p + from + got, sp.len);
            got += sp.len;
        }
        ck_assert_uint_eq(got, want);
        size_t copied = 99;
        ck_assert_int_eq(rkv_backlog_copy(bl, from, tmp, hist + 1, &copied), 0);
        ck_assert_uint_eq(copied, want);
        if (want > 0)
            ck_assert_mem_eq(tmp, r->p + from, want);
        /* a short destination gets the oldest bytes first */
        if (want > 3) {
            ck_assert_int_eq(rkv_backlog_copy(bl, from, tmp, 3, &copied), 0);
            ck_assert_uint_eq(copied, 3);
            ck_assert_mem_eq(tmp, r->p + from, 3);
        }
    }
    /* just outside the range, both ends */
    size_t copied = 99;
    rkv_span sp;
    if (first > 0) {
        ck_assert_int_eq(rkv_backlog_copy(bl, first - 1, tmp, hist, &copied),
                         REPLKV_EINVAL);
        ck_assert_uint_eq(copied, 0);
    }
    ck_assert_int_eq(rkv_backlog_span(bl, off + 1, &sp), REPLKV_EINVAL);
    ck_assert_int_eq(rkv_backlog_span(bl, off, &sp), 0);
    ck_assert_uint_eq(sp.len, 0);
    free(tmp);
}

static void check_tail(const rkv_backlog *bl, const ref *r)
{
    check_tail_n(bl, r, SIZE_MAX);
}

START_TEST(test_new)
{
    rkv_backlog *a, *b;
    ck_assert_int_eq(rkv_backlog_new(100, &a), 0);
    ck_assert_int_eq(rkv_backlog_new(100, &b), 0);
    ck_assert(is_hex40(rkv_backlog_replid(a)));
    ck_assert_str_ne(rkv_backlog_replid(a), rkv_backlog_replid(b));
    ck_assert_str_eq(rkv_backlog_replid2(a),
                     "0000000000000000000000000000000000000000");
    ck_assert_int_eq(rkv_backlog_second_offset(a), -1);
    ck_assert_int_eq(rkv_backlog_offset(a), 0);
    ck_assert_int_eq(rkv_backlog_first_offset(a), 0);
    ck_assert_uint_eq(rkv_backlog_size(a), 100);
    ck_assert_uint_eq(rkv_backlog_histlen(a), 0);
    rkv_backlog_free(a);
    rkv_backlog_free(b);
    rkv_backlog_free(NULL);
    static char sentinel;
    rkv_backlog *c = (rkv_backlog *)(void *)&sentinel;
    ck_assert_int_eq(rkv_backlog_new(0, &c), REPLKV_EINVAL);
    ck_assert_ptr_null(c);
}
END_TEST

START_TEST(test_wraparound_many_times)
{
    rkv_rng rng = {42};
    size_t sizes[] = {1, 7, 64, 1000};
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
        rkv_backlog *bl;
        ck_assert_int_eq(rkv_backlog_new(sizes[s], &bl), 0);
        ref r = {0};
        uint8_t chunk[3000];
        for (int i = 0; i < 600; i++) {
            /* mostly small writes, sometimes one longer than the ring */
            uint64_t x = rkv_rng_next(&rng);
            size_t n = x % 10 == 0 ? (size_t)(x >> 8) % 3000
                                   : (size_t)(x >> 8) % (sizes[s] / 3 + 2);
            for (size_t j = 0; j < n; j++)
                chunk[j] = (uint8_t)rkv_rng_next(&rng);
            rkv_backlog_append(bl, chunk, n);
            ref_add(&r, chunk, n);
            check_tail(bl, &r);
        }
        /* the ring went round many times */
        ck_assert_uint_gt(r.len, 20 * sizes[s]);
        rkv_backlog_append(bl, NULL, 0);
        check_tail(bl, &r);
        free(r.p);
        rkv_backlog_free(bl);
    }
}
END_TEST

START_TEST(test_huge_append_keeps_tail)
{
    rkv_backlog *bl;
    ck_assert_int_eq(rkv_backlog_new(16, &bl), 0);
    ref r = {0};
    rkv_backlog_append(bl, "abc", 3);
    ref_add(&r, "abc", 3);
    char big[100];
    for (int i = 0; i < 100; i++)
        big[i] = (char)('A' + i % 26);
    rkv_backlog_append(bl, big, sizeof big);
    ref_add(&r, big, sizeof big);
    ck_assert_int_eq(rkv_backlog_offset(bl), 103);
    ck_assert_int_eq(rkv_backlog_first_offset(bl), 103 - 16);
    uint8_t out[16];
    size_t n;
    ck_assert_int_eq(rkv_backlog_copy(bl, 103 - 16, out, 16, &n), 0);
    ck_assert_uint_eq(n, 16);
    ck_assert_mem_eq(out, big + 84, 16);
    check_tail(bl, &r);
    /* exactly the ring's size */
    rkv_backlog_append(bl, big, 16);
    ref_add(&r, big, 16);
    check_tail(bl, &r);
    free(r.p);
    rkv_backlog_free(bl);
}
END_TEST

START_TEST(test_resize)
{
    rkv_backlog *bl;
    ck_assert_int_eq(rkv_backlog_new(50, &bl), 0);
    ref r = {0};
    uint8_t b[37];
    for (int i = 0; i < 10; i++) {
        for (int j = 0; j < 37; j++)
            b[j] = (uint8_t)(i * 37 + j);
        rkv_backlog_append(bl, b, sizeof b);
        ref_add(&r, b, sizeof b);
    }
    check_tail(bl, &r);
    /* grow: keeps all 50 it had, room for more */
    ck_assert_int_eq(rkv_backlog_resize(bl, 120), 0);
    ck_assert_uint_eq(rkv_backlog_histlen(bl), 50);
    ck_assert_int_eq(rkv_backlog_first_offset(bl), 370 - 50);
    for (int i = 0; i < 3; i++) {
        rkv_backlog_append(bl, b, 20);
        ref_add(&r, b, 20);
    }
    ck_assert_uint_eq(rkv_backlog_histlen(bl), 110);
    check_tail_n(bl, &r, 110);
    /* shrink: keeps the newest 30 */
    ck_assert_int_eq(rkv_backlog_resize(bl, 30), 0);
    ck_assert_uint_eq(rkv_backlog_histlen(bl), 30);
    check_tail(bl, &r);
    for (int i = 0; i < 7; i++) {
        rkv_backlog_append(bl, b, 11);
        ref_add(&r, b, 11);
        check_tail(bl, &r);
    }
    /* same size: no change; 0: refused */
    ck_assert_int_eq(rkv_backlog_resize(bl, 30), 0);
    check_tail(bl, &r);
    ck_assert_int_eq(rkv_backlog_resize(bl, 0), REPLKV_EINVAL);
    check_tail(bl, &r);
    /* grow a ring that holds less than its size */
    rkv_backlog *b2;
    ck_assert_int_eq(rkv_backlog_new(100, &b2), 0);
    rkv_backlog_append(b2, "hello", 5);
    ck_assert_int_eq(rkv_backlog_resize(b2, 3), 0);
    uint8_t out[5];
    size_t n;
    ck_assert_int_eq(rkv_backlog_copy(b2, 2, out, 5, &n), 0);
    ck_assert_uint_eq(n, 3);
    ck_assert_mem_eq(out, "llo", 3);
    rkv_backlog_append(b2, "!", 1);
    ck_assert_int_eq(rkv_backlog_copy(b2, 3, out, 5, &n), 0);
    ck_assert_mem_eq(out, "lo!", 3);
    free(r.p);
    rkv_backlog_free(bl);
    rkv_backlog_free(b2);
}
END_TEST

static const char OTHER[] = "ffffffffffffffffffffffffffffffffffffffff";

START_TEST(test_psync_same_id)
{
    rkv_backlog *bl;
    ck_assert_int_eq(rkv_backlog_new(100, &bl), 0);
    const char *id = rkv_backlog_replid(bl);
    /* empty new history: only offset 0 */
    ck_assert(rkv_backlog_psync_ok(bl, id, 0));
    ck_assert(!rkv_backlog_psync_ok(bl, id, 1));
    char data[250] = {0};
    rkv_backlog_append(bl, data, 250);             /* covers [150, 250] */
    ck_assert(rkv_backlog_psync_ok(bl, id, 150));  /* oldest held */
    ck_assert(rkv_backlog_psync_ok(bl, id, 200));  /* in range */
    ck_assert(rkv_backlog_psync_ok(bl, id, 250));  /* up to date */
    ck_assert(!rkv_backlog_psync_ok(bl, id, 149)); /* too old */
    ck_assert(!rkv_backlog_psync_ok(bl, id, 0));   /* too old */
    ck_assert(!rkv_backlog_psync_ok(bl, id, 251)); /* in the future */
    ck_assert(!rkv_backlog_psync_ok(bl, id, -1));
    ck_assert(!rkv_backlog_psync_ok(bl, OTHER, 200)); /* unknown id */
    ck_assert(!rkv_backlog_psync_ok(
        bl, "0000000000000000000000000000000000000000", 200));
    ck_assert(!rkv_backlog_psync_ok(bl, NULL, 200));
    /* the id need not be NUL-terminated */
    char copy[41];
    memcpy(copy, id, 40);
    copy[40] = 'x';
    ck_assert(rkv_backlog_psync_ok(bl, copy, 200));
    rkv_backlog_free(bl);
}
END_TEST

START_TEST(test_psync_after_shift)
{
    rkv_backlog *bl;
    ck_assert_int_eq(rkv_backlog_new(1000, &bl), 0);
    char old[41];
    strcpy(old, rkv_backlog_replid(bl));
    char data[300] = {0};
    rkv_backlog_append(bl, data, 300);

    /* promotion at offset 300 */
    ck_assert_int_eq(rkv_backlog_shift_id(bl, NULL), 0);
    ck_assert_str_eq(rkv_backlog_replid2(bl), old);
    ck_assert_int_eq(rkv_backlog_second_offset(bl), 301);
    ck_assert(is_hex40(rkv_backlog_replid(bl)));
    ck_assert_str_ne(rkv_backlog_replid(bl), old);
    ck_assert_int_eq(rkv_backlog_offset(bl), 300);
    const char *id = rkv_backlog_replid(bl);

    rkv_backlog_append(bl, data, 100); /* new history up to 400 */
    /* replid2 within second_offset: a replica of the old primary that has
     * up to 300 bytes */
    ck_assert(rkv_backlog_psync_ok(bl, old, 300));
    ck_assert(rkv_backlog_psync_ok(bl, old, 250));
    ck_assert(rkv_backlog_psync_ok(bl, old, 0));
    /* replid2 beyond it: that replica has bytes of the old history the new
     * primary never had */
    ck_assert(!rkv_backlog_psync_ok(bl, old, 301));
    ck_assert(!rkv_backlog_psync_ok(bl, old, 400));
    /* the new id works over the whole range */
    ck_assert(rkv_backlog_psync_ok(bl, id, 300));
    ck_assert(rkv_backlog_psync_ok(bl, id, 400));
    ck_assert(!rkv_backlog_psync_ok(bl, id, 401));
    ck_assert(!rkv_backlog_psync_ok(bl, OTHER, 300));

    /* replid2 still needs the bytes to be in the backlog */
    rkv_backlog_append(bl, data, 300);
    rkv_backlog_append(bl, data, 300); /* offset 1000, first 0 */
    ck_assert(rkv_backlog_psync_ok(bl, old, 0));
    rkv_backlog_append(bl, data, 1); /* first 1 */
    ck_assert(!rkv_backlog_psync_ok(bl, old, 0));
    ck_assert(rkv_backlog_psync_ok(bl, old, 1));
    rkv_backlog_append(bl, data, 300); /* first 301: old history gone */
    ck_assert(!rkv_backlog_psync_ok(bl, old, 300));
    ck_assert(rkv_backlog_psync_ok(bl, id, 301));

    /* a second shift forgets the first id; a given id is adopted */
    char mid[41];
    strcpy(mid, id);
    int64_t at = rkv_backlog_offset(bl);
    ck_assert_int_eq(rkv_backlog_shift_id(bl, OTHER), 0);
    ck_assert_str_eq(rkv_backlog_replid(bl), OTHER);
    ck_assert_str_eq(rkv_backlog_replid2(bl), mid);
    ck_assert_int_eq(rkv_backlog_second_offset(bl), at + 1);
    ck_assert(!rkv_backlog_psync_ok(bl, old, at));
    ck_assert(rkv_backlog_psync_ok(bl, mid, at));
    ck_assert(rkv_backlog_psync_ok(bl, OTHER, at));
    /* bad ids are refused and change nothing */
    ck_assert_int_eq(rkv_backlog_shift_id(bl, "not-an-id"), REPLKV_EINVAL);
    ck_assert_int_eq(
        rkv_backlog_shift_id(bl, "ABCDEF0123456789ABCDEF0123456789ABCDEF01"),
        REPLKV_EINVAL);
    ck_assert_str_eq(rkv_backlog_replid(bl), OTHER);
    ck_assert_str_eq(rkv_backlog_replid2(bl), mid);
    rkv_backlog_free(bl);
}
END_TEST

START_TEST(test_reset_after_full_sync)
{
    rkv_backlog *bl;
    ck_assert_int_eq(rkv_backlog_new(100, &bl), 0);
    char data[50] = {1};
    rkv_backlog_append(bl, data, 50);
    ck_assert_int_eq(rkv_backlog_shift_id(bl, NULL), 0);
    char old[41];
    strcpy(old, rkv_backlog_replid(bl));

    /* the replica adopts the primary's history at offset 123456 */
    const char *primary = "0123456789abcdef0123456789abcdef01234567";
    ck_assert_int_eq(rkv_backlog_reset(bl, primary, 123456), 0);
    ck_assert_str_eq(rkv_backlog_replid(bl), primary);
    ck_assert_str_eq(rkv_backlog_replid2(bl),
                     "0000000000000000000000000000000000000000");
    ck_assert_int_eq(rkv_backlog_second_offset(bl), -1);
    ck_assert_int_eq(rkv_backlog_offset(bl), 123456);
    ck_assert_int_eq(rkv_backlog_first_offset(bl), 123456);
    ck_assert_uint_eq(rkv_backlog_histlen(bl), 0);
    ck_assert(rkv_backlog_psync_ok(bl, primary, 123456));
    ck_assert(!rkv_backlog_psync_ok(bl, primary, 123455));
    ck_assert(!rkv_backlog_psync_ok(bl, old, 50));

    /* the stream that follows lands at the adopted offsets */
    rkv_backlog_append(bl, "stream", 6);
    uint8_t out[6];
    size_t n;
    ck_assert_int_eq(rkv_backlog_copy(bl, 123456, out, 6, &n), 0);
    ck_assert_uint_eq(n, 6);
    ck_assert_mem_eq(out, "stream", 6);
    ck_assert(rkv_backlog_psync_ok(bl, primary, 123462));

    ck_assert_int_eq(rkv_backlog_reset(bl, "short", 0), REPLKV_EINVAL);
    ck_assert_int_eq(rkv_backlog_reset(bl, primary, -1), REPLKV_EINVAL);
    ck_assert_int_eq(rkv_backlog_offset(bl), 123462);
    rkv_backlog_free(bl);
}
END_TEST

/* Appends n bytes of a running pattern to bl and to r. */
static void feed(rkv_backlog *bl, ref *r, size_t n)
{
    uint8_t b[4096];
    while (n > 0) {
        size_t k = n < sizeof b ? n : sizeof b;
        for (size_t j = 0; j < k; j++)
            b[j] = (uint8_t)((r->len + j) * 7 + 3);
        rkv_backlog_append(bl, b, k);
        ref_add(r, b, k);
        n -= k;
    }
}

/* A replica behind by more than repl-backlog-size keeps its bytes, up to
 * the hold's limit, and the memory goes back once it lets go. */
START_TEST(test_hold)
{
    rkv_backlog *bl;
    ck_assert_int_eq(rkv_backlog_new(100, &bl), 0);
    ref r = {0};
    feed(bl, &r, 250);
    check_tail(bl, &r);
    rkv_backlog_hold(bl, 200, 500);
    for (int i = 0; i < 12; i++) {
        feed(bl, &r, 37);
        size_t behind = r.len - 200 < 500 ? r.len - 200 : 500;
        check_tail_n(bl, &r, behind > 100 ? behind : 100);
    }
    ck_assert_int_eq(rkv_backlog_first_offset(bl), 200);
    /* past the limit: only the newest 500 bytes stay */
    feed(bl, &r, 300);
    check_tail_n(bl, &r, 500);
    ck_assert_int_eq(rkv_backlog_first_offset(bl), (int64_t)r.len - 500);
    ck_assert(rkv_backlog_memory(bl) >= 500);
    /* a hold inside the last size bytes changes nothing */
    rkv_backlog_hold(bl, (int64_t)r.len - 10, 500);
    check_tail_n(bl, &r, 100);
    /* released: back to size, the chunks freed (one spare kept) */
    rkv_backlog_hold(bl, (int64_t)r.len - 400, 500);
    check_tail_n(bl, &r, 100); /* what fell off does not come back */
    feed(bl, &r, 50);
    check_tail_n(bl, &r, 150);
    rkv_backlog_hold(bl, INT64_MAX, 0);
    check_tail_n(bl, &r, 100);
    ck_assert_uint_le(rkv_backlog_memory(bl), 4 * 128 + 64 * sizeof(void *));
    /* a hold with no limit keeps everything from there */
    rkv_backlog_hold(bl, rkv_backlog_offset(bl), SIZE_MAX);
    feed(bl, &r, 5000);
    check_tail_n(bl, &r, 5000);
    rkv_backlog_free(bl);
    free(r.p);
}
END_TEST

/* Big chunks, appends of every length across their edges, a reset, and
 * a shrink that frees whole chunks. */
START_TEST(test_chunks)
{
    rkv_backlog *bl;
    ck_assert_int_eq(rkv_backlog_new(300000, &bl), 0);
    ref r = {0};
    size_t lens[] = {1, 65535, 65536, 65537, 3, 200000, 7, 131072, 1000000};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        feed(bl, &r, lens[i]);
        check_tail(bl, &r);
    }
    ck_assert_uint_le(rkv_backlog_memory(bl), 300000 + 3 * 65536 + 4096);
    ck_assert_int_eq(rkv_backlog_resize(bl, 70000), 0);
    check_tail(bl, &r);
    ck_assert_uint_le(rkv_backlog_memory(bl), 70000 + 3 * 65536 + 4096);
    static const char id[] = "0123456789abcdef0123456789abcdef01234567";
    ck_assert_int_eq(rkv_backlog_reset(bl, id, 5), 0);
    free(r.p);
    r = (ref){0};
    uint8_t pad[5] = {0};
    ref_add(&r, pad, 5); /* offsets start at 5 */
    feed(bl, &r, 100000);
    ck_assert_int_eq(rkv_backlog_offset(bl), 100005);
    check_tail_n(bl, &r, 70000);
    rkv_backlog_free(bl);
    free(r.p);
}
END_TEST

static Suite *backlog_suite(void)
{
    Suite *s = suite_create("backlog");
    TCase *tc = tcase_create("ring");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_new);
    tcase_add_test(tc, test_wraparound_many_times);
    tcase_add_test(tc, test_huge_append_keeps_tail);
    tcase_add_test(tc, test_resize);
    tcase_add_test(tc, test_hold);
    tcase_add_test(tc, test_chunks);
    suite_add_tcase(s, tc);
    tc = tcase_create("psync");
    tcase_add_test(tc, test_psync_same_id);
    tcase_add_test(tc, test_psync_after_shift);
    tcase_add_test(tc, test_reset_after_full_sync);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(backlog_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
