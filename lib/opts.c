/*
 * opts.c - the option table and its parser. Each option is one row: its
 * redis.conf name, how its value is spelled, its limits and whether it can
 * change on a running node. Names are matched case-insensitively and '_'
 * stands for '-', so Python's keyword arguments map onto them directly.
 */
#include "opts.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef enum opt_kind {
    OPT_BYTES,
    OPT_INT,
    OPT_ENUM,
    OPT_STR,
    OPT_MONITOR, /* "sentinel monitor": four words into four fields */
    OPT_OBUF     /* "client-output-buffer-limit replica H S SECS" */
} opt_kind;

typedef struct opt_def {
    const char *name;
    opt_kind kind;
    size_t offset; /* into rkv_config */
    int64_t min, max; /* OPT_STR: max = the field's size */
    const char *const *choices; /* OPT_ENUM: NULL-terminated, index = value */
    bool runtime;               /* may change on a running node */
    /* Sentinel's per-master directives: the value may be preceded by the
     * master's name ("mymaster 5000"), as sentinel.conf writes them. */
    bool named;
} opt_def;

static const char *const policy_names[] = {
    "noeviction",      "allkeys-lru",  "volatile-lru", "allkeys-random",
    "volatile-random", "volatile-ttl", NULL};

static const char *const loglevel_names[] = {"debug", "verbose", "notice",
                                             "warning", NULL};

static const char *const bool_names[] = {"no", "yes", NULL};

/* Index = rkv_fsync_policy (lib/persist_aof.h). */
static const char *const fsync_names[] = {"no", "everysec", "always", NULL};

#define FIELD(f) offsetof(rkv_config, f)
#define GIB4 ((int64_t)UINT32_MAX)

static const opt_def opt_table[] = {
    {"maxmemory", OPT_BYTES, FIELD(maxmemory), 0, INT64_MAX, NULL, true, false},
    {"maxmemory-policy", OPT_ENUM, FIELD(maxmemory_policy), 0, 0,
     policy_names, true, false},
    {"maxmemory-samples", OPT_INT, FIELD(maxmemory_samples), 1, 64, NULL,
     true, false},
    {"proto-max-bulk-len", OPT_BYTES, FIELD(proto_max_bulk_len), 1, GIB4,
     NULL, true, false},
    {"hz", OPT_INT, FIELD(hz), 1, 500, NULL, true, false},
    {"loglevel", OPT_ENUM, FIELD(loglevel), 0, 0, loglevel_names, true, false},
    {"port", OPT_INT, FIELD(port), 0, 65535, NULL, false, false},
    {"bind", OPT_STR, FIELD(bind), 0, sizeof(((rkv_config *)0)->bind), NULL,
     false, false},
    /* Runtime: replkv_config_set runs it as replkv_replicaof (node.c). */
    {"replicaof", OPT_STR, FIELD(replicaof), 0,
     sizeof(((rkv_config *)0)->replicaof), NULL, true, false},
    {"requirepass", OPT_STR, FIELD(requirepass), 0,
     sizeof(((rkv_config *)0)->requirepass), NULL, true, false},
    {"masterauth", OPT_STR, FIELD(masterauth), 0,
     sizeof(((rkv_config *)0)->masterauth), NULL, true, false},
    {"repl-backlog-size", OPT_BYTES, FIELD(repl_backlog_size), 16 * 1024,
     (int64_t)1 << 40, NULL, true, false},
    {"client-output-buffer-limit", OPT_OBUF, FIELD(repl_obuf_hard), 0, 0,
     NULL, true, false},
    {"repl-timeout", OPT_INT, FIELD(repl_timeout), 1, 86400, NULL, true, false},
    {"repl-ping-replica-period", OPT_INT, FIELD(repl_ping_period), 1, 3600,
     NULL, true, false},
    {"min-replicas-to-write", OPT_INT, FIELD(min_replicas_to_write), 0, 1000,
     NULL, true, false},
    {"min-replicas-max-lag", OPT_INT, FIELD(min_replicas_max_lag), 1, 86400,
     NULL, true, false},
    {"replica-read-only", OPT_ENUM, FIELD(replica_read_only), 0, 0,
     bool_names, true, false},
    {"dir", OPT_STR, FIELD(dir), 0, sizeof(((rkv_config *)0)->dir), NULL,
     false, false},
    {"appendonly", OPT_ENUM, FIELD(appendonly), 0, 0, bool_names, false, false},
    {"appendfsync", OPT_ENUM, FIELD(appendfsync), 0, 0, fsync_names, false, false},
    {"auto-aof-rewrite-percentage", OPT_INT, FIELD(auto_aof_rewrite_pct), 0,
     1000000, NULL, true, false},
    {"auto-aof-rewrite-min-size", OPT_BYTES, FIELD(auto_aof_rewrite_min_size),
     0, INT64_MAX, NULL, true, false},
    {"aof-load-truncated", OPT_ENUM, FIELD(aof_load_truncated), 0, 0,
     bool_names, false, false},
    {"aof-load-corrupt-repair", OPT_ENUM, FIELD(aof_load_corrupt_repair), 0, 0,
     bool_names, false, false},
    {"sentinel monitor", OPT_MONITOR, FIELD(sentinel_port), 0, 0, NULL,
     false, false},
    {"sentinel down-after-milliseconds", OPT_INT, FIELD(down_after_ms), 1,
     86400000, NULL, false, true},
    {"sentinel failover-timeout", OPT_INT, FIELD(failover_timeout_ms), 1,
     86400000, NULL, false, true},
    {"sentinel parallel-syncs", OPT_INT, FIELD(parallel_syncs), 1, 1000, NULL,
     false, true},
    {"sentinel ping-interval", OPT_INT, FIELD(ping_interval_ms), 10, 10000,
     NULL, false, true},
    {"sentinel self-fence", OPT_ENUM, FIELD(self_fence), 0, 0, bool_names,
     false, true},
    {"sentinel auth-pass", OPT_STR, FIELD(sentinel_authpass), 0,
     sizeof(((rkv_config *)0)->sentinel_authpass), NULL, false, true},
    {"replica-priority", OPT_INT, FIELD(replica_priority), 0, INT32_MAX, NULL,
     false, false},
    {"witness", OPT_ENUM, FIELD(witness), 0, 0, bool_names, false, false},
    {"replica-announce-ip", OPT_STR, FIELD(announce_ip), 0,
     sizeof(((rkv_config *)0)->announce_ip), NULL, false, false},
    {"replica-announce-port", OPT_INT, FIELD(announce_port), 0, 65535, NULL,
     false, false},
    {"bind-source-addr", OPT_STR, FIELD(bind_source_addr), 0,
     sizeof(((rkv_config *)0)->bind_source_addr), NULL, false, false},
};

void rkv_config_defaults(rkv_config *c)
{
    memset(c, 0, sizeof *c);
    c->maxmemory = 0;
    c->maxmemory_policy = RKV_EVICT_NOEVICTION;
    c->maxmemory_samples = 5;
    c->proto_max_bulk_len = 512ull * 1024 * 1024;
    c->hz = 10;
    c->loglevel = REPLKV_LOG_NOTICE;
    c->port = 0;
    strcpy(c->bind, "127.0.0.1");
    c->repl_backlog_size = 16ull * 1024 * 1024;
    /* Redis's defaults for its replica class. */
    c->repl_obuf_hard = 256ull * 1024 * 1024;
    c->repl_obuf_soft = 64ull * 1024 * 1024;
    c->repl_obuf_soft_secs = 60;
    c->repl_timeout = 60;
    c->repl_ping_period = 1;
    c->min_replicas_to_write = 0;
    c->min_replicas_max_lag = 10;
    c->replica_read_only = 1;
    c->appendonly = 0;
    c->appendfsync = 1; /* everysec */
    c->auto_aof_rewrite_pct = 100;
    c->auto_aof_rewrite_min_size = 64ull * 1024 * 1024;
    c->aof_load_truncated = 1;
    c->aof_load_corrupt_repair = 0;
    c->down_after_ms = 30000;
    c->failover_timeout_ms = 180000;
    c->parallel_syncs = 1;
    c->ping_interval_ms = 100;
    c->replica_priority = 100;
}

int rkv_parse_replicaof(const char *v, char *host, size_t cap, int *port)
{
    while (*v == ' ')
        v++;
    if (*v == '\0' || strcasecmp(v, "none") == 0 ||
        strcasecmp(v, "no one") == 0)
        return 0;
    const char *sp = strchr(v, ' ');
    if (sp == NULL || (size_t)(sp - v) >= cap || sp == v)
        return rkv_fail(REPLKV_EINVAL,
                        "replicaof: bad value '%s' (expected \"host port\")",
                        v);
    int64_t p;
    char *end;
    errno = 0;
    p = strtoll(sp + 1, &end, 10);
    if (errno != 0 || end == sp + 1 || *end != '\0' || p < 1 || p > 65535)
        return rkv_fail(REPLKV_EINVAL, "replicaof: bad port in '%s'", v);
    memcpy(host, v, (size_t)(sp - v));
    host[sp - v] = '\0';
    *port = (int)p;
    return 1;
}

/* Compares a caller's name with a table name: case-insensitive, and '_'
 * stands for '-' or ' ' ("sentinel_down_after_milliseconds"). */
static bool name_matches(const char *given, const char *known)
{
    for (; *given && *known; given++, known++) {
        char a = *given == '_' && *known == ' ' ? ' ' : *given;
        a = a == '_' ? '-' : a;
        if (a >= 'A' && a <= 'Z')
            a = (char)(a - 'A' + 'a');
        if (a != *known)
            return false;
    }
    return *given == '\0' && *known == '\0';
}

bool rkv_opt_is(const char *given, const char *known)
{
    return given != NULL && name_matches(given, known);
}

static const opt_def *find_opt(const char *name)
{
    for (size_t i = 0; i < sizeof opt_table / sizeof opt_table[0]; i++)
        if (name_matches(name, opt_table[i].name))
            return &opt_table[i];
    return NULL;
}

bool rkv_parse_bytes(const char *s, uint64_t *out)
{
    /* Redis's rule: k/m/g are powers of 1000, kb/mb/gb powers of 1024. */
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

/* "sentinel monitor <name> <host> <port> <quorum>". */
static int set_monitor(rkv_config *c, const char *value)
{
    char name[64], host[64], extra[2];
    long long port, quorum;
    int n = sscanf(value, "%63s %63s %lld %lld %1s", name, host, &port,
                   &quorum, extra);
    if (n != 4)
        return rkv_fail(REPLKV_EINVAL,
                        "sentinel monitor: bad value '%s' (expected "
                        "\"<name> <host> <port> <quorum>\")",
                        value);
    if (port < 1 || port > 65535)
        return rkv_fail(REPLKV_EINVAL, "sentinel monitor: bad port %lld",
                        port);
    if (quorum < 1 || quorum > 32)
        return rkv_fail(REPLKV_EINVAL,
                        "sentinel monitor: quorum %lld out of range (1 to "
                        "32)",
                        quorum);
    snprintf(c->sentinel_name, sizeof c->sentinel_name, "%s", name);
    snprintf(c->sentinel_host, sizeof c->sentinel_host, "%s", host);
    c->sentinel_port = (int)port;
    c->sentinel_quorum = (int)quorum;
    return 0;
}

/* "client-output-buffer-limit": Redis's "<class> <hard> <soft> <seconds>"
 * groups; the library has no clients of its own, so only the replica class
 * (or its old name, slave) means something here. All groups are checked
 * before any is kept. */
static int set_obuf(rkv_config *c, const char *value)
{
    char cls[4][16], hard[4][32], soft[4][32], extra[2];
    long long secs[4];
    int n = sscanf(value,
                   "%15s %31s %31s %lld %15s %31s %31s %lld %15s %31s %31s "
                   "%lld %15s %31s %31s %lld %1s",
                   cls[0], hard[0], soft[0], &secs[0], cls[1], hard[1],
                   soft[1], &secs[1], cls[2], hard[2], soft[2], &secs[2],
                   cls[3], hard[3], soft[3], &secs[3], extra);
    if (n < 4 || n % 4 != 0 || n > 16)
        return rkv_fail(REPLKV_EINVAL,
                        "client-output-buffer-limit: bad value '%s' "
                        "(expected \"replica <hard> <soft> <seconds>\")",
                        value);
    bool found = false;
    uint64_t h = 0, s = 0;
    long long t = 0;
    for (int i = 0; i < n / 4; i++) {
        if (strcasecmp(cls[i], "replica") != 0 &&
            strcasecmp(cls[i], "slave") != 0)
            return rkv_fail(REPLKV_EINVAL,
                            "client-output-buffer-limit: class '%s': the "
                            "library only has replicas (class replica)",
                            cls[i]);
        if (!rkv_parse_bytes(hard[i], &h) || !rkv_parse_bytes(soft[i], &s) ||
            secs[i] < 0 || secs[i] > 86400)
            return rkv_fail(REPLKV_EINVAL,
                            "client-output-buffer-limit: bad hard, soft or "
                            "seconds in '%s'",
                            value);
        t = secs[i];
        found = true;
    }
    if (!found)
        return rkv_fail(REPLKV_EINVAL, "client-output-buffer-limit: no class");
    c->repl_obuf_hard = h;
    c->repl_obuf_soft = s;
    c->repl_obuf_soft_secs = (int)t;
    return 0;
}

/* A named directive's value: "<name> <value>" or "<value>". The name, when
 * given, must be the monitored master's (once it is known). */
static int strip_master_name(const rkv_config *c, const opt_def *d,
                             const char *value, const char **out)
{
    *out = value;
    const char *sp = strchr(value, ' ');
    if (sp == NULL)
        return 0;
    size_t nlen = (size_t)(sp - value);
    if (c->sentinel_name[0] != '\0' &&
        (strlen(c->sentinel_name) != nlen ||
         strncmp(c->sentinel_name, value, nlen) != 0))
        return rkv_fail(REPLKV_EINVAL,
                        "%s: no master named '%.*s' (sentinel monitor names "
                        "'%s')",
                        d->name, (int)nlen, value, c->sentinel_name);
    while (*sp == ' ')
        sp++;
    *out = sp;
    return 0;
}

static bool parse_int(const char *s, int64_t *out)
{
    if (s == NULL || *s == '\0')
        return false;
    errno = 0;
    char *end;
    long long n = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0')
        return false;
    *out = n;
    return true;
}

int rkv_config_set(rkv_config *c, const char *name, const char *value,
                   bool runtime_only)
{
    if (c == NULL || name == NULL || value == NULL)
        return rkv_fail(REPLKV_EINVAL, "option name and value are required");
    const opt_def *d = find_opt(name);
    if (d == NULL)
        return rkv_fail(REPLKV_EINVAL, "unknown option '%s'", name);
    if (runtime_only && !d->runtime)
        return rkv_fail(REPLKV_ENOTSUP,
                        "%s: can only be set before the node opens", d->name);
    char *field = (char *)c + d->offset;
    if (d->named) {
        int rc = strip_master_name(c, d, value, &value);
        if (rc != 0)
            return rc;
    }

    switch (d->kind) {
    case OPT_MONITOR:
        return set_monitor(c, value);
    case OPT_OBUF:
        return set_obuf(c, value);
    case OPT_BYTES: {
        uint64_t n;
        if (!rkv_parse_bytes(value, &n))
            return rkv_fail(REPLKV_EINVAL,
                            "%s: bad value '%s' (expected bytes, like 100mb)",
                            d->name, value);
        if (n < (uint64_t)d->min || n > (uint64_t)d->max)
            return rkv_fail(REPLKV_EINVAL,
                            "%s: %" PRIu64 " is out of range (%" PRId64
                            " to %" PRId64 ")",
                            d->name, n, d->min, d->max);
        memcpy(field, &n, sizeof n);
        return 0;
    }
    case OPT_INT: {
        int64_t n;
        if (!parse_int(value, &n))
            return rkv_fail(REPLKV_EINVAL,
                            "%s: bad value '%s' (expected an integer)",
                            d->name, value);
        if (n < d->min || n > d->max)
            return rkv_fail(REPLKV_EINVAL,
                            "%s: %" PRId64 " is out of range (%" PRId64
                            " to %" PRId64 ")",
                            d->name, n, d->min, d->max);
        int v = (int)n;
        memcpy(field, &v, sizeof v);
        return 0;
    }
    case OPT_ENUM:
        for (int i = 0; d->choices[i] != NULL; i++) {
            if (strcasecmp(value, d->choices[i]) == 0) {
                memcpy(field, &i, sizeof i);
                return 0;
            }
        }
        return rkv_fail(REPLKV_EINVAL, "%s: bad value '%s'", d->name, value);
    case OPT_STR: {
        size_t n = strlen(value);
        if (n >= (size_t)d->max)
            return rkv_fail(REPLKV_EINVAL, "%s: value longer than %d bytes",
                            d->name, (int)d->max - 1);
        if (d->offset == FIELD(replicaof)) {
            char host[256];
            int port;
            int rc = rkv_parse_replicaof(value, host, sizeof host, &port);
            if (rc < 0)
                return rc;
        }
        memcpy(field, value, n + 1);
        return 0;
    }
    }
    return rkv_fail(REPLKV_EINVAL, "%s: unsupported option kind", d->name);
}

int rkv_config_get(const rkv_config *c, const char *name, char *buf,
                   size_t cap, size_t *needed)
{
    if (c == NULL || name == NULL || (buf == NULL && cap > 0))
        return rkv_fail(REPLKV_EINVAL, "option name and buffer are required");
    const opt_def *d = find_opt(name);
    if (d == NULL)
        return rkv_fail(REPLKV_EINVAL, "unknown option '%s'", name);
    const char *field = (const char *)c + d->offset;
    char tmp[320];
    switch (d->kind) {
    case OPT_MONITOR:
        if (c->sentinel_port == 0)
            tmp[0] = '\0';
        else
            snprintf(tmp, sizeof tmp, "%s %s %d %d", c->sentinel_name,
                     c->sentinel_host, c->sentinel_port, c->sentinel_quorum);
        break;
    case OPT_OBUF:
        snprintf(tmp, sizeof tmp, "replica %" PRIu64 " %" PRIu64 " %d",
                 c->repl_obuf_hard, c->repl_obuf_soft,
                 c->repl_obuf_soft_secs);
        break;
    case OPT_STR:
        snprintf(tmp, sizeof tmp, "%s", field);
        break;
    case OPT_BYTES: {
        uint64_t n;
        memcpy(&n, field, sizeof n);
        snprintf(tmp, sizeof tmp, "%" PRIu64, n);
        break;
    }
    case OPT_INT: {
        int v;
        memcpy(&v, field, sizeof v);
        snprintf(tmp, sizeof tmp, "%d", v);
        break;
    }
    case OPT_ENUM: {
        int v;
        memcpy(&v, field, sizeof v);
        snprintf(tmp, sizeof tmp, "%s", d->choices[v]);
        break;
    }
    default:
        tmp[0] = '\0';
    }
    size_t len = strlen(tmp) + 1;
    if (needed)
        *needed = len;
    if (cap < len)
        return rkv_fail(REPLKV_ERANGE, "%s: value needs %zu bytes", d->name,
                        len);
    memcpy(buf, tmp, len);
    return 0;
}

/* ------------------------------------------------------------ public API */

replkv_opts *replkv_opts_new(void)
{
    replkv_opts *o = calloc(1, sizeof *o);
    if (o == NULL)
        return NULL;
    rkv_config_defaults(&o->cfg);
    return o;
}

void replkv_opts_free(replkv_opts *o)
{
    free(o);
}

int replkv_opts_set(replkv_opts *o, const char *name, const char *value)
{
    if (o == NULL)
        return rkv_fail(REPLKV_EINVAL, "replkv_opts_set: NULL options");
    return rkv_config_set(&o->cfg, name, value, false);
}

int replkv_opts_get(const replkv_opts *o, const char *name, char *buf,
                    size_t cap, size_t *needed)
{
    if (o == NULL)
        return rkv_fail(REPLKV_EINVAL, "replkv_opts_get: NULL options");
    return rkv_config_get(&o->cfg, name, buf, cap, needed);
}

int replkv_opts_set_log(replkv_opts *o, replkv_log_cb cb, void *ud)
{
    if (o == NULL)
        return rkv_fail(REPLKV_EINVAL, "replkv_opts_set_log: NULL options");
    o->log_cb = cb;
    o->log_ud = ud;
    return 0;
}

int replkv_opts_set_role_cb(replkv_opts *o, replkv_role_cb cb, void *ud)
{
    if (o == NULL)
        return rkv_fail(REPLKV_EINVAL, "replkv_opts_set_role_cb: NULL options");
    o->role_cb = cb;
    o->role_ud = ud;
    return 0;
}

int replkv_opts_set_peer_cb(replkv_opts *o, replkv_peer_cb cb, void *ud)
{
    if (o == NULL)
        return rkv_fail(REPLKV_EINVAL, "replkv_opts_set_peer_cb: NULL options");
    o->fo.peer_cb = cb;
    o->fo.peer_ud = ud;
    return 0;
}

int replkv_opts_set_decision_cb(replkv_opts *o, replkv_decision_cb cb,
                                void *ud)
{
    if (o == NULL)
        return rkv_fail(REPLKV_EINVAL,
                        "replkv_opts_set_decision_cb: NULL options");
    o->fo.decision_cb = cb;
    o->fo.decision_ud = ud;
    return 0;
}

int replkv_opts_set_divergence_cb(replkv_opts *o, replkv_divergence_cb cb,
                                  void *ud)
{
    if (o == NULL)
        return rkv_fail(REPLKV_EINVAL,
                        "replkv_opts_set_divergence_cb: NULL options");
    o->fo.divergence_cb = cb;
    o->fo.divergence_ud = ud;
    return 0;
}
