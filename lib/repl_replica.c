/*
 * repl_replica.c - a replica's side of the link to its primary
 * (docs/PROTOCOL.md "Synchronisation", replica steps): PSYNC, the answer,
 * a full resync loaded into new shard tables beside the live ones and
 * swapped in at once, the live stream applied in order with each frame
 * appended unchanged to our own backlog (so offsets match the primary's),
 * and ACKs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "journal.h"
#include "persist_node.h"
#include "repl.h"

void rkv_replica_drop_load(rkv_link *l)
{
    for (unsigned i = 0; i < RKV_SHARDS; i++) {
        rkv_ks_free(l->load[i]);
        l->load[i] = NULL;
    }
}

/* Step 4: ask to continue our history, or for everything when we have
 * none (the all-zero id). */
void rkv_replica_on_authed(rkv_link *l)
{
    replkv_t *kv = l->kv;
    char replid[RKV_ID_LEN + 1];
    int64_t off = 0;
    if (kv->repl->fresh) {
        memset(replid, '0', RKV_ID_LEN);
    } else {
        pthread_mutex_lock(&kv->jlock);
        memcpy(replid, rkv_backlog_replid(kv->bl), RKV_ID_LEN);
        off = rkv_backlog_offset(kv->bl);
        pthread_mutex_unlock(&kv->jlock);
    }
    replid[RKV_ID_LEN] = '\0';
    rkv_msg m = {.type = RKV_MSG_PSYNC};
    m.sync.replid = (rkv_bytes){replid, RKV_ID_LEN};
    m.sync.offset = off;
    rkv_link_send(l, &m);
    rkv_link_flush(l);
    pthread_mutex_lock(&kv->repl->lock);
    l->state = LINK_SYNC_SENT;
    pthread_mutex_unlock(&kv->repl->lock);
}

/* ------------------------------------------------------------ full resync */

/* Step 6 (replica): every shard table replaced at once under all shard
 * locks, so readers never see a half-loaded keyspace; our backlog starts
 * over in the primary's history at the offset loaded. */
static int swap_in(rkv_link *l)
{
    replkv_t *kv = l->kv;
    rkv_ks *old[RKV_SHARDS];
    if (rkv_apply_drain(&l->win, kv) != 0) {
        rkv_link_close(l, REPLKV_LOG_WARNING, "full resync: cannot apply: %s",
                       replkv_last_error());
        return 1;
    }
    /* With persistence, the new history is on disk before anything of it
     * is applied or acknowledged (persist_node.h). */
    if (rkv_pnode_new_history(kv, l->load, l->load_replid, l->load_off) != 0) {
        rkv_link_close(l, REPLKV_LOG_WARNING,
                       "full resync: cannot save the data received: %s",
                       replkv_last_error());
        return 1;
    }
    for (unsigned i = 0; i < RKV_SHARDS; i++)
        pthread_mutex_lock(&kv->shards[i].lock);
    pthread_mutex_lock(&kv->jlock);
    for (unsigned i = 0; i < RKV_SHARDS; i++) {
        old[i] = kv->shards[i].ks;
        kv->shards[i].ks = l->load[i];
        kv->shards[i].expire_cursor = 0;
        l->load[i] = NULL;
        atomic_store(&kv->shards[i].mem, rkv_ks_memory(kv->shards[i].ks));
    }
    rkv_backlog_reset(kv->bl, l->load_replid, l->load_off);
    atomic_store(&kv->repl_offset, l->load_off);
    pthread_mutex_unlock(&kv->jlock);
    for (unsigned i = RKV_SHARDS; i-- > 0;)
        pthread_mutex_unlock(&kv->shards[i].lock);
    rkv_pnode_new_history_end(kv);
    for (unsigned i = 0; i < RKV_SHARDS; i++)
        rkv_ks_free(old[i]);
    rkv_repl *r = kv->repl;
    r->fresh = false;
    r->full_sync_failures = 0;
    r->backoff_ms = 0;
    pthread_mutex_lock(&r->lock);
    l->state = LINK_ONLINE;
    r->link_up = true;
    r->link_down_since_ms = 0;
    r->sync_in_progress = false;
    pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->lock);
    rkv_log(kv, REPLKV_LOG_NOTICE,
            "replication: full resync from %s:%d done: %llu keys, "
            "replid %s offset %lld",
            l->addr, l->port, (unsigned long long)l->load_keys,
            l->load_replid, (long long)l->load_off);
    return 0;
}

static int start_load(rkv_link *l, const rkv_msg *m)
{
    replkv_t *kv = l->kv;
    for (unsigned i = 0; i < RKV_SHARDS; i++) {
        l->load[i] = rkv_ks_new(kv->hash_seed);
        if (l->load[i] == NULL) {
            rkv_link_close(l, REPLKV_LOG_WARNING,
                           "full resync: out of memory");
            return 1;
        }
    }
    memcpy(l->load_replid, m->sync.replid.p, RKV_ID_LEN);
    l->load_replid[RKV_ID_LEN] = '\0';
    l->load_off = m->sync.offset;
    l->load_end = -1;
    l->load_keys = 0;
    pthread_mutex_lock(&kv->repl->lock);
    l->state = LINK_LOADING;
    kv->repl->sync_in_progress = true;
    kv->repl->sync_start_rx = kv->repl->bytes_received;
    pthread_mutex_unlock(&kv->repl->lock);
    rkv_log(kv, REPLKV_LOG_NOTICE,
            "replication: full resync from %s:%d, replid %s offset %lld",
            l->addr, l->port, l->load_replid, (long long)l->load_off);
    return 0;
}

static int on_continue(rkv_link *l, const rkv_msg *m)
{
    replkv_t *kv = l->kv;
    char replid[RKV_ID_LEN + 1];
    memcpy(replid, m->sync.replid.p, RKV_ID_LEN);
    replid[RKV_ID_LEN] = '\0';
    pthread_mutex_lock(&kv->jlock);
    int64_t off = rkv_backlog_offset(kv->bl);
    bool shifted = false;
    if (off == m->sync.offset &&
        strcmp(replid, rkv_backlog_replid(kv->bl)) != 0) {
        /* Our primary was promoted: its history continues ours. */
        rkv_backlog_shift_id(kv->bl, replid);
        shifted = true;
    }
    pthread_mutex_unlock(&kv->jlock);
    if (off != m->sync.offset) {
        rkv_link_close(l, REPLKV_LOG_WARNING,
                       "CONTINUE at offset %lld but we hold %lld",
                       (long long)m->sync.offset, (long long)off);
        return 1;
    }
    kv->repl->backoff_ms = 0;
    pthread_mutex_lock(&kv->repl->lock);
    l->state = LINK_ONLINE;
    kv->repl->link_up = true;
    kv->repl->link_down_since_ms = 0;
    pthread_mutex_unlock(&kv->repl->lock);
    rkv_log(kv, REPLKV_LOG_NOTICE,
            "replication: partial resync from %s:%d at offset %lld%s", l->addr,
            l->port, (long long)off,
            shifted ? " (the primary's history continues ours)" : "");
    return 0;
}

static int bad(rkv_link *l, const rkv_msg *m)
{
    rkv_link_close(l, REPLKV_LOG_WARNING, "unexpected %s from the primary",
                   rkv_msg_name(m->type));
    return 1;
}

int rkv_replica_on_frame(rkv_link *l, const rkv_msg *m, const uint8_t *frame,
                         size_t size)
{
    replkv_t *kv = l->kv;
    int rc;
    switch (l->state) {
    case LINK_SYNC_SENT:
        if (m->type == RKV_MSG_CONTINUE)
            return on_continue(l, m);
        if (m->type == RKV_MSG_FULLRESYNC)
            return start_load(l, m);
        return bad(l, m);
    case LINK_LOADING:
        /* Loaded records count 0 bytes in the window: only the live
         * stream's frames need accounting (a failed load is dropped). */
        if (m->type == RKV_REC_SET) {
            if ((rc = rkv_apply_push(&l->win, kv, l->load, m, 0)) != 0)
                goto fail;
            l->load_keys++;
            return 0;
        }
        if (m->type != RKV_MSG_SNAP_END)
            return bad(l, m);
        l->load_end = m->snap_end.end_offset;
        if (l->load_end < l->load_off) {
            rkv_link_close(l, REPLKV_LOG_WARNING,
                           "SNAP_END offset %lld before FULLRESYNC's %lld",
                           (long long)l->load_end, (long long)l->load_off);
            return 1;
        }
        pthread_mutex_lock(&kv->repl->lock);
        l->state = LINK_LOADING_TAIL;
        pthread_mutex_unlock(&kv->repl->lock);
        if (l->load_off == l->load_end)
            return swap_in(l);
        return 0;
    case LINK_LOADING_TAIL:
        if (!rkv_msg_is_record(m->type))
            return bad(l, m);
        if ((rc = rkv_apply_push(&l->win, kv, l->load, m, 0)) != 0)
            goto fail;
        l->load_off += (int64_t)size;
        if (l->load_off == l->load_end)
            return swap_in(l);
        if (l->load_off > l->load_end)
            return bad(l, m);
        return 0;
    case LINK_ONLINE:
        if (!rkv_msg_is_record(m->type))
            return bad(l, m);
        /* Applied through the window (by the end of this read batch at the
         * latest: frame stays in rbuf until rkv_replica_flush_applied) and
         * then appended to our backlog, once per batch (only this thread
         * writes on a replica, so the order is the same). */
        if (l->applied_len > 0 && l->applied_p + l->applied_len != frame)
            rkv_replica_flush_applied(l);
        if (l->apply_failed) {
            rkv_link_close(l, REPLKV_LOG_WARNING,
                           "a record could not be applied (logged above)");
            return 1;
        }
        if (l->applied_len == 0)
            l->applied_p = frame;
        l->applied_len += size;
        if ((rc = rkv_apply_push(&l->win, kv, NULL, m, size)) != 0) {
            l->applied_len -= l->win.lost; /* never in our backlog */
            goto fail;
        }
        return 0;
    default:
        return bad(l, m);
    }
fail:
    /* The record that failed may be an earlier one still in the window. */
    rkv_link_close(l, REPLKV_LOG_WARNING, "cannot apply a record: %s",
                   replkv_last_error());
    return 1;
}

void rkv_replica_flush_applied(rkv_link *l)
{
    /* Every record pushed is applied before its frame joins our backlog
     * (and before rbuf, which the pending records point into, changes).
     * On failure the link must close before any later record is applied;
     * not from here, which rkv_link_close itself calls, but from
     * rkv_replica_after_read, which follows at the end of the read. */
    if (rkv_apply_drain(&l->win, l->kv) != 0) {
        l->applied_len -= l->win.lost;
        l->apply_failed = true;
        rkv_log(l->kv, REPLKV_LOG_WARNING,
                "replication: cannot apply a record from %s:%d: %s", l->addr,
                l->port, replkv_last_error());
    }
    if (l->applied_len == 0)
        return;
    rkv_journal_append(l->kv, l->applied_p, l->applied_len);
    l->applied_p = NULL;
    l->applied_len = 0;
}

static void send_ack(rkv_link *l, int64_t off)
{
    if (atomic_load(&l->kv->repl->acks_off)) {
        /* Failover: this replica must not count towards a primary that
         * may have been replaced; a PING keeps the link alive. */
        rkv_msg p = {.type = RKV_MSG_PING_LINK};
        p.ping.unix_ms = rkv_now_ms();
        rkv_link_send(l, &p);
        l->acked_sent = off;
        l->last_ack_ms = rkv_mono_ms();
        return;
    }
    rkv_msg a = {.type = RKV_MSG_ACK};
    a.ack.offset = off;
    rkv_link_send(l, &a);
    l->acked_sent = off;
    l->last_ack_ms = rkv_mono_ms();
}

static void on_ack_timer(uv_timer_t *t)
{
    replkv_t *kv = t->data;
    rkv_link *l = kv->repl->primary;
    if (l == NULL || l->closing || l->state != LINK_ONLINE)
        return;
    int64_t off = atomic_load(&kv->repl_offset);
    if (off == l->acked_sent)
        return;
    send_ack(l, off);
    rkv_link_flush(l);
}

/* Step 8: after each read batch that moved our offset, a wake for
 * replkv_wait_applied() at once, and an ACK at once if none went out in
 * the last RKV_ACK_DELAY_MS, else when that delay is up (one timer; the
 * ACK then carries every batch applied meanwhile). So a lone write is
 * acknowledged without delay, and a stream of small ones costs the
 * primary one wake-up per millisecond per replica, not one per write. */
void rkv_replica_after_read(rkv_link *l)
{
    replkv_t *kv = l->kv;
    if (l->apply_failed) {
        rkv_link_close(l, REPLKV_LOG_WARNING,
                       "a record could not be applied (logged above)");
        return;
    }
    if (l->state != LINK_ONLINE)
        return;
    int64_t off = atomic_load(&kv->repl_offset);
    if (off == l->acked_sent)
        return;
    if (atomic_load(&kv->repl->waiters) > 0) {
        pthread_mutex_lock(&kv->repl->lock);
        pthread_cond_broadcast(&kv->repl->cond);
        pthread_mutex_unlock(&kv->repl->lock);
    }
    uint64_t now = rkv_mono_ms();
    if (now - l->last_ack_ms >= RKV_ACK_DELAY_MS)
        send_ack(l, off); /* the caller flushes */
    else if (!uv_is_active((uv_handle_t *)&kv->repl->ack_timer))
        uv_timer_start(&kv->repl->ack_timer, on_ack_timer,
                       RKV_ACK_DELAY_MS, 0);
}

void rkv_replica_ack_now(replkv_t *kv)
{
    rkv_link *l = kv->repl->primary;
    if (l == NULL || l->closing || l->state != LINK_ONLINE)
        return;
    send_ack(l, atomic_load(&kv->repl_offset));
    rkv_link_flush(l);
}

void rkv_replica_cron(replkv_t *kv, uint64_t now_ms)
{
    rkv_repl *r = kv->repl;
    rkv_link *l = r->primary;
    if (l == NULL || l->closing)
        return;
    pthread_mutex_lock(&kv->cfg_lock);
    uint64_t timeout_ms = (uint64_t)kv->cfg.repl_timeout * 1000u;
    uint64_t period_ms = (uint64_t)kv->cfg.repl_ping_period * 1000u;
    pthread_mutex_unlock(&kv->cfg_lock);
    if (now_ms - l->last_rx_ms > timeout_ms) {
        rkv_link_close(l, REPLKV_LOG_WARNING,
                       "primary silent for %llu ms (repl-timeout)",
                       (unsigned long long)(now_ms - l->last_rx_ms));
        return;
    }
    if (now_ms - l->last_ack_ms < period_ms || !l->authed)
        return;
    if (l->state == LINK_ONLINE) {
        send_ack(l, atomic_load(&kv->repl_offset));
    } else {
        /* Loading a long snapshot: tell the primary we are alive. */
        rkv_msg p = {.type = RKV_MSG_PING_LINK};
        p.ping.unix_ms = rkv_now_ms();
        rkv_link_send(l, &p);
        l->last_ack_ms = now_ms;
    }
    rkv_link_flush(l);
}
