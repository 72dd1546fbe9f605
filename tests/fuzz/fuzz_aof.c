/*
 * fuzz_aof.c - libFuzzer target for the append-only file loader
 * (lib/persist_aof.h, rkv_aof_load): the input is written as
 * appendonly.rkv in a per-process temporary directory and replayed, which
 * exercises torn tails (the loader truncates the file) and damage before
 * the tail (refused, or cut with the repair flag). Checked promises:
 *  - after a successful load the file ends where info.end says
 *    (72 + end - start bytes) and every record applied was counted;
 *  - loading again what a load left behind succeeds with nothing to cut
 *    and the same end (a repair is idempotent);
 *  - replaying from the end applies nothing, from inside the first frame
 *    is REPLKV_ECORRUPT.
 * Each input is loaded as it is and with its checksums fixed up
 * (fuzz_common.h).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "persist_aof.h"
#include "replkv.h"

#define FUZZ_MAX_PAYLOAD 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct applied {
    uint64_t n;
    uint64_t ends; /* fn(ud, NULL) calls */
    uint64_t sum;
} applied;

static void touch(applied *a, rkv_bytes b)
{
    const uint8_t *p = b.p;
    for (size_t i = 0; i < b.len; i++)
        a->sum += p[i];
}

static int apply(void *ud, const rkv_msg *m)
{
    applied *a = ud;
    if (m == NULL) { /* the file's records are all handed over */
        a->ends++;
        return 0;
    }
    if (a->ends != 0)
        abort(); /* a record after the end: its bytes may be unmapped */
    if (!rkv_msg_is_record(m->type))
        abort(); /* link messages never belong in a file */
    switch (m->type) {
    case RKV_REC_SET:
        touch(a, m->set.key);
        touch(a, m->set.val);
        break;
    case RKV_REC_DEL:
    case RKV_REC_PERSIST:
        touch(a, m->key.key);
        break;
    case RKV_REC_EXPIREAT:
        touch(a, m->expireat.key);
        break;
    default:
        break;
    }
    a->n++;
    return 0;
}

/* After a successful load: the file, as the loader left it, must load
 * again cleanly to the same end. */
static void check_settled(const char *dir, const rkv_aof_load_info *info,
                          uint64_t applied_n)
{
    if (info->frames != applied_n || info->end < info->start ||
        info->start < 0)
        abort();
    if (fuzz_file_size(RKV_AOF_FILE) !=
        (uint64_t)RKV_AOF_HDR + (uint64_t)(info->end - info->start))
        abort(); /* the file does not end at the offset reported */

    applied a = {0, 0, 0};
    rkv_aof_load_info again;
    int rc = rkv_aof_load(NULL, dir, FUZZ_MAX_PAYLOAD, false, 0, apply, &a,
                          &again);
    if (rc != 0 || again.truncated != 0 || again.end != info->end ||
        again.frames != info->frames || a.n != info->frames || a.ends != 1)
        abort();

    applied none = {0, 0, 0};
    rc = rkv_aof_load(NULL, dir, FUZZ_MAX_PAYLOAD, false, info->end, apply,
                      &none, &again);
    if (rc != 0 || none.n != 0 || again.end != info->end)
        abort();

    /* A `from` inside the first frame is refused. */
    if (info->end > info->start) {
        none.ends = 0;
        rc = rkv_aof_load(NULL, dir, FUZZ_MAX_PAYLOAD, false, info->start + 1,
                          apply, &none, &again);
        if (rc != REPLKV_ECORRUPT)
            abort();
    }
}

static void load_one(const uint8_t *data, size_t size)
{
    const char *dir = fuzz_dir();

    fuzz_write_file(RKV_AOF_FILE, data, size);
    applied a = {0, 0, 0};
    rkv_aof_load_info info;
    int rc = rkv_aof_load(NULL, dir, FUZZ_MAX_PAYLOAD, false, 0, apply, &a,
                          &info);
    if (rc == 0) {
        if (info.repaired)
            abort(); /* repaired without the repair flag */
        check_settled(dir, &info, a.n);
        return;
    }
    if (rc != REPLKV_ECORRUPT)
        return;

    /* Damage: the same file again with repair on. */
    fuzz_write_file(RKV_AOF_FILE, data, size);
    applied r = {0, 0, 0};
    rc = rkv_aof_load(NULL, dir, FUZZ_MAX_PAYLOAD, true, 0, apply, &r, &info);
    if (rc == 0)
        check_settled(dir, &info, r.n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    load_one(data, size);
    uint8_t *fixed = fuzz_copy(data, size);
    if (fixed != NULL) {
        fuzz_fix_aof(fixed, size);
        load_one(fixed, size);
        free(fixed);
    }
    return 0;
}
