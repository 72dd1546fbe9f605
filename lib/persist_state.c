/*
 * persist_state.c - dir/node.state (see persist_state.h, docs/PROTOCOL.md
 * section 9.3). The body is msgpack; as in lib/stream.c, a structure pass
 * bounds every declared count by the bytes left (and caps depth and element
 * total) before msgpack-c, which allocates the declared count up front, is
 * given the bytes.
 */
#include "persist_state.h"
#include "stream.h"

#include <inttypes.h>
#include <msgpack.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

static const uint8_t STATE_MAGIC[8] = {0x89, 'R', 'K', 'V',
                                       'S',  'T', 'A', '\n'};

#define STATE_MAX_DEPTH 4
#define STATE_MAX_ELEMS (4 * RKV_STATE_MAX_PEERS + 16)

static bool is_hex_id(const void *p, size_t len)
{
    const unsigned char *s = p;
    if (len != RKV_ID_LEN)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

/* The checksum covers the header's first 16 bytes (magic, version, body
 * length), as the seed, and the body: no allocation, one pass. */
static uint64_t state_sum(const uint8_t *hdr, const uint8_t *body, size_t len)
{
    return XXH3_64bits_withSeed(body, len, XXH3_64bits(hdr, 16));
}

/* -------------------------------------------------------------- encode */

static int pk_write(void *data, const char *p, size_t n)
{
    return rkv_buf_append(data, p, n);
}

int rkv_state_encode(const rkv_node_state *st, rkv_buf *out)
{
    if (!is_hex_id(st->node_id, strlen(st->node_id)))
        return rkv_fail(REPLKV_EINVAL, "node state: bad node id");
    size_t vlen = strlen(st->vote_for);
    if (st->vote_epoch == 0 ? vlen != 0 : !is_hex_id(st->vote_for, vlen))
        return rkv_fail(REPLKV_EINVAL,
                        "node state: vote for '%s' in epoch %" PRIu64,
                        st->vote_for, st->vote_epoch);
    if (st->npeers > RKV_STATE_MAX_PEERS || (st->npeers && !st->peers))
        return rkv_fail(REPLKV_EINVAL, "node state: %zu peers, at most %d",
                        st->npeers, RKV_STATE_MAX_PEERS);
    for (size_t i = 0; i < st->npeers; i++) {
        const rkv_state_peer *pe = &st->peers[i];
        size_t hl = strnlen(pe->host, sizeof pe->host);
        if (!is_hex_id(pe->id, strlen(pe->id)) || hl == 0 ||
            hl > RKV_STATE_MAX_HOST)
            return rkv_fail(REPLKV_EINVAL,
                            "node state: peer %zu: bad id or "
                            "host",
                            i);
    }
    size_t start = out->len;
    uint8_t hdr[RKV_STATE_HDR] = {0};
    int rc = rkv_buf_append(out, hdr, sizeof hdr);
    if (rc != 0)
        return rc;
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, pk_write);
    bool ok = msgpack_pack_array(&pk, 5) == 0 &&
              msgpack_pack_str_with_body(&pk, st->node_id, RKV_ID_LEN) == 0 &&
              msgpack_pack_uint64(&pk, st->epoch) == 0 &&
              msgpack_pack_uint64(&pk, st->vote_epoch) == 0 &&
              msgpack_pack_str_with_body(&pk, st->vote_for, vlen) == 0 &&
              msgpack_pack_array(&pk, st->npeers) == 0;
    for (size_t i = 0; ok && i < st->npeers; i++) {
        const rkv_state_peer *pe = &st->peers[i];
        ok = msgpack_pack_array(&pk, 3) == 0 &&
             msgpack_pack_str_with_body(&pk, pe->id, RKV_ID_LEN) == 0 &&
             msgpack_pack_str_with_body(&pk, pe->host, strlen(pe->host)) == 0 &&
             msgpack_pack_uint16(&pk, pe->port) == 0;
    }
    if (!ok) {
        out->len = start;
        return rkv_fail(REPLKV_ENOMEM, "node state: encoding");
    }
    uint8_t *h = out->data + start;
    size_t blen = out->len - start - RKV_STATE_HDR;
    memcpy(h, STATE_MAGIC, 8);
    rkv_put_be32(h + 8, RKV_STATE_VERSION);
    rkv_put_be32(h + 12, (uint32_t)blen);
    rkv_put_be64(h + 16, state_sum(h, h + RKV_STATE_HDR, blen));
    return 0;
}

/* -------------------------------------------------------------- decode */

/* The bounded structure pass of lib/stream.c (every declared count checked
 * against the bytes left before msgpack-c allocates), with this file's
 * caps; its complaint is damage here, so ECORRUPT naming the file. */
static int bounded(const char *name, const uint8_t *p, size_t len)
{
    if (rkv_msgpack_skim_limits(p, len, STATE_MAX_DEPTH, STATE_MAX_ELEMS) != 0)
        return rkv_fail(REPLKV_ECORRUPT, "%s: %s", name, replkv_last_error());
    return 0;
}

static bool get_uint(const msgpack_object *o, uint64_t *v)
{
    if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return false;
    *v = o->via.u64;
    return true;
}

/* A str object into out (cap bytes with the NUL); id: must be a hex id. */
static bool get_str(const msgpack_object *o, char *out, size_t cap, bool id)
{
    if (o->type != MSGPACK_OBJECT_STR || o->via.str.size >= cap)
        return false;
    if (id && !is_hex_id(o->via.str.ptr, o->via.str.size))
        return false;
    if (memchr(o->via.str.ptr, '\0', o->via.str.size) != NULL)
        return false;
    memcpy(out, o->via.str.ptr, o->via.str.size);
    out[o->via.str.size] = '\0';
    return true;
}

static int decode_body(const char *name, const msgpack_object *root,
                       rkv_node_state *st)
{
    if (root->type != MSGPACK_OBJECT_ARRAY || root->via.array.size != 5)
        return rkv_fail(REPLKV_ECORRUPT, "%s: body is not a 5-element array",
                        name);
    const msgpack_object *el = root->via.array.ptr;
    if (!get_str(&el[0], st->node_id, sizeof st->node_id, true))
        return rkv_fail(REPLKV_ECORRUPT, "%s: bad node id", name);
    if (!get_uint(&el[1], &st->epoch) || !get_uint(&el[2], &st->vote_epoch) ||
        st->vote_epoch > st->epoch)
        return rkv_fail(REPLKV_ECORRUPT, "%s: bad epoch or vote epoch", name);
    bool voted = st->vote_epoch != 0;
    if (!get_str(&el[3], st->vote_for, sizeof st->vote_for, voted) ||
        (!voted && st->vote_for[0] != '\0'))
        return rkv_fail(REPLKV_ECORRUPT, "%s: bad vote", name);
    if (el[4].type != MSGPACK_OBJECT_ARRAY ||
        el[4].via.array.size > RKV_STATE_MAX_PEERS)
        return rkv_fail(REPLKV_ECORRUPT, "%s: bad peer list", name);
    size_t n = el[4].via.array.size;
    if (n > 0) {
        st->peers = calloc(n, sizeof *st->peers);
        if (st->peers == NULL)
            return rkv_fail(REPLKV_ENOMEM, "%s: %zu peers", name, n);
    }
    for (size_t i = 0; i < n; i++) {
        const msgpack_object *po = &el[4].via.array.ptr[i];
        rkv_state_peer *pe = &st->peers[i];
        uint64_t port;
        if (po->type != MSGPACK_OBJECT_ARRAY || po->via.array.size != 3 ||
            !get_str(&po->via.array.ptr[0], pe->id, sizeof pe->id, true) ||
            !get_str(&po->via.array.ptr[1], pe->host, sizeof pe->host, false) ||
            pe->host[0] == '\0' || !get_uint(&po->via.array.ptr[2], &port) ||
            port > UINT16_MAX)
            return rkv_fail(REPLKV_ECORRUPT, "%s: bad peer %zu", name, i);
        pe->port = (uint16_t)port;
        st->npeers = i + 1;
    }
    return 0;
}

int rkv_state_decode(const void *data, size_t len, const char *name,
                     rkv_node_state *st)
{
    memset(st, 0, sizeof *st);
    const uint8_t *p = data;
    if (len < 12 || memcmp(p, STATE_MAGIC, 8) != 0)
        return rkv_fail(REPLKV_ECORRUPT,
                        "%s: not a node state file (%zu "
                        "bytes, bad magic)",
                        name, len);
    uint32_t version = rkv_get_be32(p + 8);
    if (version > RKV_STATE_VERSION)
        return rkv_fail(REPLKV_EVERSION,
                        "%s: format version %" PRIu32 " was written by a "
                        "newer libreplkv; this one reads up to version %d",
                        name, version, RKV_STATE_VERSION);
    if (version == 0 || len < RKV_STATE_HDR)
        return rkv_fail(REPLKV_ECORRUPT, "%s: truncated or bad header", name);
    uint64_t blen = rkv_get_be32(p + 12);
    if (blen != len - RKV_STATE_HDR)
        return rkv_fail(REPLKV_ECORRUPT,
                        "%s: header declares a %" PRIu64 "-byte body, the "
                        "file holds %zu (truncated?)",
                        name, blen, len - RKV_STATE_HDR);
    const uint8_t *body = p + RKV_STATE_HDR;
    if (state_sum(p, body, (size_t)blen) != rkv_get_be64(p + 16))
        return rkv_fail(REPLKV_ECORRUPT, "%s: checksum mismatch", name);
    int rc = bounded(name, body, (size_t)blen);
    if (rc != 0)
        return rc;
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    size_t off = 0;
    msgpack_unpack_return ur =
        msgpack_unpack_next(&up, (const char *)body, (size_t)blen, &off);
    if (ur == MSGPACK_UNPACK_NOMEM_ERROR)
        rc = rkv_fail(REPLKV_ENOMEM, "%s: unpacking", name);
    else if (ur != MSGPACK_UNPACK_SUCCESS || off != blen)
        rc = rkv_fail(REPLKV_ECORRUPT, "%s: msgpack-c refused the body (%d)",
                      name, (int)ur);
    else
        rc = decode_body(name, &up.data, st);
    msgpack_unpacked_destroy(&up);
    if (rc != 0)
        rkv_state_free(st);
    return rc;
}

/* ------------------------------------------------------------ the file */

int rkv_state_save(const rkv_fs *fs, const char *dir, const rkv_node_state *st)
{
    int rc = rkv_pf_check_dir(fs, dir);
    if (rc != 0)
        return rc;
    rkv_buf b;
    rkv_buf_init(&b);
    rc = rkv_state_encode(st, &b);
    if (rc == 0)
        rc = rkv_pf_write_atomic(fs, dir, RKV_STATE_FILE, b.data, b.len);
    rkv_buf_free(&b);
    return rc;
}

int rkv_state_load(const rkv_fs *fs, const char *dir, rkv_node_state *st)
{
    memset(st, 0, sizeof *st);
    char path[RKV_PATH_MAX];
    int rc = rkv_pf_check_dir(fs, dir);
    if (rc == 0)
        rc = rkv_pf_path(path, sizeof path, dir, RKV_STATE_FILE);
    if (rc != 0)
        return rc;
    uint8_t *data;
    size_t len;
    rc = rkv_pf_read_all(fs, path, RKV_STATE_MAX_SIZE, &data, &len);
    if (rc != 0)
        return rc;
    rc = rkv_state_decode(data, len, path, st);
    free(data);
    return rc;
}

void rkv_state_free(rkv_node_state *st)
{
    if (st == NULL)
        return;
    free(st->peers);
    memset(st, 0, sizeof *st);
}
