/*
 * check_cache_metrics.c - replkv-cache's /metrics endpoint without sockets:
 * the HTTP request classifier on valid requests, every split of a request
 * (one byte at a time must never answer early), and hostile input (garbage,
 * binary, lying versions, oversized headers); then the exposition text of a
 * real node checked line by line (HELP and TYPE before each family's
 * samples, `name{labels} value`).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "conf.h"
#include "metrics.h"
#include "server.h"
#include "util.h"

static metrics_req parse(const char *s)
{
    return metrics_parse_request(s, strlen(s));
}

START_TEST(test_valid_requests)
{
    ck_assert_int_eq(parse("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"),
                     MREQ_METRICS);
    ck_assert_int_eq(parse("GET /metrics HTTP/1.0\r\n\r\n"), MREQ_METRICS);
    ck_assert_int_eq(parse("GET /metrics HTTP/1.1\n\n"), MREQ_METRICS);
    ck_assert_int_eq(parse("GET /metrics?name[]=x HTTP/1.1\r\n\r\n"),
                     MREQ_METRICS);
    ck_assert_int_eq(parse("HEAD /metrics HTTP/1.1\r\n\r\n"),
                     MREQ_METRICS_HEAD);
    ck_assert_int_eq(parse("GET / HTTP/1.1\r\n\r\n"), MREQ_NOT_FOUND);
    ck_assert_int_eq(parse("GET /metrics/ HTTP/1.1\r\n\r\n"), MREQ_NOT_FOUND);
    ck_assert_int_eq(parse("GET /metricsx HTTP/1.1\r\n\r\n"), MREQ_NOT_FOUND);
    ck_assert_int_eq(parse("POST /metrics HTTP/1.1\r\nContent-Length: 0"
                           "\r\n\r\n"),
                     MREQ_BAD_METHOD);
    ck_assert_int_eq(parse("DELETE / HTTP/1.1\r\n\r\n"), MREQ_BAD_METHOD);
}
END_TEST

START_TEST(test_incomplete)
{
    const char *req = "GET /metrics HTTP/1.1\r\nHost: a\r\nAccept: */*\r\n\r\n";
    size_t n = strlen(req);
    /* Every proper prefix asks for more; only the whole answers. */
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(metrics_parse_request(req, i) == MREQ_MORE,
                      "prefix of %zu bytes answered early", i);
    ck_assert_int_eq(metrics_parse_request(req, n), MREQ_METRICS);
    ck_assert_int_eq(parse(""), MREQ_MORE);
    ck_assert_int_eq(parse("GET /met"), MREQ_MORE);
}
END_TEST

START_TEST(test_garbage)
{
    const char *bad[] = {
        "garbage\r\n\r\n",
        "get /metrics HTTP/1.1\r\n\r\n",
        "GET metrics HTTP/1.1\r\n\r\n",
        "GET /metrics\r\n\r\n",
        "GET /metrics HTTP/2.0\r\n\r\n",
        "GET /metrics HTTP/1.1x\r\n\r\n",
        "GET  /metrics HTTP/1.1\r\n\r\n",
        "GET /metrics  HTTP/1.1\r\n\r\n",
        " GET /metrics HTTP/1.1\r\n\r\n",
        "\r\n\r\n",
        "GETTTTTTTTTTTTTTTTTTTTTTTT /metrics HTTP/1.1\r\n\r\n",
        "GET /me\x01trics HTTP/1.1\r\n\r\n",
        "*1\r\n$4\r\nPING\r\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(parse(bad[i]) == MREQ_BAD, "accepted case %zu", i);
    /* Garbage is refused before any newline: a TLS hello, RESP, NUL. */
    static const char tls[] = "\x16\x03\x01\x02\x00";
    ck_assert_int_eq(metrics_parse_request(tls, sizeof tls - 1), MREQ_BAD);
    ck_assert_int_eq(parse("*1\r"), MREQ_BAD);
    ck_assert_int_eq(metrics_parse_request("GET \0", 5), MREQ_BAD);
    ck_assert_int_eq(parse("GET /x\tHTTP"), MREQ_BAD);
}
END_TEST

START_TEST(test_too_large)
{
    size_t n = METRICS_MAX_REQUEST;
    char *buf = malloc(n);
    /* A request line that never ends. */
    memcpy(buf, "GET /", 5);
    memset(buf + 5, 'a', n - 5);
    ck_assert_int_eq(metrics_parse_request(buf, n), MREQ_TOO_LARGE);
    ck_assert_int_eq(metrics_parse_request(buf, n - 1), MREQ_MORE);
    /* Headers that never end. */
    const char *line = "GET /metrics HTTP/1.1\r\nX: ";
    memcpy(buf, line, strlen(line));
    ck_assert_int_eq(metrics_parse_request(buf, n), MREQ_TOO_LARGE);
    free(buf);
}
END_TEST

/* --------------------------------------------------------- exposition */

static bool valid_name(const char *s, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        bool alpha = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                     ch == '_' || ch == ':';
        if (!alpha && !(i > 0 && ch >= '0' && ch <= '9'))
            return false;
    }
    return true;
}

START_TEST(test_render)
{
    replkv_t *kv = NULL;
    ck_assert_int_eq(replkv_open(NULL, &kv), 0);
    ck_assert_int_eq(replkv_set(kv, "k", 1, "v", 1, 0, 0), 1);
    cache_server *srv = calloc(1, sizeof *srv);
    cache_log log;
    log_init(&log);
    ck_assert(conf_init(&srv->conf));
    srv->kv = kv;
    srv->log = &log;
    srv->start_ms = util_mono_ms();
    srv->cmd_stats = calloc(cmd_count, sizeof *srv->cmd_stats);
    srv->cmd_stats[0].calls = 3;
    srv->stat_commands = 3;

    rbuf b = {0};
    metrics_render(srv, &b);
    ck_assert(!b.oom);
    ck_assert(rbuf_reserve(&b, 1));
    b.data[b.len] = '\0';
    ck_assert_int_eq(b.data[b.len - 1], '\n');

    char family[128] = "";
    bool help = false, type = false;
    size_t samples = 0;
    for (char *line = b.data, *eol; *line; line = eol + 1) {
        eol = strchr(line, '\n');
        ck_assert_ptr_nonnull(eol);
        *eol = '\0';
        char name[128];
        if (sscanf(line, "# HELP %127s ", name) == 1) {
            snprintf(family, sizeof family, "%s", name);
            help = true;
            type = false;
            ck_assert_msg(strncmp(name, "replkv_", 7) == 0, "%s", line);
            continue;
        }
        char kind[32];
        if (sscanf(line, "# TYPE %127s %31s", name, kind) == 2) {
            ck_assert_str_eq(name, family);
            ck_assert(help);
            ck_assert_msg(strcmp(kind, "gauge") == 0 ||
                              strcmp(kind, "counter") == 0,
                          "%s", line);
            type = true;
            continue;
        }
        ck_assert_msg(line[0] != '#', "stray comment: %s", line);
        size_t n = strcspn(line, "{ ");
        ck_assert_msg(valid_name(line, n), "bad name: %s", line);
        ck_assert_msg(strlen(family) == n && memcmp(line, family, n) == 0 &&
                          help && type,
                      "sample without HELP/TYPE: %s", line);
        const char *v = line + n;
        if (*v == '{') {
            v = strchr(v, '}');
            ck_assert_ptr_nonnull(v);
            v++;
        }
        ck_assert_msg(*v == ' ', "%s", line);
        char *end;
        strtod(v + 1, &end);
        ck_assert_msg(end != v + 1 && *end == '\0', "bad value: %s", line);
        samples++;
    }
    ck_assert_uint_gt(samples, 20);
    rbuf_free(&b);

    /* The figures themselves. */
    metrics_render(srv, &b);
    ck_assert(rbuf_reserve(&b, 1));
    b.data[b.len] = '\0';
    ck_assert_ptr_nonnull(strstr(b.data, "\nreplkv_keys 1\n"));
    ck_assert_ptr_nonnull(
        strstr(b.data, "\nreplkv_role{role=\"primary\"} 1\n"));
    ck_assert_ptr_nonnull(
        strstr(b.data, "\nreplkv_commands_processed_total 3\n"));
    char want[96];
    snprintf(want, sizeof want, "\nreplkv_commands_total{cmd=\"%s\"} 3\n",
             cmd_table[0].name);
    ck_assert_ptr_nonnull(strstr(b.data, want));
    ck_assert_ptr_null(strstr(b.data, "replkv_master_link_up"));
    rbuf_free(&b);

    free(srv->cmd_stats);
    conf_free(&srv->conf);
    free(srv);
    replkv_close(kv);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("cache_metrics");
    TCase *t = tcase_create("metrics");
    tcase_add_test(t, test_valid_requests);
    tcase_add_test(t, test_incomplete);
    tcase_add_test(t, test_garbage);
    tcase_add_test(t, test_too_large);
    tcase_add_test(t, test_render);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    SRunner *r = srunner_create(suite());
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed == 0 ? 0 : 1;
}
