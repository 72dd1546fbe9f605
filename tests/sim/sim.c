/*
 * sim.c - the simulated cluster of sim.h: the host side of every node
 * (executes the core's actions), the network, the replication model and
 * the invariants checked while it runs.
 *
 * Invariants (the failover issue):
 *   I1 never two nodes taking writes in the same epoch;
 *   I2 a promotion in epoch E > 0 is backed by persisted votes of a
 *      majority of the voters for E's leader (a minority never promotes);
 *   I3 a vote is never sent before it is persisted;
 *   I4 the promoted replica holds every write a majority acknowledged;
 *   I5 no live data node in reach of the leader, frozen for the election
 *      and whose final offset the leader has heard, with the same or a
 *      better priority and history, has a higher offset (Sentinel's order;
 *      unless the decision hook picked another);
 *   I6 a fresh empty node never becomes primary while a primary exists;
 *   I7 after the network heals: one primary within a bounded time, every
 *      replica following it (sim_settle);
 *   I8 every write lost from its writer's log was in a divergence report.
 */
#include "sim.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stream.h"

#define STEP 5

void sim_fail(sim *s, const char *fmt, ...)
{
    if (s->failure[0])
        return;
    int k = snprintf(s->failure, sizeof s->failure, "t=%" PRId64 " ms: ",
                     s->now);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->failure + k, sizeof s->failure - (size_t)k, fmt, ap);
    va_end(ap);
    if (s->trace)
        fprintf(stderr, "FAIL %s\n", s->failure);
}

static uint64_t rnd(sim *s, uint64_t n)
{
    return n ? rkv_rng_next(&s->rng) % n : 0;
}

static int find_id(const sim *s, const char *id)
{
    for (unsigned i = 0; i < s->n; i++)
        if (strcmp(s->nodes[i].id, id) == 0)
            return (int)i;
    return -1;
}

static int find_addr(const sim *s, const rkv_fo_addr *a)
{
    for (unsigned i = 0; i < s->n; i++)
        if (s->nodes[i].addr.port == a->port &&
            strcmp(s->nodes[i].addr.host, a->host) == 0)
            return (int)i;
    return -1;
}

static unsigned ndata(const sim *s)
{
    return s->p.ndata;
}

/* ------------------------------------------------------------- network */

static void enqueue(sim *s, unsigned from, unsigned to, const uint8_t *b,
                    size_t len)
{
    if (s->cut[from][to] || rnd(s, 1000) < s->p.drop_pm)
        return;
    int copies = rnd(s, 1000) < s->p.dup_pm ? 2 : 1;
    for (int c = 0; c < copies; c++) {
        if (s->nq == s->capq) {
            s->capq = s->capq ? 2 * s->capq : 256;
            s->q = realloc(s->q, s->capq * sizeof *s->q);
        }
        sim_msg *m = &s->q[s->nq++];
        m->at = s->now + s->p.delay_min +
                (int64_t)rnd(s, s->p.delay_max - s->p.delay_min + 1);
        if (rnd(s, 100) == 0)
            m->at += (int64_t)rnd(s, 300); /* a slow one */
        m->from = from;
        m->to = to;
        m->len = len;
        m->bytes = malloc(len);
        memcpy(m->bytes, b, len);
    }
}

/* ------------------------------------------------------------- actions */

static void do_actions(sim *s, unsigned i, rkv_fo_actions *a);

static void status(sim *s, unsigned i)
{
    sim_node *nd = &s->nodes[i];
    rkv_fo_actions a;
    rkv_fo_actions_init(&a);
    rkv_fo_local_status(nd->fo, s->now, nd->role, (int64_t)nd->len,
                        nd->following, nd->link_up,
                        nd->link_up ? 0 : s->now - nd->link_down_since, &a);
    do_actions(s, i, &a);
    rkv_fo_actions_free(&a);
}

static void do_actions(sim *s, unsigned i, rkv_fo_actions *a)
{
    sim_node *nd = &s->nodes[i];
    const rkv_fo_msg *last = NULL;
    rkv_buf b;
    rkv_buf_init(&b);
    for (size_t k = 0; k < a->n; k++) {
        const rkv_fo_action *x = &a->v[k];
        switch (x->type) {
        case RKV_FO_ACT_PERSIST:
            nd->has_state = true;
            nd->state = x->state;
            if (x->state.voted_epoch > 0) {
                unsigned sl = (unsigned)(x->state.voted_epoch % 64);
                s->vote_epoch[sl][i] = x->state.voted_epoch + 1;
                s->vote_for[sl][i] = find_id(s, x->state.voted_for);
            }
            break;
        case RKV_FO_ACT_SEND: {
            const rkv_fo_msg *m = x->msg;
            if (m->type == RKV_FO_MSG_VOTE &&
                (!nd->has_state || nd->state.voted_epoch != m->epoch ||
                 strcmp(nd->state.voted_for, m->vote.leader) != 0))
                sim_fail(s, "I3: node %u sent a vote for %s in epoch %" PRIu64
                            " before persisting it",
                         i, m->vote.leader, m->epoch);
            if (m != last) {
                rkv_buf_clear(&b);
                if (rkv_fo_msg_encode(&b, m) != 0) {
                    sim_fail(s, "encode %s: %s", rkv_fo_msg_name(m->type),
                             replkv_last_error());
                    break;
                }
                last = m;
            }
            int to = x->to.id[0] ? find_id(s, x->to.id)
                                 : find_addr(s, &x->to.addr);
            if (to >= 0 && (unsigned)to != i)
                enqueue(s, i, (unsigned)to, b.data, b.len);
            break;
        }
        case RKV_FO_ACT_PROMOTE_SELF:
            if (nd->witness) {
                sim_fail(s, "witness %u promoted", i);
                break;
            }
            nd->role = RKV_FO_ROLE_PRIMARY;
            nd->count_acks = true;
            nd->primary_epoch = x->epoch;
            nd->following[0] = 0;
            nd->link_up = false;
            nd->detached = false;
            nd->link_down_since = s->now;
            sim_check_promotion(s, i, x->epoch);
            nd->fresh = false;
            nd->hist = x->epoch;
            nd->promo_len = nd->len;
            if (nd->acked_upto > nd->len)
                nd->acked_upto = nd->len;
            break;
        case RKV_FO_ACT_FOLLOW:
            nd->role = RKV_FO_ROLE_REPLICA;
            if (strcmp(nd->following, x->to.id) != 0 || !nd->link_up) {
                nd->link_up = false;
                nd->link_down_since = s->now;
            }
            memcpy(nd->following, x->to.id, sizeof nd->following);
            nd->detached = false;
            nd->ack = x->ack;
            nd->writes_paused = false;
            break;
        case RKV_FO_ACT_DETACH:
            nd->detached = true;
            nd->ack = false;
            if (nd->link_up)
                nd->link_down_since = s->now;
            nd->link_up = false;
            break;
        case RKV_FO_ACT_ACKS:
            nd->count_acks = x->ack;
            break;
        case RKV_FO_ACT_PAUSE_WRITES:
            nd->writes_paused = true;
            break;
        case RKV_FO_ACT_RESUME_WRITES:
            nd->writes_paused = false;
            break;
        case RKV_FO_ACT_ASK_DECISION: {
            char pick[RKV_FO_ID_SIZE] = "", reason[RKV_FO_REASON_SIZE] = "";
            rkv_fo_verdict v = RKV_FO_ACCEPT;
            if (s->p.decide)
                v = s->p.decide(s, i, x->cand, x->ncand, pick, reason,
                                sizeof reason);
            nd->n_decisions++;
            rkv_fo_actions a2;
            rkv_fo_actions_init(&a2);
            if (rkv_fo_decision(nd->fo, s->now, v, pick, reason, &a2) != 0)
                sim_fail(s, "decision refused: %s", replkv_last_error());
            do_actions(s, i, &a2);
            rkv_fo_actions_free(&a2);
            break;
        }
        case RKV_FO_ACT_NOTIFY:
            if (x->ev.type == RKV_FO_EV_DIVERGENCE)
                nd->n_div++;
            if (x->ev.type == RKV_FO_EV_DECISION &&
                x->ev.state == RKV_FO_VETO)
                nd->n_vetoes++;
            if (x->ev.type == RKV_FO_EV_DECISION) {
                nd->last_decision_verdict = x->ev.state;
                rkv_fo_get_info(nd->fo, s->now, &nd->decision_view);
            }
            if (x->ev.type == RKV_FO_EV_ROLE)
                nd->n_role++;
            if (s->trace)
                fprintf(stderr, "%7" PRId64 " n%u %s\n", s->now, i,
                        x->ev.reason);
            break;
        default:
            break;
        }
        if (s->trace && x->type != RKV_FO_ACT_SEND &&
            x->type != RKV_FO_ACT_NOTIFY && x->type != RKV_FO_ACT_PERSIST)
            fprintf(stderr, "%7" PRId64 " n%u ACT %s %s e%" PRIu64 "\n",
                    s->now, i, rkv_fo_act_name(x->type), x->to.id, x->epoch);
    }
    rkv_buf_free(&b);
}

/* --------------------------------------------------------- lifecycle */

static void node_start(sim *s, unsigned i)
{
    sim_node *nd = &s->nodes[i];
    rkv_fo_config c;
    rkv_fo_config_init(&c);
    memcpy(c.node_id, nd->id, sizeof c.node_id);
    c.self = nd->addr;
    c.witness = nd->witness;
    snprintf(c.name, sizeof c.name, "sim");
    c.monitor = s->nodes[0].addr;
    c.quorum = s->p.quorum;
    c.down_after_ms = s->p.down_after_ms;
    c.failover_timeout_ms = s->p.failover_timeout_ms;
    c.parallel_syncs = s->p.parallel_syncs;
    c.ping_interval_ms = s->p.ping_ms;
    c.replica_priority = s->p.priority[i];
    c.self_fence = s->p.self_fence;
    c.decision_hook = s->p.decision_hook;
    c.has_state = nd->has_state;
    c.state = nd->state;
    nd->fo = rkv_fo_new(&c, s->seed * 31 + i * 7919 + (uint64_t)s->now);
    if (nd->fo == NULL)
        sim_fail(s, "rkv_fo_new: %s", replkv_last_error());
    nd->alive = true;
    nd->role = RKV_FO_ROLE_NONE;
    nd->following[0] = 0;
    nd->link_up = false;
    nd->detached = false;
    nd->writes_paused = false;
    nd->link_down_since = s->now;
    nd->paused_until = 0;
    nd->acked_upto = nd->len;
}

sim *sim_new(const sim_params *p, uint64_t seed)
{
    sim *s = calloc(1, sizeof *s);
    s->p = *p;
    s->seed = seed;
    s->rng.s = seed;
    s->trace = getenv("SIM_TRACE") != NULL;
    s->n = p->ndata + p->nwitness;
    if (s->n > SIM_MAX || p->ndata == 0)
        abort();
    if (!s->p.ping_ms)
        s->p.ping_ms = 100;
    if (!s->p.down_after_ms)
        s->p.down_after_ms = 500;
    if (!s->p.failover_timeout_ms)
        s->p.failover_timeout_ms = 2000;
    if (!s->p.quorum)
        s->p.quorum = s->n / 2 + 1;
    if (!s->p.parallel_syncs)
        s->p.parallel_syncs = 1;
    if (!s->p.delay_max)
        s->p.delay_min = 1, s->p.delay_max = 20;
    if (!s->p.write_pm)
        s->p.write_pm = 200;
    if (!s->p.catchup)
        s->p.catchup = 4;
    for (unsigned i = 0; i < s->n; i++) {
        sim_node *nd = &s->nodes[i];
        snprintf(nd->id, sizeof nd->id, "%040u", i + 1);
        snprintf(nd->addr.host, sizeof nd->addr.host, "10.0.0.%u", i + 1);
        nd->addr.port = 7000;
        nd->witness = i >= p->ndata;
        if (s->p.priority[i] == 0 && !s->p.prio_zero_ok)
            s->p.priority[i] = 100;
        nd->fresh = !nd->witness;
        node_start(s, i);
    }
    return s;
}

void sim_free(sim *s)
{
    if (s == NULL)
        return;
    for (unsigned i = 0; i < s->n; i++) {
        rkv_fo_free(s->nodes[i].fo);
        free(s->nodes[i].log);
    }
    for (size_t k = 0; k < s->nq; k++)
        free(s->q[k].bytes);
    free(s->q);
    free(s->w);
    free(s);
}

void sim_kill(sim *s, unsigned i)
{
    sim_node *nd = &s->nodes[i];
    if (!nd->alive)
        return;
    if (s->trace)
        fprintf(stderr, "%7" PRId64 " FAULT kill n%u\n", s->now, i);
    rkv_fo_free(nd->fo);
    nd->fo = NULL;
    nd->alive = false;
    nd->role = RKV_FO_ROLE_NONE;
    nd->link_up = false;
}

void sim_restart(sim *s, unsigned i, bool keep_state)
{
    sim_node *nd = &s->nodes[i];
    sim_kill(s, i);
    if (s->trace)
        fprintf(stderr, "%7" PRId64 " FAULT restart n%u %s\n", s->now, i,
                keep_state ? "with state" : "WIPED");
    if (!keep_state) {
        /* Wipe: writes only this node held die with it (excused), as do
         * acknowledged writes no majority holds any more. */
        for (size_t k = 0; k < s->nw; k++) {
            sim_write *w = &s->w[k];
            if (w->excused || w->pos >= nd->len || nd->log[w->pos] != w->id)
                continue;
            unsigned holders = 0;
            for (unsigned j = 0; j < s->n; j++)
                if (j != i && w->pos < s->nodes[j].len &&
                    s->nodes[j].log[w->pos] == w->id)
                    holders++;
            if (holders == 0 || (w->acked && holders < ndata(s) / 2 + 1))
                w->excused = true;
            if (w->node == i)
                w->reported = true; /* lost with the writer's disk */
        }
        nd->has_state = false;
        memset(&nd->state, 0, sizeof nd->state);
        nd->len = 0;
        nd->hist = 0;
        nd->fresh = !nd->witness;
    }
    node_start(s, i);
}

void sim_pause(sim *s, unsigned i, int64_t ms)
{
    if (s->trace)
        fprintf(stderr, "%7" PRId64 " FAULT pause n%u %" PRId64 " ms\n",
                s->now, i, ms);
    s->nodes[i].paused_until = s->now + ms;
}

void sim_cut(sim *s, unsigned from, unsigned to, bool cut)
{
    if (s->trace)
        fprintf(stderr, "%7" PRId64 " FAULT cut n%u -> n%u %d\n", s->now,
                from, to, cut);
    s->cut[from][to] = cut;
}

void sim_partition(sim *s, const unsigned *side, unsigned nside)
{
    bool in[SIM_MAX] = {false};
    for (unsigned k = 0; k < nside; k++)
        in[side[k]] = true;
    if (s->trace) {
        fprintf(stderr, "%7" PRId64 " FAULT partition", s->now);
        for (unsigned k = 0; k < nside; k++)
            fprintf(stderr, " n%u", side[k]);
        fprintf(stderr, " | rest\n");
    }
    for (unsigned a = 0; a < s->n; a++)
        for (unsigned b = 0; b < s->n; b++)
            if (in[a] != in[b])
                s->cut[a][b] = true;
}

void sim_heal(sim *s)
{
    if (s->trace)
        fprintf(stderr, "%7" PRId64 " FAULT heal\n", s->now);
    memset(s->cut, 0, sizeof s->cut);
    for (unsigned i = 0; i < s->n; i++) {
        if (!s->nodes[i].alive && !s->forgotten[i])
            sim_restart(s, i, true);
        s->nodes[i].paused_until = 0;
    }
}

int sim_request_failover(sim *s, unsigned at, int target)
{
    sim_node *nd = &s->nodes[at];
    if (!nd->alive)
        return REPLKV_EINVAL;
    rkv_fo_actions a;
    rkv_fo_actions_init(&a);
    int rc = rkv_fo_request_failover(nd->fo, s->now,
                                     target >= 0 ? s->nodes[target].id : NULL,
                                     0, &a);
    do_actions(s, at, &a);
    rkv_fo_actions_free(&a);
    return rc;
}

void sim_inject(sim *s, unsigned to, const rkv_fo_msg *m)
{
    rkv_fo_actions a;
    rkv_fo_actions_init(&a);
    rkv_fo_receive(s->nodes[to].fo, s->now, m, &a);
    do_actions(s, to, &a);
    rkv_fo_actions_free(&a);
}

int sim_forget(sim *s, unsigned at, unsigned who)
{
    rkv_fo_actions a;
    rkv_fo_actions_init(&a);
    int rc = rkv_fo_forget(s->nodes[at].fo, s->now, s->nodes[who].id, &a);
    if (rc == 0)
        s->forgotten[who] = true;
    do_actions(s, at, &a);
    rkv_fo_actions_free(&a);
    return rc;
}

/* ------------------------------------------------------------- stepping */

static bool linked(const sim *s, unsigned a, unsigned b)
{
    return s->nodes[a].alive && s->nodes[b].alive && !s->cut[a][b] &&
           !s->cut[b][a] && s->nodes[a].paused_until <= s->now &&
           s->nodes[b].paused_until <= s->now;
}

static void replicate(sim *s, unsigned i)
{
    sim_node *nd = &s->nodes[i];
    int pi = nd->following[0] ? find_id(s, nd->following) : -1;
    bool up = nd->role == RKV_FO_ROLE_REPLICA && !nd->detached && pi >= 0 &&
              (unsigned)pi != i && linked(s, i, (unsigned)pi) &&
              s->nodes[pi].role == RKV_FO_ROLE_PRIMARY;
    if (!up) {
        if (nd->link_up)
            nd->link_down_since = s->now;
        nd->link_up = false;
        return;
    }
    sim_node *pr = &s->nodes[pi];
    /* PSYNC: keep the common prefix; what lies past it diverged. */
    size_t cp = nd->len < pr->len ? nd->len : pr->len;
    while (cp > 0 && nd->log[cp - 1] != pr->log[cp - 1])
        cp--;
    if (cp < nd->len) {
        for (size_t k = 0; k < s->nw; k++) {
            sim_write *w = &s->w[k];
            if (w->node == i && w->pos >= cp && w->pos < nd->len &&
                nd->log[w->pos] == w->id)
                w->reported = true;
        }
        rkv_fo_actions a;
        rkv_fo_actions_init(&a);
        rkv_fo_divergence(nd->fo, s->now, (int64_t)cp, (int64_t)nd->len,
                          pr->id, &a);
        nd->len = cp;
        if (nd->acked_upto > cp)
            nd->acked_upto = cp;
        do_actions(s, i, &a);
        rkv_fo_actions_free(&a);
    }
    size_t want = pr->len - nd->len;
    if (want > s->p.catchup)
        want = s->p.catchup;
    if (nd->len + want > nd->cap) {
        nd->cap = (nd->len + want) * 2 + 64;
        nd->log = realloc(nd->log, nd->cap * sizeof *nd->log);
    }
    if (want > 0)
        memcpy(nd->log + nd->len, pr->log + nd->len, want * sizeof *nd->log);
    nd->len += want;
    nd->link_up = true;
    if (nd->len >= pr->promo_len)
        nd->hist = pr->primary_epoch;
    if (nd->len == pr->len)
        nd->fresh = false;
}

static void write_and_ack(sim *s, unsigned i)
{
    sim_node *nd = &s->nodes[i];
    if (nd->role != RKV_FO_ROLE_PRIMARY || nd->writes_paused)
        return;
    if (rnd(s, 1000) < s->p.write_pm) {
        unsigned slot = (unsigned)(nd->primary_epoch % 64);
        if (s->epoch_writer_epoch[slot] == nd->primary_epoch + 1 &&
            s->epoch_writer[slot] != i)
            sim_fail(s, "I1: nodes %" PRIu64 " and %u took writes in "
                        "epoch %" PRIu64,
                     s->epoch_writer[slot], i, nd->primary_epoch);
        s->epoch_writer[slot] = i;
        s->epoch_writer_epoch[slot] = nd->primary_epoch + 1;
        if (s->nw == s->capw) {
            s->capw = s->capw ? 2 * s->capw : 1024;
            s->w = realloc(s->w, s->capw * sizeof *s->w);
        }
        sim_write *w = &s->w[s->nw];
        memset(w, 0, sizeof *w);
        w->id = (uint32_t)++s->nw;
        w->node = i;
        w->epoch = nd->primary_epoch;
        w->pos = nd->len;
        if (nd->len == nd->cap) {
            nd->cap = nd->cap * 2 + 64;
            nd->log = realloc(nd->log, nd->cap * sizeof *nd->log);
        }
        nd->log[nd->len++] = w->id;
    }
    /* replkv_wait: held by a majority of data nodes, acks from replicas
     * linked to this primary. */
    while (nd->count_acks && nd->acked_upto < nd->len) {
        size_t pos = nd->acked_upto;
        unsigned n = 1;
        for (unsigned j = 0; j < s->n; j++) {
            sim_node *r = &s->nodes[j];
            if (j != i && r->alive && r->link_up && r->ack &&
                strcmp(r->following, nd->id) == 0 && r->len > pos &&
                r->log[pos] == nd->log[pos])
                n++;
        }
        if (n < ndata(s) / 2 + 1)
            break;
        uint32_t id = nd->log[pos];
        if (id >= 1 && id <= s->nw && !s->w[id - 1].acked) {
            s->w[id - 1].acked = true;
            if (s->trace)
                fprintf(stderr, "%7" PRId64 " n%u acked write %u at %zu "
                        "(%u holders)\n", s->now, i, id, pos, n);
        }
        nd->acked_upto++;
    }
}

static void deliver(sim *s)
{
    size_t k = 0;
    while (k < s->nq) {
        sim_msg *m = &s->q[k];
        sim_node *to = &s->nodes[m->to];
        if (m->at > s->now || (to->alive && to->paused_until > s->now)) {
            k++;
            continue;
        }
        sim_msg cur = *m;
        s->q[k] = s->q[--s->nq];
        if (to->alive) {
            rkv_frame f;
            rkv_fo_msg msg;
            if (rkv_frame_parse(cur.bytes, cur.len, 1u << 20, &f) != 1 ||
                rkv_fo_msg_decode(f.payload, f.len, &msg) != 0) {
                sim_fail(s, "decode: %s", replkv_last_error());
            } else {
                rkv_fo_actions a;
                rkv_fo_actions_init(&a);
                rkv_fo_receive(to->fo, s->now, &msg, &a);
                do_actions(s, cur.to, &a);
                rkv_fo_actions_free(&a);
            }
        }
        free(cur.bytes);
    }
}

static void step(sim *s)
{
    s->now += STEP;
    deliver(s);
    for (unsigned i = 0; i < s->n; i++) {
        sim_node *nd = &s->nodes[i];
        if (!nd->alive || nd->paused_until > s->now)
            continue;
        if (!nd->witness) {
            replicate(s, i);
            write_and_ack(s, i);
        }
        status(s, i);
        if ((s->now / STEP + i) % 2 == 0) {
            rkv_fo_actions a;
            rkv_fo_actions_init(&a);
            rkv_fo_tick(nd->fo, s->now, &a);
            do_actions(s, i, &a);
            rkv_fo_actions_free(&a);
        }
    }
}

void sim_run(sim *s, int64_t ms)
{
    int64_t end = s->now + ms;
    while (s->now < end)
        step(s);
}

