/*
 * check_cache_conf.c - replkv-cache's configuration loader: quoting and
 * comments, every bad line reported with its file and line number, the
 * directives of features not built yet refused by name, the replication
 * directives (client port in, peer port to the library), the Sentinel
 * directives (the monitor's client port in, peer port to the library; the
 * master name checked), --sentinel, include, command line flags, and
 * CONFIG GET / SET formatting.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"

static cache_conf conf;
static replkv_opts *opts;
static conf_error err;

static void setup(void)
{
    ck_assert(conf_init(&conf));
    opts = replkv_opts_new();
    ck_assert_ptr_nonnull(opts);
    memset(&err, 0, sizeof err);
}

static void teardown(void)
{
    conf_free(&conf);
    replkv_opts_free(opts);
}

static int load(const char *text)
{
    return conf_load_string(&conf, opts, "test.conf", text, &err);
}

START_TEST(test_defaults)
{
    ck_assert_int_eq(conf.port, 6379);
    ck_assert_uint_eq(conf.nbind, 2);
    ck_assert_str_eq(conf.bind[0], "127.0.0.1");
    ck_assert_ptr_null(conf.requirepass);
    ck_assert_int_eq(conf.maxclients, 10000);
}
END_TEST

START_TEST(test_quoting_and_comments)
{
    const char *text = "# a comment\n"
                       "   \n"
                       "port 7000   \r\n"
                       "requirepass \"pa ss\\\"word\\x21\"\n"
                       "  # indented comment\n"
                       "bind 127.0.0.1 '::1'\n"
                       "TIMEOUT 30\n"
                       "maxmemory 100mb\n"
                       "maxmemory-policy allkeys-lru\n"
                       "loglevel warning\n"
                       "save \"\"\n"
                       "client-output-buffer-limit normal 10mb 5mb 10\n";
    ck_assert_int_eq(load(text), 0);
    ck_assert_int_eq(conf.port, 7000);
    ck_assert_str_eq(conf.requirepass, "pa ss\"word!");
    ck_assert_uint_eq(conf.nbind, 2);
    ck_assert_str_eq(conf.bind[1], "::1");
    ck_assert_int_eq(conf.timeout, 30);
    ck_assert_int_eq(conf.loglevel, REPLKV_LOG_WARNING);
    ck_assert_uint_eq(conf.obuf_hard, 10ull * 1024 * 1024);
    char v[64];
    ck_assert_int_eq(replkv_opts_get(opts, "maxmemory", v, sizeof v, NULL), 0);
    ck_assert_str_eq(v, "104857600");
    ck_assert_int_eq(replkv_opts_get(opts, "maxmemory-policy", v, sizeof v,
                                     NULL),
                     0);
    ck_assert_str_eq(v, "allkeys-lru");
    ck_assert_int_eq(replkv_opts_get(opts, "loglevel", v, sizeof v, NULL), 0);
    ck_assert_str_eq(v, "warning");
}
END_TEST

START_TEST(test_bad_lines)
{
    struct {
        const char *text, *want;
    } cases[] = {
        {"port 7000\nport abc\n",
         "test.conf:2: 'port': argument couldn't be parsed into an integer"},
        {"\n\n\nport 70000\n",
         "test.conf:4: 'port': argument must be between 0 and 65535 "
         "inclusive"},
        {"port 1 2\n", "test.conf:1: 'port': Bad directive or wrong number "
                       "of arguments"},
        {"nosuchthing yes\n", "test.conf:1: 'nosuchthing': Bad directive or "
                              "wrong number of arguments"},
        {"requirepass \"abc\n", "test.conf:1: Unbalanced quotes in "
                                "configuration line"},
        {"bind 127.0.0.1 not-an-ip\n",
         "test.conf:1: 'bind': 'not-an-ip' is not an IPv4 or IPv6 address"},
        {"daemonize yes\n", "test.conf:1: 'daemonize': 'daemonize yes' is not "
                            "supported by this build: run replkv-cache under "
                            "a supervisor"},
        {"loglevel loud\n", "test.conf:1: 'loglevel': Invalid log level. Must "
                            "be one of debug, verbose, notice, warning"},
        {"maxclients 0\n", "test.conf:1: 'maxclients': argument must be "
                           "between 1 and 1000000 inclusive"},
        {"client-output-buffer-limit master 1mb 0 0\n",
         "test.conf:1: 'client-output-buffer-limit': Invalid client class "
         "specified in buffer limit configuration."},
        {"client-output-buffer-limit replica 1mb 0\n",
         "test.conf:1: 'client-output-buffer-limit': Wrong number of "
         "arguments in buffer limit configuration."},
        {"client-output-buffer-limit slave 1zb 0 0\n",
         "test.conf:1: 'client-output-buffer-limit': Error in hard, soft or "
         "soft_seconds setting in buffer limit configuration."},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        teardown();
        setup();
        ck_assert_int_eq(load(cases[i].text), -1);
        ck_assert_str_eq(err.msg, cases[i].want);
    }
    /* A library option's reason comes from the library and names it. */
    teardown();
    setup();
    ck_assert_int_eq(load("# x\nmaxmemory 10zb\n"), -1);
    ck_assert_msg(strncmp(err.msg, "test.conf:2: ", 13) == 0 &&
                      strstr(err.msg, "maxmemory") != NULL,
                  "%s", err.msg);
}
END_TEST

START_TEST(test_unsupported)
{
    struct {
        const char *line, *why;
    } cases[] = {
        {"quorum 2", "the quorum is the last word of 'sentinel monitor'"},
        {"down-after-milliseconds 5",
         "write 'sentinel down-after-milliseconds <master-name> <ms>'"},
        {"masteruser u", "ACL users not built: use masterauth"},
        {"appendfilename x.aof", "the file is dir/appendonly.rkv"},
        {"rdbcompression yes", "no RDB files: use appendonly yes"},
        {"save 900 1", "no RDB save points: use appendonly yes"},
        {"repl-diskless-sync yes", "not a replication option of this build"},
        {"replica-serve-stale-data yes",
         "not a replication option of this build"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        teardown();
        setup();
        char text[128];
        snprintf(text, sizeof text, "port 1\n%s\n", cases[i].line);
        ck_assert_int_eq(load(text), -1);
        char name[64];
        sscanf(cases[i].line, "%63s", name);
        char want[256];
        snprintf(want, sizeof want,
                 "test.conf:2: '%s' is not supported yet by this build (%s)",
                 name, cases[i].why);
        ck_assert_str_eq(err.msg, want);
    }
}
END_TEST

static void lib_opt(const char *name, const char *want)
{
    char v[300];
    ck_assert_int_eq(replkv_opts_get(opts, name, v, sizeof v, NULL), 0);
    ck_assert_str_eq(v, want);
}

START_TEST(test_replication)
{
    const char *text = "port 7000\n"
                       "replicaof 10.0.0.1 6380\n"
                       "masterauth \"s3cret pw\"\n"
                       "requirepass \"s3cret pw\"\n"
                       "min-slaves-to-write 1\n"
                       "min-replicas-max-lag 5\n"
                       "repl-backlog-size 1mb\n"
                       "repl-timeout 30\n"
                       "repl-ping-slave-period 2\n"
                       "slave-read-only no\n";
    ck_assert_int_eq(load(text), 0);
    /* The primary's client port in the server's view, its peer port
     * (+ 10000) in the library's. */
    ck_assert_str_eq(conf.replicaof_host, "10.0.0.1");
    ck_assert_int_eq(conf.replicaof_port, 6380);
    lib_opt("replicaof", "10.0.0.1 16380");
    lib_opt("masterauth", "s3cret pw");
    lib_opt("requirepass", "s3cret pw");
    ck_assert_str_eq(conf.requirepass, "s3cret pw");
    lib_opt("min-replicas-to-write", "1");
    lib_opt("min-replicas-max-lag", "5");
    lib_opt("repl-backlog-size", "1048576");
    lib_opt("repl-timeout", "30");
    lib_opt("repl-ping-replica-period", "2");
    lib_opt("replica-read-only", "no");
    /* Redis's stock lines for the three classes all load; the replica
     * class goes to the library, the normal one stays in the server. */
    ck_assert_int_eq(load("client-output-buffer-limit normal 0 0 0\n"
                          "client-output-buffer-limit replica 256mb 64mb 60\n"
                          "client-output-buffer-limit pubsub 32mb 8mb 60\n"
                          "client-output-buffer-limit slave 32mb 8mb 30 "
                          "normal 2mb 1mb 5\n"),
                     0);
    lib_opt("client-output-buffer-limit", "replica 33554432 8388608 30");
    ck_assert_uint_eq(conf.obuf_hard, 2 * 1024 * 1024);
    ck_assert_uint_eq(conf.obuf_soft_seconds, 5);
    char v[128];
    ck_assert_int_eq(conf_get(&conf, "client-output-buffer-limit", v,
                              sizeof v),
                     0);
    ck_assert_str_eq(v, "normal 2097152 1048576 5 slave 33554432 8388608 30 "
                        "pubsub 0 0 0");
    ck_assert_int_eq(conf_get(&conf, "replicaof", v, sizeof v), 0);
    ck_assert_str_eq(v, "10.0.0.1 6380");
    ck_assert_int_eq(conf_get(&conf, "slaveof", v, sizeof v), 0);
    ck_assert_str_eq(v, "10.0.0.1 6380");

    /* repl-port: default port + 10000, or as set. */
    ck_assert_int_eq(conf_effective_repl_port(&conf), 17000);
    ck_assert_int_eq(load("repl-port 9000\n"), 0);
    ck_assert_int_eq(conf_effective_repl_port(&conf), 9000);
    ck_assert_int_eq(load("repl-port 0\n"), 0);
    ck_assert_int_eq(conf_effective_repl_port(&conf), 0);
    conf.repl_port = -1;
    ck_assert_int_eq(load("port 60000\n"), 0);
    ck_assert_int_eq(conf_effective_repl_port(&conf), -1);
    ck_assert_int_eq(conf_peer_port(55535), 65535);
    ck_assert_int_eq(conf_peer_port(55536), -1);
    ck_assert_int_eq(conf_peer_port(0), -1);

    /* slaveof no one undoes it, in the library too. */
    ck_assert_int_eq(load("slaveof no one\n"), 0);
    ck_assert_ptr_null(conf.replicaof_host);
    lib_opt("replicaof", "");
    ck_assert_int_eq(conf_get(&conf, "replicaof", v, sizeof v), 0);
    ck_assert_str_eq(v, "");

    struct {
        const char *text, *want;
    } bad[] = {
        {"replicaof h 70000\n", "test.conf:1: 'replicaof': argument must be "
                                "between 1 and 65535 inclusive"},
        {"replicaof h 60000\n",
         "test.conf:1: 'replicaof': the primary's repl-port would be 60000 + "
         "10000, over 65535 (replicaof takes the primary's client port)"},
        {"slaveof h\n", "test.conf:1: 'slaveof': Bad directive or wrong "
                        "number of arguments"},
        {"repl-port -1\n", "test.conf:1: 'repl-port': argument must be "
                           "between 0 and 65535 inclusive"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_int_eq(load(bad[i].text), -1);
        ck_assert_str_eq(err.msg, bad[i].want);
    }
    ck_assert_int_eq(load("min-replicas-to-write x\n"), -1);
    ck_assert_msg(strstr(err.msg, "min-replicas-to-write") != NULL, "%s",
                  err.msg);
    ck_assert_int_eq(load("slave-read-only maybe\n"), -1);
    ck_assert_msg(strncmp(err.msg, "test.conf:1: ", 13) == 0 &&
                      strstr(err.msg, "replica-read-only") != NULL,
                  "%s", err.msg);
    ck_assert_str_eq(conf_canonical_name("min-slaves-max-lag"),
                     "min-replicas-max-lag");
    ck_assert_str_eq(conf_canonical_name("port"), "port");
}
END_TEST

START_TEST(test_include)
{
    char dir[] = "/tmp/check_cache_conf_XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char inc[256], bad[256];
    snprintf(inc, sizeof inc, "%s/inc.conf", dir);
    snprintf(bad, sizeof bad, "%s/bad.conf", dir);
    FILE *f = fopen(inc, "w");
    fputs("timeout 5\n", f);
    fclose(f);
    f = fopen(bad, "w");
    fputs("# one\nappendfilename x.aof\n", f);
    fclose(f);
    char text[600];
    snprintf(text, sizeof text, "port 1\ninclude %s\n", inc);
    ck_assert_int_eq(load(text), 0);
    ck_assert_int_eq(conf.timeout, 5);
    snprintf(text, sizeof text, "port 1\ninclude \"%s\"\n", bad);
    ck_assert_int_eq(load(text), -1);
    char want[512];
    snprintf(want, sizeof want,
             "%s:2: 'appendfilename' is not supported yet by this build "
             "(the file is dir/appendonly.rkv)",
             bad);
    ck_assert_str_eq(err.msg, want);
    ck_assert_int_eq(load("include /nonexistent/x.conf\n"), -1);
    ck_assert_msg(strncmp(err.msg, "test.conf:1: ", 13) == 0, "%s", err.msg);
    unlink(inc);
    unlink(bad);
    rmdir(dir);
}
END_TEST

START_TEST(test_args)
{
    char *argv[] = {"--port", "7001", "--bind", "127.0.0.1", "::1",
                    "--requirepass", "s3cret", "--maxmemory", "1mb"};
    ck_assert_int_eq(conf_load_args(&conf, opts, 9, argv, &err), 0);
    ck_assert_int_eq(conf.port, 7001);
    ck_assert_uint_eq(conf.nbind, 2);
    ck_assert_str_eq(conf.requirepass, "s3cret");

    char *repl[] = {"--replicaof", "h", "1", "--slave-read-only", "no"};
    ck_assert_int_eq(conf_load_args(&conf, opts, 5, repl, &err), 0);
    ck_assert_str_eq(conf.replicaof_host, "h");
    char *bad[] = {"--port", "7001", "--sentinel", "monitor", "m"};
    ck_assert_int_eq(conf_load_args(&conf, opts, 5, bad, &err), -1);
    ck_assert_str_eq(err.msg, "command line:2: 'sentinel monitor': wrong "
                              "number of arguments (sentinel monitor "
                              "<master-name> <ip> <redis-port> <quorum>)");
    char *missing[] = {"/nonexistent/replkv.conf"};
    ck_assert_int_eq(conf_load_args(&conf, opts, 1, missing, &err), -1);
    ck_assert(strstr(err.msg, "/nonexistent/replkv.conf") != NULL);
    char *help[] = {"--help"};
    ck_assert_int_eq(conf_load_args(&conf, opts, 1, help, &err), 1);
}
END_TEST

START_TEST(test_get_set)
{
    char v[256], reason[256];
    ck_assert_int_eq(conf_set(&conf, "timeout", "15", reason, sizeof reason),
                     0);
    ck_assert_int_eq(conf_get(&conf, "timeout", v, sizeof v), 0);
    ck_assert_str_eq(v, "15");
    ck_assert_int_eq(conf_set(&conf, "bind", "127.0.0.1 ::1", reason,
                              sizeof reason),
                     0);
    ck_assert_int_eq(conf_get(&conf, "bind", v, sizeof v), 0);
    ck_assert_str_eq(v, "127.0.0.1 ::1");
    ck_assert_int_eq(conf_set(&conf, "client-output-buffer-limit",
                              "normal 1mb 0 0", reason, sizeof reason),
                     0);
    ck_assert_int_eq(conf_get(&conf, "client-output-buffer-limit", v,
                              sizeof v),
                     0);
    ck_assert_str_eq(v, "normal 1048576 0 0 slave 268435456 67108864 60 "
                        "pubsub 0 0 0");
    ck_assert_int_eq(conf_set(&conf, "port", "x", reason, sizeof reason), -1);
    ck_assert_int_eq(conf_set(&conf, "pidfile", "/x", reason, sizeof reason),
                     -1);
    ck_assert_int_eq(conf_set(&conf, "requirepass", "", reason, sizeof reason),
                     0);
    ck_assert_ptr_null(conf.requirepass);
    cache_conf copy;
    ck_assert(conf_copy(&copy, &conf));
    ck_assert_str_eq(copy.bind[1], "::1");
    conf_free(&copy);
}
END_TEST

START_TEST(test_metrics_port)
{
    ck_assert_int_eq(conf.metrics_port, 0);
    ck_assert_int_eq(load("metrics-port 9121\n"), 0);
    ck_assert_int_eq(conf.metrics_port, 9121);
    char v[64];
    ck_assert_int_eq(conf_get(&conf, "metrics-port", v, sizeof v), 0);
    ck_assert_str_eq(v, "9121");
    char reason[256];
    /* Fixed at startup, as repl-port. */
    ck_assert_int_eq(
        conf_set(&conf, "metrics-port", "9122", reason, sizeof reason), -1);
    teardown();
    setup();
    ck_assert_int_eq(load("metrics-port 65536\n"), -1);
    ck_assert_str_eq(err.msg, "test.conf:1: 'metrics-port': argument must be "
                              "between 0 and 65535 inclusive");
}
END_TEST

static int load_conf_only(const char *text)
{
    return conf_load_string(&conf, NULL, "test.conf", text, &err);
}

START_TEST(test_sentinel_lines)
{
    /* Parsing and the server's own fields (no library options). */
    ck_assert_int_eq(
        load_conf_only("port 7000\n"
                       "replicaof 127.0.0.1 7001\n"
                       "sentinel monitor mymaster 127.0.0.1 7001 2\n"
                       "sentinel down-after-milliseconds mymaster 1000\n"
                       "sentinel failover-timeout mymaster 5000\n"
                       "sentinel parallel-syncs mymaster 1\n"
                       "sentinel auth-pass mymaster s3cret\n"
                       "replica-priority 50\n"),
        0);
    ck_assert_str_eq(conf.sentinel_name, "mymaster");
    ck_assert_str_eq(conf.monitor_host, "127.0.0.1");
    ck_assert_int_eq(conf.monitor_port, 7001);
    ck_assert_int_eq(conf.quorum, 2);
    ck_assert_int_eq(conf.replica_priority, 50);
    ck_assert_int_eq(conf_sentinel_port(&conf), 27000);
    char note[512], reason[512];
    ck_assert_int_eq(conf_sentinel_finish(&conf, NULL, note, sizeof note,
                                          reason, sizeof reason),
                     0);
    /* replicaof with failover on: noted, and the cluster decides. */
    ck_assert_msg(strstr(note, "replicaof 127.0.0.1 7001 ignored") != NULL,
                  "%s", note);
    ck_assert_ptr_null(conf.replicaof_host);

    struct {
        const char *text, *want;
    } bad[] = {
        {"sentinel down-after-milliseconds mymaster 1000\n",
         "test.conf:1: 'sentinel down-after-milliseconds mymaster': No such "
         "master with specified name (a 'sentinel monitor mymaster ...' "
         "line must come first)"},
        {"sentinel monitor mymaster 127.0.0.1 6379 2\n"
         "\n"
         "sentinel down-after-milliseconds other 1000\n",
         "test.conf:3: 'sentinel down-after-milliseconds other': No such "
         "master with specified name (sentinel monitor names 'mymaster')"},
        {"sentinel monitor mymaster 127.0.0.1 6379 0\n",
         "test.conf:1: 'sentinel monitor': Quorum must be 1 or greater (and "
         "at most 32)"},
        {"sentinel monitor mymaster 127.0.0.1 60000 2\n",
         "test.conf:1: 'sentinel monitor': the primary's repl-port would be "
         "60000 + 10000, over 65535 (sentinel monitor takes the primary's "
         "client port)"},
        {"sentinel monitor mymaster 127.0.0.1 6379 2\n"
         "sentinel parallel-syncs mymaster x\n",
         "test.conf:2: 'sentinel parallel-syncs': 'x' is not an integer "
         "between 1 and 32"},
        {"sentinel monitor mymaster 127.0.0.1 6379 2\n"
         "sentinel monitor other 127.0.0.1 6380 2\n",
         "test.conf:2: 'sentinel monitor other': this node already monitors "
         "'mymaster' (one cluster per node)"},
        {"sentinel notify-script mymaster /x\n",
         "test.conf:1: 'sentinel notify-script': Unrecognized sentinel "
         "configuration statement (this build knows monitor, "
         "down-after-milliseconds, failover-timeout, parallel-syncs, "
         "auth-pass, ping-interval, self-fence)"},
        {"sentinel myid 0123\n",
         "test.conf:1: 'sentinel myid': not needed by this build (the node "
         "keeps its id, epochs and peers in dir/node.state): remove the "
         "line"},
        {"replica-priority -1\n",
         "test.conf:1: 'replica-priority': argument must be between 0 and "
         "2147483647 inclusive"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        teardown();
        setup();
        ck_assert_int_eq(load_conf_only(bad[i].text), -1);
        ck_assert_str_eq(err.msg, bad[i].want);
    }

    /* The Sentinel port default would pass 65535. */
    teardown();
    setup();
    ck_assert_int_eq(
        load_conf_only("port 50000\nsentinel monitor m 127.0.0.1 6379 1\n"),
        0);
    ck_assert_int_eq(conf_sentinel_finish(&conf, NULL, note, sizeof note,
                                          reason, sizeof reason),
                     -1);
    ck_assert_str_eq(reason, "'sentinel-port': port 50000 + 20000 is over "
                             "65535: set sentinel-port");
}
END_TEST

START_TEST(test_sentinel_library)
{
    /* The library is handed the primary's peer port. */
    ck_assert_int_eq(load("port 7000\n"
                          "sentinel monitor mymaster 127.0.0.1 7001 2\n"
                          "sentinel down-after-milliseconds mymaster 900\n"
                          "replica-priority 7\n"),
                     0);
    lib_opt("sentinel monitor", "mymaster 127.0.0.1 17001 2");
    lib_opt("sentinel down-after-milliseconds", "900");
    lib_opt("replica-priority", "7");
}
END_TEST

START_TEST(test_sentinel_mode)
{
    char path[] = "/tmp/check_cache_conf_sentinelXXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    const char *text = "port 26380\n"
                       "sentinel monitor mymaster 127.0.0.1 6379 2\n";
    ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    char *argv[] = {"--sentinel", path};
    ck_assert_int_eq(conf_load_args(&conf, NULL, 2, argv, &err), 0);
    ck_assert(conf.sentinel_mode);
    ck_assert_int_eq(conf.port, 26380);
    ck_assert_int_eq(conf_sentinel_port(&conf), 26380);
    ck_assert(!conf.protected_mode);
    teardown();
    setup();
    /* Redis's order works too; no monitor is an error. */
    char *after[] = {"--port", "26381", "--sentinel"};
    ck_assert_int_eq(conf_load_args(&conf, NULL, 3, after, &err), 0);
    ck_assert(conf.sentinel_mode);
    ck_assert_int_eq(conf.port, 26381);
    char note[256], reason[256];
    ck_assert_int_eq(conf_sentinel_finish(&conf, NULL, note, sizeof note,
                                          reason, sizeof reason),
                     -1);
    ck_assert_str_eq(reason, "--sentinel needs a 'sentinel monitor "
                             "<master-name> <ip> <redis-port> <quorum>' "
                             "line");
    unlink(path);
    teardown();
    setup();
    /* The directives as --name value flags, the mode flag among them. */
    char *flags[] = {"--sentinel", "--port", "26382", "--sentinel",
                     "monitor", "mymaster", "127.0.0.1", "7001", "2",
                     "--sentinel", "down-after-milliseconds", "mymaster",
                     "500"};
    ck_assert_int_eq(conf_load_args(&conf, opts, 13, flags, &err), 0);
    ck_assert(conf.sentinel_mode);
    ck_assert_int_eq(conf.port, 26382);
    ck_assert_str_eq(conf.sentinel_name, "mymaster");
    lib_opt("sentinel monitor", "mymaster 127.0.0.1 17001 2");
    lib_opt("sentinel down-after-milliseconds", "500");
    ck_assert_int_eq(conf_sentinel_finish(&conf, opts, note, sizeof note,
                                          reason, sizeof reason),
                     0);
    lib_opt("witness", "yes");
    char *bad[] = {"--sentinel", "down-after-milliseconds", "other", "500"};
    ck_assert_int_eq(conf_load_args(&conf, opts, 4, bad, &err), -1);
    ck_assert_str_eq(err.msg, "command line:1: 'sentinel "
                              "down-after-milliseconds other': No such "
                              "master with specified name (sentinel monitor "
                              "names 'mymaster')");
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("cache_conf");
    TCase *t = tcase_create("conf");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, test_defaults);
    tcase_add_test(t, test_quoting_and_comments);
    tcase_add_test(t, test_bad_lines);
    tcase_add_test(t, test_unsupported);
    tcase_add_test(t, test_replication);
    tcase_add_test(t, test_include);
    tcase_add_test(t, test_args);
    tcase_add_test(t, test_get_set);
    tcase_add_test(t, test_metrics_port);
    tcase_add_test(t, test_sentinel_lines);
    tcase_add_test(t, test_sentinel_library);
    tcase_add_test(t, test_sentinel_mode);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    SRunner *r = srunner_create(suite());
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed == 0 ? 0 : 1;
}
