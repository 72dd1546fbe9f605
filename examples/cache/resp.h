/*
 * resp.h - the RESP2 request parser, sans I/O. It reads requests out of a
 * caller's buffer in place: arguments are (offset, length) pairs into that
 * buffer, so no argument is copied and no request allocates once the
 * argument vector has grown to its working size. The parser keeps its state
 * between calls, so a request split across any number of reads is parsed
 * once, and a large bulk is never rescanned.
 *
 * Both request forms Redis accepts: multibulk ("*2\r\n$3\r\nGET\r\n...") and
 * inline ("GET key\r\n", with Redis's quoting rules), with Redis's limits and
 * its exact protocol-error texts.
 */
#ifndef CACHE_RESP_H
#define CACHE_RESP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RESP_MAX_INLINE (64 * 1024)        /* PROTO_INLINE_MAX_SIZE */
#define RESP_MAX_MULTIBULK (1024 * 1024)   /* most arguments in a request */
#define RESP_UNAUTH_MAX_MULTIBULK 10       /* before AUTH, as Redis 7 */
#define RESP_UNAUTH_MAX_BULK 16384         /* before AUTH, as Redis 7 */

typedef struct resp_arg {
    size_t off; /* into the caller's buffer */
    size_t len;
} resp_arg;

typedef struct resp_parser {
    /* Limits, set by the owner and read on every call. */
    uint64_t max_bulk;  /* proto-max-bulk-len */
    bool unauth;        /* apply the tighter pre-AUTH limits */

    /* State. */
    int state;
    size_t pos;       /* next byte to parse */
    size_t start;     /* first byte of the request being parsed */
    size_t scanned;   /* bytes already searched for a line end */
    long long mb_left;  /* bulks still expected in this multibulk */
    long long bulklen;  /* length of the bulk being read */

    resp_arg *argv;
    size_t argc, argv_cap;

    const char *err; /* after RESP_ERROR: the reply, without "-" and CRLF */
    char errbuf[64];
} resp_parser;

enum {
    RESP_NEED_MORE = 0, /* no complete request yet: read more */
    RESP_REQUEST = 1,   /* argv[0..argc) is a request; pos is past it */
    RESP_ERROR = -1,    /* protocol error: reply err, then close */
    RESP_NOMEM = -2
};

/* A parser in its initial state with the given bulk limit. */
void resp_init(resp_parser *p, uint64_t max_bulk);

/* Frees the argument vector. */
void resp_free(resp_parser *p);

/* Parses the next request from buf[0..len). Bytes before p->pos were
 * consumed by earlier calls over the same buffer contents. Inline requests
 * are unescaped in place, so buf is modified. Empty requests ("*0", a blank
 * line) are skipped. */
int resp_parse(resp_parser *p, char *buf, size_t len);

/* How many more bytes the request being parsed is known to need (0 when
 * unknown): lets the owner size its buffer once for a large bulk. */
size_t resp_wanted(const resp_parser *p, size_t len);

/* The owner dropped the first n bytes of its buffer: shift
 * every offset down by n. n <= resp_consumed(p). */
void resp_shift(resp_parser *p, size_t n);

/* Bytes at the front of the buffer that no request needs any more: the
 * owner may drop them and then call resp_shift(). */
size_t resp_consumed(const resp_parser *p);

/* True when no request is partly parsed. */
bool resp_idle(const resp_parser *p);

/* Splits a line the way redis-cli and redis.conf do (Redis's sdssplitargs):
 * words separated by blanks, "double quotes" with \n \r \t \b \a \\ \" and
 * \xHH escapes, 'single quotes' with \' only; a closing quote must be
 * followed by a blank or the end. Unescapes in place inside s[0..len) and
 * stores the words as offsets into s in *argv, grown with realloc (*cap is
 * its size; the caller frees it). Returns the number of words, -1 for
 * unbalanced quotes, -2 when out of memory. */
long resp_splitargs(char *s, size_t len, resp_arg **argv, size_t *cap);

#endif /* CACHE_RESP_H */
