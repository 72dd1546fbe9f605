/*
 * persist_node.c - persistence in the node (see persist_node.h): open
 * (the restart itself is persist_node_load.c), the write path's hooks, the I/O thread's flushes, snapshots and
 * a replica's new history. The files themselves are persist_aof*.c,
 * persist_snapshot.c and persist_state.c.
 */
#include "persist_node_int.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "persist_snapshot.h"
#include "persist_state.h"
#include "repl.h"

/* ------------------------------------------------------------ file hook */

static int fs_trampoline(void *ud, rkv_fs_op op, const char *path)
{
    rkv_pnode *pn = ud;
    rkv_fs_hook_fn fn = atomic_load(&pn->test_hook);
    return fn != NULL ? fn(atomic_load(&pn->test_ud), op, path) : 0;
}

void rkv_pnode_set_fs_hook(replkv_t *kv, rkv_fs_hook_fn fn, void *ud)
{
    if (kv->pn == NULL)
        return;
    atomic_store(&kv->pn->test_ud, ud);
    atomic_store(&kv->pn->test_hook, fn);
}

int rkv_pnode_aof_stats(replkv_t *kv, rkv_aof_stats *st)
{
    rkv_pnode *pn = kv->pn;
    if (pn == NULL)
        return rkv_fail(REPLKV_ESTATE, "persistence is off");
    int rc = 0;
    pthread_rwlock_rdlock(&pn->aof_rw);
    if (pn->aof != NULL)
        rkv_aof_get_stats(pn->aof, st);
    else
        rc = rkv_fail(REPLKV_ESTATE, "no append-only file open");
    pthread_rwlock_unlock(&pn->aof_rw);
    return rc;
}

/* ------------------------------------------------------------ write path */

void rkv_pnode_append(replkv_t *kv, const void *frames, size_t len)
{
    rkv_pnode *pn = kv->pn;
    if (pn == NULL || pn->aof == NULL)
        return;
    if (rkv_aof_append(pn->aof, frames, len, NULL) != 0 &&
        atomic_exchange(&pn->broken, 1) == 0) {
        /* Out of memory: the file can no longer follow the stream. Writes
         * are refused until a snapshot starts a new one (the cron asks). */
        rkv_log(kv, REPLKV_LOG_WARNING,
                "persistence: cannot buffer %zu bytes for the append-only "
                "file (out of memory); writes are refused until the next "
                "snapshot",
                len);
    }
}

int rkv_pnode_wait(replkv_t *kv, int64_t off)
{
    rkv_pnode *pn = kv->pn;
    if (pn == NULL)
        return 0;
    int rc = 0;
    pthread_rwlock_rdlock(&pn->aof_rw);
    if (atomic_load(&pn->broken)) {
        rc = rkv_fail(REPLKV_EIO, "the append-only file missed a record");
    } else if (pn->aof != NULL) {
        /* Every policy writes before it acknowledges (Redis writes the
         * AOF before replying): only "always" waits for the fsync too. */
        rc = pn->policy == RKV_FSYNC_ALWAYS ? rkv_aof_wait(pn->aof, off)
                                            : rkv_aof_write_wait(pn->aof, off);
        if (rc == REPLKV_EINVAL)
            rc = 0; /* the file was replaced (a new history) meanwhile */
    }
    pthread_rwlock_unlock(&pn->aof_rw);
    if (rc != 0)
        return rkv_fail(rc,
                        "MISCONF: the write was applied in memory but could "
                        "not be made durable: %s",
                        replkv_last_error());
    return 0;
}

int rkv_pnode_write_check(replkv_t *kv)
{
    rkv_pnode *pn = kv->pn;
    if (pn == NULL)
        return 0;
    int rc = 0;
    pthread_rwlock_rdlock(&pn->aof_rw);
    if (pn->aof == NULL || atomic_load(&pn->broken))
        rc = rkv_fail(REPLKV_EIO,
                      "MISCONF: the append-only file does not follow the "
                      "stream (a failed full resync save or out of memory); "
                      "writes are refused until a snapshot starts a new one");
    else if (rkv_aof_status(pn->aof) != 0)
        rc = rkv_fail(REPLKV_EIO,
                      "MISCONF: writes are refused while the append-only "
                      "file cannot be written: %s",
                      replkv_last_error());
    pthread_rwlock_unlock(&pn->aof_rw);
    return rc;
}

/* ------------------------------------------------------------ snapshots */

typedef struct scan_ctx {
    rkv_buf *b;
    int64_t now;
    int rc;
} scan_ctx;

static void scan_visit(const rkv_entry *e, void *ud)
{
    scan_ctx *c = ud;
    int64_t exp = rkv_entry_expire(e);
    if (c->rc != 0 || (exp != 0 && exp <= c->now))
        return;
    size_t klen, vlen;
    const void *key = rkv_entry_key(e, &klen);
    const void *val = rkv_entry_val(e, &vlen);
    c->rc = rkv_frame_put_set(c->b, key, klen, val, vlen, exp);
}

/* Writes every key of tables (locks: the shard locks of kv, or NULL for
 * private tables) into w, a batch at a time: frames are encoded under the
 * lock into b and written after it is released. */
static int scan_into(rkv_snap_writer *w, rkv_ks **tables,
                     pthread_mutex_t *const *locks, rkv_buf *b)
{
    for (unsigned i = 0; i < RKV_SHARDS; i++) {
        uint64_t cursor = 0;
        do {
            scan_ctx c = {b, rkv_now_ms(), 0};
            if (locks)
                pthread_mutex_lock(locks[i]);
            int buckets = 0;
            do {
                cursor = rkv_ks_scan(tables[i], cursor, scan_visit, &c);
            } while (cursor != 0 && ++buckets < SNAP_BUCKETS && c.rc == 0 &&
                     b->len < SNAP_BATCH_BYTES);
            if (locks)
                pthread_mutex_unlock(locks[i]);
            if (c.rc != 0)
                return c.rc;
            if (b->len > 0) {
                int rc = rkv_snap_add_frames(w, b->data, b->len);
                rkv_buf_clear(b);
                if (rc != 0)
                    return rc;
            }
        } while (cursor != 0);
    }
    return 0;
}

/* After a snapshot at (replid, off) when the node has no usable AOF:
 * starts a new one at (replid, off) holding the stream from off, copied
 * from the backlog (memory only, under jlock) so that nothing appended
 * since the scan began is missed. snap_lock held. */
static int reattach(replkv_t *kv, const char *replid, int64_t off)
{
    rkv_pnode *pn = kv->pn;
    pthread_rwlock_wrlock(&pn->aof_rw);
    pthread_mutex_lock(&kv->jlock);
    rkv_aof *old = pn->aof;
    pn->aof = NULL;
    pthread_mutex_unlock(&kv->jlock);
    pthread_rwlock_unlock(&pn->aof_rw);
    rkv_aof_close(old); /* its bytes are not trusted any more */
    rkv_aof *a = NULL;
    int rc = rkv_aof_remove(&pn->fs, pn->dir);
    if (rc == 0)
        rc = rkv_aof_open(&pn->fs, pn->dir, pn->policy, replid, off, &a);
    if (rc != 0)
        return rc;
    pthread_rwlock_wrlock(&pn->aof_rw);
    pthread_mutex_lock(&kv->jlock);
    bool ok = strcmp(rkv_backlog_replid(kv->bl), replid) == 0;
    rkv_span sp = {NULL, 0};
    for (int64_t from = off; ok; from += (int64_t)sp.len) {
        ok = rkv_backlog_span(kv->bl, from, &sp) == 0;
        if (!ok || sp.len == 0)
            break;
        ok = rkv_aof_append(a, sp.p, sp.len, NULL) == 0;
    }
    if (ok) {
        pn->aof = a;
        atomic_store(&pn->broken, 0);
    }
    pthread_mutex_unlock(&kv->jlock);
    pthread_rwlock_unlock(&pn->aof_rw);
    if (!ok) {
        rkv_aof_close(a);
        rkv_aof_remove(&pn->fs, pn->dir);
        return rkv_fail(REPLKV_ESTATE,
                        "the stream moved past the snapshot's offset before "
                        "a new append-only file could start there; retrying");
    }
    rkv_log(kv, REPLKV_LOG_NOTICE,
            "persistence: new append-only file at %s:%" PRId64
            "; writes are accepted again",
            replid, off);
    return 0;
}

/* One snapshot of the live keyspace, then the AOF trimmed to follow it.
 * snap_lock held. */
static int snapshot_live(replkv_t *kv)
{
    rkv_pnode *pn = kv->pn;
    char replid[RKV_ID_LEN + 1], replid2[RKV_ID_LEN + 1];
    pthread_mutex_lock(&kv->jlock);
    memcpy(replid, rkv_backlog_replid(kv->bl), sizeof replid);
    memcpy(replid2, rkv_backlog_replid2(kv->bl), sizeof replid2);
    int64_t off = rkv_backlog_offset(kv->bl);
    int64_t off2 = rkv_backlog_second_offset(kv->bl);
    pthread_mutex_unlock(&kv->jlock);
    rkv_snap_hist h = {replid, off, replid2, off2};
    uint64_t t0 = rkv_mono_ms();
    rkv_snap_writer *w;
    int rc = rkv_snap_begin(&pn->fs, pn->dir, &h, rkv_now_ms(), &w);
    if (rc != 0)
        return rc;
    rkv_ks *tables[RKV_SHARDS];
    pthread_mutex_t *locks[RKV_SHARDS];
    rkv_buf b;
    rkv_buf_init(&b);
    /* The tables are read under their locks only: a full resync swaps
     * kv->shards[i].ks, but that waits for snap_lock, which we hold. */
    for (unsigned i = 0; i < RKV_SHARDS; i++) {
        tables[i] = kv->shards[i].ks;
        locks[i] = &kv->shards[i].lock;
    }
    rc = scan_into(w, tables, locks, &b);
    rkv_buf_free(&b);
    if (rc != 0) {
        rkv_snap_abort(w);
        return rc;
    }
    rkv_snap_info info;
    if ((rc = rkv_snap_commit(w, &info)) != 0)
        return rc;
    pthread_rwlock_rdlock(&pn->aof_rw);
    bool usable = pn->aof != NULL && !atomic_load(&pn->broken);
    int rrc = usable ? rkv_aof_rewrite(pn->aof, replid, off) : 0;
    pthread_rwlock_unlock(&pn->aof_rw);
    if (!usable && (rc = reattach(kv, replid, off)) != 0)
        return rc;
    uint64_t ms = rkv_mono_ms() - t0;
    if (rrc != 0)
        rkv_log(kv, REPLKV_LOG_WARNING,
                "persistence: snapshot written but the append-only file "
                "was not trimmed: %s",
                replkv_last_error());
    rkv_log(kv, REPLKV_LOG_NOTICE,
            "persistence: snapshot of %" PRIu64 " keys (%" PRIu64
            " bytes) at %s:%" PRId64 " in %" PRIu64 " ms",
            info.key_count, info.size, replid, off, ms);
    pthread_mutex_lock(&pn->mu);
    pn->last_save_unix = rkv_now_ms() / 1000;
    pn->last_snap_ms = (int64_t)ms;
    pn->snapshots++;
    pthread_mutex_unlock(&pn->mu);
    return 0;
}

static void *snap_thread_main(void *arg)
{
    replkv_t *kv = arg;
    rkv_pnode *pn = kv->pn;
    pthread_mutex_lock(&pn->mu);
    for (;;) {
        while (!pn->stopping && pn->done_seq == pn->req_seq)
            pthread_cond_wait(&pn->cv, &pn->mu);
        if (pn->stopping)
            break;
        uint64_t seq = pn->req_seq;
        pn->running = true;
        pthread_mutex_unlock(&pn->mu);
        pthread_mutex_lock(&pn->snap_lock);
        int rc = snapshot_live(kv);
        pthread_mutex_unlock(&pn->snap_lock);
        char err[256] = "";
        if (rc != 0) {
            snprintf(err, sizeof err, "%s", replkv_last_error());
            rkv_log(kv, REPLKV_LOG_WARNING,
                    "persistence: snapshot failed: %s: %s", replkv_err_name(rc),
                    err);
        }
        pthread_mutex_lock(&pn->mu);
        pn->running = false;
        pn->done_seq = seq;
        pn->last_rc = rc;
        memcpy(pn->last_err, err, sizeof err);
        if (rc != 0) {
            pn->snapshot_failures++;
            pn->last_fail_ms = rkv_mono_ms();
        }
        pthread_cond_broadcast(&pn->cv);
    }
    /* Wake any replkv_snapshot() still waiting. */
    pn->done_seq = pn->req_seq;
    pn->last_rc = REPLKV_ECLOSED;
    snprintf(pn->last_err, sizeof pn->last_err, "node closing");
    pthread_cond_broadcast(&pn->cv);
    pthread_mutex_unlock(&pn->mu);
    return NULL;
}

int replkv_snapshot(replkv_t *kv)
{
    if (kv == NULL)
        return rkv_fail(REPLKV_EINVAL, "snapshot: NULL node");
    rkv_pnode *pn = kv->pn;
    if (pn == NULL)
        return rkv_fail(REPLKV_ESTATE,
                        "snapshot: persistence is off (appendonly no)");
    if (rkv_repl_on_io_thread(kv))
        return rkv_fail(REPLKV_EBUSY, "snapshot: called from a callback");
    pthread_mutex_lock(&pn->mu);
    /* A snapshot already running began before this call: ask for another. */
    uint64_t seq = ++pn->req_seq;
    pthread_cond_broadcast(&pn->cv);
    while (pn->done_seq < seq)
        pthread_cond_wait(&pn->cv, &pn->mu);
    int rc = pn->last_rc;
    char err[256];
    memcpy(err, pn->last_err, sizeof err);
    pthread_mutex_unlock(&pn->mu);
    if (rc != 0)
        return rkv_fail(rc, "snapshot: %s", err);
    return 0;
}

/* ------------------------------------------------------------ cron */

static void flush_work(uv_work_t *w)
{
    replkv_t *kv = w->data;
    rkv_pnode *pn = kv->pn;
    pthread_rwlock_rdlock(&pn->aof_rw);
    pn->work_rc = pn->aof != NULL ? rkv_aof_flush(pn->aof, pn->work_fsync) : 0;
    pthread_rwlock_unlock(&pn->aof_rw);
}

static void flush_done(uv_work_t *w, int status)
{
    (void)status;
    replkv_t *kv = w->data;
    rkv_pnode *pn = kv->pn;
    pn->work_busy = false;
    if (pn->work_rc != 0 && !pn->aof_error_logged) {
        pn->aof_error_logged = true;
        rkv_log(kv, REPLKV_LOG_WARNING,
                "persistence: cannot write the append-only file; writes are "
                "refused until it can (MISCONF)");
    } else if (pn->work_rc == 0 && pn->aof_error_logged) {
        pn->aof_error_logged = false;
        rkv_log(kv, REPLKV_LOG_NOTICE,
                "persistence: the append-only file is written again; writes "
                "are accepted");
    }
}

void rkv_pnode_cron(replkv_t *kv)
{
    rkv_pnode *pn = kv->pn;
    if (pn == NULL || pn->work_busy)
        return;
    rkv_aof_stats st;
    pthread_rwlock_rdlock(&pn->aof_rw);
    bool have = pn->aof != NULL;
    if (have)
        rkv_aof_get_stats(pn->aof, &st);
    pthread_rwlock_unlock(&pn->aof_rw);
    uint64_t now = rkv_mono_ms();
    if (!have || atomic_load(&pn->broken)) {
        /* No usable file: a snapshot starts a new one (reattach()). */
        pthread_mutex_lock(&pn->mu);
        if (!pn->running && pn->done_seq == pn->req_seq &&
            (pn->last_fail_ms == 0 ||
             now - pn->last_fail_ms >= SNAP_RETRY_MS)) {
            pn->req_seq++;
            pthread_cond_broadcast(&pn->cv);
        }
        pthread_mutex_unlock(&pn->mu);
        return;
    }
    /* 1. Flush off the loop thread: everysec once a second; no (and
     * always, for what a replica appended) on every tick with something
     * to write. A failed flush is retried on the next tick. */
    bool fsync = pn->policy != RKV_FSYNC_NO;
    bool due;
    if (pn->policy == RKV_FSYNC_EVERYSEC)
        due = now - pn->last_fsync_ms >= 1000 &&
              (st.durable < st.end || st.last_error != 0);
    else
        due = st.written < st.end || (fsync && st.durable < st.end) ||
              st.last_error != 0;
    if (due) {
        if (fsync)
            pn->last_fsync_ms = now;
        pn->work_fsync = fsync;
        pn->work.data = kv;
        if (uv_queue_work(&kv->loop, &pn->work, flush_work, flush_done) == 0)
            pn->work_busy = true;
    }
    /* 2. Automatic snapshot (auto-aof-rewrite-percentage/min-size). */
    pthread_mutex_lock(&kv->cfg_lock);
    unsigned pct = (unsigned)kv->cfg.auto_aof_rewrite_pct;
    uint64_t min = kv->cfg.auto_aof_rewrite_min_size;
    pthread_mutex_unlock(&kv->cfg_lock);
    if (rkv_aof_rewrite_due(st.size, st.base_size, pct, min)) {
        pthread_mutex_lock(&pn->mu);
        if (!pn->running && pn->done_seq == pn->req_seq &&
            (pn->last_fail_ms == 0 ||
             now - pn->last_fail_ms >= SNAP_RETRY_MS)) {
            pn->req_seq++;
            pthread_cond_broadcast(&pn->cv);
            rkv_log(kv, REPLKV_LOG_NOTICE,
                    "persistence: append-only file at %" PRIu64
                    " bytes (%" PRIu64 " after the last rewrite): "
                    "starting a snapshot",
                    st.size, st.base_size);
        }
        pthread_mutex_unlock(&pn->mu);
    }
}

/* ------------------------------------------------------------ new history */

int rkv_pnode_new_history(replkv_t *kv, rkv_ks **tables, const char *replid,
                          int64_t offset)
{
    rkv_pnode *pn = kv->pn;
    if (pn == NULL)
        return 0;
    /* 1. Wait for a background snapshot; detach the old file. Only this
     * thread appends on a replica, so nothing is appended meanwhile. */
    pthread_mutex_lock(&pn->snap_lock);
    pthread_rwlock_wrlock(&pn->aof_rw);
    pthread_mutex_lock(&kv->jlock);
    rkv_aof *old = pn->aof;
    pn->aof = NULL;
    pthread_mutex_unlock(&kv->jlock);
    pthread_rwlock_unlock(&pn->aof_rw);
    if (rkv_aof_close(old) != 0)
        rkv_log(kv, REPLKV_LOG_WARNING,
                "persistence: closing the old append-only file: %s",
                replkv_last_error());
    /* 2. Remove it, so that a crash from here on leaves the old snapshot
     * alone or the new pair (PROTOCOL.md 9.4). */
    int rc = rkv_aof_remove(&pn->fs, pn->dir);
    /* 3. Snapshot of the received data; 4. the new file. */
    rkv_snap_writer *w = NULL;
    rkv_snap_hist h = {replid, offset, NULL, -1};
    if (rc == 0)
        rc = rkv_snap_begin(&pn->fs, pn->dir, &h, rkv_now_ms(), &w);
    if (rc == 0) {
        rkv_buf b;
        rkv_buf_init(&b);
        rc = scan_into(w, tables, NULL, &b);
        rkv_buf_free(&b);
        if (rc != 0)
            rkv_snap_abort(w);
        else
            rc = rkv_snap_commit(w, NULL);
    }
    rkv_aof *a = NULL;
    if (rc == 0)
        rc = rkv_aof_open(&pn->fs, pn->dir, pn->policy, replid, offset, &a);
    if (rc != 0) {
        rkv_log(kv, REPLKV_LOG_WARNING,
                "persistence: cannot save the full resync's data: %s: %s; "
                "writes are refused until a snapshot or the next full "
                "resync starts a new append-only file",
                replkv_err_name(rc), replkv_last_error());
    } else {
        pthread_rwlock_wrlock(&pn->aof_rw);
        pthread_mutex_lock(&kv->jlock);
        pn->aof = a;
        pthread_mutex_unlock(&kv->jlock);
        pthread_rwlock_unlock(&pn->aof_rw);
        pthread_mutex_lock(&pn->mu);
        pn->last_save_unix = rkv_now_ms() / 1000;
        pn->snapshots++;
        pthread_mutex_unlock(&pn->mu);
        rkv_log(kv, REPLKV_LOG_NOTICE,
                "persistence: full resync saved; new append-only file at "
                "%s:%" PRId64,
                replid, offset);
    }
    /* On success snap_lock stays held until the tables are swapped in
     * (rkv_pnode_new_history_end), so that no snapshot scans tables that
     * are about to be freed. */
    if (rc != 0)
        pthread_mutex_unlock(&pn->snap_lock);
    return rc;
}

void rkv_pnode_new_history_end(replkv_t *kv)
{
    if (kv->pn != NULL)
        pthread_mutex_unlock(&kv->pn->snap_lock);
}

/* ------------------------------------------------------------ open */

int rkv_pnode_open(replkv_t *kv)
{
    if (!kv->cfg.appendonly)
        return 0;
    if (kv->cfg.dir[0] == '\0')
        return rkv_fail(REPLKV_EINVAL, "appendonly yes needs a dir");
    rkv_pnode *pn = calloc(1, sizeof *pn);
    if (pn == NULL)
        return rkv_fail(REPLKV_ENOMEM, "replkv_open: out of memory");
    kv->pn = pn;
    pn->fs.hook = fs_trampoline;
    pn->fs.ud = pn;
    snprintf(pn->dir, sizeof pn->dir, "%s", kv->cfg.dir);
    pn->policy = (rkv_fsync_policy)kv->cfg.appendfsync;
    pthread_rwlock_init(&pn->aof_rw, NULL);
    pthread_mutex_init(&pn->snap_lock, NULL);
    pthread_mutex_init(&pn->mu, NULL);
    pthread_cond_init(&pn->cv, NULL);
    pn->last_fsync_ms = rkv_mono_ms();
    pn->last_snap_ms = -1;
    pn->last_save_unix = rkv_now_ms() / 1000;
    int rc = rkv_pf_check_dir(&pn->fs, pn->dir);
    if (rc == 0)
        rc = rkv_pnode_load(kv);
    if (rc == 0) {
        if (pthread_create(&pn->thread, NULL, snap_thread_main, kv) != 0)
            rc = rkv_fail(REPLKV_ENOMEM, "cannot start the snapshot thread");
        else
            pn->thread_started = true;
    }
    if (rc != 0) {
        char detail[512];
        snprintf(detail, sizeof detail, "%s", replkv_last_error());
        rkv_log(kv, REPLKV_LOG_WARNING, "persistence: cannot open: %s: %s",
                replkv_err_name(rc), detail);
        return rkv_fail(rc, "%s", detail);
    }
    return 0;
}

void rkv_pnode_close(replkv_t *kv)
{
    rkv_pnode *pn = kv->pn;
    if (pn == NULL)
        return;
    if (pn->thread_started) {
        pthread_mutex_lock(&pn->mu);
        pn->stopping = true;
        pthread_cond_broadcast(&pn->cv);
        pthread_mutex_unlock(&pn->mu);
        pthread_join(pn->thread, NULL);
    }
    if (pn->aof != NULL && rkv_aof_close(pn->aof) != 0)
        rkv_log(kv, REPLKV_LOG_WARNING,
                "persistence: the last writes could not be made durable: %s",
                replkv_last_error());
    pn->aof = NULL;
    pthread_cond_destroy(&pn->cv);
    pthread_mutex_destroy(&pn->mu);
    pthread_mutex_destroy(&pn->snap_lock);
    pthread_rwlock_destroy(&pn->aof_rw);
    free(pn);
    kv->pn = NULL;
}

/* ------------------------------------------------------------ INFO */

char *rkv_pnode_info_text(replkv_t *kv)
{
    rkv_pnode *pn = kv->pn;
    rkv_aof_stats st;
    memset(&st, 0, sizeof st);
    bool have = false;
    bool running = false;
    int64_t last_save = 0, last_ms = -1;
    uint64_t snaps = 0, fails = 0;
    int last_rc = 0;
    if (pn != NULL) {
        pthread_rwlock_rdlock(&pn->aof_rw);
        if (pn->aof != NULL) {
            rkv_aof_get_stats(pn->aof, &st);
            have = true;
        }
        pthread_rwlock_unlock(&pn->aof_rw);
        pthread_mutex_lock(&pn->mu);
        running = pn->running;
        last_save = pn->last_save_unix;
        last_ms = pn->last_snap_ms;
        snaps = pn->snapshots;
        fails = pn->snapshot_failures;
        last_rc = pn->last_rc;
        pthread_mutex_unlock(&pn->mu);
    }
    char *s = malloc(1024);
    if (s == NULL)
        return NULL;
    snprintf(s, 1024,
             "# Persistence\r\n"
             "loading:0\r\n"
             "aof_enabled:%d\r\n"
             "aof_rewrite_in_progress:%d\r\n"
             "aof_rewrite_scheduled:0\r\n"
             "aof_last_write_status:%s\r\n"
             "aof_last_bgrewrite_status:%s\r\n"
             "aof_current_size:%" PRIu64 "\r\n"
             "aof_base_size:%" PRIu64 "\r\n"
             "aof_buffer_length:%" PRId64 "\r\n"
             "aof_fsync_policy:%s\r\n"
             "aof_writes:%" PRIu64 "\r\n"
             "aof_fsyncs:%" PRIu64 "\r\n"
             "aof_write_errors:%" PRIu64 "\r\n"
             "rdb_bgsave_in_progress:%d\r\n"
             "rdb_last_save_time:%" PRId64 "\r\n"
             "rdb_last_bgsave_status:%s\r\n"
             "rdb_last_bgsave_time_sec:%" PRId64 "\r\n"
             "rdb_saves:%" PRIu64 "\r\n"
             "rdb_save_failures:%" PRIu64 "\r\n",
             pn != NULL ? 1 : 0, running ? 1 : 0,
             have && st.last_error != 0 ? "err" : "ok",
             last_rc != 0 ? "err" : "ok", st.size, st.base_size,
             st.end - st.written,
             pn != NULL ? rkv_fsync_policy_name(pn->policy) : "no", st.writes,
             st.fsyncs, st.errors, running ? 1 : 0, last_save,
             last_rc != 0 ? "err" : "ok", last_ms < 0 ? -1 : last_ms / 1000,
             snaps, fails);
    return s;
}
