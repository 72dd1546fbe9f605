/*
 * node.c - a node's life: open (options copied, shards built, I/O thread
 * started and waited for), the I/O thread's loop and cron, runtime config,
 * logging, close (stop the loop from any thread, join, free).
 */
#include "node.h"

#include "failover_node.h"
#include "persist_node.h"
#include "repl.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ logging */

void rkv_log(replkv_t *kv, replkv_log_level level, const char *fmt, ...)
{
    if (kv->log_cb == NULL ||
        (int)level < atomic_load_explicit(&kv->loglevel, memory_order_relaxed))
        return;
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    replkv_log_event ev = {sizeof ev, level, line};
    kv->log_cb(kv, &ev, kv->log_ud);
}

uint64_t rkv_node_random(replkv_t *kv)
{
    rkv_rng r = {kv->rng_base + atomic_fetch_add_explicit(
                                    &kv->rng_counter, 1, memory_order_relaxed)};
    return rkv_rng_next(&r);
}

size_t rkv_node_used_memory(replkv_t *kv)
{
    size_t total = 0;
    for (unsigned i = 0; i < RKV_SHARDS; i++)
        total += atomic_load_explicit(&kv->shards[i].mem, memory_order_relaxed);
    return total;
}

/* ------------------------------------------------------------ config */

/* Copies the hot values of kv->cfg into the atomics the data path reads.
 * Called with cfg_lock held (or before the node is shared). */
static void publish_config(replkv_t *kv)
{
    atomic_store(&kv->maxmemory, kv->cfg.maxmemory);
    atomic_store(&kv->max_bulk_len, kv->cfg.proto_max_bulk_len);
    atomic_store(&kv->evict_policy, kv->cfg.maxmemory_policy);
    atomic_store(&kv->evict_samples, kv->cfg.maxmemory_samples);
    atomic_store(&kv->loglevel, kv->cfg.loglevel);
    atomic_store(&kv->hz, kv->cfg.hz);
    atomic_store(&kv->read_only, kv->cfg.replica_read_only);
    atomic_store(&kv->min_replicas, kv->cfg.min_replicas_to_write);
}

int replkv_config_set(replkv_t *kv, const char *name, const char *value)
{
    if (kv == NULL)
        return rkv_fail(REPLKV_EINVAL, "replkv_config_set: NULL node");
    if (rkv_opt_is(name, "replicaof")) /* a role change, not a value */
        return rkv_repl_config_replicaof(kv, value);
    pthread_mutex_lock(&kv->cfg_lock);
    int rc = rkv_config_set(&kv->cfg, name, value, true);
    if (rc == 0)
        publish_config(kv);
    pthread_mutex_unlock(&kv->cfg_lock);
    if (rc == 0) {
        rkv_repl_config_changed(kv, name);
        rkv_log(kv, REPLKV_LOG_NOTICE, "config set %s %s", name,
                strstr(name, "pass") || strstr(name, "auth") ? "(secret)"
                                                             : value);
    }
    return rc;
}

int replkv_config_get(replkv_t *kv, const char *name, char *buf, size_t cap,
                      size_t *needed)
{
    if (kv == NULL)
        return rkv_fail(REPLKV_EINVAL, "replkv_config_get: NULL node");
    pthread_mutex_lock(&kv->cfg_lock);
    int rc = rkv_config_get(&kv->cfg, name, buf, cap, needed);
    pthread_mutex_unlock(&kv->cfg_lock);
    return rc;
}

/* ------------------------------------------------------------ I/O thread */

static uint32_t lru_clock_now(void)
{
    return (uint32_t)(rkv_mono_ms() / 1000) & RKV_LRU_MAX;
}

static void cron_tick(uv_timer_t *t)
{
    replkv_t *kv = t->data;
    atomic_store_explicit(&kv->lru_clock, lru_clock_now(),
                          memory_order_relaxed);
    int hz = atomic_load_explicit(&kv->hz, memory_order_relaxed);
    /* Active expiry may use a quarter of each cron period, as Redis's slow
     * cycle does, so that expiry never starves the loop's other work. */
    rkv_data_active_expire(kv, 250000u / (unsigned)hz);
    rkv_pnode_cron(kv);
    if (hz != kv->cron_hz) {
        kv->cron_hz = hz;
        uv_timer_set_repeat(t, 1000u / (unsigned)hz);
    }
}

static void close_handle(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

/* Runs on the I/O thread when replkv_close() wakes it: closing every handle
 * lets uv_run() return. */
static void on_stop(uv_async_t *a)
{
    replkv_t *kv = a->data;
    rkv_repl_stop(kv);
    uv_walk(&kv->loop, close_handle, NULL);
}

static void io_thread_main(void *arg)
{
    replkv_t *kv = arg;
    /* Every socket write happens on this thread: with SIGPIPE blocked here,
     * a peer that vanishes makes write() fail with EPIPE instead of
     * killing the application (the signal stays pending on this thread
     * only, and the process-wide disposition is left alone). */
    sigset_t pipe_set;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, NULL);
    kv->cron_hz = atomic_load(&kv->hz);
    int rc = uv_timer_start(&kv->cron_timer, cron_tick, 1000u / (unsigned)kv->cron_hz,
                            1000u / (unsigned)kv->cron_hz);
    kv->start_err = rc == 0 ? 0 : REPLKV_ENOMEM;
    if (kv->start_err == 0)
        kv->start_err = rkv_repl_start(kv);
    uv_sem_post(&kv->ready);
    if (kv->start_err != 0)
        return;
    uv_run(&kv->loop, UV_RUN_DEFAULT);
}

/* ------------------------------------------------------------ open/close */

static void free_node(replkv_t *kv)
{
    if (kv->repl != NULL)
        rkv_pnode_close(kv);
    rkv_fonode_free(kv);
    rkv_repl_free(kv);
    rkv_ks_free(kv->hasher);
    for (unsigned i = 0; i < RKV_SHARDS; i++) {
        rkv_ks_free(kv->shards[i].ks);
        pthread_mutex_destroy(&kv->shards[i].lock);
    }
    pthread_mutex_destroy(&kv->cfg_lock);
    free(kv);
}

/* Closes the loop's handles without a thread (open failed before it ran). */
static void close_loop_here(replkv_t *kv)
{
    uv_walk(&kv->loop, close_handle, NULL);
    uv_run(&kv->loop, UV_RUN_DEFAULT);
    uv_loop_close(&kv->loop);
}

int replkv_open(const replkv_opts *o, replkv_t **out)
{
    if (out == NULL)
        return rkv_fail(REPLKV_EINVAL, "replkv_open: NULL out");
    *out = NULL;

    replkv_t *kv;
    if (posix_memalign((void **)&kv, 64, sizeof *kv) != 0)
        return rkv_fail(REPLKV_ENOMEM, "replkv_open: out of memory");
    memset(kv, 0, sizeof *kv);
    if (o != NULL) {
        kv->cfg = o->cfg;
        kv->log_cb = o->log_cb;
        kv->log_ud = o->log_ud;
    } else {
        rkv_config_defaults(&kv->cfg);
    }
    pthread_mutex_init(&kv->cfg_lock, NULL);
    publish_config(kv);

    uint64_t seeds[2];
    int rc = rkv_random_bytes(seeds, sizeof seeds);
    if (rc != 0) {
        free_node(kv);
        return rc;
    }
    kv->rng_base = seeds[1];
    kv->hash_seed = seeds[0];
    kv->hasher = rkv_ks_new(seeds[0]);
    if (kv->hasher == NULL) {
        free_node(kv);
        return rkv_fail(REPLKV_ENOMEM, "replkv_open: out of memory");
    }
    for (unsigned i = 0; i < RKV_SHARDS; i++) {
        pthread_mutex_init(&kv->shards[i].lock, NULL);
        kv->shards[i].ks = rkv_ks_new(seeds[0]);
        if (kv->shards[i].ks == NULL) {
            free_node(kv);
            return rkv_fail(REPLKV_ENOMEM, "replkv_open: out of memory");
        }
        atomic_store(&kv->shards[i].mem, rkv_ks_memory_used(kv->shards[i].ks));
    }
    kv->start_mono_ms = rkv_mono_ms();
    atomic_store(&kv->lru_clock, lru_clock_now());

    if (uv_loop_init(&kv->loop) != 0) {
        free_node(kv);
        return rkv_fail(REPLKV_ENOMEM, "replkv_open: uv_loop_init failed");
    }
    if ((rc = rkv_repl_init(kv, o)) != 0 || (rc = rkv_pnode_open(kv)) != 0 ||
        (rc = rkv_fonode_init(kv, o)) != 0) {
        close_loop_here(kv);
        char detail[512];
        snprintf(detail, sizeof detail, "%s", replkv_last_error());
        free_node(kv);
        return rkv_fail(rc, "%s", detail);
    }
    uv_async_init(&kv->loop, &kv->stop_async, on_stop);
    kv->stop_async.data = kv;
    uv_timer_init(&kv->loop, &kv->cron_timer);
    kv->cron_timer.data = kv;
    uv_sem_init(&kv->ready, 0);

    rc = uv_thread_create(&kv->thread, io_thread_main, kv);
    if (rc != 0) {
        uv_sem_destroy(&kv->ready);
        close_loop_here(kv);
        free_node(kv);
        return rkv_fail(REPLKV_ENOMEM, "replkv_open: cannot start thread: %s",
                        uv_strerror(rc));
    }
    uv_sem_wait(&kv->ready);
    uv_sem_destroy(&kv->ready);
    if (kv->start_err != 0) {
        rc = kv->start_err;
        uv_thread_join(&kv->thread);
        close_loop_here(kv);
        char detail[sizeof kv->start_detail];
        memcpy(detail, kv->start_detail, sizeof detail);
        free_node(kv);
        return rkv_fail(rc, "replkv_open: %s",
                        detail[0] ? detail : "the I/O thread failed to start");
    }
    rkv_log(kv, REPLKV_LOG_NOTICE, "libreplkv %s node ready",
            REPLKV_VERSION_STRING);
    *out = kv;
    return 0;
}

void replkv_close(replkv_t *kv)
{
    if (kv == NULL)
        return;
    rkv_log(kv, REPLKV_LOG_NOTICE, "node closing");
    uv_async_send(&kv->stop_async);
    uv_thread_join(&kv->thread);
    uv_loop_close(&kv->loop);
    free_node(kv);
}

void replkv_free(void *ptr)
{
    free(ptr);
}
