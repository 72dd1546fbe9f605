/*
 * repl_bench.c - replication throughput in one process:
 *   repl_bench [N] [THREADS] [WHICH]
 * times N SETs (split over THREADS writer threads) on a standalone node, a
 * primary with a port and no replicas, a primary with one replica (end to
 * end: until the replica applied the last write) and with two replicas;
 * WHICH is a bit mask of those four runs (default 15).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "replkv.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0)
        return -1;
    socklen_t len = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &len);
    close(fd);
    return ntohs(a.sin_port);
}

static replkv_t *open_node(int port, int primary_port)
{
    replkv_opts *o = replkv_opts_new();
    char v[64];
    if (port) {
        snprintf(v, sizeof v, "%d", port);
        replkv_opts_set(o, "port", v);
    }
    if (primary_port) {
        snprintf(v, sizeof v, "127.0.0.1 %d", primary_port);
        replkv_opts_set(o, "replicaof", v);
    }
    replkv_opts_set(o, "repl-backlog-size", "64mb");
    replkv_t *kv = NULL;
    if (replkv_open(o, &kv) != 0) {
        fprintf(stderr, "open: %s\n", replkv_last_error());
        exit(1);
    }
    replkv_opts_free(o);
    return kv;
}

typedef struct job {
    replkv_t *kv;
    long from, to;
    int64_t last_off;
} job;

static void *writer(void *arg)
{
    job *j = arg;
    char k[32], v[32];
    for (long i = j->from; i < j->to; i++) {
        int kl = snprintf(k, sizeof k, "key:%ld", i);
        int vl = snprintf(v, sizeof v, "value:%012ld", i);
        if (replkv_set(j->kv, k, (size_t)kl, v, (size_t)vl, 0, 0) != 1) {
            fprintf(stderr, "set: %s\n", replkv_last_error());
            exit(1);
        }
    }
    replkv_last_offset(j->kv, &j->last_off);
    return NULL;
}

static double run(replkv_t *kv, long n, int threads, int64_t *max_off)
{
    pthread_t t[64];
    job j[64];
    double t0 = now_s();
    for (int i = 0; i < threads; i++) {
        j[i] = (job){kv, n * i / threads, n * (i + 1) / threads, 0};
        pthread_create(&t[i], NULL, writer, &j[i]);
    }
    *max_off = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(t[i], NULL);
        if (j[i].last_off > *max_off)
            *max_off = j[i].last_off;
    }
    return now_s() - t0;
}

static void wait_linked(replkv_t *r)
{
    for (int i = 0; i < 1000; i++) {
        replkv_repl_info in = {.size = sizeof in};
        replkv_repl_info_get(r, &in);
        if (in.link_up)
            return;
        struct timespec ts = {0, 10000000};
        nanosleep(&ts, NULL);
    }
    fprintf(stderr, "replica never linked\n");
    exit(1);
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 1000000;
    int threads = argc > 2 ? atoi(argv[2]) : 1;
    if (threads < 1 || threads > 64)
        threads = 1;
    int which = argc > 3 ? atoi(argv[3]) : 15;
    int64_t off;
    replkv_t *s, *p, *r1, *r2;
    double tp = 0, t0, tw, te;
    unsigned char d1[16], d2[16];
    int pp;
    if (!(which & 1))
        goto primary;
    s = open_node(0, 0);
    double ts = run(s, n, threads, &off);
    printf("standalone:            %8.0f writes/s\n", n / ts);
    replkv_close(s);
primary:
    if (!(which & 2))
        goto one;
    pp = free_port();
    p = open_node(pp, 0);
    tp = run(p, n, threads, &off);
    printf("primary, no replicas:  %8.0f writes/s\n", n / tp);
    replkv_close(p);
one:
    if (!(which & 4))
        goto two;
    pp = free_port();
    p = open_node(pp, 0);
    r1 = open_node(0, pp);
    wait_linked(r1);
    t0 = now_s();
    tw = run(p, n, threads, &off);
    if (replkv_wait_applied(r1, off, 60000) != 0)
        fprintf(stderr, "replica did not catch up: %s\n", replkv_last_error());
    te = now_s() - t0;
    replkv_digest(p, d1);
    replkv_digest(r1, d2);
    printf("primary, 1 replica:    %8.0f writes/s, end to end %8.0f writes/s"
           " (digests %s)\n",
           n / tw, n / te, memcmp(d1, d2, 16) == 0 ? "equal" : "DIFFER");
    replkv_close(r1);
    replkv_close(p);
two:
    if (!(which & 8))
        return 0;
    pp = free_port();
    p = open_node(pp, 0);
    r1 = open_node(0, pp);
    r2 = open_node(0, pp);
    wait_linked(r1);
    wait_linked(r2);
    t0 = now_s();
    tw = run(p, n, threads, &off);
    replkv_wait_applied(r1, off, 60000);
    replkv_wait_applied(r2, off, 60000);
    te = now_s() - t0;
    printf("primary, 2 replicas:   %8.0f writes/s, end to end %8.0f writes/s"
           " (%.2fx of no replicas)\n",
           n / tw, n / te, tp / tw);
    replkv_close(r2);
    replkv_close(r1);
    replkv_close(p);
    return 0;
}
