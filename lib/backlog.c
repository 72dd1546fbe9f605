/*
 * backlog.c - the replication backlog ring and replication ids (see
 * backlog.h).
 */
#include "backlog.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* The bytes live in fixed-size chunks (a deque of them), so the backlog can
 * hold more than repl-backlog-size while a replica catches up, and give it
 * back, without ever copying what it holds. Chunks cover [base, base +
 * nchunks * chunk); the bytes held are [first, offset). */
struct rkv_backlog {
    uint8_t **chunks;     /* circular: chunk i is chunks[(head + i) % cap] */
    size_t cap;           /* slots in chunks */
    size_t head, nchunks;
    size_t chunk;         /* bytes per chunk */
    uint8_t *spare;       /* one emptied chunk kept for the next */
    int64_t base;         /* stream offset of the first chunk's byte 0 */
    int64_t first;        /* oldest offset held */
    int64_t offset;       /* bytes ever appended in this history */
    size_t size;          /* repl-backlog-size */
    int64_t hold_from;    /* a replica still needs this (INT64_MAX: none) */
    size_t hold_limit;    /* but never more than this many bytes for it */
    int64_t second_offset;
    char replid[RKV_REPLID_LEN + 1];
    char replid2[RKV_REPLID_LEN + 1];
};

#define CHUNK_MAX (64 * 1024)

static bool valid_id(const char *id)
{
    if (id == NULL)
        return false;
    for (int i = 0; i < RKV_REPLID_LEN; i++)
        if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
            return false;
    return true;
}

static int random_id(char out[RKV_REPLID_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char raw[RKV_REPLID_LEN / 2];
    int rc = rkv_random_bytes(raw, sizeof raw);
    if (rc != 0)
        return rc;
    for (size_t i = 0; i < sizeof raw; i++) {
        out[2 * i] = hex[raw[i] >> 4];
        out[2 * i + 1] = hex[raw[i] & 15];
    }
    out[RKV_REPLID_LEN] = '\0';
    return 0;
}

static void clear_id2(rkv_backlog *bl)
{
    memset(bl->replid2, '0', RKV_REPLID_LEN);
    bl->replid2[RKV_REPLID_LEN] = '\0';
    bl->second_offset = -1;
}

int rkv_backlog_new(size_t size, rkv_backlog **out)
{
    *out = NULL;
    if (size == 0)
        return rkv_fail(REPLKV_EINVAL, "backlog: size 0");
    rkv_backlog *bl = calloc(1, sizeof *bl);
    if (bl == NULL)
        return rkv_fail(REPLKV_ENOMEM, "backlog: out of memory");
    int rc = random_id(bl->replid);
    if (rc != 0) {
        free(bl);
        return rc;
    }
    /* Chunks are allocated as bytes arrive; a small backlog (the tests')
     * gets chunks of its own size rounded up, so it holds little more. */
    bl->chunk = 64;
    while (bl->chunk < size && bl->chunk < CHUNK_MAX)
        bl->chunk *= 2;
    bl->size = size;
    bl->hold_from = INT64_MAX;
    clear_id2(bl);
    *out = bl;
    return 0;
}

void rkv_backlog_free(rkv_backlog *bl)
{
    if (bl == NULL)
        return;
    for (size_t i = 0; i < bl->nchunks; i++)
        free(bl->chunks[(bl->head + i) % bl->cap]);
    free(bl->chunks);
    free(bl->spare);
    free(bl);
}

static uint8_t *chunk_at(const rkv_backlog *bl, size_t i)
{
    return bl->chunks[(bl->head + i) % bl->cap];
}

static void drop_head(rkv_backlog *bl)
{
    uint8_t *c = bl->chunks[bl->head];
    if (bl->spare == NULL)
        bl->spare = c;
    else
        free(c);
    bl->head = (bl->head + 1) % bl->cap;
    bl->nchunks--;
    bl->base += (int64_t)bl->chunk;
}

/* What the backlog must keep: repl-backlog-size bytes, or back to the
 * replica that needs the oldest byte when that is more, up to hold_limit
 * bytes (a replica further behind falls off and resyncs). */
static void trim(rkv_backlog *bl)
{
    int64_t keep = (int64_t)bl->size;
    if (bl->hold_from < bl->offset) {
        int64_t behind = bl->offset - bl->hold_from;
        if ((uint64_t)behind > bl->hold_limit)
            behind = (int64_t)bl->hold_limit; /* <= behind, so fits */
        if (behind > keep)
            keep = behind;
    }
    if (bl->offset - bl->first > keep)
        bl->first = bl->offset - keep;
    while (bl->nchunks > 0 && bl->base + (int64_t)bl->chunk <= bl->first)
        drop_head(bl);
    if (bl->nchunks == 0)
        bl->base = bl->offset;
}

/* A chunk at the end for the bytes from offset on; false when there is no
 * memory for one (the caller then reuses the oldest). */
static bool add_chunk(rkv_backlog *bl)
{
    if (bl->nchunks == bl->cap) {
        size_t ncap = bl->cap ? bl->cap * 2 : 16;
        uint8_t **nc = malloc(ncap * sizeof *nc);
        if (nc == NULL)
            return false;
        for (size_t i = 0; i < bl->nchunks; i++)
            nc[i] = chunk_at(bl, i);
        free(bl->chunks);
        bl->chunks = nc;
        bl->cap = ncap;
        bl->head = 0;
    }
    uint8_t *c = bl->spare;
    bl->spare = NULL;
    if (c == NULL && (c = malloc(bl->chunk)) == NULL)
        return false;
    bl->chunks[(bl->head + bl->nchunks) % bl->cap] = c;
    bl->nchunks++;
    return true;
}

/* No memory for a new chunk: the oldest one moves to the end, its bytes
 * given up (history shrinks; replicas that needed them resync). */
static bool recycle_head(rkv_backlog *bl)
{
    if (bl->nchunks == 0)
        return false;
    uint8_t *c = bl->chunks[bl->head];
    bl->head = (bl->head + 1) % bl->cap;
    bl->base += (int64_t)bl->chunk;
    if (bl->first < bl->base)
        bl->first = bl->base;
    bl->chunks[(bl->head + bl->nchunks - 1) % bl->cap] = c;
    return true;
}

void rkv_backlog_append(rkv_backlog *bl, const void *data, size_t len)
{
    const uint8_t *p = data;
    while (len > 0) {
        int64_t end = bl->base + (int64_t)(bl->nchunks * bl->chunk);
        if (bl->offset == end && !add_chunk(bl) && !recycle_head(bl)) {
            /* Not one chunk to hold anything: the bytes are counted and
             * lost, as if they had fallen off a full ring at once. */
            bl->offset += (int64_t)len;
            bl->first = bl->base = bl->offset;
            return;
        }
        size_t pos = (size_t)(bl->offset - bl->base);
        size_t k = bl->chunk - pos % bl->chunk;
        if (k > len)
            k = len;
        memcpy(chunk_at(bl, pos / bl->chunk) + pos % bl->chunk, p, k);
        bl->offset += (int64_t)k;
        p += k;
        len -= k;
        trim(bl);
    }
}

const char *rkv_backlog_replid(const rkv_backlog *bl)
{
    return bl->replid;
}

const char *rkv_backlog_replid2(const rkv_backlog *bl)
{
    return bl->replid2;
}

int64_t rkv_backlog_second_offset(const rkv_backlog *bl)
{
    return bl->second_offset;
}

int64_t rkv_backlog_offset(const rkv_backlog *bl)
{
    return bl->offset;
}

int64_t rkv_backlog_first_offset(const rkv_backlog *bl)
{
    return bl->first;
}

size_t rkv_backlog_size(const rkv_backlog *bl)
{
    return bl->size;
}

size_t rkv_backlog_histlen(const rkv_backlog *bl)
{
    return (size_t)(bl->offset - bl->first);
}

size_t rkv_backlog_memory(const rkv_backlog *bl)
{
    return (bl->nchunks + (bl->spare != NULL)) * bl->chunk +
           bl->cap * sizeof *bl->chunks;
}

int64_t rkv_backlog_hold_from(const rkv_backlog *bl)
{
    return bl->hold_from;
}

void rkv_backlog_hold(rkv_backlog *bl, int64_t from, size_t limit)
{
    bl->hold_from = from;
    bl->hold_limit = limit;
    trim(bl);
}

int rkv_backlog_span(const rkv_backlog *bl, int64_t from, rkv_span *sp)
{
    if (from < bl->first || from > bl->offset)
        return rkv_fail(REPLKV_EINVAL,
                        "backlog: offset %" PRId64 " outside [%" PRId64
                        ", %" PRId64 "]",
                        from, bl->first, bl->offset);
    size_t pos = (size_t)(from - bl->base);
    size_t n = bl->chunk - pos % bl->chunk;
    if ((int64_t)n > bl->offset - from)
        n = (size_t)(bl->offset - from);
    sp->p = n ? chunk_at(bl, pos / bl->chunk) + pos % bl->chunk : NULL;
    sp->len = n;
    return 0;
}

int rkv_backlog_copy(const rkv_backlog *bl, int64_t from, void *dst, size_t cap,
                     size_t *n)
{
    *n = 0;
    uint8_t *d = dst;
    rkv_span sp = {NULL, 0};
    do {
        int rc = rkv_backlog_span(bl, from, &sp);
        if (rc != 0)
            return rc;
        size_t k = sp.len < cap ? sp.len : cap;
        if (k > 0)
            memcpy(d, sp.p, k);
        d += k;
        cap -= k;
        *n += k;
        from += (int64_t)k;
    } while (sp.len > 0 && cap > 0);
    return 0;
}

int rkv_backlog_resize(rkv_backlog *bl, size_t size)
{
    if (size == 0)
        return rkv_fail(REPLKV_EINVAL, "backlog: size 0");
    bl->size = size;
    trim(bl);
    return 0;
}

int rkv_backlog_reset(rkv_backlog *bl, const char *replid, int64_t offset)
{
    if (!valid_id(replid))
        return rkv_fail(REPLKV_EINVAL,
                        "backlog: replid is not %d lowercase "
                        "hex characters",
                        RKV_REPLID_LEN);
    if (offset < 0)
        return rkv_fail(REPLKV_EINVAL, "backlog: offset %" PRId64 " < 0",
                        offset);
    memcpy(bl->replid, replid, RKV_REPLID_LEN);
    bl->replid[RKV_REPLID_LEN] = '\0';
    clear_id2(bl);
    while (bl->nchunks > 0)
        drop_head(bl);
    bl->offset = bl->first = bl->base = offset;
    return 0;
}

void rkv_backlog_set_replid2(rkv_backlog *bl, const char *replid2,
                             int64_t second_offset)
{
    if (replid2 == NULL || !valid_id(replid2) || second_offset < 0) {
        memset(bl->replid2, '0', RKV_REPLID_LEN);
        bl->second_offset = -1;
    } else {
        memcpy(bl->replid2, replid2, RKV_REPLID_LEN);
        bl->second_offset = second_offset;
    }
    bl->replid2[RKV_REPLID_LEN] = '\0';
}

int rkv_backlog_shift_id(rkv_backlog *bl, const char *new_replid)
{
    char id[RKV_REPLID_LEN + 1];
    if (new_replid != NULL) {
        if (!valid_id(new_replid))
            return rkv_fail(REPLKV_EINVAL,
                            "backlog: replid is not %d "
                            "lowercase hex characters",
                            RKV_REPLID_LEN);
        memcpy(id, new_replid, RKV_REPLID_LEN);
        id[RKV_REPLID_LEN] = '\0';
    } else {
        int rc = random_id(id);
        if (rc != 0)
            return rc;
    }
    memcpy(bl->replid2, bl->replid, sizeof bl->replid2);
    /* Redis: second_replid_offset = master_repl_offset + 1. */
    bl->second_offset = bl->offset + 1;
    memcpy(bl->replid, id, sizeof bl->replid);
    return 0;
}

bool rkv_backlog_psync_ok(const rkv_backlog *bl, const char *replid,
                          int64_t offset)
{
    if (replid == NULL)
        return false;
    bool same = memcmp(replid, bl->replid, RKV_REPLID_LEN) == 0;
    /* Redis masterTryPartialResynchronization(): replid2 is accepted when
     * psync_offset <= second_replid_offset, where psync_offset is the
     * replica's offset + 1 (its next byte, 1-based). A replica past the
     * switch holds bytes the new history does not have. */
    bool prev = !same && bl->second_offset > 0 &&
                memcmp(replid, bl->replid2, RKV_REPLID_LEN) == 0 &&
                offset < bl->second_offset;
    if (!same && !prev)
        return false;
    return offset >= rkv_backlog_first_offset(bl) && offset <= bl->offset;
}
