/*
 * commands_client.c - CLIENT ID / GETNAME / SETNAME / LIST / INFO / KILL /
 * HELP, with Redis 7's CLIENT LIST line format so that tools that parse it
 * keep working.
 */
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "util.h"

/* One CLIENT LIST line for cl, appended to out. */
static void client_line(rbuf *out, const cache_client *cl, uint64_t now)
{
    const cache_server *srv = cl->srv;
    char flags[8];
    size_t f = 0;
    if (cl->flags & CF_CLOSE_AFTER_REPLY)
        flags[f++] = 'c';
    if (f == 0)
        flags[f++] = 'N';
    flags[f] = '\0';
    const char *cmd = cl->lastcmd >= 0 ? cmd_table[cl->lastcmd].name : "NULL";
    size_t omem = cl->obuf.cap + cl->wbuf.cap;
    size_t qbuf = cl->qlen, qfree = cl->qcap - cl->qlen;
    char line[768];
    int n = snprintf(
        line, sizeof line,
        "id=%llu addr=%s laddr=%s fd=%d name=%s age=%llu idle=%llu flags=%s "
        "db=0 sub=0 psub=0 ssub=0 multi=-1 qbuf=%zu qbuf-free=%zu "
        "argv-mem=0 multi-mem=0 rbs=%zu rbp=0 obl=%zu oll=%d omem=%zu "
        "tot-mem=%zu events=r%s cmd=%s user=default redir=-1 resp=2\n",
        (unsigned long long)cl->id, cl->addr, cl->laddr, cl->fd, cl->name,
        (unsigned long long)((now - cl->ctime_ms) / 1000),
        (unsigned long long)((now - cl->last_ms) / 1000), flags, qbuf, qfree,
        cl->reply == &srv->batch ? srv->batch.cap : (size_t)0,
        cl->obuf.len + cl->wbuf.len, (cl->flags & CF_WRITING) ? 1 : 0, omem,
        sizeof *cl + cl->qcap + omem,
        (cl->flags & CF_WRITING) ? "w" : "", cmd);
    if (n > 0)
        reply_raw(out, line, (size_t)n < sizeof line ? (size_t)n
                                                     : sizeof line - 1);
}

static void client_list(cache_client *c)
{
    /* CLIENT LIST [TYPE normal|master|replica|pubsub] [ID id ...] */
    bool any_type = true, normal = true;
    size_t id_from = 0;
    if (c->argc >= 4 && c_arg_is(c, 2, "type") && c->argc == 4) {
        any_type = false;
        if (c_arg_is(c, 3, "normal"))
            normal = true;
        else if (c_arg_is(c, 3, "master") || c_arg_is(c, 3, "replica") ||
                 c_arg_is(c, 3, "slave") || c_arg_is(c, 3, "pubsub"))
            normal = false;
        else {
            c_errf(c, "ERR Unknown client type '%.*s'", (int)c->argvlen[3],
                   c->argv[3]);
            return;
        }
    } else if (c->argc >= 4 && c_arg_is(c, 2, "id")) {
        id_from = 3;
        for (size_t j = 3; j < c->argc; j++) {
            long long id;
            if (!util_str2ll(c->argv[j], c->argvlen[j], &id) || id <= 0) {
                c_err(c, "ERR Invalid client ID");
                return;
            }
        }
    } else if (c->argc != 2) {
        c_syntax(c);
        return;
    }
    (void)any_type;
    rbuf out = {0};
    uint64_t now = util_mono_ms();
    for (const cache_client *cl = c->srv->clients; cl; cl = cl->next) {
        if (!normal)
            break;
        if (id_from) {
            bool hit = false;
            for (size_t j = id_from; j < c->argc && !hit; j++) {
                long long id;
                util_str2ll(c->argv[j], c->argvlen[j], &id);
                hit = (uint64_t)id == cl->id;
            }
            if (!hit)
                continue;
        }
        client_line(&out, cl, now);
    }
    if (out.oom)
        c_err(c, "ERR out of memory");
    else
        reply_bulk(c->reply, out.data, out.len);
    rbuf_free(&out);
}

/* Kills cl on behalf of c: c itself is closed after its reply. */
static void kill_one(cache_client *c, cache_client *cl)
{
    if (cl == c)
        c->flags |= CF_CLOSE_AFTER_REPLY;
    else
        client_close(cl, false);
}

static void client_kill(cache_client *c)
{
    cache_server *srv = c->srv;
    if (c->argc == 3) { /* old form: CLIENT KILL addr:port */
        for (cache_client *cl = srv->clients; cl; cl = cl->next) {
            if (strlen(cl->addr) == c->argvlen[2] &&
                memcmp(cl->addr, c->argv[2], c->argvlen[2]) == 0) {
                kill_one(c, cl);
                c_ok(c);
                return;
            }
        }
        c_err(c, "ERR No such client");
        return;
    }
    if (c->argc % 2 != 0) {
        c_syntax(c);
        return;
    }
    long long id = 0;
    const char *addr = NULL, *laddr = NULL;
    size_t alen = 0, llen = 0;
    bool skipme = true, type_normal = true;
    for (size_t j = 2; j < c->argc; j += 2) {
        size_t v = j + 1;
        if (c_arg_is(c, j, "id")) {
            if (!util_str2ll(c->argv[v], c->argvlen[v], &id) || id <= 0) {
                c_err(c, "ERR client-id should be greater than 0");
                return;
            }
        } else if (c_arg_is(c, j, "addr")) {
            addr = c->argv[v];
            alen = c->argvlen[v];
        } else if (c_arg_is(c, j, "laddr")) {
            laddr = c->argv[v];
            llen = c->argvlen[v];
        } else if (c_arg_is(c, j, "skipme")) {
            if (c_arg_is(c, v, "yes"))
                skipme = true;
            else if (c_arg_is(c, v, "no"))
                skipme = false;
            else {
                c_syntax(c);
                return;
            }
        } else if (c_arg_is(c, j, "type")) {
            if (c_arg_is(c, v, "normal"))
                type_normal = true;
            else if (c_arg_is(c, v, "master") || c_arg_is(c, v, "replica") ||
                     c_arg_is(c, v, "slave") || c_arg_is(c, v, "pubsub"))
                type_normal = false;
            else {
                c_errf(c, "ERR Unknown client type '%.*s'",
                       (int)c->argvlen[v], c->argv[v]);
                return;
            }
        } else if (c_arg_is(c, j, "user")) {
            if (!(c->argvlen[v] == 7 && memcmp(c->argv[v], "default", 7) == 0)) {
                c_errf(c, "ERR No such user '%.*s'", (int)c->argvlen[v],
                       c->argv[v]);
                return;
            }
        } else {
            c_syntax(c);
            return;
        }
    }
    long long killed = 0;
    cache_client *next;
    for (cache_client *cl = srv->clients; cl; cl = next) {
        next = cl->next;
        if (!type_normal)
            break;
        if (id && cl->id != (uint64_t)id)
            continue;
        if (addr && !(strlen(cl->addr) == alen &&
                      memcmp(cl->addr, addr, alen) == 0))
            continue;
        if (laddr && !(strlen(cl->laddr) == llen &&
                       memcmp(cl->laddr, laddr, llen) == 0))
            continue;
        if (cl == c && skipme)
            continue;
        kill_one(c, cl);
        killed++;
    }
    reply_int(c->reply, killed);
}

void cmd_client(cache_client *c)
{
    if (c_arg_is(c, 1, "id") && c->argc == 2) {
        reply_int(c->reply, (long long)c->id);
    } else if (c_arg_is(c, 1, "getname") && c->argc == 2) {
        if (c->name[0])
            reply_bulk_cstr(c->reply, c->name);
        else
            reply_null(c->reply);
    } else if (c_arg_is(c, 1, "setname") && c->argc == 3) {
        if (conn_set_name(c, 2))
            c_ok(c);
    } else if (c_arg_is(c, 1, "list")) {
        client_list(c);
    } else if (c_arg_is(c, 1, "info") && c->argc == 2) {
        rbuf out = {0};
        client_line(&out, c, util_mono_ms());
        reply_bulk(c->reply, out.data, out.len);
        rbuf_free(&out);
    } else if (c_arg_is(c, 1, "kill") && c->argc >= 3) {
        client_kill(c);
    } else if (c_arg_is(c, 1, "help") && c->argc == 2) {
        static const char *const lines[] = {
            "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "GETNAME",
            "    Return the name of the current connection.",
            "ID",
            "    Return the ID of the current connection.",
            "INFO",
            "    Return information about the current client connection.",
            "KILL <ip:port>",
            "    Kill connection made from <ip:port>.",
            "KILL <option> <value> [<option> <value> [...]]",
            "    Kill connections. Options are:",
            "    * ADDR (<ip:port>|<unixsocket>:0)",
            "      Kill connections made from the specified address",
            "    * LADDR (<ip:port>|<unixsocket>:0)",
            "      Kill connections made to specified local address",
            "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
            "      Kill connections by type.",
            "    * USER <username>",
            "      Kill connections authenticated by <username>.",
            "    * SKIPME (YES|NO)",
            "      Skip killing current connection (default: yes).",
            "    * ID <client-id>",
            "      Kill connections by client id.",
            "LIST [options ...]",
            "    Return information about client connections. Options:",
            "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
            "      Return clients of specified type.",
            "SETNAME <name>",
            "    Assign the name <name> to the current connection.",
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
