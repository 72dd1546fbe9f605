/*
 * failover_node.c - the failover core's host inside a node (see
 * failover_node.h): options to rkv_fo_config, the tick timer, the mesh of
 * outgoing peer links, action execution, events to callbacks and the log,
 * and the public failover calls.
 */
#include "failover_node.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "failover.h"
#include "journal.h"
#include "persist_node.h"

#define FON_SLOTS (2 * RKV_FO_MAX_NODES)
#define FON_BACKOFF_MIN_MS 100u
#define FON_BACKOFF_MAX_MS 1000u
#define FON_IDLE_MS 10000u          /* a slot nobody sends to is dropped */
#define FON_MAX_PENDING (1u << 20)  /* bytes queued before messages drop */
#define FON_DIV_MAX_KEYS 1024
#define FON_DIV_MAX_BYTES (64u << 20) /* backlog bytes read for a report */

/* An outgoing link to one peer, by id once known, else by address. */
typedef struct fo_slot {
    bool used;
    char id[RKV_FO_ID_SIZE];
    rkv_fo_addr addr;
    rkv_link *link;
    uint64_t next_try_ms;
    unsigned backoff_ms;
    uint64_t last_send_ms;
} fo_slot;

/* The keys of a divergence found at a FOLLOW, until its NOTIFY runs. */
typedef struct fo_div {
    rkv_buf keys;         /* the keys, back to back */
    size_t *lens;
    size_t nkeys;
    uint64_t nwrites;
    bool complete;
} fo_div;

struct rkv_fonode {
    replkv_t *kv;
    rkv_fo *fo;
    rkv_fo_config cfg;
    uv_timer_t timer;
    bool timer_on;
    fo_slot slots[FON_SLOTS];
    rkv_fo_msg rx; /* decoded message (large: kept off the stack) */
    /* What the core told the host. */
    char following[RKV_FO_ID_SIZE];
    bool paused;
    _Atomic uint64_t link_down_since; /* read by cluster_info_get */
    fo_div div;
    replkv_peer_cb peer_cb;
    void *peer_ud;
    replkv_decision_cb decision_cb;
    void *decision_ud;
    replkv_divergence_cb divergence_cb;
    void *divergence_ud;
    /* Read by other threads under lock. */
    pthread_mutex_t lock;
    rkv_fo_info snap;
    uint64_t failovers;
    int64_t last_done_ms;
};

static int64_t now_ms(void)
{
    return (int64_t)rkv_mono_ms();
}

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
        f->peer_cb = o->peer_cb;
        f->peer_ud = o->peer_ud;
        f->decision_cb = o->decision_cb;
        f->decision_ud = o->decision_ud;
        f->divergence_cb = o->divergence_cb;
        f->divergence_ud = o->divergence_ud;
    }
    fc->decision_hook = f->decision_cb != NULL;
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

static void send_msg(rkv_fonode *f, const rkv_fo_peer_info *to,
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

/* ------------------------------------------------------------ actions */

static void exec_actions(rkv_fonode *f, rkv_fo_actions *a);

/* The keys of the stream range [from, to) this node's backlog still holds
 * (writes stopped: nothing appends while we read). */
static void collect_divergence(rkv_fonode *f, int64_t from, int64_t to)
{
    replkv_t *kv = f->kv;
    fo_div *d = &f->div;
    rkv_buf_clear(&d->keys);
    d->nkeys = 0;
    d->nwrites = 0;
    d->complete = false;
    pthread_mutex_lock(&kv->jlock);
    int64_t first = rkv_backlog_first_offset(kv->bl);
    int64_t last = rkv_backlog_offset(kv->bl);
    uint8_t *buf = NULL;
    size_t n = 0;
    bool whole = first <= from && to <= last &&
                 (uint64_t)(to - from) <= FON_DIV_MAX_BYTES;
    if (whole && (buf = malloc((size_t)(to - from) + 1)) != NULL &&
        rkv_backlog_copy(kv->bl, from, buf, (size_t)(to - from), &n) != 0)
        n = 0;
    pthread_mutex_unlock(&kv->jlock);
    if (buf == NULL || n != (size_t)(to - from)) {
        free(buf);
        return; /* the backlog no longer holds the range: offsets only */
    }
    size_t max = rkv_frame_limit((size_t)atomic_load(&kv->max_bulk_len)) + 64;
    size_t pos = 0;
    bool ok = true;
    while (pos < n) {
        rkv_frame fr;
        rkv_msg m;
        if (rkv_frame_parse(buf + pos, n - pos, max, &fr) <= 0 ||
            rkv_msg_decode(fr.payload, fr.len, &m) != 0) {
            ok = false;
            break;
        }
        pos += fr.size;
        const rkv_bytes *key = NULL;
        switch (m.type) {
        case RKV_REC_SET:
            key = &m.set.key;
            break;
        case RKV_REC_DEL:
        case RKV_REC_PERSIST:
            key = &m.key.key;
            break;
        case RKV_REC_EXPIREAT:
            key = &m.expireat.key;
            break;
        case RKV_REC_FLUSH:
            break;
        default:
            continue; /* heartbeats change nothing */
        }
        d->nwrites++;
        if (key == NULL)
            continue;
        if (d->nkeys == FON_DIV_MAX_KEYS) {
            ok = false;
            continue;
        }
        size_t *lens = realloc(d->lens, (d->nkeys + 1) * sizeof *lens);
        if (lens == NULL ||
            rkv_buf_append(&d->keys, key->p, key->len) != 0) {
            if (lens != NULL)
                d->lens = lens;
            ok = false;
            break;
        }
        d->lens = lens;
        d->lens[d->nkeys++] = key->len;
    }
    d->complete = ok;
    free(buf);
}

static void do_follow(rkv_fonode *f, const rkv_fo_action *x)
{
    replkv_t *kv = f->kv;
    bool was_primary = rkv_mode(kv) == RKV_MODE_PRIMARY;
    atomic_store(&kv->repl->acks_off, x->ack ? 0 : 1);
    memcpy(f->following, x->to.id, sizeof f->following);
    /* Fencing first: mode REPLICA stops writes before anything else. */
    rkv_repl_become_replica(kv, x->to.addr.host, x->to.addr.port, x->epoch);
    if (!(x->demote || was_primary))
        return;
    int64_t off = atomic_load(&kv->repl_offset);
    rkv_fo_info info;
    rkv_fo_get_info(f->fo, now_ms(), &info);
    int64_t promo = info.conf.promo_offset;
    rkv_log(kv, REPLKV_LOG_WARNING,
            "failover: stepped down at offset %" PRId64 "; the new primary "
            "%s (epoch %" PRIu64 ") was promoted at offset %" PRId64,
            off, x->to.id, x->epoch, promo);
    if (promo < 0 || off <= promo)
        return;
    collect_divergence(f, promo, off);
    rkv_fo_actions a;
    rkv_fo_actions_init(&a);
    rkv_fo_divergence(f->fo, now_ms(), promo, off, x->to.id, &a);
    exec_actions(f, &a);
    rkv_fo_actions_free(&a);
}

static void do_promote(rkv_fonode *f, uint64_t epoch)
{
    replkv_t *kv = f->kv;
    f->following[0] = '\0';
    atomic_store(&kv->repl->acks_off, 0);
    atomic_store(&kv->repl->acks_ignored, 0);
    if (rkv_repl_become_primary(kv, epoch) != 0)
        rkv_log(kv, REPLKV_LOG_WARNING, "failover: promotion failed: %s",
                replkv_last_error());
}

static void ask_decision(rkv_fonode *f, const rkv_fo_action *x)
{
    replkv_t *kv = f->kv;
    rkv_fo_verdict v = RKV_FO_ACCEPT;
    char reason[RKV_FO_REASON_SIZE] = "";
    const char *pick_id = NULL;
    replkv_candidate *c = calloc(x->ncand ? x->ncand : 1, sizeof *c);
    if (f->decision_cb != NULL && c != NULL) {
        for (unsigned i = 0; i < x->ncand; i++) {
            snprintf(c[i].node_id, sizeof c[i].node_id, "%s", x->cand[i].id);
            snprintf(c[i].host, sizeof c[i].host, "%s", x->cand[i].addr.host);
            c[i].port = x->cand[i].addr.port;
            c[i].priority = x->cand[i].priority;
            c[i].offset = x->cand[i].offset;
        }
        replkv_decision_event ev = {sizeof ev, x->epoch, c, x->ncand};
        size_t pick = 0;
        int r = f->decision_cb(kv, &ev, &pick, reason, sizeof reason,
                               f->decision_ud);
        reason[sizeof reason - 1] = '\0';
        if (r == REPLKV_VERDICT_VETO) {
            v = RKV_FO_VETO;
        } else if (r == REPLKV_VERDICT_PICK && pick < x->ncand) {
            v = RKV_FO_PICK;
            pick_id = x->cand[pick].id;
        } else if (r == REPLKV_VERDICT_PICK) {
            snprintf(reason, sizeof reason,
                     "the callback picked candidate %zu of %u: accepted the "
                     "first instead",
                     pick, x->ncand);
        }
    }
    free(c);
    rkv_fo_actions a;
    rkv_fo_actions_init(&a);
    if (rkv_fo_decision(f->fo, now_ms(), v, pick_id, reason, &a) != 0)
        rkv_log(kv, REPLKV_LOG_WARNING, "failover: decision refused: %s",
                replkv_last_error());
    exec_actions(f, &a);
    rkv_fo_actions_free(&a);
}

static const rkv_fo_peer_view *view_of(const rkv_fo_info *info,
                                       const char *id)
{
    for (unsigned i = 0; i < info->npeers; i++)
        if (strcmp(info->peers[i].id, id) == 0)
            return &info->peers[i];
    return NULL;
}

static void notify(rkv_fonode *f, const rkv_fo_event *ev)
{
    replkv_t *kv = f->kv;
    bool bad = ev->type == RKV_FO_EV_DIVERGENCE ||
               (ev->type == RKV_FO_EV_PEER_STATE &&
                (ev->state == RKV_FO_PEER_SDOWN ||
                 ev->state == RKV_FO_PEER_ODOWN));
    rkv_log(kv, bad ? REPLKV_LOG_WARNING : REPLKV_LOG_NOTICE, "failover: %s",
            ev->reason);
    if (ev->type == RKV_FO_EV_PEER_STATE && f->peer_cb != NULL) {
        rkv_fo_info *info = malloc(sizeof *info);
        if (info == NULL)
            return;
        rkv_fo_get_info(f->fo, now_ms(), info);
        const rkv_fo_peer_view *p = view_of(info, ev->peer);
        replkv_peer_event pe = {sizeof pe, ev->peer, p ? p->addr.host : "",
                                p ? p->addr.port : 0,
                                (replkv_peer_state)ev->state};
        f->peer_cb(kv, &pe, f->peer_ud);
        free(info);
    }
    if (ev->type == RKV_FO_EV_DIVERGENCE && f->divergence_cb != NULL) {
        fo_div *d = &f->div;
        const void **keys = calloc(d->nkeys ? d->nkeys : 1, sizeof *keys);
        size_t at = 0;
        for (size_t i = 0; keys != NULL && i < d->nkeys; i++) {
            keys[i] = d->keys.data + at;
            at += d->lens[i];
        }
        replkv_divergence_event de = {
            sizeof de,      ev->epoch, ev->peer,    ev->from,
            ev->to,         d->nwrites, keys,       d->lens,
            keys ? d->nkeys : 0, d->complete && keys != NULL};
        f->divergence_cb(kv, &de, f->divergence_ud);
        free(keys);
        d->nkeys = 0;
        d->nwrites = 0;
        rkv_buf_clear(&d->keys);
    }
}

static void exec_actions(rkv_fonode *f, rkv_fo_actions *a)
{
    replkv_t *kv = f->kv;
    if (a->oom)
        rkv_log(kv, REPLKV_LOG_WARNING,
                "failover: out of memory: some actions were lost");
    for (size_t i = 0; i < a->n; i++) {
        const rkv_fo_action *x = &a->v[i];
        switch (x->type) {
        case RKV_FO_ACT_PERSIST:
            if (rkv_pnode_save_fo(kv, &x->state) != 0) {
                /* A vote must never leave before it is durable. */
                rkv_log(kv, REPLKV_LOG_WARNING,
                        "failover: cannot save the node state (%s): the %zu "
                        "actions after it are dropped",
                        replkv_last_error(), a->n - i - 1);
                return;
            }
            break;
        case RKV_FO_ACT_SEND:
            send_msg(f, &x->to, x->msg);
            break;
        case RKV_FO_ACT_PROMOTE_SELF:
            do_promote(f, x->epoch);
            break;
        case RKV_FO_ACT_FOLLOW:
            do_follow(f, x);
            break;
        case RKV_FO_ACT_DETACH:
            atomic_store(&kv->repl->acks_off, 1);
            rkv_repl_detach(kv);
            break;
        case RKV_FO_ACT_PAUSE_WRITES:
            f->paused = true;
            atomic_store(&kv->write_block, REPLKV_EREADONLY);
            break;
        case RKV_FO_ACT_RESUME_WRITES:
            f->paused = false;
            if (!f->cfg.witness)
                atomic_store(&kv->write_block, 0);
            break;
        case RKV_FO_ACT_ASK_DECISION:
            ask_decision(f, x);
            break;
        case RKV_FO_ACT_ACKS:
            atomic_store(&kv->repl->acks_ignored, x->ack ? 0 : 1);
            break;
        case RKV_FO_ACT_NOTIFY:
            notify(f, &x->ev);
            break;
        default:
            break;
        }
    }
}

/* After every input: the snapshot other threads read, and why writes are
 * blocked. */
static void after_input(rkv_fonode *f)
{
    replkv_t *kv = f->kv;
    pthread_mutex_lock(&f->lock);
    rkv_fo_get_info(f->fo, now_ms(), &f->snap);
    if (f->snap.last.done_ms != 0 && f->snap.last.done_ms != f->last_done_ms &&
        strcmp(f->snap.last.result, "done") == 0) {
        f->last_done_ms = f->snap.last.done_ms;
        f->failovers++;
    }
    bool fenced = f->snap.fenced;
    pthread_mutex_unlock(&f->lock);
    if (f->cfg.witness)
        return;
    if (f->paused)
        atomic_store(&kv->write_block,
                     fenced ? REPLKV_ENOQUORUM : REPLKV_EREADONLY);
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

static void report_status(rkv_fonode *f, rkv_fo_actions *a)
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
    report_status(f, &a);
    rkv_fo_tick(f->fo, now_ms(), &a);
    exec_actions(f, &a);
    rkv_fo_actions_free(&a);
    after_input(f);
    drop_idle_slots(f, rkv_mono_ms());
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
    report_status(f, &a);
    if (rkv_fo_receive(f->fo, now_ms(), m, &a) != 0)
        rkv_log(l->kv, REPLKV_LOG_VERBOSE, "failover: %s ignored: %s",
                rkv_fo_msg_name(m->type), replkv_last_error());
    exec_actions(f, &a);
    rkv_fo_actions_free(&a);
    after_input(f);
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
    rkv_fo_get_info(f->fo, now_ms(), &f->snap);
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

/* ------------------------------------------------------------ queries */

bool rkv_fonode_acks_counted(replkv_t *kv)
{
    return !atomic_load(&kv->repl->acks_ignored);
}

bool rkv_fonode_primary_addr(replkv_t *kv, char *host, size_t cap, int *port)
{
    rkv_fonode *f = kv->fon;
    if (f == NULL)
        return false;
    pthread_mutex_lock(&f->lock);
    bool known = f->snap.conf.addr.port != 0 &&
                 strcmp(f->snap.conf.primary, kv->repl->node_id) != 0;
    if (known) {
        snprintf(host, cap, "%s", f->snap.conf.addr.host);
        *port = f->snap.conf.addr.port;
    }
    pthread_mutex_unlock(&f->lock);
    return known;
}

static int role_of(int fo_role, bool witness)
{
    if (witness)
        return REPLKV_ROLE_WITNESS;
    if (fo_role == RKV_FO_ROLE_PRIMARY)
        return REPLKV_ROLE_PRIMARY;
    if (fo_role == RKV_FO_ROLE_REPLICA)
        return REPLKV_ROLE_REPLICA;
    return -1;
}

static const char *state_name(int state)
{
    switch (state) {
    case RKV_FO_PEER_SDOWN:
        return "sdown";
    case RKV_FO_PEER_ODOWN:
        return "odown";
    default:
        return "up";
    }
}

int replkv_cluster_info_get(replkv_t *kv, replkv_cluster_info *out)
{
    if (kv == NULL || out == NULL || out->size < sizeof out->size)
        return rkv_fail(REPLKV_EINVAL, "cluster_info_get: NULL or bad size");
    replkv_cluster_info ci;
    memset(&ci, 0, sizeof ci);
    ci.size = out->size;
    rkv_fonode *f = kv->fon;
    if (f != NULL) {
        const rkv_fo_config *fc = &f->cfg;
        ci.enabled = true;
        snprintf(ci.name, sizeof ci.name, "%s", fc->name);
        snprintf(ci.node_id, sizeof ci.node_id, "%s", kv->repl->node_id);
        ci.quorum = fc->quorum;
        ci.down_after_ms = fc->down_after_ms;
        ci.failover_timeout_ms = fc->failover_timeout_ms;
        ci.parallel_syncs = fc->parallel_syncs;
        pthread_mutex_lock(&f->lock);
        const rkv_fo_info *s = &f->snap;
        ci.current_epoch = s->current_epoch;
        ci.config_epoch = s->conf.epoch;
        snprintf(ci.primary_id, sizeof ci.primary_id, "%s", s->conf.primary);
        snprintf(ci.primary_host, sizeof ci.primary_host, "%s",
                 s->conf.addr.host);
        ci.primary_port = s->conf.addr.port;
        ci.primary_sdown = s->primary_sdown;
        ci.primary_odown = s->primary_odown;
        snprintf(ci.leader_id, sizeof ci.leader_id, "%s", s->last_leader);
        ci.leader_epoch = s->last_leader_epoch;
        ci.voters = s->voters;
        ci.failover_running = s->failover_running;
        ci.writes_paused = s->writes_paused;
        ci.fenced = s->fenced;
        ci.failovers = f->failovers;
        int64_t base = (int64_t)kv->start_mono_ms;
        const rkv_fo_timeline *t = &s->last;
        ci.last_odown_ms = t->odown_ms ? t->odown_ms - base : 0;
        ci.last_elected_ms = t->elected_ms ? t->elected_ms - base : 0;
        ci.last_promoted_ms = t->promoted_ms ? t->promoted_ms - base : 0;
        ci.last_done_ms = t->done_ms ? t->done_ms - base : 0;
        snprintf(ci.last_result, sizeof ci.last_result, "%.127s", t->result);
        replkv_peer_info *me = &ci.peers[0];
        snprintf(me->node_id, sizeof me->node_id, "%s", kv->repl->node_id);
        snprintf(me->host, sizeof me->host, "%s", fc->self.host);
        me->port = fc->self.port;
        me->self = true;
        me->witness = fc->witness;
        me->state = REPLKV_PEER_UP;
        me->role = role_of(s->role, fc->witness);
        me->offset = atomic_load(&kv->repl_offset);
        me->priority = fc->replica_priority;
        {
            rkv_repl *r = kv->repl;
            pthread_mutex_lock(&r->lock);
            me->link_up = r->link_up;
            pthread_mutex_unlock(&r->lock);
            me->link_down_ms = me->link_up ? 0
                               : (int64_t)(rkv_mono_ms() - f->link_down_since);
        }
        ci.npeers = 1;
        for (unsigned i = 0; i < s->npeers && ci.npeers < 32; i++) {
            const rkv_fo_peer_view *v = &s->peers[i];
            replkv_peer_info *p = &ci.peers[ci.npeers++];
            snprintf(p->node_id, sizeof p->node_id, "%s", v->id);
            snprintf(p->host, sizeof p->host, "%s", v->addr.host);
            p->port = v->addr.port;
            p->witness = v->witness;
            p->state = (replkv_peer_state)v->state;
            p->role = role_of(v->role, v->witness);
            p->offset = v->offset;
            p->last_heard_ms = v->last_heard_ms;
            p->priority = v->priority;
            p->link_up = v->link_up;
            p->link_down_ms = v->link_down_ms;
        }
        pthread_mutex_unlock(&f->lock);
    }
    size_t n = out->size < sizeof ci ? out->size : sizeof ci;
    memcpy(out, &ci, n);
    return 0;
}

char *rkv_fonode_info_text(replkv_t *kv)
{
    if (kv->fon == NULL)
        return strdup("");
    replkv_cluster_info *ci = malloc(sizeof *ci);
    if (ci == NULL)
        return NULL;
    ci->size = sizeof *ci;
    replkv_cluster_info_get(kv, ci);
    rkv_buf b;
    rkv_buf_init(&b);
    char line[512];
    int slaves = 0, sentinels = 0;
    for (int i = 1; i < ci->npeers; i++) {
        if (ci->peers[i].role == REPLKV_ROLE_REPLICA)
            slaves++;
        sentinels++;
    }
    int n = snprintf(line, sizeof line,
                     "# Sentinel\r\nsentinel_masters:1\r\nsentinel_tilt:0\r\n"
                     "master0:name=%s,status=%s,address=%s:%d,slaves=%d,"
                     "sentinels=%d\r\n",
                     ci->name, ci->primary_odown ? "odown" : "ok",
                     ci->primary_host, ci->primary_port, slaves,
                     sentinels + 1);
    bool oom = rkv_buf_append(&b, line, (size_t)n) != 0;
    n = snprintf(line, sizeof line,
                 "node_id:%s\r\nquorum:%u\r\nvoters:%u\r\n"
                 "current_epoch:%" PRIu64 "\r\nconfig_epoch:%" PRIu64 "\r\n"
                 "primary_id:%s\r\nprimary_sdown:%d\r\nprimary_odown:%d\r\n"
                 "leader:%s\r\nleader_epoch:%" PRIu64 "\r\n"
                 "failover_running:%d\r\nwrites_paused:%d\r\nfenced:%d\r\n"
                 "failovers:%" PRIu64 "\r\n",
                 ci->node_id, ci->quorum, ci->voters, ci->current_epoch,
                 ci->config_epoch, ci->primary_id[0] ? ci->primary_id : "-",
                 ci->primary_sdown, ci->primary_odown,
                 ci->leader_id[0] ? ci->leader_id : "-", ci->leader_epoch,
                 ci->failover_running, ci->writes_paused, ci->fenced,
                 ci->failovers);
    oom |= rkv_buf_append(&b, line, (size_t)n) != 0;
    n = snprintf(line, sizeof line,
                 "last_failover_result:%s\r\nlast_failover_odown_ms:%" PRId64
                 "\r\nlast_failover_elected_ms:%" PRId64
                 "\r\nlast_failover_promoted_ms:%" PRId64
                 "\r\nlast_failover_done_ms:%" PRId64 "\r\n",
                 ci->last_result[0] ? ci->last_result : "-", ci->last_odown_ms,
                 ci->last_elected_ms, ci->last_promoted_ms, ci->last_done_ms);
    oom |= rkv_buf_append(&b, line, (size_t)n) != 0;
    static const char *const roles[] = {"primary", "replica", "witness"};
    for (int i = 1; i < ci->npeers; i++) {
        const replkv_peer_info *p = &ci->peers[i];
        n = snprintf(line, sizeof line,
                     "peer%d:id=%s,addr=%s:%d,role=%s,state=%s,offset=%" PRId64
                     ",last_heard_ms=%" PRId64 "\r\n",
                     i - 1, p->node_id, p->host, p->port,
                     p->role >= 0 && p->role <= 2 ? roles[p->role] : "unknown",
                     state_name(p->state), p->offset, p->last_heard_ms);
        oom |= rkv_buf_append(&b, line, (size_t)n) != 0;
    }
    oom |= rkv_buf_append(&b, "", 1) != 0;
    free(ci);
    if (oom) {
        rkv_buf_free(&b);
        return NULL;
    }
    return (char *)b.data;
}

/* ------------------------------------------------------------ public API */

typedef struct failover_arg {
    const char *target;
    int64_t timeout_ms;
} failover_arg;

/* A node id, or "host:port" of a known node's peer address. */
static int resolve_target(rkv_fonode *f, const char *target,
                          char id[RKV_FO_ID_SIZE])
{
    id[0] = '\0';
    if (target == NULL || target[0] == '\0')
        return 0;
    const char *colon = strrchr(target, ':');
    if (colon == NULL) {
        if (strlen(target) != RKV_ID_LEN)
            return rkv_fail(REPLKV_EINVAL,
                            "failover: target '%s' is neither a node id nor "
                            "host:port",
                            target);
        snprintf(id, RKV_FO_ID_SIZE, "%s", target);
        return 0;
    }
    rkv_fo_info *info = malloc(sizeof *info);
    if (info == NULL)
        return rkv_fail(REPLKV_ENOMEM, "failover: out of memory");
    rkv_fo_get_info(f->fo, now_ms(), info);
    for (unsigned i = 0; i < info->npeers; i++) {
        const rkv_fo_addr *a = &info->peers[i].addr;
        char s[RKV_FO_HOST_SIZE + 8];
        snprintf(s, sizeof s, "%s:%u", a->host, a->port);
        if (strcmp(s, target) == 0) {
            snprintf(id, RKV_FO_ID_SIZE, "%s", info->peers[i].id);
            free(info);
            return 0;
        }
    }
    free(info);
    return rkv_fail(REPLKV_EINVAL, "failover: no known node at %s", target);
}

static int do_failover(replkv_t *kv, void *arg)
{
    failover_arg *fa = arg;
    rkv_fonode *f = kv->fon;
    char id[RKV_FO_ID_SIZE];
    int rc = resolve_target(f, fa->target, id);
    if (rc != 0)
        return rc;
    uint32_t t = fa->timeout_ms <= 0            ? 0
                 : fa->timeout_ms > UINT32_MAX ? UINT32_MAX
                                                : (uint32_t)fa->timeout_ms;
    rkv_fo_actions a;
    rkv_fo_actions_init(&a);
    report_status(f, &a);
    rc = rkv_fo_request_failover(f->fo, now_ms(), id, t, &a);
    char detail[512];
    snprintf(detail, sizeof detail, "%s", replkv_last_error());
    exec_actions(f, &a);
    rkv_fo_actions_free(&a);
    after_input(f);
    if (rc != 0)
        return rkv_fail(rc, "%s", detail);
    rkv_log(kv, REPLKV_LOG_NOTICE, "failover: manual failover requested (%s)",
            id[0] ? id : "best replica");
    return 0;
}

int replkv_failover(replkv_t *kv, const char *target, int64_t timeout_ms)
{
    if (kv == NULL)
        return rkv_fail(REPLKV_EINVAL, "failover: NULL node");
    if (kv->fon == NULL)
        return rkv_fail(REPLKV_ENOTSUP,
                        "failover: off on this node (no sentinel monitor)");
    failover_arg fa = {target, timeout_ms};
    return rkv_repl_run_on_io(kv, do_failover, &fa);
}

static int do_forget(replkv_t *kv, void *arg)
{
    rkv_fonode *f = kv->fon;
    rkv_fo_actions a;
    rkv_fo_actions_init(&a);
    int rc = rkv_fo_forget(f->fo, now_ms(), arg, &a);
    char detail[512];
    snprintf(detail, sizeof detail, "%s", replkv_last_error());
    exec_actions(f, &a);
    rkv_fo_actions_free(&a);
    after_input(f);
    return rc != 0 ? rkv_fail(rc, "%s", detail) : 0;
}

int replkv_forget(replkv_t *kv, const char *node_id)
{
    if (kv == NULL || node_id == NULL)
        return rkv_fail(REPLKV_EINVAL, "forget: NULL argument");
    if (kv->fon == NULL)
        return rkv_fail(REPLKV_ENOTSUP,
                        "forget: failover is off on this node");
    if (strlen(node_id) != RKV_ID_LEN)
        return rkv_fail(REPLKV_EINVAL, "forget: '%s' is not a node id",
                        node_id);
    return rkv_repl_run_on_io(kv, do_forget, (void *)node_id);
}
