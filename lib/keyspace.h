/*
 * keyspace.h - one hash table of key/value entries: the storage core.
 *
 * Not thread-safe: the node splits the keyspace into shards, each a
 * rkv_ks behind its own lock, and calls these functions with that lock held.
 * No clock or randomness is read here: times and random numbers are passed
 * in, so tests are deterministic.
 *
 * Expiry times are absolute Unix times in ms; 0 means "no expiry". This
 * module never deletes an entry because it expired, except in
 * rkv_ks_expire_cycle(): whether an expired key is hidden or deleted is the
 * caller's decision (a replica hides, a primary deletes and logs a DEL).
 *
 * Entry pointers are valid until the next call that modifies the table
 * (put, remove, set_expire, clear, expire_cycle, or any call that performs a
 * rehash step).
 */
#ifndef RKV_KEYSPACE_H
#define RKV_KEYSPACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "internal.h"

typedef struct rkv_ks rkv_ks;
typedef struct rkv_entry rkv_entry;

/* A new empty table; hash_seed keys the hash so that an attacker who does not
 * know the seed cannot aim keys at one bucket. NULL when out of memory. */
rkv_ks *rkv_ks_new(uint64_t hash_seed);

/* Frees the table and every entry. NULL is a no-op. */
void rkv_ks_free(rkv_ks *ks);

/* The seeded hash of key, to pass to the functions below (the node also
 * uses it to pick the shard: it uses the top bits, the table the low ones). */
uint64_t rkv_ks_hash(const rkv_ks *ks, const void *key, size_t klen);

/* The entry for key, or NULL. Performs at most one rehash step. */
rkv_entry *rkv_ks_find(rkv_ks *ks, uint64_t hash, const void *key,
                       size_t klen);

/* Inserts key = val with expiry expire_at (0 = none), or replaces the value
 * and expiry of an existing key. *created (may be NULL) tells which. Returns
 * the entry, or NULL when out of memory, in which case the table is
 * unchanged. */
rkv_entry *rkv_ks_put(rkv_ks *ks, uint64_t hash, const void *key, size_t klen,
                      const void *val, size_t vlen, int64_t expire_at,
                      bool *created);

/* A place in the table found by rkv_ks_find_pos(): the link that points at
 * the key's entry, or none. Valid until the next call that modifies the
 * table (including a find that performs a rehash step). */
typedef struct rkv_ks_pos {
    rkv_entry **link; /* NULL when the key is absent */
    uint64_t hash;
} rkv_ks_pos;

/* rkv_ks_find() that also remembers where the key is (or is not), so that a
 * read-modify-write looks the key up once: pass pos to rkv_ks_put_at(). */
rkv_entry *rkv_ks_find_pos(rkv_ks *ks, uint64_t hash, const void *key,
                           size_t klen, rkv_ks_pos *pos);

/* rkv_ks_put() at a position from rkv_ks_find_pos() for the same key, with
 * no table change in between: no second lookup and no second rehash step.
 * Same results as rkv_ks_put(). */
rkv_entry *rkv_ks_put_at(rkv_ks *ks, const rkv_ks_pos *pos, const void *key,
                         size_t klen, const void *val, size_t vlen,
                         int64_t expire_at, bool *created);

/* Cache hints for work that comes in batches. A lookup in a big table is
 * bound by memory latency, not by hashing: the bucket slot, then the
 * chain's first entry, each a cache miss (about 250 ns on a VM). A caller
 * that knows the next keys can overlap those misses: rkv_ks_prefetch() for
 * a key some operations before its find/put/remove, then
 * rkv_ks_prefetch_chain() a few operations later, once the slot has
 * arrived, for the entry it points at. Both are hints: they change nothing,
 * and a hint gone stale (the table resized or rehashed meanwhile) costs
 * only the wasted fetch. They read the table's fields and the slot, so they
 * need the same shard lock as every other call here (or a table no other
 * thread sees, as during a load). */
void rkv_ks_prefetch(const rkv_ks *ks, uint64_t hash);
void rkv_ks_prefetch_chain(const rkv_ks *ks, uint64_t hash);

/* Sizes an empty table for n keys at once (a restart that knows how many
 * it loads: no growth and no rehash on the way) and keeps it from
 * shrinking below that until rkv_ks_reserve(ks, 0). Out of memory, or a
 * table that holds keys, just skips the resize. */
void rkv_ks_reserve(rkv_ks *ks, size_t n);

/* Changes an existing entry's expiry (0 removes it). The entry may move:
 * returns its new address, or NULL when out of memory (entry unchanged). */
rkv_entry *rkv_ks_set_expire(rkv_ks *ks, rkv_entry *e, int64_t expire_at);

/* Removes key; returns true if it was there. */
bool rkv_ks_remove(rkv_ks *ks, uint64_t hash, const void *key, size_t klen);

/* Removes every entry and shrinks the table to its initial size. */
void rkv_ks_clear(rkv_ks *ks);

/* Entry fields. The pointers stay valid as long as the entry does. */
const void *rkv_entry_key(const rkv_entry *e, size_t *klen);
const void *rkv_entry_val(const rkv_entry *e, size_t *vlen);
int64_t rkv_entry_expire(const rkv_entry *e);

/* Approximate LRU: a 24-bit clock in seconds, wrapping, as Redis keeps it.
 * The node stores its clock on each access; eviction compares idle times. */
#define RKV_LRU_BITS 24
#define RKV_LRU_MAX ((1u << RKV_LRU_BITS) - 1)
uint32_t rkv_entry_lru(const rkv_entry *e);
void rkv_entry_touch(rkv_entry *e, uint32_t lru_clock);

/* Number of entries, and of entries that have an expiry. */
size_t rkv_ks_count(const rkv_ks *ks);
size_t rkv_ks_volatile_count(const rkv_ks *ks);

/* Bytes this table holds from the allocator: entries (with their allocator
 * rounding and partly used slabs) plus bucket arrays. Kept up to date on
 * every change; O(1). */
size_t rkv_ks_memory(const rkv_ks *ks);

/* Bytes in live entries (with their size-class rounding) plus bucket
 * arrays, without the free slots of partly used pages: what Redis calls
 * used_memory, and what maxmemory counts. Evicting an entry lowers it at
 * once, which rkv_ks_memory (pages held) rarely does. O(1). */
size_t rkv_ks_memory_used(const rkv_ks *ks);

/* Cursor iteration, as Redis's dict scan: start at 0, call until it returns
 * 0. Each call visits the entries of one bucket (of both tables during a
 * rehash) and returns the next cursor. Every entry present for the whole
 * iteration is visited at least once across growth and shrinking. The
 * visitor must not modify the table. */
typedef void (*rkv_ks_visit_fn)(const rkv_entry *e, void *ud);
uint64_t rkv_ks_scan(rkv_ks *ks, uint64_t cursor, rkv_ks_visit_fn fn,
                     void *ud);

/* Up to n entries picked at random (by starting at the bucket chosen by
 * random_value and walking on), for eviction. Returns how many were put in
 * out[]. With volatile_only, only entries that have an expiry count. */
size_t rkv_ks_sample(rkv_ks *ks, uint64_t random_value, bool volatile_only,
                     rkv_entry **out, size_t n);

/* Active expiry: examines at most max_buckets buckets starting at *cursor
 * (updated), and removes entries whose expiry is <= now, calling
 * on_expired(key, klen, ud) for each before it is freed (the primary logs a
 * DEL). Returns the number removed. */
typedef void (*rkv_ks_expired_fn)(const void *key, size_t klen, void *ud);
size_t rkv_ks_expire_cycle(rkv_ks *ks, int64_t now, size_t max_buckets,
                           uint64_t *cursor, rkv_ks_expired_fn on_expired,
                           void *ud);

/* Adds this table's entries to an order-independent digest: for every
 * entry not expired at now (expiry == 0 or > now), the XXH3-128 of
 * (key, value, expiry) is added to acc as a 128-bit integer (acc[0] low
 * half, acc[1] high half), modulo 2^128. The hash here is unseeded so that
 * digests compare across nodes. */
void rkv_ks_digest(const rkv_ks *ks, int64_t now, uint64_t acc[2]);

#endif /* RKV_KEYSPACE_H */
