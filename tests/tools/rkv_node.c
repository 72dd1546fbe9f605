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
 *   snapshot       -> OK | ERR ... (replkv_snapshot)
 *   digest         -> 32 hex characters
 *   count          -> number of keys
 *   info SECTION   -> the INFO text on one line, fields separated by ' '
 *   wait N MS      -> replicas that acked (replkv_wait)
 *   waitoff OFF MS -> OK | ERR ... (replkv_wait_applied)
 *   offset         -> replkv_last_offset
 *   role           -> primary | replica
 *   replicaof HOST PORT | replicaof no one -> OK | ERR ...
 *   quit           -> bye (and exits 0)
 *
 * The log goes to stderr, one line each, prefixed with the level.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "replkv.h"

static void on_log(replkv_t *kv, const replkv_log_event *ev, void *ud)
{
    (void)kv;
    (void)ud;
    static const char *lv[] = {"debug", "verbose", "notice", "warning"};
    fprintf(stderr, "[%s] %s\n", lv[ev->level & 3], ev->message);
}

static void err(int rc)
{
    printf("ERR %s %s\n", replkv_err_name(rc), replkv_last_error());
}

int main(int argc, char **argv)
{
    replkv_opts *o = replkv_opts_new();
    replkv_opts_set_log(o, on_log, NULL);
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
            long n = atol(a);
            const char *p = b ? b : "key";
            char k[256], v[64], got[64];
            long bad = -1;
            const char *what = "OK";
            for (long i = 0; i < n && bad < 0; i++) {
                int kl = snprintf(k, sizeof k, "%s:%ld", p, i);
                int vl = snprintf(v, sizeof v, "v:%ld", i);
                size_t gl;
                rc = replkv_get(kv, k, (size_t)kl, got, sizeof got, &gl);
                if (rc != 0) {
                    bad = i;
                    what = "MISSING";
                } else if (gl != (size_t)vl || memcmp(got, v, gl) != 0) {
                    bad = i;
                    what = "WRONG";
                }
            }
            if (bad < 0)
                printf("OK\n");
            else
                printf("%s %ld\n", what, bad);
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
            printf("%s\n", replkv_role(kv) == REPLKV_ROLE_REPLICA ? "replica"
                                                                  : "primary");
        } else if (strcmp(cmd, "replicaof") == 0 && a && b) {
            if (strcmp(a, "no") == 0 && strcmp(b, "one") == 0)
                rc = replkv_replicaof_none(kv);
            else
                rc = replkv_replicaof(kv, a, atoi(b));
            if (rc < 0)
                err(rc);
            else
                printf("OK\n");
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
