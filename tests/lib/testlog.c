/*
 * testlog.c - see testlog.h.
 */
#include "testlog.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static char log_text[1 << 16];
static size_t log_len;

void test_log_capture(replkv_t *kv, const replkv_log_event *ev, void *ud)
{
    (void)ud;
    pthread_mutex_lock(&log_lock);
    size_t n = strlen(ev->message);
    if (log_len + n + 2 < sizeof log_text) {
        memcpy(log_text + log_len, ev->message, n);
        log_len += n;
        log_text[log_len++] = '\n';
        log_text[log_len] = '\0';
    }
    pthread_mutex_unlock(&log_lock);
    if (getenv("RKV_TEST_LOG"))
        fprintf(stderr, "[%p] %s\n", (void *)kv, ev->message);
}

bool test_log_has(const char *needle)
{
    return test_log_count(needle) > 0;
}

int test_log_count(const char *needle)
{
    int n = 0;
    pthread_mutex_lock(&log_lock);
    for (const char *p = log_text; (p = strstr(p, needle)) != NULL; p++)
        n++;
    pthread_mutex_unlock(&log_lock);
    return n;
}

void test_log_reset(void)
{
    pthread_mutex_lock(&log_lock);
    log_len = 0;
    log_text[0] = '\0';
    pthread_mutex_unlock(&log_lock);
}
