/*
 * check_persist_snapshot.c - snapshot files (lib/persist_snapshot.c): a
 * 100k-key round trip, frames handed over as a full resync produces them,
 * truncation at many points, a newer format version, header, body and
 * trailer corruption, and failed commits that leave the old snapshot.
 */
#include <check.h>
#include <errno.h>
#include <ftw.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "buf.h"
#include "persist_snapshot.h"
#include "stream.h"

static const char RID[] = "0123456789abcdef0123456789abcdef01234567";
#define MAXP ((size_t)1 << 20)
#define NKEYS 100000

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

typedef struct faults {
    atomic_int fail_op;
    atomic_int fail_errno;
} faults;

static int hook(void *ud, rkv_fs_op op, const char *path)
{
    faults *f = ud;
    (void)path;
    return atomic_load(&f->fail_op) == (int)op ? atomic_load(&f->fail_errno)
                                               : 0;
}

static void read_file(const char *path, rkv_buf *b)
{
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    rkv_buf_clear(b);
    uint8_t chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        ck_assert_int_eq(rkv_buf_append(b, chunk, n), 0);
    fclose(f);
}

static void write_file(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(p, 1, n, f), n);
    ck_assert_int_eq(fclose(f), 0);
}

/* Key i's value and expiry. */
static int kv(unsigned i, char *key, char *val, int64_t *exp)
{
    snprintf(key, 32, "user:%07u", i);
    *exp = i % 5 == 0 ? 1900000000000 + i : 0;
    return snprintf(
        val, 96, "v%u-%.*s", i * 7919u, (int)(i % 60),
        "0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijkl");
}

/* An order-independent digest of what a load applied, and of what was
 * written: the sum of XXH3 over (key, value, expiry). */
typedef struct seen {
    uint64_t sum;
    size_t n;
    size_t ends; /* fn(ud, NULL) calls: the end of a file's records */
} seen;

static uint64_t entry_hash(const void *k, size_t kl, const void *v, size_t vl,
                           int64_t exp)
{
    return XXH3_64bits_withSeed(v, vl, XXH3_64bits(k, kl) ^ (uint64_t)exp);
}

static int collect(void *ud, const rkv_msg *m)
{
    seen *s = ud;
    if (m == NULL) {
        s->ends++;
        return 0;
    }
    ck_assert_uint_eq(s->ends, 0); /* no record after the end */
    ck_assert_uint_eq(m->type, RKV_REC_SET);
    s->sum += entry_hash(m->set.key.p, m->set.key.len, m->set.val.p,
                         m->set.val.len, m->set.expire_at);
    s->n++;
    return 0;
}

/* Writes a snapshot of keys 0..n-1 (half through rkv_snap_add, half as
 * ready-made frames) and returns their digest. */
static uint64_t make_snapshot(const char *dir, unsigned n, int64_t offset)
{
    rkv_snap_writer *w;
    rkv_snap_hist h = {RID, offset, NULL, -1};
    ck_assert_int_eq(rkv_snap_begin(NULL, dir, &h, 1234, &w), 0);
    rkv_buf batch;
    rkv_buf_init(&batch);
    uint64_t sum = 0;
    for (unsigned i = 0; i < n; i++) {
        char key[32], val[96];
        int64_t exp;
        int vl = kv(i, key, val, &exp);
        sum += entry_hash(key, strlen(key), val, (size_t)vl, exp);
        if (i % 2 == 0) {
            ck_assert_int_eq(
                rkv_snap_add(w, key, strlen(key), val, (size_t)vl, exp), 0);
        } else {
            ck_assert_int_eq(rkv_frame_put_set(&batch, key, strlen(key), val,
                                               (size_t)vl, exp),
                             0);
            if (batch.len > 4096 || i + 2 >= n) {
                ck_assert_int_eq(rkv_snap_add_frames(w, batch.data, batch.len),
                                 0);
                rkv_buf_clear(&batch);
            }
        }
    }
    if (batch.len > 0)
        ck_assert_int_eq(rkv_snap_add_frames(w, batch.data, batch.len), 0);
    rkv_snap_info info;
    ck_assert_int_eq(rkv_snap_commit(w, &info), 0);
    ck_assert_uint_eq(info.key_count, n);
    ck_assert_int_eq(info.offset, offset);
    rkv_buf_free(&batch);
    return sum;
}

START_TEST(test_roundtrip_100k)
{
    char *dir = tmpdir();
    uint64_t sum = make_snapshot(dir, NKEYS, 123456789);
    seen s = {0, 0, 0};
    rkv_snap_info info;
    ck_assert_int_eq(rkv_snap_load(NULL, dir, MAXP, collect, &s, &info), 0);
    ck_assert_uint_eq(s.n, NKEYS);
    ck_assert_uint_eq(s.sum, sum);
    ck_assert_uint_eq(s.ends, 1); /* the records' bytes lived until then */
    ck_assert_uint_eq(info.key_count, NKEYS);
    ck_assert_str_eq(info.replid, RID);
    ck_assert_int_eq(info.offset, 123456789);
    ck_assert_int_eq(info.created_ms, 1234);
    ck_assert_uint_eq(info.version, RKV_SNAP_VERSION);
    rkv_snap_info st;
    ck_assert_int_eq(rkv_snap_stat(NULL, dir, &st), 0);
    ck_assert_uint_eq(st.key_count, NKEYS);
    ck_assert_uint_eq(st.size, info.size);

    /* An empty snapshot is valid too, and replaces the old one. */
    make_snapshot(dir, 0, 5);
    s.n = 0;
    s.ends = 0;
    ck_assert_int_eq(rkv_snap_load(NULL, dir, MAXP, collect, &s, &info), 0);
    ck_assert_uint_eq(s.n, 0);
    ck_assert_uint_eq(s.ends, 1);
    ck_assert_int_eq(info.offset, 5);
    ck_assert_uint_eq(info.size, RKV_SNAP_HDR + RKV_SNAP_TRAILER);
    rmdir_all(dir);
}
END_TEST

START_TEST(test_writer_refuses)
{
    char *dir = tmpdir();
    rkv_snap_writer *w;
    rkv_snap_hist bad1 = {"xyz", 0, NULL, -1}, bad2 = {RID, -1, NULL, -1};
    rkv_snap_hist bad3 = {RID, 0, RID, -1}, bad4 = {RID, 0, NULL, 5};
    rkv_snap_hist h = {RID, 0, NULL, -1};
    ck_assert_int_eq(rkv_snap_begin(NULL, dir, &bad1, 0, &w), REPLKV_EINVAL);
    ck_assert_int_eq(rkv_snap_begin(NULL, dir, &bad2, 0, &w), REPLKV_EINVAL);
    ck_assert_int_eq(rkv_snap_begin(NULL, dir, &bad3, 0, &w), REPLKV_EINVAL);
    ck_assert_int_eq(rkv_snap_begin(NULL, dir, &bad4, 0, &w), REPLKV_EINVAL);
    ck_assert_int_eq(rkv_snap_begin(NULL, dir, &h, 0, &w), 0);
    ck_assert_int_eq(rkv_snap_add(w, "", 0, "v", 1, 0), REPLKV_EINVAL);
    rkv_buf b;
    rkv_buf_init(&b);
    rkv_msg m = {.type = RKV_REC_DEL};
    m.key.key.p = "k";
    m.key.key.len = 1;
    ck_assert_int_eq(rkv_msg_encode(&b, &m), 0);
    ck_assert_int_eq(rkv_snap_add_frames(w, b.data, b.len), REPLKV_EINVAL);
    ck_assert_ptr_nonnull(strstr(replkv_last_error(), "not a SET"));
    rkv_buf_clear(&b);
    ck_assert_int_eq(rkv_frame_put_set(&b, "k", 1, "v", 1, 0), 0);
    ck_assert_int_eq(rkv_snap_add_frames(w, b.data, b.len - 1), REPLKV_EINVAL);
    b.data[b.len - 1] ^= 1;
    ck_assert_int_eq(rkv_snap_add_frames(w, b.data, b.len), REPLKV_ECORRUPT);
    rkv_snap_abort(w);
    char tmp[600];
    snprintf(tmp, sizeof tmp, "%s/%s", dir, RKV_SNAP_TMP);
    ck_assert_int_ne(access(tmp, F_OK), 0);
    rkv_snap_info info;
    ck_assert_int_eq(rkv_snap_load(NULL, dir, MAXP, NULL, NULL, &info),
                     REPLKV_ENOTFOUND);
    char missing[600];
    snprintf(missing, sizeof missing, "%s/gone", dir);
    ck_assert_int_eq(rkv_snap_load(NULL, missing, MAXP, NULL, NULL, &info),
                     REPLKV_EIO);
    ck_assert_ptr_nonnull(strstr(replkv_last_error(), missing));
    ck_assert_int_eq(rkv_snap_begin(NULL, missing, &h, 0, &w), REPLKV_EIO);
    rkv_buf_free(&b);
    rmdir_all(dir);
}
END_TEST

START_TEST(test_truncated)
{
    char *dir = tmpdir();
    make_snapshot(dir, 300, 77);
    char path[600];
    snprintf(path, sizeof path, "%s/%s", dir, RKV_SNAP_FILE);
    rkv_buf whole;
    rkv_buf_init(&whole);
    read_file(path, &whole);
    /* Cuts in the header, the frames and the trailer, and 1 byte short. */
    size_t cuts[] = {0,
                     4,
                     40,
                     RKV_SNAP_HDR - 1,
                     RKV_SNAP_HDR,
                     RKV_SNAP_HDR + 5,
                     whole.len / 2,
                     whole.len - RKV_SNAP_TRAILER,
                     whole.len - RKV_SNAP_TRAILER + 8,
                     whole.len - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof *cuts; i++) {
        write_file(path, whole.data, cuts[i]);
        seen s = {0, 0, 0};
        rkv_snap_info info;
        int rc = rkv_snap_load(NULL, dir, MAXP, collect, &s, &info);
        ck_assert_msg(rc == REPLKV_ECORRUPT, "cut at %zu: %s (%s)", cuts[i],
                      replkv_err_name(rc), replkv_last_error());
        ck_assert_msg(strstr(replkv_last_error(), path) != NULL, "%s",
                      replkv_last_error());
    }
    rkv_buf_free(&whole);
    rmdir_all(dir);
}
END_TEST

START_TEST(test_newer_version)
{
    char *dir = tmpdir();
    make_snapshot(dir, 10, 0);
    char path[600];
    snprintf(path, sizeof path, "%s/%s", dir, RKV_SNAP_FILE);
    rkv_buf whole;
    rkv_buf_init(&whole);
    read_file(path, &whole);
    /* version 2 with a header checksum that matches: a real newer file */
    whole.data[11] = RKV_SNAP_VERSION + 1;
    uint64_t h = XXH3_64bits(whole.data, 128);
    for (int i = 0; i < 8; i++)
        whole.data[128 + i] = (uint8_t)(h >> (56 - 8 * i));
    write_file(path, whole.data, whole.len);
    rkv_snap_info info;
    ck_assert_int_eq(rkv_snap_load(NULL, dir, MAXP, NULL, NULL, &info),
                     REPLKV_EVERSION);
    ck_assert_ptr_nonnull(strstr(replkv_last_error(), "newer libreplkv"));
    ck_assert_ptr_nonnull(strstr(replkv_last_error(), "version 2"));
    ck_assert_ptr_nonnull(strstr(replkv_last_error(), path));
    ck_assert_int_eq(rkv_snap_stat(NULL, dir, &info), REPLKV_EVERSION);
    rkv_buf_free(&whole);
    rmdir_all(dir);
}
END_TEST

START_TEST(test_corruption)
{
    char *dir = tmpdir();
    make_snapshot(dir, 200, 9);
    char path[600];
    snprintf(path, sizeof path, "%s/%s", dir, RKV_SNAP_FILE);
    rkv_buf whole;
    rkv_buf_init(&whole);
    read_file(path, &whole);
    struct {
        size_t at;
        const char *detail;
    } flips[] = {
        {0, "magic"},
        {20, "header checksum"},                      /* replid */
        {60, "header checksum"},                      /* offset */
        {66, "header checksum"},                      /* key count */
        {84, "header checksum"},                      /* replid2 */
        {122, "header checksum"},                     /* second_offset */
        {130, "header checksum"},                     /* the checksum itself */
        {RKV_SNAP_HDR + 1, "bad frame at byte 136"},  /* a frame's length */
        {RKV_SNAP_HDR + 20, "bad frame at byte 136"}, /* a frame's payload */
        {whole.len - RKV_SNAP_TRAILER, "no trailer"},
        {whole.len - 20, "trailer checksum"}, /* trailer key count */
        {whole.len - 12, "trailer checksum"}, /* body checksum */
        {whole.len - 3, "trailer checksum"},  /* file checksum */
    };
    for (size_t i = 0; i < sizeof flips / sizeof *flips; i++) {
        whole.data[flips[i].at] ^= 0x10;
        write_file(path, whole.data, whole.len);
        whole.data[flips[i].at] ^= 0x10;
        seen s = {0, 0, 0};
        rkv_snap_info info;
        int rc = rkv_snap_load(NULL, dir, MAXP, collect, &s, &info);
        ck_assert_msg(rc == REPLKV_ECORRUPT &&
                          strstr(replkv_last_error(), flips[i].detail),
                      "flip at %zu: %s: %s", flips[i].at, replkv_err_name(rc),
                      replkv_last_error());
    }
    write_file(path, whole.data, whole.len);
    seen s = {0, 0, 0};
    rkv_snap_info info;
    ck_assert_int_eq(rkv_snap_load(NULL, dir, MAXP, collect, &s, &info), 0);
    ck_assert_uint_eq(s.n, 200);
    rkv_buf_free(&whole);
    rmdir_all(dir);
}
END_TEST

START_TEST(test_failed_commit_keeps_old)
{
    char *dir = tmpdir();
    uint64_t sum = make_snapshot(dir, 50, 1);
    faults f = {0};
    rkv_fs fs = {hook, &f};
    rkv_fs_op ops[] = {RKV_FS_WRITE, RKV_FS_FSYNC, RKV_FS_RENAME};
    rkv_snap_hist h = {RID, 99, NULL, -1};
    int errs[] = {ENOSPC, EIO, EROFS};
    for (int i = 0; i < 3; i++) {
        atomic_store(&f.fail_op, -1);
        rkv_snap_writer *w;
        ck_assert_int_eq(rkv_snap_begin(&fs, dir, &h, 0, &w), 0);
        for (unsigned k = 0; k < 10; k++)
            ck_assert_int_eq(rkv_snap_add(w, "key", 3, "new", 3, 0), 0);
        atomic_store(&f.fail_errno, errs[i]);
        atomic_store(&f.fail_op, (int)ops[i]);
        ck_assert_int_eq(rkv_snap_commit(w, NULL), REPLKV_EIO);
        ck_assert_ptr_nonnull(strstr(replkv_last_error(), RKV_SNAP_TMP));
        char tmp[600];
        snprintf(tmp, sizeof tmp, "%s/%s", dir, RKV_SNAP_TMP);
        ck_assert_int_ne(access(tmp, F_OK), 0);
        seen s = {0, 0, 0};
        rkv_snap_info info;
        ck_assert_int_eq(rkv_snap_load(NULL, dir, MAXP, collect, &s, &info), 0);
        ck_assert_uint_eq(s.n, 50);
        ck_assert_uint_eq(s.sum, sum);
        ck_assert_int_eq(info.offset, 1);
    }
    /* A read-only directory: the temporary file cannot be created. */
    atomic_store(&f.fail_errno, EACCES);
    atomic_store(&f.fail_op, RKV_FS_OPEN);
    rkv_snap_writer *w;
    ck_assert_int_eq(rkv_snap_begin(&fs, dir, &h, 0, &w), REPLKV_EIO);
    ck_assert_ptr_nonnull(strstr(replkv_last_error(), "Permission denied"));
    rmdir_all(dir);
}
END_TEST

static Suite *snap_suite(void)
{
    Suite *s = suite_create("persist_snapshot");
    TCase *tc = tcase_create("snapshot");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_roundtrip_100k);
    tcase_add_test(tc, test_writer_refuses);
    tcase_add_test(tc, test_truncated);
    tcase_add_test(tc, test_newer_version);
    tcase_add_test(tc, test_corruption);
    tcase_add_test(tc, test_failed_commit_keeps_old);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    const char *base = getenv("TMPDIR");
    snprintf(ROOT, sizeof ROOT, "%s/rkv-snap-XXXXXX", base ? base : "/tmp");
    if (mkdtemp(ROOT) == NULL) {
        perror("mkdtemp");
        return EXIT_FAILURE;
    }
    SRunner *sr = srunner_create(snap_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    nftw(ROOT, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
