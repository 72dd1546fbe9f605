/*
 * check_repl_link.c - a replica's link to its primary and what the node
 * reports about it, in one process on 127.0.0.1: replicaof changed through
 * replkv_config_set, the link states Redis names (connect, connecting,
 * handshake, sync, connected), primaries given by host name (resolved off
 * the loop, lookups cancelled by a close or a new primary), and a primary
 * that reports every one of more than 16 replicas. Every wait is bounded.
 */
#include <arpa/inet.h>
#include <check.h>
#include <stddef.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "replkv.h"
#include "testlog.h"
#include "testnet.h"

#define S(str) (str), strlen(str)

/* A node listening on port (0: none) with extra name/value options. */
static replkv_t *open_node(int port, const char *const *opts)
{
    replkv_opts *o = replkv_opts_new();
    char p[16];
    snprintf(p, sizeof p, "%d", port);
    ck_assert_int_eq(replkv_opts_set(o, "port", p), 0);
    ck_assert_int_eq(replkv_opts_set(o, "loglevel", "verbose"), 0);
    for (; opts != NULL && opts[0] != NULL; opts += 2)
        ck_assert_int_eq(replkv_opts_set(o, opts[0], opts[1]), 0);
    replkv_opts_set_log(o, test_log_capture, NULL);
    replkv_t *kv = NULL;
    int rc = replkv_open(o, &kv);
    ck_assert_msg(rc == 0, "open: %s", replkv_last_error());
    replkv_opts_free(o);
    return kv;
}

static replkv_repl_info info(replkv_t *kv)
{
    replkv_repl_info in;
    memset(&in, 0, sizeof in);
    in.size = sizeof in;
    ck_assert_int_eq(replkv_repl_info_get(kv, &in), 0);
    return in;
}

/* Waits up to ms for kv's link to reach state. */
static bool reaches(replkv_t *kv, replkv_link_state state, long ms)
{
    for (long t = 0; t < ms; t += 5) {
        if (info(kv).link_state == state)
            return true;
        test_sleep_ms(5);
    }
    return false;
}

static void config_is(replkv_t *kv, const char *name, const char *want)
{
    char buf[320];
    ck_assert_int_eq(replkv_config_get(kv, name, buf, sizeof buf, NULL), 0);
    ck_assert_str_eq(buf, want);
}

static bool info_has(replkv_t *kv, const char *needle)
{
    char *text = NULL;
    ck_assert_int_eq(replkv_info(kv, "replication", &text), 0);
    bool r = strstr(text, needle) != NULL;
    replkv_free(text);
    return r;
}

/* ------------------------------------------------- replicaof at runtime */

START_TEST(config_set_replicaof)
{
    int pp = test_free_port();
    replkv_t *p = open_node(pp, NULL);
    replkv_t *r = open_node(0, NULL);
    ck_assert_int_eq(replkv_set(p, S("k"), S("v"), 0, 0), 1);
    config_is(r, "replicaof", "");

    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1 %d", pp);
    ck_assert_int_eq(replkv_config_set(r, "replicaof", addr), 0);
    ck_assert_int_eq(replkv_role(r), REPLKV_ROLE_REPLICA);
    config_is(r, "replicaof", addr);
    config_is(r, "REPLICAOF", addr); /* names are case-insensitive */
    ck_assert(reaches(r, REPLKV_LINK_CONNECTED, 10000));
    ck_assert_int_eq(replkv_exists(r, S("k")), 1);
    ck_assert_int_eq(replkv_set(r, S("x"), S("y"), 0, 0), REPLKV_EREADONLY);
    /* The same primary again changes nothing (no resync). */
    ck_assert_int_eq(replkv_config_set(r, "replicaof", addr), 0);
    ck_assert_uint_eq(info(p).sync_full + info(p).sync_partial_ok, 1);

    /* Bad values: replkv_replicaof's error, the role unchanged. */
    ck_assert_int_eq(replkv_config_set(r, "replicaof", "127.0.0.1"),
                     REPLKV_EINVAL);
    ck_assert_ptr_nonnull(strstr(replkv_last_error(), "replicaof"));
    ck_assert_int_eq(replkv_config_set(r, "replicaof", "127.0.0.1 0"),
                     REPLKV_EINVAL);
    ck_assert_int_eq(replkv_config_set(r, "replicaof", "127.0.0.1 x"),
                     REPLKV_EINVAL);
    ck_assert_int_eq(replkv_config_set(r, "replicaof", NULL), REPLKV_EINVAL);
    ck_assert_int_eq(replkv_role(r), REPLKV_ROLE_REPLICA);
    config_is(r, "replicaof", addr);

    /* "no one" promotes, as replkv_replicaof_none. */
    ck_assert_int_eq(replkv_config_set(r, "replicaof", "no one"), 0);
    ck_assert_int_eq(replkv_role(r), REPLKV_ROLE_PRIMARY);
    config_is(r, "replicaof", "");
    ck_assert_int_eq(info(r).link_state, REPLKV_LINK_NONE);
    ck_assert_str_eq(info(r).link_state_name, "none");
    ck_assert_int_eq(replkv_set(r, S("x"), S("y"), 0, 0), 1);
    /* And the function call shows in the option too. */
    ck_assert_int_eq(replkv_replicaof(r, "127.0.0.1", pp), 0);
    config_is(r, "replicaof", addr);
    ck_assert_int_eq(replkv_replicaof_none(r), 0);
    config_is(r, "replicaof", "");
    replkv_close(r);
    replkv_close(p);
}
END_TEST

static int cb_rc = 1;

static void promote_from_cb(replkv_t *kv, const replkv_role_event *ev,
                            void *ud)
{
    (void)ud;
    if (ev->new_role == REPLKV_ROLE_REPLICA)
        cb_rc = replkv_config_set(kv, "replicaof", "no one");
}

/* From a callback of the node: REPLKV_EBUSY, as replkv_replicaof. */
START_TEST(config_set_replicaof_busy_in_callback)
{
    replkv_opts *o = replkv_opts_new();
    replkv_opts_set_role_cb(o, promote_from_cb, NULL);
    replkv_t *r = NULL;
    ck_assert_int_eq(replkv_open(o, &r), 0);
    replkv_opts_free(o);
    int pp = test_free_port();
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1 %d", pp);
    ck_assert_int_eq(replkv_config_set(r, "replicaof", addr), 0);
    ck_assert_int_eq(cb_rc, REPLKV_EBUSY);
    ck_assert_int_eq(replkv_role(r), REPLKV_ROLE_REPLICA);
    replkv_close(r);
}
END_TEST

/* With failover on, the cluster decides roles: REPLKV_ESTATE both ways,
 * as replkv_replicaof and replkv_replicaof_none. */
START_TEST(config_set_replicaof_failover)
{
    int port = test_free_port();
    char mon[64];
    snprintf(mon, sizeof mon, "mymaster 127.0.0.1 %d 1", port);
    const char *opts[] = {"sentinel monitor", mon, NULL};
    replkv_t *kv = open_node(port, opts);
    ck_assert_int_eq(replkv_config_set(kv, "replicaof", "127.0.0.1 6379"),
                     REPLKV_ESTATE);
    ck_assert_ptr_nonnull(strstr(replkv_last_error(), "failover"));
    ck_assert_int_eq(replkv_config_set(kv, "replicaof", "no one"),
                     REPLKV_ESTATE);
    ck_assert_int_eq(replkv_replicaof(kv, "127.0.0.1", 6379), REPLKV_ESTATE);
    replkv_close(kv);
}
END_TEST

/* ------------------------------------------------- link states */

/* A "primary" that accepts and then says nothing: the replica's link is
 * connected but stays in the handshake. */
START_TEST(link_states)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    ck_assert_int_eq(listen(fd, 8), 0);
    socklen_t sl = sizeof sa;
    getsockname(fd, (struct sockaddr *)&sa, &sl);
    int mute = ntohs(sa.sin_port);

    replkv_t *r = open_node(0, NULL);
    ck_assert_int_eq(replkv_replicaof(r, "127.0.0.1", mute), 0);
    ck_assert(reaches(r, REPLKV_LINK_HANDSHAKE, 5000));
    replkv_repl_info in = info(r);
    ck_assert_str_eq(in.link_state_name, "handshake");
    ck_assert(!in.link_up);
    ck_assert_int_ge(in.link_down_ms, 0);
    ck_assert(info_has(r, "master_link_status:down\r\n"));
    ck_assert(info_has(r, "master_link_down_since_seconds:"));
    ck_assert(info_has(r, "master_sync_in_progress:0\r\n"));

    /* Nothing listening: refused, then waiting for the next attempt. */
    close(fd);
    int dead = test_free_port();
    ck_assert_int_eq(replkv_replicaof(r, "127.0.0.1", dead), 0);
    ck_assert(reaches(r, REPLKV_LINK_CONNECT, 5000));
    ck_assert_str_eq(info(r).link_state_name, "connect");

    /* A real primary with enough keys that the full resync can be seen
     * loading: connect -> connecting -> handshake -> sync -> connected. */
    int pp = test_free_port();
    replkv_t *p = open_node(pp, NULL);
    char k[32];
    for (int i = 0; i < 300000; i++) {
        snprintf(k, sizeof k, "key:%d", i);
        replkv_set(p, S(k), S("a value of some forty bytes, give or take"),
                   0, 0);
    }
    ck_assert_int_eq(replkv_replicaof(r, "127.0.0.1", pp), 0);
    bool seen[REPLKV_LINK_CONNECTED + 1] = {false};
    int last = REPLKV_LINK_CONNECT;
    uint64_t sync_bytes = 0;
    for (long t = 0; t < 30000000 && last != REPLKV_LINK_CONNECTED;
         t += 200) {
        in = info(r);
        ck_assert_int_ge(in.link_state, last); /* never backwards here */
        last = in.link_state;
        seen[last] = true;
        if (last == REPLKV_LINK_SYNC && in.sync_read_bytes > sync_bytes) {
            sync_bytes = in.sync_read_bytes;
            ck_assert_str_eq(in.link_state_name, "sync");
            ck_assert(in.sync_in_progress);
        }
        usleep(200);
    }
    ck_assert_int_eq(last, REPLKV_LINK_CONNECTED);
    ck_assert_msg(seen[REPLKV_LINK_SYNC], "the full resync was not seen");
    in = info(r);
    ck_assert_str_eq(in.link_state_name, "connected");
    ck_assert(in.link_up);
    ck_assert_int_eq(in.link_down_ms, -1);
    ck_assert_uint_eq(in.sync_read_bytes, 0);
    ck_assert(info_has(r, "master_link_status:up\r\n"));
    ck_assert(!info_has(r, "master_link_down_since_seconds:"));
    ck_assert(!info_has(r, "master_sync_total_bytes:"));

    /* The primary goes away: back to connect, link down since then. */
    replkv_close(p);
    ck_assert(reaches(r, REPLKV_LINK_CONNECT, 5000) ||
              reaches(r, REPLKV_LINK_CONNECTING, 5000));
    ck_assert_int_ge(info(r).link_down_ms, 0);
    replkv_close(r);
}
END_TEST

/* ------------------------------------------------- names */

START_TEST(primary_by_name)
{
    int pp = test_free_port();
    replkv_t *p = open_node(pp, NULL);
    ck_assert_int_eq(replkv_set(p, S("k"), S("v"), 0, 0), 1);
    replkv_t *r = open_node(0, NULL);
    ck_assert_int_eq(replkv_replicaof(r, "localhost", pp), 0);
    ck_assert(reaches(r, REPLKV_LINK_CONNECTED, 10000));
    ck_assert_int_eq(replkv_exists(r, S("k")), 1);
    ck_assert_str_eq(info(r).primary_host, "localhost");
    replkv_close(r);
    replkv_close(p);
}
END_TEST

/* A name that does not resolve: a logged reason, then retries with
 * back-off; the node keeps answering meanwhile. */
START_TEST(unresolvable_name_retries)
{
    replkv_t *r = open_node(0, NULL);
    const char *why = "cannot resolve 'no-such-host.invalid'";
    int before = test_log_count(why);
    ck_assert_int_eq(replkv_replicaof(r, "no-such-host.invalid", 7000), 0);
    for (int t = 0; t < 20000 && test_log_count(why) < before + 3; t += 10)
        test_sleep_ms(10);
    ck_assert_int_ge(test_log_count(why), before + 3);
    replkv_repl_info in = info(r);
    ck_assert(in.link_state == REPLKV_LINK_CONNECT ||
              in.link_state == REPLKV_LINK_CONNECTING);
    ck_assert_int_eq(replkv_role(r), REPLKV_ROLE_REPLICA);
    /* The I/O thread still runs commands. */
    ck_assert_int_eq(replkv_replicaof_none(r), 0);
    ck_assert_int_eq(replkv_role(r), REPLKV_ROLE_PRIMARY);
    int after = test_log_count(why);
    test_sleep_ms(300);
    ck_assert_int_eq(test_log_count(why), after); /* no more attempts */
    replkv_close(r);
}
END_TEST

/* Lookups in flight when the primary changes or the node closes: the
 * lookup outlives its link (run under ASan for the use-after-free). */
START_TEST(lookup_cancelled)
{
    int pp = test_free_port();
    replkv_t *p = open_node(pp, NULL);
    for (int i = 0; i < 20; i++) {
        replkv_t *r = open_node(0, NULL);
        ck_assert_int_eq(replkv_replicaof(r, "localhost", pp), 0);
        if (i % 2 == 0) {
            ck_assert_int_eq(replkv_replicaof(r, "no-such-host.invalid",
                                              pp),
                             0);
            ck_assert_int_eq(replkv_replicaof(r, "127.0.0.1", pp), 0);
            ck_assert(reaches(r, REPLKV_LINK_CONNECTED, 10000));
        }
        replkv_close(r); /* odd: with the lookup likely in flight */
    }
    replkv_close(p);
}
END_TEST

/* ------------------------------------------------- many replicas */

#define NREPLICAS 20

START_TEST(more_than_16_replicas)
{
    int pp = test_free_port();
    replkv_t *p = open_node(pp, NULL);
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1 %d", pp);
    replkv_t *rs[NREPLICAS];
    int ports[NREPLICAS];
    const char *opts[] = {"replicaof", addr, NULL};
    for (int i = 0; i < NREPLICAS; i++) {
        ports[i] = test_free_port();
        rs[i] = open_node(ports[i], opts);
    }
    ck_assert_int_eq(replkv_set(p, S("k"), S("v"), 0, 0), 1);
    ck_assert_int_eq(replkv_wait(p, NREPLICAS, 20000), NREPLICAS);

    replkv_replica_info all[NREPLICAS + 4];
    replkv_repl_info in;
    in.size = sizeof in; /* the rest left uninitialised on purpose */
    ck_assert_int_eq(replkv_repl_info_get_all(p, &in, all, NREPLICAS + 4),
                     NREPLICAS);
    ck_assert_int_eq(in.connected_replicas, NREPLICAS);
    ck_assert_int_eq(in.replicas_cap, 16);
    for (int i = 0; i < NREPLICAS; i++) {
        int found = 0;
        for (int j = 0; j < NREPLICAS; j++)
            if (all[j].port == ports[i]) {
                found++;
                ck_assert_str_eq(all[j].state, "online");
                ck_assert_str_eq(all[j].addr, "127.0.0.1");
                ck_assert_int_ge(all[j].acked_offset, 0);
            }
        ck_assert_int_eq(found, 1);
    }
    /* The fixed array still holds the first 16, the same ones. */
    for (int j = 0; j < 16; j++)
        ck_assert_int_eq(in.replicas[j].port, all[j].port);

    /* A smaller array gets a prefix; the count says how many exist. */
    ck_assert_int_eq(replkv_repl_info_get_all(p, &in, all, 5), 5);
    ck_assert_int_eq(in.connected_replicas, NREPLICAS);
    ck_assert_int_eq(replkv_repl_info_get_all(p, &in, NULL, 0), 0);
    ck_assert_int_eq(in.connected_replicas, NREPLICAS);
    ck_assert_int_eq(replkv_repl_info_get_all(p, &in, NULL, 3),
                     REPLKV_EINVAL);
    ck_assert_int_eq(replkv_repl_info_get_all(NULL, &in, all, 5),
                     REPLKV_EINVAL);
    /* An older caller's struct: its prefix only, the array still filled. */
    union {
        replkv_repl_info info;
        unsigned char raw[sizeof(replkv_repl_info)];
    } u;
    memset(u.raw, 0xAB, sizeof u.raw);
    size_t old = offsetof(replkv_repl_info, link_state);
    u.info.size = old;
    memset(all, 0, sizeof all);
    ck_assert_int_eq(replkv_repl_info_get_all(p, &u.info, all, NREPLICAS),
                     NREPLICAS);
    ck_assert_int_eq(u.info.connected_replicas, NREPLICAS);
    for (size_t i = old; i < sizeof u.raw; i++)
        ck_assert_uint_eq(u.raw[i], 0xAB);
    ck_assert_int_ne(all[NREPLICAS - 1].port, 0);

    /* INFO lists them all. */
    char *text = NULL;
    ck_assert_int_eq(replkv_info(p, "replication", &text), 0);
    char want[64];
    snprintf(want, sizeof want, "connected_slaves:%d\r\n", NREPLICAS);
    ck_assert_ptr_nonnull(strstr(text, want));
    for (int i = 0; i < NREPLICAS; i++) {
        snprintf(want, sizeof want, "\r\nslave%d:ip=127.0.0.1,port=", i);
        ck_assert_ptr_nonnull(strstr(text, want));
        snprintf(want, sizeof want, ",port=%d,state=online,", ports[i]);
        ck_assert_ptr_nonnull(strstr(text, want));
    }
    snprintf(want, sizeof want, "slave%d:", NREPLICAS);
    ck_assert_ptr_null(strstr(text, want));
    replkv_free(text);
    for (int i = 0; i < NREPLICAS; i++)
        replkv_close(rs[i]);
    replkv_close(p);
}
END_TEST

static Suite *link_suite(void)
{
    Suite *s = suite_create("repl_link");
    TCase *tc = tcase_create("repl_link");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, config_set_replicaof);
    tcase_add_test(tc, config_set_replicaof_busy_in_callback);
    tcase_add_test(tc, config_set_replicaof_failover);
    tcase_add_test(tc, link_states);
    tcase_add_test(tc, primary_by_name);
    tcase_add_test(tc, unresolvable_name_retries);
    tcase_add_test(tc, lookup_cancelled);
    tcase_add_test(tc, more_than_16_replicas);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(link_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
