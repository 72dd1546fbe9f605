/*
 * info.c - INFO: Redis's sections and field names, from the server itself
 * (server, clients, stats, cpu, commandstats, errorstats) merged with the
 * library's replkv_info() sections (server, memory, stats, keyspace) under
 * one header each, the server's fields first. Replication is the library's
 * section with client ports (replication.c).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "cmd.h"
#include "replication.h"
#include "sentinel.h"
#include "util.h"

/* Appends the library's section (without its header), skipping fields the
 * server already wrote since start. */
void info_merge_lib(cache_server *srv, rbuf *t, size_t start,
                    const char *section)
{
    char *lib = NULL;
    if (replkv_info(srv->kv, section, &lib) != 0 || lib == NULL)
        return;
    const char *p = strstr(lib, "\r\n");
    p = p ? p + 2 : lib;
    while (*p) {
        const char *eol = strstr(p, "\r\n");
        size_t n = eol ? (size_t)(eol - p) : strlen(p);
        const char *colon = memchr(p, ':', n);
        if (n > 0 && p[0] != '#' && colon != NULL) {
            size_t klen = (size_t)(colon - p) + 1;
            bool dup = false;
            /* Every field line of the section starts right after "\n". */
            for (size_t i = start; i + klen < t->len && !dup; i++)
                if (t->data[i] == '\n' &&
                    memcmp(t->data + i + 1, p, klen) == 0)
                    dup = true;
            if (!dup) {
                reply_raw(t, p, n);
                reply_raw(t, "\r\n", 2);
            }
        }
        p += n + (eol ? 2 : 0);
    }
    replkv_free(lib);
}

static void section_server(cache_server *srv, rbuf *t)
{
    size_t start = t->len;
    struct utsname u;
    if (uname(&u) != 0)
        memset(&u, 0, sizeof u);
    uint64_t up = (util_mono_ms() - srv->start_ms) / 1000;
    char exe[512];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[n > 0 ? n : 0] = '\0';
    int port = srv->conf.port;
    char hz[32] = "10";
    replkv_config_get(srv->kv, "hz", hz, sizeof hz, NULL);
    reply_addf(t, "# Server\r\n");
    reply_addf(t,
         "redis_version:7.0.0\r\nreplkv_version:%s\r\n"
         "redis_git_sha1:00000000\r\nredis_git_dirty:0\r\n"
         "redis_mode:standalone\r\nos:%s %s %s\r\narch_bits:%d\r\n"
         "multiplexing_api:libuv\r\nlibuv_version:%s\r\n"
         "process_id:%d\r\nrun_id:%s\r\ntcp_port:%d\r\n"
         "server_time_usec:%lld\r\nuptime_in_seconds:%llu\r\n"
         "uptime_in_days:%llu\r\nhz:%s\r\nconfigured_hz:%s\r\n"
         "executable:%s\r\nconfig_file:%s\r\nio_threads_active:0\r\n",
         REPLKV_VERSION_STRING, u.sysname, u.release, u.machine,
         (int)(sizeof(void *) * 8), uv_version_string(), (int)getpid(),
         srv->run_id, port, (long long)util_now_ms() * 1000,
         (unsigned long long)up, (unsigned long long)(up / 86400), hz, hz,
         exe, srv->conf.config_file ? srv->conf.config_file : "");
    info_merge_lib(srv, t, start, "server");
}

static void section_clients(cache_server *srv, rbuf *t)
{
    size_t max_in = 0, max_out = 0;
    for (const cache_client *c = srv->clients; c; c = c->next) {
        if (c->qcap > max_in)
            max_in = c->qcap;
        size_t o = c->obuf.len + c->wbuf.len;
        if (o > max_out)
            max_out = o;
    }
    reply_addf(t,
         "# Clients\r\nconnected_clients:%zu\r\ncluster_connections:0\r\n"
         "maxclients:%lld\r\nclient_recent_max_input_buffer:%zu\r\n"
         "client_recent_max_output_buffer:%zu\r\nblocked_clients:0\r\n"
         "tracking_clients:0\r\nclients_in_timeout_table:0\r\n",
         srv->nclients, srv->conf.maxclients, max_in, max_out);
}

static void section_memory(cache_server *srv, rbuf *t)
{
    size_t start = t->len;
    reply_addf(t, "# Memory\r\n");
    long pages = 0, rss = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f != NULL) {
        if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
            rss = 0;
        fclose(f);
    }
    info_merge_lib(srv, t, start, "memory");
    reply_addf(t, "used_memory_rss:%lld\r\nmem_allocator:libc\r\n",
         (long long)rss * sysconf(_SC_PAGESIZE));
}

static void section_persistence(cache_server *srv, rbuf *t)
{
    /* The library's fields (aof_enabled, aof_last_write_status, ...), then
     * the RDB fields clients look for: a snapshot is what BGSAVE makes. */
    reply_addf(t, "# Persistence\r\n");
    size_t start = t->len;
    info_merge_lib(srv, t, start, "persistence");
    reply_addf(t, "async_loading:0\r\nrdb_bgsave_in_progress:%d\r\n",
         srv->bgsave_running ? 1 : 0);
}

static void section_stats(cache_server *srv, rbuf *t)
{
    size_t start = t->len;
    uint64_t ops = 0;
    for (int i = 0; i < 16; i++)
        ops += srv->ops_samples[i];
    reply_addf(t,
         "# Stats\r\ntotal_connections_received:%llu\r\n"
         "total_commands_processed:%llu\r\ninstantaneous_ops_per_sec:%llu\r\n"
         "total_net_input_bytes:%llu\r\ntotal_net_output_bytes:%llu\r\n"
         "rejected_connections:%llu\r\n",
         (unsigned long long)srv->stat_connections,
         (unsigned long long)srv->stat_commands,
         (unsigned long long)(ops / 16),
         (unsigned long long)srv->stat_net_in,
         (unsigned long long)srv->stat_net_out,
         (unsigned long long)srv->stat_rejected_conn);
    info_merge_lib(srv, t, start, "stats");
    reply_addf(t,
         "total_error_replies:%llu\r\n"
         "client_query_buffer_limit_disconnections:%llu\r\n"
         "client_output_buffer_limit_disconnections:%llu\r\n"
         "idle_client_disconnections:%llu\r\n",
         (unsigned long long)srv->stat_errors,
         (unsigned long long)srv->stat_qbuf_closed,
         (unsigned long long)srv->stat_obuf_closed,
         (unsigned long long)srv->stat_expired_clients);
}

static void section_replication(cache_server *srv, rbuf *t)
{
    repl_info_section(srv, t);
}

static void section_cpu(rbuf *t)
{
    struct rusage self, main_thread;
    getrusage(RUSAGE_SELF, &self);
    getrusage(RUSAGE_THREAD, &main_thread);
    reply_addf(t,
         "# CPU\r\nused_cpu_sys:%ld.%06ld\r\nused_cpu_user:%ld.%06ld\r\n"
         "used_cpu_sys_main_thread:%ld.%06ld\r\n"
         "used_cpu_user_main_thread:%ld.%06ld\r\n",
         (long)self.ru_stime.tv_sec, (long)self.ru_stime.tv_usec,
         (long)self.ru_utime.tv_sec, (long)self.ru_utime.tv_usec,
         (long)main_thread.ru_stime.tv_sec, (long)main_thread.ru_stime.tv_usec,
         (long)main_thread.ru_utime.tv_sec,
         (long)main_thread.ru_utime.tv_usec);
}

static void section_commandstats(cache_server *srv, rbuf *t)
{
    reply_addf(t, "# Commandstats\r\n");
    for (size_t i = 0; i < cmd_count; i++) {
        const cmd_stat *s = &srv->cmd_stats[i];
        if (s->calls == 0 && s->rejected == 0 && s->failed == 0)
            continue;
        reply_addf(t,
             "cmdstat_%s:calls=%llu,usec=%llu,usec_per_call=%.2f,"
             "rejected_calls=%llu,failed_calls=%llu\r\n",
             cmd_table[i].name, (unsigned long long)s->calls,
             (unsigned long long)s->usec,
             s->calls ? (double)s->usec / (double)s->calls : 0.0,
             (unsigned long long)s->rejected, (unsigned long long)s->failed);
    }
}

static void section_errorstats(cache_server *srv, rbuf *t)
{
    reply_addf(t, "# Errorstats\r\n");
    for (size_t i = 0; i < srv->nerrstats; i++)
        reply_addf(t, "errorstat_%s:count=%llu\r\n", srv->errstats[i].prefix,
             (unsigned long long)srv->errstats[i].count);
}

static void section_keyspace(cache_server *srv, rbuf *t)
{
    size_t start = t->len;
    reply_addf(t, "# Keyspace\r\n");
    info_merge_lib(srv, t, start, "keyspace");
}

enum {
    S_SERVER = 1 << 0,
    S_CLIENTS = 1 << 1,
    S_MEMORY = 1 << 2,
    S_PERSISTENCE = 1 << 3,
    S_STATS = 1 << 4,
    S_REPLICATION = 1 << 5,
    S_CPU = 1 << 6,
    S_COMMANDSTATS = 1 << 7,
    S_ERRORSTATS = 1 << 8,
    S_KEYSPACE = 1 << 9,
    S_SENTINEL = 1 << 10,
};

#define S_DEFAULT                                                              \
    (S_SERVER | S_CLIENTS | S_MEMORY | S_PERSISTENCE | S_STATS |               \
     S_REPLICATION | S_CPU | S_ERRORSTATS | S_KEYSPACE)
#define S_ALL (S_DEFAULT | S_COMMANDSTATS | S_SENTINEL)

static unsigned section_bits(const char *s, size_t n)
{
    static const struct {
        const char *name;
        unsigned bits;
    } names[] = {{"server", S_SERVER},           {"clients", S_CLIENTS},
                 {"memory", S_MEMORY},           {"persistence", S_PERSISTENCE},
                 {"stats", S_STATS},             {"replication", S_REPLICATION},
                 {"cpu", S_CPU},                 {"commandstats", S_COMMANDSTATS},
                 {"errorstats", S_ERRORSTATS},   {"keyspace", S_KEYSPACE},
                 {"sentinel", S_SENTINEL},
                 {"default", S_DEFAULT},         {"all", S_ALL},
                 {"everything", S_ALL}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (util_eq_nocase(s, n, names[i].name))
            return names[i].bits;
    return 0; /* unknown sections are empty, as in Redis */
}

static void build(cache_server *srv, unsigned bits, rbuf *t)
{
    bool first = true;
#define SECTION(bit, call)                                                     \
    if (bits & (bit)) {                                                        \
        if (!first)                                                            \
            reply_raw(t, "\r\n", 2);                                           \
        first = false;                                                         \
        call;                                                                  \
    }
    SECTION(S_SERVER, section_server(srv, t))
    SECTION(S_CLIENTS, section_clients(srv, t))
    SECTION(S_MEMORY, section_memory(srv, t))
    SECTION(S_PERSISTENCE, section_persistence(srv, t))
    SECTION(S_STATS, section_stats(srv, t))
    SECTION(S_REPLICATION, section_replication(srv, t))
    SECTION(S_CPU, section_cpu(t))
    SECTION(S_COMMANDSTATS, section_commandstats(srv, t))
    SECTION(S_ERRORSTATS, section_errorstats(srv, t))
    SECTION(S_KEYSPACE, section_keyspace(srv, t))
    /* Only with failover on: Redis shows it only on a Sentinel. */
    if (srv->conf.sentinel_name == NULL)
        bits &= ~(unsigned)S_SENTINEL;
    SECTION(S_SENTINEL, sentinel_info_section(srv, t))
#undef SECTION
}

int info_build(cache_server *srv, const char *section, char **out,
               size_t *len)
{
    unsigned bits = section ? section_bits(section, strlen(section))
                            : S_DEFAULT;
    rbuf t = {0};
    build(srv, bits, &t);
    if (t.oom || !rbuf_reserve(&t, 1)) {
        rbuf_free(&t);
        *out = NULL;
        return -1;
    }
    t.data[t.len] = '\0';
    *out = t.data;
    *len = t.len;
    return 0;
}

void cmd_info(cache_client *c)
{
    unsigned bits = c->argc == 1 ? S_DEFAULT : 0;
    for (size_t i = 1; i < c->argc; i++)
        bits |= section_bits(c->argv[i], c->argvlen[i]);
    rbuf t = {0};
    build(c->srv, bits, &t);
    if (t.oom)
        c_err(c, "ERR out of memory");
    else
        reply_bulk(c->reply, t.data, t.len);
    rbuf_free(&t);
}
