/*
 * commands_conn.c - connection and server-control commands: PING, ECHO,
 * AUTH, HELLO, SELECT, QUIT, TIME, SHUTDOWN and DEBUG. Authentication has
 * Redis 7's shape with one user, "default", whose password is requirepass
 * (no password: the default user is "nopass" and any password works for
 * "AUTH default pw", as in Redis).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "cmd.h"
#include "util.h"

void cmd_ping(cache_client *c)
{
    if (c->argc > 2) {
        c_arity(c, "ping");
        return;
    }
    if (c->argc == 2)
        reply_bulk(c->reply, c->argv[1], c->argvlen[1]);
    else
        reply_raw(c->reply, "+PONG\r\n", 7);
}

void cmd_echo(cache_client *c)
{
    reply_bulk(c->reply, c->argv[1], c->argvlen[1]);
}

bool conn_check_password(cache_client *c, const char *user, size_t ulen,
                         const char *pass, size_t plen)
{
    const char *req = c->srv->conf.requirepass;
    bool ok = ulen == 7 && memcmp(user, "default", 7) == 0;
    if (ok && req != NULL)
        ok = util_secret_equal(pass, plen, req, strlen(req));
    if (!ok) {
        log_msg(c->srv->log, LOG_VERBOSE,
                "Failed authentication from client id=%llu addr=%s",
                (unsigned long long)c->id, c->addr);
        c_err(c, "WRONGPASS invalid username-password pair or user is "
                 "disabled.");
        return false;
    }
    c->flags |= CF_AUTHED;
    return true;
}

void cmd_auth(cache_client *c)
{
    if (c->argc > 3) {
        c_syntax(c);
        return;
    }
    if (c->argc == 2 && c->srv->conf.requirepass == NULL) {
        c_err(c, "ERR AUTH <password> called without any password configured "
                 "for the default user. Are you sure your configuration is "
                 "correct?");
        return;
    }
    const char *user = "default";
    size_t ulen = 7;
    if (c->argc == 3) {
        user = c->argv[1];
        ulen = c->argvlen[1];
    }
    if (conn_check_password(c, user, ulen, c->argv[c->argc - 1],
                            c->argvlen[c->argc - 1]))
        c_ok(c);
}

/* A client name may not hold blanks or control characters (Redis's
 * validateClientName). */
static bool valid_name(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '!' || s[i] > '~')
            return false;
    return true;
}

bool conn_set_name(cache_client *c, size_t i)
{
    if (!valid_name(c->argv[i], c->argvlen[i])) {
        c_err(c, "ERR Client names cannot contain spaces, newlines or "
                 "special characters.");
        return false;
    }
    if (c->argvlen[i] > CACHE_MAX_NAME) {
        c_errf(c, "ERR Client names are limited to %d bytes here",
               CACHE_MAX_NAME);
        return false;
    }
    memcpy(c->name, c->argv[i], c->argvlen[i]);
    c->name[c->argvlen[i]] = '\0';
    return true;
}

void cmd_hello(cache_client *c)
{
    if (c->argc >= 2) {
        long long ver;
        if (!util_str2ll(c->argv[1], c->argvlen[1], &ver)) {
            c_err(c, "ERR Protocol version is not an integer or out of range");
            return;
        }
        if (ver != 2) { /* RESP3 is not spoken here */
            c_err(c, "NOPROTO unsupported protocol version");
            return;
        }
    }
    size_t auth_at = 0, name_at = 0;
    for (size_t j = 2; j < c->argc; j++) {
        size_t more = c->argc - j - 1;
        if (c_arg_is(c, j, "auth") && more >= 2) {
            auth_at = j + 1;
            j += 2;
        } else if (c_arg_is(c, j, "setname") && more >= 1) {
            name_at = j + 1;
            j += 1;
        } else {
            c_errf(c, "ERR Syntax error in HELLO option '%.*s'",
                   (int)c->argvlen[j], c->argv[j]);
            return;
        }
    }
    if (auth_at &&
        !conn_check_password(c, c->argv[auth_at], c->argvlen[auth_at],
                             c->argv[auth_at + 1], c->argvlen[auth_at + 1]))
        return;
    if (c->srv->conf.requirepass != NULL && !(c->flags & CF_AUTHED)) {
        c_err(c, "NOAUTH HELLO must be called with the client already "
                 "authenticated, otherwise the HELLO <proto> AUTH <user> "
                 "<pass> option can be used to authenticate the client and "
                 "select the RESP protocol version at the same time");
        return;
    }
    if (name_at && !conn_set_name(c, name_at))
        return;
    /* RESP2 has no maps: the map goes out as a flat array, as Redis does. */
    rbuf *b = c->reply;
    reply_array(b, 14);
    reply_bulk_cstr(b, "server");
    reply_bulk_cstr(b, "replkv-cache");
    reply_bulk_cstr(b, "version");
    reply_bulk_cstr(b, "7.0.0");
    reply_bulk_cstr(b, "proto");
    reply_int(b, 2);
    reply_bulk_cstr(b, "id");
    reply_int(b, (long long)c->id);
    reply_bulk_cstr(b, "mode");
    reply_bulk_cstr(b, "standalone");
    reply_bulk_cstr(b, "role");
    reply_bulk_cstr(b, replkv_role(c->srv->kv) == REPLKV_ROLE_REPLICA
                           ? "replica"
                           : "master");
    reply_bulk_cstr(b, "modules");
    reply_array(b, 0);
}

void cmd_select(cache_client *c)
{
    long long db;
    if (!c_arg_ll(c, 1, &db))
        return;
    if (db != 0)
        c_err(c, "ERR DB index is out of range");
    else
        c_ok(c);
}

void cmd_quit(cache_client *c)
{
    c_ok(c);
    c->flags |= CF_CLOSE_AFTER_REPLY;
}

void cmd_time(cache_client *c)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    reply_array(c->reply, 2);
    reply_bulk_ll(c->reply, (long long)tv.tv_sec);
    reply_bulk_ll(c->reply, (long long)tv.tv_usec);
}

void cmd_shutdown(cache_client *c)
{
    bool save = false, abort_req = false;
    for (size_t j = 1; j < c->argc; j++) {
        if (c_arg_is(c, j, "nosave"))
            save = false;
        else if (c_arg_is(c, j, "save"))
            save = true;
        else if (c_arg_is(c, j, "now") || c_arg_is(c, j, "force"))
            continue;
        else if (c_arg_is(c, j, "abort"))
            abort_req = true;
        else {
            c_syntax(c);
            return;
        }
    }
    if (abort_req) {
        c_err(c, "ERR No shutdown in progress.");
        return;
    }
    if (save) {
        /* Redis refuses to shut down when the save it was asked for fails;
         * this build has nothing to save to, so it refuses too rather than
         * pretend the data was kept. */
        log_msg(c->srv->log, LOG_WARNING,
                "SHUTDOWN SAVE refused: persistence is not built in this "
                "build (use SHUTDOWN NOSAVE)");
        c_err(c, "ERR Errors trying to SHUTDOWN. Check logs.");
        return;
    }
    char why[160];
    snprintf(why, sizeof why, "SHUTDOWN requested by client id=%llu addr=%s",
             (unsigned long long)c->id, c->addr);
    server_request_shutdown(c->srv, why);
}

void cmd_debug(cache_client *c)
{
    if (c_arg_is(c, 1, "digest") && c->argc == 2) {
        unsigned char d[16];
        int rc = replkv_digest(c->srv->kv, d);
        if (rc < 0) {
            c_libfail(c, rc);
            return;
        }
        char hex[33];
        for (int i = 0; i < 16; i++)
            snprintf(hex + 2 * i, 3, "%02x", d[i]);
        reply_simple(c->reply, hex);
    } else if (c_arg_is(c, 1, "sleep") && c->argc == 3) {
        char tmp[32];
        size_t n = c->argvlen[2] < sizeof tmp - 1 ? c->argvlen[2]
                                                   : sizeof tmp - 1;
        memcpy(tmp, c->argv[2], n);
        tmp[n] = '\0';
        char *end;
        double secs = strtod(tmp, &end);
        if (*end != '\0' || secs < 0 || secs > 3600) {
            c_err(c, "ERR value is not a valid float");
            return;
        }
        struct timespec ts = {(time_t)secs,
                              (long)((secs - (double)(time_t)secs) * 1e9)};
        nanosleep(&ts, NULL);
        c_ok(c);
    } else if (c_arg_is(c, 1, "help") && c->argc == 2) {
        static const char *const lines[] = {
            "DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "DIGEST",
            "    Output a hex signature representing the current DB content.",
            "SLEEP <seconds>",
            "    Stop the server for <seconds>. Decimals allowed.",
            "HELP",
            "    Print this help."};
        size_t n = sizeof lines / sizeof lines[0];
        reply_array(c->reply, n);
        for (size_t i = 0; i < n; i++)
            reply_simple(c->reply, lines[i]);
    } else {
        c_subcommand_error(c);
    }
}
