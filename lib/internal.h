/*
 * internal.h - what every lib/ module shares: the public header built with
 * exports on, the error helper, the clock and a seeded random generator.
 * Nothing here is exported from the shared library: internal non-static
 * names start with rkv_.
 */
#ifndef RKV_INTERNAL_H
#define RKV_INTERNAL_H

#ifndef REPLKV_BUILDING
#define REPLKV_BUILDING 1
#endif
#include "replkv.h"

#include <stdarg.h>
#include <stdint.h>

#if defined(__GNUC__)
#define RKV_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define RKV_LIKELY(x) __builtin_expect(!!(x), 1)
#define RKV_UNLIKELY(x) __builtin_expect(!!(x), 0)
/* Cache hints (never fault, even on a stale address): to read, to write. */
#define RKV_PREFETCH(p) __builtin_prefetch((p), 0, 3)
#define RKV_PREFETCH_W(p) __builtin_prefetch((p), 1, 3)
#else
#define RKV_PRINTF(a, b)
#define RKV_LIKELY(x) (x)
#define RKV_UNLIKELY(x) (x)
#define RKV_PREFETCH(p) ((void)(p))
#define RKV_PREFETCH_W(p) ((void)(p))
#endif

/* Records err with a formatted detail as the calling thread's last error
 * (replkv_last_error) and returns err, so a failure path is one line:
 *     return rkv_fail(REPLKV_EINVAL, "maxmemory: bad value '%s'", v); */
int rkv_fail(int err, const char *fmt, ...) RKV_PRINTF(2, 3);

/* rkv_fail with a static detail: no formatting, for frequent answers such
 * as REPLKV_ENOTFOUND. detail must outlive the thread. */
int rkv_fail_static(int err, const char *detail);

/* Clears the calling thread's last error. */
void rkv_clear_error(void);

/* Wall-clock Unix time in milliseconds (expiry times are absolute, so that
 * they mean the same on every node) and a monotonic clock in ms / ns for
 * timeouts and measurements. */
int64_t rkv_now_ms(void);
uint64_t rkv_mono_ms(void);
uint64_t rkv_mono_ns(void);

/* A small, fast, seeded generator (no global state: each owner keeps its
 * own). Not for cryptography. */
typedef struct rkv_rng {
    uint64_t s;
} rkv_rng;

static inline uint64_t rkv_rng_next(rkv_rng *r)
{
    /* splitmix64: one multiply-xorshift chain per value, good enough for
     * sampling and back-off jitter. */
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Fills buf with bytes from the operating system's secure generator.
 * Returns 0 or REPLKV_EIO. */
int rkv_random_bytes(void *buf, size_t len);

#endif /* RKV_INTERNAL_H */
