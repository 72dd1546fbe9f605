/*
 * events.c - the library's failover callbacks (see events.h). Peer state
 * changes are logged in Sentinel's words (+sdown, -sdown, +odown, ...) and
 * divergences at warning level with the keys they touched; role events go
 * through a small ring to the server's loop.
 */
#include "events.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "replication.h"
#include "sentinel.h"

#define EVENTS_RING 16

typedef struct role_ev {
    int role;
    char host[256];
    int port; /* peer port */
    uint64_t epoch;
} role_ev;

struct cache_events {
    pthread_mutex_t mu;
    uv_async_t async;
    bool closed;
    cache_log *log;
    cache_server *srv; /* loop thread only */
    role_ev ring[EVENTS_RING];
    unsigned head, n;
    uint64_t dropped;
};

/* ------------------------------------------------------------ loop side */

static void on_async(uv_async_t *h)
{
    cache_events *ev = h->data;
    if (ev->srv == NULL)
        return; /* events_attach() sends again */
    for (;;) {
        role_ev e;
        uint64_t dropped;
        pthread_mutex_lock(&ev->mu);
        bool any = ev->n > 0;
        if (any) {
            e = ev->ring[ev->head];
            ev->head = (ev->head + 1) % EVENTS_RING;
            ev->n--;
        }
        dropped = ev->dropped;
        ev->dropped = 0;
        pthread_mutex_unlock(&ev->mu);
        if (dropped > 0)
            log_msg(ev->log, LOG_WARNING,
                    "%" PRIu64 " older role event(s) dropped (they came "
                    "faster than the server's loop took them)",
                    dropped);
        if (!any)
            return;
        repl_on_role(ev->srv, e.role, e.host, e.port, e.epoch);
    }
}

/* ------------------------------------------------------------ callbacks */

static void on_role(replkv_t *kv, const replkv_role_event *e, void *ud)
{
    (void)kv;
    cache_events *ev = ud;
    pthread_mutex_lock(&ev->mu);
    if (!ev->closed) {
        if (ev->n == EVENTS_RING) { /* keep the newest */
            ev->head = (ev->head + 1) % EVENTS_RING;
            ev->n--;
            ev->dropped++;
        }
        role_ev *r = &ev->ring[(ev->head + ev->n) % EVENTS_RING];
        r->role = (int)e->new_role;
        snprintf(r->host, sizeof r->host, "%s",
                 e->primary_host ? e->primary_host : "");
        r->port = e->primary_port;
        r->epoch = e->size >= offsetof(replkv_role_event, epoch) +
                                 sizeof e->epoch
                       ? e->epoch
                       : 0;
        ev->n++;
        uv_async_send(&ev->async);
    }
    pthread_mutex_unlock(&ev->mu);
}

static const char *peer_word(replkv_peer_state s, bool *warning)
{
    *warning = false;
    switch (s) {
    case REPLKV_PEER_UP:
        return "-sdown (up again)";
    case REPLKV_PEER_SDOWN:
        *warning = true;
        return "+sdown";
    case REPLKV_PEER_ODOWN:
        *warning = true;
        return "+odown";
    case REPLKV_PEER_NEW:
        return "+peer (new)";
    case REPLKV_PEER_FORGOTTEN:
        *warning = true;
        return "+forgotten";
    }
    return "?";
}

static void on_peer(replkv_t *kv, const replkv_peer_event *e, void *ud)
{
    (void)kv;
    cache_events *ev = ud;
    bool warning;
    const char *word = peer_word(e->state, &warning);
    /* repl-port - 10000 is a data node's client port and a witness's
     * Sentinel port alike. */
    if (e->host == NULL || e->host[0] == '\0' || e->port <= 0)
        log_msg(ev->log, warning ? LOG_WARNING : LOG_NOTICE, "%s node %s",
                word, e->node_id ? e->node_id : "?");
    else
        log_msg(ev->log, warning ? LOG_WARNING : LOG_NOTICE,
                "%s node %s at %s:%d (repl-port %d)", word,
                e->node_id ? e->node_id : "?", e->host,
                sentinel_data_port(e->port), e->port);
}

static void on_divergence(replkv_t *kv, const replkv_divergence_event *e,
                          void *ud)
{
    (void)kv;
    cache_events *ev = ud;
    char keys[512];
    size_t o = 0;
    keys[0] = '\0';
    for (size_t i = 0; i < e->nkeys && o + 80 < sizeof keys; i++) {
        size_t n = e->key_lens[i] < 48 ? e->key_lens[i] : 48;
        const unsigned char *k = e->keys[i];
        o += (size_t)snprintf(keys + o, sizeof keys - o, "%s'", i ? " " : "");
        for (size_t j = 0; j < n && o + 6 < sizeof keys; j++)
            o += (size_t)snprintf(keys + o, sizeof keys - o,
                                  k[j] >= ' ' && k[j] <= '~' && k[j] != '\''
                                      ? "%c"
                                      : "\\x%02x",
                                  k[j]);
        o += (size_t)snprintf(keys + o, sizeof keys - o, "%s'",
                              e->key_lens[i] > n ? "..." : "");
    }
    log_msg(ev->log, LOG_WARNING,
            "Divergence: %" PRIu64 " write(s) taken here as primary, stream "
            "[%" PRId64 ", %" PRId64 "), never reached the new primary %s "
            "(epoch %" PRIu64 ") and are discarded; keys%s (%zu): %s",
            e->nwrites, e->from_offset, e->to_offset,
            e->new_primary ? e->new_primary : "?", e->epoch,
            e->keys_complete ? "" : " (incomplete)", e->nkeys, keys);
}

/* ------------------------------------------------------------ lifetime */

static void on_close_free(uv_handle_t *h)
{
    cache_events *ev = h->data;
    pthread_mutex_destroy(&ev->mu);
    free(ev);
}

cache_events *events_new(uv_loop_t *loop, replkv_opts *o, cache_log *log)
{
    cache_events *ev = calloc(1, sizeof *ev);
    if (ev == NULL)
        return NULL;
    ev->log = log;
    if (pthread_mutex_init(&ev->mu, NULL) != 0) {
        free(ev);
        return NULL;
    }
    if (uv_async_init(loop, &ev->async, on_async) != 0) {
        pthread_mutex_destroy(&ev->mu);
        free(ev);
        return NULL;
    }
    ev->async.data = ev;
    if (replkv_opts_set_role_cb(o, on_role, ev) != 0 ||
        replkv_opts_set_peer_cb(o, on_peer, ev) != 0 ||
        replkv_opts_set_divergence_cb(o, on_divergence, ev) != 0) {
        log_msg(log, LOG_WARNING, "failover callbacks: %s",
                replkv_last_error());
        ev->closed = true;
        uv_close((uv_handle_t *)&ev->async, on_close_free);
        return NULL;
    }
    return ev;
}

void events_attach(cache_events *ev, cache_server *srv)
{
    ev->srv = srv;
    uv_async_send(&ev->async);
}

void events_close(cache_events *ev)
{
    if (ev == NULL)
        return;
    pthread_mutex_lock(&ev->mu);
    bool was = ev->closed;
    ev->closed = true;
    pthread_mutex_unlock(&ev->mu);
    if (!was && !uv_is_closing((uv_handle_t *)&ev->async))
        uv_close((uv_handle_t *)&ev->async, NULL);
}

void events_free(cache_events *ev)
{
    if (ev == NULL)
        return;
    pthread_mutex_destroy(&ev->mu);
    free(ev);
}
