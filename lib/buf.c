/*
 * buf.c - the growable byte buffer (see buf.h).
 */
#include "buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

void rkv_buf_init(rkv_buf *b)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void rkv_buf_free(rkv_buf *b)
{
    if (b == NULL)
        return;
    free(b->data);
    rkv_buf_init(b);
}

int rkv_buf_grow(rkv_buf *b, size_t extra)
{
    if (extra > SIZE_MAX - b->len)
        return rkv_fail(REPLKV_ENOMEM, "buffer: %zu + %zu bytes overflows",
                        b->len, extra);
    size_t need = b->len + extra;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap < 64 ? 64 : b->cap;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    uint8_t *p = realloc(b->data, cap);
    if (p == NULL)
        return rkv_fail(REPLKV_ENOMEM, "buffer: cannot grow to %zu bytes", cap);
    b->data = p;
    b->cap = cap;
    return 0;
}

void rkv_buf_consume(rkv_buf *b, size_t n)
{
    if (n >= b->len) {
        b->len = 0;
        return;
    }
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
}

int rkv_buf_vprintf(rkv_buf *b, const char *fmt, va_list ap)
{
    size_t room = b->cap - b->len;
    for (;;) {
        va_list again;
        va_copy(again, ap);
        int n = vsnprintf(room ? (char *)b->data + b->len : NULL, room, fmt,
                          again);
        va_end(again);
        if (n < 0)
            return rkv_fail(REPLKV_ENOMEM, "buffer: bad format '%s'", fmt);
        if ((size_t)n < room) {
            b->len += (size_t)n;
            return 0;
        }
        int rc = rkv_buf_grow(b, (size_t)n + 1);
        if (rc != 0)
            return rc;
        room = b->cap - b->len;
    }
}

int rkv_buf_printf(rkv_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = rkv_buf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}
