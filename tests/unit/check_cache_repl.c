/*
 * check_cache_repl.c - replkv-cache's replication glue without sockets: the
 * client port / peer port convention both ways, the ROLE state of a
 * replica, and the count of replicas that acked an offset (WAIT).
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "replication.h"

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
    replkv_repl_info in;
    memset(&in, 0, sizeof in);
    in.size = sizeof in;
    in.replicas_cap = 16;
    ck_assert_str_eq(repl_replica_state(&in), "connect");
    in.link_up = true;
    ck_assert_str_eq(repl_replica_state(&in), "connected");
    in.sync_in_progress = true;
    ck_assert_str_eq(repl_replica_state(&in), "sync");

    in.connected_replicas = 3;
    in.replicas[0].state = "online";
    in.replicas[0].acked_offset = 100;
    in.replicas[1].state = "online";
    in.replicas[1].acked_offset = 50;
    in.replicas[2].state = "send_bulk"; /* not counted, whatever its offset */
    in.replicas[2].acked_offset = 200;
    ck_assert_int_eq(repl_count_acked(&in, 0), 2);
    ck_assert_int_eq(repl_count_acked(&in, 50), 2);
    ck_assert_int_eq(repl_count_acked(&in, 51), 1);
    ck_assert_int_eq(repl_count_acked(&in, 101), 0);
    in.replicas[1].acked_offset = -1; /* no ACK yet */
    ck_assert_int_eq(repl_count_acked(&in, 0), 1);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("cache_repl");
    TCase *t = tcase_create("repl");
    tcase_add_test(t, test_ports);
    tcase_add_test(t, test_state_and_acks);
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
