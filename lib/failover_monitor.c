/*
 * failover_monitor.c - what a node knows about the others: membership
 * (discovery through pings, forgetting through tombstones), the pings
 * themselves, subjective and objective down, and self-fencing.
 *
 * Rules (DESIGN.md, Failover; Sentinel's semantics):
 *   - every ping_interval_ms a node pings every node it knows, and the
 *     addresses it was configured with while no known node answers there;
 *     the ping lists the peers it knows, each flagged SDOWN when it sees it
 *     down, so opinions travel without a round trip of their own;
 *   - a peer silent for down_after_ms is SDOWN; the configured primary is
 *     also SDOWN when it has not claimed the primary role for down_after_ms
 *     (Sentinel: a master reporting another role);
 *   - the primary is ODOWN when it is SDOWN here and at least quorum nodes
 *     in all (this one and peers heard within down_after_ms) say so;
 *   - a forgotten node's tombstone spreads in pings; nodes never re-learn
 *     it from gossip nor listen to it;
 *   - self-fencing (off by default): a primary that has not heard from a
 *     majority of the voters within down_after_ms pauses writes.
 */
#include "failover_int.h"

#include <inttypes.h>
#include <string.h>

fo_peer *fo_peer_find(rkv_fo *fo, const char *id)
{
    for (unsigned i = 0; i < fo->npeers; i++)
        if (strcmp(fo->peers[i].id, id) == 0)
            return &fo->peers[i];
    return NULL;
}

bool fo_is_forgotten(const rkv_fo *fo, const char *id)
{
    for (unsigned i = 0; i < fo->nforgot; i++)
        if (strcmp(fo->forgot[i].id, id) == 0)
            return true;
    for (unsigned i = 0; i < fo->nforgot_mem; i++)
        if (strcmp(fo->forgot_mem[i], id) == 0)
            return true;
    return false;
}

void fo_remember_forgotten(rkv_fo *fo, const char *id)
{
    for (unsigned i = 0; i < fo->nforgot_mem; i++)
        if (strcmp(fo->forgot_mem[i], id) == 0)
            return;
    fo_copy_id(fo->forgot_mem[fo->forgot_mem_next], id);
    fo->forgot_mem_next = (fo->forgot_mem_next + 1) % RKV_FO_FORGOT_MEMORY;
    if (fo->nforgot_mem < RKV_FO_FORGOT_MEMORY)
        fo->nforgot_mem++;
}

bool fo_peer_reachable(const rkv_fo *fo, const fo_peer *p)
{
    (void)fo;
    return p->have_ping && p->state == RKV_FO_PEER_UP;
}

static fo_peer *add_peer(rkv_fo *fo, const char *id, const rkv_fo_addr *addr,
                         bool witness, rkv_fo_actions *out)
{
    if (!fo_valid_id(id) || fo_is_self(fo, id) || fo_is_forgotten(fo, id))
        return NULL;
    fo_peer *p = fo_peer_find(fo, id);
    if (p != NULL)
        return p;
    if (fo->npeers >= RKV_FO_MAX_NODES - 1)
        return NULL;
    p = &fo->peers[fo->npeers++];
    memset(p, 0, sizeof *p);
    fo_copy_id(p->id, id);
    p->addr = *addr;
    p->witness = witness;
    p->added_ms = fo->now;
    p->state = RKV_FO_PEER_UP;
    fo_persist(fo, out); /* membership is durable */
    fo_notify(out, RKV_FO_EV_PEER_STATE, fo->current_epoch, id,
              RKV_FO_PEER_NEW, "new %s %s at %s:%u",
              witness ? "witness" : "node", id, addr->host, addr->port);
    return p;
}

void fo_add_tombstone(rkv_fo *fo, const rkv_fo_forgot *f, rkv_fo_actions *out)
{
    if (!fo_valid_id(f->id))
        return;
    if (fo_is_self(fo, f->id))
        return; /* the others drop us; we keep running until stopped */
    for (unsigned i = 0; i < fo->nforgot; i++)
        if (strcmp(fo->forgot[i].id, f->id) == 0) {
            if (f->epoch > fo->forgot[i].epoch)
                fo->forgot[i].epoch = f->epoch;
            return;
        }
    if (fo->nforgot == RKV_FO_MAX_FORGOT) {
        memmove(&fo->forgot[0], &fo->forgot[1],
                (RKV_FO_MAX_FORGOT - 1) * sizeof fo->forgot[0]);
        fo->nforgot--;
    }
    fo->forgot[fo->nforgot++] = *f;
    fo_remember_forgotten(fo, f->id);
    fo_peer *p = fo_peer_find(fo, f->id);
    if (p == NULL)
        return;
    unsigned i = (unsigned)(p - fo->peers);
    memmove(&fo->peers[i], &fo->peers[i + 1],
            (fo->npeers - i - 1) * sizeof fo->peers[0]);
    fo->npeers--;
    fo_persist(fo, out);
    fo_notify(out, RKV_FO_EV_PEER_STATE, f->epoch, f->id,
              RKV_FO_PEER_FORGOTTEN, "forgot %s (epoch %" PRIu64 ")", f->id,
              f->epoch);
}

static bool addr_known(const rkv_fo *fo, const rkv_fo_addr *a)
{
    if (a->host[0] == 0 && a->port == 0)
        return true;
    if (a->port == fo->cfg.self.port && strcmp(a->host, fo->cfg.self.host) == 0)
        return true;
    for (unsigned i = 0; i < fo->npeers; i++)
        if (fo->peers[i].have_ping && fo->peers[i].addr.port == a->port &&
            strcmp(fo->peers[i].addr.host, a->host) == 0)
            return true;
    return false;
}

void fo_broadcast_ping(rkv_fo *fo, rkv_fo_actions *out)
{
    rkv_fo_msg *m = fo_new_msg(fo, out, RKV_FO_MSG_PING);
    if (m == NULL)
        return;
    memcpy(m->ping.name, fo->cfg.name, sizeof m->ping.name);
    m->ping.addr = fo->cfg.self;
    uint8_t fl = 0;
    if (fo->cfg.witness)
        fl |= RKV_FO_F_WITNESS;
    if (fo->fresh)
        fl |= RKV_FO_F_FRESH;
    if (fo->booted)
        fl |= RKV_FO_F_BOOTED;
    if (fo->link_up)
        fl |= RKV_FO_F_LINK_UP;
    if (fo->detached)
        fl |= RKV_FO_F_DETACHED;
    m->ping.flags = fl;
    m->ping.role = (uint8_t)fo->role;
    m->ping.offset = fo->offset;
    m->ping.hist_epoch = fo->hist_epoch;
    m->ping.priority = fo->cfg.replica_priority;
    m->ping.link_down_ms = fo->link_down_ms < 0 ? 0 : fo->link_down_ms;
    fo_copy_id(m->ping.following, fo->host_following);
    m->ping.conf = fo->conf;
    for (unsigned i = 0; i < fo->npeers; i++) {
        const fo_peer *p = &fo->peers[i];
        rkv_fo_peer_info *e = &m->ping.peers[m->ping.npeers++];
        fo_copy_id(e->id, p->id);
        e->addr = p->addr;
        e->flags = p->witness ? RKV_FO_F_WITNESS : 0;
        bool down = p->state == RKV_FO_PEER_SDOWN ||
                    (fo->primary_sdown && strcmp(p->id, fo->conf.primary) == 0);
        if (down)
            e->flags |= RKV_FO_F_SDOWN;
    }
    m->ping.nforgot = fo->nforgot;
    memcpy(m->ping.forgot, fo->forgot, fo->nforgot * sizeof fo->forgot[0]);
    for (unsigned i = 0; i < fo->npeers; i++)
        fo_send(out, &fo->peers[i], m);
    /* Seeds: configured addresses nobody known answers at yet. */
    fo_peer seed;
    memset(&seed, 0, sizeof seed);
    seed.addr = fo->cfg.monitor;
    if (!addr_known(fo, &seed.addr))
        fo_send(out, &seed, m);
    if ((fo->conf.addr.port != fo->cfg.monitor.port ||
         strcmp(fo->conf.addr.host, fo->cfg.monitor.host) != 0) &&
        !addr_known(fo, &fo->conf.addr) && !fo_is_self(fo, fo->conf.primary)) {
        seed.addr = fo->conf.addr;
        fo_copy_id(seed.id, fo->conf.primary);
        if (fo_peer_find(fo, seed.id) == NULL)
            fo_send(out, &seed, m);
    }
}

/* An id speaks from the address of a known node that has gone silent:
 * that node restarted without its state (a new id), and its old id would
 * stay a voter that never answers, raising the majority every election
 * needs. It is forgotten, as replkv_forget would, unless it is the
 * configured primary: then the failover it needs must run first (the
 * next ping after it forgets it). Two live processes never share an
 * address, so a silent id there is gone for good. */
static void replaced_at(rkv_fo *fo, const char *id, const rkv_fo_addr *addr,
                        rkv_fo_actions *out)
{
    for (unsigned i = 0; i < fo->npeers; i++) {
        const fo_peer *p = &fo->peers[i];
        if (p->addr.port != addr->port || strcmp(p->addr.host, addr->host) ||
            strcmp(p->id, id) == 0 || strcmp(p->id, fo->conf.primary) == 0 ||
            p->state == RKV_FO_PEER_UP)
            continue;
        rkv_fo_forgot f;
        fo_copy_id(f.id, p->id);
        f.epoch = fo->current_epoch;
        fo_notify(out, RKV_FO_EV_FAILOVER, fo->current_epoch, p->id, 0,
                  "%s at %s:%u restarted as %s: forgetting the old id",
                  p->id, addr->host, addr->port, id);
        fo_add_tombstone(fo, &f, out);
        return;
    }
}

void fo_on_ping(rkv_fo *fo, const rkv_fo_msg *m, rkv_fo_actions *out)
{
    if (fo->cfg.name[0] && m->ping.name[0] &&
        strcmp(fo->cfg.name, m->ping.name) != 0)
        return; /* another cluster's monitor */
    replaced_at(fo, m->from, &m->ping.addr, out);
    fo_peer *p = add_peer(fo, m->from, &m->ping.addr,
                          (m->ping.flags & RKV_FO_F_WITNESS) != 0, out);
    if (p == NULL)
        return;
    p->addr = m->ping.addr;
    p->witness = (m->ping.flags & RKV_FO_F_WITNESS) != 0;
    p->last_heard_ms = fo->now;
    p->have_ping = true;
    fo->booted_alone = false;
    p->flags = m->ping.flags;
    p->role = m->ping.role;
    p->offset = m->ping.offset;
    p->hist_epoch = m->ping.hist_epoch;
    p->priority = m->ping.priority;
    p->link_down_ms = m->ping.link_down_ms;
    fo_copy_id(p->following, m->ping.following);
    p->epoch = m->epoch;
    p->conf_epoch = m->ping.conf.epoch;
    if (p->state != RKV_FO_PEER_UP) {
        p->state = RKV_FO_PEER_UP;
        fo_notify(out, RKV_FO_EV_PEER_STATE, fo->current_epoch, p->id,
                  RKV_FO_PEER_UP, "%s is up", p->id);
    }
    /* Membership: learn the peers it knows (not forgotten ones). */
    for (uint32_t i = 0; i < m->ping.nforgot; i++)
        fo_add_tombstone(fo, &m->ping.forgot[i], out);
    if (fo_is_forgotten(fo, m->from))
        return;
    p = fo_peer_find(fo, m->from);
    if (p == NULL)
        return;
    p->says_primary_sdown = false;
    for (uint32_t i = 0; i < m->ping.npeers; i++) {
        const rkv_fo_peer_info *e = &m->ping.peers[i];
        if (strcmp(e->id, fo->conf.primary) == 0)
            p->says_primary_sdown = (e->flags & RKV_FO_F_SDOWN) != 0;
        add_peer(fo, e->id, &e->addr, (e->flags & RKV_FO_F_WITNESS) != 0, out);
        p = fo_peer_find(fo, m->from); /* stable: adds append */
    }
    /* Epoch 0 names the primary by address until it speaks. */
    if (fo->conf.epoch == 0 && fo->conf.primary[0] == 0 &&
        m->ping.addr.port == fo->conf.addr.port &&
        strcmp(m->ping.addr.host, fo->conf.addr.host) == 0) {
        fo_copy_id(fo->conf.primary, m->from);
        fo->primary_claim_ms = fo->now;
    }
    fo_learn_epoch(fo, m->epoch, out);
    fo_adopt_conf(fo, &m->ping.conf, false, out);
    if (m->ping.role == RKV_FO_ROLE_PRIMARY &&
        strcmp(m->from, fo->conf.primary) == 0)
        fo->primary_claim_ms = fo->now;
}

void fo_monitor_tick(rkv_fo *fo, rkv_fo_actions *out)
{
    int64_t da = fo->cfg.down_after_ms;
    /* SDOWN of every peer: silent for down-after-milliseconds. */
    for (unsigned i = 0; i < fo->npeers; i++) {
        fo_peer *p = &fo->peers[i];
        int64_t since = p->last_heard_ms ? p->last_heard_ms : p->added_ms;
        bool silent = fo->now - since >= da;
        if (silent && p->state == RKV_FO_PEER_UP) {
            p->state = RKV_FO_PEER_SDOWN;
            fo_notify(out, RKV_FO_EV_PEER_STATE, fo->current_epoch, p->id,
                      RKV_FO_PEER_SDOWN, "%s is subjectively down (silent %" PRId64
                      " ms)", p->id, fo->now - since);
        }
    }
    /* The configured primary: down, or not acting as one. */
    fo_peer *pp = fo->conf.primary[0] ? fo_peer_find(fo, fo->conf.primary) : NULL;
    bool sdown = false;
    if (pp != NULL && fo->booted)
        sdown = pp->state == RKV_FO_PEER_SDOWN ||
                fo->now - fo->primary_claim_ms >= da;
    if (sdown != fo->primary_sdown) {
        fo->primary_sdown = sdown;
        fo->ping_soon = true; /* our opinion makes the ODOWN quorum */
        if (sdown && pp->state == RKV_FO_PEER_UP)
            fo_notify(out, RKV_FO_EV_PEER_STATE, fo->current_epoch, pp->id,
                      RKV_FO_PEER_SDOWN,
                      "primary %s is subjectively down (not acting as primary "
                      "for %" PRId64 " ms)",
                      pp->id, fo->now - fo->primary_claim_ms);
    }
    unsigned votes = 0;
    if (sdown) {
        votes = 1;
        for (unsigned i = 0; i < fo->npeers; i++)
            if (fo_peer_reachable(fo, &fo->peers[i]) &&
                fo->peers[i].says_primary_sdown)
                votes++;
    }
    bool odown = sdown && votes >= fo->cfg.quorum;
    if (odown != fo->primary_odown) {
        fo->primary_odown = odown;
        if (odown)
            fo->odown_since = fo->now;
        fo_notify(out, RKV_FO_EV_PEER_STATE, fo->current_epoch,
                  fo->conf.primary, odown ? RKV_FO_PEER_ODOWN : RKV_FO_PEER_UP,
                  odown ? "primary %s is objectively down (%u of quorum %u)"
                        : "primary %s is no longer objectively down",
                  fo->conf.primary, votes, fo->cfg.quorum);
    }
    /* Self-fencing: a primary cut from the majority stops taking writes. */
    if (fo->cfg.self_fence && fo->role == RKV_FO_ROLE_PRIMARY) {
        unsigned reach = 1;
        for (unsigned i = 0; i < fo->npeers; i++)
            if (fo->peers[i].state == RKV_FO_PEER_UP &&
                fo->peers[i].have_ping)
                reach++;
        bool fence = reach < fo_voters(fo) / 2 + 1;
        if (fence != fo->fenced) {
            fo->fenced = fence;
            fo_notify(out, RKV_FO_EV_FAILOVER, fo->conf.epoch,
                      fo->cfg.node_id, 0,
                      fence ? "self-fencing: %u of %u voters in reach, "
                              "writes paused"
                            : "self-fencing over: %u of %u voters in reach",
                      reach, fo_voters(fo));
        }
    } else {
        fo->fenced = false;
    }
    fo_ping_due(fo, out);
}

/* Pings every interval, and at once when there is news (ping_soon): the
 * opinions and offsets a failover waits for then travel without waiting
 * for the next interval. */
void fo_ping_due(rkv_fo *fo, rkv_fo_actions *out)
{
    if (fo->now < fo->next_ping_ms && !fo->ping_soon)
        return;
    fo->ping_soon = false;
    fo_broadcast_ping(fo, out);
    fo->next_ping_ms = fo->now + fo->cfg.ping_interval_ms;
}
