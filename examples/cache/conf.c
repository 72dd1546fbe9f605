/*
 * conf.c - the configuration loader and the server's directive table (see
 * conf.h). Messages follow redis-server's wording where it has one, and
 * always carry the file and line so that a bad config never half-starts.
 */
#include "conf.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "resp.h"
#include "util.h"

static const char *const loglevel_names[] = {"debug", "verbose", "notice",
                                             "warning"};

/* ------------------------------------------------------------ lifecycle */

static char *dup_str(const char *s)
{
    return s ? strdup(s) : NULL;
}

static void free_bind(cache_conf *c)
{
    for (size_t i = 0; i < c->nbind; i++)
        free(c->bind[i]);
    free(c->bind);
    c->bind = NULL;
    c->nbind = 0;
}

static bool set_bind(cache_conf *c, int n, char **addrs)
{
    char **b = calloc((size_t)n, sizeof *b);
    if (b == NULL)
        return false;
    for (int i = 0; i < n; i++) {
        b[i] = strdup(addrs[i]);
        if (b[i] == NULL) {
            while (i-- > 0)
                free(b[i]);
            free(b);
            return false;
        }
    }
    free_bind(c);
    c->bind = b;
    c->nbind = (size_t)n;
    return true;
}

bool conf_init(cache_conf *c)
{
    memset(c, 0, sizeof *c);
    c->port = 6379;
    c->timeout = 0;
    c->maxclients = 10000;
    c->loglevel = REPLKV_LOG_NOTICE;
    c->tcp_backlog = 511;
    c->tcp_keepalive = 300;
    c->protected_mode = true;
    /* Redis leaves normal clients unlimited; a cache that must survive a
     * client that never reads bounds them, with room for one reply of the
     * largest value (proto-max-bulk-len, 512mb). */
    c->obuf_hard = 1024ull * 1024 * 1024;
    c->obuf_soft = 512ull * 1024 * 1024;
    c->obuf_soft_seconds = 60;
    c->repl_obuf_hard = 256ull * 1024 * 1024;
    c->repl_obuf_soft = 64ull * 1024 * 1024;
    c->repl_obuf_soft_seconds = 60;
    c->query_buf_limit = 1024ull * 1024 * 1024;
    c->repl_port = -1;
    c->sentinel_port = -1;
    c->replica_priority = 100;
    char *def[] = {"127.0.0.1", "-::1"};
    c->dir = dup_str(".");
    return c->dir != NULL && set_bind(c, 2, def);
}

void conf_free(cache_conf *c)
{
    free_bind(c);
    free(c->requirepass);
    free(c->logfile);
    free(c->dir);
    free(c->pidfile);
    free(c->config_file);
    free(c->replicaof_host);
    free(c->sentinel_name);
    free(c->monitor_host);
    memset(c, 0, sizeof *c);
}

bool conf_copy(cache_conf *dst, const cache_conf *src)
{
    *dst = *src;
    dst->bind = NULL;
    dst->nbind = 0;
    dst->requirepass = dup_str(src->requirepass);
    dst->logfile = dup_str(src->logfile);
    dst->dir = dup_str(src->dir);
    dst->pidfile = dup_str(src->pidfile);
    dst->config_file = dup_str(src->config_file);
    dst->replicaof_host = dup_str(src->replicaof_host);
    dst->sentinel_name = dup_str(src->sentinel_name);
    dst->monitor_host = dup_str(src->monitor_host);
    bool ok = set_bind(dst, (int)src->nbind, src->bind);
    if (!ok || (src->requirepass && !dst->requirepass) ||
        (src->replicaof_host && !dst->replicaof_host) ||
        (src->sentinel_name && !dst->sentinel_name) ||
        (src->monitor_host && !dst->monitor_host) ||
        (src->logfile && !dst->logfile) || (src->dir && !dst->dir) ||
        (src->pidfile && !dst->pidfile) ||
        (src->config_file && !dst->config_file)) {
        conf_free(dst);
        return false;
    }
    return true;
}

/* ------------------------------------------------------------ values */

bool conf_parse_bytes(const char *s, uint64_t *out)
{
    static const struct {
        const char *suffix;
        uint64_t mul;
    } units[] = {{"", 1},
                 {"b", 1},
                 {"k", 1000},
                 {"kb", 1024},
                 {"m", 1000 * 1000},
                 {"mb", 1024 * 1024},
                 {"g", 1000ull * 1000 * 1000},
                 {"gb", 1024ull * 1024 * 1024}};
    if (s == NULL || *s < '0' || *s > '9')
        return false;
    errno = 0;
    char *end;
    unsigned long long n = strtoull(s, &end, 10);
    if (errno != 0)
        return false;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcasecmp(end, units[i].suffix) == 0) {
            if (n > UINT64_MAX / units[i].mul)
                return false;
            *out = n * units[i].mul;
            return true;
        }
    }
    return false;
}

int conf_reasonf(char *reason, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, cap, fmt, ap);
    va_end(ap);
    return -1;
}

static int parse_ll(const char *s, long long min, long long max,
                    long long *out, char *reason, size_t cap)
{
    long long v = 0;
    if (!util_str2ll(s, strlen(s), &v))
        return conf_reasonf(reason, cap,
                       "argument couldn't be parsed into an integer");
    if (v < min || v > max)
        return conf_reasonf(reason, cap,
                       "argument must be between %lld and %lld inclusive", min,
                       max);
    *out = v;
    return 0;
}

static int parse_yesno(const char *s, bool *out, char *reason, size_t cap)
{
    if (strcasecmp(s, "yes") == 0)
        *out = true;
    else if (strcasecmp(s, "no") == 0)
        *out = false;
    else
        return conf_reasonf(reason, cap, "argument must be 'yes' or 'no'");
    return 0;
}

static int replace_str(char **field, const char *v, char *reason, size_t cap)
{
    char *n = NULL;
    if (v != NULL && *v != '\0') {
        n = strdup(v);
        if (n == NULL)
            return conf_reasonf(reason, cap, "out of memory");
    }
    free(*field);
    *field = n;
    return 0;
}

/* ------------------------------------------------------------ directives */

typedef int (*set_fn)(cache_conf *c, int argc, char **argv, char *reason,
                      size_t cap);

static int set_port(cache_conf *c, int argc, char **argv, char *r, size_t cap)
{
    (void)argc;
    long long v = 0;
    if (parse_ll(argv[1], 0, 65535, &v, r, cap) < 0)
        return -1;
    c->port = (int)v;
    return 0;
}

static bool valid_addr(const char *a)
{
    if (*a == '-')
        a++;
    if (strcmp(a, "*") == 0 || strcmp(a, "::*") == 0)
        return true;
    unsigned char buf[sizeof(struct in6_addr)];
    return inet_pton(AF_INET, a, buf) == 1 || inet_pton(AF_INET6, a, buf) == 1;
}

static int set_bindd(cache_conf *c, int argc, char **argv, char *r, size_t cap)
{
    if (argc - 1 > 16)
        return conf_reasonf(r, cap, "Too many bind addresses specified.");
    for (int i = 1; i < argc; i++)
        if (!valid_addr(argv[i]))
            return conf_reasonf(r, cap, "'%s' is not an IPv4 or IPv6 address",
                           argv[i]);
    if (!set_bind(c, argc - 1, argv + 1))
        return conf_reasonf(r, cap, "out of memory");
    return 0;
}

static int set_requirepass(cache_conf *c, int argc, char **argv, char *r,
                           size_t cap)
{
    (void)argc;
    return replace_str(&c->requirepass, argv[1], r, cap);
}

static int set_timeout(cache_conf *c, int argc, char **argv, char *r,
                       size_t cap)
{
    (void)argc;
    return parse_ll(argv[1], 0, 2147483647LL, &c->timeout, r, cap);
}

static int set_maxclients(cache_conf *c, int argc, char **argv, char *r,
                          size_t cap)
{
    (void)argc;
    return parse_ll(argv[1], 1, 1000000, &c->maxclients, r, cap);
}

static int set_logfile(cache_conf *c, int argc, char **argv, char *r,
                       size_t cap)
{
    (void)argc;
    if (argv[1][0] != '\0') {
        /* Like redis-server: refuse to start with a log we cannot write. */
        FILE *f = fopen(argv[1], "a");
        if (f == NULL)
            return conf_reasonf(r, cap, "Can't open the log file: %s",
                           strerror(errno));
        fclose(f);
    }
    return replace_str(&c->logfile, argv[1], r, cap);
}

static int parse_loglevel(const char *s, int *out)
{
    for (int i = 0; i < 4; i++)
        if (strcasecmp(s, loglevel_names[i]) == 0) {
            *out = i;
            return 0;
        }
    return -1;
}

static int set_loglevel(cache_conf *c, int argc, char **argv, char *r,
                        size_t cap)
{
    (void)argc;
    if (parse_loglevel(argv[1], &c->loglevel) < 0)
        return conf_reasonf(r, cap, "Invalid log level. Must be one of debug, "
                               "verbose, notice, warning");
    return 0;
}

static int set_daemonize(cache_conf *c, int argc, char **argv, char *r,
                         size_t cap)
{
    (void)c;
    (void)argc;
    bool v = false;
    if (parse_yesno(argv[1], &v, r, cap) < 0)
        return -1;
    if (v)
        return conf_reasonf(r, cap, "'daemonize yes' is not supported by this "
                               "build: run replkv-cache under a supervisor");
    return 0;
}

static int set_dir(cache_conf *c, int argc, char **argv, char *r, size_t cap)
{
    (void)argc;
    struct stat st;
    if (stat(argv[1], &st) != 0)
        return conf_reasonf(r, cap, "Can't chdir to '%s': %s", argv[1],
                       strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return conf_reasonf(r, cap, "Can't chdir to '%s': %s", argv[1],
                       strerror(ENOTDIR));
    return replace_str(&c->dir, argv[1], r, cap);
}

static int set_pidfile(cache_conf *c, int argc, char **argv, char *r,
                       size_t cap)
{
    (void)argc;
    return replace_str(&c->pidfile, argv[1], r, cap);
}

static int set_backlog(cache_conf *c, int argc, char **argv, char *r,
                       size_t cap)
{
    (void)argc;
    return parse_ll(argv[1], 0, 65535, &c->tcp_backlog, r, cap);
}

static int set_keepalive(cache_conf *c, int argc, char **argv, char *r,
                         size_t cap)
{
    (void)argc;
    return parse_ll(argv[1], 0, 2147483647LL, &c->tcp_keepalive, r, cap);
}

static int set_protected(cache_conf *c, int argc, char **argv, char *r,
                         size_t cap)
{
    (void)argc;
    return parse_yesno(argv[1], &c->protected_mode, r, cap);
}

/* Redis's classes: normal (clients, enforced here), replica or slave
 * (handed to the library, which keeps a lagging replica's stream in its
 * backlog up to these limits), pubsub (accepted so that a stock redis.conf
 * loads; there is no Pub/Sub here, so nothing to limit). Every group is
 * checked before any is kept. */
static int set_obuf(cache_conf *c, int argc, char **argv, char *r, size_t cap)
{
    if ((argc - 1) % 4 != 0)
        return conf_reasonf(r, cap, "Wrong number of arguments in buffer limit "
                               "configuration.");
    cache_conf next = *c;
    for (int i = 1; i < argc; i += 4) {
        int cls = strcasecmp(argv[i], "normal") == 0    ? 0
                  : strcasecmp(argv[i], "replica") == 0 ? 1
                  : strcasecmp(argv[i], "slave") == 0   ? 1
                  : strcasecmp(argv[i], "pubsub") == 0  ? 2
                                                        : -1;
        if (cls < 0)
            return conf_reasonf(r, cap, "Invalid client class specified in "
                                        "buffer limit configuration.");
        uint64_t hard, soft;
        long long secs;
        if (!conf_parse_bytes(argv[i + 1], &hard) ||
            !conf_parse_bytes(argv[i + 2], &soft) ||
            !util_str2ll(argv[i + 3], strlen(argv[i + 3]), &secs) || secs < 0)
            return conf_reasonf(r, cap, "Error in hard, soft or soft_seconds "
                                   "setting in buffer limit configuration.");
        if (cls == 0) {
            next.obuf_hard = hard;
            next.obuf_soft = soft;
            next.obuf_soft_seconds = secs;
        } else if (cls == 1) {
            next.repl_obuf_hard = hard;
            next.repl_obuf_soft = soft;
            next.repl_obuf_soft_seconds = secs;
        }
    }
    c->obuf_hard = next.obuf_hard;
    c->obuf_soft = next.obuf_soft;
    c->obuf_soft_seconds = next.obuf_soft_seconds;
    c->repl_obuf_hard = next.repl_obuf_hard;
    c->repl_obuf_soft = next.repl_obuf_soft;
    c->repl_obuf_soft_seconds = next.repl_obuf_soft_seconds;
    return 0;
}

int conf_repl_obuf(const cache_conf *c, char *buf, size_t cap)
{
    return snprintf(buf, cap, "replica %" PRIu64 " %" PRIu64 " %lld",
                    c->repl_obuf_hard, c->repl_obuf_soft,
                    c->repl_obuf_soft_seconds);
}

static int set_qbuf(cache_conf *c, int argc, char **argv, char *r, size_t cap)
{
    (void)argc;
    uint64_t v;
    if (!conf_parse_bytes(argv[1], &v))
        return conf_reasonf(r, cap, "argument must be a memory value");
    if (v < 1024 * 1024 || v > 4ull * 1024 * 1024 * 1024)
        return conf_reasonf(r, cap, "argument must be between 1mb and 4gb");
    c->query_buf_limit = v;
    return 0;
}

int conf_peer_port(int client_port)
{
    if (client_port < 1 || client_port > 65535 - CACHE_REPL_PORT_OFFSET)
        return -1;
    return client_port + CACHE_REPL_PORT_OFFSET;
}

int conf_effective_repl_port(const cache_conf *c)
{
    if (c->repl_port >= 0)
        return c->repl_port;
    if (c->port == 0)
        return 0;
    return conf_peer_port(c->port);
}

/* replicaof <host> <port> | replicaof no one. The port is the primary's
 * client port; conf_apply() hands the library <host> <port + 10000>. */
static int set_replicaof(cache_conf *c, int argc, char **argv, char *r,
                         size_t cap)
{
    (void)argc;
    if (strcasecmp(argv[1], "no") == 0 && strcasecmp(argv[2], "one") == 0) {
        free(c->replicaof_host);
        c->replicaof_host = NULL;
        c->replicaof_port = 0;
        return 0;
    }
    long long port = 0;
    if (argv[1][0] == '\0' || strlen(argv[1]) >= 256 ||
        strchr(argv[1], ' ') != NULL)
        return conf_reasonf(r, cap, "bad primary host '%s'", argv[1]);
    if (parse_ll(argv[2], 1, 65535, &port, r, cap) < 0)
        return -1;
    if (conf_peer_port((int)port) < 0)
        return conf_reasonf(r, cap,
                       "the primary's repl-port would be %lld + %d, over "
                       "65535 (replicaof takes the primary's client port)",
                       port, CACHE_REPL_PORT_OFFSET);
    if (replace_str(&c->replicaof_host, argv[1], r, cap) < 0)
        return -1;
    c->replicaof_port = (int)port;
    return 0;
}

static int set_repl_port(cache_conf *c, int argc, char **argv, char *r,
                         size_t cap)
{
    (void)argc;
    long long v = 0;
    if (parse_ll(argv[1], 0, 65535, &v, r, cap) < 0)
        return -1;
    c->repl_port = (int)v;
    return 0;
}

static int set_metrics_port(cache_conf *c, int argc, char **argv, char *r,
                            size_t cap)
{
    (void)argc;
    long long v = 0;
    if (parse_ll(argv[1], 0, 65535, &v, r, cap) < 0)
        return -1;
    c->metrics_port = (int)v;
    return 0;
}

static int set_save(cache_conf *c, int argc, char **argv, char *r, size_t cap)
{
    (void)c;
    if (argc == 2 && argv[1][0] == '\0')
        return 0; /* save "": no snapshots, which is the truth */
    return conf_reasonf(r, cap, "'save' is not supported yet by this build "
                           "(no RDB save points: use appendonly yes)");
}

typedef struct directive {
    const char *name;
    int min_argc, max_argc; /* counting the name; max -1 = any */
    set_fn set;
    bool runtime;
} directive;

static const directive directives[] = {
    {"port", 2, 2, set_port, true},
    {"bind", 2, -1, set_bindd, true},
    {"requirepass", 2, 2, set_requirepass, true},
    {"timeout", 2, 2, set_timeout, true},
    {"maxclients", 2, 2, set_maxclients, true},
    {"logfile", 2, 2, set_logfile, false},
    {"loglevel", 2, 2, set_loglevel, true},
    {"daemonize", 2, 2, set_daemonize, false},
    {"dir", 2, 2, set_dir, true},
    {"pidfile", 2, 2, set_pidfile, false},
    {"tcp-backlog", 2, 2, set_backlog, false},
    {"tcp-keepalive", 2, 2, set_keepalive, true},
    {"protected-mode", 2, 2, set_protected, true},
    {"client-output-buffer-limit", 2, -1, set_obuf, true},
    {"client-query-buffer-limit", 2, 2, set_qbuf, true},
    {"save", 2, -1, set_save, true},
    {"replicaof", 3, 3, set_replicaof, false},
    {"repl-port", 2, 2, set_repl_port, false},
    {"metrics-port", 2, 2, set_metrics_port, false},
};

#define NDIRECTIVES (sizeof directives / sizeof directives[0])

static const directive *find_directive(const char *name)
{
    for (size_t i = 0; i < NDIRECTIVES; i++)
        if (strcasecmp(name, directives[i].name) == 0)
            return &directives[i];
    return NULL;
}

static const char *const lib_options[] = {
    "maxmemory", "maxmemory-policy", "maxmemory-samples", "proto-max-bulk-len",
    "hz", "masterauth", "repl-backlog-size", "repl-timeout",
    "repl-ping-replica-period", "min-replicas-to-write",
    "min-replicas-max-lag", "replica-read-only", "appendonly", "appendfsync",
    "auto-aof-rewrite-percentage", "auto-aof-rewrite-min-size",
    "aof-load-truncated", "aof-load-corrupt-repair", NULL};

/* Redis's old names for the replication directives. */
static const struct {
    const char *alias, *name;
} aliases[] = {
    {"slaveof", "replicaof"},
    {"min-slaves-to-write", "min-replicas-to-write"},
    {"min-slaves-max-lag", "min-replicas-max-lag"},
    {"repl-ping-slave-period", "repl-ping-replica-period"},
    {"slave-read-only", "replica-read-only"},
};

const char *conf_canonical_name(const char *name)
{
    for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
        if (strcasecmp(name, aliases[i].alias) == 0)
            return aliases[i].name;
    return name;
}

bool conf_is_lib_option(const char *name)
{
    name = conf_canonical_name(name);
    for (int i = 0; lib_options[i]; i++)
        if (strcasecmp(name, lib_options[i]) == 0)
            return true;
    return false;
}

const char *conf_unsupported_reason(const char *name, char *buf, size_t cap)
{
    /* Refused by name: accepting them silently would let an operator
     * believe a sentinel, an append-only file or a replication knob is in
     * effect. */
    static const struct {
        const char *name;
        bool prefix;
        const char *why;
    } refused[] = {
        /* Sentinel's settings are "sentinel <name> ..." lines. */
        {"failover-timeout", false, "write 'sentinel failover-timeout "
                                    "<master-name> <ms>'"},
        {"down-after-milliseconds", false,
         "write 'sentinel down-after-milliseconds <master-name> <ms>'"},
        {"parallel-syncs", false,
         "write 'sentinel parallel-syncs <master-name> <n>'"},
        {"quorum", false, "the quorum is the last word of 'sentinel monitor'"},
        /* Persistence is appendonly + snapshots; the file names are
         * fixed and there are no RDB save points. */
        {"appendfilename", false, "the file is dir/appendonly.rkv"},
        {"appenddirname", false, "the files live in dir"},
        {"dbfilename", false, "the snapshot is dir/snapshot.rkv"},
        {"no-appendfsync-on-rewrite", false, "not an option of this build"},
        {"stop-writes-on-bgsave-error", false,
         "writes always stop on a disk error"},
        {"aof-", true, "not an option of this build"},
        {"auto-aof-", true, "not an option of this build"},
        {"rdb", true, "no RDB files: use appendonly yes"},
        {"masteruser", false, "ACL users not built: use masterauth"},
        /* Replication knobs the library has no equivalent for
         * (diskless sync, announce addresses, stale reads...). */
        {"repl-", true, "not a replication option of this build"},
        {"replica-", true, "not a replication option of this build"},
        {"slave-", true, "not a replication option of this build"},
    };
    if (find_directive(conf_canonical_name(name)) != NULL ||
        conf_is_lib_option(name) || conf_sentinel_handles(name))
        return NULL;
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        size_t n = strlen(refused[i].name);
        if (refused[i].prefix ? strncasecmp(name, refused[i].name, n) == 0
                              : strcasecmp(name, refused[i].name) == 0) {
            snprintf(buf, cap, "'%s' is not supported yet by this build (%s)",
                     name, refused[i].why);
            return buf;
        }
    }
    return NULL;
}

bool conf_unsupported(const char *name)
{
    char buf[256];
    return conf_unsupported_reason(name, buf, sizeof buf) != NULL;
}

int conf_apply(cache_conf *c, replkv_opts *o, int argc, char **argv,
               char *reason, size_t cap)
{
    if (argc < 1)
        return conf_reasonf(reason, cap, "empty directive");
    const char *name = argv[0];
    bool save_points = strcasecmp(name, "save") == 0 &&
                       !(argc == 2 && argv[1][0] == '\0');
    char why_not[256];
    if (save_points)
        return conf_reasonf(reason, cap,
                       "'save' is not supported yet by this build "
                       "(no RDB save points: use appendonly yes)");
    if (conf_unsupported_reason(name, why_not, sizeof why_not) != NULL)
        return conf_reasonf(reason, cap, "%s", why_not);
    if (conf_sentinel_handles(name))
        return conf_sentinel_apply(c, o, argc, argv, reason, cap);
    if (conf_is_lib_option(name)) {
        if (argc != 2)
            return conf_reasonf(reason, cap,
                           "'%s': Bad directive or wrong number of arguments",
                           name);
        if (o != NULL &&
            replkv_opts_set(o, conf_canonical_name(name), argv[1]) != 0)
            return conf_reasonf(reason, cap, "%s", replkv_last_error());
        return 0;
    }
    const directive *d = find_directive(conf_canonical_name(name));
    if (d == NULL || argc < d->min_argc ||
        (d->max_argc >= 0 && argc > d->max_argc))
        return conf_reasonf(reason, cap,
                       "'%s': Bad directive or wrong number of arguments",
                       name);
    char why[512];
    why[0] = '\0';
    if (d->set(c, argc, argv, why, sizeof why) < 0)
        return conf_reasonf(reason, cap, "'%s': %s", name, why);
    if (o != NULL && d->set == set_obuf) {
        char v[128];
        conf_repl_obuf(c, v, sizeof v);
        if (replkv_opts_set(o, "client-output-buffer-limit", v) != 0)
            return conf_reasonf(reason, cap, "%s", replkv_last_error());
    }
    if (o != NULL && d->set == set_requirepass &&
        replkv_opts_set(o, "requirepass", argv[1]) != 0)
        return conf_reasonf(reason, cap, "%s", replkv_last_error());
    if (o != NULL && d->set == set_replicaof) {
        char v[300] = "";
        if (c->replicaof_host != NULL)
            snprintf(v, sizeof v, "%s %d", c->replicaof_host,
                     conf_peer_port(c->replicaof_port));
        if (replkv_opts_set(o, "replicaof", v) != 0)
            return conf_reasonf(reason, cap, "%s", replkv_last_error());
    }
    /* The library logs at the server's level too. */
    if (strcasecmp(name, "loglevel") == 0 && o != NULL &&
        replkv_opts_set(o, "loglevel", loglevel_names[c->loglevel]) != 0)
        return conf_reasonf(reason, cap, "%s", replkv_last_error());
    return 0;
}

/* ------------------------------------------------------------ runtime */

static const conf_param params[] = {
    {"port", true},
    {"bind", true},
    {"requirepass", true},
    {"timeout", true},
    {"maxclients", true},
    {"logfile", false},
    {"loglevel", true},
    {"daemonize", false},
    {"dir", true},
    {"pidfile", false},
    {"tcp-backlog", false},
    {"tcp-keepalive", true},
    {"protected-mode", true},
    {"client-output-buffer-limit", true},
    {"client-query-buffer-limit", true},
    {"save", true},
    {"databases", false},
    {"replicaof", false},
    {"slaveof", false},
    {"repl-port", false},
    {"metrics-port", false},
    {"sentinel-port", false},
    {"replica-priority", false},
    {"slave-priority", false},
    {NULL, false},
};

const conf_param *conf_params(void)
{
    return params;
}

int conf_get(const cache_conf *c, const char *name, char *buf, size_t cap)
{
    if (cap == 0)
        return -1;
    buf[0] = '\0';
    if (strcasecmp(name, "port") == 0)
        snprintf(buf, cap, "%d", c->port);
    else if (strcasecmp(name, "bind") == 0) {
        size_t off = 0;
        for (size_t i = 0; i < c->nbind && off < cap; i++)
            off += (size_t)snprintf(buf + off, cap - off, "%s%s",
                                    i ? " " : "", c->bind[i]);
    } else if (strcasecmp(name, "requirepass") == 0)
        snprintf(buf, cap, "%s", c->requirepass ? c->requirepass : "");
    else if (strcasecmp(name, "timeout") == 0)
        snprintf(buf, cap, "%lld", c->timeout);
    else if (strcasecmp(name, "maxclients") == 0)
        snprintf(buf, cap, "%lld", c->maxclients);
    else if (strcasecmp(name, "logfile") == 0)
        snprintf(buf, cap, "%s", c->logfile ? c->logfile : "");
    else if (strcasecmp(name, "loglevel") == 0)
        snprintf(buf, cap, "%s", loglevel_names[c->loglevel]);
    else if (strcasecmp(name, "daemonize") == 0)
        snprintf(buf, cap, "no");
    else if (strcasecmp(name, "dir") == 0) {
        char *abs = c->dir ? realpath(c->dir, NULL) : NULL;
        snprintf(buf, cap, "%s", abs ? abs : (c->dir ? c->dir : ""));
        free(abs);
    } else if (strcasecmp(name, "pidfile") == 0)
        snprintf(buf, cap, "%s", c->pidfile ? c->pidfile : "");
    else if (strcasecmp(name, "tcp-backlog") == 0)
        snprintf(buf, cap, "%lld", c->tcp_backlog);
    else if (strcasecmp(name, "tcp-keepalive") == 0)
        snprintf(buf, cap, "%lld", c->tcp_keepalive);
    else if (strcasecmp(name, "protected-mode") == 0)
        snprintf(buf, cap, "%s", c->protected_mode ? "yes" : "no");
    else if (strcasecmp(name, "client-output-buffer-limit") == 0)
        snprintf(buf, cap,
                 "normal %" PRIu64 " %" PRIu64 " %lld slave %" PRIu64
                 " %" PRIu64 " %lld pubsub 0 0 0",
                 c->obuf_hard, c->obuf_soft, c->obuf_soft_seconds,
                 c->repl_obuf_hard, c->repl_obuf_soft,
                 c->repl_obuf_soft_seconds);
    else if (strcasecmp(name, "client-query-buffer-limit") == 0)
        snprintf(buf, cap, "%" PRIu64, c->query_buf_limit);
    else if (strcasecmp(name, "save") == 0)
        buf[0] = '\0';
    else if (strcasecmp(name, "databases") == 0)
        snprintf(buf, cap, "1");
    else if (strcasecmp(name, "replicaof") == 0 ||
             strcasecmp(name, "slaveof") == 0) {
        if (c->replicaof_host != NULL)
            snprintf(buf, cap, "%s %d", c->replicaof_host, c->replicaof_port);
    } else if (strcasecmp(name, "repl-port") == 0)
        snprintf(buf, cap, "%d", conf_effective_repl_port(c));
    else if (strcasecmp(name, "metrics-port") == 0)
        snprintf(buf, cap, "%d", c->metrics_port);
    else if (strcasecmp(name, "sentinel-port") == 0)
        snprintf(buf, cap, "%d", conf_sentinel_port(c));
    else if (strcasecmp(name, "replica-priority") == 0 ||
             strcasecmp(name, "slave-priority") == 0)
        snprintf(buf, cap, "%lld", c->replica_priority);
    else
        return -1;
    return 0;
}

int conf_set(cache_conf *c, const char *name, const char *value, char *reason,
             size_t cap)
{
    const directive *d = find_directive(name);
    if (d == NULL || !d->runtime)
        return conf_reasonf(reason, cap, "parameter can't be set at runtime");
    char *copy = strdup(value);
    if (copy == NULL)
        return conf_reasonf(reason, cap, "out of memory");
    int n = 1;
    char **w = NULL;
    if (d->max_argc == 2) {
        /* One-word directives take the value as it is, blanks and all. */
        w = calloc(3, sizeof *w);
        if (w != NULL) {
            w[0] = (char *)d->name;
            w[1] = copy;
            n = 2;
        }
    } else {
        w = calloc(strlen(value) + 2, sizeof *w);
        if (w != NULL) {
            w[0] = (char *)d->name;
            for (char *save = NULL, *t = strtok_r(copy, " ", &save); t;
                 t = strtok_r(NULL, " ", &save))
                w[n++] = t;
            if (n == 1 && strcmp(d->name, "save") == 0)
                w[n++] = "";
        }
    }
    int rc;
    if (w == NULL)
        rc = conf_reasonf(reason, cap, "out of memory");
    else if (n < d->min_argc || (d->max_argc >= 0 && n > d->max_argc))
        rc = conf_reasonf(reason, cap, "wrong number of arguments");
    else
        rc = d->set(c, n, w, reason, cap);
    free(w);
    free(copy);
    return rc;
}
