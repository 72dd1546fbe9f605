/*
 * util.h - small helpers shared by replkv-cache's parts: strict integer
 * parsing and formatting as Redis does them, Redis glob matching, clocks and
 * a constant-time comparison for passwords.
 */
#ifndef CACHE_UTIL_H
#define CACHE_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Parses a canonical signed decimal (Redis's string2ll): optional '-', no
 * '+', no spaces, no leading zeros ("0" itself is fine), in range. */
bool util_str2ll(const char *s, size_t len, long long *out);

/* Like util_str2ll() for an unsigned 64-bit value (the SCAN cursor). */
bool util_str2ull(const char *s, size_t len, unsigned long long *out);

/* Writes v in decimal to buf (at least 21 bytes), no NUL; returns the
 * length. */
size_t util_ll2str(char *buf, long long v);
size_t util_ull2str(char *buf, unsigned long long v);

/* Redis's stringmatchlen(): * ? [abc] [^a-z] and \ escapes; nocase folds
 * ASCII case. */
bool util_glob_match(const char *pat, size_t plen, const char *s, size_t slen,
                     bool nocase);

/* Compares a and b in time that depends only on their lengths; true if
 * equal. */
bool util_secret_equal(const char *a, size_t alen, const char *b, size_t blen);

/* Case-insensitive comparison of a counted string with a C string. */
bool util_eq_nocase(const char *s, size_t len, const char *lit);

/* Wall clock Unix ms and monotonic ms / us. */
int64_t util_now_ms(void);
uint64_t util_mono_ms(void);
uint64_t util_mono_us(void);

#endif /* CACHE_UTIL_H */
