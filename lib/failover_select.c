/*
 * failover_select.c - the failover a leader runs once elected: replica
 * selection, the application's decision, promotion, reconfiguration of the
 * other replicas, and the manual failover that leads into it
 * (docs/PROTOCOL.md 11.6 - 11.8).
 *
 * Steps (numbers as in PROTOCOL.md 11.6):
 *   1. SELECT: wait until enough data nodes have reported a final offset
 *      (sent while detached, in the election's epoch): ceil(D/2) of the D
 *      data nodes, the failed primary excluded (a fresh node's report is
 *      empty: what it held is gone either way). Any write a majority of
 *      data nodes acknowledged is then on one of them; candidates that may
 *      lack one are dropped (the "safe" position below). Rank (Sentinel's
 *      order): reachable, priority != 0, not fresh, not disconnected from
 *      the primary too long, lowest priority, highest position (history
 *      epoch, then offset: offsets of different histories do not
 *      compare), smallest id.
 *   2. DECIDE: with a decision hook, ASK_DECISION with the ranking and
 *      wait for rkv_fo_decision() (accept, pick another, veto).
 *   3. PROMOTE the chosen replica with the new configuration (epoch, it,
 *      leader), repeated until the configuration comes back in its pings.
 *   4. RECONF: FOLLOW to the other replicas, parallel_syncs at a time; one
 *      is done when it reports replicating the new primary with its link
 *      up; unreachable ones are skipped (they learn the configuration from
 *      pings when they return).
 * A run that has not promoted within failover-timeout is abandoned and
 * retried later in a new epoch.
 *
 * Manual failover (11.8): the primary pauses writes, waits until the
 * target's offset equals its own, wins an election, promotes the target
 * (no ranking, no decision) and steps down when the configuration comes
 * back; it resumes writes if the timeout passes first.
 */
#include "failover_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cand_cmp(const void *a, const void *b)
{
    const rkv_fo_candidate *x = a, *y = b;
    if (x->priority != y->priority)
        return x->priority < y->priority ? -1 : 1;
    if (x->hist_epoch != y->hist_epoch)
        return x->hist_epoch > y->hist_epoch ? -1 : 1;
    if (x->offset != y->offset)
        return x->offset > y->offset ? -1 : 1;
    return strcmp(x->id, y->id);
}

static unsigned data_nodes(const rkv_fo *fo)
{
    unsigned d = fo->cfg.witness ? 0 : 1;
    for (unsigned i = 0; i < fo->npeers; i++)
        if (!fo->peers[i].witness)
            d++;
    return d;
}

int fo_rank(rkv_fo *fo, rkv_fo_candidate *c, unsigned *n, int64_t *max_offset,
            unsigned *reports)
{
    *n = 0;
    *reports = 0;
    *max_offset = -1;
    int64_t max_down = 10 * (int64_t)fo->cfg.down_after_ms +
                       (fo->primary_odown ? fo->now - fo->odown_since : 0);
    /* A fresh node's report counts (it holds nothing and never will hold
     * what was wiped), but it is never a candidate. */
    if (!fo->cfg.witness &&
        (!fo_is_self(fo, fo->run_old_primary) || fo->run_reconfirm)) {
        (*reports)++;
        *max_offset = fo->fresh ? 0 : fo->offset;
        if (fo->cfg.replica_priority != 0 && !fo->fresh) {
            rkv_fo_candidate *x = &c[(*n)++];
            fo_copy_id(x->id, fo->cfg.node_id);
            x->addr = fo->cfg.self;
            x->priority = fo->cfg.replica_priority;
            x->hist_epoch = fo->hist_epoch;
            x->offset = fo->offset;
        }
    }
    for (unsigned i = 0; i < fo->npeers; i++) {
        const fo_peer *p = &fo->peers[i];
        if (p->witness || strcmp(p->id, fo->run_old_primary) == 0 ||
            !fo_peer_reachable(fo, p))
            continue;
        /* Only a final offset counts: sent detached, in this epoch. */
        if (p->epoch < fo->run_epoch || !(p->flags & RKV_FO_F_DETACHED))
            continue;
        (*reports)++;
        if (p->offset > *max_offset)
            *max_offset = p->offset;
        if (p->priority == 0 || p->link_down_ms > max_down ||
            (p->flags & RKV_FO_F_FRESH))
            continue;
        rkv_fo_candidate *x = &c[(*n)++];
        fo_copy_id(x->id, p->id);
        x->addr = p->addr;
        x->priority = p->priority;
        x->hist_epoch = p->hist_epoch;
        x->offset = p->offset;
    }
    qsort(c, *n, sizeof *c, cand_cmp);
    return 0;
}

static void promote_target(rkv_fo *fo, rkv_fo_actions *out);

void fo_run_abort(rkv_fo *fo, const char *why, rkv_fo_actions *out)
{
    if (fo->phase == FO_IDLE)
        return;
    fo_notify(out, RKV_FO_EV_FAILOVER, fo->run_epoch, fo->run_target, 0,
              "failover of epoch %" PRIu64 " aborted: %s", fo->run_epoch, why);
    snprintf(fo->tl.result, sizeof fo->tl.result, "aborted: %s", why);
    fo->phase = FO_IDLE;
    if (fo->run_manual)
        fo->pause_manual = false;
    fo->run_manual = false;
    fo->run_reconfirm = false;
    int64_t at = fo->now + fo->cfg.failover_timeout_ms +
                 (int64_t)(rkv_rng_next(&fo->rng) %
                           (5 * (uint64_t)fo->cfg.ping_interval_ms + 1));
    if (at > fo->next_try_ms)
        fo->next_try_ms = at;
}

static void send_conf(rkv_fo *fo, unsigned type, const fo_peer *p,
                      rkv_fo_actions *out)
{
    rkv_fo_msg *m = fo_new_msg(fo, out, type);
    if (m == NULL)
        return;
    m->epoch = fo->run_epoch > fo->current_epoch ? fo->run_epoch
                                                 : fo->current_epoch;
    if (type == RKV_FO_MSG_FOLLOW) {
        m->conf.conf = fo->conf;
    } else {
        m->conf.conf.epoch = fo->run_epoch;
        fo_copy_id(m->conf.conf.primary, fo->run_target);
        fo_copy_id(m->conf.conf.leader, fo->cfg.node_id);
        fo_peer *t = fo_peer_find(fo, fo->run_target);
        if (t != NULL)
            m->conf.conf.addr = t->addr;
    }
    fo_send(out, p, m);
}

/* Step 3. */
static void promote_target(rkv_fo *fo, rkv_fo_actions *out)
{
    fo->phase = FO_PROMOTE;
    fo->run_step_ms = fo->now;
    fo_copy_id(fo->tl.new_primary, fo->run_target);
    if (fo_is_self(fo, fo->run_target)) {
        rkv_fo_msg m;
        memset(&m, 0, sizeof m);
        m.type = RKV_FO_MSG_PROMOTE;
        fo_copy_id(m.from, fo->cfg.node_id);
        m.epoch = fo->run_epoch;
        m.conf.conf.epoch = fo->run_epoch;
        fo_copy_id(m.conf.conf.primary, fo->cfg.node_id);
        fo_copy_id(m.conf.conf.leader, fo->cfg.node_id);
        m.conf.conf.addr = fo->cfg.self;
        fo_on_promote(fo, &m, out);
        return;
    }
    fo_peer *p = fo_peer_find(fo, fo->run_target);
    if (p != NULL)
        send_conf(fo, RKV_FO_MSG_PROMOTE, p, out);
}

void fo_decision_apply(rkv_fo *fo, rkv_fo_verdict v, const char *pick,
                       const char *reason, rkv_fo_actions *out)
{
    const char *chosen = v == RKV_FO_PICK     ? pick
                         : v == RKV_FO_ACCEPT ? fo->ranked[0].id
                                              : "";
    fo_notify(out, RKV_FO_EV_DECISION, fo->run_epoch, chosen, (int)v,
              "%s %s: %s",
              v == RKV_FO_VETO     ? "veto"
              : v == RKV_FO_PICK   ? "pick"
                                   : "accept",
              chosen[0] ? chosen : "-", reason ? reason : "");
    if (v == RKV_FO_VETO) {
        fo_run_abort(fo, "vetoed by the application", out);
        return;
    }
    fo_copy_id(fo->run_target, chosen);
    promote_target(fo, out);
}

/* Step 1 (and 2 with a hook). */
static void select_step(rkv_fo *fo, rkv_fo_actions *out)
{
    if (fo->run_manual) {
        promote_target(fo, out);
        return;
    }
    rkv_fo_candidate c[RKV_FO_MAX_NODES];
    unsigned n, reports;
    int64_t max_off;
    fo_rank(fo, c, &n, &max_off, &reports);
    unsigned d = data_nodes(fo);
    if (reports < (d + 1) / 2 || n == 0)
        return; /* wait for more final offsets (or time out) */
    /* Rank with every data node in reach, not just enough of them: a
     * reachable replica's final offset is one ping away. */
    for (unsigned i = 0; i < fo->npeers; i++) {
        const fo_peer *p = &fo->peers[i];
        if (p->witness || strcmp(p->id, fo->run_old_primary) == 0 ||
            !fo_peer_reachable(fo, p) || (p->flags & RKV_FO_F_FRESH) ||
            p->role == RKV_FO_ROLE_PRIMARY)
            continue;
        if (p->epoch < fo->run_epoch || !(p->flags & RKV_FO_F_DETACHED))
            return;
    }
    /* Safety over rank: an acknowledged write is on a majority of data
     * nodes; with the final offsets in hand and the rest assumed to hold
     * everything, the k-th highest reported offset is the lowest one that
     * surely covers every acknowledged write. Candidates below it are
     * dropped, whatever their priority. */
    rkv_fo_candidate offs[RKV_FO_MAX_NODES]; /* (hist_epoch, offset) */
    unsigned no = 0;
    memset(offs, 0, sizeof offs);
    if (!fo->cfg.witness &&
        (!fo_is_self(fo, fo->run_old_primary) || fo->run_reconfirm)) {
        offs[no].hist_epoch = fo->fresh ? 0 : fo->hist_epoch;
        offs[no++].offset = fo->fresh ? 0 : fo->offset;
    }
    for (unsigned i = 0; i < fo->npeers; i++) {
        const fo_peer *p = &fo->peers[i];
        if (p->witness || strcmp(p->id, fo->run_old_primary) == 0 ||
            !fo_peer_reachable(fo, p) || p->epoch < fo->run_epoch ||
            !(p->flags & RKV_FO_F_DETACHED))
            continue;
        bool fr = (p->flags & RKV_FO_F_FRESH) != 0;
        offs[no].hist_epoch = fr ? 0 : p->hist_epoch;
        offs[no++].offset = fr ? 0 : p->offset;
    }
    qsort(offs, no, sizeof offs[0], cand_cmp); /* same priority: by position */
    unsigned maj = d / 2 + 1, unknown = d > no ? d - no : 0;
    unsigned k = maj > unknown ? maj - unknown : 1;
    rkv_fo_candidate safe = no >= k ? offs[k - 1] : offs[0];
    unsigned kept = 0;
    for (unsigned i = 0; i < n; i++)
        if (c[i].hist_epoch > safe.hist_epoch ||
            (c[i].hist_epoch == safe.hist_epoch && c[i].offset >= safe.offset))
            c[kept++] = c[i];
    if (kept == 0) {
        if (fo->now - fo->run_step_ms >= (int64_t)fo->cfg.down_after_ms) {
            fo->run_step_ms = fo->now;
            fo_notify(out, RKV_FO_EV_FAILOVER, fo->run_epoch, "", 0,
                      "no eligible replica holds epoch %" PRIu64
                      " offset %" PRId64
                      " (what a majority may have acknowledged); waiting",
                      safe.hist_epoch, safe.offset);
        }
        return;
    }
    n = kept;
    fo_notify(out, RKV_FO_EV_FAILOVER, fo->run_epoch, c[0].id, 0,
              "ranked %u candidates from %u final offsets of %u data nodes: "
              "best %s at %" PRIu64 "/%" PRId64 " (safe from %" PRIu64
              "/%" PRId64 "; this node %s%" PRIu64 "/%" PRId64 ")",
              n, reports, d, c[0].id, c[0].hist_epoch, c[0].offset,
              safe.hist_epoch, safe.offset, fo->fresh ? "fresh " : "",
              fo->hist_epoch, fo->offset);
    free(fo->ranked);
    fo->ranked = malloc(n * sizeof *c);
    if (fo->ranked == NULL)
        return;
    memcpy(fo->ranked, c, n * sizeof *c);
    fo->nranked = n;
    if (!fo->cfg.decision_hook) {
        fo_decision_apply(fo, RKV_FO_ACCEPT, NULL,
                          "automatic: best ranked replica", out);
        return;
    }
    fo->phase = FO_DECIDE;
    rkv_fo_action a = {.type = RKV_FO_ACT_ASK_DECISION, .ncand = n};
    a.epoch = fo->run_epoch;
    /* The list owns the copy it hands out. */
    rkv_fo_candidate *copy = fo_own(out, n * sizeof *c);
    if (copy != NULL)
        memcpy(copy, c, n * sizeof *c);
    else
        a.ncand = 0;
    a.cand = copy;
    fo_push(out, &a);
}

static bool replica_done(const fo_peer *p, const char *target)
{
    return p->role == RKV_FO_ROLE_REPLICA && (p->flags & RKV_FO_F_LINK_UP) &&
           strcmp(p->following, target) == 0;
}

static void finish(rkv_fo *fo, const char *result, rkv_fo_actions *out)
{
    fo->phase = FO_IDLE;
    fo->run_manual = false;
    fo->run_reconfirm = false;
    fo->tl.done_ms = fo->now;
    snprintf(fo->tl.result, sizeof fo->tl.result, "%s", result);
    fo_notify(out, RKV_FO_EV_FAILOVER, fo->run_epoch, fo->run_target, 0,
              "failover of epoch %" PRIu64 " to %s: %s", fo->run_epoch,
              fo->run_target, result);
}

/* Step 4. */
static void reconf_step(rkv_fo *fo, rkv_fo_actions *out)
{
    unsigned busy = 0, left = 0;
    int64_t resend = 5 * (int64_t)fo->cfg.ping_interval_ms;
    if (!fo->cfg.witness && !fo_is_self(fo, fo->run_target))
        fo->conf_told = true; /* the leader itself follows at once */
    for (unsigned i = 0; i < fo->npeers; i++) {
        fo_peer *p = &fo->peers[i];
        if (p->witness || strcmp(p->id, fo->run_target) == 0 ||
            !fo_peer_reachable(fo, p) || replica_done(p, fo->run_target))
            continue;
        left++;
        for (unsigned j = 0; j < fo->nreconf; j++)
            if (strcmp(fo->reconf_sent[j], p->id) == 0) {
                busy++;
                if (fo->now - fo->reconf_sent_ms[j] >= resend) {
                    fo->reconf_sent_ms[j] = fo->now;
                    send_conf(fo, RKV_FO_MSG_FOLLOW, p, out);
                }
            }
    }
    if (left == 0) {
        finish(fo, "done", out);
        return;
    }
    for (unsigned i = 0; i < fo->npeers && busy < fo->cfg.parallel_syncs; i++) {
        fo_peer *p = &fo->peers[i];
        if (p->witness || strcmp(p->id, fo->run_target) == 0 ||
            !fo_peer_reachable(fo, p) || replica_done(p, fo->run_target))
            continue;
        bool sent = false;
        for (unsigned j = 0; j < fo->nreconf; j++)
            if (strcmp(fo->reconf_sent[j], p->id) == 0)
                sent = true;
        if (sent || fo->nreconf >= RKV_FO_MAX_NODES)
            continue;
        fo_copy_id(fo->reconf_sent[fo->nreconf], p->id);
        fo->reconf_sent_ms[fo->nreconf++] = fo->now;
        send_conf(fo, RKV_FO_MSG_FOLLOW, p, out);
        busy++;
    }
}

/* Manual failover, step 1: writes are paused; the election starts once the
 * target holds every write (its ping or its replication ACK says so). */
static void sync_step(rkv_fo *fo, rkv_fo_actions *out)
{
    fo_peer *t = fo_peer_find(fo, fo->run_target);
    if (fo->role != RKV_FO_ROLE_PRIMARY) {
        fo_run_abort(fo, "no longer the primary", out);
        return;
    }
    if (t != NULL && fo_peer_reachable(fo, t) &&
        (t->offset == fo->offset || fo->run_target_acked == fo->offset) &&
        (t->flags & RKV_FO_F_LINK_UP) && fo_is_self(fo, t->following))
        fo_start_election(fo, true, out);
}

int rkv_fo_abort_manual(rkv_fo *fo, int64_t now_ms, rkv_fo_actions *out)
{
    if (now_ms > fo->now)
        fo->now = now_ms;
    if (fo->phase == FO_IDLE || !fo->run_manual ||
        !fo_is_self(fo, fo->tl.old_primary))
        return rkv_fail(REPLKV_ESTATE, "failover: no manual failover of "
                                       "this primary in progress");
    if (fo->phase != FO_SYNC)
        return rkv_fail(REPLKV_EBUSY, "failover: its election has started; "
                                      "too late to abort");
    fo_run_abort(fo, "aborted by request", out);
    fo->next_try_ms = fo->now; /* nothing to back off from */
    fo_update_pause(fo, out);
    return 0;
}

const char *rkv_fo_manual_target(const rkv_fo *fo)
{
    return fo->phase == FO_SYNC ? fo->run_target : NULL;
}

void rkv_fo_replica_acked(rkv_fo *fo, int64_t now_ms, const char *id,
                          int64_t offset, rkv_fo_actions *out)
{
    if (fo->phase != FO_SYNC || strcmp(id, fo->run_target) != 0)
        return;
    if (now_ms > fo->now)
        fo->now = now_ms;
    fo->run_target_acked = offset;
    sync_step(fo, out);
}

void fo_run_tick(rkv_fo *fo, rkv_fo_actions *out)
{
    if (fo->phase == FO_IDLE)
        return;
    /* Someone else's configuration superseded ours, or ours came back. */
    if (fo->phase < FO_RECONF && fo->phase >= FO_ELECTION &&
        fo->conf.epoch >= fo->run_epoch) {
        if (fo->conf.epoch == fo->run_epoch &&
            strcmp(fo->conf.primary, fo->run_target) == 0) {
            fo->phase = FO_RECONF;
            fo->tl.promoted_ms = fo->now;
            fo->run_deadline_ms = fo->now + fo->cfg.failover_timeout_ms;
            fo_notify(out, RKV_FO_EV_FAILOVER, fo->run_epoch, fo->run_target,
                      0, "%s promoted in epoch %" PRIu64
                      ", reconfiguring replicas",
                      fo->run_target, fo->run_epoch);
        } else {
            fo_run_abort(fo, "a newer configuration exists", out);
            return;
        }
    }
    if (fo->phase <= FO_DECIDE && fo->phase >= FO_ELECTION &&
        fo->current_epoch > fo->run_epoch) {
        fo_run_abort(fo, "a later election started", out);
        return;
    }
    if (fo->now >= fo->run_deadline_ms) {
        if (fo->phase == FO_RECONF)
            finish(fo, "done (failover-timeout: some replicas were not "
                       "reconfigured; they follow by gossip)",
                   out);
        else
            fo_run_abort(fo, "timeout", out);
        return;
    }
    switch (fo->phase) {
    case FO_SYNC:
        sync_step(fo, out);
        return;
    case FO_SELECT:
        select_step(fo, out);
        return;
    case FO_PROMOTE:
        if (fo->now - fo->run_step_ms >= 2 * (int64_t)fo->cfg.ping_interval_ms) {
            fo->run_step_ms = fo->now;
            fo_peer *p = fo_peer_find(fo, fo->run_target);
            if (p != NULL)
                send_conf(fo, RKV_FO_MSG_PROMOTE, p, out);
        }
        return;
    case FO_RECONF:
        reconf_step(fo, out);
        return;
    default:
        return;
    }
}

/* The chosen replica's side of step 3. */
void fo_on_promote(rkv_fo *fo, const rkv_fo_msg *m, rkv_fo_actions *out)
{
    const rkv_fo_conf *c = &m->conf.conf;
    if (!fo_is_self(fo, c->primary) || fo->cfg.witness || fo->fresh)
        return;
    if (c->epoch <= fo->conf.epoch || c->epoch <= fo->no_promote_upto ||
        c->epoch < fo->current_epoch) {
        /* Stale; or we replicated again since that election, so our offset
         * is no longer the one the leader ranked; or a later election runs
         * and would supersede it. */
        return;
    }
    rkv_fo_conf mine = *c;
    mine.addr = fo->cfg.self;
    mine.promo_offset = fo->offset;
    fo_adopt_conf(fo, &mine, true, out);
    if (!fo->booted)
        fo->booted = true;
    fo->hist_epoch = c->epoch;
    fo_persist(fo, out);
    if (fo->role != RKV_FO_ROLE_PRIMARY) {
        rkv_fo_action a = {.type = RKV_FO_ACT_PROMOTE_SELF, .epoch = c->epoch};
        fo_push(out, &a);
        fo->acks_emitted = true;
        fo->detached = false;
        fo->following[0] = 0;
        fo_set_role(fo, RKV_FO_ROLE_PRIMARY, out);
    }
    /* else: a primary confirmed in a new epoch (reconfirm) */
}

void fo_on_failover_req(rkv_fo *fo, const rkv_fo_msg *m, rkv_fo_actions *out)
{
    if (fo->role == RKV_FO_ROLE_PRIMARY)
        fo_manual_start(fo, m->failover.target[0] ? m->failover.target : NULL,
                        m->failover.timeout_ms, out);
}

int fo_manual_start(rkv_fo *fo, const char *target, uint32_t timeout_ms,
                    rkv_fo_actions *out)
{
    if (fo->phase != FO_IDLE)
        return rkv_fail(REPLKV_EBUSY, "failover: one is already running");
    if (fo->role != RKV_FO_ROLE_PRIMARY) {
        fo_peer *p = fo_peer_find(fo, fo->conf.primary);
        if (p == NULL)
            return rkv_fail(REPLKV_ENOTFOUND, "failover: no primary known");
        /* Check the target here too: the primary refuses a bad one
         * silently (a forwarded request has nobody to answer to). */
        if (target != NULL && target[0] != 0 &&
            !fo_is_self(fo, target)) {
            const fo_peer *t = fo_peer_find(fo, target);
            if (t == NULL || t->witness || strcmp(t->id, p->id) == 0)
                return rkv_fail(REPLKV_EINVAL,
                                "failover: %s is not a replica we know",
                                target);
        } else if (fo->cfg.witness && target != NULL && target[0] != 0) {
            return rkv_fail(REPLKV_EINVAL,
                            "failover: this node is a witness");
        }
        rkv_fo_msg *m = fo_new_msg(fo, out, RKV_FO_MSG_FAILOVER);
        if (m != NULL) {
            fo_copy_id(m->failover.target, target);
            m->failover.timeout_ms = timeout_ms;
            fo_send(out, p, m);
        }
        return 0;
    }
    const fo_peer *t = NULL;
    if (target != NULL && target[0] != 0) {
        t = fo_peer_find(fo, target);
        if (t == NULL || t->witness)
            return rkv_fail(REPLKV_EINVAL,
                            "failover: %s is not a data node we know", target);
    } else {
        for (unsigned i = 0; i < fo->npeers; i++) {
            const fo_peer *p = &fo->peers[i];
            if (p->witness || p->priority == 0 || !fo_peer_reachable(fo, p))
                continue;
            rkv_fo_candidate a = {.priority = p->priority, .offset = p->offset};
            rkv_fo_candidate b = {0};
            fo_copy_id(a.id, p->id);
            if (t != NULL) {
                b.priority = t->priority;
                b.offset = t->offset;
                fo_copy_id(b.id, t->id);
            }
            if (t == NULL || cand_cmp(&a, &b) < 0)
                t = p;
        }
        if (t == NULL)
            return rkv_fail(REPLKV_ENOTFOUND, "failover: no replica in reach");
    }
    fo->phase = FO_SYNC;
    fo->run_manual = true;
    fo_copy_id(fo->run_target, t->id);
    fo->run_target_acked = -1;
    fo->run_start_ms = fo->now;
    fo->run_deadline_ms =
        fo->now + (timeout_ms ? timeout_ms : fo->cfg.failover_timeout_ms);
    memset(&fo->tl, 0, sizeof fo->tl);
    fo->tl.manual = true;
    fo_copy_id(fo->tl.old_primary, fo->cfg.node_id);
    fo_copy_id(fo->tl.new_primary, t->id);
    snprintf(fo->tl.result, sizeof fo->tl.result, "running");
    fo->pause_manual = true;
    fo_notify(out, RKV_FO_EV_FAILOVER, fo->current_epoch, t->id, 0,
              "manual failover to %s: writes paused until it has offset "
              "%" PRId64,
              t->id, fo->offset);
    return 0;
}
