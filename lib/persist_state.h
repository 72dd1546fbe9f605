/*
 * persist_state.h - the node state file dir/node.state (docs/PROTOCOL.md
 * section 9.3): the node's id, the current epoch, its last vote and the
 * peers it knows (version 1), and since version 2 all of the failover
 * core's rkv_fo_state (failover.h). Written atomically (temp file, fsync,
 * rename, dir fsync) before a vote is given, so that a restarted node never
 * votes twice in one epoch; a file that does not check out is REPLKV_ECORRUPT
 * and the node refuses to start rather than forget its vote.
 *
 * Stateless; any thread. The caller serialises saves to one dir.
 */
#ifndef RKV_PERSIST_STATE_H
#define RKV_PERSIST_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "failover.h"
#include "internal.h"
#include "persist_file.h"
#include "stream.h"

#define RKV_STATE_FILE "node.state"
/* The newest version read and written. A state without failover state is
 * still written as version 1, so that older libraries can read it. */
#define RKV_STATE_VERSION 2
#define RKV_STATE_HDR 24
#define RKV_STATE_MAX_PEERS 1024
#define RKV_STATE_MAX_HOST 255
#define RKV_STATE_MAX_SIZE (1u << 20) /* a file larger than this is damage */

typedef struct rkv_state_peer {
    char id[RKV_ID_LEN + 1];           /* NUL-terminated lowercase hex */
    char host[RKV_STATE_MAX_HOST + 1]; /* NUL-terminated, not empty */
    uint16_t port;
} rkv_state_peer;

typedef struct rkv_node_state {
    char node_id[RKV_ID_LEN + 1];
    uint64_t epoch;                /* current epoch */
    uint64_t vote_epoch;           /* epoch of the last vote, 0 = never voted */
    char vote_for[RKV_ID_LEN + 1]; /* its candidate; "" when vote_epoch 0 */
    size_t npeers;
    rkv_state_peer *peers; /* loaded: owned, rkv_state_free(); saved: read */
    /* Version 2: the failover core's state. When has_fo, the encoder
     * ignores epoch, vote_epoch, vote_for and peers above and writes them
     * derived from fo (current_epoch, voted_epoch, voted_for, and the
     * peers that have a host), so the two always agree; the decoder fills
     * both and refuses a file where they differ. A version 1 file loads
     * with has_fo false and fo zeroed. */
    bool has_fo;
    rkv_fo_state fo;
} rkv_node_state;

/* Appends the whole file image of st (header and msgpack body) to out:
 * version 2 when st->has_fo, else version 1. Returns 0; REPLKV_EINVAL (a
 * bad id, host, count or failover field, naming it); REPLKV_ENOMEM. On
 * error out->len is unchanged. */
int rkv_state_encode(const rkv_node_state *st, rkv_buf *out);

/* Decodes a file image (version 1 or 2); name is used in details. Every
 * declared count is bounded by the bytes left before msgpack-c allocates,
 * and every str against its fixed-size field. Returns 0 with *st (free
 * with rkv_state_free); REPLKV_ECORRUPT (naming the file and the field:
 * "dir/node.state: fo.peers[3].host: str of 70 bytes, at most 63 fit");
 * REPLKV_EVERSION (a newer format); REPLKV_ENOMEM. On error *st is empty. */
int rkv_state_decode(const void *data, size_t len, const char *name,
                     rkv_node_state *st);

/* Writes dir/node.state atomically. Returns 0; REPLKV_EINVAL; REPLKV_EIO
 * (the old file is untouched); REPLKV_ENOMEM. */
int rkv_state_save(const rkv_fs *fs, const char *dir, const rkv_node_state *st);

/* Reads dir/node.state. Returns 0; REPLKV_ENOTFOUND (no file: a new node);
 * REPLKV_ECORRUPT; REPLKV_EVERSION; REPLKV_EIO (dir or file unreadable,
 * naming it); REPLKV_ENOMEM. */
int rkv_state_load(const rkv_fs *fs, const char *dir, rkv_node_state *st);

/* Frees the peers a load allocated and empties st. NULL: no-op. */
void rkv_state_free(rkv_node_state *st);

#endif /* RKV_PERSIST_STATE_H */
