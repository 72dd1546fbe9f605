/*
 * failover_api.c - the public failover calls (replkv_failover,
 * replkv_forget, replkv_cluster_info_get), the "# Sentinel" INFO section,
 * and what the rest of the node asks the failover host (acks, the
 * primary's address).
 */
#include "failover_node_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "journal.h"

bool rkv_fonode_may_sync_from(replkv_t *kv, const char *peer_id)
{
    rkv_fonode *f = kv->fon;
    return f == NULL || f->following[0] == '\0' ||
           strncmp(f->following, peer_id, RKV_ID_LEN) == 0;
}

bool rkv_fonode_may_serve(replkv_t *kv)
{
    return kv->fon == NULL || rkv_mode(kv) == RKV_MODE_PRIMARY;
}

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
    char self[RKV_FO_HOST_SIZE + 8];
    snprintf(self, sizeof self, "%s:%u", f->cfg.self.host, f->cfg.self.port);
    if (strcmp(self, target) == 0) {
        snprintf(id, RKV_FO_ID_SIZE, "%s", f->cfg.node_id);
        return 0;
    }
    rkv_fo_info *info = malloc(sizeof *info);
    if (info == NULL)
        return rkv_fail(REPLKV_ENOMEM, "failover: out of memory");
    rkv_fo_get_info(f->fo, fon_now_ms(), info);
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

/* The application's inputs to the core, on the I/O thread: reported
 * status first, then the call, then what it produced executed; the call's
 * error and detail survive the execution. */
enum { INPUT_FAILOVER, INPUT_ABORT, INPUT_FORGET };

static int core_input(rkv_fonode *f, int input, const char *id,
                      uint32_t timeout_ms)
{
    rkv_fo_actions a;
    rkv_fo_actions_init(&a);
    fon_report_status(f, &a);
    int64_t now = fon_now_ms();
    int rc = input == INPUT_FAILOVER
                 ? rkv_fo_request_failover(f->fo, now, id, timeout_ms, &a)
             : input == INPUT_ABORT ? rkv_fo_abort_manual(f->fo, now, &a)
                                    : rkv_fo_forget(f->fo, now, id, &a);
    char detail[512];
    snprintf(detail, sizeof detail, "%s", replkv_last_error());
    fon_exec(f, &a);
    rkv_fo_actions_free(&a);
    fon_after_input(f);
    return rc != 0 ? rkv_fail(rc, "%s", detail) : 0;
}

static int do_failover(replkv_t *kv, void *arg)
{
    failover_arg *fa = arg;
    char id[RKV_FO_ID_SIZE];
    int rc = resolve_target(kv->fon, fa->target, id);
    if (rc != 0)
        return rc;
    uint32_t t = fa->timeout_ms <= 0            ? 0
                 : fa->timeout_ms > UINT32_MAX ? UINT32_MAX
                                                : (uint32_t)fa->timeout_ms;
    if ((rc = core_input(kv->fon, INPUT_FAILOVER, id, t)) != 0)
        return rc;
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

static int do_abort(replkv_t *kv, void *arg)
{
    (void)arg;
    int rc = core_input(kv->fon, INPUT_ABORT, NULL, 0);
    if (rc == 0)
        rkv_log(kv, REPLKV_LOG_NOTICE, "failover: manual failover aborted");
    return rc;
}

int replkv_failover_abort(replkv_t *kv)
{
    if (kv == NULL)
        return rkv_fail(REPLKV_EINVAL, "failover_abort: NULL node");
    if (kv->fon == NULL)
        return rkv_fail(REPLKV_ENOTSUP,
                        "failover_abort: off on this node (no sentinel "
                        "monitor)");
    return rkv_repl_run_on_io(kv, do_abort, NULL);
}

static int do_forget(replkv_t *kv, void *arg)
{
    return core_input(kv->fon, INPUT_FORGET, arg, 0);
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
