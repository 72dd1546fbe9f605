/*
 * sim_check.c - the invariants of the simulated cluster (sim.c's header
 * comment lists them): the checks made at each promotion, convergence
 * after healing, and the end-of-run checks on writes.
 */
#include "sim.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static int find_id(const sim *s, const char *id)
{
    for (unsigned i = 0; i < s->n; i++)
        if (strcmp(s->nodes[i].id, id) == 0)
            return (int)i;
    return -1;
}

void sim_check_promotion(sim *s, unsigned i, uint64_t epoch)
{
    sim_node *nd = &s->nodes[i];
    unsigned slot = (unsigned)(epoch % 64);
    if (s->promo_epoch[slot] == epoch + 1 && s->promo_node[slot] != i)
        sim_fail(s, "I1: nodes %u and %u both promoted in epoch %" PRIu64,
                 s->promo_node[slot], i, epoch);
    bool first = s->promo_epoch[slot] != epoch + 1;
    s->promo_epoch[slot] = epoch + 1;
    s->promo_node[slot] = i;
    if (!first || epoch == 0)
        return;
    s->promotions++;
    rkv_fo_info info;
    rkv_fo_get_info(nd->fo, s->now, &info);
    int leader = find_id(s, info.conf.leader);
    /* I2: persisted votes of a majority for the leader. */
    unsigned votes = 0;
    for (unsigned k = 0; k < s->n; k++)
        if (s->vote_epoch[epoch % 64][k] == epoch + 1 &&
            s->vote_for[epoch % 64][k] == leader && leader >= 0)
            votes++;
    unsigned voters = 0;
    for (unsigned k = 0; k < s->n; k++)
        voters += !s->forgotten[k];
    if (votes < voters / 2 + 1)
        sim_fail(s, "I2: node %u promoted in epoch %" PRIu64
                    " with %u persisted votes for leader %d of %u",
                 i, epoch, votes, leader, voters);
    /* I4: every acknowledged write. */
    for (size_t k = 0; k < s->nw; k++) {
        const sim_write *w = &s->w[k];
        if (w->acked && !w->excused &&
            (w->pos >= nd->len || nd->log[w->pos] != w->id)) {
            sim_fail(s, "I4: node %u promoted in epoch %" PRIu64
                        " lacks acknowledged write %" PRIu32 " at %zu "
                        "(its offset %zu; written by %u in epoch %" PRIu64 ")",
                     i, epoch, w->id, w->pos, nd->len, w->node, w->epoch);
            break;
        }
    }
    /* I5: highest offset among frozen data nodes in the leader's reach. */
    if (leader >= 0 && s->nodes[leader].alive &&
        s->nodes[leader].last_decision_verdict != RKV_FO_PICK) {
        const rkv_fo_info *lv = &s->nodes[leader].decision_view;
        rkv_fo_info li;
        rkv_fo_get_info(s->nodes[leader].fo, s->now, &li);
        int oldp = find_id(s, li.last.old_primary);
        for (unsigned k = 0; k < s->n; k++) {
            sim_node *o = &s->nodes[k];
            if (k == i || (int)k == oldp || o->witness || !o->alive || o->fresh ||
                o->link_up || o->role == RKV_FO_ROLE_PRIMARY)
                continue;
            if ((unsigned)leader != k &&
                (s->cut[k][leader] || s->cut[leader][k]))
                continue;
            rkv_fo_info oi;
            rkv_fo_get_info(o->fo, s->now, &oi);
            if (o->hist < nd->hist)
                continue; /* older history: its offset does not compare */
            if (!oi.detached || oi.current_epoch < epoch ||
                s->p.priority[k] == 0 || s->p.priority[k] > s->p.priority[i])
                continue;
            bool known = (unsigned)leader == k;
            for (unsigned q = 0; q < lv->npeers; q++)
                if (strcmp(lv->peers[q].id, o->id) == 0 &&
                    lv->peers[q].state == RKV_FO_PEER_UP &&
                    lv->peers[q].offset == (int64_t)o->len)
                    known = true;
            if (!known)
                continue; /* the leader had not heard its final offset */
            if (s->now - o->link_down_since > 10 * (int64_t)s->p.down_after_ms)
                continue; /* Sentinel: disconnected from the primary too long */
            if (o->len > nd->len)
                sim_fail(s, "I5: node %u promoted in epoch %" PRIu64
                            " at offset %zu but node %u has %zu",
                         i, epoch, nd->len, k, o->len);
        }
    }
    /* I6: a fresh empty node while a primary exists. */
    if (nd->fresh && nd->len == 0)
        for (unsigned k = 0; k < s->n; k++)
            if (k != i && s->nodes[k].alive &&
                s->nodes[k].role == RKV_FO_ROLE_PRIMARY)
                sim_fail(s, "I6: fresh node %u promoted while %u is primary",
                         i, k);
}

/* ------------------------------------------------------------- checks */

int sim_converged(sim *s)
{
    int prim = -1;
    for (unsigned i = 0; i < s->n; i++) {
        sim_node *nd = &s->nodes[i];
        if (s->forgotten[i])
            continue;
        if (!nd->alive)
            return -1;
        if (nd->role == RKV_FO_ROLE_PRIMARY) {
            if (prim >= 0)
                return -1;
            prim = (int)i;
        }
    }
    if (prim < 0 || s->nodes[prim].writes_paused)
        return -1;
    for (unsigned i = 0; i < s->n; i++) {
        sim_node *nd = &s->nodes[i];
        if (s->forgotten[i])
            continue;
        rkv_fo_info info;
        rkv_fo_get_info(nd->fo, s->now, &info);
        if (strcmp(info.conf.primary, s->nodes[prim].id) != 0)
            return -1;
        if (nd->witness || (int)i == prim)
            continue;
        if (nd->role != RKV_FO_ROLE_REPLICA || !nd->link_up ||
            strcmp(nd->following, s->nodes[prim].id) != 0)
            return -1;
    }
    return prim;
}

int sim_settle(sim *s, int64_t max_ms)
{
    int64_t end = s->now + max_ms;
    while (s->now < end) {
        sim_run(s, 100);
        int p = sim_converged(s);
        if (p >= 0) {
            sim_run(s, 300); /* and it stays so */
            if (sim_converged(s) == p)
                return p;
        }
    }
    char buf[256];
    int k = 0;
    for (unsigned i = 0; i < s->n && k < (int)sizeof buf - 40; i++) {
        if (!s->nodes[i].alive) {
            k += snprintf(buf + k, sizeof buf - (size_t)k, " n%u:dead", i);
            continue;
        }
        rkv_fo_info info;
        rkv_fo_get_info(s->nodes[i].fo, s->now, &info);
        k += snprintf(buf + k, sizeof buf - (size_t)k, " n%u:%s/e%" PRIu64 "%s",
                      i, rkv_fo_role_name(s->nodes[i].role), info.conf.epoch,
                      s->nodes[i].link_up ? "+" : "");
    }
    sim_fail(s, "I7: no single primary %" PRId64 " ms after healing:%s",
             max_ms, buf);
    return -1;
}

void sim_check_final(sim *s, int primary)
{
    if (primary < 0)
        return;
    sim_node *p = &s->nodes[primary];
    for (size_t k = 0; k < s->nw; k++) {
        sim_write *w = &s->w[k];
        bool held = w->pos < p->len && p->log[w->pos] == w->id;
        if (held || w->excused) /* excused: gone with wiped disks */
            continue;
        if (w->acked) {
            sim_fail(s, "I4: acknowledged write %" PRIu32 " (node %u, epoch "
                        "%" PRIu64 ", offset %zu) lost",
                     w->id, w->node, w->epoch, w->pos);
            return;
        }
        if (!w->reported) {
            sim_fail(s, "I8: write %" PRIu32 " (node %u, epoch %" PRIu64
                        ", offset %zu) lost without a divergence report",
                     w->id, w->node, w->epoch, w->pos);
            return;
        }
    }
}
