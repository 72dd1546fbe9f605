/*
 * fuzz_resp.c - libFuzzer target for replkv-cache's RESP request parser
 * (examples/cache/resp.h). The first input byte picks the options and seeds
 * the chunking; the rest is the client's byte stream. It is fed twice:
 *  - in chunks (sizes from a small generator seeded by the first byte), as
 *    client.c does it: append a read, parse every whole request, drop what
 *    resp_consumed() says and resp_shift();
 *  - all at once into one buffer.
 * Every argument must lie inside the parsed bytes, and the two runs must
 * see the same requests with the same arguments and end the same way (for
 * streams under the 64 KB inline limit, where Redis itself may answer a
 * split stream differently).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "resp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What a run saw: a hash over every request's arguments, in order. */
typedef struct seen {
    uint64_t nreq, hash;
    int end; /* last resp_parse result: RESP_NEED_MORE or RESP_ERROR */
    char err[128];
} seen;

static uint64_t mix(uint64_t h, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ull; /* FNV-1a */
    return h;
}

/* Records the request in buf and checks its arguments' bounds. */
static void record(seen *s, const resp_parser *p, const char *buf, size_t len)
{
    if (p->argc == 0 || p->pos > len)
        abort(); /* empty requests are skipped, never returned */
    for (size_t i = 0; i < p->argc; i++) {
        const resp_arg *a = &p->argv[i];
        if (a->off > p->pos || a->len > p->pos - a->off)
            abort(); /* an argument outside the request's bytes */
        s->hash = mix(s->hash, &a->len, sizeof a->len);
        s->hash = mix(s->hash, buf + a->off, a->len);
    }
    s->hash = mix(s->hash, "|", 1);
    s->nreq++;
}

static void finish(seen *s, const resp_parser *p, int rc)
{
    s->end = rc;
    if (rc == RESP_ERROR) {
        if (p->err == NULL)
            abort();
        strncpy(s->err, p->err, sizeof s->err - 1);
    }
}

static void configure(resp_parser *p, uint8_t opt)
{
    /* Small bulk limits reach the "invalid bulk length" paths. */
    static const uint64_t limits[4] = {512ull << 20, 16, 1, 1024};
    resp_init(p, limits[opt & 3]);
    p->unauth = (opt & 4) != 0;
}

/* The stream fed the way client.c feeds it. Returns false on NOMEM. */
static bool run_chunked(const uint8_t *in, size_t n, uint8_t opt, seen *s)
{
    resp_parser p;
    configure(&p, opt);
    char *buf = NULL;
    size_t len = 0, off = 0;
    uint32_t rng = opt * 2654435761u + 1;
    bool ok = true;
    int rc = RESP_NEED_MORE;
    while (off < n) {
        rng = rng * 1103515245u + 12345u;
        /* Mostly small reads (1..16), some larger ones (up to 512). */
        size_t chunk = (rng >> 16) & 0x100 ? ((rng >> 8) & 0x1ff) + 1
                                           : ((rng >> 8) & 0xf) + 1;
        if (chunk > n - off)
            chunk = n - off;
        char *nb = realloc(buf, len + chunk);
        if (nb == NULL) {
            ok = false;
            break;
        }
        buf = nb;
        memcpy(buf + len, in + off, chunk);
        len += chunk;
        off += chunk;
        for (;;) {
            rc = resp_parse(&p, buf, len);
            if (rc != RESP_REQUEST)
                break;
            record(s, &p, buf, len);
        }
        if (rc == RESP_NOMEM) {
            ok = false;
            break;
        }
        if (rc == RESP_ERROR)
            break;
        size_t consumed = resp_consumed(&p);
        if (consumed > len)
            abort();
        memmove(buf, buf + consumed, len - consumed);
        len -= consumed;
        resp_shift(&p, consumed);
        (void)resp_wanted(&p, len);
        if (resp_idle(&p) && len != 0 && p.pos > len)
            abort();
    }
    finish(s, &p, rc);
    free(buf);
    resp_free(&p);
    return ok;
}

static bool run_whole(const uint8_t *in, size_t n, uint8_t opt, seen *s)
{
    resp_parser p;
    configure(&p, opt);
    char *buf = malloc(n ? n : 1);
    if (buf == NULL)
        return false;
    memcpy(buf, in, n);
    int rc;
    for (;;) {
        rc = resp_parse(&p, buf, n);
        if (rc != RESP_REQUEST)
            break;
        record(s, &p, buf, n);
    }
    finish(s, &p, rc);
    free(buf);
    resp_free(&p);
    return rc != RESP_NOMEM;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    uint8_t opt = data[0];
    seen a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    bool oka = run_chunked(data + 1, size - 1, opt, &a);
    bool okb = run_whole(data + 1, size - 1, opt, &b);
    if (!oka || !okb || size - 1 > RESP_MAX_INLINE)
        return 0;
    if (a.nreq != b.nreq || a.hash != b.hash || a.end != b.end ||
        strcmp(a.err, b.err) != 0)
        abort(); /* the split stream parsed differently */

    /* resp_splitargs (redis.conf and inline quoting) on the raw bytes. */
    char *line = malloc(size);
    if (line != NULL) {
        memcpy(line, data + 1, size - 1);
        resp_arg *argv = NULL;
        size_t cap = 0;
        long k = resp_splitargs(line, size - 1, &argv, &cap);
        for (long i = 0; i < k; i++)
            if (argv[i].off > size - 1 || argv[i].len > size - 1 - argv[i].off)
                abort();
        free(argv);
        free(line);
    }
    return 0;
}
