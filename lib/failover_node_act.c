/*
 * failover_node_act.c - executing the failover core's actions on the
 * replication layer (failover.h, "Host contract"; docs/PROTOCOL.md 11.10):
 * promotion, following with fencing and the divergence report, detaching,
 * pausing writes, counting acks, the application's decision, and events
 * to the callbacks and the log.
 */
#include "failover_node_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "journal.h"
#include "persist_node.h"

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
    bool acks_were_off = atomic_exchange(&kv->repl->acks_off, x->ack ? 0 : 1);
    bool new_primary = strcmp(f->following, x->to.id) != 0;
    memcpy(f->following, x->to.id, sizeof f->following);
    /* Fencing first: mode REPLICA stops writes before anything else. */
    rkv_repl_become_replica(kv, x->to.addr.host, x->to.addr.port, x->epoch);
    if (acks_were_off && x->ack)
        rkv_replica_ack_now(kv); /* WAIT on the primary counts us now */
    if (x->to.addr.port == f->cfg.self.port &&
        strcmp(x->to.addr.host, f->cfg.self.host) == 0) {
        /* The primary the configuration names had this node's address: we
         * are its restart without state. It is gone; wait, read-only, for
         * the failover the others will run. */
        rkv_repl_detach(kv);
        rkv_log(kv, REPLKV_LOG_NOTICE,
                "failover: the configured primary %s had this node's "
                "address (this node restarted without its state): waiting "
                "for the cluster to fail over",
                x->to.id);
        return;
    }
    bool demoted = x->demote || was_primary;
    if (!demoted && !new_primary)
        return; /* the same primary: only acks changed */
    int64_t off = atomic_load(&kv->repl_offset);
    rkv_fo_info info;
    rkv_fo_get_info(f->fo, fon_now_ms(), &info);
    int64_t promo = info.conf.promo_offset;
    if (demoted)
        rkv_log(kv, REPLKV_LOG_WARNING,
                "failover: stepped down at offset %" PRId64 "; the new "
                "primary %s (epoch %" PRIu64 ") was promoted at offset "
                "%" PRId64,
                off, x->to.id, x->epoch, promo);
    /* Writes past the new primary's promotion point in an older history
     * are lost when we resync: an old primary's (fencing), and a node's
     * that restarted from its files after the failover, or a replica that
     * was further along than the one promoted. */
    if (promo < 0 || off <= promo || info.fresh ||
        (!demoted && info.hist_epoch >= info.conf.epoch))
        return;
    collect_divergence(f, promo, off);
    if (f->div.complete && f->div.nwrites == 0) {
        rkv_log(kv, REPLKV_LOG_NOTICE,
                "failover: offsets %" PRId64 "..%" PRId64 " held only "
                "heartbeats: no write lost",
                promo, off);
        return;
    }
    rkv_fo_actions a;
    rkv_fo_actions_init(&a);
    rkv_fo_divergence(f->fo, fon_now_ms(), promo, off, x->to.id, &a);
    fon_exec(f, &a);
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
    if (f->cb.decision_cb != NULL && c != NULL) {
        for (unsigned i = 0; i < x->ncand; i++) {
            snprintf(c[i].node_id, sizeof c[i].node_id, "%s", x->cand[i].id);
            snprintf(c[i].host, sizeof c[i].host, "%s", x->cand[i].addr.host);
            c[i].port = x->cand[i].addr.port;
            c[i].priority = x->cand[i].priority;
            c[i].offset = x->cand[i].offset;
        }
        replkv_decision_event ev = {sizeof ev, x->epoch, c, x->ncand};
        size_t pick = 0;
        int r = f->cb.decision_cb(kv, &ev, &pick, reason, sizeof reason,
                               f->cb.decision_ud);
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
    if (rkv_fo_decision(f->fo, fon_now_ms(), v, pick_id, reason, &a) != 0)
        rkv_log(kv, REPLKV_LOG_WARNING, "failover: decision refused: %s",
                replkv_last_error());
    fon_exec(f, &a);
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
    if (ev->type == RKV_FO_EV_PEER_STATE && f->cb.peer_cb != NULL) {
        rkv_fo_info *info = malloc(sizeof *info);
        if (info == NULL)
            return;
        rkv_fo_get_info(f->fo, fon_now_ms(), info);
        const rkv_fo_peer_view *p = view_of(info, ev->peer);
        replkv_peer_event pe = {sizeof pe, ev->peer, p ? p->addr.host : "",
                                p ? p->addr.port : 0,
                                (replkv_peer_state)ev->state};
        f->cb.peer_cb(kv, &pe, f->cb.peer_ud);
        free(info);
    }
    if (ev->type == RKV_FO_EV_DIVERGENCE && f->cb.divergence_cb != NULL) {
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
        f->cb.divergence_cb(kv, &de, f->cb.divergence_ud);
        free(keys);
        d->nkeys = 0;
        d->nwrites = 0;
        rkv_buf_clear(&d->keys);
    }
}

void fon_exec(rkv_fonode *f, rkv_fo_actions *a)
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
            fon_send(f, &x->to, x->msg);
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

void fon_after_input(rkv_fonode *f)
{
    replkv_t *kv = f->kv;
    pthread_mutex_lock(&f->lock);
    rkv_fo_get_info(f->fo, fon_now_ms(), &f->snap);
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
