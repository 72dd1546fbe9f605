/*
 * backlog.c - the replication backlog ring and replication ids (see
 * backlog.h).
 */
#include "backlog.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

struct rkv_backlog {
    uint8_t *buf;
    size_t size;    /* capacity */
    size_t idx;     /* where the next byte goes */
    size_t histlen; /* bytes held, <= size */
    int64_t offset; /* bytes ever appended in this history */
    int64_t second_offset;
    char replid[RKV_REPLID_LEN + 1];
    char replid2[RKV_REPLID_LEN + 1];
};

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
    bl->buf = malloc(size);
    if (bl->buf == NULL) {
        free(bl);
        return rkv_fail(REPLKV_ENOMEM, "backlog: cannot allocate %zu bytes",
                        size);
    }
    int rc = random_id(bl->replid);
    if (rc != 0) {
        free(bl->buf);
        free(bl);
        return rc;
    }
    bl->size = size;
    clear_id2(bl);
    *out = bl;
    return 0;
}

void rkv_backlog_free(rkv_backlog *bl)
{
    if (bl == NULL)
        return;
    free(bl->buf);
    free(bl);
}

void rkv_backlog_append(rkv_backlog *bl, const void *data, size_t len)
{
    const uint8_t *p = data;
    if (len == 0)
        return;
    bl->offset += (int64_t)len;
    if (len >= bl->size) {
        /* Only the tail survives; it fills the ring exactly. */
        memcpy(bl->buf, p + (len - bl->size), bl->size);
        bl->idx = 0;
        bl->histlen = bl->size;
        return;
    }
    size_t first = bl->size - bl->idx;
    if (first > len)
        first = len;
    memcpy(bl->buf + bl->idx, p, first);
    memcpy(bl->buf, p + first, len - first);
    bl->idx = (bl->idx + len) % bl->size;
    bl->histlen = bl->histlen + len > bl->size ? bl->size : bl->histlen + len;
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
    return bl->offset - (int64_t)bl->histlen;
}

size_t rkv_backlog_size(const rkv_backlog *bl)
{
    return bl->size;
}

size_t rkv_backlog_histlen(const rkv_backlog *bl)
{
    return bl->histlen;
}

int rkv_backlog_spans(const rkv_backlog *bl, int64_t from, rkv_span sp[2])
{
    int64_t first = rkv_backlog_first_offset(bl);
    if (from < first || from > bl->offset)
        return rkv_fail(REPLKV_EINVAL,
                        "backlog: offset %" PRId64 " outside [%" PRId64
                        ", %" PRId64 "]",
                        from, first, bl->offset);
    size_t n = (size_t)(bl->offset - from);
    if (n == 0)
        return 0;
    /* n <= histlen <= size, and the newest byte sits just before idx. */
    size_t start = (bl->idx + bl->size - n) % bl->size;
    if (start + n <= bl->size) {
        sp[0] = (rkv_span){bl->buf + start, n};
        return 1;
    }
    sp[0] = (rkv_span){bl->buf + start, bl->size - start};
    sp[1] = (rkv_span){bl->buf, n - (bl->size - start)};
    return 2;
}

int rkv_backlog_copy(const rkv_backlog *bl, int64_t from, void *dst, size_t cap,
                     size_t *n)
{
    rkv_span sp[2];
    *n = 0;
    int cnt = rkv_backlog_spans(bl, from, sp);
    if (cnt < 0)
        return cnt;
    uint8_t *d = dst;
    for (int i = 0; i < cnt && cap > 0; i++) {
        size_t k = sp[i].len < cap ? sp[i].len : cap;
        memcpy(d, sp[i].p, k);
        d += k;
        cap -= k;
        *n += k;
    }
    return 0;
}

int rkv_backlog_resize(rkv_backlog *bl, size_t size)
{
    if (size == 0)
        return rkv_fail(REPLKV_EINVAL, "backlog: size 0");
    if (size == bl->size)
        return 0;
    uint8_t *nb = malloc(size);
    if (nb == NULL)
        return rkv_fail(REPLKV_ENOMEM, "backlog: cannot allocate %zu bytes",
                        size);
    size_t keep = bl->histlen < size ? bl->histlen : size;
    size_t n;
    rkv_backlog_copy(bl, bl->offset - (int64_t)keep, nb, keep, &n);
    free(bl->buf);
    bl->buf = nb;
    bl->size = size;
    bl->histlen = keep;
    bl->idx = keep % size;
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
    bl->offset = offset;
    bl->histlen = 0;
    bl->idx = 0;
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
