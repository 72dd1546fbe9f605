/*
 * reply.c - RESP2 reply encoding into an rbuf (see reply.h).
 */
#include "reply.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

void rbuf_free(rbuf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
    b->oom = false;
}

bool rbuf_reserve(rbuf *b, size_t n)
{
    if (b->oom)
        return false;
    if (b->cap - b->len >= n)
        return true;
    size_t cap = b->cap ? b->cap : 1024;
    while (cap - b->len < n) {
        if (cap > ((size_t)-1) / 2) {
            b->oom = true;
            return false;
        }
        cap *= 2;
    }
    char *d = realloc(b->data, cap);
    if (d == NULL) {
        b->oom = true;
        return false;
    }
    b->data = d;
    b->cap = cap;
    return true;
}

void reply_raw(rbuf *b, const void *p, size_t n)
{
    if (n == 0)
        return;
    if (!rbuf_reserve(b, n))
        return;
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

/* prefix, a decimal and CRLF: the headers of every type. */
static void header(rbuf *b, char prefix, long long v)
{
    if (!rbuf_reserve(b, 24))
        return;
    char *d = b->data + b->len;
    d[0] = prefix;
    size_t n = 1 + util_ll2str(d + 1, v);
    d[n++] = '\r';
    d[n++] = '\n';
    b->len += n;
}

void reply_simple(rbuf *b, const char *s)
{
    size_t n = strlen(s);
    if (!rbuf_reserve(b, n + 3))
        return;
    char *d = b->data + b->len;
    d[0] = '+';
    memcpy(d + 1, s, n);
    d[n + 1] = '\r';
    d[n + 2] = '\n';
    b->len += n + 3;
}

void reply_error(rbuf *b, const char *msg)
{
    size_t n = strlen(msg);
    if (!rbuf_reserve(b, n + 3))
        return;
    char *d = b->data + b->len;
    d[0] = '-';
    for (size_t i = 0; i < n; i++)
        d[i + 1] = (msg[i] == '\r' || msg[i] == '\n') ? ' ' : msg[i];
    d[n + 1] = '\r';
    d[n + 2] = '\n';
    b->len += n + 3;
}

void reply_addf(rbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    va_list again;
    va_copy(again, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n >= 0 && rbuf_reserve(b, (size_t)n + 1)) {
        vsnprintf(b->data + b->len, (size_t)n + 1, fmt, again);
        b->len += (size_t)n;
    }
    va_end(again);
}

void reply_errorf(rbuf *b, const char *fmt, ...)
{
    char small[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof small) {
        reply_error(b, small);
        return;
    }
    char *big = malloc((size_t)n + 1);
    if (big == NULL) {
        b->oom = true;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    reply_error(b, big);
    free(big);
}

void reply_int(rbuf *b, long long v)
{
    if (v == 0) {
        reply_raw(b, ":0\r\n", 4);
        return;
    }
    if (v == 1) {
        reply_raw(b, ":1\r\n", 4);
        return;
    }
    header(b, ':', v);
}

char *reply_bulk_reserve(rbuf *b, size_t n)
{
    if (!rbuf_reserve(b, n + 26))
        return NULL;
    header(b, '$', (long long)n);
    char *d = b->data + b->len;
    d[n] = '\r';
    d[n + 1] = '\n';
    b->len += n + 2;
    return d;
}

void reply_bulk(rbuf *b, const void *p, size_t n)
{
    char *d = reply_bulk_reserve(b, n);
    if (d != NULL && n > 0)
        memcpy(d, p, n);
}

void reply_bulk_cstr(rbuf *b, const char *s)
{
    reply_bulk(b, s, strlen(s));
}

void reply_bulk_ll(rbuf *b, long long v)
{
    char tmp[24];
    size_t n = util_ll2str(tmp, v);
    reply_bulk(b, tmp, n);
}

void reply_null(rbuf *b)
{
    reply_raw(b, "$-1\r\n", 5);
}

void reply_null_array(rbuf *b)
{
    reply_raw(b, "*-1\r\n", 5);
}

void reply_array(rbuf *b, size_t n)
{
    header(b, '*', (long long)n);
}
