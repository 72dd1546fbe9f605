/*
 * journal.c - encodes mutations as stream frames and appends them to the
 * backlog (see journal.h), and the checks a write passes on a primary or a
 * replica before it takes a lock.
 */
#include "journal.h"

#include <stdlib.h>

#include "failover_node.h"
#include "persist_node.h"
#include "repl.h"
#include "stream.h"

/* Per thread: the last offset written and whether a wake is owed. */
static _Thread_local struct {
    replkv_t *kv;
    int64_t off;
    bool wake;
    bool sync; /* journaled since the last rkv_journal_commit() */
    /* replkv_batch_begin(): wakes of batch_kv's I/O thread wait for
     * replkv_batch_end(); batch_owed says one is due. */
    replkv_t *batch_kv;
    int batch_depth;
    bool batch_owed;
} tl;

/* Why writes are blocked (kv->write_block), in the words the cache's
 * clients expect. */
static int blocked(replkv_t *kv, int code)
{
    char host[256];
    int port = 0;
    if (code == REPLKV_ENOQUORUM)
        return rkv_fail(code, "NOQUORUM: this primary cannot reach a "
                              "majority of voters (sentinel self-fence)");
    if (code == REPLKV_ENOTSUP)
        return rkv_fail(code, "this node is a witness: it holds no data");
    if (rkv_fonode_primary_addr(kv, host, sizeof host, &port) &&
        rkv_mode(kv) == RKV_MODE_REPLICA)
        return rkv_fail(code,
                        "READONLY: a failover moved the primary to %s:%d",
                        host, port);
    return rkv_fail(code, "READONLY: writes are paused for a failover");
}

int rkv_journal_write_check_slow(replkv_t *kv)
{
    int block = atomic_load_explicit(&kv->write_block, memory_order_acquire);
    if (RKV_UNLIKELY(block != 0))
        return blocked(kv, block);
    int mode = rkv_mode(kv);
    if (mode == RKV_MODE_PRIMARY && RKV_UNLIKELY(rkv_pnode_on(kv))) {
        int rc = rkv_pnode_write_check(kv);
        if (rc != 0)
            return rc;
    }
    if (mode == RKV_MODE_REPLICA) {
        if (!atomic_load_explicit(&kv->read_only, memory_order_relaxed))
            return 0;
        char host[256];
        int port = 0;
        rkv_repl_primary_addr(kv, host, sizeof host, &port);
        if (port == 0 &&
            !rkv_fonode_primary_addr(kv, host, sizeof host, &port))
            return rkv_fail(REPLKV_EREADONLY,
                            "READONLY: this node is a replica and knows no "
                            "primary yet");
        return rkv_fail(REPLKV_EREADONLY,
                        "READONLY: this node is a replica; write to the "
                        "primary at %s:%d",
                        host, port);
    }
    int min = atomic_load_explicit(&kv->min_replicas, memory_order_relaxed);
    if (min > 0) {
        int good =
            atomic_load_explicit(&kv->good_replicas, memory_order_relaxed);
        if (good < min)
            return rkv_fail(REPLKV_ENOREPLICAS,
                            "NOREPLICAS: %d good replicas, "
                            "min-replicas-to-write is %d",
                            good, min);
    }
    return 0;
}

void rkv_journal_append(replkv_t *kv, const void *frame, size_t len)
{
    pthread_mutex_lock(&kv->jlock);
    rkv_backlog_append(kv->bl, frame, len);
    /* The append-only file takes the same bytes in the same order (memory
     * only: it is written after the locks are released). */
    rkv_pnode_append(kv, frame, len);
    int64_t off = rkv_backlog_offset(kv->bl);
    atomic_store_explicit(&kv->repl_offset, off, memory_order_release);
    pthread_mutex_unlock(&kv->jlock);
    tl.kv = kv;
    tl.off = off;
    tl.wake = true;
    tl.sync = true;
}

/* A frame that failed to encode: the stream can no longer describe the
 * keyspace, so every replica must resync. */
static void journal_broken(replkv_t *kv, int rc)
{
    rkv_log(kv, REPLKV_LOG_WARNING,
            "journal: cannot encode a record (%s: %s); replicas will resync",
            replkv_err_name(rc), replkv_last_error());
    rkv_repl_request_resync(kv);
}

enum { STACK_FRAME = 1024 };

/* Encodes m and appends it. Frames up to STACK_FRAME (nearly all) are
 * packed on the stack: the buffer never grows when size_hint (the bytes of
 * key and value) fits with the framing. */
static void journal_msg(replkv_t *kv, const rkv_msg *m, size_t size_hint)
{
    uint8_t stack[STACK_FRAME];
    rkv_buf b = {stack, 0, sizeof stack};
    bool heap = (uint64_t)size_hint + RKV_SET_OVERHEAD + RKV_FRAME_HDR >
                sizeof stack;
    if (heap)
        rkv_buf_init(&b);
    int rc = rkv_msg_encode(&b, m);
    if (rc == 0)
        rkv_journal_append(kv, b.data, b.len);
    else
        journal_broken(kv, rc);
    if (heap)
        rkv_buf_free(&b);
}

void rkv_journal_set(replkv_t *kv, const void *key, size_t klen,
                     const void *val, size_t vlen, int64_t expire_at)
{
    rkv_msg m = {.type = RKV_REC_SET};
    m.set.key = (rkv_bytes){key, klen};
    m.set.val = (rkv_bytes){val, vlen};
    m.set.expire_at = expire_at;
    journal_msg(kv, &m, klen + vlen);
}

void rkv_journal_del(replkv_t *kv, const void *key, size_t klen)
{
    rkv_msg m = {.type = RKV_REC_DEL};
    m.key.key = (rkv_bytes){key, klen};
    journal_msg(kv, &m, klen);
}

void rkv_journal_expireat(replkv_t *kv, const void *key, size_t klen,
                          int64_t at)
{
    rkv_msg m = {.type = RKV_REC_EXPIREAT};
    m.expireat.key = (rkv_bytes){key, klen};
    m.expireat.at = at < 0 ? 0 : at;
    journal_msg(kv, &m, klen);
}

void rkv_journal_persist(replkv_t *kv, const void *key, size_t klen)
{
    rkv_msg m = {.type = RKV_REC_PERSIST};
    m.key.key = (rkv_bytes){key, klen};
    journal_msg(kv, &m, klen);
}

void rkv_journal_flush(replkv_t *kv)
{
    rkv_msg m = {.type = RKV_REC_FLUSH};
    journal_msg(kv, &m, 0);
}

/* Wakes kv's I/O thread unless it is awake already. */
static void wake_io(replkv_t *kv)
{
    /* The I/O thread clears wake_pending only when it has sent everything
     * and then looks again, so while replicas are busy streaming (or when
     * there are none) writers make no system call here. */
#if defined(__SANITIZE_THREAD__)
    /* ThreadSanitizer cannot model a standalone fence: use an exchange on
     * every write instead, which orders the same way (the I/O thread's
     * clear and this exchange meet in the flag's modification order). */
    if (atomic_exchange_explicit(&kv->wake_pending, 1, memory_order_seq_cst) ==
        0)
        uv_async_send(&kv->repl_async);
#else
    atomic_thread_fence(memory_order_seq_cst); /* offset store -> flag load */
    if (atomic_load_explicit(&kv->wake_pending, memory_order_acquire) == 0 &&
        atomic_exchange_explicit(&kv->wake_pending, 1, memory_order_acq_rel) ==
            0)
        uv_async_send(&kv->repl_async);
#endif
}

void rkv_journal_wake(replkv_t *kv)
{
    if (!tl.wake || tl.kv != kv)
        return;
    tl.wake = false;
    if (tl.batch_depth > 0 && tl.batch_kv == kv) {
        tl.batch_owed = true;
        return;
    }
    wake_io(kv);
}

void rkv_journal_wake_now(replkv_t *kv)
{
    if (tl.batch_kv == kv && tl.batch_owed) {
        tl.batch_owed = false;
        wake_io(kv);
    }
}

int replkv_batch_begin(replkv_t *kv)
{
    if (kv == NULL)
        return rkv_fail(REPLKV_EINVAL, "batch_begin: NULL node");
    if (tl.batch_depth > 0 && tl.batch_kv != kv)
        return rkv_fail(REPLKV_EBUSY, "batch_begin: this thread has a batch "
                                      "open on another node");
    tl.batch_kv = kv;
    tl.batch_depth++;
    return 0;
}

int replkv_batch_end(replkv_t *kv)
{
    if (kv == NULL)
        return rkv_fail(REPLKV_EINVAL, "batch_end: NULL node");
    if (tl.batch_depth == 0 || tl.batch_kv != kv)
        return rkv_fail(REPLKV_ESTATE, "batch_end: no batch open on this "
                                       "node in this thread");
    if (--tl.batch_depth == 0) {
        rkv_journal_wake_now(kv);
        tl.batch_kv = NULL;
    }
    return 0;
}

int rkv_journal_commit(replkv_t *kv)
{
    if (tl.kv != kv || !tl.sync)
        return 0;
    rkv_journal_wake(kv);
    tl.sync = false;
    return rkv_pnode_wait(kv, tl.off);
}

int64_t rkv_journal_last_offset(replkv_t *kv)
{
    if (tl.kv == kv)
        return tl.off;
    return atomic_load_explicit(&kv->repl_offset, memory_order_acquire);
}
