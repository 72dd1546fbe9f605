/*
 * resp.c - RESP2 request parsing (see resp.h). The limits and error texts
 * are Redis's (networking.c, processMultibulkBuffer / processInlineBuffer),
 * so clients and tests written against Redis see the same replies.
 */
#include "resp.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

enum { S_START = 0, S_BULK_HEADER, S_BULK_DATA };

void resp_init(resp_parser *p, uint64_t max_bulk)
{
    memset(p, 0, sizeof *p);
    p->max_bulk = max_bulk;
}

void resp_free(resp_parser *p)
{
    free(p->argv);
    p->argv = NULL;
    p->argc = p->argv_cap = 0;
}

static int fail(resp_parser *p, const char *msg)
{
    p->err = msg;
    return RESP_ERROR;
}

static bool push_arg(resp_parser *p, size_t off, size_t len)
{
    if (p->argc == p->argv_cap) {
        /* Grow by doubling, but never past what the header announced, so a
         * header that claims a million arguments costs nothing until they
         * arrive. */
        size_t cap = p->argv_cap ? p->argv_cap * 2 : 8;
        if (p->state != S_START && (long long)(cap - p->argc) > p->mb_left)
            cap = p->argc + (size_t)p->mb_left;
        resp_arg *a = realloc(p->argv, cap * sizeof *a);
        if (a == NULL)
            return false;
        p->argv = a;
        p->argv_cap = cap;
    }
    p->argv[p->argc].off = off;
    p->argv[p->argc].len = len;
    p->argc++;
    return true;
}

/* Finds the CR that ends the line starting at p->pos. Returns its offset,
 * or -1 when the line is not complete yet (CR and the byte after it must
 * both be there, as Redis requires). */
static long long find_line(resp_parser *p, const char *buf, size_t len)
{
    size_t from = p->scanned > p->pos ? p->scanned : p->pos;
    const char *cr = from < len ? memchr(buf + from, '\r', len - from) : NULL;
    if (cr == NULL) {
        p->scanned = len;
        return -1;
    }
    size_t at = (size_t)(cr - buf);
    if (at + 1 >= len) {
        p->scanned = at;
        return -1;
    }
    return (long long)at;
}

static int parse_multibulk_count(resp_parser *p, char *buf, size_t len)
{
    long long at = find_line(p, buf, len);
    if (at < 0) {
        if (len - p->pos > RESP_MAX_INLINE)
            return fail(p, "Protocol error: too big mbulk count string");
        return RESP_NEED_MORE;
    }
    long long n;
    bool ok = util_str2ll(buf + p->pos + 1, (size_t)at - p->pos - 1, &n);
    if (!ok || n > RESP_MAX_MULTIBULK)
        return fail(p, "Protocol error: invalid multibulk length");
    if (n > RESP_UNAUTH_MAX_MULTIBULK && p->unauth)
        return fail(p, "Protocol error: unauthenticated multibulk length");
    p->pos = (size_t)at + 2;
    p->scanned = p->pos;
    if (n <= 0) /* "*0" and "*-1": an empty request, skipped */
        return RESP_REQUEST;
    p->mb_left = n;
    p->state = S_BULK_HEADER;
    return RESP_NEED_MORE;
}

static int parse_bulk_header(resp_parser *p, char *buf, size_t len)
{
    if (p->pos >= len)
        return RESP_NEED_MORE;
    if (buf[p->pos] != '$') {
        char c = buf[p->pos];
        if (c == '\r' || c == '\n')
            c = ' ';
        memcpy(p->errbuf, "Protocol error: expected '$', got ' '", 38);
        p->errbuf[35] = c;
        return fail(p, p->errbuf);
    }
    long long at = find_line(p, buf, len);
    if (at < 0) {
        if (len - p->pos > RESP_MAX_INLINE)
            return fail(p, "Protocol error: too big bulk count string");
        return RESP_NEED_MORE;
    }
    long long n;
    bool ok = util_str2ll(buf + p->pos + 1, (size_t)at - p->pos - 1, &n);
    if (!ok || n < 0 || (unsigned long long)n > p->max_bulk)
        return fail(p, "Protocol error: invalid bulk length");
    if (n > RESP_UNAUTH_MAX_BULK && p->unauth)
        return fail(p, "Protocol error: unauthenticated bulk length");
    p->pos = (size_t)at + 2;
    p->scanned = p->pos;
    p->bulklen = n;
    p->state = S_BULK_DATA;
    return RESP_NEED_MORE;
}

static int parse_inline(resp_parser *p, char *buf, size_t len)
{
    size_t from = p->scanned > p->pos ? p->scanned : p->pos;
    const char *nl = from < len ? memchr(buf + from, '\n', len - from) : NULL;
    if (nl == NULL) {
        p->scanned = len;
        if (len - p->pos > RESP_MAX_INLINE)
            return fail(p, "Protocol error: too big inline request");
        return RESP_NEED_MORE;
    }
    size_t end = (size_t)(nl - buf);
    size_t next = end + 1;
    if (end - p->pos > RESP_MAX_INLINE)
        return fail(p, "Protocol error: too big inline request");
    if (end > p->pos && buf[end - 1] == '\r')
        end--;
    long n = resp_splitargs(buf + p->pos, end - p->pos, &p->argv,
                            &p->argv_cap);
    if (n == -1)
        return fail(p, "Protocol error: unbalanced quotes in request");
    if (n < 0)
        return RESP_NOMEM;
    for (long i = 0; i < n; i++)
        p->argv[i].off += p->pos;
    p->argc = (size_t)n;
    p->pos = next;
    p->scanned = next;
    return RESP_REQUEST; /* argc may be 0: an empty line, skipped */
}

int resp_parse(resp_parser *p, char *buf, size_t len)
{
    for (;;) {
        int rc;
        switch (p->state) {
        case S_START:
            p->argc = 0;
            p->start = p->pos;
            if (p->pos >= len)
                return RESP_NEED_MORE;
            if (buf[p->pos] == '*') {
                rc = parse_multibulk_count(p, buf, len);
                if (rc == RESP_REQUEST) /* empty */
                    continue;
            } else {
                rc = parse_inline(p, buf, len);
                if (rc == RESP_REQUEST && p->argc == 0)
                    continue;
            }
            if (rc != RESP_NEED_MORE || p->state == S_START)
                return rc;
            break;
        case S_BULK_HEADER:
            rc = parse_bulk_header(p, buf, len);
            if (rc != RESP_NEED_MORE || p->state == S_BULK_HEADER)
                return rc;
            break;
        case S_BULK_DATA: {
            size_t need = (size_t)p->bulklen + 2;
            if (len - p->pos < need)
                return RESP_NEED_MORE;
            /* Redis skips the two bytes after the data without looking. */
            if (!push_arg(p, p->pos, (size_t)p->bulklen))
                return RESP_NOMEM;
            p->pos += need;
            p->scanned = p->pos;
            if (--p->mb_left == 0) {
                p->state = S_START;
                return RESP_REQUEST;
            }
            p->state = S_BULK_HEADER;
            break;
        }
        default:
            return fail(p, "Protocol error: parser state");
        }
    }
}

size_t resp_wanted(const resp_parser *p, size_t len)
{
    if (p->state != S_BULK_DATA)
        return 0;
    size_t end = p->pos + (size_t)p->bulklen + 2;
    return end > len ? end - len : 0;
}

size_t resp_consumed(const resp_parser *p)
{
    return p->state == S_START ? p->pos : p->start;
}

bool resp_idle(const resp_parser *p)
{
    return p->state == S_START;
}

void resp_shift(resp_parser *p, size_t n)
{
    p->pos -= n;
    p->start = p->start >= n ? p->start - n : 0;
    p->scanned = p->scanned >= n ? p->scanned - n : 0;
    if (p->state != S_START)
        for (size_t i = 0; i < p->argc; i++)
            p->argv[i].off -= n;
}

/* ------------------------------------------------------------ splitargs */

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static bool grow_args(resp_arg **argv, size_t *cap, size_t n)
{
    if (n < *cap)
        return true;
    size_t ncap = *cap ? *cap * 2 : 8;
    resp_arg *a = realloc(*argv, ncap * sizeof *a);
    if (a == NULL)
        return false;
    *argv = a;
    *cap = ncap;
    return true;
}

long resp_splitargs(char *s, size_t len, resp_arg **argv, size_t *cap)
{
    /* A NUL ends the line, as it does for Redis's C-string splitter. */
    const char *z = memchr(s, '\0', len);
    if (z != NULL)
        len = (size_t)(z - s);
    size_t i = 0;
    long n = 0;
    for (;;) {
        while (i < len && isspace((unsigned char)s[i]))
            i++;
        if (i >= len)
            return n;
        /* The unescaped word is written at w, which never passes i. */
        size_t w = i, start = i;
        bool inq = false, insq = false, done = false;
        while (!done) {
            if (inq) {
                if (i >= len)
                    return -1;
                if (s[i] == '\\' && i + 3 < len && s[i + 1] == 'x' &&
                    hexval(s[i + 2]) >= 0 && hexval(s[i + 3]) >= 0) {
                    s[w++] = (char)(hexval(s[i + 2]) * 16 + hexval(s[i + 3]));
                    i += 4;
                } else if (s[i] == '\\' && i + 1 < len) {
                    char c = s[i + 1];
                    switch (c) {
                    case 'n': c = '\n'; break;
                    case 'r': c = '\r'; break;
                    case 't': c = '\t'; break;
                    case 'b': c = '\b'; break;
                    case 'a': c = '\a'; break;
                    default: break;
                    }
                    s[w++] = c;
                    i += 2;
                } else if (s[i] == '"') {
                    if (i + 1 < len && !isspace((unsigned char)s[i + 1]))
                        return -1;
                    i++;
                    done = true;
                } else {
                    s[w++] = s[i++];
                }
            } else if (insq) {
                if (i >= len)
                    return -1;
                if (s[i] == '\\' && i + 1 < len && s[i + 1] == '\'') {
                    s[w++] = '\'';
                    i += 2;
                } else if (s[i] == '\'') {
                    if (i + 1 < len && !isspace((unsigned char)s[i + 1]))
                        return -1;
                    i++;
                    done = true;
                } else {
                    s[w++] = s[i++];
                }
            } else if (i >= len || isspace((unsigned char)s[i])) {
                done = true;
            } else if (s[i] == '"') {
                inq = true;
                i++;
            } else if (s[i] == '\'') {
                insq = true;
                i++;
            } else {
                s[w++] = s[i++];
            }
        }
        if (!grow_args(argv, cap, (size_t)n))
            return -2;
        (*argv)[n].off = start;
        (*argv)[n].len = w - start;
        n++;
    }
}
