/*
 * check_stress.c - many threads on one node: writers on their own keys and
 * on shared counters, readers checking that every value they see is whole,
 * then a consistency check of the final state against what the writers did.
 */
#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "replkv.h"

enum { WRITERS = 4, READERS = 3, KEYS_PER_WRITER = 5000, ROUNDS = 6 };

typedef struct ctx {
    replkv_t *kv;
    int id;
    _Atomic int *stop;
    long bad_reads, reads;
} ctx;

/* A value is "<key>|<round>|" padded with the round's letter, so a reader
 * can tell a whole value from a torn one. */
static size_t make_value(char *buf, const char *key, int round)
{
    int n = sprintf(buf, "%s|%d|", key, round);
    size_t len = (size_t)n + 40 + (size_t)(round % 3) * 50;
    memset(buf + n, 'a' + round, len - (size_t)n);
    return len;
}

static bool value_ok(const char *key, const char *v, size_t len)
{
    int round;
    char expect[256];
    size_t klen = strlen(key);
    if (len <= klen + 1 || memcmp(v, key, klen) != 0 || v[klen] != '|')
        return false;
    round = atoi(v + klen + 1);
    if (round < 0 || round >= ROUNDS)
        return false;
    size_t want = make_value(expect, key, round);
    return want == len && memcmp(expect, v, len) == 0;
}

static void *writer(void *arg)
{
    ctx *c = arg;
    char key[32], val[256];
    for (int round = 0; round < ROUNDS; round++) {
        for (int i = 0; i < KEYS_PER_WRITER; i++) {
            int k = snprintf(key, sizeof key, "w%d:%d", c->id, i);
            size_t n = make_value(val, key, round);
            ck_assert_int_eq(replkv_set(c->kv, key, (size_t)k, val, n, 0, 0),
                             1);
            if (i % 10 == 0)
                ck_assert_int_eq(
                    replkv_incrby(c->kv, "counter", 7, 7, NULL), 0);
            if (round == ROUNDS - 1 && i % 2 == 1)
                ck_assert_int_eq(replkv_del(c->kv, key, (size_t)k), 1);
        }
    }
    return NULL;
}

static void *reader(void *arg)
{
    ctx *c = arg;
    char key[32], buf[256];
    unsigned seed = (unsigned)c->id * 7919u;
    while (!atomic_load(c->stop)) {
        seed = seed * 1103515245u + 12345u;
        int w = (int)(seed >> 8) % WRITERS;
        int i = (int)(seed >> 12) % KEYS_PER_WRITER;
        int k = snprintf(key, sizeof key, "w%d:%d", w, i);
        size_t n;
        int rc = replkv_get(c->kv, key, (size_t)k, buf, sizeof buf, &n);
        if (rc == 0) {
            c->reads++;
            if (!value_ok(key, buf, n))
                c->bad_reads++;
        } else if (rc != REPLKV_ENOTFOUND) {
            c->bad_reads++;
        }
    }
    return NULL;
}

START_TEST(writers_and_readers)
{
    replkv_t *kv;
    ck_assert_int_eq(replkv_open(NULL, &kv), 0);
    _Atomic int stop = 0;
    pthread_t wt[WRITERS], rt[READERS];
    ctx wc[WRITERS], rc[READERS];
    for (int i = 0; i < READERS; i++) {
        rc[i] = (ctx){kv, i + 1, &stop, 0, 0};
        pthread_create(&rt[i], NULL, reader, &rc[i]);
    }
    for (int i = 0; i < WRITERS; i++) {
        wc[i] = (ctx){kv, i, &stop, 0, 0};
        pthread_create(&wt[i], NULL, writer, &wc[i]);
    }
    for (int i = 0; i < WRITERS; i++)
        pthread_join(wt[i], NULL);
    atomic_store(&stop, 1);
    long reads = 0;
    for (int i = 0; i < READERS; i++) {
        pthread_join(rt[i], NULL);
        ck_assert_int_eq(rc[i].bad_reads, 0);
        reads += rc[i].reads;
    }
    ck_assert_int_gt(reads, 0);

    /* Final state: even keys hold the last round's value, odd keys are
     * gone, the counter saw every increment. */
    char key[32], buf[256], expect[256];
    for (int w = 0; w < WRITERS; w++) {
        for (int i = 0; i < KEYS_PER_WRITER; i++) {
            int k = snprintf(key, sizeof key, "w%d:%d", w, i);
            size_t n;
            int r = replkv_get(kv, key, (size_t)k, buf, sizeof buf, &n);
            if (i % 2 == 1) {
                ck_assert_int_eq(r, REPLKV_ENOTFOUND);
            } else {
                ck_assert_int_eq(r, 0);
                size_t want = make_value(expect, key, ROUNDS - 1);
                ck_assert_uint_eq(n, want);
                ck_assert_mem_eq(buf, expect, n);
            }
        }
    }
    size_t n;
    ck_assert_int_eq(replkv_get(kv, "counter", 7, buf, sizeof buf, &n), 0);
    buf[n] = 0;
    long expect_counter = 7L * WRITERS * ROUNDS * (KEYS_PER_WRITER / 10);
    ck_assert_int_eq(atol(buf), expect_counter);
    uint64_t count;
    replkv_count(kv, &count);
    ck_assert_uint_eq(count, WRITERS * KEYS_PER_WRITER / 2 + 1);
    replkv_close(kv);
}
END_TEST

static void *open_close(void *arg)
{
    (void)arg;
    for (int i = 0; i < 20; i++) {
        replkv_t *kv;
        ck_assert_int_eq(replkv_open(NULL, &kv), 0);
        ck_assert_int_eq(replkv_set(kv, "k", 1, "v", 1, 0, 0), 1);
        replkv_close(kv);
    }
    return NULL;
}

START_TEST(nodes_opened_and_closed_on_many_threads)
{
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, open_close, NULL);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
}
END_TEST

static Suite *stress_suite(void)
{
    Suite *s = suite_create("stress");
    TCase *tc = tcase_create("threads");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, writers_and_readers);
    tcase_add_test(tc, nodes_opened_and_closed_on_many_threads);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(stress_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
