/*
 * sentinel.h - replkv-cache's Sentinel face: the commands a Redis Sentinel
 * answers (SENTINEL MASTERS, GET-MASTER-ADDR-BY-NAME, FAILOVER, ...), served
 * on each data node's sentinel-port and on a --sentinel witness's port, from
 * the library's view of the cluster (replkv_cluster_info_get).
 *
 * Every node of the cluster is also a "sentinel": data nodes and witnesses
 * alike vote and monitor, so SENTINEL SENTINELS lists every other node at
 * its Sentinel port.
 *
 * Ports: the library names nodes by their peer port (repl-port). With the
 * defaults, a data node's client port is peer - 10000 and its Sentinel
 * port peer + 10000; a witness's Sentinel port is peer - 10000 (its peer
 * port is its Sentinel port + 10000). Nodes that set repl-port or
 * sentinel-port by hand are shown at the ports these rules give.
 */
#ifndef CACHE_SENTINEL_H
#define CACHE_SENTINEL_H

#include <stdbool.h>

#include "reply.h"
#include "server.h"

/* A data node's client port for its peer port. */
int sentinel_data_port(int peer_port);

/* The Sentinel port of a node: its own for self, else from its peer
 * port (witness or data node). */
int sentinel_port_of(const cache_server *srv, const replkv_peer_info *p);

/* The cluster as this node sees it, malloc'ed (free()); NULL when failover
 * is off or out of memory. */
replkv_cluster_info *sentinel_cluster(cache_server *srv);

/* The primary's client address as clients should use it: the configured
 * primary of the cluster, or the monitor address while none is known.
 * Returns false when failover is off. */
bool sentinel_primary_addr(cache_server *srv, const replkv_cluster_info *ci,
                           char *host, size_t cap, int *port);

/* Runs a request that came in on a Sentinel port: PING, AUTH, HELLO,
 * CLIENT, INFO, ROLE, QUIT, SHUTDOWN and SENTINEL <subcommand>. */
void sentinel_dispatch(cache_client *c);

/* Appends the "# Sentinel" INFO section (Redis's fields, then the
 * library's). Nothing when failover is off. */
void sentinel_info_section(cache_server *srv, rbuf *t);

#endif /* CACHE_SENTINEL_H */
