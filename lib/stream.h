/*
 * stream.h - the one frame format of libreplkv (docs/PROTOCOL.md): the
 * replication stream, link messages between peers, the append-only file and
 * snapshots are all sequences of
 *
 *     u32 BE payload length | u64 BE XXH3_64bits(payload) | payload
 *
 * where the payload is a msgpack array whose first element is a type code.
 *
 * Sans-I/O: these functions encode into an rkv_buf and decode from byte
 * ranges the caller owns. Every length is checked before it is trusted;
 * every failure a peer or a file can cause is an error return with a detail
 * in replkv_last_error(), never an abort. No state: any thread.
 */
#ifndef RKV_STREAM_H
#define RKV_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "buf.h"
#include "internal.h"

#define RKV_PROTO_VERSION 1 /* HELLO's version; bumped on any wire change */

#define RKV_FRAME_HDR 12 /* u32 length + u64 checksum */
#define RKV_ID_LEN 40    /* node ids and replication ids: lowercase hex */
#define RKV_NONCE_LEN 32 /* HELLO nonce */
#define RKV_PROOF_LEN 32 /* AUTH proof (HMAC-SHA256) */

/* Largest payload to accept from a link that is not yet streaming (the
 * handshake: HELLO, AUTH, PSYNC and their answers are all far smaller), so a
 * peer that has not authenticated cannot make a node buffer more. */
#define RKV_LINK_MAX_PAYLOAD 4096

/* Hard limits of the decoder, whatever the frame size: containers nested
 * deeper than RKV_MSG_MAX_DEPTH (the top-level array is depth 1) or more
 * than RKV_MSG_MAX_ELEMS elements in all containers of one payload are
 * refused before msgpack-c sees them, which bounds its allocation. */
#define RKV_MSG_MAX_DEPTH 8
#define RKV_MSG_MAX_ELEMS 4096

/* Most bytes a SET payload adds to its key and value: fixarray, type code,
 * two bin32 headers, int64. */
#define RKV_SET_OVERHEAD 21

/* Type codes (the first element of every payload). The numbers are part of
 * the protocol: never renumber, only add.
 *   1..63    stream records: the replication stream, the append-only file
 *            and snapshots; replication offsets count their frame bytes.
 *   64..79   link messages: handshake and control between two peers, never
 *            counted in offsets, never in files.
 *   80..127  reserved for failover messages (monitoring, votes, config).
 *   128..    reserved. */
typedef enum rkv_msg_type {
    RKV_REC_SET = 1,      /* [1, key bin, value bin, expire_at int] */
    RKV_REC_DEL = 2,      /* [2, key bin] */
    RKV_REC_EXPIREAT = 3, /* [3, key bin, at int] */
    RKV_REC_PERSIST = 4,  /* [4, key bin] */
    RKV_REC_FLUSH = 5,    /* [5] */
    RKV_REC_PING = 6,     /* [6, unix_ms int]: primary heartbeat */

    RKV_MSG_HELLO = 64,      /* [64, version, node_id, nonce, port, flags] */
    RKV_MSG_AUTH = 65,       /* [65, proof bin(32)] */
    RKV_MSG_PSYNC = 66,      /* [66, replid str(40), offset] */
    RKV_MSG_FULLRESYNC = 67, /* [67, replid, offset] + snapshot + SNAP_END */
    RKV_MSG_CONTINUE = 68,   /* [68, replid, offset] + backlog tail */
    RKV_MSG_SNAP_END = 69,   /* [69, key_count, end_offset] */
    RKV_MSG_ACK = 70,        /* [70, offset] */
    RKV_MSG_ERROR = 71,      /* [71, code int, message str] */
    RKV_MSG_PING_LINK = 72   /* [72, unix_ms] */
} rkv_msg_type;

#define RKV_MSG_LINK_FIRST 64
#define RKV_MSG_FAILOVER_FIRST 80

/* True for the types that belong to the replication stream and files. */
static inline int rkv_msg_is_record(unsigned type)
{
    return type >= 1 && type < RKV_MSG_LINK_FIRST;
}

/* HELLO flags; unknown bits are ignored by the receiver. */
#define RKV_HELLO_WITNESS 0x1u /* sender votes and monitors, holds no data */
#define RKV_HELLO_PEER 0x2u    /* a failover link, not a replica's */

/* A byte range. In a decoded message it points into the payload. */
typedef struct rkv_bytes {
    const void *p;
    size_t len;
} rkv_bytes;

/* One decoded record or message; type selects the union member:
 *   SET: set; DEL, PERSIST: key; EXPIREAT: expireat; FLUSH: none;
 *   PING, PING_LINK: ping; HELLO: hello; AUTH: auth;
 *   PSYNC, FULLRESYNC, CONTINUE: sync; SNAP_END: snap_end; ACK: ack;
 *   ERROR: error.
 * Times are Unix ms and offsets are byte counts, both 0 .. INT64_MAX. Ids
 * (node_id, replid) are RKV_ID_LEN lowercase hex characters, not
 * NUL-terminated. */
typedef struct rkv_msg {
    unsigned type;
    union {
        struct {
            rkv_bytes key; /* at least 1 byte */
            rkv_bytes val;
            int64_t expire_at; /* 0 = no expiry */
        } set;
        struct {
            rkv_bytes key;
        } key;
        struct {
            rkv_bytes key;
            int64_t at;
        } expireat;
        struct {
            int64_t unix_ms;
        } ping;
        struct {
            uint32_t version; /* RKV_PROTO_VERSION once decoded */
            rkv_bytes node_id;
            rkv_bytes nonce; /* RKV_NONCE_LEN bytes */
            uint16_t port;   /* the sender's listening port, 0 = none */
            uint32_t flags;  /* RKV_HELLO_* */
        } hello;
        struct {
            rkv_bytes proof; /* RKV_PROOF_LEN bytes */
        } auth;
        struct {
            rkv_bytes replid;
            int64_t offset;
        } sync;
        struct {
            uint64_t key_count;
            int64_t end_offset; /* primary's offset when the walk ended */
        } snap_end;
        struct {
            int64_t offset;
        } ack;
        struct {
            int code; /* a REPLKV_E* code */
            rkv_bytes message;
        } error;
    };
} rkv_msg;

/* One frame found in a byte range. */
typedef struct rkv_frame {
    const uint8_t *payload; /* inside the range that was parsed */
    size_t len;             /* payload length */
    size_t size;            /* whole frame: RKV_FRAME_HDR + len */
} rkv_frame;

/* Looks for one frame at the start of data[0 .. avail), reading nothing
 * beyond it. Returns
 *   1  a whole frame whose checksum matches: *f is filled; the next frame
 *      starts at data + f->size;
 *   0  data holds only part of a frame: f->size is the number of bytes
 *      needed to know more (RKV_FRAME_HDR until the header is complete, then
 *      the whole frame's size), f->payload is NULL;
 *   REPLKV_ETOOBIG   the header declares a payload over max_payload (found
 *                    as soon as the header is in, before the payload);
 *   REPLKV_ECORRUPT  the checksum does not match.
 * data may be NULL when avail is 0. */
int rkv_frame_parse(const void *data, size_t avail, size_t max_payload,
                    rkv_frame *f);

/* The largest payload a SET whose key and value are each at most max_bulk
 * bytes can have (2 * max_bulk + RKV_SET_OVERHEAD), capped at UINT32_MAX:
 * the max_payload to parse the stream with. */
size_t rkv_frame_limit(size_t max_bulk);

/* Appends a complete SET frame to b: the write path, one reservation and no
 * copy beyond key and value. expire_at is a Unix time in ms, 0 for none.
 * Returns 0; REPLKV_EINVAL (empty key, expire_at < 0, NULL pointer with a
 * non-zero length); REPLKV_ETOOBIG (payload would exceed 4 GiB - 1);
 * REPLKV_ENOMEM. On error b->len is unchanged. */
int rkv_frame_put_set(rkv_buf *b, const void *key, size_t klen, const void *val,
                      size_t vlen, int64_t expire_at);

/* Appends m as one complete frame to b. Refuses (REPLKV_EINVAL, with the
 * field named) any message rkv_msg_decode() would refuse: unknown type,
 * empty key, negative time or offset, id not 40 lowercase hex characters,
 * nonce or proof not 32 bytes, HELLO version not RKV_PROTO_VERSION.
 * Returns 0; REPLKV_EINVAL; REPLKV_ETOOBIG; REPLKV_ENOMEM. On error b->len
 * is unchanged. */
int rkv_msg_encode(rkv_buf *b, const rkv_msg *m);

/* Decodes one payload (rkv_frame.payload/len) into *m, whose byte fields
 * then point into payload: keep payload alive and unchanged while m is in
 * use. Checks everything: a structure pass first bounds every container's
 * declared count by the bytes left and caps depth and element count, then
 * msgpack-c unpacks, then the type code, the exact arity, every field's type
 * and range, and that no byte trails the array. Returns 0;
 * REPLKV_EPROTO with a detail naming what was wrong; REPLKV_EVERSION for a
 * HELLO whose version is not RKV_PROTO_VERSION (checked before anything
 * else in it, so a later version's HELLO is always recognised);
 * REPLKV_ENOMEM. On error *m is zeroed. */
int rkv_msg_decode(const void *payload, size_t len, rkv_msg *m);

/* A decoder that keeps msgpack-c's zone between messages, so that a link
 * decoding a stream of frames allocates nothing per frame once warm. */
typedef struct rkv_decoder {
    msgpack_zone zone;
} rkv_decoder;

/* Returns 0 or REPLKV_ENOMEM. */
int rkv_decoder_init(rkv_decoder *d);
void rkv_decoder_destroy(rkv_decoder *d);

/* rkv_msg_decode() using d's zone: the same checks and results. */
int rkv_msg_decode_with(rkv_decoder *d, const void *payload, size_t len,
                        rkv_msg *m);

/* The structure pass that must precede every msgpack-c unpack of bytes a
 * peer or a file supplied (msgpack-c allocates an array's or map's DECLARED
 * count before it reads the elements). Walks payload[0 .. len) without
 * allocating and checks that it is exactly one msgpack object: each item's
 * header and body lie inside the range; each array or map declares no more
 * elements than bytes are left after its header (every element takes at
 * least one); nesting is at most RKV_MSG_MAX_DEPTH (the outermost container
 * is depth 1); all containers together hold at most RKV_MSG_MAX_ELEMS
 * elements; no byte 0xc1; no byte trails the object. After it returns 0,
 * msgpack_unpack() of the same bytes allocates at most RKV_MSG_MAX_ELEMS
 * msgpack_objects. Reads nothing outside the range; payload may be NULL
 * when len is 0 (refused: an empty range holds no object). Returns 0 or
 * REPLKV_EPROTO with a detail ("payload: array at byte 7 declares ...
 * elements but only ... bytes follow", "payload: nested deeper than 8",
 * "payload: N trailing bytes after the message", ...). No state: any
 * thread. rkv_msg_decode() and rkv_fo_msg_decode() call it first. */
int rkv_msgpack_skim(const void *payload, size_t len);

/* rkv_msgpack_skim() with other caps, for formats whose largest legal
 * object is bigger (the node state file's peer list). max_depth is 1 to
 * RKV_SKIM_DEPTH_LIMIT (REPLKV_EINVAL otherwise). */
#define RKV_SKIM_DEPTH_LIMIT 16
int rkv_msgpack_skim_limits(const void *payload, size_t len, int max_depth,
                            uint64_t max_elems);

/* "SET", "HELLO", ... for log lines; "UNKNOWN" for a type not listed. A
 * static string. */
const char *rkv_msg_name(unsigned type);

#endif /* RKV_STREAM_H */
