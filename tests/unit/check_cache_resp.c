/*
 * check_cache_resp.c - the RESP request parser of replkv-cache: pipelined
 * requests, a request split at every byte, inline requests and quoting, and
 * hostile input (bad and huge lengths, negative lengths, garbage), with
 * Redis's error texts. Also the reply writer and the glob matcher.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reply.h"
#include "resp.h"
#include "util.h"

#define MAXBULK (512ull * 1024 * 1024)

/* Parses every request in s; writes them as "a|b|c;" into out. Returns the
 * last status. */
static int parse_all(resp_parser *p, char *buf, size_t len, char *out,
                     size_t cap)
{
    out[0] = '\0';
    for (;;) {
        int rc = resp_parse(p, buf, len);
        if (rc != RESP_REQUEST)
            return rc;
        for (size_t i = 0; i < p->argc; i++) {
            strncat(out, buf + p->argv[i].off, p->argv[i].len);
            strcat(out, i + 1 < p->argc ? "|" : ";");
        }
        (void)cap;
    }
}

static int parse_str(const char *s, char *out, resp_parser *p)
{
    size_t n = strlen(s);
    char *buf = malloc(n + 1);
    memcpy(buf, s, n + 1);
    resp_init(p, MAXBULK);
    int rc = parse_all(p, buf, n, out, 4096);
    free(buf);
    return rc;
}

START_TEST(test_multibulk)
{
    resp_parser p;
    char out[4096];
    ck_assert_int_eq(parse_str("*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n", out, &p),
                     RESP_NEED_MORE);
    ck_assert_str_eq(out, "GET|key;");
    ck_assert(resp_idle(&p));
    resp_free(&p);
}
END_TEST

START_TEST(test_pipelined)
{
    resp_parser p;
    char out[4096];
    const char *s = "*1\r\n$4\r\nPING\r\n*3\r\n$3\r\nSET\r\n$1\r\na\r\n$0\r\n"
                    "\r\nPING\r\n*0\r\n*-1\r\n\r\n*2\r\n$4\r\nECHO\r\n$2\r\n"
                    "\r\n\r\n";
    ck_assert_int_eq(parse_str(s, out, &p), RESP_NEED_MORE);
    ck_assert_str_eq(out, "PING;SET|a|;PING;ECHO|\r\n;");
    resp_free(&p);
}
END_TEST

/* The same pipeline fed one byte more at a time: every split point gives
 * the same requests, and nothing is parsed twice. */
START_TEST(test_split_every_byte)
{
    const char *s = "*3\r\n$3\r\nSET\r\n$5\r\nhello\r\n$12\r\nworld\r\n12345"
                    "\r\nGET \"a b\" 'c'\r\n*2\r\n$6\r\nEXISTS\r\n$1\r\nx\r\n";
    size_t n = strlen(s);
    char *buf = malloc(n);
    memcpy(buf, s, n);
    for (size_t cut = 0; cut <= n; cut++) {
        resp_parser p;
        resp_init(&p, MAXBULK);
        char out[4096] = "", part[4096];
        /* First the prefix, then the whole buffer. */
        char *b1 = malloc(n);
        memcpy(b1, s, n);
        ck_assert_int_eq(parse_all(&p, b1, cut, part, sizeof part),
                         RESP_NEED_MORE);
        strcat(out, part);
        ck_assert_int_eq(parse_all(&p, b1, n, part, sizeof part),
                         RESP_NEED_MORE);
        strcat(out, part);
        ck_assert_msg(strcmp(out, "SET|hello|world\r\n12345;GET|a b|c;"
                                  "EXISTS|x;") == 0,
                      "cut at %zu: %s", cut, out);
        ck_assert(resp_idle(&p));
        free(b1);
        resp_free(&p);
    }
    free(buf);
}
END_TEST

/* Splits with the consumed prefix dropped in between (resp_shift), as the
 * server does when it keeps a partial request. */
START_TEST(test_split_with_shift)
{
    const char *s = "*2\r\n$3\r\nGET\r\n$3\r\nabc\r\n*2\r\n$3\r\nGET\r\n$3\r\n"
                    "xyz\r\n";
    size_t n = strlen(s);
    for (size_t cut = 1; cut < n; cut++) {
        resp_parser p;
        resp_init(&p, MAXBULK);
        char buf[256], out[512] = "", part[512];
        memcpy(buf, s, cut);
        parse_all(&p, buf, cut, part, sizeof part);
        strcat(out, part);
        size_t drop = resp_consumed(&p);
        memmove(buf, buf + drop, cut - drop);
        resp_shift(&p, drop);
        size_t have = cut - drop;
        memcpy(buf + have, s + cut, n - cut);
        parse_all(&p, buf, have + n - cut, part, sizeof part);
        strcat(out, part);
        ck_assert_msg(strcmp(out, "GET|abc;GET|xyz;") == 0, "cut %zu: %s",
                      cut, out);
        resp_free(&p);
    }
}
END_TEST

START_TEST(test_inline)
{
    resp_parser p;
    char out[4096];
    ck_assert_int_eq(parse_str("set a \"x\\ny\\x41\" 'it\\'s'\r\n\r\n  \n"
                               "ping\n",
                               out, &p),
                     RESP_NEED_MORE);
    ck_assert_str_eq(out, "set|a|x\nyA|it's;ping;");
    resp_free(&p);

    ck_assert_int_eq(parse_str("set a \"unbalanced\r\n", out, &p),
                     RESP_ERROR);
    ck_assert_str_eq(p.err, "Protocol error: unbalanced quotes in request");
    resp_free(&p);

    ck_assert_int_eq(parse_str("get \"a\"b\r\n", out, &p), RESP_ERROR);
    resp_free(&p);
}
END_TEST

START_TEST(test_inline_too_big)
{
    size_t n = RESP_MAX_INLINE + 10;
    char *buf = malloc(n);
    memset(buf, 'a', n);
    resp_parser p;
    resp_init(&p, MAXBULK);
    char out[16];
    ck_assert_int_eq(parse_all(&p, buf, n, out, sizeof out), RESP_ERROR);
    ck_assert_str_eq(p.err, "Protocol error: too big inline request");
    resp_free(&p);
    free(buf);
}
END_TEST

START_TEST(test_bad_multibulk_length)
{
    resp_parser p;
    char out[256];
    const char *bad[] = {"*abc\r\n", "*1048577\r\n", "*99999999999999999999\r\n",
                         "*+1\r\n", "*01\r\n", "* 1\r\n", "*\r\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_int_eq(parse_str(bad[i], out, &p), RESP_ERROR);
        ck_assert_str_eq(p.err, "Protocol error: invalid multibulk length");
        resp_free(&p);
    }
    /* The largest count allowed is accepted and waits for its bulks,
     * without allocating for all of them. */
    ck_assert_int_eq(parse_str("*1048576\r\n$1\r\na\r\n", out, &p),
                     RESP_NEED_MORE);
    ck_assert_uint_le(p.argv_cap, 16);
    resp_free(&p);
}
END_TEST

START_TEST(test_bad_bulk_length)
{
    resp_parser p;
    char out[256];
    const char *bad[] = {"*1\r\n$-1\r\n", "*1\r\n$-5\r\n", "*1\r\n$2147483648\r\n",
                         "*1\r\n$x\r\n", "*2\r\n$1\r\na\r\n$99999999999\r\n",
                         "*1\r\n$536870913\r\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_int_eq(parse_str(bad[i], out, &p), RESP_ERROR);
        ck_assert_str_eq(p.err, "Protocol error: invalid bulk length");
        resp_free(&p);
    }
    /* Exactly the limit is fine: it waits for the data. */
    ck_assert_int_eq(parse_str("*1\r\n$536870912\r\n", out, &p),
                     RESP_NEED_MORE);
    ck_assert_uint_eq(resp_wanted(&p, strlen("*1\r\n$536870912\r\n")),
                      536870912u + 2);
    resp_free(&p);
}
END_TEST

START_TEST(test_garbage)
{
    resp_parser p;
    char out[256];
    ck_assert_int_eq(parse_str("*2\r\n$3\r\nGET\r\n:12\r\n", out, &p),
                     RESP_ERROR);
    ck_assert_str_eq(p.err, "Protocol error: expected '$', got ':'");
    resp_free(&p);
    ck_assert_int_eq(parse_str("*1\r\n*1\r\n$4\r\nPING\r\n", out, &p),
                     RESP_ERROR);
    ck_assert_str_eq(p.err, "Protocol error: expected '$', got '*'");
    resp_free(&p);

    /* A count line that never ends. */
    size_t n = RESP_MAX_INLINE + 100;
    char *buf = malloc(n);
    memset(buf, '9', n);
    buf[0] = '*';
    resp_init(&p, MAXBULK);
    ck_assert_int_eq(parse_all(&p, buf, n, out, sizeof out), RESP_ERROR);
    ck_assert_str_eq(p.err, "Protocol error: too big mbulk count string");
    resp_free(&p);
    memcpy(buf, "*1\r\n$", 5);
    resp_init(&p, MAXBULK);
    ck_assert_int_eq(parse_all(&p, buf, n, out, sizeof out), RESP_ERROR);
    ck_assert_str_eq(p.err, "Protocol error: too big bulk count string");
    resp_free(&p);
    free(buf);

    /* Random bytes never crash the parser or read out of bounds. */
    srand(42);
    for (int round = 0; round < 2000; round++) {
        size_t len = (size_t)(rand() % 64);
        char *g = malloc(len ? len : 1);
        static const char alphabet[] = "*$\r\n0123456789-+ \"'abc\\x";
        for (size_t i = 0; i < len; i++)
            g[i] = alphabet[rand() % (int)(sizeof alphabet - 1)];
        resp_init(&p, 1024);
        int rc = parse_all(&p, g, len, out, sizeof out);
        ck_assert(rc == RESP_NEED_MORE || rc == RESP_ERROR);
        resp_free(&p);
        free(g);
    }
}
END_TEST

START_TEST(test_unauth_limits)
{
    resp_parser p;
    resp_init(&p, MAXBULK);
    p.unauth = true;
    char buf[] = "*11\r\n";
    ck_assert_int_eq(resp_parse(&p, buf, strlen(buf)), RESP_ERROR);
    ck_assert_str_eq(p.err, "Protocol error: unauthenticated multibulk length");
    resp_free(&p);
    resp_init(&p, MAXBULK);
    p.unauth = true;
    char buf2[] = "*2\r\n$16385\r\n";
    ck_assert_int_eq(resp_parse(&p, buf2, strlen(buf2)), RESP_ERROR);
    ck_assert_str_eq(p.err, "Protocol error: unauthenticated bulk length");
    resp_free(&p);
}
END_TEST

START_TEST(test_splitargs)
{
    char s[] = "  include \"/a b/c.conf\"  'x y' \"\\x4g\" end";
    resp_arg *a = NULL;
    size_t cap = 0;
    long n = resp_splitargs(s, strlen(s), &a, &cap);
    ck_assert_int_eq(n, 5);
    char w[5][32];
    for (long i = 0; i < n; i++)
        snprintf(w[i], sizeof w[i], "%.*s", (int)a[i].len, s + a[i].off);
    ck_assert_str_eq(w[0], "include");
    ck_assert_str_eq(w[1], "/a b/c.conf");
    ck_assert_str_eq(w[2], "x y");
    ck_assert_str_eq(w[3], "x4g");
    ck_assert_str_eq(w[4], "end");
    char bad[] = "a 'b";
    ck_assert_int_eq(resp_splitargs(bad, strlen(bad), &a, &cap), -1);
    free(a);
}
END_TEST

START_TEST(test_reply)
{
    rbuf b = {0};
    reply_simple(&b, "OK");
    reply_error(&b, "ERR bad\r\nthing");
    reply_int(&b, -9223372036854775807LL - 1);
    reply_bulk(&b, "ab", 2);
    reply_null(&b);
    reply_array(&b, 3);
    const char *want = "+OK\r\n-ERR bad  thing\r\n:-9223372036854775808\r\n"
                       "$2\r\nab\r\n$-1\r\n*3\r\n";
    ck_assert_uint_eq(b.len, strlen(want));
    ck_assert(memcmp(b.data, want, b.len) == 0);
    rbuf_free(&b);
}
END_TEST

START_TEST(test_integers)
{
    long long v;
    ck_assert(util_str2ll("0", 1, &v) && v == 0);
    ck_assert(util_str2ll("-9223372036854775808", 20, &v) &&
              v == -9223372036854775807LL - 1);
    ck_assert(!util_str2ll("9223372036854775808", 19, &v));
    ck_assert(!util_str2ll("01", 2, &v));
    ck_assert(!util_str2ll("-0", 2, &v));
    ck_assert(!util_str2ll("+1", 2, &v));
    ck_assert(!util_str2ll(" 1", 2, &v));
    ck_assert(!util_str2ll("", 0, &v));
}
END_TEST

START_TEST(test_glob)
{
    struct {
        const char *pat, *s;
        bool nocase, want;
    } cases[] = {
        {"*", "abc", false, true},      {"a*c", "abbbc", false, true},
        {"a?c", "abc", false, true},    {"a?c", "ac", false, false},
        {"h[ae]llo", "hello", false, true}, {"h[^e]llo", "hello", false, false},
        {"h[a-b]llo", "hbllo", false, true}, {"h\\*", "h*", false, true},
        {"h\\*", "hx", false, false},   {"MAX*", "maxmemory", true, true},
        {"MAX*", "maxmemory", false, false}, {"[", "a", false, false},
        {"*a*a*a*a*a*a*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false,
         false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        ck_assert_msg(util_glob_match(cases[i].pat, strlen(cases[i].pat),
                                      cases[i].s, strlen(cases[i].s),
                                      cases[i].nocase) == cases[i].want,
                      "%s ~ %s", cases[i].pat, cases[i].s);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("cache_resp");
    TCase *t = tcase_create("parser");
    tcase_add_test(t, test_multibulk);
    tcase_add_test(t, test_pipelined);
    tcase_add_test(t, test_split_every_byte);
    tcase_add_test(t, test_split_with_shift);
    tcase_add_test(t, test_inline);
    tcase_add_test(t, test_inline_too_big);
    tcase_add_test(t, test_bad_multibulk_length);
    tcase_add_test(t, test_bad_bulk_length);
    tcase_add_test(t, test_garbage);
    tcase_add_test(t, test_unauth_limits);
    tcase_add_test(t, test_splitargs);
    suite_add_tcase(s, t);
    TCase *u = tcase_create("helpers");
    tcase_add_test(u, test_reply);
    tcase_add_test(u, test_integers);
    tcase_add_test(u, test_glob);
    suite_add_tcase(s, u);
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
