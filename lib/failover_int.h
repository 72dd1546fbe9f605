/*
 * failover_int.h - the inside of the failover core (failover.h), shared by
 * its files and nobody else:
 *   failover.c         state, epochs, configuration, boot, roles, inputs
 *   failover_actions.c the action list, introspection
 *   failover_monitor.c pings, membership, SDOWN/ODOWN, self-fencing
 *   failover_vote.c    elections and votes
 *   failover_select.c  replica selection, decision, promotion,
 *                      reconfiguration, manual failover
 */
#ifndef RKV_FAILOVER_INT_H
#define RKV_FAILOVER_INT_H

#include "failover.h"

#define RKV_FO_FORGOT_MEMORY 1024

/* One known peer: what this node measured and what the peer last said. */
typedef struct fo_peer {
    char id[RKV_FO_ID_SIZE];
    rkv_fo_addr addr;
    bool witness;
    int64_t added_ms;
    int64_t last_heard_ms; /* 0 = never */
    int state;             /* RKV_FO_PEER_UP / SDOWN (this node's view) */
    /* from its latest ping (valid when have_ping) */
    bool have_ping;
    uint8_t flags;
    uint8_t role;
    int64_t offset;
    uint64_t hist_epoch;
    uint32_t priority;
    int64_t link_down_ms;
    char following[RKV_FO_ID_SIZE];
    uint64_t epoch;
    uint64_t conf_epoch;
    bool says_primary_sdown; /* its opinion on our configured primary */
    int64_t primary_claim_ms; /* last time it claimed the primary role */
    /* election bookkeeping */
    uint64_t vote_epoch;           /* epoch of its last VOTE to us */
    char vote_for[RKV_FO_ID_SIZE]; /* whom it voted for then */
} fo_peer;

/* Phases of a failover this node leads (manual ones start at SYNC). */
enum fo_phase {
    FO_IDLE = 0,
    FO_SYNC,      /* manual: writes paused, waiting for the target */
    FO_ELECTION,  /* asked for votes in run_epoch */
    FO_SELECT,    /* won; waiting for fresh offsets to rank */
    FO_DECIDE,    /* asked the application */
    FO_PROMOTE,   /* PROMOTE sent; waiting for the new config */
    FO_RECONF     /* telling the other replicas to follow */
};

struct rkv_fo {
    rkv_fo_config cfg;
    rkv_rng rng;
    int64_t now;
    int64_t started_ms;

    /* durable state (rkv_fo_state) */
    uint64_t current_epoch;
    uint64_t voted_epoch;
    char voted_for[RKV_FO_ID_SIZE];
    rkv_fo_conf conf;
    int64_t conf_learned_ms;
    bool conf_told; /* a leader told us to follow (FOLLOW) */

    /* role */
    int role;  /* what we told the host to be (rkv_fo_role) */
    bool booted;
    bool booted_alone; /* booted without hearing anyone */
    bool started_fresh;
    bool informed;     /* heard enough of the cluster to acknowledge */
    bool ack_sent;     /* the last FOLLOW allowed acknowledgements */
    bool fresh; /* no state at start and not yet synced */
    bool had_state;
    bool persisted_once; /* the state file exists (written at start) */
    char following[RKV_FO_ID_SIZE]; /* whom we told the host to follow */
    int64_t follow_sent_ms;

    /* what the host reports */
    int host_role;
    int64_t offset;
    uint64_t hist_epoch; /* durable: see rkv_fo_state */
    char host_following[RKV_FO_ID_SIZE];
    bool link_up;
    int64_t link_down_ms;

    /* detach for elections: replicas freeze their offset */
    bool detached;
    bool host_detached; /* DETACH sent, no FOLLOW since */
    int64_t detach_until;
    uint64_t no_promote_upto; /* refuse PROMOTE for epochs <= this */

    /* writes */
    bool pause_manual, fenced, paused_emitted;
    bool acks_emitted; /* the last ACKS said on (PROMOTE_SELF implies on) */
    int64_t epoch_learned_ms; /* when current_epoch last grew */

    /* membership */
    fo_peer peers[RKV_FO_MAX_NODES - 1];
    unsigned npeers;
    rkv_fo_forgot forgot[RKV_FO_MAX_FORGOT];
    unsigned nforgot;
    /* Every id forgotten since start, newest RKV_FO_FORGOT_MEMORY kept
     * (a ring; not gossiped): the gossiped list keeps only the newest
     * RKV_FO_MAX_FORGOT, and an id whose tombstone aged out there must
     * not come back from some node's gossip as a voter that never
     * answers. */
    char forgot_mem[RKV_FO_FORGOT_MEMORY][RKV_FO_ID_SIZE];
    unsigned nforgot_mem, forgot_mem_next;
    int64_t next_ping_ms;
    bool ping_soon; /* news worth a ping before the interval ends: the
                       primary went down here, an election froze us, a
                       new configuration */

    /* monitoring of the configured primary */
    int64_t primary_claim_ms; /* last time it claimed the role */
    bool primary_sdown, primary_odown;
    int64_t odown_since;

    /* elections */
    int64_t next_try_ms; /* earliest time we may start an election */
    bool try_armed;      /* back-off drawn for this ODOWN */
    uint64_t last_leader_epoch;
    char last_leader[RKV_FO_ID_SIZE];

    /* the failover this node leads */
    int phase;
    uint64_t run_epoch;
    int64_t run_start_ms, run_deadline_ms, run_step_ms;
    bool run_manual;
    bool run_reconfirm; /* led by the primary itself, to leave a stale epoch */
    char run_target[RKV_FO_ID_SIZE];
    int64_t run_target_acked; /* manual: its last replication ACK, -1 none */
    char run_old_primary[RKV_FO_ID_SIZE];
    rkv_fo_candidate *ranked;
    unsigned nranked;
    char reconf_sent[RKV_FO_MAX_NODES][RKV_FO_ID_SIZE];
    int64_t reconf_sent_ms[RKV_FO_MAX_NODES];
    unsigned nreconf;
    rkv_fo_timeline tl;
};

/* failover.c */
void fo_push(rkv_fo_actions *out, const rkv_fo_action *a);
void *fo_own(rkv_fo_actions *out, size_t size);
rkv_fo_msg *fo_new_msg(rkv_fo *fo, rkv_fo_actions *out, unsigned type);
void fo_send(rkv_fo_actions *out, const fo_peer *p, const rkv_fo_msg *m);
void fo_persist(rkv_fo *fo, rkv_fo_actions *out);
void fo_notify(rkv_fo_actions *out, unsigned type, uint64_t epoch,
               const char *peer, int state, const char *fmt, ...)
    RKV_PRINTF(6, 7);
void fo_set_role(rkv_fo *fo, int role, rkv_fo_actions *out);
void fo_follow(rkv_fo *fo, bool demote, rkv_fo_actions *out);
void fo_learn_epoch(rkv_fo *fo, uint64_t epoch, rkv_fo_actions *out);
bool fo_adopt_conf(rkv_fo *fo, const rkv_fo_conf *c, bool told,
                   rkv_fo_actions *out);
void fo_update_pause(rkv_fo *fo, rkv_fo_actions *out);
bool fo_is_self(const rkv_fo *fo, const char *id);
unsigned fo_voters(const rkv_fo *fo);
unsigned fo_needed_votes(const rkv_fo *fo);
bool fo_valid_id(const char *id);
void fo_copy_id(char dst[RKV_FO_ID_SIZE], const char *src);

/* failover_monitor.c */
fo_peer *fo_peer_find(rkv_fo *fo, const char *id);
void fo_monitor_tick(rkv_fo *fo, rkv_fo_actions *out);
void fo_on_ping(rkv_fo *fo, const rkv_fo_msg *m, rkv_fo_actions *out);
bool fo_is_forgotten(const rkv_fo *fo, const char *id);
void fo_remember_forgotten(rkv_fo *fo, const char *id);
void fo_add_tombstone(rkv_fo *fo, const rkv_fo_forgot *f, rkv_fo_actions *out);
bool fo_peer_reachable(const rkv_fo *fo, const fo_peer *p);
void fo_broadcast_ping(rkv_fo *fo, rkv_fo_actions *out);
void fo_ping_due(rkv_fo *fo, rkv_fo_actions *out);

/* failover_vote.c */
void fo_vote_tick(rkv_fo *fo, rkv_fo_actions *out);
void fo_start_election(rkv_fo *fo, bool manual, rkv_fo_actions *out);
void fo_on_vote_req(rkv_fo *fo, const rkv_fo_msg *m, rkv_fo_actions *out);
void fo_on_vote(rkv_fo *fo, const rkv_fo_msg *m, rkv_fo_actions *out);

/* failover_select.c */
void fo_run_tick(rkv_fo *fo, rkv_fo_actions *out);
void fo_run_abort(rkv_fo *fo, const char *why, rkv_fo_actions *out);
void fo_on_promote(rkv_fo *fo, const rkv_fo_msg *m, rkv_fo_actions *out);
void fo_on_failover_req(rkv_fo *fo, const rkv_fo_msg *m, rkv_fo_actions *out);
int fo_rank(rkv_fo *fo, rkv_fo_candidate *out_c, unsigned *n,
            int64_t *max_offset, unsigned *reports);
int fo_manual_start(rkv_fo *fo, const char *target, uint32_t timeout_ms,
                    rkv_fo_actions *out);
void fo_decision_apply(rkv_fo *fo, rkv_fo_verdict v, const char *pick,
                       const char *reason, rkv_fo_actions *out);

#endif /* RKV_FAILOVER_INT_H */
