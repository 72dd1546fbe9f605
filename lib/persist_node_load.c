/*
 * persist_node_load.c - a node's restart from its files (docs/PROTOCOL.md
 * 9.4): node.state first (its id, and the failover state the host reads
 * and saves through rkv_pnode_load_fo / rkv_pnode_save_fo), then the
 * snapshot and the append-only file replayed into the shard tables, the
 * backlog refilled from the log, and the log opened for appending.
 */
#include "persist_node_int.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "persist_snapshot.h"
#include "persist_state.h"
#include "repl.h"

typedef struct load_ctx {
    replkv_t *kv;
    rkv_ks *tables[RKV_SHARDS];
    rkv_apply_win win;
} load_ctx;

/* The backlog after a restart: the history's last repl-backlog-size bytes,
 * read back from the append-only file, so that replicas that were behind
 * when the node stopped resume with a partial resync (a backlog starting
 * empty serves only those exactly at its offset). Starts empty at off when
 * the file does not end there (a snapshot newer than it). */
static int refill_backlog(replkv_t *kv, const rkv_persist_loaded *L,
                          const char *replid, int64_t off)
{
    rkv_pnode *pn = kv->pn;
    int64_t from = off;
    if (L->have_aof && !L->aof_trimmed && !L->aof_dropped &&
        L->aof.end == off && off > L->aof.start) {
        size_t cap = rkv_backlog_size(kv->bl);
        from = off - (int64_t)cap > L->aof.start ? off - (int64_t)cap
                                                 : L->aof.start;
    }
    size_t n = (size_t)(off - from);
    uint8_t *buf = n ? malloc(n) : NULL;
    char path[RKV_PATH_MAX];
    int fd = -1;
    if (n == 0 || buf == NULL ||
        rkv_pf_path(path, sizeof path, pn->dir, RKV_AOF_FILE) != 0 ||
        rkv_pf_open(&pn->fs, path, O_RDONLY, &fd) != 0 ||
        rkv_pf_pread(&pn->fs, fd, path, buf, n,
                     RKV_AOF_HDR + (uint64_t)(from - L->aof.start)) != 0) {
        /* Not worth failing the open over: partial resyncs just start
         * later. */
        from = off;
        n = 0;
    }
    rkv_pf_close(fd);
    int rc = rkv_backlog_reset(kv->bl, replid, from);
    if (rc == 0 && n > 0)
        rkv_backlog_append(kv->bl, buf, n);
    free(buf);
    return rc;
}

/* The replica's apply window, into the shard tables (no thread runs yet,
 * and nothing is journaled); m == NULL: the file is about to be unmapped. */
static int load_apply(void *ud, const rkv_msg *m)
{
    load_ctx *c = ud;
    if (m == NULL)
        return rkv_apply_drain(&c->win, c->kv);
    return rkv_apply_push(&c->win, c->kv, c->tables, m, 0);
}

/* Writes node.state: this node's id and, unless fo is NULL, the failover
 * state, which is then what the file holds. */
static int save_state(replkv_t *kv, const rkv_fo_state *fo)
{
    rkv_pnode *pn = kv->pn;
    rkv_node_state st;
    memset(&st, 0, sizeof st);
    memcpy(st.node_id, kv->repl->node_id, sizeof st.node_id);
    if (fo != NULL) {
        st.has_fo = true;
        st.fo = *fo;
    }
    int rc = rkv_state_save(&pn->fs, pn->dir, &st);
    if (rc == 0 && fo != NULL) {
        pn->has_fo = true;
        pn->fo = *fo;
    }
    return rc;
}

static int load_state(replkv_t *kv)
{
    rkv_pnode *pn = kv->pn;
    rkv_node_state st;
    memset(&st, 0, sizeof st);
    int rc = rkv_state_load(&pn->fs, pn->dir, &st);
    if (rc == 0) {
        memcpy(kv->repl->node_id, st.node_id, sizeof st.node_id);
        pn->has_fo = st.has_fo;
        pn->fo = st.fo;
        rkv_log(kv, REPLKV_LOG_NOTICE,
                "persistence: node id %s, epoch %" PRIu64
                ", failover state: %s (from %s/%s)",
                st.node_id, st.epoch, st.has_fo ? "yes" : "no", pn->dir,
                RKV_STATE_FILE);
        rkv_state_free(&st);
        return 0;
    }
    if (rc != REPLKV_ENOTFOUND)
        return rc;
    if ((rc = save_state(kv, NULL)) != 0)
        return rc;
    rkv_log(kv, REPLKV_LOG_NOTICE, "persistence: new node id %s saved in %s/%s",
            kv->repl->node_id, pn->dir, RKV_STATE_FILE);
    return 0;
}

int rkv_pnode_load_fo(replkv_t *kv, rkv_fo_state *out)
{
    rkv_pnode *pn = kv->pn;
    if (pn == NULL || !pn->has_fo)
        return 0;
    *out = pn->fo;
    return 1;
}

int rkv_pnode_save_fo(replkv_t *kv, const rkv_fo_state *st)
{
    if (kv->pn == NULL)
        return 0;
    int rc = save_state(kv, st);
    if (rc == 0)
        return 0;
    char detail[512];
    snprintf(detail, sizeof detail, "%s", replkv_last_error());
    rkv_log(kv, REPLKV_LOG_WARNING,
            "persistence: cannot save the failover state (epoch %" PRIu64
            ", vote in epoch %" PRIu64 " for %s) in %s/%s: %s: %s",
            st->current_epoch, st->voted_epoch,
            st->voted_for[0] ? st->voted_for : "nobody", kv->pn->dir,
            RKV_STATE_FILE, replkv_err_name(rc), detail);
    return rkv_fail(rc, "%s", detail);
}

static int load_data(replkv_t *kv)
{
    rkv_pnode *pn = kv->pn;
    load_ctx c = {.kv = kv};
    for (unsigned i = 0; i < RKV_SHARDS; i++)
        c.tables[i] = kv->shards[i].ks;
    size_t max = rkv_frame_limit((size_t)kv->cfg.proto_max_bulk_len) + 64;
    rkv_persist_loaded L;
    uint64_t t0 = rkv_mono_ms();
    /* The snapshot's header says how many keys come: size the tables for
     * them now rather than grow and rehash all the way (a third of a
     * restart's time otherwise). A bad header is the loader's to report. */
    rkv_snap_info si;
    if (rkv_snap_stat(&pn->fs, pn->dir, &si) == 0 && si.key_count > 0)
        for (unsigned i = 0; i < RKV_SHARDS; i++)
            rkv_ks_reserve(c.tables[i], (size_t)(si.key_count / RKV_SHARDS +
                                                 si.key_count / 64 + 1));
    unsigned flags = (kv->cfg.aof_load_corrupt_repair ? RKV_LOAD_REPAIR : 0) |
                     (kv->cfg.aof_load_truncated ? 0 : RKV_LOAD_REFUSE_TORN);
    int rc = rkv_persist_load(&pn->fs, pn->dir, max, flags, load_apply, &c,
                              &L);
    for (unsigned i = 0; i < RKV_SHARDS; i++)
        rkv_ks_reserve(c.tables[i], 0);
    if (rc != 0)
        return rc;
    for (unsigned i = 0; i < RKV_SHARDS; i++)
        atomic_store(&kv->shards[i].mem, rkv_ks_memory_used(kv->shards[i].ks));
    if (L.have_aof && L.aof.truncated > 0) {
        rkv_log(kv, REPLKV_LOG_WARNING,
                "persistence: %s/%s: cut %" PRIu64 " bytes at file position "
                "%" PRIu64 " (%s)%s",
                pn->dir, RKV_AOF_FILE, L.aof.truncated, L.aof.truncated_at,
                L.aof.reason,
                L.aof.repaired ? " by aof-load-corrupt-repair: data after "
                                 "that point is lost"
                               : ": a torn last write");
    }
    if (L.have_aof && L.aof.unused > 0)
        rkv_log(kv, REPLKV_LOG_NOTICE,
                "persistence: %s/%s: cut %" PRIu64 " bytes of reserved, "
                "unused space (the node was not closed cleanly)",
                pn->dir, RKV_AOF_FILE, L.aof.unused);
    if (L.aof_trimmed)
        rkv_log(kv, REPLKV_LOG_NOTICE,
                "persistence: append-only file trimmed to follow the "
                "snapshot (a crash came between the two)");
    if (L.aof_dropped)
        rkv_log(kv, REPLKV_LOG_NOTICE,
                "persistence: append-only file ended before the snapshot: "
                "removed");
    char replid[RKV_ID_LEN + 1];
    int64_t off;
    if (L.replid[0] != '\0') {
        memcpy(replid, L.replid, sizeof replid);
        off = L.offset;
        if ((rc = refill_backlog(kv, &L, replid, off)) != 0)
            return rc;
        if (L.have_snapshot && strcmp(L.snap.replid, replid) == 0 &&
            L.snap.second_offset >= 0)
            rkv_backlog_set_replid2(kv->bl, L.snap.replid2,
                                    L.snap.second_offset);
        atomic_store(&kv->repl_offset, off);
        kv->repl->fresh = false;
        size_t keys = 0;
        for (unsigned i = 0; i < RKV_SHARDS; i++)
            keys += rkv_ks_count(kv->shards[i].ks);
        rkv_log(kv, REPLKV_LOG_NOTICE,
                "persistence: loaded %zu keys from %s (snapshot: %s, %" PRIu64
                " log records) in %" PRIu64 " ms; replid %s offset %" PRId64,
                keys, pn->dir, L.have_snapshot ? "yes" : "no", L.aof.frames,
                rkv_mono_ms() - t0, replid, off);
    } else {
        memcpy(replid, rkv_backlog_replid(kv->bl), sizeof replid);
        off = rkv_backlog_offset(kv->bl);
    }
    return rkv_aof_open(&pn->fs, pn->dir, pn->policy, replid, off, &pn->aof);
}

int rkv_pnode_load(replkv_t *kv)
{
    int rc = load_state(kv);
    return rc != 0 ? rc : load_data(kv);
}
