/*
 * check_persist_state.c - the node state file (lib/persist_state.c): round
 * trips, atomic replacement, and every way the file can be damaged (cut at
 * every length, a flipped byte at every position, msgpack counts of 2^32-1
 * with a valid checksum) refused as REPLKV_ECORRUPT without allocating what
 * the damage declares.
 */
#include <check.h>
#include <errno.h>
#include <ftw.h>
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <xxhash.h>

#include "buf.h"
#include "persist_state.h"

static const char ID_A[] = "0123456789abcdef0123456789abcdef01234567";
static const char ID_B[] = "fedcba9876543210fedcba9876543210fedcba98";
static const char ID_C[] = "aaaaaaaaaabbbbbbbbbbccccccccccdddddddddd";

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

static rkv_state_peer PEERS[3];

static void sample(rkv_node_state *st)
{
    memset(st, 0, sizeof *st);
    strcpy(st->node_id, ID_A);
    st->epoch = 42;
    st->vote_epoch = 41;
    strcpy(st->vote_for, ID_B);
    memset(PEERS, 0, sizeof PEERS);
    strcpy(PEERS[0].id, ID_B);
    strcpy(PEERS[0].host, "10.0.0.2");
    PEERS[0].port = 6380;
    strcpy(PEERS[1].id, ID_C);
    strcpy(PEERS[1].host, "replica-2.example.internal");
    PEERS[1].port = 65535;
    strcpy(PEERS[2].id, ID_A);
    strcpy(PEERS[2].host, "::1");
    PEERS[2].port = 1;
    st->peers = PEERS;
    st->npeers = 3;
}

static void expect_same(const rkv_node_state *a, const rkv_node_state *b)
{
    ck_assert_str_eq(a->node_id, b->node_id);
    ck_assert_uint_eq(a->epoch, b->epoch);
    ck_assert_uint_eq(a->vote_epoch, b->vote_epoch);
    ck_assert_str_eq(a->vote_for, b->vote_for);
    ck_assert_uint_eq(a->npeers, b->npeers);
    for (size_t i = 0; i < a->npeers; i++) {
        ck_assert_str_eq(a->peers[i].id, b->peers[i].id);
        ck_assert_str_eq(a->peers[i].host, b->peers[i].host);
        ck_assert_uint_eq(a->peers[i].port, b->peers[i].port);
    }
}

START_TEST(test_roundtrip)
{
    char *dir = tmpdir();
    rkv_node_state st, got;
    ck_assert_int_eq(rkv_state_load(NULL, dir, &got), REPLKV_ENOTFOUND);
    sample(&st);
    ck_assert_int_eq(rkv_state_save(NULL, dir, &st), 0);
    ck_assert_int_eq(rkv_state_load(NULL, dir, &got), 0);
    expect_same(&st, &got);
    rkv_state_free(&got);
    ck_assert_uint_eq(got.npeers, 0);

    /* Overwrite: a vote in a later epoch, no peers. */
    st.epoch = st.vote_epoch = 43;
    strcpy(st.vote_for, ID_C);
    st.npeers = 0;
    ck_assert_int_eq(rkv_state_save(NULL, dir, &st), 0);
    ck_assert_int_eq(rkv_state_load(NULL, dir, &got), 0);
    expect_same(&st, &got);
    ck_assert_ptr_null(got.peers);
    rkv_state_free(&got);

    /* Never voted. */
    st.vote_epoch = 0;
    st.vote_for[0] = '\0';
    ck_assert_int_eq(rkv_state_save(NULL, dir, &st), 0);
    ck_assert_int_eq(rkv_state_load(NULL, dir, &got), 0);
    expect_same(&st, &got);
    rkv_state_free(&got);

    /* No temporary file is left behind. */
    char tmp[600];
    snprintf(tmp, sizeof tmp, "%s/%s.tmp", dir, RKV_STATE_FILE);
    ck_assert_int_ne(access(tmp, F_OK), 0);
    rkv_state_free(NULL);
    rmdir_all(dir);
}
END_TEST

START_TEST(test_encode_refuses)
{
    rkv_node_state st;
    rkv_buf b;
    rkv_buf_init(&b);
    sample(&st);
    st.node_id[3] = 'X';
    ck_assert_int_eq(rkv_state_encode(&st, &b), REPLKV_EINVAL);
    sample(&st);
    st.vote_for[0] = '\0'; /* voted in epoch 41 for nobody */
    ck_assert_int_eq(rkv_state_encode(&st, &b), REPLKV_EINVAL);
    sample(&st);
    st.vote_epoch = 0; /* a candidate without a vote */
    ck_assert_int_eq(rkv_state_encode(&st, &b), REPLKV_EINVAL);
    sample(&st);
    PEERS[1].host[0] = '\0';
    ck_assert_int_eq(rkv_state_encode(&st, &b), REPLKV_EINVAL);
    sample(&st);
    st.npeers = RKV_STATE_MAX_PEERS + 1;
    ck_assert_int_eq(rkv_state_encode(&st, &b), REPLKV_EINVAL);
    ck_assert_uint_eq(b.len, 0);
    rkv_buf_free(&b);
}
END_TEST

/* The largest legal file (RKV_STATE_MAX_PEERS peers) decodes: the bounded
 * pre-pass's caps for this format must admit it. */
START_TEST(test_max_peers_round_trip)
{
    rkv_node_state st;
    sample(&st);
    rkv_state_peer *many = calloc(RKV_STATE_MAX_PEERS, sizeof *many);
    for (size_t i = 0; i < RKV_STATE_MAX_PEERS; i++) {
        snprintf(many[i].id, sizeof many[i].id, "%040zx", i + 1);
        snprintf(many[i].host, sizeof many[i].host, "host-%zu.example", i);
        many[i].port = (uint16_t)(1000 + i);
    }
    st.peers = many;
    st.npeers = RKV_STATE_MAX_PEERS;
    rkv_buf b;
    rkv_buf_init(&b);
    ck_assert_int_eq(rkv_state_encode(&st, &b), 0);
    rkv_node_state back;
    ck_assert_msg(rkv_state_decode(b.data, b.len, "node.state", &back) == 0,
                  "%s", replkv_last_error());
    ck_assert_uint_eq(back.npeers, RKV_STATE_MAX_PEERS);
    ck_assert_str_eq(back.peers[RKV_STATE_MAX_PEERS - 1].host,
                     many[RKV_STATE_MAX_PEERS - 1].host);
    rkv_state_free(&back);
    rkv_buf_free(&b);
    free(many);
}
END_TEST

static void encode_sample(rkv_buf *b)
{
    rkv_node_state st;
    sample(&st);
    rkv_buf_clear(b);
    ck_assert_int_eq(rkv_state_encode(&st, b), 0);
}

START_TEST(test_cut_at_every_length)
{
    rkv_buf b;
    rkv_buf_init(&b);
    encode_sample(&b);
    for (size_t n = 0; n < b.len; n++) {
        uint8_t *c = malloc(n ? n : 1);
        memcpy(c, b.data, n);
        rkv_node_state st;
        int rc = rkv_state_decode(c, n, "node.state", &st);
        free(c);
        ck_assert_msg(rc == REPLKV_ECORRUPT, "cut at %zu: %s", n,
                      replkv_err_name(rc));
        ck_assert_ptr_null(st.peers);
    }
    /* and through the file: cut in half */
    char *dir = tmpdir();
    char path[600];
    snprintf(path, sizeof path, "%s/%s", dir, RKV_STATE_FILE);
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    fwrite(b.data, 1, b.len / 2, f);
    fclose(f);
    rkv_node_state st;
    ck_assert_int_eq(rkv_state_load(NULL, dir, &st), REPLKV_ECORRUPT);
    ck_assert_ptr_nonnull(strstr(replkv_last_error(), path));
    rmdir_all(dir);
    rkv_buf_free(&b);
}
END_TEST

START_TEST(test_flip_every_byte)
{
    rkv_buf b;
    rkv_buf_init(&b);
    encode_sample(&b);
    for (size_t i = 0; i < b.len; i++) {
        for (int bit = 0; bit < 8; bit += 3) {
            b.data[i] ^= (uint8_t)(1u << bit);
            rkv_node_state st;
            int rc = rkv_state_decode(b.data, b.len, "node.state", &st);
            b.data[i] ^= (uint8_t)(1u << bit);
            /* A flipped version field reads as a newer format. */
            int ok = rc == REPLKV_ECORRUPT ||
                     (i >= 8 && i < 12 && rc == REPLKV_EVERSION);
            ck_assert_msg(ok, "flip at %zu bit %d: %s", i, bit,
                          replkv_err_name(rc));
        }
    }
    rkv_node_state st;
    ck_assert_int_eq(rkv_state_decode(b.data, b.len, "node.state", &st), 0);
    rkv_state_free(&st);
    rkv_buf_free(&b);
}
END_TEST

/* A file image around body with a valid header and checksum. */
static void wrap(rkv_buf *out, const void *body, size_t len)
{
    uint8_t h[RKV_STATE_HDR] = {0x89, 'R', 'K', 'V', 'S', 'T', 'A', '\n'};
    h[11] = 1;
    h[12] = (uint8_t)(len >> 24);
    h[13] = (uint8_t)(len >> 16);
    h[14] = (uint8_t)(len >> 8);
    h[15] = (uint8_t)len;
    uint64_t s = XXH3_64bits_withSeed(body, len, XXH3_64bits(h, 16));
    for (int i = 0; i < 8; i++)
        h[16 + i] = (uint8_t)(s >> (56 - 8 * i));
    rkv_buf_clear(out);
    ck_assert_int_eq(rkv_buf_append(out, h, sizeof h), 0);
    ck_assert_int_eq(rkv_buf_append(out, body, len), 0);
}

static int tw(void *data, const char *p, size_t n)
{
    return rkv_buf_append(data, p, n);
}

/* Hostile bodies, each with a correct checksum. */
static const struct {
    const char *what;
    const char *body;
    size_t len;
} HUGE[] = {
    {"top array32 of 2^32-1", "\xdd\xff\xff\xff\xff", 5},
    {"top map32 of 2^32-1", "\xdf\xff\xff\xff\xff\x01\x02", 7},
    {"peers array32 of 2^32-1",
     "\x95\xa0\x00\x00\xa0\xdd\xff\xff\xff\xff\x00\x00\x00", 13},
    {"str32 of 4 GiB", "\x95\xdb\xff\xff\xff\xff", 6},
    {"array16 deep",
     "\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x90",
     17},
};

START_TEST(test_huge_declared_counts)
{
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
#if !defined(__SANITIZE_ADDRESS__)
        /* 64 MiB more address space than now: a 2^32-element allocation
         * (64 GiB of msgpack objects) would fail and show. */
        long vm_kb = 0;
        FILE *st = fopen("/proc/self/status", "r");
        char line[256];
        while (st && fgets(line, sizeof line, st))
            if (sscanf(line, "VmSize: %ld kB", &vm_kb) == 1)
                break;
        if (st)
            fclose(st);
        if (vm_kb > 0) {
            struct rlimit rl;
            rl.rlim_cur = rl.rlim_max =
                (rlim_t)vm_kb * 1024 + (rlim_t)64 * 1024 * 1024;
            if (setrlimit(RLIMIT_AS, &rl) != 0)
                _exit(3);
        }
#endif
        rkv_buf b;
        rkv_buf_init(&b);
        for (size_t i = 0; i < sizeof HUGE / sizeof *HUGE; i++) {
            wrap(&b, HUGE[i].body, HUGE[i].len);
            rkv_node_state s;
            int rc = rkv_state_decode(b.data, b.len, "node.state", &s);
            if (rc != REPLKV_ECORRUPT) {
                fprintf(stderr, "%s: %s %s\n", HUGE[i].what,
                        replkv_err_name(rc), replkv_last_error());
                _exit(1);
            }
        }
        rkv_buf_free(&b);
        _exit(0);
    }
    int status = 0;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                  "child status %d", status);

    /* Well-formed msgpack of the wrong shape, checksum valid. */
    rkv_buf body, file;
    rkv_buf_init(&body);
    rkv_buf_init(&file);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &body, tw);
    msgpack_pack_array(&pk, 5);
    msgpack_pack_str_with_body(&pk, ID_A, 40);
    msgpack_pack_uint64(&pk, 5);
    msgpack_pack_uint64(&pk, 6); /* vote epoch above the epoch */
    msgpack_pack_str_with_body(&pk, ID_B, 40);
    msgpack_pack_array(&pk, 0);
    wrap(&file, body.data, body.len);
    rkv_node_state s;
    ck_assert_int_eq(rkv_state_decode(file.data, file.len, "x", &s),
                     REPLKV_ECORRUPT);
    ck_assert_ptr_nonnull(strstr(replkv_last_error(), "epoch"));

    rkv_buf_clear(&body);
    msgpack_pack_array(&pk, 5);
    msgpack_pack_str_with_body(&pk, ID_A, 40);
    msgpack_pack_uint64(&pk, 5);
    msgpack_pack_uint64(&pk, 0);
    msgpack_pack_str_with_body(&pk, "", 0);
    msgpack_pack_array(&pk, 2);
    msgpack_pack_array(&pk, 3);
    msgpack_pack_str_with_body(&pk, ID_B, 40);
    msgpack_pack_str_with_body(&pk, "h", 1);
    msgpack_pack_uint32(&pk, 70000); /* port out of range */
    msgpack_pack_array(&pk, 3);
    msgpack_pack_str_with_body(&pk, ID_C, 40);
    msgpack_pack_str_with_body(&pk, "h", 1);
    msgpack_pack_uint16(&pk, 1);
    wrap(&file, body.data, body.len);
    ck_assert_int_eq(rkv_state_decode(file.data, file.len, "x", &s),
                     REPLKV_ECORRUPT);
    ck_assert_ptr_nonnull(strstr(replkv_last_error(), "peer 0"));
    ck_assert_ptr_null(s.peers);
    rkv_buf_free(&body);
    rkv_buf_free(&file);
}
END_TEST

static int fail_rename(void *ud, rkv_fs_op op, const char *path)
{
    (void)ud;
    (void)path;
    return op == RKV_FS_RENAME ? EIO : 0;
}

static int fail_open(void *ud, rkv_fs_op op, const char *path)
{
    (void)ud;
    (void)path;
    return op == RKV_FS_OPEN && strstr(path, ".tmp") ? EROFS : 0;
}

START_TEST(test_faults_keep_old_file)
{
    char *dir = tmpdir();
    rkv_node_state st, got;
    sample(&st);
    ck_assert_int_eq(rkv_state_save(NULL, dir, &st), 0);
    rkv_node_state next = st;
    next.epoch = next.vote_epoch = 99;
    rkv_fs fs = {fail_rename, NULL};
    ck_assert_int_eq(rkv_state_save(&fs, dir, &next), REPLKV_EIO);
    ck_assert_ptr_nonnull(strstr(replkv_last_error(), "node.state"));
    fs.hook = fail_open;
    ck_assert_int_eq(rkv_state_save(&fs, dir, &next), REPLKV_EIO);
    ck_assert_ptr_nonnull(strstr(replkv_last_error(), "Read-only"));
    ck_assert_int_eq(rkv_state_load(NULL, dir, &got), 0);
    expect_same(&st, &got); /* the old vote is intact */
    rkv_state_free(&got);

    char missing[600];
    snprintf(missing, sizeof missing, "%s/none", dir);
    ck_assert_int_eq(rkv_state_load(NULL, missing, &got), REPLKV_EIO);
    ck_assert_ptr_nonnull(strstr(replkv_last_error(), missing));
    ck_assert_int_eq(rkv_state_save(NULL, missing, &st), REPLKV_EIO);
    rmdir_all(dir);
}
END_TEST

static Suite *state_suite(void)
{
    Suite *s = suite_create("persist_state");
    TCase *tc = tcase_create("state");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_roundtrip);
    tcase_add_test(tc, test_encode_refuses);
    tcase_add_test(tc, test_max_peers_round_trip);
    tcase_add_test(tc, test_cut_at_every_length);
    tcase_add_test(tc, test_flip_every_byte);
    tcase_add_test(tc, test_huge_declared_counts);
    tcase_add_test(tc, test_faults_keep_old_file);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    const char *base = getenv("TMPDIR");
    snprintf(ROOT, sizeof ROOT, "%s/rkv-state-XXXXXX", base ? base : "/tmp");
    if (mkdtemp(ROOT) == NULL) {
        perror("mkdtemp");
        return EXIT_FAILURE;
    }
    SRunner *sr = srunner_create(state_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    nftw(ROOT, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
