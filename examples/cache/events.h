/*
 * events.h - the library's failover callbacks, brought to the server.
 *
 * The role, peer and divergence callbacks run on the library's I/O thread.
 * Peer and divergence events only log (the log is thread-safe), with the
 * ports an operator configured. A role event changes server state (the
 * primary that INFO and ROLE name, clients blocked in WAIT), so it is
 * queued under a mutex and handled on the server's loop through a
 * uv_async_t: replication.c's repl_on_role().
 *
 * Lifetime: events_new() before replkv_open() (the callbacks are options),
 * events_attach() once the server runs, events_close() before the loop
 * is closed (later callbacks are dropped), events_free() after
 * replkv_close().
 */
#ifndef CACHE_EVENTS_H
#define CACHE_EVENTS_H

#include <uv.h>

#include "log.h"
#include "replkv.h"

typedef struct cache_server cache_server;
typedef struct cache_events cache_events;

/* Allocates the queue with its async handle on loop and sets the role,
 * peer and divergence callbacks in o. NULL when out of memory or when o
 * refuses a callback (the reason is logged). */
cache_events *events_new(uv_loop_t *loop, replkv_opts *o, cache_log *log);

/* Role events are handled on srv's loop from now on, those queued first. */
void events_attach(cache_events *ev, cache_server *srv);

/* Drops every later event and closes the async handle. */
void events_close(cache_events *ev);

/* Frees ev (NULL is a no-op); after replkv_close(). */
void events_free(cache_events *ev);

#endif /* CACHE_EVENTS_H */
