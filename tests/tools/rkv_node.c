/*
 * rkv_node.c - one libreplkv node in its own process, for integration
 * tests. Options come from argv as "--name value" pairs (any option
 * replkv_opts_set() knows: --port 7001 --replicaof "127.0.0.1 7000").
 * Commands are read one per line on stdin; each gets exactly one line on
 * stdout:
 *
 *   set K V        -> OK | ERR <name> <detail>
 *   get K          -> V | (nil)
 *   del K          -> 0 | 1
 *   fill N [P]     -> OK   (sets P:0 .. P:N-1 = v:<i>; P defaults to "key")
 *   seqwrite FROM P -> "ack I" after each acknowledged set of P:I = v:I, for
 *                     I = FROM, FROM+1, ... without end (for crash tests:
 *                     the process is killed while it writes); a failed set
 *                     prints ERR and stops
 *   check N [P]    -> OK | MISSING I | WRONG I (P:0 .. P:N-1 = v:<i>)
 *   missing FROM TO [P] -> "N I1 I2 ...": the N indexes I in [FROM, TO)
 *                     whose P:I is absent or not v:<I> (P defaults to "key")
 *   snapshot       -> OK | ERR ... (replkv_snapshot)
 *   digest         -> 32 hex characters
 *   count          -> number of keys
 *   info SECTION   -> the INFO text on one line, fields separated by ' '
 *   wait N MS      -> replicas that acked (replkv_wait)
 *   waitoff OFF MS -> OK | ERR ... (replkv_wait_applied)
 *   offset         -> replkv_last_offset
 *   role           -> primary | replica | witness
 *   replicaof HOST PORT | replicaof no one -> OK | ERR ...
 *   failover [TARGET|-] [MS] -> OK | ERR ... (replkv_failover; TARGET is a
 *                     node id or host:port, "-" or nothing for the best
 *                     replica; MS 0 or nothing for failover-timeout)
 *   forget ID      -> OK | ERR ... (replkv_forget)
 *   id             -> this node's id (40 hex characters; "-" failover off)
 *   cluster        -> "epoch=E config_epoch=C primary=HOST:PORT
 *                     primary_id=ID role=R failover_running=0|1 fenced=0|1
 *                     writes_paused=0|1 voters=N failovers=N
 *                     peers=ID@HOST:PORT/STATE/KIND/ROLE/OFFSET,..."
 *                     (replkv_cluster_info_get; primary "-" when not known;
 *                     STATE up|sdown|odown|new|forgotten, KIND data|witness,
 *                     ROLE primary|replica|witness|unknown; this node first)
 *   dump P         -> "N K1=V1 K2=V2 ..." every key that starts with P and
 *                     its value (replkv_scan; a key may come twice)
 *   divergences    -> "N" then, for each divergence event so far,
 *                     " FROM-TO/NWRITES/complete|partial/K1,K2,..." (keys
 *                     as the event gave them, "-" for none)
 *   quit           -> bye (and exits 0)
 *
 * The log goes to stderr, one line each, prefixed with the UTC time
 * (HH:MM:SS.mmm) and the level. Each divergence event is also logged
 * there as one line starting with "[divergence] " (epoch, new primary,
 * and what "divergences" prints for it), and each role change as one line
 * starting with "[role] " (old and new role, epoch, primary address).
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "replkv.h"

/* "HH:MM:SS.mmm " (UTC), so the logs of several nodes can be merged. */
static void stamp(char *out, size_t cap)
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    snprintf(out, cap, "%02d:%02d:%02d.%03ld ", tm.tm_hour, tm.tm_min,
             tm.tm_sec, ts.tv_nsec / 1000000);
}

static void on_log(replkv_t *kv, const replkv_log_event *ev, void *ud)
{
    (void)kv;
    (void)ud;
    static const char *lv[] = {"debug", "verbose", "notice", "warning"};
    char t[32];
    stamp(t, sizeof t);
    fprintf(stderr, "%s[%s] %s\n", t, lv[ev->level & 3], ev->message);
}

/* Divergence events so far, each as the text "divergences" prints for it
 * (the callback runs on the node's I/O thread, the commands on main). */
static pthread_mutex_t div_lock = PTHREAD_MUTEX_INITIALIZER;
static char *div_text;
static size_t div_len;
static unsigned div_count;

static void div_append(char **t, size_t *len, const char *p, size_t n)
{
    char *g = realloc(*t, *len + n + 1);
    if (g == NULL)
        return;
    memcpy(g + *len, p, n);
    *len += n;
    g[*len] = '\0';
    *t = g;
}

static void on_divergence(replkv_t *kv, const replkv_divergence_event *ev,
                          void *ud)
{
    (void)kv;
    (void)ud;
    char head[160];
    char *t = NULL;
    size_t len = 0;
    int n = snprintf(head, sizeof head, " %" PRId64 "-%" PRId64 "/%" PRIu64
                     "/%s/", ev->from_offset, ev->to_offset, ev->nwrites,
                     ev->keys_complete ? "complete" : "partial");
    div_append(&t, &len, head, (size_t)n);
    for (size_t i = 0; i < ev->nkeys; i++) {
        if (i > 0)
            div_append(&t, &len, ",", 1);
        div_append(&t, &len, ev->keys[i], ev->key_lens[i]);
    }
    if (ev->nkeys == 0)
        div_append(&t, &len, "-", 1);
    fprintf(stderr,
            "[divergence] epoch %" PRIu64 " new_primary %s nkeys %zu%s\n",
            ev->epoch, ev->new_primary, ev->nkeys, t ? t : "");
    pthread_mutex_lock(&div_lock);
    if (t != NULL)
        div_append(&div_text, &div_len, t, len);
    div_count++;
    pthread_mutex_unlock(&div_lock);
    free(t);
}

static const char *role_name(int r);

static void on_role(replkv_t *kv, const replkv_role_event *ev, void *ud)
{
    (void)kv;
    (void)ud;
    char t[32];
    stamp(t, sizeof t);
    fprintf(stderr, "%s[role] %s -> %s epoch %" PRIu64 " primary %s:%d\n", t,
            role_name(ev->old_role), role_name(ev->new_role), ev->epoch,
            ev->primary_host[0] ? ev->primary_host : "-", ev->primary_port);
}

static const char *peer_state(replkv_peer_state s)
{
    switch (s) {
    case REPLKV_PEER_UP:
        return "up";
    case REPLKV_PEER_SDOWN:
        return "sdown";
    case REPLKV_PEER_ODOWN:
        return "odown";
    case REPLKV_PEER_NEW:
        return "new";
    case REPLKV_PEER_FORGOTTEN:
        return "forgotten";
    }
    return "unknown";
}

static const char *role_name(int r)
{
    return r == REPLKV_ROLE_PRIMARY   ? "primary"
           : r == REPLKV_ROLE_REPLICA ? "replica"
           : r == REPLKV_ROLE_WITNESS ? "witness"
                                      : "unknown";
}

static void print_cluster(replkv_t *kv)
{
    replkv_cluster_info *ci = calloc(1, sizeof *ci);
    if (ci == NULL) {
        printf("ERR REPLKV_ENOMEM\n");
        return;
    }
    ci->size = sizeof *ci;
    int rc = replkv_cluster_info_get(kv, ci);
    if (rc != 0) {
        printf("ERR %s %s\n", replkv_err_name(rc), replkv_last_error());
        free(ci);
        return;
    }
    printf("epoch=%" PRIu64 " config_epoch=%" PRIu64, ci->current_epoch,
           ci->config_epoch);
    if (ci->primary_port != 0)
        printf(" primary=%s:%d primary_id=%s", ci->primary_host,
               ci->primary_port, ci->primary_id);
    else
        printf(" primary=- primary_id=-");
    printf(" role=%s failover_running=%d fenced=%d writes_paused=%d "
           "voters=%u failovers=%" PRIu64 " peers=",
           role_name(replkv_role(kv)), ci->failover_running, ci->fenced,
           ci->writes_paused, ci->voters, ci->failovers);
    for (int i = 0; i < ci->npeers && i < 32; i++) {
        const replkv_peer_info *p = &ci->peers[i];
        printf("%s%s@%s:%d/%s/%s/%s/%" PRId64, i ? "," : "", p->node_id,
               p->host, p->port, peer_state(p->state),
               p->witness ? "witness" : "data", role_name(p->role),
               p->offset);
    }
    printf("\n");
    free(ci);
}

/* 0 when P:I holds v:<I>; else 1 (absent) or 2 (another value). */
static int seq_bad(replkv_t *kv, const char *p, long i)
{
    char k[256], v[64], got[64];
    int kl = snprintf(k, sizeof k, "%s:%ld", p, i);
    int vl = snprintf(v, sizeof v, "v:%ld", i);
    size_t gl;
    if (replkv_get(kv, k, (size_t)kl, got, sizeof got, &gl) != 0)
        return 1;
    return gl != (size_t)vl || memcmp(got, v, gl) != 0 ? 2 : 0;
}

static void print_missing(replkv_t *kv, long from, long to, const char *p)
{
    long n = 0, cap = 0, *bad = NULL;
    for (long i = from; i < to; i++) {
        if (seq_bad(kv, p, i) == 0)
            continue;
        if (n == cap) {
            long *g = realloc(bad, (size_t)(cap = cap ? 2 * cap : 64) *
                                       sizeof *bad);
            if (g == NULL) {
                printf("ERR REPLKV_ENOMEM\n");
                free(bad);
                return;
            }
            bad = g;
        }
        bad[n++] = i;
    }
    printf("%ld", n);
    for (long i = 0; i < n; i++)
        printf(" %ld", bad[i]);
    printf("\n");
    free(bad);
}

typedef struct dump_arg {
    replkv_t *kv;
    const char *prefix;
    size_t plen;
    FILE *out;
    long n;
} dump_arg;

static int dump_one(const void *key, size_t klen, void *ud)
{
    dump_arg *d = ud;
    char v[256];
    size_t vl;
    if (klen < d->plen || memcmp(key, d->prefix, d->plen) != 0 ||
        replkv_get(d->kv, key, klen, v, sizeof v - 1, &vl) != 0)
        return 0;
    fprintf(d->out, " %.*s=%.*s", (int)klen, (const char *)key, (int)vl, v);
    d->n++;
    return 0;
}

/* The count comes last on the wire but first in the answer: the pairs go
 * to a memory stream first. */
static void print_dump(replkv_t *kv, const char *prefix)
{
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    if (mem == NULL) {
        printf("ERR REPLKV_ENOMEM\n");
        return;
    }
    dump_arg d = {kv, prefix, strlen(prefix), mem, 0};
    uint64_t cursor = 0;
    do
        replkv_scan(kv, &cursor, 1000, dump_one, &d);
    while (cursor != 0);
    fclose(mem);
    printf("%ld%s\n", d.n, text ? text : "");
    free(text);
}

static void err(int rc)
{
    printf("ERR %s %s\n", replkv_err_name(rc), replkv_last_error());
}

int main(int argc, char **argv)
{
    replkv_opts *o = replkv_opts_new();
    replkv_opts_set_log(o, on_log, NULL);
    replkv_opts_set_divergence_cb(o, on_divergence, NULL);
    replkv_opts_set_role_cb(o, on_role, NULL);
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *name = argv[i];
        if (strncmp(name, "--", 2) == 0)
            name += 2;
        if (replkv_opts_set(o, name, argv[i + 1]) != 0) {
            fprintf(stderr, "rkv_node: %s\n", replkv_last_error());
            return 2;
        }
    }
    replkv_t *kv;
    int rc = replkv_open(o, &kv);
    replkv_opts_free(o);
    if (rc != 0) {
        fprintf(stderr, "rkv_node: open: %s\n", replkv_last_error());
        return 1;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("ready\n");
    char line[4096];
    while (fgets(line, sizeof line, stdin) != NULL) {
        line[strcspn(line, "\r\n")] = '\0';
        char *save = NULL;
        char *cmd = strtok_r(line, " ", &save);
        char *a = strtok_r(NULL, " ", &save);
        char *b = strtok_r(NULL, " ", &save);
        if (cmd == NULL) {
            printf("ERR empty\n");
        } else if (strcmp(cmd, "set") == 0 && a && b) {
            rc = replkv_set(kv, a, strlen(a), b, strlen(b), 0, 0);
            if (rc < 0)
                err(rc);
            else
                printf("OK\n");
        } else if (strcmp(cmd, "get") == 0 && a) {
            void *v;
            size_t n;
            rc = replkv_get_alloc(kv, a, strlen(a), &v, &n);
            if (rc == 0)
                printf("%s\n", (char *)v);
            else if (rc == REPLKV_ENOTFOUND)
                printf("(nil)\n");
            else
                err(rc);
            replkv_free(rc == 0 ? v : NULL);
        } else if (strcmp(cmd, "del") == 0 && a) {
            rc = replkv_del(kv, a, strlen(a));
            if (rc < 0)
                err(rc);
            else
                printf("%d\n", rc);
        } else if (strcmp(cmd, "fill") == 0 && a) {
            long n = atol(a);
            const char *p = b ? b : "key";
            char k[256], v[64];
            rc = 0;
            for (long i = 0; i < n && rc >= 0; i++) {
                int kl = snprintf(k, sizeof k, "%s:%ld", p, i);
                int vl = snprintf(v, sizeof v, "v:%ld", i);
                rc = replkv_set(kv, k, (size_t)kl, v, (size_t)vl, 0, 0);
            }
            if (rc < 0)
                err(rc);
            else
                printf("OK\n");
        } else if (strcmp(cmd, "seqwrite") == 0 && a && b) {
            char k[256], v[64];
            for (long i = atol(a);; i++) {
                int kl = snprintf(k, sizeof k, "%s:%ld", b, i);
                int vl = snprintf(v, sizeof v, "v:%ld", i);
                rc = replkv_set(kv, k, (size_t)kl, v, (size_t)vl, 0, 0);
                if (rc < 0) {
                    err(rc);
                    break;
                }
                printf("ack %ld\n", i);
                fflush(stdout);
            }
        } else if (strcmp(cmd, "check") == 0 && a) {
            long n = atol(a), i = 0;
            int bad = 0;
            for (; i < n && bad == 0; i++)
                bad = seq_bad(kv, b ? b : "key", i);
            if (bad == 0)
                printf("OK\n");
            else
                printf("%s %ld\n", bad == 1 ? "MISSING" : "WRONG", i - 1);
        } else if (strcmp(cmd, "missing") == 0 && a && b) {
            char *c = strtok_r(NULL, " ", &save);
            print_missing(kv, atol(a), atol(b), c ? c : "key");
        } else if (strcmp(cmd, "snapshot") == 0) {
            rc = replkv_snapshot(kv);
            if (rc < 0)
                err(rc);
            else
                printf("OK\n");
        } else if (strcmp(cmd, "digest") == 0) {
            unsigned char d[16];
            replkv_digest(kv, d);
            for (int i = 0; i < 16; i++)
                printf("%02x", d[i]);
            printf("\n");
        } else if (strcmp(cmd, "count") == 0) {
            uint64_t n;
            replkv_count(kv, &n);
            printf("%" PRIu64 "\n", n);
        } else if (strcmp(cmd, "info") == 0) {
            char *t;
            rc = replkv_info(kv, a, &t);
            if (rc != 0) {
                err(rc);
            } else {
                for (char *c = t; *c; c++)
                    if (*c == '\r' || *c == '\n')
                        *c = ' ';
                printf("%s\n", t);
                replkv_free(t);
            }
        } else if (strcmp(cmd, "wait") == 0 && a && b) {
            rc = replkv_wait(kv, atoi(a), atoll(b));
            if (rc < 0)
                err(rc);
            else
                printf("%d\n", rc);
        } else if (strcmp(cmd, "waitoff") == 0 && a && b) {
            rc = replkv_wait_applied(kv, atoll(a), atoll(b));
            if (rc < 0)
                err(rc);
            else
                printf("OK\n");
        } else if (strcmp(cmd, "offset") == 0) {
            int64_t off;
            replkv_last_offset(kv, &off);
            printf("%" PRId64 "\n", off);
        } else if (strcmp(cmd, "role") == 0) {
            printf("%s\n", role_name(replkv_role(kv)));
        } else if (strcmp(cmd, "replicaof") == 0 && a && b) {
            if (strcmp(a, "no") == 0 && strcmp(b, "one") == 0)
                rc = replkv_replicaof_none(kv);
            else
                rc = replkv_replicaof(kv, a, atoi(b));
            if (rc < 0)
                err(rc);
            else
                printf("OK\n");
        } else if (strcmp(cmd, "failover") == 0) {
            const char *target = a && strcmp(a, "-") != 0 ? a : NULL;
            rc = replkv_failover(kv, target, b ? atoll(b) : 0);
            if (rc < 0)
                err(rc);
            else
                printf("OK\n");
        } else if (strcmp(cmd, "forget") == 0 && a) {
            rc = replkv_forget(kv, a);
            if (rc < 0)
                err(rc);
            else
                printf("OK\n");
        } else if (strcmp(cmd, "id") == 0) {
            replkv_cluster_info *ci = calloc(1, sizeof *ci);
            if (ci != NULL) {
                ci->size = sizeof *ci;
                replkv_cluster_info_get(kv, ci);
            }
            printf("%s\n", ci && ci->node_id[0] ? ci->node_id : "-");
            free(ci);
        } else if (strcmp(cmd, "cluster") == 0) {
            print_cluster(kv);
        } else if (strcmp(cmd, "dump") == 0 && a) {
            print_dump(kv, a);
        } else if (strcmp(cmd, "divergences") == 0) {
            pthread_mutex_lock(&div_lock);
            printf("%u%s\n", div_count, div_text ? div_text : "");
            pthread_mutex_unlock(&div_lock);
        } else if (strcmp(cmd, "quit") == 0) {
            printf("bye\n");
            break;
        } else {
            printf("ERR unknown command\n");
        }
    }
    replkv_close(kv);
    return 0;
}
