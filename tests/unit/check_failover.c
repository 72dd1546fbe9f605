/*
 * check_failover.c - focused tests of the failover core (lib/failover*.c):
 * wire round trips and hostile input for every message, the vote rules
 * (one vote per epoch, persisted before it is sent), the epoch and
 * configuration rules (adopt the higher, fence an old primary), and
 * Sentinel's selection order. Whole clusters are in check_failover_sim.c.
 */
#include <check.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "failover_int.h"
#include "stream.h"

static void id_of(char out[RKV_FO_ID_SIZE], unsigned n)
{
    snprintf(out, RKV_FO_ID_SIZE, "%040u", n);
}

/* ------------------------------------------------------------- wire */

static rkv_fo_msg sample(unsigned type)
{
    rkv_fo_msg m;
    memset(&m, 0, sizeof m);
    m.type = type;
    id_of(m.from, 7);
    m.epoch = 42;
    switch (type) {
    case RKV_FO_MSG_PING:
        snprintf(m.ping.name, sizeof m.ping.name, "mymaster");
        snprintf(m.ping.addr.host, sizeof m.ping.addr.host, "10.1.2.3");
        m.ping.addr.port = 6379;
        m.ping.flags = RKV_FO_F_BOOTED | RKV_FO_F_LINK_UP;
        m.ping.role = RKV_FO_ROLE_REPLICA;
        m.ping.offset = 123456789012LL;
        m.ping.hist_epoch = 41;
        m.ping.priority = 100;
        m.ping.link_down_ms = 5;
        id_of(m.ping.following, 3);
        m.ping.conf.epoch = 41;
        id_of(m.ping.conf.primary, 3);
        snprintf(m.ping.conf.addr.host, sizeof m.ping.conf.addr.host, "h3");
        m.ping.conf.addr.port = 7003;
        id_of(m.ping.conf.leader, 5);
        m.ping.conf.promo_offset = 99;
        m.ping.npeers = RKV_FO_MAX_NODES;
        for (unsigned i = 0; i < RKV_FO_MAX_NODES; i++) {
            id_of(m.ping.peers[i].id, 100 + i);
            snprintf(m.ping.peers[i].addr.host, RKV_FO_HOST_SIZE, "n%u", i);
            m.ping.peers[i].addr.port = (uint16_t)(7000 + i);
            m.ping.peers[i].flags = (uint8_t)(i % 4);
        }
        m.ping.nforgot = 2;
        id_of(m.ping.forgot[0].id, 900);
        m.ping.forgot[0].epoch = 3;
        id_of(m.ping.forgot[1].id, 901);
        m.ping.forgot[1].epoch = UINT64_MAX;
        break;
    case RKV_FO_MSG_VOTE_REQ:
        m.vote_req.config_epoch = 41;
        m.vote_req.flags = RKV_FO_F_MANUAL;
        break;
    case RKV_FO_MSG_VOTE:
        id_of(m.vote.leader, 9);
        break;
    case RKV_FO_MSG_PROMOTE:
    case RKV_FO_MSG_FOLLOW:
        m.conf.conf.epoch = 43;
        id_of(m.conf.conf.primary, 8);
        snprintf(m.conf.conf.addr.host, RKV_FO_HOST_SIZE, "::1");
        m.conf.conf.addr.port = 1;
        break;
    case RKV_FO_MSG_FORGET:
        id_of(m.forget.who.id, 11);
        m.forget.who.epoch = 40;
        break;
    case RKV_FO_MSG_FAILOVER:
        m.failover.timeout_ms = 5000;
        break;
    }
    return m;
}

static void encode_ok(rkv_buf *b, const rkv_fo_msg *m, rkv_frame *f)
{
    rkv_buf_clear(b);
    ck_assert_int_eq(rkv_fo_msg_encode(b, m), 0);
    ck_assert_int_eq(rkv_frame_parse(b->data, b->len, 1u << 20, f), 1);
    ck_assert_uint_eq(f->size, b->len);
}

START_TEST(wire_round_trip)
{
    rkv_buf b;
    rkv_buf_init(&b);
    for (unsigned t = RKV_FO_MSG_PING; t <= RKV_FO_MSG_FAILOVER; t++) {
        rkv_fo_msg m = sample(t), d;
        rkv_frame f;
        encode_ok(&b, &m, &f);
        ck_assert(rkv_fo_msg_is_failover(f.payload, f.len));
        ck_assert_int_eq(rkv_fo_msg_decode(f.payload, f.len, &d), 0);
        ck_assert_msg(memcmp(&m, &d, sizeof m) == 0, "%s differs",
                      rkv_fo_msg_name(t));
    }
    rkv_buf_free(&b);
}
END_TEST

START_TEST(wire_encode_refuses)
{
    rkv_buf b;
    rkv_buf_init(&b);
    rkv_fo_msg m = sample(RKV_FO_MSG_PING);
    m.ping.npeers = RKV_FO_MAX_NODES + 1;
    ck_assert_int_eq(rkv_fo_msg_encode(&b, &m), REPLKV_EINVAL);
    m = sample(RKV_FO_MSG_VOTE);
    snprintf(m.vote.leader, sizeof m.vote.leader, "XYZ");
    ck_assert_int_eq(rkv_fo_msg_encode(&b, &m), REPLKV_EINVAL);
    m = sample(RKV_FO_MSG_VOTE);
    m.type = 99;
    ck_assert_int_eq(rkv_fo_msg_encode(&b, &m), REPLKV_EINVAL);
    m = sample(RKV_FO_MSG_PING);
    m.ping.offset = -1;
    ck_assert_int_eq(rkv_fo_msg_encode(&b, &m), REPLKV_EINVAL);
    ck_assert_uint_eq(b.len, 0);
    rkv_buf_free(&b);
}
END_TEST

/* Every prefix of every message is refused, cleanly. */
START_TEST(wire_truncated)
{
    rkv_buf b;
    rkv_buf_init(&b);
    for (unsigned t = RKV_FO_MSG_PING; t <= RKV_FO_MSG_FAILOVER; t++) {
        rkv_fo_msg m = sample(t), d;
        rkv_frame f;
        encode_ok(&b, &m, &f);
        for (size_t n = 0; n < f.len; n++) {
            uint8_t *copy = malloc(n ? n : 1); /* exact size: ASan sees */
            memcpy(copy, f.payload, n);
            ck_assert_int_eq(rkv_fo_msg_decode(copy, n, &d), REPLKV_EPROTO);
            free(copy);
        }
        /* one trailing byte */
        uint8_t *copy = malloc(f.len + 1);
        memcpy(copy, f.payload, f.len);
        copy[f.len] = 0xc0;
        ck_assert_int_eq(rkv_fo_msg_decode(copy, f.len + 1, &d),
                         REPLKV_EPROTO);
        free(copy);
    }
    rkv_buf_free(&b);
}
END_TEST

START_TEST(wire_hostile)
{
    rkv_fo_msg d;
    /* an array32 claiming 2^32-1 elements */
    const uint8_t huge[] = {0xdd, 0xff, 0xff, 0xff, 0xff, 0x50};
    ck_assert_int_eq(rkv_fo_msg_decode(huge, sizeof huge, &d), REPLKV_EPROTO);
    ck_assert_ptr_nonnull(
        strstr(replkv_last_error(), "declares 4294967295 elements"));
    /* a PING whose peer list claims 2^32-1 entries: build a real PING and
     * patch its peers header */
    rkv_buf b;
    rkv_buf_init(&b);
    rkv_fo_msg m = sample(RKV_FO_MSG_PING);
    m.ping.npeers = 0;
    m.ping.nforgot = 0;
    rkv_frame f;
    encode_ok(&b, &m, &f);
    /* the last two bytes are the empty peers and tombstones arrays */
    size_t n = f.len;
    uint8_t *p = malloc(n + 8);
    memcpy(p, f.payload, n);
    ck_assert_uint_eq(p[n - 2], 0x90);
    p[n - 2] = 0xdd;
    p[n - 1] = 0xff;
    p[n] = 0xff;
    p[n + 1] = 0xff;
    p[n + 2] = 0xff;
    p[n + 3] = 0x90;
    ck_assert_int_eq(rkv_fo_msg_decode(p, n + 4, &d), REPLKV_EPROTO);
    /* the cluster maximum of peers decodes */
    free(p);
    m = sample(RKV_FO_MSG_PING);
    m.ping.npeers = RKV_FO_MAX_NODES;
    m.ping.nforgot = 0;
    encode_ok(&b, &m, &f);
    ck_assert_int_eq(rkv_fo_msg_decode(f.payload, f.len, &d), 0);
    /* one more than the maximum: its header says 33, refused before any
     * entry is read */
    p = malloc(f.len);
    memcpy(p, f.payload, f.len);
    bool patched = false;
    for (size_t i = 0; i + 2 < f.len && !patched; i++)
        if (p[i] == 0xdc && p[i + 1] == 0x00 && p[i + 2] == RKV_FO_MAX_NODES) {
            p[i + 2] = RKV_FO_MAX_NODES + 1;
            patched = true;
        }
    ck_assert(patched);
    ck_assert_int_eq(rkv_fo_msg_decode(p, f.len, &d), REPLKV_EPROTO);
    ck_assert_ptr_nonnull(strstr(replkv_last_error(), "truncated"));
    free(p);
    /* a str that claims more bytes than the payload has */
    const uint8_t longstr[] = {0x94, 0x52, 0xdb, 0xff, 0xff, 0xff, 0xf0, 'a'};
    ck_assert_int_eq(rkv_fo_msg_decode(longstr, sizeof longstr, &d),
                     REPLKV_EPROTO);
    /* wrong arity, unknown type, negative epoch, bad id */
    const uint8_t arity[] = {0x93, 0x52, 0xa0, 0x01};
    ck_assert_int_eq(rkv_fo_msg_decode(arity, sizeof arity, &d),
                     REPLKV_EPROTO);
    const uint8_t unknown[] = {0x93, 0x7f, 0xa0, 0x01};
    ck_assert_int_eq(rkv_fo_msg_decode(unknown, sizeof unknown, &d),
                     REPLKV_EPROTO);
    rkv_fo_msg v = sample(RKV_FO_MSG_VOTE);
    encode_ok(&b, &v, &f);
    p = malloc(f.len);
    memcpy(p, f.payload, f.len);
    p[3] = 'G'; /* inside the sender id */
    ck_assert_int_eq(rkv_fo_msg_decode(p, f.len, &d), REPLKV_EPROTO);
    ck_assert_uint_eq(d.type, 0); /* zeroed on error */
    free(p);
    const uint8_t neg[] = {0x94, 0x52, 0xa0, 0xff, 0xa0};
    ck_assert_int_eq(rkv_fo_msg_decode(neg, sizeof neg, &d), REPLKV_EPROTO);
    ck_assert(!rkv_fo_msg_is_failover(neg, 1));
    ck_assert(!rkv_fo_msg_is_failover(NULL, 0));
    /* random bytes: never a crash */
    rkv_rng r = {12345};
    uint8_t junk[200];
    for (int k = 0; k < 20000; k++) {
        size_t len = rkv_rng_next(&r) % sizeof junk;
        for (size_t i = 0; i < len; i++)
            junk[i] = (uint8_t)rkv_rng_next(&r);
        if (len > 1 && k % 2) {
            junk[0] = (uint8_t)(0x90 | (rkv_rng_next(&r) % 16));
            junk[1] = (uint8_t)(80 + rkv_rng_next(&r) % 7);
        }
        (void)rkv_fo_msg_decode(junk, len, &d);
    }
    /* and mutations of valid messages */
    for (unsigned t = RKV_FO_MSG_PING; t <= RKV_FO_MSG_FAILOVER; t++) {
        rkv_fo_msg s = sample(t);
        encode_ok(&b, &s, &f);
        p = malloc(f.len);
        for (int k = 0; k < 3000; k++) {
            memcpy(p, f.payload, f.len);
            for (int j = 0; j < 3; j++)
                p[rkv_rng_next(&r) % f.len] = (uint8_t)rkv_rng_next(&r);
            if (rkv_fo_msg_decode(p, f.len, &d) == 0) {
                /* what decodes must encode again */
                rkv_buf b2;
                rkv_buf_init(&b2);
                ck_assert_int_eq(rkv_fo_msg_encode(&b2, &d), 0);
                rkv_buf_free(&b2);
            }
        }
        free(p);
    }
    rkv_buf_free(&b);
}
END_TEST

/* A copy of payload with the n bytes at [at, at + cut) replaced by rep[0 ..
 * nrep): how the tests below plant hostile headers in real messages. */
static uint8_t *splice(const uint8_t *payload, size_t len, size_t at,
                       size_t cut, const uint8_t *rep, size_t nrep,
                       size_t *out_len)
{
    ck_assert_uint_le(at + cut, len);
    *out_len = len - cut + nrep;
    uint8_t *p = malloc(*out_len ? *out_len : 1);
    ck_assert_ptr_nonnull(p);
    memcpy(p, payload, at);
    memcpy(p + at, rep, nrep);
    memcpy(p + at + nrep, payload + at + cut, len - at - cut);
    return p;
}

/* The offset of the first occurrence of pat in p[0 .. len). */
static size_t find(const uint8_t *p, size_t len, const uint8_t *pat, size_t n)
{
    for (size_t i = 0; i + n <= len; i++)
        if (memcmp(p + i, pat, n) == 0)
            return i;
    ck_abort_msg("pattern not found");
    return 0;
}

/* Declared counts of 2^32-1 in nested positions of real messages: the
 * PING's conf, its peer list, one peer entry, its tombstone list, and a map
 * where a str belongs. Each is refused by the structure pass, before
 * msgpack-c could allocate 2^32-1 objects: the decodes run in a child whose
 * address space is capped a little above what it uses (as check_stream.c
 * does), so an allocation sized from a declared count fails the test.
 * (Not under AddressSanitizer, which reserves terabytes of shadow memory;
 * there a huge malloc aborts the run by itself.) */
START_TEST(wire_huge_nested_counts)
{
    rkv_buf b;
    rkv_buf_init(&b);
    rkv_fo_msg m = sample(RKV_FO_MSG_PING);
    m.ping.npeers = 2;
    rkv_frame f;
    encode_ok(&b, &m, &f);
    const uint8_t a32[] = {0xdd, 0xff, 0xff, 0xff, 0xff};
    const uint8_t m32[] = {0xdf, 0xff, 0xff, 0xff, 0xff};
    const uint8_t conf_hdr[] = {0x96, 0x29};      /* conf: [41, ... */
    const uint8_t peers_hdr[] = {0x92, 0x94};     /* 2 peers, first entry */
    const uint8_t tomb_hdr[] = {0x92, 0x92};      /* 2 tombstones, first */
    const uint8_t name[] = {0xa8, 'm', 'y', 'm'}; /* "mymaster" */
    const uint8_t a24[] = {0xdd, 0x01, 0x00, 0x00, 0x00}; /* 2^24: 400 MB */
    const char *const all = "declares 4294967295";
    struct {
        const char *what;
        size_t at, cut;
        const uint8_t *rep;
        const char *detail;
    } cases[] = {
        {"conf", find(f.payload, f.len, conf_hdr, 2), 1, a32, all},
        {"conf 2^24", find(f.payload, f.len, conf_hdr, 2), 1, a24,
         "declares 16777216"},
        {"peers", find(f.payload, f.len, peers_hdr, 2), 1, a32, all},
        {"peer entry", find(f.payload, f.len, peers_hdr, 2) + 1, 1, a32, all},
        {"tombstones", find(f.payload, f.len, tomb_hdr, 2), 1, a32, all},
        {"tombstone entry", find(f.payload, f.len, tomb_hdr, 2) + 1, 1, a32,
         all},
        {"map for name", find(f.payload, f.len, name, 4), 1 + 8, m32, all},
    };
    size_t ncases = sizeof cases / sizeof cases[0];
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
#if !defined(__SANITIZE_ADDRESS__)
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
                (rlim_t)vm_kb * 1024 + (rlim_t)32 * 1024 * 1024;
            if (setrlimit(RLIMIT_AS, &rl) != 0)
                _exit(3);
        }
#endif
        for (size_t i = 0; i < ncases; i++) {
            size_t n;
            uint8_t *p = splice(f.payload, f.len, cases[i].at, cases[i].cut,
                                cases[i].rep, 5, &n);
            rkv_fo_msg d;
            int rc = rkv_fo_msg_decode(p, n, &d);
            if (rc != REPLKV_EPROTO ||
                strstr(replkv_last_error(), cases[i].detail) == NULL) {
                fprintf(stderr, "%s: %s: %s\n", cases[i].what,
                        replkv_err_name(rc), replkv_last_error());
                _exit(1);
            }
            free(p);
        }
        _exit(0);
    }
    int status = 0;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                  "child status %d", status);
    /* the unpatched message still decodes, so the patches were the cause */
    rkv_fo_msg d;
    ck_assert_int_eq(rkv_fo_msg_decode(f.payload, f.len, &d), 0);
    rkv_buf_free(&b);
}
END_TEST

/* The schema's limits, in structurally sound messages (so that the
 * structure pass lets them through): a str one byte too long for its
 * fixed-size field, and one peer or tombstone more than the maximum, are
 * refused with the field named; exactly the maximum decodes. */
START_TEST(wire_schema_limits)
{
    rkv_buf b;
    rkv_buf_init(&b);
    rkv_fo_msg m = sample(RKV_FO_MSG_PING), d;
    memset(m.ping.name, 'n', sizeof m.ping.name - 1);
    m.ping.name[sizeof m.ping.name - 1] = 0;
    memset(m.ping.peers[3].addr.host, 'h', RKV_FO_HOST_SIZE - 1);
    m.ping.peers[3].addr.host[RKV_FO_HOST_SIZE - 1] = 0;
    rkv_frame f;
    encode_ok(&b, &m, &f);
    ck_assert_int_eq(rkv_fo_msg_decode(f.payload, f.len, &d), 0);
    ck_assert(memcmp(&m, &d, sizeof m) == 0);
    /* lengthen each by one byte: str8 headers (0xd9, 63) become 64 */
    const struct {
        size_t skip; /* occurrences of the 63-byte str to pass over */
        const char *detail;
    } cases[] = {
        {0, "FO_PING: name: str of 64 bytes, at most 63 fit"},
        {1, "FO_PING: peers[3].host: str of 64 bytes, at most 63 fit"},
    };
    for (size_t c = 0; c < 2; c++) {
        uint8_t *p = malloc(f.len + 1);
        size_t at = 0;
        for (size_t k = 0;; at++) {
            ck_assert_uint_lt(at + 1, f.len);
            if (f.payload[at] == 0xd9 && f.payload[at + 1] == 63 &&
                k++ == cases[c].skip)
                break;
        }
        memcpy(p, f.payload, at + 2);
        p[at + 1] = 64;
        p[at + 2] = 'x';
        memcpy(p + at + 3, f.payload + at + 2, f.len - at - 2);
        ck_assert_int_eq(rkv_fo_msg_decode(p, f.len + 1, &d), REPLKV_EPROTO);
        ck_assert_msg(strstr(replkv_last_error(), cases[c].detail) != NULL,
                      "%s", replkv_last_error());
        free(p);
    }
    /* 33 complete peer entries, 17 complete tombstones */
    m = sample(RKV_FO_MSG_PING);
    m.ping.nforgot = RKV_FO_MAX_FORGOT;
    for (unsigned i = 0; i < RKV_FO_MAX_FORGOT; i++)
        id_of(m.ping.forgot[i].id, 500 + i);
    encode_ok(&b, &m, &f);
    ck_assert_int_eq(rkv_fo_msg_decode(f.payload, f.len, &d), 0);
    ck_assert(memcmp(&m, &d, sizeof m) == 0);
    const uint8_t peers32[] = {0xdc, 0x00, RKV_FO_MAX_NODES, 0x94};
    const uint8_t peer33[] = {0xdc, 0x00, RKV_FO_MAX_NODES + 1, 0x94};
    size_t at = find(f.payload, f.len, peers32, 4), n;
    /* the header says 33 and the first entry appears twice */
    size_t entry = 1 + (2 + 40) + (1 + 2) + 3 + 1; /* [id, "n0", 7000, 0] */
    uint8_t *p = splice(f.payload, f.len, at, 3, peer33, 3, &n);
    uint8_t *q = splice(p, n, at + 3, 0, f.payload + at + 3, entry, &n);
    ck_assert_int_eq(rkv_fo_msg_decode(q, n, &d), REPLKV_EPROTO);
    ck_assert_msg(strstr(replkv_last_error(),
                         "FO_PING: peers: 33 entries, at most 32") != NULL,
                  "%s", replkv_last_error());
    free(q);
    free(p);
    const uint8_t tomb16[] = {0xdc, 0x00, RKV_FO_MAX_FORGOT, 0x92};
    const uint8_t tomb17[] = {0xdc, 0x00, RKV_FO_MAX_FORGOT + 1};
    at = find(f.payload, f.len, tomb16, 4);
    entry = 1 + (2 + 40) + 1; /* [id, 3]; the second's epoch takes 8 more */
    ck_assert_uint_eq(at + 3 + RKV_FO_MAX_FORGOT * entry + 8, f.len);
    p = splice(f.payload, f.len, at, 3, tomb17, 3, &n);
    q = splice(p, n, n, 0, f.payload + at + 3, entry, &n);
    ck_assert_int_eq(rkv_fo_msg_decode(q, n, &d), REPLKV_EPROTO);
    ck_assert_msg(strstr(replkv_last_error(),
                         "FO_PING: tombstones: 17 entries, at most 16") != NULL,
                  "%s", replkv_last_error());
    free(q);
    free(p);
    rkv_buf_free(&b);
}
END_TEST

/* 10,000 seeded mutations of valid messages (byte and bit changes,
 * insertions, deletions, truncations, planted msgpack type bytes): never a
 * crash or a sanitizer report; each either decodes to a message that
 * encodes again and decodes to itself, or is refused with REPLKV_EPROTO,
 * a detail, and *m zeroed. */
START_TEST(wire_mutations)
{
    const uint64_t seed = 20261124;
    rkv_rng r = {seed};
    rkv_buf b, b2;
    rkv_buf_init(&b);
    rkv_buf_init(&b2);
    static const uint8_t marks[] = {
        0xc0, 0xc1, 0xc2, 0xc4, 0xca, 0xcc, 0xcd, 0xce, 0xcf, 0xd0, 0xd3, 0xd4,
        0xd9, 0xdb, 0xdc, 0xdd, 0xde, 0xdf, 0x80, 0x90, 0x9f, 0xa0, 0xff};
    static const rkv_fo_msg zero;
    unsigned decoded = 0;
    for (int k = 0; k < 10000; k++) {
        rkv_fo_msg s = sample(RKV_FO_MSG_PING + (unsigned)(k % 7)), d, e;
        if (s.type == RKV_FO_MSG_PING) {
            s.ping.npeers = (uint32_t)(rkv_rng_next(&r) % 5);
            s.ping.nforgot = (uint32_t)(rkv_rng_next(&r) % 3);
        }
        rkv_frame f;
        encode_ok(&b, &s, &f);
        size_t len = f.len;
        uint8_t *p = malloc(len + 8);
        memcpy(p, f.payload, len);
        unsigned nmut = 1 + (unsigned)(rkv_rng_next(&r) % 4);
        for (unsigned j = 0; j < nmut && len > 0; j++) {
            size_t at = rkv_rng_next(&r) % len;
            switch (rkv_rng_next(&r) % 6) {
            case 0:
                p[at] = (uint8_t)rkv_rng_next(&r);
                break;
            case 1:
                p[at] ^= (uint8_t)(1u << (rkv_rng_next(&r) % 8));
                break;
            case 2: /* insert: room for up to 8 */
                if (len < f.len + 8) {
                    memmove(p + at + 1, p + at, len - at);
                    p[at] = (uint8_t)rkv_rng_next(&r);
                    len++;
                }
                break;
            case 3:
                memmove(p + at, p + at + 1, len - at - 1);
                len--;
                break;
            case 4:
                len = at;
                break;
            default:
                p[at] = marks[rkv_rng_next(&r) % sizeof marks];
                break;
            }
        }
        /* an exact-size copy, so ASan sees any read past the end */
        uint8_t *q = malloc(len ? len : 1);
        memcpy(q, p, len);
        int rc = rkv_fo_msg_decode(q, len, &d);
        if (rc == 0) {
            decoded++;
            rkv_buf_clear(&b2);
            ck_assert_msg(rkv_fo_msg_encode(&b2, &d) == 0,
                          "seed %" PRIu64 " case %d: %s", seed, k,
                          replkv_last_error());
            ck_assert_int_eq(rkv_fo_msg_decode(b2.data + RKV_FRAME_HDR,
                                               b2.len - RKV_FRAME_HDR, &e),
                             0);
            ck_assert_msg(memcmp(&d, &e, sizeof d) == 0,
                          "seed %" PRIu64 " case %d: re-encoding differs", seed,
                          k);
        } else {
            ck_assert_msg(rc == REPLKV_EPROTO, "seed %" PRIu64 " case %d: %s",
                          seed, k, replkv_err_name(rc));
            ck_assert_ptr_nonnull(
                strstr(replkv_last_error(), "failover message: "));
            ck_assert(memcmp(&d, &zero, sizeof d) == 0);
        }
        free(q);
        free(p);
    }
    /* some mutations (an id's hex digit, a port) leave a valid message */
    ck_assert_uint_gt(decoded, 0);
    rkv_buf_free(&b2);
    rkv_buf_free(&b);
}
END_TEST

/* ------------------------------------------------------------- core */

static rkv_fo *node(unsigned n, bool witness, const rkv_fo_state *st)
{
    rkv_fo_config c;
    rkv_fo_config_init(&c);
    id_of(c.node_id, n);
    snprintf(c.self.host, sizeof c.self.host, "h%u", n);
    c.self.port = 7000;
    snprintf(c.monitor.host, sizeof c.monitor.host, "h1");
    c.monitor.port = 7000;
    snprintf(c.name, sizeof c.name, "m");
    c.quorum = 2;
    c.down_after_ms = 500;
    c.failover_timeout_ms = 2000;
    c.witness = witness;
    if (st) {
        c.has_state = true;
        c.state = *st;
    }
    rkv_fo *fo = rkv_fo_new(&c, n);
    ck_assert_ptr_nonnull(fo);
    return fo;
}

static rkv_fo_msg ping_from(unsigned n, uint64_t epoch, const rkv_fo_conf *c,
                            int role, int64_t offset)
{
    rkv_fo_msg m;
    memset(&m, 0, sizeof m);
    m.type = RKV_FO_MSG_PING;
    id_of(m.from, n);
    m.epoch = epoch;
    snprintf(m.ping.name, sizeof m.ping.name, "m");
    snprintf(m.ping.addr.host, sizeof m.ping.addr.host, "h%u", n);
    m.ping.addr.port = 7000;
    m.ping.flags = RKV_FO_F_BOOTED;
    m.ping.role = (uint8_t)role;
    m.ping.offset = offset;
    m.ping.priority = 100;
    if (c)
        m.ping.conf = *c;
    return m;
}

static const rkv_fo_action *find_act(const rkv_fo_actions *a, unsigned type,
                                     size_t *at)
{
    for (size_t i = 0; i < a->n; i++)
        if (a->v[i].type == type) {
            if (at)
                *at = i;
            return &a->v[i];
        }
    return NULL;
}

START_TEST(new_refuses_bad_config)
{
    rkv_fo_config c;
    rkv_fo_config_init(&c);
    ck_assert_ptr_null(rkv_fo_new(&c, 1)); /* no id */
    id_of(c.node_id, 1);
    c.quorum = 0;
    ck_assert_ptr_null(rkv_fo_new(&c, 1));
    rkv_fo_free(NULL);
    rkv_fo_actions_free(NULL);
}
END_TEST

START_TEST(one_vote_per_epoch_persisted_first)
{
    rkv_fo *fo = node(3, false, NULL);
    rkv_fo_actions a;
    rkv_fo_actions_init(&a);
    rkv_fo_tick(fo, 0, &a);
    rkv_fo_msg req;
    memset(&req, 0, sizeof req);
    req.type = RKV_FO_MSG_VOTE_REQ;
    id_of(req.from, 2);
    req.epoch = 5;
    rkv_fo_actions_reset(&a);
    ck_assert_int_eq(rkv_fo_receive(fo, 10, &req, &a), 0);
    size_t ip = 0, is = 0;
    const rkv_fo_action *p = NULL, *s = NULL;
    for (size_t i = 0; i < a.n; i++) {
        if (a.v[i].type == RKV_FO_ACT_PERSIST && a.v[i].state.voted_epoch == 5)
            p = &a.v[i], ip = i;
        if (a.v[i].type == RKV_FO_ACT_SEND &&
            a.v[i].msg->type == RKV_FO_MSG_VOTE)
            s = &a.v[i], is = i;
    }
    ck_assert_ptr_nonnull(p);
    ck_assert_ptr_nonnull(s);
    ck_assert_uint_lt(ip, is); /* persisted before sent */
    ck_assert_str_eq(p->state.voted_for, req.from);
    ck_assert_str_eq(s->msg->vote.leader, req.from);
    ck_assert_uint_eq(p->state.current_epoch, 5);
    /* a second candidate in the same epoch gets the first one's name */
    id_of(req.from, 4);
    rkv_fo_actions_reset(&a);
    rkv_fo_receive(fo, 20, &req, &a);
    ck_assert_ptr_null(find_act(&a, RKV_FO_ACT_PERSIST, NULL));
    s = find_act(&a, RKV_FO_ACT_SEND, NULL);
    ck_assert_ptr_nonnull(s);
    char two[RKV_FO_ID_SIZE];
    id_of(two, 2);
    ck_assert_str_eq(s->msg->vote.leader, two);
    /* an older epoch gets nothing */
    req.epoch = 4;
    rkv_fo_actions_reset(&a);
    rkv_fo_receive(fo, 30, &req, &a);
    ck_assert_ptr_null(find_act(&a, RKV_FO_ACT_SEND, NULL));
    /* a candidate replacing an older configuration than ours: refused */
    rkv_fo_conf c = {.epoch = 9};
    id_of(c.primary, 1);
    snprintf(c.addr.host, sizeof c.addr.host, "h1");
    c.addr.port = 7000;
    rkv_fo_msg pg = ping_from(1, 9, &c, RKV_FO_ROLE_PRIMARY, 0);
    rkv_fo_actions_reset(&a);
    rkv_fo_receive(fo, 40, &pg, &a);
    req.epoch = 10;
    req.vote_req.config_epoch = 8;
    rkv_fo_actions_reset(&a);
    rkv_fo_receive(fo, 50, &req, &a);
    ck_assert_ptr_null(find_act(&a, RKV_FO_ACT_SEND, NULL));
    /* the vote survives a restart through the persisted state */
    rkv_fo_state st;
    memset(&st, 0, sizeof st);
    st.current_epoch = 5;
    st.voted_epoch = 5;
    id_of(st.voted_for, 2);
    rkv_fo *again = node(3, false, &st);
    req.epoch = 5;
    req.vote_req.config_epoch = 0;
    id_of(req.from, 4);
    rkv_fo_actions_reset(&a);
    rkv_fo_receive(again, 60, &req, &a);
    s = find_act(&a, RKV_FO_ACT_SEND, NULL);
    ck_assert_ptr_nonnull(s);
    ck_assert_str_eq(s->msg->vote.leader, two);
    rkv_fo_free(again);
    rkv_fo_actions_free(&a);
    rkv_fo_free(fo);
}
END_TEST

START_TEST(epochs_and_fencing)
{
    /* node 1 is the configured primary (monitor h1:7000) and a brand-new
     * cluster: it boots on hearing everyone and claims epoch 0 */
    rkv_fo *fo = node(1, false, NULL);
    rkv_fo_actions a;
    rkv_fo_actions_init(&a);
    rkv_fo_msg p2 = ping_from(2, 0, NULL, RKV_FO_ROLE_NONE, 0);
    p2.ping.flags |= RKV_FO_F_FRESH;
    snprintf(p2.ping.conf.addr.host, RKV_FO_HOST_SIZE, "h1");
    p2.ping.conf.addr.port = 7000;
    rkv_fo_receive(fo, 0, &p2, &a);
    rkv_fo_actions_reset(&a);
    rkv_fo_tick(fo, 10, &a);
    const rkv_fo_action *pr = find_act(&a, RKV_FO_ACT_PROMOTE_SELF, NULL);
    ck_assert_ptr_nonnull(pr);
    ck_assert_uint_eq(pr->epoch, 0);
    /* a lower configuration changes nothing; a higher one fences us */
    rkv_fo_conf c = {.epoch = 3, .promo_offset = 10};
    id_of(c.primary, 2);
    snprintf(c.addr.host, sizeof c.addr.host, "h2");
    c.addr.port = 7000;
    id_of(c.leader, 2);
    rkv_fo_msg p = ping_from(2, 3, &c, RKV_FO_ROLE_PRIMARY, 10);
    rkv_fo_actions_reset(&a);
    rkv_fo_receive(fo, 20, &p, &a);
    const rkv_fo_action *fl = find_act(&a, RKV_FO_ACT_FOLLOW, NULL);
    ck_assert_ptr_nonnull(fl);
    ck_assert(fl->demote);
    ck_assert_str_eq(fl->to.id, c.primary);
    rkv_fo_info info;
    rkv_fo_get_info(fo, 20, &info);
    ck_assert_uint_eq(info.current_epoch, 3);
    ck_assert_uint_eq(info.conf.epoch, 3);
    ck_assert_int_eq(info.role, RKV_FO_ROLE_REPLICA);
    ck_assert_str_eq(info.last_leader, c.leader);
    /* a stale configuration from gossip is ignored */
    rkv_fo_conf old = {.epoch = 2};
    id_of(old.primary, 1);
    rkv_fo_msg q = ping_from(3, 2, &old, RKV_FO_ROLE_PRIMARY, 0);
    rkv_fo_actions_reset(&a);
    rkv_fo_receive(fo, 30, &q, &a);
    rkv_fo_get_info(fo, 30, &info);
    ck_assert_uint_eq(info.conf.epoch, 3);
    ck_assert_str_eq(info.conf.primary, c.primary);
    ck_assert_uint_eq(info.npeers, 2); /* node 3 discovered */
    rkv_fo_actions_free(&a);
    rkv_fo_free(fo);
}
END_TEST

START_TEST(selection_order)
{
    rkv_fo *fo = node(9, true, NULL); /* a witness leads */
    fo->run_epoch = 7;
    id_of(fo->run_old_primary, 1);
    struct {
        unsigned id;
        uint32_t prio;
        uint64_t hist;
        int64_t off;
        uint8_t flags;
        int64_t down;
    } peers[] = {
        {1, 1, 6, 999, RKV_FO_F_DETACHED, 0},   /* the old primary */
        {2, 100, 6, 50, RKV_FO_F_DETACHED, 0},
        {3, 100, 6, 80, RKV_FO_F_DETACHED, 0},  /* best: offset */
        {4, 50, 6, 10, RKV_FO_F_DETACHED, 0},   /* better priority */
        {5, 0, 6, 900, RKV_FO_F_DETACHED, 0},   /* priority 0: never */
        {6, 100, 6, 80, RKV_FO_F_DETACHED, 0},  /* ties 3: bigger id */
        {7, 100, 5, 500, RKV_FO_F_DETACHED, 0}, /* older history */
        {8, 100, 6, 95, 0, 0},                  /* not final: skipped */
        {10, 100, 6, 97, RKV_FO_F_DETACHED, 60000}, /* link down long */
        {11, 100, 6, 98, RKV_FO_F_DETACHED | RKV_FO_F_FRESH, 0},
    };
    for (unsigned i = 0; i < sizeof peers / sizeof peers[0]; i++) {
        fo_peer *p = &fo->peers[fo->npeers++];
        memset(p, 0, sizeof *p);
        id_of(p->id, peers[i].id);
        p->have_ping = true;
        p->state = RKV_FO_PEER_UP;
        p->epoch = 7;
        p->priority = peers[i].prio;
        p->hist_epoch = peers[i].hist;
        p->offset = peers[i].off;
        p->flags = peers[i].flags;
        p->link_down_ms = peers[i].down;
    }
    rkv_fo_candidate c[RKV_FO_MAX_NODES];
    unsigned n, reports;
    int64_t max_off;
    fo_rank(fo, c, &n, &max_off, &reports);
    const unsigned want[] = {4, 3, 6, 2, 7}; /* history before offset */
    ck_assert_uint_eq(n, 5);
    for (unsigned i = 0; i < n; i++) {
        char id[RKV_FO_ID_SIZE];
        id_of(id, want[i]);
        ck_assert_msg(strcmp(c[i].id, id) == 0, "rank %u: %s", i, c[i].id);
    }
    /* final reports: 2 3 4 5 6 7 10 11 (fresh counts, as empty) */
    ck_assert_uint_eq(reports, 8);
    rkv_fo_free(fo);
}
END_TEST

START_TEST(forget_and_tombstones)
{
    rkv_fo *fo = node(2, false, NULL);
    rkv_fo_actions a;
    rkv_fo_actions_init(&a);
    rkv_fo_msg p = ping_from(3, 0, NULL, RKV_FO_ROLE_REPLICA, 0);
    id_of(p.ping.peers[0].id, 4);
    snprintf(p.ping.peers[0].addr.host, RKV_FO_HOST_SIZE, "h4");
    p.ping.npeers = 1;
    rkv_fo_receive(fo, 0, &p, &a);
    rkv_fo_info info;
    rkv_fo_get_info(fo, 0, &info);
    ck_assert_uint_eq(info.npeers, 2);
    char four[RKV_FO_ID_SIZE];
    id_of(four, 4);
    rkv_fo_actions_reset(&a);
    ck_assert_int_eq(rkv_fo_forget(fo, 10, four, &a), 0);
    ck_assert_int_eq(rkv_fo_forget(fo, 10, "nope", &a), REPLKV_EINVAL);
    const rkv_fo_action *s = find_act(&a, RKV_FO_ACT_SEND, NULL);
    ck_assert_ptr_nonnull(s);
    ck_assert_uint_eq(s->msg->type, RKV_FO_MSG_FORGET);
    rkv_fo_get_info(fo, 10, &info);
    ck_assert_uint_eq(info.npeers, 1);
    /* stale gossip does not bring it back, nor does it itself */
    rkv_fo_actions_reset(&a);
    rkv_fo_receive(fo, 20, &p, &a);
    rkv_fo_msg self4 = ping_from(4, 0, NULL, RKV_FO_ROLE_REPLICA, 0);
    rkv_fo_receive(fo, 20, &self4, &a);
    rkv_fo_get_info(fo, 20, &info);
    ck_assert_uint_eq(info.npeers, 1);
    /* the tombstone travels in pings */
    rkv_fo_actions_reset(&a);
    rkv_fo_tick(fo, 1000, &a);
    s = find_act(&a, RKV_FO_ACT_SEND, NULL);
    ck_assert_ptr_nonnull(s);
    ck_assert_uint_eq(s->msg->ping.nforgot, 1);
    ck_assert_str_eq(s->msg->ping.forgot[0].id, four);
    rkv_fo_actions_free(&a);
    rkv_fo_free(fo);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("failover");
    TCase *w = tcase_create("wire");
    tcase_add_test(w, wire_round_trip);
    tcase_add_test(w, wire_encode_refuses);
    tcase_add_test(w, wire_truncated);
    tcase_add_test(w, wire_hostile);
    tcase_add_test(w, wire_huge_nested_counts);
    tcase_add_test(w, wire_schema_limits);
    tcase_add_test(w, wire_mutations);
    suite_add_tcase(s, w);
    TCase *c = tcase_create("core");
    tcase_add_test(c, new_refuses_bad_config);
    tcase_add_test(c, one_vote_per_epoch_persisted_first);
    tcase_add_test(c, epochs_and_fencing);
    tcase_add_test(c, selection_order);
    tcase_add_test(c, forget_and_tombstones);
    suite_add_tcase(s, c);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
