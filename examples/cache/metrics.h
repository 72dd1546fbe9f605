/*
 * metrics.h - replkv-cache's Prometheus endpoint: `GET /metrics` over plain
 * HTTP/1.1 on metrics-port (0 = off), on the server's libuv loop.
 *
 * The HTTP side is deliberately tiny: one request per connection, the
 * request line parsed and the headers skipped, at most METRICS_MAX_REQUEST
 * bytes and METRICS_REQUEST_MS to send them, at most METRICS_MAX_CONNS
 * connections at once; the answer (200 with the text exposition format
 * 0.0.4, 404 for another path, 405 for another method, 400 for garbage,
 * 431 for a request too large) is followed by closing the connection. No
 * call blocks the loop, so a scraper that sends half a request line and
 * goes silent costs one slot until its deadline and nothing else.
 */
#ifndef CACHE_METRICS_H
#define CACHE_METRICS_H

#include <stddef.h>

#include "reply.h"

#define METRICS_MAX_REQUEST 4096
#define METRICS_MAX_CONNS 64
#define METRICS_REQUEST_MS 5000
#define METRICS_DRAIN_MS 1000

typedef struct cache_server cache_server;

/* Starts listening on conf.metrics-port (no-op when 0), on the first
 * bind address (as the library's repl-port). Returns 0, or -1 after
 * logging why. */
int metrics_start(cache_server *srv);

/* Called by the server cron: closes connections past their deadline. */
void metrics_cron(cache_server *srv);

/* Closes the listener and every connection (server_stop). */
void metrics_stop(cache_server *srv);

/* Appends the whole exposition text for srv to b (also used by tests). */
void metrics_render(cache_server *srv, rbuf *b);

/* What a request (its bytes so far) asks for. */
typedef enum metrics_req {
    MREQ_MORE = 0,     /* incomplete: read on */
    MREQ_METRICS,      /* GET /metrics */
    MREQ_METRICS_HEAD, /* HEAD /metrics */
    MREQ_NOT_FOUND,    /* a valid request for another path */
    MREQ_BAD_METHOD,   /* a valid request line, method not GET or HEAD */
    MREQ_BAD,          /* not an HTTP/1.x request */
    MREQ_TOO_LARGE     /* no end of headers within METRICS_MAX_REQUEST */
} metrics_req;

/* Classifies the request in buf[0..len). Pure: for unit tests. */
metrics_req metrics_parse_request(const char *buf, size_t len);

#endif /* CACHE_METRICS_H */
