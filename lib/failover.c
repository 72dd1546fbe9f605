/*
 * failover.c - the failover core's state (failover.h): the durable part
 * (current epoch, vote, configuration, membership), how a node boots,
 * which role it asks the host for and when a replica may acknowledge,
 * epochs and configuration adoption, and the public entry points. The
 * action list and introspection live in failover_actions.c; monitoring,
 * votes and the failover run in failover_monitor.c, failover_vote.c and
 * failover_select.c (see failover_int.h).
 *
 * Boot (docs/PROTOCOL.md 11.4): a node claims nothing until it has heard
 * from a majority of the voters it knows (fresh ones count only for a
 * fresh node), or, alone, for 2 x down-after-milliseconds (then it claims
 * the primary role only in a one-node cluster); only then does it act on
 * the configuration it holds, which by then is the highest epoch its peers
 * gossiped, and only if its data is that configuration's history. A node that
 * started without state (fresh) never claims the primary role of a
 * configuration naming it, except in a brand-new cluster (epoch 0, every
 * node heard at offset 0): it waits as a replica-to-be, the others see the
 * configured primary not acting as one and fail over to a replica that
 * holds the data (no wipe on restart).
 */
#include "failover_int.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ helpers */

bool fo_valid_id(const char *id)
{
    if (id == NULL || strlen(id) != RKV_FO_ID_SIZE - 1)
        return false;
    for (const char *s = id; *s; s++)
        if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
            return false;
    return true;
}

void fo_copy_id(char dst[RKV_FO_ID_SIZE], const char *src)
{
    if (src == NULL) {
        dst[0] = 0;
        return;
    }
    size_t n = strnlen(src, RKV_FO_ID_SIZE - 1);
    memcpy(dst, src, n);
    dst[n] = 0;
}

bool fo_is_self(const rkv_fo *fo, const char *id)
{
    return id != NULL && strcmp(fo->cfg.node_id, id) == 0;
}

static bool addr_eq(const rkv_fo_addr *a, const rkv_fo_addr *b)
{
    return a->port == b->port && strcmp(a->host, b->host) == 0;
}

/* Every known node votes: data nodes and witnesses (DESIGN.md: "a leader
 * needs a majority of all voters"). */
unsigned fo_voters(const rkv_fo *fo)
{
    return 1 + fo->npeers;
}

unsigned fo_needed_votes(const rkv_fo *fo)
{
    unsigned maj = fo_voters(fo) / 2 + 1;
    return maj > fo->cfg.quorum ? maj : fo->cfg.quorum;
}

/* ---------------------------------------------------------- roles */

void fo_set_role(rkv_fo *fo, int role, rkv_fo_actions *out)
{
    if (fo->role == role)
        return;
    fo->ping_soon = true; /* peers act on the roles pings carry */
    rkv_fo_action a = {.type = RKV_FO_ACT_NOTIFY};
    a.ev.type = RKV_FO_EV_ROLE;
    a.ev.epoch = fo->conf.epoch;
    a.ev.old_role = fo->role;
    a.ev.new_role = role;
    fo_copy_id(a.ev.peer, fo->conf.primary);
    snprintf(a.ev.reason, sizeof a.ev.reason, "%s -> %s in epoch %" PRIu64,
             rkv_fo_role_name(fo->role), rkv_fo_role_name(role),
             fo->conf.epoch);
    fo->role = role;
    fo_push(out, &a);
}

/* Emits PAUSE/RESUME when the union of the reasons to pause changes. */
void fo_update_pause(rkv_fo *fo, rkv_fo_actions *out)
{
    bool acks = fo->role == RKV_FO_ROLE_PRIMARY &&
                fo->current_epoch <= fo->conf.epoch;
    if (fo->role == RKV_FO_ROLE_PRIMARY && acks != fo->acks_emitted) {
        rkv_fo_action a = {.type = RKV_FO_ACT_ACKS, .ack = acks};
        fo_push(out, &a);
        fo->acks_emitted = acks;
    }
    bool want = fo->role == RKV_FO_ROLE_PRIMARY &&
                (fo->pause_manual || fo->fenced);
    if (want == fo->paused_emitted)
        return;
    rkv_fo_action a = {.type = want ? RKV_FO_ACT_PAUSE_WRITES
                                    : RKV_FO_ACT_RESUME_WRITES};
    fo_push(out, &a);
    fo->paused_emitted = want;
}

/* A replica acknowledges (counts towards WAIT's majority) only when no
 * election newer than its configuration may have promoted someone else,
 * when it has heard enough of the cluster (informed), and once its data is
 * the configuration's history (synced past the promotion offset): an
 * acknowledged write is then always on a node whose (history epoch,
 * offset) position ranks it where the selection rule looks for it. */
static bool ack_allowed(const rkv_fo *fo)
{
    return fo->current_epoch <= fo->conf.epoch && fo->informed &&
           fo->hist_epoch == fo->conf.epoch;
}

/* Tells the host to replicate from the configured primary. demote: this
 * node was the primary and steps down (fencing, DESIGN.md "An old primary
 * that comes back sees the higher epoch and becomes a replica"). */
void fo_follow(rkv_fo *fo, bool demote, rkv_fo_actions *out)
{
    rkv_fo_action a = {.type = RKV_FO_ACT_FOLLOW, .demote = demote};
    a.ack = ack_allowed(fo);
    fo->ack_sent = a.ack;
    fo_copy_id(a.to.id, fo->conf.primary);
    a.to.addr = fo->conf.addr;
    a.epoch = fo->conf.epoch;
    fo_push(out, &a);
    fo_copy_id(fo->following, fo->conf.primary);
    fo->follow_sent_ms = fo->now;
    fo->detached = false;
    fo->host_detached = false;
    fo->conf_told = false;
    fo->pause_manual = false;
    fo->fenced = false;
    fo_set_role(fo, RKV_FO_ROLE_REPLICA, out);
    fo_update_pause(fo, out);
}

/* Epochs only grow (Sentinel's current_epoch). Learning a higher one means
 * an election runs somewhere: a replica stops replicating until it ends,
 * so that the offset it reports is final and a write acknowledged by a
 * majority of data nodes is on some replica the leader ranks
 * (docs/PROTOCOL.md 11.5). */
void fo_learn_epoch(rkv_fo *fo, uint64_t epoch, rkv_fo_actions *out)
{
    if (epoch <= fo->current_epoch)
        return;
    fo->current_epoch = epoch;
    fo->epoch_learned_ms = fo->now;
    fo->ping_soon = true; /* a detached replica's offset is final: tell */
    fo_persist(fo, out);
    if (fo->cfg.witness || fo->role == RKV_FO_ROLE_PRIMARY ||
        epoch <= fo->conf.epoch)
        return;
    if (!fo->detached && fo->role == RKV_FO_ROLE_REPLICA) {
        rkv_fo_action a = {.type = RKV_FO_ACT_DETACH, .epoch = epoch};
        fo_push(out, &a);
        fo->host_detached = true;
    }
    fo->detached = true;
    fo->detach_until = fo->now + fo->cfg.failover_timeout_ms;
}

/* Adopts c if it is newer than ours (higher epoch), or completes ours
 * (same epoch, same address, the primary's id now known). Returns true if
 * anything changed. told: a leader sent it (FOLLOW/PROMOTE), so a replica
 * moves at once instead of waiting its turn. */
bool fo_adopt_conf(rkv_fo *fo, const rkv_fo_conf *c, bool told,
                   rkv_fo_actions *out)
{
    if (c->epoch < fo->conf.epoch)
        return false;
    if (c->epoch == fo->conf.epoch) {
        if (fo->conf.primary[0] == 0 && c->primary[0] != 0 &&
            addr_eq(&fo->conf.addr, &c->addr)) {
            fo_copy_id(fo->conf.primary, c->primary);
            fo_persist(fo, out);
            return true;
        }
        if (told && strcmp(fo->conf.primary, c->primary) == 0)
            fo->conf_told = true;
        return false;
    }
    fo_learn_epoch(fo, c->epoch, out);
    fo->conf = *c;
    fo->conf_learned_ms = fo->now;
    fo->conf_told = told;
    fo->detached = false;
    fo->primary_claim_ms = fo->now;
    fo->primary_sdown = fo->primary_odown = false;
    /* The peers' opinions were about the previous primary: a node that
     * heals from a partition must not read "the old primary is down" as
     * "the new one is", or it fails over from a healthy primary. */
    for (unsigned i = 0; i < fo->npeers; i++)
        fo->peers[i].says_primary_sdown = false;
    if (c->leader[0]) {
        fo_copy_id(fo->last_leader, c->leader);
        fo->last_leader_epoch = c->epoch;
    }
    fo->ping_soon = true; /* spread it */
    fo_persist(fo, out);
    fo_notify(out, RKV_FO_EV_CONFIG, c->epoch, c->primary, 0,
              "new configuration: epoch %" PRIu64 " primary %s at %s:%u "
              "(leader %s)",
              c->epoch, c->primary, c->addr.host, c->addr.port,
              c->leader[0] ? c->leader : "-");
    /* Fencing acts at once, whatever else is pending. */
    if (fo->role == RKV_FO_ROLE_PRIMARY && !fo_is_self(fo, c->primary))
        fo_follow(fo, true, out);
    return true;
}

/* May this node, configured as primary, take the role? (module comment) */
static bool may_claim(const rkv_fo *fo)
{
    /* A node that heard nobody may be cut off from a cluster that moved
     * on: it claims nothing, unless it is a one-node cluster by config. */
    if (fo->booted_alone && !(fo->cfg.quorum == 1 && fo->npeers == 0))
        return false;
    /* Our data must be that configuration's history: a node wiped and
     * resynced from someone else since holds another one. */
    if (!fo->fresh) {
        if (fo->hist_epoch != fo->conf.epoch)
            return false;
        /* A replica further along in this history holds writes we lost
         * (a restart from a file that missed its last writes): claiming
         * would make it resync from us and drop them. Stand aside: the
         * others see no primary, fail over to the best of them, and we
         * follow with a partial resync. */
        for (unsigned i = 0; i < fo->npeers; i++) {
            const fo_peer *p = &fo->peers[i];
            if (!p->witness && p->have_ping && !(p->flags & RKV_FO_F_FRESH) &&
                p->hist_epoch == fo->hist_epoch && p->offset > fo->offset)
                return false;
        }
        return true;
    }
    /* Fresh: only if no data node can hold anything we would wipe: a
     * brand-new cluster (epoch 0, every node at offset 0), or every data
     * node in reach and fresh itself (the data is gone everywhere). */
    bool all_zero = fo->conf.epoch == 0, all_fresh = true;
    for (unsigned i = 0; i < fo->npeers; i++) {
        const fo_peer *p = &fo->peers[i];
        if (p->witness)
            continue;
        if (!p->have_ping || p->state != RKV_FO_PEER_UP)
            return false;
        if (p->offset != 0 || p->conf_epoch != 0 ||
            p->role == RKV_FO_ROLE_PRIMARY)
            all_zero = false;
        if (!(p->flags & RKV_FO_F_FRESH) || p->role == RKV_FO_ROLE_PRIMARY)
            all_fresh = false;
    }
    return all_zero || all_fresh;
}

/* Brings the role in line with the configuration held (after boot). */
static void role_check(rkv_fo *fo, rkv_fo_actions *out)
{
    if (!fo->booted || fo->cfg.witness || fo->conf.primary[0] == 0)
        return;
    if (fo_is_self(fo, fo->conf.primary)) {
        if (fo->role != RKV_FO_ROLE_PRIMARY && may_claim(fo)) {
            rkv_fo_action a = {.type = RKV_FO_ACT_PROMOTE_SELF,
                               .epoch = fo->conf.epoch};
            fo_push(out, &a);
            fo->acks_emitted = true;
            fo->fresh = false;
            fo->detached = false;
            fo->following[0] = 0;
            fo->hist_epoch = fo->conf.epoch;
            fo_persist(fo, out);
            fo_set_role(fo, RKV_FO_ROLE_PRIMARY, out);
        }
        return;
    }
    if (fo->role == RKV_FO_ROLE_PRIMARY) {
        fo_follow(fo, true, out);
        return;
    }
    if (fo->detached) {
        /* The election we froze for is over without a new configuration:
         * replicate again, and never be promoted under it. */
        if (fo->now < fo->detach_until)
            return;
        fo->detached = false;
        fo->no_promote_upto = fo->current_epoch;
        fo_follow(fo, false, out);
        return;
    }
    if (strcmp(fo->following, fo->conf.primary) != 0) {
        /* parallel-syncs: a replica already replicating from someone
         * waits for the leader's FOLLOW, or failover-timeout. */
        if (fo->following[0] == 0 || fo->conf_told ||
            fo->now - fo->conf_learned_ms >= fo->cfg.failover_timeout_ms)
            fo_follow(fo, false, out);
        return;
    }
    /* DETACH lasts until the next FOLLOW: the election is over and the
     * primary did not change, so replicate it again. Likewise when
     * acknowledging became allowed. */
    if (fo->host_detached || (!fo->ack_sent && ack_allowed(fo))) {
        fo_follow(fo, false, out);
        return;
    }
    /* The host lost what we told it (restarted its link layer). */
    if (fo->role == RKV_FO_ROLE_REPLICA &&
        strcmp(fo->host_following, fo->following) != 0 &&
        fo->now - fo->follow_sent_ms >= fo->cfg.down_after_ms)
        fo_follow(fo, false, out);
}

/* ------------------------------------------------------------ lifecycle */

void rkv_fo_config_init(rkv_fo_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->quorum = 2;
    cfg->down_after_ms = 30000;
    cfg->failover_timeout_ms = 180000;
    cfg->parallel_syncs = 1;
    cfg->replica_priority = 100;
    cfg->ping_interval_ms = 100;
}

rkv_fo *rkv_fo_new(const rkv_fo_config *cfg, uint64_t seed)
{
    if (cfg == NULL || !fo_valid_id(cfg->node_id)) {
        rkv_fail(REPLKV_EINVAL, "failover: node id must be 40 hex chars");
        return NULL;
    }
    if (cfg->quorum == 0 || cfg->down_after_ms == 0 ||
        cfg->failover_timeout_ms == 0 || cfg->ping_interval_ms == 0) {
        rkv_fail(REPLKV_EINVAL, "failover: quorum, down-after-milliseconds, "
                                "failover-timeout and the ping interval "
                                "must be > 0");
        return NULL;
    }
    rkv_fo *fo = calloc(1, sizeof *fo);
    if (fo == NULL) {
        rkv_fail(REPLKV_ENOMEM, "failover: out of memory");
        return NULL;
    }
    fo->cfg = *cfg;
    if (fo->cfg.parallel_syncs == 0)
        fo->cfg.parallel_syncs = 1;
    fo->rng.s = seed ^ 0x5eedfa11u;
    fo->started_ms = INT64_MIN;
    fo->had_state = cfg->has_state;
    fo->started_fresh = !cfg->has_state || cfg->state.fresh;
    fo->fresh = !cfg->has_state && !cfg->witness;
    if (cfg->has_state) {
        const rkv_fo_state *s = &cfg->state;
        fo->current_epoch = s->current_epoch;
        fo->voted_epoch = s->voted_epoch;
        fo_copy_id(fo->voted_for, s->voted_for);
        fo->conf.epoch = s->config_epoch;
        fo_copy_id(fo->conf.primary, s->primary);
        fo->conf.addr = s->primary_addr;
        fo_copy_id(fo->conf.leader, s->leader);
        fo->conf.promo_offset = s->promo_offset;
        fo->hist_epoch = s->hist_epoch;
        fo->fresh = s->fresh && !cfg->witness;
        for (unsigned i = 0; i < s->nforgot && i < RKV_FO_MAX_FORGOT; i++)
            if (fo_valid_id(s->forgot[i].id))
                fo->forgot[fo->nforgot++] = s->forgot[i];
        for (unsigned i = 0; i < fo->nforgot; i++)
            fo_remember_forgotten(fo, fo->forgot[i].id);
        for (unsigned i = 0; i < s->npeers && i < RKV_FO_MAX_NODES - 1; i++) {
            const rkv_fo_peer_info *e = &s->peers[i];
            if (!fo_valid_id(e->id) || fo_is_self(fo, e->id))
                continue;
            fo_peer *p = &fo->peers[fo->npeers++];
            fo_copy_id(p->id, e->id);
            p->addr = e->addr;
            p->witness = (e->flags & RKV_FO_F_WITNESS) != 0;
            p->state = RKV_FO_PEER_UP;
        }
    }
    if (fo->conf.epoch == 0 && fo->conf.primary[0] == 0) {
        /* sentinel monitor <name> <host> <port>: the starting primary. */
        fo->conf.addr = cfg->monitor;
        if (addr_eq(&cfg->monitor, &cfg->self))
            fo_copy_id(fo->conf.primary, cfg->node_id);
    }
    fo->role = RKV_FO_ROLE_NONE;
    fo->offset = 0;
    return fo;
}

void rkv_fo_free(rkv_fo *fo)
{
    if (fo == NULL)
        return;
    free(fo->ranked);
    free(fo);
}

static void enter(rkv_fo *fo, int64_t now)
{
    if (fo->started_ms == INT64_MIN) {
        fo->started_ms = now;
        for (unsigned i = 0; i < fo->npeers; i++)
            fo->peers[i].added_ms = now;
        fo->next_ping_ms = now;
        fo->primary_claim_ms = now;
        fo->conf_learned_ms = now;
    }
    if (now > fo->now)
        fo->now = now;
}

/* Boot rule (module comment). */
static void boot_check(rkv_fo *fo, rkv_fo_actions *out)
{
    /* Fresh peers know nothing of the cluster's past (new, or wiped):
     * they count towards the majority that must be heard only for a node
     * that knows nothing either (a new cluster boots). */
    unsigned heard = 0, any = 0;
    for (unsigned i = 0; i < fo->npeers; i++)
        if (fo->peers[i].have_ping) {
            any++;
            if (!(fo->peers[i].flags & RKV_FO_F_FRESH) || fo->fresh)
                heard++;
        }
    bool majority = (heard > 0 && heard + 1 >= fo_voters(fo) / 2 + 1) ||
                    (any > 0 && any == fo->npeers); /* heard everyone */
    /* A node that started without state acknowledges nothing until it
     * has heard a majority of nodes that are not fresh (or everyone): a
     * wiped node forgot the epochs it voted in, and must not help an old
     * primary reach a majority the current configuration never had. */
    if (!fo->informed) {
        unsigned nonfresh = fo->started_fresh ? 0 : 1;
        for (unsigned i = 0; i < fo->npeers; i++)
            if (fo->peers[i].have_ping &&
                !(fo->peers[i].flags & RKV_FO_F_FRESH))
                nonfresh++;
        fo->informed = nonfresh >= fo_voters(fo) / 2 + 1 ||
                       (any > 0 && any == fo->npeers);
    }
    if (fo->booted)
        return;
    bool alone = any == 0 &&
                 fo->now - fo->started_ms >= 2 * (int64_t)fo->cfg.down_after_ms;
    if (!majority && !alone)
        return;
    fo->booted = true;
    fo->booted_alone = alone;
    fo->ping_soon = true;
    fo->primary_claim_ms = fo->now;
    fo_notify(out, RKV_FO_EV_FAILOVER, fo->current_epoch, fo->conf.primary, 0,
              "booted: heard %u of %u voters; configuration epoch %" PRIu64
              " primary %s",
              heard + 1, fo_voters(fo), fo->conf.epoch,
              fo->conf.primary[0] ? fo->conf.primary : "(address only)");
}

void rkv_fo_tick(rkv_fo *fo, int64_t now_ms, rkv_fo_actions *out)
{
    enter(fo, now_ms);
    if (!fo->persisted_once) {
        /* The state file exists from the first tick on, so a restart
         * with it is never taken for a fresh (wiped) node. */
        fo->persisted_once = true;
        fo_persist(fo, out);
    }
    fo_monitor_tick(fo, out);
    boot_check(fo, out);
    role_check(fo, out);
    fo_vote_tick(fo, out);
    fo_run_tick(fo, out);
    fo_update_pause(fo, out);
}

int rkv_fo_receive(rkv_fo *fo, int64_t now_ms, const rkv_fo_msg *m,
                   rkv_fo_actions *out)
{
    enter(fo, now_ms);
    if (!fo_valid_id(m->from))
        return rkv_fail(REPLKV_EPROTO, "failover: %s from a bad id",
                        rkv_fo_msg_name(m->type));
    if (fo_is_self(fo, m->from) || fo_is_forgotten(fo, m->from))
        return 0;
    switch (m->type) {
    case RKV_FO_MSG_PING:
        fo_on_ping(fo, m, out);
        break;
    case RKV_FO_MSG_VOTE_REQ:
        fo_on_vote_req(fo, m, out);
        break;
    case RKV_FO_MSG_VOTE:
        fo_on_vote(fo, m, out);
        break;
    case RKV_FO_MSG_PROMOTE:
        fo_on_promote(fo, m, out);
        break;
    case RKV_FO_MSG_FOLLOW:
        if (fo_adopt_conf(fo, &m->conf.conf, true, out) || fo->conf_told)
            role_check(fo, out);
        break;
    case RKV_FO_MSG_FORGET:
        fo_add_tombstone(fo, &m->forget.who, out);
        break;
    case RKV_FO_MSG_FAILOVER:
        fo_on_failover_req(fo, m, out);
        break;
    default:
        return rkv_fail(REPLKV_EPROTO, "failover: unknown message type %u",
                        m->type);
    }
    role_check(fo, out);
    fo_update_pause(fo, out);
    if (fo->ping_soon && fo->booted)
        fo_ping_due(fo, out);
    return 0;
}

void rkv_fo_local_status(rkv_fo *fo, int64_t now_ms, rkv_fo_role role,
                         int64_t offset, const char *following, bool link_up,
                         int64_t link_down_ms, rkv_fo_actions *out)
{
    enter(fo, now_ms);
    fo->host_role = role;
    fo->offset = offset < 0 ? 0 : offset;
    fo_copy_id(fo->host_following, following);
    fo->link_up = link_up;
    fo->link_down_ms = link_down_ms;
    /* A fresh node that has synced from a primary holds the data now. */
    if (link_up && following != NULL && following[0] != 0 && fo->fresh) {
        fo->fresh = false;
        fo_persist(fo, out);
    }
    /* Synced with the configured primary: our data is its history now. */
    if (link_up && fo->role == RKV_FO_ROLE_REPLICA && following != NULL &&
        strcmp(following, fo->conf.primary) == 0 &&
        fo->offset >= fo->conf.promo_offset &&
        fo->hist_epoch != fo->conf.epoch) {
        fo->hist_epoch = fo->conf.epoch;
        fo_persist(fo, out);
    }
}

int rkv_fo_decision(rkv_fo *fo, int64_t now_ms, rkv_fo_verdict verdict,
                    const char *pick, const char *reason, rkv_fo_actions *out)
{
    enter(fo, now_ms);
    if (fo->phase != FO_DECIDE)
        return rkv_fail(REPLKV_EINVAL, "failover: no decision pending");
    if (verdict == RKV_FO_PICK) {
        bool found = false;
        for (unsigned i = 0; pick != NULL && i < fo->nranked; i++)
            if (strcmp(fo->ranked[i].id, pick) == 0)
                found = true;
        if (!found)
            return rkv_fail(REPLKV_EINVAL,
                            "failover: pick '%s' is not a candidate",
                            pick ? pick : "(null)");
    } else if (verdict != RKV_FO_ACCEPT && verdict != RKV_FO_VETO) {
        return rkv_fail(REPLKV_EINVAL, "failover: bad verdict %d",
                        (int)verdict);
    }
    fo_decision_apply(fo, verdict, pick, reason, out);
    fo_update_pause(fo, out);
    return 0;
}

int rkv_fo_request_failover(rkv_fo *fo, int64_t now_ms, const char *target,
                            uint32_t timeout_ms, rkv_fo_actions *out)
{
    enter(fo, now_ms);
    int rc = fo_manual_start(fo, target, timeout_ms, out);
    fo_update_pause(fo, out);
    return rc;
}

int rkv_fo_forget(rkv_fo *fo, int64_t now_ms, const char *id,
                  rkv_fo_actions *out)
{
    enter(fo, now_ms);
    if (!fo_valid_id(id) || fo_is_self(fo, id))
        return rkv_fail(REPLKV_EINVAL, "forget: '%s' is not a peer id",
                        id ? id : "(null)");
    rkv_fo_forgot f;
    fo_copy_id(f.id, id);
    f.epoch = fo->current_epoch;
    fo_add_tombstone(fo, &f, out);
    /* Say it at once; pings repeat it for nodes that miss this. */
    rkv_fo_msg *m = fo_new_msg(fo, out, RKV_FO_MSG_FORGET);
    if (m != NULL) {
        m->forget.who = f;
        for (unsigned i = 0; i < fo->npeers; i++)
            fo_send(out, &fo->peers[i], m);
    }
    return 0;
}

void rkv_fo_divergence(rkv_fo *fo, int64_t now_ms, int64_t from, int64_t to,
                       const char *new_primary, rkv_fo_actions *out)
{
    enter(fo, now_ms);
    rkv_fo_action a = {.type = RKV_FO_ACT_NOTIFY};
    a.ev.type = RKV_FO_EV_DIVERGENCE;
    a.ev.epoch = fo->conf.epoch;
    a.ev.from = from;
    a.ev.to = to;
    fo_copy_id(a.ev.peer, new_primary);
    snprintf(a.ev.reason, sizeof a.ev.reason,
             "writes at offsets [%" PRId64 ", %" PRId64
             ") never reached primary %s of epoch %" PRIu64,
             from, to, new_primary ? new_primary : "-", fo->conf.epoch);
    fo_push(out, &a);
}
