/*
 * repl_info.c - replication introspection: replkv_repl_info_get() and the
 * "replication" section of replkv_info(), with Redis's field names.
 */
#include <inttypes.h>
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

/* Fills a whole struct of this library's size. */
static void fill_info(replkv_t *kv, replkv_repl_info *info)
{
    rkv_repl *r = kv->repl;
    memset(info, 0, sizeof *info);
    info->size = sizeof *info;
    info->role = rkv_mode(kv) == RKV_MODE_REPLICA ? REPLKV_ROLE_REPLICA
                                                  : REPLKV_ROLE_PRIMARY;
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
    info->replicas_cap = 16;
    int n = 0;
    for (rkv_link *l = r->replicas; l != NULL; l = l->next, n++) {
        if (n >= 16)
            continue;
        replkv_replica_info *ri = &info->replicas[n];
        snprintf(ri->addr, sizeof ri->addr, "%.63s", l->addr);
        ri->port = l->port;
        ri->state = state_name(l->state);
        ri->acked_offset = l->acked;
        ri->lag_ms = l->acked >= 0 ? (int64_t)(now - l->ack_ms) : -1;
    }
    info->connected_replicas = n;
    pthread_mutex_unlock(&r->lock);
}

int replkv_repl_info_get(replkv_t *kv, replkv_repl_info *out)
{
    if (kv == NULL || out == NULL || out->size < sizeof out->size)
        return rkv_fail(REPLKV_EINVAL,
                        "repl_info: NULL argument or size too small");
    replkv_repl_info info;
    fill_info(kv, &info);
    /* Copy what the caller's struct has room for; its size stays. */
    size_t n = out->size < sizeof info ? out->size : sizeof info;
    memcpy((char *)out + sizeof out->size, (char *)&info + sizeof info.size,
           n - sizeof out->size);
    return 0;
}

/* The "# Replication" section, allocated (NULL when out of memory). */
char *rkv_repl_info_text(replkv_t *kv)
{
    replkv_repl_info *in = malloc(sizeof *in);
    if (in == NULL)
        return NULL;
    in->size = sizeof *in;
    replkv_repl_info_get(kv, in);
    pthread_mutex_lock(&kv->jlock);
    int64_t first = rkv_backlog_first_offset(kv->bl);
    size_t histlen = rkv_backlog_histlen(kv->bl);
    size_t size = rkv_backlog_size(kv->bl);
    pthread_mutex_unlock(&kv->jlock);
    size_t cap = 4096 + 160 * 16;
    char *s = malloc(cap);
    if (s == NULL) {
        free(in);
        return NULL;
    }
    size_t len = 0;
#define ADD(...)                                                               \
    do {                                                                       \
        int n_ = snprintf(s + len, cap - len, __VA_ARGS__);                    \
        if (n_ > 0 && (size_t)n_ < cap - len)                                  \
            len += (size_t)n_;                                                 \
    } while (0)
    bool replica = in->role == REPLKV_ROLE_REPLICA;
    ADD("# Replication\r\nrole:%s\r\n", replica ? "slave" : "master");
    if (replica) {
        uint64_t last_io = 0;
        pthread_mutex_lock(&kv->repl->lock);
        if (kv->repl->primary_last_io_ms != 0)
            last_io = (rkv_mono_ms() - kv->repl->primary_last_io_ms) / 1000;
        pthread_mutex_unlock(&kv->repl->lock);
        ADD("master_host:%s\r\nmaster_port:%d\r\nmaster_link_status:%s\r\n"
            "master_last_io_seconds_ago:%" PRIu64 "\r\n"
            "master_sync_in_progress:%d\r\nslave_repl_offset:%" PRId64
            "\r\nslave_read_only:%d\r\n",
            in->primary_host, in->primary_port, in->link_up ? "up" : "down",
            last_io, in->sync_in_progress ? 1 : 0, in->offset,
            atomic_load(&kv->read_only) ? 1 : 0);
    }
    ADD("connected_slaves:%d\r\n", in->connected_replicas);
    for (int i = 0; i < in->connected_replicas && i < 16; i++) {
        const replkv_replica_info *ri = &in->replicas[i];
        ADD("slave%d:ip=%s,port=%d,state=%s,offset=%" PRId64
            ",lag=%" PRId64 "\r\n",
            i, ri->addr, ri->port, ri->state,
            ri->acked_offset < 0 ? 0 : ri->acked_offset,
            ri->lag_ms < 0 ? 0 : ri->lag_ms / 1000);
    }
    ADD("master_replid:%s\r\nmaster_replid2:%s\r\n"
        "master_repl_offset:%" PRId64 "\r\nsecond_repl_offset:%" PRId64
        "\r\nrepl_backlog_active:%d\r\nrepl_backlog_size:%zu\r\n"
        "repl_backlog_first_byte_offset:%" PRId64
        "\r\nrepl_backlog_histlen:%zu\r\n"
        "sync_full:%" PRIu64 "\r\nsync_partial_ok:%" PRIu64
        "\r\nsync_partial_err:%" PRIu64 "\r\n"
        "repl_bytes_sent:%" PRIu64 "\r\nrepl_bytes_received:%" PRIu64
        "\r\n",
        in->replid, in->replid2, in->offset, in->second_offset,
        rkv_mode(kv) != RKV_MODE_STANDALONE ? 1 : 0, size, first, histlen,
        in->sync_full, in->sync_partial_ok, in->sync_partial_err,
        in->bytes_sent, in->bytes_received);
#undef ADD
    free(in);
    return s;
}
