/*
 * server.c - the libuv side of replkv-cache: listeners, accepting clients
 * (maxclients, protected mode), reading and parsing requests, batching each
 * read's replies into one write, back-pressure on clients that do not read,
 * idle timeouts and timeouts on requests left incomplete (slowloris),
 * and shutdown. The metrics endpoint is metrics.c.
 *
 * The clients' reading, parsing and writing is in client.c.
 */
#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "cmd.h"
#include "metrics.h"
#include "replication.h"
#include "util.h"


/* ------------------------------------------------------------ accept */

static void format_addr(const struct sockaddr_storage *ss, char *out,
                        size_t cap)
{
    char ip[64] = "?";
    int port = 0;
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
        uv_ip4_name(a, ip, sizeof ip);
        port = ntohs(a->sin_port);
        snprintf(out, cap, "%s:%d", ip, port);
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
        uv_ip6_name(a, ip, sizeof ip);
        port = ntohs(a->sin6_port);
        snprintf(out, cap, "%s:%d", ip, port);
    } else {
        snprintf(out, cap, "?:0");
    }
}

static bool is_loopback(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
        return (ntohl(a->sin_addr.s_addr) >> 24) == 127;
    }
    if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
        static const unsigned char lo[16] = {0, 0, 0, 0, 0, 0, 0, 0,
                                             0, 0, 0, 0, 0, 0, 0, 1};
        if (memcmp(a->sin6_addr.s6_addr, lo, 16) == 0)
            return true;
        /* ::ffff:127.x.y.z */
        static const unsigned char v4map[12] = {0, 0, 0, 0, 0,    0,
                                                0, 0, 0, 0, 0xff, 0xff};
        return memcmp(a->sin6_addr.s6_addr, v4map, 12) == 0 &&
               a->sin6_addr.s6_addr[12] == 127;
    }
    return false;
}

static void on_reject_close(uv_handle_t *h)
{
    free(h);
}

/* Sends msg and closes a connection that is not made a client. */
static void reject(uv_tcp_t *t, const char *msg)
{
    uv_buf_t b = uv_buf_init((char *)msg, (unsigned)strlen(msg));
    (void)uv_try_write((uv_stream_t *)t, &b, 1);
    uv_close((uv_handle_t *)t, on_reject_close);
}

static void on_connection(uv_stream_t *ls, int status)
{
    cache_listener *l = ls->data;
    cache_server *srv = l->srv;
    if (status < 0) {
        log_msg(srv->log, LOG_WARNING, "Accepting client connection: %s",
                uv_strerror(status));
        return;
    }
    cache_client *c = calloc(1, sizeof *c);
    if (c == NULL) {
        uv_tcp_t *t = malloc(sizeof *t);
        if (t == NULL)
            return;
        uv_tcp_init(srv->loop, t);
        if (uv_accept(ls, (uv_stream_t *)t) == 0)
            reject(t, "-ERR out of memory\r\n");
        else
            uv_close((uv_handle_t *)t, on_reject_close);
        return;
    }
    uv_tcp_init(srv->loop, &c->tcp);
    c->tcp.data = c;
    c->srv = srv;
    if (uv_accept(ls, (uv_stream_t *)&c->tcp) != 0) {
        c->flags |= CF_CLOSING;
        uv_close((uv_handle_t *)&c->tcp, client_on_close);
        return;
    }
    srv->stat_connections++;
    struct sockaddr_storage peer, self;
    int plen = sizeof peer, slen = sizeof self;
    memset(&peer, 0, sizeof peer);
    memset(&self, 0, sizeof self);
    uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&peer, &plen);
    uv_tcp_getsockname(&c->tcp, (struct sockaddr *)&self, &slen);
    format_addr(&peer, c->addr, sizeof c->addr);
    format_addr(&self, c->laddr, sizeof c->laddr);

    if ((long long)srv->nclients >= srv->conf.maxclients) {
        srv->stat_rejected_conn++;
        /* An operator must see the limit being hit, but a flood of
         * connections must not flood the log: one line a second at most,
         * with the count of those not logged. */
        uint64_t now = util_mono_ms();
        if (srv->maxclients_log_ms == 0 ||
            now - srv->maxclients_log_ms >= 1000) {
            log_msg(srv->log, LOG_WARNING,
                    "Rejected connection from %s: max number of clients "
                    "reached (maxclients %lld, %zu connected, %llu more "
                    "rejected since the last such line)",
                    c->addr, srv->conf.maxclients, srv->nclients,
                    (unsigned long long)srv->maxclients_unlogged);
            srv->maxclients_log_ms = now;
            srv->maxclients_unlogged = 0;
        } else {
            srv->maxclients_unlogged++;
        }
        c->flags |= CF_CLOSING;
        uv_buf_t b = uv_buf_init("-ERR max number of clients reached\r\n", 36);
        (void)uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
        uv_close((uv_handle_t *)&c->tcp, client_on_close);
        return;
    }
    if (srv->conf.protected_mode && srv->conf.requirepass == NULL &&
        !is_loopback(&peer)) {
        srv->stat_rejected_conn++;
        c->flags |= CF_CLOSING;
        static const char denied[] =
            "-DENIED Running in protected mode because protected mode is "
            "enabled and no password is set for the default user. In this "
            "mode connections are only accepted from the loopback "
            "interface. Set a password with 'requirepass', or disable "
            "protected mode with 'protected-mode no'.\r\n";
        uv_buf_t b = uv_buf_init((char *)denied, sizeof denied - 1);
        (void)uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
        uv_close((uv_handle_t *)&c->tcp, client_on_close);
        return;
    }

    uv_tcp_nodelay(&c->tcp, 1);
    if (srv->conf.tcp_keepalive > 0)
        uv_tcp_keepalive(&c->tcp, 1, (unsigned)srv->conf.tcp_keepalive);
    uv_os_fd_t fd = -1;
    uv_fileno((uv_handle_t *)&c->tcp, &fd);
    c->fd = fd;
    c->id = ++srv->next_client_id;
    c->ctime_ms = c->last_ms = util_mono_ms();
    c->lastcmd = -1;
    resp_init(&c->parser, srv->max_bulk);
    if (srv->conf.requirepass == NULL)
        c->flags |= CF_AUTHED;
    if (l->sentinel)
        c->flags |= CF_SENTINEL;
    c->next = srv->clients;
    if (srv->clients)
        srv->clients->prev = c;
    srv->clients = c;
    srv->nclients++;
    if (client_start_reading(c) != 0)
        client_close(c, false);
}

/* ------------------------------------------------------------ listeners */

static void on_listener_close(uv_handle_t *h)
{
    free(h->data);
}

static void close_listeners(cache_listener **ls, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (ls[i]->closing)
            continue;
        ls[i]->closing = true;
        uv_close((uv_handle_t *)&ls[i]->tcp, on_listener_close);
    }
}

/* Binds one address; 0, or a libuv error. */
static int bind_one(cache_server *srv, const char *addr, int port,
                    int backlog, bool sentinel, cache_listener **out)
{
    const char *a = addr;
    if (strcmp(a, "*") == 0)
        a = "0.0.0.0";
    else if (strcmp(a, "::*") == 0)
        a = "::";
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    unsigned flags = 0;
    int rc = uv_ip4_addr(a, port, (struct sockaddr_in *)&ss);
    if (rc != 0) {
        rc = uv_ip6_addr(a, port, (struct sockaddr_in6 *)&ss);
        flags = UV_TCP_IPV6ONLY;
    }
    if (rc != 0)
        return rc;
    cache_listener *l = calloc(1, sizeof *l);
    if (l == NULL)
        return UV_ENOMEM;
    l->srv = srv;
    l->sentinel = sentinel;
    snprintf(l->addr, sizeof l->addr, "%s:%d", a, port);
    uv_tcp_init(srv->loop, &l->tcp);
    l->tcp.data = l;
    rc = uv_tcp_bind(&l->tcp, (const struct sockaddr *)&ss, flags);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&l->tcp, backlog, on_connection);
    if (rc != 0) {
        l->closing = true;
        uv_close((uv_handle_t *)&l->tcp, on_listener_close);
        return rc;
    }
    *out = l;
    return 0;
}

/* Binds every address of conf on port into a new array: the client port,
 * or with sentinel the Sentinel port. */
static int bind_port(cache_server *srv, const cache_conf *conf, int port,
                     bool sentinel, cache_listener ***out, size_t *nout,
                     char *reason, size_t cap)
{
    *out = NULL;
    *nout = 0;
    if (port <= 0)
        return 0;
    cache_listener **ls = calloc(conf->nbind ? conf->nbind : 1, sizeof *ls);
    if (ls == NULL) {
        snprintf(reason, cap, "out of memory");
        return -1;
    }
    size_t n = 0;
    for (size_t i = 0; i < conf->nbind; i++) {
        const char *addr = conf->bind[i];
        bool optional = addr[0] == '-';
        if (optional)
            addr++;
        cache_listener *l = NULL;
        int rc = bind_one(srv, addr, port, (int)conf->tcp_backlog, sentinel,
                          &l);
        if (rc == 0) {
            ls[n++] = l;
            continue;
        }
        if (optional && (rc == UV_EADDRNOTAVAIL || rc == UV_EAFNOSUPPORT ||
                         rc == UV_EPROTONOSUPPORT || rc == UV_EINVAL)) {
            log_msg(srv->log, LOG_VERBOSE,
                    "Skipping optional bind address %s:%d: %s", addr, port,
                    uv_strerror(rc));
            continue;
        }
        snprintf(reason, cap,
                 "Could not create %sTCP listening socket %s:%d: %s",
                 sentinel ? "Sentinel " : "server ", addr, port,
                 uv_strerror(rc));
        close_listeners(ls, n);
        free(ls);
        return -1;
    }
    if (n == 0) {
        snprintf(reason, cap, "Failed listening on port %d (tcp): no usable "
                              "bind address", port);
        free(ls);
        return -1;
    }
    *out = ls;
    *nout = n;
    return 0;
}

/* The client listeners: a witness (--sentinel) has only its Sentinel
 * port, which is its port. */
static int bind_all(cache_server *srv, const cache_conf *conf,
                    cache_listener ***out, size_t *nout, char *reason,
                    size_t cap)
{
    return bind_port(srv, conf, conf->port, conf->sentinel_mode, out, nout,
                     reason, cap);
}

int server_rebind(cache_server *srv, const cache_conf *conf, char *reason,
                  size_t cap)
{
    /* The old sockets close first (uv_close closes the descriptor at once)
     * so that a new bind to the same address and port can succeed. */
    close_listeners(srv->listeners, srv->nlisteners);
    free(srv->listeners);
    srv->listeners = NULL;
    srv->nlisteners = 0;
    cache_listener **ls;
    size_t n;
    if (bind_all(srv, conf, &ls, &n, reason, cap) == 0) {
        srv->listeners = ls;
        srv->nlisteners = n;
        return 0;
    }
    char ignored[256];
    if (bind_all(srv, &srv->conf, &ls, &n, ignored, sizeof ignored) == 0) {
        srv->listeners = ls;
        srv->nlisteners = n;
    } else {
        log_msg(srv->log, LOG_WARNING,
                "Could not restore the old listeners either: %s", ignored);
    }
    return -1;
}

/* ------------------------------------------------------------ cron */

static void on_cron(uv_timer_t *t)
{
    cache_server *srv = t->data;
    uint64_t now = util_mono_ms();
    /* instantaneous_ops_per_sec, as Redis samples it. */
    if (now - srv->ops_last_ms >= 100) {
        uint64_t ops = srv->stat_commands - srv->ops_last_count;
        uint64_t dt = now - srv->ops_last_ms;
        srv->ops_samples[srv->ops_idx] = ops * 1000 / (dt ? dt : 1);
        srv->ops_idx = (srv->ops_idx + 1) % 16;
        srv->ops_last_count = srv->stat_commands;
        srv->ops_last_ms = now;
    }
    /* Idle clients and clients over the soft output limit. */
    long long timeout = srv->conf.timeout;
    cache_client *next;
    for (cache_client *c = srv->clients; c; c = next) {
        next = c->next;
        if (timeout > 0 && now - c->last_ms > (uint64_t)timeout * 1000 &&
            !(c->flags & CF_WRITING)) {
            log_msg(srv->log, LOG_VERBOSE, "Closing idle client id=%llu %s",
                    (unsigned long long)c->id, c->addr);
            srv->stat_expired_clients++;
            client_close(c, false);
            continue;
        }
        if (timeout > 0 && c->partial_since_ms != 0 &&
            now - c->partial_since_ms > (uint64_t)timeout * 1000 &&
            !(c->flags & (CF_WRITING | CF_PAUSED | CF_BLOCKED))) {
            log_msg(srv->log, LOG_NOTICE,
                    "Closing client id=%llu addr=%s: its request was still "
                    "incomplete after %lld seconds (timeout), %zu bytes "
                    "buffered",
                    (unsigned long long)c->id, c->addr, timeout, c->qlen);
            srv->stat_expired_clients++;
            client_close(c, false);
            continue;
        }
        if (c->obuf_soft_since || (c->flags & CF_WRITING))
            client_check_output_limits(c);
    }
    repl_cron(srv);
    metrics_cron(srv);
}

static void on_signal(uv_signal_t *s, int signum)
{
    cache_server *srv = s->data;
    log_msg(srv->log, LOG_WARNING, "Received %s scheduling shutdown...",
            signum == SIGINT ? "SIGINT" : "SIGTERM");
    server_request_shutdown(srv, NULL);
}

/* ------------------------------------------------------------ lifecycle */

void server_count_error(cache_server *srv, const char *msg)
{
    srv->stat_errors++;
    char prefix[32];
    size_t n = 0;
    while (msg[n] && msg[n] != ' ' && n < sizeof prefix - 1) {
        prefix[n] = msg[n];
        n++;
    }
    prefix[n] = '\0';
    for (size_t i = 0; i < srv->nerrstats; i++)
        if (strcmp(srv->errstats[i].prefix, prefix) == 0) {
            srv->errstats[i].count++;
            return;
        }
    if (srv->nerrstats < CACHE_MAX_ERRSTATS) {
        memcpy(srv->errstats[srv->nerrstats].prefix, prefix, n + 1);
        srv->errstats[srv->nerrstats].count = 1;
        srv->nerrstats++;
    }
}

static void make_run_id(char out[41])
{
    unsigned char r[20];
    if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r) {
        uint64_t t = util_mono_us() ^ ((uint64_t)getpid() << 32);
        for (size_t i = 0; i < sizeof r; i++) {
            t = t * 6364136223846793005ull + 1442695040888963407ull;
            r[i] = (unsigned char)(t >> 56);
        }
    }
    for (size_t i = 0; i < sizeof r; i++)
        snprintf(out + 2 * i, 3, "%02x", r[i]);
}

static void on_batch_open(uv_prepare_t *h)
{
    cache_server *srv = h->data;
    if (!srv->batch_on && replkv_batch_begin(srv->kv) == 0)
        srv->batch_on = true;
}

static void on_batch_close(uv_check_t *h)
{
    cache_server *srv = h->data;
    if (srv->batch_on) {
        replkv_batch_end(srv->kv);
        srv->batch_on = false;
    }
}

int server_start(cache_server *srv, uv_loop_t *loop, cache_conf *conf,
                 replkv_t *kv, cache_log *log)
{
    memset(srv, 0, sizeof *srv);
    srv->loop = loop;
    srv->kv = kv;
    srv->conf = *conf;
    memset(conf, 0, sizeof *conf);
    srv->log = log;
    srv->start_ms = util_mono_ms();
    srv->start_wall_ms = (uint64_t)util_now_ms();
    srv->ops_last_ms = srv->start_ms;
    make_run_id(srv->run_id);
    srv->max_bulk = 512ull * 1024 * 1024;
    char v[64];
    if (replkv_config_get(kv, "proto-max-bulk-len", v, sizeof v, NULL) == 0)
        srv->max_bulk = strtoull(v, NULL, 10);
    srv->replica_ro = true;
    if (replkv_config_get(kv, "replica-read-only", v, sizeof v, NULL) == 0)
        srv->replica_ro = strcmp(v, "no") != 0;
    if (replkv_role(kv) == REPLKV_ROLE_REPLICA)
        srv->link_down_since_ms = (uint64_t)util_now_ms();
    srv->last_role = -1;

    srv->readbuf_cap = CACHE_SHARED_READ_BUF;
    srv->readbuf = malloc(srv->readbuf_cap);
    srv->cmd_stats = calloc(cmd_count, sizeof *srv->cmd_stats);
    if (srv->readbuf == NULL || srv->cmd_stats == NULL ||
        !client_argv_reserve(srv, 16)) {
        log_msg(log, LOG_WARNING, "out of memory starting the server");
        return -1;
    }
    cmd_init_lookup(srv);

    char reason[256];
    if (bind_all(srv, &srv->conf, &srv->listeners, &srv->nlisteners, reason,
                 sizeof reason) != 0) {
        log_msg(log, LOG_WARNING, "%s", reason);
        return -1;
    }
    if (!srv->conf.sentinel_mode &&
        bind_port(srv, &srv->conf, conf_sentinel_port(&srv->conf), true,
                  &srv->slisteners, &srv->nslisteners, reason,
                  sizeof reason) != 0) {
        log_msg(log, LOG_WARNING, "%s (sentinel-port)", reason);
        return -1;
    }
    if (metrics_start(srv) != 0)
        return -1;
    uv_timer_init(loop, &srv->cron);
    srv->cron.data = srv;
    uv_timer_start(&srv->cron, on_cron, 100, 100);
    uv_prepare_init(loop, &srv->batch_open);
    uv_check_init(loop, &srv->batch_close);
    srv->batch_open.data = srv->batch_close.data = srv;
    uv_prepare_start(&srv->batch_open, on_batch_open);
    uv_check_start(&srv->batch_close, on_batch_close);
    uv_signal_init(loop, &srv->sigterm);
    uv_signal_init(loop, &srv->sigint);
    srv->sigterm.data = srv->sigint.data = srv;
    uv_signal_start(&srv->sigterm, on_signal, SIGTERM);
    uv_signal_start(&srv->sigint, on_signal, SIGINT);
    for (size_t i = 0; i < srv->nlisteners; i++)
        log_msg(log, LOG_NOTICE, "%s on %s",
                srv->conf.sentinel_mode ? "Sentinel listening" : "Listening",
                srv->listeners[i]->addr);
    for (size_t i = 0; i < srv->nslisteners; i++)
        log_msg(log, LOG_NOTICE, "Sentinel listening on %s (sentinel-port)",
                srv->slisteners[i]->addr);
    repl_cron(srv); /* the role mark and its first line, at once */
    return 0;
}

/* Client, Sentinel and metrics listeners. */
static void close_all_listeners(cache_server *srv)
{
    close_listeners(srv->listeners, srv->nlisteners);
    free(srv->listeners);
    srv->listeners = NULL;
    srv->nlisteners = 0;
    close_listeners(srv->slisteners, srv->nslisteners);
    free(srv->slisteners);
    srv->slisteners = NULL;
    srv->nslisteners = 0;
}

void server_request_shutdown(cache_server *srv, const char *why)
{
    if (srv->shutting_down)
        return;
    srv->shutting_down = true;
    if (why)
        log_msg(srv->log, LOG_WARNING, "%s", why);
    log_msg(srv->log, LOG_NOTICE, "User requested shutdown...");
    close_all_listeners(srv);
    metrics_stop(srv);
    while (srv->clients)
        client_close(srv->clients, false);
    uv_stop(srv->loop);
}

static void close_if_open(uv_handle_t *h)
{
    if (h->loop != NULL && !uv_is_closing(h))
        uv_close(h, NULL);
}

void server_stop(cache_server *srv)
{
    close_all_listeners(srv);
    metrics_stop(srv);
    while (srv->clients)
        client_close(srv->clients, false);
    if (srv->batch_on) {
        replkv_batch_end(srv->kv);
        srv->batch_on = false;
    }
    close_if_open((uv_handle_t *)&srv->batch_open);
    close_if_open((uv_handle_t *)&srv->batch_close);
    repl_stop(srv);
    close_if_open((uv_handle_t *)&srv->cron);
    close_if_open((uv_handle_t *)&srv->sigterm);
    close_if_open((uv_handle_t *)&srv->sigint);
    free(srv->readbuf);
    srv->readbuf = NULL;
    rbuf_free(&srv->batch);
    free(srv->argv);
    free(srv->argvlen);
    srv->argv = NULL;
    srv->argvlen = NULL;
    free(srv->cmd_stats);
    srv->cmd_stats = NULL;
    conf_free(&srv->conf);
}
