/*
 * util.c - the clocks and the operating system's randomness. Kept in one
 * place so that the protocol modules never read a clock themselves: the node
 * reads it here and passes times in.
 */
#include "internal.h"

#include <errno.h>
#include <sys/random.h>
#include <time.h>

int64_t rkv_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

uint64_t rkv_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t rkv_mono_ms(void)
{
    return rkv_mono_ns() / 1000000u;
}

int rkv_random_bytes(void *buf, size_t len)
{
    unsigned char *p = buf;
    while (len > 0) {
        ssize_t n = getrandom(p, len, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return rkv_fail(REPLKV_EIO, "getrandom: errno %d", errno);
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}
