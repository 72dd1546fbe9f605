/*
 * check_persist_file.c - the file-ops layer (lib/persist_file.c): each
 * wrapper does its job, reports REPLKV_EIO naming the operation, the file
 * and errno, and consults the per-instance fault hook (two instances with
 * different hooks do not see each other's faults).
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "persist_file.h"

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

/* Fails op number `nth` (1-based, counted over all ops) with err; counts
 * every op by kind. */
typedef struct plan {
    unsigned long seen;
    unsigned long nth;
    int err;
    unsigned long count[RKV_FS_OP_COUNT];
    char last_path[600];
} plan;

static int nth_hook(void *ud, rkv_fs_op op, const char *path)
{
    plan *p = ud;
    p->count[op]++;
    snprintf(p->last_path, sizeof p->last_path, "%s", path);
    return ++p->seen == p->nth ? p->err : 0;
}

START_TEST(test_wrappers)
{
    char *dir = tmpdir();
    char path[600];
    ck_assert_int_eq(rkv_pf_path(path, sizeof path, dir, "f"), 0);
    char small[8];
    ck_assert_int_eq(rkv_pf_path(small, sizeof small, dir, "f"), REPLKV_EINVAL);
    plan p = {0};
    rkv_fs fs = {nth_hook, &p};
    int fd;
    ck_assert_int_eq(rkv_pf_open(&fs, path, O_RDONLY, &fd), REPLKV_ENOTFOUND);
    ck_assert_int_eq(rkv_pf_open(&fs, path, O_RDWR | O_CREAT, &fd), 0);
    ck_assert_int_eq(rkv_pf_pwrite(&fs, fd, path, "hello world", 11, 0), 0);
    ck_assert_int_eq(rkv_pf_pwrite(&fs, fd, path, "W", 1, 6), 0);
    char got[12] = {0};
    ck_assert_int_eq(rkv_pf_pread(&fs, fd, path, got, 11, 0), 0);
    ck_assert_str_eq(got, "hello World");
    ck_assert_int_eq(rkv_pf_pread(&fs, fd, path, got, 11, 5), REPLKV_EIO);
    ck_assert_ptr_nonnull(strstr(replkv_last_error(), "short"));
    ck_assert_int_eq(rkv_pf_fsync(&fs, fd, path), 0);
    ck_assert_int_eq(rkv_pf_truncate(&fs, fd, path, 5), 0);
    uint64_t size;
    ck_assert_int_eq(rkv_pf_size(fd, path, &size), 0);
    ck_assert_uint_eq(size, 5);
    const uint8_t *m;
    ck_assert_int_eq(rkv_pf_map(&fs, fd, path, size, &m), 0);
    ck_assert_mem_eq(m, "hello", 5);
    rkv_pf_unmap(m, size);
    rkv_pf_close(fd);
    rkv_pf_close(-1);
    char to[600];
    snprintf(to, sizeof to, "%s/g", dir);
    ck_assert_int_eq(rkv_pf_rename(&fs, path, to), 0);
    ck_assert_int_eq(rkv_pf_dirsync(&fs, dir), 0);
    ck_assert_int_eq(rkv_pf_unlink(&fs, to), 0);
    ck_assert_int_eq(rkv_pf_unlink(&fs, to), 0); /* already gone: fine */
    ck_assert_uint_eq(p.count[RKV_FS_OPEN], 2);
    ck_assert_uint_eq(p.count[RKV_FS_WRITE], 2);
    ck_assert_uint_eq(p.count[RKV_FS_READ], 3);
    ck_assert_uint_eq(p.count[RKV_FS_FSYNC], 1);
    ck_assert_uint_eq(p.count[RKV_FS_TRUNCATE], 1);
    ck_assert_uint_eq(p.count[RKV_FS_RENAME], 1);
    ck_assert_uint_eq(p.count[RKV_FS_DIRSYNC], 1);
    ck_assert_uint_eq(p.count[RKV_FS_UNLINK], 2);
    ck_assert_str_eq(rkv_fs_op_name(RKV_FS_DIRSYNC), "dir fsync");
    rmdir_all(dir);
}
END_TEST

START_TEST(test_fault_every_step_of_atomic_write)
{
    char *dir = tmpdir();
    ck_assert_int_eq(rkv_pf_write_atomic(NULL, dir, "state", "old", 3), 0);
    char path[600], tmp[600];
    snprintf(path, sizeof path, "%s/state", dir);
    snprintf(tmp, sizeof tmp, "%s/state.tmp", dir);
    /* write_atomic runs open, write, fsync, rename, dir fsync: fail each
     * in turn. Until the rename succeeds the old file is intact and no
     * temporary file stays behind. */
    const int errs[] = {EACCES, ENOSPC, EIO, EROFS, EIO};
    const char *texts[] = {"Permission denied", "No space left", "Input/output",
                           "Read-only", "Input/output"};
    const char *ops[] = {"open", "write", "fsync", "rename", "dir fsync"};
    for (unsigned long n = 1; n <= 5; n++) {
        plan p = {0};
        p.nth = n;
        p.err = errs[n - 1];
        rkv_fs fs = {nth_hook, &p};
        ck_assert_int_eq(rkv_pf_write_atomic(&fs, dir, "state", "new!", 4),
                         REPLKV_EIO);
        const char *e = replkv_last_error();
        ck_assert_msg(strstr(e, texts[n - 1]) && strstr(e, ops[n - 1]) &&
                          strstr(e, dir),
                      "step %lu: %s", n, e);
        ck_assert_int_ne(access(tmp, F_OK), 0);
        uint8_t *data;
        size_t len;
        ck_assert_int_eq(rkv_pf_read_all(NULL, path, 100, &data, &len), 0);
        if (n < 5)
            ck_assert_mem_eq(data, "old", len);
        else /* renamed: the new file is there, its dir entry maybe not */
            ck_assert_mem_eq(data, "new!", len);
        free(data);
        ck_assert_int_eq(rkv_pf_write_atomic(NULL, dir, "state", "old", 3), 0);
    }
    /* No hook: all fine. Two instances keep their faults apart. */
    plan p1 = {0}, p2 = {0};
    p1.nth = 1;
    p1.err = ENOSPC;
    rkv_fs f1 = {nth_hook, &p1}, f2 = {nth_hook, &p2};
    ck_assert_int_eq(rkv_pf_write_atomic(&f1, dir, "a", "x", 1), REPLKV_EIO);
    ck_assert_int_eq(rkv_pf_write_atomic(&f2, dir, "b", "y", 1), 0);
    ck_assert_uint_eq(p2.count[RKV_FS_FSYNC], 1);
    ck_assert_uint_eq(p2.count[RKV_FS_DIRSYNC], 1);
    rmdir_all(dir);
}
END_TEST

START_TEST(test_dirs_and_read_all)
{
    char *dir = tmpdir();
    ck_assert_int_eq(rkv_pf_check_dir(NULL, dir), 0);
    char missing[600], file[600];
    snprintf(missing, sizeof missing, "%s/no/such", dir);
    ck_assert_int_eq(rkv_pf_check_dir(NULL, missing), REPLKV_EIO);
    ck_assert_ptr_nonnull(strstr(replkv_last_error(), missing));
    ck_assert_ptr_nonnull(strstr(replkv_last_error(), "No such file"));
    ck_assert_int_eq(rkv_pf_check_dir(NULL, ""), REPLKV_EINVAL);
    ck_assert_int_eq(rkv_pf_write_atomic(NULL, dir, "f", "0123456789", 10), 0);
    snprintf(file, sizeof file, "%s/f", dir);
    ck_assert_int_eq(rkv_pf_check_dir(NULL, file), REPLKV_EIO);
    ck_assert_ptr_nonnull(strstr(replkv_last_error(), "not a directory"));
    /* An unreadable directory, through the hook. */
    plan p = {0};
    p.nth = 1;
    p.err = EACCES;
    rkv_fs fs = {nth_hook, &p};
    ck_assert_int_eq(rkv_pf_check_dir(&fs, dir), REPLKV_EIO);
    ck_assert_ptr_nonnull(strstr(replkv_last_error(), "Permission denied"));

    uint8_t *data;
    size_t len;
    ck_assert_int_eq(rkv_pf_read_all(NULL, file, 10, &data, &len), 0);
    ck_assert_uint_eq(len, 10);
    free(data);
    ck_assert_int_eq(rkv_pf_read_all(NULL, file, 9, &data, &len),
                     REPLKV_ECORRUPT);
    ck_assert_ptr_null(data);
    ck_assert_int_eq(rkv_pf_read_all(NULL, missing, 9, &data, &len),
                     REPLKV_ENOTFOUND);
    rmdir_all(dir);
}
END_TEST

static Suite *file_suite(void)
{
    Suite *s = suite_create("persist_file");
    TCase *tc = tcase_create("file");
    tcase_add_test(tc, test_wrappers);
    tcase_add_test(tc, test_fault_every_step_of_atomic_write);
    tcase_add_test(tc, test_dirs_and_read_all);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    const char *base = getenv("TMPDIR");
    snprintf(ROOT, sizeof ROOT, "%s/rkv-file-XXXXXX", base ? base : "/tmp");
    if (mkdtemp(ROOT) == NULL) {
        perror("mkdtemp");
        return EXIT_FAILURE;
    }
    SRunner *sr = srunner_create(file_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    nftw(ROOT, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
