/*
 * commands_repl.c - REPLICAOF / SLAVEOF, ROLE, WAIT and FAILOVER, with
 * Redis's reply shapes and error texts. Ports in and out are client ports;
 * replication.c translates them to and from the library's peer ports.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cmd.h"
#include "replication.h"
#include "sentinel.h"
#include "util.h"

/* "id=7 addr=127.0.0.1:5000" for the log lines Redis writes. */
static void who(const cache_client *c, char *out, size_t cap)
{
    snprintf(out, cap, "id=%llu addr=%s laddr=%s name=%s",
             (unsigned long long)c->id, c->addr, c->laddr, c->name);
}

void cmd_replicaof(cache_client *c)
{
    cache_server *srv = c->srv;
    char client[512];
    who(c, client, sizeof client);
    if (srv->conf.sentinel_name != NULL) {
        /* The cluster decides roles; the library would refuse. */
        c_err(c, "ERR REPLICAOF not allowed while failover is on (sentinel "
                 "monitor): use FAILOVER or SENTINEL FAILOVER");
        return;
    }
    if (c_arg_is(c, 1, "no") && c_arg_is(c, 2, "one")) {
        if (replkv_role(srv->kv) == REPLKV_ROLE_REPLICA) {
            int rc = replkv_replicaof_none(srv->kv);
            if (rc < 0) {
                c_libfail(c, rc);
                return;
            }
            free(srv->conf.replicaof_host);
            srv->conf.replicaof_host = NULL;
            srv->conf.replicaof_port = 0;
            srv->link_down_since_ms = 0;
            log_msg(srv->log, LOG_NOTICE,
                    "MASTER MODE enabled (user request from '%s')", client);
        }
        c_ok(c);
        return;
    }
    long long port;
    if (!util_str2ll(c->argv[2], c->argvlen[2], &port) || port < 0 ||
        port > 65535) {
        c_err(c, "ERR Invalid master port");
        return;
    }
    int peer = conf_peer_port((int)port);
    if (peer < 0) {
        c_errf(c,
               "ERR Invalid master port: the primary's repl-port would be "
               "%lld + %d, over 65535",
               port, CACHE_REPL_PORT_OFFSET);
        return;
    }
    if (c->argvlen[1] == 0 || c->argvlen[1] >= 256 ||
        memchr(c->argv[1], ' ', c->argvlen[1]) != NULL ||
        memchr(c->argv[1], '\0', c->argvlen[1]) != NULL) {
        c_err(c, "ERR Invalid master host");
        return;
    }
    char host[256];
    memcpy(host, c->argv[1], c->argvlen[1]);
    host[c->argvlen[1]] = '\0';
    if (replkv_role(srv->kv) == REPLKV_ROLE_REPLICA &&
        srv->conf.replicaof_host != NULL &&
        strcasecmp(srv->conf.replicaof_host, host) == 0 &&
        srv->conf.replicaof_port == (int)port) {
        log_msg(srv->log, LOG_NOTICE,
                "REPLICAOF would result into synchronization with the master "
                "we are already connected with. No operation performed.");
        reply_simple(c->reply, "OK Already connected to specified master");
        return;
    }
    char *h = strdup(host);
    if (h == NULL) {
        c_err(c, "ERR out of memory");
        return;
    }
    /* Record the client port first: INFO and ROLE translate the library's
     * peer port back with it. */
    char *old_host = srv->conf.replicaof_host;
    int old_port = srv->conf.replicaof_port;
    srv->conf.replicaof_host = h;
    srv->conf.replicaof_port = (int)port;
    int rc = replkv_replicaof(srv->kv, host, peer);
    if (rc < 0) {
        srv->conf.replicaof_host = old_host;
        srv->conf.replicaof_port = old_port;
        free(h);
        c_libfail(c, rc);
        return;
    }
    free(old_host);
    srv->link_down_since_ms = (uint64_t)util_now_ms();
    /* Clients blocked in WAIT on a primary that became a replica. */
    repl_unblock_all(srv);
    log_msg(srv->log, LOG_NOTICE,
            "REPLICAOF %s:%lld enabled (user request from '%s'), peer port "
            "%d",
            host, port, client, peer);
    c_ok(c);
}

void cmd_role(cache_client *c)
{
    cache_server *srv = c->srv;
    repl_snapshot *snap = repl_info_fetch(srv->kv);
    if (snap == NULL) {
        c_err(c, "ERR out of memory");
        return;
    }
    const replkv_repl_info *in = &snap->in;
    rbuf *b = c->reply;
    if (in->role == REPLKV_ROLE_REPLICA) {
        reply_array(b, 5);
        reply_bulk_cstr(b, "slave");
        reply_bulk_cstr(b, in->primary_host);
        reply_int(b, repl_primary_client_port(srv, in->primary_port));
        reply_bulk_cstr(b, repl_replica_state(in));
        reply_int(b, in->offset);
    } else {
        /* Redis lists only the replicas that are online. */
        size_t online = 0;
        for (size_t i = 0; i < snap->nall; i++)
            if (strcmp(snap->all[i].state, "online") == 0)
                online++;
        reply_array(b, 3);
        reply_bulk_cstr(b, "master");
        reply_int(b, in->offset);
        reply_array(b, online);
        for (size_t i = 0; i < snap->nall; i++) {
            const replkv_replica_info *r = &snap->all[i];
            if (strcmp(r->state, "online") != 0)
                continue;
            reply_array(b, 3);
            reply_bulk_cstr(b, r->addr);
            reply_bulk_ll(b, repl_replica_client_port(r->port));
            reply_bulk_ll(b, r->acked_offset < 0 ? 0 : r->acked_offset);
        }
    }
    repl_info_free(snap);
}

void cmd_wait(cache_client *c)
{
    cache_server *srv = c->srv;
    if (replkv_role(srv->kv) == REPLKV_ROLE_REPLICA) {
        c_err(c, "ERR WAIT cannot be used with replica instances. Please "
                 "also note that since Redis 4.0 if a replica is configured "
                 "to be writable (which is not the default) writes to "
                 "replicas are just local and are not propagated.");
        return;
    }
    long long n, timeout;
    if (!c_arg_ll(c, 1, &n))
        return;
    if (!util_str2ll(c->argv[2], c->argvlen[2], &timeout)) {
        c_err(c, "ERR timeout is not an integer or out of range");
        return;
    }
    if (timeout < 0) {
        c_err(c, "ERR timeout is negative");
        return;
    }
    repl_snapshot *snap = repl_info_fetch(srv->kv);
    if (snap == NULL) {
        c_err(c, "ERR out of memory");
        return;
    }
    /* A full resync since the client's last write (this node was a replica
     * for a while) may have restarted the offsets below it: wait for no
     * more than the stream holds. */
    if (c->woff > snap->in.offset)
        c->woff = snap->in.offset;
    int acked = repl_count_acked(snap, c->woff);
    repl_info_free(snap);
    /* Enough already: answer at once, as Redis does. */
    if (acked >= n) {
        reply_int(c->reply, acked);
        return;
    }
    uint64_t deadline = 0;
    if (timeout > 0) {
        deadline = util_mono_ms() + (uint64_t)timeout;
        if (deadline == 0)
            deadline = 1;
    }
    repl_block_wait(c, n, deadline);
}

#define FAILOVER_OFF                                                           \
    "ERR FAILOVER needs failover on: set 'sentinel monitor' in the "           \
    "configuration (see the README's Sentinel section)"

/* Whether a failover led by this node runs, or paused its writes. */
static bool failover_running(cache_server *srv)
{
    replkv_cluster_info *ci = sentinel_cluster(srv);
    bool running = ci != NULL && (ci->failover_running || ci->writes_paused);
    free(ci);
    return running;
}

/* The replica at host and client port in s, or NULL. */
static const replkv_replica_info *find_replica(const repl_snapshot *s,
                                               const char *host, long long port)
{
    for (size_t i = 0; i < s->nall; i++)
        if (strcmp(s->all[i].addr, host) == 0 &&
            repl_replica_client_port(s->all[i].port) == port)
            return &s->all[i];
    return NULL;
}

/* Redis 6.2's checks, in its order, once the arguments are parsed.
 * Returns the error to reply, or NULL to go on (*target filled). */
static const char *failover_check(cache_server *srv, const char *host,
                                  long long port, bool force, long long timeout,
                                  char *target, size_t cap)
{
    if (srv->conf.sentinel_name == NULL)
        return FAILOVER_OFF;
    if (failover_running(srv))
        return "ERR FAILOVER already in progress.";
    if (replkv_role(srv->kv) != REPLKV_ROLE_PRIMARY)
        return "ERR FAILOVER is not valid when server is a replica.";
    repl_snapshot *snap = repl_info_fetch(srv->kv);
    if (snap == NULL)
        return "ERR out of memory";
    const char *err = NULL;
    const replkv_replica_info *r = NULL;
    if (snap->in.connected_replicas == 0)
        err = "ERR FAILOVER requires connected replicas.";
    else if (force && (timeout == 0 || host == NULL))
        err = "ERR FAILOVER with force option requires both a timeout and "
              "target HOST and IP.";
    else if (force)
        /* The library gives up after the timeout and resumes writes on
         * this primary: it never promotes a replica that lacks writes. */
        err = "ERR FAILOVER FORCE is not supported by this build (a "
              "failover never loses acknowledged writes: it is abandoned "
              "after its TIMEOUT)";
    else if (host != NULL && (r = find_replica(snap, host, port)) == NULL)
        err = "ERR FAILOVER target HOST and PORT is not a replica.";
    else if (r != NULL && strcmp(r->state, "online") != 0)
        err = "ERR FAILOVER target replica is not online.";
    else if (r != NULL)
        snprintf(target, cap, "%s:%d", r->addr, r->port);
    repl_info_free(snap);
    return err;
}

void cmd_failover(cache_client *c)
{
    cache_server *srv = c->srv;
    if (c->argc == 2 && c_arg_is(c, 1, "abort")) {
        int rc = srv->conf.sentinel_name == NULL
                     ? REPLKV_ESTATE
                     : replkv_failover_abort(srv->kv);
        if (rc == 0)
            c_ok(c);
        else if (rc == REPLKV_EBUSY)
            c_err(c, "ERR FAILOVER ABORT: the failover is past the point "
                     "where it can be aborted.");
        else
            c_err(c, "ERR No failover in progress.");
        return;
    }
    long long timeout = 0, port = 0;
    bool force = false;
    char host[256];
    bool has_host = false;
    for (size_t j = 1; j < c->argc; j++) {
        if (c_arg_is(c, j, "timeout") && j + 1 < c->argc && timeout == 0) {
            if (!c_arg_ll(c, j + 1, &timeout))
                return;
            if (timeout <= 0) {
                c_err(c, "ERR FAILOVER timeout must be greater than 0");
                return;
            }
            j++;
        } else if (c_arg_is(c, j, "to") && j + 2 < c->argc && !has_host) {
            if (!c_arg_ll(c, j + 2, &port))
                return;
            size_t n = c->argvlen[j + 1] < sizeof host - 1 ? c->argvlen[j + 1]
                                                           : sizeof host - 1;
            memcpy(host, c->argv[j + 1], n);
            host[n] = '\0';
            has_host = true;
            j += 2;
        } else if (c_arg_is(c, j, "force") && !force) {
            force = true;
        } else {
            c_syntax(c);
            return;
        }
    }
    char target[300] = "";
    const char *err = failover_check(srv, has_host ? host : NULL, port, force,
                                     timeout, target, sizeof target);
    if (err != NULL) {
        c_err(c, err);
        return;
    }
    int rc = replkv_failover(srv->kv, target[0] ? target : NULL, timeout);
    if (rc == REPLKV_EBUSY)
        c_err(c, "ERR FAILOVER already in progress.");
    else if (rc == REPLKV_ENOTSUP)
        c_err(c, FAILOVER_OFF);
    else if (rc == REPLKV_EINVAL) /* one the cluster does not know */
        c_errf(c, "ERR FAILOVER target HOST and PORT is not a replica. (%s)",
               replkv_last_error());
    else if (rc == REPLKV_ENOTFOUND)
        c_err(c, "ERR FAILOVER requires connected replicas.");
    else if (rc < 0)
        c_libfail(c, rc);
    if (rc < 0)
        return;
    if (has_host)
        log_msg(srv->log, LOG_NOTICE,
                "FAILOVER requested to %s:%lld (peer %s).", host, port,
                target);
    else
        log_msg(srv->log, LOG_NOTICE, "FAILOVER requested to any replica.");
    c_ok(c);
}
