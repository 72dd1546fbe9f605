/*
 * sim_sched.c - random schedules for the simulated cluster (sim.h): a
 * cluster shape, network quality and options drawn from the seed, a
 * stretch of random faults (kills, restarts with and without state,
 * partitions both ways and one way, process pauses, manual failovers),
 * then the network heals and the cluster must settle with every
 * invariant intact.
 */
#include "sim.h"

#include <stdio.h>
#include <string.h>

static uint64_t r_(rkv_rng *r, uint64_t n)
{
    return n ? rkv_rng_next(r) % n : 0;
}

/* The application vetoes now and then; it never picks a worse replica in
 * random schedules (that would lose acknowledged writes by choice). */
static rkv_fo_verdict random_decide(sim *s, unsigned node,
                                    const rkv_fo_candidate *c, unsigned n,
                                    char pick[RKV_FO_ID_SIZE], char *reason,
                                    size_t cap)
{
    (void)node;
    (void)pick;
    if (n > 0 && rkv_rng_next(&s->rng) % 4 == 0) {
        snprintf(reason, cap, "random veto of %s", c[0].id);
        return RKV_FO_VETO;
    }
    snprintf(reason, cap, "fine");
    return RKV_FO_ACCEPT;
}

/* Fault model: one node at a time loses its state. Once a majority has
 * forgotten the epochs it voted in and the configurations it saw, no
 * protocol can keep its promises (Raft and Sentinel alike). */
static bool may_wipe(sim *s, unsigned who)
{
    for (unsigned i = 0; i < s->n; i++) {
        if (i == who || !s->nodes[i].alive)
            continue;
        rkv_fo_info info;
        rkv_fo_get_info(s->nodes[i].fo, s->now, &info);
        if (info.fresh || !info.informed || !info.booted)
            return false;
    }
    return true;
}

bool sim_random_schedule(uint64_t seed, char *err, size_t cap, sim_stats *st)
{
    sim_stats local;
    if (st == NULL)
        st = &local;
    memset(&local, 0, sizeof local);
    rkv_rng r = {seed * 0x9E3779B97F4A7C15ull + 1};
    sim_params p;
    memset(&p, 0, sizeof p);
    static const unsigned shapes[][2] = {{3, 0}, {2, 1}, {3, 2}, {5, 0},
                                         {4, 1}, {3, 0}, {2, 1}};
    unsigned sh = (unsigned)r_(&r, sizeof shapes / sizeof shapes[0]);
    p.ndata = shapes[sh][0];
    p.nwitness = shapes[sh][1];
    p.drop_pm = (unsigned)r_(&r, 60);
    p.dup_pm = (unsigned)r_(&r, 30);
    p.delay_min = 1;
    p.delay_max = 5 + (unsigned)r_(&r, 40);
    p.parallel_syncs = 1 + (unsigned)r_(&r, 2);
    p.self_fence = r_(&r, 4) == 0;
    if (r_(&r, 5) == 0) {
        p.decision_hook = true;
        p.decide = random_decide;
    }
    for (unsigned i = 0; i < SIM_MAX; i++)
        p.priority[i] = 1 + (unsigned)r_(&r, 3);
    sim *s = sim_new(&p, seed);
    unsigned n = s->n;

    int prim = sim_settle(s, 8000);
    int64_t fault_end = s->now + 2000 + (int64_t)r_(&r, 8000);
    while (s->now < fault_end && !s->failure[0]) {
        sim_run(s, 100 + (int64_t)r_(&r, 300));
        unsigned a = (unsigned)r_(&r, n), b = (unsigned)r_(&r, n);
        switch (r_(&r, 12)) {
        case 0:
            st->kills += s->nodes[a].alive;
            sim_kill(s, a);
            break;
        case 1:
            if (!s->nodes[a].alive) {
                bool keep = r_(&r, 5) != 0 || !may_wipe(s, a);
                st->wipes += !keep;
                sim_restart(s, a, keep);
            }
            break;
        case 2: {
            unsigned side[SIM_MAX], ns = 0;
            for (unsigned i = 0; i < n; i++)
                if (r_(&r, 2))
                    side[ns++] = i;
            sim_partition(s, side, ns);
            st->partitions++;
            break;
        }
        case 3:
            if (a != b)
                sim_cut(s, a, b, true);
            break;
        case 4:
            sim_pause(s, a, s->p.down_after_ms * (1 + (int64_t)r_(&r, 3)));
            break;
        case 5:
            memset(s->cut, 0, sizeof s->cut);
            break;
        case 6:
            if (r_(&r, 3) == 0)
                st->manual += sim_request_failover(
                                  s, a, r_(&r, 2) ? (int)b : -1) == 0;
            break;
        case 7: /* kill whoever is primary */
            for (unsigned i = 0; i < n; i++)
                if (s->nodes[i].role == RKV_FO_ROLE_PRIMARY && r_(&r, 2))
                    sim_kill(s, i);
            break;
        default:
            break;
        }
    }
    sim_heal(s);
    prim = sim_settle(s, 30000);
    sim_check_final(s, prim);
    bool ok = s->failure[0] == 0;
    st->runs++;
    st->promotions += s->promotions;
    st->with_failover += s->promotions > 0;
    for (unsigned i = 0; i < n; i++) {
        st->divergences += s->nodes[i].n_div;
        st->vetoes += s->nodes[i].n_vetoes;
    }
    st->writes += s->nw;
    for (size_t k = 0; k < s->nw; k++)
        st->acked += s->w[k].acked;
    if (!ok)
        snprintf(err, cap, "SIM_SEED=%llu (%u data + %u witness): %s",
                 (unsigned long long)seed, p.ndata, p.nwitness, s->failure);
    sim_free(s);
    return ok;
}
