/*
 * check_journal.c - the write path's records without sockets: every public
 * mutation on a primary becomes the frames expected, the hand-rolled SET
 * and DEL codec agrees with lib/stream.c and refuses what it should, and
 * replaying a primary's backlog onto empty tables (as a replica does)
 * rebuilds the same keyspace.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "journal.h"
#include "repl.h"

#define S(str) (str), strlen(str)

static replkv_t *primary(void)
{
    replkv_opts *o = replkv_opts_new();
    /* A mode-PRIMARY node needs a port; bind to 0 is not allowed by the
     * option, so pick one by asking the kernel through a real open. */
    char port[16];
    for (int p = 42000; p < 42100; p++) {
        snprintf(port, sizeof port, "%d", p);
        replkv_opts_set(o, "port", port);
        replkv_t *kv;
        if (replkv_open(o, &kv) == 0) {
            replkv_opts_free(o);
            return kv;
        }
    }
    ck_abort_msg("no free port");
    return NULL;
}

/* The backlog's bytes, decoded frame by frame. */
typedef struct frames {
    uint8_t *bytes;
    size_t len;
} frames;

static frames backlog_bytes(replkv_t *kv, int64_t from)
{
    frames f;
    pthread_mutex_lock(&kv->jlock);
    int64_t end = rkv_backlog_offset(kv->bl);
    f.len = (size_t)(end - from);
    f.bytes = malloc(f.len + 1);
    size_t n;
    ck_assert_int_eq(rkv_backlog_copy(kv->bl, from, f.bytes, f.len, &n), 0);
    ck_assert_uint_eq(n, f.len);
    pthread_mutex_unlock(&kv->jlock);
    return f;
}

/* Decodes every frame in f and returns their types as a string of codes
 * ("1 2 3"). */
static void walk(frames f, char *types, size_t cap)
{
    size_t pos = 0, tl = 0;
    types[0] = '\0';
    while (pos < f.len) {
        rkv_frame fr;
        ck_assert_int_eq(rkv_frame_parse(f.bytes + pos, f.len - pos,
                                         UINT32_MAX, &fr),
                         1);
        rkv_msg m;
        ck_assert_int_eq(rkv_msg_decode(fr.payload, fr.len, &m), 0);
        if (m.type != RKV_REC_PING)
            tl += (size_t)snprintf(types + tl, cap - tl, "%s%u",
                                   tl ? " " : "", m.type);
        pos += fr.size;
    }
}

START_TEST(mutations_become_records)
{
    replkv_t *kv = primary();
    int64_t start = atomic_load(&kv->repl_offset);
    ck_assert_int_eq(replkv_set(kv, S("a"), S("1"), 0, 0), 1);       /* 1 */
    ck_assert_int_eq(replkv_set(kv, S("a"), S("2"), 0, REPLKV_NX), 0); /* - */
    ck_assert_int_eq(replkv_expire(kv, S("a"), 100000, 0), 1);       /* 3 */
    ck_assert_int_eq(replkv_persist(kv, S("a")), 1);                 /* 4 */
    ck_assert_int_eq(replkv_incrby(kv, S("n"), 5, NULL), 0);         /* 1 */
    ck_assert_int_eq(replkv_append(kv, S("n"), S("0"), NULL), 0);    /* 1 */
    ck_assert_int_eq(replkv_del(kv, S("a")), 1);                     /* 2 */
    ck_assert_int_eq(replkv_del(kv, S("a")), 0);                     /* - */
    ck_assert_int_eq(replkv_set(kv, S("t"), S("x"), 1, 0), 1);       /* 1 */
    int64_t off;
    replkv_last_offset(kv, &off);
    ck_assert_int_eq(off, atomic_load(&kv->repl_offset));
    frames f = backlog_bytes(kv, start);
    char types[256];
    walk(f, types, sizeof types);
    ck_assert_str_eq(types, "1 3 4 1 1 2 1");
    free(f.bytes);
    /* The expired key's lazy deletion travels as a DEL. */
    struct timespec ts = {0, 20000000};
    nanosleep(&ts, NULL);
    int64_t mark = atomic_load(&kv->repl_offset);
    ck_assert_int_eq(replkv_exists(kv, S("t")), 0);
    ck_assert_int_eq(replkv_flush(kv), 0);
    f = backlog_bytes(kv, mark);
    walk(f, types, sizeof types);
    ck_assert_str_eq(types, "2 5");
    free(f.bytes);
    replkv_close(kv);
}
END_TEST

START_TEST(standalone_journals_nothing)
{
    replkv_t *kv;
    ck_assert_int_eq(replkv_open(NULL, &kv), 0);
    for (int i = 0; i < 100; i++)
        replkv_set(kv, S("k"), S("v"), 0, 0);
    ck_assert_int_eq(atomic_load(&kv->repl_offset), 0);
    replkv_close(kv);
}
END_TEST

START_TEST(replay_rebuilds_keyspace)
{
    replkv_t *kv = primary();
    char k[32], v[300];
    for (int i = 0; i < 20000; i++) {
        snprintf(k, sizeof k, "key:%d", i % 5000);
        int n = snprintf(v, sizeof v, "%0*d", 1 + i % 290, i);
        replkv_set(kv, S(k), v, (size_t)n, i % 3 ? 0 : 3600000, 0);
        if (i % 7 == 0)
            replkv_del(kv, S(k));
        if (i % 11 == 0)
            replkv_expire(kv, S(k), 7200000, 0);
    }
    frames f = backlog_bytes(kv, 0);
    rkv_ks *t[RKV_SHARDS];
    for (unsigned i = 0; i < RKV_SHARDS; i++)
        t[i] = rkv_ks_new(kv->hash_seed);
    /* Through the replica's apply window: the same keys come back within
     * its length (SET, DEL, EXPIREAT of one key in a row), and the order
     * must hold. */
    rkv_apply_win *w = calloc(1, sizeof *w);
    ck_assert_ptr_nonnull(w);
    size_t pos = 0;
    while (pos < f.len) {
        rkv_frame fr;
        ck_assert_int_eq(rkv_frame_parse(f.bytes + pos, f.len - pos,
                                         UINT32_MAX, &fr), 1);
        rkv_msg m;
        ck_assert_int_eq(rkv_msg_decode(fr.payload, fr.len, &m), 0);
        ck_assert_int_eq(rkv_apply_push(w, kv, t, &m, fr.size), 0);
        ck_assert_uint_le(w->n, RKV_APPLY_WINDOW - 1);
        pos += fr.size;
    }
    ck_assert_int_eq(rkv_apply_drain(w, kv), 0);
    ck_assert_uint_eq(w->n, 0);
    free(w);
    uint64_t acc[2] = {0, 0};
    int64_t now = rkv_now_ms();
    for (unsigned i = 0; i < RKV_SHARDS; i++)
        rkv_ks_digest(t[i], now, acc);
    unsigned char want[16], got[16];
    replkv_digest(kv, want);
    for (int i = 0; i < 8; i++) {
        got[i] = (unsigned char)(acc[0] >> (8 * i));
        got[8 + i] = (unsigned char)(acc[1] >> (8 * i));
    }
    ck_assert(memcmp(want, got, 16) == 0);
    for (unsigned i = 0; i < RKV_SHARDS; i++)
        rkv_ks_free(t[i]);
    free(f.bytes);
    replkv_close(kv);
}
END_TEST

/* A link's decoder is reused for every frame it receives: frames of every
 * size decode the same through it as through rkv_msg_decode, and a bad
 * frame in between does not spoil the ones after it. */
START_TEST(reused_decoder)
{
    static const size_t lens[] = {0, 1, 200, 255, 256, 65535, 65536, 70000};
    static const int64_t exps[] = {0, 1, 127, 128, 1700000000000, INT64_MAX};
    uint8_t *val = malloc(70000);
    memset(val, 'v', 70000);
    rkv_decoder dec;
    ck_assert_int_eq(rkv_decoder_init(&dec), 0);
    const uint8_t huge[] = {0xdd, 0xff, 0xff, 0xff, 0xff, 0x01, 0x02};
    const uint8_t neg[] = {0x94, 0x01, 0xc4, 0x01, 'k', 0xc4, 0x00, 0xff};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        for (size_t j = 0; j < sizeof exps / sizeof exps[0]; j++) {
            size_t klen = 1 + lens[i] % 300;
            rkv_buf b = {0};
            ck_assert_int_eq(
                rkv_frame_put_set(&b, val, klen, val, lens[i], exps[j]), 0);
            rkv_frame fr;
            ck_assert_int_eq(rkv_frame_parse(b.data, b.len, UINT32_MAX, &fr),
                             1);
            rkv_msg m, once;
            ck_assert_int_eq(rkv_msg_decode_with(&dec, fr.payload, fr.len, &m),
                             0);
            ck_assert_int_eq(rkv_msg_decode(fr.payload, fr.len, &once), 0);
            ck_assert_uint_eq(m.type, RKV_REC_SET);
            ck_assert_uint_eq(m.set.key.len, klen);
            ck_assert_uint_eq(m.set.val.len, lens[i]);
            ck_assert_int_eq(m.set.expire_at, exps[j]);
            ck_assert_mem_eq(&m, &once, sizeof m);
            rkv_buf_free(&b);
            /* Hostile payloads in between: refused, decoder unharmed. */
            ck_assert_int_eq(rkv_msg_decode_with(&dec, huge, sizeof huge, &m),
                             REPLKV_EPROTO);
            ck_assert_int_ne(rkv_msg_decode_with(&dec, neg, sizeof neg, &m),
                             0);
        }
    }
    rkv_decoder_destroy(&dec);
    free(val);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("journal");
    TCase *tc = tcase_create("journal");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, mutations_become_records);
    tcase_add_test(tc, standalone_journals_nothing);
    tcase_add_test(tc, replay_rebuilds_keyspace);
    tcase_add_test(tc, reused_decoder);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
