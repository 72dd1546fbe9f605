/*
 * stream.c - frames and the msgpack records and messages inside them (see
 * stream.h and docs/PROTOCOL.md).
 *
 * Decoding is three passes over a payload, each cheap: rkv_msgpack_skim()
 * walks the msgpack structure without allocating, so that msgpack-c, which
 * allocates an array's or map's DECLARED element count before reading the
 * elements, is only ever handed counts that the bytes present can back,
 * shallow nesting and a bounded number of elements (failover_wire.c skims
 * its payloads the same way); msgpack_unpack_next() then
 * builds the object (strings and binaries point into the payload); finally
 * the schema table below checks the type code, the arity and every field.
 */
#include "stream.h"

#include <inttypes.h>
#include <limits.h>
#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <xxhash.h>

/* ------------------------------------------------------------- helpers */

static inline uint32_t get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           (uint32_t)p[3];
}

static inline uint64_t get_be64(const uint8_t *p)
{
    return (uint64_t)get_be32(p) << 32 | get_be32(p + 4);
}

static inline void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static inline void put_be64(uint8_t *p, uint64_t v)
{
    put_be32(p, (uint32_t)(v >> 32));
    put_be32(p + 4, (uint32_t)v);
}

static bool is_hex_id(const void *p, size_t len)
{
    if (len != RKV_ID_LEN || p == NULL)
        return false;
    const unsigned char *s = p;
    for (size_t i = 0; i < len; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

/* -------------------------------------------------------------- schema */

/* What one field must be, on the wire and in struct rkv_msg. */
enum fkind {
    F_KEY,  /* bin, >= 1 byte               -> rkv_bytes */
    F_BIN,  /* bin                          -> rkv_bytes */
    F_B32,  /* bin, exactly 32 bytes        -> rkv_bytes */
    F_ID,   /* str, 40 lowercase hex chars  -> rkv_bytes */
    F_STR,  /* str                          -> rkv_bytes */
    F_TIME, /* int 0 .. INT64_MAX           -> int64_t */
    F_U64,  /* int 0 .. UINT64_MAX          -> uint64_t */
    F_U32,  /* int 0 .. UINT32_MAX          -> uint32_t */
    F_U16,  /* int 0 .. 65535               -> uint16_t */
    F_INT   /* int INT_MIN .. INT_MAX       -> int */
};

struct field {
    const char *name;
    unsigned char kind;
    unsigned short off; /* offsetof(rkv_msg, ...) */
};

struct schema {
    unsigned type;
    const char *name;
    unsigned nfields; /* after the type code */
    struct field f[5];
};

#define FLD(n, k, member)                                                      \
    {                                                                          \
        n, k, offsetof(rkv_msg, member)                                        \
    }

static const struct schema schemas[] = {
    {RKV_REC_SET,
     "SET",
     3,
     {FLD("key", F_KEY, set.key), FLD("value", F_BIN, set.val),
      FLD("expire_at", F_TIME, set.expire_at)}},
    {RKV_REC_DEL, "DEL", 1, {FLD("key", F_KEY, key.key)}},
    {RKV_REC_EXPIREAT,
     "EXPIREAT",
     2,
     {FLD("key", F_KEY, expireat.key), FLD("at", F_TIME, expireat.at)}},
    {RKV_REC_PERSIST, "PERSIST", 1, {FLD("key", F_KEY, key.key)}},
    {RKV_REC_FLUSH, "FLUSH", 0, {{0}}},
    {RKV_REC_PING, "PING", 1, {FLD("unix_ms", F_TIME, ping.unix_ms)}},
    {RKV_MSG_HELLO,
     "HELLO",
     5,
     {FLD("version", F_U32, hello.version), FLD("node_id", F_ID, hello.node_id),
      FLD("nonce", F_B32, hello.nonce), FLD("listen_port", F_U16, hello.port),
      FLD("flags", F_U32, hello.flags)}},
    {RKV_MSG_AUTH, "AUTH", 1, {FLD("proof", F_B32, auth.proof)}},
    {RKV_MSG_PSYNC,
     "PSYNC",
     2,
     {FLD("replid", F_ID, sync.replid), FLD("offset", F_TIME, sync.offset)}},
    {RKV_MSG_FULLRESYNC,
     "FULLRESYNC",
     2,
     {FLD("replid", F_ID, sync.replid), FLD("offset", F_TIME, sync.offset)}},
    {RKV_MSG_CONTINUE,
     "CONTINUE",
     2,
     {FLD("replid", F_ID, sync.replid), FLD("offset", F_TIME, sync.offset)}},
    {RKV_MSG_SNAP_END,
     "SNAP_END",
     2,
     {FLD("key_count", F_U64, snap_end.key_count),
      FLD("end_offset", F_TIME, snap_end.end_offset)}},
    {RKV_MSG_ACK, "ACK", 1, {FLD("offset", F_TIME, ack.offset)}},
    {RKV_MSG_ERROR,
     "ERROR",
     2,
     {FLD("code", F_INT, error.code), FLD("message", F_STR, error.message)}},
    {RKV_MSG_PING_LINK, "PING_LINK", 1, {FLD("unix_ms", F_TIME, ping.unix_ms)}},
};

static const struct schema *schema_of(uint64_t type)
{
    /* Dense enough to index: records 1..6, link messages 64..72. */
    size_t i;
    if (type >= RKV_REC_SET && type <= RKV_REC_PING)
        i = (size_t)type - RKV_REC_SET;
    else if (type >= RKV_MSG_HELLO && type <= RKV_MSG_PING_LINK)
        i = (size_t)(type - RKV_MSG_HELLO) + 6;
    else
        return NULL;
    return &schemas[i];
}

const char *rkv_msg_name(unsigned type)
{
    const struct schema *s = schema_of(type);
    return s ? s->name : "UNKNOWN";
}

/* ---------------------------------------------------------------- frames */

int rkv_frame_parse(const void *data, size_t avail, size_t max_payload,
                    rkv_frame *f)
{
    const uint8_t *p = data;
    f->payload = NULL;
    f->len = 0;
    if (avail < RKV_FRAME_HDR) {
        f->size = RKV_FRAME_HDR;
        return 0;
    }
    uint32_t len = get_be32(p);
    if (len > max_payload) {
        f->size = 0;
        return rkv_fail(REPLKV_ETOOBIG,
                        "frame: payload of %" PRIu32 " bytes, limit %zu", len,
                        max_payload);
    }
#if SIZE_MAX <= UINT32_MAX
    /* Only a 32-bit size_t can overflow RKV_FRAME_HDR + len. */
    if (len > SIZE_MAX - RKV_FRAME_HDR) {
        f->size = 0;
        return rkv_fail(
            REPLKV_ETOOBIG,
            "frame: payload of %" PRIu32 " bytes does not fit in memory", len);
    }
#endif
    f->size = RKV_FRAME_HDR + (size_t)len;
    if (avail - RKV_FRAME_HDR < len)
        return 0;
    uint64_t want = get_be64(p + 4);
    uint64_t got = XXH3_64bits(p + RKV_FRAME_HDR, len);
    if (want != got) {
        f->size = 0;
        return rkv_fail(REPLKV_ECORRUPT,
                        "frame: checksum mismatch over %" PRIu32
                        " payload bytes (header %016" PRIx64
                        ", computed %016" PRIx64 ")",
                        len, want, got);
    }
    f->payload = p + RKV_FRAME_HDR;
    f->len = len;
    return 1;
}

size_t rkv_frame_limit(size_t max_bulk)
{
    uint64_t n = (uint64_t)max_bulk;
    if (n > (UINT32_MAX - RKV_SET_OVERHEAD) / 2)
        return UINT32_MAX;
    return (size_t)(2 * n + RKV_SET_OVERHEAD);
}

/* Reserves room for a frame whose payload is at most max_payload bytes and
 * leaves a hole for the header; *start is where the frame begins. The
 * header is written by frame_end() once the payload is packed behind it, so
 * nothing is copied. */
static int frame_begin(rkv_buf *b, uint64_t max_payload, size_t *start)
{
    if (max_payload > SIZE_MAX - RKV_FRAME_HDR)
        return rkv_fail(REPLKV_ETOOBIG, "frame: %" PRIu64 " bytes",
                        max_payload);
    int rc = rkv_buf_reserve(b, RKV_FRAME_HDR + (size_t)max_payload);
    if (rc != 0)
        return rc;
    *start = b->len;
    b->len += RKV_FRAME_HDR;
    return 0;
}

static int frame_end(rkv_buf *b, size_t start)
{
    uint8_t *hdr = b->data + start;
    size_t len = b->len - start - RKV_FRAME_HDR;
    if (len > UINT32_MAX) {
        b->len = start;
        return rkv_fail(REPLKV_ETOOBIG,
                        "frame: payload of %zu bytes is over "
                        "the 4 GiB - 1 a frame can carry",
                        len);
    }
    put_be32(hdr, (uint32_t)len);
    put_be64(hdr + 4, XXH3_64bits(hdr + RKV_FRAME_HDR, len));
    return 0;
}

/* msgpack_packer's sink. Room was reserved up front, so this never
 * reallocates in practice; it still checks. */
static int pk_write(void *data, const char *p, size_t n)
{
    return rkv_buf_append(data, p, n);
}

/* ------------------------------------------------------------- encoding */

int rkv_frame_put_set(rkv_buf *b, const void *key, size_t klen, const void *val,
                      size_t vlen, int64_t expire_at)
{
    if (klen == 0 || key == NULL || (val == NULL && vlen > 0))
        return rkv_fail(REPLKV_EINVAL, "SET: empty or NULL key or value");
    if (expire_at < 0)
        return rkv_fail(REPLKV_EINVAL, "SET: expire_at %" PRId64 " < 0",
                        expire_at);
    uint64_t max = (uint64_t)klen + vlen + RKV_SET_OVERHEAD;
    if (max > UINT32_MAX)
        return rkv_fail(REPLKV_ETOOBIG,
                        "SET: key %zu + value %zu bytes is "
                        "over what a frame can carry",
                        klen, vlen);
    size_t start;
    int rc = frame_begin(b, max, &start);
    if (rc != 0)
        return rc;
    msgpack_packer pk;
    msgpack_packer_init(&pk, b, pk_write);
    if (msgpack_pack_array(&pk, 4) != 0 ||
        msgpack_pack_uint8(&pk, RKV_REC_SET) != 0 ||
        msgpack_pack_bin_with_body(&pk, key, klen) != 0 ||
        msgpack_pack_bin_with_body(&pk, val, vlen) != 0 ||
        msgpack_pack_int64(&pk, expire_at) != 0) {
        b->len = start;
        return REPLKV_ENOMEM; /* detail set by rkv_buf_grow */
    }
    return frame_end(b, start);
}

/* Checks that field fd of m is something the decoder accepts and adds its
 * largest encoded size to *size. */
static int check_field(const struct schema *s, const struct field *fd,
                       const rkv_msg *m, uint64_t *size)
{
    const char *at = (const char *)m + fd->off;
    const rkv_bytes *b = (const rkv_bytes *)(const void *)at;
    switch (fd->kind) {
    case F_KEY:
    case F_BIN:
    case F_B32:
    case F_ID:
    case F_STR:
        if (b->p == NULL && b->len > 0)
            return rkv_fail(REPLKV_EINVAL, "%s: %s is NULL", s->name, fd->name);
        if (fd->kind == F_KEY && b->len == 0)
            return rkv_fail(REPLKV_EINVAL, "%s: empty key", s->name);
        if (fd->kind == F_B32 && b->len != 32)
            return rkv_fail(REPLKV_EINVAL, "%s: %s is %zu bytes, not 32",
                            s->name, fd->name, b->len);
        if (fd->kind == F_ID && !is_hex_id(b->p, b->len))
            return rkv_fail(REPLKV_EINVAL,
                            "%s: %s is not %d lowercase hex "
                            "characters",
                            s->name, fd->name, RKV_ID_LEN);
        if (b->len > UINT32_MAX)
            return rkv_fail(REPLKV_ETOOBIG, "%s: %s of %zu bytes", s->name,
                            fd->name, b->len);
        *size += 5 + (uint64_t)b->len;
        return 0;
    case F_TIME:
        if (*(const int64_t *)(const void *)at < 0)
            return rkv_fail(REPLKV_EINVAL, "%s: %s %" PRId64 " < 0", s->name,
                            fd->name, *(const int64_t *)(const void *)at);
        break;
    default:
        break;
    }
    *size += 9;
    return 0;
}

static int pack_field(msgpack_packer *pk, const struct field *fd,
                      const rkv_msg *m)
{
    const char *at = (const char *)m + fd->off;
    const rkv_bytes *b = (const rkv_bytes *)(const void *)at;
    switch (fd->kind) {
    case F_KEY:
    case F_BIN:
    case F_B32:
        return msgpack_pack_bin_with_body(pk, b->p, b->len);
    case F_ID:
    case F_STR:
        return msgpack_pack_str_with_body(pk, b->p, b->len);
    case F_TIME:
        return msgpack_pack_int64(pk, *(const int64_t *)(const void *)at);
    case F_U64:
        return msgpack_pack_uint64(pk, *(const uint64_t *)(const void *)at);
    case F_U32:
        return msgpack_pack_uint32(pk, *(const uint32_t *)(const void *)at);
    case F_U16:
        return msgpack_pack_uint16(pk, *(const uint16_t *)(const void *)at);
    default: /* F_INT */
        return msgpack_pack_int(pk, *(const int *)(const void *)at);
    }
}

int rkv_msg_encode(rkv_buf *b, const rkv_msg *m)
{
    if (m->type == RKV_REC_SET)
        return rkv_frame_put_set(b, m->set.key.p, m->set.key.len, m->set.val.p,
                                 m->set.val.len, m->set.expire_at);
    const struct schema *s = schema_of(m->type);
    if (s == NULL)
        return rkv_fail(REPLKV_EINVAL, "encode: unknown message type %u",
                        m->type);
    if (m->type == RKV_MSG_HELLO && m->hello.version != RKV_PROTO_VERSION)
        return rkv_fail(REPLKV_EINVAL,
                        "HELLO: version %" PRIu32 ", this library speaks %d",
                        m->hello.version, RKV_PROTO_VERSION);
    uint64_t max = 1 + 9; /* array header, type code */
    for (unsigned i = 0; i < s->nfields; i++) {
        int rc = check_field(s, &s->f[i], m, &max);
        if (rc != 0)
            return rc;
    }
    size_t start;
    int rc = frame_begin(b, max, &start);
    if (rc != 0)
        return rc;
    msgpack_packer pk;
    msgpack_packer_init(&pk, b, pk_write);
    bool ok = msgpack_pack_array(&pk, 1 + s->nfields) == 0 &&
              msgpack_pack_uint8(&pk, (uint8_t)s->type) == 0;
    for (unsigned i = 0; ok && i < s->nfields; i++)
        ok = pack_field(&pk, &s->f[i], m) == 0;
    if (!ok) {
        b->len = start;
        return REPLKV_ENOMEM;
    }
    return frame_end(b, start);
}

/* ------------------------------------------------------------- decoding */

/* How rkv_msgpack_skim() reads the type byte of a msgpack item. */
enum { MP_SCALAR, MP_ARRAY, MP_MAP, MP_BAD };
struct mp_kind {
    uint8_t hdr;  /* big-endian length (or count) bytes after the type byte */
    uint8_t body; /* fixed bytes after those, besides the length read */
    uint8_t what; /* MP_* */
};

/* The type bytes 0xc0..0xdf; the fix* ranges are decoded in
 * rkv_msgpack_skim(). */
static const struct mp_kind mp_c0[32] = {
    /* clang-format off */
    {0, 0, MP_SCALAR}, /* c0 nil */      {0, 0, MP_BAD},    /* c1 unused */
    {0, 0, MP_SCALAR}, /* c2 false */    {0, 0, MP_SCALAR}, /* c3 true */
    {1, 0, MP_SCALAR}, /* c4 bin8 */     {2, 0, MP_SCALAR}, /* c5 bin16 */
    {4, 0, MP_SCALAR}, /* c6 bin32 */    {1, 1, MP_SCALAR}, /* c7 ext8 */
    {2, 1, MP_SCALAR}, /* c8 ext16 */    {4, 1, MP_SCALAR}, /* c9 ext32 */
    {0, 4, MP_SCALAR}, /* ca float32 */  {0, 8, MP_SCALAR}, /* cb float64 */
    {0, 1, MP_SCALAR}, /* cc uint8 */    {0, 2, MP_SCALAR}, /* cd uint16 */
    {0, 4, MP_SCALAR}, /* ce uint32 */   {0, 8, MP_SCALAR}, /* cf uint64 */
    {0, 1, MP_SCALAR}, /* d0 int8 */     {0, 2, MP_SCALAR}, /* d1 int16 */
    {0, 4, MP_SCALAR}, /* d2 int32 */    {0, 8, MP_SCALAR}, /* d3 int64 */
    {0, 2, MP_SCALAR}, /* d4 fixext1 */  {0, 3, MP_SCALAR}, /* d5 fixext2 */
    {0, 5, MP_SCALAR}, /* d6 fixext4 */  {0, 9, MP_SCALAR}, /* d7 fixext8 */
    {0, 17, MP_SCALAR}, /* d8 fixext16 */ {1, 0, MP_SCALAR}, /* d9 str8 */
    {2, 0, MP_SCALAR}, /* da str16 */    {4, 0, MP_SCALAR}, /* db str32 */
    {2, 0, MP_ARRAY},  /* dc array16 */  {4, 0, MP_ARRAY},  /* dd array32 */
    {2, 0, MP_MAP},    /* de map16 */    {4, 0, MP_MAP},    /* df map32 */
    /* clang-format on */
};

/* See stream.h. p[0 .. len) is walked once, without allocating; left[]
 * holds the items still to read at each open level. */
int rkv_msgpack_skim(const void *payload, size_t len)
{
    return rkv_msgpack_skim_limits(payload, len, RKV_MSG_MAX_DEPTH,
                                   RKV_MSG_MAX_ELEMS);
}

int rkv_msgpack_skim_limits(const void *payload, size_t len, int max_depth,
                            uint64_t max_elems)
{
    const uint8_t *p = payload;
    if (max_depth < 1 || max_depth > RKV_SKIM_DEPTH_LIMIT)
        return rkv_fail(REPLKV_EINVAL, "skim: depth limit %d", max_depth);
    uint64_t left[RKV_SKIM_DEPTH_LIMIT + 1]; /* items still to read per level */
    int depth = 0;
    uint64_t elems = 0;
    size_t pos = 0;

    left[0] = 1;
    for (;;) {
        while (depth >= 0 && left[depth] == 0)
            depth--;
        if (depth < 0)
            break;
        left[depth]--;
        if (pos >= len)
            return rkv_fail(REPLKV_EPROTO, "payload: truncated at byte %zu",
                            pos);
        size_t item = pos;
        uint8_t c = p[pos++];
        struct mp_kind k = {0, 0, MP_SCALAR}; /* fixint */
        uint64_t n = 0; /* fix* count or length, else read below */
        if (c >= 0x80 && c <= 0x8f)
            k.what = MP_MAP, n = c & 0x0f;
        else if (c >= 0x90 && c <= 0x9f)
            k.what = MP_ARRAY, n = c & 0x0f;
        else if (c >= 0xa0 && c <= 0xbf)
            n = c & 0x1f; /* fixstr */
        else if (c >= 0xc0 && c <= 0xdf)
            k = mp_c0[c - 0xc0];
        if (k.what == MP_BAD)
            return rkv_fail(REPLKV_EPROTO,
                            "payload: invalid msgpack byte 0x%02x at byte %zu",
                            c, item);
        if (len - pos < k.hdr)
            return rkv_fail(REPLKV_EPROTO,
                            "payload: truncated header at byte %zu", item);
        for (unsigned i = 0; i < k.hdr; i++)
            n = n << 8 | p[pos++];
        if (k.what == MP_SCALAR) {
            uint64_t body = n + k.body;
            if (body > len - pos)
                return rkv_fail(REPLKV_EPROTO,
                                "payload: item at byte %zu declares %" PRIu64
                                " bytes but only %zu follow",
                                item, body, len - pos);
            pos += (size_t)body;
            continue;
        }
        uint64_t count = k.what == MP_MAP ? 2 * n : n; /* keys and values */
        if (count > len - pos)
            return rkv_fail(REPLKV_EPROTO,
                            "payload: %s at byte %zu declares %" PRIu64
                            " elements but only %zu bytes follow",
                            k.what == MP_MAP ? "map" : "array", item, n,
                            len - pos);
        elems += count;
        if (elems > max_elems)
            return rkv_fail(REPLKV_EPROTO,
                            "payload: more than %" PRIu64 " elements",
                            max_elems);
        if (depth + 1 > max_depth)
            return rkv_fail(REPLKV_EPROTO, "payload: nested deeper than %d",
                            max_depth);
        left[++depth] = count;
    }
    if (pos != len)
        return rkv_fail(REPLKV_EPROTO,
                        "payload: %zu trailing bytes after the message",
                        len - pos);
    return 0;
}

static const char *mp_type_name(msgpack_object_type t)
{
    switch (t) {
    case MSGPACK_OBJECT_NIL:
        return "nil";
    case MSGPACK_OBJECT_BOOLEAN:
        return "bool";
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        return "uint";
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        return "negative int";
    case MSGPACK_OBJECT_FLOAT32:
        return "float32";
    case MSGPACK_OBJECT_FLOAT64:
        return "float64";
    case MSGPACK_OBJECT_STR:
        return "str";
    case MSGPACK_OBJECT_ARRAY:
        return "array";
    case MSGPACK_OBJECT_MAP:
        return "map";
    case MSGPACK_OBJECT_BIN:
        return "bin";
    case MSGPACK_OBJECT_EXT:
        return "ext";
    default:
        return "unknown";
    }
}

static int bad_type(const struct schema *s, const struct field *fd,
                    const char *want, const msgpack_object *o)
{
    return rkv_fail(REPLKV_EPROTO, "%s: %s must be %s, got %s", s->name,
                    fd->name, want, mp_type_name(o->type));
}

/* Range-checks an integer object into [lo, hi]. */
static int want_int(const struct schema *s, const struct field *fd,
                    const msgpack_object *o, int64_t lo, uint64_t hi,
                    uint64_t *u, int64_t *i)
{
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
        if (o->via.u64 > hi)
            return rkv_fail(REPLKV_EPROTO,
                            "%s: %s %" PRIu64 " is over %" PRIu64, s->name,
                            fd->name, o->via.u64, hi);
        *u = o->via.u64;
        *i = (int64_t)(o->via.u64 & INT64_MAX);
        return 0;
    }
    if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
        if (o->via.i64 < lo)
            return rkv_fail(REPLKV_EPROTO,
                            "%s: %s %" PRId64 " is under %" PRId64, s->name,
                            fd->name, o->via.i64, lo);
        *u = 0;
        *i = o->via.i64;
        return 0;
    }
    return bad_type(s, fd, "an integer", o);
}

static int get_field(const struct schema *s, const struct field *fd,
                     const msgpack_object *o, rkv_msg *m)
{
    char *at = (char *)m + fd->off;
    rkv_bytes *b = (rkv_bytes *)(void *)at;
    uint64_t u;
    int64_t i;
    int rc;
    switch (fd->kind) {
    case F_KEY:
    case F_BIN:
    case F_B32:
        if (o->type != MSGPACK_OBJECT_BIN)
            return bad_type(s, fd, "bin", o);
        if (fd->kind == F_KEY && o->via.bin.size == 0)
            return rkv_fail(REPLKV_EPROTO, "%s: empty key", s->name);
        if (fd->kind == F_B32 && o->via.bin.size != 32)
            return rkv_fail(REPLKV_EPROTO,
                            "%s: %s is %" PRIu32 " bytes, must be 32", s->name,
                            fd->name, o->via.bin.size);
        b->p = o->via.bin.ptr;
        b->len = o->via.bin.size;
        return 0;
    case F_ID:
    case F_STR:
        if (o->type != MSGPACK_OBJECT_STR)
            return bad_type(s, fd, "str", o);
        if (fd->kind == F_ID && !is_hex_id(o->via.str.ptr, o->via.str.size))
            return rkv_fail(REPLKV_EPROTO,
                            "%s: %s must be %d lowercase hex "
                            "characters (got %" PRIu32 " bytes)",
                            s->name, fd->name, RKV_ID_LEN, o->via.str.size);
        b->p = o->via.str.ptr;
        b->len = o->via.str.size;
        return 0;
    case F_TIME:
        rc = want_int(s, fd, o, 0, INT64_MAX, &u, &i);
        if (rc == 0)
            *(int64_t *)(void *)at = i;
        return rc;
    case F_U64:
        rc = want_int(s, fd, o, 0, UINT64_MAX, &u, &i);
        if (rc == 0)
            *(uint64_t *)(void *)at = u;
        return rc;
    case F_U32:
        rc = want_int(s, fd, o, 0, UINT32_MAX, &u, &i);
        if (rc == 0)
            *(uint32_t *)(void *)at = (uint32_t)u;
        return rc;
    case F_U16:
        rc = want_int(s, fd, o, 0, UINT16_MAX, &u, &i);
        if (rc == 0)
            *(uint16_t *)(void *)at = (uint16_t)u;
        return rc;
    default: /* F_INT */
        rc = want_int(s, fd, o, INT_MIN, INT_MAX, &u, &i);
        if (rc == 0)
            *(int *)(void *)at = (int)i;
        return rc;
    }
}

static int decode_object(const msgpack_object *root, rkv_msg *m)
{
    if (root->type != MSGPACK_OBJECT_ARRAY)
        return rkv_fail(REPLKV_EPROTO, "payload: must be an array, got %s",
                        mp_type_name(root->type));
    const msgpack_object_array *a = &root->via.array;
    if (a->size == 0)
        return rkv_fail(REPLKV_EPROTO, "payload: empty array, no type code");
    const msgpack_object *el = a->ptr;
    if (el[0].type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return rkv_fail(REPLKV_EPROTO,
                        "payload: type code must be uint, "
                        "got %s",
                        mp_type_name(el[0].type));
    const struct schema *s = schema_of(el[0].via.u64);
    if (s == NULL)
        return rkv_fail(REPLKV_EPROTO, "payload: unknown message type %" PRIu64,
                        el[0].via.u64);
    /* HELLO's first field is the version in every protocol version: check
     * it before the shape, which a later version may change. */
    if (s->type == RKV_MSG_HELLO && a->size >= 2 &&
        el[1].type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
        el[1].via.u64 != RKV_PROTO_VERSION)
        return rkv_fail(REPLKV_EVERSION,
                        "HELLO: peer speaks protocol "
                        "version %" PRIu64 ", this node %d",
                        el[1].via.u64, RKV_PROTO_VERSION);
    if (a->size != 1 + s->nfields)
        return rkv_fail(REPLKV_EPROTO, "%s: %" PRIu32 " elements, must be %u",
                        s->name, a->size, 1 + s->nfields);
    m->type = s->type;
    for (unsigned i = 0; i < s->nfields; i++) {
        int rc = get_field(s, &s->f[i], &el[1 + i], m);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* The decode proper: skim bounds every declared count before msgpack-c
 * allocates from it, then msgpack_unpack fills zone (the strings and
 * binaries still point into payload). */
static int decode_in(msgpack_zone *zone, const void *payload, size_t len,
                     rkv_msg *m)
{
    memset(m, 0, sizeof *m);
    if (len == 0)
        return rkv_fail(REPLKV_EPROTO, "payload: empty");
    int rc = rkv_msgpack_skim(payload, len);
    if (rc != 0)
        return rc;
    msgpack_object obj;
    size_t off = 0;
    msgpack_unpack_return ur = msgpack_unpack(payload, len, &off, zone, &obj);
    if (ur == MSGPACK_UNPACK_NOMEM_ERROR)
        rc = rkv_fail(REPLKV_ENOMEM,
                      "payload: out of memory unpacking %zu "
                      "bytes",
                      len);
    else if (ur != MSGPACK_UNPACK_SUCCESS || off != len)
        /* rkv_msgpack_skim() accepted it, so msgpack-c should have too. */
        rc = rkv_fail(REPLKV_EPROTO, "payload: msgpack-c refused it (%d)",
                      (int)ur);
    else
        rc = decode_object(&obj, m);
    msgpack_zone_clear(zone);
    if (rc != 0)
        memset(m, 0, sizeof *m);
    return rc;
}

int rkv_decoder_init(rkv_decoder *d)
{
    if (!msgpack_zone_init(&d->zone, 2048))
        return rkv_fail(REPLKV_ENOMEM, "decoder: out of memory");
    return 0;
}

void rkv_decoder_destroy(rkv_decoder *d)
{
    msgpack_zone_destroy(&d->zone);
}

int rkv_msg_decode_with(rkv_decoder *d, const void *payload, size_t len,
                        rkv_msg *m)
{
    return decode_in(&d->zone, payload, len, m);
}

int rkv_msg_decode(const void *payload, size_t len, rkv_msg *m)
{
    rkv_decoder d;
    int rc = rkv_decoder_init(&d);
    if (rc != 0)
        return rc;
    rc = decode_in(&d.zone, payload, len, m);
    rkv_decoder_destroy(&d);
    return rc;
}
