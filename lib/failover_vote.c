/*
 * failover_vote.c - elections: who may ask for votes and when, how a node
 * votes, and when a candidate has won (docs/PROTOCOL.md 11.5).
 *
 * Rules (DESIGN.md, Failover; Sentinel's leader election):
 *   1. a booted node that sees the primary ODOWN waits a random back-off
 *      (0 .. 5 ping intervals), so that elections rarely collide, then
 *      starts one: current_epoch + 1, votes for itself, persists, asks;
 *   2. a node votes once per epoch, for the first candidate that asks in
 *      it, and persists (epoch, voted_for) before the vote is sent: the
 *      PERSIST action precedes the SEND in the list;
 *   3. it refuses a candidate that wants to replace an older configuration
 *      than the one it holds;
 *   4. the candidate wins with max(majority of all known voters, quorum)
 *      votes; a minority side of a partition therefore never wins;
 *   5. a node that voted for another, or lost, waits failover-timeout (plus
 *      a random part) before it tries again, in a new epoch;
 *   6. a primary left behind by an election that produced no configuration
 *      runs one itself (reconfirm) so that acknowledgements count again.
 */
#include "failover_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static int64_t jitter(rkv_fo *fo, int64_t range)
{
    if (range <= 0)
        return 0;
    return (int64_t)(rkv_rng_next(&fo->rng) % (uint64_t)range);
}

static unsigned votes_for_me(const rkv_fo *fo, uint64_t epoch)
{
    unsigned n = fo->voted_epoch == epoch && fo_is_self(fo, fo->voted_for);
    for (unsigned i = 0; i < fo->npeers; i++)
        if (fo->peers[i].vote_epoch == epoch &&
            fo_is_self(fo, fo->peers[i].vote_for))
            n++;
    return n;
}

static void check_won(rkv_fo *fo, rkv_fo_actions *out)
{
    if (fo->phase != FO_ELECTION || fo->current_epoch != fo->run_epoch)
        return;
    unsigned n = votes_for_me(fo, fo->run_epoch);
    unsigned need = fo_needed_votes(fo);
    if (n < need)
        return;
    fo->phase = FO_SELECT;
    fo->run_step_ms = fo->now;
    fo->tl.elected_ms = fo->now;
    fo_copy_id(fo->last_leader, fo->cfg.node_id);
    fo->last_leader_epoch = fo->run_epoch;
    fo_notify(out, RKV_FO_EV_FAILOVER, fo->run_epoch, fo->cfg.node_id, 0,
              "elected leader of epoch %" PRIu64 " with %u votes of %u "
              "voters (needed %u)",
              fo->run_epoch, n, fo_voters(fo), need);
}

/* True when this election can no longer be won: the votes given to us
 * and those of the reachable voters that have not answered yet are fewer
 * than needed (they voted for another candidate in this epoch). */
static bool cannot_win(const rkv_fo *fo)
{
    unsigned possible = votes_for_me(fo, fo->run_epoch);
    if (fo->voted_epoch != fo->run_epoch)
        possible++; /* our own vote is still ours to give */
    for (unsigned i = 0; i < fo->npeers; i++) {
        const fo_peer *p = &fo->peers[i];
        if (p->vote_epoch != fo->run_epoch && fo_peer_reachable(fo, p))
            possible++;
    }
    return possible < fo_needed_votes(fo);
}

void fo_start_election(rkv_fo *fo, bool manual, rkv_fo_actions *out)
{
    uint64_t e = fo->current_epoch + 1;
    /* Rule 1 and 2: our own vote, persisted with the epoch, first. */
    fo->voted_epoch = e;
    fo_copy_id(fo->voted_for, fo->cfg.node_id);
    fo_learn_epoch(fo, e, out); /* persists; a replica detaches */
    fo->phase = FO_ELECTION;
    fo->run_epoch = e;
    fo->run_manual = manual;
    fo->run_reconfirm = false;
    fo->run_start_ms = fo->now;
    if (!manual)
        fo->run_deadline_ms = fo->now + fo->cfg.failover_timeout_ms;
    fo->run_step_ms = fo->now;
    fo->nreconf = 0;
    memset(&fo->tl, 0, sizeof fo->tl);
    fo->tl.epoch = e;
    fo->tl.manual = manual;
    fo_copy_id(fo->tl.leader, fo->cfg.node_id);
    fo_copy_id(fo->tl.old_primary, fo->conf.primary);
    fo_copy_id(fo->run_old_primary, fo->conf.primary);
    fo->tl.odown_ms = manual ? 0 : fo->odown_since;
    snprintf(fo->tl.result, sizeof fo->tl.result, "running");
    fo_notify(out, RKV_FO_EV_FAILOVER, e, fo->conf.primary, 0,
              "%s failover of primary %s: asking for votes in epoch %" PRIu64,
              manual ? "manual" : "automatic",
              fo->conf.primary[0] ? fo->conf.primary : "-", e);
    rkv_fo_msg *m = fo_new_msg(fo, out, RKV_FO_MSG_VOTE_REQ);
    if (m != NULL) {
        m->vote_req.config_epoch = fo->conf.epoch;
        m->vote_req.flags = manual ? RKV_FO_F_MANUAL : 0;
        for (unsigned i = 0; i < fo->npeers; i++)
            fo_send(out, &fo->peers[i], m);
    }
    check_won(fo, out); /* a single voter */
}

void fo_vote_tick(rkv_fo *fo, rkv_fo_actions *out)
{
    if (fo->phase == FO_ELECTION) {
        check_won(fo, out);
        /* A split vote (candidates that started together) would otherwise
         * hold the cluster for failover-timeout: give up at once and try
         * again after a short random back-off, as Raft does. */
        if (fo->phase == FO_ELECTION && cannot_win(fo)) {
            bool manual = fo->run_manual;
            fo_run_abort(fo, "split vote", out);
            if (!manual)
                fo->next_try_ms =
                    fo->now + (int64_t)fo->cfg.ping_interval_ms / 2 +
                    jitter(fo, 3 * (int64_t)fo->cfg.ping_interval_ms);
            return;
        }
        /* Ask again those that have not answered (requests get lost). */
        if (fo->phase == FO_ELECTION &&
            fo->now - fo->run_step_ms >= 2 * (int64_t)fo->cfg.ping_interval_ms) {
            fo->run_step_ms = fo->now;
            rkv_fo_msg *m = fo_new_msg(fo, out, RKV_FO_MSG_VOTE_REQ);
            if (m != NULL) {
                m->epoch = fo->run_epoch;
                m->vote_req.config_epoch = fo->conf.epoch;
                m->vote_req.flags = fo->run_manual ? RKV_FO_F_MANUAL : 0;
                for (unsigned i = 0; i < fo->npeers; i++)
                    if (fo->peers[i].vote_epoch != fo->run_epoch)
                        fo_send(out, &fo->peers[i], m);
            }
        }
        return;
    }
    /* Rule 6: a primary that learned of a newer election which left no
     * configuration stops counting acknowledgements (RKV_FO_ACT_ACKS); to
     * count them again it runs an election itself, ranking itself with
     * the replicas, after failover-timeout. */
    if (fo->phase == FO_IDLE && fo->booted && fo->role == RKV_FO_ROLE_PRIMARY &&
        fo_is_self(fo, fo->conf.primary) &&
        fo->current_epoch > fo->conf.epoch &&
        fo->now - fo->epoch_learned_ms >= fo->cfg.failover_timeout_ms &&
        fo->now >= fo->next_try_ms) {
        fo_start_election(fo, false, out);
        fo->run_reconfirm = true;
        snprintf(fo->tl.result, sizeof fo->tl.result, "running (reconfirm)");
        return;
    }
    if (!fo->primary_odown) {
        fo->try_armed = false;
        return;
    }
    if (fo->phase != FO_IDLE || !fo->booted ||
        fo_is_self(fo, fo->conf.primary))
        return;
    if (!fo->try_armed) {
        fo->try_armed = true;
        /* Candidates that collide abandon the split vote at once and
         * back off again (above), so the first try need not wait long. */
        int64_t at =
            fo->now + jitter(fo, (int64_t)fo->cfg.ping_interval_ms / 2);
        if (at > fo->next_try_ms)
            fo->next_try_ms = at;
    }
    if (fo->now < fo->next_try_ms)
        return;
    fo_start_election(fo, false, out);
}

void fo_on_vote_req(rkv_fo *fo, const rkv_fo_msg *m, rkv_fo_actions *out)
{
    uint64_t e = m->epoch;
    fo_learn_epoch(fo, e, out);
    if (e < fo->current_epoch)
        return; /* stale: a later epoch runs */
    if (m->vote_req.config_epoch < fo->conf.epoch)
        return; /* rule 3: it would replace an older configuration */
    if (fo->voted_epoch < e) {
        /* Rule 2: first come, persisted before it is sent. */
        fo->voted_epoch = e;
        fo_copy_id(fo->voted_for, m->from);
        fo_persist(fo, out);
        fo_notify(out, RKV_FO_EV_FAILOVER, e, m->from, 0,
                  "voted for %s in epoch %" PRIu64, m->from, e);
        if (!fo_is_self(fo, m->from)) {
            /* Rule 5: let it run before trying ourselves. */
            int64_t at = fo->now + fo->cfg.failover_timeout_ms +
                         jitter(fo, 5 * (int64_t)fo->cfg.ping_interval_ms);
            if (at > fo->next_try_ms)
                fo->next_try_ms = at;
        }
    }
    if (fo->voted_epoch != e)
        return;
    rkv_fo_msg *r = fo_new_msg(fo, out, RKV_FO_MSG_VOTE);
    if (r == NULL)
        return;
    r->epoch = e;
    fo_copy_id(r->vote.leader, fo->voted_for);
    fo_peer *p = fo_peer_find(fo, m->from);
    fo_peer to;
    if (p == NULL) {
        memset(&to, 0, sizeof to);
        fo_copy_id(to.id, m->from); /* the host answers on its link */
        p = &to;
    }
    fo_send(out, p, r);
}

void fo_on_vote(rkv_fo *fo, const rkv_fo_msg *m, rkv_fo_actions *out)
{
    fo_learn_epoch(fo, m->epoch, out);
    fo_peer *p = fo_peer_find(fo, m->from);
    if (p == NULL)
        return;
    if (m->epoch >= p->vote_epoch) {
        p->vote_epoch = m->epoch;
        fo_copy_id(p->vote_for, m->vote.leader);
    }
    check_won(fo, out);
}
