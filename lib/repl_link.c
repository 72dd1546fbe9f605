/*
 * repl_link.c - what both ends of a link run first (docs/PROTOCOL.md
 * "Handshake", steps 1-3): HELLO, mutual AUTH by HMAC challenge-response,
 * and then the dispatch of every later frame to the primary or replica
 * side. A peer that has not authenticated can send HELLO and AUTH only, in
 * frames of at most RKV_LINK_MAX_PAYLOAD bytes.
 */
#include <stdio.h>
#include <string.h>

#include "failover.h"
#include "failover_node.h"
#include "repl.h"

size_t rkv_link_max_payload(rkv_link *l)
{
    if (!l->authed)
        return RKV_LINK_MAX_PAYLOAD;
    uint64_t max =
        atomic_load_explicit(&l->kv->max_bulk_len, memory_order_relaxed);
    return rkv_frame_limit((size_t)max) + 64;
}

/* Step 1: each side sends HELLO as soon as the connection is up. */
void rkv_link_start(rkv_link *l)
{
    replkv_t *kv = l->kv;
    if (rkv_auth_nonce(l->nonce) != 0) {
        rkv_link_close(l, REPLKV_LOG_WARNING, "no randomness for a nonce");
        return;
    }
    rkv_msg m = {.type = RKV_MSG_HELLO};
    m.hello.version = RKV_PROTO_VERSION;
    m.hello.node_id = (rkv_bytes){kv->repl->node_id, RKV_ID_LEN};
    m.hello.nonce = (rkv_bytes){l->nonce, RKV_NONCE_LEN};
    m.hello.port = (uint16_t)(kv->cfg.announce_port ? kv->cfg.announce_port
                                                    : kv->cfg.port);
    m.hello.flags = (l->peer ? RKV_HELLO_PEER : 0) |
                    (kv->fon != NULL && kv->cfg.witness ? RKV_HELLO_WITNESS
                                                        : 0);
    if (rkv_link_send(l, &m) != 0) {
        rkv_link_close(l, REPLKV_LOG_WARNING, "cannot encode HELLO");
        return;
    }
    rkv_link_flush(l);
}

/* Sends ERROR(code, text) and closes: the peer learns why. */
static int refuse(rkv_link *l, int code, const char *text)
{
    rkv_msg e = {.type = RKV_MSG_ERROR};
    e.error.code = code;
    e.error.message = (rkv_bytes){text, strlen(text)};
    rkv_link_send(l, &e);
    rkv_link_close(l, REPLKV_LOG_WARNING, "%s", text);
    return 1;
}

/* The secret this side proves: masterauth towards our primary,
 * requirepass towards replicas. */
static void link_secret(rkv_link *l, char *secret, size_t cap)
{
    replkv_t *kv = l->kv;
    if (l->peer && l->outgoing) {
        rkv_fonode_secret(kv, secret, cap);
        return;
    }
    pthread_mutex_lock(&kv->cfg_lock);
    snprintf(secret, cap, "%s",
             l->outgoing ? kv->cfg.masterauth : kv->cfg.requirepass);
    pthread_mutex_unlock(&kv->cfg_lock);
}

static void auth_ctx(rkv_link *l, rkv_auth *a, const char *secret)
{
    a->secret = secret;
    a->secret_len = strlen(secret);
    a->connected = l->outgoing;
    a->local_nonce = l->nonce;
    a->peer_nonce = l->peer_nonce;
    a->local_id = l->kv->repl->node_id;
    a->peer_id = l->peer_id;
}

/* Steps 2-3: answer the peer's HELLO with our proof; check the peer's. */
static int handshake(rkv_link *l, const rkv_msg *m)
{
    char secret[256];
    rkv_auth a;
    if (m->type == RKV_MSG_HELLO && !l->got_hello) {
        memcpy(l->peer_nonce, m->hello.nonce.p, RKV_NONCE_LEN);
        memcpy(l->peer_id, m->hello.node_id.p, RKV_ID_LEN);
        l->peer_id[RKV_ID_LEN] = '\0';
        if (memcmp(l->peer_id, l->kv->repl->node_id, RKV_ID_LEN) == 0)
            return refuse(l, REPLKV_EPROTO, "peer is this node itself");
        if (!l->outgoing) {
            rkv_repl *r = l->kv->repl;
            pthread_mutex_lock(&r->lock);
            l->port = m->hello.port;
            if ((m->hello.flags & RKV_HELLO_PEER) && !l->peer) {
                /* A failover link: off the replicas' list, so that it
                 * never counts as a replica nor is dropped with them. */
                for (rkv_link **pp = &r->replicas; *pp; pp = &(*pp)->next) {
                    if (*pp == l) {
                        *pp = l->next;
                        break;
                    }
                }
                l->peer = true;
                l->next = r->peer_links;
                r->peer_links = l;
            }
            pthread_mutex_unlock(&r->lock);
            if (l->peer && l->kv->fon == NULL)
                return refuse(l, REPLKV_ENOTSUP,
                              "failover link to a node without failover "
                              "(no sentinel monitor)");
        }
        l->got_hello = true;
        link_secret(l, secret, sizeof secret);
        auth_ctx(l, &a, secret);
        uint8_t proof[RKV_PROOF_LEN];
        if (rkv_auth_prove(&a, proof) != 0)
            return refuse(l, REPLKV_EIO, "cannot compute the AUTH proof");
        rkv_msg p = {.type = RKV_MSG_AUTH};
        p.auth.proof = (rkv_bytes){proof, RKV_PROOF_LEN};
        rkv_link_send(l, &p);
        rkv_link_flush(l);
        return 0;
    }
    if (m->type == RKV_MSG_AUTH && l->got_hello) {
        link_secret(l, secret, sizeof secret);
        auth_ctx(l, &a, secret);
        if (rkv_auth_verify(&a, m->auth.proof.p) != 0) {
            char why[400];
            snprintf(why, sizeof why, "authentication failed: %s",
                     replkv_last_error());
            return refuse(l, REPLKV_EAUTH, why);
        }
        l->authed = true;
        rkv_log(l->kv, REPLKV_LOG_VERBOSE,
                "%s: link %s %s:%d authenticated (peer %s)",
                l->peer ? "failover" : "replication",
                l->outgoing ? "to" : "from", l->addr, l->port, l->peer_id);
        if (l->peer) {
            if (l->outgoing)
                rkv_fonode_link_authed(l);
        } else if (l->outgoing && !rkv_fonode_may_sync_from(l->kv,
                                                           l->peer_id)) {
            char why[400];
            snprintf(why, sizeof why,
                     "%s:%d is node %.40s, not the primary the cluster "
                     "names: no sync",
                     l->addr, l->port, l->peer_id);
            return refuse(l, REPLKV_ESTATE, why);
        } else if (l->outgoing) {
            rkv_replica_on_authed(l);
        } else {
            pthread_mutex_lock(&l->kv->repl->lock);
            l->state = LINK_WAIT_PSYNC;
            pthread_mutex_unlock(&l->kv->repl->lock);
        }
        return 0;
    }
    if (m->type == RKV_MSG_ERROR) {
        rkv_link_close(l, REPLKV_LOG_WARNING, "peer refused: %.*s",
                       (int)m->error.message.len,
                       (const char *)m->error.message.p);
        return 1;
    }
    char why[128];
    snprintf(why, sizeof why, "%s before authentication",
             rkv_msg_name(m->type));
    return refuse(l, REPLKV_EAUTH, why);
}

int rkv_link_on_frame(rkv_link *l, const uint8_t *frame, size_t size,
                      const uint8_t *payload, size_t len)
{
    if (l->authed && l->peer && rkv_fo_msg_is_failover(payload, len)) {
        rkv_fonode_on_frame(l, payload, len);
        return l->closing ? 1 : 0;
    }
    rkv_msg m;
    int rc = rkv_msg_decode_with(&l->dec, payload, len, &m);
    if (rc == REPLKV_EVERSION) {
        char why[300];
        snprintf(why, sizeof why, "unsupported protocol version: %s",
                 replkv_last_error());
        return refuse(l, REPLKV_EVERSION, why);
    }
    if (rc != 0) {
        rkv_link_close(l, REPLKV_LOG_WARNING, "bad frame: %s: %s",
                       replkv_err_name(rc), replkv_last_error());
        return 1;
    }
    if (!l->authed)
        return handshake(l, &m);
    if (m.type == RKV_MSG_ERROR) {
        rkv_link_close(l, REPLKV_LOG_WARNING, "peer error %d: %.*s",
                       m.error.code, (int)m.error.message.len,
                       (const char *)m.error.message.p);
        return 1;
    }
    if (m.type == RKV_MSG_PING_LINK)
        return 0;
    if (l->peer) {
        rkv_link_close(l, REPLKV_LOG_WARNING, "%s on a failover link",
                       rkv_msg_name(m.type));
        return 1;
    }
    if (!l->outgoing && l->kv->fon != NULL && l->kv->cfg.witness)
        return refuse(l, REPLKV_ENOTSUP, "this node is a witness: it holds "
                                         "no data to replicate");
    if (!l->outgoing && !rkv_fonode_may_serve(l->kv))
        return refuse(l, REPLKV_ESTATE, "this node is not the cluster's "
                                        "primary: it serves no replica");
    if (l->outgoing)
        return rkv_replica_on_frame(l, &m, frame, size);
    return rkv_primary_on_msg(l, &m);
}
