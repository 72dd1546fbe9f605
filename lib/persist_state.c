/*
 * persist_state.c - dir/node.state (see persist_state.h, docs/PROTOCOL.md
 * section 9.3). The body is msgpack; as in lib/stream.c, a structure pass
 * bounds every declared count by the bytes left (and caps depth and element
 * total) before msgpack-c, which allocates the declared count up front, is
 * given the bytes. Version 2 appends the failover state (fo) to version 1's
 * five fields; one rule set (fo_check) serves the encoder and the decoder.
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

/* A NUL-terminated id in a char[cap] field; or "". */
static bool id_in(const char *s, size_t cap)
{
    size_t n = strnlen(s, cap);
    return n < cap && is_hex_id(s, n);
}

static bool id_or_empty(const char *s, size_t cap)
{
    return s[0] == '\0' || id_in(s, cap);
}

/* The rules of rkv_fo_state (PROTOCOL.md 9.3) beyond what its types hold;
 * the encoder refuses (EINVAL) and the decoder rejects (ECORRUPT) what
 * breaks them. Writes "field: why" into msg. */
static bool fo_check(const rkv_fo_state *fo, char *msg, size_t cap)
{
    if (!id_or_empty(fo->voted_for, sizeof fo->voted_for) ||
        (fo->voted_epoch == 0) != (fo->voted_for[0] == '\0') ||
        fo->voted_epoch > fo->current_epoch) {
        snprintf(msg, cap,
                 "voted_for: '%.40s' in epoch %" PRIu64 " (current %" PRIu64
                 "): a vote needs an id and an epoch at most the current one",
                 fo->voted_for, fo->voted_epoch, fo->current_epoch);
        return false;
    }
    const char *bad = NULL;
    if (!id_or_empty(fo->primary, sizeof fo->primary))
        bad = "conf.primary: not a node id";
    else if (!id_or_empty(fo->leader, sizeof fo->leader))
        bad = "conf.leader: not a node id";
    else if (!memchr(fo->primary_addr.host, 0, sizeof fo->primary_addr.host))
        bad = "conf.host: not NUL-terminated";
    else if (fo->promo_offset < 0)
        bad = "conf.promo_offset: negative";
    else if (fo->npeers > RKV_FO_MAX_NODES - 1)
        bad = "peers: more than 31";
    else if (fo->nforgot > RKV_FO_MAX_FORGOT)
        bad = "tombstones: more than 16";
    if (bad != NULL) {
        snprintf(msg, cap, "%s", bad);
        return false;
    }
    for (unsigned i = 0; i < fo->npeers; i++) {
        const rkv_fo_peer_info *pe = &fo->peers[i];
        bad = !id_in(pe->id, sizeof pe->id) ? "id: not a node id"
              : !memchr(pe->addr.host, 0, sizeof pe->addr.host)
                  ? "host: not NUL-terminated"
              : (pe->flags & ~(RKV_FO_F_WITNESS | RKV_FO_F_SDOWN)) != 0
                  ? "flags: unknown bits"
                  : NULL;
        for (unsigned j = 0; bad == NULL && j < i; j++)
            if (strcmp(fo->peers[j].id, pe->id) == 0)
                bad = "id: listed twice";
        if (bad != NULL) {
            snprintf(msg, cap, "peers[%u].%s", i, bad);
            return false;
        }
    }
    for (unsigned i = 0; i < fo->nforgot; i++)
        if (!id_in(fo->forgot[i].id, sizeof fo->forgot[i].id)) {
            snprintf(msg, cap, "tombstones[%u].id: not a node id", i);
            return false;
        }
    return true;
}

static bool pk_str(msgpack_packer *pk, const char *s)
{
    return msgpack_pack_str_with_body(pk, s, strlen(s)) == 0;
}

static bool pk_peer(msgpack_packer *pk, const char *id, const char *host,
                    uint16_t port)
{
    return msgpack_pack_array(pk, 3) == 0 && pk_str(pk, id) &&
           pk_str(pk, host) && msgpack_pack_uint16(pk, port) == 0;
}

/* Version 1's epoch, vote and peers: st's own, or derived from st->fo. */
static bool pk_legacy(msgpack_packer *pk, const rkv_node_state *st)
{
    if (!st->has_fo) {
        bool ok = msgpack_pack_uint64(pk, st->epoch) == 0 &&
                  msgpack_pack_uint64(pk, st->vote_epoch) == 0 &&
                  pk_str(pk, st->vote_for) &&
                  msgpack_pack_array(pk, st->npeers) == 0;
        for (size_t i = 0; ok && i < st->npeers; i++)
            ok = pk_peer(pk, st->peers[i].id, st->peers[i].host,
                         st->peers[i].port);
        return ok;
    }
    const rkv_fo_state *fo = &st->fo;
    unsigned n = 0;
    for (unsigned i = 0; i < fo->npeers; i++)
        n += fo->peers[i].addr.host[0] != '\0';
    bool ok = msgpack_pack_uint64(pk, fo->current_epoch) == 0 &&
              msgpack_pack_uint64(pk, fo->voted_epoch) == 0 &&
              pk_str(pk, fo->voted_for) && msgpack_pack_array(pk, n) == 0;
    for (unsigned i = 0; ok && i < fo->npeers; i++) {
        const rkv_fo_peer_info *pe = &fo->peers[i];
        if (pe->addr.host[0] != '\0')
            ok = pk_peer(pk, pe->id, pe->addr.host, pe->addr.port);
    }
    return ok;
}

/* fo = [current_epoch, voted_epoch, voted_for, conf, hist_epoch, fresh,
 *       peers, tombstones], conf as on the wire (PROTOCOL.md 11.1). */
static bool pk_fo(msgpack_packer *pk, const rkv_fo_state *fo)
{
    bool ok =
        msgpack_pack_array(pk, 8) == 0 &&
        msgpack_pack_uint64(pk, fo->current_epoch) == 0 &&
        msgpack_pack_uint64(pk, fo->voted_epoch) == 0 &&
        pk_str(pk, fo->voted_for) && msgpack_pack_array(pk, 6) == 0 &&
        msgpack_pack_uint64(pk, fo->config_epoch) == 0 &&
        pk_str(pk, fo->primary) && pk_str(pk, fo->primary_addr.host) &&
        msgpack_pack_uint16(pk, fo->primary_addr.port) == 0 &&
        pk_str(pk, fo->leader) &&
        msgpack_pack_int64(pk, fo->promo_offset) == 0 &&
        msgpack_pack_uint64(pk, fo->hist_epoch) == 0 &&
        (fo->fresh ? msgpack_pack_true(pk) : msgpack_pack_false(pk)) == 0 &&
        msgpack_pack_array(pk, fo->npeers) == 0;
    for (unsigned i = 0; ok && i < fo->npeers; i++) {
        const rkv_fo_peer_info *pe = &fo->peers[i];
        ok = msgpack_pack_array(pk, 4) == 0 && pk_str(pk, pe->id) &&
             pk_str(pk, pe->addr.host) &&
             msgpack_pack_uint16(pk, pe->addr.port) == 0 &&
             msgpack_pack_uint8(pk, pe->flags) == 0;
    }
    ok = ok && msgpack_pack_array(pk, fo->nforgot) == 0;
    for (unsigned i = 0; ok && i < fo->nforgot; i++)
        ok = msgpack_pack_array(pk, 2) == 0 && pk_str(pk, fo->forgot[i].id) &&
             msgpack_pack_uint64(pk, fo->forgot[i].epoch) == 0;
    return ok;
}

/* Version 1's rules for the fields a version 1 file carries. */
static int check_legacy(const rkv_node_state *st)
{
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
    return 0;
}

int rkv_state_encode(const rkv_node_state *st, rkv_buf *out)
{
    if (!id_in(st->node_id, sizeof st->node_id))
        return rkv_fail(REPLKV_EINVAL, "node state: bad node id");
    char why[160];
    if (st->has_fo && !fo_check(&st->fo, why, sizeof why))
        return rkv_fail(REPLKV_EINVAL, "node state: fo.%s", why);
    int rc = st->has_fo ? 0 : check_legacy(st);
    if (rc != 0)
        return rc;
    size_t start = out->len;
    uint8_t hdr[RKV_STATE_HDR] = {0};
    if ((rc = rkv_buf_append(out, hdr, sizeof hdr)) != 0)
        return rc;
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, pk_write);
    bool ok = msgpack_pack_array(&pk, st->has_fo ? 6 : 5) == 0 &&
              pk_str(&pk, st->node_id) && pk_legacy(&pk, st) &&
              (!st->has_fo || pk_fo(&pk, &st->fo));
    if (!ok) {
        out->len = start;
        return rkv_fail(REPLKV_ENOMEM, "node state: encoding");
    }
    uint8_t *h = out->data + start;
    size_t blen = out->len - start - RKV_STATE_HDR;
    memcpy(h, STATE_MAGIC, 8);
    rkv_put_be32(h + 8, st->has_fo ? 2 : 1);
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

/* Where a failover field sits, for the ECORRUPT detail. */
typedef struct fo_rd {
    const char *name; /* the file */
    const char *list; /* "peers", "tombstones" or NULL */
    unsigned i;
} fo_rd;

static int fo_bad(const fo_rd *r, const char *field, const char *why)
{
    if (r->list != NULL)
        return rkv_fail(REPLKV_ECORRUPT, "%s: fo.%s[%u].%s: %s", r->name,
                        r->list, r->i, field, why);
    return rkv_fail(REPLKV_ECORRUPT, "%s: fo.%s: %s", r->name, field, why);
}

static int fo_uint(const fo_rd *r, const char *field, const msgpack_object *o,
                   uint64_t max, uint64_t *v)
{
    if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return fo_bad(r, field,
                      o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER
                          ? "negative integer"
                          : "not an unsigned integer");
    if (o->via.u64 > max)
        return fo_bad(r, field, "integer out of range");
    *v = o->via.u64;
    return 0;
}

/* A str that fits dst[cap] with its NUL and holds no NUL. */
static int fo_str(const fo_rd *r, const char *field, const msgpack_object *o,
                  char *dst, size_t cap)
{
    if (o->type != MSGPACK_OBJECT_STR)
        return fo_bad(r, field, "not a str");
    size_t n = o->via.str.size;
    char why[64];
    snprintf(why, sizeof why, "str of %zu bytes, at most %zu fit", n, cap - 1);
    if (n >= cap || !get_str(o, dst, cap, false))
        return fo_bad(r, field, n >= cap ? why : "NUL in str");
    return 0;
}

static int fo_array(const fo_rd *r, const char *field, const msgpack_object *o,
                    uint32_t min, uint32_t max, const msgpack_object **el)
{
    if (o->type != MSGPACK_OBJECT_ARRAY)
        return fo_bad(r, field, "not an array");
    uint32_t n = o->via.array.size;
    if (n < min || n > max) {
        char why[64];
        snprintf(why, sizeof why,
                 "%" PRIu32 " elements, %" PRIu32 " to %" PRIu32, n, min, max);
        return fo_bad(r, field, why);
    }
    *el = o->via.array.ptr;
    return 0;
}

/* fo (see pk_fo): types and sizes here, the rules in fo_check. */
static int decode_fo(const char *name, const msgpack_object *o,
                     rkv_fo_state *fo)
{
    fo_rd r = {name, NULL, 0};
    const msgpack_object *el = NULL, *c = NULL, *e = NULL;
    uint64_t u;
    int rc;
    if ((rc = fo_array(&r, "state", o, 8, 8, &el)) ||
        (rc = fo_uint(&r, "current_epoch", &el[0], UINT64_MAX,
                      &fo->current_epoch)) ||
        (rc = fo_uint(&r, "voted_epoch", &el[1], UINT64_MAX,
                      &fo->voted_epoch)) ||
        (rc = fo_str(&r, "voted_for", &el[2], fo->voted_for,
                     sizeof fo->voted_for)) ||
        (rc = fo_array(&r, "conf", &el[3], 6, 6, &c)) ||
        (rc =
             fo_uint(&r, "conf.epoch", &c[0], UINT64_MAX, &fo->config_epoch)) ||
        (rc = fo_str(&r, "conf.primary", &c[1], fo->primary,
                     sizeof fo->primary)) ||
        (rc = fo_str(&r, "conf.host", &c[2], fo->primary_addr.host,
                     sizeof fo->primary_addr.host)) ||
        (rc = fo_uint(&r, "conf.port", &c[3], UINT16_MAX, &u)))
        return rc;
    fo->primary_addr.port = (uint16_t)u;
    if ((rc =
             fo_str(&r, "conf.leader", &c[4], fo->leader, sizeof fo->leader)) ||
        (rc = fo_uint(&r, "conf.promo_offset", &c[5], INT64_MAX, &u)))
        return rc;
    fo->promo_offset = (int64_t)u;
    if ((rc = fo_uint(&r, "hist_epoch", &el[4], UINT64_MAX, &fo->hist_epoch)))
        return rc;
    if (el[5].type != MSGPACK_OBJECT_BOOLEAN)
        return fo_bad(&r, "fresh", "not a bool");
    fo->fresh = el[5].via.boolean;
    if ((rc = fo_array(&r, "peers", &el[6], 0, RKV_FO_MAX_NODES - 1, &e)))
        return rc;
    r.list = "peers";
    for (r.i = 0; r.i < el[6].via.array.size; r.i++) {
        rkv_fo_peer_info *pe = &fo->peers[r.i];
        const msgpack_object *f = NULL;
        if ((rc = fo_array(&r, "entry", &e[r.i], 4, 4, &f)) ||
            (rc = fo_str(&r, "id", &f[0], pe->id, sizeof pe->id)) ||
            (rc = fo_str(&r, "host", &f[1], pe->addr.host,
                         sizeof pe->addr.host)) ||
            (rc = fo_uint(&r, "port", &f[2], UINT16_MAX, &u)))
            return rc;
        pe->addr.port = (uint16_t)u;
        if ((rc = fo_uint(&r, "flags", &f[3], UINT8_MAX, &u)))
            return rc;
        pe->flags = (uint8_t)u;
        fo->npeers = r.i + 1;
    }
    r.list = NULL;
    if ((rc = fo_array(&r, "tombstones", &el[7], 0, RKV_FO_MAX_FORGOT, &e)))
        return rc;
    r.list = "tombstones";
    for (r.i = 0; r.i < el[7].via.array.size; r.i++) {
        rkv_fo_forgot *t = &fo->forgot[r.i];
        const msgpack_object *f = NULL;
        if ((rc = fo_array(&r, "entry", &e[r.i], 2, 2, &f)) ||
            (rc = fo_str(&r, "id", &f[0], t->id, sizeof t->id)) ||
            (rc = fo_uint(&r, "epoch", &f[1], UINT64_MAX, &t->epoch)))
            return rc;
        fo->nforgot = r.i + 1;
    }
    char why[160];
    if (!fo_check(fo, why, sizeof why))
        return rkv_fail(REPLKV_ECORRUPT, "%s: fo.%s", name, why);
    return 0;
}

/* A version 2 file's epoch, vote and peers must be what the encoder
 * derives from fo (pk_legacy). */
static bool legacy_agrees(const rkv_node_state *st)
{
    const rkv_fo_state *fo = &st->fo;
    if (st->epoch != fo->current_epoch || st->vote_epoch != fo->voted_epoch ||
        strcmp(st->vote_for, fo->voted_for) != 0)
        return false;
    size_t n = 0;
    for (unsigned i = 0; i < fo->npeers; i++) {
        const rkv_fo_peer_info *pe = &fo->peers[i];
        if (pe->addr.host[0] == '\0')
            continue;
        if (n >= st->npeers || strcmp(st->peers[n].id, pe->id) != 0 ||
            strcmp(st->peers[n].host, pe->addr.host) != 0 ||
            st->peers[n].port != pe->addr.port)
            return false;
        n++;
    }
    return n == st->npeers;
}

static int decode_body(const char *name, uint32_t version,
                       const msgpack_object *root, rkv_node_state *st)
{
    uint32_t arity = version == 1 ? 5 : 6;
    if (root->type != MSGPACK_OBJECT_ARRAY || root->via.array.size != arity)
        return rkv_fail(REPLKV_ECORRUPT,
                        "%s: body is not a %" PRIu32 "-element array "
                        "(version %" PRIu32 ")",
                        name, arity, version);
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
    if (version == 1)
        return 0;
    int rc = decode_fo(name, &el[5], &st->fo);
    if (rc != 0)
        return rc;
    st->has_fo = true;
    if (!legacy_agrees(st))
        return rkv_fail(REPLKV_ECORRUPT,
                        "%s: epoch, vote or peers disagree with the "
                        "failover state (fo)",
                        name);
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
        rc = decode_body(name, version, &up.data, st);
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
