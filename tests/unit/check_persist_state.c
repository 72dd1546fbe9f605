/*
 * check_persist_state.c - the node state file (lib/persist_state.c): round
 * trips (version 1, and version 2 with a full rkv_fo_state), atomic
 * replacement, and every way the file can be damaged (cut at every length,
 * a flipped byte at every position, msgpack counts of 2^32-1 with a valid
 * checksum, a str longer than its field, a wrong type) refused as
 * REPLKV_ECORRUPT naming the field, without allocating what the damage
 * declares.
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

static void sample_v2(rkv_node_state *st);

/* The loop tests run on a version 1 (_i 0) and a version 2 (_i 1) file. */
static void encode_sample(rkv_buf *b, int version2)
{
    rkv_node_state st;
    if (version2)
        sample_v2(&st);
    else
        sample(&st);
    rkv_buf_clear(b);
    ck_assert_int_eq(rkv_state_encode(&st, b), 0);
    ck_assert_uint_eq(b->data[11], version2 ? 2 : 1);
}

START_TEST(test_cut_at_every_length)
{
    rkv_buf b;
    rkv_buf_init(&b);
    encode_sample(&b, _i);
    for (size_t n = 0; n < b.len; n++) {
        uint8_t *c = malloc(n ? n : 1);
        memcpy(c, b.data, n);
        rkv_node_state st;
        int rc = rkv_state_decode(c, n, "node.state", &st);
        free(c);
        ck_assert_msg(rc == REPLKV_ECORRUPT, "cut at %zu: %s", n,
                      replkv_err_name(rc));
        ck_assert_ptr_null(st.peers);
        ck_assert(!st.has_fo);
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
    encode_sample(&b, _i);
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
static void wrap_v(rkv_buf *out, const void *body, size_t len, uint8_t version)
{
    uint8_t h[RKV_STATE_HDR] = {0x89, 'R', 'K', 'V', 'S', 'T', 'A', '\n'};
    h[11] = version;
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

static void wrap(rkv_buf *out, const void *body, size_t len)
{
    wrap_v(out, body, len, 1);
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
    uint8_t version;
} HUGE[] = {
    {"top array32 of 2^32-1", "\xdd\xff\xff\xff\xff", 5, 1},
    {"top map32 of 2^32-1", "\xdf\xff\xff\xff\xff\x01\x02", 7, 1},
    {"peers array32 of 2^32-1",
     "\x95\xa0\x00\x00\xa0\xdd\xff\xff\xff\xff\x00\x00\x00", 13, 1},
    {"str32 of 4 GiB", "\x95\xdb\xff\xff\xff\xff", 6, 1},
    {"array16 deep",
     "\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x90", 17,
     1},
    /* Version 2: the same in the failover state (fo, the 6th element). */
    {"fo array32 of 2^32-1", "\x96\xa0\x00\x00\xa0\x90\xdd\xff\xff\xff\xff", 11,
     2},
    {"fo.peers array32 of 2^32-1",
     "\x96\xa0\x00\x00\xa0\x90\x98\x00\x00\xa0\x96\x00\xa0\xa0\x00\xa0\x00"
     "\x00\xc2\xdd\xff\xff\xff\xff\x90",
     25, 2},
    {"fo.tombstones map32 of 2^32-1",
     "\x96\xa0\x00\x00\xa0\x90\x98\x00\x00\xa0\x96\x00\xa0\xa0\x00\xa0\x00"
     "\x00\xc2\x90\xdf\xff\xff\xff\xff",
     25, 2},
    {"fo.voted_for str32 of 4 GiB",
     "\x96\xa0\x00\x00\xa0\x90\x98\x00\x00\xdb\xff\xff\xff\xff", 14, 2},
    {"fo nested 5 deep", "\x96\xa0\x00\x00\xa0\x90\x91\x91\x91\x91\x90", 11, 2},
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
            wrap_v(&b, HUGE[i].body, HUGE[i].len, HUGE[i].version);
            rkv_node_state s;
            int rc = rkv_state_decode(b.data, b.len, "node.state", &s);
            if (rc != REPLKV_ECORRUPT || s.peers != NULL || s.has_fo ||
                strstr(replkv_last_error(), "node.state") == NULL) {
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

/* ------------------------------------------------ version 2: fo state */

/* Every field of rkv_fo_state at its limit: 31 peers (one without a host,
 * which the version 1 peer list leaves out), 16 tombstones, hosts of 63
 * bytes. */
static void fo_sample(rkv_fo_state *fo)
{
    memset(fo, 0, sizeof *fo);
    fo->current_epoch = UINT64_MAX - 1;
    fo->voted_epoch = UINT64_MAX - 2;
    strcpy(fo->voted_for, ID_B);
    fo->config_epoch = 77;
    strcpy(fo->primary, ID_C);
    memset(fo->primary_addr.host, 'p', RKV_FO_HOST_SIZE - 1);
    fo->primary_addr.port = 65535;
    strcpy(fo->leader, ID_B);
    fo->promo_offset = INT64_MAX;
    fo->hist_epoch = 76;
    fo->fresh = true;
    fo->npeers = RKV_FO_MAX_NODES - 1;
    for (unsigned i = 0; i < fo->npeers; i++) {
        rkv_fo_peer_info *pe = &fo->peers[i];
        snprintf(pe->id, sizeof pe->id, "%040x", i + 1);
        memset(pe->addr.host, 'a' + (char)(i % 26), RKV_FO_HOST_SIZE - 1);
        pe->addr.port = (uint16_t)(7000 + i);
        pe->flags = i % 3 == 0 ? RKV_FO_F_WITNESS : 0;
    }
    fo->peers[5].addr.host[0] = '\0'; /* known by id only */
    fo->nforgot = RKV_FO_MAX_FORGOT;
    for (unsigned i = 0; i < fo->nforgot; i++) {
        snprintf(fo->forgot[i].id, sizeof fo->forgot[i].id, "%040x",
                 0xf000 + i);
        fo->forgot[i].epoch = UINT64_MAX - i;
    }
}

static void expect_same_fo(const rkv_fo_state *a, const rkv_fo_state *b)
{
    ck_assert_uint_eq(a->current_epoch, b->current_epoch);
    ck_assert_uint_eq(a->voted_epoch, b->voted_epoch);
    ck_assert_str_eq(a->voted_for, b->voted_for);
    ck_assert_uint_eq(a->config_epoch, b->config_epoch);
    ck_assert_str_eq(a->primary, b->primary);
    ck_assert_str_eq(a->primary_addr.host, b->primary_addr.host);
    ck_assert_uint_eq(a->primary_addr.port, b->primary_addr.port);
    ck_assert_str_eq(a->leader, b->leader);
    ck_assert_int_eq(a->promo_offset, b->promo_offset);
    ck_assert_uint_eq(a->hist_epoch, b->hist_epoch);
    ck_assert_int_eq(a->fresh, b->fresh);
    ck_assert_uint_eq(a->npeers, b->npeers);
    for (unsigned i = 0; i < a->npeers; i++) {
        ck_assert_str_eq(a->peers[i].id, b->peers[i].id);
        ck_assert_str_eq(a->peers[i].addr.host, b->peers[i].addr.host);
        ck_assert_uint_eq(a->peers[i].addr.port, b->peers[i].addr.port);
        ck_assert_uint_eq(a->peers[i].flags, b->peers[i].flags);
    }
    ck_assert_uint_eq(a->nforgot, b->nforgot);
    for (unsigned i = 0; i < a->nforgot; i++) {
        ck_assert_str_eq(a->forgot[i].id, b->forgot[i].id);
        ck_assert_uint_eq(a->forgot[i].epoch, b->forgot[i].epoch);
    }
}

static void sample_v2(rkv_node_state *st)
{
    sample(st); /* epoch, vote and peers: ignored, derived from fo */
    st->has_fo = true;
    fo_sample(&st->fo);
}

START_TEST(test_fo_round_trip)
{
    char *dir = tmpdir();
    rkv_node_state st, got;
    sample_v2(&st);
    ck_assert_msg(rkv_state_save(NULL, dir, &st) == 0, "%s",
                  replkv_last_error());
    ck_assert_msg(rkv_state_load(NULL, dir, &got) == 0, "%s",
                  replkv_last_error());
    ck_assert(got.has_fo);
    ck_assert_str_eq(got.node_id, ID_A);
    expect_same_fo(&st.fo, &got.fo);
    /* The version 1 fields are fo's, whatever st held. */
    ck_assert_uint_eq(got.epoch, st.fo.current_epoch);
    ck_assert_uint_eq(got.vote_epoch, st.fo.voted_epoch);
    ck_assert_str_eq(got.vote_for, st.fo.voted_for);
    ck_assert_uint_eq(got.npeers, RKV_FO_MAX_NODES - 2);
    ck_assert_str_eq(got.peers[5].id, st.fo.peers[6].id);
    ck_assert_str_eq(got.peers[5].host, st.fo.peers[6].addr.host);
    rkv_state_free(&got);
    ck_assert(!got.has_fo);

    /* The header says version 2; without fo, version 1 again. */
    rkv_buf b;
    rkv_buf_init(&b);
    ck_assert_int_eq(rkv_state_encode(&st, &b), 0);
    ck_assert_uint_eq(b.data[11], 2);
    rkv_buf_clear(&b);
    st.has_fo = false;
    ck_assert_int_eq(rkv_state_encode(&st, &b), 0);
    ck_assert_uint_eq(b.data[11], 1);

    /* A node that never voted, knows no peers and was not given a
     * configuration. */
    rkv_buf_clear(&b);
    memset(&st.fo, 0, sizeof st.fo);
    st.has_fo = true;
    ck_assert_int_eq(rkv_state_encode(&st, &b), 0);
    ck_assert_int_eq(rkv_state_decode(b.data, b.len, "n", &got), 0);
    ck_assert(got.has_fo);
    expect_same_fo(&st.fo, &got.fo);
    ck_assert_uint_eq(got.npeers, 0);
    rkv_state_free(&got);
    rkv_buf_free(&b);
    rmdir_all(dir);
}
END_TEST

START_TEST(test_fo_encode_refuses)
{
    static const struct {
        const char *what;
        const char *field;
    } C[] = {
        {"vote without id", "fo.voted_for"},
        {"vote after epoch", "fo.voted_for"},
        {"bad primary", "fo.conf.primary"},
        {"negative promo_offset", "fo.conf.promo_offset"},
        {"32 peers", "fo.peers"},
        {"17 tombstones", "fo.tombstones"},
        {"unterminated host", "fo.peers[2].host"},
        {"unknown flag", "fo.peers[3].flags"},
        {"peer twice", "fo.peers[4].id: listed twice"},
        {"empty tombstone id", "fo.tombstones[1].id"},
    };
    rkv_buf b;
    rkv_buf_init(&b);
    for (unsigned c = 0; c < sizeof C / sizeof *C; c++) {
        rkv_node_state st;
        sample_v2(&st);
        rkv_fo_state *fo = &st.fo;
        switch (c) {
        case 0:
            fo->voted_for[0] = '\0';
            break;
        case 1:
            fo->voted_epoch = fo->current_epoch + 1;
            break;
        case 2:
            fo->primary[7] = 'G';
            break;
        case 3:
            fo->promo_offset = -1;
            break;
        case 4:
            fo->npeers = RKV_FO_MAX_NODES;
            break;
        case 5:
            fo->nforgot = RKV_FO_MAX_FORGOT + 1;
            break;
        case 6:
            memset(fo->peers[2].addr.host, 'x', RKV_FO_HOST_SIZE);
            break;
        case 7:
            fo->peers[3].flags = 0x80;
            break;
        case 8:
            strcpy(fo->peers[4].id, fo->peers[1].id);
            break;
        default:
            fo->forgot[1].id[0] = '\0';
            break;
        }
        int rc = rkv_state_encode(&st, &b);
        ck_assert_msg(rc == REPLKV_EINVAL, "%s: %s", C[c].what,
                      replkv_err_name(rc));
        ck_assert_msg(strstr(replkv_last_error(), C[c].field) != NULL,
                      "%s: '%s'", C[c].what, replkv_last_error());
        ck_assert_uint_eq(b.len, 0);
    }
    rkv_buf_free(&b);
}
END_TEST

/* A version 1 file as the version 1 library wrote it, packed by hand
 * here (not by today's encoder): it loads, with no failover state. The
 * same body under a version 2 header lacks the 6th element. */
START_TEST(test_v1_file_still_loads)
{
    rkv_buf body, file;
    rkv_buf_init(&body);
    rkv_buf_init(&file);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &body, tw);
    msgpack_pack_array(&pk, 5);
    msgpack_pack_str_with_body(&pk, ID_A, 40);
    msgpack_pack_uint64(&pk, 9);
    msgpack_pack_uint64(&pk, 8);
    msgpack_pack_str_with_body(&pk, ID_C, 40);
    msgpack_pack_array(&pk, 1);
    msgpack_pack_array(&pk, 3);
    msgpack_pack_str_with_body(&pk, ID_B, 40);
    msgpack_pack_str_with_body(&pk, "10.1.2.3", 8);
    msgpack_pack_uint16(&pk, 6379);
    wrap_v(&file, body.data, body.len, 1);
    rkv_node_state st;
    ck_assert_int_eq(rkv_state_decode(file.data, file.len, "old", &st), 0);
    ck_assert(!st.has_fo);
    ck_assert_uint_eq(st.fo.current_epoch, 0);
    ck_assert_uint_eq(st.fo.npeers, 0);
    ck_assert_uint_eq(st.epoch, 9);
    ck_assert_str_eq(st.vote_for, ID_C);
    ck_assert_uint_eq(st.npeers, 1);
    ck_assert_str_eq(st.peers[0].host, "10.1.2.3");
    rkv_state_free(&st);
    wrap_v(&file, body.data, body.len, 2);
    ck_assert_int_eq(rkv_state_decode(file.data, file.len, "old", &st),
                     REPLKV_ECORRUPT);
    ck_assert_ptr_nonnull(strstr(replkv_last_error(), "6-element"));
    ck_assert_ptr_null(st.peers);
    wrap_v(&file, body.data, body.len, 3);
    ck_assert_int_eq(rkv_state_decode(file.data, file.len, "old", &st),
                     REPLKV_EVERSION);
    rkv_buf_free(&body);
    rkv_buf_free(&file);
}
END_TEST

/* Hostile version 2 bodies with a valid checksum: a good file is
 * unpacked, one object of it replaced, packed and wrapped again. */
static msgpack_object obj_str(const char *s, size_t n)
{
    msgpack_object o = {.type = MSGPACK_OBJECT_STR};
    o.via.str.ptr = s;
    o.via.str.size = (uint32_t)n;
    return o;
}

static msgpack_object obj_uint(uint64_t v)
{
    msgpack_object o = {.type = MSGPACK_OBJECT_POSITIVE_INTEGER};
    o.via.u64 = v;
    return o;
}

static const struct {
    const char *what;
    const char *detail; /* expected in replkv_last_error() */
} MUT[] = {
    {"epoch a str", "fo.current_epoch: not an unsigned integer"},
    {"fresh an int", "fo.fresh: not a bool"},
    {"negative promo_offset", "fo.conf.promo_offset: negative integer"},
    {"port 70000", "fo.peers[0].port: integer out of range"},
    {"host of 64 bytes", "fo.peers[0].host: str of 64 bytes, at most 63 fit"},
    {"primary host of 300", "fo.conf.host: str of 300 bytes, at most 63 fit"},
    {"voted_for of 41", "fo.voted_for: str of 41 bytes, at most 40 fit"},
    {"flag 0x80", "fo.peers[0].flags: unknown bits"},
    {"peer twice", "fo.peers[1].id: listed twice"},
    {"epoch disagrees", "disagree with the failover state"},
    {"conf an int", "fo.conf: not an array"},
    {"32 peers", "fo.peers: 32 elements, 0 to 31"},
    {"17 tombstones", "fo.tombstones: 17 elements, 0 to 16"},
    {"tombstone not an id", "fo.tombstones[0].id: not a node id"},
    {"hist_epoch nil", "fo.hist_epoch: not an unsigned integer"},
    {"peer entry of 3", "fo.peers[1].entry: 3 elements, 4 to 4"},
    {"fo of 7", "fo.state: 7 elements, 8 to 8"},
    {"NUL in primary", "fo.conf.primary: NUL in str"},
    {"vote above epoch", "fo.voted_for"},
    {"peer id of 39", "fo.peers[0].id: not a node id"},
    {"flags 256", "fo.peers[2].flags: integer out of range"},
    {"peer host list disagrees", "disagree with the failover state"},
};

static char LONG_HOST[300];
static msgpack_object MANY[RKV_FO_MAX_NODES];

static void mutate(unsigned c, msgpack_object *root)
{
    msgpack_object *top = root->via.array.ptr;
    msgpack_object *fo = top[5].via.array.ptr;
    msgpack_object *conf = fo[3].via.array.ptr;
    msgpack_object *peers = fo[6].via.array.ptr;
    msgpack_object *p0 = peers[0].via.array.ptr;
    memset(LONG_HOST, 'h', sizeof LONG_HOST);
    switch (c) {
    case 0:
        fo[0] = obj_str("7", 1);
        break;
    case 1:
        fo[5] = obj_uint(1);
        break;
    case 2:
        conf[5].type = MSGPACK_OBJECT_NEGATIVE_INTEGER;
        conf[5].via.i64 = -5;
        break;
    case 3:
        p0[2] = obj_uint(70000);
        break;
    case 4:
        p0[1] = obj_str(LONG_HOST, 64);
        break;
    case 5:
        conf[2] = obj_str(LONG_HOST, 300);
        break;
    case 6:
        fo[2] = obj_str("0123456789abcdef0123456789abcdef012345670", 41);
        break;
    case 7:
        p0[3] = obj_uint(0x80);
        break;
    case 8:
        peers[1].via.array.ptr[0] = p0[0];
        break;
    case 9:
        top[1] = obj_uint(top[1].via.u64 + 1);
        break;
    case 10:
        fo[3] = obj_uint(3);
        break;
    case 11:
    case 12:
        for (unsigned i = 0; i < RKV_FO_MAX_NODES; i++)
            MANY[i] = c == 11 ? peers[0] : fo[7].via.array.ptr[0];
        fo[c == 11 ? 6 : 7].via.array.ptr = MANY;
        fo[c == 11 ? 6 : 7].via.array.size =
            c == 11 ? RKV_FO_MAX_NODES : RKV_FO_MAX_FORGOT + 1;
        break;
    case 13:
        fo[7].via.array.ptr[0].via.array.ptr[0] = obj_str(LONG_HOST, 40);
        break;
    case 14:
        fo[4].type = MSGPACK_OBJECT_NIL;
        break;
    case 15:
        peers[1].via.array.size = 3;
        break;
    case 16:
        top[5].via.array.size = 7;
        break;
    case 17:
        conf[1] = obj_str("\0"
                          "123456789abcdef0123456789abcdef01234567",
                          40);
        break;
    case 18: /* fo's rule is checked before the two copies are compared */
        fo[1] = obj_uint(fo[0].via.u64 + 1);
        break;
    case 19:
        p0[0] = obj_str(ID_A, 39);
        break;
    case 20:
        peers[2].via.array.ptr[3] = obj_uint(256);
        break;
    default:
        top[4].via.array.size--;
        break;
    }
}

START_TEST(test_fo_hostile_fields)
{
    rkv_node_state st;
    sample_v2(&st);
    st.fo.current_epoch = 1000;
    st.fo.voted_epoch = 999;
    rkv_buf good, body, file;
    rkv_buf_init(&good);
    rkv_buf_init(&body);
    rkv_buf_init(&file);
    ck_assert_int_eq(rkv_state_encode(&st, &good), 0);
    for (unsigned c = 0; c < sizeof MUT / sizeof *MUT; c++) {
        msgpack_unpacked up;
        msgpack_unpacked_init(&up);
        ck_assert_int_eq(
            msgpack_unpack_next(&up, (const char *)good.data + RKV_STATE_HDR,
                                good.len - RKV_STATE_HDR, NULL),
            MSGPACK_UNPACK_SUCCESS);
        mutate(c, &up.data);
        rkv_buf_clear(&body);
        msgpack_packer pk;
        msgpack_packer_init(&pk, &body, tw);
        ck_assert_int_eq(msgpack_pack_object(&pk, up.data), 0);
        msgpack_unpacked_destroy(&up);
        wrap_v(&file, body.data, body.len, 2);
        rkv_node_state got;
        int rc = rkv_state_decode(file.data, file.len, "dir/node.state", &got);
        ck_assert_msg(rc == REPLKV_ECORRUPT, "%s: %s", MUT[c].what,
                      replkv_err_name(rc));
        const char *e = replkv_last_error();
        ck_assert_msg(strstr(e, "dir/node.state: ") == e &&
                          strstr(e, MUT[c].detail) != NULL,
                      "%s: got '%s'", MUT[c].what, e);
        ck_assert_ptr_null(got.peers);
        ck_assert(!got.has_fo);
    }
    rkv_buf_free(&good);
    rkv_buf_free(&body);
    rkv_buf_free(&file);
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
    tcase_add_loop_test(tc, test_cut_at_every_length, 0, 2);
    tcase_add_loop_test(tc, test_flip_every_byte, 0, 2);
    tcase_add_test(tc, test_huge_declared_counts);
    tcase_add_test(tc, test_faults_keep_old_file);
    tcase_add_test(tc, test_fo_round_trip);
    tcase_add_test(tc, test_fo_encode_refuses);
    tcase_add_test(tc, test_v1_file_still_loads);
    tcase_add_test(tc, test_fo_hostile_fields);
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
