/*
 * repl_kv.c - the libreplkv side of the REPLICATION bench section: a
 * primary in this process, written through the public C API by one thread,
 * and each replica in a child process (this binary re-executed with
 * --child), so primary and replica never share an allocator, a lock or an
 * address space, only the machine's CPUs, as two redis-servers do.
 *
 *   repl_kv [-n keys] [-r rate] [-t seconds] [-w warmup] [-R runs]
 *           [-s sections]
 *
 * sections is a subset of "abcd" (default all):
 *   a  end to end: -n SETs ("key:%012u", 100-byte values) on a primary with
 *      one replica attached, timed from the first write to the moment the
 *      replica's replkv_wait_applied() on the last write's offset returns
 *      (CLOCK_MONOTONIC is shared by the two processes); then the two
 *      digests must be equal (checked outside the timing). Best of -R runs.
 *   b  write-to-visible latency at -r writes/s for -t seconds: the writer
 *      stamps each replkv_set() call and return; a thread in the replica process
 *      checks replkv_exists() for the next key (the stream applies in
 *      order) and stamps the first time it sees it; after a miss it waits
 *      as REPL_POLL_US says (see child_watch). Latency is the sighting
 *      minus the return (lat_*), and minus the call (lat_call_*: the
 *      reference repl_redis also has, its send of the SET). The first -w
 *      writes are warm-up and not counted.
 *   c  full resync: the primary holds -n keys; a fresh replica process
 *      opens a node, then the clock starts, replkv_replicaof() is called,
 *      and it stops once the replica has applied the primary's offset, its
 *      link is up, no sync is in progress and it counts -n keys. Digests
 *      are compared afterwards.
 *   d  primary write throughput (the write loop alone) with no replica
 *      (port open, so the stream is journaled), then with two replica
 *      processes attached; also a standalone node (no port) for reference.
 *      Best of -R runs each.
 *
 * Output is one "replkv <metric> <value>" line per figure on stdout, for
 * tests/bench/replication.sh; progress and errors go to stderr. Every child
 * gets SIGKILL if this process dies (PR_SET_PDEATHSIG) and exits on EOF on
 * its stdin, and every wait is bounded.
 *
 * Child protocol (one line in, one line out, on the child's stdin/stdout):
 *   link               -> ok            (once the link to the primary is up)
 *   wait OFF           -> ok T_NS       (replkv_wait_applied returned at T)
 *   digest             -> 32 hex chars
 *   count              -> N
 *   sync PORT OFF N    -> ok T0_NS T1_NS
 *   watch N            -> ready, then N uint64 visibility times, binary
 *   quit               -> bye
 */
#include <replkv.h>

#include <arpa/inet.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define KEY_LEN 16 /* "key:%012u" */
#define VAL_LEN 100
#define WAIT_MS 120000 /* every wait in this tool gives up after this */
#define MAX_RUNS 20

typedef struct config {
    uint32_t keys;
    double rate;
    double seconds;
    uint32_t warmup;
    int runs;
    char sections[8];
} config;

/* ------------------------------------------------------------- helpers */

static void die(const char *what, int rc)
{
    fprintf(stderr, "repl_kv[%d]: %s: %s %s\n", (int)getpid(), what,
            replkv_err_name(rc), replkv_last_error());
    exit(1);
}

static void fail(const char *msg)
{
    fprintf(stderr, "repl_kv[%d]: %s\n", (int)getpid(), msg);
    exit(1);
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n);
    if (p == NULL)
        fail("out of memory");
    return p;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void sleep_us(long us)
{
    struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
    nanosleep(&ts, NULL);
}

static void emit(const char *metric, double v)
{
    printf("replkv %s %.0f\n", metric, v);
    fflush(stdout);
}

static void emit_f(const char *metric, double v)
{
    printf("replkv %s %.2f\n", metric, v);
    fflush(stdout);
}

static void format_key(char *out, uint32_t i)
{
    char tmp[KEY_LEN + 1];
    snprintf(tmp, sizeof tmp, "key:%012u", (unsigned)i);
    memcpy(out, tmp, KEY_LEN);
}

static char *make_keys(uint32_t n)
{
    char *keys = xmalloc((size_t)n * KEY_LEN);
    for (uint32_t i = 0; i < n; i++)
        format_key(keys + (size_t)i * KEY_LEN, i);
    return keys;
}

static const unsigned char *value_bytes(void)
{
    static unsigned char val[VAL_LEN];
    for (size_t i = 0; i < VAL_LEN; i++)
        val[i] = (unsigned char)('a' + i % 26);
    return val;
}

/* A port that was free a moment ago (the kernel's pick). */
static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0)
        fail("free_port: no port");
    close(fd);
    return ntohs(a.sin_port);
}

static void on_log(replkv_t *kv, const replkv_log_event *ev, void *ud)
{
    (void)kv;
    (void)ud;
    fprintf(stderr, "repl_kv[%d]: log: %s\n", (int)getpid(), ev->message);
}

/* port 0: no listener; primary_port 0: not a replica. A port already taken
 * (free_port raced with someone) is retried with another. */
static replkv_t *open_node(int *port, int primary_port)
{
    for (int attempt = 0; attempt < 5; attempt++) {
        replkv_opts *o = replkv_opts_new();
        char v[64];
        if (o == NULL)
            fail("replkv_opts_new");
        replkv_opts_set(o, "loglevel", "warning");
        replkv_opts_set_log(o, on_log, NULL);
        if (port != NULL) {
            *port = free_port();
            snprintf(v, sizeof v, "%d", *port);
            replkv_opts_set(o, "port", v);
        }
        if (primary_port != 0) {
            snprintf(v, sizeof v, "127.0.0.1 %d", primary_port);
            replkv_opts_set(o, "replicaof", v);
        }
        replkv_t *kv = NULL;
        int rc = replkv_open(o, &kv);
        replkv_opts_free(o);
        if (rc == 0)
            return kv;
        if (rc != REPLKV_ENET || port == NULL)
            die("replkv_open", rc);
    }
    fail("replkv_open: no port could be listened on");
    return NULL;
}

static void hex16(const unsigned char d[16], char out[33])
{
    for (int i = 0; i < 16; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static void load(replkv_t *kv, const char *keys, uint32_t n)
{
    const unsigned char *val = value_bytes();
    for (uint32_t i = 0; i < n; i++) {
        int rc = replkv_set(kv, keys + (size_t)i * KEY_LEN, KEY_LEN, val,
                            VAL_LEN, 0, 0);
        if (rc != 1)
            die("replkv_set", rc);
    }
}

/* ------------------------------------------------- child: the replica */

static void child_wait_link(replkv_t *kv)
{
    for (int i = 0; i < WAIT_MS / 5; i++) {
        replkv_repl_info in = {.size = sizeof in};
        replkv_repl_info_get(kv, &in);
        if (in.link_up && !in.sync_in_progress)
            return;
        sleep_us(5000);
    }
    fail("replica: link to the primary never came up");
}

static int64_t replica_offset(replkv_t *kv)
{
    replkv_repl_info in = {.size = sizeof in};
    replkv_repl_info_get(kv, &in);
    return in.offset;
}

/* Watches for keys 0..n-1 in order (the stream applies in order), stamping
 * the first sighting of each. REPL_POLL_US picks how it waits after a
 * miss: a number of us to sleep (0: sched_yield, i.e. spin), or "wait" to
 * block in replkv_wait_applied() until the replica's offset moves past the
 * one read before the miss (no lost wake-up: a key applied after that read
 * has moved the offset already). */
static void child_watch(replkv_t *kv, uint32_t n)
{
    char *keys = make_keys(n);
    uint64_t *seen = xmalloc((size_t)n * sizeof *seen);
    const char *mode = getenv("REPL_POLL_US");
    bool block = mode != NULL && strcmp(mode, "wait") == 0;
    long poll_us = mode != NULL && !block ? atol(mode) : 0;
    prctl(PR_SET_TIMERSLACK, 1UL);
    printf("ready\n");
    fflush(stdout);
    uint64_t deadline = now_ns() + (uint64_t)WAIT_MS * 1000000u;
    uint32_t next = 0;
    unsigned misses = 0;
    while (next < n) {
        int64_t off = block ? replica_offset(kv) : 0;
        if (replkv_exists(kv, keys + (size_t)next * KEY_LEN, KEY_LEN) == 1) {
            seen[next++] = now_ns();
            continue;
        }
        if (block) {
            int rc = replkv_wait_applied(kv, off + 1, 1000);
            if (rc != 0 && rc != REPLKV_ETIMEDOUT)
                die("replkv_wait_applied", rc);
        } else if (poll_us > 0) {
            sleep_us(poll_us);
        } else {
            sched_yield(); /* the node's I/O thread first, if it wants */
        }
        if (++misses % 64 == 0 && now_ns() > deadline)
            fail("replica: watch timed out");
    }
    fwrite(seen, sizeof *seen, n, stdout);
    fflush(stdout);
    free(seen);
    free(keys);
}

static void child_sync(replkv_t *kv, int port, int64_t off, uint64_t n)
{
    uint64_t t0 = now_ns();
    int rc = replkv_replicaof(kv, "127.0.0.1", port);
    if (rc != 0)
        die("replkv_replicaof", rc);
    rc = replkv_wait_applied(kv, off, WAIT_MS);
    if (rc != 0)
        die("replkv_wait_applied", rc);
    /* Applied the offset; make sure it is also done loading and serving. */
    for (int i = 0;; i++) {
        replkv_repl_info in = {.size = sizeof in};
        uint64_t count = 0;
        replkv_repl_info_get(kv, &in);
        replkv_count(kv, &count);
        if (in.link_up && !in.sync_in_progress && count == n)
            break;
        if (i > WAIT_MS * 10)
            fail("replica: full sync never completed");
        sleep_us(100);
    }
    uint64_t t1 = now_ns();
    printf("ok %" PRIu64 " %" PRIu64 "\n", t0, t1);
}

static int child_main(int primary_port)
{
    replkv_t *kv = open_node(NULL, primary_port);
    char line[256];
    while (fgets(line, sizeof line, stdin) != NULL) {
        long long a = 0, b = 0, c = 0;
        if (strncmp(line, "link", 4) == 0) {
            child_wait_link(kv);
            printf("ok\n");
        } else if (sscanf(line, "wait %lld", &a) == 1) {
            int rc = replkv_wait_applied(kv, a, WAIT_MS);
            uint64_t t = now_ns();
            if (rc != 0)
                die("replkv_wait_applied", rc);
            printf("ok %" PRIu64 "\n", t);
        } else if (strncmp(line, "digest", 6) == 0) {
            unsigned char d[16];
            char hex[33];
            replkv_digest(kv, d);
            hex16(d, hex);
            printf("%s\n", hex);
        } else if (strncmp(line, "count", 5) == 0) {
            uint64_t n = 0;
            replkv_count(kv, &n);
            printf("%" PRIu64 "\n", n);
        } else if (sscanf(line, "sync %lld %lld %lld", &a, &b, &c) == 3) {
            child_sync(kv, (int)a, b, (uint64_t)c);
        } else if (sscanf(line, "watch %lld", &a) == 1) {
            child_watch(kv, (uint32_t)a);
        } else if (strncmp(line, "quit", 4) == 0) {
            printf("bye\n");
            fflush(stdout);
            break;
        } else {
            printf("err unknown command\n");
        }
        fflush(stdout);
    }
    replkv_close(kv);
    return 0;
}

/* ------------------------------------------------- parent: the driver */

typedef struct child {
    pid_t pid;
    FILE *to, *from;
} child;

static child spawn_replica(int primary_port)
{
    int in[2], out[2];
    child c = {0};
    char port[16], self[4096];
    snprintf(port, sizeof port, "%d", primary_port);
    /* The real path, not /proc/self/exe, so that profilers find symbols. */
    ssize_t sl = readlink("/proc/self/exe", self, sizeof self - 1);
    if (sl <= 0)
        fail("readlink /proc/self/exe");
    self[sl] = '\0';
    if (pipe(in) != 0 || pipe(out) != 0)
        fail("pipe");
    fflush(NULL);
    pid_t parent = getpid();
    c.pid = fork();
    if (c.pid < 0)
        fail("fork");
    if (c.pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(1);
        dup2(in[0], 0);
        dup2(out[1], 1);
        close(in[0]);
        close(in[1]);
        close(out[0]);
        close(out[1]);
        execl(self, "repl_kv", "--child", port, (char *)NULL);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    c.to = fdopen(in[1], "w");
    c.from = fdopen(out[0], "r");
    if (c.to == NULL || c.from == NULL)
        fail("fdopen");
    return c;
}

/* Sends one command and reads its one-line answer into buf. */
static void ask(child *c, char *buf, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void ask(child *c, char *buf, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(c->to, fmt, ap);
    va_end(ap);
    fputc('\n', c->to);
    fflush(c->to);
    if (fgets(buf, (int)cap, c->from) == NULL)
        fail("replica process went away");
    buf[strcspn(buf, "\n")] = '\0';
}

static void end_replica(child *c)
{
    char buf[64];
    ask(c, buf, sizeof buf, "quit");
    fclose(c->to);
    fclose(c->from);
    for (int i = 0; i < 500; i++) {
        if (waitpid(c->pid, NULL, WNOHANG) == c->pid)
            return;
        sleep_us(10000);
    }
    kill(c->pid, SIGKILL);
    waitpid(c->pid, NULL, 0);
}

static void expect_ok(const char *buf, const char *what)
{
    if (strncmp(buf, "ok", 2) != 0) {
        fprintf(stderr, "repl_kv: %s: replica said '%s'\n", what, buf);
        exit(1);
    }
}

static bool digests_equal(replkv_t *p, child *c)
{
    unsigned char d[16];
    char hex[33], buf[64];
    replkv_digest(p, d);
    hex16(d, hex);
    ask(c, buf, sizeof buf, "digest");
    return strcmp(hex, buf) == 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Best, median, worst of v[n] (sorts v). Best is the headline: on a
 * shared machine other load only ever slows a run down. */
static void emit_best(const char *metric, double *v, int n)
{
    char name[96];
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    emit(metric, v[n - 1]);
    snprintf(name, sizeof name, "%s_median", metric);
    emit(name, v[n / 2]);
    snprintf(name, sizeof name, "%s_worst", metric);
    emit(name, v[0]);
}

/* a: end to end through one replica. */
static void bench_e2e(const config *cfg, const char *keys)
{
    double e2e[MAX_RUNS], wr[MAX_RUNS];
    char buf[128];
    for (int r = 0; r < cfg->runs; r++) {
        int port;
        replkv_t *p = open_node(&port, 0);
        child c = spawn_replica(port);
        ask(&c, buf, sizeof buf, "link");
        expect_ok(buf, "link");

        uint64_t t0 = now_ns();
        load(p, keys, cfg->keys);
        uint64_t tw = now_ns();
        int64_t off = 0;
        replkv_last_offset(p, &off);
        ask(&c, buf, sizeof buf, "wait %" PRId64, off);
        expect_ok(buf, "wait");
        uint64_t t1 = strtoull(buf + 3, NULL, 10);
        if (!digests_equal(p, &c))
            fail("end to end: replica digest differs from the primary's");
        e2e[r] = cfg->keys * 1e9 / (double)(t1 - t0);
        wr[r] = cfg->keys * 1e9 / (double)(tw - t0);
        fprintf(stderr,
                "repl_kv: a run %d/%d: %.0f writes/s end to end, primary "
                "write loop %.0f/s, digests equal\n",
                r + 1, cfg->runs, e2e[r], wr[r]);
        end_replica(&c);
        replkv_close(p);
    }
    emit("e2e_keys", cfg->keys);
    emit_best("e2e_writes_per_sec", e2e, cfg->runs);
    emit_best("e2e_primary_loop_writes_per_sec", wr, cfg->runs);
}

/* b: write-to-visible latency at a fixed rate. */
static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static double pct_us(const int64_t *v, size_t n, double p)
{
    size_t rank = (size_t)(p * (double)n + 0.999999);
    if (rank < 1)
        rank = 1;
    if (rank > n)
        rank = n;
    return (double)v[rank - 1] / 1000.0;
}

/* PREFIX_p50_us .. PREFIX_max_us of seen[i] - from[i] (lat: scratch). */
static void emit_latencies(const char *prefix, const uint64_t *seen,
                           const uint64_t *from, int64_t *lat, size_t m)
{
    static const struct {
        const char *name;
        double p;
    } pct[] = {{"p50", 0.50}, {"p90", 0.90}, {"p99", 0.99}, {"p999", 0.999}};
    char name[64];
    for (size_t i = 0; i < m; i++) {
        int64_t d = (int64_t)(seen[i] - from[i]);
        lat[i] = d < 0 ? 0 : d;
    }
    qsort(lat, m, sizeof *lat, cmp_i64);
    for (size_t i = 0; i < sizeof pct / sizeof pct[0]; i++) {
        snprintf(name, sizeof name, "%s_%s_us", prefix, pct[i].name);
        emit_f(name, pct_us(lat, m, pct[i].p));
    }
    snprintf(name, sizeof name, "%s_max_us", prefix);
    emit_f(name, (double)lat[m - 1] / 1000.0);
}

static void bench_latency(const config *cfg)
{
    uint32_t n = (uint32_t)(cfg->rate * cfg->seconds) + cfg->warmup;
    char *keys = make_keys(n);
    const unsigned char *val = value_bytes();
    uint64_t *ret = xmalloc((size_t)n * sizeof *ret);
    uint64_t *call = xmalloc((size_t)n * sizeof *call);
    uint64_t *seen = xmalloc((size_t)n * sizeof *seen);
    char buf[128];
    int port;
    replkv_t *p = open_node(&port, 0);
    child c = spawn_replica(port);
    ask(&c, buf, sizeof buf, "link");
    expect_ok(buf, "link");
    ask(&c, buf, sizeof buf, "watch %u", n);
    if (strcmp(buf, "ready") != 0)
        fail("watch: replica not ready");

    /* Sleep to each write's slot on an absolute schedule: no drift, and
     * a late write goes at once (the schedule does not stretch). */
    prctl(PR_SET_TIMERSLACK, 1UL);
    uint64_t period = (uint64_t)(1e9 / cfg->rate);
    uint64_t start = now_ns() + 1000000;
    uint64_t late = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t due = start + (uint64_t)i * period;
        struct timespec ts = {(time_t)(due / 1000000000u),
                              (long)(due % 1000000000u)};
        if (now_ns() < due)
            clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
        call[i] = now_ns();
        int rc = replkv_set(p, keys + (size_t)i * KEY_LEN, KEY_LEN, val,
                            VAL_LEN, 0, 0);
        ret[i] = now_ns();
        if (rc != 1)
            die("replkv_set", rc);
        late += ret[i] > due + period;
    }
    double achieved = (n - 1) * 1e9 / (double)(ret[n - 1] - ret[0]);
    if (fread(seen, sizeof *seen, n, c.from) != n)
        fail("watch: short read from the replica");
    if (!digests_equal(p, &c))
        fail("latency: replica digest differs from the primary's");
    end_replica(&c);
    replkv_close(p);

    size_t m = n - cfg->warmup;
    emit("lat_writes", (double)m);
    emit("lat_target_rate", cfg->rate);
    emit("lat_achieved_rate", achieved);
    emit("lat_writes_behind_schedule", (double)late);
    int64_t *lat = xmalloc(m * sizeof *lat);
    emit_latencies("lat", seen + cfg->warmup, ret + cfg->warmup, lat, m);
    emit_latencies("lat_call", seen + cfg->warmup, call + cfg->warmup, lat, m);
    free(lat);
    free(seen);
    free(call);
    free(ret);
    free(keys);
}

/* c: full resync of keys already on the primary. */
static void bench_fullsync(const config *cfg, const char *keys)
{
    double secs[MAX_RUNS];
    char buf[128];
    int port;
    replkv_t *p = open_node(&port, 0);
    load(p, keys, cfg->keys);
    int64_t off = 0;
    replkv_last_offset(p, &off);
    for (int r = 0; r < cfg->runs; r++) {
        child c = spawn_replica(0);
        ask(&c, buf, sizeof buf, "count"); /* the node is open */
        ask(&c, buf, sizeof buf, "sync %d %" PRId64 " %u", port, off,
            cfg->keys);
        expect_ok(buf, "sync");
        unsigned long long t0 = 0, t1 = 0;
        if (sscanf(buf, "ok %llu %llu", &t0, &t1) != 2)
            fail("sync: bad answer");
        if (!digests_equal(p, &c))
            fail("full sync: replica digest differs from the primary's");
        secs[r] = (double)(t1 - t0) / 1e9;
        fprintf(stderr, "repl_kv: c run %d/%d: full sync of %u keys in %.3f s,"
                        " digests equal\n",
                r + 1, cfg->runs, cfg->keys, secs[r]);
        end_replica(&c);
    }
    replkv_close(p);
    qsort(secs, (size_t)cfg->runs, sizeof *secs, cmp_double);
    emit("fullsync_keys", cfg->keys);
    emit_f("fullsync_ms", secs[0] * 1000);
    emit_f("fullsync_ms_median", secs[cfg->runs / 2] * 1000);
    emit_f("fullsync_ms_worst", secs[cfg->runs - 1] * 1000);
}

/* d: the primary's own write loop with 0 and 2 replicas attached. */
static double timed_load(replkv_t *p, const char *keys, uint32_t n)
{
    uint64_t t0 = now_ns();
    load(p, keys, n);
    return n * 1e9 / (double)(now_ns() - t0);
}

static void bench_fanout(const config *cfg, const char *keys)
{
    double alone[MAX_RUNS], zero[MAX_RUNS], two[MAX_RUNS], two_e2e[MAX_RUNS];
    char buf[128];
    for (int r = 0; r < cfg->runs; r++) {
        replkv_t *s = open_node(NULL, 0);
        alone[r] = timed_load(s, keys, cfg->keys);
        replkv_close(s);

        int port;
        replkv_t *p = open_node(&port, 0);
        zero[r] = timed_load(p, keys, cfg->keys);
        replkv_close(p);

        p = open_node(&port, 0);
        child c1 = spawn_replica(port), c2 = spawn_replica(port);
        ask(&c1, buf, sizeof buf, "link");
        expect_ok(buf, "link");
        ask(&c2, buf, sizeof buf, "link");
        expect_ok(buf, "link");
        uint64_t t0 = now_ns();
        two[r] = timed_load(p, keys, cfg->keys);
        int64_t off = 0;
        replkv_last_offset(p, &off);
        ask(&c1, buf, sizeof buf, "wait %" PRId64, off);
        expect_ok(buf, "wait");
        uint64_t t1 = strtoull(buf + 3, NULL, 10);
        ask(&c2, buf, sizeof buf, "wait %" PRId64, off);
        expect_ok(buf, "wait");
        uint64_t t2 = strtoull(buf + 3, NULL, 10);
        two_e2e[r] = cfg->keys * 1e9 / (double)((t1 > t2 ? t1 : t2) - t0);
        if (!digests_equal(p, &c1) || !digests_equal(p, &c2))
            fail("two replicas: a replica digest differs from the primary's");
        fprintf(stderr,
                "repl_kv: d run %d/%d: standalone %.0f/s, primary 0 replicas "
                "%.0f/s, 2 replicas %.0f/s (both caught up at %.0f/s)\n",
                r + 1, cfg->runs, alone[r], zero[r], two[r], two_e2e[r]);
        end_replica(&c1);
        end_replica(&c2);
        replkv_close(p);
    }
    emit_best("standalone_writes_per_sec", alone, cfg->runs);
    emit_best("primary0_writes_per_sec", zero, cfg->runs);
    emit_best("primary2_writes_per_sec", two, cfg->runs);
    emit_best("primary2_e2e_writes_per_sec", two_e2e, cfg->runs);
}

/* ------------------------------------------------------------------ main */

static void usage(void)
{
    fprintf(stderr, "usage: repl_kv [-n keys] [-r rate] [-t seconds] "
                    "[-w warmup] [-R runs] [-s abcd]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--child") == 0)
        return child_main(atoi(argv[2]));

    config cfg = {.keys = 1000000,
                  .rate = 50000,
                  .seconds = 4,
                  .warmup = 10000,
                  .runs = 3,
                  .sections = "abcd"};
    int opt;
    while ((opt = getopt(argc, argv, "n:r:t:w:R:s:h")) != -1) {
        switch (opt) {
        case 'n': cfg.keys = (uint32_t)strtoul(optarg, NULL, 10); break;
        case 'r': cfg.rate = strtod(optarg, NULL); break;
        case 't': cfg.seconds = strtod(optarg, NULL); break;
        case 'w': cfg.warmup = (uint32_t)strtoul(optarg, NULL, 10); break;
        case 'R': cfg.runs = atoi(optarg); break;
        case 's': snprintf(cfg.sections, sizeof cfg.sections, "%s", optarg); break;
        default: usage();
        }
    }
    if (cfg.keys < 2 || cfg.rate < 1 || cfg.seconds <= 0 || cfg.runs < 1 ||
        cfg.runs > MAX_RUNS)
        usage();
    signal(SIGPIPE, SIG_IGN);
    printf("replkv version %s\n", replkv_version_string());
    fflush(stdout);
    char *keys = make_keys(cfg.keys);
    if (strchr(cfg.sections, 'a')) {
        fprintf(stderr, "repl_kv: a: end to end, %u writes, 1 replica process\n",
                cfg.keys);
        bench_e2e(&cfg, keys);
    }
    if (strchr(cfg.sections, 'b')) {
        fprintf(stderr, "repl_kv: b: latency at %.0f writes/s for %.1f s\n",
                cfg.rate, cfg.seconds);
        bench_latency(&cfg);
    }
    if (strchr(cfg.sections, 'c')) {
        fprintf(stderr, "repl_kv: c: full sync of %u keys\n", cfg.keys);
        bench_fullsync(&cfg, keys);
    }
    if (strchr(cfg.sections, 'd')) {
        fprintf(stderr, "repl_kv: d: primary writes, 0 vs 2 replicas\n");
        bench_fanout(&cfg, keys);
    }
    free(keys);
    return 0;
}
