/*
 * log.h - replkv-cache's log: Redis's line format
 * ("pid:M 24 Nov 2025 20:55:01.123 * message") and levels, to stderr or the
 * logfile. One write() per line, so the library's I/O thread and the main
 * thread can both log without a lock.
 */
#ifndef CACHE_LOG_H
#define CACHE_LOG_H

#include <stdatomic.h>

#include "replkv.h"

typedef struct cache_log {
    int fd;            /* 2 for stderr, or the logfile */
    _Atomic int level; /* replkv_log_level: lines below it are dropped */
    _Atomic int role;  /* 'M' primary, 'S' replica: Redis's role mark */
} cache_log;

/* Logs to stderr at notice. */
void log_init(cache_log *l);

/* Appends to path (NULL or "" = stderr). Returns 0 or -errno. */
int log_open(cache_log *l, const char *path);
void log_close(cache_log *l);

void log_set_level(cache_log *l, int level);

/* Sets the role mark of the lines that follow ('M' or 'S'). Any thread. */
void log_set_role(cache_log *l, int mark);

void log_msg(cache_log *l, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A replkv_log_cb: ud is the cache_log. */
void log_from_lib(replkv_t *kv, const replkv_log_event *ev, void *ud);

#define LOG_DEBUG REPLKV_LOG_DEBUG
#define LOG_VERBOSE REPLKV_LOG_VERBOSE
#define LOG_NOTICE REPLKV_LOG_NOTICE
#define LOG_WARNING REPLKV_LOG_WARNING

#endif /* CACHE_LOG_H */
