/*
 * persist_snapshot.c - writing and loading dir/snapshot.rkv (see
 * persist_snapshot.h; the layout is docs/PROTOCOL.md section 9.2).
 *
 * The writer streams frames through a buffer into the temporary file and
 * hashes them as they pass; the header is written twice, a placeholder
 * first and the final one (with the key count) at commit. The loader maps
 * the file and checks every byte before it says yes.
 */
#include "persist_snapshot.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "buf.h"

static const uint8_t SNAP_MAGIC[8] = {0x89, 'R', 'K', 'V', 'S', 'N', 'P', '\n'};
static const uint8_t SNAP_END_MAGIC[8] = {0x89, 'R', 'K', 'V',
                                          'E',  'N', 'D', '\n'};

#define SNAP_FLUSH_AT (1u << 20) /* write the buffer out past 1 MiB */

struct rkv_snap_writer {
    const rkv_fs *fs;
    char dir[RKV_PATH_MAX];
    char tmp[RKV_PATH_MAX];
    char path[RKV_PATH_MAX];
    int fd;
    rkv_snap_info info; /* what the header says */
    uint8_t hdr[RKV_SNAP_HDR];
    rkv_buf buf;
    uint64_t pos; /* file bytes written so far */
    uint64_t keys;
    XXH3_state_t *body; /* hash of the frames */
    int failed;         /* an error was returned: only abort is allowed */
};

static bool valid_replid(const char *s)
{
    for (int i = 0; i < RKV_ID_LEN; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

static const char NO_ID[RKV_ID_LEN + 1] =
    "0000000000000000000000000000000000000000";

/* Header layout: docs/PROTOCOL.md section 9.2. */
static void put_header(uint8_t *h, const rkv_snap_info *in)
{
    memcpy(h, SNAP_MAGIC, 8);
    rkv_put_be32(h + 8, RKV_SNAP_VERSION);
    rkv_put_be32(h + 12, 0); /* flags */
    memcpy(h + 16, in->replid, RKV_ID_LEN);
    rkv_put_be64(h + 56, (uint64_t)in->offset);
    rkv_put_be64(h + 64, in->key_count);
    rkv_put_be64(h + 72, (uint64_t)in->created_ms);
    memcpy(h + 80, in->replid2, RKV_ID_LEN);
    rkv_put_be64(h + 120, (uint64_t)in->second_offset);
    rkv_put_be64(h + 128, XXH3_64bits(h, 128));
}

int rkv_snap_begin(const rkv_fs *fs, const char *dir, const rkv_snap_hist *h,
                   int64_t created_ms, rkv_snap_writer **out)
{
    *out = NULL;
    bool has2 = h->replid2 != NULL && strncmp(h->replid2, NO_ID, RKV_ID_LEN);
    if (h->replid == NULL || !valid_replid(h->replid) || h->offset < 0 ||
        created_ms < 0 || (has2 && !valid_replid(h->replid2)) ||
        (has2 ? h->second_offset < 0 : h->second_offset != -1))
        return rkv_fail(REPLKV_EINVAL, "snapshot: bad replid or offset");
    int rc = rkv_pf_check_dir(fs, dir);
    if (rc != 0)
        return rc;
    rkv_snap_writer *w = calloc(1, sizeof *w);
    if (w == NULL)
        return rkv_fail(REPLKV_ENOMEM, "snapshot: writer");
    w->fs = fs;
    w->fd = -1;
    snprintf(w->dir, sizeof w->dir, "%s", dir);
    if ((rc = rkv_pf_path(w->tmp, sizeof w->tmp, dir, RKV_SNAP_TMP)) != 0 ||
        (rc = rkv_pf_path(w->path, sizeof w->path, dir, RKV_SNAP_FILE)) != 0) {
        free(w);
        return rc;
    }
    w->body = XXH3_createState();
    if (w->body == NULL) {
        free(w);
        return rkv_fail(REPLKV_ENOMEM, "snapshot: hash state");
    }
    XXH3_64bits_reset(w->body);
    w->info.version = RKV_SNAP_VERSION;
    memcpy(w->info.replid, h->replid, RKV_ID_LEN);
    w->info.offset = h->offset;
    memcpy(w->info.replid2, has2 ? h->replid2 : NO_ID, RKV_ID_LEN);
    w->info.second_offset = has2 ? h->second_offset : -1;
    w->info.created_ms = created_ms;
    put_header(w->hdr, &w->info);
    rc = rkv_pf_open(fs, w->tmp, O_WRONLY | O_CREAT | O_TRUNC, &w->fd);
    if (rc == 0)
        rc = rkv_pf_pwrite(fs, w->fd, w->tmp, w->hdr, RKV_SNAP_HDR, 0);
    if (rc != 0) {
        rkv_snap_abort(w);
        return rc;
    }
    w->pos = RKV_SNAP_HDR;
    *out = w;
    return 0;
}

static int flush_buf(rkv_snap_writer *w)
{
    if (w->buf.len == 0)
        return 0;
    int rc =
        rkv_pf_pwrite(w->fs, w->fd, w->tmp, w->buf.data, w->buf.len, w->pos);
    if (rc != 0)
        return rc;
    w->pos += w->buf.len;
    rkv_buf_clear(&w->buf);
    return 0;
}

/* The frames at buf[from ..) were just added: hash them and write the
 * buffer out once it is large. */
static int added(rkv_snap_writer *w, size_t from)
{
    XXH3_64bits_update(w->body, w->buf.data + from, w->buf.len - from);
    if (w->buf.len >= SNAP_FLUSH_AT)
        return flush_buf(w);
    return 0;
}

int rkv_snap_add(rkv_snap_writer *w, const void *key, size_t klen,
                 const void *val, size_t vlen, int64_t expire_at)
{
    if (w->failed)
        return rkv_fail(REPLKV_ESTATE, "snapshot: writer failed before");
    size_t from = w->buf.len;
    int rc = rkv_frame_put_set(&w->buf, key, klen, val, vlen, expire_at);
    if (rc == 0) {
        w->keys++;
        rc = added(w, from);
    }
    if (rc != 0 && rc != REPLKV_EINVAL && rc != REPLKV_ETOOBIG)
        w->failed = 1;
    return rc;
}

int rkv_snap_add_frames(rkv_snap_writer *w, const void *frames, size_t len)
{
    if (w->failed)
        return rkv_fail(REPLKV_ESTATE, "snapshot: writer failed before");
    const uint8_t *p = frames;
    size_t pos = 0, n = 0;
    while (pos < len) {
        rkv_frame f;
        int rc = rkv_frame_parse(p + pos, len - pos, UINT32_MAX, &f);
        if (rc < 0)
            return rc;
        if (rc == 0)
            return rkv_fail(REPLKV_EINVAL,
                            "snapshot: partial frame at byte %zu of %zu", pos,
                            len);
        /* fixarray(4), positive fixint 1: how every SET is encoded. */
        if (f.len < 2 || f.payload[0] != 0x94 || f.payload[1] != RKV_REC_SET)
            return rkv_fail(REPLKV_EINVAL,
                            "snapshot: frame at byte %zu is not a SET", pos);
        pos += f.size;
        n++;
    }
    size_t from = w->buf.len;
    int rc = rkv_buf_append(&w->buf, frames, len);
    if (rc == 0) {
        w->keys += n;
        rc = added(w, from);
    }
    if (rc != 0)
        w->failed = 1;
    return rc;
}

int rkv_snap_commit(rkv_snap_writer *w, rkv_snap_info *info)
{
    int rc = w->failed ? rkv_fail(REPLKV_ESTATE, "snapshot: writer failed")
                       : flush_buf(w);
    if (rc != 0) {
        rkv_snap_abort(w);
        return rc;
    }
    /* Final header, then the trailer whose file checksum covers the
     * header, the frames (through their hash) and the trailer itself. */
    w->info.key_count = w->keys;
    put_header(w->hdr, &w->info);
    uint8_t tr[RKV_SNAP_TRAILER];
    memcpy(tr, SNAP_END_MAGIC, 8);
    rkv_put_be64(tr + 8, w->keys);
    rkv_put_be64(tr + 16, XXH3_64bits_digest(w->body));
    uint8_t all[RKV_SNAP_HDR + 24];
    memcpy(all, w->hdr, RKV_SNAP_HDR);
    memcpy(all + RKV_SNAP_HDR, tr, 24);
    rkv_put_be64(tr + 24, XXH3_64bits(all, sizeof all));

    rc = rkv_pf_pwrite(w->fs, w->fd, w->tmp, tr, sizeof tr, w->pos);
    if (rc == 0)
        rc = rkv_pf_pwrite(w->fs, w->fd, w->tmp, w->hdr, RKV_SNAP_HDR, 0);
    if (rc == 0)
        rc = rkv_pf_fsync(w->fs, w->fd, w->tmp);
    if (rc == 0) {
        rkv_pf_close(w->fd);
        w->fd = -1;
        rc = rkv_pf_rename(w->fs, w->tmp, w->path);
    }
    if (rc != 0) {
        rkv_snap_abort(w);
        return rc;
    }
    /* The rename is done: the new snapshot is there (durably so once the
     * directory is synced), so the writer is freed either way. */
    rc = rkv_pf_dirsync(w->fs, w->dir);
    w->info.size = w->pos + RKV_SNAP_TRAILER;
    if (info != NULL)
        *info = w->info;
    rkv_buf_free(&w->buf);
    XXH3_freeState(w->body);
    free(w);
    return rc;
}

void rkv_snap_abort(rkv_snap_writer *w)
{
    if (w == NULL)
        return;
    rkv_pf_close(w->fd);
    if (w->tmp[0] != '\0')
        remove(w->tmp); /* best effort, and no fault: keep the first error */
    rkv_buf_free(&w->buf);
    if (w->body != NULL)
        XXH3_freeState(w->body);
    free(w);
}

/* ------------------------------------------------------------- loading */

/* Checks a header at h (size bytes of file available) into info. */
static int check_header(const char *path, const uint8_t *h, uint64_t size,
                        rkv_snap_info *info)
{
    int rc = rkv_pf_check_header(path, h, size, SNAP_MAGIC, "snapshot",
                                 RKV_SNAP_VERSION, RKV_SNAP_HDR, 128);
    if (rc != 0)
        return rc;
    memset(info, 0, sizeof *info);
    info->version = rkv_get_be32(h + 8);
    memcpy(info->replid, h + 16, RKV_ID_LEN);
    info->offset = (int64_t)rkv_get_be64(h + 56);
    info->key_count = rkv_get_be64(h + 64);
    info->created_ms = (int64_t)rkv_get_be64(h + 72);
    memcpy(info->replid2, h + 80, RKV_ID_LEN);
    info->second_offset = (int64_t)rkv_get_be64(h + 120);
    info->size = size;
    if (!valid_replid(info->replid) || !valid_replid(info->replid2) ||
        info->offset < 0 || info->created_ms < 0 || info->second_offset < -1)
        return rkv_fail(REPLKV_ECORRUPT,
                        "%s: header has a bad replid or offset", path);
    return 0;
}

int rkv_snap_stat(const rkv_fs *fs, const char *dir, rkv_snap_info *info)
{
    char path[RKV_PATH_MAX];
    int rc = rkv_pf_path(path, sizeof path, dir, RKV_SNAP_FILE);
    if (rc != 0)
        return rc;
    int fd;
    if ((rc = rkv_pf_open(fs, path, O_RDONLY, &fd)) != 0)
        return rc;
    uint64_t size = 0;
    uint8_t h[RKV_SNAP_HDR];
    rc = rkv_pf_size(fd, path, &size);
    if (rc == 0)
        rc = rkv_pf_pread(fs, fd, path, h,
                          size < RKV_SNAP_HDR ? (size_t)size : RKV_SNAP_HDR, 0);
    rkv_pf_close(fd);
    return rc != 0 ? rc : check_header(path, h, size, info);
}

static int load_mapped(const char *path, const uint8_t *p, uint64_t size,
                       size_t max_payload, rkv_decoder *dec,
                       rkv_persist_apply_fn fn, void *ud, rkv_snap_info *info)
{
    int rc = check_header(path, p, size, info);
    if (rc != 0)
        return rc;
    if (size < RKV_SNAP_HDR + RKV_SNAP_TRAILER ||
        memcmp(p + size - RKV_SNAP_TRAILER, SNAP_END_MAGIC, 8) != 0)
        return rkv_fail(REPLKV_ECORRUPT,
                        "%s: truncated or damaged: no trailer at the end of "
                        "its %" PRIu64 " bytes",
                        path, size);
    const uint8_t *tr = p + size - RKV_SNAP_TRAILER;
    uint64_t end = size - RKV_SNAP_TRAILER, pos = RKV_SNAP_HDR, keys = 0;
    while (pos < end) {
        rkv_frame f;
        rc = rkv_frame_parse(p + pos, (size_t)(end - pos), max_payload, &f);
        if (rc == 0)
            return rkv_fail(REPLKV_ECORRUPT,
                            "%s: frame at byte %" PRIu64
                            " runs past the trailer",
                            path, pos);
        if (rc < 0)
            return rkv_fail(REPLKV_ECORRUPT,
                            "%s: bad frame at byte %" PRIu64 ": %s", path, pos,
                            replkv_last_error());
        rkv_msg m;
        rc = rkv_msg_decode_with(dec, f.payload, f.len, &m);
        if (rc == 0 && m.type != RKV_REC_SET)
            rc = rkv_fail(REPLKV_EPROTO, "a %s record", rkv_msg_name(m.type));
        if (rc != 0)
            return rkv_fail(rc == REPLKV_ENOMEM ? rc : REPLKV_ECORRUPT,
                            "%s: bad record at byte %" PRIu64 ": %s", path, pos,
                            replkv_last_error());
        if (fn != NULL && (rc = fn(ud, &m)) != 0)
            return rc;
        keys++;
        pos += f.size;
    }
    /* Whatever fn kept of the records must be done with before the
     * mapping goes (a bad trailer below fails the load anyway). */
    if (fn != NULL && (rc = fn(ud, NULL)) != 0)
        return rc;
    uint8_t all[RKV_SNAP_HDR + 24];
    memcpy(all, p, RKV_SNAP_HDR);
    memcpy(all + RKV_SNAP_HDR, tr, 24);
    if (XXH3_64bits(p + RKV_SNAP_HDR, (size_t)(end - RKV_SNAP_HDR)) !=
            rkv_get_be64(tr + 16) ||
        XXH3_64bits(all, sizeof all) != rkv_get_be64(tr + 24))
        return rkv_fail(REPLKV_ECORRUPT,
                        "%s: trailer checksum mismatch (trailer at byte "
                        "%" PRIu64 ")",
                        path, end);
    if (rkv_get_be64(tr + 8) != keys || info->key_count != keys)
        return rkv_fail(REPLKV_ECORRUPT,
                        "%s: %" PRIu64 " keys, header says %" PRIu64
                        ", trailer %" PRIu64,
                        path, keys, info->key_count, rkv_get_be64(tr + 8));
    return 0;
}

int rkv_snap_load(const rkv_fs *fs, const char *dir, size_t max_payload,
                  rkv_persist_apply_fn fn, void *ud, rkv_snap_info *info)
{
    memset(info, 0, sizeof *info);
    char path[RKV_PATH_MAX];
    int rc = rkv_pf_check_dir(fs, dir);
    if (rc == 0)
        rc = rkv_pf_path(path, sizeof path, dir, RKV_SNAP_FILE);
    if (rc != 0)
        return rc;
    int fd;
    if ((rc = rkv_pf_open(fs, path, O_RDONLY, &fd)) != 0)
        return rc;
    uint64_t size = 0;
    const uint8_t *p = NULL;
    rc = rkv_pf_size(fd, path, &size);
    if (rc == 0)
        rc = rkv_pf_map(fs, fd, path, size, &p);
    rkv_pf_close(fd);
    /* One decoder for the whole file: a decoder per record would allocate
     * and free its zone a million times in a restart. */
    rkv_decoder dec;
    if (rc == 0 && (rc = rkv_decoder_init(&dec)) == 0) {
        if (size == 0)
            rc = rkv_fail(REPLKV_ECORRUPT, "%s: empty file", path);
        else
            rc = load_mapped(path, p, size, max_payload, &dec, fn, ud, info);
        rkv_decoder_destroy(&dec);
    }
    rkv_pf_unmap(p, size);
    return rc;
}
