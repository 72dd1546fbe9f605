/*
 * check_stream.c - frames, records and link messages (lib/stream.c) and
 * the byte buffer under them (lib/buf.c): exact bytes on the wire, round
 * trips of every type, and hostile input of every kind the decoder must
 * refuse cleanly.
 */
#include <check.h>
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <xxhash.h>

#include "buf.h"
#include "stream.h"

static const char ID_A[] = "0123456789abcdef0123456789abcdef01234567";
static const char ID_B[] = "fedcba9876543210fedcba9876543210fedcba98";

/* ------------------------------------------------------------- helpers */

/* Decodes from an exactly sized heap copy, so that AddressSanitizer
 * catches any read past the payload. */
static int decode_copy(const void *p, size_t n, rkv_msg *m)
{
    uint8_t *c = malloc(n ? n : 1);
    ck_assert_ptr_nonnull(c);
    if (n > 0)
        memcpy(c, p, n);
    int rc = rkv_msg_decode(c, n, m);
    free(c);
    return rc;
}

static void expect_fail_at(const void *p, size_t n, int err, const char *detail,
                           int line)
{
    rkv_msg m;
    memset(&m, 0xAB, sizeof m);
    int rc = decode_copy(p, n, &m);
    ck_assert_msg(rc == err, "line %d: decode returned %s, want %s (%s)", line,
                  replkv_err_name(rc), replkv_err_name(err),
                  replkv_last_error());
    ck_assert_msg(strstr(replkv_last_error(), detail) != NULL,
                  "line %d: detail '%s' does not mention '%s'", line,
                  replkv_last_error(), detail);
    ck_assert_msg(m.type == 0, "line %d: message not zeroed on error", line);
}
#define expect_fail(p, n, err, detail)                                         \
    expect_fail_at(p, n, err, detail, __LINE__)
/* The same for a payload written out as a string literal in hex. */
#define expect_lit(lit, err, detail)                                           \
    expect_fail_at(lit, sizeof(lit) - 1, err, detail, __LINE__)

/* msgpack_packer into an rkv_buf, to build well-formed but wrong
 * payloads. */
static int tw(void *data, const char *p, size_t n)
{
    return rkv_buf_append(data, p, n);
}

static void pk_start(msgpack_packer *pk, rkv_buf *b)
{
    rkv_buf_clear(b);
    msgpack_packer_init(pk, b, tw);
}

/* Appends a frame around payload by hand, independently of the library. */
static void raw_frame(rkv_buf *b, const void *payload, size_t len)
{
    uint8_t h[12];
    uint64_t x = XXH3_64bits(payload, len);
    for (int i = 0; i < 4; i++)
        h[i] = (uint8_t)(len >> (24 - 8 * i));
    for (int i = 0; i < 8; i++)
        h[4 + i] = (uint8_t)(x >> (56 - 8 * i));
    ck_assert_int_eq(rkv_buf_append(b, h, 12), 0);
    ck_assert_int_eq(rkv_buf_append(b, payload, len), 0);
}

/* Parses the single frame in b and decodes it. */
static void parse_decode(const rkv_buf *b, rkv_msg *m)
{
    rkv_frame f;
    ck_assert_int_eq(rkv_frame_parse(b->data, b->len, 1 << 20, &f), 1);
    ck_assert_uint_eq(f.size, b->len);
    ck_assert_int_eq(rkv_msg_decode(f.payload, f.len, m), 0);
}

static int bytes_eq(rkv_bytes b, const void *p, size_t n)
{
    return b.len == n && (n == 0 || memcmp(b.p, p, n) == 0);
}

/* ------------------------------------------------------------ the buffer */

START_TEST(test_buf)
{
    rkv_buf b;
    rkv_buf_init(&b);
    ck_assert_ptr_null(b.data);
    ck_assert_int_eq(rkv_buf_append(&b, "hello", 5), 0);
    ck_assert_int_eq(rkv_buf_append(&b, NULL, 0), 0);
    ck_assert_uint_eq(b.len, 5);
    ck_assert_uint_ge(b.cap, 5);
    for (int i = 0; i < 10000; i++)
        ck_assert_int_eq(rkv_buf_append(&b, "0123456789", 10), 0);
    ck_assert_uint_eq(b.len, 100005);
    ck_assert_mem_eq(b.data, "hello0123", 9);
    rkv_buf_consume(&b, 5);
    ck_assert_uint_eq(b.len, 100000);
    ck_assert_mem_eq(b.data, "01234567890123", 14);
    rkv_buf_consume(&b, 3);
    ck_assert_mem_eq(b.data, "3456789012", 10);
    ck_assert_mem_eq(b.data + b.len - 3, "789", 3);
    size_t cap = b.cap;
    ck_assert_int_eq(rkv_buf_reserve(&b, SIZE_MAX), REPLKV_ENOMEM);
    ck_assert_uint_eq(b.cap, cap);
    ck_assert_uint_eq(b.len, 99997);
    rkv_buf_consume(&b, SIZE_MAX);
    ck_assert_uint_eq(b.len, 0);
    ck_assert_uint_eq(b.cap, cap);
    rkv_buf_clear(&b);
    rkv_buf_free(&b);
    ck_assert_ptr_null(b.data);
    ck_assert_uint_eq(b.cap, 0);
    rkv_buf_free(NULL);
}
END_TEST

/* ----------------------------------------------------- exact wire bytes */

START_TEST(test_golden_set)
{
    rkv_buf b;
    rkv_buf_init(&b);
    ck_assert_int_eq(rkv_frame_put_set(&b, "k", 1, "v", 1, 0), 0);
    static const uint8_t payload[] = {0x94, 0x01, 0xc4, 0x01, 'k',
                                      0xc4, 0x01, 'v',  0x00};
    ck_assert_uint_eq(b.len, 12 + sizeof payload);
    ck_assert_mem_eq(b.data, "\0\0\0\x09", 4);
    uint64_t x = XXH3_64bits(payload, sizeof payload);
    for (int i = 0; i < 8; i++)
        ck_assert_uint_eq(b.data[4 + i], (uint8_t)(x >> (56 - 8 * i)));
    ck_assert_mem_eq(b.data + 12, payload, sizeof payload);

    /* And with an expiry that needs the 8-byte form. */
    rkv_buf_clear(&b);
    ck_assert_int_eq(rkv_frame_put_set(&b, "k", 1, "", 0, 1700000000000LL), 0);
    static const uint8_t p2[] = {0x94, 0x01, 0xc4, 0x01, 'k',  0xc4,
                                 0x00, 0xcf, 0x00, 0x00, 0x01, 0x8b,
                                 0xcf, 0xe5, 0x68, 0x00};
    ck_assert_uint_eq(b.len, 12 + sizeof p2);
    ck_assert_mem_eq(b.data + 12, p2, sizeof p2);
    rkv_buf_free(&b);
}
END_TEST

START_TEST(test_golden_flush_and_hello)
{
    rkv_buf b;
    rkv_buf_init(&b);
    rkv_msg m = {.type = RKV_REC_FLUSH};
    ck_assert_int_eq(rkv_msg_encode(&b, &m), 0);
    ck_assert_uint_eq(b.len, 14);
    ck_assert_mem_eq(b.data, "\0\0\0\x02", 4);
    ck_assert_mem_eq(b.data + 12, "\x91\x05", 2);

    uint8_t nonce[32];
    for (int i = 0; i < 32; i++)
        nonce[i] = (uint8_t)i;
    rkv_buf_clear(&b);
    m = (rkv_msg){.type = RKV_MSG_HELLO};
    m.hello.version = RKV_PROTO_VERSION;
    m.hello.node_id = (rkv_bytes){ID_A, 40};
    m.hello.nonce = (rkv_bytes){nonce, 32};
    m.hello.port = 6380;
    m.hello.flags = 0;
    ck_assert_int_eq(rkv_msg_encode(&b, &m), 0);
    /* [64, 1, str8(40), bin8(32), uint16 6380, 0] */
    const uint8_t *p = b.data + 12;
    ck_assert_uint_eq(b.len, 12 + 1 + 1 + 1 + 2 + 40 + 2 + 32 + 3 + 1);
    ck_assert_mem_eq(p, "\x96\x40\x01\xd9\x28", 5);
    ck_assert_mem_eq(p + 5, ID_A, 40);
    ck_assert_mem_eq(p + 45, "\xc4\x20", 2);
    ck_assert_mem_eq(p + 47, nonce, 32);
    ck_assert_mem_eq(p + 79, "\xcd\x18\xec\x00", 4);
    rkv_buf_free(&b);
}
END_TEST

/* ------------------------------------------------------------ round trips */

START_TEST(test_roundtrip_every_type)
{
    rkv_buf b;
    rkv_buf_init(&b);
    uint8_t nonce[32], proof[32];
    memset(nonce, 0x5a, sizeof nonce);
    memset(proof, 0xc3, sizeof proof);
    rkv_msg in[16], out;
    int n = 0;
    in[n++] = (rkv_msg){.type = RKV_REC_SET,
                        .set = {{"key", 3}, {"value", 5}, 1700000000123LL}};
    in[n++] = (rkv_msg){.type = RKV_REC_DEL, .key = {{"gone", 4}}};
    in[n++] =
        (rkv_msg){.type = RKV_REC_EXPIREAT, .expireat = {{"k", 1}, INT64_MAX}};
    in[n++] = (rkv_msg){.type = RKV_REC_PERSIST, .key = {{"\0\xff", 2}}};
    in[n++] = (rkv_msg){.type = RKV_REC_FLUSH};
    in[n++] = (rkv_msg){.type = RKV_REC_PING, .ping = {1234567}};
    in[n++] = (rkv_msg){
        .type = RKV_MSG_HELLO,
        .hello = {
            RKV_PROTO_VERSION, {ID_A, 40}, {nonce, 32}, 65535, 0xffffffffu}};
    in[n++] = (rkv_msg){.type = RKV_MSG_AUTH, .auth = {{proof, 32}}};
    in[n++] = (rkv_msg){.type = RKV_MSG_PSYNC, .sync = {{ID_B, 40}, 0}};
    in[n++] =
        (rkv_msg){.type = RKV_MSG_FULLRESYNC, .sync = {{ID_A, 40}, 1LL << 40}};
    in[n++] = (rkv_msg){.type = RKV_MSG_CONTINUE, .sync = {{ID_B, 40}, 77}};
    in[n++] = (rkv_msg){.type = RKV_MSG_SNAP_END,
                        .snap_end = {UINT64_MAX, INT64_MAX}};
    in[n++] = (rkv_msg){.type = RKV_MSG_ACK, .ack = {INT64_MAX}};
    in[n++] =
        (rkv_msg){.type = RKV_MSG_ERROR, .error = {REPLKV_EAUTH, {"no", 2}}};
    in[n++] = (rkv_msg){.type = RKV_MSG_ERROR, .error = {INT32_MIN, {"", 0}}};
    in[n++] = (rkv_msg){.type = RKV_MSG_PING_LINK, .ping = {0}};

    for (int i = 0; i < n; i++) {
        rkv_buf_clear(&b);
        ck_assert_int_eq(rkv_msg_encode(&b, &in[i]), 0);
        parse_decode(&b, &out);
        ck_assert_uint_eq(out.type, in[i].type);
        const rkv_msg *x = &in[i];
        switch (x->type) {
        case RKV_REC_SET:
            ck_assert(bytes_eq(out.set.key, "key", 3));
            ck_assert(bytes_eq(out.set.val, "value", 5));
            ck_assert_int_eq(out.set.expire_at, x->set.expire_at);
            /* zero copy: the key points into the frame */
            ck_assert_ptr_eq(out.set.key.p, b.data + 12 + 4);
            break;
        case RKV_REC_DEL:
        case RKV_REC_PERSIST:
            ck_assert(bytes_eq(out.key.key, x->key.key.p, x->key.key.len));
            break;
        case RKV_REC_EXPIREAT:
            ck_assert(bytes_eq(out.expireat.key, "k", 1));
            ck_assert_int_eq(out.expireat.at, INT64_MAX);
            break;
        case RKV_REC_FLUSH:
            break;
        case RKV_REC_PING:
        case RKV_MSG_PING_LINK:
            ck_assert_int_eq(out.ping.unix_ms, x->ping.unix_ms);
            break;
        case RKV_MSG_HELLO:
            ck_assert_uint_eq(out.hello.version, RKV_PROTO_VERSION);
            ck_assert(bytes_eq(out.hello.node_id, ID_A, 40));
            ck_assert(bytes_eq(out.hello.nonce, nonce, 32));
            ck_assert_uint_eq(out.hello.port, 65535);
            ck_assert_uint_eq(out.hello.flags, 0xffffffffu);
            break;
        case RKV_MSG_AUTH:
            ck_assert(bytes_eq(out.auth.proof, proof, 32));
            break;
        case RKV_MSG_PSYNC:
        case RKV_MSG_FULLRESYNC:
        case RKV_MSG_CONTINUE:
            ck_assert(bytes_eq(out.sync.replid, x->sync.replid.p, 40));
            ck_assert_int_eq(out.sync.offset, x->sync.offset);
            break;
        case RKV_MSG_SNAP_END:
            ck_assert_uint_eq(out.snap_end.key_count, UINT64_MAX);
            ck_assert_int_eq(out.snap_end.end_offset, INT64_MAX);
            break;
        case RKV_MSG_ACK:
            ck_assert_int_eq(out.ack.offset, INT64_MAX);
            break;
        case RKV_MSG_ERROR:
            ck_assert_int_eq(out.error.code, x->error.code);
            ck_assert(bytes_eq(out.error.message, x->error.message.p,
                               x->error.message.len));
            break;
        default:
            ck_abort_msg("type %u not covered", x->type);
        }
    }
    rkv_buf_free(&b);
}
END_TEST

START_TEST(test_set_fast_path_matches_encode)
{
    rkv_buf a, b;
    rkv_buf_init(&a);
    rkv_buf_init(&b);
    size_t sizes[] = {0, 1, 31, 32, 255, 256, 65535, 65536, 200000};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        size_t n = sizes[i];
        uint8_t *v = malloc(n + 1);
        for (size_t j = 0; j <= n; j++)
            v[j] = (uint8_t)(j * 7);
        int64_t exp = (int64_t)i * 1000003;
        rkv_buf_clear(&a);
        rkv_buf_clear(&b);
        ck_assert_int_eq(rkv_frame_put_set(&a, v, n ? n : 1, v, n, exp), 0);
        rkv_msg m = {.type = RKV_REC_SET, .set = {{v, n ? n : 1}, {v, n}, exp}};
        ck_assert_int_eq(rkv_msg_encode(&b, &m), 0);
        ck_assert_uint_eq(a.len, b.len);
        ck_assert_mem_eq(a.data, b.data, a.len);
        rkv_msg out;
        parse_decode(&a, &out);
        ck_assert(bytes_eq(out.set.key, v, n ? n : 1));
        ck_assert(bytes_eq(out.set.val, v, n));
        ck_assert_int_eq(out.set.expire_at, exp);
        /* within the documented bound */
        ck_assert_uint_le(a.len - 12, rkv_frame_limit(n ? n : 1));
        free(v);
    }
    rkv_buf_free(&a);
    rkv_buf_free(&b);
}
END_TEST

START_TEST(test_many_frames_in_one_buffer)
{
    rkv_buf b;
    rkv_buf_init(&b);
    char key[32];
    for (int i = 0; i < 1000; i++) {
        int n = snprintf(key, sizeof key, "key:%d", i);
        if (i % 3 == 0) {
            rkv_msg m = {.type = RKV_REC_DEL, .key = {{key, (size_t)n}}};
            ck_assert_int_eq(rkv_msg_encode(&b, &m), 0);
        } else {
            ck_assert_int_eq(
                rkv_frame_put_set(&b, key, (size_t)n, key, (size_t)n, i), 0);
        }
    }
    size_t pos = 0;
    int i = 0;
    rkv_frame f;
    while (rkv_frame_parse(b.data + pos, b.len - pos, 100, &f) == 1) {
        rkv_msg m;
        ck_assert_int_eq(rkv_msg_decode(f.payload, f.len, &m), 0);
        int n = snprintf(key, sizeof key, "key:%d", i);
        if (i % 3 == 0) {
            ck_assert_uint_eq(m.type, RKV_REC_DEL);
            ck_assert(bytes_eq(m.key.key, key, (size_t)n));
        } else {
            ck_assert_uint_eq(m.type, RKV_REC_SET);
            ck_assert(bytes_eq(m.set.val, key, (size_t)n));
            ck_assert_int_eq(m.set.expire_at, i);
        }
        pos += f.size;
        i++;
    }
    ck_assert_int_eq(i, 1000);
    ck_assert_uint_eq(pos, b.len);
    /* Nothing left: need a header. */
    ck_assert_int_eq(rkv_frame_parse(b.data + pos, 0, 100, &f), 0);
    ck_assert_uint_eq(f.size, 12);
    ck_assert_int_eq(rkv_frame_parse(NULL, 0, 100, &f), 0);

    /* Consuming from the front leaves the rest parseable. */
    ck_assert_int_eq(rkv_frame_parse(b.data, b.len, 100, &f), 1);
    rkv_buf_consume(&b, f.size);
    ck_assert_int_eq(rkv_frame_parse(b.data, b.len, 100, &f), 1);
    rkv_msg m;
    ck_assert_int_eq(rkv_msg_decode(f.payload, f.len, &m), 0);
    ck_assert(bytes_eq(m.set.key, "key:1", 5));
    rkv_buf_free(&b);
}
END_TEST

/* ------------------------------------------------------------ framing */

START_TEST(test_truncated_at_every_position)
{
    rkv_buf b;
    rkv_buf_init(&b);
    char val[300];
    memset(val, 'v', sizeof val);
    ck_assert_int_eq(rkv_frame_put_set(&b, "key", 3, val, sizeof val, 5), 0);
    for (size_t k = 0; k <= b.len; k++) {
        uint8_t *c = malloc(k ? k : 1);
        memcpy(c, b.data, k);
        rkv_frame f;
        int rc = rkv_frame_parse(c, k, 1 << 20, &f);
        if (k < b.len) {
            ck_assert_msg(rc == 0, "prefix %zu: rc %d", k, rc);
            ck_assert_uint_eq(f.size, k < 12 ? 12 : b.len);
            ck_assert_ptr_null(f.payload);
        } else {
            ck_assert_int_eq(rc, 1);
            ck_assert_uint_eq(f.size, b.len);
        }
        free(c);
    }
    rkv_buf_free(&b);
}
END_TEST

START_TEST(test_truncated_payload_with_good_checksum)
{
    /* A sender that frames a cut payload correctly: the checksum matches,
     * the decoder must still refuse every prefix. */
    rkv_buf b, f;
    rkv_buf_init(&b);
    rkv_buf_init(&f);
    uint8_t nonce[32] = {1};
    rkv_msg m = {.type = RKV_MSG_HELLO,
                 .hello = {1, {ID_B, 40}, {nonce, 32}, 1, 2}};
    ck_assert_int_eq(rkv_msg_encode(&b, &m), 0);
    size_t hello_len = b.len;
    ck_assert_int_eq(rkv_frame_put_set(&b, "kk", 2, "vvvv", 4, 99), 0);
    const uint8_t *payloads[2] = {b.data + 12, b.data + hello_len + 12};
    size_t lens[2] = {hello_len - 12, b.len - hello_len - 12};
    for (int j = 0; j < 2; j++) {
        for (size_t k = 0; k < lens[j]; k++) {
            rkv_buf_clear(&f);
            raw_frame(&f, payloads[j], k);
            rkv_frame fr;
            ck_assert_int_eq(rkv_frame_parse(f.data, f.len, 4096, &fr), 1);
            rkv_msg out;
            int rc = decode_copy(fr.payload, fr.len, &out);
            ck_assert_msg(rc == REPLKV_EPROTO, "prefix %zu of %zu: %d", k,
                          lens[j], rc);
        }
    }
    rkv_buf_free(&b);
    rkv_buf_free(&f);
}
END_TEST

START_TEST(test_bad_checksum)
{
    rkv_buf b;
    rkv_buf_init(&b);
    ck_assert_int_eq(rkv_frame_put_set(&b, "key", 3, "value", 5, 0), 0);
    rkv_frame f;
    /* every bit of the checksum, and every bit of the payload */
    for (size_t byte = 4; byte < b.len; byte++) {
        for (int bit = 0; bit < 8; bit++) {
            b.data[byte] ^= (uint8_t)(1u << bit);
            ck_assert_int_eq(rkv_frame_parse(b.data, b.len, 1 << 20, &f),
                             REPLKV_ECORRUPT);
            b.data[byte] ^= (uint8_t)(1u << bit);
        }
    }
    ck_assert(strstr(replkv_last_error(), "checksum") != NULL);
    ck_assert_int_eq(rkv_frame_parse(b.data, b.len, 1 << 20, &f), 1);
    rkv_buf_free(&b);
}
END_TEST

START_TEST(test_length_limits)
{
    uint8_t h[12] = {0xff, 0xff, 0xff, 0xff};
    rkv_frame f;
    /* 0xFFFFFFFF refused from the header alone, before any payload. */
    ck_assert_int_eq(rkv_frame_parse(h, 12, 1 << 20, &f), REPLKV_ETOOBIG);
    ck_assert(strstr(replkv_last_error(), "4294967295") != NULL);
    ck_assert_int_eq(rkv_frame_parse(h, 12, RKV_LINK_MAX_PAYLOAD, &f),
                     REPLKV_ETOOBIG);
    /* exactly at the limit: accepted (need more, then a frame) */
    rkv_buf b;
    rkv_buf_init(&b);
    uint8_t v[100] = {0};
    ck_assert_int_eq(rkv_frame_put_set(&b, "k", 1, v, 100, 0), 0);
    size_t plen = b.len - 12;
    ck_assert_int_eq(rkv_frame_parse(b.data, b.len, plen, &f), 1);
    ck_assert_int_eq(rkv_frame_parse(b.data, 12, plen, &f), 0);
    ck_assert_uint_eq(f.size, b.len);
    ck_assert_int_eq(rkv_frame_parse(b.data, 12, plen - 1, &f), REPLKV_ETOOBIG);
    ck_assert_int_eq(rkv_frame_parse(b.data, b.len, plen - 1, &f),
                     REPLKV_ETOOBIG);
    /* an empty payload frames fine but is no message */
    rkv_buf_clear(&b);
    raw_frame(&b, "", 0);
    ck_assert_int_eq(rkv_frame_parse(b.data, b.len, 0, &f), 1);
    ck_assert_uint_eq(f.len, 0);
    expect_fail(f.payload, 0, REPLKV_EPROTO, "empty");

    ck_assert_uint_eq(rkv_frame_limit(512u << 20), (1024u << 20) + 21);
    ck_assert_uint_eq(rkv_frame_limit(SIZE_MAX), UINT32_MAX);
    ck_assert_uint_eq(rkv_frame_limit(0), 21);
    rkv_buf_free(&b);
}
END_TEST

/* ---------------------------------------------------------- hostile input */

static const struct {
    const char *what;
    const uint8_t *p;
    size_t n;
    const char *detail;
} huge[] = {
    {"array32 2^32-1", (const uint8_t *)"\xdd\xff\xff\xff\xff", 5,
     "declares 4294967295 elements"},
    {"map32 2^32-1", (const uint8_t *)"\xdf\xff\xff\xff\xff", 5,
     "declares 4294967295 elements"},
    {"array32 2^24", (const uint8_t *)"\xdd\x01\x00\x00\x00", 5,
     "declares 16777216"},
    {"nested array32", (const uint8_t *)"\x92\x01\xdd\xff\xff\xff\xff", 7,
     "declares 4294967295"},
    {"array16 65535", (const uint8_t *)"\xdc\xff\xff\xc0\xc0", 5,
     "declares 65535"},
    {"map16 in array", (const uint8_t *)"\x92\x01\xde\x80\x00\x01\x02", 7,
     "declares 32768"},
    {"fixarray 15 in 3 bytes", (const uint8_t *)"\x9f\x01\x02", 3,
     "declares 15"},
};

/* Runs the decoder on the payloads that declare huge counts in a child
 * whose address space is capped a little above what it uses, so that any
 * allocation sized from a declared count fails the test instead of passing
 * unnoticed. (Not under AddressSanitizer, which reserves terabytes of
 * shadow memory; there a huge malloc aborts the run by itself.) */
START_TEST(test_huge_declared_counts)
{
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
        for (size_t i = 0; i < sizeof huge / sizeof *huge; i++) {
            rkv_msg m;
            int rc = decode_copy(huge[i].p, huge[i].n, &m);
            if (rc != REPLKV_EPROTO ||
                strstr(replkv_last_error(), huge[i].detail) == NULL) {
                fprintf(stderr, "%s: %s: %s\n", huge[i].what,
                        replkv_err_name(rc), replkv_last_error());
                _exit(1);
            }
        }
        _exit(0);
    }
    int status = 0;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                  "child status %d", status);
    /* and the same in this process, for the error texts */
    for (size_t i = 0; i < sizeof huge / sizeof *huge; i++)
        expect_fail(huge[i].p, huge[i].n, REPLKV_EPROTO, huge[i].detail);
}
END_TEST

START_TEST(test_too_many_elements)
{
    /* 5000 elements that are all present: bounded by the element cap. */
    rkv_buf b;
    rkv_buf_init(&b);
    msgpack_packer pk;
    pk_start(&pk, &b);
    msgpack_pack_array(&pk, 5000);
    for (int i = 0; i < 5000; i++)
        msgpack_pack_nil(&pk);
    expect_fail(b.data, b.len, REPLKV_EPROTO, "more than 4096 elements");
    /* spread over several containers: the total counts */
    pk_start(&pk, &b);
    msgpack_pack_array(&pk, 3);
    for (int j = 0; j < 3; j++) {
        msgpack_pack_array(&pk, 1500);
        for (int i = 0; i < 1500; i++)
            msgpack_pack_nil(&pk);
    }
    expect_fail(b.data, b.len, REPLKV_EPROTO, "more than 4096 elements");
    rkv_buf_free(&b);
}
END_TEST

START_TEST(test_lengths_past_the_payload)
{
    /* SET whose key claims 2^32-1 bytes */
    static const uint8_t bin32[] = {0x94, 0x01, 0xc6, 0xff, 0xff, 0xff,
                                    0xff, 'k',  0xc4, 0x00, 0x00};
    expect_fail(bin32, sizeof bin32, REPLKV_EPROTO,
                "declares 4294967295 bytes");
    static const uint8_t bin8[] = {0x94, 0x01, 0xc4, 0x05, 'k'};
    expect_fail(bin8, sizeof bin8, REPLKV_EPROTO, "declares 5 bytes");
    static const uint8_t str16[] = {0x93, 0x42, 0xda, 0x01, 0x00, 'x'};
    expect_fail(str16, sizeof str16, REPLKV_EPROTO, "declares 256 bytes");
    static const uint8_t ext32[] = {0x92, 0x05, 0xc9, 0x7f,
                                    0xff, 0xff, 0xff, 0x01};
    expect_fail(ext32, sizeof ext32, REPLKV_EPROTO, "declares");
    static const uint8_t u64[] = {0x92, 0x06, 0xcf, 0x00, 0x01};
    expect_fail(u64, sizeof u64, REPLKV_EPROTO, "declares 8 bytes");
    static const uint8_t hdr[] = {0x92, 0x01, 0xc5, 0x00};
    expect_fail(hdr, sizeof hdr, REPLKV_EPROTO, "truncated header");
    static const uint8_t missing[] = {0x94, 0x01, 0xc4, 0x01, 'k'};
    expect_fail(missing, sizeof missing, REPLKV_EPROTO, "truncated at byte 5");
    static const uint8_t c1[] = {0x91, 0xc1};
    expect_fail(c1, sizeof c1, REPLKV_EPROTO, "invalid msgpack byte 0xc1");
}
END_TEST

START_TEST(test_deep_nesting)
{
    size_t n = 100000;
    uint8_t *p = malloc(n + 1);
    memset(p, 0x91, n);
    p[n] = 0xc0;
    expect_fail(p, n + 1, REPLKV_EPROTO, "nested deeper than 8");
    /* 9 levels: refused; 8 levels: structurally fine, wrong as a message */
    expect_fail(p + n - 9, 10, REPLKV_EPROTO, "nested deeper than 8");
    expect_fail(p + n - 8, 9, REPLKV_EPROTO,
                "type code must be uint, got array");
    /* deep maps too */
    uint8_t q[40];
    for (int i = 0; i < 20; i++) {
        q[2 * i] = 0x81;
        q[2 * i + 1] = 0x01;
    }
    q[39] = 0xc0;
    expect_fail(q, sizeof q, REPLKV_EPROTO, "nested deeper than 8");
    free(p);
}
END_TEST

START_TEST(test_not_an_array)
{
    expect_lit("\x05", REPLKV_EPROTO, "must be an array, got uint");
    expect_lit("\xa3SET", REPLKV_EPROTO, "must be an array, got str");
    expect_lit("\x81\x01\x02", REPLKV_EPROTO, "must be an array, got map");
    expect_lit("\xc0", REPLKV_EPROTO, "must be an array, got nil");
    expect_lit("\xc4\x01\x01", REPLKV_EPROTO, "must be an array, got bin");
    expect_lit("\x90", REPLKV_EPROTO, "empty array");
    expect_lit("", REPLKV_EPROTO, "empty");
}
END_TEST

START_TEST(test_type_codes)
{
    expect_lit("\x91\x00", REPLKV_EPROTO, "unknown message type 0");
    expect_lit("\x91\x07", REPLKV_EPROTO, "unknown message type 7");
    expect_lit("\x91\x3f", REPLKV_EPROTO, "unknown message type 63");
    expect_lit("\x91\x49", REPLKV_EPROTO, "unknown message type 73");
    expect_lit("\x91\x50", REPLKV_EPROTO, "unknown message type 80");
    expect_lit("\x91\xcc\xc8", REPLKV_EPROTO, "unknown message type 200");
    expect_lit("\x91\xcf\xff\xff\xff\xff\xff\xff\xff\xff", REPLKV_EPROTO,
               "unknown message type 18446744073709551615");
    expect_lit("\x91\xff", REPLKV_EPROTO,
               "type code must be uint, got "
               "negative int");
    expect_lit("\x91\xa1\x01", REPLKV_EPROTO,
               "type code must be uint, got str");
    expect_lit("\x91\xcb\x3f\xf0\x00\x00\x00\x00\x00\x00", REPLKV_EPROTO,
               "type code must be uint, got float64");

    ck_assert_str_eq(rkv_msg_name(RKV_REC_SET), "SET");
    ck_assert_str_eq(rkv_msg_name(RKV_REC_PING), "PING");
    ck_assert_str_eq(rkv_msg_name(RKV_MSG_HELLO), "HELLO");
    ck_assert_str_eq(rkv_msg_name(RKV_MSG_FULLRESYNC), "FULLRESYNC");
    ck_assert_str_eq(rkv_msg_name(RKV_MSG_PING_LINK), "PING_LINK");
    ck_assert_str_eq(rkv_msg_name(0), "UNKNOWN");
    ck_assert_str_eq(rkv_msg_name(7), "UNKNOWN");
    ck_assert_str_eq(rkv_msg_name(80), "UNKNOWN");
    ck_assert(rkv_msg_is_record(RKV_REC_FLUSH));
    ck_assert(!rkv_msg_is_record(RKV_MSG_ACK));
}
END_TEST

START_TEST(test_arity)
{
    expect_lit("\x93\x01\xc4\x01k\xc4\x00", REPLKV_EPROTO,
               "SET: 3 elements, must be 4");
    expect_lit("\x95\x01\xc4\x01k\xc4\x00\x00\x00", REPLKV_EPROTO,
               "SET: 5 elements, must be 4");
    expect_lit("\x92\x05\x00", REPLKV_EPROTO, "FLUSH: 2 elements, must be 1");
    expect_lit("\x91\x02", REPLKV_EPROTO, "DEL: 1 elements, must be 2");
    expect_lit("\x91\x46", REPLKV_EPROTO, "ACK: 1 elements, must be 2");
    expect_lit("\x92\x40\x01", REPLKV_EPROTO, "HELLO: 2 elements, must be 6");
}
END_TEST

START_TEST(test_wrong_field_types)
{
    rkv_buf b;
    rkv_buf_init(&b);
    msgpack_packer pk;
    uint8_t nonce[33] = {0};

#define SET_WITH(KEY, VAL, EXP)                                                \
    do {                                                                       \
        pk_start(&pk, &b);                                                     \
        msgpack_pack_array(&pk, 4);                                            \
        msgpack_pack_uint8(&pk, 1);                                            \
        KEY;                                                                   \
        VAL;                                                                   \
        EXP;                                                                   \
    } while (0)
    SET_WITH(msgpack_pack_str_with_body(&pk, "k", 1),
             msgpack_pack_bin_with_body(&pk, "v", 1),
             msgpack_pack_int64(&pk, 0));
    expect_fail(b.data, b.len, REPLKV_EPROTO, "SET: key must be bin, got str");
    SET_WITH(msgpack_pack_bin_with_body(&pk, "", 0),
             msgpack_pack_bin_with_body(&pk, "v", 1),
             msgpack_pack_int64(&pk, 0));
    expect_fail(b.data, b.len, REPLKV_EPROTO, "SET: empty key");
    SET_WITH(msgpack_pack_bin_with_body(&pk, "k", 1), msgpack_pack_int(&pk, 5),
             msgpack_pack_int64(&pk, 0));
    expect_fail(b.data, b.len, REPLKV_EPROTO,
                "SET: value must be bin, got uint");
    SET_WITH(msgpack_pack_bin_with_body(&pk, "k", 1),
             msgpack_pack_bin_with_body(&pk, "v", 1),
             msgpack_pack_bin_with_body(&pk, "1", 1));
    expect_fail(b.data, b.len, REPLKV_EPROTO,
                "SET: expire_at must be an integer, got bin");
    SET_WITH(msgpack_pack_bin_with_body(&pk, "k", 1),
             msgpack_pack_bin_with_body(&pk, "v", 1),
             msgpack_pack_int64(&pk, -1));
    expect_fail(b.data, b.len, REPLKV_EPROTO, "SET: expire_at -1 is under 0");
    SET_WITH(msgpack_pack_bin_with_body(&pk, "k", 1),
             msgpack_pack_bin_with_body(&pk, "v", 1),
             msgpack_pack_uint64(&pk, (uint64_t)INT64_MAX + 1));
    expect_fail(b.data, b.len, REPLKV_EPROTO,
                "SET: expire_at 9223372036854775808 is over");
    SET_WITH(msgpack_pack_bin_with_body(&pk, "k", 1),
             msgpack_pack_bin_with_body(&pk, "v", 1),
             msgpack_pack_double(&pk, 1.0));
    expect_fail(b.data, b.len, REPLKV_EPROTO, "got float64");
    SET_WITH(msgpack_pack_bin_with_body(&pk, "k", 1), msgpack_pack_nil(&pk),
             msgpack_pack_int64(&pk, 0));
    expect_fail(b.data, b.len, REPLKV_EPROTO, "value must be bin, got nil");

#define HELLO_WITH(VER, ID, NONCE, PORT, FLAGS)                                \
    do {                                                                       \
        pk_start(&pk, &b);                                                     \
        msgpack_pack_array(&pk, 6);                                            \
        msgpack_pack_uint8(&pk, 64);                                           \
        VER;                                                                   \
        ID;                                                                    \
        NONCE;                                                                 \
        PORT;                                                                  \
        FLAGS;                                                                 \
    } while (0)
#define V1 msgpack_pack_uint8(&pk, 1)
#define IDOK msgpack_pack_str_with_body(&pk, ID_A, 40)
#define NOK msgpack_pack_bin_with_body(&pk, nonce, 32)
#define P0 msgpack_pack_uint16(&pk, 0)
#define F0 msgpack_pack_uint8(&pk, 0)
    HELLO_WITH(V1, IDOK, NOK, P0, F0);
    rkv_msg m;
    ck_assert_int_eq(decode_copy(b.data, b.len, &m), 0);
    HELLO_WITH(V1, IDOK, msgpack_pack_bin_with_body(&pk, nonce, 31), P0, F0);
    expect_fail(b.data, b.len, REPLKV_EPROTO,
                "HELLO: nonce is 31 bytes, must be 32");
    HELLO_WITH(V1, IDOK, msgpack_pack_bin_with_body(&pk, nonce, 33), P0, F0);
    expect_fail(b.data, b.len, REPLKV_EPROTO, "HELLO: nonce is 33 bytes");
    HELLO_WITH(V1, IDOK, msgpack_pack_str_with_body(&pk, nonce, 32), P0, F0);
    expect_fail(b.data, b.len, REPLKV_EPROTO,
                "HELLO: nonce must be bin, got str");
    HELLO_WITH(V1, msgpack_pack_str_with_body(&pk, ID_A, 39), NOK, P0, F0);
    expect_fail(b.data, b.len, REPLKV_EPROTO,
                "HELLO: node_id must be 40 lowercase hex characters (got 39");
    char id41[41];
    memcpy(id41, ID_A, 40);
    id41[40] = '8';
    HELLO_WITH(V1, msgpack_pack_str_with_body(&pk, id41, 41), NOK, P0, F0);
    expect_fail(b.data, b.len, REPLKV_EPROTO, "(got 41 bytes)");
    HELLO_WITH(V1,
               msgpack_pack_str_with_body(
                   &pk, "0123456789ABCDEF0123456789abcdef01234567", 40),
               NOK, P0, F0);
    expect_fail(b.data, b.len, REPLKV_EPROTO,
                "node_id must be 40 lowercase hex");
    HELLO_WITH(V1, msgpack_pack_bin_with_body(&pk, ID_A, 40), NOK, P0, F0);
    expect_fail(b.data, b.len, REPLKV_EPROTO, "node_id must be str, got bin");
    HELLO_WITH(V1, IDOK, NOK, msgpack_pack_uint32(&pk, 65536), F0);
    expect_fail(b.data, b.len, REPLKV_EPROTO,
                "listen_port 65536 is over 65535");
    HELLO_WITH(V1, IDOK, NOK, P0, msgpack_pack_uint64(&pk, 1ull << 32));
    expect_fail(b.data, b.len, REPLKV_EPROTO, "flags 4294967296 is over");
    HELLO_WITH(V1, IDOK, NOK, P0, msgpack_pack_int(&pk, -1));
    expect_fail(b.data, b.len, REPLKV_EPROTO, "flags -1 is under 0");
    HELLO_WITH(msgpack_pack_str_with_body(&pk, "1", 1), IDOK, NOK, P0, F0);
    expect_fail(b.data, b.len, REPLKV_EPROTO, "version must be an integer");

    /* link messages with offsets and ids */
    pk_start(&pk, &b);
    msgpack_pack_array(&pk, 3);
    msgpack_pack_uint8(&pk, RKV_MSG_PSYNC);
    msgpack_pack_str_with_body(&pk, ID_B, 40);
    msgpack_pack_int(&pk, -1);
    expect_fail(b.data, b.len, REPLKV_EPROTO, "PSYNC: offset -1 is under 0");
    pk_start(&pk, &b);
    msgpack_pack_array(&pk, 3);
    msgpack_pack_uint8(&pk, RKV_MSG_CONTINUE);
    msgpack_pack_str_with_body(&pk, "?", 1);
    msgpack_pack_int(&pk, 0);
    expect_fail(b.data, b.len, REPLKV_EPROTO, "CONTINUE: replid must be 40");
    pk_start(&pk, &b);
    msgpack_pack_array(&pk, 2);
    msgpack_pack_uint8(&pk, RKV_MSG_AUTH);
    msgpack_pack_bin_with_body(&pk, nonce, 16);
    expect_fail(b.data, b.len, REPLKV_EPROTO,
                "AUTH: proof is 16 bytes, must be 32");
    pk_start(&pk, &b);
    msgpack_pack_array(&pk, 3);
    msgpack_pack_uint8(&pk, RKV_MSG_ERROR);
    msgpack_pack_int64(&pk, (int64_t)INT32_MAX + 1);
    msgpack_pack_str_with_body(&pk, "x", 1);
    expect_fail(b.data, b.len, REPLKV_EPROTO, "ERROR: code 2147483648 is over");
    pk_start(&pk, &b);
    msgpack_pack_array(&pk, 3);
    msgpack_pack_uint8(&pk, RKV_MSG_ERROR);
    msgpack_pack_int(&pk, -17);
    msgpack_pack_bin_with_body(&pk, "x", 1);
    expect_fail(b.data, b.len, REPLKV_EPROTO,
                "ERROR: message must be str, got bin");
    pk_start(&pk, &b);
    msgpack_pack_array(&pk, 3);
    msgpack_pack_uint8(&pk, RKV_MSG_SNAP_END);
    msgpack_pack_true(&pk);
    msgpack_pack_uint8(&pk, 0);
    expect_fail(b.data, b.len, REPLKV_EPROTO,
                "SNAP_END: key_count must be an integer, got bool");
    pk_start(&pk, &b);
    msgpack_pack_array(&pk, 2);
    msgpack_pack_uint8(&pk, RKV_REC_DEL);
    msgpack_pack_array(&pk, 1);
    msgpack_pack_bin_with_body(&pk, "k", 1);
    expect_fail(b.data, b.len, REPLKV_EPROTO,
                "DEL: key must be bin, got array");
    rkv_buf_free(&b);
}
END_TEST

START_TEST(test_trailing_bytes)
{
    rkv_buf b;
    rkv_buf_init(&b);
    ck_assert_int_eq(rkv_frame_put_set(&b, "k", 1, "v", 1, 0), 0);
    ck_assert_int_eq(rkv_buf_append(&b, "\x00", 1), 0);
    expect_fail(b.data + 12, b.len - 12, REPLKV_EPROTO, "1 trailing bytes");
    /* two whole messages in one payload */
    rkv_buf_clear(&b);
    ck_assert_int_eq(rkv_buf_append(&b, "\x91\x05\x91\x05", 4), 0);
    expect_fail(b.data, b.len, REPLKV_EPROTO, "2 trailing bytes");
    rkv_buf_free(&b);
}
END_TEST

START_TEST(test_hello_version)
{
    rkv_buf b;
    rkv_buf_init(&b);
    msgpack_packer pk;
    /* A later version's HELLO, with a different shape: recognised as a
     * version mismatch, not a protocol error. */
    pk_start(&pk, &b);
    msgpack_pack_array(&pk, 3);
    msgpack_pack_uint8(&pk, 64);
    msgpack_pack_uint8(&pk, 2);
    msgpack_pack_map(&pk, 0);
    expect_fail(b.data, b.len, REPLKV_EVERSION, "protocol version 2");
    pk_start(&pk, &b);
    msgpack_pack_array(&pk, 2);
    msgpack_pack_uint8(&pk, 64);
    msgpack_pack_uint8(&pk, 0);
    expect_fail(b.data, b.len, REPLKV_EVERSION, "protocol version 0");

    uint8_t nonce[32] = {0};
    rkv_msg m = {.type = RKV_MSG_HELLO,
                 .hello = {2, {ID_A, 40}, {nonce, 32}, 0, 0}};
    ck_assert_int_eq(rkv_msg_encode(&b, &m), REPLKV_EINVAL);
    rkv_buf_free(&b);
}
END_TEST

START_TEST(test_encode_refuses)
{
    rkv_buf b;
    rkv_buf_init(&b);
    ck_assert_int_eq(rkv_buf_append(&b, "xyz", 3), 0);
    uint8_t nonce[32] = {0};
    rkv_msg bad[] = {
        {.type = 0},
        {.type = 7},
        {.type = 80},
        {.type = RKV_REC_SET, .set = {{"", 0}, {"v", 1}, 0}},
        {.type = RKV_REC_SET, .set = {{"k", 1}, {"v", 1}, -5}},
        {.type = RKV_REC_SET, .set = {{"k", 1}, {NULL, 1}, 0}},
        {.type = RKV_REC_DEL, .key = {{NULL, 0}}},
        {.type = RKV_REC_EXPIREAT, .expireat = {{"k", 1}, -1}},
        {.type = RKV_MSG_HELLO, .hello = {1, {ID_A, 39}, {nonce, 32}, 0, 0}},
        {.type = RKV_MSG_HELLO, .hello = {1, {ID_A, 40}, {nonce, 31}, 0, 0}},
        {.type = RKV_MSG_AUTH, .auth = {{nonce, 0}}},
        {.type = RKV_MSG_PSYNC,
         .sync = {{"ABCDEFABCDEFABCDEFABCDEFABCDEFABCDEFABCD", 40}, 0}},
        {.type = RKV_MSG_ACK, .ack = {-1}},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int rc = rkv_msg_encode(&b, &bad[i]);
        ck_assert_msg(rc == REPLKV_EINVAL, "case %zu: %d", i, rc);
        ck_assert_uint_eq(b.len, 3);
    }
    ck_assert_int_eq(rkv_frame_put_set(&b, NULL, 0, "v", 1, 0), REPLKV_EINVAL);
    ck_assert_int_eq(rkv_frame_put_set(&b, "k", 1, "v", (size_t)UINT32_MAX, 0),
                     REPLKV_ETOOBIG);
    ck_assert_uint_eq(b.len, 3);
    ck_assert_mem_eq(b.data, "xyz", 3);
    rkv_buf_free(&b);
}
END_TEST

/* Random corruption of valid payloads, re-framed with a correct checksum:
 * the decoder must answer 0 or an error, never crash, leak or read out of
 * bounds (the sanitizer build checks the last two). */
START_TEST(test_fuzz_mutations)
{
    rkv_rng rng = {0x5eed1234u};
    rkv_buf src, b;
    rkv_buf_init(&src);
    rkv_buf_init(&b);
    uint8_t nonce[32] = {9};
    rkv_msg seeds[] = {
        {.type = RKV_REC_SET, .set = {{"key", 3}, {"value", 5}, 17}},
        {.type = RKV_MSG_HELLO, .hello = {1, {ID_A, 40}, {nonce, 32}, 80, 1}},
        {.type = RKV_MSG_ERROR, .error = {-3, {"boom", 4}}},
        {.type = RKV_MSG_FULLRESYNC, .sync = {{ID_B, 40}, 123456789}},
    };
    int ok = 0, refused = 0;
    for (int iter = 0; iter < 40000; iter++) {
        const rkv_msg *s = &seeds[iter % 4];
        rkv_buf_clear(&src);
        ck_assert_int_eq(rkv_msg_encode(&src, s), 0);
        rkv_buf_clear(&b);
        ck_assert_int_eq(rkv_buf_append(&b, src.data + 12, src.len - 12), 0);
        int edits = 1 + (int)(rkv_rng_next(&rng) % 4);
        for (int e = 0; e < edits; e++) {
            uint64_t r = rkv_rng_next(&rng);
            size_t at = b.len ? (size_t)(r >> 8) % b.len : 0;
            switch (r % 4) {
            case 0: /* flip a byte */
                if (b.len)
                    b.data[at] = (uint8_t)(r >> 40);
                break;
            case 1: /* cut */
                b.len = at;
                break;
            case 2: /* insert a type byte */
                ck_assert_int_eq(rkv_buf_reserve(&b, 1), 0);
                memmove(b.data + at + 1, b.data + at, b.len - at);
                b.data[at] = (uint8_t)(0xc0 + (r >> 48) % 0x40);
                b.len++;
                break;
            default: /* max out a length byte */
                if (b.len)
                    b.data[at] = 0xff;
                break;
            }
        }
        rkv_msg m;
        int rc = decode_copy(b.data, b.len, &m);
        ck_assert_msg(rc == 0 || rc == REPLKV_EPROTO || rc == REPLKV_EVERSION,
                      "iter %d: %d", iter, rc);
        if (rc == 0)
            ok++;
        else
            refused++;
    }
    ck_assert_int_gt(refused, 1000);
    ck_assert_int_gt(ok, 0);
    rkv_buf_free(&src);
    rkv_buf_free(&b);
}
END_TEST

static Suite *stream_suite(void)
{
    Suite *s = suite_create("stream");
    TCase *tc = tcase_create("frames");
    tcase_add_test(tc, test_buf);
    tcase_add_test(tc, test_golden_set);
    tcase_add_test(tc, test_golden_flush_and_hello);
    tcase_add_test(tc, test_roundtrip_every_type);
    tcase_add_test(tc, test_set_fast_path_matches_encode);
    tcase_add_test(tc, test_many_frames_in_one_buffer);
    tcase_add_test(tc, test_truncated_at_every_position);
    tcase_add_test(tc, test_truncated_payload_with_good_checksum);
    tcase_add_test(tc, test_bad_checksum);
    tcase_add_test(tc, test_length_limits);
    suite_add_tcase(s, tc);
    tc = tcase_create("hostile");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_huge_declared_counts);
    tcase_add_test(tc, test_too_many_elements);
    tcase_add_test(tc, test_lengths_past_the_payload);
    tcase_add_test(tc, test_deep_nesting);
    tcase_add_test(tc, test_not_an_array);
    tcase_add_test(tc, test_type_codes);
    tcase_add_test(tc, test_arity);
    tcase_add_test(tc, test_wrong_field_types);
    tcase_add_test(tc, test_trailing_bytes);
    tcase_add_test(tc, test_hello_version);
    tcase_add_test(tc, test_encode_refuses);
    tcase_add_test(tc, test_fuzz_mutations);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(stream_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
