/*
 * replication.h - replkv-cache's side of replication: the port convention
 * between what clients see and what the library's peers use, clients blocked in
 * WAIT, and the replication INFO section shown to clients.
 *
 * Ports: the library's peers listen on repl-port, by default the client
 * port + 10000 (CACHE_REPL_PORT_OFFSET). Clients, redis-cli, redis-py and
 * Sentinel only ever see client ports: REPLICAOF takes the primary's client
 * port, and INFO / ROLE translate the library's peer ports back.
 */
#ifndef CACHE_REPLICATION_H
#define CACHE_REPLICATION_H

#include <stdint.h>

#include "reply.h"
#include "server.h"

/* The client port that a peer port stands for on this server's primary
 * (INFO master_port, ROLE) and on its replicas (slaveN port=, ROLE):
 * the port REPLICAOF was given when the library's port is what we made of
 * it, else peer_port - 10000 (0 stays 0). */
int repl_primary_client_port(cache_server *srv, int peer_port);
int repl_replica_client_port(int peer_port);

/* The Redis ROLE state of a replica: "connect", "connecting",
 * "handshake", "sync" or "connected". */
const char *repl_replica_state(const replkv_repl_info *in);

/* The node's replication state with every connected replica, not only the
 * first 16: in->replicas_cap is 16 but *all (release both with
 * repl_info_free) holds *nall entries. NULL when out of memory or the
 * library refuses. */
typedef struct repl_snapshot {
    replkv_repl_info in;
    replkv_replica_info *all;
    size_t nall;
} repl_snapshot;
repl_snapshot *repl_info_fetch(replkv_t *kv);
void repl_info_free(repl_snapshot *s);

/* Appends the "# Replication" section, with client ports. */
void repl_info_section(cache_server *srv, rbuf *t);

/* Blocks c in WAIT until n replicas acknowledged c->woff or the monotonic
 * deadline_ms passes (0: no limit). Requests c sends meanwhile are read
 * but run only after the reply. */
void repl_block_wait(cache_client *c, long long n, uint64_t deadline_ms);

/* Forgets a blocked client that is being closed (no reply). */
void repl_block_remove(cache_client *c);

/* Answers every blocked client with Redis's UNBLOCKED error and closes it
 * after the reply, as Redis does when a primary turns into a replica. */
void repl_unblock_all(cache_server *srv);

/* Number of online replicas whose acked offset is at least off, from s. */
int repl_count_acked(const repl_snapshot *s, int64_t off);

/* Called by the server cron (every 100 ms) and once at startup: tracks the
 * link to the primary for master_link_down_since_seconds, sets the log's
 * role mark, and logs role changes, the link to the primary going up or
 * down and replicas coming online or going away, each once, with client
 * ports. */
void repl_cron(cache_server *srv);

/* A role event from the library (events.c), on the loop thread: with
 * failover on the cluster moves this node between primary and replica.
 * Records the primary that CONFIG GET replicaof, INFO and ROLE name
 * (host and peer port; "" and 0 when unknown), answers clients in WAIT
 * with UNBLOCKED when this node stops being the primary, and logs the
 * change with its configuration epoch. */
void repl_on_role(cache_server *srv, int role, const char *host,
                  int peer_port, uint64_t epoch);

/* Closes the WAIT timer (server_stop). */
void repl_stop(cache_server *srv);

#endif /* CACHE_REPLICATION_H */
