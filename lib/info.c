/*
 * info.c - replkv_info(): the node's state as Redis INFO text, with Redis's
 * section and field names so that tools that parse INFO read it unchanged.
 */
#include "buf.h"
#include "node.h"
#include "failover_node.h"
#include "persist_node.h"
#include "repl.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

typedef struct text {
    rkv_buf b; /* NUL-terminated once anything was added */
    bool oom;
} text;

static void add(text *t, const char *fmt, ...) RKV_PRINTF(2, 3);
static void add(text *t, const char *fmt, ...)
{
    if (t->oom)
        return;
    va_list ap;
    va_start(ap, fmt);
    t->oom = rkv_buf_vprintf(&t->b, fmt, ap) != 0;
    va_end(ap);
}

static void human_bytes(char *out, size_t cap, uint64_t n)
{
    const char *units = "BKMGT";
    double v = (double)n;
    int u = 0;
    while (v >= 1024 && u < 4) {
        v /= 1024;
        u++;
    }
    if (u == 0)
        snprintf(out, cap, "%" PRIu64 "B", n);
    else
        snprintf(out, cap, "%.2f%c", v, units[u]);
}

typedef struct shard_totals {
    uint64_t keys, volatile_keys, hits, misses, expired, evicted;
    uint64_t held; /* bytes held from the system, free slots included */
} shard_totals;

static shard_totals sum_shards(replkv_t *kv)
{
    shard_totals t = {0};
    for (unsigned i = 0; i < RKV_SHARDS; i++) {
        rkv_shard *s = &kv->shards[i];
        pthread_mutex_lock(&s->lock);
        t.keys += rkv_ks_count(s->ks);
        t.volatile_keys += rkv_ks_volatile_count(s->ks);
        t.hits += s->hits;
        t.misses += s->misses;
        t.expired += s->expired;
        t.evicted += s->evicted;
        t.held += rkv_ks_memory(s->ks);
        pthread_mutex_unlock(&s->lock);
    }
    return t;
}

static void section_server(replkv_t *kv, text *t)
{
    uint64_t up = (rkv_mono_ms() - kv->start_mono_ms) / 1000;
    add(t,
        "# Server\r\nreplkv_version:%s\r\nprocess_id:%ld\r\n"
        "uptime_in_seconds:%" PRIu64 "\r\nuptime_in_days:%" PRIu64
        "\r\nhz:%d\r\nlru_clock:%u\r\n",
        REPLKV_VERSION_STRING, (long)getpid(), up, up / 86400,
        atomic_load(&kv->hz), atomic_load(&kv->lru_clock));
}

static void section_memory(replkv_t *kv, text *t, const shard_totals *tot)
{
    static const char *const policies[] = {
        "noeviction",      "allkeys-lru",  "volatile-lru", "allkeys-random",
        "volatile-random", "volatile-ttl"};
    uint64_t used = rkv_node_used_memory(kv);
    uint64_t max = atomic_load(&kv->maxmemory);
    char used_h[32], max_h[32];
    human_bytes(used_h, sizeof used_h, used);
    human_bytes(max_h, sizeof max_h, max);
    int policy = atomic_load(&kv->evict_policy);
    add(t,
        "# Memory\r\nused_memory:%" PRIu64 "\r\nused_memory_human:%s\r\n"
        "used_memory_per_key:%" PRIu64 "\r\nallocator_active:%" PRIu64
        "\r\nmaxmemory:%" PRIu64
        "\r\nmaxmemory_human:%s\r\nmaxmemory_policy:%s\r\n",
        used, used_h, tot->keys ? used / tot->keys : 0, tot->held, max, max_h,
        policies[policy]);
}

static void section_stats(text *t, const shard_totals *tot)
{
    add(t,
        "# Stats\r\nexpired_keys:%" PRIu64 "\r\nevicted_keys:%" PRIu64
        "\r\nkeyspace_hits:%" PRIu64 "\r\nkeyspace_misses:%" PRIu64 "\r\n",
        tot->expired, tot->evicted, tot->hits, tot->misses);
}

static void section_keyspace(text *t, const shard_totals *tot)
{
    add(t, "# Keyspace\r\n");
    if (tot->keys > 0)
        add(t, "db0:keys=%" PRIu64 ",expires=%" PRIu64 ",avg_ttl=0\r\n",
            tot->keys, tot->volatile_keys);
}

int replkv_info(replkv_t *kv, const char *section, char **out)
{
    if (kv == NULL || out == NULL)
        return rkv_fail(REPLKV_EINVAL, "info: NULL argument");
    *out = NULL;
    bool all = section == NULL || *section == '\0' ||
               strcasecmp(section, "all") == 0 ||
               strcasecmp(section, "default") == 0 ||
               strcasecmp(section, "everything") == 0;
    static const char *const known[] = {"server",      "memory",
                                        "stats",       "keyspace",
                                        "replication", "persistence",
                                        "sentinel"};
    bool want[7];
    bool any = false;
    for (int i = 0; i < 7; i++) {
        want[i] = all || strcasecmp(section, known[i]) == 0;
        any |= want[i];
    }
    if (!any)
        return rkv_fail(REPLKV_EINVAL, "info: unknown section '%s'", section);

    shard_totals tot = sum_shards(kv);
    text t = {0};
    const char *sep = "";
    if (want[0]) {
        section_server(kv, &t);
        sep = "\r\n";
    }
    if (want[1]) {
        add(&t, "%s", sep);
        section_memory(kv, &t, &tot);
        sep = "\r\n";
    }
    if (want[2]) {
        add(&t, "%s", sep);
        section_stats(&t, &tot);
        sep = "\r\n";
    }
    if (want[5]) {
        char *p = rkv_pnode_info_text(kv);
        if (p == NULL)
            t.oom = true;
        else
            add(&t, "%s%s", sep, p);
        free(p);
        sep = "\r\n";
    }
    if (want[4]) {
        char *r = rkv_repl_info_text(kv);
        if (r == NULL)
            t.oom = true;
        else
            add(&t, "%s%s", sep, r);
        free(r);
        sep = "\r\n";
    }
    if (want[6] && kv->fon != NULL) {
        char *f = rkv_fonode_info_text(kv);
        if (f == NULL)
            t.oom = true;
        else
            add(&t, "%s%s", sep, f);
        free(f);
        sep = "\r\n";
    }
    if (want[3]) {
        add(&t, "%s", sep);
        section_keyspace(&t, &tot);
    }
    if (!t.oom && t.b.data == NULL)
        add(&t, "%s", ""); /* "sentinel" with failover off: empty */
    if (t.oom || t.b.data == NULL) {
        rkv_buf_free(&t.b);
        return rkv_fail(REPLKV_ENOMEM, "info: out of memory");
    }
    *out = (char *)t.b.data;
    return 0;
}
