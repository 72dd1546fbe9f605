/*
 * check_cache_repl.c - replkv-cache's replication glue without sockets: the
 * client port / peer port convention both ways, the ROLE state of a
 * replica, the count of replicas that acked an offset (WAIT), and
 * repl_info_fetch against a primary with more than 16 replicas.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "replication.h"
#include "testnet.h"

START_TEST(test_ports)
{
    cache_server *srv = calloc(1, sizeof *srv);
    ck_assert_ptr_nonnull(srv);
    ck_assert(conf_init(&srv->conf));
    /* A replica's repl-port back to its client port. */
    ck_assert_int_eq(repl_replica_client_port(16380), 6380);
    ck_assert_int_eq(repl_replica_client_port(0), 0);
    ck_assert_int_eq(repl_replica_client_port(9000), 9000);
    /* The primary: the port REPLICAOF was given, when the library's port is
     * what the cache made of it. */
    srv->conf.replicaof_host = strdup("10.0.0.1");
    srv->conf.replicaof_port = 6379;
    ck_assert_int_eq(repl_primary_client_port(srv, 16379), 6379);
    ck_assert_int_eq(repl_primary_client_port(srv, 17000), 7000);
    free(srv->conf.replicaof_host);
    srv->conf.replicaof_host = NULL;
    ck_assert_int_eq(repl_primary_client_port(srv, 16379), 6379);
    conf_free(&srv->conf);
    free(srv);
}
END_TEST

START_TEST(test_state_and_acks)
{
    repl_snapshot snap;
    memset(&snap, 0, sizeof snap);
    snap.in.size = sizeof snap.in;
    ck_assert_str_eq(repl_replica_state(&snap.in), "connect");
    /* The library's words for its link states, passed on as they are. */
    snap.in.link_state = REPLKV_LINK_HANDSHAKE;
    snap.in.link_state_name = "handshake";
    ck_assert_str_eq(repl_replica_state(&snap.in), "handshake");

    replkv_replica_info all[20];
    memset(all, 0, sizeof all);
    snap.all = all;
    snap.nall = 20;
    snap.in.connected_replicas = 20;
    for (int i = 0; i < 20; i++) {
        all[i].state = "online";
        all[i].acked_offset = 10;
    }
    all[0].acked_offset = 100;
    all[1].acked_offset = 50;
    all[2].state = "send_bulk"; /* not counted, whatever its offset */
    all[2].acked_offset = 200;
    all[19].acked_offset = 300; /* past the 16 of the fixed array */
    ck_assert_int_eq(repl_count_acked(&snap, 0), 19);
    ck_assert_int_eq(repl_count_acked(&snap, 50), 3);
    ck_assert_int_eq(repl_count_acked(&snap, 51), 2);
    ck_assert_int_eq(repl_count_acked(&snap, 101), 1);
    ck_assert_int_eq(repl_count_acked(&snap, 301), 0);
    all[1].acked_offset = -1; /* no ACK yet */
    ck_assert_int_eq(repl_count_acked(&snap, 11), 2);
}
END_TEST

/* repl_info_fetch against a live primary with more replicas than the
 * struct's fixed array. */
START_TEST(test_fetch_all)
{
    int pp = test_free_port();
    char port[16], addr[64];
    snprintf(port, sizeof port, "%d", pp);
    snprintf(addr, sizeof addr, "127.0.0.1 %d", pp);
    replkv_opts *o = replkv_opts_new();
    replkv_opts_set(o, "port", port);
    replkv_t *p = NULL;
    ck_assert_int_eq(replkv_open(o, &p), 0);
    replkv_opts_set(o, "port", "0");
    replkv_opts_set(o, "replicaof", addr);
    replkv_t *rs[18];
    for (int i = 0; i < 18; i++)
        ck_assert_int_eq(replkv_open(o, &rs[i]), 0);
    replkv_opts_free(o);
    ck_assert_int_eq(replkv_set(p, "k", 1, "v", 1, 0, 0), 1);
    ck_assert_int_eq(replkv_wait(p, 18, 20000), 18);
    repl_snapshot *snap = repl_info_fetch(p);
    ck_assert_ptr_nonnull(snap);
    ck_assert_int_eq(snap->in.connected_replicas, 18);
    ck_assert_uint_eq(snap->nall, 18);
    int64_t off;
    replkv_last_offset(p, &off);
    ck_assert_int_eq(repl_count_acked(snap, off), 18);
    repl_info_free(snap);
    repl_info_free(NULL);
    for (int i = 0; i < 18; i++)
        replkv_close(rs[i]);
    replkv_close(p);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("cache_repl");
    TCase *t = tcase_create("repl");
    tcase_add_test(t, test_ports);
    tcase_add_test(t, test_state_and_acks);
    tcase_add_test(t, test_fetch_all);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    SRunner *r = srunner_create(suite());
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed == 0 ? 0 : 1;
}
