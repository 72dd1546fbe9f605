/*
 * replication.c - replication as replkv-cache's clients see it (see
 * replication.h): the translation between client ports and the library's peer
 * ports, the
 * "# Replication" INFO section, clients blocked in WAIT, and the operator's
 * log lines for role and link changes (the library logs with peer ports;
 * these name the client ports an operator configured).
 *
 * WAIT never blocks the loop: a blocked client is put on a list and a
 * 10 ms timer, running only while the list is not empty, reads the
 * replicas' acked offsets (replkv_repl_info_get, which does not block) and
 * answers each client once enough replicas acked its last write or its
 * timeout passed.
 */
#include "replication.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "util.h"

#define WAIT_POLL_MS 10

/* ------------------------------------------------------------ ports */

int repl_replica_client_port(int peer_port)
{
    return peer_port > CACHE_REPL_PORT_OFFSET
               ? peer_port - CACHE_REPL_PORT_OFFSET
               : peer_port;
}

int repl_primary_client_port(cache_server *srv, int peer_port)
{
    const cache_conf *c = &srv->conf;
    if (c->replicaof_host != NULL &&
        conf_peer_port(c->replicaof_port) == peer_port)
        return c->replicaof_port;
    return repl_replica_client_port(peer_port);
}

const char *repl_replica_state(const replkv_repl_info *in)
{
    /* Redis's words, as the library names its link states. */
    return in->link_state_name != NULL ? in->link_state_name : "connect";
}

repl_snapshot *repl_info_fetch(replkv_t *kv)
{
    repl_snapshot *s = calloc(1, sizeof *s);
    if (s == NULL)
        return NULL;
    s->in.size = sizeof s->in;
    /* Replicas may connect between two looks: grow until all fit. */
    for (size_t cap = 16;; cap = (size_t)s->in.connected_replicas * 2) {
        replkv_replica_info *bigger = realloc(s->all, cap * sizeof *bigger);
        if (bigger == NULL)
            break;
        s->all = bigger;
        int n = replkv_repl_info_get_all(kv, &s->in, s->all, cap);
        if (n < 0)
            break;
        s->nall = (size_t)n;
        if (n == s->in.connected_replicas)
            return s;
    }
    repl_info_free(s);
    return NULL;
}

void repl_info_free(repl_snapshot *s)
{
    if (s != NULL)
        free(s->all);
    free(s);
}

int repl_count_acked(const repl_snapshot *s, int64_t off)
{
    int n = 0;
    for (size_t i = 0; i < s->nall; i++) {
        const replkv_replica_info *r = &s->all[i];
        if (strcmp(r->state, "online") == 0 && r->acked_offset >= off)
            n++;
    }
    return n;
}

/* ------------------------------------------------------------ INFO */

static bool starts(const char *line, size_t n, const char *prefix)
{
    size_t p = strlen(prefix);
    return n >= p && memcmp(line, prefix, p) == 0;
}

static long long lib_int(cache_server *srv, const char *name, long long def)
{
    char v[64];
    if (replkv_config_get(srv->kv, name, v, sizeof v, NULL) != 0)
        return def;
    return strtoll(v, NULL, 10);
}

/* "slave0:ip=127.0.0.1,port=16380,state=online,..." with the port made a
 * client port. */
static void replica_line(rbuf *t, const char *line, size_t n)
{
    const char *p = NULL;
    for (size_t i = 0; i + 6 <= n; i++)
        if (memcmp(line + i, ",port=", 6) == 0) {
            p = line + i + 6;
            break;
        }
    if (p == NULL) {
        reply_raw(t, line, n);
        reply_raw(t, "\r\n", 2);
        return;
    }
    const char *end = p;
    int port = 0;
    while (end < line + n && *end >= '0' && *end <= '9')
        port = port * 10 + (*end++ - '0');
    reply_raw(t, line, (size_t)(p - line));
    reply_addf(t, "%d", repl_replica_client_port(port));
    reply_raw(t, end, (size_t)(line + n - end));
    reply_raw(t, "\r\n", 2);
}

void repl_info_section(cache_server *srv, rbuf *t)
{
    char *lib = NULL;
    repl_snapshot *snap = repl_info_fetch(srv->kv);
    if (snap == NULL || replkv_info(srv->kv, "replication", &lib) != 0 ||
        lib == NULL) {
        repl_info_free(snap);
        reply_addf(t, "# Replication\r\nrole:master\r\nconnected_slaves:0\r\n");
        return;
    }
    const replkv_repl_info *in = &snap->in;
    bool replica = in->role == REPLKV_ROLE_REPLICA;
    /* The library's text with Redis's field names, its ports made client
     * ports and the fields that Redis adds (and Sentinel reads) added in
     * Redis's order. */
    for (const char *p = lib; *p;) {
        const char *eol = strstr(p, "\r\n");
        size_t n = eol ? (size_t)(eol - p) : strlen(p);
        const char *line = p;
        p += n + (eol ? 2 : 0);
        if (starts(line, n, "master_port:")) {
            reply_addf(t, "master_port:%d\r\n",
                 repl_primary_client_port(srv, in->primary_port));
            continue;
        }
        if (starts(line, n, "slave") && n > 5 && line[5] >= '0' &&
            line[5] <= '9') {
            replica_line(t, line, n);
            continue;
        }
        if (starts(line, n, "slave_repl_offset:"))
            reply_addf(t, "slave_read_repl_offset:%" PRId64 "\r\n", in->offset);
        if (starts(line, n, "slave_read_only:"))
            reply_addf(t, "slave_priority:%lld\r\n", srv->conf.replica_priority);
        if (starts(line, n, "master_replid:"))
            reply_addf(t, "master_failover_state:no-failover\r\n");
        reply_raw(t, line, n);
        reply_raw(t, "\r\n", 2);
        if (replica && starts(line, n, "slave_read_only:")) {
            /* Redis: slave_priority, slave_read_only, replica_announced. */
            reply_addf(t, "replica_announced:1\r\n");
        } else if (starts(line, n, "connected_slaves:")) {
            long long min = lib_int(srv, "min-replicas-to-write", 0);
            long long lag = lib_int(srv, "min-replicas-max-lag", 10);
            if (!replica && min > 0 && lag > 0) {
                int good = 0;
                for (size_t i = 0; i < snap->nall; i++)
                    if (strcmp(snap->all[i].state, "online") == 0 &&
                        snap->all[i].lag_ms >= 0 &&
                        snap->all[i].lag_ms <= lag * 1000)
                        good++;
                reply_addf(t, "min_slaves_good_slaves:%d\r\n", good);
            }
        }
    }
    replkv_free(lib);
    repl_info_free(snap);
}

/* Logs each replica that came online or went away since the last look,
 * with client ports, and the count now connected. */
static void log_replica_changes(cache_server *srv, const repl_snapshot *snap)
{
    const replkv_repl_info *in = &snap->in;
    char(*now)[80] = calloc(snap->nall + 1, sizeof *now);
    if (now == NULL)
        return; /* looked at again on the next tick */
    int n = 0;
    for (size_t i = 0; i < snap->nall; i++) {
        const replkv_replica_info *r = &snap->all[i];
        if (strcmp(r->state, "online") != 0)
            continue;
        snprintf(now[n++], sizeof now[0], "%s:%d", r->addr,
                 repl_replica_client_port(r->port));
    }
    for (int i = 0; i < n; i++) {
        bool seen = false;
        for (int j = 0; j < srv->nlast_replicas && !seen; j++)
            seen = strcmp(now[i], srv->last_replicas[j]) == 0;
        if (!seen)
            log_msg(srv->log, LOG_NOTICE,
                    "Replica %s is online (offset %" PRId64
                    "), %d replica(s) connected",
                    now[i], in->offset, in->connected_replicas);
    }
    for (int j = 0; j < srv->nlast_replicas; j++) {
        bool still = false;
        for (int i = 0; i < n && !still; i++)
            still = strcmp(now[i], srv->last_replicas[j]) == 0;
        if (!still)
            log_msg(srv->log, LOG_WARNING,
                    "Replica %s is no longer online (offset %" PRId64
                    "), %d replica(s) connected",
                    srv->last_replicas[j], in->offset,
                    in->connected_replicas);
    }
    free(srv->last_replicas);
    srv->last_replicas = now;
    srv->nlast_replicas = n;
}

/* Logs role changes and the link to the primary going up or down, with
 * the values an operator needs: the primary's client and peer ports, the
 * replication id and offset. */
static int role_mark(int role)
{
    return role == REPLKV_ROLE_REPLICA   ? 'S'
           : role == REPLKV_ROLE_WITNESS ? 'X' /* Redis Sentinel's mark */
                                         : 'M';
}

static void log_repl_changes(cache_server *srv, const repl_snapshot *snap)
{
    const replkv_repl_info *in = &snap->in;
    int role = (int)in->role;
    int cport = repl_primary_client_port(srv, in->primary_port);
    if (role != srv->last_role) {
        log_set_role(srv->log, role_mark(role));
        if (role == REPLKV_ROLE_WITNESS)
            log_msg(srv->log, LOG_NOTICE,
                    "Running as a Sentinel (witness): votes and monitors, "
                    "holds no data");
        else if (role == REPLKV_ROLE_REPLICA && in->primary_port == 0)
            log_msg(srv->log, LOG_NOTICE,
                    "Read-only until the cluster's primary is known "
                    "(failover on: the cluster decides the role)");
        else if (srv->last_role >= 0 && role == REPLKV_ROLE_REPLICA)
            log_msg(srv->log, LOG_NOTICE,
                    "Role changed: primary -> replica of %s:%d (repl-port "
                    "%d), offset %" PRId64,
                    in->primary_host, cport, in->primary_port, in->offset);
        else if (srv->last_role >= 0)
            log_msg(srv->log, LOG_NOTICE,
                    "Role changed: replica -> primary, replid %s offset "
                    "%" PRId64,
                    in->replid, in->offset);
        else if (role == REPLKV_ROLE_REPLICA)
            log_msg(srv->log, LOG_NOTICE,
                    "Starting as a replica of %s:%d (repl-port %d)",
                    in->primary_host, cport, in->primary_port);
        srv->last_role = role;
        srv->last_primary_port = in->primary_port;
        srv->last_link_up = false;
        srv->nlast_replicas = 0;
    }
    if (role == REPLKV_ROLE_REPLICA && in->primary_port != 0 &&
        in->primary_port != srv->last_primary_port) {
        /* A replica that follows another primary (failover). */
        if (srv->last_primary_port != 0)
            log_msg(srv->log, LOG_NOTICE,
                    "Primary changed: now a replica of %s:%d (repl-port %d), "
                    "offset %" PRId64,
                    in->primary_host, cport, in->primary_port, in->offset);
        srv->last_primary_port = in->primary_port;
        srv->last_link_up = false;
    }
    if (role == REPLKV_ROLE_REPLICA && in->primary_port != 0 &&
        in->link_up != srv->last_link_up) {
        if (in->link_up)
            log_msg(srv->log, LOG_NOTICE,
                    "MASTER <-> REPLICA link up: primary %s:%d (repl-port "
                    "%d), replid %s offset %" PRId64,
                    in->primary_host, cport, in->primary_port, in->replid,
                    in->offset);
        else
            log_msg(srv->log, LOG_WARNING,
                    "MASTER <-> REPLICA link down: primary %s:%d (repl-port "
                    "%d) lost at offset %" PRId64,
                    in->primary_host, cport, in->primary_port, in->offset);
        srv->last_link_up = in->link_up;
    }
    log_replica_changes(srv, snap);
}

void repl_cron(cache_server *srv)
{
    repl_snapshot *snap = repl_info_fetch(srv->kv);
    if (snap == NULL)
        return;
    const replkv_repl_info *in = &snap->in;
    log_repl_changes(srv, snap);
    if (in->role != REPLKV_ROLE_REPLICA)
        srv->link_down_since_ms = 0;
    else if (in->link_up)
        srv->link_down_since_ms = 0;
    else if (srv->link_down_since_ms == 0)
        srv->link_down_since_ms = (uint64_t)util_now_ms();
    srv->last_offset = in->offset;
    repl_info_free(snap);
}

/* ------------------------------------------------------------ failover */

void repl_on_role(cache_server *srv, int role, const char *host,
                  int peer_port, uint64_t epoch)
{
    srv->failover_epoch = epoch;
    srv->stat_role_events++;
    if (role == REPLKV_ROLE_REPLICA) {
        int cport = repl_replica_client_port(peer_port);
        char *h = host[0] != '\0' ? strdup(host) : NULL;
        if (host[0] == '\0' || h != NULL) {
            free(srv->conf.replicaof_host);
            srv->conf.replicaof_host = h;
            srv->conf.replicaof_port = h ? cport : 0;
        }
        if (srv->link_down_since_ms == 0)
            srv->link_down_since_ms = (uint64_t)util_now_ms();
        /* Writes acknowledged by WAIT must come from a primary. */
        repl_unblock_all(srv);
        if (host[0] != '\0')
            log_msg(srv->log, LOG_NOTICE,
                    "+role replica (epoch %" PRIu64 "): replica of %s:%d "
                    "(repl-port %d)",
                    epoch, host, cport, peer_port);
        else
            log_msg(srv->log, LOG_NOTICE,
                    "+role replica (epoch %" PRIu64 "): no primary known "
                    "yet, read-only",
                    epoch);
    } else if (role == REPLKV_ROLE_PRIMARY) {
        free(srv->conf.replicaof_host);
        srv->conf.replicaof_host = NULL;
        srv->conf.replicaof_port = 0;
        srv->link_down_since_ms = 0;
        log_msg(srv->log, LOG_WARNING,
                "+role primary (epoch %" PRIu64 "): this node takes writes",
                epoch);
    } else {
        log_msg(srv->log, LOG_NOTICE,
                "+role witness (epoch %" PRIu64 "): primary %s:%d "
                "(repl-port %d)",
                epoch, host[0] ? host : "?",
                repl_replica_client_port(peer_port), peer_port);
    }
    log_set_role(srv->log, role_mark(role));
}

/* ------------------------------------------------------------ WAIT */

static void unlink_blocked(cache_client *c)
{
    cache_server *srv = c->srv;
    if (c->bprev)
        c->bprev->bnext = c->bnext;
    else
        srv->blocked = c->bnext;
    if (c->bnext)
        c->bnext->bprev = c->bprev;
    c->bprev = c->bnext = NULL;
    c->flags &= ~CF_BLOCKED;
    srv->nblocked--;
    if (srv->blocked == NULL && srv->wait_timer_on) {
        uv_timer_stop(&srv->wait_timer);
        srv->wait_timer_on = false;
    }
}

static void answer(cache_client *c, int acked)
{
    unlink_blocked(c);
    client_async_reply_begin(c);
    reply_int(c->reply, acked);
    client_async_reply_end(c);
}

static void on_wait_timer(uv_timer_t *t)
{
    cache_server *srv = t->data;
    if (replkv_role(srv->kv) == REPLKV_ROLE_REPLICA) {
        repl_unblock_all(srv);
        return;
    }
    repl_snapshot *snap = repl_info_fetch(srv->kv);
    if (snap == NULL)
        return; /* tried again on the next tick */
    uint64_t now = util_mono_ms();
    cache_client *next;
    for (cache_client *c = srv->blocked; c != NULL; c = next) {
        /* An answered client runs its buffered requests, which may close
         * or unblock other clients: stop at one no longer on the list. */
        if (!(c->flags & CF_BLOCKED) || (c->flags & CF_CLOSING))
            break;
        next = c->bnext;
        int n = repl_count_acked(snap, c->woff);
        if (n >= c->wait_replicas ||
            (c->wait_deadline_ms != 0 && now >= c->wait_deadline_ms))
            answer(c, n);
    }
    repl_info_free(snap);
}

void repl_block_wait(cache_client *c, long long n, uint64_t deadline_ms)
{
    cache_server *srv = c->srv;
    c->wait_replicas = n;
    c->wait_deadline_ms = deadline_ms;
    c->flags |= CF_BLOCKED;
    c->bprev = NULL;
    c->bnext = srv->blocked;
    if (srv->blocked)
        srv->blocked->bprev = c;
    srv->blocked = c;
    srv->nblocked++;
    if (!srv->wait_timer_on) {
        if (srv->wait_timer.loop == NULL) {
            uv_timer_init(srv->loop, &srv->wait_timer);
            srv->wait_timer.data = srv;
        }
        uv_timer_start(&srv->wait_timer, on_wait_timer, WAIT_POLL_MS,
                       WAIT_POLL_MS);
        srv->wait_timer_on = true;
    }
}

void repl_block_remove(cache_client *c)
{
    if (c->flags & CF_BLOCKED)
        unlink_blocked(c);
}

void repl_unblock_all(cache_server *srv)
{
    while (srv->blocked != NULL) {
        cache_client *c = srv->blocked;
        unlink_blocked(c);
        client_async_reply_begin(c);
        c_err(c, "UNBLOCKED force unblock from blocking operation, instance "
                 "state changed (master -> replica?)");
        c->flags |= CF_CLOSE_AFTER_REPLY;
        client_async_reply_end(c);
    }
}

void repl_stop(cache_server *srv)
{
    free(srv->last_replicas);
    srv->last_replicas = NULL;
    srv->nlast_replicas = 0;
    while (srv->blocked != NULL)
        unlink_blocked(srv->blocked);
    if (srv->wait_timer.loop != NULL &&
        !uv_is_closing((uv_handle_t *)&srv->wait_timer))
        uv_close((uv_handle_t *)&srv->wait_timer, NULL);
}
