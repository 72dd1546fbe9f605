/*
 * sim.h - a deterministic simulated cluster that drives the failover core
 * (lib/failover.h): N nodes (data nodes and witnesses), a simulated clock,
 * a network that drops, delays, duplicates and partitions messages (one
 * way or both ways, every message going through the real wire encoding),
 * node kills and restarts with or without their persisted state, process
 * pauses, and a model of replication: a primary's log grows with writes, a
 * replica copies it while its link is up, a write held by a majority of
 * data nodes is acknowledged (a simulated replkv_wait).
 *
 * The invariants are checked as the simulation runs; the first violation is
 * kept in failure (with the time) and the run goes on quietly. Everything
 * is a function of the seed.
 */
#ifndef RKV_SIM_H
#define RKV_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "failover.h"

#define SIM_MAX 9

typedef struct sim sim;

/* The application's failover-decision callback, for sims with
 * decision_hook set. Fill pick (RKV_FO_PICK) and reason. */
typedef rkv_fo_verdict (*sim_decide_fn)(sim *s, unsigned node,
                                        const rkv_fo_candidate *c, unsigned n,
                                        char pick[RKV_FO_ID_SIZE],
                                        char *reason, size_t cap);

typedef struct sim_params {
    unsigned ndata, nwitness;
    unsigned quorum;
    uint32_t ping_ms, down_after_ms, failover_timeout_ms;
    unsigned parallel_syncs;
    bool self_fence;
    bool decision_hook;
    sim_decide_fn decide;
    uint32_t priority[SIM_MAX]; /* 0 -> 100 unless prio_zero_ok */
    bool prio_zero_ok;
    unsigned drop_pm, dup_pm;   /* per mille */
    unsigned delay_min, delay_max;
    unsigned write_pm;          /* chance per 5 ms step that a primary writes */
    unsigned catchup;           /* entries a replica copies per step */
} sim_params;

typedef struct sim_write {
    uint32_t id;
    unsigned node;
    uint64_t epoch;
    size_t pos;
    bool acked, excused, reported;
} sim_write;

typedef struct sim_node {
    char id[RKV_FO_ID_SIZE];
    rkv_fo_addr addr;
    bool witness, alive;
    int64_t paused_until;
    rkv_fo *fo;
    bool has_state;
    rkv_fo_state state;
    /* the replication model (host side) */
    uint32_t *log;
    size_t len, cap;
    int role;
    uint64_t primary_epoch;
    uint64_t hist; /* epoch of the primary whose history the log is */
    size_t promo_len; /* len when last promoted */
    bool writes_paused, detached, link_up, fresh, ack, count_acks;
    char following[RKV_FO_ID_SIZE];
    int64_t link_down_since;
    size_t acked_upto;
    /* what the core told the application */
    unsigned n_div, n_decisions, n_vetoes, n_role;
    int64_t last_decision_verdict;
    rkv_fo_info decision_view; /* its view when it last chose */
} sim_node;

typedef struct sim_msg {
    int64_t at;
    unsigned from, to;
    size_t len;
    uint8_t *bytes; /* one encoded frame */
} sim_msg;

struct sim {
    sim_params p;
    uint64_t seed;
    rkv_rng rng;
    int64_t now;
    unsigned n;
    sim_node nodes[SIM_MAX];
    bool cut[SIM_MAX][SIM_MAX]; /* cut[a][b]: a's messages do not reach b */
    sim_msg *q;
    size_t nq, capq;
    sim_write *w;
    size_t nw, capw;
    uint64_t epoch_writer[64]; /* epoch % 64 -> 1 + node, with epoch */
    uint64_t epoch_writer_epoch[64];
    uint64_t promo_epoch[64];
    unsigned promo_node[64];
    unsigned promotions, elections_won;
    uint64_t vote_epoch[64][SIM_MAX]; /* persisted votes: epoch + 1 ... */
    int vote_for[64][SIM_MAX];        /* ... for this node */
    bool forgotten[SIM_MAX]; /* removed with sim_forget: not a voter */
    char failure[512];
    bool trace;
    void *ud; /* for tests */
};

/* A sim with the defaults filled for every 0 field of p (ping 100 ms,
 * down-after 500, failover-timeout 2000, quorum = majority of voters,
 * delay 1..20 ms, writes every ~25 ms). */
sim *sim_new(const sim_params *p, uint64_t seed);
void sim_free(sim *s);

/* Advances the clock by ms, in 5 ms steps. */
void sim_run(sim *s, int64_t ms);

void sim_kill(sim *s, unsigned i);
void sim_restart(sim *s, unsigned i, bool keep_state);
void sim_pause(sim *s, unsigned i, int64_t ms);
void sim_cut(sim *s, unsigned from, unsigned to, bool cut);
/* Cuts both ways between the nodes in side[0..nside) and the others. */
void sim_partition(sim *s, const unsigned *side, unsigned nside);
/* Restores every link and restarts every dead node with its state. */
void sim_heal(sim *s);

int sim_request_failover(sim *s, unsigned at, int target);
int sim_forget(sim *s, unsigned at, unsigned who);
/* Hands m to node to's core now, as if it had just arrived. */
void sim_inject(sim *s, unsigned to, const rkv_fo_msg *m);

/* The one live node acting as primary that every live node's core agrees
 * on, with every live data node replicating from it with its link up and
 * no writes paused; -1 if the cluster is not there. */
int sim_converged(sim *s);

/* Runs until sim_converged() (checked every 100 ms) or max_ms; returns the
 * primary or -1, and records a failure on -1. */
int sim_settle(sim *s, int64_t max_ms);

/* End-of-run checks: acknowledged writes on the final primary, lost writes
 * reported as divergence. */
void sim_check_final(sim *s, int primary);

/* What random schedules exercised, summed over runs. */
typedef struct sim_stats {
    unsigned long runs, promotions, with_failover, divergences, wipes,
        kills, partitions, manual, vetoes, writes, acked;
} sim_stats;

/* A whole random schedule from seed: cluster shape, faults, heal, checks.
 * Returns true if every invariant held; else err says which (with seed).
 * st (may be NULL) accumulates what happened. */
bool sim_random_schedule(uint64_t seed, char *err, size_t cap, sim_stats *st);

/* I2, I4, I5, I6 at a PROMOTE_SELF of node i (sim_check.c). */
void sim_check_promotion(sim *s, unsigned i, uint64_t epoch);

void sim_fail(sim *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif /* RKV_SIM_H */
