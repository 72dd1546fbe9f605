/*
 * sentinel.c - the Sentinel commands (see sentinel.h), with Redis Sentinel's
 * reply shapes: every instance is a flat array of field names and values,
 * the values bulk strings, the fields clients parse in Redis's names and
 * order (name, ip, port, runid, flags, ..., num-slaves,
 * num-other-sentinels, quorum, ...; slaves add master-link-status,
 * slave-priority, slave-repl-offset; sentinels voted-leader); flags in
 * Redis's words and order (s_down, o_down, master, slave, sentinel,
 * disconnected, failover_in_progress). Errors use Redis's words.
 *
 * Nothing here blocks: replkv_cluster_info_get() copies the library's view
 * of the cluster, and SENTINEL FAILOVER / RESET only start the work.
 */
#include "sentinel.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cmd.h"
#include "util.h"

/* ------------------------------------------------------------ ports */

int sentinel_data_port(int peer_port)
{
    return peer_port > CACHE_REPL_PORT_OFFSET
               ? peer_port - CACHE_REPL_PORT_OFFSET
               : peer_port;
}

int sentinel_port_of(const cache_server *srv, const replkv_peer_info *p)
{
    if (p->self)
        return conf_sentinel_port(&srv->conf);
    if (p->witness)
        return sentinel_data_port(p->port);
    return p->port + CACHE_REPL_PORT_OFFSET;
}

/* The client port of a data node: our own, or from its peer port. */
static int client_port_of(const cache_server *srv, const replkv_peer_info *p)
{
    return p->self ? srv->conf.port : sentinel_data_port(p->port);
}

replkv_cluster_info *sentinel_cluster(cache_server *srv)
{
    if (srv->conf.sentinel_name == NULL)
        return NULL;
    replkv_cluster_info *ci = malloc(sizeof *ci);
    if (ci == NULL)
        return NULL;
    memset(ci, 0, sizeof *ci);
    ci->size = sizeof *ci;
    if (replkv_cluster_info_get(srv->kv, ci) != 0 || !ci->enabled) {
        free(ci);
        return NULL;
    }
    if (ci->npeers > (int)(sizeof ci->peers / sizeof ci->peers[0]))
        ci->npeers = (int)(sizeof ci->peers / sizeof ci->peers[0]);
    return ci;
}

/* The entry of the configured primary in ci->peers, or NULL. */
static const replkv_peer_info *primary_peer(const replkv_cluster_info *ci)
{
    for (int i = 0; i < ci->npeers; i++) {
        const replkv_peer_info *p = &ci->peers[i];
        if (ci->primary_id[0] != '\0' ? strcmp(p->node_id, ci->primary_id) == 0
                                      : (ci->primary_port != 0 &&
                                         p->port == ci->primary_port &&
                                         strcmp(p->host, ci->primary_host) ==
                                             0))
            return p;
    }
    return NULL;
}

bool sentinel_primary_addr(cache_server *srv, const replkv_cluster_info *ci,
                           char *host, size_t cap, int *port)
{
    if (srv->conf.sentinel_name == NULL)
        return false;
    const replkv_peer_info *p = ci ? primary_peer(ci) : NULL;
    if (p != NULL && !p->witness) {
        snprintf(host, cap, "%s", p->self ? ci->primary_host : p->host);
        if (host[0] == '\0')
            snprintf(host, cap, "%s", p->host);
        *port = client_port_of(srv, p);
    } else if (ci != NULL && ci->primary_port != 0) {
        snprintf(host, cap, "%s", ci->primary_host);
        *port = sentinel_data_port(ci->primary_port);
    } else {
        snprintf(host, cap, "%s", srv->conf.monitor_host);
        *port = srv->conf.monitor_port;
    }
    return true;
}

/* ------------------------------------------------------------ instances */

/* One instance: field/value pairs counted as they are added. */
typedef struct inst {
    rbuf body;
    size_t n;
} inst;

static void kv_str(inst *e, const char *k, const char *v)
{
    reply_bulk_cstr(&e->body, k);
    reply_bulk_cstr(&e->body, v);
    e->n += 2;
}

static void kv_ll(inst *e, const char *k, long long v)
{
    reply_bulk_cstr(&e->body, k);
    reply_bulk_ll(&e->body, v);
    e->n += 2;
}

static void inst_emit(rbuf *b, inst *e)
{
    reply_array(b, e->n);
    reply_raw(b, e->body.data, e->body.len);
    if (e->body.oom)
        b->oom = true;
    rbuf_free(&e->body);
}

static bool is_down(const replkv_peer_info *p)
{
    return !p->self && p->state != REPLKV_PEER_UP;
}

static long long heard_ms(const replkv_peer_info *p)
{
    return p->self ? 0 : p->last_heard_ms;
}

/* flags in Redis's order; kind is "master", "slave" or "sentinel". */
static void flags(char *out, size_t cap, const char *kind, bool sdown,
                  bool odown, bool disconnected, bool failing_over)
{
    snprintf(out, cap, "%s%s%s%s%s", sdown ? "s_down," : "",
             odown ? "o_down," : "", kind,
             disconnected ? ",disconnected" : "",
             failing_over ? ",failover_in_progress" : "");
}

/* Fields every instance starts with (runid to last-ping-reply). */
static void common(inst *e, const char *runid, const char *fl, long long heard)
{
    kv_str(e, "runid", runid);
    kv_str(e, "flags", fl);
    kv_ll(e, "link-pending-commands", 0);
    kv_ll(e, "link-refcount", 1);
    kv_ll(e, "last-ping-sent", 0);
    long long h = heard < 0 ? 0 : heard;
    kv_ll(e, "last-ok-ping-reply", h);
    kv_ll(e, "last-ping-reply", h);
}

/* s-down-time: the library tells when it last heard the node; it went
 * down down-after-milliseconds later. */
static void down_time(inst *e, const char *key, const replkv_cluster_info *ci,
                      const replkv_peer_info *p)
{
    if (p == NULL || p->last_heard_ms < 0)
        return;
    long long t = p->last_heard_ms - (long long)ci->down_after_ms;
    kv_ll(e, key, t < 0 ? 0 : t);
}

static int count_data(const replkv_cluster_info *ci,
                      const replkv_peer_info *primary)
{
    int n = 0;
    for (int i = 0; i < ci->npeers; i++)
        if (!ci->peers[i].witness && &ci->peers[i] != primary)
            n++;
    return n;
}

static void master_entry(cache_server *srv, const replkv_cluster_info *ci,
                         rbuf *b)
{
    const replkv_peer_info *p = primary_peer(ci);
    char host[256], fl[128];
    int port = 0;
    sentinel_primary_addr(srv, ci, host, sizeof host, &port);
    bool unknown = ci->primary_port == 0 || p == NULL;
    bool sdown = ci->primary_sdown || ci->primary_odown || unknown;
    bool disconnected = p == NULL || (!p->self && p->last_heard_ms < 0);
    flags(fl, sizeof fl, "master", sdown, ci->primary_odown, disconnected,
          ci->failover_running);
    inst e = {{0}, 0};
    kv_str(&e, "name", ci->name);
    kv_str(&e, "ip", host);
    kv_ll(&e, "port", port);
    common(&e, ci->primary_id, fl, p ? heard_ms(p) : -1);
    if (ci->failover_running)
        kv_str(&e, "failover-state", "failover_in_progress");
    if (sdown)
        down_time(&e, "s-down-time", ci, p);
    if (ci->primary_odown)
        down_time(&e, "o-down-time", ci, p);
    kv_ll(&e, "down-after-milliseconds", ci->down_after_ms);
    kv_ll(&e, "info-refresh", 0);
    kv_str(&e, "role-reported",
           p != NULL && p->role == REPLKV_ROLE_PRIMARY ? "master" : "slave");
    kv_ll(&e, "role-reported-time", 0);
    kv_ll(&e, "config-epoch", (long long)ci->config_epoch);
    kv_ll(&e, "num-slaves", count_data(ci, p));
    kv_ll(&e, "num-other-sentinels", ci->npeers > 0 ? ci->npeers - 1 : 0);
    kv_ll(&e, "quorum", ci->quorum);
    kv_ll(&e, "failover-timeout", ci->failover_timeout_ms);
    kv_ll(&e, "parallel-syncs", ci->parallel_syncs);
    inst_emit(b, &e);
}

static void replica_entry(cache_server *srv, const replkv_cluster_info *ci,
                          const replkv_peer_info *p, rbuf *b)
{
    char host[256], name[320], fl[128];
    int pport = 0;
    sentinel_primary_addr(srv, ci, host, sizeof host, &pport);
    int port = client_port_of(srv, p);
    bool link_ok = p->state == REPLKV_PEER_UP && p->link_up;
    int64_t offset = p->offset;
    long long priority = p->priority;
    if (p->self) {
        replkv_repl_info *in = malloc(sizeof *in);
        if (in != NULL) {
            memset(in, 0, sizeof *in);
            in->size = sizeof *in;
            if (replkv_repl_info_get(srv->kv, in) == 0) {
                link_ok = in->role == REPLKV_ROLE_REPLICA && in->link_up;
                offset = in->offset;
            }
            free(in);
        }
        priority = srv->conf.replica_priority;
    }
    snprintf(name, sizeof name, "%s:%d", p->host, port);
    flags(fl, sizeof fl, "slave", is_down(p), false,
          !p->self && p->last_heard_ms < 0, false);
    inst e = {{0}, 0};
    kv_str(&e, "name", name);
    kv_str(&e, "ip", p->host);
    kv_ll(&e, "port", port);
    common(&e, p->node_id, fl, heard_ms(p));
    if (is_down(p))
        down_time(&e, "s-down-time", ci, p);
    kv_ll(&e, "down-after-milliseconds", ci->down_after_ms);
    kv_ll(&e, "info-refresh", 0);
    kv_str(&e, "role-reported",
           p->role == REPLKV_ROLE_PRIMARY ? "master" : "slave");
    kv_ll(&e, "role-reported-time", 0);
    kv_ll(&e, "master-link-down-time", link_ok ? 0 : (long long)p->link_down_ms);
    kv_str(&e, "master-link-status", link_ok ? "ok" : "err");
    kv_str(&e, "master-host", host);
    kv_ll(&e, "master-port", pport);
    kv_ll(&e, "slave-priority", priority);
    kv_ll(&e, "slave-repl-offset", offset < 0 ? 0 : offset);
    kv_ll(&e, "replica-announced", 1);
    inst_emit(b, &e);
}

static void sentinel_entry(cache_server *srv, const replkv_cluster_info *ci,
                           const replkv_peer_info *p, rbuf *b)
{
    char fl[128];
    flags(fl, sizeof fl, "sentinel", is_down(p), false, p->last_heard_ms < 0,
          false);
    inst e = {{0}, 0};
    kv_str(&e, "name", p->node_id);
    kv_str(&e, "ip", p->host);
    kv_ll(&e, "port", sentinel_port_of(srv, p));
    common(&e, p->node_id, fl, heard_ms(p));
    if (is_down(p))
        down_time(&e, "s-down-time", ci, p);
    kv_ll(&e, "down-after-milliseconds", ci->down_after_ms);
    long long heard = heard_ms(p);
    kv_ll(&e, "last-hello-message", heard < 0 ? 0 : heard);
    kv_str(&e, "voted-leader", ci->leader_id[0] ? ci->leader_id : "?");
    kv_ll(&e, "voted-leader-epoch", (long long)ci->leader_epoch);
    inst_emit(b, &e);
}

/* ------------------------------------------------------------ SENTINEL */

/* The cluster when argv[2] names it; else replies Redis's error and
 * returns NULL. */
static replkv_cluster_info *named(cache_client *c)
{
    replkv_cluster_info *ci = sentinel_cluster(c->srv);
    if (ci != NULL && strlen(ci->name) == c->argvlen[2] &&
        memcmp(ci->name, c->argv[2], c->argvlen[2]) == 0)
        return ci;
    free(ci);
    c_err(c, "ERR No such master with that name");
    return NULL;
}

static void s_masters(cache_client *c)
{
    replkv_cluster_info *ci = sentinel_cluster(c->srv);
    if (ci == NULL) {
        reply_array(c->reply, 0);
        return;
    }
    reply_array(c->reply, 1);
    master_entry(c->srv, ci, c->reply);
    free(ci);
}

static void s_master(cache_client *c)
{
    replkv_cluster_info *ci = named(c);
    if (ci == NULL)
        return;
    master_entry(c->srv, ci, c->reply);
    free(ci);
}

static void s_replicas(cache_client *c)
{
    replkv_cluster_info *ci = named(c);
    if (ci == NULL)
        return;
    const replkv_peer_info *pp = primary_peer(ci);
    reply_array(c->reply, (size_t)count_data(ci, pp));
    for (int i = 0; i < ci->npeers; i++)
        if (!ci->peers[i].witness && &ci->peers[i] != pp)
            replica_entry(c->srv, ci, &ci->peers[i], c->reply);
    free(ci);
}

static void s_sentinels(cache_client *c)
{
    replkv_cluster_info *ci = named(c);
    if (ci == NULL)
        return;
    size_t n = 0;
    for (int i = 0; i < ci->npeers; i++)
        n += !ci->peers[i].self;
    reply_array(c->reply, n);
    for (int i = 0; i < ci->npeers; i++)
        if (!ci->peers[i].self)
            sentinel_entry(c->srv, ci, &ci->peers[i], c->reply);
    free(ci);
}

static void s_get_master_addr(cache_client *c)
{
    replkv_cluster_info *ci = sentinel_cluster(c->srv);
    if (ci == NULL || strlen(ci->name) != c->argvlen[2] ||
        memcmp(ci->name, c->argv[2], c->argvlen[2]) != 0) {
        free(ci);
        reply_null_array(c->reply); /* Redis: a nil for an unknown name */
        return;
    }
    char host[256];
    int port = 0;
    sentinel_primary_addr(c->srv, ci, host, sizeof host, &port);
    reply_array(c->reply, 2);
    reply_bulk_cstr(c->reply, host);
    reply_bulk_ll(c->reply, port);
    free(ci);
}

static void s_failover(cache_client *c)
{
    replkv_cluster_info *ci = named(c);
    if (ci == NULL)
        return;
    free(ci);
    int rc = replkv_failover(c->srv->kv, NULL, 0);
    switch (rc) {
    case 0:
        log_msg(c->srv->log, LOG_WARNING,
                "SENTINEL FAILOVER requested by client id=%llu addr=%s: "
                "manual failover of %.*s under way",
                (unsigned long long)c->id, c->addr, (int)c->argvlen[2],
                c->argv[2]);
        c_ok(c);
        break;
    case REPLKV_EBUSY:
        c_err(c, "INPROG Failover already in progress");
        break;
    case REPLKV_ENOTFOUND:
    case REPLKV_EINVAL:
        c_errf(c, "NOGOODSLAVE No suitable replica to promote (%s)",
               replkv_last_error());
        break;
    default:
        c_libfail(c, rc);
        break;
    }
}

/* Usable voters: this node and every node heard within
 * down-after-milliseconds. */
static int usable_voters(const replkv_cluster_info *ci)
{
    int n = 0;
    for (int i = 0; i < ci->npeers; i++)
        if (ci->peers[i].self || ci->peers[i].state == REPLKV_PEER_UP)
            n++;
    return n;
}

static void s_ckquorum(cache_client *c)
{
    replkv_cluster_info *ci = named(c);
    if (ci == NULL)
        return;
    int usable = usable_voters(ci);
    unsigned voters = ci->voters ? ci->voters : (unsigned)ci->npeers;
    bool quorum = usable >= (int)ci->quorum;
    bool majority = usable >= (int)(voters / 2 + 1);
    free(ci);
    if (quorum && majority) {
        char ok[160];
        snprintf(ok, sizeof ok,
                 "OK %d usable Sentinels. Quorum and failover authorization "
                 "can be reached",
                 usable);
        reply_simple(c->reply, ok);
        return;
    }
    c_errf(c, "NOQUORUM %d usable Sentinels. %s%s%s", usable,
           quorum ? "" : "Not enough available Sentinels to reach the "
                         "specified quorum for this master",
           !quorum && !majority ? ". " : "",
           majority ? "" : "Not enough available Sentinels to reach the "
                           "majority and authorize a failover");
}

/* SENTINEL RESET <pattern>: the library's forget (Sentinel's RESET done
 * right: for good, on every node) for each node that is down. The
 * configured primary is never forgotten: fail over first. */
static void s_reset(cache_client *c)
{
    cache_server *srv = c->srv;
    replkv_cluster_info *ci = sentinel_cluster(srv);
    if (ci == NULL || !util_glob_match(c->argv[2], c->argvlen[2], ci->name,
                                       strlen(ci->name), false)) {
        free(ci);
        reply_int(c->reply, 0);
        return;
    }
    const replkv_peer_info *pp = primary_peer(ci);
    int forgotten = 0;
    for (int i = 0; i < ci->npeers; i++) {
        const replkv_peer_info *p = &ci->peers[i];
        if (p->self || p == pp || p->state == REPLKV_PEER_UP)
            continue;
        int rc = replkv_forget(srv->kv, p->node_id);
        if (rc == 0) {
            forgotten++;
            log_msg(srv->log, LOG_WARNING,
                    "+reset-master %s: forgot %s %s %s:%d (down %lld ms), "
                    "requested by client id=%llu addr=%s",
                    ci->name, p->witness ? "sentinel" : "replica", p->node_id,
                    p->host, p->port, (long long)p->last_heard_ms,
                    (unsigned long long)c->id, c->addr);
        } else {
            log_msg(srv->log, LOG_WARNING,
                    "SENTINEL RESET %s: could not forget %s: %s (%s)",
                    ci->name, p->node_id, replkv_strerror(rc),
                    replkv_last_error());
        }
    }
    log_msg(srv->log, LOG_NOTICE, "SENTINEL RESET %s: %d down node(s) forgotten",
            ci->name, forgotten);
    free(ci);
    reply_int(c->reply, 1);
}

static void s_myid(cache_client *c)
{
    replkv_cluster_info *ci = sentinel_cluster(c->srv);
    reply_bulk_cstr(c->reply, ci ? ci->node_id : c->srv->run_id);
    free(ci);
}

static void s_help(cache_client *c)
{
    static const char *const lines[] = {
        "SENTINEL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CKQUORUM <master-name>",
        "    Check if the current Sentinel configuration is able to reach the",
        "    quorum needed to failover a master and the majority needed to",
        "    authorize the failover.",
        "FAILOVER <master-name>",
        "    Manually failover a master node (the primary pauses writes until",
        "    the replica has them all: no acknowledged write is lost).",
        "GET-MASTER-ADDR-BY-NAME <master-name>",
        "    Return the ip and port number of the master with that name.",
        "MASTER <master-name>",
        "    Show the state and info of the specified master.",
        "MASTERS",
        "    Show a list of monitored masters and their state.",
        "MYID",
        "    Return the ID of this node.",
        "REPLICAS <master-name>",
        "    Show a list of replicas for this master and their state.",
        "RESET <pattern>",
        "    Forget, on every node and for good, the nodes of the matching",
        "    master that are down (never its primary).",
        "SENTINELS <master-name>",
        "    Show a list of the other nodes (data nodes and witnesses) at",
        "    their Sentinel ports.",
        "HELP",
        "    Print this help.",
    };
    size_t n = sizeof lines / sizeof lines[0];
    reply_array(c->reply, n);
    for (size_t i = 0; i < n; i++)
        reply_simple(c->reply, lines[i]);
}

static void s_not_here(cache_client *c)
{
    c_errf(c, "ERR SENTINEL %.*s is not supported by this build: a node's "
              "cluster is set by 'sentinel monitor' and friends in its "
              "configuration file",
           (int)(c->argvlen[1] < 64 ? c->argvlen[1] : 64), c->argv[1]);
}

static const struct {
    const char *name;
    int argc; /* exact, counting SENTINEL and the subcommand; -N at least */
    void (*fn)(cache_client *c);
} subs[] = {
    {"masters", 2, s_masters},
    {"master", 3, s_master},
    {"slaves", 3, s_replicas},
    {"replicas", 3, s_replicas},
    {"sentinels", 3, s_sentinels},
    {"get-master-addr-by-name", 3, s_get_master_addr},
    {"failover", 3, s_failover},
    {"ckquorum", 3, s_ckquorum},
    {"reset", 3, s_reset},
    {"myid", 2, s_myid},
    {"help", 2, s_help},
    {"monitor", -2, s_not_here},
    {"remove", -2, s_not_here},
    {"set", -2, s_not_here},
    {"config", -2, s_not_here},
    {"flushconfig", -2, s_not_here},
};

static void cmd_sentinel(cache_client *c)
{
    for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++) {
        if (!c_arg_is(c, 1, subs[i].name))
            continue;
        int a = subs[i].argc;
        if ((a > 0 && (int)c->argc != a) || (a < 0 && (int)c->argc < -a)) {
            c_errf(c, "ERR wrong number of arguments for 'sentinel|%s' "
                      "command",
                   subs[i].name);
            return;
        }
        subs[i].fn(c);
        return;
    }
    c_errf(c, "ERR unknown subcommand '%.*s'. Try SENTINEL HELP.",
           (int)(c->argvlen[1] < 128 ? c->argvlen[1] : 128), c->argv[1]);
}

/* ------------------------------------------------------------ INFO, ROLE */

void sentinel_info_section(cache_server *srv, rbuf *t)
{
    replkv_cluster_info *ci = sentinel_cluster(srv);
    if (ci == NULL)
        return;
    size_t start = t->len;
    char host[256];
    int port = 0;
    sentinel_primary_addr(srv, ci, host, sizeof host, &port);
    const replkv_peer_info *pp = primary_peer(ci);
    const char *status = ci->primary_odown ? "odown"
                         : ci->primary_sdown || pp == NULL ? "sdown"
                                                           : "ok";
    reply_addf(t,
         "# Sentinel\r\nsentinel_masters:1\r\nsentinel_tilt:0\r\n"
         "sentinel_tilt_since_seconds:-1\r\nsentinel_running_scripts:0\r\n"
         "sentinel_scripts_queue_length:0\r\n"
         "sentinel_simulate_failure_flags:0\r\n"
         "master0:name=%s,status=%s,address=%s:%d,slaves=%d,sentinels=%d\r\n",
         ci->name, status, host, port, count_data(ci, pp), ci->npeers);
    free(ci);
    info_merge_lib(srv, t, start, "sentinel");
}

static void s_info(cache_client *c)
{
    cache_server *srv = c->srv;
    bool all = c->argc == 1;
    bool server = all, clients = all, sentinel = all;
    for (size_t i = 1; i < c->argc; i++) {
        bool every = c_arg_is(c, i, "all") || c_arg_is(c, i, "default") ||
                     c_arg_is(c, i, "everything");
        server |= every || c_arg_is(c, i, "server");
        clients |= every || c_arg_is(c, i, "clients");
        sentinel |= every || c_arg_is(c, i, "sentinel");
    }
    rbuf t = {0};
    if (server)
        reply_addf(&t,
             "# Server\r\nredis_version:7.0.0\r\nreplkv_version:%s\r\n"
             "redis_mode:sentinel\r\nprocess_id:%d\r\nrun_id:%s\r\n"
             "tcp_port:%d\r\nuptime_in_seconds:%llu\r\n",
             REPLKV_VERSION_STRING, (int)getpid(), srv->run_id,
             conf_sentinel_port(&srv->conf),
             (unsigned long long)((util_mono_ms() - srv->start_ms) / 1000));
    if (clients)
        reply_addf(&t, "%s# Clients\r\nconnected_clients:%zu\r\n",
             t.len ? "\r\n" : "", srv->nclients);
    if (sentinel) {
        if (t.len)
            reply_raw(&t, "\r\n", 2);
        sentinel_info_section(srv, &t);
    }
    if (t.oom)
        c_err(c, "ERR out of memory");
    else
        reply_bulk(c->reply, t.data ? t.data : "", t.len);
    rbuf_free(&t);
}

static void s_role(cache_client *c)
{
    cache_server *srv = c->srv;
    reply_array(c->reply, 2);
    reply_bulk_cstr(c->reply, "sentinel");
    if (srv->conf.sentinel_name == NULL) {
        reply_array(c->reply, 0);
        return;
    }
    reply_array(c->reply, 1);
    reply_bulk_cstr(c->reply, srv->conf.sentinel_name);
}

/* ------------------------------------------------------------ dispatch */

static const struct {
    const char *name;
    int arity; /* Redis's: N exact, -N at least N */
    bool noauth;
    void (*fn)(cache_client *c);
} scmds[] = {
    {"ping", -1, false, cmd_ping},       {"auth", -2, true, cmd_auth},
    {"hello", -1, true, cmd_hello},      {"quit", -1, true, cmd_quit},
    {"client", -2, false, cmd_client},   {"info", -1, false, s_info},
    {"role", 1, false, s_role},          {"sentinel", -2, false, cmd_sentinel},
    {"shutdown", -1, false, cmd_shutdown},
};

void sentinel_dispatch(cache_client *c)
{
    cache_server *srv = c->srv;
    c->cmds++;
    srv->stat_commands++;
    for (size_t i = 0; i < sizeof scmds / sizeof scmds[0]; i++) {
        if (!c_arg_is(c, 0, scmds[i].name))
            continue;
        /* CLIENT's subcommand errors and CLIENT LIST's cmd= name it. */
        c->lastcmd = cmd_lookup(srv, c->argv[0], c->argvlen[0]);
        int a = scmds[i].arity;
        if ((a > 0 && (long)c->argc != a) || (long)c->argc < -a) {
            c_arity(c, scmds[i].name);
            return;
        }
        if (srv->conf.requirepass != NULL && !(c->flags & CF_AUTHED) &&
            !scmds[i].noauth) {
            c_err(c, "NOAUTH Authentication required.");
            return;
        }
        scmds[i].fn(c);
        return;
    }
    cmd_unknown(c);
}
