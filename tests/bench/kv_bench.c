/*
 * kv_bench.c - in-process figures for one node through the public API only:
 * single-thread set and get throughput, get throughput of two readers while
 * one thread overwrites, bytes of memory per key (process RSS growth and the
 * library's own used_memory), and the latency of every set while the table
 * grows from empty.
 *
 * Output is one "replkv <metric> <value>" line per figure on stdout, for
 * tests/bench/run.sh to parse; progress and errors go to stderr. Every key
 * is pre-formatted in the order it will be used, so the timed loops read one
 * sequential array and call the library, nothing else: no RNG, no snprintf.
 *
 *   kv_bench [-n keys] [-g gets] [-G grow_keys] [-t mt_seconds] [-r runs]
 *            [-s sections]
 *
 * sections is a subset of "abcd" (default all): a = set/get on one thread
 * and memory per key (c is measured during a's first load, so c needs a),
 * b = two readers and a writer, d = set latency during growth. a runs
 * `runs` times (default 3) on a fresh node each time and reports the best,
 * median and worst rate. Smaller -n/-G/-s runs
 * are meant for profilers (perf, callgrind).
 */
#include <replkv.h>

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define KEY_LEN 16 /* "key:%012u" */
#define VAL_LEN 100
#define SEED 0x5eedbe7cULL

typedef struct config {
    uint32_t keys;      /* distinct keys for a, b, c */
    uint64_t gets;      /* single-thread gets in a */
    uint32_t grow_keys; /* d: table grows from 0 to this */
    double mt_seconds;  /* b: how long the readers and writer run */
    int runs;           /* a: load + gets repeated on fresh nodes, best kept */
    char sections[8];
} config;

/* ------------------------------------------------------------- helpers */

static void die(const char *what, int rc)
{
    fprintf(stderr, "kv_bench: %s: %s (%s) %s\n", what, replkv_err_name(rc),
            replkv_strerror(rc), replkv_last_error());
    exit(1);
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n);
    if (p == NULL) {
        fprintf(stderr, "kv_bench: out of memory (%zu bytes)\n", n);
        exit(1);
    }
    return p;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* splitmix64: the bench's only randomness, seeded by SEED so runs match. */
static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Unbiased enough for shuffling: n < 2^32, the 64-bit product's high half. */
static uint32_t rng_below(uint64_t *s, uint32_t n)
{
    return (uint32_t)(((rng_next(s) >> 32) * (uint64_t)n) >> 32);
}

/* Fisher-Yates permutation of 0..n-1. */
static uint32_t *shuffled(uint32_t n, uint64_t *rng)
{
    uint32_t *idx = xmalloc((size_t)n * sizeof *idx);
    for (uint32_t i = 0; i < n; i++)
        idx[i] = i;
    for (uint32_t i = n - 1; i > 0; i--) {
        uint32_t j = rng_below(rng, i + 1);
        uint32_t t = idx[i];
        idx[i] = idx[j];
        idx[j] = t;
    }
    return idx;
}

static void format_key(char *out, uint32_t i)
{
    char tmp[KEY_LEN + 1];
    snprintf(tmp, sizeof tmp, "key:%012u", (unsigned)i);
    memcpy(out, tmp, KEY_LEN);
}

/* count keys, made of `passes` fresh permutations of 0..n-1 laid end to
 * end, each key formatted in place (KEY_LEN bytes, no NUL). */
static char *keys_in_order(uint32_t n, uint64_t count, uint64_t *rng)
{
    char *keys = xmalloc((size_t)count * KEY_LEN);
    uint64_t done = 0;
    while (done < count) {
        uint32_t *idx = shuffled(n, rng);
        for (uint32_t i = 0; i < n && done < count; i++, done++)
            format_key(keys + done * KEY_LEN, idx[i]);
        free(idx);
    }
    return keys;
}

/* Resident set size from /proc/self/statm (second field, in pages). */
static uint64_t rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long size = 0, resident = 0;
    if (f == NULL)
        return 0;
    if (fscanf(f, "%lu %lu", &size, &resident) != 2)
        resident = 0;
    fclose(f);
    return (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE);
}

/* A numeric field of replkv_info(kv, section), e.g. "used_memory". */
static uint64_t info_field(replkv_t *kv, const char *section,
                           const char *field)
{
    char *text = NULL;
    int rc = replkv_info(kv, section, &text);
    if (rc != 0)
        die("replkv_info", rc);
    uint64_t v = 0;
    size_t flen = strlen(field);
    for (const char *p = text; p != NULL && *p != '\0';) {
        if (strncmp(p, field, flen) == 0 && p[flen] == ':') {
            v = strtoull(p + flen + 1, NULL, 10);
            break;
        }
        p = strchr(p, '\n');
        if (p != NULL)
            p++;
    }
    replkv_free(text);
    return v;
}

static replkv_t *open_node(void)
{
    replkv_t *kv = NULL;
    int rc = replkv_open(NULL, &kv);
    if (rc != 0)
        die("replkv_open", rc);
    return kv;
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

/* ------------------------------------------ a + c: set, get, memory */

static const unsigned char *value_bytes(void)
{
    static unsigned char val[VAL_LEN];
    for (size_t i = 0; i < VAL_LEN; i++)
        val[i] = (unsigned char)('a' + i % 26);
    return val;
}

/* Loads every key of set_keys (n of them, each once) into a fresh node and
 * sets *rate to the set rate. On the first run (emit_memory) also reports
 * the memory the keys took: later runs reuse heap the previous node freed,
 * so their RSS growth means nothing. Returns the node with the keys in it. */
static replkv_t *bench_set(const config *c, const char *set_keys,
                           bool emit_memory, double *rate)
{
    const unsigned char *val = value_bytes();
    replkv_t *kv = open_node();

    uint64_t rss0 = rss_bytes();
    uint64_t used0 = info_field(kv, "memory", "used_memory");

    uint64_t t0 = now_ns();
    for (uint32_t i = 0; i < c->keys; i++) {
        int rc = replkv_set(kv, set_keys + (size_t)i * KEY_LEN, KEY_LEN, val,
                            VAL_LEN, 0, 0);
        if (rc != 1)
            die("replkv_set", rc);
    }
    uint64_t t1 = now_ns();
    *rate = (double)c->keys * 1e9 / (double)(t1 - t0);

    uint64_t rss1 = rss_bytes();
    uint64_t used1 = info_field(kv, "memory", "used_memory");
    uint64_t count = 0;
    replkv_count(kv, &count);
    if (count != c->keys) {
        fprintf(stderr, "kv_bench: count %" PRIu64 " after %u sets\n", count,
                c->keys);
        exit(1);
    }
    if (emit_memory) {
        emit("keys", c->keys);
        /* RSS: what the process really paid, allocator overhead included. */
        emit_f("mem_rss_bytes_per_key", (double)(rss1 - rss0) / c->keys);
        /* used_memory: the library's own accounting (delta from empty). */
        emit_f("mem_used_memory_bytes_per_key",
               (double)(used1 - used0) / c->keys);
        emit("mem_used_memory_empty", (double)used0);
        emit("mem_used_memory_total", (double)used1);
        emit("mem_rss_growth", (double)(rss1 - rss0));
    }
    return kv;
}

static double bench_get(const config *c, replkv_t *kv, const char *get_keys)
{
    unsigned char buf[VAL_LEN * 2];
    size_t vlen = 0;
    uint64_t bad = 0;
    uint64_t t0 = now_ns();
    for (uint64_t i = 0; i < c->gets; i++) {
        int rc = replkv_get(kv, get_keys + i * KEY_LEN, KEY_LEN, buf,
                            sizeof buf, &vlen);
        bad += (rc != 0) | (vlen != VAL_LEN);
    }
    uint64_t t1 = now_ns();
    if (bad != 0) {
        fprintf(stderr, "kv_bench: %" PRIu64 " gets failed\n", bad);
        exit(1);
    }
    return (double)c->gets * 1e9 / (double)(t1 - t0);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Best and median of v[n] (sorts v). The best is the headline figure: on a
 * shared machine, other load only ever makes a run slower. */
static void emit_best_median(const char *metric, double *v, int n)
{
    char name[64];
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    emit(metric, v[n - 1]);
    snprintf(name, sizeof name, "%s_median", metric);
    emit(name, v[n / 2]);
    snprintf(name, sizeof name, "%s_worst", metric);
    emit(name, v[0]);
}

/* ------------------------------------- b: 2 readers while 1 writes */

typedef struct worker {
    replkv_t *kv;
    const char *keys; /* nkeys keys, read or written in turn from start */
    uint64_t nkeys, start;
    bool writer;
    atomic_bool *stop;
    pthread_barrier_t *go;
    uint64_t ops, ns, errors;
} worker;

static void *worker_main(void *arg)
{
    worker *w = arg;
    const unsigned char *val = value_bytes();
    unsigned char buf[VAL_LEN * 2];
    size_t vlen = 0;
    uint64_t i = w->start, ops = 0, errors = 0;

    pthread_barrier_wait(w->go);
    uint64_t t0 = now_ns();
    while (!atomic_load_explicit(w->stop, memory_order_relaxed)) {
        /* A batch between checks of the flag keeps the loop tight. */
        for (int b = 0; b < 64; b++) {
            const char *k = w->keys + i * KEY_LEN;
            if (++i == w->nkeys)
                i = 0;
            if (w->writer) {
                errors += replkv_set(w->kv, k, KEY_LEN, val, VAL_LEN, 0, 0) != 1;
            } else {
                int rc = replkv_get(w->kv, k, KEY_LEN, buf, sizeof buf, &vlen);
                errors += (rc != 0) | (vlen != VAL_LEN);
            }
        }
        ops += 64;
    }
    w->ns = now_ns() - t0;
    w->ops = ops;
    w->errors = errors;
    return NULL;
}

static void bench_readers_writer(const config *c, replkv_t *kv,
                                 const char *set_keys, const char *get_keys)
{
    enum { READERS = 2 };
    worker w[READERS + 1];
    pthread_t th[READERS + 1];
    atomic_bool stop = false;
    pthread_barrier_t go;
    pthread_barrier_init(&go, NULL, READERS + 2);

    for (int i = 0; i <= READERS; i++) {
        bool writer = i == READERS;
        w[i] = (worker){
            .kv = kv,
            .keys = writer ? set_keys : get_keys,
            .nkeys = writer ? c->keys : c->gets,
            .start = writer ? 0 : (uint64_t)i * (c->gets / READERS),
            .writer = writer,
            .stop = &stop,
            .go = &go,
        };
        if (pthread_create(&th[i], NULL, worker_main, &w[i]) != 0) {
            fprintf(stderr, "kv_bench: pthread_create failed\n");
            exit(1);
        }
    }
    pthread_barrier_wait(&go);
    struct timespec d = {.tv_sec = (time_t)c->mt_seconds,
                         .tv_nsec = (long)((c->mt_seconds -
                                            (double)(time_t)c->mt_seconds) *
                                           1e9)};
    nanosleep(&d, NULL);
    atomic_store(&stop, true);
    for (int i = 0; i <= READERS; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&go);

    double readers = 0;
    for (int i = 0; i <= READERS; i++) {
        if (w[i].errors != 0) {
            fprintf(stderr, "kv_bench: thread %d: %" PRIu64 " failed calls\n",
                    i, w[i].errors);
            exit(1);
        }
        if (i < READERS)
            readers += (double)w[i].ops * 1e9 / (double)w[i].ns;
    }
    emit("mt_readers", READERS);
    emit("mt_get_ops_per_sec", readers);
    emit("mt_set_ops_per_sec",
         (double)w[READERS].ops * 1e9 / (double)w[READERS].ns);
}

/* --------------------------------------- d: set latency during growth */

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted v[n], in microseconds. */
static double pct_us(const uint32_t *v, size_t n, double p)
{
    size_t rank = (size_t)(p * (double)n + 0.999999);
    if (rank < 1)
        rank = 1;
    if (rank > n)
        rank = n;
    return v[rank - 1] / 1000.0;
}

static void bench_growth(const config *c)
{
    uint64_t rng = SEED ^ 0xd;
    uint32_t n = c->grow_keys;
    char *keys = keys_in_order(n, n, &rng);
    uint32_t *lat = xmalloc((size_t)n * sizeof *lat);
    const unsigned char *val = value_bytes();
    memset(lat, 0, (size_t)n * sizeof *lat); /* fault the pages in first */

    /* Cost of the timer itself, to read the figures against. */
    uint64_t t0 = now_ns();
    for (int i = 0; i < 100000; i++)
        (void)now_ns();
    double timer_ns = (double)(now_ns() - t0) / 100000;

    replkv_t *kv = open_node();
    uint64_t start = now_ns(), prev = start;
    for (uint32_t i = 0; i < n; i++) {
        int rc = replkv_set(kv, keys + (size_t)i * KEY_LEN, KEY_LEN, val,
                            VAL_LEN, 0, 0);
        uint64_t t = now_ns();
        if (rc != 1)
            die("replkv_set", rc);
        uint64_t dt = t - prev;
        lat[i] = dt > UINT32_MAX ? UINT32_MAX : (uint32_t)dt;
        prev = t;
    }
    uint64_t total = prev - start;
    replkv_close(kv);
    free(keys);

    size_t over50 = 0;
    for (uint32_t i = 0; i < n; i++)
        over50 += lat[i] > 50000;
    qsort(lat, n, sizeof *lat, cmp_u32);
    emit("grow_keys", n);
    emit("grow_set_ops_per_sec", (double)n * 1e9 / (double)total);
    emit_f("grow_set_p50_us", pct_us(lat, n, 0.50));
    emit_f("grow_set_p99_us", pct_us(lat, n, 0.99));
    emit_f("grow_set_p999_us", pct_us(lat, n, 0.999));
    emit_f("grow_set_p9999_us", pct_us(lat, n, 0.9999));
    emit_f("grow_set_max_us", lat[n - 1] / 1000.0);
    emit("grow_set_over_50us", (double)over50);
    emit_f("timer_overhead_ns", timer_ns);
    free(lat);
}

/* ------------------------------------------------------------------ main */

static void usage(void)
{
    fprintf(stderr, "usage: kv_bench [-n keys] [-g gets] [-G grow_keys] "
                    "[-t mt_seconds] [-r runs] [-s abcd]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    config c = {.keys = 1000000,
                .gets = 4000000,
                .grow_keys = 4000000,
                .mt_seconds = 3.0,
                .runs = 3,
                .sections = "abcd"};
    int opt;
    while ((opt = getopt(argc, argv, "n:g:G:t:r:s:h")) != -1) {
        switch (opt) {
        case 'n': c.keys = (uint32_t)strtoul(optarg, NULL, 10); break;
        case 'g': c.gets = strtoull(optarg, NULL, 10); break;
        case 'G': c.grow_keys = (uint32_t)strtoul(optarg, NULL, 10); break;
        case 't': c.mt_seconds = strtod(optarg, NULL); break;
        case 'r': c.runs = atoi(optarg); break;
        case 's': snprintf(c.sections, sizeof c.sections, "%s", optarg); break;
        default: usage();
        }
    }
    if (c.keys < 2 || c.gets < 2 || c.grow_keys < 2 || c.mt_seconds <= 0 ||
        c.runs < 1 || c.runs > 100)
        usage();
    bool do_a = strchr(c.sections, 'a') || strchr(c.sections, 'c');
    bool do_b = strchr(c.sections, 'b') != NULL;
    bool do_d = strchr(c.sections, 'd') != NULL;

    printf("replkv version %s\n", replkv_version_string());
    if (do_a || do_b) {
        /* Every key array exists and is touched before the node opens, so
         * the RSS growth measured in bench_set_and_memory() is the node's. */
        uint64_t rng = SEED;
        fprintf(stderr, "kv_bench: preparing %u keys\n", c.keys);
        char *set_keys = keys_in_order(c.keys, c.keys, &rng);
        char *get_keys = keys_in_order(c.keys, c.gets, &rng);

        double set_rate[100], get_rate[100];
        replkv_t *kv = NULL;
        for (int r = 0; r < c.runs; r++) {
            fprintf(stderr,
                    "kv_bench: a/c run %d/%d: set %u keys, then %" PRIu64
                    " gets\n",
                    r + 1, c.runs, c.keys, c.gets);
            replkv_close(kv);
            kv = bench_set(&c, set_keys, r == 0, &set_rate[r]);
            get_rate[r] = bench_get(&c, kv, get_keys);
        }
        emit("runs", c.runs);
        emit_best_median("set_ops_per_sec", set_rate, c.runs);
        emit_best_median("get_ops_per_sec", get_rate, c.runs);
        if (do_b) {
            fprintf(stderr, "kv_bench: b: 2 readers + 1 writer for %.1fs\n",
                    c.mt_seconds);
            bench_readers_writer(&c, kv, set_keys, get_keys);
        }
        replkv_close(kv);
        free(set_keys);
        free(get_keys);
    }
    if (do_d) {
        fprintf(stderr, "kv_bench: d: set latency, 0 -> %u keys\n",
                c.grow_keys);
        bench_growth(&c);
    }
    return 0;
}
