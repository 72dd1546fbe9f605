/*
 * failover_node_int.h - what the files of the failover host share (see
 * failover_node.h): its state, and the steps every input runs through.
 *   failover_node.c      setup, peer links, inputs (tick, frames);
 *   failover_node_act.c  executing the core's actions;
 *   failover_api.c       the public failover calls and introspection.
 * Everything here belongs to the node's I/O thread, except the fields
 * marked (lock), read by other threads under lock.
 */
#ifndef RKV_FAILOVER_NODE_INT_H
#define RKV_FAILOVER_NODE_INT_H

#include "failover.h"
#include "failover_node.h"

#define FON_SLOTS (2 * RKV_FO_MAX_NODES)
#define FON_BACKOFF_MIN_MS 100u
#define FON_BACKOFF_MAX_MS 1000u
#define FON_IDLE_MS 10000u          /* a slot nobody sends to is dropped */
#define FON_MAX_PENDING (1u << 20)  /* bytes queued before messages drop */
#define FON_DIV_MAX_KEYS 1024
#define FON_DIV_MAX_BYTES (64u << 20) /* backlog bytes read for a report */

/* An outgoing link to one peer, by id once known, else by address. */

typedef struct fo_slot {
    bool used;
    char id[RKV_FO_ID_SIZE];
    rkv_fo_addr addr;
    rkv_link *link;
    uint64_t next_try_ms;
    unsigned backoff_ms;
    uint64_t last_send_ms;
} fo_slot;

/* The keys of a divergence found at a FOLLOW, until its NOTIFY runs. */
typedef struct fo_div {
    rkv_buf keys;         /* the keys, back to back */
    size_t *lens;
    size_t nkeys;
    uint64_t nwrites;
    bool complete;
} fo_div;

struct rkv_fonode {
    replkv_t *kv;
    rkv_fo *fo;
    rkv_fo_config cfg;
    uv_timer_t timer;
    bool timer_on;
    fo_slot slots[FON_SLOTS];
    rkv_fo_msg rx; /* decoded message (large: kept off the stack) */
    /* What the core told the host. */
    char following[RKV_FO_ID_SIZE];
    bool paused;
    _Atomic uint64_t link_down_since; /* read by cluster_info_get */
    fo_div div;
    rkv_fo_callbacks cb;
    /* Read by other threads under lock. */
    pthread_mutex_t lock;
    rkv_fo_info snap; /* (lock) */
    uint64_t failovers;
    int64_t last_done_ms;
};

static inline int64_t fon_now_ms(void)
{
    return (int64_t)rkv_mono_ms();
}

/* failover_node.c */
void fon_send(rkv_fonode *f, const rkv_fo_peer_info *to, const rkv_fo_msg *m);
/* The replication layer's state, reported to the core before an input. */
void fon_report_status(rkv_fonode *f, rkv_fo_actions *a);

/* failover_node_act.c: executes a, in order (failover.h, host contract). */
void fon_exec(rkv_fonode *f, rkv_fo_actions *a);
/* After every input: the snapshot other threads read, and why writes are
 * blocked. */
void fon_after_input(rkv_fonode *f);

#endif /* RKV_FAILOVER_NODE_INT_H */
