/*
 * persist_aof_space.c - the space the append-only file's writers copy
 * into: reserved ahead of them with posix_fallocate (so a full disk is a
 * clean REPLKV_EIO here, never a SIGBUS on a store into the mapping) and
 * mapped shared through one window (so an append is a memcpy into the page
 * cache, which outlives a crash of the process, with no system call).
 *
 * A thread per file (the reserver) keeps a chunk ahead, and the next
 * RKV_AOF_PREFAULT bytes of the window prefaulted: an append that leaves
 * less than low_water bytes, or gets near the prefaulted end, wakes it. If it falls behind anyway,
 * appends go to memory and the writer that waits for them reserves and
 * writes them itself (persist_aof.c). The space after the last frame reads
 * as zeros: the loader takes an all-zero end as unused space
 * (docs/PROTOCOL.md section 9.1), and a clean close cuts it off.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "persist_aof_int.h"

#define PAGE ((uint64_t)4096)
#define RETRY_MS 100 /* a failed reservation is retried this often */

static uint64_t chunk_for(uint64_t size)
{
    uint64_t c = size / 4;
    if (c < RKV_AOF_CHUNK_MIN)
        c = RKV_AOF_CHUNK_MIN;
    if (c > RKV_AOF_CHUNK_MAX)
        c = RKV_AOF_CHUNK_MAX;
    return c;
}

int rkv_aof_remap_locked(rkv_aof *a)
{
    uint64_t at = rkv_aof_fpos(a, a->written);
    if (a->map != NULL && a->map_off + RKV_AOF_WIN >= a->reserved &&
        at >= a->map_off)
        return 0;
    /* Mapping is no disk I/O: it is done under mu, so no writer ever
     * copies into a window being replaced. */
    uint64_t off = at / PAGE * PAGE;
    uint8_t *m;
    int rc = rkv_pf_map_shared(a->fd, a->path, off, RKV_AOF_WIN, &m);
    if (rc != 0)
        return rc;
    rkv_pf_unmap(a->map, RKV_AOF_WIN);
    a->map = m;
    a->map_off = off;
    a->faulted = off;
    a->room = a->reserved < off + RKV_AOF_WIN ? a->reserved : off + RKV_AOF_WIN;
    return 0;
}

/* True when less than half a chunk is left after need: the reserver's
 * test and reserve_locked()'s, the same one, so that it never spins. */
static bool short_of(const rkv_aof *a, uint64_t need)
{
    return a->room < need + chunk_for(need) / 2; /* (room <= reserved) */
}

int rkv_aof_reserve_locked(rkv_aof *a, uint64_t need)
{
    while (a->reserving)
        pthread_cond_wait(&a->cv, &a->mu);
    uint64_t at = rkv_aof_fpos(a, a->end);
    if (need < at)
        need = at;
    uint64_t chunk = chunk_for(need);
    if (!short_of(a, need) && a->reserve_error == 0) {
        a->reserve_asked = false;
        return 0;
    }
    uint64_t from = a->reserved, to = (need + chunk + PAGE - 1) / PAGE * PAGE;
    uint64_t gen = a->gen;
    int fd = a->fd;
    a->reserving = true;
    pthread_mutex_unlock(&a->mu);
    int rc = to > from ? rkv_pf_reserve(&a->fs, fd, a->path, from, to - from)
                       : 0; /* allocated already: the window moves */
    pthread_mutex_lock(&a->mu);
    a->reserving = false;
    a->reserve_asked = false;
    if (rc == 0 && gen == a->gen) {
        /* (A rewrite that switched files meanwhile reserved its own.) */
        if (to > a->reserved)
            a->reserved = to;
        a->low_water = chunk / 2;
        a->reserves++;
        rc = rkv_aof_remap_locked(a);
        if (rc == 0)
            a->room = a->reserved < a->map_off + RKV_AOF_WIN
                          ? a->reserved
                          : a->map_off + RKV_AOF_WIN;
    }
    if (rc != 0) {
        a->reserve_error = REPLKV_EIO;
        snprintf(a->reserve_msg, sizeof a->reserve_msg, "%s",
                 replkv_last_error());
    } else if (gen == a->gen) {
        a->reserve_error = 0;
    }
    pthread_cond_broadcast(&a->cv);
    return rc;
}


/* The pages to prefault next: from the page after the one being written
 * to RKV_AOF_PREFAULT ahead, within the reserved room. from >= to: none. */
static void prefault_range(const rkv_aof *a, uint64_t *from, uint64_t *to)
{
    uint64_t at = rkv_aof_fpos(a, a->end);
    uint64_t f = (at / PAGE + 1) * PAGE;
    uint64_t t = at + RKV_AOF_PREFAULT < a->room ? at + RKV_AOF_PREFAULT
                                                 : a->room;
    t = t / PAGE * PAGE;
    *from = f > a->faulted ? f : a->faulted;
    *to = a->map != NULL && a->map_off <= *from ? t : 0;
}

/* Prefaults [from, to) of the window writable, without mu: the content is
 * not touched (MADV_POPULATE_WRITE), so a writer copying into the same
 * pages meanwhile is no race, and a window replaced meanwhile only makes
 * it fail or populate pages nobody needs. mu held on entry and return. */
static void prefault(rkv_aof *a, uint64_t from, uint64_t to)
{
    uint8_t *p = a->map + (from - a->map_off);
    uint8_t *m = a->map;
    pthread_mutex_unlock(&a->mu);
#ifdef MADV_POPULATE_WRITE
    (void)madvise(p, (size_t)(to - from), MADV_POPULATE_WRITE);
#else
    (void)p;
#endif
    pthread_mutex_lock(&a->mu);
    if (a->map == m && to > a->faulted)
        a->faulted = to;
}

static void *reserver_main(void *arg)
{
    rkv_aof *a = arg;
    pthread_mutex_lock(&a->mu);
    while (!a->stopping) {
        a->reserve_asked = false;
        uint64_t from, to;
        prefault_range(a, &from, &to);
        if (short_of(a, rkv_aof_fpos(a, a->end)) || a->reserve_error != 0) {
            if (rkv_aof_reserve_locked(a, rkv_aof_fpos(a, a->end)) == 0)
                continue;
            /* The disk is full: writes are refused meanwhile (the
             * status is REPLKV_EIO); try again a little later. */
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += RETRY_MS * 1000000L;
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&a->rcv, &a->mu, &ts);
            continue;
        }
        if (from < to) {
            prefault(a, from, to);
            continue;
        }
        pthread_cond_wait(&a->rcv, &a->mu);
    }
    pthread_mutex_unlock(&a->mu);
    return NULL;
}

int rkv_aof_space_start(rkv_aof *a)
{
    pthread_mutex_lock(&a->mu);
    int rc = rkv_aof_reserve_locked(a, rkv_aof_fpos(a, a->end));
    pthread_mutex_unlock(&a->mu);
    if (rc != 0)
        return rc;
    int e = pthread_create(&a->reserver, NULL, reserver_main, a);
    if (e != 0)
        return rkv_fail(REPLKV_ENOMEM, "aof: reserver thread: %s",
                        strerror(e));
    a->reserver_started = true;
    return 0;
}

void rkv_aof_space_stop(rkv_aof *a)
{
    if (a->reserver_started) {
        pthread_mutex_lock(&a->mu);
        a->stopping = true;
        pthread_cond_signal(&a->rcv);
        pthread_mutex_unlock(&a->mu);
        pthread_join(a->reserver, NULL);
        a->reserver_started = false;
    }
    rkv_pf_unmap(a->map, RKV_AOF_WIN);
    a->map = NULL;
    a->room = 0;
}
