/*
 * failover_node.c - the failover host's setup (options to rkv_fo_config,
 * the state file), its mesh of outgoing peer links, and its inputs: the
 * tick timer and the failover frames peers send (failover_node_int.h).
 */
#include "failover_node_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "journal.h"
#include "persist_node.h"

static bool addr_eq(const rkv_fo_addr *a, const rkv_fo_addr *b)
{
    return a->port == b->port && strcmp(a->host, b->host) == 0;
}

/* ------------------------------------------------------------ setup */

static bool wildcard(const char *host)
{
    return strcmp(host, "0.0.0.0") == 0 || strcmp(host, "::") == 0 ||
           strcmp(host, "*") == 0 || host[0] == '\0';
}

int rkv_fonode_init(replkv_t *kv, const replkv_opts *o)
{
    const rkv_config *c = &kv->cfg;
    if (c->sentinel_port == 0) {
        if (c->witness)
            return rkv_fail(REPLKV_EINVAL,
                            "witness: needs sentinel monitor (the cluster to "
                            "vote in)");
        return 0;
    }
    if (c->port == 0)
        return rkv_fail(REPLKV_EINVAL,
                        "sentinel monitor: needs port (where peers reach "
                        "this node)");
    rkv_fonode *f = calloc(1, sizeof *f);
    if (f == NULL)
        return rkv_fail(REPLKV_ENOMEM, "failover: out of memory");
    f->kv = kv;
    rkv_fo_config_init(&f->cfg);
    rkv_fo_config *fc = &f->cfg;
    const char *self = c->announce_ip[0] ? c->announce_ip
                       : wildcard(c->bind) ? "127.0.0.1"
                                           : c->bind;
    snprintf(fc->self.host, sizeof fc->self.host, "%s", self);
    fc->self.port = (uint16_t)(c->announce_port ? c->announce_port : c->port);
    fc->witness = c->witness != 0;
    snprintf(fc->name, sizeof fc->name, "%s", c->sentinel_name);
    snprintf(fc->monitor.host, sizeof fc->monitor.host, "%s",
             c->sentinel_host);
    fc->monitor.port = (uint16_t)c->sentinel_port;
    fc->quorum = (unsigned)c->sentinel_quorum;
    fc->down_after_ms = (uint32_t)c->down_after_ms;
    fc->failover_timeout_ms = (uint32_t)c->failover_timeout_ms;
    fc->parallel_syncs = (unsigned)c->parallel_syncs;
    fc->replica_priority = (uint32_t)c->replica_priority;
    fc->ping_interval_ms = (uint32_t)c->ping_interval_ms;
    fc->self_fence = c->self_fence != 0;
    if (o != NULL) {
        f->cb = o->fo;
    }
    fc->decision_hook = f->cb.decision_cb != NULL;
    pthread_mutex_init(&f->lock, NULL);
    rkv_buf_init(&f->div.keys);
    kv->fon = f;
    if (fc->witness)
        atomic_store(&kv->write_block, REPLKV_ENOTSUP);
    if (c->replicaof[0] != '\0')
        rkv_log(kv, REPLKV_LOG_NOTICE,
                "failover: replicaof '%s' ignored: with sentinel monitor the "
                "cluster's configuration decides the role",
                c->replicaof);
    return 0;
}

void rkv_fonode_free(replkv_t *kv)
{
    rkv_fonode *f = kv->fon;
    if (f == NULL)
        return;
    rkv_fo_free(f->fo);
    rkv_buf_free(&f->div.keys);
    free(f->div.lens);
    pthread_mutex_destroy(&f->lock);
    free(f);
    kv->fon = NULL;
}

void rkv_fonode_secret(replkv_t *kv, char *out, size_t cap)
{
    pthread_mutex_lock(&kv->cfg_lock);
    const rkv_config *c = &kv->cfg;
    snprintf(out, cap, "%s",
             c->sentinel_authpass[0] ? c->sentinel_authpass
             : c->masterauth[0]      ? c->masterauth
                                     : c->requirepass);
    pthread_mutex_unlock(&kv->cfg_lock);
}

/* ------------------------------------------------------------ peer links */

static fo_slot *slot_by_link(rkv_fonode *f, const rkv_link *l)
{
    for (unsigned i = 0; i < FON_SLOTS; i++)
        if (f->slots[i].used && f->slots[i].link == l)
            return &f->slots[i];
    return NULL;
}

static void slot_drop(fo_slot *s, const char *why)
{
    rkv_link *l = s->link;
    s->link = NULL;
    s->used = false;
    if (l != NULL)
        rkv_link_close(l, REPLKV_LOG_VERBOSE, "%s", why);
}

/* The slot for a destination: by address (one link per address), or by
 * the id a link authenticated for a peer whose address is not given. */
static fo_slot *slot_for(rkv_fonode *f, const rkv_fo_peer_info *to)
{
    if (to->addr.port == 0 || to->addr.host[0] == '\0') {
        for (unsigned i = 0; to->id[0] && i < FON_SLOTS; i++)
            if (f->slots[i].used && strcmp(f->slots[i].id, to->id) == 0)
                return &f->slots[i];
        return NULL;
    }
    for (unsigned i = 0; i < FON_SLOTS; i++)
        if (f->slots[i].used && addr_eq(&f->slots[i].addr, &to->addr))
            return &f->slots[i];
    fo_slot *free_slot = NULL, *oldest = NULL;
    for (unsigned i = 0; i < FON_SLOTS && free_slot == NULL; i++) {
        fo_slot *s = &f->slots[i];
        if (!s->used)
            free_slot = s;
        else if (oldest == NULL || s->last_send_ms < oldest->last_send_ms)
            oldest = s;
    }
    if (free_slot == NULL) {
        slot_drop(oldest, "too many peers: least recently used link");
        free_slot = oldest;
    }
    memset(free_slot, 0, sizeof *free_slot);
    free_slot->used = true;
    free_slot->addr = to->addr;
    return free_slot;
}

void fon_send(rkv_fonode *f, const rkv_fo_peer_info *to,
                     const rkv_fo_msg *m)
{
    fo_slot *s = slot_for(f, to);
    if (s == NULL)
        return;
    uint64_t now = rkv_mono_ms();
    s->last_send_ms = now;
    if (s->link == NULL) {
        if (now < s->next_try_ms)
            return;
        s->link = rkv_transport_connect_peer(f->kv, s->addr.host,
                                             s->addr.port);
        if (s->link == NULL) {
            s->backoff_ms = s->backoff_ms ? s->backoff_ms : FON_BACKOFF_MIN_MS;
            s->next_try_ms = now + s->backoff_ms;
        }
        return; /* best effort: the next ping goes once it is up */
    }
    rkv_link *l = s->link;
    if (!l->authed || l->closing || l->pending > FON_MAX_PENDING)
        return;
    /* A node restarted at that address under a new id gets our pings (so
     * it learns the cluster, and the cluster learns it) but nothing that
     * was meant for the node it replaced. */
    if (m->type != RKV_FO_MSG_PING && to->id[0] &&
        strcmp(to->id, l->peer_id) != 0)
        return;
    if (rkv_fo_msg_encode(&l->out, m) != 0) {
        rkv_log(f->kv, REPLKV_LOG_WARNING, "failover: cannot encode %s: %s",
                rkv_fo_msg_name(m->type), replkv_last_error());
        return;
    }
    rkv_link_flush(l);
}

void rkv_fonode_link_authed(rkv_link *l)
{
    rkv_fonode *f = l->kv->fon;
    fo_slot *s = f ? slot_by_link(f, l) : NULL;
    if (s == NULL)
        return;
    if (s->id[0] && strcmp(s->id, l->peer_id) != 0)
        rkv_log(l->kv, REPLKV_LOG_NOTICE,
                "failover: %s:%d is node %s now (was %s)", l->addr, l->port,
                l->peer_id, s->id);
    memcpy(s->id, l->peer_id, sizeof s->id);
    s->backoff_ms = 0;
}

void rkv_fonode_link_closed(rkv_link *l)
{
    rkv_fonode *f = l->kv->fon;
    fo_slot *s = f ? slot_by_link(f, l) : NULL;
    if (s == NULL)
        return;
    s->link = NULL;
    unsigned b = s->backoff_ms ? s->backoff_ms : FON_BACKOFF_MIN_MS;
    s->next_try_ms = rkv_mono_ms() + b;
    s->backoff_ms = b * 2 > FON_BACKOFF_MAX_MS ? FON_BACKOFF_MAX_MS : b * 2;
}

static void drop_idle_slots(rkv_fonode *f, uint64_t now)
{
    for (unsigned i = 0; i < FON_SLOTS; i++) {
        fo_slot *s = &f->slots[i];
        if (s->used && now - s->last_send_ms > FON_IDLE_MS)
            slot_drop(s, "no longer a peer");
    }
}

/* ------------------------------------------------------------ inputs */

static rkv_fo_role local_role(rkv_fonode *f)
{
    if (f->cfg.witness)
        return RKV_FO_ROLE_NONE;
    if (rkv_mode(f->kv) == RKV_MODE_PRIMARY)
        return RKV_FO_ROLE_PRIMARY;
    return f->following[0] ? RKV_FO_ROLE_REPLICA : RKV_FO_ROLE_NONE;
}

void fon_report_status(rkv_fonode *f, rkv_fo_actions *a)
{
    replkv_t *kv = f->kv;
    rkv_repl *r = kv->repl;
    uint64_t now = rkv_mono_ms();
    pthread_mutex_lock(&r->lock);
    bool up = r->link_up && r->primary != NULL && r->primary->authed &&
              strcmp(r->primary->peer_id, f->following) == 0;
    pthread_mutex_unlock(&r->lock);
    if (up)
        f->link_down_since = now;
    rkv_fo_local_status(f->fo, (int64_t)now, local_role(f),
                        atomic_load(&kv->repl_offset), f->following, up,
                        up ? 0 : (int64_t)(now - f->link_down_since), a);
}

static void on_tick(uv_timer_t *t)
{
    rkv_fonode *f = t->data;
    rkv_fo_actions a;
    rkv_fo_actions_init(&a);
    fon_report_status(f, &a);
    rkv_fo_tick(f->fo, fon_now_ms(), &a);
    fon_exec(f, &a);
    rkv_fo_actions_free(&a);
    fon_after_input(f);
    drop_idle_slots(f, rkv_mono_ms());
}

void rkv_fonode_replica_acked(rkv_link *l, int64_t offset)
{
    rkv_fonode *f = l->kv->fon;
    if (f == NULL || f->fo == NULL)
        return;
    const char *target = rkv_fo_manual_target(f->fo);
    if (target == NULL || strncmp(target, l->peer_id, RKV_ID_LEN) != 0)
        return; /* the common case: nothing waits for this ACK */
    rkv_fo_actions a;
    rkv_fo_actions_init(&a);
    fon_report_status(f, &a);
    rkv_fo_replica_acked(f->fo, fon_now_ms(), l->peer_id, offset, &a);
    fon_exec(f, &a);
    rkv_fo_actions_free(&a);
    fon_after_input(f);
}

void rkv_fonode_on_frame(rkv_link *l, const uint8_t *payload, size_t len)
{
    rkv_fonode *f = l->kv->fon;
    if (f == NULL || f->fo == NULL)
        return;
    rkv_fo_msg *m = &f->rx;
    if (rkv_fo_msg_decode(payload, len, m) != 0) {
        rkv_link_close(l, REPLKV_LOG_WARNING, "bad failover message: %s",
                       replkv_last_error());
        return;
    }
    if (strncmp(m->from, l->peer_id, RKV_ID_LEN) != 0) {
        rkv_link_close(l, REPLKV_LOG_WARNING,
                       "%s claims to come from %s on the link of %s",
                       rkv_fo_msg_name(m->type), m->from, l->peer_id);
        return;
    }
    rkv_fo_actions a;
    rkv_fo_actions_init(&a);
    fon_report_status(f, &a);
    if (rkv_fo_receive(f->fo, fon_now_ms(), m, &a) != 0)
        rkv_log(l->kv, REPLKV_LOG_VERBOSE, "failover: %s ignored: %s",
                rkv_fo_msg_name(m->type), replkv_last_error());
    fon_exec(f, &a);
    rkv_fo_actions_free(&a);
    fon_after_input(f);
}

int rkv_fonode_start(replkv_t *kv)
{
    rkv_fonode *f = kv->fon;
    rkv_fo_config *fc = &f->cfg;
    snprintf(fc->node_id, sizeof fc->node_id, "%s", kv->repl->node_id);
    fc->has_state = rkv_pnode_load_fo(kv, &fc->state) == 1;
    f->fo = rkv_fo_new(fc, rkv_node_random(kv));
    if (f->fo == NULL) {
        snprintf(kv->start_detail, sizeof kv->start_detail, "%s",
                 replkv_last_error());
        return REPLKV_EINVAL;
    }
    f->link_down_since = rkv_mono_ms();
    uv_timer_init(&kv->loop, &f->timer);
    f->timer.data = f;
    f->timer_on = true;
    /* Every 10 ms (or twice per ping interval if that is shorter): each
     * step of a failover waits for a tick, and a tick costs microseconds. */
    uint64_t period = fc->ping_interval_ms / 2;
    if (period > 10)
        period = 10;
    if (period == 0)
        period = 1;
    uv_timer_start(&f->timer, on_tick, 0, period);
    rkv_log(kv, REPLKV_LOG_NOTICE,
            "failover: node %s%s monitors '%s' (%s:%u, quorum %u, "
            "down-after %u ms)%s",
            fc->node_id, fc->witness ? " (witness)" : "", fc->name,
            fc->monitor.host, fc->monitor.port, fc->quorum, fc->down_after_ms,
            fc->has_state ? ", state restored" : "");
    pthread_mutex_lock(&f->lock);
    rkv_fo_get_info(f->fo, fon_now_ms(), &f->snap);
    pthread_mutex_unlock(&f->lock);
    return 0;
}

void rkv_fonode_stop(replkv_t *kv)
{
    rkv_fonode *f = kv->fon;
    if (f->timer_on) {
        uv_timer_stop(&f->timer);
        f->timer_on = false;
    }
    for (unsigned i = 0; i < FON_SLOTS; i++)
        if (f->slots[i].used)
            slot_drop(&f->slots[i], "node closing");
}
