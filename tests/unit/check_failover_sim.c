/*
 * check_failover_sim.c - the failover core in a simulated cluster
 * (tests/sim): thousands of seeded random schedules with every invariant
 * of sim.c checked, then scenario tests.
 *
 * SIM_SEED=n replays one schedule (SIM_TRACE=1 prints what every node
 * did); SIM_RUNS=n runs more (or fewer) schedules. The schedules run in
 * two worker processes, one per core.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sim.h"

/* ------------------------------------------------------ random schedules */

static unsigned long env_ul(const char *name, unsigned long dflt)
{
    const char *v = getenv(name);
    return v && *v ? strtoul(v, NULL, 10) : dflt;
}

START_TEST(random_schedules)
{
    const char *one = getenv("SIM_SEED");
    if (one && *one) {
        char err[1024];
        uint64_t seed = strtoull(one, NULL, 10);
        bool ok = sim_random_schedule(seed, err, sizeof err, NULL);
        ck_assert_msg(ok, "%s", err);
        return;
    }
    unsigned long runs = env_ul("SIM_RUNS", 5000);
    const unsigned workers = 2;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int fds[2], sfd[2];
    ck_assert_int_eq(pipe(fds), 0);
    ck_assert_int_eq(pipe(sfd), 0);
    pid_t pids[2];
    for (unsigned w = 0; w < workers; w++) {
        pids[w] = fork();
        ck_assert_int_ge(pids[w], 0);
        if (pids[w] == 0) {
            close(fds[0]);
            close(sfd[0]);
            unsigned failed = 0;
            sim_stats st;
            memset(&st, 0, sizeof st);
            for (unsigned long k = w; k < runs; k += workers) {
                char err[1024];
                if (!sim_random_schedule(1000 + k, err, sizeof err, &st)) {
                    failed++;
                    char line[1100];
                    int n = snprintf(line, sizeof line, "%s\n", err);
                    if (write(fds[1], line, (size_t)n) < 0)
                        _exit(2);
                    if (failed >= 5)
                        break;
                }
            }
            if (write(sfd[1], &st, sizeof st) != (ssize_t)sizeof st)
                _exit(2);
            _exit(failed ? 1 : 0);
        }
    }
    close(fds[1]);
    close(sfd[1]);
    sim_stats sum;
    memset(&sum, 0, sizeof sum);
    for (unsigned w = 0; w < workers; w++) {
        sim_stats st;
        if (read(sfd[0], &st, sizeof st) == (ssize_t)sizeof st) {
            unsigned long *a = (unsigned long *)(void *)&sum;
            const unsigned long *b = (const unsigned long *)(const void *)&st;
            for (size_t i = 0; i < sizeof sum / sizeof *a; i++)
                a[i] += b[i];
        }
    }
    close(sfd[0]);
    char buf[8192];
    size_t got = 0;
    ssize_t n;
    while ((n = read(fds[0], buf + got, sizeof buf - 1 - got)) > 0)
        got += (size_t)n;
    buf[got] = 0;
    close(fds[0]);
    int bad = 0;
    for (unsigned w = 0; w < workers; w++) {
        int st;
        waitpid(pids[w], &st, 0);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
            bad = 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) +
                  (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    fprintf(stderr, "failover sim: %lu random schedules in %.1f s%s\n", runs,
            secs, bad ? ", FAILURES:" : "");
    fprintf(stderr,
            "failover sim: %lu promotions (%lu schedules failed over), %lu "
            "divergence reports, %lu kills, %lu wipes, %lu partitions, %lu "
            "manual failover requests, %lu vetoes, %lu writes (%lu acknowledged)\n",
            sum.promotions, sum.with_failover, sum.divergences, sum.kills,
            sum.wipes, sum.partitions, sum.manual, sum.vetoes, sum.writes,
            sum.acked);
    if (bad)
        fprintf(stderr, "%s", buf);
    ck_assert_msg(!bad, "failing schedules (replay with SIM_SEED=):\n%s", buf);
}
END_TEST

/* ------------------------------------------------------------ scenarios */

static sim *boot(unsigned ndata, unsigned nwitness, uint64_t seed,
                 sim_params *tweak)
{
    sim_params p;
    if (tweak)
        p = *tweak;
    else
        memset(&p, 0, sizeof p);
    p.ndata = ndata;
    p.nwitness = nwitness;
    sim *s = sim_new(&p, seed);
    int prim = sim_settle(s, 5000);
    ck_assert_msg(prim == 0, "initial primary %d: %s", prim, s->failure);
    return s;
}

static void finish(sim *s)
{
    sim_heal(s);
    int prim = sim_settle(s, 20000);
    sim_check_final(s, prim);
    ck_assert_msg(s->failure[0] == 0, "%s", s->failure);
    sim_free(s);
}

START_TEST(three_data_lose_primary)
{
    sim *s = boot(3, 0, 1, NULL);
    sim_run(s, 1000);
    sim_kill(s, 0);
    int prim = sim_settle(s, 10000);
    ck_assert_msg(prim == -1, "settle needs every node alive");
    s->failure[0] = 0;
    /* two of three: one of them took over */
    int p = -1;
    for (unsigned i = 1; i < 3; i++)
        if (s->nodes[i].role == RKV_FO_ROLE_PRIMARY)
            p = (int)i;
    ck_assert_int_ge(p, 1);
    rkv_fo_info info;
    rkv_fo_get_info(s->nodes[p].fo, s->now, &info);
    ck_assert_uint_ge(info.conf.epoch, 1);
    finish(s);
}
END_TEST

START_TEST(two_data_one_witness_lose_primary)
{
    sim *s = boot(2, 1, 2, NULL);
    sim_run(s, 1000);
    sim_kill(s, 0);
    sim_run(s, 5000);
    ck_assert_int_eq(s->nodes[1].role, RKV_FO_ROLE_PRIMARY);
    ck_assert_msg(s->failure[0] == 0, "%s", s->failure);
    finish(s);
}
END_TEST

START_TEST(minority_with_primary)
{
    sim *s = boot(3, 2, 3, NULL);
    sim_run(s, 1000);
    unsigned side[] = {0, 3}; /* primary + a witness: 2 of 5 voters */
    sim_partition(s, side, 2);
    sim_run(s, 6000);
    /* the majority side promoted 1 or 2; the old primary took writes
     * alone in its old epoch, nobody on its side was promoted */
    ck_assert(s->nodes[1].role == RKV_FO_ROLE_PRIMARY ||
              s->nodes[2].role == RKV_FO_ROLE_PRIMARY);
    ck_assert_uint_eq(s->promotions, 1);
    ck_assert_msg(s->failure[0] == 0, "%s", s->failure);
    /* 1 + 2 hold every acknowledged write; the primary alone cannot get
     * a majority of 3 data nodes: a partition {0, 1} would block the
     * failover (only one final offset of the two needed) */
    sim_heal(s);
    sim_run(s, 100);
    unsigned side2[] = {0, 1};
    sim_partition(s, side2, 2);
    sim_run(s, 6000);
    ck_assert_uint_eq(s->promotions, 1);
    ck_assert_msg(s->failure[0] == 0, "%s", s->failure);
    finish(s);
    /* and the old primary reported what it took alone (sim checks I8) */
}
END_TEST

START_TEST(primary_paused_then_resumed)
{
    sim *s = boot(3, 0, 4, NULL);
    sim_run(s, 1000);
    /* its replicas stop getting writes for a moment, then it stalls */
    sim_cut(s, 0, 1, true);
    sim_cut(s, 0, 2, true);
    s->p.write_pm = 1000;
    sim_run(s, 200);
    s->p.write_pm = 200;
    sim_pause(s, 0, 4000);
    sim_cut(s, 0, 1, false);
    sim_cut(s, 0, 2, false);
    sim_run(s, 4000);
    int p = -1;
    for (unsigned i = 1; i < 3; i++)
        if (s->nodes[i].role == RKV_FO_ROLE_PRIMARY)
            p = (int)i;
    ck_assert_int_ge(p, 1);
    /* resumes still primary of the old epoch, takes a write or two, sees
     * the new configuration, steps down and reports divergence */
    sim_run(s, 2000);
    ck_assert_int_eq(s->nodes[0].role, RKV_FO_ROLE_REPLICA);
    ck_assert_uint_ge(s->nodes[0].n_div, 1);
    finish(s);
}
END_TEST

START_TEST(manual_failover_no_loss)
{
    sim *s = boot(3, 0, 5, NULL);
    sim_run(s, 1000);
    size_t before = s->nw;
    ck_assert_int_eq(sim_request_failover(s, 0, 2), 0);
    sim_run(s, 3000);
    ck_assert_int_eq(s->nodes[2].role, RKV_FO_ROLE_PRIMARY);
    ck_assert_int_eq(s->nodes[0].role, RKV_FO_ROLE_REPLICA);
    ck_assert_uint_gt(s->nw, before);
    /* zero lost: every write ever taken is on the new primary */
    int prim = sim_settle(s, 10000);
    ck_assert_int_eq(prim, 2);
    for (size_t k = 0; k < s->nw; k++) {
        const sim_write *w = &s->w[k];
        ck_assert_msg(w->pos < s->nodes[2].len &&
                          s->nodes[2].log[w->pos] == w->id,
                      "write %u lost", w->id);
    }
    ck_assert_uint_eq(s->nodes[0].n_div, 0);
    rkv_fo_info info;
    rkv_fo_get_info(s->nodes[0].fo, s->now, &info);
    ck_assert(info.last.manual);
    ck_assert_int_gt(info.last.done_ms, 0);
    finish(s);
}
END_TEST

static rkv_fo_verdict veto_all(sim *s, unsigned node, const rkv_fo_candidate *c,
                               unsigned n, char pick[RKV_FO_ID_SIZE],
                               char *reason, size_t cap)
{
    (void)node, (void)c, (void)n, (void)pick;
    snprintf(reason, cap, "maintenance window");
    return *(int *)s->ud ? RKV_FO_VETO : RKV_FO_ACCEPT;
}

START_TEST(decision_veto_honoured)
{
    sim_params p;
    memset(&p, 0, sizeof p);
    p.decision_hook = true;
    p.decide = veto_all;
    int veto = 1;
    p.ndata = 3;
    sim *s = sim_new(&p, 6);
    s->ud = &veto;
    ck_assert_int_eq(sim_settle(s, 5000), 0);
    sim_kill(s, 0);
    sim_run(s, 8000);
    unsigned vetoes = 0;
    for (unsigned i = 0; i < 3; i++) {
        vetoes += s->nodes[i].n_vetoes;
        ck_assert_int_ne(s->nodes[i].role, RKV_FO_ROLE_PRIMARY);
    }
    ck_assert_uint_ge(vetoes, 1);
    veto = 0;
    sim_run(s, 8000);
    ck_assert(s->nodes[1].role == RKV_FO_ROLE_PRIMARY ||
              s->nodes[2].role == RKV_FO_ROLE_PRIMARY);
    finish(s);
}
END_TEST

static rkv_fo_verdict pick_last(sim *s, unsigned node, const rkv_fo_candidate *c,
                                unsigned n, char pick[RKV_FO_ID_SIZE],
                                char *reason, size_t cap)
{
    (void)s, (void)node;
    snprintf(pick, RKV_FO_ID_SIZE, "%s", c[n - 1].id);
    snprintf(reason, cap, "prefer the last one");
    return RKV_FO_PICK;
}

START_TEST(decision_pick_honoured)
{
    sim_params p;
    memset(&p, 0, sizeof p);
    p.decision_hook = true;
    p.decide = pick_last;
    p.priority[1] = 1; /* node 1 ranks first, the hook picks node 2 */
    p.priority[2] = 2;
    p.ndata = 3;
    sim *s = sim_new(&p, 7);
    ck_assert_int_eq(sim_settle(s, 5000), 0);
    sim_kill(s, 0);
    sim_run(s, 5000);
    ck_assert_int_eq(s->nodes[2].role, RKV_FO_ROLE_PRIMARY);
    s->failure[0] = 0; /* a picked replica may lack writes: by choice */
    sim_free(s);
}
END_TEST

START_TEST(forget_a_node)
{
    sim_params p;
    memset(&p, 0, sizeof p);
    p.quorum = 2;
    sim *s = boot(3, 1, 8, &p);
    sim_run(s, 500);
    sim_kill(s, 3); /* the witness leaves for good */
    ck_assert_int_eq(sim_forget(s, 1, 3), 0);
    sim_run(s, 2000);
    for (unsigned i = 0; i < 3; i++) {
        rkv_fo_info info;
        rkv_fo_get_info(s->nodes[i].fo, s->now, &info);
        ck_assert_uint_eq(info.npeers, 2);
        ck_assert_uint_eq(info.voters, 3);
    }
    /* it comes back with its old gossip: nobody re-learns it */
    sim_restart(s, 3, true);
    sim_run(s, 2000);
    for (unsigned i = 0; i < 3; i++) {
        rkv_fo_info info;
        rkv_fo_get_info(s->nodes[i].fo, s->now, &info);
        ck_assert_uint_eq(info.npeers, 2);
    }
    sim_kill(s, 3);
    /* and a failover needs a majority of 3 voters now, not of 4 */
    sim_kill(s, 0);
    sim_run(s, 5000);
    ck_assert(s->nodes[1].role == RKV_FO_ROLE_PRIMARY ||
              s->nodes[2].role == RKV_FO_ROLE_PRIMARY);
    ck_assert_msg(s->failure[0] == 0, "%s", s->failure);
    sim_free(s);
}
END_TEST

START_TEST(fresh_primary_restart_no_wipe)
{
    sim *s = boot(3, 0, 9, NULL);
    sim_run(s, 1000);
    size_t had = s->nodes[1].len;
    ck_assert_uint_gt(had, 0);
    sim_restart(s, 0, false); /* the primary comes back empty */
    int prim = sim_settle(s, 15000);
    ck_assert_msg(prim == 1 || prim == 2, "primary %d: %s", prim, s->failure);
    ck_assert_uint_ge(s->nodes[prim].len, had);
    ck_assert_uint_ge(s->nodes[0].len, had); /* resynced, not wiped */
    finish(s);
}
END_TEST

/* An election that produced nothing leaves the primary in place with a
 * stale epoch: it stops counting acknowledgements, then reconfirms itself
 * in a new epoch and counts them again. */
START_TEST(stale_epoch_reconfirm)
{
    sim *s = boot(3, 0, 10, NULL);
    sim_run(s, 1000);
    rkv_fo_msg m;
    memset(&m, 0, sizeof m);
    m.type = RKV_FO_MSG_VOTE_REQ;
    memcpy(m.from, s->nodes[1].id, sizeof m.from);
    m.epoch = 5;
    sim_inject(s, 0, &m);
    sim_inject(s, 2, &m);
    ck_assert(!s->nodes[0].count_acks);
    ck_assert(s->nodes[2].detached);
    size_t acked_before = 0;
    for (size_t k = 0; k < s->nw; k++)
        acked_before += s->w[k].acked;
    sim_run(s, 6000);
    ck_assert_int_eq(s->nodes[0].role, RKV_FO_ROLE_PRIMARY);
    ck_assert(s->nodes[0].count_acks);
    rkv_fo_info info;
    rkv_fo_get_info(s->nodes[0].fo, s->now, &info);
    ck_assert_uint_ge(info.conf.epoch, 6);
    ck_assert_str_eq(info.conf.primary, s->nodes[0].id);
    size_t acked_after = 0;
    for (size_t k = 0; k < s->nw; k++)
        acked_after += s->w[k].acked;
    ck_assert_uint_gt(acked_after, acked_before);
    ck_assert_uint_eq(s->nodes[0].n_div, 0);
    finish(s);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("failover_sim");
    TCase *sc = tcase_create("scenarios");
    tcase_add_test(sc, three_data_lose_primary);
    tcase_add_test(sc, two_data_one_witness_lose_primary);
    tcase_add_test(sc, minority_with_primary);
    tcase_add_test(sc, primary_paused_then_resumed);
    tcase_add_test(sc, manual_failover_no_loss);
    tcase_add_test(sc, decision_veto_honoured);
    tcase_add_test(sc, decision_pick_honoured);
    tcase_add_test(sc, forget_a_node);
    tcase_add_test(sc, fresh_primary_restart_no_wipe);
    tcase_add_test(sc, stale_epoch_reconfirm);
    suite_add_tcase(s, sc);
    TCase *rc = tcase_create("random");
    tcase_set_timeout(rc, 600);
    tcase_add_test(rc, random_schedules);
    suite_add_tcase(s, rc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
