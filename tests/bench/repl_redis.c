/*
 * repl_redis.c - the Redis side of the REPLICATION bench section: a tiny
 * RESP client (plain blocking sockets, TCP_NODELAY) that times a real
 * redis-server primary and replica the way repl_kv times libreplkv.
 *
 *   repl_redis e2e PPORT RPORT N -- CMD ARGS...
 *       Runs CMD (redis-benchmark, say) against the primary, then polls
 *       INFO replication every 0.5 ms until the replica's slave_repl_offset
 *       reaches the primary's master_repl_offset. Prints the N writes over
 *       the time from just before CMD started to that moment.
 *   repl_redis lat PPORT RPORT RATE SECONDS WARMUP
 *       One connection writes SET key:%012u <100 bytes> at RATE per second
 *       on an absolute schedule (a sender thread; a receiver thread stamps
 *       each +OK as the write's return). Another connection to the replica
 *       sends EXISTS for the next 64 keys back to back (writes apply in
 *       order, so a count of c means the next c keys are visible) and
 *       stamps each key's first sighting at the midpoint of that request's
 *       send and reply (the best estimate of when the replica served it).
 *       After a poll that found nothing new it pauses REPL_POLL_US us
 *       (environment; default 0, back to back). Latency is the
 *       sighting minus the return (lat_*), and minus the send of the SET
 *       (lat_call_*, as repl_kv stamps the call); the first WARMUP writes
 *       are not counted.
 *   repl_redis fullsync PPORT RPORT N
 *       The replica is running and empty: the clock starts, REPLICAOF is
 *       sent, and it stops once INFO says master_link_status:up and DBSIZE
 *       is N (polled every 0.5 ms; LOADING replies count as not yet).
 *   repl_redis synced PPORT RPORT
 *       Waits (up to 120 s) until the replica is linked and at the
 *       primary's offset: the shell's bounded wait between runs.
 *
 * Output is "redis <metric> <value>" lines on stdout; errors on stderr and
 * exit status 1. Every wait is bounded (120 s).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define KEY_LEN 16
#define VAL_LEN 100
#define WAIT_NS (120ull * 1000000000ull)

static void fail(const char *msg)
{
    fprintf(stderr, "repl_redis: %s\n", msg);
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

/* ------------------------------------------------------------ the client */

typedef struct conn {
    int fd;
    char buf[1 << 16];
    size_t pos, len;
} conn;

static conn *dial(int port)
{
    conn *c = xmalloc(sizeof *c);
    c->pos = c->len = 0;
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&a, sizeof a) != 0) {
        fprintf(stderr, "repl_redis: connect 127.0.0.1:%d: %s\n", port,
                strerror(errno));
        exit(1);
    }
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return c;
}

static void send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            fail("send failed");
        p += w;
        n -= (size_t)w;
    }
}

/* Sends argv as a RESP array. */
static void command(conn *c, int argc, const char **argv)
{
    char out[4096];
    size_t n = (size_t)snprintf(out, sizeof out, "*%d\r\n", argc);
    for (int i = 0; i < argc; i++) {
        size_t l = strlen(argv[i]);
        if (n + l + 32 > sizeof out)
            fail("command too long");
        n += (size_t)snprintf(out + n, sizeof out - n, "$%zu\r\n", l);
        memcpy(out + n, argv[i], l);
        n += l;
        memcpy(out + n, "\r\n", 2);
        n += 2;
    }
    send_all(c->fd, out, n);
}

static int getbyte(conn *c)
{
    if (c->pos == c->len) {
        ssize_t r;
        do
            r = recv(c->fd, c->buf, sizeof c->buf, 0);
        while (r < 0 && errno == EINTR);
        if (r <= 0)
            fail("connection closed by redis");
        c->pos = 0;
        c->len = (size_t)r;
    }
    return (unsigned char)c->buf[c->pos++];
}

/* One line without its CRLF into line (cap bytes). */
static void read_line(conn *c, char *line, size_t cap)
{
    size_t n = 0;
    for (;;) {
        int ch = getbyte(c);
        if (ch == '\n')
            break;
        if (ch != '\r' && n + 1 < cap)
            line[n++] = (char)ch;
    }
    line[n] = '\0';
}

/* Reads one reply (simple, error, integer or bulk). Returns its type byte;
 * the text (or the bulk's body, NUL-terminated and truncated to cap) goes
 * to out. A nil bulk comes back as "" with type '$'. */
static int read_reply(conn *c, char *out, size_t cap)
{
    char line[256];
    read_line(c, line, sizeof line);
    int type = line[0];
    if (type != '$') {
        snprintf(out, cap, "%s", line + 1);
        return type;
    }
    long len = atol(line + 1);
    out[0] = '\0';
    if (len < 0)
        return type;
    size_t n = 0;
    for (long i = 0; i < len + 2; i++) {
        int ch = getbyte(c);
        if (i < len && n + 1 < cap)
            out[n++] = (char)ch;
    }
    out[n] = '\0';
    return type;
}

static int call(conn *c, char *out, size_t cap, int argc, const char **argv)
{
    command(c, argc, argv);
    return read_reply(c, out, cap);
}

/* A field of INFO replication, or "" when absent (or LOADING). */
static void info_field(conn *c, const char *field, char *val, size_t cap)
{
    static char text[16384];
    const char *argv[] = {"INFO", "replication"};
    val[0] = '\0';
    if (call(c, text, sizeof text, 2, argv) != '$')
        return;
    size_t fl = strlen(field);
    for (const char *p = text; p != NULL && *p != '\0';) {
        if (strncmp(p, field, fl) == 0 && p[fl] == ':') {
            p += fl + 1;
            size_t n = strcspn(p, "\r\n");
            if (n >= cap)
                n = cap - 1;
            memcpy(val, p, n);
            val[n] = '\0';
            return;
        }
        p = strchr(p, '\n');
        if (p != NULL)
            p++;
    }
}

static long long info_num(conn *c, const char *field)
{
    char v[64];
    info_field(c, field, v, sizeof v);
    return v[0] == '\0' ? -1 : atoll(v);
}

/* ------------------------------------------------------------ the modes */

/* Until the replica is linked and its offset has reached the primary's.
 * Returns the time it did. */
static uint64_t wait_synced(conn *p, conn *r, long poll_us)
{
    uint64_t deadline = now_ns() + WAIT_NS;
    char link[32];
    for (;;) {
        long long po = info_num(p, "master_repl_offset");
        info_field(r, "master_link_status", link, sizeof link);
        long long ro = info_num(r, "slave_repl_offset");
        if (strcmp(link, "up") == 0 && po >= 0 && ro >= po)
            return now_ns();
        if (now_ns() > deadline)
            fail("replica did not reach the primary's offset in time");
        sleep_us(poll_us);
    }
}

static int mode_e2e(int pport, int rport, long n, char **cmd)
{
    conn *p = dial(pport), *r = dial(rport);
    wait_synced(p, r, 1000);
    fflush(NULL);
    uint64_t t0 = now_ns();
    pid_t pid = fork();
    if (pid < 0)
        fail("fork");
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        dup2(2, 1); /* its report is for the log, not for our stdout */
        execvp(cmd[0], cmd);
        _exit(127);
    }
    int st = 0;
    if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
        fail("the load command failed");
    uint64_t tw = now_ns();
    uint64_t t1 = wait_synced(p, r, 500);
    printf("redis e2e_writes_per_sec %.0f\n", n * 1e9 / (double)(t1 - t0));
    printf("redis e2e_load_writes_per_sec %.0f\n", n * 1e9 / (double)(tw - t0));
    printf("redis e2e_catchup_ms %.2f\n", (double)(t1 - tw) / 1e6);
    return 0;
}

/* -- lat */

typedef struct lat_run {
    conn *w;
    uint32_t n;
    double rate;
    uint64_t start;
    uint64_t *ret, *due, *sent;
} lat_run;

static void format_key(char *out, uint32_t i)
{
    char tmp[KEY_LEN + 1];
    snprintf(tmp, sizeof tmp, "key:%012u", (unsigned)i);
    memcpy(out, tmp, KEY_LEN);
}

static void *lat_sender(void *arg)
{
    lat_run *L = arg;
    char val[VAL_LEN], cmd[256];
    for (size_t i = 0; i < VAL_LEN; i++)
        val[i] = (char)('a' + i % 26);
    prctl(PR_SET_TIMERSLACK, 1UL);
    uint64_t period = (uint64_t)(1e9 / L->rate);
    for (uint32_t i = 0; i < L->n; i++) {
        char key[KEY_LEN];
        format_key(key, i);
        int h = snprintf(cmd, sizeof cmd, "*3\r\n$3\r\nSET\r\n$%d\r\n", KEY_LEN);
        memcpy(cmd + h, key, KEY_LEN);
        h += KEY_LEN;
        h += snprintf(cmd + h, sizeof cmd - (size_t)h, "\r\n$%d\r\n", VAL_LEN);
        memcpy(cmd + h, val, VAL_LEN);
        h += VAL_LEN;
        memcpy(cmd + h, "\r\n", 2);
        h += 2;
        uint64_t due = L->start + (uint64_t)i * period;
        struct timespec ts = {(time_t)(due / 1000000000u),
                              (long)(due % 1000000000u)};
        if (now_ns() < due)
            clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
        L->due[i] = due;
        L->sent[i] = now_ns();
        send_all(L->w->fd, cmd, (size_t)h);
    }
    return NULL;
}

static void *lat_receiver(void *arg)
{
    lat_run *L = arg;
    char out[64];
    for (uint32_t i = 0; i < L->n; i++) {
        if (read_reply(L->w, out, sizeof out) != '+')
            fail("SET failed");
        L->ret[i] = now_ns();
    }
    return NULL;
}

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

/* PREFIX_p50_us .. PREFIX_max_us of seen[i] - from[i] (lat: scratch), and
 * PREFIX_negative: how many were below 0 and counted as 0 (the replica
 * showed the key before the +OK was read: Redis sends both in one turn). */
static void emit_latencies(const char *prefix, const uint64_t *seen,
                           const uint64_t *from, int64_t *lat, size_t m)
{
    static const struct {
        const char *name;
        double p;
    } pct[] = {{"p50", 0.50}, {"p90", 0.90}, {"p99", 0.99}, {"p999", 0.999}};
    size_t neg = 0;
    for (size_t i = 0; i < m; i++) {
        int64_t d = (int64_t)(seen[i] - from[i]);
        neg += d < 0;
        lat[i] = d < 0 ? 0 : d;
    }
    qsort(lat, m, sizeof *lat, cmp_i64);
    for (size_t i = 0; i < sizeof pct / sizeof pct[0]; i++)
        printf("redis %s_%s_us %.2f\n", prefix, pct[i].name,
               pct_us(lat, m, pct[i].p));
    printf("redis %s_max_us %.2f\n", prefix, (double)lat[m - 1] / 1000.0);
    printf("redis %s_negative %zu\n", prefix, neg);
}

static int mode_lat(int pport, int rport, double rate, double secs,
                    uint32_t warmup)
{
    conn *p = dial(pport), *r = dial(rport);
    wait_synced(p, r, 1000);
    uint32_t n = (uint32_t)(rate * secs) + warmup;
    lat_run L = {.w = dial(pport), .n = n, .rate = rate};
    L.ret = xmalloc((size_t)n * sizeof *L.ret);
    L.due = xmalloc((size_t)n * sizeof *L.due);
    L.sent = xmalloc((size_t)n * sizeof *L.sent);
    uint64_t *seen = xmalloc((size_t)n * sizeof *seen);
    L.start = now_ns() + 2000000;
    pthread_t ts, tr;
    pthread_create(&tr, NULL, lat_receiver, &L);
    pthread_create(&ts, NULL, lat_sender, &L);

    /* The poller: EXISTS for the next BATCH keys at once, which counts
     * those present; the replica applies writes in order, so a count of c
     * means keys next .. next+c-1 are visible. Back to back, or with a
     * pause of REPL_POLL_US after a poll that found nothing new. */
    enum { BATCH = 64 };
    long poll_us = getenv("REPL_POLL_US") ? atol(getenv("REPL_POLL_US")) : 0;
    prctl(PR_SET_TIMERSLACK, 1UL);
    char *cmd = xmalloc(BATCH * (KEY_LEN + 16) + 64), out[64];
    uint64_t deadline = now_ns() + WAIT_NS;
    for (uint32_t next = 0; next < n;) {
        uint32_t b = n - next < BATCH ? n - next : BATCH;
        int h = sprintf(cmd, "*%u\r\n$6\r\nEXISTS\r\n", b + 1);
        for (uint32_t k = 0; k < b; k++) {
            h += sprintf(cmd + h, "$%d\r\n", KEY_LEN);
            format_key(cmd + h, next + k);
            h += KEY_LEN;
            memcpy(cmd + h, "\r\n", 2);
            h += 2;
        }
        uint64_t t0 = now_ns();
        send_all(r->fd, cmd, (size_t)h);
        int type = read_reply(r, out, sizeof out);
        uint64_t t1 = now_ns();
        if (type != ':')
            fail("EXISTS failed");
        long c = atol(out);
        if (c < 0 || c > (long)b)
            fail("EXISTS: bad count");
        for (long k = 0; k < c; k++)
            seen[next++] = t0 + (t1 - t0) / 2;
        if (c == 0 && poll_us > 0)
            sleep_us(poll_us);
        if (t1 > deadline)
            fail("lat: the replica never showed every key");
    }
    free(cmd);
    pthread_join(ts, NULL);
    pthread_join(tr, NULL);

    uint64_t late = 0;
    for (uint32_t i = 0; i < n; i++)
        late += L.ret[i] > L.due[i] + (uint64_t)(1e9 / rate);
    size_t m = n - warmup;
    printf("redis lat_writes %zu\n", m);
    printf("redis lat_target_rate %.0f\n", rate);
    printf("redis lat_achieved_rate %.0f\n",
           (n - 1) * 1e9 / (double)(L.ret[n - 1] - L.ret[0]));
    printf("redis lat_writes_behind_schedule %" PRIu64 "\n", late);
    int64_t *lat = xmalloc(m * sizeof *lat);
    emit_latencies("lat", seen + warmup, L.ret + warmup, lat, m);
    emit_latencies("lat_call", seen + warmup, L.sent + warmup, lat, m);
    free(lat);
    return 0;
}

static int mode_fullsync(int pport, int rport, long n)
{
    conn *r = dial(rport);
    char port[16], out[16384], link[32];
    snprintf(port, sizeof port, "%d", pport);
    const char *replicaof[] = {"REPLICAOF", "127.0.0.1", port};
    const char *dbsize[] = {"DBSIZE"};
    uint64_t t0 = now_ns();
    if (call(r, out, sizeof out, 3, replicaof) != '+')
        fail("REPLICAOF failed");
    for (;;) {
        info_field(r, "master_link_status", link, sizeof link);
        if (strcmp(link, "up") == 0 &&
            call(r, out, sizeof out, 1, dbsize) == ':' && atol(out) == n)
            break;
        if (now_ns() - t0 > WAIT_NS)
            fail("fullsync: replica never served every key");
        sleep_us(500);
    }
    uint64_t t1 = now_ns();
    printf("redis fullsync_ms %.2f\n", (double)(t1 - t0) / 1e6);
    return 0;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: repl_redis e2e PPORT RPORT N -- CMD ARGS...\n"
            "       repl_redis lat PPORT RPORT RATE SECONDS WARMUP\n"
            "       repl_redis fullsync PPORT RPORT N\n"
            "       repl_redis synced PPORT RPORT\n");
    exit(2);
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    if (argc < 4)
        usage();
    int pport = atoi(argv[2]), rport = atoi(argv[3]);
    if (strcmp(argv[1], "e2e") == 0 && argc > 6 && strcmp(argv[5], "--") == 0)
        return mode_e2e(pport, rport, atol(argv[4]), argv + 6);
    if (strcmp(argv[1], "lat") == 0 && argc == 7)
        return mode_lat(pport, rport, strtod(argv[4], NULL),
                        strtod(argv[5], NULL),
                        (uint32_t)strtoul(argv[6], NULL, 10));
    if (strcmp(argv[1], "fullsync") == 0 && argc == 5)
        return mode_fullsync(pport, rport, atol(argv[4]));
    if (strcmp(argv[1], "synced") == 0 && argc == 4) {
        wait_synced(dial(pport), dial(rport), 1000);
        return 0;
    }
    usage();
    return 2;
}
