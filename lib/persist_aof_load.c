/*
 * persist_aof_load.c - restart: the header of dir/appendonly.rkv, replaying
 * its frames, cutting a torn tail, refusing (or with the repair flag,
 * cutting) damage before it, and rkv_persist_load(), which puts the
 * snapshot and the append-only file together (docs/PROTOCOL.md section 9).
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <xxhash.h>

#include "persist_aof_int.h"

static const uint8_t AOF_MAGIC[8] = {0x89, 'R', 'K', 'V', 'A', 'O', 'F', '\n'};

bool rkv_aof_valid_replid(const char *s)
{
    for (int i = 0; i < RKV_ID_LEN; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

void rkv_aof_put_header(uint8_t *h, const char *replid, int64_t start)
{
    memcpy(h, AOF_MAGIC, 8);
    rkv_put_be32(h + 8, RKV_AOF_VERSION);
    rkv_put_be32(h + 12, 0); /* flags */
    memcpy(h + 16, replid, RKV_ID_LEN);
    rkv_put_be64(h + 56, (uint64_t)start);
    rkv_put_be64(h + 64, XXH3_64bits(h, 64));
}

int rkv_aof_check_header(const char *path, const uint8_t *h, uint64_t size,
                         char *replid, int64_t *start)
{
    int rc = rkv_pf_check_header(path, h, size, AOF_MAGIC,
                                 "append-only file", RKV_AOF_VERSION,
                                 RKV_AOF_HDR, 64);
    if (rc != 0)
        return rc;
    uint64_t s = rkv_get_be64(h + 56);
    if (!rkv_aof_valid_replid((const char *)h + 16) || s > INT64_MAX)
        return rkv_fail(REPLKV_ECORRUPT,
                        "%s: header has a bad replid or offset", path);
    /* Every frame's offset is start + its position after the header: a
     * start so large that the file's end would pass INT64_MAX cannot be
     * real, and would make that sum overflow (found by fuzz_aof). */
    if (size - RKV_AOF_HDR > (uint64_t)INT64_MAX - s)
        return rkv_fail(REPLKV_ECORRUPT,
                        "%s: start offset %" PRIu64 " plus %" PRIu64
                        " bytes of frames passes the largest offset",
                        path, s, size - RKV_AOF_HDR);
    memcpy(replid, h + 16, RKV_ID_LEN);
    replid[RKV_ID_LEN] = '\0';
    *start = (int64_t)s;
    return 0;
}

int rkv_aof_read_header(const rkv_fs *fs, const char *path, char *replid,
                        int64_t *start, uint64_t *size)
{
    int fd;
    int rc = rkv_pf_open(fs, path, O_RDONLY, &fd);
    if (rc != 0)
        return rc;
    uint8_t h[RKV_AOF_HDR];
    rc = rkv_pf_size(fd, path, size);
    if (rc == 0)
        rc = rkv_pf_pread(fs, fd, path, h,
                          *size < RKV_AOF_HDR ? (size_t)*size : RKV_AOF_HDR, 0);
    rkv_pf_close(fd);
    return rc != 0 ? rc : rkv_aof_check_header(path, h, *size, replid, start);
}

/* ------------------------------------------------------------ the tail */

static bool all_zero(const uint8_t *p, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++)
        if (p[i] != 0)
            return false;
    return true;
}

/* After a frame at pos whose checksum failed: true if a frame whose
 * checksum matches follows, walking the declared lengths to the end. If
 * one does, the bad frame is damage in the middle, not a torn tail. */
static bool valid_follows(const uint8_t *p, uint64_t pos, uint64_t size,
                          size_t max_payload)
{
    while (size - pos >= RKV_FRAME_HDR) {
        uint64_t len = rkv_get_be32(p + pos);
        if (len > max_payload || len > size - pos - RKV_FRAME_HDR)
            return false; /* no whole frame here */
        rkv_frame f;
        if (rkv_frame_parse(p + pos, (size_t)(size - pos), max_payload, &f) ==
            1)
            return true;
        pos += RKV_FRAME_HDR + len;
    }
    return false;
}

/* Why the frame at pos ends replay: *torn set (with a reason) for a torn
 * tail, else the detail of the damage in reason. (An all-zero end is
 * unused space, sorted out before.) */
static void classify(const uint8_t *p, uint64_t pos, uint64_t size,
                     size_t max_payload, int prc, bool *torn, char *reason,
                     size_t cap)
{
    uint64_t left = size - pos;
    char detail[160];
    snprintf(detail, sizeof detail, "%s", replkv_last_error());
    *torn = false;
    if (prc == 0) {
        *torn = true;
        snprintf(reason, cap, "last frame cut short: %" PRIu64 " bytes", left);
        return;
    }
    if (prc == REPLKV_ECORRUPT) {
        uint64_t next = pos + RKV_FRAME_HDR + rkv_get_be32(p + pos);
        if (!valid_follows(p, next, size, max_payload)) {
            *torn = true;
            snprintf(reason, cap,
                     "last frame's checksum fails and nothing valid follows");
            return;
        }
    }
    snprintf(reason, cap, "%s", detail);
}

/* ------------------------------------------------------------- replay */

int rkv_aof_load(const rkv_fs *fs, const char *dir, size_t max_payload,
                 unsigned flags, int64_t from, rkv_persist_apply_fn fn,
                 void *ud, rkv_aof_load_info *info)
{
    memset(info, 0, sizeof *info);
    char path[RKV_PATH_MAX];
    int rc = rkv_pf_check_dir(fs, dir);
    if (rc == 0)
        rc = rkv_pf_path(path, sizeof path, dir, RKV_AOF_FILE);
    if (rc != 0)
        return rc;
    int fd;
    if ((rc = rkv_pf_open(fs, path, O_RDWR, &fd)) != 0)
        return rc;
    uint64_t size = 0;
    const uint8_t *p = NULL;
    rc = rkv_pf_size(fd, path, &size);
    if (rc == 0)
        rc = rkv_pf_map(fs, fd, path, size, &p);
    if (rc == 0)
        rc = size == 0 ? rkv_fail(REPLKV_ECORRUPT, "%s: empty file", path)
                       : rkv_aof_check_header(path, p, size, info->replid,
                                              &info->start);
    uint64_t pos = RKV_AOF_HDR;
    bool cut = false;
    rkv_decoder dec; /* one for the file, not one per record */
    bool have_dec = false;
    if (rc == 0)
        have_dec = (rc = rkv_decoder_init(&dec)) == 0;
    while (rc == 0 && pos < size) {
        rkv_frame f;
        int prc =
            rkv_frame_parse(p + pos, (size_t)(size - pos), max_payload, &f);
        rkv_msg m;
        if (prc == 1) {
            int drc = rkv_msg_decode_with(&dec, f.payload, f.len, &m);
            if (drc == 0 && !rkv_msg_is_record(m.type))
                drc = rkv_fail(REPLKV_EPROTO, "a %s message is not a record",
                               rkv_msg_name(m.type));
            if (drc == REPLKV_ENOMEM) {
                rc = drc;
                break;
            }
            if (drc == 0) {
                /* Frames before `from` are already in the snapshot. */
                int64_t at = info->start + (int64_t)(pos - RKV_AOF_HDR);
                if (at < from && from < at + (int64_t)f.size) {
                    rc = rkv_fail(REPLKV_ECORRUPT,
                                  "%s: offset %" PRId64 " (the snapshot's) "
                                  "falls inside the frame at byte %" PRIu64,
                                  path, from, pos);
                    break;
                }
                if (at >= from) {
                    if (fn != NULL && (rc = fn(ud, &m)) != 0)
                        break;
                    info->frames++;
                }
                pos += f.size;
                continue;
            }
            prc = drc; /* a whole frame that does not decode: damage */
        }
        if (all_zero(p + pos, size - pos)) {
            /* Space reserved ahead of the appends and never written (the
             * writer did not close cleanly): not a torn write. */
            info->unused = size - pos;
            cut = true;
            break;
        }
        bool torn;
        classify(p, pos, size, max_payload, prc, &torn, info->reason,
                 sizeof info->reason);
        if (torn && (flags & RKV_LOAD_REFUSE_TORN)) {
            rc = rkv_fail(REPLKV_ECORRUPT,
                          "%s: torn last write at byte %" PRIu64 " of %" PRIu64
                          " (%s; %" PRIu64 " bytes) and aof-load-truncated "
                          "is no: the file is left as it is (set it to yes "
                          "to cut them off)",
                          path, pos, size, info->reason, size - pos);
            break;
        }
        if (!torn && !(flags & RKV_LOAD_REPAIR)) {
            rc = rkv_fail(REPLKV_ECORRUPT,
                          "%s: damaged at byte %" PRIu64 " of %" PRIu64
                          " (%s); the repair flag cuts the file there, "
                          "losing the %" PRIu64 " bytes after it",
                          path, pos, size, info->reason, size - pos);
            break;
        }
        info->repaired = !torn;
        cut = true;
        break;
    }
    if (rc == 0 && fn != NULL)
        rc = fn(ud, NULL); /* before the records' bytes are unmapped */
    if (have_dec)
        rkv_decoder_destroy(&dec);
    rkv_pf_unmap(p, size);
    if (rc == 0 && cut) {
        /* Cut, and make the cut durable before anything is appended. */
        info->truncated = size - pos - info->unused;
        info->truncated_at = info->truncated > 0 ? pos : 0;
        rc = rkv_pf_truncate(fs, fd, path, pos);
        if (rc == 0)
            rc = rkv_pf_fsync(fs, fd, path);
    }
    rkv_pf_close(fd);
    if (rc == 0)
        info->end = info->start + (int64_t)(pos - RKV_AOF_HDR);
    return rc;
}

int rkv_persist_load(const rkv_fs *fs, const char *dir, size_t max_payload,
                     unsigned flags, rkv_persist_apply_fn fn, void *ud,
                     rkv_persist_loaded *out)
{
    memset(out, 0, sizeof *out);
    char path[RKV_PATH_MAX];
    int rc = rkv_pf_check_dir(fs, dir);
    if (rc == 0)
        rc = rkv_pf_path(path, sizeof path, dir, RKV_AOF_FILE);
    if (rc != 0)
        return rc;

    /* 1. Do the two files belong together? Asked before anything is
     *    applied, from the headers alone. */
    char arid[RKV_ID_LEN + 1];
    int64_t astart = 0;
    uint64_t asize;
    rc = rkv_aof_read_header(fs, path, arid, &astart, &asize);
    if (rc != 0 && rc != REPLKV_ENOTFOUND)
        return rc;
    out->have_aof = rc == 0;
    rc = rkv_snap_stat(fs, dir, &out->snap);
    if (rc != 0 && rc != REPLKV_ENOTFOUND)
        return rc;
    out->have_snapshot = rc == 0;
    if (out->have_aof && out->have_snapshot) {
        const rkv_snap_info *sn = &out->snap;
        bool same = strcmp(arid, sn->replid) == 0;
        /* After a promotion the snapshot's replid2 is the AOF's history,
         * if the AOF began before the switch. */
        bool promoted = sn->second_offset >= 0 &&
                        strcmp(arid, sn->replid2) == 0 &&
                        astart < sn->second_offset;
        if ((!same && !promoted) || astart > sn->offset)
            return rkv_fail(REPLKV_ECORRUPT,
                            "%s/%s (%s from offset %" PRId64
                            ") does not continue %s/%s (%s at %" PRId64 ")",
                            dir, RKV_AOF_FILE, arid, astart, dir, RKV_SNAP_FILE,
                            sn->replid, sn->offset);
    }
    if (out->have_aof && !out->have_snapshot && astart != 0)
        return rkv_fail(REPLKV_ECORRUPT,
                        "%s starts at offset %" PRId64 " but there is no "
                        "%s/%s to hold what came before",
                        path, astart, dir, RKV_SNAP_FILE);

    /* 2. The snapshot, then 3. the log from the snapshot's offset. */
    int64_t from = 0;
    if (out->have_snapshot) {
        rc = rkv_snap_load(fs, dir, max_payload, fn, ud, &out->snap);
        if (rc != 0)
            return rc;
        memcpy(out->replid, out->snap.replid, sizeof out->replid);
        out->offset = from = out->snap.offset;
    }
    if (!out->have_aof)
        return 0;
    rc = rkv_aof_load(fs, dir, max_payload, flags, from, fn, ud, &out->aof);
    if (rc != 0)
        return rc;
    if (!out->have_snapshot) {
        memcpy(out->replid, out->aof.replid, sizeof out->replid);
        out->offset = out->aof.end;
        return 0;
    }
    /* 4. Put the files back together after a crash between a snapshot's
     *    rename and the AOF's rewrite (or a snapshot that got ahead of an
     *    AOF that was not yet written out). */
    if (out->aof.end < from) {
        out->aof_dropped = true;
        return rkv_aof_remove(fs, dir);
    }
    out->offset = out->aof.end;
    if (out->aof.start == from && strcmp(out->aof.replid, out->replid) == 0)
        return 0;
    rkv_aof *a;
    rc = rkv_aof_open(fs, dir, RKV_FSYNC_ALWAYS, out->aof.replid, out->aof.end,
                      &a);
    if (rc != 0)
        return rc;
    rc = rkv_aof_rewrite(a, out->replid, from);
    int crc = rkv_aof_close(a);
    if (rc == 0)
        rc = crc;
    out->aof_trimmed = rc == 0;
    return rc;
}
