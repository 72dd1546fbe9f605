/*
 * fuzz_conf.c - libFuzzer target for replkv-cache's configuration parser
 * (examples/cache/conf.h, conf_load_string): the input is a redis.conf-style
 * text, applied to a fresh cache_conf and replkv_opts. Afterwards every
 * server parameter must format (conf_get), a deep copy must be freeable,
 * and each runtime parameter must accept back, through conf_set, the value
 * conf_get shows for it (CONFIG GET output is valid CONFIG SET input).
 *
 * Two directives touch the file system with their argument: "include"
 * reads any path (or standard input: "-") and "logfile" creates the file.
 * Lines whose first word is one of them are blanked before the text is
 * parsed (with the parser's own word splitting, so no quoting or \x
 * escape gets one through), keeping the line numbers.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "replkv.h"
#include "resp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool is_unsafe_line(const char *p, size_t len)
{
    char *s = malloc(len + 1);
    if (s == NULL)
        return true;
    memcpy(s, p, len);
    s[len] = '\0';
    /* The same trimming as load_text. */
    char *t = s;
    while (isspace((unsigned char)*t))
        t++;
    size_t tl = strlen(t);
    while (tl > 0 && isspace((unsigned char)t[tl - 1]))
        t[--tl] = '\0';
    bool bad = false;
    resp_arg *a = NULL;
    size_t cap = 0;
    long k = resp_splitargs(t, tl, &a, &cap);
    if (k > 0) {
        char w[8];
        size_t n = a[0].len < sizeof w - 1 ? a[0].len : sizeof w - 1;
        for (size_t i = 0; i < n; i++)
            w[i] = (char)tolower((unsigned char)t[a[0].off + i]);
        w[n] = '\0';
        bad = a[0].len == n &&
              (strcmp(w, "include") == 0 || strcmp(w, "logfile") == 0);
    }
    free(a);
    free(s);
    return bad;
}

/* A NUL-terminated copy (the text ends at the first NUL, as a file that
 * conf_load_file reads would be refused) with unsafe lines blanked. */
static char *safe_text(const uint8_t *data, size_t size)
{
    size_t n = strnlen((const char *)data, size);
    char *text = malloc(n + 1);
    if (text == NULL)
        return NULL;
    memcpy(text, data, n);
    text[n] = '\0';
    char *p = text;
    while (*p) {
        char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        if (is_unsafe_line(p, len))
            memset(p, ' ', len);
        p += len + (nl ? 1 : 0);
    }
    return text;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = safe_text(data, size);
    if (text == NULL)
        return 0;
    cache_conf c;
    if (!conf_init(&c)) {
        free(text);
        return 0;
    }
    replkv_opts *o = replkv_opts_new();
    conf_error err;
    err.msg[0] = '\0';
    int rc = conf_load_string(&c, o, "fuzz.conf", text, &err);
    free(text);
    if (rc != 0) {
        if (strncmp(err.msg, "fuzz.conf:", 10) != 0)
            abort(); /* an error must name the file and line */
    } else {
        char val[4096], reason[1024];
        const conf_param *ps = conf_params();
        for (size_t i = 0; ps[i].name != NULL; i++) {
            if (conf_get(&c, ps[i].name, val, sizeof val) != 0)
                abort(); /* a listed parameter that conf_get refuses */
            if (!ps[i].runtime)
                continue;
            if (conf_set(&c, ps[i].name, val, reason, sizeof reason) != 0) {
                fprintf(stderr, "conf_set(%s, \"%s\") refused: %s\n",
                        ps[i].name, val, reason);
                abort(); /* CONFIG GET's output is not CONFIG SET input */
            }
        }
        cache_conf copy;
        if (conf_copy(&copy, &c))
            conf_free(&copy);
    }
    replkv_opts_free(o);
    conf_free(&c);
    return 0;
}
