/*
 * buf.h - a growable byte buffer: frames are encoded into one, received
 * bytes are gathered in one until they hold a whole frame.
 *
 * Not thread-safe; the owner serialises access. After any call that can
 * grow the buffer, pointers into data are stale.
 */
#ifndef RKV_BUF_H
#define RKV_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "internal.h"

typedef struct rkv_buf {
    uint8_t *data; /* NULL until the first byte is reserved */
    size_t len;    /* bytes in use, data[0 .. len) */
    size_t cap;    /* bytes allocated */
} rkv_buf;

/* An empty buffer that owns no memory (all-zero is the same). */
void rkv_buf_init(rkv_buf *b);

/* Releases the memory and leaves b empty, as after rkv_buf_init(). NULL is a
 * no-op. */
void rkv_buf_free(rkv_buf *b);

/* Appends printf-formatted text, keeping a NUL after it (not counted in
 * len), so that data is a C string once anything was appended. Returns 0;
 * REPLKV_ENOMEM (also for a format error), b unchanged. */
int rkv_buf_printf(rkv_buf *b, const char *fmt, ...) RKV_PRINTF(2, 3);
int rkv_buf_vprintf(rkv_buf *b, const char *fmt, va_list ap);

/* Slow path of rkv_buf_reserve(). */
int rkv_buf_grow(rkv_buf *b, size_t extra);

/* Makes room for at least extra more bytes after len (capacity at least
 * doubles, so appends are amortised O(1)). Returns 0; REPLKV_ENOMEM (also
 * when len + extra overflows), b unchanged. */
static inline int rkv_buf_reserve(rkv_buf *b, size_t extra)
{
    if (RKV_LIKELY(b->cap - b->len >= extra))
        return 0;
    return rkv_buf_grow(b, extra);
}

/* Appends n bytes from p (p may be NULL when n is 0). Returns 0;
 * REPLKV_ENOMEM, b unchanged. */
static inline int rkv_buf_append(rkv_buf *b, const void *p, size_t n)
{
    int rc = rkv_buf_reserve(b, n);
    if (RKV_UNLIKELY(rc != 0))
        return rc;
    if (n > 0)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

/* Drops the first n bytes (all of them if n >= len), moving the rest to
 * the front. Keeps the capacity. */
void rkv_buf_consume(rkv_buf *b, size_t n);

/* Empties the buffer and keeps the capacity. */
static inline void rkv_buf_clear(rkv_buf *b)
{
    b->len = 0;
}

#endif /* RKV_BUF_H */
