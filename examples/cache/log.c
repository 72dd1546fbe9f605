/*
 * log.c - see log.h.
 */
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

void log_init(cache_log *l)
{
    l->fd = STDERR_FILENO;
    atomic_init(&l->level, LOG_NOTICE);
    atomic_init(&l->role, 'M');
}

int log_open(cache_log *l, const char *path)
{
    if (path == NULL || *path == '\0') {
        log_close(l);
        return 0;
    }
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    log_close(l);
    l->fd = fd;
    return 0;
}

void log_close(cache_log *l)
{
    if (l->fd > STDERR_FILENO)
        close(l->fd);
    l->fd = STDERR_FILENO;
}

void log_set_level(cache_log *l, int level)
{
    atomic_store(&l->level, level);
}

void log_set_role(cache_log *l, int mark)
{
    atomic_store(&l->role, mark);
}

static void write_line(cache_log *l, int level, const char *msg)
{
    static const char marks[] = ".-*#";
    char line[1024];
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    localtime_r(&tv.tv_sec, &tm);
    char ts[64];
    size_t n = strftime(ts, sizeof ts, "%d %b %Y %H:%M:%S", &tm);
    snprintf(ts + n, sizeof ts - n, ".%03d", (int)(tv.tv_usec / 1000));
    int len = snprintf(line, sizeof line, "%d:%c %s %c %s\n", (int)getpid(),
                       (char)atomic_load_explicit(&l->role,
                                                  memory_order_relaxed),
                       ts, marks[level & 3], msg);
    if (len < 0)
        return;
    if ((size_t)len >= sizeof line) {
        len = sizeof line - 1;
        line[len - 1] = '\n';
    }
    /* One write per line: lines from two threads never interleave. */
    ssize_t w;
    do {
        w = write(l->fd, line, (size_t)len);
    } while (w < 0 && errno == EINTR);
}

void log_msg(cache_log *l, int level, const char *fmt, ...)
{
    if (level < atomic_load_explicit(&l->level, memory_order_relaxed))
        return;
    char msg[900];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    write_line(l, level, msg);
}

void log_from_lib(replkv_t *kv, const replkv_log_event *ev, void *ud)
{
    (void)kv;
    cache_log *l = ud;
    if ((int)ev->level < atomic_load_explicit(&l->level, memory_order_relaxed))
        return;
    write_line(l, (int)ev->level, ev->message ? ev->message : "");
}
