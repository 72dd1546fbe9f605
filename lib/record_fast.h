/*
 * record_fast.h - the hot records (SET, DEL) encoded and decoded by hand,
 * byte-for-byte in the format of lib/stream.h, for the write path and the
 * replica's apply loop, where msgpack-c's packer callbacks and its
 * per-message zone allocation cost more than the work itself.
 *
 * The decoder accepts only a strict subset of what rkv_msg_decode()
 * accepts (checked against it in tests/unit/check_journal.c); anything it
 * does not recognise is left to rkv_msg_decode(), which gives the detailed
 * error. Every length is checked against the bytes that are there.
 */
#ifndef RKV_RECORD_FAST_H
#define RKV_RECORD_FAST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stream.h"

/* Largest frame rkv_fast_put_set() writes for a key and value. */
static inline size_t rkv_fast_set_size(size_t klen, size_t vlen)
{
    return RKV_FRAME_HDR + RKV_SET_OVERHEAD + klen + vlen;
}

/* Writes a whole SET frame into out (at least rkv_fast_set_size() bytes)
 * and returns its size. klen >= 1, klen + vlen + overhead < 4 GiB,
 * expire_at >= 0: the caller checked. */
size_t rkv_fast_put_set(uint8_t *out, const void *key, size_t klen,
                        const void *val, size_t vlen, int64_t expire_at);

/* Decodes payload as SET or DEL into *m (pointing into payload) and
 * returns true; false if it is anything else or not in the canonical form
 * (then *m is unspecified: use rkv_msg_decode()). */
bool rkv_fast_decode(const uint8_t *p, size_t len, rkv_msg *m);

#endif /* RKV_RECORD_FAST_H */
