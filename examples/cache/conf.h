/*
 * conf.h - replkv-cache's configuration: a redis.conf-style file (quoted
 * arguments, '#' comments, include), the same directives as --name value
 * flags on the command line, and runtime changes through CONFIG SET.
 *
 * The server's own directives live in cache_conf; the library's (maxmemory,
 * hz, ...) are handed to replkv_opts_set() as they are read, so a bad value
 * is reported with its file and line. Directives of features this build
 * does not have (RDB files, Redis replication knobs without an equivalent)
 * are refused by name instead of being silently ignored. The failover
 * directives are conf_sentinel.c's.
 *
 * Replication: the library's peers talk on their own port, repl-port
 * (default: the client port + 10000, as Redis Cluster's bus port).
 * "replicaof <host> <port>" takes the primary's CLIENT port, as in Redis,
 * and the library is pointed at <host> <port + 10000>.
 */
#ifndef CACHE_CONF_H
#define CACHE_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "replkv.h"

typedef struct cache_conf {
    int port;              /* 0 = do not listen on TCP */
    char **bind;           /* addresses; a leading '-' marks one optional */
    size_t nbind;
    char *requirepass;     /* NULL: no password */
    long long timeout;     /* idle seconds before a client is closed, 0 = never */
    long long maxclients;
    char *logfile;         /* NULL or "": stderr */
    int loglevel;          /* replkv_log_level */
    char *dir;             /* working directory for later persistence */
    char *pidfile;         /* NULL: none */
    long long tcp_backlog;
    long long tcp_keepalive; /* seconds, 0 = off */
    bool protected_mode;
    /* client-output-buffer-limit normal <hard> <soft> <soft-seconds> */
    uint64_t obuf_hard, obuf_soft;
    long long obuf_soft_seconds;
    /* The replica class, handed to the library (its default: Redis's). */
    uint64_t repl_obuf_hard, repl_obuf_soft;
    long long repl_obuf_soft_seconds;
    uint64_t query_buf_limit; /* client-query-buffer-limit */
    char *config_file;        /* absolute path of the main file, or NULL */
    /* replicaof <host> <port>: the primary's client port; host NULL when
     * this node is a primary. */
    char *replicaof_host;
    int replicaof_port;
    int repl_port; /* -1: the client port + 10000 (CACHE_REPL_PORT_OFFSET) */
    /* Prometheus /metrics over HTTP on this port (0 = off), on the first
     * bind address, as the library's repl-port. */
    int metrics_port;
    /* Failover (conf_sentinel.c). sentinel_mode is --sentinel: a witness
     * that holds no data and whose port is its Sentinel port. */
    bool sentinel_mode;
    int sentinel_port;     /* -1: the client port + 20000 */
    char *sentinel_name;   /* sentinel monitor <name>; NULL: failover off */
    char *monitor_host;    /* ... <host> <port>: the client port written */
    int monitor_port;
    int quorum;
    long long replica_priority; /* 100 */
} cache_conf;

/* The peer port is the client port plus this, unless repl-port says
 * otherwise. */
#define CACHE_REPL_PORT_OFFSET 10000

/* A data node's Sentinel port is its client port plus this, unless
 * sentinel-port says otherwise (6379 -> 26379, as Redis's habit). */
#define CACHE_SENTINEL_PORT_OFFSET 20000
#define CACHE_SENTINEL_NAME_MAX 64
#define CACHE_SENTINEL_MAX_NODES 32

/* The library port for the client port of a primary: port + 10000, or -1
 * when that is over 65535 (or port is not 1..65535). */
int conf_peer_port(int client_port);

/* This node's own repl-port: repl-port if set, else port + 10000 (0 when
 * port is 0). -1 when the default would pass 65535. */
int conf_effective_repl_port(const cache_conf *c);

/* The library's canonical name for a replication directive or its Redis
 * alias (slaveof -> replicaof, min-slaves-to-write -> min-replicas-to-write,
 * ...), or name itself. */
const char *conf_canonical_name(const char *name);

/* Defaults: port 6379, bind 127.0.0.1 -::1, timeout 0, maxclients 10000,
 * loglevel notice, client-output-buffer-limit normal 1gb 512mb 60. Returns
 * false when out of memory. */
bool conf_init(cache_conf *c);
void conf_free(cache_conf *c);
/* A deep copy of src into dst (dst uninitialised). False when out of
 * memory. */
bool conf_copy(cache_conf *dst, const cache_conf *src);

/* Error output of the loaders: "<file>:<line>: <reason>". */
typedef struct conf_error {
    char msg[1024];
} conf_error;

/* Applies one directive (words[0] is its name, any case) to c and, for the
 * library's options, to o (which may be NULL to check the library's names
 * only through c). Returns 0, or -1 with the reason in reason. */
int conf_apply(cache_conf *c, replkv_opts *o, int argc, char **argv,
               char *reason, size_t cap);

/* Parses text (a whole file's contents) named name for messages. include
 * directives read further files (depth at most 16). Returns 0 or -1 with
 * err set to "<name>:<line>: <reason>". */
int conf_load_string(cache_conf *c, replkv_opts *o, const char *name,
                     const char *text, conf_error *err);

/* Reads and parses the file at path ("-" reads standard input). */
int conf_load_file(cache_conf *c, replkv_opts *o, const char *path,
                   conf_error *err);

/* The command line of replkv-cache, without argv[0]: an optional config
 * file first (or "-" for standard input), then --name value... pairs, each
 * applied as a directive after the file, as redis-server does. Errors name
 * the flag as "command line:<n>". Returns 0, -1 on error, or 1 when a
 * --help / --version flag was handled (the caller exits 0). */
int conf_load_args(cache_conf *c, replkv_opts *o, int argc, char **argv,
                   conf_error *err);

/* Server directives that CONFIG SET may change at runtime and CONFIG GET
 * shows. Each name's value is formatted as CONFIG GET shows it. */
typedef struct conf_param {
    const char *name;
    bool runtime; /* CONFIG SET allowed */
} conf_param;

/* The server's own parameters, NULL-name terminated. */
const conf_param *conf_params(void);

/* Formats parameter name's value into buf. Returns 0, or -1 if name is not
 * a server parameter. */
int conf_get(const cache_conf *c, const char *name, char *buf, size_t cap);

/* Sets one parameter from a CONFIG SET value (split on blanks for the
 * directives that take several words, as Redis does). Returns 0 or -1 with
 * reason. Library options are not handled here. */
int conf_set(cache_conf *c, const char *name, const char *value, char *reason,
             size_t cap);

/* conf_sentinel.c: true for the failover directives it applies
 * ("sentinel ...", replica-priority, sentinel-port, ...). */
bool conf_sentinel_handles(const char *name);

/* conf_sentinel.c: applies one of them, as conf_apply(). */
int conf_sentinel_apply(cache_conf *c, replkv_opts *o, int argc, char **argv,
                        char *reason, size_t cap);

/* conf_sentinel.c: the checks once everything is read: --sentinel needs a
 * monitor and gets "witness yes"; a data node's sentinel-port is worked
 * out; replicaof with failover on is dropped (the library decides the
 * role) and note says so for the log. Returns 0, or -1 with reason. */
int conf_sentinel_finish(cache_conf *c, replkv_opts *o, char *note,
                         size_t notecap, char *reason, size_t cap);

/* The port the Sentinel listener serves: a witness's port; a data node's
 * sentinel-port, or port + 20000; 0 when failover is off; -1 when the
 * default would pass 65535. */
int conf_sentinel_port(const cache_conf *c);

/* True if name is the directive of a feature this build does not have yet
 * (failover, persistence, replication knobs the library lacks). */
bool conf_unsupported(const char *name);

/* The reason to refuse name, "'<name>' is not supported yet by this build
 * (...)", written into buf; returns buf, or NULL if name is supported. */
const char *conf_unsupported_reason(const char *name, char *buf, size_t cap);

/* True if name is one of the library's options (passed to replkv_*). */
bool conf_is_lib_option(const char *name);

/* Writes a reason (printf format) into reason[cap]; returns -1. */
int conf_reasonf(char *reason, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Parses a redis.conf memory size ("100mb", "1gb", "4096"). */
bool conf_parse_bytes(const char *s, uint64_t *out);

/* The replica class of client-output-buffer-limit as the library's
 * option value ("replica <hard> <soft> <seconds>"); snprintf's return. */
int conf_repl_obuf(const cache_conf *c, char *buf, size_t cap);

#endif /* CACHE_CONF_H */
