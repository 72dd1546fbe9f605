/*
 * fuzz_snapshot.c - libFuzzer target for the snapshot loader
 * (lib/persist_snapshot.h): the input is written as snapshot.rkv in a
 * per-process temporary directory and loaded with rkv_snap_stat and
 * rkv_snap_load. Any result is fine; a crash, a leak, a sanitizer report or
 * a broken promise of the header is not: a successful load must have
 * applied exactly key_count SET records and report the file's size. Each
 * input is loaded as it is and with its checksums fixed up (fuzz_common.h).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "persist_snapshot.h"
#include "replkv.h"

#define FUZZ_MAX_PAYLOAD 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct applied {
    uint64_t n;
    uint64_t ends; /* fn(ud, NULL) calls */
    uint64_t sum; /* touches every byte the callback is handed */
} applied;

static int apply(void *ud, const rkv_msg *m)
{
    applied *a = ud;
    if (m == NULL) { /* the file's records are all handed over */
        a->ends++;
        return 0;
    }
    if (a->ends != 0)
        abort(); /* a record after the end: its bytes may be unmapped */
    if (m->type != RKV_REC_SET || m->set.key.len == 0 || m->set.expire_at < 0)
        abort(); /* the loader promised SET records only, checked */
    const uint8_t *k = m->set.key.p, *v = m->set.val.p;
    for (size_t i = 0; i < m->set.key.len; i++)
        a->sum += k[i];
    for (size_t i = 0; i < m->set.val.len; i++)
        a->sum += v[i];
    a->n++;
    return 0;
}

static void load_one(const uint8_t *data, size_t size)
{
    fuzz_write_file(RKV_SNAP_FILE, data, size);
    const char *dir = fuzz_dir();

    rkv_snap_info si;
    int src = rkv_snap_stat(NULL, dir, &si);

    applied a = {0, 0, 0};
    rkv_snap_info info;
    int rc = rkv_snap_load(NULL, dir, FUZZ_MAX_PAYLOAD, apply, &a, &info);
    if (rc == 0) {
        if (src != 0)
            abort(); /* a loadable file whose header stat refuses */
        if (a.n != info.key_count || info.size != size || a.ends != 1)
            abort();
        if (strlen(info.replid) != RKV_ID_LEN || info.offset < 0)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    load_one(data, size);
    uint8_t *fixed = fuzz_copy(data, size);
    if (fixed != NULL) {
        fuzz_fix_snapshot(fixed, size);
        load_one(fixed, size);
        free(fixed);
    }
    return 0;
}
