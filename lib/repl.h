/*
 * repl.h - replication state shared by the files that implement it:
 *   transport.c     libuv: listener, links, reads, batched writes, connect
 *                   with back-off;
 *   repl_link.c     the handshake both sides run (HELLO, AUTH) and the
 *                   dispatch of a link's frames;
 *   repl_primary.c  a primary's side: PSYNC answer, snapshot walk,
 *                   streaming from the backlog, acks;
 *   repl_replica.c  a replica's side: PSYNC, loading a snapshot beside the
 *                   live keyspace, applying the stream, acks;
 *   repl_apply.c    records applied a prefetching window at a time (the
 *                   replica's stream and load, and the restart's replay);
 *   repl.c          node glue: start/stop, the replication cron, role
 *                   changes run on the I/O thread, WAIT;
 *   repl_info.c     the public introspection (struct and INFO text).
 * Steps are numbered as in docs/PROTOCOL.md.
 *
 * Threads: links, timers and everything in struct rkv_repl not marked
 * otherwise belong to the I/O thread. Fields marked (lock) are also read by
 * application threads under repl->lock.
 */
#ifndef RKV_REPL_H
#define RKV_REPL_H

#include "auth.h"
#include "buf.h"
#include "node.h"
#include "repl_apply.h"
#include "stream.h"

#define RKV_WRITE_WATERMARK (1u << 20) /* pending bytes before we pause */
#define RKV_BACKOFF_MIN_MS 100
#define RKV_BACKOFF_MAX_MS 5000
#define RKV_REPL_CRON_MS 100
/* A replica ACKs at once when it has not for this long, else when the
 * delay is up: one ACK per millisecond at most instead of one per read
 * batch, so a primary streaming small writes is not woken once per write
 * by every replica (docs/PROTOCOL.md 7.3 step 8). */
#define RKV_ACK_DELAY_MS 1

typedef enum rkv_link_state {
    LINK_HELLO = 0,     /* step 1-2: HELLO and AUTH exchanging */
    LINK_WAIT_PSYNC,    /* primary: authenticated, waiting for PSYNC */
    LINK_SNAPSHOT,      /* primary: walking the keyspace */
    LINK_STREAMING,     /* primary: streaming from the backlog */
    LINK_SYNC_SENT,     /* replica: PSYNC sent */
    LINK_LOADING,       /* replica: receiving snapshot SETs */
    LINK_LOADING_TAIL,  /* replica: snapshot done, applying up to end */
    LINK_ONLINE         /* replica: applying the live stream */
} rkv_link_state;

typedef struct rkv_link rkv_link;
struct rkv_link {
    replkv_t *kv;
    uv_tcp_t tcp;
    uv_connect_t creq;
    rkv_link *next;
    bool outgoing; /* we connected: to our primary, or to a peer */
    bool peer;     /* a failover link (HELLO flag RKV_HELLO_PEER): it
                      carries failover messages only */
    bool closing;
    bool tcp_up;          /* (lock) outgoing: the TCP connection is up */
    /* Outgoing: the host name lookup in flight, or NULL. The lookup owns
     * itself and outlives a closed link (transport.c, on_resolved). */
    struct rkv_lookup *lookup;
    rkv_link_state state; /* (lock) */
    char addr[256];       /* peer ip or primary host (lock) */
    int port;             /* peer's listening port from HELLO (lock) */
    rkv_buf rbuf;
    rkv_buf out;
    rkv_decoder dec; /* reused for every frame this link receives */
    size_t pending; /* bytes given to uv_write, not yet written */
    uint64_t last_rx_ms;
    /* Handshake. */
    uint8_t nonce[RKV_NONCE_LEN], peer_nonce[RKV_NONCE_LEN];
    char peer_id[RKV_ID_LEN + 1];
    bool got_hello, authed;
    /* Primary side. */
    int64_t cursor;      /* next stream offset to send */
    int64_t acked;       /* (lock) replica's applied offset, -1 none */
    uint64_t ack_ms;     /* (lock) mono ms of the last ACK */
    uint64_t over_soft_ms; /* since when it is past the soft limit, 0 not */
    unsigned snap_shard; /* snapshot walk position */
    uint64_t snap_cursor;
    uint64_t snap_keys;
    /* Replica side. */
    rkv_ks *load[RKV_SHARDS]; /* new tables during a full resync */
    char load_replid[RKV_ID_LEN + 1];
    int64_t load_off; /* stream offset applied into load[] */
    int64_t load_end; /* SNAP_END's end_offset */
    uint64_t load_keys;
    const uint8_t *applied_p; /* applied frames not yet in our backlog */
    size_t applied_len;       /* (inside rbuf, contiguous) */
    rkv_apply_win win;        /* records pushed, maybe not yet applied */
    bool apply_failed;        /* a drain failed: close after this read */
    int64_t acked_sent;
    uint64_t last_ack_ms;
};

/* A function the I/O thread runs for an application thread (role changes). */
typedef struct rkv_repl_cmd {
    int (*fn)(replkv_t *kv, void *arg);
    void *arg;
    int rc;
    bool done;
    char detail[256];
    struct rkv_repl_cmd *next;
} rkv_repl_cmd;

typedef struct rkv_repl {
    pthread_mutex_t lock;
    pthread_cond_t cond; /* acks, applied offsets, finished commands */
    rkv_repl_cmd *cmds;  /* (lock) queue for the I/O thread */
    rkv_link *replicas;  /* (lock) accepted links */
    rkv_link *primary;   /* (lock) our link to our primary, or NULL */
    rkv_link *peer_links; /* (lock) failover links, both directions */
    rkv_link *zombies;   /* closed links whose handle is not yet freed */
    char node_id[RKV_ID_LEN + 1];
    /* Where our primary is (lock); primary_port 0 = we are a primary. */
    char primary_host[256];
    int primary_port;
    uint64_t primary_last_io_ms; /* (lock) */
    bool link_up;                /* (lock) */
    bool sync_in_progress;       /* (lock) */
    /* (lock) Mono ms the link to the primary went down, or the node
     * became a replica; 0 while it is up, and on a primary. */
    uint64_t link_down_since_ms;
    uint64_t sync_start_rx; /* (lock) bytes_received when a full resync began */
    /* Counters (lock). */
    uint64_t sync_full, sync_partial_ok, sync_partial_err;
    uint64_t bytes_sent, bytes_received;
    /* I/O thread only. */
    uv_tcp_t listener;
    bool listening;
    uv_timer_t cron;
    uv_timer_t reconnect;
    uv_timer_t ack_timer; /* replica: a deferred ACK (repl_replica.c) */
    struct sockaddr_storage src_addr; /* bind-source-addr, resolved once */
    bool src_ok;
    unsigned backoff_ms;
    unsigned full_sync_failures;
    /* client-output-buffer-limit replica, copied from the config by the
     * cron (lib/repl_primary.c). */
    uint64_t obuf_hard, obuf_soft, obuf_soft_ms;
    uint64_t last_ping_ms;
    bool stopping;
    bool fresh; /* no history yet: PSYNC asks for a full resync */
    bool detached; /* failover DETACH: no link to the primary until the
                      next FOLLOW */
    _Atomic int acks_off;     /* replica: send no ACKs (failover FOLLOW) */
    _Atomic int acks_ignored; /* primary: count no ACKs (failover ACKS) */
    _Atomic int waiters; /* threads in replkv_wait_applied */
    _Atomic int resync_all;
    replkv_role_cb role_cb;
    void *role_ud;
    rkv_rng rng;
} rkv_repl;

/* repl.c */
int rkv_repl_init(replkv_t *kv, const replkv_opts *o); /* before the thread */
int rkv_repl_start(replkv_t *kv);  /* I/O thread, before "ready" */
void rkv_repl_stop(replkv_t *kv);  /* I/O thread, on close */
void rkv_repl_free(replkv_t *kv);  /* after the thread joined */
void rkv_repl_primary_addr(replkv_t *kv, char *host, size_t cap, int *port);
void rkv_repl_request_resync(replkv_t *kv);
/* The mode of a node that is not a replica: RKV_MODE_PRIMARY with a port
 * or an append-only file, else RKV_MODE_STANDALONE. */
int rkv_repl_primary_mode(replkv_t *kv);
void rkv_repl_config_changed(replkv_t *kv, const char *name);
/* replkv_config_set(kv, "replicaof", value): replkv_replicaof() for
 * "host port", replkv_replicaof_none() for "no one" (or "", "none"), with
 * their errors. The option's value follows every role change. */
int rkv_repl_config_replicaof(replkv_t *kv, const char *value);
bool rkv_repl_on_io_thread(replkv_t *kv);
/* Runs fn on the I/O thread for an application thread and waits for it:
 * its return, with its replkv_last_error() detail carried over. */
int rkv_repl_run_on_io(replkv_t *kv, int (*fn)(replkv_t *kv, void *arg),
                       void *arg);
/* Role changes on the I/O thread (REPLICAOF host port / NO ONE, and the
 * failover's FOLLOW and PROMOTE_SELF); epoch goes to the role callback. */
int rkv_repl_become_replica(replkv_t *kv, const char *host, int port,
                            uint64_t epoch);
int rkv_repl_become_primary(replkv_t *kv, uint64_t epoch);
/* Failover DETACH: drop the link to the primary and do not reconnect
 * until the next rkv_repl_become_replica. */
void rkv_repl_detach(replkv_t *kv);

/* repl_info.c: the "# Replication" INFO section, allocated (NULL when out
 * of memory). */
char *rkv_repl_info_text(replkv_t *kv);

/* transport.c */
int rkv_transport_listen(replkv_t *kv, char *err, size_t errcap);
/* Before the loop runs: resolves bind-source-addr (logged if it fails). */
void rkv_transport_start(replkv_t *kv);
void rkv_transport_connect(replkv_t *kv);
/* An outgoing failover link to a peer (NULL if it could not start). */
rkv_link *rkv_transport_connect_peer(replkv_t *kv, const char *host,
                                     int port);
void rkv_transport_schedule_reconnect(replkv_t *kv);
void rkv_transport_close_all(replkv_t *kv); /* on stop: free every link */
void rkv_link_close(rkv_link *l, replkv_log_level lvl, const char *fmt, ...)
    RKV_PRINTF(3, 4);
int rkv_link_send(rkv_link *l, const rkv_msg *m); /* queue; 0 or error */
int rkv_link_send_raw(rkv_link *l, const void *p, size_t n);
void rkv_link_flush(rkv_link *l);

/* repl_link.c */
void rkv_link_start(rkv_link *l); /* connected: send HELLO */
/* One whole frame; returns 0 to go on, non-zero when the link closed. */
int rkv_link_on_frame(rkv_link *l, const uint8_t *frame, size_t size,
                      const uint8_t *payload, size_t len);
size_t rkv_link_max_payload(rkv_link *l);

/* repl_primary.c */
int rkv_primary_on_msg(rkv_link *l, const rkv_msg *m);
void rkv_primary_pump(rkv_link *l); /* send what fits under the watermark */
void rkv_primary_cron(replkv_t *kv, uint64_t now_ms);
/* The backlog keeps what the slowest replica still needs (I/O thread,
 * jlock not held). */
void rkv_primary_update_hold(replkv_t *kv);

/* repl_replica.c */
void rkv_replica_on_authed(rkv_link *l);
int rkv_replica_on_frame(rkv_link *l, const rkv_msg *m, const uint8_t *frame,
                         size_t size);
void rkv_replica_after_read(rkv_link *l);
void rkv_replica_flush_applied(rkv_link *l); /* before rbuf changes */
void rkv_replica_cron(replkv_t *kv, uint64_t now_ms);
/* Acknowledges the applied offset now if the link is online (acks were
 * just allowed again: WAIT need not wait for the periodic ACK). */
void rkv_replica_ack_now(replkv_t *kv);
void rkv_replica_drop_load(rkv_link *l);

#endif /* RKV_REPL_H */
