/*
 * replicas.c - a primary and a replica in one process: the replica connects
 * to the primary over 127.0.0.1, a write on the primary is read back on the
 * replica once it has applied it (read-your-writes by offset), and a write
 * on the replica is refused with the primary's address.
 */
#include <replkv.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Opens a node listening on a free port near base (another program may
 * hold one), as a replica of primary_port when that is not 0. */
static replkv_t *open_node(int base, int primary_port, int *port)
{
    for (int p = base; p < base + 50; p++) {
        replkv_opts *o = replkv_opts_new();
        char v[64];
        snprintf(v, sizeof v, "%d", p);
        replkv_opts_set(o, "port", v);
        if (primary_port != 0) {
            snprintf(v, sizeof v, "127.0.0.1 %d", primary_port);
            replkv_opts_set(o, "replicaof", v);
        }
        replkv_t *kv;
        int rc = replkv_open(o, &kv);
        replkv_opts_free(o);
        if (rc == 0) {
            *port = p;
            return kv;
        }
        if (rc != REPLKV_ENET) { /* port in use is ENET: try the next */
            fprintf(stderr, "open: %s\n", replkv_last_error());
            return NULL;
        }
    }
    fprintf(stderr, "open: no free port from %d\n", base);
    return NULL;
}

int main(void)
{
    int base = 20000 + (int)(getpid() % 20000);
    int pport, rport;
    replkv_t *primary = open_node(base, 0, &pport);
    if (primary == NULL)
        return 1;
    replkv_t *replica = open_node(pport + 1, pport, &rport);
    if (replica == NULL) {
        replkv_close(primary);
        return 1;
    }
    printf("primary on 127.0.0.1:%d, replica on 127.0.0.1:%d\n", pport,
           rport);

    const char *key = "city", *val = "Lisbon";
    replkv_set(primary, key, strlen(key), val, strlen(val), 0, 0);
    int64_t off;
    replkv_last_offset(primary, &off);

    /* Read-your-writes: wait until the replica applied that offset. */
    int rc = replkv_wait_applied(replica, off, 5000);
    char buf[64];
    size_t len = 0;
    if (rc == 0)
        rc = replkv_get(replica, key, strlen(key), buf, sizeof buf, &len);
    if (rc != 0) {
        fprintf(stderr, "replica: %s\n", replkv_strerror(rc));
    } else {
        printf("replica reads %s = %.*s (applied offset %lld)\n", key,
               (int)len, buf, (long long)off);
        rc = replkv_set(replica, key, strlen(key), "x", 1, 0, 0);
        printf("write on the replica: %s (%s)\n", replkv_err_name(rc),
               replkv_last_error());
        rc = rc == REPLKV_EREADONLY ? 0 : 1;
    }
    replkv_close(replica);
    replkv_close(primary);
    return rc == 0 ? 0 : 1;
}
