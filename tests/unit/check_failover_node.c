/*
 * check_failover_node.c - failover wired into real nodes, inside one
 * process: three nodes (or two and a witness) on 127.0.0.1 with ports the
 * test finds free, "sentinel monitor" pointing at the first, short
 * down-after. Closing a node is its crash as far as its peers can tell.
 * Every wait is a bounded loop.
 */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "buf.h"
#include "failover.h"
#include "replkv.h"
#include "stream.h"
#include "testnet.h"

#define S(str) (str), strlen(str)
#define DOWN_AFTER "400"

static void print_log(replkv_t *kv, const replkv_log_event *ev, void *ud)
{
    (void)ud;
    if (getenv("RKV_TEST_LOG"))
        fprintf(stderr, "[%p] %s\n", (void *)kv, ev->message);
}

/* Events the callbacks saw, for assertions. */
static pthread_mutex_t ev_lock = PTHREAD_MUTEX_INITIALIZER;
static int role_events, peer_down_events, decisions, vetoes_left;
static uint64_t last_role_epoch;

static void on_role(replkv_t *kv, const replkv_role_event *ev, void *ud)
{
    (void)kv;
    (void)ud;
    pthread_mutex_lock(&ev_lock);
    role_events++;
    last_role_epoch = ev->epoch;
    pthread_mutex_unlock(&ev_lock);
}

static void on_peer(replkv_t *kv, const replkv_peer_event *ev, void *ud)
{
    (void)kv;
    (void)ud;
    pthread_mutex_lock(&ev_lock);
    if (ev->state == REPLKV_PEER_SDOWN || ev->state == REPLKV_PEER_ODOWN)
        peer_down_events++;
    pthread_mutex_unlock(&ev_lock);
}

static int on_decision(replkv_t *kv, const replkv_decision_event *ev,
                       size_t *pick, char *reason, size_t cap, void *ud)
{
    (void)kv;
    (void)ud;
    (void)pick;
    pthread_mutex_lock(&ev_lock);
    decisions++;
    bool veto = vetoes_left > 0;
    if (veto)
        vetoes_left--;
    pthread_mutex_unlock(&ev_lock);
    ck_assert_uint_ge(ev->ncandidates, 1);
    snprintf(reason, cap, "%s", veto ? "test veto" : "test accept");
    return veto ? REPLKV_VERDICT_VETO : REPLKV_VERDICT_ACCEPT;
}

typedef struct cluster {
    int n;
    int ports[3];
    replkv_t *kv[3];
    bool witness[3];
    char dirs[3][64]; /* appendonly dir of each node, "" = none */
} cluster;

static replkv_t *open_node(cluster *c, int i, bool decide)
{
    replkv_opts *o = replkv_opts_new();
    char v[128];
    snprintf(v, sizeof v, "%d", c->ports[i]);
    ck_assert_int_eq(replkv_opts_set(o, "port", v), 0);
    snprintf(v, sizeof v, "mymaster 127.0.0.1 %d 2", c->ports[0]);
    ck_assert_int_eq(replkv_opts_set(o, "sentinel monitor", v), 0);
    ck_assert_int_eq(replkv_opts_set(o, "sentinel down-after-milliseconds",
                                     "mymaster " DOWN_AFTER),
                     0);
    ck_assert_int_eq(replkv_opts_set(o, "sentinel failover-timeout", "3000"),
                     0);
    ck_assert_int_eq(replkv_opts_set(o, "sentinel_ping_interval", "50"), 0);
    ck_assert_int_eq(replkv_opts_set(o, "requirepass", "s3cret"), 0);
    ck_assert_int_eq(replkv_opts_set(o, "masterauth", "s3cret"), 0);
    ck_assert_int_eq(replkv_opts_set(o, "loglevel", "verbose"), 0);
    if (c->witness[i])
        ck_assert_int_eq(replkv_opts_set(o, "witness", "yes"), 0);
    if (c->dirs[i][0]) {
        ck_assert_int_eq(replkv_opts_set(o, "dir", c->dirs[i]), 0);
        ck_assert_int_eq(replkv_opts_set(o, "appendonly", "yes"), 0);
    }
    replkv_opts_set_log(o, print_log, NULL);
    replkv_opts_set_role_cb(o, on_role, NULL);
    replkv_opts_set_peer_cb(o, on_peer, NULL);
    if (decide)
        replkv_opts_set_decision_cb(o, on_decision, NULL);
    replkv_t *kv = NULL;
    int rc = replkv_open(o, &kv);
    ck_assert_msg(rc == 0, "open: %s", replkv_last_error());
    replkv_opts_free(o);
    return kv;
}

static void start(cluster *c, int n, int nwitness, bool decide)
{
    memset(c, 0, sizeof *c);
    c->n = n;
    for (int i = 0; i < n; i++) {
        c->ports[i] = test_free_port();
        c->witness[i] = i >= n - nwitness;
    }
    for (int i = 0; i < n; i++)
        c->kv[i] = open_node(c, i, decide);
}

static void stop(cluster *c)
{
    for (int i = 0; i < c->n; i++)
        replkv_close(c->kv[i]);
}

static replkv_repl_info repl_of(replkv_t *kv)
{
    replkv_repl_info in;
    in.size = sizeof in;
    ck_assert_int_eq(replkv_repl_info_get(kv, &in), 0);
    return in;
}

static int settled(cluster *c, long ms);

/* Waits until node want is the primary everyone settled on. */
static bool settled_on(cluster *c, int want, long ms)
{
    for (long t = 0; t < ms; t += 50) {
        if (settled(c, 50) == want)
            return true;
        test_sleep_ms(50);
    }
    return false;
}

/* The index of the only primary whose data nodes all follow it with their
 * link up, or -1 when the cluster is not settled within ms. */
static int settled(cluster *c, long ms)
{
    for (long t = 0; t < ms; t += 20) {
        int primary = -1, nprim = 0, ok = 0, ndata = 0;
        for (int i = 0; i < c->n; i++) {
            if (c->kv[i] == NULL || c->witness[i])
                continue;
            ndata++;
            if (replkv_role(c->kv[i]) == REPLKV_ROLE_PRIMARY) {
                primary = i;
                nprim++;
            }
        }
        if (nprim == 1) {
            replkv_repl_info p = repl_of(c->kv[primary]);
            ok = 1;
            for (int i = 0; i < c->n; i++) {
                if (c->kv[i] == NULL || c->witness[i] || i == primary)
                    continue;
                replkv_repl_info r = repl_of(c->kv[i]);
                if (!r.link_up || r.primary_port != c->ports[primary] ||
                    strcmp(r.replid, p.replid) != 0)
                    ok = 0;
                else
                    ok++;
            }
            if (ok == ndata)
                return primary;
        }
        test_sleep_ms(20);
    }
    return -1;
}

static bool has_key(replkv_t *kv, const char *k, const char *want)
{
    char buf[64];
    size_t n = 0;
    if (replkv_get(kv, S(k), buf, sizeof buf, &n) != 0)
        return false;
    return n == strlen(want) && memcmp(buf, want, n) == 0;
}

static bool eventually_has(replkv_t *kv, const char *k, const char *want,
                           long ms)
{
    for (long t = 0; t < ms; t += 10) {
        if (has_key(kv, k, want))
            return true;
        test_sleep_ms(10);
    }
    return false;
}

/* ------------------------------------------------------------ tests */

START_TEST(options_checked)
{
    replkv_opts *o = replkv_opts_new();
    ck_assert_int_eq(replkv_opts_set(o, "sentinel monitor", "m 127.0.0.1"),
                     REPLKV_EINVAL);
    ck_assert_ptr_nonnull(strstr(replkv_last_error(), "sentinel monitor"));
    ck_assert_int_eq(replkv_opts_set(o, "sentinel monitor",
                                     "m 127.0.0.1 70000 2"),
                     REPLKV_EINVAL);
    ck_assert_int_eq(replkv_opts_set(o, "sentinel monitor",
                                     "m 127.0.0.1 7000 0"),
                     REPLKV_EINVAL);
    ck_assert_int_eq(replkv_opts_set(o, "sentinel monitor",
                                     "m 127.0.0.1 7000 2"),
                     0);
    char buf[128];
    ck_assert_int_eq(replkv_opts_get(o, "sentinel monitor", buf, sizeof buf,
                                     NULL),
                     0);
    ck_assert_str_eq(buf, "m 127.0.0.1 7000 2");
    /* A per-master directive naming another master. */
    ck_assert_int_eq(replkv_opts_set(o, "sentinel down-after-milliseconds",
                                     "other 1000"),
                     REPLKV_EINVAL);
    ck_assert_ptr_nonnull(strstr(replkv_last_error(), "other"));
    ck_assert_int_eq(replkv_opts_set(o, "sentinel down-after-milliseconds",
                                     "m 1000"),
                     0);
    ck_assert_int_eq(replkv_opts_get(o, "sentinel_down_after_milliseconds",
                                     buf, sizeof buf, NULL),
                     0);
    ck_assert_str_eq(buf, "1000");
    ck_assert_int_eq(replkv_opts_set(o, "sentinel parallel-syncs", "0"),
                     REPLKV_EINVAL);
    ck_assert_int_eq(replkv_opts_set(o, "replica-priority", "-1"),
                     REPLKV_EINVAL);
    ck_assert_int_eq(replkv_opts_set(o, "witness", "maybe"), REPLKV_EINVAL);
    /* Monitor without port: open refuses, naming it. */
    replkv_t *kv = NULL;
    ck_assert_int_eq(replkv_open(o, &kv), REPLKV_EINVAL);
    ck_assert_ptr_null(kv);
    ck_assert_ptr_nonnull(strstr(replkv_last_error(), "port"));
    replkv_opts_free(o);
    /* Witness without monitor. */
    o = replkv_opts_new();
    ck_assert_int_eq(replkv_opts_set(o, "witness", "yes"), 0);
    ck_assert_int_eq(replkv_open(o, &kv), REPLKV_EINVAL);
    ck_assert_ptr_nonnull(strstr(replkv_last_error(), "witness"));
    replkv_opts_free(o);
    /* Failover calls on a node without failover. */
    ck_assert_int_eq(replkv_open(NULL, &kv), 0);
    ck_assert_int_eq(replkv_failover(kv, NULL, 0), REPLKV_ENOTSUP);
    ck_assert_int_eq(replkv_forget(kv, "0123456789012345678901234567890123456789"),
                     REPLKV_ENOTSUP);
    replkv_cluster_info ci = {.size = sizeof ci};
    ck_assert_int_eq(replkv_cluster_info_get(kv, &ci), 0);
    ck_assert(!ci.enabled);
    char *text = NULL;
    ck_assert_int_eq(replkv_info(kv, "sentinel", &text), 0);
    ck_assert_str_eq(text, "");
    replkv_free(text);
    replkv_close(kv);
}
END_TEST

START_TEST(boot_and_kill_primary)
{
    cluster c;
    start(&c, 3, 0, false);
    int p = settled(&c, 8000);
    ck_assert_msg(p == 0, "the monitored node should be primary, got %d", p);
    /* Replicas are read-only and know where the primary is. */
    ck_assert_int_eq(replkv_set(c.kv[1], S("k"), S("v"), 0, 0),
                     REPLKV_EREADONLY);
    char host[256];
    int port = 0;
    ck_assert_int_eq(replkv_primary_addr(c.kv[1], host, sizeof host, &port),
                     0);
    ck_assert_int_eq(port, c.ports[0]);
    ck_assert_int_eq(replkv_replicaof_none(c.kv[1]), REPLKV_ESTATE);
    ck_assert_int_eq(replkv_replicaof(c.kv[1], "127.0.0.1", 1), REPLKV_ESTATE);
    for (int i = 0; i < 100; i++) {
        char k[16];
        snprintf(k, sizeof k, "key%d", i);
        ck_assert_int_eq(replkv_set(c.kv[0], S(k), S("before"), 0, 0), 1);
    }
    ck_assert_int_eq(replkv_wait(c.kv[0], 2, 5000), 2);
    /* Cluster view. */
    replkv_cluster_info ci = {.size = sizeof ci};
    ck_assert_int_eq(replkv_cluster_info_get(c.kv[1], &ci), 0);
    ck_assert(ci.enabled);
    ck_assert_str_eq(ci.name, "mymaster");
    ck_assert_int_eq(ci.npeers, 3);
    ck_assert_int_eq(ci.voters, 3);
    ck_assert_int_eq(ci.primary_port, c.ports[0]);
    ck_assert(ci.peers[0].self);
    ck_assert_uint_eq(ci.peers[0].priority, 100);
    ck_assert(ci.peers[0].link_up); /* node 1 replicates node 0 */
    for (int i = 1; i < ci.npeers; i++)
        ck_assert_uint_eq(ci.peers[i].priority, 100);
    char *text = NULL;
    ck_assert_int_eq(replkv_info(c.kv[1], "sentinel", &text), 0);
    ck_assert_ptr_nonnull(strstr(text, "master0:name=mymaster,status=ok"));
    replkv_free(text);

    /* The primary dies. */
    replkv_close(c.kv[0]);
    c.kv[0] = NULL;
    int np = settled(&c, 10000);
    ck_assert_msg(np == 1 || np == 2, "no new primary settled");
    int other = np == 1 ? 2 : 1;
    ck_assert(has_key(c.kv[np], "key99", "before"));
    ck_assert_int_eq(replkv_set(c.kv[np], S("after"), S("x"), 0, 0), 1);
    ck_assert(eventually_has(c.kv[other], "after", "x", 3000));
    ck_assert(eventually_has(c.kv[other], "key0", "before", 100));
    ci.size = sizeof ci;
    ck_assert_int_eq(replkv_cluster_info_get(c.kv[other], &ci), 0);
    ck_assert_uint_ge(ci.config_epoch, 1);
    ck_assert_int_eq(ci.primary_port, c.ports[np]);
    pthread_mutex_lock(&ev_lock);
    ck_assert_int_ge(peer_down_events, 1);
    ck_assert_uint_ge(last_role_epoch, 1);
    pthread_mutex_unlock(&ev_lock);

    /* The old primary comes back empty: it rejoins as a replica. */
    c.kv[0] = open_node(&c, 0, false);
    ck_assert(settled_on(&c, np, 10000));
    ck_assert(eventually_has(c.kv[0], "after", "x", 3000));
    ck_assert(has_key(c.kv[np], "key50", "before"));
    stop(&c);
}
END_TEST

START_TEST(witness_cluster)
{
    cluster c;
    start(&c, 3, 1, false);
    ck_assert_int_eq(settled(&c, 8000), 0);
    ck_assert_int_eq(replkv_role(c.kv[2]), REPLKV_ROLE_WITNESS);
    ck_assert_int_eq(replkv_set(c.kv[2], S("k"), S("v"), 0, 0),
                     REPLKV_ENOTSUP);
    char host[256];
    int port = 0;
    ck_assert_int_eq(replkv_primary_addr(c.kv[2], host, sizeof host, &port),
                     0);
    ck_assert_int_eq(port, c.ports[0]);
    ck_assert_int_eq(replkv_set(c.kv[0], S("w"), S("1"), 0, 0), 1);
    ck_assert_int_eq(replkv_wait(c.kv[0], 1, 5000), 1);
    replkv_close(c.kv[0]);
    c.kv[0] = NULL;
    ck_assert_int_eq(settled(&c, 10000), 1);
    ck_assert(has_key(c.kv[1], "w", "1"));
    for (int t = 0; t < 100 && port != c.ports[1]; t++) {
        test_sleep_ms(20);
        ck_assert_int_eq(
            replkv_primary_addr(c.kv[2], host, sizeof host, &port), 0);
    }
    ck_assert_int_eq(port, c.ports[1]);
    stop(&c);
}
END_TEST

START_TEST(manual_failover_loses_nothing)
{
    cluster c;
    start(&c, 3, 0, false);
    ck_assert_int_eq(settled(&c, 8000), 0);
    ck_assert_int_eq(replkv_failover(c.kv[1], "nothex", 0), REPLKV_EINVAL);
    ck_assert_int_eq(replkv_failover(c.kv[1], "127.0.0.1:1", 0),
                     REPLKV_EINVAL);
    /* Write, then hand over to node 2 by address. */
    int acked = 0;
    for (int i = 0; i < 200; i++) {
        char k[16];
        snprintf(k, sizeof k, "m%d", i);
        if (replkv_set(c.kv[0], S(k), S("v"), 0, 0) == 1)
            acked = i + 1;
    }
    char target[64];
    snprintf(target, sizeof target, "127.0.0.1:%d", c.ports[2]);
    ck_assert_msg(replkv_failover(c.kv[0], target, 5000) == 0, "failover: %s",
                  replkv_last_error());
    ck_assert(settled_on(&c, 2, 10000));
    for (int i = 0; i < acked; i++) {
        char k[16];
        snprintf(k, sizeof k, "m%d", i);
        ck_assert_msg(has_key(c.kv[2], k, "v"), "lost %s", k);
    }
    /* The old primary refuses writes, naming the new one. */
    ck_assert_int_eq(replkv_set(c.kv[0], S("x"), S("y"), 0, 0),
                     REPLKV_EREADONLY);
    replkv_cluster_info ci = {.size = sizeof ci};
    replkv_cluster_info_get(c.kv[2], &ci);
    ck_assert_uint_ge(ci.config_epoch, 1);
    stop(&c);
}
END_TEST

/* FAILOVER ABORT: a manual failover waiting for a target that cannot catch
 * up (it is gone) is called back and writes resume on the primary. */
START_TEST(manual_failover_abort)
{
    cluster c;
    start(&c, 3, 0, false);
    ck_assert_int_eq(settled(&c, 8000), 0);
    ck_assert_int_eq(replkv_failover_abort(c.kv[0]), REPLKV_ESTATE);
    char target[64];
    snprintf(target, sizeof target, "127.0.0.1:%d", c.ports[2]);
    replkv_close(c.kv[2]);
    c.kv[2] = NULL;
    ck_assert_int_eq(replkv_set(c.kv[0], S("lag"), S("1"), 0, 0), 1);
    ck_assert_int_eq(replkv_failover(c.kv[0], target, 20000), 0);
    ck_assert_int_eq(replkv_set(c.kv[0], S("x"), S("1"), 0, 0),
                     REPLKV_EREADONLY); /* paused */
    ck_assert_int_eq(replkv_failover_abort(c.kv[0]), 0);
    ck_assert_int_eq(replkv_set(c.kv[0], S("x"), S("2"), 0, 0), 1);
    ck_assert_int_eq(replkv_role(c.kv[0]), REPLKV_ROLE_PRIMARY);
    ck_assert_int_eq(replkv_failover_abort(c.kv[0]), REPLKV_ESTATE);
    stop(&c);
}
END_TEST

START_TEST(decision_veto_then_accept)
{
    pthread_mutex_lock(&ev_lock);
    decisions = 0;
    vetoes_left = 1;
    pthread_mutex_unlock(&ev_lock);
    cluster c;
    start(&c, 3, 0, true);
    ck_assert_int_eq(settled(&c, 8000), 0);
    ck_assert_int_eq(replkv_set(c.kv[0], S("d"), S("1"), 0, 0), 1);
    ck_assert_int_eq(replkv_wait(c.kv[0], 2, 5000), 2);
    test_sleep_ms(100); /* the replicas report their synced state in a ping */
    replkv_close(c.kv[0]);
    c.kv[0] = NULL;
    int np = settled(&c, 15000);
    ck_assert(np == 1 || np == 2);
    pthread_mutex_lock(&ev_lock);
    ck_assert_int_ge(decisions, 2); /* the veto, then the accept */
    ck_assert_int_eq(vetoes_left, 0);
    pthread_mutex_unlock(&ev_lock);
    stop(&c);
}
END_TEST

/* ------------------------------------------------------------ flood */

static long rss_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    while (f != NULL && fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
            break;
    if (f)
        fclose(f);
    return kb;
}

static void write_all(int fd, const void *p, size_t n)
{
    const uint8_t *b = p;
    while (n > 0) {
        ssize_t w = write(fd, b, n);
        if (w <= 0)
            return; /* closed: the caller checks what the node did */
        b += w;
        n -= (size_t)w;
    }
}

/* Reads one frame and decodes it (HELLO, AUTH). */
static bool read_msg(int fd, rkv_buf *in, rkv_msg *m)
{
    for (int i = 0; i < 200; i++) {
        rkv_frame f;
        int rc = rkv_frame_parse(in->data, in->len, 4096, &f);
        if (rc == 1) {
            bool ok = rkv_msg_decode(f.payload, f.len, m) == 0;
            return ok; /* in->data stays valid: m points into it */
        }
        if (rc < 0)
            return false;
        rkv_buf_reserve(in, 4096);
        ssize_t n = read(fd, in->data + in->len, 4096);
        if (n <= 0)
            return false;
        in->len += (size_t)n;
    }
    return false;
}

/* An authenticated peer that floods the node with failover pings and link
 * pings as fast as the socket takes them: the node keeps serving, its
 * memory stays bounded, and it answers its real peers. */
START_TEST(peer_ping_flood)
{
    cluster c;
    start(&c, 2, 0, false);
    ck_assert_int_eq(settled(&c, 8000), 0);
    ck_assert_int_eq(replkv_set(c.kv[0], S("before"), S("1"), 0, 0), 1);
    long rss0 = rss_kb();

    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)c.ports[0]);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    const char *me = "f100d00000000000000000000000000000000001";
    uint8_t nonce[32];
    ck_assert_int_eq(rkv_auth_nonce(nonce), 0);
    rkv_buf out, in;
    rkv_buf_init(&out);
    rkv_buf_init(&in);
    rkv_msg h = {.type = RKV_MSG_HELLO};
    h.hello.version = RKV_PROTO_VERSION;
    h.hello.node_id = (rkv_bytes){me, 40};
    h.hello.nonce = (rkv_bytes){nonce, 32};
    h.hello.flags = RKV_HELLO_PEER;
    ck_assert_int_eq(rkv_msg_encode(&out, &h), 0);
    write_all(fd, out.data, out.len);
    rkv_msg peer;
    ck_assert(read_msg(fd, &in, &peer));
    ck_assert_int_eq(peer.type, RKV_MSG_HELLO);
    char peer_id[41];
    uint8_t peer_nonce[32];
    memcpy(peer_id, peer.hello.node_id.p, 40);
    peer_id[40] = '\0';
    memcpy(peer_nonce, peer.hello.nonce.p, 32);
    rkv_auth au = {"s3cret", 6, true, nonce, peer_nonce, me, peer_id};
    uint8_t proof[32];
    ck_assert_int_eq(rkv_auth_prove(&au, proof), 0);
    rkv_msg pr = {.type = RKV_MSG_AUTH};
    pr.auth.proof = (rkv_bytes){proof, 32};
    rkv_buf_clear(&out);
    ck_assert_int_eq(rkv_msg_encode(&out, &pr), 0);
    write_all(fd, out.data, out.len);

    /* One batch: 200 failover pings and 200 link pings. */
    static rkv_fo_msg m;
    memset(&m, 0, sizeof m);
    m.type = RKV_FO_MSG_PING;
    strcpy(m.from, me);
    strcpy(m.ping.name, "mymaster");
    strcpy(m.ping.addr.host, "127.0.0.1");
    m.ping.addr.port = 9; /* nobody: the node's pings to it go nowhere */
    rkv_buf_clear(&out);
    rkv_msg lp = {.type = RKV_MSG_PING_LINK};
    for (int i = 0; i < 200; i++) {
        ck_assert_int_eq(rkv_fo_msg_encode(&out, &m), 0);
        lp.ping.unix_ms = i;
        ck_assert_int_eq(rkv_msg_encode(&out, &lp), 0);
    }
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    long sent = 0, served = 0;
    for (int round = 0; round < 100000; round++) {
        write_all(fd, out.data, out.len);
        sent += 400;
        char k[32];
        snprintf(k, sizeof k, "during%d", round % 1000);
        if (replkv_set(c.kv[0], S(k), S("v"), 0, 0) == 1)
            served++;
        clock_gettime(CLOCK_MONOTONIC, &t);
        if ((t.tv_sec - t0.tv_sec) * 1000 +
                (t.tv_nsec - t0.tv_nsec) / 1000000 > 3000)
            break;
    }
    long rss1 = rss_kb();
    close(fd);
    rkv_buf_free(&out);
    rkv_buf_free(&in);
    ck_assert_int_ge(sent, 10000);
    ck_assert_int_ge(served, 100);
    /* The node buffers at most what it reads: the flood costs no memory
     * beyond a few link buffers. (ASan keeps freed memory in quarantine,
     * up to 256 MB by default: the bound means nothing there.) */
#if !defined(__SANITIZE_ADDRESS__)
    ck_assert_msg(rss1 - rss0 < 64 * 1024, "RSS grew %ld kB", rss1 - rss0);
#else
    (void)rss0;
    (void)rss1;
#endif
    /* It still replicates and its peer still sees it as primary. */
    ck_assert_int_eq(replkv_set(c.kv[0], S("after"), S("1"), 0, 0), 1);
    ck_assert(eventually_has(c.kv[1], "after", "1", 5000));
    ck_assert_int_eq(settled(&c, 3000), 0);
    stop(&c);
}
END_TEST

static void node_id_of(replkv_t *kv, char id[41])
{
    replkv_cluster_info ci = {.size = sizeof ci};
    ck_assert_int_eq(replkv_cluster_info_get(kv, &ci), 0);
    memcpy(id, ci.node_id, 41);
}

/* With persistence, a node keeps its id and its vote across a restart
 * (node.state): the old primary comes back as the same node, learns the
 * newer configuration and follows it with its data. */
START_TEST(persisted_restart)
{
    cluster c;
    memset(&c, 0, sizeof c);
    c.n = 3;
    for (int i = 0; i < 3; i++) {
        c.ports[i] = test_free_port();
        snprintf(c.dirs[i], sizeof c.dirs[i], "/tmp/rkv-fo-XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(c.dirs[i]));
    }
    for (int i = 0; i < 3; i++)
        c.kv[i] = open_node(&c, i, false);
    ck_assert_int_eq(settled(&c, 8000), 0);
    char id0[41], id0b[41];
    node_id_of(c.kv[0], id0);
    ck_assert_int_eq(replkv_set(c.kv[0], S("p"), S("1"), 0, 0), 1);
    ck_assert_int_eq(replkv_wait(c.kv[0], 2, 5000), 2);
    replkv_close(c.kv[0]);
    c.kv[0] = NULL;
    int np = settled(&c, 10000);
    ck_assert(np == 1 || np == 2);
    replkv_cluster_info ci = {.size = sizeof ci};
    replkv_cluster_info_get(c.kv[np], &ci);
    uint64_t epoch = ci.config_epoch;
    ck_assert_uint_ge(epoch, 1);
    ck_assert_int_eq(replkv_set(c.kv[np], S("q"), S("2"), 0, 0), 1);
    c.kv[0] = open_node(&c, 0, false);
    node_id_of(c.kv[0], id0b);
    ck_assert_str_eq(id0, id0b);
    ck_assert(settled_on(&c, np, 10000));
    ck_assert(eventually_has(c.kv[0], "q", "2", 5000));
    ck_assert(has_key(c.kv[0], "p", "1"));
    ci.size = sizeof ci;
    replkv_cluster_info_get(c.kv[0], &ci);
    ck_assert_uint_eq(ci.config_epoch, epoch);
    ck_assert_int_eq(ci.voters, 3); /* the same three nodes, no stale id */
    stop(&c);
    for (int i = 0; i < 3; i++) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", c.dirs[i]);
        ck_assert_int_eq(system(cmd), 0);
    }
}
END_TEST

static Suite *failover_node_suite(void)
{
    Suite *s = suite_create("failover_node");
    TCase *tc = tcase_create("failover_node");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, options_checked);
    tcase_add_test(tc, boot_and_kill_primary);
    tcase_add_test(tc, witness_cluster);
    tcase_add_test(tc, manual_failover_loses_nothing);
    tcase_add_test(tc, manual_failover_abort);
    tcase_add_test(tc, decision_veto_then_accept);
    tcase_add_test(tc, peer_ping_flood);
    tcase_add_test(tc, persisted_restart);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(failover_node_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
