/*
 * failover.c - automatic failover with three nodes in one process on
 * 127.0.0.1: every node sets "sentinel monitor" with the first node's
 * address (the first primary) and down-after 1000 ms. Keys are written on
 * the primary and acknowledged by both replicas; then the primary is
 * closed, the others see it down, elect a leader, which asks the
 * decision callback (here it logs the candidates and accepts) and
 * promotes a replica. The role callback says which; the keys are there.
 *
 *   failover [port0 port1 port2]     (default: free ports chosen at runtime)
 */
/* clock_gettime, nanosleep: POSIX, not C11 (cc -std=c11 hides them). */
#define _POSIX_C_SOURCE 200809L

#include <replkv.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NODES 3
#define KEYS 100

/* What the role callbacks tell main(), under mu. */
static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int promoted;    /* index of the node promoted by the failover, or -1 */
    uint64_t epoch;  /* its configuration epoch */
    int closed_node; /* the primary we closed: its boot event is old news */
} demo = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, -1, 0, -1};

static int index_of[NODES] = {0, 1, 2}; /* each node's ud */

static void on_role(replkv_t *kv, const replkv_role_event *ev, void *ud)
{
    (void)kv;
    int i = *(const int *)ud;
    const char *names[] = {"primary", "replica", "witness"};
    printf("  node %d: role %s -> %s (epoch %llu)\n", i,
           names[ev->old_role % 3], names[ev->new_role % 3],
           (unsigned long long)ev->epoch);
    pthread_mutex_lock(&demo.mu);
    if (ev->new_role == REPLKV_ROLE_PRIMARY && ev->epoch > 0 &&
        i != demo.closed_node) {
        demo.promoted = i;
        demo.epoch = ev->epoch;
        pthread_cond_broadcast(&demo.cv);
    }
    pthread_mutex_unlock(&demo.mu);
}

/* Runs on the leader of the election, before it promotes anyone. */
static int on_decision(replkv_t *kv, const replkv_decision_event *ev,
                       size_t *pick, char *reason, size_t reason_cap,
                       void *ud)
{
    (void)kv;
    (void)pick;
    printf("  node %d leads the failover of epoch %llu; candidates:\n",
           *(const int *)ud, (unsigned long long)ev->epoch);
    for (size_t i = 0; i < ev->ncandidates; i++) {
        const replkv_candidate *c = &ev->candidates[i];
        printf("    %zu. %.8s... at %s:%d priority %u offset %lld\n", i,
               c->node_id, c->host, c->port, (unsigned)c->priority,
               (long long)c->offset);
    }
    snprintf(reason, reason_cap, "the example accepts the best candidate");
    return REPLKV_VERDICT_ACCEPT;
}

static void on_log(replkv_t *kv, const replkv_log_event *ev, void *ud)
{
    (void)kv;
    (void)ud;
    if (ev->level >= REPLKV_LOG_WARNING)
        printf("  log: %s\n", ev->message);
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Opens node i on port (or, when port is 0, on a free port from *next),
 * monitoring the first node at 127.0.0.1:monitor (itself when 0). */
static replkv_t *open_node(int i, int port, int *next, int monitor,
                           int *bound)
{
    for (int tries = 0; tries < 50; tries++) {
        int p = port != 0 ? port : (*next)++;
        char v[128];
        replkv_opts *o = replkv_opts_new();
        snprintf(v, sizeof v, "%d", p);
        int rc = replkv_opts_set(o, "port", v);
        snprintf(v, sizeof v, "demo 127.0.0.1 %d 2", monitor ? monitor : p);
        if (rc == 0)
            rc = replkv_opts_set(o, "sentinel monitor", v);
        if (rc == 0)
            rc = replkv_opts_set(o, "sentinel down-after-milliseconds",
                                 "1000");
        if (rc == 0)
            rc = replkv_opts_set(o, "sentinel failover-timeout", "10000");
        if (rc == 0)
            rc = replkv_opts_set_role_cb(o, on_role, &index_of[i]);
        if (rc == 0)
            rc = replkv_opts_set_decision_cb(o, on_decision, &index_of[i]);
        if (rc == 0)
            rc = replkv_opts_set_log(o, on_log, NULL);
        replkv_t *kv = NULL;
        if (rc == 0)
            rc = replkv_open(o, &kv);
        replkv_opts_free(o);
        if (rc == 0) {
            *bound = p;
            return kv;
        }
        if (rc != REPLKV_ENET || port != 0) { /* ENET: port in use */
            fprintf(stderr, "node %d: %s: %s\n", i, replkv_err_name(rc),
                    replkv_last_error());
            return NULL;
        }
    }
    fprintf(stderr, "node %d: no free port\n", i);
    return NULL;
}

/* True once node r replicates the primary on port with its link up. */
static bool follows(replkv_t *r, int port)
{
    replkv_repl_info info;
    memset(&info, 0, sizeof info);
    info.size = sizeof info;
    return replkv_repl_info_get(r, &info) == 0 &&
           info.role == REPLKV_ROLE_REPLICA && info.link_up &&
           info.primary_port == port;
}

static bool wait_follows(replkv_t *kv[], const int port[], int primary,
                         int timeout_ms)
{
    int64_t end = now_ms() + timeout_ms;
    for (;;) {
        bool all = replkv_role(kv[primary]) == REPLKV_ROLE_PRIMARY;
        for (int i = 0; i < NODES && all; i++)
            if (i != primary && kv[i] != NULL)
                all = follows(kv[i], port[primary]);
        if (all)
            return true;
        if (now_ms() > end)
            return false;
        sleep_ms(20);
    }
}

static int check_keys(replkv_t *kv, int node)
{
    uint64_t n = 0;
    char buf[64];
    size_t len = 0;
    int rc = replkv_count(kv, &n);
    if (rc == 0)
        rc = replkv_get(kv, "key:42", 6, buf, sizeof buf, &len);
    if (rc != 0 || n != KEYS) {
        fprintf(stderr, "node %d: %llu keys, key:42: %s\n", node,
                (unsigned long long)n, replkv_err_name(rc));
        return 1;
    }
    printf("node %d has all %d keys; key:42 = %.*s\n", node, KEYS, (int)len,
           buf);
    return 0;
}

int main(int argc, char **argv)
{
    replkv_t *kv[NODES] = {NULL};
    int want[NODES] = {0}, port[NODES] = {0};
    int next = 20000 + (int)(getpid() % 20000);
    if (argc == NODES + 1)
        for (int i = 0; i < NODES; i++)
            want[i] = atoi(argv[i + 1]);
    else if (argc != 1) {
        fprintf(stderr, "usage: %s [port0 port1 port2]\n", argv[0]);
        return 2;
    }

    int status = 1;
    for (int i = 0; i < NODES; i++) {
        kv[i] = open_node(i, want[i], &next, port[0], &port[i]);
        if (kv[i] == NULL)
            goto out;
    }
    printf("nodes on 127.0.0.1:%d (monitor address), :%d, :%d\n", port[0],
           port[1], port[2]);
    if (!wait_follows(kv, port, 0, 15000)) {
        fprintf(stderr, "the cluster did not form within 15 s\n");
        goto out;
    }
    printf("node 0 is the primary; nodes 1 and 2 replicate it\n");

    for (int i = 0; i < KEYS; i++) {
        char k[32], v[32];
        int kl = snprintf(k, sizeof k, "key:%d", i);
        int vl = snprintf(v, sizeof v, "value-%d", i);
        replkv_set(kv[0], k, (size_t)kl, v, (size_t)vl, 0, 0);
    }
    int acked = replkv_wait(kv[0], 2, 5000);
    printf("wrote %d keys; %d replicas acknowledged them\n", KEYS, acked);

    pthread_mutex_lock(&demo.mu);
    demo.closed_node = 0;
    pthread_mutex_unlock(&demo.mu);
    printf("closing the primary (node 0)...\n");
    int64_t t0 = now_ms();
    replkv_close(kv[0]);
    kv[0] = NULL;

    /* The role callback signals the promotion. */
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 20;
    pthread_mutex_lock(&demo.mu);
    while (demo.promoted < 0)
        if (pthread_cond_timedwait(&demo.cv, &demo.mu, &deadline) != 0)
            break;
    int p = demo.promoted;
    uint64_t epoch = demo.epoch;
    pthread_mutex_unlock(&demo.mu);
    if (p < 0) {
        fprintf(stderr, "no failover within 20 s\n");
        goto out;
    }
    printf("node %d is the new primary (epoch %llu), %lld ms after the "
           "close\n",
           p, (unsigned long long)epoch, (long long)(now_ms() - t0));

    if (check_keys(kv[p], p) != 0)
        goto out;
    if (!wait_follows(kv, port, p, 15000)) {
        fprintf(stderr, "the other node did not follow node %d\n", p);
        goto out;
    }
    int other = p == 1 ? 2 : 1;
    printf("node %d now replicates node %d\n", other, p);
    status = check_keys(kv[other], other);

out:
    for (int i = 0; i < NODES; i++)
        replkv_close(kv[i]);
    return status;
}
