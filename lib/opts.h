/*
 * opts.h - the option table: every option a node understands, by its
 * redis.conf name, with its type, limits and default. One parser serves the C
 * API, the Python binding and replkv-cache's config file.
 */
#ifndef RKV_OPTS_H
#define RKV_OPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "internal.h"

typedef enum rkv_evict_policy {
    RKV_EVICT_NOEVICTION = 0,
    RKV_EVICT_ALLKEYS_LRU,
    RKV_EVICT_VOLATILE_LRU,
    RKV_EVICT_ALLKEYS_RANDOM,
    RKV_EVICT_VOLATILE_RANDOM,
    RKV_EVICT_VOLATILE_TTL
} rkv_evict_policy;

/* Plain values; the node keeps a copy under its config lock. */
typedef struct rkv_config {
    uint64_t maxmemory;          /* bytes, 0 = no limit */
    int maxmemory_policy;        /* rkv_evict_policy */
    int maxmemory_samples;
    uint64_t proto_max_bulk_len; /* longest key or value */
    int hz;                      /* cron (active expiry) ticks per second */
    int loglevel;                /* replkv_log_level */
    /* Replication (lib/repl.h). Strings are NUL-terminated. */
    int port;                    /* 0 = listen nowhere */
    char bind[64];
    char replicaof[300];         /* "host port", "" = primary */
    char requirepass[256];
    char masterauth[256];
    uint64_t repl_backlog_size;
    /* client-output-buffer-limit replica <hard> <soft> <soft-seconds>: how
     * far past repl-backlog-size the backlog holds bytes for a replica
     * still catching up (0 = no limit). */
    uint64_t repl_obuf_hard, repl_obuf_soft;
    int repl_obuf_soft_secs;
    int repl_timeout;            /* seconds */
    int repl_ping_period;        /* seconds */
    int min_replicas_to_write;
    int min_replicas_max_lag;    /* seconds */
    int replica_read_only;       /* 0 no, 1 yes */
    /* Persistence (lib/persist_*.h). Off unless appendonly and dir. */
    char dir[1024];              /* "" = none */
    int appendonly;              /* 0 no, 1 yes */
    int appendfsync;             /* rkv_fsync_policy */
    int auto_aof_rewrite_pct;    /* 0 = no automatic snapshots */
    uint64_t auto_aof_rewrite_min_size;
    int aof_load_truncated;      /* 1: cut a torn tail; 0: refuse */
    int aof_load_corrupt_repair; /* 1: cut mid-file damage too */
    /* Failover (lib/failover_node.c): on when sentinel_port != 0. */
    char sentinel_name[64];      /* sentinel monitor <name> ... */
    char sentinel_host[64];      /*   <host> */
    int sentinel_port;           /*   <port>, 0 = failover off */
    int sentinel_quorum;         /*   <quorum> */
    int down_after_ms;
    int failover_timeout_ms;
    int parallel_syncs;
    int ping_interval_ms;
    int self_fence;              /* 0 no, 1 yes */
    char sentinel_authpass[256]; /* "" = masterauth or requirepass */
    int replica_priority;
    int witness;                 /* 0 no, 1 yes */
    char announce_ip[64];        /* "" = bind, or 127.0.0.1 for 0.0.0.0 */
    int announce_port;           /* 0 = port */
    char bind_source_addr[64];   /* outgoing links' source, "" = any */
} rkv_config;

/* The failover callbacks, as the application set them (lib/failover_node.c
 * keeps a copy). */
typedef struct rkv_fo_callbacks {
    replkv_peer_cb peer_cb;
    void *peer_ud;
    replkv_decision_cb decision_cb;
    void *decision_ud;
    replkv_divergence_cb divergence_cb;
    void *divergence_ud;
} rkv_fo_callbacks;

struct replkv_opts {
    rkv_config cfg;
    replkv_log_cb log_cb;
    void *log_ud;
    replkv_role_cb role_cb;
    void *role_ud;
    rkv_fo_callbacks fo;
};

void rkv_config_defaults(rkv_config *c);

/* Parses value into the option called name. Returns 0 or REPLKV_EINVAL with
 * the reason recorded; c is unchanged on failure. With runtime_only,
 * options that cannot change on a running node give REPLKV_ENOTSUP. */
int rkv_config_set(rkv_config *c, const char *name, const char *value,
                   bool runtime_only);

/* True when a caller's spelling of an option (any case, '_' for '-' or
 * ' ') names the option called known. */
bool rkv_opt_is(const char *given, const char *known);

/* Formats the option's value as rkv_config_set() accepts it. */
int rkv_config_get(const rkv_config *c, const char *name, char *buf,
                   size_t cap, size_t *needed);

/* Splits a replicaof value ("host port", "no one", "" or "none") into
 * host (cap bytes) and port. Returns 1 for a primary address, 0 for none;
 * REPLKV_EINVAL if malformed. */
int rkv_parse_replicaof(const char *v, char *host, size_t cap, int *port);

/* Parses a redis.conf size ("100mb", "1g", "4096"); false if malformed. */
bool rkv_parse_bytes(const char *s, uint64_t *out);

#endif /* RKV_OPTS_H */
