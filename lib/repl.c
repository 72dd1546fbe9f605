/*
 * repl.c - replication's glue to the node: setup before the I/O thread
 * runs, start (listener opened before replkv_open returns) and stop on it,
 * the replication cron, role changes (run on the I/O thread for the
 * application thread that asked), and the public replication calls that
 * block: WAIT and read-your-writes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "failover_node.h"
#include "journal.h"
#include "repl.h"

bool rkv_repl_on_io_thread(replkv_t *kv)
{
    uv_thread_t self = uv_thread_self();
    return uv_thread_equal(&self, &kv->thread);
}

void rkv_repl_primary_addr(replkv_t *kv, char *host, size_t cap, int *port)
{
    pthread_mutex_lock(&kv->repl->lock);
    snprintf(host, cap, "%s", kv->repl->primary_host);
    *port = kv->repl->primary_port;
    pthread_mutex_unlock(&kv->repl->lock);
}

int rkv_repl_primary_mode(replkv_t *kv)
{
    /* A node with an append-only file journals even without a port: the
     * file is the stream. Without either, writes skip journaling. */
    return kv->cfg.port != 0 || kv->cfg.appendonly ? RKV_MODE_PRIMARY
                                                   : RKV_MODE_STANDALONE;
}

void rkv_repl_request_resync(replkv_t *kv)
{
    atomic_store(&kv->repl->resync_all, 1);
}

/* ------------------------------------------------------------ cron */

static void drop_replicas(replkv_t *kv, const char *why)
{
    while (kv->repl->replicas != NULL)
        rkv_link_close(kv->repl->replicas, REPLKV_LOG_NOTICE, "%s", why);
}

static void run_cmds(replkv_t *kv);

static void on_cron(uv_timer_t *t)
{
    replkv_t *kv = t->data;
    uint64_t now = rkv_mono_ms();
    if (atomic_exchange(&kv->repl->resync_all, 0))
        drop_replicas(kv, "the stream lost a record; resync");
    rkv_primary_cron(kv, now);
    rkv_replica_cron(kv, now);
}

static void on_wake(uv_async_t *a)
{
    replkv_t *kv = a->data;
    run_cmds(kv);
    rkv_link *next;
    for (rkv_link *l = kv->repl->replicas; l != NULL; l = next) {
        next = l->next;
        rkv_primary_pump(l);
    }
}

/* ------------------------------------------------------------ lifecycle */

static void hex_id(char *out, const uint8_t *raw)
{
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < RKV_ID_LEN / 2; i++) {
        out[2 * i] = hex[raw[i] >> 4];
        out[2 * i + 1] = hex[raw[i] & 15];
    }
    out[RKV_ID_LEN] = '\0';
}

int rkv_repl_init(replkv_t *kv, const replkv_opts *o)
{
    rkv_repl *r = calloc(1, sizeof *r);
    if (r == NULL)
        return rkv_fail(REPLKV_ENOMEM, "replkv_open: out of memory");
    kv->repl = r;
    r->obuf_hard = kv->cfg.repl_obuf_hard;
    r->obuf_soft = kv->cfg.repl_obuf_soft;
    r->obuf_soft_ms = (uint64_t)kv->cfg.repl_obuf_soft_secs * 1000u;
    pthread_mutex_init(&r->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&r->cond, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&kv->jlock, NULL);
    uint8_t raw[RKV_ID_LEN / 2 + 8];
    int rc = rkv_random_bytes(raw, sizeof raw);
    if (rc != 0)
        return rc;
    hex_id(r->node_id, raw);
    memcpy(&r->rng.s, raw + RKV_ID_LEN / 2, 8);
    rc = rkv_backlog_new((size_t)kv->cfg.repl_backlog_size, &kv->bl);
    if (rc != 0)
        return rc;
    r->fresh = true;
    if (o != NULL) {
        r->role_cb = o->role_cb;
        r->role_ud = o->role_ud;
    }
    int port = 0;
    rc = rkv_parse_replicaof(kv->cfg.replicaof, r->primary_host,
                             sizeof r->primary_host, &port);
    if (rc < 0)
        return rc;
    r->primary_port = rc == 1 ? port : 0;
    if (kv->cfg.sentinel_port != 0) {
        /* Failover decides the role: boot read-only, primary unknown
         * (and replicaof, ignored, reads "" until the cluster says). */
        kv->cfg.replicaof[0] = '\0';
        r->primary_host[0] = '\0';
        r->primary_port = 0;
        atomic_store(&kv->mode, RKV_MODE_REPLICA);
    } else if (rc == 1)
        atomic_store(&kv->mode, RKV_MODE_REPLICA);
    else
        atomic_store(&kv->mode, rkv_repl_primary_mode(kv));
    if (rkv_mode(kv) == RKV_MODE_REPLICA)
        r->link_down_since_ms = rkv_mono_ms();
    uv_async_init(&kv->loop, &kv->repl_async, on_wake);
    kv->repl_async.data = kv;
    uv_timer_init(&kv->loop, &r->cron);
    r->cron.data = kv;
    uv_timer_init(&kv->loop, &r->reconnect);
    r->reconnect.data = kv;
    uv_timer_init(&kv->loop, &r->ack_timer);
    r->ack_timer.data = kv;
    return 0;
}

int rkv_repl_start(replkv_t *kv)
{
    if (kv->cfg.port != 0) {
        int rc = rkv_transport_listen(kv, kv->start_detail,
                                      sizeof kv->start_detail);
        if (rc != 0)
            return rc;
    }
    rkv_transport_start(kv);
    uv_timer_start(&kv->repl->cron, on_cron, RKV_REPL_CRON_MS,
                   RKV_REPL_CRON_MS);
    if (rkv_fonode_on(kv))
        return rkv_fonode_start(kv);
    if (rkv_mode(kv) == RKV_MODE_REPLICA)
        rkv_transport_connect(kv);
    return 0;
}

static void fail_cmds(replkv_t *kv)
{
    rkv_repl *r = kv->repl;
    pthread_mutex_lock(&r->lock);
    for (rkv_repl_cmd *c = r->cmds; c != NULL; c = c->next) {
        c->rc = REPLKV_ECLOSED;
        c->done = true;
    }
    r->cmds = NULL;
    pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->lock);
}

void rkv_repl_stop(replkv_t *kv)
{
    rkv_repl *r = kv->repl;
    r->stopping = true;
    fail_cmds(kv);
    drop_replicas(kv, "node closing");
    if (r->primary != NULL)
        rkv_link_close(r->primary, REPLKV_LOG_VERBOSE, "node closing");
    if (rkv_fonode_on(kv))
        rkv_fonode_stop(kv);
    while (r->peer_links != NULL)
        rkv_link_close(r->peer_links, REPLKV_LOG_VERBOSE, "node closing");
    rkv_transport_close_all(kv);
}

void rkv_repl_free(replkv_t *kv)
{
    rkv_repl *r = kv->repl;
    if (r == NULL)
        return;
    rkv_backlog_free(kv->bl);
    pthread_mutex_destroy(&kv->jlock);
    pthread_cond_destroy(&r->cond);
    pthread_mutex_destroy(&r->lock);
    free(r);
    kv->repl = NULL;
}

void rkv_repl_config_changed(replkv_t *kv, const char *name)
{
    if (strcasecmp(name, "repl-backlog-size") == 0 ||
        strcasecmp(name, "repl_backlog_size") == 0) {
        pthread_mutex_lock(&kv->cfg_lock);
        size_t size = (size_t)kv->cfg.repl_backlog_size;
        pthread_mutex_unlock(&kv->cfg_lock);
        pthread_mutex_lock(&kv->jlock);
        if (rkv_backlog_resize(kv->bl, size) != 0)
            rkv_log(kv, REPLKV_LOG_WARNING,
                    "repl-backlog-size: cannot resize to %zu bytes", size);
        pthread_mutex_unlock(&kv->jlock);
    }
}

/* ------------------------------------------------------------ commands */

static void run_cmds(replkv_t *kv)
{
    rkv_repl *r = kv->repl;
    pthread_mutex_lock(&r->lock);
    rkv_repl_cmd *list = r->cmds;
    r->cmds = NULL;
    pthread_mutex_unlock(&r->lock);
    while (list != NULL) {
        rkv_repl_cmd *c = list;
        list = c->next;
        int rc = c->fn(kv, c->arg);
        if (rc != 0)
            snprintf(c->detail, sizeof c->detail, "%s", replkv_last_error());
        pthread_mutex_lock(&r->lock);
        c->rc = rc;
        c->done = true;
        pthread_cond_broadcast(&r->cond);
        pthread_mutex_unlock(&r->lock);
    }
}

int rkv_repl_run_on_io(replkv_t *kv, int (*fn)(replkv_t *, void *),
                       void *arg)
{
    if (rkv_repl_on_io_thread(kv))
        return rkv_fail(REPLKV_EBUSY,
                        "role change from a callback of the same node");
    rkv_repl *r = kv->repl;
    rkv_repl_cmd c = {.fn = fn, .arg = arg};
    pthread_mutex_lock(&r->lock);
    c.next = r->cmds;
    r->cmds = &c;
    pthread_mutex_unlock(&r->lock);
    uv_async_send(&kv->repl_async);
    pthread_mutex_lock(&r->lock);
    while (!c.done)
        pthread_cond_wait(&r->cond, &r->lock);
    pthread_mutex_unlock(&r->lock);
    if (c.rc != 0)
        return rkv_fail(c.rc, "%s", c.detail);
    return 0;
}

static void role_event(replkv_t *kv, int old_mode, uint64_t epoch)
{
    rkv_repl *r = kv->repl;
    int new_mode = rkv_mode(kv);
    replkv_node_role oldr = old_mode == RKV_MODE_REPLICA ? REPLKV_ROLE_REPLICA
                                                    : REPLKV_ROLE_PRIMARY;
    replkv_node_role newr = new_mode == RKV_MODE_REPLICA ? REPLKV_ROLE_REPLICA
                                                    : REPLKV_ROLE_PRIMARY;
    if (r->role_cb == NULL)
        return;
    char host[256];
    int port;
    rkv_repl_primary_addr(kv, host, sizeof host, &port);
    replkv_role_event ev = {sizeof ev, oldr, newr, host, port, epoch};
    r->role_cb(kv, &ev, r->role_ud);
}

/* The replicaof option follows the role, whoever changed it (REPLICAOF,
 * a failover), so that replkv_config_get reports the primary followed. */
static void set_replicaof_value(replkv_t *kv, const char *host, int port)
{
    pthread_mutex_lock(&kv->cfg_lock);
    if (port == 0)
        kv->cfg.replicaof[0] = '\0';
    else
        snprintf(kv->cfg.replicaof, sizeof kv->cfg.replicaof, "%s %d", host,
                 port);
    pthread_mutex_unlock(&kv->cfg_lock);
}

typedef struct addr_arg {
    const char *host;
    int port;
} addr_arg;

static int do_replicaof(replkv_t *kv, void *arg)
{
    addr_arg *a = arg;
    return rkv_repl_become_replica(kv, a->host, a->port, 0);
}

int rkv_repl_become_replica(replkv_t *kv, const char *host, int port,
                            uint64_t epoch)
{
    addr_arg aa = {host, port}, *a = &aa;
    rkv_repl *r = kv->repl;
    int old = rkv_mode(kv);
    bool was_detached = r->detached;
    r->detached = false;
    if (old == RKV_MODE_REPLICA && r->primary_port == a->port &&
        strcmp(r->primary_host, a->host) == 0) {
        if (was_detached)
            rkv_transport_connect(kv);
        return 0;
    }
    if (old == RKV_MODE_PRIMARY)
        r->fresh = false; /* our history may continue on the new primary */
    pthread_mutex_lock(&r->lock);
    snprintf(r->primary_host, sizeof r->primary_host, "%s", a->host);
    r->primary_port = a->port;
    if (old != RKV_MODE_REPLICA)
        r->link_down_since_ms = rkv_mono_ms();
    pthread_mutex_unlock(&r->lock);
    set_replicaof_value(kv, a->host, a->port);
    atomic_store(&kv->mode, RKV_MODE_REPLICA);
    drop_replicas(kv, "this node became a replica");
    if (r->primary != NULL)
        rkv_link_close(r->primary, REPLKV_LOG_NOTICE, "primary changed");
    uv_timer_stop(&r->reconnect);
    r->backoff_ms = 0;
    rkv_log(kv, REPLKV_LOG_NOTICE, "replication: now a replica of %s:%d",
            a->host, a->port);
    rkv_transport_connect(kv);
    if (old != RKV_MODE_REPLICA || epoch != 0)
        role_event(kv, old, epoch);
    return 0;
}

static int do_replicaof_none(replkv_t *kv, void *arg)
{
    (void)arg;
    return rkv_repl_become_primary(kv, 0);
}

void rkv_repl_detach(replkv_t *kv)
{
    rkv_repl *r = kv->repl;
    r->detached = true;
    uv_timer_stop(&r->reconnect);
    if (r->primary != NULL)
        rkv_link_close(r->primary, REPLKV_LOG_NOTICE,
                       "detached: a failover election runs");
}

int rkv_repl_become_primary(replkv_t *kv, uint64_t epoch)
{
    rkv_repl *r = kv->repl;
    int old = rkv_mode(kv);
    if (old != RKV_MODE_REPLICA)
        return 0;
    r->detached = false;
    if (r->primary != NULL)
        rkv_link_close(r->primary, REPLKV_LOG_NOTICE, "promoted to primary");
    uv_timer_stop(&r->reconnect);
    pthread_mutex_lock(&kv->jlock);
    int rc = rkv_backlog_shift_id(kv->bl, NULL);
    char replid[RKV_ID_LEN + 1];
    memcpy(replid, rkv_backlog_replid(kv->bl), sizeof replid);
    int64_t off = rkv_backlog_offset(kv->bl);
    pthread_mutex_unlock(&kv->jlock);
    if (rc != 0)
        return rc;
    pthread_mutex_lock(&r->lock);
    r->primary_host[0] = '\0';
    r->primary_port = 0;
    r->link_down_since_ms = 0;
    pthread_mutex_unlock(&r->lock);
    set_replicaof_value(kv, "", 0);
    r->fresh = false;
    atomic_store(&kv->mode, rkv_repl_primary_mode(kv));
    rkv_log(kv, REPLKV_LOG_NOTICE,
            "replication: promoted to primary, new replid %s at offset %lld",
            replid, (long long)off);
    role_event(kv, old, epoch);
    return 0;
}

int replkv_replicaof(replkv_t *kv, const char *host, int port)
{
    if (kv == NULL || host == NULL || *host == '\0' || strlen(host) >= 256 ||
        port < 1 || port > 65535)
        return rkv_fail(REPLKV_EINVAL, "replicaof: bad host or port");
    if (rkv_fonode_on(kv))
        return rkv_fail(REPLKV_ESTATE, "replicaof: failover is on (sentinel "
                                       "monitor): use replkv_failover");
    addr_arg a = {host, port};
    return rkv_repl_run_on_io(kv, do_replicaof, &a);
}

int replkv_replicaof_none(replkv_t *kv)
{
    if (kv == NULL)
        return rkv_fail(REPLKV_EINVAL, "replicaof_none: NULL node");
    if (rkv_fonode_on(kv))
        return rkv_fail(REPLKV_ESTATE, "replicaof no one: failover is on "
                                       "(sentinel monitor): use "
                                       "replkv_failover");
    return rkv_repl_run_on_io(kv, do_replicaof_none, NULL);
}

int rkv_repl_config_replicaof(replkv_t *kv, const char *value)
{
    if (value == NULL)
        return rkv_fail(REPLKV_EINVAL, "replicaof: NULL value");
    char host[256];
    int port = 0;
    int rc = rkv_parse_replicaof(value, host, sizeof host, &port);
    if (rc < 0)
        return rc;
    return rc == 1 ? replkv_replicaof(kv, host, port)
                   : replkv_replicaof_none(kv);
}

int replkv_role(replkv_t *kv)
{
    if (kv == NULL)
        return rkv_fail(REPLKV_EINVAL, "role: NULL node");
    if (kv->fon != NULL && kv->cfg.witness)
        return REPLKV_ROLE_WITNESS;
    return rkv_mode(kv) == RKV_MODE_REPLICA ? REPLKV_ROLE_REPLICA
                                            : REPLKV_ROLE_PRIMARY;
}

int replkv_primary_addr(replkv_t *kv, char *host, size_t cap, int *port)
{
    if (kv == NULL || port == NULL || (host == NULL && cap > 0))
        return rkv_fail(REPLKV_EINVAL, "primary_addr: NULL argument");
    char h[256];
    int p;
    rkv_repl_primary_addr(kv, h, sizeof h, &p);
    if (rkv_mode(kv) != RKV_MODE_REPLICA)
        return rkv_fail(REPLKV_ESTATE, "primary_addr: this node is a primary");
    if (p == 0 && !rkv_fonode_primary_addr(kv, h, sizeof h, &p))
        return rkv_fail(REPLKV_ESTATE, "primary_addr: no primary known yet");
    if (strlen(h) + 1 > cap)
        return rkv_fail(REPLKV_ERANGE, "primary_addr: needs %zu bytes",
                        strlen(h) + 1);
    memcpy(host, h, strlen(h) + 1);
    *port = p;
    return 0;
}

int replkv_last_offset(replkv_t *kv, int64_t *off)
{
    if (kv == NULL || off == NULL)
        return rkv_fail(REPLKV_EINVAL, "last_offset: NULL argument");
    *off = rkv_journal_last_offset(kv);
    return 0;
}

/* ------------------------------------------------------------ waiting */

static void deadline_of(struct timespec *ts, int64_t timeout_ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += timeout_ms / 1000;
    ts->tv_nsec += (timeout_ms % 1000) * 1000000;
    if (ts->tv_nsec >= 1000000000) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000;
    }
}

static int count_acked(rkv_repl *r, int64_t off)
{
    int n = 0;
    if (atomic_load(&r->acks_ignored))
        return 0; /* failover: this primary may have been replaced */
    for (rkv_link *l = r->replicas; l != NULL; l = l->next)
        if (l->state == LINK_STREAMING && l->acked >= off)
            n++;
    return n;
}

int replkv_wait_offset(replkv_t *kv, int64_t off, int nreplicas,
                       int64_t timeout_ms)
{
    if (kv == NULL)
        return rkv_fail(REPLKV_EINVAL, "wait: NULL node");
    if (rkv_repl_on_io_thread(kv))
        return rkv_fail(REPLKV_EBUSY, "wait: called from a callback");
    if (rkv_mode(kv) == RKV_MODE_REPLICA)
        return rkv_fail(REPLKV_ESTATE, "wait: this node is a replica");
    rkv_journal_wake_now(kv); /* this thread's batch: send it first */
    rkv_repl *r = kv->repl;
    struct timespec ts;
    deadline_of(&ts, timeout_ms > 0 ? timeout_ms : 0);
    pthread_mutex_lock(&r->lock);
    int n = count_acked(r, off);
    while (n < nreplicas && timeout_ms != 0) {
        int rc = timeout_ms < 0 ? pthread_cond_wait(&r->cond, &r->lock)
                                : pthread_cond_timedwait(&r->cond, &r->lock,
                                                         &ts);
        n = count_acked(r, off);
        if (rc == ETIMEDOUT)
            break;
    }
    pthread_mutex_unlock(&r->lock);
    return n;
}

int replkv_wait(replkv_t *kv, int nreplicas, int64_t timeout_ms)
{
    if (kv == NULL)
        return rkv_fail(REPLKV_EINVAL, "wait: NULL node");
    return replkv_wait_offset(kv, atomic_load(&kv->repl_offset), nreplicas,
                              timeout_ms);
}

int replkv_wait_applied(replkv_t *kv, int64_t off, int64_t timeout_ms)
{
    if (kv == NULL)
        return rkv_fail(REPLKV_EINVAL, "wait_applied: NULL node");
    if (rkv_repl_on_io_thread(kv))
        return rkv_fail(REPLKV_EBUSY, "wait_applied: called from a callback");
    rkv_repl *r = kv->repl;
    struct timespec ts;
    deadline_of(&ts, timeout_ms > 0 ? timeout_ms : 0);
    atomic_fetch_add(&r->waiters, 1);
    pthread_mutex_lock(&r->lock);
    int rc = 0;
    while (atomic_load(&kv->repl_offset) < off) {
        if (timeout_ms == 0) {
            rc = ETIMEDOUT;
            break;
        }
        rc = timeout_ms < 0 ? pthread_cond_wait(&r->cond, &r->lock)
                            : pthread_cond_timedwait(&r->cond, &r->lock, &ts);
        if (rc == ETIMEDOUT && atomic_load(&kv->repl_offset) < off)
            break;
        rc = 0;
    }
    pthread_mutex_unlock(&r->lock);
    atomic_fetch_sub(&r->waiters, 1);
    if (rc == ETIMEDOUT)
        return rkv_fail(REPLKV_ETIMEDOUT,
                        "wait_applied: offset %lld not reached (at %lld)",
                        (long long)off,
                        (long long)atomic_load(&kv->repl_offset));
    return 0;
}
