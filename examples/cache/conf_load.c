/*
 * conf_load.c - reading configuration text: redis.conf-style files (comments,
 * quoting as redis-cli splits arguments, include), standard input, and the
 * --name value flags of the command line. Each directive goes to
 * conf_apply(); a failure stops the load with "<file>:<line>: <reason>".
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf.h"
#include "resp.h"

#define CONF_MAX_INCLUDE_DEPTH 16

/* ------------------------------------------------------------ loading */

static int load_text(cache_conf *c, replkv_opts *o, const char *name,
                     const char *text, conf_error *err, int depth);

static char *read_all(FILE *f, size_t *len)
{
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    if (buf == NULL)
        return NULL;
    for (;;) {
        if (cap - n < 4096) {
            if (cap > (64u << 20)) { /* a config past 64 MB is not one */
                free(buf);
                errno = EFBIG;
                return NULL;
            }
            char *b = realloc(buf, cap * 2);
            if (b == NULL) {
                free(buf);
                return NULL;
            }
            buf = b;
            cap *= 2;
        }
        size_t r = fread(buf + n, 1, cap - n - 1, f);
        n += r;
        if (r == 0)
            break;
    }
    if (ferror(f)) {
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

static int load_path(cache_conf *c, replkv_opts *o, const char *path,
                     conf_error *err, int depth, const char *from,
                     int from_line)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    char *text = NULL;
    size_t len = 0;
    if (f != NULL) {
        text = read_all(f, &len);
        if (f != stdin)
            fclose(f);
    }
    if (text == NULL) {
        if (from != NULL)
            snprintf(err->msg, sizeof err->msg,
                     "%s:%d: Fatal error, can't open config file '%s': %s",
                     from, from_line, path, strerror(errno));
        else
            snprintf(err->msg, sizeof err->msg,
                     "Fatal error, can't open config file '%s': %s", path,
                     strerror(errno));
        return -1;
    }
    if (strlen(text) != len) {
        snprintf(err->msg, sizeof err->msg, "%s: contains a NUL byte", path);
        free(text);
        return -1;
    }
    int rc = load_text(c, o, strcmp(path, "-") == 0 ? "(stdin)" : path, text,
                       err, depth);
    free(text);
    return rc;
}

static void free_words(char **w, int n)
{
    for (int i = 0; i < n; i++)
        free(w[i]);
    free(w);
}

/* Splits one line into NUL-terminated words; *n = -1 for bad quotes. */
static char **split_line(char *line, size_t len, int *n)
{
    resp_arg *a = NULL;
    size_t cap = 0;
    long k = resp_splitargs(line, len, &a, &cap);
    *n = (int)k;
    if (k < 0) {
        free(a);
        return NULL;
    }
    char **w = calloc((size_t)k + 1, sizeof *w);
    if (w == NULL) {
        free(a);
        *n = -2;
        return NULL;
    }
    for (long i = 0; i < k; i++) {
        w[i] = strndup(line + a[i].off, a[i].len);
        if (w[i] == NULL) {
            free_words(w, (int)i);
            free(a);
            *n = -2;
            return NULL;
        }
    }
    free(a);
    return w;
}

static int load_text(cache_conf *c, replkv_opts *o, const char *name,
                     const char *text, conf_error *err, int depth)
{
    int lineno = 0;
    const char *p = text;
    while (*p) {
        lineno++;
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        char *line = strndup(p, len);
        p += len + (nl ? 1 : 0);
        if (line == NULL) {
            snprintf(err->msg, sizeof err->msg, "%s:%d: out of memory", name,
                     lineno);
            return -1;
        }
        /* Trim blanks; skip empty lines and comments. */
        char *s = line;
        while (isspace((unsigned char)*s))
            s++;
        size_t sl = strlen(s);
        while (sl > 0 && isspace((unsigned char)s[sl - 1]))
            s[--sl] = '\0';
        if (sl == 0 || s[0] == '#') {
            free(line);
            continue;
        }
        int n;
        char **w = split_line(s, sl, &n);
        free(line);
        if (w == NULL) {
            snprintf(err->msg, sizeof err->msg, "%s:%d: %s", name, lineno,
                     n == -1 ? "Unbalanced quotes in configuration line"
                             : "out of memory");
            return -1;
        }
        if (n == 0) {
            free_words(w, n);
            continue;
        }
        for (char *q = w[0]; *q; q++)
            *q = (char)tolower((unsigned char)*q);
        int rc = 0;
        if (strcmp(w[0], "include") == 0) {
            if (n != 2) {
                snprintf(err->msg, sizeof err->msg,
                         "%s:%d: 'include': Bad directive or wrong number of "
                         "arguments",
                         name, lineno);
                rc = -1;
            } else if (depth >= CONF_MAX_INCLUDE_DEPTH) {
                snprintf(err->msg, sizeof err->msg,
                         "%s:%d: 'include': nested too deep (more than %d "
                         "levels)",
                         name, lineno, CONF_MAX_INCLUDE_DEPTH);
                rc = -1;
            } else {
                rc = load_path(c, o, w[1], err, depth + 1, name, lineno);
            }
        } else {
            char reason[768];
            if (conf_apply(c, o, n, w, reason, sizeof reason) < 0) {
                snprintf(err->msg, sizeof err->msg, "%s:%d: %s", name, lineno,
                         reason);
                rc = -1;
            }
        }
        free_words(w, n);
        if (rc < 0)
            return -1;
    }
    return 0;
}

int conf_load_string(cache_conf *c, replkv_opts *o, const char *name,
                     const char *text, conf_error *err)
{
    return load_text(c, o, name, text, err, 0);
}

int conf_load_file(cache_conf *c, replkv_opts *o, const char *path,
                   conf_error *err)
{
    if (strcmp(path, "-") != 0) {
        char *abs = realpath(path, NULL);
        if (abs != NULL) {
            free(c->config_file);
            c->config_file = abs;
        }
    }
    return load_path(c, o, path, err, 0, NULL, 0);
}

/* True when argv[k] is the --sentinel mode flag rather than a "--sentinel
 * <statement> ..." directive: nothing, another flag or a file follows. */
static bool is_mode_flag(int argc, char **argv, int k)
{
    if (strcmp(argv[k], "--sentinel") != 0)
        return false;
    if (k + 1 >= argc || strncmp(argv[k + 1], "--", 2) == 0)
        return true;
    static const char *const statements[] = {
        "monitor", "down-after-milliseconds", "failover-timeout",
        "parallel-syncs", "auth-pass", "ping-interval", "self-fence", NULL};
    for (int i = 0; statements[i]; i++)
        if (strcasecmp(argv[k + 1], statements[i]) == 0)
            return false;
    return k == 0; /* "--sentinel sentinel.conf" */
}

int conf_load_args(cache_conf *c, replkv_opts *o, int argc, char **argv,
                   conf_error *err)
{
    int j = 0;
    if (argc > 0 && (strcmp(argv[0], "--help") == 0 ||
                     strcmp(argv[0], "-h") == 0)) {
        snprintf(err->msg, sizeof err->msg,
                 "Usage: replkv-cache [/path/to/replkv.conf] [options] [-]\n"
                 "       replkv-cache - (read config from stdin)\n"
                 "       replkv-cache --sentinel /path/to/sentinel.conf\n"
                 "       replkv-cache -v or --version\n"
                 "       replkv-cache -h or --help\n\n"
                 "Examples:\n"
                 "       replkv-cache (run the server with default conf)\n"
                 "       replkv-cache /etc/replkv/6379.conf\n"
                 "       replkv-cache --port 7777\n"
                 "       replkv-cache /etc/myreplkv.conf --loglevel verbose\n");
        return 1;
    }
    if (argc > 0 && (strcmp(argv[0], "--version") == 0 ||
                     strcmp(argv[0], "-v") == 0)) {
        snprintf(err->msg, sizeof err->msg,
                 "replkv-cache v=%s libreplkv=%s (Redis protocol 7.0)\n",
                 REPLKV_VERSION_STRING, replkv_version_string());
        return 1;
    }
    /* --sentinel, as redis-server takes it: before the file, after it or
     * among the flags, with no value (a "--sentinel monitor ..." flag is a
     * directive). It changes defaults, so it is applied before the file. */
    int file = 0;
    if (argc > 1 && is_mode_flag(argc, argv, 0) &&
        strncmp(argv[1], "--", 2) != 0) {
        c->sentinel_mode = true;
        file = 1;
    }
    for (int k = 0; k < argc; k++)
        if (is_mode_flag(argc, argv, k))
            c->sentinel_mode = true;
    if (c->sentinel_mode) {
        /* Redis Sentinel's defaults: port 26379, reachable from other
         * hosts (protect it with requirepass or a firewall). */
        c->port = 26379;
        c->protected_mode = false;
    }
    j = file;
    if (j < argc && strncmp(argv[j], "--", 2) != 0) {
        if (conf_load_file(c, o, argv[j], err) < 0)
            return -1;
        j++;
    }
    int optno = 0;
    while (j < argc) {
        optno++;
        if (strncmp(argv[j], "--", 2) != 0 || argv[j][2] == '\0') {
            snprintf(err->msg, sizeof err->msg,
                     "command line:%d: '%s': expected an option like --port",
                     optno, argv[j]);
            return -1;
        }
        if (is_mode_flag(argc, argv, j)) {
            j++;
            continue;
        }
        int start = j++;
        while (j < argc && strncmp(argv[j], "--", 2) != 0)
            j++;
        int n = j - start;
        char **w = calloc((size_t)n + 1, sizeof *w);
        if (w == NULL) {
            snprintf(err->msg, sizeof err->msg, "out of memory");
            return -1;
        }
        w[0] = argv[start] + 2;
        for (int k = 1; k < n; k++)
            w[k] = argv[start + k];
        char lname[128];
        snprintf(lname, sizeof lname, "%s", w[0]);
        for (char *q = lname; *q; q++)
            *q = (char)tolower((unsigned char)*q);
        w[0] = lname;
        char reason[768];
        int rc = 0;
        if (strcmp(lname, "include") == 0 && n == 2)
            rc = load_path(c, o, w[1], err, 1, "command line", optno);
        else if (conf_apply(c, o, n, w, reason, sizeof reason) < 0) {
            snprintf(err->msg, sizeof err->msg, "command line:%d: %s", optno,
                     reason);
            rc = -1;
        }
        free(w);
        if (rc < 0)
            return -1;
    }
    return 0;
}

