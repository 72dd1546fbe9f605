/*
 * check_persist_node.c - persistence through the node: restart with the
 * same data, replication id and offset; group commit under appendfsync
 * always; a torn tail cut and logged; mid-file damage refused; snapshots;
 * a damaged state file; a bad dir; a replica that restarts and resumes with
 * a partial resync; a failing disk (through the test-only file hook) that
 * refuses writes and then recovers; the failover state saved and given
 * back after a restart.
 */
#include <arpa/inet.h>
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "persist_node.h"
#include "persist_state.h"
#include "repl.h"
#include "replkv.h"
#include "testlog.h"
#include "testnet.h"

#define S(str) (str), strlen(str)

/* ------------------------------------------------------------ temp dirs */

static char tmpdir[256];

static void make_tmp(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/rkv_pn_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void rm_tree(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return;
    struct dirent *e;
    char p[512];
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        struct stat st;
        if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
            rm_tree(p);
        else
            unlink(p);
    }
    closedir(d);
    rmdir(dir);
}

static void teardown(void)
{
    if (tmpdir[0])
        rm_tree(tmpdir);
    tmpdir[0] = '\0';
}

static void path_in(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/%s", tmpdir, name);
}

static long file_size(const char *name)
{
    char p[512];
    path_in(p, sizeof p, name);
    struct stat st;
    return stat(p, &st) == 0 ? (long)st.st_size : -1;
}

/* ------------------------------------------------------------ nodes */

/* Opens a node on tmpdir with appendonly yes and the given pairs; returns
 * replkv_open's result. */
static int try_open(const char *dir, const char *const *kvs, replkv_t **kv)
{
    replkv_opts *o = replkv_opts_new();
    ck_assert_int_eq(replkv_opts_set(o, "loglevel", "verbose"), 0);
    if (dir != NULL) {
        ck_assert_int_eq(replkv_opts_set(o, "dir", dir), 0);
        ck_assert_int_eq(replkv_opts_set(o, "appendonly", "yes"), 0);
    }
    for (; kvs && kvs[0]; kvs += 2)
        ck_assert_int_eq(replkv_opts_set(o, kvs[0], kvs[1]), 0);
    replkv_opts_set_log(o, test_log_capture, NULL);
    *kv = NULL;
    int rc = replkv_open(o, kv);
    replkv_opts_free(o);
    return rc;
}

static replkv_t *open_ok(const char *const *kvs)
{
    replkv_t *kv;
    int rc = try_open(tmpdir, kvs, &kv);
    ck_assert_msg(rc == 0, "open: %s: %s", replkv_err_name(rc),
                  replkv_last_error());
    return kv;
}

static replkv_repl_info info_of(replkv_t *kv)
{
    replkv_repl_info in;
    in.size = sizeof in;
    ck_assert_int_eq(replkv_repl_info_get(kv, &in), 0);
    return in;
}

static void digest_of(replkv_t *kv, unsigned char d[16])
{
    ck_assert_int_eq(replkv_digest(kv, d), 0);
}

static bool has_key(replkv_t *kv, const char *key)
{
    char buf[64];
    size_t n;
    return replkv_get(kv, key, strlen(key), buf, sizeof buf, &n) == 0;
}

static void put_keys(replkv_t *kv, const char *prefix, int from, int to)
{
    char k[64], v[64];
    for (int i = from; i < to; i++) {
        snprintf(k, sizeof k, "%s%d", prefix, i);
        snprintf(v, sizeof v, "value-%d", i * 7);
        int rc = replkv_set(kv, S(k), S(v), 0, 0);
        ck_assert_msg(rc == 1, "set %s: %s", k, replkv_last_error());
    }
}

/* ------------------------------------------------------------ tests */

START_TEST(off_by_default)
{
    make_tmp();
    replkv_t *kv;
    ck_assert_int_eq(try_open(NULL, NULL, &kv), 0);
    ck_assert_int_eq(replkv_set(kv, S("a"), S("1"), 0, 0), 1);
    ck_assert_int_eq(replkv_snapshot(kv), REPLKV_ESTATE);
    char *text;
    ck_assert_int_eq(replkv_info(kv, "persistence", &text), 0);
    ck_assert_ptr_nonnull(strstr(text, "aof_enabled:0"));
    ck_assert_ptr_nonnull(strstr(text, "loading:0"));
    replkv_free(text);
    replkv_close(kv);
    /* appendonly without a dir is a configuration error. */
    const char *kvs[] = {"appendonly", "yes", NULL};
    ck_assert_int_eq(try_open(NULL, kvs, &kv), REPLKV_EINVAL);
    /* Option parsing. */
    replkv_opts *o = replkv_opts_new();
    ck_assert_int_eq(replkv_opts_set(o, "appendfsync", "sometimes"),
                     REPLKV_EINVAL);
    ck_assert_int_eq(replkv_opts_set(o, "appendfsync", "always"), 0);
    ck_assert_int_eq(replkv_opts_set(o, "auto-aof-rewrite-min-size", "1mb"), 0);
    ck_assert_int_eq(replkv_opts_set(o, "aof-load-corrupt-repair", "yes"), 0);
    char buf[32];
    ck_assert_int_eq(replkv_opts_get(o, "appendfsync", buf, sizeof buf, NULL),
                     0);
    ck_assert_str_eq(buf, "always");
    replkv_opts_free(o);
}
END_TEST

START_TEST(restart_with_data)
{
    make_tmp();
    replkv_t *kv = open_ok(NULL);
    put_keys(kv, "k", 0, 2000);
    for (int i = 0; i < 2000; i += 10) {
        char k[32];
        snprintf(k, sizeof k, "k%d", i);
        ck_assert_int_eq(replkv_del(kv, S(k)), 1);
    }
    ck_assert_int_eq(replkv_expire(kv, S("k1"), 3600000, 0), 1);
    int64_t n;
    ck_assert_int_eq(replkv_incrby(kv, S("counter"), 42, &n), 0);
    ck_assert_int_eq(replkv_append(kv, S("k3"), S("-more"), NULL), 0);
    unsigned char d1[16], d2[16];
    digest_of(kv, d1);
    replkv_repl_info a = info_of(kv);
    ck_assert_int_gt(a.offset, 0);
    char *text;
    ck_assert_int_eq(replkv_info(kv, "persistence", &text), 0);
    ck_assert_ptr_nonnull(strstr(text, "aof_enabled:1"));
    ck_assert_ptr_nonnull(strstr(text, "aof_last_write_status:ok"));
    replkv_free(text);
    replkv_close(kv);

    kv = open_ok(NULL);
    digest_of(kv, d2);
    ck_assert_mem_eq(d1, d2, 16);
    replkv_repl_info b = info_of(kv);
    ck_assert_str_eq(a.replid, b.replid);
    ck_assert_int_eq(a.offset, b.offset);
    int64_t ttl;
    ck_assert_int_eq(replkv_ttl(kv, S("k1"), &ttl), 0);
    ck_assert_int_gt(ttl, 3000000);
    /* And it goes on from there. */
    put_keys(kv, "z", 0, 10);
    replkv_close(kv);
    kv = open_ok(NULL);
    ck_assert(has_key(kv, "z9"));
    ck_assert_int_gt(info_of(kv).offset, a.offset);
    replkv_close(kv);
}
END_TEST

/* Counts fsyncs and, when armed, fails one kind of operation. */
typedef struct fault {
    _Atomic uint64_t fsyncs, writes;
    _Atomic int fail_op; /* -1 none */
    _Atomic int fail_errno;
} fault;

static int fault_hook(void *ud, rkv_fs_op op, const char *path)
{
    (void)path;
    fault *f = ud;
    if (op == RKV_FS_FSYNC)
        atomic_fetch_add(&f->fsyncs, 1);
    if (op == RKV_FS_WRITE)
        atomic_fetch_add(&f->writes, 1);
    if ((int)op == atomic_load(&f->fail_op))
        return atomic_load(&f->fail_errno);
    return 0;
}

typedef struct writer_arg {
    replkv_t *kv;
    int id, n, failures;
} writer_arg;

static void *writer_main(void *p)
{
    writer_arg *w = p;
    char k[64];
    for (int i = 0; i < w->n; i++) {
        snprintf(k, sizeof k, "t%d-%d", w->id, i);
        if (replkv_set(w->kv, S(k), S("v"), 0, 0) != 1)
            w->failures++;
    }
    return NULL;
}

START_TEST(group_commit)
{
    make_tmp();
    const char *kvs[] = {"appendfsync", "always", NULL};
    replkv_t *kv = open_ok(kvs);
    fault f = {.fail_op = -1};
    rkv_pnode_set_fs_hook(kv, fault_hook, &f);
    enum { THREADS = 8, PER = 400 };
    pthread_t th[THREADS];
    writer_arg w[THREADS];
    for (int i = 0; i < THREADS; i++) {
        w[i] = (writer_arg){kv, i, PER, 0};
        pthread_create(&th[i], NULL, writer_main, &w[i]);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        ck_assert_int_eq(w[i].failures, 0);
    }
    rkv_aof_stats st;
    ck_assert_int_eq(rkv_pnode_aof_stats(kv, &st), 0);
    uint64_t total = THREADS * PER;
    uint64_t fs = atomic_load(&f.fsyncs);
    fprintf(stderr,
            "group_commit: %llu writes, %llu fsyncs (hook), %llu "
            "(stats)\n",
            (unsigned long long)total, (unsigned long long)fs,
            (unsigned long long)st.fsyncs);
    ck_assert_uint_gt(fs, 0);
    ck_assert_uint_lt(fs * 2, total);
    ck_assert_int_eq(st.durable, st.end);
    rkv_pnode_set_fs_hook(kv, NULL, NULL);
    replkv_close(kv);
    kv = open_ok(kvs);
    ck_assert(has_key(kv, "t7-399"));
    ck_assert(has_key(kv, "t0-0"));
    replkv_close(kv);
}
END_TEST

/* everysec: the I/O thread's flush makes writes durable within about a
 * second, and no write waits for it; no: written on the next ticks, never
 * fsynced before close. */
START_TEST(background_flush)
{
    make_tmp();
    replkv_t *kv = open_ok(NULL);
    fault f = {.fail_op = -1};
    rkv_pnode_set_fs_hook(kv, fault_hook, &f);
    put_keys(kv, "k", 0, 1000);
    rkv_aof_stats st;
    bool durable = false;
    for (int t = 0; t < 300 && !durable; t++) {
        ck_assert_int_eq(rkv_pnode_aof_stats(kv, &st), 0);
        durable = st.durable == st.end;
        if (!durable)
            test_sleep_ms(10);
    }
    ck_assert(durable);
    ck_assert_uint_le(atomic_load(&f.fsyncs), 3);
    rkv_pnode_set_fs_hook(kv, NULL, NULL);
    replkv_close(kv);

    const char *no[] = {"appendfsync", "no", NULL};
    kv = open_ok(no);
    rkv_pnode_set_fs_hook(kv, fault_hook, &f);
    atomic_store(&f.fsyncs, 0);
    put_keys(kv, "m", 0, 100);
    bool written = false;
    for (int t = 0; t < 300 && !written; t++) {
        ck_assert_int_eq(rkv_pnode_aof_stats(kv, &st), 0);
        written = st.written == st.end;
        if (!written)
            test_sleep_ms(10);
    }
    ck_assert(written);
    ck_assert_uint_eq(atomic_load(&f.fsyncs), 0);
    rkv_pnode_set_fs_hook(kv, NULL, NULL);
    replkv_close(kv);
    kv = open_ok(no);
    ck_assert(has_key(kv, "m99"));
    ck_assert(has_key(kv, "k999"));
    replkv_close(kv);
}
END_TEST

START_TEST(torn_tail)
{
    make_tmp();
    const char *kvs[] = {"appendfsync", "always", NULL};
    replkv_t *kv = open_ok(kvs);
    put_keys(kv, "k", 0, 100);
    replkv_close(kv);
    char p[512];
    path_in(p, sizeof p, "appendonly.rkv");
    long size = file_size("appendonly.rkv");
    ck_assert_int_gt(size, 100);
    ck_assert_int_eq(truncate(p, size - 3), 0);
    test_log_reset();
    kv = open_ok(kvs);
    ck_assert(test_log_has("cut"));
    ck_assert(has_key(kv, "k98"));
    ck_assert(!has_key(kv, "k99")); /* only the torn write is lost */
    replkv_close(kv);

    /* aof-load-truncated no: refuse and leave the file as it is; yes then
     * cuts the torn bytes. */
    kv = open_ok(kvs);
    put_keys(kv, "m", 0, 5);
    replkv_close(kv);
    size = file_size("appendonly.rkv");
    ck_assert_int_eq(truncate(p, size - 2), 0);
    const char *strict[] = {"aof-load-truncated", "no", NULL};
    ck_assert_int_eq(try_open(tmpdir, strict, &kv), REPLKV_ECORRUPT);
    ck_assert_ptr_nonnull(strstr(replkv_last_error(), "left as it is"));
    ck_assert_int_eq(file_size("appendonly.rkv"), size - 2);
    ck_assert_int_eq(try_open(tmpdir, strict, &kv), REPLKV_ECORRUPT);
    kv = open_ok(kvs);
    ck_assert(has_key(kv, "m3"));
    ck_assert(!has_key(kv, "m4"));
    replkv_close(kv);
}
END_TEST

START_TEST(damage_in_the_middle)
{
    make_tmp();
    replkv_t *kv = open_ok(NULL);
    put_keys(kv, "k", 0, 500);
    replkv_close(kv);
    char p[512];
    path_in(p, sizeof p, "appendonly.rkv");
    long size = file_size("appendonly.rkv");
    int fd = open(p, O_RDWR);
    ck_assert_int_ge(fd, 0);
    unsigned char c;
    ck_assert_int_eq(pread(fd, &c, 1, size / 2), 1);
    c ^= 0x5a;
    ck_assert_int_eq(pwrite(fd, &c, 1, size / 2), 1);
    close(fd);
    ck_assert_int_eq(try_open(tmpdir, NULL, &kv), REPLKV_ECORRUPT);
    const char *err = replkv_last_error();
    ck_assert_msg(strstr(err, "appendonly.rkv") != NULL, "%s", err);
    ck_assert_int_eq(file_size("appendonly.rkv"), size); /* untouched */
    /* The operator's explicit choice repairs it, losing what follows. */
    const char *repair[] = {"aof-load-corrupt-repair", "yes", NULL};
    test_log_reset();
    kv = open_ok(repair);
    ck_assert(test_log_has("aof-load-corrupt-repair"));
    ck_assert(has_key(kv, "k0"));
    ck_assert(!has_key(kv, "k499"));
    replkv_close(kv);
}
END_TEST

START_TEST(snapshot_then_restart)
{
    make_tmp();
    replkv_t *kv = open_ok(NULL);
    put_keys(kv, "a", 0, 3000);
    ck_assert_int_eq(replkv_snapshot(kv), 0);
    ck_assert_int_gt(file_size("snapshot.rkv"), 3000);
    put_keys(kv, "b", 0, 100);
    ck_assert_int_eq(replkv_del(kv, S("a5")), 1);
    unsigned char d1[16], d2[16];
    digest_of(kv, d1);
    replkv_repl_info a = info_of(kv);
    char *text;
    ck_assert_int_eq(replkv_info(kv, NULL, &text), 0);
    ck_assert_ptr_nonnull(strstr(text, "# Persistence"));
    ck_assert_ptr_nonnull(strstr(text, "rdb_saves:1"));
    replkv_free(text);
    replkv_close(kv);
    /* The AOF was trimmed to what follows the snapshot. */
    ck_assert_int_lt(file_size("appendonly.rkv"), 100 * 40);
    kv = open_ok(NULL);
    digest_of(kv, d2);
    ck_assert_mem_eq(d1, d2, 16);
    replkv_repl_info b = info_of(kv);
    ck_assert_str_eq(a.replid, b.replid);
    ck_assert_int_eq(a.offset, b.offset);
    replkv_close(kv);
}
END_TEST

START_TEST(auto_snapshot)
{
    make_tmp();
    const char *kvs[] = {"auto-aof-rewrite-min-size", "64kb",
                         "auto-aof-rewrite-percentage", "100", NULL};
    replkv_t *kv = open_ok(kvs);
    /* Overwrite the same keys: the log grows, the data does not. */
    for (int round = 0; round < 40; round++)
        put_keys(kv, "k", 0, 200);
    bool done = false;
    for (int t = 0; t < 300 && !done; t++) {
        char *text;
        ck_assert_int_eq(replkv_info(kv, "persistence", &text), 0);
        done = strstr(text, "rdb_saves:0") == NULL;
        replkv_free(text);
        if (!done)
            test_sleep_ms(10);
    }
    ck_assert(done);
    unsigned char d1[16], d2[16];
    digest_of(kv, d1);
    replkv_close(kv);
    ck_assert_int_gt(file_size("snapshot.rkv"), 0);
    kv = open_ok(kvs);
    digest_of(kv, d2);
    ck_assert_mem_eq(d1, d2, 16);
    replkv_close(kv);
}
END_TEST

/* Snapshots (fuzzy scans, AOF rewrites) while writers overwrite keys: the
 * snapshot plus the trimmed log still give exactly the final state. */
typedef struct churn_arg {
    replkv_t *kv;
    int id;
    _Atomic int *stop;
} churn_arg;

static void *churn_main(void *p)
{
    churn_arg *c = p;
    char k[32], v[32];
    for (int i = 0; !atomic_load(c->stop); i++) {
        snprintf(k, sizeof k, "c%d", (i * 7 + c->id) % 500);
        snprintf(v, sizeof v, "%d-%d", c->id, i);
        if (i % 11 == 0)
            replkv_del(c->kv, S(k));
        else
            ck_assert_int_eq(replkv_set(c->kv, S(k), S(v), 0, 0), 1);
    }
    return NULL;
}

START_TEST(snapshot_under_writes)
{
    make_tmp();
    replkv_t *kv = open_ok(NULL);
    _Atomic int stop = 0;
    enum { N = 4 };
    pthread_t th[N];
    churn_arg ca[N];
    for (int i = 0; i < N; i++) {
        ca[i] = (churn_arg){kv, i, &stop};
        pthread_create(&th[i], NULL, churn_main, &ca[i]);
    }
    for (int i = 0; i < 5; i++) {
        ck_assert_int_eq(replkv_snapshot(kv), 0);
        test_sleep_ms(20);
    }
    atomic_store(&stop, 1);
    for (int i = 0; i < N; i++)
        pthread_join(th[i], NULL);
    unsigned char d1[16], d2[16];
    digest_of(kv, d1);
    replkv_repl_info a = info_of(kv);
    replkv_close(kv);
    kv = open_ok(NULL);
    digest_of(kv, d2);
    ck_assert_mem_eq(d1, d2, 16);
    ck_assert_int_eq(info_of(kv).offset, a.offset);
    replkv_close(kv);
}
END_TEST

START_TEST(state_file)
{
    make_tmp();
    replkv_t *kv = open_ok(NULL);
    replkv_close(kv);
    long size = file_size("node.state");
    ck_assert_int_gt(size, 24);
    char p[512];
    path_in(p, sizeof p, "node.state");
    ck_assert_int_eq(truncate(p, size / 2), 0);
    ck_assert_int_eq(try_open(tmpdir, NULL, &kv), REPLKV_ECORRUPT);
    ck_assert_ptr_nonnull(strstr(replkv_last_error(), "node.state"));
}
END_TEST

START_TEST(bad_dir)
{
    make_tmp();
    char missing[512];
    path_in(missing, sizeof missing, "no-such-dir");
    replkv_t *kv;
    ck_assert_int_eq(try_open(missing, NULL, &kv), REPLKV_EIO);
    ck_assert_ptr_nonnull(strstr(replkv_last_error(), "no-such-dir"));
    if (geteuid() != 0) { /* root writes anywhere */
        char ro[512];
        path_in(ro, sizeof ro, "ro");
        ck_assert_int_eq(mkdir(ro, 0500), 0);
        ck_assert_int_eq(try_open(ro, NULL, &kv), REPLKV_EIO);
        ck_assert_ptr_nonnull(strstr(replkv_last_error(), "ro"));
        chmod(ro, 0700);
    }
}
END_TEST

START_TEST(disk_failure)
{
    make_tmp();
    const char *kvs[] = {"appendfsync", "always", NULL};
    replkv_t *kv = open_ok(kvs);
    put_keys(kv, "k", 0, 10);
    fault f = {.fail_op = RKV_FS_FSYNC, .fail_errno = EIO};
    rkv_pnode_set_fs_hook(kv, fault_hook, &f);
    /* Applied in memory, not acknowledged as durable. */
    ck_assert_int_eq(replkv_set(kv, S("x"), S("1"), 0, 0), REPLKV_EIO);
    ck_assert(has_key(kv, "x"));
    /* MISCONF: refused while the disk fails. */
    ck_assert_int_eq(replkv_set(kv, S("y"), S("1"), 0, 0), REPLKV_EIO);
    ck_assert_ptr_nonnull(strstr(replkv_last_error(), "MISCONF"));
    ck_assert(!has_key(kv, "y"));
    char *text;
    ck_assert_int_eq(replkv_info(kv, "persistence", &text), 0);
    ck_assert_ptr_nonnull(strstr(text, "aof_last_write_status:err"));
    replkv_free(text);
    /* A full disk fails the write itself. */
    atomic_store(&f.fail_errno, ENOSPC);
    atomic_store(&f.fail_op, RKV_FS_WRITE);
    ck_assert_int_eq(replkv_set(kv, S("y"), S("1"), 0, 0), REPLKV_EIO);
    /* The disk comes back: the I/O thread's retry clears the error. */
    atomic_store(&f.fail_op, -1);
    int rc = REPLKV_EIO;
    for (int t = 0; t < 300 && rc != 1; t++) {
        rc = replkv_set(kv, S("y"), S("2"), 0, 0);
        if (rc != 1)
            test_sleep_ms(10);
    }
    ck_assert_int_eq(rc, 1);
    rkv_pnode_set_fs_hook(kv, NULL, NULL);
    replkv_close(kv);
    kv = open_ok(kvs);
    ck_assert(has_key(kv, "x")); /* written once the disk recovered */
    ck_assert(has_key(kv, "y"));
    ck_assert(has_key(kv, "k9"));
    replkv_close(kv);
}
END_TEST

/* ------------------------------------------------------------ replica */

static bool caught_up(replkv_t *p, replkv_t *r, long ms)
{
    for (long t = 0; t < ms; t += 10) {
        replkv_repl_info a = info_of(p), b = info_of(r);
        if (b.link_up && a.offset == b.offset &&
            strcmp(a.replid, b.replid) == 0)
            return true;
        test_sleep_ms(10);
    }
    return false;
}

START_TEST(replica_restart_partial)
{
    make_tmp();
    int pp = test_free_port();
    char port[16], addr[64];
    snprintf(port, sizeof port, "%d", pp);
    snprintf(addr, sizeof addr, "127.0.0.1 %d", pp);
    const char *pk[] = {"port", port, NULL};
    replkv_t *p;
    ck_assert_int_eq(try_open(NULL, pk, &p), 0);
    put_keys(p, "k", 0, 1000);
    const char *rk[] = {"replicaof", addr, NULL};
    replkv_t *r = open_ok(rk);
    ck_assert(caught_up(p, r, 10000));
    put_keys(p, "l", 0, 100);
    ck_assert(caught_up(p, r, 10000));
    replkv_repl_info before = info_of(p);
    ck_assert_uint_eq(before.sync_full, 1);
    replkv_close(r);
    put_keys(p, "m", 0, 100); /* while the replica is down */
    r = open_ok(rk);
    ck_assert(caught_up(p, r, 10000));
    replkv_repl_info after = info_of(p);
    ck_assert_uint_eq(after.sync_full, before.sync_full);
    ck_assert_uint_eq(after.sync_partial_ok, before.sync_partial_ok + 1);
    unsigned char d1[16], d2[16];
    digest_of(p, d1);
    digest_of(r, d2);
    ck_assert_mem_eq(d1, d2, 16);
    replkv_close(r);
    replkv_close(p);
}
END_TEST

/* A restarted primary refills its backlog from its append-only file: a
 * replica that was behind when both stopped resumes with a partial resync,
 * not a full one. */
START_TEST(primary_restart_backlog)
{
    make_tmp();
    char pdir[64];
    snprintf(pdir, sizeof pdir, "/tmp/rkv_pn_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(pdir));
    int pp = test_free_port();
    char port[16], addr[64];
    snprintf(port, sizeof port, "%d", pp);
    snprintf(addr, sizeof addr, "127.0.0.1 %d", pp);
    const char *pk[] = {"port", port, NULL};
    const char *rk[] = {"replicaof", addr, NULL};
    replkv_t *p, *r;
    ck_assert_int_eq(try_open(pdir, pk, &p), 0);
    put_keys(p, "k", 0, 500);
    r = open_ok(rk);
    ck_assert(caught_up(p, r, 10000));
    replkv_close(r);
    put_keys(p, "m", 0, 200); /* the replica misses these */
    replkv_close(p);
    ck_assert_int_eq(try_open(pdir, pk, &p), 0);
    replkv_repl_info before = info_of(p);
    r = open_ok(rk);
    ck_assert(caught_up(p, r, 10000));
    replkv_repl_info after = info_of(p);
    ck_assert_uint_eq(after.sync_full, before.sync_full);
    ck_assert_uint_eq(after.sync_partial_ok, before.sync_partial_ok + 1);
    ck_assert(has_key(r, "m199"));
    unsigned char d1[16], d2[16];
    digest_of(p, d1);
    digest_of(r, d2);
    ck_assert_mem_eq(d1, d2, 16);
    replkv_close(r);
    replkv_close(p);
    rm_tree(pdir);
}
END_TEST

/* Fails opening any file whose path contains ud's string. */
static int fail_open_hook(void *ud, rkv_fs_op op, const char *path)
{
    return op == RKV_FS_OPEN && strstr(path, (const char *)ud) ? EIO : 0;
}

START_TEST(replica_full_resync_save_fails)
{
    make_tmp();
    int pp = test_free_port();
    char port[16];
    snprintf(port, sizeof port, "%d", pp);
    const char *pk[] = {"port", port, NULL};
    replkv_t *p;
    ck_assert_int_eq(try_open(NULL, pk, &p), 0);
    put_keys(p, "k", 0, 500);
    replkv_t *r = open_ok(NULL);
    put_keys(r, "old", 0, 10); /* its own history, replaced by the resync */
    rkv_pnode_set_fs_hook(r, fail_open_hook, "snapshot.rkv");
    test_log_reset();
    ck_assert_int_eq(replkv_replicaof(r, "127.0.0.1", pp), 0);
    bool failed = false;
    for (int t = 0; t < 500 && !failed; t++) {
        failed = test_log_has("cannot save the data received");
        if (!failed)
            test_sleep_ms(10);
    }
    ck_assert(failed);
    ck_assert(!info_of(r).link_up);
    /* The disk recovers: the next full resync is saved. */
    rkv_pnode_set_fs_hook(r, NULL, NULL);
    ck_assert(caught_up(p, r, 20000));
    put_keys(p, "l", 0, 50);
    ck_assert(caught_up(p, r, 10000));
    replkv_close(r);
    const char *rk[16];
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1 %d", pp);
    rk[0] = "replicaof";
    rk[1] = addr;
    rk[2] = NULL;
    replkv_repl_info before = info_of(p);
    r = open_ok(rk);
    ck_assert(!has_key(r, "old0"));
    ck_assert(caught_up(p, r, 10000));
    ck_assert_uint_eq(info_of(p).sync_full, before.sync_full);
    unsigned char d1[16], d2[16];
    digest_of(p, d1);
    digest_of(r, d2);
    ck_assert_mem_eq(d1, d2, 16);
    replkv_close(r);
    replkv_close(p);
}
END_TEST

/* The save of a full resync fails and the node is promoted before another
 * resync: it refuses writes (no append-only file) until the cron's
 * snapshot starts a new file, then accepts them and keeps them. */
START_TEST(promoted_after_failed_save)
{
    make_tmp();
    int pp = test_free_port();
    char port[16];
    snprintf(port, sizeof port, "%d", pp);
    const char *pk[] = {"port", port, NULL};
    replkv_t *p;
    ck_assert_int_eq(try_open(NULL, pk, &p), 0);
    put_keys(p, "k", 0, 100);
    replkv_t *r = open_ok(NULL);
    put_keys(r, "old", 0, 10);
    rkv_pnode_set_fs_hook(r, fail_open_hook, "snapshot.rkv");
    test_log_reset();
    ck_assert_int_eq(replkv_replicaof(r, "127.0.0.1", pp), 0);
    bool failed = false;
    for (int t = 0; t < 500 && !failed; t++) {
        failed = test_log_has("cannot save the data received");
        if (!failed)
            test_sleep_ms(10);
    }
    ck_assert(failed);
    replkv_close(p);
    ck_assert_int_eq(replkv_replicaof_none(r), 0);
    int rc = replkv_set(r, S("new"), S("1"), 0, 0);
    ck_assert_int_eq(rc, REPLKV_EIO);
    ck_assert_ptr_nonnull(strstr(replkv_last_error(), "MISCONF"));
    rkv_pnode_set_fs_hook(r, NULL, NULL);
    for (int t = 0; t < 1000 && rc != 1; t++) {
        rc = replkv_set(r, S("new"), S("1"), 0, 0);
        if (rc != 1)
            test_sleep_ms(10);
    }
    ck_assert_int_eq(rc, 1);
    ck_assert(test_log_has("new append-only file"));
    unsigned char d1[16], d2[16];
    digest_of(r, d1);
    replkv_close(r);
    r = open_ok(NULL);
    digest_of(r, d2);
    ck_assert_mem_eq(d1, d2, 16);
    ck_assert(has_key(r, "new"));
    ck_assert(has_key(r, "old9"));
    replkv_close(r);
}
END_TEST

/* A failover state with something in every field. */
static void fo_sample(rkv_fo_state *fo, uint64_t epoch)
{
    memset(fo, 0, sizeof *fo);
    fo->current_epoch = epoch;
    fo->voted_epoch = epoch - 1;
    strcpy(fo->voted_for, "00000000000000000000000000000000000000b2");
    fo->config_epoch = epoch - 2;
    strcpy(fo->primary, "00000000000000000000000000000000000000b1");
    strcpy(fo->primary_addr.host, "primary.example");
    fo->primary_addr.port = 6379;
    strcpy(fo->leader, "00000000000000000000000000000000000000b2");
    fo->promo_offset = 123456;
    fo->hist_epoch = epoch - 2;
    fo->fresh = true;
    fo->npeers = 3;
    for (unsigned i = 0; i < 3; i++) {
        snprintf(fo->peers[i].id, sizeof fo->peers[i].id, "%040x", 0xb1 + i);
        snprintf(fo->peers[i].addr.host, sizeof fo->peers[i].addr.host,
                 "10.0.0.%u", i + 1);
        fo->peers[i].addr.port = (uint16_t)(6379 + i);
    }
    fo->peers[2].flags = RKV_FO_F_WITNESS;
    fo->nforgot = 1;
    strcpy(fo->forgot[0].id, "00000000000000000000000000000000000000dd");
    fo->forgot[0].epoch = 3;
}

/* Equal failover states encode to the same bytes (check_persist_state
 * shows the encoding covers every field). */
static void expect_same_fo(const rkv_fo_state *a, const rkv_fo_state *b)
{
    rkv_node_state sa, sb;
    memset(&sa, 0, sizeof sa);
    memset(&sb, 0, sizeof sb);
    strcpy(sa.node_id, "00000000000000000000000000000000000000aa");
    strcpy(sb.node_id, sa.node_id);
    sa.has_fo = sb.has_fo = true;
    sa.fo = *a;
    sb.fo = *b;
    rkv_buf ba, bb;
    rkv_buf_init(&ba);
    rkv_buf_init(&bb);
    ck_assert_int_eq(rkv_state_encode(&sa, &ba), 0);
    ck_assert_int_eq(rkv_state_encode(&sb, &bb), 0);
    ck_assert_uint_eq(ba.len, bb.len);
    ck_assert_mem_eq(ba.data, bb.data, ba.len);
    rkv_buf_free(&ba);
    rkv_buf_free(&bb);
}

START_TEST(failover_state)
{
    make_tmp();
    rkv_fo_state fo, next, got;
    fo_sample(&fo, 10);
    fo_sample(&next, 11);
    /* Persistence off: nothing to give back, saving is a no-op. */
    replkv_t *kv;
    ck_assert_int_eq(try_open(NULL, NULL, &kv), 0);
    ck_assert_int_eq(rkv_pnode_load_fo(kv, &got), 0);
    ck_assert_int_eq(rkv_pnode_save_fo(kv, &fo), 0);
    replkv_close(kv);

    /* A new node's file has none; after a save it has. */
    kv = open_ok(NULL);
    char id[RKV_ID_LEN + 1];
    memcpy(id, kv->repl->node_id, sizeof id);
    ck_assert_int_eq(rkv_pnode_load_fo(kv, &got), 0);
    ck_assert_int_eq(rkv_pnode_save_fo(kv, &fo), 0);
    ck_assert_int_eq(rkv_pnode_load_fo(kv, &got), 1);
    expect_same_fo(&fo, &got);
    replkv_close(kv);

    /* Restart: the same id and state, read once at open. */
    test_log_reset();
    kv = open_ok(NULL);
    ck_assert_str_eq(kv->repl->node_id, id);
    ck_assert(test_log_has("failover state: yes"));
    memset(&got, 0, sizeof got);
    ck_assert_int_eq(rkv_pnode_load_fo(kv, &got), 1);
    expect_same_fo(&fo, &got);

    /* Refused: a state the format does not allow, a failing disk. The
     * file, and what load_fo gives, stay the old state. */
    rkv_fo_state bad = next;
    bad.voted_for[0] = '\0';
    ck_assert_int_eq(rkv_pnode_save_fo(kv, &bad), REPLKV_EINVAL);
    ck_assert_ptr_nonnull(strstr(replkv_last_error(), "fo.voted_for"));
    rkv_pnode_set_fs_hook(kv, fail_open_hook, (void *)"node.state.tmp");
    ck_assert_int_eq(rkv_pnode_save_fo(kv, &next), REPLKV_EIO);
    ck_assert_ptr_nonnull(strstr(replkv_last_error(), "node.state"));
    ck_assert(test_log_has("cannot save the failover state (epoch 11"));
    rkv_pnode_set_fs_hook(kv, NULL, NULL);
    ck_assert_int_eq(rkv_pnode_load_fo(kv, &got), 1);
    expect_same_fo(&fo, &got);
    replkv_close(kv);
    kv = open_ok(NULL);
    ck_assert_int_eq(rkv_pnode_load_fo(kv, &got), 1);
    expect_same_fo(&fo, &got);
    ck_assert_int_eq(rkv_pnode_save_fo(kv, &next), 0);
    replkv_close(kv);
    kv = open_ok(NULL);
    ck_assert_int_eq(rkv_pnode_load_fo(kv, &got), 1);
    expect_same_fo(&next, &got);
    replkv_close(kv);
}
END_TEST

static Suite *persist_node_suite(void)
{
    Suite *s = suite_create("persist_node");
    TCase *tc = tcase_create("persist_node");
    tcase_set_timeout(tc, 120);
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_add_test(tc, off_by_default);
    tcase_add_test(tc, restart_with_data);
    tcase_add_test(tc, group_commit);
    tcase_add_test(tc, background_flush);
    tcase_add_test(tc, torn_tail);
    tcase_add_test(tc, damage_in_the_middle);
    tcase_add_test(tc, snapshot_then_restart);
    tcase_add_test(tc, auto_snapshot);
    tcase_add_test(tc, snapshot_under_writes);
    tcase_add_test(tc, state_file);
    tcase_add_test(tc, bad_dir);
    tcase_add_test(tc, disk_failure);
    tcase_add_test(tc, replica_restart_partial);
    tcase_add_test(tc, primary_restart_backlog);
    tcase_add_test(tc, replica_full_resync_save_fails);
    tcase_add_test(tc, promoted_after_failed_save);
    tcase_add_test(tc, failover_state);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(persist_node_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
