/*
 * failover_actions.c - what the failover core hands out (failover.h): the
 * action list it appends to (and owns the messages and candidate arrays
 * of), the helpers that build actions, and introspection (the INFO
 * "sentinel" view: peers, epochs, the last failover's timeline).
 */
#include "failover_int.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *rkv_fo_role_name(int role)
{
    switch (role) {
    case RKV_FO_ROLE_PRIMARY:
        return "primary";
    case RKV_FO_ROLE_REPLICA:
        return "replica";
    default:
        return "none";
    }
}

const char *rkv_fo_act_name(unsigned type)
{
    static const char *const names[] = {
        "?",           "PERSIST",       "SEND",          "PROMOTE_SELF",
        "FOLLOW",      "DETACH",        "PAUSE_WRITES",  "RESUME_WRITES",
        "ASK_DECISION", "ACKS",        "NOTIFY"};
    return type < sizeof names / sizeof names[0] ? names[type] : "?";
}

/* ------------------------------------------------------------ actions */

void rkv_fo_actions_init(rkv_fo_actions *a)
{
    memset(a, 0, sizeof *a);
}

void rkv_fo_actions_reset(rkv_fo_actions *a)
{
    for (size_t i = 0; i < a->nowned; i++)
        free(a->owned[i]);
    a->nowned = 0;
    a->n = 0;
    a->oom = false;
}

void rkv_fo_actions_free(rkv_fo_actions *a)
{
    if (a == NULL)
        return;
    rkv_fo_actions_reset(a);
    free(a->v);
    free(a->owned);
    memset(a, 0, sizeof *a);
}

void fo_push(rkv_fo_actions *out, const rkv_fo_action *a)
{
    if (out->n == out->cap) {
        size_t cap = out->cap ? out->cap * 2 : 16;
        rkv_fo_action *v = realloc(out->v, cap * sizeof *v);
        if (v == NULL) {
            out->oom = true;
            return;
        }
        out->v = v;
        out->cap = cap;
    }
    out->v[out->n++] = *a;
}

void *fo_own(rkv_fo_actions *out, size_t size)
{
    if (out->nowned == out->capowned) {
        size_t cap = out->capowned ? out->capowned * 2 : 16;
        void **v = realloc(out->owned, cap * sizeof *v);
        if (v == NULL) {
            out->oom = true;
            return NULL;
        }
        out->owned = v;
        out->capowned = cap;
    }
    void *p = calloc(1, size);
    if (p == NULL) {
        out->oom = true;
        return NULL;
    }
    out->owned[out->nowned++] = p;
    return p;
}

rkv_fo_msg *fo_new_msg(rkv_fo *fo, rkv_fo_actions *out, unsigned type)
{
    rkv_fo_msg *m = fo_own(out, sizeof *m);
    if (m == NULL)
        return NULL;
    m->type = type;
    fo_copy_id(m->from, fo->cfg.node_id);
    m->epoch = fo->current_epoch;
    return m;
}

void fo_send(rkv_fo_actions *out, const fo_peer *p, const rkv_fo_msg *m)
{
    rkv_fo_action a = {.type = RKV_FO_ACT_SEND, .msg = m};
    fo_copy_id(a.to.id, p->id);
    a.to.addr = p->addr;
    a.to.flags = p->witness ? RKV_FO_F_WITNESS : 0;
    fo_push(out, &a);
}

void fo_persist(rkv_fo *fo, rkv_fo_actions *out)
{
    rkv_fo_action a = {.type = RKV_FO_ACT_PERSIST};
    a.state.current_epoch = fo->current_epoch;
    a.state.voted_epoch = fo->voted_epoch;
    fo_copy_id(a.state.voted_for, fo->voted_for);
    a.state.config_epoch = fo->conf.epoch;
    fo_copy_id(a.state.primary, fo->conf.primary);
    a.state.primary_addr = fo->conf.addr;
    fo_copy_id(a.state.leader, fo->conf.leader);
    a.state.promo_offset = fo->conf.promo_offset;
    a.state.hist_epoch = fo->hist_epoch;
    a.state.fresh = fo->fresh;
    a.state.npeers = fo->npeers;
    for (unsigned i = 0; i < fo->npeers; i++) {
        fo_copy_id(a.state.peers[i].id, fo->peers[i].id);
        a.state.peers[i].addr = fo->peers[i].addr;
        a.state.peers[i].flags = fo->peers[i].witness ? RKV_FO_F_WITNESS : 0;
    }
    a.state.nforgot = fo->nforgot;
    memcpy(a.state.forgot, fo->forgot, fo->nforgot * sizeof fo->forgot[0]);
    fo_push(out, &a);
}

void fo_notify(rkv_fo_actions *out, unsigned type, uint64_t epoch,
               const char *peer, int state, const char *fmt, ...)
{
    rkv_fo_action a = {.type = RKV_FO_ACT_NOTIFY};
    a.ev.type = type;
    a.ev.epoch = epoch;
    a.ev.state = state;
    fo_copy_id(a.ev.peer, peer);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(a.ev.reason, sizeof a.ev.reason, fmt, ap);
    va_end(ap);
    fo_push(out, &a);
}

/* -------------------------------------------------------- introspection */

void rkv_fo_get_info(const rkv_fo *fo, int64_t now_ms, rkv_fo_info *info)
{
    memset(info, 0, sizeof *info);
    info->role = fo->role;
    info->booted = fo->booted;
    info->fresh = fo->fresh;
    info->informed = fo->informed;
    info->detached = fo->detached;
    info->writes_paused = fo->paused_emitted;
    info->fenced = fo->fenced;
    info->witness = fo->cfg.witness;
    info->current_epoch = fo->current_epoch;
    info->hist_epoch = fo->hist_epoch;
    info->conf = fo->conf;
    fo_copy_id(info->last_leader, fo->last_leader);
    info->last_leader_epoch = fo->last_leader_epoch;
    info->primary_sdown = fo->primary_sdown;
    info->primary_odown = fo->primary_odown;
    info->voters = fo_voters(fo);
    info->npeers = fo->npeers;
    for (unsigned i = 0; i < fo->npeers; i++) {
        const fo_peer *p = &fo->peers[i];
        rkv_fo_peer_view *v = &info->peers[i];
        fo_copy_id(v->id, p->id);
        v->addr = p->addr;
        v->witness = p->witness;
        v->state = p->state;
        if (strcmp(p->id, fo->conf.primary) == 0 && fo->primary_odown)
            v->state = RKV_FO_PEER_ODOWN;
        v->role = p->role;
        v->offset = p->offset;
        v->last_heard_ms = p->last_heard_ms ? now_ms - p->last_heard_ms : -1;
        v->priority = p->priority;
        v->link_up = (p->flags & RKV_FO_F_LINK_UP) != 0;
        v->link_down_ms = p->link_down_ms;
    }
    info->last = fo->tl;
    info->failover_running = fo->phase != FO_IDLE;
}
