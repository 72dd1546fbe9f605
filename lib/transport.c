/*
 * transport.c - the only code that touches sockets (libuv, on the node's
 * I/O thread): the listener for replicas, the outgoing link to our primary
 * with reconnection and back-off (host names resolved by uv_getaddrinfo in
 * libuv's thread pool, so the loop never waits for DNS), each link's read
 * buffer cut into frames, and its write queue, batched (one uv_write per
 * flush) with the pending bytes counted so the primary can stop feeding a
 * slow replica.
 */
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "failover_node.h"
#include "journal.h"
#include "repl.h"

typedef struct wreq {
    uv_write_t req;
    rkv_link *l;
    uint8_t *data;
    size_t len;
} wreq;

/* A host name lookup for an outgoing link. It lives apart from the link:
 * uv_cancel cannot stop a lookup that a pool thread already runs, so its
 * callback may come after the link is freed. Closing the link cuts
 * lookup->l; the callback always frees the lookup. */
typedef struct rkv_lookup {
    uv_getaddrinfo_t req;
    rkv_link *l; /* NULL once the link closed */
    char host[256];
} rkv_lookup;

/* ------------------------------------------------------------ closing */

static void on_link_closed(uv_handle_t *h)
{
    rkv_link *l = h->data;
    rkv_repl *r = l->kv->repl;
    for (rkv_link **pp = &r->zombies; *pp; pp = &(*pp)->next) {
        if (*pp == l) {
            *pp = l->next;
            break;
        }
    }
    rkv_replica_drop_load(l);
    rkv_buf_free(&l->rbuf);
    rkv_buf_free(&l->out);
    rkv_decoder_destroy(&l->dec);
    free(l);
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
    (void)status;
    rkv_link *l = req->data;
    free(req);
    if (!uv_is_closing((uv_handle_t *)&l->tcp))
        uv_close((uv_handle_t *)&l->tcp, on_link_closed);
}

void rkv_link_close(rkv_link *l, replkv_log_level lvl, const char *fmt, ...)
{
    if (l->closing)
        return;
    replkv_t *kv = l->kv;
    rkv_repl *r = kv->repl;
    char reason[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    if (l->peer) {
        /* Failover links come and go with their peers: verbose only. */
        rkv_log(kv, lvl < REPLKV_LOG_NOTICE ? lvl : REPLKV_LOG_VERBOSE,
                "failover: link %s peer %s:%d closed: %s",
                l->outgoing ? "to" : "from", l->addr, l->port, reason);
    } else {
        rkv_log(kv, lvl, "replication: link %s %s:%d closed: %s",
                l->outgoing ? "to primary" : "from replica", l->addr,
                l->port, reason);
    }
    bool repl_out = l->outgoing && !l->peer;
    if (repl_out)
        rkv_replica_flush_applied(l); /* what was applied stays counted */
    bool was_loading = repl_out && (l->state == LINK_LOADING ||
                                    l->state == LINK_LOADING_TAIL);
    l->closing = true;
    if (l->lookup != NULL) {
        /* The lookup's callback frees it, cancelled or not. */
        l->lookup->l = NULL;
        uv_cancel((uv_req_t *)&l->lookup->req);
        l->lookup = NULL;
    }
    pthread_mutex_lock(&r->lock);
    if (l->peer) {
        for (rkv_link **pp = &r->peer_links; *pp; pp = &(*pp)->next) {
            if (*pp == l) {
                *pp = l->next;
                break;
            }
        }
    } else if (l->outgoing) {
        if (r->primary == l)
            r->primary = NULL;
        if (r->link_down_since_ms == 0)
            r->link_down_since_ms = rkv_mono_ms();
        r->link_up = false;
        r->sync_in_progress = false;
    } else {
        for (rkv_link **pp = &r->replicas; *pp; pp = &(*pp)->next) {
            if (*pp == l) {
                *pp = l->next;
                break;
            }
        }
    }
    pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->lock);
    if (!l->peer && !l->outgoing)
        rkv_primary_update_hold(kv); /* it needs nothing any more */
    l->next = r->zombies;
    r->zombies = l;
    rkv_replica_drop_load(l);
    if (l->peer && l->outgoing)
        rkv_fonode_link_closed(l);
    if (repl_out) {
        if (was_loading && ++r->full_sync_failures > 1)
            rkv_log(kv, REPLKV_LOG_WARNING,
                    "replication: %u full resyncs failed in a row; backing "
                    "off (up to %d ms between attempts)",
                    r->full_sync_failures, RKV_BACKOFF_MAX_MS);
        rkv_transport_schedule_reconnect(kv);
    }
    uv_read_stop((uv_stream_t *)&l->tcp);
    /* Whatever is queued (an ERROR saying why) still goes out first. */
    rkv_link_flush(l);
    uv_shutdown_t *req = NULL;
    if (!r->stopping && uv_is_writable((uv_stream_t *)&l->tcp))
        req = malloc(sizeof *req);
    if (req != NULL) {
        req->data = l;
        if (uv_shutdown(req, (uv_stream_t *)&l->tcp, on_shutdown) == 0)
            return;
        free(req);
    }
    if (!uv_is_closing((uv_handle_t *)&l->tcp))
        uv_close((uv_handle_t *)&l->tcp, on_link_closed);
}

/* ------------------------------------------------------------ writing */

static void on_written(uv_write_t *req, int status)
{
    wreq *w = (wreq *)req;
    rkv_link *l = w->l;
    l->pending -= w->len;
    free(w->data);
    free(w);
    if (status == UV_ECANCELED || l->closing)
        return;
    if (status < 0) {
        rkv_link_close(l, REPLKV_LOG_WARNING, "write failed: %s",
                       uv_strerror(status));
        return;
    }
    if (!l->outgoing && !l->peer &&
        (l->state == LINK_SNAPSHOT || l->state == LINK_STREAMING))
        rkv_primary_pump(l);
}

static void count_sent(rkv_link *l, size_t n)
{
    pthread_mutex_lock(&l->kv->repl->lock);
    l->kv->repl->bytes_sent += n;
    pthread_mutex_unlock(&l->kv->repl->lock);
}

void rkv_link_flush(rkv_link *l)
{
    if (l->out.len == 0 || uv_is_closing((uv_handle_t *)&l->tcp))
        return;
    /* Nothing in flight: write now, so that a socket with room takes the
     * bytes without a request, a callback or a change to the poll set
     * (one per write otherwise: a stream of small writes paid for all
     * three), and the buffer stays for the next bytes. What does not fit
     * goes the queued way. */
    size_t done = 0;
    if (l->pending == 0) {
        uv_buf_t b = uv_buf_init((char *)l->out.data, (unsigned)l->out.len);
        int n = uv_try_write((uv_stream_t *)&l->tcp, &b, 1);
        if (n > 0) {
            count_sent(l, (size_t)n);
            done = (size_t)n;
            if (done == l->out.len) {
                l->out.len = 0;
                return;
            }
        }
    }
    wreq *w = malloc(sizeof *w);
    if (w == NULL) {
        rkv_buf_clear(&l->out);
        rkv_link_close(l, REPLKV_LOG_WARNING, "out of memory");
        return;
    }
    w->l = l;
    w->data = l->out.data; /* freed whole once the rest is written */
    w->len = l->out.len - done;
    rkv_buf_init(&l->out);
    uv_buf_t b = uv_buf_init((char *)w->data + done, (unsigned)w->len);
    l->pending += w->len;
    count_sent(l, w->len);
    int rc = uv_write(&w->req, (uv_stream_t *)&l->tcp, &b, 1, on_written);
    if (rc != 0) {
        l->pending -= w->len;
        free(w->data);
        free(w);
        rkv_link_close(l, REPLKV_LOG_WARNING, "write failed: %s",
                       uv_strerror(rc));
    }
}

int rkv_link_send(rkv_link *l, const rkv_msg *m)
{
    if (l->closing)
        return REPLKV_ECLOSED;
    return rkv_msg_encode(&l->out, m);
}

int rkv_link_send_raw(rkv_link *l, const void *p, size_t n)
{
    if (l->closing)
        return REPLKV_ECLOSED;
    return rkv_buf_append(&l->out, p, n);
}

/* ------------------------------------------------------------ reading */

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    rkv_link *l = h->data;
    if (rkv_buf_reserve(&l->rbuf, 64 * 1024) != 0) {
        buf->base = NULL;
        buf->len = 0;
        return;
    }
    buf->base = (char *)l->rbuf.data + l->rbuf.len;
    buf->len = l->rbuf.cap - l->rbuf.len;
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    (void)buf;
    rkv_link *l = s->data;
    replkv_t *kv = l->kv;
    if (l->closing)
        return;
    if (n < 0) {
        rkv_link_close(l, REPLKV_LOG_NOTICE, "%s",
                       n == UV_EOF ? "connection closed by peer"
                                   : uv_strerror((int)n));
        return;
    }
    if (n == 0)
        return;
    l->rbuf.len += (size_t)n;
    l->last_rx_ms = rkv_mono_ms();
    bool repl_out = l->outgoing && !l->peer;
    pthread_mutex_lock(&kv->repl->lock);
    kv->repl->bytes_received += (uint64_t)n;
    if (repl_out)
        kv->repl->primary_last_io_ms = l->last_rx_ms;
    pthread_mutex_unlock(&kv->repl->lock);
    size_t pos = 0;
    while (!l->closing) {
        rkv_frame f;
        int rc = rkv_frame_parse(l->rbuf.data + pos, l->rbuf.len - pos,
                                 rkv_link_max_payload(l), &f);
        if (rc == 0)
            break;
        if (rc < 0) {
            rkv_link_close(l, REPLKV_LOG_WARNING, "bad frame: %s",
                           replkv_last_error());
            return;
        }
        if (rkv_link_on_frame(l, l->rbuf.data + pos, f.size, f.payload,
                              f.len) != 0)
            return;
        pos += f.size;
    }
    if (l->closing)
        return;
    if (repl_out)
        rkv_replica_flush_applied(l);
    rkv_buf_consume(&l->rbuf, pos);
    if (repl_out) {
        rkv_replica_after_read(l);
        /* Our own replicas (chained) get what we just applied. */
        rkv_link *next;
        for (rkv_link *c = kv->repl->replicas; c != NULL; c = next) {
            next = c->next;
            rkv_primary_pump(c);
        }
    }
    rkv_link_flush(l);
}

/* ------------------------------------------------------------ links */

static rkv_link *link_new(replkv_t *kv, bool outgoing)
{
    rkv_link *l = calloc(1, sizeof *l);
    if (l == NULL)
        return NULL;
    if (rkv_decoder_init(&l->dec) != 0) {
        free(l);
        return NULL;
    }
    l->kv = kv;
    l->outgoing = outgoing;
    l->acked = -1;
    l->acked_sent = -1;
    l->last_rx_ms = rkv_mono_ms();
    uv_tcp_init(&kv->loop, &l->tcp);
    l->tcp.data = l;
    return l;
}

static void on_connection(uv_stream_t *server, int status)
{
    replkv_t *kv = server->data;
    if (status < 0) {
        rkv_log(kv, REPLKV_LOG_WARNING, "replication: accept failed: %s",
                uv_strerror(status));
        return;
    }
    rkv_link *l = link_new(kv, false);
    if (l == NULL)
        return;
    if (uv_accept(server, (uv_stream_t *)&l->tcp) != 0) {
        uv_close((uv_handle_t *)&l->tcp, on_link_closed);
        return;
    }
    uv_tcp_nodelay(&l->tcp, 1);
    struct sockaddr_storage ss;
    int len = sizeof ss;
    if (uv_tcp_getpeername(&l->tcp, (struct sockaddr *)&ss, &len) == 0) {
        if (ss.ss_family == AF_INET6)
            uv_ip6_name((struct sockaddr_in6 *)&ss, l->addr, sizeof l->addr);
        else
            uv_ip4_name((struct sockaddr_in *)&ss, l->addr, sizeof l->addr);
    }
    pthread_mutex_lock(&kv->repl->lock);
    l->next = kv->repl->replicas;
    kv->repl->replicas = l;
    pthread_mutex_unlock(&kv->repl->lock);
    rkv_log(kv, REPLKV_LOG_VERBOSE, "replication: connection from %s",
            l->addr);
    uv_read_start((uv_stream_t *)&l->tcp, on_alloc, on_read);
    rkv_link_start(l);
}

/* An IPv4 or IPv6 literal; REPLKV_ENET for anything else. */
static int numeric_addr(const char *host, int port,
                        struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof *ss);
    if (uv_ip4_addr(host, port, (struct sockaddr_in *)ss) == 0)
        return 0;
    if (uv_ip6_addr(host, port, (struct sockaddr_in6 *)ss) == 0)
        return 0;
    return REPLKV_ENET;
}

/* Blocking: only while the node starts, before its loop runs (bind,
 * bind-source-addr). Links resolve with uv_getaddrinfo (link_connect). */
static int resolve(const char *host, int port, struct sockaddr_storage *ss)
{
    if (numeric_addr(host, port, ss) == 0)
        return 0;
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_socktype = SOCK_STREAM;
    char ps[16];
    snprintf(ps, sizeof ps, "%d", port);
    int rc = getaddrinfo(host, ps, &hints, &res);
    if (rc != 0 || res == NULL)
        return REPLKV_ENET;
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    return 0;
}

int rkv_transport_listen(replkv_t *kv, char *err, size_t errcap)
{
    rkv_repl *r = kv->repl;
    struct sockaddr_storage ss;
    if (resolve(kv->cfg.bind, kv->cfg.port, &ss) != 0) {
        snprintf(err, errcap, "bind: cannot resolve '%s'", kv->cfg.bind);
        return REPLKV_ENET;
    }
    uv_tcp_init(&kv->loop, &r->listener);
    r->listener.data = kv;
    r->listening = true;
    int rc = uv_tcp_bind(&r->listener, (struct sockaddr *)&ss, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&r->listener, 128, on_connection);
    if (rc != 0) {
        snprintf(err, errcap, "cannot listen on %s:%d: %s", kv->cfg.bind,
                 kv->cfg.port, uv_strerror(rc));
        return REPLKV_ENET;
    }
    rkv_log(kv, REPLKV_LOG_NOTICE, "replication: listening on %s:%d",
            kv->cfg.bind, kv->cfg.port);
    return 0;
}

void rkv_transport_start(replkv_t *kv)
{
    rkv_repl *r = kv->repl;
    const char *src = kv->cfg.bind_source_addr;
    if (src[0] == '\0')
        return;
    r->src_ok = resolve(src, 0, &r->src_addr) == 0;
    if (!r->src_ok)
        rkv_log(kv, REPLKV_LOG_WARNING,
                "bind-source-addr: cannot resolve '%s': outgoing links will "
                "fail",
                src);
}

static void on_connected(uv_connect_t *req, int status)
{
    rkv_link *l = req->data;
    replkv_t *kv = l->kv;
    if (l->closing)
        return;
    if (status < 0) {
        rkv_link_close(l, l->peer ? REPLKV_LOG_VERBOSE : REPLKV_LOG_NOTICE,
                       "connect failed: %s", uv_strerror(status));
        return;
    }
    uv_tcp_nodelay(&l->tcp, 1);
    pthread_mutex_lock(&kv->repl->lock);
    l->tcp_up = true;
    pthread_mutex_unlock(&kv->repl->lock);
    if (l->peer)
        rkv_log(kv, REPLKV_LOG_VERBOSE, "failover: connected to peer %s:%d",
                l->addr, l->port);
    else
        rkv_log(kv, REPLKV_LOG_NOTICE,
                "replication: connected to primary %s:%d", l->addr, l->port);
    l->last_rx_ms = rkv_mono_ms();
    uv_read_start((uv_stream_t *)&l->tcp, on_alloc, on_read);
    rkv_link_start(l);
}

/* Starts the TCP connection of l to ss; on failure the link is closed. */
static void link_connect_addr(rkv_link *l, const struct sockaddr_storage *ss)
{
    rkv_repl *r = l->kv->repl;
    const char *src = l->kv->cfg.bind_source_addr;
    if (src[0] != '\0' &&
        (!r->src_ok ||
         uv_tcp_bind(&l->tcp, (const struct sockaddr *)&r->src_addr, 0) !=
             0)) {
        rkv_link_close(l, REPLKV_LOG_WARNING,
                       "bind-source-addr: cannot bind to '%s'", src);
        return;
    }
    l->creq.data = l;
    int rc = uv_tcp_connect(&l->creq, &l->tcp, (const struct sockaddr *)ss,
                            on_connected);
    if (rc != 0)
        rkv_link_close(l, REPLKV_LOG_WARNING, "connect failed: %s",
                       uv_strerror(rc));
}

static void on_resolved(uv_getaddrinfo_t *req, int status,
                        struct addrinfo *res)
{
    rkv_lookup *lk = req->data;
    rkv_link *l = lk->l;
    struct sockaddr_storage ss;
    bool found = status == 0 && res != NULL &&
                 res->ai_addrlen <= sizeof ss;
    if (found) {
        memset(&ss, 0, sizeof ss);
        memcpy(&ss, res->ai_addr, res->ai_addrlen);
    }
    uv_freeaddrinfo(res);
    if (l == NULL) { /* the link closed meanwhile (or the node) */
        free(lk);
        return;
    }
    l->lookup = NULL;
    if (!found) {
        /* Closing schedules the next attempt, with back-off. */
        rkv_link_close(l, l->peer ? REPLKV_LOG_VERBOSE : REPLKV_LOG_WARNING,
                       "cannot resolve '%s': %s", lk->host,
                       status < 0 ? uv_strerror(status) : "no address");
        free(lk);
        return;
    }
    free(lk);
    link_connect_addr(l, &ss);
}

/* Starts connecting l (registered by the caller) to host:port: at once for
 * an IP address, after an asynchronous lookup for a name; on failure the
 * link is closed (which schedules what its kind needs). */
static void link_connect(rkv_link *l, const char *host, int port)
{
    struct sockaddr_storage ss;
    if (numeric_addr(host, port, &ss) == 0) {
        link_connect_addr(l, &ss);
        return;
    }
    rkv_lookup *lk = calloc(1, sizeof *lk);
    if (lk == NULL) {
        rkv_link_close(l, REPLKV_LOG_WARNING, "cannot resolve '%s': %s", host,
                       "out of memory");
        return;
    }
    lk->l = l;
    lk->req.data = lk;
    snprintf(lk->host, sizeof lk->host, "%s", host);
    char ps[16];
    snprintf(ps, sizeof ps, "%d", port);
    struct addrinfo hints = {0};
    hints.ai_socktype = SOCK_STREAM;
    l->lookup = lk;
    int rc = uv_getaddrinfo(&l->kv->loop, &lk->req, on_resolved, host, ps,
                            &hints);
    if (rc != 0) {
        l->lookup = NULL;
        free(lk);
        rkv_link_close(l, REPLKV_LOG_WARNING, "cannot resolve '%s': %s", host,
                       uv_strerror(rc));
    }
}

void rkv_transport_connect(replkv_t *kv)
{
    rkv_repl *r = kv->repl;
    if (r->stopping || r->primary != NULL || r->detached ||
        rkv_mode(kv) != RKV_MODE_REPLICA)
        return;
    char host[256];
    int port;
    rkv_repl_primary_addr(kv, host, sizeof host, &port);
    if (port == 0)
        return; /* failover: no primary known yet */
    rkv_link *l = link_new(kv, true);
    if (l == NULL)
        return;
    snprintf(l->addr, sizeof l->addr, "%s", host);
    l->port = port;
    pthread_mutex_lock(&r->lock);
    r->primary = l;
    pthread_mutex_unlock(&r->lock);
    link_connect(l, host, port);
}

rkv_link *rkv_transport_connect_peer(replkv_t *kv, const char *host, int port)
{
    rkv_repl *r = kv->repl;
    if (r->stopping)
        return NULL;
    rkv_link *l = link_new(kv, true);
    if (l == NULL)
        return NULL;
    l->peer = true;
    snprintf(l->addr, sizeof l->addr, "%s", host);
    l->port = port;
    pthread_mutex_lock(&r->lock);
    l->next = r->peer_links;
    r->peer_links = l;
    pthread_mutex_unlock(&r->lock);
    link_connect(l, host, port);
    return l->closing ? NULL : l;
}

static void on_reconnect(uv_timer_t *t)
{
    rkv_transport_connect(t->data);
}

void rkv_transport_schedule_reconnect(replkv_t *kv)
{
    rkv_repl *r = kv->repl;
    if (r->stopping || r->detached || rkv_mode(kv) != RKV_MODE_REPLICA)
        return;
    unsigned b = r->backoff_ms ? r->backoff_ms : RKV_BACKOFF_MIN_MS;
    /* Jitter: somewhere in [b/2, b], so replicas of a restarted primary do
     * not all come back in the same millisecond. */
    uint64_t delay = b / 2 + rkv_rng_next(&r->rng) % (b / 2 + 1);
    r->backoff_ms = b * 2 > RKV_BACKOFF_MAX_MS ? RKV_BACKOFF_MAX_MS : b * 2;
    uv_timer_start(&r->reconnect, on_reconnect, delay, 0);
}

void rkv_transport_close_all(replkv_t *kv)
{
    for (rkv_link *l = kv->repl->zombies; l != NULL; l = l->next)
        if (!uv_is_closing((uv_handle_t *)&l->tcp))
            uv_close((uv_handle_t *)&l->tcp, on_link_closed);
}
