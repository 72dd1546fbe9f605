/*
 * reply.h - the RESP2 reply writer: replies are appended to a growable
 * buffer (one per read batch, written to the socket once), so a pipeline of
 * a thousand GETs costs one write and no allocation once the buffer has
 * grown. An allocation failure marks the buffer; its owner drops the client
 * instead of sending a partial reply.
 */
#ifndef CACHE_REPLY_H
#define CACHE_REPLY_H

#include <stdbool.h>
#include <stddef.h>

typedef struct rbuf {
    char *data;
    size_t len, cap;
    bool oom;
} rbuf;

void rbuf_free(rbuf *b);

/* Makes room for n more bytes; false (and b->oom) when out of memory. */
bool rbuf_reserve(rbuf *b, size_t n);

void reply_raw(rbuf *b, const void *p, size_t n);
/* "+s\r\n"; s must not contain CR or LF. */
void reply_simple(rbuf *b, const char *s);
/* "-msg\r\n": msg starts with its code ("ERR ...", "WRONGPASS ..."); CR and
 * LF in msg become spaces, as Redis does. */
void reply_error(rbuf *b, const char *msg);
void reply_errorf(rbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Appends printf-formatted text as it is (INFO text, metrics), of any
 * length. */
void reply_addf(rbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void reply_int(rbuf *b, long long v);
void reply_bulk(rbuf *b, const void *p, size_t n);
void reply_bulk_cstr(rbuf *b, const char *s);
void reply_bulk_ll(rbuf *b, long long v);
void reply_null(rbuf *b);       /* "$-1": a nil bulk */
void reply_null_array(rbuf *b); /* "*-1": a nil array */
void reply_array(rbuf *b, size_t n);

/* A bulk whose length is known before its bytes: writes the header, reserves
 * n bytes (plus CRLF) and returns where to put them, or NULL when out of
 * memory. The caller fills exactly n bytes; the CRLF is already written. */
char *reply_bulk_reserve(rbuf *b, size_t n);

#endif /* CACHE_REPLY_H */
