/*
 * failover_wire.c - the failover messages (types 80..86) on the wire:
 * msgpack arrays inside stream.h's frames, as docs/PROTOCOL.md section 11
 * lists them.
 *
 * Encoding packs with msgpack-c into the caller's rkv_buf, the frame
 * header written behind the payload as stream.c does. Decoding is
 * stream.c's three passes: rkv_msgpack_skim() bounds every declared count
 * by the bytes left (PROTOCOL.md section 8), the nesting and the element
 * total before msgpack-c, which allocates from declared counts, sees the
 * payload; msgpack_unpack() builds the tree in a zone; small typed readers
 * then check the schema (exact arity, types, ranges, list maxima) and copy
 * each str into its fixed-size field only if it fits. Nesting is at most
 * three levels (PING > peers > entry).
 */
#include "failover_int.h"
#include "stream.h"

#include <inttypes.h>
#include <msgpack.h>
#include <stdio.h>
#include <string.h>
#include <xxhash.h>

const char *rkv_fo_msg_name(unsigned type)
{
    switch (type) {
    case RKV_FO_MSG_PING:
        return "FO_PING";
    case RKV_FO_MSG_VOTE_REQ:
        return "FO_VOTE_REQ";
    case RKV_FO_MSG_VOTE:
        return "FO_VOTE";
    case RKV_FO_MSG_PROMOTE:
        return "FO_PROMOTE";
    case RKV_FO_MSG_FOLLOW:
        return "FO_FOLLOW";
    case RKV_FO_MSG_FORGET:
        return "FO_FORGET";
    case RKV_FO_MSG_FAILOVER:
        return "FO_FAILOVER";
    default:
        return "UNKNOWN";
    }
}

/* ------------------------------------------------------------ encoding */

static int pk_write(void *data, const char *p, size_t n)
{
    return rkv_buf_append(data, p, n);
}

static int pk_str(msgpack_packer *pk, const char *s)
{
    size_t n = strlen(s);
    return msgpack_pack_str_with_body(pk, s, n);
}

static int pk_conf(msgpack_packer *pk, const rkv_fo_conf *c)
{
    return msgpack_pack_array(pk, 6) || msgpack_pack_uint64(pk, c->epoch) ||
           pk_str(pk, c->primary) || pk_str(pk, c->addr.host) ||
           msgpack_pack_uint16(pk, c->addr.port) || pk_str(pk, c->leader) ||
           msgpack_pack_int64(pk, c->promo_offset);
}

static bool id_ok(const char *s, bool allow_empty)
{
    return (allow_empty && s[0] == 0) || fo_valid_id(s);
}

static bool str_ok(const char *s, size_t cap)
{
    return memchr(s, 0, cap) != NULL;
}

static bool conf_ok(const rkv_fo_conf *c)
{
    return id_ok(c->primary, true) && id_ok(c->leader, true) &&
           c->promo_offset >= 0 &&
           str_ok(c->addr.host, sizeof c->addr.host);
}

static int check_msg(const rkv_fo_msg *m)
{
    if (!id_ok(m->from, false))
        return rkv_fail(REPLKV_EINVAL, "%s: bad sender id",
                        rkv_fo_msg_name(m->type));
    switch (m->type) {
    case RKV_FO_MSG_PING:
        if (m->ping.npeers > RKV_FO_MAX_NODES ||
            m->ping.nforgot > RKV_FO_MAX_FORGOT)
            return rkv_fail(REPLKV_EINVAL, "FO_PING: too many entries");
        if (!str_ok(m->ping.name, sizeof m->ping.name) ||
            !str_ok(m->ping.addr.host, sizeof m->ping.addr.host) ||
            !id_ok(m->ping.following, true) || !conf_ok(&m->ping.conf) ||
            m->ping.offset < 0 || m->ping.link_down_ms < 0)
            return rkv_fail(REPLKV_EINVAL, "FO_PING: bad field");
        for (uint32_t i = 0; i < m->ping.npeers; i++)
            if (!id_ok(m->ping.peers[i].id, false) ||
                !str_ok(m->ping.peers[i].addr.host, RKV_FO_HOST_SIZE))
                return rkv_fail(REPLKV_EINVAL, "FO_PING: bad peer %u", i);
        for (uint32_t i = 0; i < m->ping.nforgot; i++)
            if (!id_ok(m->ping.forgot[i].id, false))
                return rkv_fail(REPLKV_EINVAL, "FO_PING: bad tombstone %u",
                                i);
        return 0;
    case RKV_FO_MSG_VOTE_REQ:
        return 0;
    case RKV_FO_MSG_VOTE:
        return id_ok(m->vote.leader, true)
                   ? 0
                   : rkv_fail(REPLKV_EINVAL, "FO_VOTE: bad leader id");
    case RKV_FO_MSG_PROMOTE:
    case RKV_FO_MSG_FOLLOW:
        return conf_ok(&m->conf.conf)
                   ? 0
                   : rkv_fail(REPLKV_EINVAL, "%s: bad configuration",
                              rkv_fo_msg_name(m->type));
    case RKV_FO_MSG_FORGET:
        return id_ok(m->forget.who.id, false)
                   ? 0
                   : rkv_fail(REPLKV_EINVAL, "FO_FORGET: bad id");
    case RKV_FO_MSG_FAILOVER:
        return id_ok(m->failover.target, true)
                   ? 0
                   : rkv_fail(REPLKV_EINVAL, "FO_FAILOVER: bad target");
    default:
        return rkv_fail(REPLKV_EINVAL, "failover: unknown message type %u",
                        m->type);
    }
}

static int pack_body(msgpack_packer *pk, const rkv_fo_msg *m)
{
    int r = 0;
    switch (m->type) {
    case RKV_FO_MSG_PING:
        r = msgpack_pack_array(pk, 16);
        break;
    case RKV_FO_MSG_VOTE_REQ:
    case RKV_FO_MSG_FORGET:
    case RKV_FO_MSG_FAILOVER:
        r = msgpack_pack_array(pk, 5);
        break;
    default:
        r = msgpack_pack_array(pk, 4);
        break;
    }
    r = r || msgpack_pack_uint8(pk, (uint8_t)m->type) || pk_str(pk, m->from) ||
        msgpack_pack_uint64(pk, m->epoch);
    if (r)
        return r;
    switch (m->type) {
    case RKV_FO_MSG_PING: {
        const rkv_fo_ping *p = &m->ping;
        r = pk_str(pk, p->name) || pk_str(pk, p->addr.host) ||
            msgpack_pack_uint16(pk, p->addr.port) ||
            msgpack_pack_uint8(pk, p->flags) ||
            msgpack_pack_uint8(pk, p->role) ||
            msgpack_pack_int64(pk, p->offset) ||
            msgpack_pack_uint64(pk, p->hist_epoch) ||
            msgpack_pack_uint32(pk, p->priority) ||
            msgpack_pack_int64(pk, p->link_down_ms) ||
            pk_str(pk, p->following) || pk_conf(pk, &p->conf) ||
            msgpack_pack_array(pk, p->npeers);
        for (uint32_t i = 0; !r && i < p->npeers; i++)
            r = msgpack_pack_array(pk, 4) || pk_str(pk, p->peers[i].id) ||
                pk_str(pk, p->peers[i].addr.host) ||
                msgpack_pack_uint16(pk, p->peers[i].addr.port) ||
                msgpack_pack_uint8(pk, p->peers[i].flags);
        r = r || msgpack_pack_array(pk, p->nforgot);
        for (uint32_t i = 0; !r && i < p->nforgot; i++)
            r = msgpack_pack_array(pk, 2) || pk_str(pk, p->forgot[i].id) ||
                msgpack_pack_uint64(pk, p->forgot[i].epoch);
        return r;
    }
    case RKV_FO_MSG_VOTE_REQ:
        return msgpack_pack_uint64(pk, m->vote_req.config_epoch) ||
               msgpack_pack_uint8(pk, m->vote_req.flags);
    case RKV_FO_MSG_VOTE:
        return pk_str(pk, m->vote.leader);
    case RKV_FO_MSG_PROMOTE:
    case RKV_FO_MSG_FOLLOW:
        return pk_conf(pk, &m->conf.conf);
    case RKV_FO_MSG_FORGET:
        return pk_str(pk, m->forget.who.id) ||
               msgpack_pack_uint64(pk, m->forget.who.epoch);
    default: /* FAILOVER */
        return pk_str(pk, m->failover.target) ||
               msgpack_pack_uint32(pk, m->failover.timeout_ms);
    }
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

int rkv_fo_msg_encode(rkv_buf *b, const rkv_fo_msg *m)
{
    int rc = check_msg(m);
    if (rc != 0)
        return rc;
    size_t start = b->len;
    rc = rkv_buf_reserve(b, RKV_FRAME_HDR + 256);
    if (rc != 0)
        return rc;
    b->len += RKV_FRAME_HDR;
    msgpack_packer pk;
    msgpack_packer_init(&pk, b, pk_write);
    if (pack_body(&pk, m) != 0) {
        b->len = start;
        return REPLKV_ENOMEM;
    }
    size_t len = b->len - start - RKV_FRAME_HDR;
    uint8_t *hdr = b->data + start;
    uint64_t h = XXH3_64bits(hdr + RKV_FRAME_HDR, len);
    put_be32(hdr, (uint32_t)len);
    put_be32(hdr + 4, (uint32_t)(h >> 32));
    put_be32(hdr + 8, (uint32_t)h);
    return 0;
}

/* ------------------------------------------------------------ decoding */

/* Where a reader is, for the detail: the message, and the list entry when
 * the field is inside one. */
typedef struct rd {
    const char *msg;  /* "payload" until the type code is read */
    const char *list; /* "peers", "tombstones" or NULL */
    uint32_t i;       /* the entry of list */
} rd;

static int bad(const rd *r, const char *field, const char *why)
{
    if (r->list != NULL)
        return rkv_fail(REPLKV_EPROTO,
                        "failover message: %s: %s[%" PRIu32 "].%s: %s", r->msg,
                        r->list, r->i, field, why);
    return rkv_fail(REPLKV_EPROTO, "failover message: %s: %s: %s", r->msg,
                    field, why);
}

/* An integer 0 .. max, in any msgpack encoding: msgpack-c gives a signed
 * encoding of a value >= 0 as a positive integer too. */
static int get_uint(const rd *r, const char *field, const msgpack_object *o,
                    uint64_t max, uint64_t *v)
{
    if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
        return bad(r, field, "negative integer");
    if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return bad(r, field, "not an integer");
    if (o->via.u64 > max)
        return bad(r, field, "integer out of range");
    *v = o->via.u64;
    return 0;
}

static int get_u8(const rd *r, const char *field, const msgpack_object *o,
                  uint8_t *v)
{
    uint64_t u = 0;
    int rc = get_uint(r, field, o, UINT8_MAX, &u);
    *v = (uint8_t)u;
    return rc;
}

static int get_u16(const rd *r, const char *field, const msgpack_object *o,
                   uint16_t *v)
{
    uint64_t u = 0;
    int rc = get_uint(r, field, o, UINT16_MAX, &u);
    *v = (uint16_t)u;
    return rc;
}

static int get_u32(const rd *r, const char *field, const msgpack_object *o,
                   uint32_t *v)
{
    uint64_t u = 0;
    int rc = get_uint(r, field, o, UINT32_MAX, &u);
    *v = (uint32_t)u;
    return rc;
}

static int get_i64(const rd *r, const char *field, const msgpack_object *o,
                   int64_t *v)
{
    uint64_t u = 0;
    int rc = get_uint(r, field, o, INT64_MAX, &u);
    *v = (int64_t)u;
    return rc;
}

/* A str that fits the fixed-size field dst[cap] with its NUL (so at most
 * cap - 1 bytes) and holds no NUL, copied NUL-terminated. */
static int get_str(const rd *r, const char *field, const msgpack_object *o,
                   char *dst, size_t cap)
{
    if (o->type != MSGPACK_OBJECT_STR)
        return bad(r, field, "not a str");
    uint32_t n = o->via.str.size;
    if (n >= cap) {
        char why[64];
        snprintf(why, sizeof why, "str of %" PRIu32 " bytes, at most %zu fit",
                 n, cap - 1);
        return bad(r, field, why);
    }
    if (n > 0 && memchr(o->via.str.ptr, 0, n) != NULL)
        return bad(r, field, "NUL in str");
    if (n > 0)
        memcpy(dst, o->via.str.ptr, n);
    dst[n] = 0;
    return 0;
}

static int get_id(const rd *r, const char *field, const msgpack_object *o,
                  char dst[RKV_FO_ID_SIZE], bool allow_empty)
{
    int rc = get_str(r, field, o, dst, RKV_FO_ID_SIZE);
    if (rc != 0)
        return rc;
    return id_ok(dst, allow_empty) ? 0 : bad(r, field, "not a node id");
}

/* An array of min .. max elements (exactly min when min == max). */
static int get_array(const rd *r, const char *field, const msgpack_object *o,
                     uint32_t min, uint32_t max, const msgpack_object **el,
                     uint32_t *n)
{
    if (o->type != MSGPACK_OBJECT_ARRAY)
        return bad(r, field, "not an array");
    uint32_t size = o->via.array.size;
    if (size < min || size > max) {
        char why[64];
        if (min == max)
            snprintf(why, sizeof why, "%" PRIu32 " elements, must be %" PRIu32,
                     size, min);
        else
            snprintf(why, sizeof why, "%" PRIu32 " entries, at most %" PRIu32,
                     size, max);
        return bad(r, field, why);
    }
    *el = o->via.array.ptr;
    if (n != NULL)
        *n = size;
    return 0;
}

/* conf = [epoch, primary idopt, host, port, leader idopt, promo_offset] */
static int get_conf(const rd *r, const msgpack_object *o, rkv_fo_conf *c)
{
    const msgpack_object *el = NULL;
    int rc;
    if ((rc = get_array(r, "conf", o, 6, 6, &el, NULL)) ||
        (rc = get_uint(r, "conf.epoch", &el[0], UINT64_MAX, &c->epoch)) ||
        (rc = get_id(r, "conf.primary", &el[1], c->primary, true)) ||
        (rc = get_str(r, "conf.host", &el[2], c->addr.host,
                      sizeof c->addr.host)) ||
        (rc = get_u16(r, "conf.port", &el[3], &c->addr.port)) ||
        (rc = get_id(r, "conf.leader", &el[4], c->leader, true)))
        return rc;
    return get_i64(r, "conf.promo_offset", &el[5], &c->promo_offset);
}

/* el: the PING's elements 3 .. 15 (PROTOCOL.md 11.1). */
static int get_ping(rd *r, const msgpack_object *el, rkv_fo_ping *p)
{
    int rc;
    if ((rc = get_str(r, "name", &el[0], p->name, sizeof p->name)) ||
        (rc = get_str(r, "host", &el[1], p->addr.host, sizeof p->addr.host)) ||
        (rc = get_u16(r, "port", &el[2], &p->addr.port)) ||
        (rc = get_u8(r, "flags", &el[3], &p->flags)) ||
        (rc = get_u8(r, "role", &el[4], &p->role)) ||
        (rc = get_i64(r, "offset", &el[5], &p->offset)) ||
        (rc = get_uint(r, "hist_epoch", &el[6], UINT64_MAX, &p->hist_epoch)) ||
        (rc = get_u32(r, "priority", &el[7], &p->priority)) ||
        (rc = get_i64(r, "link_down_ms", &el[8], &p->link_down_ms)) ||
        (rc = get_id(r, "following", &el[9], p->following, true)) ||
        (rc = get_conf(r, &el[10], &p->conf)))
        return rc;
    if (p->role > RKV_FO_ROLE_REPLICA)
        return bad(r, "role", "unknown role");
    const msgpack_object *e = NULL;
    if ((rc = get_array(r, "peers", &el[11], 0, RKV_FO_MAX_NODES, &e,
                        &p->npeers)))
        return rc;
    r->list = "peers";
    for (r->i = 0; r->i < p->npeers; r->i++) {
        rkv_fo_peer_info *pi = &p->peers[r->i];
        const msgpack_object *f = NULL;
        if ((rc = get_array(r, "entry", &e[r->i], 4, 4, &f, NULL)) ||
            (rc = get_id(r, "id", &f[0], pi->id, false)) ||
            (rc = get_str(r, "host", &f[1], pi->addr.host,
                          sizeof pi->addr.host)) ||
            (rc = get_u16(r, "port", &f[2], &pi->addr.port)) ||
            (rc = get_u8(r, "flags", &f[3], &pi->flags)))
            return rc;
    }
    r->list = NULL;
    if ((rc = get_array(r, "tombstones", &el[12], 0, RKV_FO_MAX_FORGOT, &e,
                        &p->nforgot)))
        return rc;
    r->list = "tombstones";
    for (r->i = 0; r->i < p->nforgot; r->i++) {
        rkv_fo_forgot *t = &p->forgot[r->i];
        const msgpack_object *f = NULL;
        if ((rc = get_array(r, "entry", &e[r->i], 2, 2, &f, NULL)) ||
            (rc = get_id(r, "id", &f[0], t->id, false)) ||
            (rc = get_uint(r, "epoch", &f[1], UINT64_MAX, &t->epoch)))
            return rc;
    }
    r->list = NULL;
    return 0;
}

/* The schema check over the unpacked tree: the type code, the exact arity
 * of every array, each field's type and range. */
static int decode_object(const msgpack_object *root, rkv_fo_msg *m)
{
    rd r = {.msg = "payload", .list = NULL, .i = 0};
    const msgpack_object *el = NULL;
    uint32_t n = 0;
    uint64_t type = 0;
    int rc;
    if ((rc = get_array(&r, "array", root, 0, UINT32_MAX, &el, &n)))
        return rc;
    if (n < 3)
        return bad(&r, "array", "fewer than 3 elements");
    if ((rc = get_uint(&r, "type", &el[0], 255, &type)))
        return rc;
    uint32_t want;
    switch (type) {
    case RKV_FO_MSG_PING:
        want = 16;
        break;
    case RKV_FO_MSG_VOTE_REQ:
    case RKV_FO_MSG_FORGET:
    case RKV_FO_MSG_FAILOVER:
        want = 5;
        break;
    case RKV_FO_MSG_VOTE:
    case RKV_FO_MSG_PROMOTE:
    case RKV_FO_MSG_FOLLOW:
        want = 4;
        break;
    default:
        return bad(&r, "type", "unknown failover message type");
    }
    m->type = (unsigned)type;
    r.msg = rkv_fo_msg_name(m->type);
    if ((rc = get_array(&r, "array", root, want, want, &el, NULL)) ||
        (rc = get_id(&r, "from", &el[1], m->from, false)) ||
        (rc = get_uint(&r, "epoch", &el[2], UINT64_MAX, &m->epoch)))
        return rc;
    switch (m->type) {
    case RKV_FO_MSG_PING:
        return get_ping(&r, &el[3], &m->ping);
    case RKV_FO_MSG_VOTE_REQ:
        if ((rc = get_uint(&r, "config_epoch", &el[3], UINT64_MAX,
                           &m->vote_req.config_epoch)))
            return rc;
        return get_u8(&r, "flags", &el[4], &m->vote_req.flags);
    case RKV_FO_MSG_VOTE:
        return get_id(&r, "leader", &el[3], m->vote.leader, true);
    case RKV_FO_MSG_PROMOTE:
    case RKV_FO_MSG_FOLLOW:
        return get_conf(&r, &el[3], &m->conf.conf);
    case RKV_FO_MSG_FORGET:
        if ((rc = get_id(&r, "id", &el[3], m->forget.who.id, false)))
            return rc;
        return get_uint(&r, "forget_epoch", &el[4], UINT64_MAX,
                        &m->forget.who.epoch);
    default: /* FAILOVER */
        if ((rc = get_id(&r, "target", &el[3], m->failover.target, true)))
            return rc;
        return get_u32(&r, "timeout_ms", &el[4], &m->failover.timeout_ms);
    }
}

/* The decode proper, into zone (cleared before returning; strs are copied
 * out of payload, nothing in *m points into either). */
static int decode_in(msgpack_zone *zone, const void *payload, size_t len,
                     rkv_fo_msg *m)
{
    /* 1. Structure: every declared count bounded by the bytes left, depth
     *    and element total capped (the largest legal PING holds 230
     *    elements 3 deep), nothing trailing. Only then may msgpack-c,
     *    which allocates from declared counts, see the bytes. */
    int rc = rkv_msgpack_skim(payload, len);
    if (rc != 0) {
        char why[256];
        snprintf(why, sizeof why, "%s", replkv_last_error());
        return rkv_fail(rc, "failover message: %s", why);
    }
    /* 2. msgpack-c builds the tree. */
    msgpack_object obj;
    size_t off = 0;
    msgpack_unpack_return ur = msgpack_unpack(payload, len, &off, zone, &obj);
    if (ur == MSGPACK_UNPACK_NOMEM_ERROR)
        rc = rkv_fail(REPLKV_ENOMEM,
                      "failover message: out of memory unpacking %zu bytes",
                      len);
    else if (ur != MSGPACK_UNPACK_SUCCESS || off != len)
        /* rkv_msgpack_skim() accepted it, so msgpack-c should have too. */
        rc = rkv_fail(REPLKV_EPROTO,
                      "failover message: msgpack-c refused it (%d)", (int)ur);
    else
        /* 3. The schema. */
        rc = decode_object(&obj, m);
    msgpack_zone_clear(zone);
    return rc;
}

/* One zone chunk holds the objects of the largest legal PING (230
 * elements, about 5.5 KiB), so a decode allocates once. */
#define FO_ZONE_CHUNK 8192

int rkv_fo_msg_decode(const void *payload, size_t len, rkv_fo_msg *m)
{
    memset(m, 0, sizeof *m);
    if (payload == NULL)
        len = 0;
    msgpack_zone zone;
    if (!msgpack_zone_init(&zone, FO_ZONE_CHUNK))
        return rkv_fail(REPLKV_ENOMEM, "failover message: out of memory");
    int rc = decode_in(&zone, payload, len, m);
    msgpack_zone_destroy(&zone);
    if (rc != 0)
        memset(m, 0, sizeof *m);
    return rc;
}

static uint64_t be(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

/* Reads only the array header and the type code, no allocation: the
 * router's question, asked of every link message. rkv_fo_msg_decode()
 * does the checking. Same answers as its first steps: an array of at least
 * one element whose count the bytes left can back, whose first element is
 * an integer (any encoding) 80 .. 86. */
bool rkv_fo_msg_is_failover(const void *payload, size_t len)
{
    const uint8_t *p = payload;
    if (p == NULL || len < 2)
        return false;
    size_t pos = 1;
    uint64_t n;
    if (p[0] >= 0x90 && p[0] <= 0x9f)
        n = p[0] & 0x0f;
    else if (p[0] == 0xdc || p[0] == 0xdd) {
        pos += p[0] == 0xdc ? 2 : 4;
        if (len < pos)
            return false;
        n = be(p + 1, (unsigned)(pos - 1));
    } else
        return false;
    if (n == 0 || n > len - pos)
        return false;
    uint8_t c = p[pos++];
    uint64_t type = 0;
    if (c <= 0x7f)
        type = c;
    else if (c >= 0xcc && c <= 0xd3) { /* uint8 .. uint64, int8 .. int64 */
        unsigned w = 1u << ((c - 0xcc) & 3);
        if (len - pos < w)
            return false;
        type = be(p + pos, w);
        if (c >= 0xd0 && (type >> (8 * w - 1)) & 1)
            return false; /* negative */
    } else
        return false;
    return type >= RKV_FO_MSG_PING && type <= RKV_FO_MSG_FAILOVER;
}
