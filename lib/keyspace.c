/*
 * keyspace.c - the storage core: a chained hash table of key/value entries
 * with incremental rehash, TTLs, LRU clocks, a reverse-binary scan cursor,
 * sampling for eviction, active expiry and the keyspace digest.
 *
 * Entry layout, one allocation from the table's slab allocator:
 *
 *     next (8) | meta (4: LRU clock low 24 bits, flags high 8) |
 *     klen (4) | vlen (4) | [expiry (8), only with F_EXPIRE] | key | value
 *
 * 16-byte keys and 100-byte values make 136 bytes, an exact slab class; the
 * expiry is paid for only by keys that have one, which is why giving a key
 * its first expiry (or removing it) may move the entry.
 *
 * Buckets are power-of-two arrays of entry pointers. A resize allocates the
 * new array and then moves one old bucket per find/put/remove (Redis's
 * incremental rehash), so that no caller pays for the whole move. While it
 * runs, tab[0] is the old table, drained from index rehashidx upward (every
 * bucket below it is empty) and tab[1] the new one, which gets all inserts.
 */
#include "keyspace.h"

#include <stdlib.h>
#include <string.h>

#define XXH_INLINE_ALL
#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#include "slab.h"

#define F_EXPIRE 1u
#define FLAG_SHIFT 24

struct rkv_entry {
    rkv_entry *next;
    uint32_t meta;
    uint32_t klen;
    uint32_t vlen;
    unsigned char data[]; /* [expiry] key value */
};

#define ENTRY_HDR offsetof(struct rkv_entry, data)

/* Initial and minimum table size: small, because a node keeps many shards. */
#define INIT_BUCKETS 4u
/* Buckets moved per operation, and empty buckets skipped per moved one
 * (Redis's empty_visits), so that a step is short even in a sparse table. */
#define STEP_EMPTY 10u
/* Steps a put makes when the new table is already full, so that a rehash
 * started by a shrink cannot fall behind a burst of inserts. */
#define STEP_CATCHUP 8u

struct rkv_ks {
    rkv_entry **tab[2];
    size_t mask[2];
    size_t rehashidx;
    size_t count;
    size_t nvolatile;
    size_t min_buckets; /* rkv_ks_reserve: no shrink below this */
    uint64_t seed;
    rkv_slab slab;
};

/* ------------------------------------------------------------ entries */

static inline bool ent_has_exp(const rkv_entry *e)
{
    return (e->meta >> FLAG_SHIFT) & F_EXPIRE;
}

static inline size_t ent_koff(const rkv_entry *e)
{
    /* 8 when F_EXPIRE (bit 24) is set, without a branch. */
    return (e->meta >> (FLAG_SHIFT - 3)) & sizeof(int64_t);
}

static inline unsigned char *ent_key(const rkv_entry *e)
{
    return (unsigned char *)e->data + ent_koff(e);
}

static inline size_t ent_size(const rkv_entry *e)
{
    return ENTRY_HDR + ent_koff(e) + e->klen + e->vlen;
}

/* Entry size for the given shape, or 0 when a length does not fit the
 * 32-bit fields (or, on a 32-bit host, the address space). */
static size_t entry_size(size_t klen, size_t vlen, bool exp)
{
    if ((uint64_t)klen > UINT32_MAX || (uint64_t)vlen > UINT32_MAX)
        return 0;
    size_t fixed = ENTRY_HDR + (exp ? sizeof(int64_t) : 0);
    if (klen > SIZE_MAX - fixed || vlen > SIZE_MAX - fixed - klen)
        return 0;
    return fixed + klen + vlen;
}

/* Key equality for n == the entry's klen. Keys up to 16 bytes (the common
 * case) compare with two overlapping loads instead of a memcmp call. */
static inline bool key_eq(const unsigned char *a, const void *key, size_t n)
{
    const unsigned char *b = key;
    if (n >= 8 && n <= 16) {
        uint64_t a0, a1, b0, b1;
        memcpy(&a0, a, 8);
        memcpy(&b0, b, 8);
        memcpy(&a1, a + n - 8, 8);
        memcpy(&b1, b + n - 8, 8);
        return ((a0 ^ b0) | (a1 ^ b1)) == 0;
    }
    if (n >= 4 && n < 8) {
        uint32_t a0, a1, b0, b1;
        memcpy(&a0, a, 4);
        memcpy(&b0, b, 4);
        memcpy(&a1, a + n - 4, 4);
        memcpy(&b1, b + n - 4, 4);
        return ((a0 ^ b0) | (a1 ^ b1)) == 0;
    }
    return n == 0 || memcmp(a, b, n) == 0;
}

static inline bool ent_match(const rkv_entry *e, const void *key, size_t klen)
{
    return e->klen == klen && key_eq(ent_key(e), key, klen);
}

static inline void set_flags(rkv_entry *e, bool exp)
{
    e->meta = (e->meta & RKV_LRU_MAX) | ((exp ? F_EXPIRE : 0u) << FLAG_SHIFT);
}

static inline void put_exp(rkv_entry *e, int64_t t)
{
    memcpy(e->data, &t, sizeof(t));
}

const void *rkv_entry_key(const rkv_entry *e, size_t *klen)
{
    if (klen)
        *klen = e->klen;
    return ent_key(e);
}

const void *rkv_entry_val(const rkv_entry *e, size_t *vlen)
{
    if (vlen)
        *vlen = e->vlen;
    return ent_key(e) + e->klen;
}

int64_t rkv_entry_expire(const rkv_entry *e)
{
    int64_t t = 0;
    if (ent_has_exp(e))
        memcpy(&t, e->data, sizeof(t));
    return t;
}

uint32_t rkv_entry_lru(const rkv_entry *e)
{
    return e->meta & RKV_LRU_MAX;
}

void rkv_entry_touch(rkv_entry *e, uint32_t lru_clock)
{
    e->meta = (e->meta & ~(uint32_t)RKV_LRU_MAX) | (lru_clock & RKV_LRU_MAX);
}

/* ------------------------------------------------------------ table */

uint64_t rkv_ks_hash(const rkv_ks *ks, const void *key, size_t klen)
{
    return XXH3_64bits_withSeed(key, klen, ks->seed);
}

static inline bool rehashing(const rkv_ks *ks)
{
    return ks->tab[1] != NULL;
}

static rkv_entry **table_alloc(rkv_ks *ks, size_t n)
{
    if (n > SIZE_MAX / sizeof(rkv_entry *))
        return NULL;
    return rkv_slab_sys_alloc(&ks->slab, n * sizeof(rkv_entry *), true);
}

static void table_free(rkv_ks *ks, rkv_entry **t, size_t mask)
{
    rkv_slab_sys_free(&ks->slab, t, (mask + 1) * sizeof(rkv_entry *));
}

rkv_ks *rkv_ks_new(uint64_t hash_seed)
{
    rkv_ks *ks = malloc(sizeof(*ks));
    if (!ks)
        return NULL;
    memset(ks, 0, sizeof(*ks));
    ks->seed = hash_seed;
    rkv_slab_init(&ks->slab);
    ks->tab[0] = table_alloc(ks, INIT_BUCKETS);
    if (!ks->tab[0]) {
        free(ks);
        return NULL;
    }
    ks->mask[0] = INIT_BUCKETS - 1;
    return ks;
}

void rkv_ks_free(rkv_ks *ks)
{
    if (!ks)
        return;
    rkv_slab_release_all(&ks->slab);
    table_free(ks, ks->tab[0], ks->mask[0]);
    table_free(ks, ks->tab[1], ks->mask[1]);
    free(ks);
}

/* Starts moving to a table of n buckets. Out of memory just means no resize
 * yet: the table stays correct, only its chains get longer. */
static void start_resize(rkv_ks *ks, size_t n)
{
    rkv_entry **t = table_alloc(ks, n);
    if (!t)
        return;
    ks->tab[1] = t;
    ks->mask[1] = n - 1;
    ks->rehashidx = 0;
}

static void finish_rehash(rkv_ks *ks)
{
    table_free(ks, ks->tab[0], ks->mask[0]);
    ks->tab[0] = ks->tab[1];
    ks->mask[0] = ks->mask[1];
    ks->tab[1] = NULL;
    ks->mask[1] = 0;
    ks->rehashidx = 0;
}

/* Old buckets drained per discard: the drained part of a big old table goes
 * back to the system as the rehash moves on, so that freeing it at the end
 * does not stall one caller for a millisecond (measured with 16 MiB). */
#define DISCARD_BUCKETS ((size_t)32768)

/* Moves past old bucket rehashidx; false when that finished the rehash. */
static bool rehash_advance(rkv_ks *ks)
{
    size_t i = ++ks->rehashidx, osize = ks->mask[0] + 1;
    if (i == osize) {
        finish_rehash(ks);
        return false;
    }
    if ((i & (DISCARD_BUCKETS - 1)) == 0)
        rkv_slab_sys_discard(&ks->slab, ks->tab[0], osize * sizeof(rkv_entry *),
                             (i - DISCARD_BUCKETS) * sizeof(rkv_entry *),
                             DISCARD_BUCKETS * sizeof(rkv_entry *));
    return true;
}

/* Moves up to n non-empty buckets from the old table to the new one,
 * looking at no more than n * STEP_EMPTY empty ones. */
static void rehash_step(rkv_ks *ks, unsigned n)
{
    size_t empty = (size_t)n * STEP_EMPTY;
    rkv_entry **old = ks->tab[0], **nt = ks->tab[1];
    size_t nmask = ks->mask[1];
    while (n--) {
        while (!old[ks->rehashidx]) {
            if (!rehash_advance(ks) || --empty == 0)
                return;
        }
        rkv_entry *e = old[ks->rehashidx];
        old[ks->rehashidx] = NULL;
        while (e) {
            rkv_entry *next = e->next;
            size_t i = rkv_ks_hash(ks, ent_key(e), e->klen) & nmask;
            e->next = nt[i];
            nt[i] = e;
            e = next;
        }
        if (!rehash_advance(ks))
            return;
#if defined(__GNUC__)
        /* The next step comes with the next operation: start loading the
         * entry it will move (old buckets are read in order, entries are
         * not), so that its cache miss overlaps the caller's work. */
        if (old[ks->rehashidx])
            __builtin_prefetch(old[ks->rehashidx]);
#endif
    }
}

/* Shrinks when the load drops under 1/8, to a load between 1/4 and 1/2 so
 * that a few inserts do not grow it straight back. An empty table is reset
 * at once, even in the middle of a rehash: there is nothing to move. */
static void maybe_shrink(rkv_ks *ks)
{
    size_t size = ks->mask[0] + 1;
    if (size <= ks->min_buckets && !rehashing(ks))
        return; /* reserved for a load (rkv_ks_reserve) */
    if (ks->count == 0) {
        if (size == INIT_BUCKETS && !rehashing(ks))
            return;
        rkv_entry **t = table_alloc(ks, INIT_BUCKETS);
        if (!t)
            return;
        table_free(ks, ks->tab[0], ks->mask[0]);
        table_free(ks, ks->tab[1], ks->mask[1]);
        ks->tab[0] = t;
        ks->mask[0] = INIT_BUCKETS - 1;
        ks->tab[1] = NULL;
        ks->mask[1] = 0;
        ks->rehashidx = 0;
        return;
    }
    if (rehashing(ks) || size <= INIT_BUCKETS || ks->count >= size / 8)
        return;
    size_t n = INIT_BUCKETS;
    while (n < ks->count * 2)
        n *= 2;
    start_resize(ks, n);
}

void rkv_ks_reserve(rkv_ks *ks, size_t n)
{
    size_t want = INIT_BUCKETS;
    while (want < n && want < SIZE_MAX / 4)
        want *= 2;
    ks->min_buckets = n ? want : 0;
    if (n == 0 || ks->count != 0 || rehashing(ks) || ks->mask[0] + 1 >= want)
        return;
    rkv_entry **t = table_alloc(ks, want);
    if (!t)
        return; /* the table just grows as it goes */
    table_free(ks, ks->tab[0], ks->mask[0]);
    ks->tab[0] = t;
    ks->mask[0] = want - 1;
}

/* The bucket slots a key with hash may be in: the new table's during a
 * rehash, and the old table's unless that bucket was already moved. */
static inline int key_slots(const rkv_ks *ks, uint64_t hash,
                            rkv_entry *const *slot[2])
{
    int n = 0;
    size_t i = hash & ks->mask[0];
    if (!rehashing(ks) || i >= ks->rehashidx)
        slot[n++] = &ks->tab[0][i];
    if (rehashing(ks))
        slot[n++] = &ks->tab[1][hash & ks->mask[1]];
    return n;
}

void rkv_ks_prefetch(const rkv_ks *ks, uint64_t hash)
{
    rkv_entry *const *slot[2];
    int n = key_slots(ks, hash, slot);
    /* For writing: an insert links its new entry into this slot. */
    for (int t = 0; t < n; t++)
        RKV_PREFETCH_W(slot[t]);
}

/* What a key comparison reads of an entry: its header and, for keys up to
 * 16 bytes, the key, behind an expiry or not. Entries are 8-byte aligned,
 * not line-aligned, so those bytes may straddle two cache lines. */
#define ENTRY_PROBE (ENTRY_HDR + sizeof(int64_t) + 16u)

void rkv_ks_prefetch_chain(const rkv_ks *ks, uint64_t hash)
{
    rkv_entry *const *slot[2];
    int n = key_slots(ks, hash, slot);
    for (int t = 0; t < n; t++) {
        const rkv_entry *e = *slot[t];
        if (e != NULL) {
            RKV_PREFETCH(e);
            RKV_PREFETCH((const char *)e + ENTRY_PROBE - 1);
        }
    }
}

/* The link (bucket slot or previous entry's next field) that points at key's
 * entry, or NULL. */
static rkv_entry **find_link(rkv_ks *ks, uint64_t hash, const void *key,
                             size_t klen)
{
    for (int t = 0; t < 2 && ks->tab[t]; t++) {
        size_t i = hash & ks->mask[t];
        if (t == 0 && rehashing(ks) && i < ks->rehashidx)
            continue;
        rkv_entry **link = &ks->tab[t][i];
        for (rkv_entry *e; (e = *link) != NULL; link = &e->next)
            if (ent_match(e, key, klen))
                return link;
    }
    return NULL;
}

/* The link that points at entry e, found by its key's hash. */
static rkv_entry **link_of(rkv_ks *ks, const rkv_entry *e)
{
    uint64_t h = rkv_ks_hash(ks, ent_key(e), e->klen);
    for (int t = 0; t < 2 && ks->tab[t]; t++) {
        rkv_entry **link = &ks->tab[t][h & ks->mask[t]];
        for (; *link; link = &(*link)->next)
            if (*link == e)
                return link;
    }
    return NULL;
}

rkv_entry *rkv_ks_find(rkv_ks *ks, uint64_t hash, const void *key,
                       size_t klen)
{
    if (RKV_LIKELY(!rehashing(ks))) {
        /* The hot path: one bucket load, then usually one entry. */
        for (rkv_entry *e = ks->tab[0][hash & ks->mask[0]]; e; e = e->next)
            if (ent_match(e, key, klen))
                return e;
        return NULL;
    }
    rehash_step(ks, 1);
    rkv_entry **link = find_link(ks, hash, key, klen);
    return link ? *link : NULL;
}

rkv_entry *rkv_ks_find_pos(rkv_ks *ks, uint64_t hash, const void *key,
                           size_t klen, rkv_ks_pos *pos)
{
    /* A write is coming: take its rehash step now, so that the position
     * stays valid for rkv_ks_put_at(). */
    if (rehashing(ks))
        rehash_step(ks, ks->count > ks->mask[1] ? STEP_CATCHUP : 1);
    pos->hash = hash;
    pos->link = find_link(ks, hash, key, klen);
    return pos->link ? *pos->link : NULL;
}

/* Writes header, expiry, key and value into a fresh entry. */
static void fill(rkv_entry *e, uint32_t lru, const void *key, size_t klen,
                 const void *val, size_t vlen, int64_t expire_at)
{
    e->next = NULL;
    e->meta = lru & RKV_LRU_MAX;
    set_flags(e, expire_at != 0);
    e->klen = (uint32_t)klen;
    e->vlen = (uint32_t)vlen;
    if (expire_at)
        put_exp(e, expire_at);
    unsigned char *k = ent_key(e);
    if (klen)
        memcpy(k, key, klen);
    if (vlen)
        memcpy(k + klen, val, vlen);
}

static bool overlaps(const void *p, size_t n, const void *q, size_t m)
{
    uintptr_t a = (uintptr_t)p, b = (uintptr_t)q;
    return n && m && a < b + m && b < a + n;
}

/* Replaces the value and expiry of the entry at *link. */
static rkv_entry *replace(rkv_ks *ks, rkv_entry **link, const void *val,
                          size_t vlen, int64_t expire_at)
{
    rkv_entry *old = *link;
    bool had = ent_has_exp(old), exp = expire_at != 0;
    size_t osize = ent_size(old);
    size_t nsize = entry_size(old->klen, vlen, exp);
    if (!nsize)
        return NULL;
    if (rkv_slab_fits(&ks->slab, old, osize, nsize) &&
        !overlaps(val, vlen, old, osize)) {
        /* Same allocation: overwrite in place; only the key moves, and only
         * when the expiry field appears or goes away. */
        size_t okoff = ent_koff(old), nkoff = exp ? sizeof(int64_t) : 0;
        if (okoff != nkoff)
            memmove(old->data + nkoff, old->data + okoff, old->klen);
        set_flags(old, exp);
        if (exp)
            put_exp(old, expire_at);
        old->vlen = (uint32_t)vlen;
        if (vlen)
            memcpy(old->data + nkoff + old->klen, val, vlen);
        ks->nvolatile += (size_t)exp - (size_t)had;
        return old;
    }
    rkv_entry *e = rkv_slab_alloc(&ks->slab, nsize);
    if (!e)
        return NULL;
    fill(e, rkv_entry_lru(old), ent_key(old), old->klen, val, vlen,
         expire_at);
    e->next = old->next;
    *link = e;
    ks->nvolatile += (size_t)exp - (size_t)had;
    rkv_slab_free(&ks->slab, old, osize);
    return e;
}

rkv_entry *rkv_ks_put_at(rkv_ks *ks, const rkv_ks_pos *pos, const void *key,
                         size_t klen, const void *val, size_t vlen,
                         int64_t expire_at, bool *created)
{
    if (pos->link) {
        rkv_entry *e = replace(ks, pos->link, val, vlen, expire_at);
        if (e && created)
            *created = false;
        return e;
    }
    size_t size = entry_size(klen, vlen, expire_at != 0);
    if (!size)
        return NULL;
    rkv_entry *e = rkv_slab_alloc(&ks->slab, size);
    if (!e)
        return NULL;
    fill(e, 0, key, klen, val, vlen, expire_at);
    /* Grow at load factor 1; inserts go to the new table during a rehash.
     * The shrink check is here too because a shrink that had to wait for
     * a rehash to finish (finds finish them but never resize) would
     * otherwise wait for the next delete. */
    if (!rehashing(ks) && ks->count > ks->mask[0] &&
        ks->mask[0] < SIZE_MAX / 2)
        start_resize(ks, (ks->mask[0] + 1) * 2);
    else
        maybe_shrink(ks);
    int t = rehashing(ks) ? 1 : 0;
    rkv_entry **b = &ks->tab[t][pos->hash & ks->mask[t]];
    e->next = *b;
    *b = e;
    ks->count++;
    ks->nvolatile += expire_at != 0;
    if (created)
        *created = true;
    return e;
}

rkv_entry *rkv_ks_put(rkv_ks *ks, uint64_t hash, const void *key, size_t klen,
                      const void *val, size_t vlen, int64_t expire_at,
                      bool *created)
{
    if (!entry_size(klen, vlen, expire_at != 0))
        return NULL;
    rkv_ks_pos pos;
    rkv_ks_find_pos(ks, hash, key, klen, &pos);
    return rkv_ks_put_at(ks, &pos, key, klen, val, vlen, expire_at, created);
}

rkv_entry *rkv_ks_set_expire(rkv_ks *ks, rkv_entry *e, int64_t expire_at)
{
    bool had = ent_has_exp(e), exp = expire_at != 0;
    if (had == exp) {
        if (exp)
            put_exp(e, expire_at);
        return e;
    }
    size_t osize = ent_size(e);
    size_t nsize = exp ? osize + sizeof(int64_t) : osize - sizeof(int64_t);
    size_t kv = (size_t)e->klen + e->vlen;
    if (rkv_slab_fits(&ks->slab, e, osize, nsize)) {
        if (exp)
            memmove(e->data + sizeof(int64_t), e->data, kv);
        else
            memmove(e->data, e->data + sizeof(int64_t), kv);
        set_flags(e, exp);
        if (exp)
            put_exp(e, expire_at);
        ks->nvolatile += (size_t)exp - (size_t)had;
        return e;
    }
    rkv_entry **link = link_of(ks, e);
    if (!link)
        return NULL;
    rkv_entry *n = rkv_slab_alloc(&ks->slab, nsize);
    if (!n)
        return NULL;
    fill(n, rkv_entry_lru(e), ent_key(e), e->klen, ent_key(e) + e->klen,
         e->vlen, expire_at);
    n->next = e->next;
    *link = n;
    ks->nvolatile += (size_t)exp - (size_t)had;
    rkv_slab_free(&ks->slab, e, osize);
    return n;
}

/* Unlinks and frees the entry at *link. */
static void unlink_free(rkv_ks *ks, rkv_entry **link)
{
    rkv_entry *e = *link;
    *link = e->next;
    ks->count--;
    ks->nvolatile -= ent_has_exp(e);
    rkv_slab_free(&ks->slab, e, ent_size(e));
}

bool rkv_ks_remove(rkv_ks *ks, uint64_t hash, const void *key, size_t klen)
{
    if (rehashing(ks))
        rehash_step(ks, 1);
    rkv_entry **link = find_link(ks, hash, key, klen);
    if (!link)
        return false;
    unlink_free(ks, link);
    maybe_shrink(ks);
    return true;
}

void rkv_ks_clear(rkv_ks *ks)
{
    /* Every entry lives in the slab, which lets go of all of them at once. */
    rkv_slab_release_all(&ks->slab);
    table_free(ks, ks->tab[1], ks->mask[1]);
    ks->tab[1] = NULL;
    ks->mask[1] = 0;
    ks->rehashidx = 0;
    rkv_entry **t = NULL;
    if (ks->mask[0] + 1 != INIT_BUCKETS)
        t = table_alloc(ks, INIT_BUCKETS);
    if (t) {
        table_free(ks, ks->tab[0], ks->mask[0]);
        ks->tab[0] = t;
        ks->mask[0] = INIT_BUCKETS - 1;
    } else {
        /* Already small, or no memory for a small one: keep and empty it. */
        memset(ks->tab[0], 0, (ks->mask[0] + 1) * sizeof(rkv_entry *));
    }
    ks->count = 0;
    ks->nvolatile = 0;
}

size_t rkv_ks_count(const rkv_ks *ks)
{
    return ks->count;
}

size_t rkv_ks_volatile_count(const rkv_ks *ks)
{
    return ks->nvolatile;
}

size_t rkv_ks_memory(const rkv_ks *ks)
{
    return rkv_slab_held(&ks->slab) + sizeof(*ks) + sizeof(size_t);
}

size_t rkv_ks_memory_used(const rkv_ks *ks)
{
    return rkv_slab_live(&ks->slab) + sizeof(*ks);
}

/* ------------------------------------------------------------ scan */

static uint64_t rev64(uint64_t v)
{
    v = ((v >> 1) & 0x5555555555555555ull) | ((v & 0x5555555555555555ull) << 1);
    v = ((v >> 2) & 0x3333333333333333ull) | ((v & 0x3333333333333333ull) << 2);
    v = ((v >> 4) & 0x0F0F0F0F0F0F0F0Full) | ((v & 0x0F0F0F0F0F0F0F0Full) << 4);
#if defined(__GNUC__)
    return __builtin_bswap64(v);
#else
    v = ((v >> 8) & 0x00FF00FF00FF00FFull) | ((v & 0x00FF00FF00FF00FFull) << 8);
    v = ((v >> 16) & 0x0000FFFF0000FFFFull) |
        ((v & 0x0000FFFF0000FFFFull) << 16);
    return (v >> 32) | (v << 32);
#endif
}

/* The next cursor after v for a table of mask m: the reversed-bit increment
 * of Redis's dictScan. Counting in reversed bit order is what keeps the
 * order of buckets compatible between a table and its double or half: a
 * bucket's expansions in the doubled table come right after one another, so
 * a resize between two calls neither skips nor (much) repeats buckets. */
static uint64_t cursor_next(uint64_t v, uint64_t m)
{
    v |= ~m;
    v = rev64(v);
    v++;
    return rev64(v);
}

/* The smaller and larger of the live tables (the same one twice when not
 * rehashing). */
static void tables_by_size(const rkv_ks *ks, int *small, int *large)
{
    *small = *large = 0;
    if (rehashing(ks)) {
        bool grow = ks->mask[1] > ks->mask[0];
        *small = grow ? 0 : 1;
        *large = grow ? 1 : 0;
    }
}

uint64_t rkv_ks_scan(rkv_ks *ks, uint64_t cursor, rkv_ks_visit_fn fn,
                     void *ud)
{
    uint64_t v = cursor;
    int ts, tl;
    tables_by_size(ks, &ts, &tl);
    uint64_t ms = ks->mask[ts], ml = ks->mask[tl];
    for (const rkv_entry *e = ks->tab[ts][v & ms]; e; e = e->next)
        fn(e, ud);
    if (!rehashing(ks))
        return cursor_next(v, ms);
    /* Then every bucket of the larger table that the small bucket expands
     * into: the cursor bits between the two masks count through them. */
    do {
        for (const rkv_entry *e = ks->tab[tl][v & ml]; e; e = e->next)
            fn(e, ud);
        v = cursor_next(v, ml);
    } while (v & (ms ^ ml));
    return v;
}

/* Removes the expired entries of one bucket. */
static size_t expire_bucket(rkv_ks *ks, rkv_entry **link, int64_t now,
                            rkv_ks_expired_fn on_expired, void *ud)
{
    size_t removed = 0;
    while (*link) {
        rkv_entry *e = *link;
        if (ent_has_exp(e) && rkv_entry_expire(e) <= now) {
            if (on_expired)
                on_expired(ent_key(e), e->klen, ud);
            unlink_free(ks, link);
            removed++;
        } else {
            link = &e->next;
        }
    }
    return removed;
}

size_t rkv_ks_expire_cycle(rkv_ks *ks, int64_t now, size_t max_buckets,
                           uint64_t *cursor, rkv_ks_expired_fn on_expired,
                           void *ud)
{
    uint64_t v = *cursor;
    size_t removed = 0, budget = max_buckets;
    /* A rehash must not wait for traffic: this runs on a timer. */
    if (rehashing(ks) && budget)
        rehash_step(ks, budget < 64 ? (unsigned)budget : 64u);
    /* The walk of rkv_ks_scan. Removing entries never resizes inside the
     * loop (the shrink check waits for the end), so the tables hold still.
     * The budget counts the large table's buckets too and may run out in
     * the middle of an expansion: the cursor then points into it, which is
     * a valid cursor for the large table. At least one large bucket is done
     * per call, so the cursor always moves. */
    while (budget) {
        int ts, tl;
        tables_by_size(ks, &ts, &tl);
        uint64_t ms = ks->mask[ts], ml = ks->mask[tl];
        removed += expire_bucket(ks, &ks->tab[ts][v & ms], now, on_expired, ud);
        budget--;
        if (!rehashing(ks)) {
            v = cursor_next(v, ms);
        } else {
            do {
                removed += expire_bucket(ks, &ks->tab[tl][v & ml], now,
                                         on_expired, ud);
                if (budget)
                    budget--;
                v = cursor_next(v, ml);
            } while ((v & (ms ^ ml)) && budget);
        }
        if (v == 0)
            break; /* a whole pass: the caller starts the next one */
    }
    *cursor = v;
    maybe_shrink(ks);
    return removed;
}

/* ------------------------------------------------------------ sample */

size_t rkv_ks_sample(rkv_ks *ks, uint64_t random_value, bool volatile_only,
                     rkv_entry **out, size_t n)
{
    size_t avail = volatile_only ? ks->nvolatile : ks->count;
    if (n == 0 || avail == 0)
        return 0;
    int ts, tl;
    tables_by_size(ks, &ts, &tl);
    size_t bigmask = ks->mask[tl];
    /* Bounded work: a sparse table or few volatile keys give fewer than n
     * rather than a long walk. Each index is visited at most once, so no
     * entry is returned twice. */
    size_t limit = (n < 4096 ? n : 4096) * 16 + 64;
    if (volatile_only) {
        size_t ratio = ks->count / ks->nvolatile;
        limit *= ratio < 64 ? (ratio ? ratio : 1) : 64;
    }
    if (limit > bigmask + 1)
        limit = bigmask + 1;
    size_t i = (size_t)random_value & bigmask, got = 0;
    for (size_t step = 0; step < limit && got < n; step++) {
        for (int t = 0; t < 2 && ks->tab[t] && got < n; t++) {
            if (i > ks->mask[t])
                continue;
            for (rkv_entry *e = ks->tab[t][i]; e && got < n; e = e->next)
                if (!volatile_only || ent_has_exp(e))
                    out[got++] = e;
        }
        i = (i + 1) & bigmask;
    }
    return got;
}

/* ------------------------------------------------------------ digest */

static void le32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void le64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

/* XXH3-128 (unseeded) of the entry encoded as
 *     u32le klen | key | u32le vlen | value | i64le expiry
 * The length prefixes make the encoding unambiguous. Small entries are
 * hashed from one buffer; large ones streamed, which gives the same hash. */
static XXH128_hash_t entry_digest(const rkv_entry *e)
{
    unsigned char buf[256], len[8];
    const unsigned char *k = ent_key(e);
    size_t total = 4 + (size_t)e->klen + 4 + (size_t)e->vlen + 8;
    uint64_t exp = (uint64_t)rkv_entry_expire(e);
    if (total <= sizeof(buf)) {
        unsigned char *p = buf;
        le32(p, e->klen);
        memcpy(p + 4, k, e->klen);
        p += 4 + e->klen;
        le32(p, e->vlen);
        memcpy(p + 4, k + e->klen, e->vlen);
        p += 4 + e->vlen;
        le64(p, exp);
        return XXH3_128bits(buf, total);
    }
    XXH3_state_t st;
    XXH3_128bits_reset(&st);
    le32(len, e->klen);
    XXH3_128bits_update(&st, len, 4);
    XXH3_128bits_update(&st, k, e->klen);
    le32(len, e->vlen);
    XXH3_128bits_update(&st, len, 4);
    XXH3_128bits_update(&st, k + e->klen, e->vlen);
    le64(len, exp);
    XXH3_128bits_update(&st, len, 8);
    return XXH3_128bits_digest(&st);
}

void rkv_ks_digest(const rkv_ks *ks, int64_t now, uint64_t acc[2])
{
    for (int t = 0; t < 2 && ks->tab[t]; t++) {
        for (size_t i = 0; i <= ks->mask[t]; i++) {
            for (const rkv_entry *e = ks->tab[t][i]; e; e = e->next) {
                int64_t exp = rkv_entry_expire(e);
                if (exp != 0 && exp <= now)
                    continue;
                XXH128_hash_t h = entry_digest(e);
                uint64_t lo = acc[0] + h.low64;
                acc[1] += h.high64 + (lo < acc[0]);
                acc[0] = lo;
            }
        }
    }
}
