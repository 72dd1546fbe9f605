/*
 * check_repl.c - replication end to end inside one process: a primary and
 * replicas on 127.0.0.1 with ports the test finds free, driven through the
 * public API only (plus a raw socket for hostile input). Every wait is a
 * bounded loop.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <check.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <xxhash.h>

#include "replkv.h"
#include "testlog.h"
#include "testnet.h"

#define S(str) (str), strlen(str)

/* Opens a node with name/value pairs; port > 0 adds "port". */
static replkv_t *node(int port, const char *const *kvs)
{
    replkv_opts *o = replkv_opts_new();
    char p[16];
    if (port > 0) {
        snprintf(p, sizeof p, "%d", port);
        ck_assert_int_eq(replkv_opts_set(o, "port", p), 0);
    }
    ck_assert_int_eq(replkv_opts_set(o, "loglevel", "verbose"), 0);
    for (; kvs && kvs[0]; kvs += 2)
        ck_assert_int_eq(replkv_opts_set(o, kvs[0], kvs[1]), 0);
    replkv_opts_set_log(o, test_log_capture, NULL);
    replkv_t *kv = NULL;
    int rc = replkv_open(o, &kv);
    ck_assert_msg(rc == 0, "open: %s", replkv_last_error());
    replkv_opts_free(o);
    return kv;
}

static replkv_t *replica_of(int pport, int port, const char *const *extra)
{
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1 %d", pport);
    const char *kvs[16] = {"replicaof", addr};
    int n = 2;
    for (; extra && extra[0] && n < 14; extra += 2) {
        kvs[n++] = extra[0];
        kvs[n++] = extra[1];
    }
    kvs[n] = NULL;
    return node(port, kvs);
}

static replkv_repl_info info_of(replkv_t *kv)
{
    replkv_repl_info in;
    in.size = sizeof in;
    ck_assert_int_eq(replkv_repl_info_get(kv, &in), 0);
    return in;
}

/* Waits (bounded) until the replica applied everything the primary has. */
static bool caught_up(replkv_t *p, replkv_t *r, long ms)
{
    for (long t = 0; t < ms; t += 10) {
        replkv_repl_info a = info_of(p), b = info_of(r);
        if (b.link_up && a.offset == b.offset &&
            strcmp(a.replid, b.replid) == 0)
            return true;
        test_sleep_ms(10);
    }
    return false;
}

static bool same_digest(replkv_t *a, replkv_t *b)
{
    unsigned char da[16], db[16];
    replkv_digest(a, da);
    replkv_digest(b, db);
    return memcmp(da, db, 16) == 0;
}

static uint64_t count_of(replkv_t *kv)
{
    uint64_t n;
    replkv_count(kv, &n);
    return n;
}

/* ------------------------------------------------------------ tests */

START_TEST(stream_100k)
{
    int pp = test_free_port();
    replkv_t *p = node(pp, NULL);
    replkv_t *r = replica_of(pp, 0, NULL);
    ck_assert_int_eq(replkv_role(p), REPLKV_ROLE_PRIMARY);
    ck_assert_int_eq(replkv_role(r), REPLKV_ROLE_REPLICA);
    char k[32], v[64];
    for (int i = 0; i < 100000; i++) {
        snprintf(k, sizeof k, "key:%d", i);
        snprintf(v, sizeof v, "value-%d-%d", i, i * 7);
        ck_assert_int_eq(replkv_set(p, S(k), S(v), 0, 0), 1);
    }
    /* Every kind of mutation. */
    ck_assert_int_eq(replkv_del(p, S("key:1")), 1);
    ck_assert_int_eq(replkv_expire(p, S("key:2"), 600000, 0), 1);
    ck_assert_int_eq(replkv_set(p, S("ttl"), S("x"), 600000, 0), 1);
    ck_assert_int_eq(replkv_persist(p, S("ttl")), 1);
    ck_assert_int_eq(replkv_incrby(p, S("ctr"), 41, NULL), 0);
    ck_assert_int_eq(replkv_incrby(p, S("ctr"), 1, NULL), 0);
    ck_assert_int_eq(replkv_append(p, S("app"), S("ab"), NULL), 0);
    ck_assert_int_eq(replkv_append(p, S("app"), S("cd"), NULL), 0);
    void *old;
    size_t olen;
    ck_assert_int_eq(replkv_getdel(p, S("key:3"), &old, &olen), 0);
    replkv_free(old);
    ck_assert_int_eq(replkv_getex(p, S("key:4"), &old, &olen, 900000, 0), 0);
    replkv_free(old);
    ck_assert_int_eq(replkv_expire(p, S("key:5"), -1, 0), 1);
    int64_t off;
    ck_assert_int_eq(replkv_last_offset(p, &off), 0);
    ck_assert_int_gt(off, 100000 * 20);
    ck_assert_int_eq(replkv_wait_applied(r, off, 20000), 0);
    ck_assert(caught_up(p, r, 20000));
    ck_assert(same_digest(p, r));
    ck_assert_uint_eq(count_of(r), count_of(p));
    char buf[64];
    size_t n;
    ck_assert_int_eq(replkv_get(r, S("ctr"), buf, sizeof buf, &n), 0);
    ck_assert_int_eq(n, 2);
    ck_assert(memcmp(buf, "42", 2) == 0);
    ck_assert_int_eq(replkv_get(r, S("app"), buf, sizeof buf, &n), 0);
    ck_assert(n == 4 && memcmp(buf, "abcd", 4) == 0);
    int64_t ttl;
    ck_assert_int_eq(replkv_ttl(r, S("key:2"), &ttl), 0);
    ck_assert_int_gt(ttl, 500000);
    ck_assert_int_eq(replkv_ttl(r, S("ttl"), &ttl), 0);
    ck_assert_int_eq(ttl, -1);
    ck_assert_int_eq(replkv_exists(r, S("key:5")), 0);

    /* flush travels too. */
    ck_assert_int_eq(replkv_flush(p), 0);
    ck_assert_int_eq(replkv_set(p, S("after"), S("flush"), 0, 0), 1);
    ck_assert(caught_up(p, r, 10000));
    ck_assert_uint_eq(count_of(r), 1);
    ck_assert(same_digest(p, r));

    /* INFO replication, as Redis names it. */
    char *text;
    ck_assert_int_eq(replkv_info(p, "replication", &text), 0);
    ck_assert_ptr_nonnull(strstr(text, "role:master\r\n"));
    ck_assert_ptr_nonnull(strstr(text, "connected_slaves:1\r\n"));
    ck_assert_ptr_nonnull(strstr(text, "slave0:ip=127.0.0.1,port=0,state=online"));
    ck_assert_ptr_nonnull(strstr(text, "master_repl_offset:"));
    replkv_free(text);
    ck_assert_int_eq(replkv_info(r, "replication", &text), 0);
    ck_assert_ptr_nonnull(strstr(text, "role:slave\r\n"));
    ck_assert_ptr_nonnull(strstr(text, "master_link_status:up\r\n"));
    ck_assert_ptr_nonnull(strstr(text, "slave_read_only:1\r\n"));
    replkv_free(text);
    replkv_close(r);
    replkv_close(p);
}
END_TEST

START_TEST(replica_is_read_only)
{
    int pp = test_free_port();
    replkv_t *p = node(pp, NULL);
    replkv_t *r = replica_of(pp, 0, NULL);
    ck_assert_int_eq(replkv_set(r, S("k"), S("v"), 0, 0), REPLKV_EREADONLY);
    char want[64];
    snprintf(want, sizeof want, "127.0.0.1:%d", pp);
    ck_assert_ptr_nonnull(strstr(replkv_last_error(), want));
    ck_assert_int_eq(replkv_del(r, S("k")), REPLKV_EREADONLY);
    ck_assert_int_eq(replkv_incrby(r, S("k"), 1, NULL), REPLKV_EREADONLY);
    ck_assert_int_eq(replkv_flush(r), REPLKV_EREADONLY);
    char host[64];
    int port;
    ck_assert_int_eq(replkv_primary_addr(r, host, sizeof host, &port), 0);
    ck_assert_str_eq(host, "127.0.0.1");
    ck_assert_int_eq(port, pp);
    ck_assert_int_eq(replkv_primary_addr(p, host, sizeof host, &port),
                     REPLKV_ESTATE);
    /* A writable replica changes only its own copy. */
    ck_assert_int_eq(replkv_config_set(r, "replica-read-only", "no"), 0);
    ck_assert_int_eq(replkv_set(r, S("local"), S("v"), 0, 0), 1);
    ck_assert_int_eq(replkv_exists(p, S("local")), 0);
    replkv_close(r);
    replkv_close(p);
}
END_TEST

START_TEST(wrong_secret_refused)
{
    test_log_reset();
    int pp = test_free_port();
    const char *ps[] = {"requirepass", "right", NULL};
    replkv_t *p = node(pp, ps);
    ck_assert_int_eq(replkv_set(p, S("k"), S("v"), 0, 0), 1);
    const char *rs[] = {"masterauth", "wrong", NULL};
    replkv_t *r = replica_of(pp, 0, rs);
    for (int i = 0; i < 200 && !test_log_has("authentication failed"); i++)
        test_sleep_ms(10);
    ck_assert(test_log_has("authentication failed"));
    test_sleep_ms(200);
    ck_assert_uint_eq(count_of(r), 0);
    ck_assert(!info_of(r).link_up);
    /* The right secret, set at runtime, lets it in on the next attempt. */
    ck_assert_int_eq(replkv_config_set(r, "masterauth", "right"), 0);
    ck_assert(caught_up(p, r, 15000));
    ck_assert_uint_eq(count_of(r), 1);
    replkv_close(r);
    replkv_close(p);
}
END_TEST

START_TEST(wait_semantics)
{
    int pp = test_free_port();
    replkv_t *p = node(pp, NULL);
    /* No replicas: nothing acks. */
    ck_assert_int_eq(replkv_set(p, S("a"), S("1"), 0, 0), 1);
    ck_assert_int_eq(replkv_wait(p, 1, 100), 0);
    replkv_t *r = replica_of(pp, 0, NULL);
    ck_assert(caught_up(p, r, 10000));
    ck_assert_int_eq(replkv_set(p, S("b"), S("2"), 0, 0), 1);
    ck_assert_int_eq(replkv_wait(p, 1, 10000), 1);
    /* Asking for more than exist waits out the timeout and says 1. */
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    ck_assert_int_eq(replkv_wait(p, 2, 300), 1);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    ck_assert_int_ge(ms, 250);
    int64_t off;
    replkv_last_offset(p, &off);
    ck_assert_int_eq(replkv_wait_offset(p, off, 1, 10000), 1);
    ck_assert_int_eq(replkv_wait(r, 1, 10), REPLKV_ESTATE);
    replkv_close(r);
    replkv_close(p);
}
END_TEST

START_TEST(min_replicas)
{
    int pp = test_free_port();
    const char *o[] = {"min-replicas-to-write", "1", NULL};
    replkv_t *p = node(pp, o);
    ck_assert_int_eq(replkv_set(p, S("k"), S("v"), 0, 0), REPLKV_ENOREPLICAS);
    ck_assert_int_eq(replkv_exists(p, S("k")), 0);
    replkv_t *r = replica_of(pp, 0, NULL);
    int rc = REPLKV_ENOREPLICAS;
    for (int i = 0; i < 1000 && rc == REPLKV_ENOREPLICAS; i++) {
        rc = replkv_set(p, S("k"), S("v"), 0, 0);
        if (rc == REPLKV_ENOREPLICAS)
            test_sleep_ms(10);
    }
    ck_assert_int_eq(rc, 1);
    /* The replica goes away: after min-replicas-max-lag writes stop. */
    ck_assert_int_eq(replkv_config_set(p, "min-replicas-max-lag", "1"), 0);
    replkv_close(r);
    for (int i = 0; i < 500 && rc != REPLKV_ENOREPLICAS; i++) {
        rc = replkv_set(p, S("k"), S("v"), 0, 0);
        test_sleep_ms(10);
    }
    ck_assert_int_eq(rc, REPLKV_ENOREPLICAS);
    replkv_close(p);
}
END_TEST

START_TEST(read_your_writes)
{
    int pp = test_free_port();
    replkv_t *p = node(pp, NULL);
    replkv_t *r = replica_of(pp, 0, NULL);
    ck_assert(caught_up(p, r, 10000));
    for (int i = 0; i < 100; i++) {
        char k[16];
        snprintf(k, sizeof k, "k%d", i);
        ck_assert_int_eq(replkv_set(p, S(k), S("v"), 0, 0), 1);
        int64_t off;
        replkv_last_offset(p, &off);
        ck_assert_int_eq(replkv_wait_applied(r, off, 5000), 0);
        ck_assert_int_eq(replkv_exists(r, S(k)), 1);
    }
    int64_t off;
    replkv_last_offset(p, &off);
    ck_assert_int_eq(replkv_wait_applied(r, off + 1000000, 50),
                     REPLKV_ETIMEDOUT);
    replkv_close(r);
    replkv_close(p);
}
END_TEST

/* A replica acknowledges a stream of small writes at most once per
 * millisecond (RKV_ACK_DELAY_MS), not once per read batch, and the last
 * ACK still comes promptly on its own (the deferred-ACK timer): WAIT does
 * not wait for the once-a-period ACK. */
START_TEST(acks_coalesced)
{
    int pp = test_free_port();
    replkv_t *p = node(pp, NULL);
    replkv_t *r = replica_of(pp, 0, NULL);
    ck_assert(caught_up(p, r, 10000));
    ck_assert_int_eq(replkv_set(p, S("first"), S("v"), 0, 0), 1);
    ck_assert_int_eq(replkv_wait(p, 1, 10000), 1);
    test_sleep_ms(20); /* any ACK of "first" still on its way lands */
    uint64_t b0 = info_of(p).bytes_received;
    struct timespec t0, t1, t2;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    enum { N = 2000 };
    for (int i = 0; i < N; i++) {
        char k[16];
        snprintf(k, sizeof k, "k%d", i);
        ck_assert_int_eq(replkv_set(p, S(k), S("v"), 0, 0), 1);
        struct timespec gap = {0, 20000}; /* one batch per write, mostly */
        nanosleep(&gap, NULL);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    ck_assert_int_eq(replkv_wait(p, 1, 10000), 1);
    clock_gettime(CLOCK_MONOTONIC, &t2);
    long wait_ms = (t2.tv_sec - t1.tv_sec) * 1000 +
                   (t2.tv_nsec - t1.tv_nsec) / 1000000;
    ck_assert_msg(wait_ms < 1000, "WAIT took %ld ms", wait_ms);
    test_sleep_ms(20);
    long ms = (t2.tv_sec - t0.tv_sec) * 1000 +
              (t2.tv_nsec - t0.tv_nsec) / 1000000 + 20;
    /* An ACK frame is at most 12 + 11 bytes; one per ms, plus one at
     * each end and a periodic one. */
    uint64_t got = info_of(p).bytes_received - b0;
    ck_assert_msg(got <= (uint64_t)(ms + 3) * 23,
                  "%llu bytes of ACKs for %d writes in %ld ms",
                  (unsigned long long)got, N, ms);
    ck_assert(caught_up(p, r, 10000));
    ck_assert(same_digest(p, r));
    replkv_close(r);
    replkv_close(p);
}
END_TEST

/* Every write reaches the replica at once, not on the next replication
 * tick (100 ms): 200 writes, each waited for with WAIT, take a fraction of
 * what 200 ticks' worth of waiting would (about 10 s). A link whose
 * socket takes the bytes at once has no write callback to pump it again,
 * so the pump must re-arm the writers' wake itself. */
START_TEST(stream_is_prompt)
{
    int pp = test_free_port();
    replkv_t *p = node(pp, NULL);
    replkv_t *r = replica_of(pp, 0, NULL);
    ck_assert(caught_up(p, r, 10000));
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < 200; i++) {
        char k[16];
        snprintf(k, sizeof k, "p%d", i);
        ck_assert_int_eq(replkv_set(p, S(k), S("v"), 0, 0), 1);
        ck_assert_int_eq(replkv_wait(p, 1, 10000), 1);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long ms = (t1.tv_sec - t0.tv_sec) * 1000 +
              (t1.tv_nsec - t0.tv_nsec) / 1000000;
    ck_assert_msg(ms < 5000, "200 writes and WAITs took %ld ms", ms);
    replkv_close(r);
    replkv_close(p);
}
END_TEST

/* replkv_batch_begin/end: writes inside a batch reach the replica at its
 * end (or at a WAIT inside it, which sends what is held first, at once);
 * nesting; the errors. */
START_TEST(batch_sends_at_end)
{
    int pp = test_free_port();
    replkv_t *p = node(pp, NULL);
    replkv_t *r = replica_of(pp, 0, NULL);
    replkv_t *other = node(0, NULL);
    ck_assert(caught_up(p, r, 10000));
    ck_assert_int_eq(replkv_batch_end(p), REPLKV_ESTATE);
    ck_assert_int_eq(replkv_batch_begin(NULL), REPLKV_EINVAL);
    ck_assert_int_eq(replkv_batch_begin(p), 0);
    ck_assert_int_eq(replkv_batch_begin(p), 0); /* nested */
    ck_assert_int_eq(replkv_batch_begin(other), REPLKV_EBUSY);
    ck_assert_int_eq(replkv_batch_end(other), REPLKV_ESTATE);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int round = 0; round < 50; round++) {
        for (int i = 0; i < 20; i++) {
            char k[16];
            snprintf(k, sizeof k, "b%d", round * 20 + i);
            ck_assert_int_eq(replkv_set(p, S(k), S("v"), 0, 0), 1);
        }
        ck_assert_int_eq(replkv_wait(p, 1, 10000), 1);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long ms = (t1.tv_sec - t0.tv_sec) * 1000 +
              (t1.tv_nsec - t0.tv_nsec) / 1000000;
    ck_assert_msg(ms < 3000, "50 WAITs inside a batch took %ld ms", ms);
    ck_assert_int_eq(replkv_batch_end(p), 0);
    ck_assert_int_eq(replkv_set(p, S("last"), S("v"), 0, 0), 1);
    ck_assert_int_eq(replkv_batch_end(p), 0);
    int64_t off;
    ck_assert_int_eq(replkv_last_offset(p, &off), 0);
    ck_assert_int_eq(replkv_wait_applied(r, off, 2000), 0);
    ck_assert_int_eq(replkv_exists(r, S("last")), 1);
    ck_assert_int_eq(replkv_batch_end(p), REPLKV_ESTATE);
    ck_assert_int_eq(replkv_batch_begin(other), 0); /* none open now */
    ck_assert_int_eq(replkv_batch_end(other), 0);
    ck_assert(same_digest(p, r));
    replkv_close(other);
    replkv_close(r);
    replkv_close(p);
}
END_TEST

static int role_events, busy_in_cb;
static void on_role(replkv_t *kv, const replkv_role_event *ev, void *ud)
{
    (void)ud;
    if (ev->size == sizeof *ev && ev->old_role == REPLKV_ROLE_REPLICA &&
        ev->new_role == REPLKV_ROLE_PRIMARY && ev->primary_port == 0)
        __atomic_add_fetch(&role_events, 1, __ATOMIC_SEQ_CST);
    /* Blocking calls on the same node refuse instead of deadlocking. */
    if (replkv_wait(kv, 1, 1000) == REPLKV_EBUSY &&
        replkv_replicaof_none(kv) == REPLKV_EBUSY &&
        replkv_wait_applied(kv, 1, 1000) == REPLKV_EBUSY)
        __atomic_add_fetch(&busy_in_cb, 1, __ATOMIC_SEQ_CST);
}

START_TEST(promotion_partial_resync)
{
    int pp = test_free_port(), p1 = test_free_port(), p2 = test_free_port();
    replkv_t *p = node(pp, NULL);
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1 %d", pp);
    replkv_opts *o = replkv_opts_new();
    char port[16];
    snprintf(port, sizeof port, "%d", p1);
    replkv_opts_set(o, "port", port);
    replkv_opts_set(o, "replicaof", addr);
    replkv_opts_set_role_cb(o, on_role, NULL);
    replkv_opts_set_log(o, test_log_capture, NULL);
    replkv_t *r1;
    ck_assert_int_eq(replkv_open(o, &r1), 0);
    replkv_opts_free(o);
    replkv_t *r2 = replica_of(pp, p2, NULL);
    for (int i = 0; i < 1000; i++) {
        char k[16];
        snprintf(k, sizeof k, "k%d", i);
        replkv_set(p, S(k), S("v"), 0, 0);
    }
    ck_assert(caught_up(p, r1, 10000));
    ck_assert(caught_up(p, r2, 10000));
    replkv_close(p);

    /* Fail over by hand: r1 becomes the primary, r2 follows it. */
    replkv_repl_info before = info_of(r1);
    ck_assert_int_eq(replkv_replicaof_none(r1), 0);
    ck_assert_int_eq(replkv_role(r1), REPLKV_ROLE_PRIMARY);
    ck_assert_int_eq(__atomic_load_n(&role_events, __ATOMIC_SEQ_CST), 1);
    ck_assert_int_eq(__atomic_load_n(&busy_in_cb, __ATOMIC_SEQ_CST), 1);
    replkv_repl_info after = info_of(r1);
    ck_assert_str_eq(after.replid2, before.replid);
    ck_assert_int_eq(after.second_offset, before.offset + 1);
    ck_assert_int_eq(replkv_replicaof(r2, "127.0.0.1", p1), 0);
    ck_assert_int_eq(replkv_set(r1, S("new"), S("primary"), 0, 0), 1);
    ck_assert(caught_up(r1, r2, 10000));
    ck_assert(same_digest(r1, r2));
    replkv_repl_info in = info_of(r1);
    ck_assert_uint_eq(in.sync_partial_ok, 1);
    ck_assert_uint_eq(in.sync_full, 0);
    ck_assert_uint_eq(in.connected_replicas, 1);
    replkv_close(r2);
    replkv_close(r1);
}
END_TEST

START_TEST(full_resync_when_backlog_too_small)
{
    int pp = test_free_port();
    const char *o[] = {"repl-backlog-size", "16kb", NULL};
    replkv_t *p = node(pp, o);
    replkv_t *r = replica_of(pp, 0, NULL);
    ck_assert_int_eq(replkv_set(p, S("a"), S("1"), 0, 0), 1);
    ck_assert(caught_up(p, r, 10000));
    ck_assert_uint_eq(info_of(p).sync_full, 1);
    /* Point the replica away, write more than the backlog holds, point it
     * back: its offset is gone from the backlog. */
    ck_assert_int_eq(replkv_replicaof(r, "127.0.0.1", test_free_port()), 0);
    for (int i = 0; i < 5000 && info_of(p).connected_replicas > 0; i++)
        test_sleep_ms(2);
    for (int i = 0; i < 2000; i++) {
        char k[16];
        snprintf(k, sizeof k, "k%d", i);
        replkv_set(p, S(k), S("some value of a few bytes"), 0, 0);
    }
    ck_assert_int_eq(replkv_replicaof(r, "127.0.0.1", pp), 0);
    ck_assert(caught_up(p, r, 15000));
    ck_assert(same_digest(p, r));
    replkv_repl_info in = info_of(p);
    ck_assert_uint_eq(in.sync_full, 2);
    ck_assert_uint_eq(in.sync_partial_err, 1);
    ck_assert_uint_eq(count_of(r), 2001);
    replkv_close(r);
    replkv_close(p);
}
END_TEST

START_TEST(partial_resync_after_link_drop)
{
    int pp = test_free_port();
    replkv_t *p = node(pp, NULL);
    replkv_t *r = replica_of(pp, 0, NULL);
    ck_assert_int_eq(replkv_set(p, S("a"), S("1"), 0, 0), 1);
    ck_assert(caught_up(p, r, 10000));
    ck_assert_int_eq(replkv_replicaof(r, "127.0.0.1", test_free_port()), 0);
    for (int i = 0; i < 5000 && info_of(p).connected_replicas > 0; i++)
        test_sleep_ms(2);
    for (int i = 0; i < 500; i++) {
        char k[16];
        snprintf(k, sizeof k, "k%d", i);
        replkv_set(p, S(k), S("v"), 0, 0);
    }
    ck_assert_int_eq(replkv_replicaof(r, "127.0.0.1", pp), 0);
    ck_assert(caught_up(p, r, 10000));
    ck_assert(same_digest(p, r));
    replkv_repl_info in = info_of(p);
    ck_assert_uint_eq(in.sync_full, 1);
    ck_assert_uint_eq(in.sync_partial_ok, 1);
    ck_assert_uint_eq(in.sync_partial_err, 0);
    replkv_close(r);
    replkv_close(p);
}
END_TEST

START_TEST(chained_replica)
{
    int pp = test_free_port(), p1 = test_free_port();
    replkv_t *p = node(pp, NULL);
    replkv_t *r1 = replica_of(pp, p1, NULL);
    replkv_t *r2 = replica_of(p1, 0, NULL);
    for (int i = 0; i < 3000; i++) {
        char k[16];
        snprintf(k, sizeof k, "k%d", i);
        replkv_set(p, S(k), S("v"), 0, 0);
    }
    ck_assert(caught_up(p, r1, 10000));
    ck_assert(caught_up(r1, r2, 10000));
    ck_assert(same_digest(p, r2));
    replkv_close(r2);
    replkv_close(r1);
    replkv_close(p);
}
END_TEST

/* A replica hides keys whose time passed but deletes them only when the
 * primary's DEL arrives. */
START_TEST(replica_expiry_follows_primary)
{
    int pp = test_free_port();
    replkv_t *p = node(pp, NULL);
    replkv_t *r = replica_of(pp, 0, NULL);
    ck_assert_int_eq(replkv_set(p, S("t"), S("v"), 300, 0), 1);
    ck_assert(caught_up(p, r, 10000));
    ck_assert_int_eq(replkv_exists(r, S("t")), 1);
    ck_assert_int_eq(replkv_replicaof(r, "127.0.0.1", test_free_port()), 0);
    test_sleep_ms(400);
    char *text;
    ck_assert_int_eq(replkv_info(r, "replication", &text), 0);
    ck_assert_ptr_nonnull(strstr(text, "master_link_status:down\r\n"));
    replkv_free(text);
    ck_assert_int_eq(replkv_exists(r, S("t")), 0); /* hidden */
    ck_assert_uint_eq(count_of(r), 1);            /* but still there */
    /* The primary expires it (active cycle or this read) and sends DEL. */
    ck_assert_int_eq(replkv_exists(p, S("t")), 0);
    ck_assert_int_eq(replkv_replicaof(r, "127.0.0.1", pp), 0);
    ck_assert(caught_up(p, r, 10000));
    ck_assert_uint_eq(count_of(r), 0);
    ck_assert_uint_eq(info_of(p).sync_partial_ok, 1);
    replkv_close(r);
    replkv_close(p);
}
END_TEST

/* Sends bytes on a raw connection and reports whether the node closed it
 * within a bounded time. */
static bool node_closes(int port, const void *bytes, size_t n)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ck_assert_int_eq(send(fd, bytes, n, MSG_NOSIGNAL), (ssize_t)n);
    char buf[4096];
    bool closed = false;
    for (int i = 0; i < 20; i++) {
        ssize_t got = recv(fd, buf, sizeof buf, 0);
        if (got == 0 || (got < 0 && errno == ECONNRESET)) {
            closed = true;
            break;
        }
        if (got < 0)
            break;
    }
    close(fd);
    return closed;
}

/* Appends a msgpack str8 / bin8 to p. */
static size_t put_str8(uint8_t *p, const char *str, size_t n)
{
    p[0] = 0xd9;
    p[1] = (uint8_t)n;
    memcpy(p + 2, str, n);
    return n + 2;
}

static size_t put_bin8(uint8_t *p, const void *b, size_t n)
{
    p[0] = 0xc4;
    p[1] = (uint8_t)n;
    memcpy(p + 2, b, n);
    return n + 2;
}

static size_t frame(uint8_t *out, const void *payload, uint32_t len,
                    bool good_sum)
{
    uint64_t sum = good_sum ? XXH3_64bits(payload, len) : 12345;
    for (int i = 0; i < 4; i++)
        out[i] = (uint8_t)(len >> (24 - 8 * i));
    for (int i = 0; i < 8; i++)
        out[4 + i] = (uint8_t)(sum >> (56 - 8 * i));
    memcpy(out + 12, payload, len);
    return 12 + (size_t)len;
}

START_TEST(hostile_input)
{
    test_log_reset();
    int pp = test_free_port();
    replkv_t *p = node(pp, NULL);
    ck_assert_int_eq(replkv_set(p, S("k"), S("v"), 0, 0), 1);
    unsigned char d0[16], d1[16];
    replkv_digest(p, d0);
    uint8_t buf[256];

    const char *http = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    ck_assert(node_closes(pp, http, strlen(http)));

    const uint8_t small[] = {0x93, 0x01, 0x02, 0x03};
    ck_assert(node_closes(pp, buf, frame(buf, small, sizeof small, false)));

    /* An array header that claims 2^32-1 elements, with a good checksum. */
    const uint8_t huge_count[] = {0xdd, 0xff, 0xff, 0xff, 0xff, 0x01};
    ck_assert(node_closes(pp, buf,
                          frame(buf, huge_count, sizeof huge_count, true)));

    /* A length of 4 GiB - 1. */
    const uint8_t huge_len[12] = {0xff, 0xff, 0xff, 0xff};
    ck_assert(node_closes(pp, huge_len, sizeof huge_len));

    /* A HELLO from a later protocol version: ERROR, then closed. */
    uint8_t hello[128];
    size_t hn = 0;
    hello[hn++] = 0x96;
    hello[hn++] = 64;
    hello[hn++] = 2;
    hn += put_str8(hello + hn, "0123456789abcdef0123456789abcdef01234567", 40);
    uint8_t nonce[32] = {1};
    hn += put_bin8(hello + hn, nonce, 32);
    hello[hn++] = 0;
    hello[hn++] = 0;
    ck_assert(node_closes(pp, buf, frame(buf, hello, (uint32_t)hn, true)));
    ck_assert(test_log_has("unsupported protocol version"));

    /* A well-formed SET record before any handshake. */
    const uint8_t set[] = {0x94, 0x01, 0xc4, 0x01, 'k', 0xc4, 0x01, 'X', 0x00};
    ck_assert(node_closes(pp, buf, frame(buf, set, sizeof set, true)));

    ck_assert(test_log_has("checksum"));
    ck_assert(test_log_has("before authentication"));
    /* The node lives on, unchanged, and still serves replicas. */
    replkv_digest(p, d1);
    ck_assert(memcmp(d0, d1, 16) == 0);
    ck_assert_int_eq(replkv_set(p, S("k2"), S("v2"), 0, 0), 1);
    replkv_t *r = replica_of(pp, 0, NULL);
    ck_assert(caught_up(p, r, 10000));
    ck_assert(same_digest(p, r));
    replkv_close(r);
    replkv_close(p);
}
END_TEST

static void send_frame(int fd, const uint8_t *payload, size_t len, bool good)
{
    uint8_t buf[512];
    size_t n = frame(buf, payload, (uint32_t)len, good);
    ck_assert_int_eq(send(fd, buf, n, MSG_NOSIGNAL), (ssize_t)n);
}

static size_t set_payload(uint8_t *p, const char *k, const char *v)
{
    size_t n = 0;
    p[n++] = 0x94;
    p[n++] = 0x01;
    n += put_bin8(p + n, k, strlen(k));
    n += put_bin8(p + n, v, strlen(v));
    p[n++] = 0x00;
    return n;
}

/* A fake primary (auth off, so the proof is 32 zero bytes) that loads two
 * keys into a replica and then sends a corrupt frame: the replica closes
 * the link with a logged reason and keeps exactly what was valid. */
START_TEST(hostile_primary)
{
    test_log_reset();
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(lfd, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t alen = sizeof a;
    getsockname(lfd, (struct sockaddr *)&a, &alen);
    ck_assert_int_eq(listen(lfd, 4), 0);
    replkv_t *r = replica_of(ntohs(a.sin_port), 0, NULL);
    struct timeval tv = {10, 0};
    setsockopt(lfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    int fd = accept(lfd, NULL, NULL);
    ck_assert_int_ge(fd, 0);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);

    const char *id = "0123456789abcdef0123456789abcdef01234567";
    uint8_t nonce[32] = {7}, zero[32] = {0}, p[256];
    size_t n = 0;
    p[n++] = 0x96;
    p[n++] = 64;
    p[n++] = 1;
    n += put_str8(p + n, id, 40);
    n += put_bin8(p + n, nonce, 32);
    p[n++] = 0;
    p[n++] = 0;
    send_frame(fd, p, n, true);
    n = 0;
    p[n++] = 0x92;
    p[n++] = 65;
    n += put_bin8(p + n, zero, 32);
    send_frame(fd, p, n, true);
    /* Its HELLO, AUTH and PSYNC: read until PSYNC has come (bounded). */
    uint8_t in[4096];
    size_t got = 0;
    for (int i = 0; i < 50 && got < 3 * 12 + 60 + 36 + 40; i++) {
        ssize_t k = recv(fd, in + got, sizeof in - got, 0);
        if (k <= 0)
            break;
        got += (size_t)k;
    }
    ck_assert_uint_gt(got, 0);
    n = 0;
    p[n++] = 0x93;
    p[n++] = 67;
    n += put_str8(p + n, id, 40);
    p[n++] = 0;
    send_frame(fd, p, n, true); /* FULLRESYNC(id, 0) */
    n = set_payload(p, "snap", "1");
    send_frame(fd, p, n, true);
    p[0] = 0x93;
    p[1] = 69;
    p[2] = 1;
    p[3] = 0;
    send_frame(fd, p, 4, true); /* SNAP_END(1, 0): swap now */
    n = set_payload(p, "stream", "2");
    send_frame(fd, p, n, true);
    for (int i = 0; i < 500 && replkv_exists(r, S("stream")) == 0; i++)
        test_sleep_ms(10);
    ck_assert_int_eq(replkv_exists(r, S("snap")), 1);
    ck_assert_int_eq(replkv_exists(r, S("stream")), 1);
    ck_assert_int_eq(info_of(r).offset, 12 + (int64_t)n);
    n = set_payload(p, "evil", "3");
    send_frame(fd, p, n, false);
    for (int i = 0; i < 500 && !test_log_has("checksum"); i++)
        test_sleep_ms(10);
    ck_assert(test_log_has("checksum"));
    ck_assert_int_eq(replkv_exists(r, S("evil")), 0);
    ck_assert_uint_eq(count_of(r), 2);
    close(fd);
    close(lfd);
    replkv_close(r);
}
END_TEST

/* A replica that authenticates (auth off) and asks for the stream but
 * never reads: the primary drops it once it is further behind than
 * client-output-buffer-limit (limit) lets the backlog keep for it, or past
 * the soft limit for longer than its seconds (writes stop after
 * max_writes), and writes never block on it. */
static void stalled_replica_dropped(const char *limit, int max_writes,
                                    const char *why)
{
    test_log_reset();
    int pp = test_free_port();
    const char *o[] = {"repl-backlog-size", "64kb",
                       "client-output-buffer-limit", limit, NULL};
    replkv_t *p = node(pp, o);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int small = 4096;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)pp);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    const char *id = "89abcdef0123456789abcdef0123456789abcdef";
    uint8_t nonce[32] = {9}, zero[40], pl[256];
    memset(zero, '0', sizeof zero);
    size_t n = 0;
    pl[n++] = 0x96;
    pl[n++] = 64;
    pl[n++] = 1;
    n += put_str8(pl + n, id, 40);
    n += put_bin8(pl + n, nonce, 32);
    pl[n++] = 0;
    pl[n++] = 0;
    send_frame(fd, pl, n, true);
    uint8_t zproof[32] = {0};
    n = 0;
    pl[n++] = 0x92;
    pl[n++] = 65;
    n += put_bin8(pl + n, zproof, 32);
    send_frame(fd, pl, n, true);
    n = 0;
    pl[n++] = 0x93;
    pl[n++] = 66;
    n += put_str8(pl + n, (const char *)zero, 40);
    pl[n++] = 0;
    send_frame(fd, pl, n, true);
    for (int i = 0; i < 500 && info_of(p).connected_replicas == 0; i++)
        test_sleep_ms(10);
    char v[200];
    memset(v, 'x', sizeof v);
    for (int i = 0; i < max_writes && !test_log_has("cannot keep up"); i++) {
        char k[16];
        snprintf(k, sizeof k, "k%d", i % 1000);
        ck_assert_int_eq(replkv_set(p, S(k), v, sizeof v, 0, 0), 1);
    }
    for (int i = 0; i < 500 && !test_log_has("cannot keep up"); i++)
        test_sleep_ms(10);
    ck_assert(test_log_has("cannot keep up"));
    ck_assert_msg(test_log_has(why), "no '%s' in the log", why);
    for (int i = 0; i < 500 && info_of(p).connected_replicas > 0; i++)
        test_sleep_ms(10);
    ck_assert_int_eq(info_of(p).connected_replicas, 0);
    close(fd);
    replkv_close(p);
}

START_TEST(slow_replica_dropped)
{
    /* The hard limit: 40 MB of writes against 1 MB. */
    stalled_replica_dropped("replica 1mb 0 0", 200000,
                            "client-output-buffer-limit");
}
END_TEST

START_TEST(slow_replica_dropped_at_soft_limit)
{
    /* 20 MB of writes (more than the kernel's socket buffers take), no
     * hard limit: over the 1 MB soft limit for more than a second. */
    stalled_replica_dropped("replica 0 1mb 1", 100000, "soft limit");
}
END_TEST

START_TEST(bind_error)
{
    int pp = test_free_port();
    replkv_t *p = node(pp, NULL);
    replkv_opts *o = replkv_opts_new();
    char port[16];
    snprintf(port, sizeof port, "%d", pp);
    replkv_opts_set(o, "port", port);
    replkv_t *q = NULL;
    ck_assert_int_eq(replkv_open(o, &q), REPLKV_ENET);
    ck_assert_ptr_null(q);
    ck_assert_ptr_nonnull(strstr(replkv_last_error(), "address already in use"));
    replkv_opts_free(o);
    replkv_close(p);
}
END_TEST

/* A program built against an older, smaller replkv_repl_info gets exactly
 * its prefix filled and nothing written past it. */
START_TEST(repl_info_older_struct)
{
    replkv_t *kv = node(0, NULL);
    union {
        replkv_repl_info info;
        unsigned char raw[sizeof(replkv_repl_info)];
    } u;
    memset(u.raw, 0xAB, sizeof u.raw);
    size_t old = offsetof(replkv_repl_info, sync_full);
    u.info.size = old;
    ck_assert_int_eq(replkv_repl_info_get(kv, &u.info), 0);
    ck_assert_uint_eq(u.info.size, old);
    ck_assert_int_eq(u.info.role, REPLKV_ROLE_PRIMARY);
    ck_assert_uint_eq(strlen(u.info.replid), 40);
    for (size_t i = old; i < sizeof u.raw; i++)
        ck_assert_uint_eq(u.raw[i], 0xAB);
    u.info.size = 1;
    ck_assert_int_eq(replkv_repl_info_get(kv, &u.info), REPLKV_EINVAL);
    replkv_close(kv);
}
END_TEST

START_TEST(options)
{
    replkv_opts *o = replkv_opts_new();
    char buf[320];
    ck_assert_int_eq(replkv_opts_get(o, "bind", buf, sizeof buf, NULL), 0);
    ck_assert_str_eq(buf, "127.0.0.1");
    ck_assert_int_eq(replkv_opts_get(o, "repl-backlog-size", buf, sizeof buf,
                                     NULL), 0);
    ck_assert_str_eq(buf, "16777216");
    ck_assert_int_eq(replkv_opts_set(o, "replicaof", "host"), REPLKV_EINVAL);
    ck_assert_int_eq(replkv_opts_set(o, "replicaof", "host 0"), REPLKV_EINVAL);
    ck_assert_int_eq(replkv_opts_set(o, "replicaof", "10.0.0.1 6379"), 0);
    ck_assert_int_eq(replkv_opts_set(o, "replicaof", "no one"), 0);
    ck_assert_int_eq(replkv_opts_set(o, "port", "70000"), REPLKV_EINVAL);
    ck_assert_int_eq(replkv_opts_set(o, "replica-read-only", "maybe"),
                     REPLKV_EINVAL);
    replkv_opts_free(o);
    replkv_t *kv;
    ck_assert_int_eq(replkv_open(NULL, &kv), 0);
    ck_assert_int_eq(replkv_config_set(kv, "port", "7000"), REPLKV_ENOTSUP);
    ck_assert_int_eq(replkv_config_set(kv, "repl-backlog-size", "1mb"), 0);
    ck_assert_int_eq(replkv_role(kv), REPLKV_ROLE_PRIMARY);
    replkv_close(kv);
}
END_TEST

static Suite *repl_suite(void)
{
    Suite *s = suite_create("repl");
    TCase *tc = tcase_create("repl");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, options);
    tcase_add_test(tc, repl_info_older_struct);
    tcase_add_test(tc, bind_error);
    tcase_add_test(tc, stream_100k);
    tcase_add_test(tc, replica_is_read_only);
    tcase_add_test(tc, wrong_secret_refused);
    tcase_add_test(tc, wait_semantics);
    tcase_add_test(tc, min_replicas);
    tcase_add_test(tc, read_your_writes);
    tcase_add_test(tc, acks_coalesced);
    tcase_add_test(tc, promotion_partial_resync);
    tcase_add_test(tc, full_resync_when_backlog_too_small);
    tcase_add_test(tc, partial_resync_after_link_drop);
    tcase_add_test(tc, chained_replica);
    tcase_add_test(tc, replica_expiry_follows_primary);
    tcase_add_test(tc, hostile_input);
    tcase_add_test(tc, hostile_primary);
    tcase_add_test(tc, stream_is_prompt);
    tcase_add_test(tc, batch_sends_at_end);
    tcase_add_test(tc, slow_replica_dropped);
    tcase_add_test(tc, slow_replica_dropped_at_soft_limit);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(repl_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
