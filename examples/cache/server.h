/*
 * server.h - the replkv-cache server: its state, its clients and the libuv
 * I/O that moves RESP between sockets and the command table. Everything
 * here runs on the main thread's loop; the library runs its own thread and
 * every replkv_* data call made from here is thread-safe and non-blocking.
 *
 * Memory per client is small while it is idle: requests are read into one
 * shared buffer and replies built in one shared buffer; a client gets
 * buffers of its own only while it has a partial request or unsent output.
 */
#ifndef CACHE_SERVER_H
#define CACHE_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "conf.h"
#include "log.h"
#include "reply.h"
#include "replkv.h"
#include "resp.h"

#define CACHE_READ_CHUNK (16 * 1024)
#define CACHE_SHARED_READ_BUF (64 * 1024)
/* Stop reading a client's requests while this much of its output is unsent:
 * a client that does not read its replies cannot make the server buffer
 * without bound, and TCP pushes back on it. */
#define CACHE_PAUSE_OUTPUT (1024 * 1024)
#define CACHE_MAX_NAME 128

/* Client flags. */
#define CF_AUTHED 0x01u
#define CF_CLOSE_AFTER_REPLY 0x02u
#define CF_CLOSING 0x04u
#define CF_PAUSED 0x08u  /* reading stopped by back-pressure */
#define CF_WRITING 0x10u /* wbuf is in flight */
#define CF_IN_BATCH 0x20u
#define CF_PROTO_ERROR 0x40u
/* In WAIT: its requests are read but run only after the reply. */
#define CF_BLOCKED 0x80u
/* Came in on a Sentinel port: only the Sentinel commands (sentinel.c). */
#define CF_SENTINEL 0x100u

typedef struct cache_server cache_server;
typedef struct cache_metrics cache_metrics;

typedef struct cache_client {
    uv_tcp_t tcp;
    cache_server *srv;
    struct cache_client *prev, *next;
    uint64_t id;
    unsigned flags;
    int fd;

    resp_parser parser;
    char *qbuf; /* private query buffer, only while a request is partial */
    size_t qlen, qcap;

    /* The request being executed: argv[i] points into the read buffer. */
    size_t argc;
    char **argv;
    size_t *argvlen;

    rbuf *reply; /* where replies go now: the shared batch buffer or obuf */
    rbuf obuf;   /* output waiting for the write in flight to finish */
    rbuf wbuf;   /* output in flight */
    uv_write_t wreq;
    uint64_t obuf_soft_since; /* ms when the soft limit was first passed */
    /* Monotonic ms since its unfinished request began (0: none). A request
     * must be whole within `timeout` seconds, so a client that trickles
     * bytes (slowloris) is closed even though it is never idle. */
    uint64_t partial_since_ms;

    char name[CACHE_MAX_NAME + 1];
    char addr[64], laddr[64];
    uint64_t ctime_ms, last_ms;
    int lastcmd; /* index into the command table, -1 = none */
    uint64_t bytes_in, bytes_out, cmds;

    /* WAIT (replication.c). */
    int64_t woff; /* stream offset after this client's last write */
    long long wait_replicas;
    uint64_t wait_deadline_ms;          /* monotonic; 0 = no limit */
    struct cache_client *bprev, *bnext; /* srv->blocked */
} cache_client;

typedef struct cache_listener {
    uv_tcp_t tcp;
    cache_server *srv;
    char addr[64];
    bool closing;
    bool sentinel; /* its clients get CF_SENTINEL */
} cache_listener;

/* Per command counters, for INFO commandstats. */
typedef struct cmd_stat {
    uint64_t calls, usec, failed, rejected;
} cmd_stat;

#define CACHE_MAX_ERRSTATS 64

struct cache_server {
    uv_loop_t *loop;
    replkv_t *kv;
    cache_conf conf;
    cache_log *log;
    char run_id[41];

    cache_listener **listeners; /* a witness's are Sentinel listeners */
    size_t nlisteners;
    cache_listener **slisteners; /* a data node's sentinel-port */
    size_t nslisteners;

    cache_client *clients; /* every connected client, newest first */
    size_t nclients;
    uint64_t next_client_id;

    /* The request being read is parsed out of this shared buffer unless its
     * client has a private one. */
    char *readbuf;
    size_t readbuf_cap;
    /* Replies of one read batch, written with one uv_try_write. */
    rbuf batch;
    /* Argument vectors of the request being executed. */
    char **argv;
    size_t *argvlen;
    size_t argv_cap;

    /* Command lookup: open addressing over lowercased names. */
    int16_t cmd_slots[512];
    cmd_stat *cmd_stats;

    uv_timer_t cron;
    /* Around each loop turn's I/O callbacks: the library sends the turn's
     * writes to the replicas once, as Redis does (replkv_batch_begin). */
    uv_prepare_t batch_open;
    uv_check_t batch_close;
    bool batch_on;
    uv_signal_t sigterm, sigint;
    bool shutting_down;
    int exit_code;

    /* BGSAVE / BGREWRITEAOF: replkv_snapshot() on libuv's thread pool. */
    uv_work_t bgsave_work;
    bool bgsave_running;
    int bgsave_rc;
    int64_t lastsave; /* Unix seconds of the last successful snapshot */

    uint64_t max_bulk; /* proto-max-bulk-len, for the parsers */
    uint64_t start_ms, start_wall_ms;
    uint64_t stat_connections, stat_rejected_conn, stat_commands;
    uint64_t stat_net_in, stat_net_out, stat_errors;
    uint64_t stat_expired_clients, stat_obuf_closed, stat_qbuf_closed;
    /* instantaneous_ops_per_sec: samples over the last 16 cron seconds. */
    uint64_t ops_samples[16];
    int ops_idx;
    uint64_t ops_last_count, ops_last_ms;
    struct {
        char prefix[32];
        uint64_t count;
    } errstats[CACHE_MAX_ERRSTATS];
    size_t nerrstats;

    /* Replication (replication.c). */
    cache_client *blocked; /* clients in WAIT */
    size_t nblocked;
    uv_timer_t wait_timer; /* polls the replicas' acks while any wait */
    bool wait_timer_on;
    bool replica_ro;             /* replica-read-only, as last set */
    uint64_t link_down_since_ms; /* wall ms; 0 = link up or unknown */
    /* What repl_cron saw last, to log changes once: the link to the
     * primary, and the replicas online ("addr:port" peer addresses). */
    int last_role; /* -1 before the first look */
    int last_primary_port;
    bool last_link_up;
    int64_t last_offset;
    char (*last_replicas)[80]; /* online at the last look (malloc) */
    int nlast_replicas;

    /* maxclients refusals are logged at most once a second. */
    uint64_t maxclients_log_ms;
    uint64_t maxclients_unlogged;

    cache_metrics *metrics; /* NULL when metrics-port is 0 */

    /* Failover: the last role event's epoch and how many came. */
    uint64_t failover_epoch;
    uint64_t stat_role_events;
};

/* Sets srv up on loop with conf (taken over: srv owns it from here) and the
 * open node kv, binds the listeners and starts the cron and the signal
 * handlers. Returns 0 or -1 after logging why. */
int server_start(cache_server *srv, uv_loop_t *loop, cache_conf *conf,
                 replkv_t *kv, cache_log *log);

/* Closes every handle (listeners, clients, timers, signals) and frees what
 * server_start() allocated. Run the loop afterwards until it has no
 * handles. */
void server_stop(cache_server *srv);

/* Asks the server to shut down: stops accepting, closes clients and makes
 * uv_run() return. */
void server_request_shutdown(cache_server *srv, const char *why);

/* Binds the listeners for conf (port, bind). On success the old ones are
 * closed; on failure the old ones stay and reason says why. */
int server_rebind(cache_server *srv, const cache_conf *conf, char *reason,
                  size_t cap);

/* Closes c (now, or once its output is written when graceful). */
void client_close(cache_client *c, bool graceful);

/* Bytes of output c has not had written yet. */
size_t client_pending_output(const cache_client *c);

/* client.c: starts reading a new client's requests (0 or a libuv error). */
int client_start_reading(cache_client *c);
/* client.c: the uv_close callback that frees a client. */
void client_on_close(uv_handle_t *h);
/* client.c: closes c if its unsent output passed the configured limits. */
void client_check_output_limits(cache_client *c);
/* client.c: a reply outside a read batch (an unblocked WAIT): begin points
 * c->reply at c's own output buffer; end sends it and runs the requests
 * that c sent meanwhile. */
void client_async_reply_begin(cache_client *c);
void client_async_reply_end(cache_client *c);
/* client.c: makes room for n arguments in the shared argument vectors. */
bool client_argv_reserve(cache_server *srv, size_t n);

/* Counts an error reply by its prefix (INFO errorstats). */
void server_count_error(cache_server *srv, const char *msg);

#endif /* CACHE_SERVER_H */
