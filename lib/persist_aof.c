/*
 * persist_aof.c - writing dir/appendonly.rkv: appends copied into the
 * file's shared mapping, group commit, the I/O thread's flush, rewriting
 * after a snapshot (see persist_aof.h; the file layout is docs/PROTOCOL.md
 * section 9.1). The reserved space and the mapping are
 * persist_aof_space.c; loading is persist_aof_load.c.
 *
 * An append copies its frames into the mapping (the page cache: a crash
 * of the process loses nothing copied) when the file is written up to
 * `end` and the reserved space has room. Otherwise (no room yet, or a
 * failed write or fsync to redo) it only copies them into memory, and the
 * writer that waits for them writes them with pwrite(2). With an fsync
 * policy memory also holds every byte not yet known durable, so that
 * after a failed fsync (whose dirty pages the kernel may have dropped) the
 * next flush writes them all again from the last durable byte.
 *
 * Memory is two buffers. Appenders add to `fresh` under `mu`. A flusher
 * (one at a time: the `flushing` flag, set and cleared under `mu`) moves
 * `fresh` to the end of `keep`, which only it touches, releases `mu`,
 * writes [written, end) from keep and fsyncs (fdatasync: the space is
 * allocated already, so no size change needs the journal), and takes `mu`
 * again to publish the new offsets and, once durable, empty keep.
 *
 *   keep holds offsets [buf_off, buf_off + keep.len), fresh the rest up to
 *   end; durable <= written <= end. With an fsync policy buf_off <= durable
 *   (equal between flushes); with `no`, buf_off == written between
 *   flushes and both buffers are empty while appends reach the mapping.
 */
#include "persist_aof.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "persist_aof_int.h"

#define COPY_CHUNK (1u << 20)

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
    rkv_aof_space_stop(a);
    rkv_pf_close(a->fd);
    rkv_buf_free(&a->keep);
    rkv_buf_free(&a->fresh);
    pthread_cond_destroy(&a->rcv);
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
    pthread_cond_init(&a->rcv, NULL);
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
    atomic_store(&a->written_pub, a->written);
    a->base_size = a->reserved = size;
    /* 3. Space ahead and the reserver; a full disk fails the open. */
    if ((rc = rkv_aof_space_start(a)) != 0)
        goto fail;
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

static void set_written(rkv_aof *a, int64_t w)
{
    a->written = w;
    atomic_store_explicit(&a->written_pub, w, memory_order_release);
}

/* Drops what memory holds below off (from keep, then fresh). Only for
 * the holder of `flushing`; mu held. */
static void drop_below(rkv_aof *a, int64_t off)
{
    if (off <= a->buf_off)
        return;
    size_t n = (size_t)(off - a->buf_off);
    size_t k = n < a->keep.len ? n : a->keep.len;
    rkv_buf_consume(&a->keep, k);
    rkv_buf_consume(&a->fresh, n - k);
    a->buf_off = off;
}

/* One flush: with mu held and no flusher active; returns with mu held. */
static int flush_locked(rkv_aof *a, bool do_fsync)
{
    a->flushing = true;
    int rc = 0;
    if (a->fresh.len > 0) {
        if (a->keep.len == 0) {
            rkv_buf t = a->keep;
            a->keep = a->fresh;
            a->fresh = t;
        } else if (rkv_buf_append(&a->keep, a->fresh.data, a->fresh.len) ==
                   0) {
            rkv_buf_clear(&a->fresh);
        } /* else out of memory: flush what keep holds now */
    }
    int64_t target = a->buf_off + (int64_t)a->keep.len;
    /* Bytes that are only in memory go to reserved space, so that a full
     * disk fails here and the appends after them can use the mapping. */
    if (a->written < target && a->room < rkv_aof_fpos(a, target))
        rc = rkv_aof_reserve_locked(a, rkv_aof_fpos(a, target));
    size_t n = a->written < target ? (size_t)(target - a->written) : 0;
    const uint8_t *p =
        n > 0 ? a->keep.data + (size_t)(a->written - a->buf_off) : NULL;
    uint64_t at = rkv_aof_fpos(a, a->written);
    bool sync = do_fsync && (a->durable < target || a->need_dirsync);
    bool dirsync = sync && a->need_dirsync;
    int fd = a->fd;
    bool wrote_ok = false;
    pthread_mutex_unlock(&a->mu);

    if (rc == 0 && n > 0)
        rc = rkv_pf_pwrite(&a->fs, fd, a->path, p, n, at);
    wrote_ok = rc == 0;
    if (rc == 0 && sync)
        rc = rkv_pf_datasync(&a->fs, fd, a->path);
    if (rc == 0 && dirsync)
        rc = rkv_pf_dirsync(&a->fs, a->dir);

    pthread_mutex_lock(&a->mu);
    if (n > 0 && wrote_ok)
        a->writes++;
    if (rc == 0) {
        /* With n == 0 appends may have gone past target meanwhile. */
        if (n > 0)
            set_written(a, target);
        if (sync) {
            a->fsyncs++;
            a->durable = target;
            a->need_dirsync = false;
        }
        /* Memory keeps what is not durable yet, unless the policy never
         * fsyncs. */
        if (a->policy == RKV_FSYNC_NO || a->durable >= target) {
            a->buf_off = target;
            rkv_buf_clear(&a->keep);
        }
        a->last_error = 0;
    } else {
        set_error(a);
        /* After a failed fsync the kernel may have dropped the dirty pages:
         * write everything since the last durable byte again (from keep;
         * appends go there only until then). */
        if (wrote_ok && a->policy != RKV_FSYNC_NO)
            set_written(a, a->buf_off);
    }
    a->flushing = false;
    pthread_cond_broadcast(&a->cv);
    return rc;
}

int rkv_aof_append(rkv_aof *a, const void *frames, size_t len, int64_t *end)
{
    pthread_mutex_lock(&a->mu);
    uint64_t at = rkv_aof_fpos(a, a->end);
    bool mapped = a->written == a->end && at + len <= a->room;
    int rc = 0;
    if (a->policy != RKV_FSYNC_NO || !mapped)
        rc = rkv_buf_append(&a->fresh, frames, len);
    if (rc == 0) {
        if (mapped) {
            memcpy(a->map + (at - a->map_off), frames, len);
            set_written(a, a->written + (int64_t)len);
            if (a->policy == RKV_FSYNC_NO) /* (memory is empty) */
                a->buf_off = a->written;
        }
        a->end += (int64_t)len;
        if (!a->reserve_asked &&
            (a->room < at + len + a->low_water ||
             at + len + RKV_AOF_PREFAULT / 2 > a->faulted)) {
            a->reserve_asked = true;
            pthread_cond_signal(&a->rcv);
        }
    }
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
    /* Nearly always: the append copied it into the page cache. */
    if (!durable &&
        atomic_load_explicit(&a->written_pub, memory_order_acquire) >= end)
        return 0;
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
            /* Leader: one write (+ fsync) for everyone appended so far,
             * at once. (Waiting for the writers of the last batch to
             * join first was measured slower on 2 busy CPUs: they come
             * back more slowly than an fsync takes, and two groups
             * taking turns keep the disk busy; README, Performance.) */
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
    int rc = 0;
    if (a->last_error != 0)
        rc = rkv_fail(REPLKV_EIO, "%s", a->errmsg);
    else if (a->reserve_error != 0)
        rc = rkv_fail(REPLKV_EIO, "%s", a->reserve_msg);
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
    st->reserved = a->reserved;
    st->base_size = a->base_size;
    st->writes = a->writes;
    st->fsyncs = a->fsyncs;
    st->reserves = a->reserves;
    st->errors = a->errors;
    st->last_error = a->last_error != 0 ? a->last_error : a->reserve_error;
    pthread_mutex_unlock(&a->mu);
}

int rkv_aof_close(rkv_aof *a)
{
    if (a == NULL)
        return 0;
    rkv_aof_space_stop(a); /* no appends may come any more */
    pthread_mutex_lock(&a->mu);
    while (a->flushing)
        pthread_cond_wait(&a->cv, &a->mu);
    /* Write what only memory holds, cut the reserved space off (the file
     * ends at its last frame again), and one fsync for both. */
    int rc = flush_locked(a, false);
    int trc = rkv_pf_truncate(&a->fs, a->fd, a->path,
                              rkv_aof_fpos(a, a->written));
    if (rc == 0)
        rc = trc;
    if (rc == 0)
        rc = rkv_pf_fsync(&a->fs, a->fd, a->path);
    if (rc == 0 && a->need_dirsync)
        rc = rkv_pf_dirsync(&a->fs, a->dir);
    pthread_mutex_unlock(&a->mu);
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

static void rewrite_end(rkv_aof *a)
{
    pthread_mutex_lock(&a->mu);
    a->rewriting = false;
    pthread_mutex_unlock(&a->mu);
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
     * from offset up to w0 into the new file, and reserve space after it.
     * Those bytes never change (a flush after a failed fsync writes the
     * same bytes again). */
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
    uint64_t reserved = dpos + RKV_AOF_CHUNK_MIN;
    if (rc == 0)
        rc = rkv_pf_reserve(&a->fs, fd, a->tmp, dpos, RKV_AOF_CHUNK_MIN);

    /* Phase 2, as the only flusher: the rest of the old file, fsync; then
     * under mu (appends wait, for a pread of what they copied meanwhile
     * and a rename, never for a disk write) the last bytes, rename,
     * switch. Then the directory fsync. */
    int64_t e1 = copied;
    if (rc == 0) {
        pthread_mutex_lock(&a->mu);
        while (a->flushing)
            pthread_cond_wait(&a->cv, &a->mu);
        a->flushing = true;
        e1 = a->written;
        pthread_mutex_unlock(&a->mu);
        if (e1 > copied)
            rc = copy_range(&a->fs, old_fd, a->path, fd, a->tmp,
                            RKV_AOF_HDR + (uint64_t)(copied - start),
                            RKV_AOF_HDR + (uint64_t)(e1 - start), dpos, chunk);
        if (rc == 0) {
            dpos += (uint64_t)(e1 - copied);
            copied = e1;
            rc = rkv_pf_fsync(&a->fs, fd, a->tmp);
        }
        pthread_mutex_lock(&a->mu);
        int64_t e2 = a->written;
        if (rc == 0 && e2 > copied)
            rc = copy_range(&a->fs, old_fd, a->path, fd, a->tmp,
                            RKV_AOF_HDR + (uint64_t)(copied - start),
                            RKV_AOF_HDR + (uint64_t)(e2 - start), dpos, chunk);
        if (rc == 0) {
            dpos += (uint64_t)(e2 - copied);
            rc = rkv_pf_rename(&a->fs, a->tmp, a->path);
        }
        if (rc == 0) {
            /* The path names the new file now: switch even if what
             * follows fails. Bytes up to e1 are fsynced in it; durable
             * follows once the directory is too. */
            rkv_pf_unmap(a->map, RKV_AOF_WIN);
            a->map = NULL;
            a->room = 0;
            rkv_pf_close(a->fd);
            a->fd = fd;
            fd = -1;
            a->gen++;
            a->start = offset;
            memcpy(a->replid, replid, sizeof replid);
            a->reserved = reserved > dpos ? reserved : dpos;
            a->base_size = dpos;
            a->need_dirsync = true;
            /* What the snapshot holds needs no redo: nothing below
             * offset is written to the new file again. */
            if (a->durable < offset)
                a->durable = offset;
            drop_below(a, offset);
            /* If the mapping fails, appends go to memory and their waiters
             * write them; the reserver tries again. */
            (void)rkv_aof_remap_locked(a);
            a->low_water = 0;
            a->reserve_asked = true;
            pthread_cond_signal(&a->rcv);
            pthread_mutex_unlock(&a->mu);
            int drc = rkv_pf_dirsync(&a->fs, a->dir);
            pthread_mutex_lock(&a->mu);
            if (drc == 0) {
                a->need_dirsync = false;
                if (e1 > a->durable)
                    a->durable = e1;
                if (a->policy != RKV_FSYNC_NO)
                    drop_below(a, a->durable);
            }
            rc = drc;
        }
        a->flushing = false;
        pthread_cond_broadcast(&a->cv);
        pthread_mutex_unlock(&a->mu);
    }
    free(chunk);
    if (fd >= 0) {
        /* A failed rewrite leaves the old file in use and fails no
         * writer. */
        rkv_pf_close(fd);
        remove(a->tmp);
    }
    rewrite_end(a);
    return rc;
}
