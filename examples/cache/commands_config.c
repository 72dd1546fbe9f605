/*
 * commands_config.c - CONFIG GET / SET / RESETSTAT / REWRITE / HELP. The
 * server's own parameters live in cache_conf (conf.c); the library's go
 * through replkv_config_get/set. CONFIG SET with several pairs is all or
 * nothing: server parameters are checked on a copy first, library options
 * are rolled back if a later one fails, and the listeners are rebound last.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cmd.h"
#include "util.h"

/* The library's runtime options as CONFIG GET / SET name them, Redis's
 * old names included (CONFIG GET shows the name its pattern matched). */
static const struct lib_param {
    const char *name, *lib;
} lib_params[] = {
    {"maxmemory", "maxmemory"},
    {"maxmemory-policy", "maxmemory-policy"},
    {"maxmemory-samples", "maxmemory-samples"},
    {"proto-max-bulk-len", "proto-max-bulk-len"},
    {"hz", "hz"},
    {"masterauth", "masterauth"},
    {"repl-backlog-size", "repl-backlog-size"},
    {"repl-timeout", "repl-timeout"},
    {"repl-ping-replica-period", "repl-ping-replica-period"},
    {"repl-ping-slave-period", "repl-ping-replica-period"},
    {"min-replicas-to-write", "min-replicas-to-write"},
    {"min-slaves-to-write", "min-replicas-to-write"},
    {"min-replicas-max-lag", "min-replicas-max-lag"},
    {"min-slaves-max-lag", "min-replicas-max-lag"},
    {"replica-read-only", "replica-read-only"},
    {"slave-read-only", "replica-read-only"},
    {"appendonly", "appendonly"},
    {"appendfsync", "appendfsync"},
    {"auto-aof-rewrite-percentage", "auto-aof-rewrite-percentage"},
    {"auto-aof-rewrite-min-size", "auto-aof-rewrite-min-size"},
    {"aof-load-truncated", "aof-load-truncated"},
    {NULL, NULL},
};

typedef struct seen_list {
    const char *names[64];
    size_t n;
} seen_list;

static bool seen_add(seen_list *s, const char *name)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->names[i] == name)
            return false;
    if (s->n < 64)
        s->names[s->n++] = name;
    return true;
}

static void config_get(cache_client *c)
{
    cache_server *srv = c->srv;
    rbuf out = {0};
    size_t pairs = 0;
    seen_list seen = {{0}, 0};
    char val[1024];
    for (size_t j = 2; j < c->argc; j++) {
        const char *pat = c->argv[j];
        size_t plen = c->argvlen[j];
        for (const conf_param *p = conf_params(); p->name; p++) {
            if (!util_glob_match(pat, plen, p->name, strlen(p->name), true))
                continue;
            if (!seen_add(&seen, p->name))
                continue;
            conf_get(&srv->conf, p->name, val, sizeof val);
            reply_bulk_cstr(&out, p->name);
            reply_bulk_cstr(&out, val);
            pairs++;
        }
        for (size_t i = 0; lib_params[i].name; i++) {
            const char *name = lib_params[i].name;
            if (!util_glob_match(pat, plen, name, strlen(name), true))
                continue;
            if (!seen_add(&seen, name))
                continue;
            if (replkv_config_get(srv->kv, lib_params[i].lib, val, sizeof val,
                                  NULL) != 0)
                continue;
            reply_bulk_cstr(&out, name);
            reply_bulk_cstr(&out, val);
            pairs++;
        }
    }
    reply_array(c->reply, pairs * 2);
    reply_raw(c->reply, out.data, out.len);
    rbuf_free(&out);
}

static bool is_server_param(const char *name, bool *runtime)
{
    for (const conf_param *p = conf_params(); p->name; p++)
        if (strcasecmp(name, p->name) == 0) {
            *runtime = p->runtime;
            return true;
        }
    return false;
}

/* What a CONFIG SET changed in the server itself, applied once every
 * parameter checked out. On success the server owns next. */
static int apply_server_conf(cache_server *srv, cache_conf *next,
                             char *reason, size_t cap, char *culprit,
                             size_t ccap)
{
    cache_conf *cur = &srv->conf;
    if (next->repl_obuf_hard != cur->repl_obuf_hard ||
        next->repl_obuf_soft != cur->repl_obuf_soft ||
        next->repl_obuf_soft_seconds != cur->repl_obuf_soft_seconds) {
        char v[128];
        conf_repl_obuf(next, v, sizeof v);
        if (replkv_config_set(srv->kv, "client-output-buffer-limit", v) != 0) {
            snprintf(reason, cap, "%s", replkv_last_error());
            snprintf(culprit, ccap, "client-output-buffer-limit");
            return -1; /* first, so nothing else changed yet */
        }
    }
    /* requirepass is the peers' secret too: both change or neither. */
    const char *np = next->requirepass ? next->requirepass : "";
    const char *cp = cur->requirepass ? cur->requirepass : "";
    bool newpass = strcmp(np, cp) != 0;
    if (newpass && replkv_config_set(srv->kv, "requirepass", np) != 0) {
        snprintf(reason, cap, "%s", replkv_last_error());
        snprintf(culprit, ccap, "requirepass");
        return -1;
    }
    bool rebind = next->port != cur->port || next->nbind != cur->nbind;
    for (size_t i = 0; !rebind && i < next->nbind; i++)
        rebind = strcmp(next->bind[i], cur->bind[i]) != 0;
    if (rebind) {
        if (server_rebind(srv, next, reason, cap) != 0) {
            if (newpass)
                replkv_config_set(srv->kv, "requirepass", cp);
            snprintf(culprit, ccap, "%s",
                     next->port != cur->port ? "port" : "bind");
            return -1;
        }
        log_msg(srv->log, LOG_NOTICE, "Listening again after CONFIG SET "
                                      "(port %d)", next->port);
    }
    if (next->loglevel != cur->loglevel) {
        static const char *const names[] = {"debug", "verbose", "notice",
                                            "warning"};
        log_set_level(srv->log, next->loglevel);
        replkv_config_set(srv->kv, "loglevel", names[next->loglevel]);
    }
    conf_free(cur);
    *cur = *next;
    memset(next, 0, sizeof *next);
    return 0;
}

typedef struct lib_undo {
    const char *name;
    char old[512];
} lib_undo;

/* Checks and applies one pair. Returns 0; -1 with reason for a bad value;
 * -2 after replying "unknown option" itself. */
static int set_one(cache_client *c, const char *name, const char *value,
                   cache_conf *next, lib_undo *undo, size_t *nundo,
                   bool *server_changed, char *reason, size_t cap)
{
    cache_server *srv = c->srv;
    bool runtime = false;
    for (size_t i = 0; lib_params[i].name; i++) {
        if (strcmp(name, lib_params[i].name) != 0)
            continue;
        name = lib_params[i].lib;
        if (*nundo >= 16) {
            snprintf(reason, cap, "too many options at once");
            return -1;
        }
        lib_undo *u = &undo[*nundo];
        u->name = lib_params[i].lib;
        if (replkv_config_get(srv->kv, name, u->old, sizeof u->old, NULL) != 0 ||
            replkv_config_set(srv->kv, name, value) != 0) {
            snprintf(reason, cap, "%s", replkv_last_error());
            return -1;
        }
        (*nundo)++;
        return 0;
    }
    char why_not[256];
    if (conf_unsupported_reason(name, why_not, sizeof why_not) != NULL) {
        snprintf(reason, cap, "%s", why_not);
        return -1;
    }
    if (!is_server_param(name, &runtime)) {
        c_errf(c, "ERR Unknown option or number of arguments for CONFIG SET "
                  "- '%s'",
               name);
        return -2;
    }
    if (!runtime) {
        snprintf(reason, cap, "can't set immutable config");
        return -1;
    }
    if (conf_set(next, name, value, reason, cap) != 0)
        return -1;
    *server_changed = true;
    return 0;
}

static void config_set(cache_client *c)
{
    cache_server *srv = c->srv;
    if (c->argc < 4 || c->argc % 2 != 0) {
        c_arity(c, "config|set");
        return;
    }
    cache_conf next;
    if (!conf_copy(&next, &srv->conf)) {
        c_err(c, "ERR out of memory");
        return;
    }
    lib_undo undo[16];
    size_t nundo = 0;
    char reason[512] = "", culprit[64] = "";
    bool server_changed = false;
    int rc = 0;
    for (size_t j = 2; j + 1 < c->argc && rc == 0; j += 2) {
        size_t nl = c->argvlen[j] < sizeof culprit - 1 ? c->argvlen[j]
                                                       : sizeof culprit - 1;
        memcpy(culprit, c->argv[j], nl);
        culprit[nl] = '\0';
        for (char *p = culprit; *p; p++)
            if (*p >= 'A' && *p <= 'Z')
                *p = (char)(*p - 'A' + 'a');
        char *value = strndup(c->argv[j + 1], c->argvlen[j + 1]);
        if (value == NULL) {
            snprintf(reason, sizeof reason, "out of memory");
            rc = -1;
            break;
        }
        rc = set_one(c, culprit, value, &next, undo, &nundo, &server_changed,
                     reason, sizeof reason);
        free(value);
    }
    if (rc == 0 && server_changed)
        rc = apply_server_conf(srv, &next, reason, sizeof reason, culprit,
                               sizeof culprit);
    conf_free(&next);
    if (rc == 0) {
        char v[64];
        if (replkv_config_get(srv->kv, "proto-max-bulk-len", v, sizeof v,
                              NULL) == 0)
            srv->max_bulk = strtoull(v, NULL, 10);
        if (replkv_config_get(srv->kv, "replica-read-only", v, sizeof v,
                              NULL) == 0)
            srv->replica_ro = strcmp(v, "no") != 0;
        c_ok(c);
        return;
    }
    while (nundo > 0) {
        nundo--;
        replkv_config_set(srv->kv, undo[nundo].name, undo[nundo].old);
    }
    if (rc == -1)
        c_errf(c, "ERR CONFIG SET failed (possibly related to argument '%s') "
                  "- %s",
               culprit, reason);
}

static void config_resetstat(cache_client *c)
{
    cache_server *srv = c->srv;
    memset(srv->cmd_stats, 0, cmd_count * sizeof *srv->cmd_stats);
    srv->stat_connections = srv->stat_rejected_conn = 0;
    srv->stat_commands = srv->ops_last_count = 0;
    srv->stat_net_in = srv->stat_net_out = srv->stat_errors = 0;
    srv->stat_expired_clients = srv->stat_obuf_closed = 0;
    srv->stat_qbuf_closed = 0;
    srv->nerrstats = 0;
    memset(srv->ops_samples, 0, sizeof srv->ops_samples);
    c_ok(c);
}

void cmd_config(cache_client *c)
{
    if (c_arg_is(c, 1, "get")) {
        if (c->argc < 3)
            c_arity(c, "config|get");
        else
            config_get(c);
    } else if (c_arg_is(c, 1, "set")) {
        config_set(c);
    } else if (c_arg_is(c, 1, "resetstat") && c->argc == 2) {
        config_resetstat(c);
    } else if (c_arg_is(c, 1, "rewrite") && c->argc == 2) {
        if (c->srv->conf.config_file == NULL)
            c_err(c, "ERR The server is running without a config file");
        else
            c_err(c, "ERR CONFIG REWRITE is not supported by this build");
    } else if (c_arg_is(c, 1, "help") && c->argc == 2) {
        static const char *const lines[] = {
            "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "GET <pattern>",
            "    Return parameters matching the glob-like <pattern> and their "
            "values.",
            "SET <directive> <value>",
            "    Set the configuration <directive> to <value>.",
            "RESETSTAT",
            "    Reset statistics reported by the INFO command.",
            "HELP",
            "    Print this help."};
        size_t n = sizeof lines / sizeof lines[0];
        reply_array(c->reply, n);
        for (size_t i = 0; i < n; i++)
            reply_simple(c->reply, lines[i]);
    } else {
        c_subcommand_error(c);
    }
}
