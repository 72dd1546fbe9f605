/*
 * persist_aof.c - writing dir/appendonly.rkv: the in-memory buffers, group
 * commit, the I/O thread's flush, rewriting after a snapshot (see
 * persist_aof.h; the file layout is docs/PROTOCOL.md section 9.1). Loading
 * is in persist_aof_load.c.
 *
 * Bytes live in two buffers. Writers append to `pending` under `mu` and
 * never touch the disk. A flusher (one at a time: the `flushing` flag, set
 * and cleared under `mu`) moves `pending` into `inflight`, releases `mu`,
 * writes and fsyncs, and takes `mu` again to publish the new `written` and
 * `durable` offsets. With fsync policies, `inflight` keeps every byte that
 * is not yet known durable, so that after a failed fsync (whose dirty pages
 * the kernel may have dropped) the next flush writes them all again from
 * the last durable byte.
 *
 *   inflight holds offsets [buf_off, buf_off + inflight.len), pending
 *   [buf_off + inflight.len, end); buf_off <= written <= buf_off +
 *   inflight.len and durable <= written. With an fsync policy buf_off ==
 *   durable between flushes; with `no`, buf_off == written.
 */
#include "persist_aof.h"

#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "buf.h"
#include "persist_aof_int.h"

#define COPY_CHUNK (1u << 20)

struct rkv_aof {
    rkv_fs fs;
    rkv_fsync_policy policy;
    char dir[RKV_PATH_MAX];
    char path[RKV_PATH_MAX];
    char tmp[RKV_PATH_MAX];

    pthread_mutex_t mu;
    pthread_cond_t cv;
    /* Under mu: */
    int fd;
    char replid[RKV_ID_LEN + 1];
    int64_t start;   /* offset of the first frame in the file */
    rkv_buf pending; /* appended, not yet taken by a flusher */
    rkv_buf inflight;
    int64_t buf_off;   /* offset of inflight.data[0] */
    int64_t written;   /* in the file (OS) up to here */
    int64_t durable;   /* fsynced up to here */
    int64_t end;       /* appended up to here */
    bool flushing;     /* a thread owns inflight and the fd's I/O */
    bool need_dirsync; /* a rewrite's rename is not yet durable */
    bool rewriting;    /* one rewrite at a time */
    uint64_t fail_seq; /* bumped on every failed flush */
    int last_error;
    char errmsg[320];
    uint64_t base_size;
    uint64_t writes, fsyncs, errors;
};

/* --------------------------------------------------------------- policy */

int rkv_fsync_policy_parse(const char *s, rkv_fsync_policy *p)
{
    if (s != NULL && strcmp(s, "always") == 0)
        *p = RKV_FSYNC_ALWAYS;
    else if (s != NULL && strcmp(s, "everysec") == 0)
        *p = RKV_FSYNC_EVERYSEC;
    else if (s != NULL && strcmp(s, "no") == 0)
        *p = RKV_FSYNC_NO;
    else
        return rkv_fail(REPLKV_EINVAL,
                        "appendfsync: '%s' is not always, everysec or no",
                        s ? s : "(null)");
    return 0;
}

const char *rkv_fsync_policy_name(rkv_fsync_policy p)
{
    switch (p) {
    case RKV_FSYNC_ALWAYS:
        return "always";
    case RKV_FSYNC_EVERYSEC:
        return "everysec";
    default:
        return "no";
    }
}

bool rkv_aof_rewrite_due(uint64_t size, uint64_t base_size, unsigned percentage,
                         uint64_t min_size)
{
    if (percentage == 0 || size < min_size)
        return false;
    uint64_t base = base_size ? base_size : 1;
    if (size <= base)
        return false;
    /* growth % = (size - base) * 100 / base, without overflow */
    uint64_t grown = size - base;
    if (grown > UINT64_MAX / 100)
        return true;
    return grown * 100 / base >= percentage;
}

/* ---------------------------------------------------------------- open */

int rkv_aof_remove(const rkv_fs *fs, const char *dir)
{
    char path[RKV_PATH_MAX];
    int rc = rkv_pf_path(path, sizeof path, dir, RKV_AOF_FILE);
    if (rc == 0)
        rc = rkv_pf_unlink(fs, path);
    if (rc == 0)
        rc = rkv_pf_dirsync(fs, dir);
    return rc;
}

/* Writes a file that holds only a header for (replid, start) to tmp,
 * fsynced, and leaves it open in *fd. */
static int create_tmp(const rkv_fs *fs, const char *tmp, const char *replid,
                      int64_t start, int *fd)
{
    uint8_t h[RKV_AOF_HDR];
    rkv_aof_put_header(h, replid, start);
    int rc = rkv_pf_open(fs, tmp, O_RDWR | O_CREAT | O_TRUNC, fd);
    if (rc != 0)
        return rc;
    rc = rkv_pf_pwrite(fs, *fd, tmp, h, sizeof h, 0);
    if (rc != 0) {
        rkv_pf_close(*fd);
        *fd = -1;
        remove(tmp);
    }
    return rc;
}

static void free_aof(rkv_aof *a)
{
    rkv_buf_free(&a->pending);
    rkv_buf_free(&a->inflight);
    pthread_cond_destroy(&a->cv);
    pthread_mutex_destroy(&a->mu);
    free(a);
}

int rkv_aof_open(const rkv_fs *fs, const char *dir, rkv_fsync_policy policy,
                 const char *replid, int64_t offset, rkv_aof **out)
{
    *out = NULL;
    if (replid == NULL || !rkv_aof_valid_replid(replid) || offset < 0)
        return rkv_fail(REPLKV_EINVAL, "aof: bad replid or offset");
    int rc = rkv_pf_check_dir(fs, dir);
    if (rc != 0)
        return rc;
    rkv_aof *a = calloc(1, sizeof *a);
    if (a == NULL)
        return rkv_fail(REPLKV_ENOMEM, "aof: handle");
    if (fs != NULL)
        a->fs = *fs;
    a->policy = policy;
    a->fd = -1;
    snprintf(a->dir, sizeof a->dir, "%s", dir);
    pthread_mutex_init(&a->mu, NULL);
    pthread_cond_init(&a->cv, NULL);
    if ((rc = rkv_pf_path(a->path, sizeof a->path, dir, RKV_AOF_FILE)) != 0 ||
        (rc = rkv_pf_path(a->tmp, sizeof a->tmp, dir, RKV_AOF_TMP)) != 0)
        goto fail;

    char frid[RKV_ID_LEN + 1];
    int64_t fstart;
    uint64_t size;
    rc = rkv_aof_read_header(&a->fs, a->path, frid, &fstart, &size);
    if (rc == REPLKV_ENOTFOUND) {
        /* 1. A new file: header in a temp file, fsync, rename, dir fsync. */
        rc = create_tmp(&a->fs, a->tmp, replid, offset, &a->fd);
        if (rc == 0)
            rc = rkv_pf_fsync(&a->fs, a->fd, a->tmp);
        if (rc == 0)
            rc = rkv_pf_rename(&a->fs, a->tmp, a->path);
        if (rc == 0)
            rc = rkv_pf_dirsync(&a->fs, dir);
        if (rc != 0) {
            rkv_pf_close(a->fd);
            a->fd = -1;
            remove(a->tmp);
            goto fail;
        }
        size = RKV_AOF_HDR;
    } else if (rc != 0) {
        goto fail;
    } else {
        /* 2. An existing file must be the history the node is in. */
        int64_t fend = fstart + (int64_t)(size - RKV_AOF_HDR);
        if (strcmp(frid, replid) != 0 || fend != offset) {
            rc = rkv_fail(REPLKV_ESTATE,
                          "%s holds history %s from offset %" PRId64
                          " to %" PRId64 ", the node is at %s %" PRId64
                          ": load it first or remove it",
                          a->path, frid, fstart, fend, replid, offset);
            goto fail;
        }
        if ((rc = rkv_pf_open(&a->fs, a->path, O_RDWR, &a->fd)) != 0)
            goto fail;
        offset = fstart;
    }
    memcpy(a->replid, replid, RKV_ID_LEN + 1);
    a->start = offset;
    a->buf_off = a->written = a->durable = a->end =
        offset + (int64_t)(size - RKV_AOF_HDR);
    a->base_size = size;
    *out = a;
    return 0;
fail:
    free_aof(a);
    return rc;
}

/* --------------------------------------------------------------- flush */

static void set_error(rkv_aof *a)
{
    a->errors++;
    a->fail_seq++;
    a->last_error = REPLKV_EIO;
    snprintf(a->errmsg, sizeof a->errmsg, "%s", replkv_last_error());
}

/* One flush: with mu held and no flusher active; returns with mu held. */
static int flush_locked(rkv_aof *a, bool do_fsync)
{
    a->flushing = true;
    int rc = 0;
    if (a->pending.len > 0) {
        if (a->inflight.len == 0) {
            rkv_buf t = a->inflight;
            a->inflight = a->pending;
            a->pending = t;
        } else if (rkv_buf_append(&a->inflight, a->pending.data,
                                  a->pending.len) == 0) {
            rkv_buf_clear(&a->pending);
        } /* else out of memory: flush what inflight holds now */
    }
    int64_t target = a->buf_off + (int64_t)a->inflight.len;
    size_t skip = (size_t)(a->written - a->buf_off);
    size_t n = a->inflight.len - skip;
    const uint8_t *p = n > 0 ? a->inflight.data + skip : NULL;
    uint64_t at = RKV_AOF_HDR + (uint64_t)(a->written - a->start);
    bool sync = do_fsync && (a->durable < target || a->need_dirsync);
    bool dirsync = sync && a->need_dirsync;
    int fd = a->fd;
    bool wrote_ok = false;
    pthread_mutex_unlock(&a->mu);

    if (n > 0)
        rc = rkv_pf_pwrite(&a->fs, fd, a->path, p, n, at);
    wrote_ok = rc == 0;
    if (rc == 0 && sync)
        rc = rkv_pf_fsync(&a->fs, fd, a->path);
    if (rc == 0 && dirsync)
        rc = rkv_pf_dirsync(&a->fs, a->dir);

    pthread_mutex_lock(&a->mu);
    if (n > 0 && wrote_ok)
        a->writes++;
    if (rc == 0) {
        a->written = target;
        if (sync) {
            a->fsyncs++;
            a->durable = target;
            a->need_dirsync = false;
        }
        /* Keep what is not durable yet, unless the policy never fsyncs. */
        if (a->policy == RKV_FSYNC_NO || a->durable == target) {
            a->buf_off = target;
            rkv_buf_clear(&a->inflight);
        }
        a->last_error = 0;
    } else {
        set_error(a);
        /* After a failed fsync the kernel may have dropped the dirty pages:
         * write everything since the last durable byte again. */
        if (wrote_ok)
            a->written = a->buf_off;
    }
    a->flushing = false;
    pthread_cond_broadcast(&a->cv);
    return rc;
}

int rkv_aof_append(rkv_aof *a, const void *frames, size_t len, int64_t *end)
{
    pthread_mutex_lock(&a->mu);
    int rc = rkv_buf_append(&a->pending, frames, len);
    if (rc == 0)
        a->end += (int64_t)len;
    if (end != NULL)
        *end = a->end;
    pthread_mutex_unlock(&a->mu);
    return rc;
}

/* rkv_aof_wait / rkv_aof_write_wait: until `end` is written, and fsynced
 * too if durable; the first waiter that finds no flush running does one
 * for everyone appended so far (group commit). */
static int wait_for(rkv_aof *a, int64_t end, bool durable)
{
    int rc = 0;
    pthread_mutex_lock(&a->mu);
    if (end > a->end) {
        int64_t e = a->end;
        pthread_mutex_unlock(&a->mu);
        return rkv_fail(REPLKV_EINVAL,
                        "aof: wait for offset %" PRId64 ", appended up to "
                        "%" PRId64,
                        end, e);
    }
    /* Failures before this call do not count: this waiter tries again. */
    uint64_t seq = a->fail_seq;
    while ((durable ? a->durable : a->written) < end) {
        if (a->fail_seq != seq) {
            rc = rkv_fail(REPLKV_EIO, "%s", a->errmsg);
            break;
        }
        if (!a->flushing) {
            /* Leader: one write (+ fsync) for everyone appended so far. */
            if ((rc = flush_locked(a, durable)) != 0)
                break;
            continue;
        }
        pthread_cond_wait(&a->cv, &a->mu);
    }
    pthread_mutex_unlock(&a->mu);
    return rc;
}

int rkv_aof_wait(rkv_aof *a, int64_t end)
{
    return wait_for(a, end, true);
}

int rkv_aof_write_wait(rkv_aof *a, int64_t end)
{
    return wait_for(a, end, false);
}

int rkv_aof_flush(rkv_aof *a, bool do_fsync)
{
    pthread_mutex_lock(&a->mu);
    while (a->flushing)
        pthread_cond_wait(&a->cv, &a->mu);
    int rc = flush_locked(a, do_fsync);
    pthread_mutex_unlock(&a->mu);
    return rc;
}

int rkv_aof_status(rkv_aof *a)
{
    pthread_mutex_lock(&a->mu);
    int rc = a->last_error != 0 ? rkv_fail(REPLKV_EIO, "%s", a->errmsg) : 0;
    pthread_mutex_unlock(&a->mu);
    return rc;
}

void rkv_aof_get_stats(rkv_aof *a, rkv_aof_stats *st)
{
    pthread_mutex_lock(&a->mu);
    memcpy(st->replid, a->replid, sizeof st->replid);
    st->start = a->start;
    st->end = a->end;
    st->written = a->written;
    st->durable = a->durable;
    st->size = RKV_AOF_HDR + (uint64_t)(a->written - a->start);
    st->base_size = a->base_size;
    st->writes = a->writes;
    st->fsyncs = a->fsyncs;
    st->errors = a->errors;
    st->last_error = a->last_error;
    pthread_mutex_unlock(&a->mu);
}

int rkv_aof_close(rkv_aof *a)
{
    if (a == NULL)
        return 0;
    pthread_mutex_lock(&a->mu);
    while (a->flushing)
        pthread_cond_wait(&a->cv, &a->mu);
    int rc = flush_locked(a, a->policy != RKV_FSYNC_NO);
    if (rc == 0 && a->policy == RKV_FSYNC_NO)
        rc = rkv_pf_fsync(&a->fs, a->fd, a->path);
    pthread_mutex_unlock(&a->mu);
    rkv_pf_close(a->fd);
    free_aof(a);
    return rc;
}

/* -------------------------------------------------------------- rewrite */

/* Copies file bytes [from, to) of src (file positions) to dst at dpos. */
static int copy_range(const rkv_fs *fs, int src, const char *spath, int dst,
                      const char *dpath, uint64_t from, uint64_t to,
                      uint64_t dpos, uint8_t *chunk)
{
    while (from < to) {
        size_t n = to - from > COPY_CHUNK ? COPY_CHUNK : (size_t)(to - from);
        int rc = rkv_pf_pread(fs, src, spath, chunk, n, from);
        if (rc == 0)
            rc = rkv_pf_pwrite(fs, dst, dpath, chunk, n, dpos);
        if (rc != 0)
            return rc;
        from += n;
        dpos += n;
    }
    return 0;
}

int rkv_aof_rewrite(rkv_aof *a, const char *new_replid, int64_t offset)
{
    if (new_replid == NULL || !rkv_aof_valid_replid(new_replid))
        return rkv_fail(REPLKV_EINVAL, "aof rewrite: bad replid");
    pthread_mutex_lock(&a->mu);
    if (offset < a->start || offset > a->end) {
        int64_t s = a->start, e = a->end;
        pthread_mutex_unlock(&a->mu);
        return rkv_fail(REPLKV_EINVAL,
                        "aof rewrite: offset %" PRId64 " is outside the "
                        "file's %" PRId64 "..%" PRId64,
                        offset, s, e);
    }
    if (a->rewriting) {
        pthread_mutex_unlock(&a->mu);
        return rkv_fail(REPLKV_EBUSY, "aof rewrite: one is in progress");
    }
    a->rewriting = true;
    /* Phase 1, writers and flushers running: copy what the file holds
     * from offset up to w0 into the new file. Those bytes never change (a
     * flush after a failed fsync writes the same bytes again). */
    int64_t start = a->start, w0 = a->written;
    int old_fd = a->fd;
    char replid[RKV_ID_LEN + 1];
    memcpy(replid, new_replid, RKV_ID_LEN);
    replid[RKV_ID_LEN] = '\0';
    pthread_mutex_unlock(&a->mu);

    uint8_t *chunk = malloc(COPY_CHUNK);
    int fd = -1;
    int rc = chunk == NULL ? rkv_fail(REPLKV_ENOMEM, "aof rewrite: copy buffer")
                           : create_tmp(&a->fs, a->tmp, replid, offset, &fd);
    uint64_t dpos = RKV_AOF_HDR;
    int64_t copied = offset; /* offsets copied into the new file so far */
    if (rc == 0 && w0 > offset) {
        rc = copy_range(&a->fs, old_fd, a->path, fd, a->tmp,
                        RKV_AOF_HDR + (uint64_t)(offset - start),
                        RKV_AOF_HDR + (uint64_t)(w0 - start), dpos, chunk);
        dpos += (uint64_t)(w0 - offset);
        copied = w0;
    }
    if (rc != 0) {
        free(chunk);
        if (fd >= 0) {
            rkv_pf_close(fd);
            remove(a->tmp);
        }
        pthread_mutex_lock(&a->mu);
        a->rewriting = false;
        pthread_mutex_unlock(&a->mu);
        return rc;
    }

    /* Phase 2, as the only flusher: the rest of the old file, then the
     * buffered bytes, fsync, rename, dir fsync, switch. Appenders go on. */
    pthread_mutex_lock(&a->mu);
    while (a->flushing)
        pthread_cond_wait(&a->cv, &a->mu);
    a->flushing = true;
    if (a->pending.len > 0 &&
        rkv_buf_append(&a->inflight, a->pending.data, a->pending.len) == 0)
        rkv_buf_clear(&a->pending);
    int64_t written = a->written, buf_off = a->buf_off;
    int64_t target = a->buf_off + (int64_t)a->inflight.len;
    pthread_mutex_unlock(&a->mu);

    if (written > copied) {
        rc = copy_range(&a->fs, old_fd, a->path, fd, a->tmp,
                        RKV_AOF_HDR + (uint64_t)(copied - start),
                        RKV_AOF_HDR + (uint64_t)(written - start), dpos, chunk);
        dpos += (uint64_t)(written - copied);
        copied = written;
    }
    free(chunk);
    if (rc == 0 && target < offset) /* pending could not be moved */
        rc = rkv_fail(REPLKV_ENOMEM, "aof rewrite: buffering");
    if (rc == 0 && target > copied) {
        /* copied >= offset >= start, and copied >= written >= buf_off */
        size_t skip = (size_t)(copied - buf_off);
        rc = rkv_pf_pwrite(&a->fs, fd, a->tmp, a->inflight.data + skip,
                           (size_t)(target - copied), dpos);
        dpos += (uint64_t)(target - copied);
    }
    if (rc == 0)
        rc = rkv_pf_fsync(&a->fs, fd, a->tmp);
    if (rc == 0)
        rc = rkv_pf_rename(&a->fs, a->tmp, a->path);
    bool renamed = rc == 0;
    if (rc == 0)
        rc = rkv_pf_dirsync(&a->fs, a->dir);

    pthread_mutex_lock(&a->mu);
    if (renamed) {
        /* The path names the new file now: switch even if the directory
         * fsync failed, but then durability waits for a dir fsync. */
        rkv_pf_close(a->fd);
        a->fd = fd;
        a->start = offset;
        memcpy(a->replid, replid, sizeof replid);
        a->written = target;
        if (rc == 0)
            a->durable = target;
        else
            a->need_dirsync = true;
        a->buf_off = target;
        rkv_buf_clear(&a->inflight);
        a->base_size = dpos;
    } else {
        rkv_pf_close(fd);
        remove(a->tmp);
    }
    /* A failed rewrite leaves the old file in use and fails no writer. */
    a->flushing = false;
    a->rewriting = false;
    pthread_cond_broadcast(&a->cv);
    pthread_mutex_unlock(&a->mu);
    return rc;
}
