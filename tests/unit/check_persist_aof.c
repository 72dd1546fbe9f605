/*
 * check_persist_aof.c - the append-only file (lib/persist_aof.c,
 * lib/persist_aof_load.c): round trips, group commit with 8 threads, torn
 * tails at every byte, damage in the middle, the repair flag, disk-full and
 * fsync faults injected through the file-ops hook with recovery, rewrite
 * after a snapshot, and rkv_persist_load() putting snapshot and log
 * together.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "persist_aof.h"
#include "persist_aof_int.h"
#include "persist_snapshot.h"
#include "stream.h"

static const char RID[] = "0123456789abcdef0123456789abcdef01234567";
static const char RID2[] = "fedcba9876543210fedcba9876543210fedcba98";
#define MAXP ((size_t)1 << 20)

/* ------------------------------------------------------------- helpers */

static int rm_one(const char *p, const struct stat *sb, int flag,
                  struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

/* Every test's directory lives under ROOT, made by main() with mkdtemp
 * and removed by main() after the run, so that a failed test (whose
 * forked child exits at the failed assertion) leaves nothing behind. */
static char ROOT[512];

static char *tmpdir(void)
{
    char t[600];
    snprintf(t, sizeof t, "%s/XXXXXX", ROOT);
    ck_assert_ptr_nonnull(mkdtemp(t));
    return strdup(t);
}

static void rmdir_all(char *d)
{
    nftw(d, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    free(d);
}

/* The fault hook: counts every operation and fails fail_op (on paths that
 * contain match, if set) with fail_errno while armed. Optionally sleeps in
 * fsync, as a real disk would. */
typedef struct faults {
    atomic_ulong count[RKV_FS_OP_COUNT];
    atomic_int fail_op; /* -1: none */
    atomic_int fail_errno;
    atomic_int fsync_us;
} faults;

static int hook(void *ud, rkv_fs_op op, const char *path)
{
    faults *f = ud;
    (void)path;
    atomic_fetch_add(&f->count[op], 1);
    if (op == RKV_FS_FSYNC && f->fsync_us > 0)
        usleep((useconds_t)f->fsync_us);
    if (atomic_load(&f->fail_op) == (int)op)
        return atomic_load(&f->fail_errno);
    return 0;
}

static void faults_init(faults *f, rkv_fs *fs)
{
    memset(f, 0, sizeof *f);
    atomic_store(&f->fail_op, -1);
    fs->hook = hook;
    fs->ud = f;
}

static void arm(faults *f, rkv_fs_op op, int e)
{
    atomic_store(&f->fail_errno, e);
    atomic_store(&f->fail_op, (int)op);
}

static void disarm(faults *f)
{
    atomic_store(&f->fail_op, -1);
}

/* Frame i of a deterministic mix of every record type. */
static void put_frame(rkv_buf *b, unsigned i)
{
    char key[32], val[64];
    int kl = snprintf(key, sizeof key, "key:%u", i % 97);
    int vl = snprintf(val, sizeof val, "value-%u-%.*s", i, (int)(i % 23),
                      "abcdefghijklmnopqrstuvwxyz");
    rkv_msg m;
    memset(&m, 0, sizeof m);
    switch (i % 7) {
    case 0:
    case 1:
    case 2:
        ck_assert_int_eq(rkv_frame_put_set(b, key, (size_t)kl, val, (size_t)vl,
                                           i % 3 ? 0 : 1700000000000 + i),
                         0);
        return;
    case 3:
        m.type = RKV_REC_DEL;
        m.key.key.p = key;
        m.key.key.len = (size_t)kl;
        break;
    case 4:
        m.type = RKV_REC_EXPIREAT;
        m.expireat.key.p = key;
        m.expireat.key.len = (size_t)kl;
        m.expireat.at = 1800000000000 + i;
        break;
    case 5:
        m.type = RKV_REC_PING;
        m.ping.unix_ms = 1700000000000 + i;
        break;
    default:
        m.type = i % 2 ? RKV_REC_PERSIST : RKV_REC_FLUSH;
        m.key.key.p = key;
        m.key.key.len = (size_t)kl;
        break;
    }
    ck_assert_int_eq(rkv_msg_encode(b, &m), 0);
}

/* Replay re-encodes each record: the result must equal what was appended,
 * byte for byte. */
typedef struct rec {
    rkv_buf bytes;
    size_t n;
    size_t ends; /* fn(ud, NULL) calls: the end of a file's records */
} rec;

static int record(void *ud, const rkv_msg *m)
{
    rec *r = ud;
    if (m == NULL) {
        r->ends++;
        return 0;
    }
    ck_assert_int_eq(rkv_msg_encode(&r->bytes, m), 0);
    r->n++;
    return 0;
}

static void path_of(char *out, size_t cap, const char *dir, const char *name)
{
    snprintf(out, cap, "%s/%s", dir, name);
}

static size_t file_size(const char *dir, const char *name)
{
    char p[1024];
    struct stat st;
    path_of(p, sizeof p, dir, name);
    ck_assert_int_eq(stat(p, &st), 0);
    return (size_t)st.st_size;
}

static void read_file(const char *dir, const char *name, rkv_buf *b)
{
    char p[1024];
    path_of(p, sizeof p, dir, name);
    FILE *f = fopen(p, "rb");
    ck_assert_ptr_nonnull(f);
    rkv_buf_clear(b);
    uint8_t chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        ck_assert_int_eq(rkv_buf_append(b, chunk, n), 0);
    fclose(f);
}

static void write_file(const char *dir, const char *name, const void *p,
                       size_t n)
{
    char path[1024];
    path_of(path, sizeof path, dir, name);
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(p, 1, n, f), n);
    ck_assert_int_eq(fclose(f), 0);
}

/* Writes an AOF of frames 0..n-1 at (RID, start) and returns the frames
 * and the end offset of each in ends[] (may be NULL). */
static void make_aof(const char *dir, unsigned n, int64_t start,
                     rkv_buf *frames, size_t *ends)
{
    rkv_aof *a;
    ck_assert_int_eq(rkv_aof_open(NULL, dir, RKV_FSYNC_NO, RID, start, &a), 0);
    for (unsigned i = 0; i < n; i++) {
        size_t from = frames->len;
        put_frame(frames, i);
        int64_t end;
        ck_assert_int_eq(
            rkv_aof_append(a, frames->data + from, frames->len - from, &end),
            0);
        ck_assert_int_eq(end, start + (int64_t)frames->len);
        if (ends)
            ends[i] = frames->len;
    }
    ck_assert_int_eq(rkv_aof_close(a), 0);
}

/* ----------------------------------------------------------------- tests */

START_TEST(test_policy_and_decision)
{
    rkv_fsync_policy p;
    ck_assert_int_eq(rkv_fsync_policy_parse("always", &p), 0);
    ck_assert_int_eq(p, RKV_FSYNC_ALWAYS);
    ck_assert_int_eq(rkv_fsync_policy_parse("everysec", &p), 0);
    ck_assert_int_eq(p, RKV_FSYNC_EVERYSEC);
    ck_assert_int_eq(rkv_fsync_policy_parse("no", &p), 0);
    ck_assert_int_eq(p, RKV_FSYNC_NO);
    ck_assert_int_eq(rkv_fsync_policy_parse("sometimes", &p), REPLKV_EINVAL);
    ck_assert_ptr_nonnull(strstr(replkv_last_error(), "sometimes"));
    ck_assert_str_eq(rkv_fsync_policy_name(RKV_FSYNC_EVERYSEC), "everysec");

    /* auto-aof-rewrite-percentage 100, min-size 64mb */
    const uint64_t MB = 1 << 20;
    ck_assert(!rkv_aof_rewrite_due(10 * MB, 1 * MB, 100, 64 * MB));
    ck_assert(rkv_aof_rewrite_due(64 * MB, 32 * MB, 100, 64 * MB));
    ck_assert(!rkv_aof_rewrite_due(64 * MB - 1, 32 * MB, 100, 64 * MB));
    ck_assert(!rkv_aof_rewrite_due(100 * MB, 51 * MB, 100, 64 * MB));
    ck_assert(rkv_aof_rewrite_due(100 * MB, 50 * MB, 100, 64 * MB));
    ck_assert(!rkv_aof_rewrite_due(100 * MB, 50 * MB, 0, 64 * MB));
    ck_assert(rkv_aof_rewrite_due(150, 100, 50, 0));
    ck_assert(!rkv_aof_rewrite_due(149, 100, 50, 0));
    ck_assert(rkv_aof_rewrite_due(10, 0, 100, 0));   /* base 0 counts as 1 */
    ck_assert(!rkv_aof_rewrite_due(80, 100, 10, 0)); /* shrank */
    ck_assert(rkv_aof_rewrite_due(UINT64_MAX, 1, 100, 0));
}
END_TEST

START_TEST(test_roundtrip)
{
    char *dir = tmpdir();
    rkv_buf frames;
    rkv_buf_init(&frames);
    make_aof(dir, 500, 1000, &frames, NULL);
    ck_assert_uint_eq(file_size(dir, RKV_AOF_FILE), RKV_AOF_HDR + frames.len);

    rec r = {{0}, 0, 0};
    rkv_aof_load_info info;
    ck_assert_int_eq(rkv_aof_load(NULL, dir, MAXP, false, 0, record, &r, &info),
                     0);
    ck_assert_uint_eq(r.n, 500);
    ck_assert_uint_eq(r.ends, 1);
    ck_assert_uint_eq(info.frames, 500);
    ck_assert_uint_eq(r.bytes.len, frames.len);
    ck_assert_mem_eq(r.bytes.data, frames.data, frames.len);
    ck_assert_str_eq(info.replid, RID);
    ck_assert_int_eq(info.start, 1000);
    ck_assert_int_eq(info.end, 1000 + (int64_t)frames.len);
    ck_assert_uint_eq(info.truncated, 0);

    /* Reopen where the load left off; appending goes on at the end. */
    rkv_aof *a;
    ck_assert_int_eq(
        rkv_aof_open(NULL, dir, RKV_FSYNC_EVERYSEC, RID, info.end - 1, &a),
        REPLKV_ESTATE);
    ck_assert_ptr_nonnull(strstr(replkv_last_error(), RKV_AOF_FILE));
    ck_assert_int_eq(
        rkv_aof_open(NULL, dir, RKV_FSYNC_EVERYSEC, RID2, info.end, &a),
        REPLKV_ESTATE);
    ck_assert_int_eq(
        rkv_aof_open(NULL, dir, RKV_FSYNC_EVERYSEC, RID, info.end, &a), 0);
    size_t from = frames.len;
    put_frame(&frames, 9999);
    int64_t end;
    ck_assert_int_eq(
        rkv_aof_append(a, frames.data + from, frames.len - from, &end), 0);
    ck_assert_int_eq(end, 1000 + (int64_t)frames.len);
    ck_assert_int_eq(rkv_aof_flush(a, true), 0);
    rkv_aof_stats st;
    rkv_aof_get_stats(a, &st);
    ck_assert_int_eq(st.durable, end);
    ck_assert_int_eq(st.start, 1000);
    ck_assert_int_eq(rkv_aof_close(a), 0);

    rkv_buf_clear(&r.bytes);
    r.n = 0;
    ck_assert_int_eq(rkv_aof_load(NULL, dir, MAXP, false, 0, record, &r, &info),
                     0);
    ck_assert_uint_eq(r.n, 501);
    ck_assert_mem_eq(r.bytes.data, frames.data, frames.len);

    /* No file, missing dir. */
    ck_assert_int_eq(rkv_aof_remove(NULL, dir), 0);
    ck_assert_int_eq(rkv_aof_load(NULL, dir, MAXP, false, 0, record, &r, &info),
                     REPLKV_ENOTFOUND);
    char missing[600];
    snprintf(missing, sizeof missing, "%s/nope", dir);
    ck_assert_int_eq(
        rkv_aof_load(NULL, missing, MAXP, false, 0, record, &r, &info),
        REPLKV_EIO);
    ck_assert_ptr_nonnull(strstr(replkv_last_error(), missing));
    ck_assert_int_eq(rkv_aof_open(NULL, missing, RKV_FSYNC_ALWAYS, RID, 0, &a),
                     REPLKV_EIO);
    ck_assert_ptr_nonnull(strstr(replkv_last_error(), missing));
    ck_assert_ptr_nonnull(strstr(replkv_last_error(), "No such file"));

    rkv_buf_free(&r.bytes);
    rkv_buf_free(&frames);
    rmdir_all(dir);
}
END_TEST

/* ------------------------------------------------------- group commit */

#define GC_THREADS 8
#define GC_WRITES 150

typedef struct gc_arg {
    rkv_aof *a;
    unsigned id;
    const char *dir;
    int errors;
} gc_arg;

static void *gc_writer(void *p)
{
    gc_arg *g = p;
    rkv_buf b;
    rkv_buf_init(&b);
    for (unsigned i = 0; i < GC_WRITES; i++) {
        rkv_buf_clear(&b);
        put_frame(&b, g->id * 1000 + i);
        int64_t end;
        if (rkv_aof_append(g->a, b.data, b.len, &end) != 0 ||
            rkv_aof_wait(g->a, end) != 0) {
            g->errors++;
            continue;
        }
        /* Returned only once durable: the handle says so, and the bytes
         * are in the file. */
        rkv_aof_stats st;
        rkv_aof_get_stats(g->a, &st);
        if (st.durable < end)
            g->errors++;
        char path[1024];
        struct stat sb;
        snprintf(path, sizeof path, "%s/%s", g->dir, RKV_AOF_FILE);
        if (stat(path, &sb) != 0 || (int64_t)sb.st_size < RKV_AOF_HDR + end)
            g->errors++;
    }
    rkv_buf_free(&b);
    return NULL;
}

START_TEST(test_group_commit)
{
    char *dir = tmpdir();
    faults f;
    rkv_fs fs;
    faults_init(&f, &fs);
    atomic_store(&f.fsync_us, 300); /* a disk that takes a moment */
    rkv_aof *a;
    ck_assert_int_eq(rkv_aof_open(&fs, dir, RKV_FSYNC_ALWAYS, RID, 0, &a), 0);
    unsigned long fsync0 = atomic_load(&f.count[RKV_FS_FSYNC]);

    pthread_t t[GC_THREADS];
    gc_arg g[GC_THREADS];
    for (unsigned i = 0; i < GC_THREADS; i++) {
        g[i] = (gc_arg){a, i + 1, dir, 0};
        ck_assert_int_eq(pthread_create(&t[i], NULL, gc_writer, &g[i]), 0);
    }
    for (unsigned i = 0; i < GC_THREADS; i++) {
        pthread_join(t[i], NULL);
        ck_assert_int_eq(g[i].errors, 0);
    }
    rkv_aof_stats st;
    rkv_aof_get_stats(a, &st);
    unsigned long fsyncs = atomic_load(&f.count[RKV_FS_FSYNC]) - fsync0;
    unsigned total = GC_THREADS * GC_WRITES;
    ck_assert_int_eq(st.durable, st.end);
    ck_assert_uint_eq(st.fsyncs, fsyncs);
    /* One fsync served many writers. */
    ck_assert_msg(fsyncs * 3 < total, "%lu fsyncs for %u writes", fsyncs,
                  total);
    ck_assert_uint_le(st.writes, fsyncs + 1);
    ck_assert_int_eq(rkv_aof_close(a), 0);

    rec r = {{0}, 0, 0};
    rkv_aof_load_info info;
    ck_assert_int_eq(rkv_aof_load(NULL, dir, MAXP, false, 0, record, &r, &info),
                     0);
    ck_assert_uint_eq(r.n, total);
    ck_assert_int_eq(info.end, st.end);
    rkv_buf_free(&r.bytes);
    rmdir_all(dir);
}
END_TEST

/* ------------------------------------------------------------- damage */

START_TEST(test_torn_tail_every_byte)
{
    char *dir = tmpdir();
    rkv_buf frames, whole;
    rkv_buf_init(&frames);
    rkv_buf_init(&whole);
    size_t ends[6];
    make_aof(dir, 6, 0, &frames, ends);
    read_file(dir, RKV_AOF_FILE, &whole);
    size_t last_start = RKV_AOF_HDR + ends[4];
    ck_assert_uint_eq(whole.len, RKV_AOF_HDR + ends[5]);

    /* Every cut inside the last frame, from 1 byte of it to all but 1. */
    for (size_t keep = last_start + 1; keep < whole.len; keep++) {
        write_file(dir, RKV_AOF_FILE, whole.data, keep);
        rec r = {{0}, 0, 0};
        rkv_aof_load_info info;
        int rc = rkv_aof_load(NULL, dir, MAXP, false, 0, record, &r, &info);
        ck_assert_msg(rc == 0, "cut at %zu: %s", keep, replkv_last_error());
        ck_assert_uint_eq(r.n, 5);
        ck_assert_mem_eq(r.bytes.data, frames.data, ends[4]);
        /* A cut whose bytes are all zero (the first bytes of a frame's
         * length) cannot be told from unused reserved space. */
        bool zeros = true;
        for (size_t i = last_start; i < keep; i++)
            zeros = zeros && whole.data[i] == 0;
        ck_assert_uint_eq(info.truncated, zeros ? 0 : keep - last_start);
        ck_assert_uint_eq(info.unused, zeros ? keep - last_start : 0);
        ck_assert_uint_eq(info.truncated_at, zeros ? 0 : last_start);
        ck_assert(!info.repaired);
        ck_assert_int_eq(info.end, (int64_t)ends[4]);
        ck_assert_uint_eq(file_size(dir, RKV_AOF_FILE), last_start);
        rkv_buf_free(&r.bytes);
    }

    /* The last frame whole but with a bad checksum, nothing after it. */
    whole.data[whole.len - 1] ^= 0x40;
    write_file(dir, RKV_AOF_FILE, whole.data, whole.len);
    rec r = {{0}, 0, 0};
    rkv_aof_load_info info;
    ck_assert_int_eq(rkv_aof_load(NULL, dir, MAXP, false, 0, record, &r, &info),
                     0);
    ck_assert_uint_eq(r.n, 5);
    ck_assert_uint_eq(info.truncated, whole.len - last_start);
    ck_assert_ptr_nonnull(strstr(info.reason, "checksum"));
    whole.data[whole.len - 1] ^= 0x40;

    /* Zeros after the last frame: space the writer reserved and did not
     * use (it was killed). Not a torn write: cut, and never refused. */
    rkv_buf_clear(&r.bytes);
    r.n = 0;
    uint8_t zeros[1000] = {0};
    ck_assert_int_eq(rkv_buf_append(&whole, zeros, sizeof zeros), 0);
    for (unsigned flags = 0; flags <= RKV_LOAD_REFUSE_TORN;
         flags += RKV_LOAD_REFUSE_TORN) {
        write_file(dir, RKV_AOF_FILE, whole.data, whole.len);
        rkv_buf_clear(&r.bytes);
        r.n = 0;
        ck_assert_int_eq(
            rkv_aof_load(NULL, dir, MAXP, flags, 0, record, &r, &info), 0);
        ck_assert_uint_eq(r.n, 6);
        ck_assert_uint_eq(info.unused, sizeof zeros);
        ck_assert_uint_eq(info.truncated, 0);
        ck_assert_uint_eq(file_size(dir, RKV_AOF_FILE), RKV_AOF_HDR + ends[5]);
    }

    /* A frame cut short (the writer killed inside its copy) and then the
     * unused space: a torn tail, refused with aof-load-truncated no. */
    size_t cut = last_start + (whole.len - sizeof zeros - last_start) / 2;
    memset(whole.data + cut, 0, whole.len - cut);
    write_file(dir, RKV_AOF_FILE, whole.data, whole.len);
    ck_assert_int_eq(rkv_aof_load(NULL, dir, MAXP, RKV_LOAD_REFUSE_TORN, 0,
                                  record, &r, &info),
                     REPLKV_ECORRUPT);
    ck_assert_uint_eq(file_size(dir, RKV_AOF_FILE), whole.len);
    rkv_buf_clear(&r.bytes);
    r.n = 0;
    ck_assert_int_eq(rkv_aof_load(NULL, dir, MAXP, 0, 0, record, &r, &info),
                     0);
    ck_assert_uint_eq(r.n, 5);
    ck_assert_uint_eq(info.truncated, whole.len - last_start);
    ck_assert_uint_eq(file_size(dir, RKV_AOF_FILE), last_start);

    rkv_buf_free(&r.bytes);
    rkv_buf_free(&frames);
    rkv_buf_free(&whole);
    rmdir_all(dir);
}
END_TEST

static int stop_at_3(void *ud, const rkv_msg *m)
{
    (void)m;
    int *n = ud;
    return ++*n == 3 ? REPLKV_ENOMEM : 0;
}

START_TEST(test_damage_in_the_middle)
{
    char *dir = tmpdir();
    rkv_buf frames, whole;
    rkv_buf_init(&frames);
    rkv_buf_init(&whole);
    size_t ends[10];
    make_aof(dir, 10, 0, &frames, ends);
    read_file(dir, RKV_AOF_FILE, &whole);
    size_t bad = RKV_AOF_HDR + ends[3]; /* frame 4 starts here */
    char want[64];
    snprintf(want, sizeof want, "byte %zu", bad);

    /* 1. a flipped payload byte: checksum mismatch, valid frames follow */
    whole.data[bad + RKV_FRAME_HDR + 2] ^= 0x01;
    write_file(dir, RKV_AOF_FILE, whole.data, whole.len);
    rec r = {{0}, 0, 0};
    rkv_aof_load_info info;
    ck_assert_int_eq(rkv_aof_load(NULL, dir, MAXP, false, 0, record, &r, &info),
                     REPLKV_ECORRUPT);
    ck_assert_msg(strstr(replkv_last_error(), want) &&
                      strstr(replkv_last_error(), RKV_AOF_FILE),
                  "%s", replkv_last_error());
    ck_assert_uint_eq(file_size(dir, RKV_AOF_FILE), whole.len); /* untouched */

    /* 2. the repair flag cuts there */
    rkv_buf_clear(&r.bytes);
    r.n = 0;
    ck_assert_int_eq(rkv_aof_load(NULL, dir, MAXP, true, 0, record, &r, &info),
                     0);
    ck_assert(info.repaired);
    ck_assert_uint_eq(info.truncated_at, bad);
    ck_assert_uint_eq(info.truncated, whole.len - bad);
    ck_assert_uint_eq(r.n, 4);
    ck_assert_mem_eq(r.bytes.data, frames.data, ends[3]);
    ck_assert_int_eq(info.end, (int64_t)ends[3]);
    ck_assert_uint_eq(file_size(dir, RKV_AOF_FILE), bad);
    whole.data[bad + RKV_FRAME_HDR + 2] ^= 0x01;

    /* 3. a length over the limit in the middle */
    whole.data[bad] = 0x7f;
    write_file(dir, RKV_AOF_FILE, whole.data, whole.len);
    ck_assert_int_eq(rkv_aof_load(NULL, dir, MAXP, false, 0, NULL, NULL, &info),
                     REPLKV_ECORRUPT);
    ck_assert_ptr_nonnull(strstr(replkv_last_error(), want));
    whole.data[bad] = 0;

    /* 4. a whole frame with a good checksum that does not decode */
    rkv_buf bogus;
    rkv_buf_init(&bogus);
    rkv_msg m = {.type = RKV_MSG_ACK};
    m.ack.offset = 5;
    ck_assert_int_eq(rkv_msg_encode(&bogus, &m), 0); /* a link message */
    rkv_buf mix;
    rkv_buf_init(&mix);
    ck_assert_int_eq(rkv_buf_append(&mix, whole.data, bad), 0);
    ck_assert_int_eq(rkv_buf_append(&mix, bogus.data, bogus.len), 0);
    ck_assert_int_eq(rkv_buf_append(&mix, whole.data + bad, whole.len - bad),
                     0);
    write_file(dir, RKV_AOF_FILE, mix.data, mix.len);
    ck_assert_int_eq(rkv_aof_load(NULL, dir, MAXP, false, 0, NULL, NULL, &info),
                     REPLKV_ECORRUPT);
    ck_assert_ptr_nonnull(strstr(replkv_last_error(), want));
    ck_assert_ptr_nonnull(strstr(replkv_last_error(), "ACK"));

    /* 5. the header: a newer version, a bad checksum, not our file */
    write_file(dir, RKV_AOF_FILE, whole.data, whole.len);
    whole.data[11] = 2;
    write_file(dir, RKV_AOF_FILE, whole.data, whole.len);
    ck_assert_int_eq(rkv_aof_load(NULL, dir, MAXP, false, 0, NULL, NULL, &info),
                     REPLKV_EVERSION);
    ck_assert_ptr_nonnull(strstr(replkv_last_error(), "newer"));
    whole.data[11] = 1;
    whole.data[20] ^= 1;
    write_file(dir, RKV_AOF_FILE, whole.data, whole.len);
    ck_assert_int_eq(rkv_aof_load(NULL, dir, MAXP, false, 0, NULL, NULL, &info),
                     REPLKV_ECORRUPT);
    ck_assert_ptr_nonnull(strstr(replkv_last_error(), "header checksum"));
    write_file(dir, RKV_AOF_FILE, "hello", 5);
    ck_assert_int_eq(rkv_aof_load(NULL, dir, MAXP, false, 0, NULL, NULL, &info),
                     REPLKV_ECORRUPT);
    ck_assert_ptr_nonnull(strstr(replkv_last_error(), "magic"));

    /* 6. the callback's error stops the load */
    whole.data[20] ^= 1;
    write_file(dir, RKV_AOF_FILE, whole.data, whole.len);
    int calls = 0;
    ck_assert_int_eq(
        rkv_aof_load(NULL, dir, MAXP, false, 0, stop_at_3, &calls, &info),
        REPLKV_ENOMEM);
    ck_assert_int_eq(calls, 3);
    ck_assert_uint_eq(file_size(dir, RKV_AOF_FILE), whole.len);

    rkv_buf_free(&mix);
    rkv_buf_free(&bogus);
    rkv_buf_free(&r.bytes);
    rkv_buf_free(&frames);
    rkv_buf_free(&whole);
    rmdir_all(dir);
}
END_TEST

/* ------------------------------------------------------------- faults */

static int64_t add(rkv_aof *a, rkv_buf *all, unsigned i)
{
    size_t from = all->len;
    put_frame(all, i);
    int64_t end;
    ck_assert_int_eq(rkv_aof_append(a, all->data + from, all->len - from, &end),
                     0);
    return end;
}

static void expect_file(const char *dir, const rkv_buf *all, size_t n)
{
    rec r = {{0}, 0, 0};
    rkv_aof_load_info info;
    ck_assert_int_eq(rkv_aof_load(NULL, dir, MAXP, false, 0, record, &r, &info),
                     0);
    ck_assert_uint_eq(info.truncated, 0);
    ck_assert_uint_eq(info.unused, 0); /* close cut the reserved space */
    ck_assert_uint_eq(r.n, n);
    ck_assert_uint_eq(r.bytes.len, all->len);
    ck_assert_mem_eq(r.bytes.data, all->data, all->len);
    rkv_buf_free(&r.bytes);
}

static void fault_then_recover(rkv_fs_op op, int e, const char *text)
{
    char *dir = tmpdir();
    faults f;
    rkv_fs fs;
    faults_init(&f, &fs);
    rkv_aof *a;
    ck_assert_int_eq(rkv_aof_open(&fs, dir, RKV_FSYNC_ALWAYS, RID, 0, &a), 0);
    rkv_buf all;
    rkv_buf_init(&all);

    int64_t e1 = add(a, &all, 1);
    ck_assert_int_eq(rkv_aof_wait(a, e1), 0); /* acknowledged */

    /* Appends reach the file through its mapping; pwrite(2) is the path
     * of what must be written again after a failed fsync. */
    bool write = op == RKV_FS_WRITE;
    arm(&f, write ? RKV_FS_FSYNC : op, write ? EIO : e);
    int64_t e2 = add(a, &all, 2);
    ck_assert_int_eq(rkv_aof_wait(a, e2), REPLKV_EIO);
    ck_assert_int_eq(rkv_aof_status(a), REPLKV_EIO);
    if (write)
        arm(&f, op, e);
    int64_t e3 = add(a, &all, 3); /* appends go on in memory */
    ck_assert_int_eq(rkv_aof_wait(a, e3), REPLKV_EIO);
    ck_assert_msg(strstr(replkv_last_error(), text) &&
                      strstr(replkv_last_error(), RKV_AOF_FILE),
                  "%s", replkv_last_error());
    rkv_aof_stats st;
    rkv_aof_get_stats(a, &st);
    ck_assert_int_eq(st.durable, e1);
    /* nothing past the durable prefix counts as written: the retry writes
     * it all again (after a failed fsync the kernel may have dropped it) */
    ck_assert_int_eq(st.written, e1);
    ck_assert_int_eq(st.end, e3);
    ck_assert_uint_ge(st.errors, 2);
    ck_assert_int_eq(rkv_aof_flush(a, true), REPLKV_EIO);

    /* The fault clears: the next flush writes everything since the last
     * durable byte, and nothing acknowledged was lost. */
    disarm(&f);
    unsigned long w0 = atomic_load(&f.count[RKV_FS_WRITE]);
    ck_assert_int_eq(rkv_aof_wait(a, e2), 0);
    ck_assert_uint_eq(atomic_load(&f.count[RKV_FS_WRITE]), w0 + 1);
    ck_assert_int_eq(rkv_aof_status(a), 0);
    rkv_aof_get_stats(a, &st);
    ck_assert_int_eq(st.durable, e3);
    int64_t e4 = add(a, &all, 4);
    ck_assert_int_eq(rkv_aof_wait(a, e4), 0);
    ck_assert_int_eq(rkv_aof_close(a), 0);
    expect_file(dir, &all, 4);
    rkv_buf_free(&all);
    rmdir_all(dir);
}

/* A header whose start offset is so large that start + the frames would
 * pass INT64_MAX is refused, not summed into an overflow (fuzz_aof found
 * it: tests/fuzz/crashes/aof-start-int64-max.rkv). */
START_TEST(test_start_offset_overflow)
{
    char *dir = tmpdir();
    rkv_buf frames;
    rkv_buf_init(&frames);
    make_aof(dir, 3, 0, &frames, NULL);
    rkv_buf file;
    rkv_buf_init(&file);
    read_file(dir, RKV_AOF_FILE, &file);
    rkv_aof_put_header(file.data, RID, INT64_MAX - 5);
    write_file(dir, RKV_AOF_FILE, file.data, file.len);
    rec r = {{0}, 0, 0};
    rkv_aof_load_info info;
    ck_assert_int_eq(rkv_aof_load(NULL, dir, MAXP, false, 0, record, &r, &info),
                     REPLKV_ECORRUPT);
    ck_assert_msg(strstr(replkv_last_error(), "largest offset"), "%s",
                  replkv_last_error());
    /* The same start with no frames after it is still a valid file. */
    write_file(dir, RKV_AOF_FILE, file.data, RKV_AOF_HDR);
    ck_assert_int_eq(rkv_aof_load(NULL, dir, MAXP, false, 0, record, &r, &info),
                     0);
    ck_assert_uint_eq(r.n, 0);
    rkv_buf_free(&r.bytes);
    rkv_buf_free(&file);
    rkv_buf_free(&frames);
    rmdir_all(dir);
}
END_TEST

/* A write that had to go through pwrite (no room was reserved) fails. */
START_TEST(test_write_failure_then_recover)
{
    fault_then_recover(RKV_FS_WRITE, ENOSPC, "No space left on device");
}
END_TEST

/* A full disk shows when space is reserved: the status turns REPLKV_EIO
 * while reserved space is left (the node refuses writes from then on),
 * an append past it waits in memory and its writer gets REPLKV_EIO, and
 * once there is space again everything is written and nothing
 * acknowledged is lost. Never a SIGBUS. */
START_TEST(test_disk_full_then_recover)
{
    char *dir = tmpdir();
    faults f;
    rkv_fs fs;
    faults_init(&f, &fs);
    for (int policy = RKV_FSYNC_NO; policy <= RKV_FSYNC_ALWAYS; policy++) {
        rkv_aof *a;
        ck_assert_int_eq(rkv_aof_remove(NULL, dir), 0);
        ck_assert_int_eq(
            rkv_aof_open(&fs, dir, (rkv_fsync_policy)policy, RID, 0, &a), 0);
        rkv_buf all;
        rkv_buf_init(&all);
        unsigned n = 0;
        int64_t e = add(a, &all, n++);
        ck_assert_int_eq(rkv_aof_wait(a, e), 0);
        rkv_aof_stats st;
        rkv_aof_get_stats(a, &st);
        uint64_t reserved = st.reserved;
        ck_assert_uint_ge(reserved, RKV_AOF_CHUNK_MIN);

        arm(&f, RKV_FS_RESERVE, ENOSPC);
        unsigned long w0 = atomic_load(&f.count[RKV_FS_WRITE]);
        do { /* into the mapping, until the reserved space runs out */
            e = add(a, &all, n++);
            rkv_aof_get_stats(a, &st);
        } while (st.written == st.end);
        ck_assert_uint_eq(atomic_load(&f.count[RKV_FS_WRITE]), w0);
        ck_assert_uint_le(st.size, reserved);
        ck_assert_uint_eq(st.reserved, reserved);
        ck_assert_int_eq(rkv_aof_status(a), REPLKV_EIO);
        ck_assert_msg(strstr(replkv_last_error(), "fallocate") &&
                          strstr(replkv_last_error(), "No space left"),
                      "%s", replkv_last_error());
        ck_assert_int_eq(rkv_aof_write_wait(a, e), REPLKV_EIO);
        ck_assert_int_eq(rkv_aof_wait(a, e), REPLKV_EIO);

        disarm(&f);
        ck_assert_int_eq(rkv_aof_wait(a, e), 0);
        ck_assert_int_eq(rkv_aof_status(a), 0);
        rkv_aof_get_stats(a, &st);
        ck_assert_uint_gt(st.reserved, reserved);
        e = add(a, &all, n++);
        ck_assert_int_eq(rkv_aof_wait(a, e), 0);
        ck_assert_int_eq(rkv_aof_close(a), 0);
        expect_file(dir, &all, n);
        rkv_buf_free(&all);
    }
    rmdir_all(dir);
}
END_TEST

START_TEST(test_fsync_failure_then_recover)
{
    fault_then_recover(RKV_FS_FSYNC, EIO, "Input/output error");
}
END_TEST

START_TEST(test_everysec_and_no)
{
    char *dir = tmpdir();
    faults f;
    rkv_fs fs;
    faults_init(&f, &fs);
    rkv_aof *a;
    ck_assert_int_eq(rkv_aof_open(&fs, dir, RKV_FSYNC_EVERYSEC, RID, 0, &a), 0);
    rkv_buf all;
    rkv_buf_init(&all);
    unsigned long fs0 = atomic_load(&f.count[RKV_FS_FSYNC]);
    unsigned long w0 = atomic_load(&f.count[RKV_FS_WRITE]);
    /* Writers only append: no I/O at all until the I/O thread flushes. */
    for (unsigned i = 0; i < 100; i++)
        add(a, &all, i);
    ck_assert_uint_eq(atomic_load(&f.count[RKV_FS_WRITE]), w0);
    ck_assert_int_eq(rkv_aof_flush(a, false), 0); /* every loop turn */
    rkv_aof_stats st;
    rkv_aof_get_stats(a, &st);
    ck_assert_int_eq(st.written, st.end);
    ck_assert_int_eq(st.durable, 0);
    ck_assert_uint_eq(atomic_load(&f.count[RKV_FS_FSYNC]), fs0);

    /* The once-a-second fsync fails, then succeeds. */
    arm(&f, RKV_FS_FSYNC, EIO);
    ck_assert_int_eq(rkv_aof_flush(a, true), REPLKV_EIO);
    rkv_aof_get_stats(a, &st);
    ck_assert_int_eq(st.durable, 0);
    /* the kernel may have dropped the written pages: they count as not
     * written, and the next flush writes them again from memory */
    ck_assert_int_eq(st.written, 0);
    disarm(&f);
    w0 = atomic_load(&f.count[RKV_FS_WRITE]);
    add(a, &all, 100);
    ck_assert_int_eq(rkv_aof_flush(a, true), 0);
    ck_assert_uint_eq(atomic_load(&f.count[RKV_FS_WRITE]), w0 + 1);
    rkv_aof_get_stats(a, &st);
    ck_assert_int_eq(st.durable, st.end);
    ck_assert_int_eq(st.written, st.end);
    ck_assert_int_eq(rkv_aof_close(a), 0);
    expect_file(dir, &all, 101);

    /* appendfsync no: write, never fsync until close. */
    ck_assert_int_eq(
        rkv_aof_open(&fs, dir, RKV_FSYNC_NO, RID, (int64_t)all.len, &a), 0);
    fs0 = atomic_load(&f.count[RKV_FS_FSYNC]);
    for (unsigned i = 101; i < 150; i++) {
        add(a, &all, i);
        ck_assert_int_eq(rkv_aof_flush(a, false), 0);
    }
    ck_assert_uint_eq(atomic_load(&f.count[RKV_FS_FSYNC]), fs0);
    ck_assert_int_eq(rkv_aof_close(a), 0);
    expect_file(dir, &all, 150);
    rkv_buf_free(&all);
    rmdir_all(dir);
}
END_TEST

/* ------------------------------------------------------------- rewrite */

typedef struct rw_arg {
    rkv_aof *a;
    atomic_int stop;
    pthread_mutex_t mu; /* append order = frames order */
    rkv_buf *all;
    unsigned next;
    int errors;
} rw_arg;

static void *rw_writer(void *p)
{
    rw_arg *w = p;
    while (!atomic_load(&w->stop)) {
        pthread_mutex_lock(&w->mu);
        int64_t end = add(w->a, w->all, w->next++);
        pthread_mutex_unlock(&w->mu);
        if (rkv_aof_wait(w->a, end) != 0)
            w->errors++;
    }
    return NULL;
}

START_TEST(test_rewrite_after_snapshot)
{
    char *dir = tmpdir();
    rkv_aof *a;
    ck_assert_int_eq(rkv_aof_open(NULL, dir, RKV_FSYNC_ALWAYS, RID, 0, &a), 0);
    rkv_buf all;
    rkv_buf_init(&all);
    for (unsigned i = 0; i < 2000; i++)
        add(a, &all, i);
    ck_assert_int_eq(rkv_aof_flush(a, true), 0);
    size_t cut = all.len;
    for (unsigned i = 2000; i < 2100; i++)
        add(a, &all, i);
    /* The snapshot started at offset cut; writers go on during the
     * rewrite. */
    rw_arg w = {.a = a, .all = &all, .next = 2100};
    pthread_mutex_init(&w.mu, NULL);
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, rw_writer, &w), 0);
    usleep(2000);
    ck_assert_int_eq(rkv_aof_rewrite(a, RID, -1), REPLKV_EINVAL);
    ck_assert_int_eq(rkv_aof_rewrite(a, RID, (int64_t)cut), 0);
    usleep(2000);
    atomic_store(&w.stop, 1);
    pthread_join(t, NULL);
    ck_assert_int_eq(w.errors, 0);
    rkv_aof_stats st;
    rkv_aof_get_stats(a, &st);
    ck_assert_int_eq(st.start, (int64_t)cut);
    ck_assert_int_eq(st.end, (int64_t)all.len);
    /* the size right after the rewrite: the base for the next decision */
    ck_assert_uint_gt(st.base_size, RKV_AOF_HDR + 100);
    ck_assert_uint_le(st.base_size, st.size);
    ck_assert_int_eq(rkv_aof_close(a), 0);

    rec r = {{0}, 0, 0};
    rkv_aof_load_info info;
    ck_assert_int_eq(rkv_aof_load(NULL, dir, MAXP, false, 0, record, &r, &info),
                     0);
    ck_assert_int_eq(info.start, (int64_t)cut);
    ck_assert_int_eq(info.end, (int64_t)all.len);
    ck_assert_uint_eq(r.bytes.len, all.len - cut);
    ck_assert_mem_eq(r.bytes.data, all.data + cut, all.len - cut);
    ck_assert_uint_eq(file_size(dir, RKV_AOF_FILE),
                      RKV_AOF_HDR + all.len - cut);
    rkv_buf_free(&r.bytes);

    /* A failed rewrite keeps the old file in use. */
    faults f;
    rkv_fs fs;
    faults_init(&f, &fs);
    ck_assert_int_eq(
        rkv_aof_open(&fs, dir, RKV_FSYNC_ALWAYS, RID, (int64_t)all.len, &a), 0);
    int64_t e = add(a, &all, 5000);
    arm(&f, RKV_FS_RENAME, EIO);
    ck_assert_int_eq(rkv_aof_rewrite(a, RID, e), REPLKV_EIO);
    disarm(&f);
    ck_assert_int_eq(rkv_aof_wait(a, e), 0);
    ck_assert_int_eq(rkv_aof_close(a), 0);
    char tmp[600];
    snprintf(tmp, sizeof tmp, "%s/%s", dir, RKV_AOF_TMP);
    ck_assert_int_ne(access(tmp, F_OK), 0);
    r.n = 0;
    ck_assert_int_eq(rkv_aof_load(NULL, dir, MAXP, false, 0, record, &r, &info),
                     0);
    ck_assert_int_eq(info.start, (int64_t)cut);
    ck_assert_mem_eq(r.bytes.data, all.data + cut, all.len - cut);

    pthread_mutex_destroy(&w.mu);
    rkv_buf_free(&r.bytes);
    rkv_buf_free(&all);
    rmdir_all(dir);
}
END_TEST

/* ----------------------------------------------------- persist_load */

static void snapshot_at(const char *dir, const char *replid, int64_t offset,
                        const char *replid2, int64_t second, unsigned keys)
{
    rkv_snap_hist h = {replid, offset, replid2, second};
    rkv_snap_writer *w;
    ck_assert_int_eq(rkv_snap_begin(NULL, dir, &h, 1, &w), 0);
    for (unsigned i = 0; i < keys; i++) {
        char k[16];
        snprintf(k, sizeof k, "snap%u", i);
        ck_assert_int_eq(rkv_snap_add(w, k, strlen(k), "v", 1, 0), 0);
    }
    ck_assert_int_eq(rkv_snap_commit(w, NULL), 0);
}

static void reset_rec(rec *r)
{
    rkv_buf_clear(&r->bytes);
    r->n = 0;
    r->ends = 0;
}

START_TEST(test_persist_load)
{
    char *dir = tmpdir();
    rkv_persist_loaded out;
    rec r = {{0}, 0, 0};
    /* An empty dir: a new node. */
    ck_assert_int_eq(rkv_persist_load(NULL, dir, MAXP, false, record, &r, &out),
                     0);
    ck_assert(!out.have_aof && !out.have_snapshot);
    ck_assert_str_eq(out.replid, "");

    /* A snapshot at offset 500 and the AOF that continues it. */
    snapshot_at(dir, RID, 500, NULL, -1, 1);
    rkv_buf frames;
    rkv_buf_init(&frames);
    make_aof(dir, 20, 500, &frames, NULL);
    ck_assert_int_eq(rkv_persist_load(NULL, dir, MAXP, false, record, &r, &out),
                     0);
    ck_assert(out.have_aof && out.have_snapshot);
    ck_assert(!out.aof_trimmed && !out.aof_dropped);
    ck_assert_uint_eq(r.n, 21);
    ck_assert_uint_eq(r.ends, 2); /* one per file, after its records */
    ck_assert_str_eq(out.replid, RID);
    ck_assert_int_eq(out.offset, 500 + (int64_t)frames.len);
    rkv_aof *a;
    ck_assert_int_eq(
        rkv_aof_open(NULL, dir, RKV_FSYNC_NO, out.replid, out.offset, &a), 0);
    ck_assert_int_eq(rkv_aof_close(a), 0);

    /* Another history, or an AOF that starts after the snapshot: the
     * files do not belong together, nothing is applied. */
    ck_assert_int_eq(rkv_aof_remove(NULL, dir), 0);
    ck_assert_int_eq(rkv_aof_open(NULL, dir, RKV_FSYNC_NO, RID2, 500, &a), 0);
    ck_assert_int_eq(rkv_aof_close(a), 0);
    reset_rec(&r);
    ck_assert_int_eq(rkv_persist_load(NULL, dir, MAXP, false, record, &r, &out),
                     REPLKV_ECORRUPT);
    ck_assert_ptr_nonnull(strstr(replkv_last_error(), "does not continue"));
    ck_assert_uint_eq(r.n, 0);
    ck_assert_int_eq(rkv_aof_remove(NULL, dir), 0);
    ck_assert_int_eq(rkv_aof_open(NULL, dir, RKV_FSYNC_NO, RID, 501, &a), 0);
    ck_assert_int_eq(rkv_aof_close(a), 0);
    ck_assert_int_eq(rkv_persist_load(NULL, dir, MAXP, false, record, &r, &out),
                     REPLKV_ECORRUPT);
    ck_assert_uint_eq(r.n, 0);

    /* A snapshot alone (the AOF removed before a new history's snapshot). */
    ck_assert_int_eq(rkv_aof_remove(NULL, dir), 0);
    ck_assert_int_eq(rkv_persist_load(NULL, dir, MAXP, false, record, &r, &out),
                     0);
    ck_assert(!out.have_aof && out.have_snapshot);
    ck_assert_int_eq(out.offset, 500);
    ck_assert_uint_eq(r.n, 1);

    /* An AOF that starts past 0 without a snapshot. */
    char snap[600];
    snprintf(snap, sizeof snap, "%s/%s", dir, RKV_SNAP_FILE);
    ck_assert_int_eq(unlink(snap), 0);
    ck_assert_int_eq(rkv_aof_open(NULL, dir, RKV_FSYNC_NO, RID, 7, &a), 0);
    ck_assert_int_eq(rkv_aof_close(a), 0);
    ck_assert_int_eq(rkv_persist_load(NULL, dir, MAXP, false, record, &r, &out),
                     REPLKV_ECORRUPT);
    ck_assert_ptr_nonnull(strstr(replkv_last_error(), "no "));

    /* A missing directory names itself. */
    char missing[600];
    snprintf(missing, sizeof missing, "%s/missing", dir);
    ck_assert_int_eq(
        rkv_persist_load(NULL, missing, MAXP, false, record, &r, &out),
        REPLKV_EIO);
    ck_assert_ptr_nonnull(strstr(replkv_last_error(), missing));

    rkv_buf_free(&frames);
    rkv_buf_free(&r.bytes);
    rmdir_all(dir);
}
END_TEST

/* A crash between a snapshot's rename and the AOF's rewrite: the AOF still
 * starts before the snapshot. Only the frames after the snapshot's offset
 * are applied, and the AOF is trimmed. */
START_TEST(test_persist_load_after_crash_before_trim)
{
    char *dir = tmpdir();
    rkv_buf frames;
    rkv_buf_init(&frames);
    size_t ends[30];
    make_aof(dir, 30, 0, &frames, ends);
    snapshot_at(dir, RID, (int64_t)ends[9], NULL, -1, 3);
    rec r = {{0}, 0, 0};
    rkv_persist_loaded out;
    ck_assert_int_eq(rkv_persist_load(NULL, dir, MAXP, false, record, &r, &out),
                     0);
    ck_assert(out.aof_trimmed);
    ck_assert_uint_eq(out.aof.frames, 20);
    ck_assert_uint_eq(r.n, 3 + 20);
    ck_assert_int_eq(out.offset, (int64_t)frames.len);
    rkv_aof_load_info info;
    reset_rec(&r);
    ck_assert_int_eq(rkv_aof_load(NULL, dir, MAXP, false, 0, record, &r, &info),
                     0);
    ck_assert_int_eq(info.start, (int64_t)ends[9]);
    ck_assert_uint_eq(r.bytes.len, frames.len - ends[9]);
    ck_assert_mem_eq(r.bytes.data, frames.data + ends[9], r.bytes.len);

    /* A snapshot offset inside a frame is damage. */
    ck_assert_int_eq(rkv_aof_remove(NULL, dir), 0);
    rkv_buf_clear(&frames);
    make_aof(dir, 30, 0, &frames, ends);
    snapshot_at(dir, RID, (int64_t)ends[9] + 1, NULL, -1, 0);
    ck_assert_int_eq(rkv_persist_load(NULL, dir, MAXP, false, record, &r, &out),
                     REPLKV_ECORRUPT);
    ck_assert_ptr_nonnull(strstr(replkv_last_error(), "inside the frame"));

    /* A snapshot ahead of the whole AOF (everysec, crash before the
     * write-out): the snapshot alone is the state; the AOF goes. */
    snapshot_at(dir, RID, (int64_t)frames.len + 100, NULL, -1, 2);
    reset_rec(&r);
    ck_assert_int_eq(rkv_persist_load(NULL, dir, MAXP, false, record, &r, &out),
                     0);
    ck_assert(out.aof_dropped);
    ck_assert_uint_eq(r.n, 2);
    ck_assert_int_eq(out.offset, (int64_t)frames.len + 100);
    ck_assert_int_eq(rkv_aof_load(NULL, dir, MAXP, false, 0, NULL, NULL, &info),
                     REPLKV_ENOTFOUND);

    /* After a promotion: the snapshot is in the new history RID2, which
     * continues RID from offset 101; the AOF still says RID. */
    ck_assert_int_eq(rkv_aof_remove(NULL, dir), 0);
    rkv_buf_clear(&frames);
    make_aof(dir, 30, 0, &frames, ends);
    snapshot_at(dir, RID2, (int64_t)ends[19], RID, 101, 1);
    reset_rec(&r);
    ck_assert_int_eq(rkv_persist_load(NULL, dir, MAXP, false, record, &r, &out),
                     0);
    ck_assert(out.aof_trimmed);
    ck_assert_str_eq(out.replid, RID2);
    ck_assert_uint_eq(r.n, 1 + 10);
    ck_assert_int_eq(rkv_aof_load(NULL, dir, MAXP, false, 0, NULL, NULL, &info),
                     0);
    ck_assert_str_eq(info.replid, RID2);
    ck_assert_int_eq(info.start, (int64_t)ends[19]);
    rkv_aof *a;
    ck_assert_int_eq(
        rkv_aof_open(NULL, dir, RKV_FSYNC_NO, out.replid, out.offset, &a), 0);
    ck_assert_int_eq(rkv_aof_close(a), 0);

    rkv_buf_free(&frames);
    rkv_buf_free(&r.bytes);
    rmdir_all(dir);
}
END_TEST

static Suite *aof_suite(void)
{
    Suite *s = suite_create("persist_aof");
    TCase *tc = tcase_create("aof");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_policy_and_decision);
    tcase_add_test(tc, test_roundtrip);
    tcase_add_test(tc, test_start_offset_overflow);
    tcase_add_test(tc, test_group_commit);
    tcase_add_test(tc, test_torn_tail_every_byte);
    tcase_add_test(tc, test_damage_in_the_middle);
    tcase_add_test(tc, test_write_failure_then_recover);
    tcase_add_test(tc, test_disk_full_then_recover);
    tcase_add_test(tc, test_fsync_failure_then_recover);
    tcase_add_test(tc, test_everysec_and_no);
    tcase_add_test(tc, test_rewrite_after_snapshot);
    tcase_add_test(tc, test_persist_load);
    tcase_add_test(tc, test_persist_load_after_crash_before_trim);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    const char *base = getenv("TMPDIR");
    snprintf(ROOT, sizeof ROOT, "%s/rkv-aof-XXXXXX", base ? base : "/tmp");
    if (mkdtemp(ROOT) == NULL) {
        perror("mkdtemp");
        return EXIT_FAILURE;
    }
    SRunner *sr = srunner_create(aof_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    nftw(ROOT, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
