/*
 * main.c - replkv-cache's entry point: read the configuration (file and
 * --flags, like redis-server), open the library node, run the server on
 * the main thread's libuv loop until SHUTDOWN, SIGTERM or SIGINT, then close
 * everything in order and exit 0. "replkv-cache --sentinel sentinel.conf"
 * runs a witness: a node that votes and monitors, holds no data and
 * answers only on its Sentinel port.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include <uv.h>

#include "conf.h"
#include "events.h"
#include "log.h"
#include "server.h"

/* Descriptors the process needs besides its clients: listeners, the log,
 * the library's loop and a margin, as redis-server's CONFIG_MIN_RESERVED_FDS. */
#define RESERVED_FDS 32

/* Raises the descriptor limit to fit maxclients, or lowers maxclients to
 * what the limit allows, as redis-server does at startup. */
static void adjust_open_files(cache_conf *conf, cache_log *log)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    rlim_t want = (rlim_t)conf->maxclients + RESERVED_FDS;
    if (rl.rlim_cur >= want)
        return;
    struct rlimit nl = rl;
    nl.rlim_cur = want <= rl.rlim_max ? want : rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &nl) == 0 && nl.rlim_cur >= want)
        return;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    long long fit = (long long)rl.rlim_cur - RESERVED_FDS;
    if (fit < 1)
        fit = 1;
    log_msg(log, LOG_WARNING,
            "You requested maxclients of %lld requiring at least %llu max "
            "file descriptors. Server can't set maximum open files to %llu "
            "because of OS error: %s. Current maximum open files is %llu. "
            "maxclients has been reduced to %lld to compensate for low "
            "ulimit.",
            conf->maxclients, (unsigned long long)want,
            (unsigned long long)want, strerror(errno),
            (unsigned long long)rl.rlim_cur, fit);
    conf->maxclients = fit;
}

/* Points the library's peer listener at repl-port (default: port + 10000)
 * on the first bind address. Returns 0, or -1 after printing why. */
static int setup_repl_port(cache_conf *conf, replkv_opts *opts)
{
    int rport = conf_effective_repl_port(conf);
    if (rport < 0) {
        fprintf(stderr,
                "\n*** FATAL CONFIG FILE ERROR (replkv-cache %s) ***\n"
                "'repl-port': port %d + %d is over 65535: set repl-port "
                "(0 = no replicas)\n",
                REPLKV_VERSION_STRING, conf->port, CACHE_REPL_PORT_OFFSET);
        return -1;
    }
    if (rport != 0 && rport == conf->port) {
        fprintf(stderr,
                "\n*** FATAL CONFIG FILE ERROR (replkv-cache %s) ***\n"
                "'repl-port': must differ from port (%d)\n",
                REPLKV_VERSION_STRING, conf->port);
        return -1;
    }
    conf->repl_port = rport;
    char v[16];
    snprintf(v, sizeof v, "%d", rport);
    if (replkv_opts_set(opts, "port", v) != 0) {
        fprintf(stderr, "replkv-cache: %s\n", replkv_last_error());
        return -1;
    }
    /* The library listens on one address: the first required one. */
    const char *addr = NULL;
    for (size_t i = 0; i < conf->nbind && addr == NULL; i++)
        if (conf->bind[i][0] != '-')
            addr = conf->bind[i];
    if (addr == NULL && conf->nbind > 0)
        addr = conf->bind[0] + 1;
    if (addr != NULL) {
        if (strcmp(addr, "*") == 0)
            addr = "0.0.0.0";
        else if (strcmp(addr, "::*") == 0)
            addr = "::";
        if (replkv_opts_set(opts, "bind", addr) != 0) {
            fprintf(stderr, "replkv-cache: %s\n", replkv_last_error());
            return -1;
        }
    }
    return 0;
}

/* Lets every close callback run, then releases the loop. */
static void close_loop(uv_loop_t *loop, cache_log *log)
{
    for (int i = 0; i < 1000 && uv_run(loop, UV_RUN_NOWAIT) != 0; i++)
        ;
    if (uv_loop_close(loop) != 0)
        log_msg(log, LOG_WARNING, "libuv loop still had handles at exit");
}

static void write_pidfile(const char *path, cache_log *log)
{
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        log_msg(log, LOG_WARNING, "Failed to write PID file %s: %s", path,
                strerror(errno));
        return;
    }
    fprintf(f, "%d\n", (int)getpid());
    fclose(f);
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);

    cache_log log;
    log_init(&log);
    cache_conf conf;
    replkv_opts *opts = replkv_opts_new();
    if (opts == NULL || !conf_init(&conf)) {
        fprintf(stderr, "replkv-cache: out of memory\n");
        return 1;
    }
    conf_error err;
    memset(&err, 0, sizeof err);
    int rc = conf_load_args(&conf, opts, argc - 1, argv + 1, &err);
    if (rc == 1) {
        fputs(err.msg, stdout);
        conf_free(&conf);
        replkv_opts_free(opts);
        return 0;
    }
    if (rc < 0) {
        fprintf(stderr,
                "\n*** FATAL CONFIG FILE ERROR (replkv-cache %s) ***\n%s\n",
                REPLKV_VERSION_STRING, err.msg);
        conf_free(&conf);
        replkv_opts_free(opts);
        return 1;
    }
    char note[512], reason[512];
    if (conf_sentinel_finish(&conf, opts, note, sizeof note, reason,
                             sizeof reason) != 0) {
        fprintf(stderr,
                "\n*** FATAL CONFIG FILE ERROR (replkv-cache %s) ***\n%s\n",
                REPLKV_VERSION_STRING, reason);
        conf_free(&conf);
        replkv_opts_free(opts);
        return 1;
    }
    if (setup_repl_port(&conf, opts) != 0) {
        conf_free(&conf);
        replkv_opts_free(opts);
        return 1;
    }
    if (argc == 1 || strncmp(argv[1], "--", 2) == 0)
        fprintf(stderr, "Warning: no config file specified, using the "
                        "default config. In order to specify a config file "
                        "use %s /path/to/replkv.conf\n",
                argv[0]);
    rc = log_open(&log, conf.logfile);
    if (rc < 0) {
        fprintf(stderr, "Can't open the log file %s: %s\n", conf.logfile,
                strerror(-rc));
        conf_free(&conf);
        replkv_opts_free(opts);
        return 1;
    }
    log_set_level(&log, conf.loglevel);
    log_set_role(&log, conf.sentinel_mode             ? 'X'
                       : conf.replicaof_host != NULL ||
                               conf.sentinel_name != NULL
                           ? 'S'
                           : 'M');
    replkv_opts_set_log(opts, log_from_lib, &log);
    log_msg(&log, LOG_NOTICE, "oO0OoO0OoO0Oo replkv-cache is starting oO0OoO0OoO0Oo");
    log_msg(&log, LOG_NOTICE,
            "replkv-cache version=%s, libreplkv=%s, bits=%d, pid=%d, just "
            "started",
            REPLKV_VERSION_STRING, replkv_version_string(),
            (int)(sizeof(void *) * 8), (int)getpid());
    if (conf.config_file)
        log_msg(&log, LOG_NOTICE, "Configuration loaded from %s",
                conf.config_file);
    adjust_open_files(&conf, &log);
    if (note[0] != '\0')
        log_msg(&log, LOG_NOTICE, "%s", note);
    if (conf.sentinel_name != NULL)
        log_msg(&log, LOG_NOTICE,
                "Failover on: sentinel monitor %s %s %d (repl-port %d) "
                "quorum %d; Sentinel port %d%s",
                conf.sentinel_name, conf.monitor_host, conf.monitor_port,
                conf_peer_port(conf.monitor_port), conf.quorum,
                conf_sentinel_port(&conf),
                conf.sentinel_mode ? " (witness: no data port)" : "");

    /* The library keeps its files (appendonly) in the same dir. */
    if (conf.dir != NULL && replkv_opts_set(opts, "dir", conf.dir) != 0) {
        log_msg(&log, LOG_WARNING, "dir: %s", replkv_last_error());
        conf_free(&conf);
        replkv_opts_free(opts);
        log_close(&log);
        return 1;
    }

    /* The loop exists before the node: the library's role events are
     * queued for it from replkv_open() on. */
    uv_loop_t loop;
    uv_loop_init(&loop);
    cache_events *events = events_new(&loop, opts, &log);
    if (events == NULL) {
        log_msg(&log, LOG_WARNING, "Could not set the failover callbacks");
        replkv_opts_free(opts);
        conf_free(&conf);
        close_loop(&loop, &log);
        log_close(&log);
        return 1;
    }

    replkv_t *kv = NULL;
    rc = replkv_open(opts, &kv);
    replkv_opts_free(opts);
    if (rc != 0) {
        log_msg(&log, LOG_WARNING,
                "Could not open the keyspace (repl-port %d): %s (%s)",
                conf.repl_port, replkv_strerror(rc), replkv_last_error());
        conf_free(&conf);
        events_close(events);
        close_loop(&loop, &log);
        events_free(events);
        log_close(&log);
        return 1;
    }

    char *pidfile = conf.pidfile ? strdup(conf.pidfile) : NULL;
    cache_server *srv = calloc(1, sizeof *srv);
    int exit_code = 0;
    if (srv == NULL || server_start(srv, &loop, &conf, kv, &log) != 0) {
        exit_code = 1;
        conf_free(&conf);
    } else {
        events_attach(events, srv);
        if (pidfile)
            write_pidfile(pidfile, &log);
        log_msg(&log, LOG_NOTICE, "Ready to accept connections");
        uv_run(&loop, UV_RUN_DEFAULT);
        log_msg(&log, LOG_NOTICE, "Closing connections and the keyspace...");
    }
    if (srv != NULL)
        server_stop(srv);
    events_close(events);
    close_loop(&loop, &log);
    free(srv);
    replkv_close(kv);
    events_free(events);
    if (pidfile) {
        unlink(pidfile);
        free(pidfile);
    }
    if (exit_code == 0)
        log_msg(&log, LOG_WARNING, "replkv-cache is now ready to exit, bye "
                                   "bye...");
    log_close(&log);
    return exit_code;
}
