/*
 * failover.h - the failover core: Sentinel embedded in every node, written
 * sans-I/O. It owns membership (who the nodes are and how to reach them),
 * monitoring (SDOWN / ODOWN), epochs and votes, replica selection,
 * promotion, reconfiguration of the other replicas, fencing of an old
 * primary, self-fencing and the manual failover handshake.
 *
 * It reads no clock, opens no socket, starts no thread and draws no
 * randomness of its own: every input function takes the current monotonic
 * time in ms (now_ms, never decreasing) and appends what the host must do
 * to an action list. The seed given to rkv_fo_new() drives the election
 * back-off. The host (lib/node.c with the transport) and the simulated
 * cluster (tests/sim) are the two hosts.
 *
 * Rules (DESIGN.md, Failover; Sentinel's semantics):
 *   - every node pings every node it knows each ping_interval_ms; a ping
 *     carries the sender's membership, its opinions (which peers it sees
 *     subjectively down), its role, offset and the configuration it holds;
 *   - a peer silent for down_after_ms is SDOWN; the configured primary is
 *     also SDOWN when it has not claimed the primary role for down_after_ms;
 *     it is ODOWN when at least quorum nodes (this one included) see it
 *     SDOWN;
 *   - a node that sees ODOWN asks for votes in a new epoch after a random
 *     back-off; a node votes once per epoch, and persists (epoch, vote)
 *     before the vote leaves (the PERSIST action precedes the SEND);
 *   - the leader needs max(majority of all known voters, quorum) votes; it
 *     ranks the replicas, lets the application decide, sends PROMOTE and
 *     then tells the other replicas to follow, parallel_syncs at a time;
 *   - a configuration (config epoch, primary) spreads in pings; every node
 *     adopts the one with the highest epoch; a primary that sees a higher
 *     one with another primary steps down (fencing).
 *
 * Host contract (what lib/node.c must do):
 *   - create the core with the state file's rkv_fo_state (has_state) or
 *     none; call rkv_fo_tick() at least every ping interval, feed every
 *     decoded failover frame to rkv_fo_receive() (the sender's id is the
 *     authenticated peer's), and report replication with
 *     rkv_fo_local_status() on every change and every tick;
 *   - execute the actions in order; PERSIST must be durable before the
 *     next action runs (a vote follows it); SEND is best effort;
 *   - on FOLLOW with demote, stop writes first, then resync and report
 *     the lost range with rkv_fo_divergence();
 *   - honour ack (FOLLOW) and ACKS: they decide what WAIT may count.
 *
 * Threads: an rkv_fo is not thread-safe; the host serialises every call on
 * one handle (the node calls it from its I/O thread). Distinct handles are
 * independent (no global state).
 */
#ifndef RKV_FAILOVER_H
#define RKV_FAILOVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "internal.h"

#define RKV_FO_ID_SIZE 41    /* 40 lowercase hex characters + NUL */
#define RKV_FO_HOST_SIZE 64  /* host name or address + NUL */
#define RKV_FO_NAME_SIZE 64  /* "sentinel monitor <name>" + NUL */
#define RKV_FO_REASON_SIZE 256
#define RKV_FO_MAX_NODES 32  /* nodes of one cluster, this one included */
#define RKV_FO_MAX_FORGOT 16 /* tombstones of forgotten nodes kept */

/* ------------------------------------------------------------- config */

typedef struct rkv_fo_addr {
    char host[RKV_FO_HOST_SIZE];
    uint16_t port;
} rkv_fo_addr;

typedef struct rkv_fo_peer_info {
    char id[RKV_FO_ID_SIZE];
    rkv_fo_addr addr;
    uint8_t flags; /* RKV_FO_F_WITNESS | RKV_FO_F_SDOWN */
} rkv_fo_peer_info;

typedef struct rkv_fo_forgot {
    char id[RKV_FO_ID_SIZE];
    uint64_t epoch; /* the forgetting node's current epoch then */
} rkv_fo_forgot;

/* The state a node must keep across restarts (the node state file), given
 * back to rkv_fo_new() and emitted in RKV_FO_ACT_PERSIST. */
typedef struct rkv_fo_state {
    uint64_t current_epoch;
    uint64_t voted_epoch;                /* epoch of the last vote given */
    char voted_for[RKV_FO_ID_SIZE];      /* "" = none */
    uint64_t config_epoch;               /* the configuration held: */
    char primary[RKV_FO_ID_SIZE];        /* its primary ("" = not known) */
    rkv_fo_addr primary_addr;
    char leader[RKV_FO_ID_SIZE];         /* who elected that configuration */
    int64_t promo_offset;                /* its primary's promotion offset */
    uint64_t hist_epoch; /* epoch of the history the data belongs to */
    bool fresh;          /* started without data, never synced since */
    unsigned npeers;     /* membership, so that a restarted node knows how
                            many voters there are before it hears them */
    rkv_fo_peer_info peers[RKV_FO_MAX_NODES - 1];
    unsigned nforgot;
    rkv_fo_forgot forgot[RKV_FO_MAX_FORGOT];
} rkv_fo_state;

/* Sentinel's directives, by their names. All times in ms. */
typedef struct rkv_fo_config {
    char node_id[RKV_FO_ID_SIZE]; /* this node, 40 lowercase hex */
    rkv_fo_addr self;             /* where peers reach this node */
    bool witness;                 /* votes and monitors, holds no data */
    char name[RKV_FO_NAME_SIZE];  /* sentinel monitor <name> ...      */
    rkv_fo_addr monitor;          /*   ... <host> <port>: the primary the
                                   *   cluster starts with; any known node
                                   *   to join an existing cluster */
    unsigned quorum;              /*   ... <quorum> (>= 1) */
    uint32_t down_after_ms;       /* down-after-milliseconds (30000) */
    uint32_t failover_timeout_ms; /* failover-timeout (180000) */
    unsigned parallel_syncs;      /* parallel-syncs (1) */
    uint32_t replica_priority;    /* replica-priority (100; 0 = never) */
    uint32_t ping_interval_ms;    /* 100 */
    bool self_fence;              /* pause writes without a majority (off) */
    bool decision_hook;           /* ask the application (ASK_DECISION) */
    bool has_state;               /* state holds what the state file had */
    rkv_fo_state state;
} rkv_fo_config;

/* Fills the defaults above; the caller then sets node_id, self, name,
 * monitor and quorum. */
void rkv_fo_config_init(rkv_fo_config *cfg);

/* ------------------------------------------------------------ messages */

/* Wire type codes (docs/PROTOCOL.md section 11). */
typedef enum rkv_fo_msg_type {
    RKV_FO_MSG_PING = 80,     /* state, membership, opinions, config */
    RKV_FO_MSG_VOTE_REQ = 81, /* candidate asks for a vote in epoch */
    RKV_FO_MSG_VOTE = 82,     /* the voter's choice for epoch */
    RKV_FO_MSG_PROMOTE = 83,  /* leader to the chosen replica */
    RKV_FO_MSG_FOLLOW = 84,   /* leader to the other replicas */
    RKV_FO_MSG_FORGET = 85,   /* remove a node for good */
    RKV_FO_MSG_FAILOVER = 86  /* manual failover request, to the primary */
} rkv_fo_msg_type;

typedef enum rkv_fo_role {
    RKV_FO_ROLE_NONE = 0,    /* booting, witness, or waiting for a primary */
    RKV_FO_ROLE_PRIMARY = 1,
    RKV_FO_ROLE_REPLICA = 2
} rkv_fo_role;

/* rkv_fo_peer_info.flags and ping flags */
#define RKV_FO_F_WITNESS 0x01u  /* votes, holds no data */
#define RKV_FO_F_SDOWN 0x02u    /* peer entry: the sender sees it SDOWN */
#define RKV_FO_F_FRESH 0x04u    /* ping: started without state, not synced */
#define RKV_FO_F_BOOTED 0x08u   /* ping: the sender has joined */
#define RKV_FO_F_LINK_UP 0x10u  /* ping: replica's link to its primary up */
#define RKV_FO_F_DETACHED 0x20u /* ping: stopped replicating for an election */
#define RKV_FO_F_MANUAL 0x40u   /* vote request: a manual failover */


/* A configuration: who the primary is, from which epoch. */
typedef struct rkv_fo_conf {
    uint64_t epoch;
    char primary[RKV_FO_ID_SIZE]; /* "" while only the address is known */
    rkv_fo_addr addr;
    char leader[RKV_FO_ID_SIZE];  /* who elected it ("" for epoch 0) */
    int64_t promo_offset;         /* the primary's offset when promoted: a
                                     replica holds this epoch's history
                                     once synced past it */
} rkv_fo_conf;

/* PING: everything a node tells every other node each interval. */
typedef struct rkv_fo_ping {
    char name[RKV_FO_NAME_SIZE];
    rkv_fo_addr addr;
    uint8_t flags;   /* WITNESS FRESH BOOTED LINK_UP DETACHED */
    uint8_t role;    /* rkv_fo_role the sender acts in */
    int64_t offset;  /* replication offset */
    uint64_t hist_epoch; /* the configuration epoch whose primary's history
                            the data follows (synced with it, or was it) */
    uint32_t priority;
    int64_t link_down_ms; /* replica: how long its link is down */
    char following[RKV_FO_ID_SIZE]; /* replica: its primary */
    rkv_fo_conf conf;
    uint32_t npeers;
    rkv_fo_peer_info peers[RKV_FO_MAX_NODES];
    uint32_t nforgot;
    rkv_fo_forgot forgot[RKV_FO_MAX_FORGOT];
} rkv_fo_ping;

/* Every message: type, sender, sender's current epoch, then the part its
 * type selects. Ids are NUL-terminated 40-hex strings or "". */
typedef struct rkv_fo_msg {
    unsigned type; /* rkv_fo_msg_type */
    char from[RKV_FO_ID_SIZE];
    uint64_t epoch;
    union {
        rkv_fo_ping ping;
        struct {
            uint64_t config_epoch; /* the configuration to replace */
            uint8_t flags;         /* RKV_FO_F_MANUAL */
        } vote_req;
        struct {
            char leader[RKV_FO_ID_SIZE]; /* whom the sender voted for */
        } vote;
        struct {
            rkv_fo_conf conf; /* PROMOTE: conf.primary is the target;
                                 FOLLOW: the primary to follow */
        } conf;
        struct {
            rkv_fo_forgot who;
        } forget;
        struct {
            char target[RKV_FO_ID_SIZE]; /* "" = the best replica */
            uint32_t timeout_ms;
        } failover;
    };
} rkv_fo_msg;

/* Encodes m as one frame (stream.h's format) appended to b. Returns 0;
 * REPLKV_EINVAL (a field out of range: unknown type, bad id, count over
 * the maxima); REPLKV_ENOMEM. On error b->len is unchanged. */
int rkv_fo_msg_encode(rkv_buf *b, const rkv_fo_msg *m);

/* Decodes a frame payload (rkv_frame_parse() output) into *m, copying what
 * it needs (m does not point into payload). rkv_msgpack_skim() (stream.h)
 * bounds every declared count by the bytes left before msgpack-c unpacks
 * into a zone freed before returning (one 8 KiB chunk for any legal
 * message); then the type, the exact arity, each field's type and range,
 * the list maxima and each str against its fixed-size field are checked.
 * Returns 0; REPLKV_EPROTO with a detail in replkv_last_error() naming the
 * message and field ("failover message: FO_PING: peers[3].host: str of 64
 * bytes, at most 63 fit"); REPLKV_ENOMEM. On error *m is zeroed. */
int rkv_fo_msg_decode(const void *payload, size_t len, rkv_fo_msg *m);

/* True if the payload's type code (its first array element) is a failover
 * message, so the link code can route it here: reads at most 14 bytes (the
 * array header and the type code), allocates nothing, sets no error. */
bool rkv_fo_msg_is_failover(const void *payload, size_t len);

const char *rkv_fo_msg_name(unsigned type);

/* ------------------------------------------------------------- actions */

typedef enum rkv_fo_act_type {
    /* Make state durable (the node state file, atomically) BEFORE doing
     * any later action of the same list: a vote follows it. */
    RKV_FO_ACT_PERSIST = 1,
    /* Send msg to the peer (to.id may be "" for a seed known only by its
     * address; the handshake then names it). Best effort. */
    RKV_FO_ACT_SEND,
    /* Become primary of epoch: keep the data, start a new replication
     * history that continues the old one, take writes, count replicas'
     * acknowledgements (until an ACKS says otherwise). */
    RKV_FO_ACT_PROMOTE_SELF,
    /* Replicate from primary (to). demote is set when this node was the
     * primary: stop taking writes first (fencing); the host then reports
     * writes it held that the new primary lacks (rkv_fo_divergence).
     * ack: whether to acknowledge (ACK frames, counted by WAIT and
     * min-replicas): false while an election newer than the configuration
     * may have promoted someone else, so a primary about to be replaced
     * can never count this replica towards a majority. A FOLLOW naming the
     * primary already followed only changes ack: keep the link. */
    RKV_FO_ACT_FOLLOW,
    /* Stop replicating and acknowledging (keep the data, stay read-only)
     * until the next FOLLOW: an election is running, so this replica's
     * offset must stop moving until it ends. */
    RKV_FO_ACT_DETACH,
    /* Stop accepting writes / accept them again (manual failover and
     * self-fencing). */
    RKV_FO_ACT_PAUSE_WRITES,
    RKV_FO_ACT_RESUME_WRITES,
    /* Give the ranked candidates to the application's failover-decision
     * callback; answer with rkv_fo_decision(). */
    RKV_FO_ACT_ASK_DECISION,
    /* Primary: count replicas' acknowledgements (WAIT, min-replicas) only
     * while ack is true. It turns false when this primary learns of an
     * election newer than its configuration (it may have been replaced),
     * and true again once a configuration of that epoch confirms it. */
    RKV_FO_ACT_ACKS,
    /* Something the host surfaces to the application or its log. */
    RKV_FO_ACT_NOTIFY
} rkv_fo_act_type;

typedef enum rkv_fo_event_type {
    RKV_FO_EV_ROLE = 1,      /* role: old -> new in epoch */
    RKV_FO_EV_PEER_STATE,    /* peer: up / sdown / odown / new / forgotten */
    RKV_FO_EV_DECISION,      /* verdict on the failover candidate, reason */
    RKV_FO_EV_DIVERGENCE,    /* writes [from, to) never reached the cluster */
    RKV_FO_EV_FAILOVER,      /* a step of a failover: reason names it */
    RKV_FO_EV_CONFIG         /* a new configuration adopted */
} rkv_fo_event_type;

typedef enum rkv_fo_peer_state {
    RKV_FO_PEER_UP = 1,
    RKV_FO_PEER_SDOWN,
    RKV_FO_PEER_ODOWN,
    RKV_FO_PEER_NEW,
    RKV_FO_PEER_FORGOTTEN
} rkv_fo_peer_state;

typedef enum rkv_fo_verdict {
    RKV_FO_ACCEPT = 1, /* promote the first candidate */
    RKV_FO_PICK,       /* promote the named candidate instead */
    RKV_FO_VETO        /* no failover now; retried later in a new epoch */
} rkv_fo_verdict;

typedef struct rkv_fo_event {
    unsigned type;              /* rkv_fo_event_type */
    uint64_t epoch;
    char peer[RKV_FO_ID_SIZE];  /* PEER_STATE, DECISION (chosen), CONFIG and
                                   DIVERGENCE (the new primary) */
    int old_role, new_role;     /* ROLE */
    int state;                  /* PEER_STATE: rkv_fo_peer_state;
                                   DECISION: rkv_fo_verdict */
    int64_t from, to;           /* DIVERGENCE offsets */
    char reason[RKV_FO_REASON_SIZE];
} rkv_fo_event;

typedef struct rkv_fo_candidate {
    char id[RKV_FO_ID_SIZE];
    rkv_fo_addr addr;
    uint32_t priority;
    uint64_t hist_epoch; /* compared before offset: newer history first */
    int64_t offset;
} rkv_fo_candidate;

typedef struct rkv_fo_action {
    unsigned type;              /* rkv_fo_act_type */
    rkv_fo_peer_info to;        /* SEND: destination; FOLLOW: primary */
    const rkv_fo_msg *msg;      /* SEND; owned by the list */
    uint64_t epoch;             /* PROMOTE_SELF, FOLLOW */
    bool demote;                /* FOLLOW */
    bool ack;                   /* FOLLOW, ACKS */
    rkv_fo_state state;         /* PERSIST */
    rkv_fo_event ev;            /* NOTIFY */
    unsigned ncand;             /* ASK_DECISION */
    const rkv_fo_candidate *cand; /* ASK_DECISION; owned by the list */
} rkv_fo_action;

/* What one input produced, in the order to execute it. A host keeps one,
 * calls rkv_fo_actions_reset() before each input (or lets actions pile
 * up), and frees it at the end. Messages and candidate lists that actions
 * point to are owned by the list and live until the next reset/free. */
typedef struct rkv_fo_actions {
    rkv_fo_action *v;
    size_t n, cap;
    void **owned; /* messages and candidate arrays */
    size_t nowned, capowned;
    bool oom;     /* an append failed: some actions were lost */
} rkv_fo_actions;

void rkv_fo_actions_init(rkv_fo_actions *a);
void rkv_fo_actions_reset(rkv_fo_actions *a);
void rkv_fo_actions_free(rkv_fo_actions *a);

/* ------------------------------------------------------------ the core */

typedef struct rkv_fo rkv_fo;

/* A core for this node. cfg is copied. Returns NULL for an invalid config
 * (detail in replkv_last_error(): bad id, quorum 0, zero times) or out of
 * memory. The node starts booting: it learns the cluster's configuration
 * from its peers before it claims any role (see rkv_fo_tick). */
rkv_fo *rkv_fo_new(const rkv_fo_config *cfg, uint64_t seed);

/* Frees fo. NULL is a no-op. */
void rkv_fo_free(rkv_fo *fo);

/* Timers: pings, SDOWN/ODOWN, election back-off and timeouts, promotion
 * and reconfiguration steps, self-fencing. Call at least every
 * ping_interval_ms (more often is harmless). */
void rkv_fo_tick(rkv_fo *fo, int64_t now_ms, rkv_fo_actions *out);

/* A decoded message from a peer. The sender's identity is m->from: the
 * host must have authenticated the link (HELLO + AUTH) it came on.
 * Returns 0, or REPLKV_EPROTO for a message that makes no sense (ignored,
 * worth a log line). */
int rkv_fo_receive(rkv_fo *fo, int64_t now_ms, const rkv_fo_msg *m,
                   rkv_fo_actions *out);

/* What the host's replication layer knows: the role it acts in, its
 * offset, and for a replica the primary it replicates from (id, "" if
 * none), whether the link is up (synced and streaming) and for how long it
 * has been down. Call whenever one changes and at least once a tick. */
void rkv_fo_local_status(rkv_fo *fo, int64_t now_ms, rkv_fo_role role,
                         int64_t offset, const char *following, bool link_up,
                         int64_t link_down_ms, rkv_fo_actions *out);

/* The application's answer to RKV_FO_ACT_ASK_DECISION for the running
 * failover: pick is the chosen id for RKV_FO_PICK (must be one of the
 * candidates), reason free text for the log (may be NULL). Emits a
 * DECISION event. Returns 0; REPLKV_EINVAL (no decision pending, unknown
 * pick). */
int rkv_fo_decision(rkv_fo *fo, int64_t now_ms, rkv_fo_verdict verdict,
                    const char *pick, const char *reason,
                    rkv_fo_actions *out);

/* Manual failover (SENTINEL FAILOVER / FAILOVER): on the primary, pause
 * writes, wait until target (NULL or "" = the best replica) has the
 * primary's offset, win an election, promote it and step down; abort and
 * resume writes after timeout_ms (0 = failover_timeout). On another node
 * the request is forwarded to the primary. Returns 0; REPLKV_EINVAL
 * (unknown target, a witness target); REPLKV_EBUSY (a failover runs);
 * REPLKV_ENOTFOUND (no primary known). */
int rkv_fo_request_failover(rkv_fo *fo, int64_t now_ms, const char *target,
                            uint32_t timeout_ms, rkv_fo_actions *out);

/* Cancels this primary's manual failover while it still waits for the
 * target to catch up (Redis FAILOVER ABORT): writes resume. Returns 0;
 * REPLKV_ESTATE (no manual failover runs here); REPLKV_EBUSY (its
 * election started: it can no longer be called back). */
int rkv_fo_abort_manual(rkv_fo *fo, int64_t now_ms, rkv_fo_actions *out);

/* Primary, manual failover: the replica id acknowledged offset on its
 * replication link. Fresher than its pings: once it has every write the
 * paused primary took, the election starts at once. Cheap when no manual
 * failover waits for id (see rkv_fo_manual_target). */
void rkv_fo_replica_acked(rkv_fo *fo, int64_t now_ms, const char *id,
                          int64_t offset, rkv_fo_actions *out);

/* The replica a manual failover on this primary is waiting for to catch
 * up, or NULL. */
const char *rkv_fo_manual_target(const rkv_fo *fo);

/* Removes node id from the cluster for good: its tombstone (with this
 * node's current epoch) spreads in pings and every node drops the peer and
 * ignores it and any gossip about it from then on. Returns 0;
 * REPLKV_EINVAL (this node itself, a bad id); REPLKV_ENOSPC never: the
 * oldest tombstone is dropped when full. */
int rkv_fo_forget(rkv_fo *fo, int64_t now_ms, const char *id,
                  rkv_fo_actions *out);

/* The host's replication found, after a FOLLOW with demote (or any
 * resync), that this node held writes [from, to) the new primary lacks.
 * Records it and emits a DIVERGENCE event. */
void rkv_fo_divergence(rkv_fo *fo, int64_t now_ms, int64_t from, int64_t to,
                       const char *new_primary, rkv_fo_actions *out);

/* ------------------------------------------------------- introspection */

typedef struct rkv_fo_peer_view {
    char id[RKV_FO_ID_SIZE];
    rkv_fo_addr addr;
    bool witness;
    int state;            /* rkv_fo_peer_state: UP, SDOWN or ODOWN */
    int role;             /* as last reported */
    int64_t offset;       /* as last reported */
    int64_t last_heard_ms; /* now - last message, -1 = never */
    uint32_t priority;     /* as last reported */
    bool link_up;          /* a replica's link to its primary, as reported */
    int64_t link_down_ms;  /* as last reported */
} rkv_fo_peer_view;

typedef struct rkv_fo_timeline {
    uint64_t epoch;
    char leader[RKV_FO_ID_SIZE];
    char old_primary[RKV_FO_ID_SIZE];
    char new_primary[RKV_FO_ID_SIZE];
    int64_t odown_ms, elected_ms, promoted_ms, done_ms; /* 0 = not reached */
    bool manual;
    char result[RKV_FO_REASON_SIZE]; /* "running", "done", "aborted: ..." */
} rkv_fo_timeline;

/* For INFO "sentinel" and the tests. */
typedef struct rkv_fo_info {
    int role;                  /* what this core asked the host to be */
    bool booted, fresh, detached, writes_paused, fenced, witness;
    bool informed; /* heard enough of the cluster to acknowledge writes */
    uint64_t current_epoch;
    uint64_t hist_epoch;
    rkv_fo_conf conf;          /* the configuration held */
    char last_leader[RKV_FO_ID_SIZE]; /* leader of the last election known */
    uint64_t last_leader_epoch;
    bool primary_sdown, primary_odown;
    unsigned voters;           /* known voters, this node included */
    unsigned npeers;
    rkv_fo_peer_view peers[RKV_FO_MAX_NODES];
    rkv_fo_timeline last;      /* the last failover this node led */
    bool failover_running;
} rkv_fo_info;

void rkv_fo_get_info(const rkv_fo *fo, int64_t now_ms, rkv_fo_info *info);

const char *rkv_fo_role_name(int role);
const char *rkv_fo_act_name(unsigned type);

#endif /* RKV_FAILOVER_H */
