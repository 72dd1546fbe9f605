/*
 * repl_primary.c - a primary's side of each replica link
 * (docs/PROTOCOL.md "Synchronisation", steps 4-8): answer PSYNC with
 * CONTINUE or FULLRESYNC, walk the keyspace for a full resync a few buckets
 * at a time while the socket drains, stream the backlog from each link's
 * cursor, take ACKs, send PINGs, drop silent links and replicas that fell
 * out of the backlog.
 */
#include <stdio.h>
#include <string.h>

#include "failover_node.h"
#include "journal.h"
#include "repl.h"

static bool all_zero_id(const rkv_bytes *id)
{
    for (size_t i = 0; i < id->len; i++)
        if (((const char *)id->p)[i] != '0')
            return false;
    return true;
}

/* client-output-buffer-limit's hard limit as the backlog's hold limit. */
static size_t hold_limit(const rkv_repl *r)
{
    return r->obuf_hard == 0 || r->obuf_hard > SIZE_MAX ? SIZE_MAX
                                                        : (size_t)r->obuf_hard;
}

/* Step 5: the PSYNC decision. */
static int on_psync(rkv_link *l, const rkv_msg *m)
{
    replkv_t *kv = l->kv;
    rkv_repl *r = kv->repl;
    if (l->state != LINK_WAIT_PSYNC) {
        rkv_link_close(l, REPLKV_LOG_WARNING, "PSYNC out of order");
        return 1;
    }
    /* A replica serves replicas of its own (chained) from its backlog. */
    if (rkv_mode(kv) == RKV_MODE_STANDALONE) {
        rkv_msg e = {.type = RKV_MSG_ERROR};
        const char *t = "this node keeps no replication stream";
        e.error.code = REPLKV_ESTATE;
        e.error.message = (rkv_bytes){t, strlen(t)};
        rkv_link_send(l, &e);
        rkv_link_close(l, REPLKV_LOG_WARNING, "PSYNC refused: %s", t);
        return 1;
    }
    char want[RKV_ID_LEN + 1];
    memcpy(want, m->sync.replid.p, RKV_ID_LEN);
    want[RKV_ID_LEN] = '\0';
    char replid[RKV_ID_LEN + 1];
    pthread_mutex_lock(&kv->jlock);
    bool ok = rkv_backlog_psync_ok(kv->bl, want, m->sync.offset);
    int64_t off = rkv_backlog_offset(kv->bl);
    memcpy(replid, rkv_backlog_replid(kv->bl), RKV_ID_LEN + 1);
    /* Held from here on, in the same lock as the offset was chosen: a
     * writer must not trim what this replica is about to need before the
     * pump first tells the backlog about it. */
    int64_t from = ok ? m->sync.offset : off;
    if (from < rkv_backlog_hold_from(kv->bl))
        rkv_backlog_hold(kv->bl, from, hold_limit(r));
    pthread_mutex_unlock(&kv->jlock);
    rkv_msg a = {.type = ok ? RKV_MSG_CONTINUE : RKV_MSG_FULLRESYNC};
    a.sync.replid = (rkv_bytes){replid, RKV_ID_LEN};
    a.sync.offset = ok ? m->sync.offset : off;
    if (rkv_link_send(l, &a) != 0) {
        rkv_link_close(l, REPLKV_LOG_WARNING, "cannot encode PSYNC answer");
        return 1;
    }
    pthread_mutex_lock(&r->lock);
    if (ok) {
        r->sync_partial_ok++;
        l->state = LINK_STREAMING;
        l->cursor = m->sync.offset;
    } else {
        r->sync_full++;
        if (!all_zero_id(&m->sync.replid))
            r->sync_partial_err++;
        l->state = LINK_SNAPSHOT;
        l->cursor = off;
        l->snap_shard = 0;
        l->snap_cursor = 0;
        l->snap_keys = 0;
    }
    pthread_mutex_unlock(&r->lock);
    if (ok)
        rkv_log(kv, REPLKV_LOG_NOTICE,
                "replication: partial resync with replica %s:%d accepted "
                "from offset %lld (%lld bytes to send)",
                l->addr, l->port, (long long)m->sync.offset,
                (long long)(off - m->sync.offset));
    else
        rkv_log(kv, REPLKV_LOG_NOTICE,
                "replication: full resync of replica %s:%d from offset %lld "
                "(asked for %s:%lld)",
                l->addr, l->port, (long long)off, want,
                (long long)m->sync.offset);
    rkv_primary_pump(l);
    return 0;
}

int rkv_primary_on_msg(rkv_link *l, const rkv_msg *m)
{
    replkv_t *kv = l->kv;
    switch (m->type) {
    case RKV_MSG_PSYNC:
        return on_psync(l, m);
    case RKV_MSG_ACK: {
        int64_t cur = atomic_load(&kv->repl_offset);
        pthread_mutex_lock(&kv->repl->lock);
        l->acked = m->ack.offset > cur ? cur : m->ack.offset;
        l->ack_ms = rkv_mono_ms();
        int64_t acked = l->acked;
        pthread_cond_broadcast(&kv->repl->cond);
        pthread_mutex_unlock(&kv->repl->lock);
        rkv_fonode_replica_acked(l, acked);
        return l->closing ? 1 : 0;
    }
    default:
        rkv_link_close(l, REPLKV_LOG_WARNING, "unexpected %s from a replica",
                       rkv_msg_name(m->type));
        return 1;
    }
}

/* ------------------------------------------------------------ snapshot */

typedef struct snap_ctx {
    rkv_link *l;
    int64_t now;
    bool oom;
} snap_ctx;

static void snap_visit(const rkv_entry *e, void *ud)
{
    snap_ctx *c = ud;
    int64_t exp = rkv_entry_expire(e);
    if (c->oom || (exp != 0 && exp <= c->now))
        return;
    size_t klen, vlen;
    const void *key = rkv_entry_key(e, &klen);
    const void *val = rkv_entry_val(e, &vlen);
    if (rkv_frame_put_set(&c->l->out, key, klen, val, vlen, exp) != 0)
        c->oom = true;
    else
        c->l->snap_keys++;
}

/* Step 6: one step of the walk: some buckets of one shard under its lock,
 * or, once every shard is done, SNAP_END. Returns false on failure. */
static bool snapshot_step(rkv_link *l)
{
    replkv_t *kv = l->kv;
    if (l->snap_shard < RKV_SHARDS) {
        rkv_shard *s = &kv->shards[l->snap_shard];
        snap_ctx c = {l, rkv_now_ms(), false};
        size_t before = l->out.len;
        pthread_mutex_lock(&s->lock);
        int buckets = 0;
        do {
            l->snap_cursor = rkv_ks_scan(s->ks, l->snap_cursor, snap_visit, &c);
        } while (l->snap_cursor != 0 && ++buckets < 256 && !c.oom &&
                 l->out.len - before < 64 * 1024);
        pthread_mutex_unlock(&s->lock);
        if (c.oom) {
            rkv_link_close(l, REPLKV_LOG_WARNING,
                           "full resync: out of memory encoding the snapshot");
            return false;
        }
        if (l->snap_cursor == 0)
            l->snap_shard++;
        return true;
    }
    rkv_msg m = {.type = RKV_MSG_SNAP_END};
    m.snap_end.key_count = l->snap_keys;
    m.snap_end.end_offset = atomic_load(&kv->repl_offset);
    if (rkv_link_send(l, &m) != 0)
        return false;
    pthread_mutex_lock(&kv->repl->lock);
    l->state = LINK_STREAMING;
    pthread_mutex_unlock(&kv->repl->lock);
    rkv_log(kv, REPLKV_LOG_NOTICE,
            "replication: snapshot of %llu keys sent to replica %s:%d, "
            "streaming from offset %lld",
            (unsigned long long)l->snap_keys, l->addr, l->port,
            (long long)l->cursor);
    return true;
}

/* ------------------------------------------------------------ streaming */

/* The oldest byte a replica still needs, so the backlog keeps it past
 * repl-backlog-size, up to client-output-buffer-limit's hard limit: a
 * burst of writes then costs a slow replica no full resync. I/O thread. */
void rkv_primary_update_hold(replkv_t *kv)
{
    rkv_repl *r = kv->repl;
    int64_t from = INT64_MAX;
    for (rkv_link *l = r->replicas; l != NULL; l = l->next)
        if (!l->closing && l->cursor < from &&
            (l->state == LINK_SNAPSHOT || l->state == LINK_STREAMING))
            from = l->cursor;
    pthread_mutex_lock(&kv->jlock);
    rkv_backlog_hold(kv->bl, from, hold_limit(r));
    pthread_mutex_unlock(&kv->jlock);
}

/* Redis's client-output-buffer-limit for a replica: behind by more than
 * the hard limit, or by more than the soft one for longer than its
 * seconds, and it is dropped (it resyncs when it returns). Only what lies
 * past repl-backlog-size counts: bytes the backlog keeps anyway cost
 * nothing, and dropping a replica that could resume from them would only
 * make it come back to the same place. Returns false if it closed l. */
static bool check_obuf(rkv_link *l, uint64_t now_ms)
{
    replkv_t *kv = l->kv;
    rkv_repl *r = kv->repl;
    if (l->state != LINK_SNAPSHOT && l->state != LINK_STREAMING)
        return true;
    pthread_mutex_lock(&kv->jlock);
    uint64_t behind = (uint64_t)(rkv_backlog_offset(kv->bl) - l->cursor);
    uint64_t size = rkv_backlog_size(kv->bl);
    pthread_mutex_unlock(&kv->jlock);
    /* While a snapshot goes out, its own bytes fill the write buffers:
     * only the stream that waits behind it counts (Redis writes its
     * diskless RDB around the output buffer, too). */
    if (l->state == LINK_STREAMING)
        behind += l->out.len + l->pending;
    if (r->obuf_hard > 0 && behind > r->obuf_hard && behind > size) {
        rkv_link_close(l, REPLKV_LOG_WARNING,
                       "replica cannot keep up: %llu bytes behind, over "
                       "client-output-buffer-limit's hard limit %llu; it "
                       "will resync",
                       (unsigned long long)behind,
                       (unsigned long long)r->obuf_hard);
        return false;
    }
    if (r->obuf_soft == 0 || behind <= r->obuf_soft || behind <= size) {
        l->over_soft_ms = 0;
        return true;
    }
    if (l->over_soft_ms == 0) {
        l->over_soft_ms = now_ms;
        return true;
    }
    if (now_ms - l->over_soft_ms <= r->obuf_soft_ms)
        return true;
    rkv_link_close(l, REPLKV_LOG_WARNING,
                   "replica cannot keep up: more than "
                   "client-output-buffer-limit's soft limit %llu bytes "
                   "behind for %llu ms; it will resync",
                   (unsigned long long)r->obuf_soft,
                   (unsigned long long)(now_ms - l->over_soft_ms));
    return false;
}

/* One pass of the pump: fills the link's buffer from the backlog (or the
 * snapshot) up to the watermark. True when it stopped because there is
 * nothing left to send and the writers' wake is re-armed (or the link is
 * not sending), false when it stopped with bytes to write. */
static bool pump_fill(rkv_link *l)
{
    replkv_t *kv = l->kv;
    while (!l->closing && l->pending + l->out.len < RKV_WRITE_WATERMARK) {
        if (l->state != LINK_SNAPSHOT && l->state != LINK_STREAMING)
            return true;
        pthread_mutex_lock(&kv->jlock);
        int64_t first = rkv_backlog_first_offset(kv->bl);
        int64_t end = rkv_backlog_offset(kv->bl);
        if (l->cursor < first || l->cursor > end) {
            pthread_mutex_unlock(&kv->jlock);
            rkv_link_close(l, REPLKV_LOG_WARNING,
                           "replica cannot keep up: it needs offset %lld, the "
                           "backlog holds [%lld, %lld) (repl-backlog-size, "
                           "client-output-buffer-limit); it will resync",
                           (long long)l->cursor, (long long)first,
                           (long long)end);
            return true;
        }
        if (l->state == LINK_SNAPSHOT) {
            pthread_mutex_unlock(&kv->jlock);
            if (!snapshot_step(l))
                return true;
            continue;
        }
        if (l->cursor == end) {
            pthread_mutex_unlock(&kv->jlock);
            if (l->pending + l->out.len > 0)
                return false;
            /* Idle: let writers wake us again, then look once more so a
             * write that saw the flag still set is not left behind. */
            atomic_store_explicit(&kv->wake_pending, 0, memory_order_seq_cst);
            if (atomic_load_explicit(&kv->repl_offset, memory_order_seq_cst) ==
                l->cursor)
                return true;
            continue;
        }
        size_t want = (size_t)(end - l->cursor);
        if (want > 256 * 1024)
            want = 256 * 1024;
        size_t n = 0;
        if (rkv_buf_reserve(&l->out, want) == 0)
            rkv_backlog_copy(kv->bl, l->cursor, l->out.data + l->out.len, want,
                             &n);
        pthread_mutex_unlock(&kv->jlock);
        if (n == 0) {
            rkv_link_close(l, REPLKV_LOG_WARNING, "out of memory");
            return true;
        }
        l->out.len += n;
        l->cursor += (int64_t)n;
    }
    return l->closing;
}

/* Step 7: copies backlog bytes from the link's cursor into its write
 * buffer while its pending bytes are under the watermark, and writes them.
 * A cursor that fell out of the backlog closes the link: memory stays
 * bounded and the writers never wait for a slow replica; it will resync.
 * A write still in flight calls the pump again when it completes; a write
 * the socket took at once does not, so the pump goes on itself until it
 * is idle with the writers' wake re-armed (bounded: past that, it wakes
 * its own loop so that other links and events get their turn). */
void rkv_primary_pump(rkv_link *l)
{
    replkv_t *kv = l->kv;
    for (int round = 0;; round++) {
        bool idle = pump_fill(l);
        rkv_primary_update_hold(kv);
        rkv_link_flush(l);
        if (idle || l->closing || l->pending + l->out.len > 0)
            return;
        if (round == 16) {
            uv_async_send(&kv->repl_async);
            return;
        }
    }
}

/* ------------------------------------------------------------ cron */

/* Step 8: PINGs in the stream every repl-ping-replica-period, repl-timeout,
 * the good-replica count for min-replicas-to-write, and a pump of every
 * link (a writer's wake may have been coalesced away). */
void rkv_primary_cron(replkv_t *kv, uint64_t now_ms)
{
    rkv_repl *r = kv->repl;
    pthread_mutex_lock(&kv->cfg_lock);
    uint64_t timeout_ms = (uint64_t)kv->cfg.repl_timeout * 1000u;
    uint64_t period_ms = (uint64_t)kv->cfg.repl_ping_period * 1000u;
    uint64_t lag_ms = (uint64_t)kv->cfg.min_replicas_max_lag * 1000u;
    r->obuf_hard = kv->cfg.repl_obuf_hard;
    r->obuf_soft = kv->cfg.repl_obuf_soft;
    r->obuf_soft_ms = (uint64_t)kv->cfg.repl_obuf_soft_secs * 1000u;
    pthread_mutex_unlock(&kv->cfg_lock);

    if (rkv_mode(kv) == RKV_MODE_PRIMARY && r->replicas != NULL &&
        now_ms - r->last_ping_ms >= period_ms) {
        r->last_ping_ms = now_ms;
        uint8_t buf[64];
        rkv_buf b = {buf, 0, sizeof buf};
        rkv_msg p = {.type = RKV_REC_PING};
        p.ping.unix_ms = rkv_now_ms();
        if (rkv_msg_encode(&b, &p) == 0)
            rkv_journal_append(kv, b.data, b.len);
    }
    int good = 0;
    rkv_link *next;
    for (rkv_link *l = r->replicas; l != NULL; l = next) {
        next = l->next;
        if (now_ms - l->last_rx_ms > timeout_ms) {
            rkv_link_close(l, REPLKV_LOG_WARNING,
                           "replica silent for %llu ms (repl-timeout)",
                           (unsigned long long)(now_ms - l->last_rx_ms));
            continue;
        }
        if (!check_obuf(l, now_ms))
            continue;
        if (l->state == LINK_STREAMING && l->acked >= 0 &&
            now_ms - l->ack_ms <= lag_ms)
            good++;
        rkv_primary_pump(l);
    }
    rkv_primary_update_hold(kv); /* links closed since the last pump let go */
    if (atomic_load(&r->acks_ignored))
        good = 0; /* failover: this primary may have been replaced */
    atomic_store_explicit(&kv->good_replicas, good, memory_order_relaxed);
}
