/*
 * conf_sentinel.c - the failover directives of replkv-cache's configuration
 * (see conf.h): Redis Sentinel's "sentinel ..." lines, replica-priority,
 * sentinel-port and replica-announce-ip, in both a data node's file and a
 * witness's sentinel.conf, and the checks that run once the whole
 * configuration is read (conf_sentinel_finish).
 *
 * Addresses: users write Redis addresses. "sentinel monitor <name> <host>
 * <port> <quorum>" names the primary's CLIENT port, as in Redis; the
 * library is handed <port + 10000>, the primary's peer port. The other
 * directives take the master name first, as Redis's do, and a name that
 * is not the monitor's is an error (a node belongs to one cluster).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf.h"
#include "util.h"

static int parse_range(const char *s, long long min, long long max,
                       long long *out)
{
    long long v;
    if (!util_str2ll(s, strlen(s), &v) || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

/* Sets one library option; the library's own words on failure. */
static int lib_set(replkv_opts *o, const char *name, const char *value,
                   char *r, size_t cap)
{
    if (o != NULL && replkv_opts_set(o, name, value) != 0)
        return conf_reasonf(r, cap, "%s", replkv_last_error());
    return 0;
}

/* A master name goes to the library as one word of a space separated
 * value, and back to clients in INFO's "name=...," fields. */
static bool valid_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n >= CACHE_SENTINEL_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] <= ' ' || s[i] > '~' || s[i] == ',' || s[i] == '=')
            return false;
    return true;
}

static int set_monitor(cache_conf *c, replkv_opts *o, int argc, char **argv,
                       char *r, size_t cap)
{
    if (argc != 6)
        return conf_reasonf(r, cap, "'sentinel monitor': wrong number of "
                               "arguments (sentinel monitor <master-name> "
                               "<ip> <redis-port> <quorum>)");
    const char *name = argv[2], *host = argv[3];
    long long port, quorum;
    if (!valid_name(name))
        return conf_reasonf(r, cap, "'sentinel monitor': bad master name '%s' "
                               "(1..%d printable characters, no blank, ',' "
                               "or '=')",
                       name, CACHE_SENTINEL_NAME_MAX - 1);
    if (c->sentinel_name != NULL && strcmp(c->sentinel_name, name) != 0)
        return conf_reasonf(r, cap, "'sentinel monitor %s': this node already "
                               "monitors '%s' (one cluster per node)",
                       name, c->sentinel_name);
    if (host[0] == '\0' || strlen(host) >= 64 || strchr(host, ' ') != NULL)
        return conf_reasonf(r, cap, "'sentinel monitor': bad host '%s'", host);
    if (parse_range(argv[4], 1, 65535, &port) < 0)
        return conf_reasonf(r, cap, "'sentinel monitor': bad port '%s'", argv[4]);
    if (conf_peer_port((int)port) < 0)
        return conf_reasonf(r, cap,
                       "'sentinel monitor': the primary's repl-port would be "
                       "%lld + %d, over 65535 (sentinel monitor takes the "
                       "primary's client port)",
                       port, CACHE_REPL_PORT_OFFSET);
    if (parse_range(argv[5], 1, CACHE_SENTINEL_MAX_NODES, &quorum) < 0)
        return conf_reasonf(r, cap, "'sentinel monitor': Quorum must be 1 or "
                               "greater (and at most %d)",
                       CACHE_SENTINEL_MAX_NODES);
    char v[256];
    snprintf(v, sizeof v, "%s %s %d %lld", name, host,
             conf_peer_port((int)port), quorum);
    if (lib_set(o, "sentinel monitor", v, r, cap) < 0)
        return -1;
    char *n = strdup(name), *h = strdup(host);
    if (n == NULL || h == NULL) {
        free(n);
        free(h);
        return conf_reasonf(r, cap, "out of memory");
    }
    free(c->sentinel_name);
    free(c->monitor_host);
    c->sentinel_name = n;
    c->monitor_host = h;
    c->monitor_port = (int)port;
    c->quorum = (int)quorum;
    return 0;
}

/* The directives that take "<master-name> <value>", their library option
 * and the values they accept. */
static const struct {
    const char *sub;
    long long min, max; /* max < min: not a number */
} named[] = {
    {"down-after-milliseconds", 1, 2147483647LL},
    {"failover-timeout", 1, 2147483647LL},
    {"parallel-syncs", 1, CACHE_SENTINEL_MAX_NODES},
    {"auth-pass", 1, 0},
    {"ping-interval", 10, 10000},
    {"self-fence", 1, 0},
};

static int set_named(cache_conf *c, replkv_opts *o, int argc, char **argv,
                     size_t k, char *r, size_t cap)
{
    const char *sub = named[k].sub;
    if (argc != 4)
        return conf_reasonf(r, cap, "'sentinel %s': wrong number of arguments "
                               "(sentinel %s <master-name> <value>)",
                       sub, sub);
    if (c->sentinel_name == NULL)
        return conf_reasonf(r, cap, "'sentinel %s %s': No such master with "
                               "specified name (a 'sentinel monitor %s ...' "
                               "line must come first)",
                       sub, argv[2], argv[2]);
    if (strcmp(argv[2], c->sentinel_name) != 0)
        return conf_reasonf(r, cap, "'sentinel %s %s': No such master with "
                               "specified name (sentinel monitor names "
                               "'%s')",
                       sub, argv[2], c->sentinel_name);
    const char *v = argv[3];
    long long n;
    if (named[k].max >= named[k].min &&
        parse_range(v, named[k].min, named[k].max, &n) < 0)
        return conf_reasonf(r, cap, "'sentinel %s': '%s' is not an integer "
                               "between %lld and %lld",
                       sub, v, named[k].min, named[k].max);
    if (strcmp(sub, "self-fence") == 0 && strcasecmp(v, "yes") != 0 &&
        strcasecmp(v, "no") != 0)
        return conf_reasonf(r, cap, "'sentinel self-fence': argument must be "
                               "'yes' or 'no'");
    char name[64];
    snprintf(name, sizeof name, "sentinel %s", sub);
    return lib_set(o, name, v, r, cap);
}

/* Statements Redis Sentinel writes into its own file as it runs (CONFIG
 * REWRITE): state this build keeps in dir/node.state instead. */
static const char *const rewritten[] = {
    "myid", "current-epoch", "config-epoch", "leader-epoch", "known-replica",
    "known-slave", "known-sentinel", "rename-command", NULL};

static int apply_sentinel(cache_conf *c, replkv_opts *o, int argc,
                          char **argv, char *r, size_t cap)
{
    if (argc < 2)
        return conf_reasonf(r, cap, "'sentinel': wrong number of arguments");
    const char *sub = argv[1];
    if (strcasecmp(sub, "monitor") == 0)
        return set_monitor(c, o, argc, argv, r, cap);
    for (size_t k = 0; k < sizeof named / sizeof named[0]; k++)
        if (strcasecmp(sub, named[k].sub) == 0)
            return set_named(c, o, argc, argv, k, r, cap);
    for (int i = 0; rewritten[i]; i++)
        if (strcasecmp(sub, rewritten[i]) == 0)
            return conf_reasonf(r, cap,
                           "'sentinel %s': not needed by this build (the "
                           "node keeps its id, epochs and peers in "
                           "dir/node.state): remove the line",
                           sub);
    return conf_reasonf(r, cap,
                   "'sentinel %s': Unrecognized sentinel configuration "
                   "statement (this build knows monitor, "
                   "down-after-milliseconds, failover-timeout, "
                   "parallel-syncs, auth-pass, ping-interval, self-fence)",
                   sub);
}

bool conf_sentinel_handles(const char *name)
{
    static const char *const names[] = {"sentinel", "replica-priority",
                                        "slave-priority", "sentinel-port",
                                        "replica-announce-ip",
                                        "slave-announce-ip", NULL};
    for (int i = 0; names[i]; i++)
        if (strcasecmp(name, names[i]) == 0)
            return true;
    return false;
}

int conf_sentinel_apply(cache_conf *c, replkv_opts *o, int argc, char **argv,
                        char *r, size_t cap)
{
    const char *name = argv[0];
    if (strcasecmp(name, "sentinel") == 0)
        return apply_sentinel(c, o, argc, argv, r, cap);
    if (argc != 2)
        return conf_reasonf(r, cap,
                       "'%s': Bad directive or wrong number of arguments",
                       name);
    long long v;
    if (strcasecmp(name, "replica-priority") == 0 ||
        strcasecmp(name, "slave-priority") == 0) {
        if (parse_range(argv[1], 0, 2147483647LL, &v) < 0)
            return conf_reasonf(r, cap, "'%s': argument must be between 0 and "
                                   "2147483647 inclusive",
                           name);
        if (lib_set(o, "replica-priority", argv[1], r, cap) < 0)
            return -1;
        c->replica_priority = v;
        return 0;
    }
    if (strcasecmp(name, "sentinel-port") == 0) {
        if (parse_range(argv[1], 0, 65535, &v) < 0)
            return conf_reasonf(r, cap, "'sentinel-port': argument must be "
                                   "between 0 and 65535 inclusive");
        c->sentinel_port = (int)v;
        return 0;
    }
    /* replica-announce-ip */
    if (argv[1][0] == '\0' || strlen(argv[1]) >= 64 ||
        strchr(argv[1], ' ') != NULL)
        return conf_reasonf(r, cap, "'%s': bad address '%s'", name, argv[1]);
    return lib_set(o, "replica-announce-ip", argv[1], r, cap);
}

int conf_sentinel_port(const cache_conf *c)
{
    if (c->sentinel_mode)
        return c->port;
    if (c->sentinel_name == NULL)
        return 0;
    if (c->sentinel_port >= 0)
        return c->sentinel_port;
    if (c->port < 1 || c->port > 65535 - CACHE_SENTINEL_PORT_OFFSET)
        return -1;
    return c->port + CACHE_SENTINEL_PORT_OFFSET;
}

int conf_sentinel_finish(cache_conf *c, replkv_opts *o, char *note,
                         size_t notecap, char *r, size_t cap)
{
    note[0] = '\0';
    if (c->sentinel_mode) {
        if (c->sentinel_name == NULL)
            return conf_reasonf(r, cap,
                           "--sentinel needs a 'sentinel monitor "
                           "<master-name> <ip> <redis-port> <quorum>' line");
        if (c->replicaof_host != NULL)
            return conf_reasonf(r, cap, "'replicaof': a Sentinel (--sentinel) "
                                   "holds no data and replicates nothing");
        if (c->port == 0)
            return conf_reasonf(r, cap, "'port': a Sentinel (--sentinel) needs "
                                   "its port (the Sentinel port, 26379 by "
                                   "default)");
        if (lib_set(o, "witness", "yes", r, cap) < 0)
            return -1;
        return 0;
    }
    if (c->sentinel_name == NULL) {
        if (c->sentinel_port > 0)
            return conf_reasonf(r, cap, "'sentinel-port' is set but there is no "
                                   "'sentinel monitor' line (failover is "
                                   "off)");
        return 0;
    }
    int sp = conf_sentinel_port(c);
    if (sp < 0)
        return conf_reasonf(r, cap,
                       "'sentinel-port': port %d + %d is over 65535: set "
                       "sentinel-port",
                       c->port, CACHE_SENTINEL_PORT_OFFSET);
    if (sp != 0 && (sp == c->port || sp == conf_effective_repl_port(c) ||
                    sp == c->metrics_port))
        return conf_reasonf(r, cap, "'sentinel-port' %d: must differ from port, "
                               "repl-port and metrics-port",
                       sp);
    if (c->replicaof_host != NULL) {
        /* Redis guides write both; with failover on the cluster decides
         * who is primary, so the library is not told. */
        snprintf(note, notecap,
                 "replicaof %s %d ignored for the role: with 'sentinel "
                 "monitor %s' the cluster decides the role (this node boots "
                 "read-only and follows the primary the cluster elected)",
                 c->replicaof_host, c->replicaof_port, c->sentinel_name);
        if (lib_set(o, "replicaof", "", r, cap) < 0)
            return -1;
        free(c->replicaof_host);
        c->replicaof_host = NULL;
        c->replicaof_port = 0;
    }
    return 0;
}
