/*
 * fuzz_frame.c - libFuzzer target for the one frame format (lib/stream.h):
 * rkv_frame_parse over the input with a small payload limit, each frame's
 * payload through rkv_msg_decode and rkv_msg_decode_with (a warm, reused
 * decoder: both must agree), and rkv_msg_decode on the raw input. Whatever
 * decodes must survive rkv_msg_encode -> rkv_frame_parse -> rkv_msg_decode
 * unchanged, and encoding it twice must give the same bytes. The stream
 * is parsed as it is and with every frame's checksum fixed up
 * (fuzz_common.h), so that mutated payloads reach the decoder.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "fuzz_common.h"
#include "replkv.h"
#include "stream.h"

#define FUZZ_MAX_PAYLOAD 512

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int bytes_eq(rkv_bytes a, rkv_bytes b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

static int msg_eq(const rkv_msg *a, const rkv_msg *b)
{
    if (a->type != b->type)
        return 0;
    switch (a->type) {
    case RKV_REC_SET:
        return bytes_eq(a->set.key, b->set.key) &&
               bytes_eq(a->set.val, b->set.val) &&
               a->set.expire_at == b->set.expire_at;
    case RKV_REC_DEL:
    case RKV_REC_PERSIST:
        return bytes_eq(a->key.key, b->key.key);
    case RKV_REC_EXPIREAT:
        return bytes_eq(a->expireat.key, b->expireat.key) &&
               a->expireat.at == b->expireat.at;
    case RKV_REC_FLUSH:
        return 1;
    case RKV_REC_PING:
    case RKV_MSG_PING_LINK:
        return a->ping.unix_ms == b->ping.unix_ms;
    case RKV_MSG_HELLO:
        return a->hello.version == b->hello.version &&
               bytes_eq(a->hello.node_id, b->hello.node_id) &&
               bytes_eq(a->hello.nonce, b->hello.nonce) &&
               a->hello.port == b->hello.port &&
               a->hello.flags == b->hello.flags;
    case RKV_MSG_AUTH:
        return bytes_eq(a->auth.proof, b->auth.proof);
    case RKV_MSG_PSYNC:
    case RKV_MSG_FULLRESYNC:
    case RKV_MSG_CONTINUE:
        return bytes_eq(a->sync.replid, b->sync.replid) &&
               a->sync.offset == b->sync.offset;
    case RKV_MSG_SNAP_END:
        return a->snap_end.key_count == b->snap_end.key_count &&
               a->snap_end.end_offset == b->snap_end.end_offset;
    case RKV_MSG_ACK:
        return a->ack.offset == b->ack.offset;
    case RKV_MSG_ERROR:
        return a->error.code == b->error.code &&
               bytes_eq(a->error.message, b->error.message);
    default:
        return 0; /* decode must never return an unknown type */
    }
}

static rkv_decoder *warm_decoder(void)
{
    static rkv_decoder d; /* reused across inputs, like a link's */
    static int ready;
    if (!ready) {
        if (rkv_decoder_init(&d) != 0)
            abort();
        ready = 1;
    }
    return &d;
}

/* A decoded message must encode, parse back as one whole frame, decode to
 * the same message, and encode to the same bytes again. */
static void check_round_trip(const rkv_msg *m)
{
    rkv_buf b1, b2;
    rkv_buf_init(&b1);
    rkv_buf_init(&b2);
    int rc = rkv_msg_encode(&b1, m);
    if (rc == REPLKV_ENOMEM)
        goto out;
    if (rc != 0)
        abort(); /* decode accepted what encode refuses */
    rkv_frame f;
    if (rkv_frame_parse(b1.data, b1.len, UINT32_MAX, &f) != 1 || f.size != b1.len)
        abort();
    rkv_msg m2;
    if (rkv_msg_decode(f.payload, f.len, &m2) != 0)
        abort();
    if (!msg_eq(m, &m2))
        abort();
    if (rkv_msg_encode(&b2, &m2) != 0)
        goto out;
    if (b2.len != b1.len || memcmp(b1.data, b2.data, b1.len) != 0)
        abort(); /* encoding is not a function of the decoded message */
out:
    rkv_buf_free(&b1);
    rkv_buf_free(&b2);
}

static void decode_both(const uint8_t *p, size_t len)
{
    rkv_msg a, b;
    int ra = rkv_msg_decode(p, len, &a);
    int rb = rkv_msg_decode_with(warm_decoder(), p, len, &b);
    if (ra == REPLKV_ENOMEM || rb == REPLKV_ENOMEM)
        return;
    if (ra != rb)
        abort(); /* the two decoders disagree */
    if (ra != 0)
        return;
    if (!msg_eq(&a, &b))
        abort();
    /* Every byte range must lie inside the payload. */
    check_round_trip(&a);
}

/* As a stream: frames back to back, as a link or a file holds them. */
static void parse_stream(const uint8_t *data, size_t size)
{
    size_t off = 0;
    for (;;) {
        rkv_frame f;
        int rc = rkv_frame_parse(size > off ? data + off : NULL, size - off,
                                 FUZZ_MAX_PAYLOAD, &f);
        if (rc != 1) {
            if (rc == 0 && (f.payload != NULL || f.size <= size - off))
                abort(); /* "need more" must ask for more than there is */
            break;
        }
        if (f.size != RKV_FRAME_HDR + f.len || f.size > size - off ||
            f.len > FUZZ_MAX_PAYLOAD ||
            f.payload != data + off + RKV_FRAME_HDR)
            abort();
        decode_both(f.payload, f.len);
        off += f.size;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Exact-size copies so that ASan sees any read past the end. */
    uint8_t *copy = fuzz_copy(data, size);
    if (copy == NULL)
        return 0;
    parse_stream(copy, size);
    decode_both(copy, size); /* as one payload */
    fuzz_fix_frames(copy, size);
    parse_stream(copy, size);
    free(copy);
    return 0;
}
