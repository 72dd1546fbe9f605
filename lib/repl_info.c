/*
 * repl_info.c - replication introspection: replkv_repl_info_get() and the
 * "replication" section of replkv_info(), with Redis's field names.
 */
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "journal.h"
#include "repl.h"

static const char *state_name(rkv_link_state s)
{
    switch (s) {
    case LINK_SNAPSHOT:
        return "send_bulk";
    case LINK_STREAMING:
        return "online";
    case LINK_WAIT_PSYNC:
        return "wait_bgsave";
    default:
        return "handshake";
    }
}

static const char *const link_state_names[] = {
    "none", "connect", "connecting", "handshake", "sync", "connected"};

/* Redis's replica state, derived from the link to the primary (r->lock
 * held). */
static replkv_link_state link_state(const rkv_repl *r, bool replica)
{
    const rkv_link *l = r->primary;
    if (!replica)
        return REPLKV_LINK_NONE;
    if (l == NULL || l->closing)
        return REPLKV_LINK_CONNECT;
    if (!l->tcp_up)
        return REPLKV_LINK_CONNECTING;
    switch (l->state) {
    case LINK_LOADING:
    case LINK_LOADING_TAIL:
        return REPLKV_LINK_SYNC;
    case LINK_ONLINE:
        return REPLKV_LINK_CONNECTED;
    default:
        return REPLKV_LINK_HANDSHAKE;
    }
}

static void replica_entry(replkv_replica_info *ri, const rkv_link *l,
                          uint64_t now)
{
    snprintf(ri->addr, sizeof ri->addr, "%.63s", l->addr);
    ri->port = l->port;
    ri->state = state_name(l->state);
    ri->acked_offset = l->acked;
    ri->lag_ms = l->acked >= 0 ? (int64_t)(now - l->ack_ms) : -1;
}

/* Fills a whole struct of this library's size and copies the first cap
 * replicas into all, under the same lock as the count. Returns how many
 * were copied. */
static size_t fill_info(replkv_t *kv, replkv_repl_info *info,
                        replkv_replica_info *all, size_t cap)
{
    rkv_repl *r = kv->repl;
    memset(info, 0, sizeof *info);
    info->size = sizeof *info;
    bool replica = rkv_mode(kv) == RKV_MODE_REPLICA;
    info->role = replica ? REPLKV_ROLE_REPLICA : REPLKV_ROLE_PRIMARY;
    pthread_mutex_lock(&kv->jlock);
    memcpy(info->replid, rkv_backlog_replid(kv->bl), RKV_ID_LEN + 1);
    memcpy(info->replid2, rkv_backlog_replid2(kv->bl), RKV_ID_LEN + 1);
    info->offset = rkv_backlog_offset(kv->bl);
    info->second_offset = rkv_backlog_second_offset(kv->bl);
    pthread_mutex_unlock(&kv->jlock);
    uint64_t now = rkv_mono_ms();
    pthread_mutex_lock(&r->lock);
    snprintf(info->primary_host, sizeof info->primary_host, "%s",
             r->primary_host);
    info->primary_port = r->primary_port;
    info->link_up = r->link_up;
    info->sync_in_progress = r->sync_in_progress;
    info->sync_full = r->sync_full;
    info->sync_partial_ok = r->sync_partial_ok;
    info->sync_partial_err = r->sync_partial_err;
    info->bytes_sent = r->bytes_sent;
    info->bytes_received = r->bytes_received;
    info->link_state = link_state(r, replica);
    info->link_state_name = link_state_names[info->link_state];
    info->link_down_ms = -1;
    if (replica && !r->link_up && r->link_down_since_ms != 0)
        info->link_down_ms = (int64_t)(now - r->link_down_since_ms);
    if (info->link_state == REPLKV_LINK_SYNC)
        info->sync_read_bytes = r->bytes_received - r->sync_start_rx;
    info->replicas_cap = 16;
    size_t n = 0;
    for (rkv_link *l = r->replicas; l != NULL; l = l->next, n++) {
        if (n < 16)
            replica_entry(&info->replicas[n], l, now);
        if (n < cap)
            replica_entry(&all[n], l, now);
    }
    info->connected_replicas = (int)n;
    pthread_mutex_unlock(&r->lock);
    return n < cap ? n : cap;
}

int replkv_repl_info_get_all(replkv_t *kv, replkv_repl_info *out,
                             replkv_replica_info *replicas, size_t cap)
{
    if (kv == NULL || out == NULL || out->size < sizeof out->size)
        return rkv_fail(REPLKV_EINVAL,
                        "repl_info: NULL argument or size too small");
    if (replicas == NULL && cap > 0)
        return rkv_fail(REPLKV_EINVAL, "repl_info: NULL replicas array "
                                       "with a capacity");
    if (cap > INT_MAX)
        cap = INT_MAX; /* the count returned is an int */
    replkv_repl_info info;
    size_t copied = fill_info(kv, &info, replicas, cap);
    /* Copy what the caller's struct has room for; its size stays. */
    size_t n = out->size < sizeof info ? out->size : sizeof info;
    memcpy((char *)out + sizeof out->size, (char *)&info + sizeof info.size,
           n - sizeof out->size);
    return (int)copied;
}

int replkv_repl_info_get(replkv_t *kv, replkv_repl_info *out)
{
    int rc = replkv_repl_info_get_all(kv, out, NULL, 0);
    return rc < 0 ? rc : 0;
}

/* The replica's own lines, Redis's names and order (from master_host to
 * slave_read_only), for a link in state in->link_state. */
static int replica_lines(replkv_t *kv, rkv_buf *b,
                         const replkv_repl_info *in)
{
    int64_t last_io = -1;
    pthread_mutex_lock(&kv->repl->lock);
    if (kv->repl->primary_last_io_ms != 0 &&
        in->link_state >= REPLKV_LINK_HANDSHAKE)
        last_io = (int64_t)(rkv_mono_ms() - kv->repl->primary_last_io_ms) /
                  1000;
    pthread_mutex_unlock(&kv->repl->lock);
    int rc = rkv_buf_printf(
        b,
        "master_host:%s\r\nmaster_port:%d\r\nmaster_link_status:%s\r\n"
        "master_last_io_seconds_ago:%" PRId64
        "\r\nmaster_sync_in_progress:%d\r\nslave_repl_offset:%" PRId64
        "\r\n",
        in->primary_host, in->primary_port,
        in->link_state == REPLKV_LINK_CONNECTED ? "up" : "down", last_io,
        in->link_state == REPLKV_LINK_SYNC ? 1 : 0, in->offset);
    /* A streamed snapshot's size is known only at its end: Redis's
     * diskless-load values (-1 for the total and what is left). */
    if (rc == 0 && in->link_state == REPLKV_LINK_SYNC)
        rc = rkv_buf_printf(b,
                            "master_sync_total_bytes:-1\r\n"
                            "master_sync_read_bytes:%" PRIu64
                            "\r\nmaster_sync_left_bytes:-1\r\n"
                            "master_sync_perc:0.00\r\n"
                            "master_sync_last_io_seconds_ago:%" PRId64
                            "\r\n",
                            in->sync_read_bytes, last_io < 0 ? 0 : last_io);
    if (rc == 0 && in->link_state != REPLKV_LINK_CONNECTED)
        rc = rkv_buf_printf(b, "master_link_down_since_seconds:%" PRId64
                               "\r\n",
                            in->link_down_ms < 0 ? -1
                                                 : in->link_down_ms / 1000);
    if (rc == 0)
        rc = rkv_buf_printf(b, "slave_read_only:%d\r\n",
                            atomic_load(&kv->read_only) ? 1 : 0);
    return rc;
}

/* The "# Replication" section, allocated (NULL when out of memory): every
 * connected replica gets its slaveN line. */
char *rkv_repl_info_text(replkv_t *kv)
{
    replkv_repl_info in = {.size = sizeof in};
    replkv_replica_info *all = NULL;
    size_t nall = 0;
    /* Replicas may connect between two looks: grow until all fit. */
    for (size_t cap = 16;; cap = (size_t)in.connected_replicas * 2) {
        replkv_replica_info *bigger = realloc(all, cap * sizeof *all);
        if (bigger == NULL) {
            free(all);
            return NULL;
        }
        all = bigger;
        nall = (size_t)replkv_repl_info_get_all(kv, &in, all, cap);
        if (nall == (size_t)in.connected_replicas)
            break;
    }
    pthread_mutex_lock(&kv->jlock);
    int64_t first = rkv_backlog_first_offset(kv->bl);
    size_t histlen = rkv_backlog_histlen(kv->bl);
    size_t size = rkv_backlog_size(kv->bl);
    pthread_mutex_unlock(&kv->jlock);
    rkv_buf b;
    rkv_buf_init(&b);
    bool replica = in.role == REPLKV_ROLE_REPLICA;
    int rc = rkv_buf_printf(&b, "# Replication\r\nrole:%s\r\n",
                            replica ? "slave" : "master");
    if (rc == 0 && replica)
        rc = replica_lines(kv, &b, &in);
    if (rc == 0)
        rc = rkv_buf_printf(&b, "connected_slaves:%d\r\n",
                            in.connected_replicas);
    for (size_t i = 0; rc == 0 && i < nall; i++) {
        const replkv_replica_info *ri = &all[i];
        rc = rkv_buf_printf(&b,
                            "slave%zu:ip=%s,port=%d,state=%s,offset=%" PRId64
                            ",lag=%" PRId64 "\r\n",
                            i, ri->addr, ri->port, ri->state,
                            ri->acked_offset < 0 ? 0 : ri->acked_offset,
                            ri->lag_ms < 0 ? 0 : ri->lag_ms / 1000);
    }
    free(all);
    if (rc == 0)
        rc = rkv_buf_printf(
            &b,
            "master_replid:%s\r\nmaster_replid2:%s\r\n"
            "master_repl_offset:%" PRId64 "\r\nsecond_repl_offset:%" PRId64
            "\r\nrepl_backlog_active:%d\r\nrepl_backlog_size:%zu\r\n"
            "repl_backlog_first_byte_offset:%" PRId64
            "\r\nrepl_backlog_histlen:%zu\r\n"
            "sync_full:%" PRIu64 "\r\nsync_partial_ok:%" PRIu64
            "\r\nsync_partial_err:%" PRIu64 "\r\n"
            "repl_bytes_sent:%" PRIu64 "\r\nrepl_bytes_received:%" PRIu64
            "\r\n",
            in.replid, in.replid2, in.offset, in.second_offset,
            rkv_mode(kv) != RKV_MODE_STANDALONE ? 1 : 0, size, first,
            histlen, in.sync_full, in.sync_partial_ok, in.sync_partial_err,
            in.bytes_sent, in.bytes_received);
    if (rc != 0) {
        rkv_buf_free(&b);
        return NULL;
    }
    return (char *)b.data;
}
