/*
 * persist_bench.c - the libreplkv side of the PERSISTENCE bench section
 * (tests/bench/persistence.sh), plus the stopwatch for redis-server's
 * restart. Each run is its own process, so a restart is timed from a cold
 * heap, as Redis's is.
 *
 *   persist_bench write [-d DIR -f always|everysec|no] -t THREADS
 *                 (-n WRITES | -T SECONDS) [-k KEYS]
 *       A node with dir DIR, appendonly yes and appendfsync -f (without
 *       -d: no persistence, a cache). THREADS threads call replkv_set with
 *       random keys "key:%012u" below KEYS (default 1M; drawn with
 *       replacement, as redis-benchmark -r) and 100-byte values, either
 *       WRITES in all or for SECONDS. Every key is formatted before the
 *       clock starts. Prints acknowledged writes/s (a write counts once
 *       replkv_set returned 1; any other return fails the run), and the
 *       node's aof_writes / aof_fsyncs / rdb_saves (group commit: writes
 *       that shared one write(2) or fsync).
 *   persist_bench fill -d DIR [-k KEYS] [-a EXTRA] [-S]
 *       A node with dir DIR, appendonly yes, appendfsync everysec and
 *       automatic rewrites off: sets key:%012u for 0..KEYS-1, then with -S
 *       replkv_snapshot(), then EXTRA overwrites (the short append-only
 *       file after the snapshot); closes. Prints the files' sizes.
 *   persist_bench open -d DIR [-k KEYS] [-s T0_NS]
 *       Times replkv_open() on DIR (appendonly yes, rewrites off so the
 *       files stay as they are for the next run), checks that it holds
 *       KEYS keys and serves a get, closes. T0_NS (CLOCK_REALTIME in ns, as
 *       `date +%s%N`, taken before the shell started this process) adds the
 *       time from process start to open returning.
 *   persist_bench resp [-k KEYS] [-a EXTRA]
 *       Prints, as RESP for redis-cli --pipe, the SETs that fill writes
 *       (the same keys, values and overwrites), so Redis holds the same data.
 *   persist_bench ping PORT T0_NS PID
 *       Sends PING to 127.0.0.1:PORT every millisecond (reconnecting while
 *       the port is closed, waiting while Redis answers -LOADING) until
 *       +PONG; prints the ms since T0_NS (taken just before redis-server
 *       PID was started). Exits 3 if PID is gone first (say, the port was
 *       taken: the caller retries on another); gives up after 120 s.
 *
 * Output is "replkv <metric> <value>" (or "redis ...") lines on stdout;
 * errors on stderr and exit status 1.
 */
#include <replkv.h>

#include <arpa/inet.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define KEY_LEN 16 /* "key:%012u" */
#define VAL_LEN 100
#define MAX_THREADS 256
#define PING_LIMIT_NS (120ull * 1000000000ull)

typedef struct args {
    const char *dir;    /* NULL: no persistence */
    const char *fsync;  /* appendfsync */
    int threads;
    uint64_t writes;    /* write: in all, 0 when timed */
    double seconds;     /* write: how long, when writes is 0 */
    uint32_t keys;
    uint64_t extra;     /* fill: overwrites after the snapshot */
    bool snapshot;      /* fill: -S */
    int64_t t0_ns;      /* open: process start, realtime; 0 = none */
} args;

static void die(const char *what, int rc)
{
    fprintf(stderr, "persist_bench: %s: %s (%s) %s\n", what,
            replkv_err_name(rc), replkv_strerror(rc), replkv_last_error());
    exit(1);
}

static void fail(const char *msg)
{
    fprintf(stderr, "persist_bench: %s\n", msg);
    exit(1);
}

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int64_t real_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void out(const char *sys, const char *metric, double v)
{
    bool whole = v >= 1000 || v == (double)(int64_t)v;
    printf("%s %s %.*f\n", sys, metric, whole ? 0 : 2, v);
    fflush(stdout);
}

/* Every value written, on both sides (kv_bench's pattern). */
static const char VALUE[VAL_LEN + 1] = "abcdefghijklmnopqrstuvwxyz"
                                       "abcdefghijklmnopqrstuvwxyz"
                                       "abcdefghijklmnopqrstuvwxyz"
                                       "abcdefghijklmnopqrstuv";

static void key_at(char *dst, uint32_t i)
{
    char tmp[KEY_LEN + 1];
    snprintf(tmp, sizeof tmp, "key:%012u", (unsigned)i);
    memcpy(dst, tmp, KEY_LEN);
}

/* A node on a.dir with appendonly yes (or a cache when a.dir is NULL). */
static replkv_t *open_node(const args *a, bool rewrites)
{
    replkv_opts *o = replkv_opts_new();
    if (o == NULL)
        fail("out of memory");
    int rc = 0;
    if (a->dir != NULL) {
        if ((rc = replkv_opts_set(o, "dir", a->dir)) != 0 ||
            (rc = replkv_opts_set(o, "appendonly", "yes")) != 0 ||
            (rc = replkv_opts_set(o, "appendfsync", a->fsync)) != 0)
            die("replkv_opts_set", rc);
        if (!rewrites &&
            (rc = replkv_opts_set(o, "auto-aof-rewrite-percentage", "0")) != 0)
            die("replkv_opts_set", rc);
    }
    replkv_t *kv = NULL;
    rc = replkv_open(o, &kv);
    replkv_opts_free(o);
    if (rc != 0)
        die("replkv_open", rc);
    return kv;
}

/* A numeric field of replkv_info(kv, "persistence"); 0 when absent. */
static double info_num(replkv_t *kv, const char *field)
{
    char *text = NULL;
    int rc = replkv_info(kv, "persistence", &text);
    if (rc != 0)
        die("replkv_info", rc);
    double v = 0;
    size_t n = strlen(field);
    for (const char *p = text; (p = strstr(p, field)) != NULL; p += n) {
        if ((p == text || p[-1] == '\n') && p[n] == ':') {
            v = strtod(p + n + 1, NULL);
            break;
        }
    }
    replkv_free(text);
    return v;
}

static double file_size(const char *dir, const char *name)
{
    char path[4096];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return stat(path, &st) == 0 ? (double)st.st_size : 0;
}

/* ----------------------------------------------------------------- write */

typedef struct writer {
    replkv_t *kv;
    const char *keys; /* nkeys pre-formatted keys, used in turn */
    uint64_t nkeys;
    uint64_t quota;   /* writes to do; 0 = until stop */
    atomic_bool *stop;
    pthread_barrier_t *go;
    uint64_t acked;
    int bad_rc;
} writer;

static void *writer_main(void *arg)
{
    writer *w = arg;
    uint64_t i = 0, acked = 0;
    pthread_barrier_wait(w->go);
    while (w->quota ? acked < w->quota
                    : !atomic_load_explicit(w->stop, memory_order_relaxed)) {
        int rc = replkv_set(w->kv, w->keys + (i % w->nkeys) * KEY_LEN,
                            KEY_LEN, VALUE, VAL_LEN, 0, 0);
        if (rc != 1) {
            w->bad_rc = rc;
            break;
        }
        acked++;
        i++;
    }
    w->acked = acked;
    return NULL;
}

static int mode_write(const args *a)
{
    /* Timed runs cycle through 2^16 keys per thread; counted runs use each
     * key once. xorshift64*, seeded per thread: runs are repeatable. */
    uint64_t per = a->writes ? (a->writes + (uint64_t)a->threads - 1) /
                                   (uint64_t)a->threads
                             : (1u << 16);
    char *keys = malloc((size_t)(per * (uint64_t)a->threads) * KEY_LEN);
    if (keys == NULL)
        fail("out of memory for keys");
    for (int t = 0; t < a->threads; t++) {
        uint64_t s = 0x9e3779b97f4a7c15ULL * (uint64_t)(t + 1);
        for (uint64_t i = 0; i < per; i++) {
            s ^= s >> 12;
            s ^= s << 25;
            s ^= s >> 27;
            uint32_t k = (uint32_t)((s * 0x2545f4914f6cdd1dULL >> 32) % a->keys);
            key_at(keys + ((uint64_t)t * per + i) * KEY_LEN, k);
        }
    }

    replkv_t *kv = open_node(a, true);
    writer w[MAX_THREADS];
    pthread_t th[MAX_THREADS];
    atomic_bool stop = false;
    pthread_barrier_t go;
    pthread_barrier_init(&go, NULL, (unsigned)a->threads + 1);
    for (int t = 0; t < a->threads; t++) {
        w[t] = (writer){.kv = kv,
                        .keys = keys + (uint64_t)t * per * KEY_LEN,
                        .nkeys = per,
                        .quota = a->writes ? per : 0,
                        .stop = &stop,
                        .go = &go,
                        .bad_rc = 1};
        if (pthread_create(&th[t], NULL, writer_main, &w[t]) != 0)
            fail("pthread_create");
    }
    pthread_barrier_wait(&go);
    uint64_t t0 = mono_ns();
    if (a->writes == 0) {
        struct timespec d = {.tv_sec = (time_t)a->seconds,
                             .tv_nsec = (long)((a->seconds -
                                                (double)(time_t)a->seconds) *
                                               1e9)};
        nanosleep(&d, NULL);
        atomic_store(&stop, true);
    }
    uint64_t acked = 0;
    for (int t = 0; t < a->threads; t++) {
        pthread_join(th[t], NULL);
        if (w[t].bad_rc != 1)
            die("replkv_set", w[t].bad_rc);
        acked += w[t].acked;
    }
    uint64_t ns = mono_ns() - t0;
    pthread_barrier_destroy(&go);

    out("replkv", "writes", (double)acked);
    out("replkv", "writes_per_sec", (double)acked * 1e9 / (double)ns);
    if (a->dir != NULL) {
        out("replkv", "aof_writes", info_num(kv, "aof_writes"));
        out("replkv", "aof_fsyncs", info_num(kv, "aof_fsyncs"));
        out("replkv", "rdb_saves", info_num(kv, "rdb_saves"));
    }
    replkv_close(kv);
    free(keys);
    return 0;
}

/* ------------------------------------------------------------ fill, open */

/* The i-th write of a fill: every key once, in order, then a->extra
 * overwrites spread over the keyspace (so the count stays a->keys). */
static uint32_t fill_index(const args *a, uint64_t i)
{
    return i < a->keys ? (uint32_t)i
                       : (uint32_t)(((i - a->keys) * 7919u) % a->keys);
}

static void fill_range(replkv_t *kv, const args *a, uint64_t from, uint64_t to)
{
    char key[KEY_LEN];
    for (uint64_t i = from; i < to; i++) {
        key_at(key, fill_index(a, i));
        int rc = replkv_set(kv, key, KEY_LEN, VALUE, VAL_LEN, 0, 0);
        if (rc != 1)
            die("replkv_set", rc);
    }
}

static int mode_fill(const args *a)
{
    replkv_t *kv = open_node(a, false);
    uint64_t t0 = mono_ns();
    fill_range(kv, a, 0, a->keys);
    out("replkv", "fill_ms", (double)(mono_ns() - t0) / 1e6);
    if (a->snapshot) {
        t0 = mono_ns();
        int rc = replkv_snapshot(kv);
        if (rc != 0)
            die("replkv_snapshot", rc);
        out("replkv", "snapshot_ms", (double)(mono_ns() - t0) / 1e6);
    }
    fill_range(kv, a, a->keys, a->keys + a->extra);
    replkv_close(kv);
    out("replkv", "snapshot_bytes", file_size(a->dir, "snapshot.rkv"));
    out("replkv", "aof_bytes", file_size(a->dir, "appendonly.rkv"));
    return 0;
}

static int mode_resp(const args *a)
{
    static char obuf[1 << 20];
    char key[KEY_LEN];
    setvbuf(stdout, obuf, _IOFBF, sizeof obuf);
    for (uint64_t i = 0; i < a->keys + a->extra; i++) {
        key_at(key, fill_index(a, i));
        printf("*3\r\n$3\r\nSET\r\n$%d\r\n%.*s\r\n$%d\r\n%.*s\r\n", KEY_LEN,
               KEY_LEN, key, VAL_LEN, VAL_LEN, VALUE);
    }
    return fflush(stdout) == 0 ? 0 : 1;
}

static int mode_open(const args *a)
{
    uint64_t t0 = mono_ns();
    replkv_t *kv = open_node(a, false);
    uint64_t t1 = mono_ns();
    int64_t ready = real_ns();

    uint64_t count = 0;
    int rc = replkv_count(kv, &count);
    if (rc != 0)
        die("replkv_count", rc);
    if (count != a->keys) {
        fprintf(stderr, "persist_bench: %" PRIu64 " keys after open, expected %u\n",
                count, a->keys);
        exit(1);
    }
    char key[KEY_LEN];
    unsigned char buf[VAL_LEN];
    size_t vlen = 0;
    key_at(key, a->keys - 1);
    rc = replkv_get(kv, key, KEY_LEN, buf, sizeof buf, &vlen);
    if (rc != 0 || vlen != VAL_LEN || memcmp(buf, VALUE, VAL_LEN) != 0)
        fail("the last key does not read back after open");
    out("replkv", "open_ms", (double)(t1 - t0) / 1e6);
    if (a->t0_ns > 0)
        out("replkv", "exec_to_open_ms", (double)(ready - a->t0_ns) / 1e6);
    replkv_close(kv);
    return 0;
}

/* ------------------------------------------------------------------ ping */

/* One PING on a fresh connection: 1 = +PONG, 0 = not yet (refused, closed,
 * -LOADING). */
static int ping_once(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        fail("socket");
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    char reply[128];
    ssize_t n = -1;
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
        write(fd, "PING\r\n", 6) == 6)
        n = read(fd, reply, sizeof reply - 1);
    close(fd);
    return n >= 5 && memcmp(reply, "+PONG", 5) == 0;
}

/* Running (a zombie, exited but not reaped by the shell, is not). */
static bool alive(long pid)
{
    char path[64], st[512];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return false;
    size_t n = fread(st, 1, sizeof st - 1, f);
    fclose(f);
    st[n] = '\0';
    const char *p = strrchr(st, ')');
    return p != NULL && p[1] == ' ' && p[2] != 'Z';
}

static int mode_ping(int port, int64_t t0, long pid)
{
    uint64_t start = mono_ns();
    struct timespec ms = {.tv_sec = 0, .tv_nsec = 1000000};
    while (!ping_once(port)) {
        if (!alive(pid)) {
            fprintf(stderr, "persist_bench: redis-server %ld exited\n", pid);
            return 3;
        }
        if (mono_ns() - start > PING_LIMIT_NS)
            fail("redis-server did not answer PING within 120 s");
        nanosleep(&ms, NULL);
    }
    out("redis", "ready_ms", (double)(real_ns() - t0) / 1e6);
    return 0;
}

/* ------------------------------------------------------------------ main */

_Noreturn static void usage(void)
{
    fprintf(stderr,
            "usage: persist_bench write [-d dir -f policy] -t threads (-n writes | -T seconds) [-k keys]\n"
            "       persist_bench fill -d dir [-k keys] [-a extra] [-S]\n"
            "       persist_bench open -d dir [-k keys] [-s t0_ns]\n"
            "       persist_bench resp [-k keys] [-a extra]\n"
            "       persist_bench ping port t0_ns pid\n");
    exit(2);
}

int main(int argc, char **argv)
{
    if (argc < 2)
        usage();
    const char *mode = argv[1];
    if (strcmp(mode, "ping") == 0) {
        if (argc != 5)
            usage();
        return mode_ping(atoi(argv[2]), strtoll(argv[3], NULL, 10),
                         strtol(argv[4], NULL, 10));
    }
    args a = {.fsync = "everysec", .threads = 1, .keys = 1000000};
    int opt;
    optind = 2;
    while ((opt = getopt(argc, argv, "d:f:t:n:T:k:a:Ss:")) != -1) {
        switch (opt) {
        case 'd': a.dir = optarg; break;
        case 'f': a.fsync = optarg; break;
        case 't': a.threads = atoi(optarg); break;
        case 'n': a.writes = strtoull(optarg, NULL, 10); break;
        case 'T': a.seconds = strtod(optarg, NULL); break;
        case 'k': a.keys = (uint32_t)strtoul(optarg, NULL, 10); break;
        case 'a': a.extra = strtoull(optarg, NULL, 10); break;
        case 'S': a.snapshot = true; break;
        case 's': a.t0_ns = strtoll(optarg, NULL, 10); break;
        default: usage();
        }
    }
    if (a.keys < 1 || a.threads < 1 || a.threads > MAX_THREADS)
        usage();
    if (strcmp(mode, "write") == 0) {
        if (a.writes == 0 && a.seconds <= 0)
            usage();
        return mode_write(&a);
    }
    if (strcmp(mode, "resp") == 0)
        return mode_resp(&a);
    if (a.dir == NULL)
        usage();
    if (strcmp(mode, "fill") == 0)
        return mode_fill(&a);
    if (strcmp(mode, "open") == 0)
        return mode_open(&a);
    usage();
    return 2;
}
