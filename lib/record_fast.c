/*
 * record_fast.c - hand-rolled SET/DEL frames (see record_fast.h).
 */
#include "record_fast.h"

#include <string.h>
#include <xxhash.h>

static inline void be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static inline void be64(uint8_t *p, uint64_t v)
{
    be32(p, (uint32_t)(v >> 32));
    be32(p + 4, (uint32_t)v);
}

static size_t put_bin(uint8_t *p, const void *b, size_t n)
{
    size_t h;
    if (n <= 0xff) {
        p[0] = 0xc4;
        p[1] = (uint8_t)n;
        h = 2;
    } else if (n <= 0xffff) {
        p[0] = 0xc5;
        p[1] = (uint8_t)(n >> 8);
        p[2] = (uint8_t)n;
        h = 3;
    } else {
        p[0] = 0xc6;
        be32(p + 1, (uint32_t)n);
        h = 5;
    }
    if (n > 0)
        memcpy(p + h, b, n);
    return h + n;
}

size_t rkv_fast_put_set(uint8_t *out, const void *key, size_t klen,
                        const void *val, size_t vlen, int64_t expire_at)
{
    uint8_t *p = out + RKV_FRAME_HDR;
    size_t n = 0;
    p[n++] = 0x94;
    p[n++] = RKV_REC_SET;
    n += put_bin(p + n, key, klen);
    n += put_bin(p + n, val, vlen);
    if (expire_at < 128) {
        p[n++] = (uint8_t)expire_at;
    } else {
        p[n++] = 0xcf;
        be64(p + n, (uint64_t)expire_at);
        n += 8;
    }
    be32(out, (uint32_t)n);
    be64(out + 4, XXH3_64bits(p, n));
    return RKV_FRAME_HDR + n;
}

/* A bin at p[*pos]: its body must lie inside len. */
static bool get_bin(const uint8_t *p, size_t len, size_t *pos, rkv_bytes *b)
{
    size_t i = *pos;
    if (i >= len)
        return false;
    size_t n, h;
    switch (p[i]) {
    case 0xc4:
        if (len - i < 2)
            return false;
        n = p[i + 1];
        h = 2;
        break;
    case 0xc5:
        if (len - i < 3)
            return false;
        n = (size_t)p[i + 1] << 8 | p[i + 2];
        h = 3;
        break;
    case 0xc6:
        if (len - i < 5)
            return false;
        n = (size_t)p[i + 1] << 24 | (size_t)p[i + 2] << 16 |
            (size_t)p[i + 3] << 8 | p[i + 4];
        h = 5;
        break;
    default:
        return false;
    }
    if (n > len - i - h)
        return false;
    b->p = p + i + h;
    b->len = n;
    *pos = i + h + n;
    return true;
}

bool rkv_fast_decode(const uint8_t *p, size_t len, rkv_msg *m)
{
    if (len < 4)
        return false;
    size_t pos = 2;
    if (p[0] == 0x92 && p[1] == RKV_REC_DEL) {
        m->type = RKV_REC_DEL;
        return get_bin(p, len, &pos, &m->key.key) && m->key.key.len > 0 &&
               pos == len;
    }
    if (p[0] != 0x94 || p[1] != RKV_REC_SET)
        return false;
    m->type = RKV_REC_SET;
    if (!get_bin(p, len, &pos, &m->set.key) || m->set.key.len == 0 ||
        !get_bin(p, len, &pos, &m->set.val) || pos >= len)
        return false;
    uint8_t c = p[pos++];
    if (c < 0x80) {
        m->set.expire_at = c;
    } else if (c >= 0xcc && c <= 0xcf && len - pos >= (1u << (c - 0xcc))) {
        /* uint 8, 16, 32, 64: the forms msgpack-c picks for v >= 0. */
        uint64_t v = 0;
        for (unsigned i = 0; i < (1u << (c - 0xcc)); i++)
            v = v << 8 | p[pos++];
        if (v > (uint64_t)INT64_MAX)
            return false;
        m->set.expire_at = (int64_t)v;
    } else {
        return false;
    }
    return pos == len;
}
