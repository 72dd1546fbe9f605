/*
 * gen_seeds.c - writes the committed seed corpora, tests/fuzz/corpus/<target>/
 * (see README.md). Valid inputs are made with the library's own encoders
 * (rkv_msg_encode, rkv_fo_msg_encode, rkv_snap_*, rkv_aof_*,
 * rkv_state_encode), so they track
 * the formats; the nasty ones are built by hand: declared counts of 2^32-1,
 * huge lengths, truncations, a flipped byte. Deterministic: the same files
 * on every run. Not a fuzz target (no LLVMFuzzerTestOneInput); built with
 * the ordinary compiler:
 *
 *   cc -std=c11 -D_GNU_SOURCE -Iinclude -Ilib -Iexamples/cache \
 *      tests/fuzz/gen_seeds.c lib/[a-z]*.c $(pkg-config --cflags --libs libuv \
 *      msgpack libxxhash libcrypto) -lpthread -lm -o /tmp/gen_seeds
 *   /tmp/gen_seeds tests/fuzz/corpus
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "failover.h"
#include "persist_aof.h"
#include "persist_snapshot.h"
#include "persist_state.h"
#include "replkv.h"
#include "stream.h"

static const char *root;

#define RID "0123456789abcdef0123456789abcdef01234567"
#define RID2 "fedcba9876543210fedcba9876543210fedcba98"
#define NONCE "0123456789abcdef0123456789abcdef"

static void die(const char *what, int rc)
{
    fprintf(stderr, "gen_seeds: %s: %d %s\n", what, rc, replkv_last_error());
    exit(1);
}

static void put(const char *target, const char *name, const void *p, size_t n)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", root, target);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/%s/%s", root, target, name);
    FILE *f = fopen(path, "wb");
    if (f == NULL || (n > 0 && fwrite(p, 1, n, f) != n) || fclose(f) != 0)
        die(path, -errno);
}

static void puts_seed(const char *target, const char *name, const char *s)
{
    put(target, name, s, strlen(s));
}

static void *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        die(path, -errno);
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    void *p = malloc((size_t)sz + 1);
    if (p == NULL || fread(p, 1, (size_t)sz, f) != (size_t)sz)
        die(path, -EIO);
    fclose(f);
    *n = (size_t)sz;
    return p;
}

static rkv_bytes B(const char *s)
{
    rkv_bytes b = {s, strlen(s)};
    return b;
}

/* One of each message type, valid. */
static size_t sample_msgs(rkv_msg *m)
{
    size_t n = 0;
    memset(m, 0, 16 * sizeof *m);
    m[n].type = RKV_REC_SET;
    m[n].set.key = B("key");
    m[n].set.val = B("value");
    n++;
    m[n].type = RKV_REC_SET;
    m[n].set.key = B("k:expiring");
    m[n].set.val = B("");
    m[n].set.expire_at = 1700000000000;
    n++;
    m[n].type = RKV_REC_DEL;
    m[n].key.key = B("key");
    n++;
    m[n].type = RKV_REC_EXPIREAT;
    m[n].expireat.key = B("key");
    m[n].expireat.at = 1800000000000;
    n++;
    m[n].type = RKV_REC_PERSIST;
    m[n].key.key = B("key");
    n++;
    m[n++].type = RKV_REC_FLUSH;
    m[n].type = RKV_REC_PING;
    m[n++].ping.unix_ms = 1700000000123;
    m[n].type = RKV_MSG_HELLO;
    m[n].hello.version = RKV_PROTO_VERSION;
    m[n].hello.node_id = B(RID);
    m[n].hello.nonce = B(NONCE);
    m[n].hello.port = 16379;
    m[n++].hello.flags = RKV_HELLO_WITNESS;
    m[n].type = RKV_MSG_AUTH;
    m[n++].auth.proof = B(NONCE);
    m[n].type = RKV_MSG_PSYNC;
    m[n].sync.replid = B(RID);
    m[n++].sync.offset = 12345;
    m[n].type = RKV_MSG_FULLRESYNC;
    m[n].sync.replid = B(RID2);
    m[n++].sync.offset = 0;
    m[n].type = RKV_MSG_CONTINUE;
    m[n].sync.replid = B(RID);
    m[n++].sync.offset = INT64_MAX;
    m[n].type = RKV_MSG_SNAP_END;
    m[n].snap_end.key_count = 3;
    m[n++].snap_end.end_offset = 999;
    m[n].type = RKV_MSG_ACK;
    m[n++].ack.offset = 4096;
    m[n].type = RKV_MSG_ERROR;
    m[n].error.code = REPLKV_EAUTH;
    m[n++].error.message = B("bad proof");
    m[n].type = RKV_MSG_PING_LINK;
    m[n++].ping.unix_ms = 1;
    return n;
}

/* A frame around arbitrary payload bytes, with a correct checksum: lets the
 * nasty payloads reach the decoder. */
static void frame_raw(rkv_buf *b, const void *p, size_t n);

#include <xxhash.h>
static void frame_raw(rkv_buf *b, const void *p, size_t n)
{
    uint8_t h[RKV_FRAME_HDR];
    uint64_t x = XXH3_64bits(p, n);
    h[0] = (uint8_t)(n >> 24);
    h[1] = (uint8_t)(n >> 16);
    h[2] = (uint8_t)(n >> 8);
    h[3] = (uint8_t)n;
    for (int i = 0; i < 8; i++)
        h[4 + i] = (uint8_t)(x >> (56 - 8 * i));
    rkv_buf_append(b, h, sizeof h);
    rkv_buf_append(b, p, n);
}

static void gen_frame(void)
{
    rkv_msg m[16];
    size_t n = sample_msgs(m);
    rkv_buf all;
    rkv_buf_init(&all);
    for (size_t i = 0; i < n; i++) {
        rkv_buf b;
        rkv_buf_init(&b);
        int rc = rkv_msg_encode(&b, &m[i]);
        if (rc != 0)
            die(rkv_msg_name(m[i].type), rc);
        char name[64];
        snprintf(name, sizeof name, "frame-%s", rkv_msg_name(m[i].type));
        put("frame", name, b.data, b.len);
        /* The bare payload too: the target also decodes the raw input. */
        snprintf(name, sizeof name, "payload-%s", rkv_msg_name(m[i].type));
        put("frame", name, b.data + RKV_FRAME_HDR, b.len - RKV_FRAME_HDR);
        rkv_buf_append(&all, b.data, b.len);
        rkv_buf_free(&b);
    }
    put("frame", "stream-all", all.data, all.len);
    put("frame", "stream-truncated", all.data, all.len - 7);
    put("frame", "frame-truncated-header", all.data, 5);
    uint8_t *bad = malloc(all.len);
    memcpy(bad, all.data, all.len);
    bad[RKV_FRAME_HDR + 2] ^= 0x40; /* first payload: checksum mismatch */
    put("frame", "frame-bad-checksum", bad, all.len);
    free(bad);
    rkv_buf_free(&all);

    /* Declared lengths and counts the bytes cannot back. */
    static const uint8_t hdr_huge[] = {0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0,
                                       0,    0,    0,    0};
    put("frame", "nasty-frame-len-4G", hdr_huge, sizeof hdr_huge);
    static const uint8_t arr32[] = {0xdd, 0xff, 0xff, 0xff, 0xff, 0x01};
    static const uint8_t map32[] = {0xdf, 0xff, 0xff, 0xff, 0xff, 0x01, 0x01};
    static const uint8_t set_bin32[] = {0x94, 0x01, 0xc6, 0xff, 0xff,
                                        0xff, 0xff, 'k'};
    static const uint8_t set_str32[] = {0x94, 0x01, 0xdb, 0xff, 0xff,
                                        0xff, 0xff, 'k'};
    static const uint8_t inner_arr32[] = {0x93, 0x01, 0xdd, 0xff,
                                          0xff, 0xff, 0xff, 0x00};
    static const uint8_t ext32[] = {0x92, 0x01, 0xc9, 0xff, 0xff,
                                    0xff, 0xff, 0x01};
    static const uint8_t neg_time[] = {0x92, 0x06, 0xd3, 0x80, 0, 0, 0,
                                       0,    0,    0,    0};
    static const uint8_t trailing[] = {0x91, 0x05, 0x00};
    uint8_t deep[40];
    for (size_t i = 0; i < sizeof deep - 1; i++)
        deep[i] = 0x91; /* fixarray(1), nested 39 deep */
    deep[sizeof deep - 1] = 0x05;
    struct {
        const char *name;
        const uint8_t *p;
        size_t n;
    } nasty[] = {
        {"array32-count-4G", arr32, sizeof arr32},
        {"map32-count-4G", map32, sizeof map32},
        {"set-bin32-len-4G", set_bin32, sizeof set_bin32},
        {"set-str32-len-4G", set_str32, sizeof set_str32},
        {"inner-array32-4G", inner_arr32, sizeof inner_arr32},
        {"ext32-len-4G", ext32, sizeof ext32},
        {"ping-negative-time", neg_time, sizeof neg_time},
        {"trailing-byte", trailing, sizeof trailing},
        {"nested-39-deep", deep, sizeof deep},
    };
    for (size_t i = 0; i < sizeof nasty / sizeof nasty[0]; i++) {
        char name[64];
        snprintf(name, sizeof name, "nasty-payload-%s", nasty[i].name);
        put("frame", name, nasty[i].p, nasty[i].n);
        rkv_buf b;
        rkv_buf_init(&b);
        frame_raw(&b, nasty[i].p, nasty[i].n);
        snprintf(name, sizeof name, "nasty-frame-%s", nasty[i].name);
        put("frame", name, b.data, b.len);
        rkv_buf_free(&b);
    }
}

/* A scratch directory for the file formats. */
static char scratch[256];

static void scratch_clean(void)
{
    char p[512];
    const char *names[] = {RKV_SNAP_FILE, RKV_SNAP_TMP, RKV_AOF_FILE,
                           RKV_AOF_TMP, RKV_STATE_FILE};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", scratch, names[i]);
        unlink(p);
    }
}

static void *scratch_file(const char *name, size_t *n)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", scratch, name);
    return slurp(p, n);
}

static void put_damaged(const char *target, const char *base,
                        const uint8_t *p, size_t n)
{
    char name[128];
    snprintf(name, sizeof name, "%s-truncated-tail", base);
    put(target, name, p, n - 3);
    snprintf(name, sizeof name, "%s-header-only", base);
    put(target, name, p, n < 72 ? n : 72);
    uint8_t *d = malloc(n);
    memcpy(d, p, n);
    d[n / 2] ^= 0x01;
    snprintf(name, sizeof name, "%s-flipped-middle", base);
    put(target, name, d, n);
    free(d);
}

static void gen_snapshot(void)
{
    struct {
        const char *name;
        int keys;
        const char *replid2;
        int64_t second;
    } v[] = {{"snap-empty", 0, NULL, -1},
             {"snap-3-keys", 3, NULL, -1},
             {"snap-promoted", 5, RID2, 100}};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        scratch_clean();
        rkv_snap_hist h = {RID, 4242, v[i].replid2, v[i].second};
        rkv_snap_writer *w;
        int rc = rkv_snap_begin(NULL, scratch, &h, 1700000000000, &w);
        if (rc != 0)
            die("rkv_snap_begin", rc);
        for (int k = 0; k < v[i].keys; k++) {
            char key[16], val[32];
            snprintf(key, sizeof key, "key:%d", k);
            snprintf(val, sizeof val, "value-%d", k * 7);
            rc = rkv_snap_add(w, key, strlen(key), val, strlen(val),
                              k == 1 ? 1800000000000 : 0);
            if (rc != 0)
                die("rkv_snap_add", rc);
        }
        rc = rkv_snap_commit(w, NULL);
        if (rc != 0)
            die("rkv_snap_commit", rc);
        size_t n;
        uint8_t *p = scratch_file(RKV_SNAP_FILE, &n);
        put("snapshot", v[i].name, p, n);
        if (v[i].keys == 3) {
            put_damaged("snapshot", v[i].name, p, n);
            /* The first SET frame's length field claims 4 GiB. */
            p[RKV_SNAP_HDR] = p[RKV_SNAP_HDR + 1] = 0xff;
            p[RKV_SNAP_HDR + 2] = p[RKV_SNAP_HDR + 3] = 0xff;
            put("snapshot", "nasty-frame-len-4G", p, n);
        }
        free(p);
    }
}

static void gen_aof(void)
{
    rkv_msg m[16];
    size_t n = sample_msgs(m);
    for (int variant = 0; variant < 3; variant++) {
        scratch_clean();
        rkv_aof *a;
        int64_t start = variant == 2 ? 1000 : 0;
        int rc = rkv_aof_open(NULL, scratch, RKV_FSYNC_NO, RID, start, &a);
        if (rc != 0)
            die("rkv_aof_open", rc);
        if (variant > 0) {
            rkv_buf b;
            rkv_buf_init(&b);
            for (size_t i = 0; i < n; i++)
                if (rkv_msg_is_record(m[i].type) &&
                    (rc = rkv_msg_encode(&b, &m[i])) != 0)
                    die("rkv_msg_encode", rc);
            if ((rc = rkv_aof_append(a, b.data, b.len, NULL)) != 0)
                die("rkv_aof_append", rc);
            rkv_buf_free(&b);
        }
        if ((rc = rkv_aof_close(a)) != 0)
            die("rkv_aof_close", rc);
        size_t len;
        uint8_t *p = scratch_file(RKV_AOF_FILE, &len);
        static const char *names[] = {"aof-empty", "aof-records",
                                      "aof-start-1000"};
        put("aof", names[variant], p, len);
        if (variant == 1) {
            put_damaged("aof", names[variant], p, len);
            /* Garbage after the last frame, and a first frame claiming
             * a 4 GiB payload. */
            uint8_t *g = malloc(len + 20);
            memcpy(g, p, len);
            memset(g + len, 0xab, 20);
            put("aof", "nasty-garbage-tail", g, len + 20);
            memcpy(g, p, len);
            memset(g + RKV_AOF_HDR, 0xff, 4);
            put("aof", "nasty-frame-len-4G", g, len);
            free(g);
            /* A link message (never in a file) after the records. */
            rkv_buf lb;
            rkv_buf_init(&lb);
            rkv_buf_append(&lb, p, len);
            for (size_t i = 0; i < n; i++)
                if (m[i].type == RKV_MSG_PING_LINK &&
                    (rc = rkv_msg_encode(&lb, &m[i])) != 0)
                    die("rkv_msg_encode", rc);
            put("aof", "nasty-link-message", lb.data, lb.len);
            rkv_buf_free(&lb);
        }
        free(p);
    }
}

static void gen_state(void)
{
    rkv_state_peer peers[3] = {{RID, "127.0.0.1", 16380},
                               {RID2, "replica.example.net", 16381},
                               {"00000000000000000000000000000000000000ff",
                                "::1", 1}};
    struct {
        const char *name;
        uint64_t epoch, vote_epoch;
        const char *vote_for;
        size_t npeers;
    } v[] = {{"state-new", 0, 0, "", 0},
             {"state-voted", 7, 7, RID2, 2},
             {"state-3-peers", 12, 9, RID, 3}};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        rkv_node_state st;
        memset(&st, 0, sizeof st);
        strcpy(st.node_id, RID);
        st.epoch = v[i].epoch;
        st.vote_epoch = v[i].vote_epoch;
        strcpy(st.vote_for, v[i].vote_for);
        st.npeers = v[i].npeers;
        st.peers = peers;
        rkv_buf b;
        rkv_buf_init(&b);
        int rc = rkv_state_encode(&st, &b);
        if (rc != 0)
            die("rkv_state_encode", rc);
        put("state", v[i].name, b.data, b.len);
        if (v[i].npeers == 3) {
            put("state", "state-truncated", b.data, b.len - 5);
            put("state", "state-header-only", b.data, RKV_STATE_HDR);
            /* Past the header, the body's first byte claims a map or
             * array of 2^32-1 entries. */
            uint8_t *d = malloc(b.len + 4);
            memcpy(d, b.data, b.len);
            d[RKV_STATE_HDR] = 0xdd;
            memset(d + RKV_STATE_HDR + 1, 0xff, 4);
            put("state", "nasty-array32-count-4G", d, b.len);
            d[RKV_STATE_HDR] = 0xdf;
            put("state", "nasty-map32-count-4G", d, b.len);
            free(d);
        }
        rkv_buf_free(&b);
    }
    /* Version 2: with the failover state, one with something in every
     * field (a peer known only by id, a witness, a tombstone) and one
     * that is all defaults. */
    for (int full = 1; full >= 0; full--) {
        rkv_node_state st;
        memset(&st, 0, sizeof st);
        strcpy(st.node_id, RID);
        st.has_fo = true;
        rkv_fo_state *fo = &st.fo;
        if (full) {
            fo->current_epoch = 12;
            fo->voted_epoch = 11;
            strcpy(fo->voted_for, RID2);
            fo->config_epoch = 10;
            strcpy(fo->primary, RID2);
            strcpy(fo->primary_addr.host, "replica.example.net");
            fo->primary_addr.port = 16381;
            strcpy(fo->leader, RID2);
            fo->promo_offset = 4096;
            fo->hist_epoch = 10;
            fo->npeers = 3;
            for (unsigned i = 0; i < 3; i++) {
                strcpy(fo->peers[i].id, peers[i].id);
                strcpy(fo->peers[i].addr.host, peers[i].host);
                fo->peers[i].addr.port = peers[i].port;
            }
            fo->peers[1].addr.host[0] = '\0';
            fo->peers[2].flags = RKV_FO_F_WITNESS;
            fo->nforgot = 1;
            strcpy(fo->forgot[0].id,
                   "00000000000000000000000000000000000000ee");
            fo->forgot[0].epoch = 9;
        } else {
            fo->fresh = true;
        }
        rkv_buf b;
        rkv_buf_init(&b);
        int rc = rkv_state_encode(&st, &b);
        if (rc != 0)
            die("rkv_state_encode v2", rc);
        put("state", full ? "state-v2-fo" : "state-v2-fo-fresh", b.data, b.len);
        if (full)
            put("state", "state-v2-truncated", b.data, b.len - 9);
        rkv_buf_free(&b);
    }
}

static void gen_resp(void)
{
    /* The first byte is the target's option byte: 0x00 = default limits,
     * authenticated; the chunking seed varies with it. */
    puts_seed("resp", "multibulk-get", "\x00*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n");
    puts_seed("resp", "multibulk-pipeline",
              "\x11*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\n"
              "*1\r\n$4\r\nPING\r\n*2\r\n$4\r\nINCR\r\n$3\r\nctr\r\n");
    puts_seed("resp", "inline-quoted",
              "\x22SET \"a key\" 'it''s' \"\\x41\\n\\t\"\r\nPING\n\r\n");
    puts_seed("resp", "empty-requests", "\x33*0\r\n\r\n*-1\r\nPING\r\n");
    puts_seed("resp", "unauth-limits",
              "\x04*11\r\n$1\r\na\r\n$20000\r\nx\r\n");
    puts_seed("resp", "nasty-multibulk-count-4G", "\x00*4294967295\r\n$1\r\n");
    puts_seed("resp", "nasty-bulk-len-huge",
              "\x00*1\r\n$9223372036854775807\r\nx");
    puts_seed("resp", "nasty-negative-bulk", "\x00*1\r\n$-5\r\n");
    puts_seed("resp", "nasty-unbalanced-quote", "\x00SET \"abc\r\n");
    puts_seed("resp", "nasty-truncated", "\x55*3\r\n$3\r\nSET\r\n$1\r\nk\r");
    puts_seed("resp", "nasty-small-limit",
              "\x01*2\r\n$3\r\nGET\r\n$17\r\n01234567890123456\r\n");
}

static void gen_conf(void)
{
    puts_seed("conf", "basic",
              "# a comment\nport 7000\nbind 127.0.0.1 -::1\n"
              "protected-mode no\ntimeout 30\ntcp-keepalive 60\n"
              "maxclients 100\nloglevel verbose\n");
    puts_seed("conf", "quoted",
              "requirepass \"s3cr\\x65t with blanks\"\npidfile '/tmp/x.pid'\n"
              "   # indented comment\n\n\t\ntcp-backlog 128\n");
    puts_seed("conf", "memory-and-limits",
              "maxmemory 100mb\nmaxmemory-policy allkeys-lru\n"
              "client-output-buffer-limit normal 1gb 512mb 60\n"
              "client-query-buffer-limit 1gb\nproto-max-bulk-len 512mb\n"
              "hz 20\n");
    puts_seed("conf", "replica",
              "port 7001\nreplicaof 127.0.0.1 7000\nrepl-port 17001\n"
              "slaveof 127.0.0.1 7000\nmin-replicas-to-write 1\n"
              "masterauth secret\n");
    puts_seed("conf", "unsupported", "appendonly yes\nsentinel monitor m 1 2 3\n");
    puts_seed("conf", "nasty-unbalanced", "port \"7000\nbind 'a\n");
    puts_seed("conf", "nasty-big-numbers",
              "port 99999999999999999999\ntimeout -1\n"
              "client-output-buffer-limit normal 18446744073709551615 1 1\n"
              "maxmemory 99999999999gb\n");
    puts_seed("conf", "nasty-closing-quote", "bind \"a\"b\nport '1'2\n");
}

/* Failover messages, as bare payloads (what rkv_fo_msg_decode takes). */
static void gen_fomsg(void)
{
    static rkv_fo_msg m;
    static const char *const a = "1111111111111111111111111111111111111111";
    static const char *const b = "2222222222222222222222222222222222222222";
    rkv_buf buf;
    rkv_buf_init(&buf);
    for (unsigned type = RKV_FO_MSG_PING; type <= RKV_FO_MSG_FAILOVER;
         type++) {
        memset(&m, 0, sizeof m);
        m.type = type;
        strcpy(m.from, a);
        m.epoch = 3;
        switch (type) {
        case RKV_FO_MSG_PING:
            strcpy(m.ping.name, "mymaster");
            strcpy(m.ping.addr.host, "127.0.0.1");
            m.ping.addr.port = 7001;
            m.ping.flags = RKV_FO_F_BOOTED | RKV_FO_F_LINK_UP;
            m.ping.role = RKV_FO_ROLE_REPLICA;
            m.ping.offset = 4096;
            m.ping.hist_epoch = 2;
            m.ping.priority = 100;
            strcpy(m.ping.following, b);
            m.ping.conf.epoch = 2;
            strcpy(m.ping.conf.primary, b);
            strcpy(m.ping.conf.addr.host, "127.0.0.1");
            m.ping.conf.addr.port = 7002;
            strcpy(m.ping.conf.leader, a);
            m.ping.conf.promo_offset = 100;
            m.ping.npeers = 1;
            strcpy(m.ping.peers[0].id, b);
            strcpy(m.ping.peers[0].addr.host, "127.0.0.1");
            m.ping.peers[0].addr.port = 7002;
            m.ping.nforgot = 1;
            memset(m.ping.forgot[0].id, '3', 40);
            m.ping.forgot[0].epoch = 1;
            break;
        case RKV_FO_MSG_VOTE_REQ:
            m.vote_req.config_epoch = 2;
            break;
        case RKV_FO_MSG_VOTE:
            strcpy(m.vote.leader, a);
            break;
        case RKV_FO_MSG_PROMOTE:
        case RKV_FO_MSG_FOLLOW:
            m.conf.conf.epoch = 3;
            strcpy(m.conf.conf.primary, b);
            strcpy(m.conf.conf.addr.host, "127.0.0.1");
            m.conf.conf.addr.port = 7002;
            strcpy(m.conf.conf.leader, a);
            m.conf.conf.promo_offset = 4096;
            break;
        case RKV_FO_MSG_FORGET:
            strcpy(m.forget.who.id, b);
            m.forget.who.epoch = 3;
            break;
        case RKV_FO_MSG_FAILOVER:
            strcpy(m.failover.target, b);
            m.failover.timeout_ms = 5000;
            break;
        default:
            break;
        }
        rkv_buf_clear(&buf);
        int rc = rkv_fo_msg_encode(&buf, &m);
        if (rc != 0)
            die(rkv_fo_msg_name(type), rc);
        char name[64];
        snprintf(name, sizeof name, "payload-%s", rkv_fo_msg_name(type));
        put("fomsg", name, buf.data + RKV_FRAME_HDR, buf.len - RKV_FRAME_HDR);
        if (type == RKV_FO_MSG_PING) {
            /* The peer list declaring 2^32-1 entries. */
            uint8_t *p = buf.data + RKV_FRAME_HDR;
            size_t n = buf.len - RKV_FRAME_HDR;
            put("fomsg", "nasty-truncated-ping", p, n / 2);
            uint8_t huge[] = {0xdd, 0xff, 0xff, 0xff, 0xff, 0x50};
            put("fomsg", "nasty-array-4g", huge, sizeof huge);
        }
    }
    rkv_buf_free(&buf);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: gen_seeds <corpus dir>\n");
        return 2;
    }
    root = argv[1];
    mkdir(root, 0755);
    snprintf(scratch, sizeof scratch, "/tmp/replkv-seeds-XXXXXX");
    if (mkdtemp(scratch) == NULL)
        die("mkdtemp", -errno);
    gen_frame();
    gen_fomsg();
    gen_snapshot();
    gen_aof();
    gen_state();
    gen_resp();
    gen_conf();
    scratch_clean();
    rmdir(scratch);
    return 0;
}
