/*
 * util.c - see util.h. Integer rules follow Redis's string2ll() so that
 * "INCRBY k 010" and "EXPIRE k +5" are refused the same way.
 */
#include "util.h"

#include <ctype.h>
#include <limits.h>
#include <string.h>
#include <time.h>

bool util_str2ull(const char *s, size_t len, unsigned long long *out)
{
    if (len == 0 || len > 20)
        return false;
    if (len == 1 && s[0] == '0') {
        *out = 0;
        return true;
    }
    if (s[0] < '1' || s[0] > '9')
        return false;
    unsigned long long v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (ULLONG_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

bool util_str2ll(const char *s, size_t len, long long *out)
{
    if (len == 0)
        return false;
    bool neg = s[0] == '-';
    if (neg) {
        s++;
        len--;
        if (len == 0 || s[0] == '0') /* "-" and "-0..." are not canonical */
            return false;
    }
    unsigned long long v;
    if (!util_str2ull(s, len, &v))
        return false;
    if (neg) {
        if (v > (unsigned long long)LLONG_MAX + 1)
            return false;
        *out = v == (unsigned long long)LLONG_MAX + 1 ? LLONG_MIN
                                                      : -(long long)v;
    } else {
        if (v > (unsigned long long)LLONG_MAX)
            return false;
        *out = (long long)v;
    }
    return true;
}

size_t util_ull2str(char *buf, unsigned long long v)
{
    char tmp[24];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (size_t i = 0; i < n; i++)
        buf[i] = tmp[n - 1 - i];
    return n;
}

size_t util_ll2str(char *buf, long long v)
{
    if (v < 0) {
        buf[0] = '-';
        /* -(v+1)+1 avoids overflowing on LLONG_MIN. */
        return 1 + util_ull2str(buf + 1, (unsigned long long)(-(v + 1)) + 1);
    }
    return util_ull2str(buf, (unsigned long long)v);
}

static int fold(int c, bool nocase)
{
    return nocase ? tolower((unsigned char)c) : (unsigned char)c;
}

/* Follows Redis's stringmatchlen(): the same classes, escapes and corner
 * cases (an unterminated '[' ends the pattern), the same nesting limit, and
 * the same early exit once a '*' suffix failed everywhere ("skip longer"),
 * which keeps "*a*a*a*b" patterns linear-ish instead of exponential. */
static bool match(const char *p, size_t plen, const char *s, size_t slen,
                  bool nocase, bool *skip_longer, int nesting)
{
    if (nesting > 1000)
        return false;
    while (plen > 0 && slen > 0) {
        switch (p[0]) {
        case '*':
            while (plen > 1 && p[1] == '*') {
                p++;
                plen--;
            }
            if (plen == 1)
                return true;
            while (slen > 0) {
                if (match(p + 1, plen - 1, s, slen, nocase, skip_longer,
                          nesting + 1))
                    return true;
                if (*skip_longer)
                    return false;
                s++;
                slen--;
            }
            *skip_longer = true;
            return false;
        case '?':
            s++;
            slen--;
            break;
        case '[': {
            p++;
            plen--;
            bool neg = plen > 0 && p[0] == '^';
            if (neg) {
                p++;
                plen--;
            }
            bool hit = false;
            for (;;) {
                if (plen == 0) {
                    /* Unterminated: step back so the advance below ends
                     * the pattern exactly. */
                    p--;
                    plen++;
                    break;
                }
                if (p[0] == '\\' && plen >= 2) {
                    p++;
                    plen--;
                    if (fold(p[0], nocase) == fold(s[0], nocase))
                        hit = true;
                } else if (p[0] == ']') {
                    break;
                } else if (plen >= 3 && p[1] == '-') {
                    int a = fold(p[0], nocase), b = fold(p[2], nocase);
                    int c = fold(s[0], nocase);
                    if (a > b) {
                        int t = a;
                        a = b;
                        b = t;
                    }
                    if (c >= a && c <= b)
                        hit = true;
                    p += 2;
                    plen -= 2;
                } else if (fold(p[0], nocase) == fold(s[0], nocase)) {
                    hit = true;
                }
                p++;
                plen--;
            }
            if (neg)
                hit = !hit;
            if (!hit)
                return false;
            s++;
            slen--;
            break;
        }
        case '\\':
            if (plen >= 2) {
                p++;
                plen--;
            }
            /* fall through */
        default:
            if (fold(p[0], nocase) != fold(s[0], nocase))
                return false;
            s++;
            slen--;
            break;
        }
        p++;
        plen--;
        if (slen == 0) {
            while (plen > 0 && p[0] == '*') {
                p++;
                plen--;
            }
            break;
        }
    }
    return plen == 0 && slen == 0;
}

bool util_glob_match(const char *pat, size_t plen, const char *s, size_t slen,
                     bool nocase)
{
    bool skip_longer = false;
    return match(pat, plen, s, slen, nocase, &skip_longer, 0);
}

bool util_secret_equal(const char *a, size_t alen, const char *b, size_t blen)
{
    /* Walk the longer length so the time says nothing about where the
     * strings differ. */
    size_t n = alen > blen ? alen : blen;
    unsigned diff = alen != blen;
    for (size_t i = 0; i < n; i++) {
        unsigned char x = i < alen ? (unsigned char)a[i] : 0;
        unsigned char y = i < blen ? (unsigned char)b[i] : 0;
        diff |= (unsigned)(x ^ y);
    }
    return diff == 0;
}

bool util_eq_nocase(const char *s, size_t len, const char *lit)
{
    size_t n = strlen(lit);
    if (n != len)
        return false;
    for (size_t i = 0; i < n; i++)
        if (tolower((unsigned char)s[i]) != tolower((unsigned char)lit[i]))
            return false;
    return true;
}

int64_t util_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

uint64_t util_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t util_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}
